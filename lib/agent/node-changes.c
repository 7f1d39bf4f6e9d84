/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A node source's change set (node-source.h): freeing one, and applying one to the node
 * list the agent holds, which is kept sorted by name as the Kubernetes source delivers it.
 */
#include "agent/node-source.h"
#include "agent/nodes.h"

void pn_node_changes_free(struct pn_node_changes *c)
{
        if (!c)
                return;
        podnet_nodes_free(c->set);
        for (size_t i = 0; i < c->n_gone; i++)
                free(c->gone[i]);
        free(c->gone);
        free(c);
}

/* The index of name in nodes (sorted by name), or where it would go (*found false). */
static size_t find(const podnet_nodes *nodes, const char *name, bool *found)
{
        size_t lo = 0, hi = nodes->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(nodes->nodes[mid].name, name);
                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

ssize_t pn_nodes_find_sorted(const podnet_nodes *nodes, const char *name)
{
        bool found;
        size_t k = find(nodes, name, &found);

        return found ? (ssize_t)k : -ENOENT;
}

/* Moves *n into `to` (a new last entry); *n is emptied. */
static int keep_old(podnet_nodes **to, struct pn_node *n)
{
        struct pn_node *slot;

        if (!*to && !(*to = calloc(1, sizeof(**to))))
                return -ENOMEM;
        if (pn_nodes_append(*to, &slot) < 0)
                return -ENOMEM;
        *slot = *n;
        *n = (struct pn_node){0};
        return 0;
}

static int node_cmp(const void *a, const void *b)
{
        return strcmp(((const struct pn_node *)a)->name, ((const struct pn_node *)b)->name);
}

int pn_node_changes_apply(podnet_nodes *nodes, const struct pn_node_changes *c,
                          podnet_nodes **old)
{
        bool found;
        size_t k;

        *old = NULL;
        for (size_t g = 0; g < c->n_gone; g++) {
                k = find(nodes, c->gone[g], &found);
                if (!found)
                        continue;
                if (keep_old(old, &nodes->nodes[k]) < 0)
                        return -ENOMEM;
                memmove(&nodes->nodes[k], &nodes->nodes[k + 1],
                        (nodes->n - k - 1) * sizeof(*nodes->nodes));
                nodes->n--;
        }
        for (size_t i = 0; c->set && i < c->set->n; i++) {
                struct pn_node *slot, copy = {0};
                const struct pn_node *from = &c->set->nodes[i];

                copy.type4 = from->type4;
                copy.type6 = from->type6;
                if (!(copy.name = strdup(from->name)) ||
                    !(copy.pod_cidrs = calloc(from->n_pod_cidrs + 1, sizeof(*copy.pod_cidrs))))
                        goto oom;
                for (; copy.n_pod_cidrs < from->n_pod_cidrs; copy.n_pod_cidrs++)
                        if (podnet_cidr_dup(&copy.pod_cidrs[copy.n_pod_cidrs],
                                            from->pod_cidrs[copy.n_pod_cidrs]) < 0)
                                goto oom;
                if ((from->addr4 && podnet_cidr_dup(&copy.addr4, from->addr4) < 0) ||
                    (from->addr6 && podnet_cidr_dup(&copy.addr6, from->addr6) < 0))
                        goto oom;
                k = find(nodes, from->name, &found);
                if (found) {
                        copy.origin = nodes->nodes[k].origin;
                        if (keep_old(old, &nodes->nodes[k]) < 0)
                                goto oom;
                        nodes->nodes[k] = copy;
                        continue;
                }
                /* (the list may be one of exactly its size: pn_nodes_append()'s capacity
                 * rule does not hold for it) */
                slot = realloc(nodes->nodes, (nodes->n + 1) * sizeof(*nodes->nodes));
                if (!slot)
                        goto oom;
                nodes->nodes = slot;
                nodes->n++;
                memmove(&nodes->nodes[k + 1], &nodes->nodes[k],
                        (nodes->n - 1 - k) * sizeof(*nodes->nodes));
                nodes->nodes[k] = copy;
                continue;
        oom:
                pn_node_done(&copy);
                return -ENOMEM;
        }
        /* the list's positions stand for where each node was read: renumber */
        for (k = 0; k < nodes->n; k++)
                nodes->nodes[k].origin = k;
        if (*old)
                qsort((*old)->nodes, (*old)->n, sizeof(*(*old)->nodes), node_cmp);
        return 0;
}

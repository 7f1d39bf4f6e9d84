/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The allocator's bookkeeping and plan, without a server: which CIDRs are taken (every
 * CIDR of the node list, and the ones patched or seen whose watch event has not come back
 * yet), and which node gets which free subnet (podnet_nodes_allocate()'s lowest free
 * subnet per cluster CIDR). A full cluster CIDR leaves the last nodes in name order
 * without one; the others are still served.
 */
#include "agent/allocator.h"
#include "agent/nodes.h"

static void cidrs_free(podnet_cidr **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                podnet_cidr_free(v[i]);
        free(v);
}

static int cidrs_dup(const podnet_cidr *const *from, size_t n, podnet_cidr ***ret)
{
        podnet_cidr **v = calloc(n ? n : 1, sizeof(*v));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (podnet_cidr_dup(&v[i], from[i]) < 0) {
                        cidrs_free(v, i);
                        return -ENOMEM;
                }
        *ret = v;
        return 0;
}

static void pending_done(struct pn_alloc_pending *p)
{
        free(p->name);
        cidrs_free(p->cidrs, p->n_cidrs);
}

void pn_alloc_state_done(struct pn_alloc_state *st)
{
        for (size_t i = 0; i < st->n; i++)
                pending_done(&st->v[i]);
        free(st->v);
        *st = (struct pn_alloc_state){0};
}

struct pn_alloc_pending *pn_alloc_pending_find(struct pn_alloc_state *st, const char *name)
{
        for (size_t i = 0; i < st->n; i++)
                if (streq(st->v[i].name, name))
                        return &st->v[i];
        return NULL;
}

void pn_alloc_pending_drop(struct pn_alloc_state *st, const char *name)
{
        struct pn_alloc_pending *p = pn_alloc_pending_find(st, name);

        if (!p)
                return;
        pending_done(p);
        *p = st->v[--st->n];
}

int pn_alloc_pending_add(struct pn_alloc_state *st, const char *name,
                         const podnet_cidr *const *cidrs, size_t n, bool listed, bool retry,
                         double retry_at)
{
        struct pn_alloc_pending p = {
            .n_cidrs = n, .listed = listed, .retry = retry, .retry_at = retry_at};

        p.name = strdup(name);
        if (!p.name || cidrs_dup(cidrs, n, &p.cidrs) < 0) {
                free(p.name);
                return -ENOMEM;
        }
        pn_alloc_pending_drop(st, name);
        if (pn_grow((void **)&st->v, &st->cap, st->n + 1, sizeof(*st->v)) < 0) {
                pending_done(&p);
                return -ENOMEM;
        }
        st->v[st->n++] = p;
        return 0;
}

static bool cidrs_overlap(podnet_cidr *const *a, size_t na, podnet_cidr *const *b, size_t nb)
{
        for (size_t i = 0; i < na; i++)
                for (size_t j = 0; j < nb; j++)
                        if (podnet_cidr_overlaps(a[i], b[j]))
                                return true;
        return false;
}

const char *pn_alloc_pending_holder(const struct pn_alloc_state *st, const podnet_nodes *nodes,
                                    const struct pn_alloc_pending *p)
{
        for (size_t i = 0; nodes && i < nodes->n; i++) {
                const struct pn_node *n = &nodes->nodes[i];
                if (!streq(n->name, p->name) &&
                    cidrs_overlap(p->cidrs, p->n_cidrs, n->pod_cidrs, n->n_pod_cidrs))
                        return n->name;
        }
        for (size_t i = 0; i < st->n; i++)
                if (!streq(st->v[i].name, p->name) &&
                    cidrs_overlap(p->cidrs, p->n_cidrs, st->v[i].cidrs, st->v[i].n_cidrs))
                        return st->v[i].name;
        return NULL;
}

static const struct pn_node *node_find(const podnet_nodes *nodes, const char *name)
{
        for (size_t i = 0; i < nodes->n; i++)
                if (streq(nodes->nodes[i].name, name))
                        return &nodes->nodes[i];
        return NULL;
}

size_t pn_alloc_reconcile(struct pn_alloc_state *st, const podnet_nodes *nodes)
{
        size_t gone = 0;

        for (size_t i = 0; i < st->n;) {
                const struct pn_node *n = node_find(nodes, st->v[i].name);
                if (n && n->n_pod_cidrs == 0)
                        st->v[i].listed = true;
                if ((!n && st->v[i].listed) || (n && n->n_pod_cidrs > 0)) {
                        pending_done(&st->v[i]);
                        st->v[i] = st->v[--st->n];
                        gone++;
                } else {
                        i++;
                }
        }
        return gone;
}

void pn_alloc_assign_free(struct pn_alloc_assign *a, size_t n)
{
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].name);
                cidrs_free(a[i].cidrs, a[i].n_cidrs);
        }
        free(a);
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The list podnet_nodes_allocate() works on: every node with its CIDRs or its pending
 * entry's, and of the nodes that need CIDRs only the first `take` in name order (need[],
 * sorted). */
static podnet_nodes *working_list(const podnet_nodes *nodes, const struct pn_alloc_state *st,
                                  const char *const *need, size_t take)
{
        _cleanup_nodes_ podnet_nodes *w = calloc(1, sizeof(*w));

        if (!w)
                return NULL;
        for (size_t i = 0; i < nodes->n; i++) {
                const struct pn_node *n = &nodes->nodes[i];
                const struct pn_alloc_pending *p = NULL;
                const podnet_cidr *const *cidrs = (const podnet_cidr *const *)n->pod_cidrs;
                size_t n_cidrs = n->n_pod_cidrs;
                struct pn_node *slot;

                if (n_cidrs == 0) {
                        p = pn_alloc_pending_find((struct pn_alloc_state *)st, n->name);
                        if (p) {
                                cidrs = (const podnet_cidr *const *)p->cidrs;
                                n_cidrs = p->n_cidrs;
                        } else {
                                const char *key = n->name;
                                const char *const *at =
                                    bsearch(&key, need, take, sizeof(*need), name_cmp);
                                if (!at)
                                        continue; /* (beyond `take`) */
                        }
                }
                if (pn_nodes_append(w, &slot) < 0)
                        return NULL;
                slot->name = strdup(n->name);
                /* a node that needs CIDRs keeps pod_cidrs NULL: podnet_nodes_allocate()
                 * sets the array it allocates over it */
                if (!slot->name || (n_cidrs > 0 && cidrs_dup(cidrs, n_cidrs, &slot->pod_cidrs) < 0))
                        return NULL;
                slot->n_pod_cidrs = n_cidrs;
        }
        /* entries of nodes the list has not shown yet hold their CIDRs too */
        for (size_t i = 0; i < st->n; i++) {
                struct pn_node *slot;
                if (node_find(nodes, st->v[i].name))
                        continue;
                if (pn_nodes_append(w, &slot) < 0)
                        return NULL;
                slot->name = strdup(st->v[i].name);
                if (!slot->name || cidrs_dup((const podnet_cidr *const *)st->v[i].cidrs,
                                             st->v[i].n_cidrs, &slot->pod_cidrs) < 0)
                        return NULL;
                slot->n_pod_cidrs = st->v[i].n_cidrs;
        }
        return steal_pointer(&w);
}

int pn_alloc_plan(const podnet_nodes *nodes, const struct pn_alloc_state *st,
                  const podnet_cidr *const *cluster, const unsigned *masks, size_t n_cluster,
                  struct pn_alloc_assign **ret, size_t *n_ret, size_t *n_left, podnet_error **err)
{
        _cleanup_free_ const char **need = NULL;
        _cleanup_nodes_ podnet_nodes *w = NULL;
        podnet_error *full = NULL;
        struct pn_alloc_assign *out;
        size_t n_need = 0, lo, hi, k = 0;
        bool last_ok = false;
        int r;

        *ret = NULL;
        *n_ret = *n_left = 0;
        need = calloc(nodes->n + 1, sizeof(*need));
        if (!need)
                return -ENOMEM;
        for (size_t i = 0; i < nodes->n; i++)
                if (nodes->nodes[i].n_pod_cidrs == 0 &&
                    !pn_alloc_pending_find((struct pn_alloc_state *)st, nodes->nodes[i].name))
                        need[n_need++] = nodes->nodes[i].name;
        qsort(need, n_need, sizeof(*need), name_cmp);
        {
                /* the cluster CIDRs and masks are checked even when nobody needs one */
                podnet_nodes none = {0};
                r = podnet_nodes_allocate(&none, cluster, masks, n_cluster, err);
                if (r < 0)
                        return r;
        }
        if (n_need == 0)
                return 0;

        /* all of them, else the most that fit: fitting is monotonic in the number taken */
        lo = 0;
        hi = n_need;
        for (size_t take = n_need;;) {
                podnet_error *e = NULL;
                podnet_nodes_free(w);
                w = working_list(nodes, st, need, take);
                if (!w) {
                        podnet_error_free(full);
                        return -ENOMEM;
                }
                r = podnet_nodes_allocate(w, cluster, masks, n_cluster, &e);
                last_ok = r >= 0;
                if (r >= 0) {
                        lo = take;
                        podnet_error_free(e);
                } else if (r == -ENOSPC) {
                        hi = take - 1;
                        podnet_error_free(full);
                        full = e;
                } else {
                        podnet_error_free(full);
                        if (err)
                                *err = e;
                        else
                                podnet_error_free(e);
                        return r;
                }
                if (lo >= hi) {
                        if (!last_ok && lo > 0) { /* redo the last try that fitted */
                                podnet_nodes_free(w);
                                w = working_list(nodes, st, need, lo);
                                if (!w ||
                                    podnet_nodes_allocate(w, cluster, masks, n_cluster, NULL) < 0) {
                                        podnet_error_free(full);
                                        return -ENOMEM;
                                }
                        }
                        k = lo;
                        break;
                }
                take = lo + (hi - lo + 1) / 2;
        }
        *n_left = n_need - k;
        if (*n_left > 0 && err)
                *err = full;
        else
                podnet_error_free(full);

        out = calloc(k + 1, sizeof(*out));
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < k; i++) {
                const struct pn_node *n = node_find(w, need[i]);
                out[i].name = strdup(need[i]);
                out[i].n_cidrs = n ? n->n_pod_cidrs : 0;
                if (!out[i].name || !n ||
                    cidrs_dup((const podnet_cidr *const *)n->pod_cidrs, n->n_pod_cidrs,
                              &out[i].cidrs) < 0) {
                        out[i].n_cidrs = out[i].cidrs ? out[i].n_cidrs : 0;
                        pn_alloc_assign_free(out, i + 1);
                        return -ENOMEM;
                }
        }
        *ret = out;
        *n_ret = k;
        return 0;
}

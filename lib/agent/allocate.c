/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pod CIDR allocation: gives each node of a list that has none the lowest free subnet of
 * each cluster CIDR, nodes taken in name order; the pod CIDRs a list already holds are kept.
 */
#include <sys/socket.h>

#include "agent/nodes.h"

struct range {
        pn_addr128 first, last;
};

/* First and last address of c's network. */
static struct range cidr_range(const podnet_cidr *c)
{
        pn_addr128 v = pn_cidr_a128(c), m = pn_cidr_hostmask(c);

        return (struct range){pn_a128_and(v, pn_a128_not(m)), pn_a128_or(v, m)};
}

static int range_compare(const void *a, const void *b)
{
        const struct range *x = a, *y = b;

        return pn_a128_cmp(x->first, y->first);
}

/* Moves *cand (a subnet start; `sub` its host bits) to the lowest subnet at or after it that
 * lies inside `cluster` and overlaps no range of taken[*t..n_taken) (sorted by start; *t
 * moves past those wholly below *cand). false when there is none. */
static bool next_free(pn_addr128 *cand, const struct range *cluster, pn_addr128 sub,
                      const struct range *taken, size_t n_taken, size_t *t)
{
        pn_addr128 step = pn_a128_add(sub, pn_a128_make(0, 1), NULL);

        for (;;) {
                pn_addr128 last = pn_a128_add(*cand, sub, NULL), skip_to = *cand, next;
                bool clash = false;

                if (pn_a128_cmp(last, *cand) < 0 || pn_a128_cmp(last, cluster->last) > 0 ||
                    pn_a128_cmp(*cand, cluster->first) < 0)
                        return false;
                while (*t < n_taken && pn_a128_cmp(taken[*t].last, *cand) < 0)
                        (*t)++;
                /* ranges may nest: look at every one starting before the candidate ends */
                for (size_t u = *t; u < n_taken && pn_a128_cmp(taken[u].first, last) <= 0; u++)
                        if (pn_a128_cmp(taken[u].last, *cand) >= 0) {
                                clash = true;
                                if (pn_a128_cmp(taken[u].last, skip_to) > 0)
                                        skip_to = taken[u].last;
                        }
                if (!clash)
                        return true;
                /* the next subnet boundary after skip_to: subnets are aligned to their size
                 * (the cluster's start is one), so masking finds it; a wrap (or the one
                 * subnet of the whole space) ends the search */
                next = pn_a128_add(pn_a128_and(skip_to, pn_a128_not(sub)), step, NULL);
                if (pn_a128_cmp(next, *cand) <= 0)
                        return false;
                *cand = next;
        }
}

static int name_index_compare(const void *a, const void *b, void *userdata)
{
        const podnet_nodes *nodes = userdata;
        size_t x = *(const size_t *)a, y = *(const size_t *)b;

        return strcmp(nodes->nodes[x].name, nodes->nodes[y].name);
}

PODNET_EXPORT int podnet_nodes_allocate(podnet_nodes *nodes,
                                        const podnet_cidr *const *cluster_cidrs,
                                        const unsigned *mask_sizes, size_t n_cluster_cidrs,
                                        podnet_error **err)
{
        _cleanup_free_ size_t *order = NULL;
        _cleanup_free_ podnet_cidr **fresh = NULL; /* [node * n_cluster_cidrs + c] */
        size_t n_need = 0, n_fresh;
        int r = 0;

        if (!nodes || (n_cluster_cidrs > 0 && (!cluster_cidrs || !mask_sizes)))
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        if (n_cluster_cidrs == 0)
                return pn_error_plain(err, EINVAL, 0, "No cluster CIDR to allocate from");
        for (size_t c = 0; c < n_cluster_cidrs; c++) {
                char buf[PODNET_CIDR_STRLEN] = "?";
                int family;
                unsigned bits;

                if (!cluster_cidrs[c])
                        return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
                family = podnet_cidr_family(cluster_cidrs[c]);
                bits = pn_cidr_bits(cluster_cidrs[c]);
                podnet_cidr_format(cluster_cidrs[c], buf, sizeof(buf));
                if (mask_sizes[c] < podnet_cidr_prefixlen(cluster_cidrs[c]) || mask_sizes[c] > bits)
                        return pn_error_plain(err, EINVAL, 0,
                                              "Node CIDR mask size %u does not fit cluster "
                                              "CIDR %s",
                                              mask_sizes[c], buf);
                for (size_t d = 0; d < c; d++)
                        if (podnet_cidr_family(cluster_cidrs[d]) == family)
                                return pn_error_plain(err, EINVAL, 0,
                                                      "More than one %s cluster CIDR (%s): at "
                                                      "most one per family",
                                                      family == AF_INET ? "IPv4" : "IPv6", buf);
        }
        for (size_t i = 0; i < nodes->n; i++)
                if (nodes->nodes[i].n_pod_cidrs == 0)
                        n_need++;
        if (n_need == 0)
                return 0;

        order = calloc(n_need, sizeof(*order));
        n_fresh = n_need * n_cluster_cidrs;
        fresh = calloc(n_fresh, sizeof(*fresh));
        if (!order || !fresh)
                return pn_error(err, ENOMEM, 0, "Allocating pod CIDRs");
        for (size_t i = 0, k = 0; i < nodes->n; i++)
                if (nodes->nodes[i].n_pod_cidrs == 0)
                        order[k++] = i;
        qsort_r(order, n_need, sizeof(*order), name_index_compare, nodes);

        for (size_t c = 0; c < n_cluster_cidrs && r >= 0; c++) {
                const podnet_cidr *cluster = cluster_cidrs[c];
                int family = podnet_cidr_family(cluster);
                _cleanup_free_ struct range *taken = NULL;
                size_t n_taken = 0, t = 0;
                struct range cr = cidr_range(cluster);
                /* host bits of one subnet; the step is 0 for the whole IPv6 space */
                pn_addr128 sub = pn_a128_lowmask(pn_cidr_bits(cluster) - mask_sizes[c]);
                pn_addr128 step = pn_a128_add(sub, pn_a128_make(0, 1), NULL), cand = cr.first;
                bool exhausted = false;

                for (size_t i = 0; i < nodes->n; i++)
                        n_taken += nodes->nodes[i].n_pod_cidrs;
                taken = calloc(n_taken + 1, sizeof(*taken));
                if (!taken) {
                        r = pn_error(err, ENOMEM, 0, "Allocating pod CIDRs");
                        break;
                }
                n_taken = 0;
                for (size_t i = 0; i < nodes->n; i++)
                        for (size_t j = 0; j < nodes->nodes[i].n_pod_cidrs; j++) {
                                const podnet_cidr *p = nodes->nodes[i].pod_cidrs[j];
                                if (podnet_cidr_family(p) == family)
                                        taken[n_taken++] = cidr_range(p);
                        }
                qsort(taken, n_taken, sizeof(*taken), range_compare);

                /* Candidates only move forward, so one merge walk over the sorted taken
                 * ranges finds the lowest free subnet for each node in turn. */
                for (size_t k = 0; k < n_need; k++) {
                        podnet_cidr net = {.family = family};

                        if (exhausted || !next_free(&cand, &cr, sub, taken, n_taken, &t)) {
                                char buf[PODNET_CIDR_STRLEN] = "?";
                                podnet_cidr_format(cluster, buf, sizeof(buf));
                                r = pn_error_plain(err, ENOSPC, 0, "Cluster CIDR %s is exhausted",
                                                   buf);
                                break;
                        }
                        pn_cidr_set_a128(&net, cand);
                        r = podnet_cidr_new(&fresh[k * n_cluster_cidrs + c], family, net.addr.b,
                                            mask_sizes[c]);
                        if (r < 0) {
                                r = pn_error(err, -r, 0, "Allocating pod CIDRs");
                                break;
                        }
                        cand = pn_a128_add(cand, step, NULL);
                        if (pn_a128_eq(cand, pn_a128_make(0, 0))) /* wrapped past the end */
                                exhausted = true;
                }
        }

        if (r >= 0)
                for (size_t k = 0; k < n_need; k++) {
                        struct pn_node *node = &nodes->nodes[order[k]];
                        node->pod_cidrs = calloc(n_cluster_cidrs, sizeof(*node->pod_cidrs));
                        if (!node->pod_cidrs) {
                                /* undo what this loop did so that nothing changes */
                                for (size_t l = 0; l < k; l++) {
                                        struct pn_node *m = &nodes->nodes[order[l]];
                                        memcpy(&fresh[l * n_cluster_cidrs], m->pod_cidrs,
                                               n_cluster_cidrs * sizeof(*fresh));
                                        free(m->pod_cidrs);
                                        m->pod_cidrs = NULL;
                                        m->n_pod_cidrs = 0;
                                }
                                r = pn_error(err, ENOMEM, 0, "Allocating pod CIDRs");
                                break;
                        }
                        memcpy(node->pod_cidrs, &fresh[k * n_cluster_cidrs],
                               n_cluster_cidrs * sizeof(*fresh));
                        memset(&fresh[k * n_cluster_cidrs], 0, n_cluster_cidrs * sizeof(*fresh));
                        node->n_pod_cidrs = n_cluster_cidrs;
                }
        for (size_t f = 0; f < n_fresh; f++)
                podnet_cidr_free(fresh[f]);
        return r < 0 ? r : (int)n_need;
}

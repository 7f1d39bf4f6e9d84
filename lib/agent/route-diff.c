/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The route diff: the wanted routes against the installed ones, both sorted by
 * destination and merged into keep, add, replace and delete operations.
 */
#include <linux/rtnetlink.h>

#include "agent/routes.h"

void pn_sort_if_needed(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
        const char *p = base;

        for (size_t i = 1; i < n; i++)
                if (cmp(p + (i - 1) * size, p + i * size) > 0) {
                        qsort(base, n, size, cmp);
                        return;
                }
}

int pn_rt_compare_dst(const struct pn_rt *a, const struct pn_rt *b)
{
        int r;

        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        r = pn_addr_cmp(a->dst, b->dst, pn_family_len(a->family));
        if (r != 0)
                return r;
        if (a->dst_len != b->dst_len)
                return a->dst_len < b->dst_len ? -1 : 1;
        return 0;
}

uint64_t pn_rt_key(const void *a)
{
        const struct pn_rt *x = a;

        if (x->family == AF_INET)
                return pn_key_be(x->dst, 4) >> 1 | (uint64_t)x->dst_len << 23;
        return (uint64_t)1 << 63 | pn_key_be(x->dst, 16) >> 1;
}

int pn_rt_compare(const void *a, const void *b)
{
        int r = pn_rt_compare_dst(a, b);
        const struct pn_rt *x = a, *y = b;

        if (r != 0)
                return r;
        /* stable order within one destination: by metric */
        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        return 0;
}

static bool rt_equal(const struct pn_rt *want, const struct pn_rt *have)
{
        if (have->type != RTN_UNICAST || have->multipath || have->priority != want->priority)
                return false;
        /* via a nexthop object: the object's id is all that counts (its gateway is the
         * object's business); a plain route must not have one */
        if (want->via_nh)
                return want->nhid != 0 && have->nhid == want->nhid;
        /* an overlay route is onlink through the VXLAN device: a direct route to the same
         * gateway, or one through another device, is not it (and the reverse) */
        if (have->onlink != want->onlink || (want->onlink && have->oif != want->oif))
                return false;
        return have->nhid == 0 && have->has_gw == want->has_gw &&
               (!want->has_gw || memcmp(have->gw, want->gw, pn_family_len(want->family)) == 0);
}

size_t pn_route_ops_size(size_t n_want, size_t n_have)
{
        return (n_want + n_have + 1) * sizeof(struct pn_op);
}

int pn_route_diff(struct pn_rt *want, size_t n_want, struct pn_rt *have, size_t n_have,
                  struct pn_op **ret, size_t *n_ret)
{
        struct pn_op *ops;
        size_t n = 0, i = 0, j = 0;

        if (!ret || !n_ret || (n_want && !want) || (n_have && !have))
                return -EINVAL;
        /* the thread's kept array if it is large enough (a sync gives it back) */
        ops = pn_nl_scratch_take(PN_NL_SCRATCH_ROUTE_OPS, pn_route_ops_size(n_want, n_have));
        if (!ops)
                return -ENOMEM;
        pn_keysort(want, n_want, sizeof(*want), pn_rt_key, pn_rt_compare);
        pn_keysort(have, n_have, sizeof(*have), pn_rt_key, pn_rt_compare);
        for (size_t k = 1; k < n_want; k++)
                if (pn_rt_compare_dst(&want[k - 1], &want[k]) == 0) {
                        pn_nl_scratch_give(PN_NL_SCRATCH_ROUTE_OPS, ops,
                                           pn_route_ops_size(n_want, n_have));
                        return -EINVAL;
                }

        while (i < n_want || j < n_have) {
                int c;
                size_t g_end, match = SIZE_MAX;
                bool kept = false;

                if (i >= n_want)
                        c = 1;
                else if (j >= n_have)
                        c = -1;
                else
                        c = pn_rt_compare_dst(&want[i], &have[j]);
                if (c < 0) {
                        ops[n++] = (struct pn_op){PN_OP_ADD, &want[i], NULL};
                        i++;
                        continue;
                }
                /* the group of existing routes with this destination */
                for (g_end = j; g_end < n_have && pn_rt_compare_dst(&have[j], &have[g_end]) == 0;
                     g_end++)
                        ;
                if (c > 0) {
                        for (; j < g_end; j++)
                                ops[n++] = (struct pn_op){PN_OP_DELETE, NULL, &have[j]};
                        continue;
                }
                for (size_t k = j; k < g_end && match == SIZE_MAX; k++)
                        if (rt_equal(&want[i], &have[k])) {
                                match = k;
                                kept = true;
                        }
                for (size_t k = j; k < g_end && match == SIZE_MAX; k++)
                        if (have[k].priority == want[i].priority)
                                match = k;
                for (size_t k = j; k < g_end; k++)
                        if (k != match)
                                ops[n++] = (struct pn_op){PN_OP_DELETE, NULL, &have[k]};
                if (match == SIZE_MAX)
                        ops[n++] = (struct pn_op){PN_OP_ADD, &want[i], NULL};
                else
                        ops[n++] = (struct pn_op){kept ? PN_OP_KEEP : PN_OP_REPLACE, &want[i],
                                                  &have[match]};
                i++;
                j = g_end;
        }
        *ret = ops;
        *n_ret = n;
        return 0;
}

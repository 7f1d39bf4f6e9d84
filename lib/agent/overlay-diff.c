/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The entry diff of the overlay: the neighbour and FDB entries a sync wants on the VXLAN
 * device against those a dump found there, both sorted, merged into keep, add, replace
 * and delete operations (the route diff's contract, for entries).
 */
#include <linux/neighbour.h>

#include "agent/overlay.h"

static struct pn_entry_op op(enum pn_op_kind kind, size_t want, size_t have)
{
        return (struct pn_entry_op){.kind = kind, .want = want, .have = have};
}

size_t pn_entry_ops_size(size_t n_want, size_t n_have)
{
        return (n_want + n_have + 1) * sizeof(struct pn_entry_op);
}

/* Checks a diff's arguments and makes room for its operations (at most one per entry). */
static int ops_new(enum pn_nl_scratch_kind kind, bool has_want, size_t n_want, bool has_have,
                   size_t n_have, struct pn_entry_op **ret, size_t *n_ret, struct pn_entry_op **v)
{
        if (!ret || !n_ret || (n_want && !has_want) || (n_have && !has_have))
                return -EINVAL;
        /* the thread's kept array if it is large enough (a sync gives it back) */
        *v = pn_nl_scratch_take(kind, pn_entry_ops_size(n_want, n_have));
        return *v ? 0 : -ENOMEM;
}

int pn_neigh_diff(const struct pn_neigh *want, size_t n_want, const struct pn_neigh *have,
                  size_t n_have, struct pn_entry_op **ret, size_t *n_ret)
{
        struct pn_entry_op *v;
        size_t n = 0, i = 0, j = 0;
        int r = ops_new(PN_NL_SCRATCH_NEIGH_OPS, want != NULL, n_want, have != NULL, n_have, ret,
                        n_ret, &v);

        if (r < 0)
                return r;
        while (i < n_want || j < n_have) {
                int c = i >= n_want ? 1 : j >= n_have ? -1 : pn_neigh_cmp(&want[i], &have[j]);

                if (c < 0) {
                        v[n++] = op(PN_OP_ADD, i++, SIZE_MAX);
                } else if (c > 0) {
                        if (have[j].state & NUD_PERMANENT)
                                v[n++] = op(PN_OP_DELETE, SIZE_MAX, j);
                        j++;
                } else {
                        v[n++] = op(pn_neigh_same(&have[j], &want[i]) ? PN_OP_KEEP
                                                                       : PN_OP_REPLACE,
                                    i, j);
                        i++;
                        j++;
                }
        }
        *ret = v;
        *n_ret = n;
        return 0;
}

int pn_fdb_diff(const struct pn_fdb *want, size_t n_want, const struct pn_fdb *have,
                size_t n_have, struct pn_entry_op **ret, size_t *n_ret)
{
        struct pn_entry_op *v;
        size_t n = 0, i = 0, j = 0;
        int r = ops_new(PN_NL_SCRATCH_FDB_OPS, want != NULL, n_want, have != NULL, n_have, ret,
                        n_ret, &v);

        if (r < 0)
                return r;
        while (i < n_want || j < n_have) {
                size_t end = j, match = SIZE_MAX;
                int c;

                if (i >= n_want)
                        c = 1;
                else if (j >= n_have)
                        c = -1;
                else
                        c = want[i].ifindex != have[j].ifindex
                                ? (want[i].ifindex < have[j].ifindex ? -1 : 1)
                                : memcmp(want[i].mac, have[j].mac, 6);
                if (c < 0) {
                        v[n++] = op(PN_OP_ADD, i++, SIZE_MAX);
                        continue;
                }
                /* the installed remotes of this MAC: one entry each */
                while (end < n_have && have[end].ifindex == have[j].ifindex &&
                       memcmp(have[end].mac, have[j].mac, 6) == 0)
                        end++;
                if (c > 0) {
                        for (; j < end; j++)
                                v[n++] = op(PN_OP_DELETE, SIZE_MAX, j);
                        continue;
                }
                for (size_t k = j; k < end && match == SIZE_MAX; k++)
                        if (pn_fdb_same(&have[k], &want[i]))
                                match = k;
                if (match != SIZE_MAX) {
                        v[n++] = op(PN_OP_KEEP, i, match);
                } else {
                        /* the replacement takes the first remote; the others go */
                        match = j;
                        v[n++] = op(PN_OP_REPLACE, i, match);
                }
                for (size_t k = j; k < end; k++)
                        if (k != match)
                                v[n++] = op(PN_OP_DELETE, SIZE_MAX, k);
                i++;
                j = end;
        }
        *ret = v;
        *n_ret = n;
        return 0;
}

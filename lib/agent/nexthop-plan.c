/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The nexthop plan: which nexthop object each peer node's routes use (kept, taken over
 * and replaced when the node's address changed, or new, with an id hashed from the node's
 * name), and which of podnet's existing ones go.
 */
#include "agent/routes.h"

uint32_t pn_nh_base(unsigned protocol, unsigned table)
{
        /* one 2^24 block per protocol, split in 16 by table: two podnet instances with the
         * same protocol in different tables (mod 16) do not even collide */
        return ((uint32_t)(protocol & 0xff) << 24) | ((uint32_t)(table & 0xf) << 20);
}

uint32_t pn_nh_id_hint(uint32_t base, const char *name, int family)
{
        uint32_t h = 2166136261u; /* FNV-1a */

        for (const char *p = name ? name : ""; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        h = (h ^ (uint8_t)family) * 16777619u;
        return base + h % PN_NH_SPAN;
}

int pn_nh_compare_id(const void *a, const void *b)
{
        const struct pn_nh *x = a, *y = b;

        return x->id < y->id ? -1 : x->id > y->id;
}

int pn_nh_compare_node(const void *a, const void *b)
{
        const struct pn_nh *x = a, *y = b;

        if (x->node != y->node)
                return x->node < y->node ? -1 : 1;
        return x->family < y->family ? -1 : x->family > y->family;
}

/* Orders by family, gateway, and for onlink nexthops (the overlay's: their gateway is
 * an endpoint address on the VXLAN device) by the device: a direct nexthop and an
 * overlay one are never the same object. */
static int nh_gw_compare(const struct pn_nh *x, const struct pn_nh *y)
{
        int c;

        if (x->family != y->family)
                return x->family < y->family ? -1 : 1;
        c = memcmp(x->gw, y->gw, pn_family_len(x->family));
        if (c)
                return c;
        if (x->onlink != y->onlink)
                return x->onlink ? 1 : -1;
        if (x->onlink && x->oif != y->oif)
                return x->oif < y->oif ? -1 : 1;
        return 0;
}

struct pn_nh *pn_nh_find(struct pn_nh *want, size_t n_want, size_t node, int family)
{
        struct pn_nh key = {.node = node, .family = (uint8_t)family};

        return n_want ? bsearch(&key, want, n_want, sizeof(*want), pn_nh_compare_node) : NULL;
}

/* Not bsearch(): a no-op sync of 5,000 overlay peers looks up every route's nexthop twice,
 * and the comparison through a function pointer was most of the search's cost. */
struct pn_nh *pn_nh_by_id(struct pn_nh *v, size_t n, uint32_t id)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (v[mid].id < id)
                        lo = mid + 1;
                else if (v[mid].id > id)
                        hi = mid;
                else
                        return &v[mid];
        }
        return NULL;
}

/* Open-addressing set of ids: the ids in use, to pick free ones. */
struct idset {
        uint32_t *slot; /* 0: empty (no nexthop has id 0) */
        size_t mask;
};

static bool idset_add(struct idset *s, uint32_t id)
{
        size_t i = (id * 2654435761u) & s->mask;

        while (s->slot[i] && s->slot[i] != id)
                i = (i + 1) & s->mask;
        if (s->slot[i] == id)
                return false;
        s->slot[i] = id;
        return true;
}

/* have-index array sorted by gateway (bsearch helper state for qsort_r) */
static int gw_index_compare(const void *a, const void *b, void *arg)
{
        const struct pn_nh *v = arg;

        return nh_gw_compare(&v[*(const size_t *)a], &v[*(const size_t *)b]);
}

static void nh_claim(struct pn_nh *w, size_t k, struct pn_nh *have, size_t j, enum pn_op_kind kind)
{
        w->match = j;
        w->id = have[j].id;
        w->kind = kind;
        have[j].match = k;
        have[j].kind = PN_OP_KEEP;
}

/* Whether an installed nexthop x may be replaced in place by the wanted w. The kernel
 * refuses to move an IPv6 nexthop object that routes use between onlink and not, or to
 * another device ("Nexthop has invalid gateway or device mismatch", EINVAL), as when a
 * peer switches between the direct path and the overlay; IPv4 allows it. Such a change
 * takes a new nexthop instead: added, the route replaced to use it, the old one deleted. */
static bool nh_replaceable(const struct pn_nh *x, const struct pn_nh *w)
{
        return x->family != AF_INET6 ||
               (x->onlink == w->onlink && (!x->onlink || x->oif == w->oif));
}

/* Walks the wanted and installed routes (both sorted by destination) together: a wanted
 * nexthop not yet decided takes over the nexthop of ours that its installed route uses,
 * if that one's gateway is the wanted one (same_gw: KEEP) or not (REPLACE, where the
 * kernel allows it). */
static void claim_by_routes(struct pn_nh *want, size_t n_want, struct pn_nh *have, size_t n_have,
                            const struct pn_rt *want_rt, size_t n_want_rt,
                            const struct pn_rt *have_rt, size_t n_have_rt, bool same_gw)
{
        size_t j = 0;

        for (size_t i = 0; i < n_want_rt; i++) {
                struct pn_nh *w, *x;

                while (j < n_have_rt && pn_rt_compare_dst(&have_rt[j], &want_rt[i]) < 0)
                        j++;
                if (j >= n_have_rt)
                        break;
                if (!have_rt[j].nhid || pn_rt_compare_dst(&have_rt[j], &want_rt[i]) != 0)
                        continue;
                w = want_rt[i].nh_slot && want_rt[i].nh_slot <= n_want
                        ? &want[want_rt[i].nh_slot - 1]
                        : pn_nh_find(want, n_want, want_rt[i].node, want_rt[i].family);
                if (!w || w->match != SIZE_MAX)
                        continue;
                x = pn_nh_by_id(have, n_have, have_rt[j].nhid);
                if (!x || !x->ours || !x->plain || x->family != w->family || x->match != SIZE_MAX ||
                    same_gw != (nh_gw_compare(x, w) == 0) || (!same_gw && !nh_replaceable(x, w)))
                        continue;
                nh_claim(w, (size_t)(w - want), have, (size_t)(x - have),
                         same_gw ? PN_OP_KEEP : PN_OP_REPLACE);
        }
}

/* Any existing nexthop of ours, unused so far, with the wanted gateway (KEEP). */
static int claim_by_gateway(struct pn_nh *want, size_t n_want, struct pn_nh *have, size_t n_have)
{
        _cleanup_free_ size_t *by_gw = calloc(n_have + 1, sizeof(size_t));
        size_t n_gw = 0;

        if (!by_gw)
                return -ENOMEM;
        for (size_t j = 0; j < n_have; j++)
                if (have[j].ours && have[j].plain && have[j].match == SIZE_MAX)
                        by_gw[n_gw++] = j;
        if (n_gw == 0)
                return 0;
        qsort_r(by_gw, n_gw, sizeof(*by_gw), gw_index_compare, have);
        for (size_t k = 0; k < n_want; k++) {
                size_t lo = 0, hi = n_gw;
                if (want[k].match != SIZE_MAX)
                        continue;
                while (lo < hi) { /* first entry >= the wanted gateway */
                        size_t mid = lo + (hi - lo) / 2;
                        if (nh_gw_compare(&have[by_gw[mid]], &want[k]) < 0)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                for (; lo < n_gw && nh_gw_compare(&have[by_gw[lo]], &want[k]) == 0; lo++)
                        if (have[by_gw[lo]].match == SIZE_MAX) {
                                nh_claim(&want[k], k, have, by_gw[lo], PN_OP_KEEP);
                                break;
                        }
        }
        return 0;
}

/* A new id for every wanted nexthop still without one: the node's hashed id, or the next
 * one free of every existing id. */
static int new_ids(struct pn_nh *want, size_t n_want, const struct pn_nh *have, size_t n_have,
                   uint32_t base)
{
        _cleanup_free_ uint32_t *slots = NULL;
        struct idset used;
        size_t size = 16;

        while (size < 2 * (n_have + n_want))
                size *= 2;
        slots = calloc(size, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        used = (struct idset){slots, size - 1};
        for (size_t j = 0; j < n_have; j++)
                if (have[j].id)
                        idset_add(&used, have[j].id);
        for (size_t k = 0; k < n_want; k++) {
                uint32_t id;
                if (want[k].match != SIZE_MAX)
                        continue;
                id = pn_nh_id_hint(base, want[k].name, want[k].family);
                for (size_t tries = 0; !idset_add(&used, id); tries++) {
                        if (tries >= PN_NH_SPAN)
                                return -ENOSPC;
                        id = base + (id - base + 1) % PN_NH_SPAN;
                }
                want[k].id = id;
        }
        return 0;
}

static size_t count_undecided(const struct pn_nh *want, size_t n_want)
{
        size_t n = 0;

        for (size_t k = 0; k < n_want; k++)
                n += want[k].match == SIZE_MAX;
        return n;
}

int pn_nexthop_plan(struct pn_nh *want, size_t n_want, struct pn_nh *have, size_t n_have,
                    const struct pn_rt *want_rt, size_t n_want_rt, struct pn_rt *have_rt,
                    size_t n_have_rt, uint32_t base)
{
        int r;

        if ((n_want && !want) || (n_have && !have) || (n_want_rt && !want_rt) ||
            (n_have_rt && !have_rt))
                return -EINVAL;
        pn_sort_if_needed(have, n_have, sizeof(*have), pn_nh_compare_id);
        pn_sort_if_needed(have_rt, n_have_rt, sizeof(*have_rt), pn_rt_compare);
        for (size_t j = 0; j < n_have; j++) {
                have[j].match = SIZE_MAX;
                have[j].kind = have[j].ours ? PN_OP_DELETE : PN_OP_KEEP;
        }
        for (size_t k = 0; k < n_want; k++) {
                want[k].match = SIZE_MAX;
                want[k].id = 0;
                want[k].kind = PN_OP_ADD;
        }
        /* 1. in sync: the nexthop the node's routes use has the wanted gateway (no write) */
        claim_by_routes(want, n_want, have, n_have, want_rt, n_want_rt, have_rt, n_have_rt, true);
        if (count_undecided(want, n_want) == 0)
                return 0;
        /* 2. another nexthop of ours has the wanted gateway (no write) */
        r = claim_by_gateway(want, n_want, have, n_have);
        if (r < 0)
                return r;
        /* 3. the node's address changed: take over the nexthop its routes use, so that one
         * replacement of that nexthop moves all of them */
        claim_by_routes(want, n_want, have, n_have, want_rt, n_want_rt, have_rt, n_have_rt, false);
        /* 4. the rest are new */
        return new_ids(want, n_want, have, n_have, base);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the route sync reads from the kernel before it plans: one dump of the nexthop
 * objects and one of the routes, sorted into podnet's routes, the nexthops they use, and
 * the facts about this node (its addresses, on-link prefixes, foreign routes and their
 * gateways) that a node list is judged against.
 */
#include <linux/rtnetlink.h>

#include "agent/route-sync.h"

void pn_route_dump_clear(struct pn_route_dump *d)
{
        /* the largest arrays are kept for the thread's next dump (netlink/scratch.c) */
        pn_nl_scratch_give(PN_NL_SCRATCH_ROUTES, d->rt, d->cap_rt * sizeof(*d->rt));
        free(d->other);
        pn_nl_scratch_give(PN_NL_SCRATCH_NEXTHOPS, d->nh, d->cap_nh * sizeof(*d->nh));
        free(d->foreign);
        free(d->gw);
        free(d->local);
        free(d->onlink);
        *d = (struct pn_route_dump){.protocol = d->protocol, .table = d->table, .facts = d->facts};
}

static int add_gateway(int family, const void *addr, void *userdata)
{
        struct pn_route_dump *d = userdata;
        struct pn_rt *g;

        if (pn_grow((void **)&d->gw, &d->cap_gw, d->n_gw + 1, sizeof(*d->gw)) < 0)
                return -ENOMEM;
        g = &d->gw[d->n_gw++];
        memset(g, 0, sizeof(*g));
        g->family = (uint8_t)family;
        g->dst_len = (uint8_t)(pn_family_len(family) * 8);
        memcpy(g->dst, addr, pn_family_len(family));
        return 0;
}

/* A route podnet does not own: kept with its gateways, those of a multipath route too. */
static int add_foreign(struct pn_route_dump *d, const struct nlmsghdr *nlh, const struct pn_rt *rt)
{
        if (pn_grow((void **)&d->foreign, &d->cap_foreign, d->n_foreign + 1, sizeof(*d->foreign)) <
            0)
                return -ENOMEM;
        d->foreign[d->n_foreign++] = *rt;
        if (rt->has_gw && add_gateway(rt->family, rt->gw, d) < 0)
                return -ENOMEM;
        return rt->multipath ? pn_route_multipath_gateways(nlh, add_gateway, d) : 0;
}

static int route_seen(struct nlmsghdr *nlh, void *userdata)
{
        struct pn_route_dump *d = userdata;
        struct pn_rt rt;

        if (nlh->nlmsg_type != RTM_NEWROUTE || pn_route_parse(nlh, &rt) <= 0 || rt.cloned)
                return 0;
        if (rt.protocol != d->protocol) {
                if (d->facts && (rt.table == d->table || rt.table == RT_TABLE_MAIN ||
                                 rt.table == RT_TABLE_LOCAL))
                        return add_foreign(d, nlh, &rt);
                return 0;
        }
        if (rt.table != d->table) {
                if (!rt.nhid)
                        return 0;
                if (pn_grow((void **)&d->other, &d->cap_other, d->n_other + 1, sizeof(*d->other)) <
                    0)
                        return -ENOMEM;
                d->other[d->n_other++] = rt.nhid;
                return 0;
        }
        if (pn_grow((void **)&d->rt, &d->cap_rt, d->n_rt + 1, sizeof(*d->rt)) < 0)
                return -ENOMEM;
        d->rt[d->n_rt++] = rt;
        return 0;
}

static void routes_restart(void *userdata)
{
        struct pn_route_dump *d = userdata;

        d->n_rt = d->n_other = d->n_foreign = d->n_gw = 0;
}

static int nexthop_seen(struct nlmsghdr *nlh, void *userdata)
{
        struct pn_route_dump *d = userdata;
        struct pn_nh nh;

        if (nlh->nlmsg_type != RTM_NEWNEXTHOP || !pn_nexthop_parse(nlh, &nh))
                return 0;
        if (pn_grow((void **)&d->nh, &d->cap_nh, d->n_nh + 1, sizeof(*d->nh)) < 0)
                return -ENOMEM;
        d->nh[d->n_nh++] = nh;
        return 0;
}

static void nexthops_restart(void *userdata)
{
        struct pn_route_dump *d = userdata;

        d->n_nh = 0;
}

/* Sorts the routes podnet does not own into this node's addresses (local routes) and its
 * on-link prefixes (unicast, no gateway), and adds the gateways of those using a nexthop
 * object. */
static int sort_facts(struct pn_route_dump *d)
{
        d->local = calloc(d->n_foreign + 1, sizeof(*d->local));
        d->onlink = calloc(d->n_foreign + 1, sizeof(*d->onlink));
        if (!d->local || !d->onlink)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_foreign; i++) {
                const struct pn_rt *rt = &d->foreign[i];
                const struct pn_nh *x = rt->nhid ? pn_nh_by_id(d->nh, d->n_nh, rt->nhid) : NULL;

                if (x && x->plain && add_gateway(x->family, x->gw, d) < 0)
                        return -ENOMEM;
                if (rt->type == RTN_LOCAL)
                        d->local[d->n_local++] = *rt;
                else if (rt->type == RTN_UNICAST && !rt->has_gw && !rt->nhid && !rt->multipath &&
                         rt->oif && rt->dst_len > 0)
                        d->onlink[d->n_onlink++] = *rt;
        }
        return 0;
}

int pn_route_dump_read(struct nl_sock *sk, struct pn_route_dump *d, bool *nh_kernel)
{
        uint32_t base = pn_nh_base(d->protocol, d->table);
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        int r;

        /* without facts, only our protocol's routes: the kernel filters on a strict socket
         * (we filter too) */
        if (!d->rt) {
                size_t bytes;
                d->rt = pn_nl_scratch_take_kept(PN_NL_SCRATCH_ROUTES, &bytes);
                d->cap_rt = bytes / sizeof(*d->rt);
        }
        if (!d->nh) {
                size_t bytes;
                d->nh = pn_nl_scratch_take_kept(PN_NL_SCRATCH_NEXTHOPS, &bytes);
                d->cap_nh = bytes / sizeof(*d->nh);
        }
        pn_nexthop_dump_put(&b);
        pn_route_dump_put(&b, AF_UNSPEC, d->facts ? 0 : d->protocol);
        if (b.error < 0)
                return b.error;
        r = pn_nl_dump(sk, pn_nlbuf_hdr(&b, 0), nexthop_seen, nexthops_restart, d);
        *nh_kernel = r >= 0;
        if (r == -EOPNOTSUPP || r == -EINVAL || r == -EAFNOSUPPORT || r == -EPROTONOSUPPORT)
                r = 0; /* no nexthop objects in this kernel: plain routes only */
        if (r >= 0)
                r = pn_nl_dump(sk, pn_nlbuf_hdr(&b, 1), route_seen, routes_restart, d);
        if (r < 0)
                return r;
        pn_sort_if_needed(d->nh, d->n_nh, sizeof(*d->nh), pn_nh_compare_id);
        for (size_t j = 0; j < d->n_nh; j++)
                d->nh[j].ours = d->nh[j].protocol == d->protocol && d->nh[j].id - base < PN_NH_SPAN;
        for (size_t i = 0; i < d->n_rt; i++) {
                struct pn_nh *x = d->rt[i].nhid ? pn_nh_by_id(d->nh, d->n_nh, d->rt[i].nhid) : NULL;
                if (!x)
                        continue;
                if (x->protocol == d->protocol)
                        x->ours = true;
                if (x->plain) {
                        memcpy(d->rt[i].gw, x->gw, 16);
                        d->rt[i].has_gw = true;
                } else {
                        d->rt[i].has_gw = false;
                }
        }
        for (size_t i = 0; i < d->n_other; i++) {
                struct pn_nh *x = pn_nh_by_id(d->nh, d->n_nh, d->other[i]);
                if (x)
                        x->ours = false;
        }
        return d->facts ? sort_facts(d) : 0;
}

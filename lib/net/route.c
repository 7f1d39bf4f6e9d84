/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Routes: the one route parser and the route request builders (used by the route sync
 * too), and the public calls on them: add (or replace), delete, lookup by
 * destination/table/gateway/device in the context's namespace or a pod namespace; and
 * the MTU of the default route's link.
 */
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>

#include "net/net.h"

int pn_route_parse(const struct nlmsghdr *hdr, struct pn_rt *rt)
{
        const struct rtmsg *rtm;
        const struct nlattr *a, *mp = NULL;
        unsigned len;
        int rem;

        if (hdr->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
                return -EBADMSG;
        rtm = nlmsg_data(hdr);
        len = pn_family_len(rtm->rtm_family);
        if (len == 0)
                return 0;
        memset(rt, 0, sizeof(*rt));
        rt->family = rtm->rtm_family;
        rt->dst_len = rtm->rtm_dst_len;
        rt->type = rtm->rtm_type;
        rt->protocol = rtm->rtm_protocol;
        rt->table = rtm->rtm_table;
        rt->cloned = rtm->rtm_flags & RTM_F_CLONED;
        rt->onlink = rtm->rtm_flags & RTNH_F_ONLINK;
        rt->node = SIZE_MAX;
        pn_attr_for_each(a, hdr, sizeof(*rtm), rem)
        {
                switch (pn_attr_type(a)) {
                case RTA_DST:
                        pn_attr_copy(a, rt->dst, len);
                        break;
                case RTA_GATEWAY:
                        rt->has_gw = pn_attr_copy(a, rt->gw, len) || rt->has_gw;
                        break;
                case RTA_PRIORITY:
                        pn_attr_copy(a, &rt->priority, 4);
                        break;
                case RTA_TABLE:
                        pn_attr_copy(a, &rt->table, 4);
                        break;
                case RTA_OIF:
                        pn_attr_copy(a, &rt->oif, 4);
                        break;
                case RTA_NH_ID:
                        pn_attr_copy(a, &rt->nhid, 4);
                        break;
                case RTA_MULTIPATH:
                        rt->multipath = true;
                        mp = a;
                        break;
                default:
                        break;
                }
        }
        if (!rt->oif && mp && (size_t)pn_attr_len(mp) >= sizeof(struct rtnexthop)) {
                const struct rtnexthop *nh = pn_attr_data(mp);

                rt->oif = (uint32_t)nh->rtnh_ifindex; /* the first hop stands for all */
        }
        return 1;
}

int pn_route_multipath_gateways(const struct nlmsghdr *hdr,
                                int (*fn)(int family, const void *gw, void *userdata),
                                void *userdata)
{
        const struct rtmsg *rtm = nlmsg_data(hdr);
        const struct nlattr *mp;
        const struct rtnexthop *nh;
        unsigned len = pn_family_len(rtm->rtm_family);
        int left, r;

        mp = nlmsg_find_attr((struct nlmsghdr *)hdr, sizeof(*rtm), RTA_MULTIPATH);
        if (!mp || len == 0)
                return 0;
        nh = nla_data(mp);
        for (left = nla_len(mp);
             left >= (int)sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) && nh->rtnh_len <= left;
             left -= RTNH_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh)) {
                const struct nlattr *a;
                int rem;

                nla_for_each_attr(a, (struct nlattr *)RTNH_DATA(nh),
                                  nh->rtnh_len - (int)sizeof(*nh), rem)
                {
                        if (nla_type(a) != RTA_GATEWAY || (unsigned)nla_len(a) != len)
                                continue;
                        r = fn(rtm->rtm_family, nla_data(a), userdata);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int pn_route_put(struct pn_nlbuf *b, int cmd, int nlflags, const struct pn_rt *rt,
                 const struct pn_route_hdr *h)
{
        unsigned len = pn_family_len(rt->family);
        struct rtmsg rtm = {
            .rtm_family = rt->family,
            .rtm_dst_len = rt->dst_len,
            .rtm_table = (uint8_t)(h->table < 256 ? h->table : RT_TABLE_UNSPEC),
            .rtm_protocol = h->protocol,
            .rtm_scope = h->scope,
            .rtm_type = h->type,
            .rtm_flags = rt->onlink && !rt->nhid ? RTNH_F_ONLINK : 0,
        };

        pn_nlbuf_msg(b, cmd, nlflags, false, &rtm, sizeof(rtm));
        pn_nlbuf_put_u32(b, RTA_TABLE, h->table);
        if (rt->dst_len)
                pn_nlbuf_put(b, RTA_DST, rt->dst, len);
        if (rt->nhid)
                pn_nlbuf_put_u32(b, RTA_NH_ID, rt->nhid);
        else if (rt->has_gw)
                pn_nlbuf_put(b, RTA_GATEWAY, rt->gw, len);
        if (h->oif)
                pn_nlbuf_put_u32(b, RTA_OIF, h->oif);
        if (rt->priority)
                pn_nlbuf_put_u32(b, RTA_PRIORITY, rt->priority);
        return b->error;
}

int pn_route_lookup_put(struct pn_nlbuf *b, int family, const uint8_t *addr, unsigned rtm_flags)
{
        unsigned len = pn_family_len(family);
        struct rtmsg rtm = {.rtm_family = (uint8_t)family,
                            .rtm_dst_len = (uint8_t)(len * 8),
                            .rtm_flags = rtm_flags};

        if (len == 0 && b->error == 0)
                b->error = -EAFNOSUPPORT; /* no message: the batch must not run */
        pn_nlbuf_msg(b, RTM_GETROUTE, 0, true, &rtm, sizeof(rtm));
        pn_nlbuf_put(b, RTA_DST, addr, len);
        return b->error;
}

int pn_route_dump_put(struct pn_nlbuf *b, int family, unsigned protocol)
{
        struct rtmsg rtm = {.rtm_family = (uint8_t)family, .rtm_protocol = (uint8_t)protocol};

        return pn_nlbuf_msg(b, RTM_GETROUTE, 0, true, &rtm, sizeof(rtm));
}

typedef int (*route_fn)(const struct pn_rt *r, void *userdata);

struct route_walk {
        route_fn fn;
        void *userdata;
};

static int route_reply(struct nlmsghdr *hdr, void *userdata)
{
        struct route_walk *w = userdata;
        struct pn_rt r;
        int k;

        if (hdr->nlmsg_type != RTM_NEWROUTE)
                return 0;
        k = pn_route_parse(hdr, &r);
        return k <= 0 ? k : w->fn(&r, w->userdata);
}

static int route_dump(struct nl_sock *sk, int family, route_fn fn, void *userdata)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        struct route_walk w = {fn, userdata};

        if (pn_route_dump_put(&b, family, 0) < 0)
                return b.error;
        return pn_nl_dump(sk, pn_nlbuf_hdr(&b, 0), route_reply, NULL, &w);
}

struct default_pick {
        int oif;
        uint32_t priority;
};

static int default_route(const struct pn_rt *r, void *userdata)
{
        struct default_pick *p = userdata;

        if (r->dst_len != 0 || r->table != RT_TABLE_MAIN || r->type != RTN_UNICAST || !r->oif)
                return 0;
        if (!p->oif || r->priority < p->priority) {
                p->oif = r->oif;
                p->priority = r->priority;
        }
        return 0;
}

/* Asks the kernel which FIB entry a documentation address (RFC 5737 / RFC 3849, never
 * routed in practice) would use: the default route if there is one. A lookup only, no
 * packet. One reply, where a dump walks every route of the table (podnet-routes may have
 * installed thousands, and ADD asks on every pod start). The unspecified address itself
 * cannot be asked: IPv4 treats it as local. */
static int default_route_lookup(struct nl_sock *sk, int family, struct default_pick *p)
{
        static const uint8_t probe4[4] = {198, 51, 100, 1};
        static const uint8_t probe6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        struct route_walk w = {default_route, p};
        int r;

        r = pn_route_lookup_put(&b, family, family == AF_INET ? probe4 : probe6, RTM_F_FIB_MATCH);
        if (r < 0)
                return r;
        return pn_nl_request(sk, pn_nlbuf_hdr(&b, 0), route_reply, &w);
}

PODNET_EXPORT int podnet_default_route_mtu(podnet_ctx *ctx, int family, unsigned *mtu)
{
        struct default_pick p = {0};
        struct nl_sock *sk;
        struct pn_link l;
        int r;

        if (!mtu || (family != AF_INET && family != AF_INET6))
                return -EINVAL;
        sk = pn_nl_sock(ctx, NULL);
        if (!sk)
                return -errno;
        r = default_route_lookup(sk, family, &p);
        if (r == -ENETUNREACH || r == -EHOSTUNREACH)
                return -ENOENT;
        /* The match may be another table's (policy routing) or a route covering the
         * probe; then pick from the main table as a dump shows it. */
        if (r < 0 || !p.oif) {
                p = (struct default_pick){0};
                r = route_dump(sk, family, default_route, &p);
                if (r < 0)
                        return r;
        }
        if (!p.oif)
                return -ENOENT;
        r = pn_link_query(sk, NULL, p.oif, &l);
        if (r < 0)
                return r;
        *mtu = l.mtu;
        return 0;
}

/* A validated copy of the caller's route and its parts in kernel form. */
struct route_req {
        podnet_route_config rc;
        struct pn_rt rt; /* family, destination, gateway, metric */
        int oif;
        unsigned table;
        char text[2 * PODNET_CIDR_STRLEN + 32]; /* "10.1.2.0/24 via 192.168.1.12 dev eth0" */
};

/* Copies and checks rc, resolves rc->ifname (-ENODEV unworded if it is absent). */
static int route_prepare(podnet_ctx *ctx, podnet_netns *ns, const podnet_route_config *config,
                         struct route_req *q, struct nl_sock **sk, podnet_error **err)
{
        struct pn_addr a;
        size_t off;
        int r;

        memset(q, 0, sizeof(*q));
        if (PODNET_OPTS_COPY(q->rc, config, sizeof(podnet_route_config)) < 0)
                return pn_error_plain(err, EINVAL, 0,
                                      "Route configuration missing or of unknown size");
        if (pn_addr_from_cidr(&a, q->rc.dst, 0) < 0)
                return pn_error_plain(err, EINVAL, 0, "Route without a valid destination");
        q->rt.family = (uint8_t)a.family;
        q->rt.dst_len = (uint8_t)a.prefixlen;
        q->rt.priority = q->rc.priority;
        memcpy(q->rt.dst, a.addr, sizeof(q->rt.dst));
        pn_net_format(a.family, a.addr, a.prefixlen, q->text, sizeof(q->text));
        if (q->rc.gw) {
                if (pn_addr_from_cidr(&a, q->rc.gw, 0) < 0 || a.family != q->rt.family)
                        return pn_error_plain(
                            err, EINVAL, 0, "Route %s: gateway of another address family", q->text);
                memcpy(q->rt.gw, a.addr, sizeof(q->rt.gw));
                q->rt.has_gw = true;
                off = strlen(q->text);
                snprintf(q->text + off, sizeof(q->text) - off, " via ");
                off = strlen(q->text);
                pn_net_format(a.family, a.addr, 0, q->text + off, sizeof(q->text) - off);
                *strrchr(q->text, '/') = '\0';
        }
        if (q->rc.ifname) {
                if (!pn_ifname_valid(q->rc.ifname))
                        return pn_error_plain(err, EINVAL, 0, "Route %s: invalid device '%s'",
                                              q->text, q->rc.ifname);
                off = strlen(q->text);
                snprintf(q->text + off, sizeof(q->text) - off, " dev %s", q->rc.ifname);
        }
        if (q->rc.scope < -1 || q->rc.scope > 255 || q->rc.protocol > 255)
                return pn_error_plain(err, EINVAL, 0, "Route %s: invalid scope or protocol",
                                      q->text);
        q->table = q->rc.table ? q->rc.table : RT_TABLE_MAIN;
        *sk = pn_nl_sock(ctx, ns);
        if (!*sk)
                return pn_error(err, errno, 0, "Opening a netlink socket" PN_NS_FMT, PN_NS_ARG(ns));
        if (q->rc.ifname) {
                struct pn_link l;

                r = pn_link_query(*sk, q->rc.ifname, 0, &l);
                if (r < 0)
                        return r;
                q->oif = l.ifindex;
        }
        return 0;
}

static int route_send(struct nl_sock *sk, int cmd, int nlflags, const struct route_req *q)
{
        struct pn_route_hdr h = {.table = q->table, .oif = (uint32_t)q->oif};
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};

        if (cmd == RTM_NEWROUTE) {
                h.protocol = (uint8_t)(q->rc.protocol ? q->rc.protocol : RTPROT_BOOT);
                h.type = RTN_UNICAST;
                if (q->rc.scope >= 0)
                        h.scope = (uint8_t)q->rc.scope;
                else /* as ip-route(8): on-link without a gateway */
                        h.scope = q->rc.gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        } else {
                /* Deletion matches: protocol 0 and type/scope "any". */
                h.protocol = (uint8_t)q->rc.protocol;
                h.scope = RT_SCOPE_NOWHERE;
        }
        pn_route_put(&b, cmd, nlflags, &q->rt, &h);
        if (cmd == RTM_NEWROUTE && (q->rc.mtu || q->rc.advmss)) {
                size_t mx = pn_nlbuf_nest_start(&b, RTA_METRICS);

                if (q->rc.mtu)
                        pn_nlbuf_put_u32(&b, RTAX_MTU, q->rc.mtu);
                if (q->rc.advmss)
                        pn_nlbuf_put_u32(&b, RTAX_ADVMSS, q->rc.advmss);
                pn_nlbuf_nest_end(&b, mx);
        }
        if (b.error < 0)
                return b.error;
        return pn_nl_request(sk, pn_nlbuf_hdr(&b, 0), NULL, NULL);
}

static int route_match(const struct pn_rt *r, void *userdata)
{
        const struct route_req *q = userdata;
        unsigned len = pn_family_len(q->rt.family);

        if (r->family != q->rt.family || r->dst_len != q->rt.dst_len || r->table != q->table ||
            !pn_prefix_equal(r->dst, q->rt.dst, q->rt.dst_len))
                return 0;
        if (q->rc.gw && (!r->has_gw || memcmp(r->gw, q->rt.gw, len) != 0))
                return 0;
        if (q->oif && (int)r->oif != q->oif)
                return 0;
        return -EEXIST; /* found: stop */
}

enum route_op { ROUTE_ADD, ROUTE_DEL, ROUTE_HAS };

static int route_do(podnet_ctx *ctx, podnet_netns *ns, const podnet_route_config *rc,
                    enum route_op op, podnet_error **err)
{
        static const char *const verb[] = {"Adding", "Deleting", "Looking up"};
        struct route_req q;
        struct nl_sock *sk;
        int r;

        r = route_prepare(ctx, ns, rc, &q, &sk, err);
        if (r == -ENODEV && q.rc.ifname && op != ROUTE_ADD)
                return 0; /* no device, no route through it */
        if (r >= 0 && op == ROUTE_ADD) {
                r = route_send(sk, RTM_NEWROUTE,
                               NLM_F_CREATE | (q.rc.replace ? NLM_F_REPLACE : NLM_F_EXCL), &q);
        } else if (r >= 0 && op == ROUTE_DEL) {
                r = route_send(sk, RTM_DELROUTE, 0, &q);
                if (r == -ESRCH || r == -ENOENT)
                        r = 0;
        } else if (r >= 0) {
                r = route_dump(sk, q.rt.family, route_match, &q);
                if (r == -EEXIST)
                        return 1;
        }
        if (r < 0)
                return pn_error(err, -r, 0, "%s route %s" PN_NS_FMT, verb[op], q.text,
                                PN_NS_ARG(ns));
        return 0;
}

PODNET_EXPORT int podnet_route_add(podnet_ctx *ctx, podnet_netns *ns, const podnet_route_config *rc,
                                   podnet_error **err)
{
        return route_do(ctx, ns, rc, ROUTE_ADD, err);
}

PODNET_EXPORT int podnet_route_del(podnet_ctx *ctx, podnet_netns *ns, const podnet_route_config *rc,
                                   podnet_error **err)
{
        return route_do(ctx, ns, rc, ROUTE_DEL, err);
}

PODNET_EXPORT int podnet_route_has(podnet_ctx *ctx, podnet_netns *ns, const podnet_route_config *rc,
                                   podnet_error **err)
{
        return route_do(ctx, ns, rc, ROUTE_HAS, err);
}

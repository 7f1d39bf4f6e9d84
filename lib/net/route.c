/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Routes in the context's namespace or inside a pod namespace: add (or replace), delete,
 * lookup by destination/table/gateway/device; and the MTU of the default route's link.
 */
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>

#include "netlink/net.h"

/* A route as RTM_GETROUTE reports it, reduced to what matching needs. */
struct route_seen {
        int family;
        unsigned dst_len;
        uint8_t dst[16];
        bool has_gw;
        uint8_t gw[16];
        int oif;
        unsigned table;
        unsigned type;
        uint32_t priority;
};

static int route_parse(struct nlmsghdr *hdr, struct route_seen *r)
{
        struct nlattr *tb[RTA_MAX + 1];
        const struct rtmsg *rtm;
        unsigned len;

        if (hdr->nlmsg_type != RTM_NEWROUTE)
                return 0;
        if (nlmsg_parse(hdr, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
                return -EBADMSG;
        rtm = nlmsg_data(hdr);
        len = pn_family_len(rtm->rtm_family);
        if (len == 0)
                return 0;
        memset(r, 0, sizeof(*r));
        r->family = rtm->rtm_family;
        r->dst_len = rtm->rtm_dst_len;
        if (tb[RTA_DST] && (unsigned)nla_len(tb[RTA_DST]) == len)
                memcpy(r->dst, nla_data(tb[RTA_DST]), len);
        if (tb[RTA_GATEWAY] && (unsigned)nla_len(tb[RTA_GATEWAY]) == len) {
                r->has_gw = true;
                memcpy(r->gw, nla_data(tb[RTA_GATEWAY]), len);
        }
        r->oif = (int)pn_attr_u32(tb[RTA_OIF], 0);
        if (!r->oif && tb[RTA_MULTIPATH] &&
            (size_t)nla_len(tb[RTA_MULTIPATH]) >= sizeof(struct rtnexthop)) {
                const struct rtnexthop *nh = nla_data(tb[RTA_MULTIPATH]);

                r->oif = nh->rtnh_ifindex; /* the first hop stands for the route */
        }
        r->table = pn_attr_u32(tb[RTA_TABLE], rtm->rtm_table);
        r->type = rtm->rtm_type;
        r->priority = pn_attr_u32(tb[RTA_PRIORITY], 0);
        return 1;
}

typedef int (*route_fn)(const struct route_seen *r, void *userdata);

struct route_walk {
        route_fn fn;
        void *userdata;
};

static int route_reply(struct nlmsghdr *hdr, void *userdata)
{
        struct route_walk *w = userdata;
        struct route_seen r;
        int k = route_parse(hdr, &r);

        return k <= 0 ? k : w->fn(&r, w->userdata);
}

static int route_dump(struct nl_sock *sk, int family, route_fn fn, void *userdata)
{
        struct rtmsg rtm = {.rtm_family = (uint8_t)family};
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct route_walk w = {fn, userdata};

        msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
        if (!msg || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0)
                return -ENOMEM;
        return pn_net_request(sk, msg, route_reply, &w);
}

struct default_pick {
        int oif;
        uint32_t priority;
};

static int default_route(const struct route_seen *r, void *userdata)
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
        struct rtmsg rtm = {.rtm_family = (uint8_t)family,
                            .rtm_dst_len = family == AF_INET ? 32 : 128,
                            .rtm_flags = RTM_F_FIB_MATCH};
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct route_walk w = {default_route, p};

        msg = nlmsg_alloc_simple(RTM_GETROUTE, 0);
        if (!msg || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
            nla_put(msg, RTA_DST, family == AF_INET ? 4 : 16,
                    family == AF_INET ? probe4 : probe6) < 0)
                return -ENOMEM;
        return pn_net_request(sk, msg, route_reply, &w);
}

PODNET_EXPORT int podnet_default_route_mtu(podnet_ctx *ctx, int family, unsigned *mtu)
{
        struct default_pick p = {0};
        struct nl_sock *sk;
        struct pn_link l;
        int r;

        if (!mtu || (family != AF_INET && family != AF_INET6))
                return -EINVAL;
        sk = pn_net_sock(ctx, NULL);
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
        int family;
        uint8_t dst[16];
        unsigned dst_len;
        uint8_t gw[16];
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
        q->family = a.family;
        q->dst_len = a.prefixlen;
        memcpy(q->dst, a.addr, sizeof(q->dst));
        pn_net_format(a.family, a.addr, a.prefixlen, q->text, sizeof(q->text));
        if (q->rc.gw) {
                if (pn_addr_from_cidr(&a, q->rc.gw, 0) < 0 || a.family != q->family)
                        return pn_error_plain(
                            err, EINVAL, 0, "Route %s: gateway of another address family", q->text);
                memcpy(q->gw, a.addr, sizeof(q->gw));
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
        *sk = pn_net_sock(ctx, ns);
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
        unsigned len = pn_family_len(q->family);
        struct rtmsg rtm = {
            .rtm_family = (uint8_t)q->family,
            .rtm_dst_len = (uint8_t)q->dst_len,
            .rtm_table = (uint8_t)(q->table < 256 ? q->table : RT_TABLE_UNSPEC),
        };
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;

        if (cmd == RTM_NEWROUTE) {
                rtm.rtm_protocol = (uint8_t)(q->rc.protocol ? q->rc.protocol : RTPROT_BOOT);
                rtm.rtm_type = RTN_UNICAST;
                if (q->rc.scope >= 0)
                        rtm.rtm_scope = (uint8_t)q->rc.scope;
                else /* as ip-route(8): on-link without a gateway */
                        rtm.rtm_scope = q->rc.gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        } else {
                /* Deletion matches: protocol 0 and type/scope "any". */
                rtm.rtm_protocol = (uint8_t)q->rc.protocol;
                rtm.rtm_scope = RT_SCOPE_NOWHERE;
        }
        msg = nlmsg_alloc_simple(cmd, nlflags);
        if (!msg || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, RTA_TABLE, q->table) < 0 ||
            (q->dst_len && nla_put(msg, RTA_DST, (int)len, q->dst) < 0) ||
            (q->rc.gw && nla_put(msg, RTA_GATEWAY, (int)len, q->gw) < 0) ||
            (q->oif && nla_put_u32(msg, RTA_OIF, (uint32_t)q->oif) < 0) ||
            (q->rc.priority && nla_put_u32(msg, RTA_PRIORITY, q->rc.priority) < 0))
                return -ENOMEM;
        if (cmd == RTM_NEWROUTE && (q->rc.mtu || q->rc.advmss)) {
                struct nlattr *mx = nla_nest_start(msg, RTA_METRICS);

                if (!mx || (q->rc.mtu && nla_put_u32(msg, RTAX_MTU, q->rc.mtu) < 0) ||
                    (q->rc.advmss && nla_put_u32(msg, RTAX_ADVMSS, q->rc.advmss) < 0))
                        return -ENOMEM;
                nla_nest_end(msg, mx);
        }
        return pn_net_request(sk, msg, NULL, NULL);
}

static int route_match(const struct route_seen *r, void *userdata)
{
        const struct route_req *q = userdata;
        unsigned len = pn_family_len(q->family);

        if (r->family != q->family || r->dst_len != q->dst_len || r->table != q->table ||
            !pn_prefix_equal(r->dst, q->dst, q->dst_len))
                return 0;
        if (q->rc.gw && (!r->has_gw || memcmp(r->gw, q->gw, len) != 0))
                return 0;
        if (q->oif && r->oif != q->oif)
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
                r = route_dump(sk, q.family, route_match, &q);
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

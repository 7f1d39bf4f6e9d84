/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test driver for the VXLAN overlay family (podnet_vxlan_*, podnet_neigh_*,
 * podnet_fdb_*): one public API call per invocation, or `peer`, which programs what a
 * node needs to reach one peer over the overlay (neighbour and FDB entry from the
 * peer's underlay address and pod CIDR); and `batch`, which programs many peers the way
 * a sync does, through the internal API: dump, diff, one pipelined batch of the
 * entries that differ, dump again, delete in a batch; and `route`, the route to a peer's
 * pod CIDR via its endpoint address on the VXLAN device (onlink), plain or through a
 * nexthop object, written in a batch. Driven by tests/netns/vxlan.sh.
 * Errors go to stderr as "pn-vxlan-test: <message> (errno N)", exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "net/net.h"

struct opts {
        const char *ns, *local, *dev, *mac;
        unsigned long vni, port, mtu, nh;
        long onlink; /* -1: not given */
        const char *pos[4];
        size_t n_pos;
};

static void usage(void)
{
        fprintf(stderr,
                "usage: pn-vxlan-test COMMAND [ARGS] [--ns PATH]\n"
                "  ensure NAME --vni N [--port N] [--local IP] [--dev DEV] [--mtu N] [--mac MAC]\n"
                "  get NAME | delete NAME\n"
                "  neigh-set DEV IP MAC | neigh-del DEV IP | neigh-dump DEV [4|6]\n"
                "  fdb-set DEV MAC IP | fdb-del DEV MAC [IP] | fdb-dump DEV\n"
                "  endpoint-mac UNDERLAY-IP | endpoint-addr POD-CIDR\n"
                "  peer DEV UNDERLAY-IP POD-CIDR: the neighbour and FDB entry for a peer\n"
                "  batch DEV N: N peers (underlay 172.16.0.0/12, pod CIDRs 10.128.0.0/9 in /24s)\n"
                "        written, checked and deleted in pipelined batches\n"
                "  route DEV DST GW [--nh ID] [--onlink 0|1]: the route to DST via GW on DEV,\n"
                "        onlink unless --onlink 0; with --nh, through nexthop object ID (one batch)\n"
                "  route-del DST [--nh ID]: deletes that route (and the nexthop object)\n");
        exit(2);
}

static unsigned long num(const char *s)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 0);
        if (!*s || *end || errno)
                usage();
        return v;
}

static void parse(struct opts *o, int argc, char **argv)
{
        memset(o, 0, sizeof(*o));
        o->onlink = -1;
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

                if (strncmp(a, "--", 2) != 0) {
                        if (o->n_pos == 4)
                                usage();
                        o->pos[o->n_pos++] = a;
                        continue;
                }
                if (!v)
                        usage();
                i++;
                if (!strcmp(a, "--ns"))
                        o->ns = v;
                else if (!strcmp(a, "--local"))
                        o->local = v;
                else if (!strcmp(a, "--dev"))
                        o->dev = v;
                else if (!strcmp(a, "--mac"))
                        o->mac = v;
                else if (!strcmp(a, "--vni"))
                        o->vni = num(v);
                else if (!strcmp(a, "--port"))
                        o->port = num(v);
                else if (!strcmp(a, "--mtu"))
                        o->mtu = num(v);
                else if (!strcmp(a, "--nh"))
                        o->nh = num(v);
                else if (!strcmp(a, "--onlink"))
                        o->onlink = (long)num(v);
                else
                        usage();
        }
}

static int fail(int r, podnet_error *err)
{
        fprintf(stderr, "pn-vxlan-test: %s (errno %d)\n",
                err ? podnet_error_message(err) : strerror(-r), -r);
        podnet_error_free(err);
        return 1;
}

static podnet_cidr *cidr(const char *text)
{
        podnet_cidr *c = NULL;

        if (podnet_cidr_parse(&c, text) < 0) {
                fprintf(stderr, "pn-vxlan-test: bad address '%s'\n", text);
                exit(2);
        }
        return c;
}

static void print_info(const podnet_vxlan_info *i)
{
        printf("ifindex=%d name=%s vni=%u port=%u family=%d local=%s dev=%d mtu=%u mac=%s "
               "up=%d learning=%d group=%d changes=%u\n",
               i->ifindex, i->ifname, (unsigned)i->vni, (unsigned)i->port,
               i->family == AF_INET6 ? 6 : 4, i->local[0] ? i->local : "-", i->dev_ifindex, i->mtu,
               i->mac, i->up, i->learning, i->has_group, i->changes);
}

static int print_neigh(const podnet_neigh_entry *e, void *userdata)
{
        char a[PODNET_CIDR_STRLEN];

        (void)userdata;
        podnet_cidr_format_addr(e->addr, a, sizeof(a));
        printf("%s %s state=0x%x\n", a, e->mac[0] ? e->mac : "-", e->state);
        return 0;
}

static int print_fdb(const podnet_fdb_entry *e, void *userdata)
{
        char a[PODNET_CIDR_STRLEN] = "-";

        (void)userdata;
        if (e->dst)
                podnet_cidr_format_addr(e->dst, a, sizeof(a));
        printf("%s %s state=0x%x self=%d\n", e->mac, a, e->state, (e->flags & 0x02) != 0);
        return 0;
}

/* The overlay entries for one peer: endpoint address -> endpoint MAC (neighbour), and
 * endpoint MAC -> underlay address (FDB). The route goes via the endpoint address. */
static int peer(podnet_ctx *ctx, podnet_netns *ns, const char *dev, const char *underlay,
                const char *pod_cidr, podnet_error **err)
{
        podnet_cidr *u = cidr(underlay), *p = cidr(pod_cidr), *ep = NULL;
        char mac[18], a[PODNET_CIDR_STRLEN];
        int r;

        r = podnet_vxlan_endpoint_mac(u, mac);
        if (r >= 0)
                r = podnet_vxlan_endpoint_addr(&ep, p);
        if (r >= 0)
                r = podnet_neigh_set(ctx, ns, dev, ep, mac, err);
        if (r >= 0)
                r = podnet_fdb_set(ctx, ns, dev, mac, u, err);
        if (r >= 0) {
                podnet_cidr_format_addr(ep, a, sizeof(a));
                printf("endpoint=%s mac=%s\n", a, mac);
        }
        podnet_cidr_free(u);
        podnet_cidr_free(p);
        podnet_cidr_free(ep);
        return r;
}

/* ---- many peers, as a sync writes them ---- */

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Peer i: underlay 172.16.0.0 + i + 1, endpoint 10.128.0.0 + 256 i. */
static void batch_peer(size_t i, int ifindex, struct pn_neigh *n, struct pn_fdb *f)
{
        uint32_t under = htonl(UINT32_C(0xac100001) + (uint32_t)i);
        uint32_t ep = htonl(UINT32_C(0x0a800000) + 256 * (uint32_t)i);

        memset(n, 0, sizeof(*n));
        memset(f, 0, sizeof(*f));
        n->family = AF_INET;
        n->ifindex = f->ifindex = ifindex;
        memcpy(n->addr, &ep, 4);
        f->family = AF_INET;
        memcpy(f->dst, &under, 4);
        pn_vtep_mac(AF_INET, f->dst, f->mac);
        memcpy(n->mac, f->mac, 6);
}

/* How many of the N peers' entries are missing or differ from what the kernel has. */
static int batch_diff(struct nl_sock *sk, int ifindex, size_t npeers, size_t *differ, size_t *extra)
{
        _cleanup_free_ struct pn_neigh *nv = NULL;
        _cleanup_free_ struct pn_fdb *fv = NULL;
        size_t nn, nf, kept = 0;
        int r;

        r = pn_neigh_dump(sk, AF_INET, ifindex, &nv, &nn);
        if (r >= 0)
                r = pn_fdb_dump(sk, ifindex, &fv, &nf);
        if (r < 0)
                return r;
        *differ = 0;
        for (size_t i = 0; i < npeers; i++) {
                struct pn_neigh n, *hn;
                struct pn_fdb f, *hf;

                batch_peer(i, ifindex, &n, &f);
                hn = bsearch(&n, nv, nn, sizeof(n), pn_neigh_cmp);
                hf = bsearch(&f, fv, nf, sizeof(f), pn_fdb_cmp);
                *differ += !hn || !pn_neigh_same(hn, &n);
                *differ += !hf || !pn_fdb_same(hf, &f);
                kept += (hn != NULL) + (hf != NULL);
        }
        for (size_t i = 0; i < nn; i++) /* the kernel's own multicast entries are not ours */
                kept += !(nv[i].state & NUD_PERMANENT);
        *extra = nn + nf - kept;
        return 0;
}

static int batch_send(struct nl_sock *sk, int cmd, int ifindex, size_t npeers, double *ms)
{
        int nlflags = cmd == RTM_NEWNEIGH ? NLM_F_CREATE | NLM_F_REPLACE : 0;
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        double t0;
        int r;

        for (size_t i = 0; i < npeers; i++) {
                struct pn_neigh n;
                struct pn_fdb f;

                batch_peer(i, ifindex, &n, &f);
                pn_neigh_put(&b, cmd, nlflags, &n);
                pn_fdb_put(&b, cmd, nlflags, &f);
        }
        if (b.error < 0)
                return b.error;
        if (b.n != 2 * npeers)
                return -EPROTO;
        t0 = now_ms();
        r = pn_nl_batch(sk, &b, NULL, NULL);
        *ms = now_ms() - t0;
        for (size_t i = 0; i < b.n && r >= 0; i++)
                r = pn_nl_req_error(&b.reqs[i]);
        return r;
}

static int batch(podnet_ctx *ctx, podnet_netns *ns, const char *dev, size_t npeers,
                 podnet_error **err)
{
        struct nl_sock *sk;
        size_t differ, extra;
        double ms, t0;
        int ifindex, r;

        r = pn_net_link_for(ctx, ns, dev, &sk, &ifindex, err);
        if (r < 0)
                return r;
        pn_nl_sock_bulk(sk);
        r = batch_diff(sk, ifindex, npeers, &differ, &extra);
        if (r < 0)
                return r;
        printf("before: differ=%zu extra=%zu\n", differ, extra);
        r = batch_send(sk, RTM_NEWNEIGH, ifindex, npeers, &ms);
        if (r < 0)
                return r;
        printf("written: %zu requests in one batch, %.1f ms\n", 2 * npeers, ms);
        t0 = now_ms();
        r = batch_diff(sk, ifindex, npeers, &differ, &extra);
        if (r < 0)
                return r;
        printf("after: differ=%zu extra=%zu (dump and diff %.1f ms)\n", differ, extra,
               now_ms() - t0);
        r = batch_send(sk, RTM_DELNEIGH, ifindex, npeers, &ms);
        if (r < 0)
                return r;
        printf("deleted: %zu requests in one batch, %.1f ms\n", 2 * npeers, ms);
        r = batch_diff(sk, ifindex, npeers, &differ, &extra);
        if (r >= 0)
                printf("end: differ=%zu extra=%zu\n", differ, extra);
        return r;
}

/* ---- the route to a peer over the overlay ---- */

/* rt's destination (and gateway, if gw) from text; -EINVAL for a bad or mixed family. */
static int route_addrs(struct pn_rt *rt, const char *dst, const char *gw)
{
        _cleanup_cidr_ podnet_cidr *d = cidr(dst);
        _cleanup_cidr_ podnet_cidr *g = gw ? cidr(gw) : NULL;
        struct pn_addr a;

        if (pn_addr_from_cidr(&a, d, 0) < 0)
                return -EINVAL;
        rt->family = (uint8_t)a.family;
        rt->dst_len = (uint8_t)a.prefixlen;
        memcpy(rt->dst, a.addr, sizeof(rt->dst));
        if (!g)
                return 0;
        if (pn_addr_from_cidr(&a, g, 0) < 0 || a.family != rt->family)
                return -EINVAL;
        memcpy(rt->gw, a.addr, sizeof(rt->gw));
        rt->has_gw = true;
        return 0;
}

/* Sends b and turns the first failed request into err: "<what[i]>: <strerror>". */
static int send_batch(struct nl_sock *sk, struct pn_nlbuf *b, const char *const *what,
                      podnet_error **err)
{
        int r = pn_nl_batch(sk, b, NULL, NULL);

        if (r < 0)
                return pn_error(err, -r, 0, "Sending the batch");
        for (size_t i = 0; i < b->n; i++) {
                r = pn_nl_req_error(&b->reqs[i]);
                if (r < 0)
                        return pn_error(err, -r, 0, "%s", what[i]);
        }
        return 0;
}

/* The route to a peer's pod CIDR dst via its endpoint address gw on the VXLAN device:
 * with nhid, a nexthop object (gw on dev, onlink) and the route through it, in one
 * batch; else a plain route with gw, dev and onlink. Replaces what is there. */
static int route(podnet_ctx *ctx, podnet_netns *ns, const char *dev, const char *dst,
                 const char *gw, uint32_t nhid, bool onlink, podnet_error **err)
{
        struct pn_route_hdr h = {.protocol = RTPROT_STATIC,
                                 .scope = RT_SCOPE_UNIVERSE,
                                 .type = RTN_UNICAST,
                                 .table = RT_TABLE_MAIN};
        const char *what[] = {"Adding nexthop object", "Adding route"};
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        struct pn_rt rt = {0};
        struct nl_sock *sk;
        int ifindex, r;

        if (route_addrs(&rt, dst, gw) < 0)
                return pn_error_plain(err, EINVAL, 0, "Route %s via %s: invalid addresses", dst,
                                      gw);
        r = pn_net_link_for(ctx, ns, dev, &sk, &ifindex, err);
        if (r < 0)
                return r;
        if (nhid) {
                struct pn_nh nh = {.id = nhid,
                                   .family = rt.family,
                                   .oif = (uint32_t)ifindex,
                                   .onlink = onlink};

                memcpy(nh.gw, rt.gw, sizeof(nh.gw));
                pn_nexthop_put(&b, RTM_NEWNEXTHOP, NLM_F_CREATE | NLM_F_REPLACE, &nh,
                               RTPROT_STATIC);
                rt.nhid = nhid;
        } else {
                rt.onlink = onlink;
                h.oif = (uint32_t)ifindex;
                what[0] = what[1];
        }
        pn_route_put(&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rt, &h);
        if (b.error < 0)
                return pn_error(err, -b.error, 0, "Building the batch");
        return send_batch(sk, &b, what, err);
}

static int route_del(podnet_ctx *ctx, podnet_netns *ns, const char *dst, uint32_t nhid,
                     podnet_error **err)
{
        struct pn_route_hdr h = {.scope = RT_SCOPE_NOWHERE, .table = RT_TABLE_MAIN};
        const char *const what[] = {"Deleting route", "Deleting nexthop object"};
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        struct pn_nh nh = {.id = nhid};
        struct pn_rt rt = {0};
        struct nl_sock *sk;

        if (route_addrs(&rt, dst, NULL) < 0)
                return pn_error_plain(err, EINVAL, 0, "Route %s: invalid address", dst);
        sk = pn_nl_sock(ctx, ns);
        if (!sk)
                return pn_net_sock_error(err, ns);
        rt.nhid = nhid;
        pn_route_put(&b, RTM_DELROUTE, 0, &rt, &h);
        if (nhid)
                pn_nexthop_put(&b, RTM_DELNEXTHOP, 0, &nh, 0);
        if (b.error < 0)
                return pn_error(err, -b.error, 0, "Building the batch");
        return send_batch(sk, &b, what, err);
}

static int run(podnet_ctx *ctx, podnet_netns *ns, const char *cmd, struct opts *o,
               podnet_error **err)
{
        const char **p = o->pos;
        size_t n = o->n_pos;
        podnet_vxlan_info info = {.size = sizeof(info)};
        podnet_cidr *a = NULL, *b = NULL;
        char mac[18];
        int r;

        if (!strcmp(cmd, "ensure") && n == 1) {
                podnet_vxlan_config c = {.size = sizeof(c),
                                         .name = p[0],
                                         .vni = (uint32_t)o->vni,
                                         .port = (uint16_t)o->port,
                                         .dev = o->dev,
                                         .mtu = (unsigned)o->mtu,
                                         .mac = o->mac};

                if (o->port > 65535)
                        usage();
                if (o->local)
                        c.local = a = cidr(o->local);
                r = podnet_vxlan_ensure(ctx, ns, &c, &info, err);
                if (r > 0 && r != info.ifindex)
                        r = -EPROTO; /* the value and the info disagree */
                if (r > 0)
                        print_info(&info);
        } else if (!strcmp(cmd, "get") && n == 1) {
                r = podnet_vxlan_get(ctx, ns, p[0], &info, err);
                if (r >= 0)
                        print_info(&info);
        } else if (!strcmp(cmd, "delete") && n == 1) {
                r = podnet_vxlan_delete(ctx, ns, p[0], err);
        } else if (!strcmp(cmd, "neigh-set") && n == 3) {
                r = podnet_neigh_set(ctx, ns, p[0], a = cidr(p[1]), p[2], err);
        } else if (!strcmp(cmd, "neigh-del") && n == 2) {
                r = podnet_neigh_del(ctx, ns, p[0], a = cidr(p[1]), err);
        } else if (!strcmp(cmd, "neigh-dump") && (n == 1 || n == 2)) {
                int family = n == 1 ? AF_UNSPEC : num(p[1]) == 4 ? AF_INET : AF_INET6;

                r = podnet_neigh_dump(ctx, ns, p[0], family, print_neigh, NULL, err);
                if (r >= 0)
                        printf("count=%d\n", r);
        } else if (!strcmp(cmd, "fdb-set") && n == 3) {
                r = podnet_fdb_set(ctx, ns, p[0], p[1], a = cidr(p[2]), err);
        } else if (!strcmp(cmd, "fdb-del") && (n == 2 || n == 3)) {
                r = podnet_fdb_del(ctx, ns, p[0], p[1], n == 3 ? (a = cidr(p[2])) : NULL, err);
        } else if (!strcmp(cmd, "fdb-dump") && n == 1) {
                r = podnet_fdb_dump(ctx, ns, p[0], print_fdb, NULL, err);
                if (r >= 0)
                        printf("count=%d\n", r);
        } else if (!strcmp(cmd, "endpoint-mac") && n == 1) {
                r = podnet_vxlan_endpoint_mac(a = cidr(p[0]), mac);
                if (r >= 0)
                        printf("%s\n", mac);
        } else if (!strcmp(cmd, "endpoint-addr") && n == 1) {
                char text[PODNET_CIDR_STRLEN];

                r = podnet_vxlan_endpoint_addr(&b, a = cidr(p[0]));
                if (r >= 0 && podnet_cidr_format(b, text, sizeof(text)) >= 0)
                        printf("%s\n", text);
        } else if (!strcmp(cmd, "peer") && n == 3) {
                r = peer(ctx, ns, p[0], p[1], p[2], err);
        } else if (!strcmp(cmd, "batch") && n == 2) {
                r = batch(ctx, ns, p[0], num(p[1]), err);
        } else if (!strcmp(cmd, "route") && n == 3 && o->nh <= UINT32_MAX && o->onlink <= 1) {
                r = route(ctx, ns, p[0], p[1], p[2], (uint32_t)o->nh, o->onlink != 0, err);
        } else if (!strcmp(cmd, "route-del") && n == 1 && o->nh <= UINT32_MAX) {
                r = route_del(ctx, ns, p[0], (uint32_t)o->nh, err);
        } else {
                usage();
        }
        podnet_cidr_free(a);
        podnet_cidr_free(b);
        return r;
}

int main(int argc, char **argv)
{
        podnet_ctx *ctx = NULL;
        podnet_netns *ns = NULL;
        podnet_error *err = NULL;
        struct opts o;
        int r;

        if (argc < 2)
                usage();
        parse(&o, argc - 2, argv + 2);
        r = podnet_ctx_new(&ctx);
        if (r < 0)
                return fail(r, NULL);
        if (o.ns) {
                r = podnet_netns_open(ctx, &ns, o.ns, &err);
                if (r < 0)
                        return fail(r, err);
        }
        r = run(ctx, ns, argv[1], &o, &err);
        podnet_netns_unref(ns);
        podnet_ctx_unref(ctx);
        return r < 0 ? fail(r, err) : 0;
}

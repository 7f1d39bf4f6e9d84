/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The overlay plan without a kernel: each mode's per-peer decision and its reason
 * (forced, on-link, not on-link, no tunnel endpoint, endpoint MAC collision), and the
 * neighbour entries, FDB entries and onlink routes wanted for the overlay peers.
 */
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "agent/overlay.h"
#include "core/cidr.h"
#include "tap.h"

/* self and five peers: near is on this node's underlay subnets, far behind a router,
 * v4only has an IPv6 pod CIDR and no IPv6 address, noaddr no address, nocidr no pod CIDR */
static const char nodes_text[] =
    "self 10.244.1.0/24,fd00:244:1::/64 192.168.50.1,fd00:50::1\n"
    "near 10.244.2.0/24,fd00:244:2::/64 192.168.50.2,fd00:50::2\n"
    "far 10.244.3.0/24 10.0.7.3\n"
    "v4only 10.244.4.0/24,fd00:244:4::/64 192.168.50.4\n"
    "noaddr 10.244.5.0/24 -\n"
    "nocidr - 192.168.50.6\n";

static unsigned onlink_calls;

/* On-link: 192.168.50.0/24 and fd00:50::/64, as a node with those two subnets sees it. */
static bool onlink(int family, const uint8_t *addr, void *userdata)
{
        static const uint8_t v6[8] = {0xfd, 0x00, 0x00, 0x50};

        (void)userdata;
        onlink_calls++;
        if (family == AF_INET)
                return addr[0] == 192 && addr[1] == 168 && addr[2] == 50;
        return memcmp(addr, v6, 8) == 0;
}

static podnet_nodes *parse(const char *text)
{
        podnet_nodes *nodes = NULL;
        podnet_error *err = NULL;

        if (podnet_nodes_parse(&nodes, text, strlen(text), &err) < 0) {
                diag("node list: %s", err ? podnet_error_message(err) : "?");
                podnet_error_free(err);
        }
        return nodes;
}

static char buf[1024];

/* "near=direct(on-link) far=vxlan(not on-link) ..." */
static const char *paths(const podnet_nodes *nodes, const struct pn_overlay_plan *p)
{
        size_t len = 0;

        buf[0] = '\0';
        for (size_t k = 0; k < p->n_peer && len < sizeof(buf); k++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s=%s(%s)", k ? " " : "",
                                        podnet_nodes_name(nodes, p->peer[k].node),
                                        pn_path_name(p->peer[k].path),
                                        pn_path_reason_name(p->peer[k].reason));
        return buf;
}

static char *addr_text(int family, const uint8_t *a, char *out)
{
        inet_ntop(family, a, out, INET6_ADDRSTRLEN);
        return out;
}

/* "10.244.3.0/24 via 10.244.3.0 dev 9 onlink metric 0 table 254 node far, ..." */
static const char *routes(const podnet_nodes *nodes, const struct pn_overlay_plan *p)
{
        char d[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
        size_t len = 0;

        buf[0] = '\0';
        for (size_t k = 0; k < p->n_rt && len < sizeof(buf); k++) {
                const struct pn_rt *r = &p->rt[k];

                len += (size_t)snprintf(
                    buf + len, sizeof(buf) - len, "%s%s/%u via %s dev %u%s metric %u table %u node %s",
                    k ? ", " : "", addr_text(r->family, r->dst, d), r->dst_len,
                    addr_text(r->family, r->gw, g), r->oif, r->onlink && r->has_gw ? " onlink" : "",
                    r->priority, r->table, podnet_nodes_name(nodes, r->node));
        }
        return buf;
}

/* "10.244.3.0 72:34:0a:00:07:03 dev 9 permanent, ..." */
static const char *neighs(const struct pn_overlay_plan *p)
{
        char a[INET6_ADDRSTRLEN], m[18];
        size_t len = 0;

        buf[0] = '\0';
        for (size_t k = 0; k < p->n_neigh && len < sizeof(buf); k++) {
                const struct pn_neigh *n = &p->neigh[k];

                pn_mac_format(n->mac, 6, m, sizeof(m));
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s %s dev %d%s",
                                        k ? ", " : "", addr_text(n->family, n->addr, a), m,
                                        n->ifindex, n->state == NUD_PERMANENT ? " permanent" : "");
        }
        return buf;
}

/* "72:34:0a:00:07:03 dst 10.0.7.3 dev 9 self permanent, ..." */
static const char *fdbs(const struct pn_overlay_plan *p)
{
        char a[INET6_ADDRSTRLEN], m[18];
        size_t len = 0;

        buf[0] = '\0';
        for (size_t k = 0; k < p->n_fdb && len < sizeof(buf); k++) {
                const struct pn_fdb *f = &p->fdb[k];

                pn_mac_format(f->mac, 6, m, sizeof(m));
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s dst %s dev %d%s%s",
                                        k ? ", " : "", m, addr_text(f->family, f->dst, a),
                                        f->ifindex, f->flags & NTF_SELF ? " self" : "",
                                        f->state == NUD_PERMANENT ? " permanent" : "");
        }
        return buf;
}

static struct pn_overlay_config config(enum pn_overlay_mode mode, int family)
{
        return (struct pn_overlay_config){.mode = mode,
                                          .family = family,
                                          .ifindex = 9,
                                          .table = RT_TABLE_MAIN,
                                          .priority = {0, 1024},
                                          .onlink = onlink};
}

static void test_never(const podnet_nodes *nodes)
{
        struct pn_overlay_config cfg = config(PN_OVERLAY_NEVER, AF_INET);
        struct pn_overlay_plan p;

        onlink_calls = 0;
        if (!ok(pn_overlay_plan(nodes, 0, &cfg, &p) == 0, "never: planned"))
                return;
        is_str(paths(nodes, &p),
               "near=direct(forced by mode) far=direct(forced by mode) "
               "v4only=direct(forced by mode) noaddr=direct(forced by mode) "
               "nocidr=direct(forced by mode)",
               "never: every peer direct, forced by the mode");
        ok(p.n_vxlan == 0 && p.n_rt == 0 && p.n_neigh == 0 && p.n_fdb == 0,
           "  no entry and no route on the overlay");
        is_int(onlink_calls, 0, "  the on-link question is not asked");
        pn_overlay_plan_done(&p);
        ok(p.peer == NULL && p.n_peer == 0, "plan_done leaves an empty plan");
}

static void test_always(const podnet_nodes *nodes)
{
        struct pn_overlay_config cfg = config(PN_OVERLAY_ALWAYS, AF_INET);
        struct pn_overlay_plan p;

        onlink_calls = 0;
        if (!ok(pn_overlay_plan(nodes, 0, &cfg, &p) == 0, "always: planned"))
                return;
        is_str(paths(nodes, &p),
               "near=vxlan(forced by mode) far=vxlan(forced by mode) "
               "v4only=vxlan(forced by mode) noaddr=direct(no tunnel endpoint) "
               "nocidr=vxlan(forced by mode)",
               "always: every peer with an IPv4 address over the overlay");
        is_int(onlink_calls, 0, "  the on-link question is not asked");
        is_int(p.n_vxlan, 4, "  four overlay peers");
        is_str(fdbs(&p),
               "72:34:0a:00:07:03 dst 10.0.7.3 dev 9 self permanent, "
               "72:34:c0:a8:32:02 dst 192.168.50.2 dev 9 self permanent, "
               "72:34:c0:a8:32:04 dst 192.168.50.4 dev 9 self permanent",
               "  one FDB entry per overlay peer with a pod CIDR (no route uses the others'), "
               "sorted by MAC");
        is_str(neighs(&p),
               "10.244.2.0 72:34:c0:a8:32:02 dev 9 permanent, "
               "10.244.3.0 72:34:0a:00:07:03 dev 9 permanent, "
               "10.244.4.0 72:34:c0:a8:32:04 dev 9 permanent, "
               "fe80::7034:c0ff:fea8:3202 72:34:c0:a8:32:02 dev 9 permanent, "
               "fe80::7034:c0ff:fea8:3204 72:34:c0:a8:32:04 dev 9 permanent",
               "  one neighbour entry per pod CIDR: endpoint address (IPv6: the link-local one of the endpoint MAC) -> endpoint MAC, sorted");
        is_str(routes(nodes, &p),
               "10.244.2.0/24 via 10.244.2.0 dev 9 onlink metric 0 table 254 node near, "
               "10.244.3.0/24 via 10.244.3.0 dev 9 onlink metric 0 table 254 node far, "
               "10.244.4.0/24 via 10.244.4.0 dev 9 onlink metric 0 table 254 node v4only, "
               "fd00:244:2::/64 via fe80::7034:c0ff:fea8:3202 dev 9 onlink metric 1024 table 254 node near, "
               "fd00:244:4::/64 via fe80::7034:c0ff:fea8:3204 dev 9 onlink metric 1024 table 254 node v4only",
               "  one route per pod CIDR via its endpoint address, onlink on the device; IPv6 "
               "pod CIDRs over the IPv4 underlay");
        ok(p.rt[0].type == RTN_UNICAST && p.rt[0].nhid == 0, "  unicast, no nexthop object yet");
        pn_overlay_plan_done(&p);
}

static void test_cross_subnet(const podnet_nodes *nodes)
{
        struct pn_overlay_config cfg = config(PN_OVERLAY_CROSS_SUBNET, AF_INET);
        struct pn_overlay_plan p;

        onlink_calls = 0;
        if (!ok(pn_overlay_plan(nodes, 0, &cfg, &p) == 0, "cross-subnet: planned"))
                return;
        is_str(paths(nodes, &p),
               "near=direct(on-link) far=vxlan(not on-link) v4only=direct(on-link) "
               "noaddr=direct(no tunnel endpoint) nocidr=direct(on-link)",
               "cross-subnet: on-link peers direct, the others over the overlay; a peer "
               "without an IPv6 address is judged by its IPv4 one");
        ok(onlink_calls > 0, "  the on-link question is asked (%u times)", onlink_calls);
        is_str(routes(nodes, &p),
               "10.244.3.0/24 via 10.244.3.0 dev 9 onlink metric 0 table 254 node far, "
               "fd00:244:4::/64 via fe80::7034:c0ff:fea8:3204 dev 9 onlink metric 1024 table 254 node v4only",
               "  routes for the overlay peers, and for a direct peer's pod CIDR of a family it "
               "has no address of (no direct route can carry it)");
        is_str(fdbs(&p),
               "72:34:0a:00:07:03 dst 10.0.7.3 dev 9 self permanent, "
               "72:34:c0:a8:32:04 dst 192.168.50.4 dev 9 self permanent",
               "  FDB entries for the overlay peers only");
        pn_overlay_plan_done(&p);

        cfg.onlink = NULL;
        if (ok(pn_overlay_plan(nodes, 0, &cfg, &p) == 0, "cross-subnet without an on-link test")) {
                is_int(p.n_vxlan, 4, "  every peer with an endpoint counts as not on-link");
                pn_overlay_plan_done(&p);
        }
}

static void test_ipv6_underlay(const podnet_nodes *nodes)
{
        struct pn_overlay_config cfg = config(PN_OVERLAY_CROSS_SUBNET, AF_INET6);
        struct pn_overlay_plan p;
        uint8_t mac[6];
        char m[18], want[96];

        if (!ok(pn_overlay_plan(nodes, 0, &cfg, &p) == 0, "IPv6 underlay, cross-subnet: planned"))
                return;
        is_str(paths(nodes, &p),
               "near=direct(on-link) far=direct(no tunnel endpoint) "
               "v4only=direct(on-link) noaddr=direct(no tunnel endpoint) "
               "nocidr=direct(no tunnel endpoint)",
               "  peers without an IPv6 address have no endpoint on an IPv6 underlay");
        pn_overlay_plan_done(&p);
        cfg.mode = PN_OVERLAY_ALWAYS;
        if (!ok(pn_overlay_plan(nodes, 0, &cfg, &p) == 0, "IPv6 underlay, always: planned"))
                return;
        is_int(p.n_vxlan, 1, "  one overlay peer (near)");
        pn_vtep_mac(AF_INET6, p.peer[0].underlay, mac);
        pn_mac_format(mac, 6, m, sizeof(m));
        snprintf(want, sizeof(want), "%s dst fd00:50::2 dev 9 self permanent", m);
        is_str(fdbs(&p), want, "  its FDB entry: the hashed endpoint MAC -> its IPv6 address");
        pn_overlay_plan_done(&p);
}

static void test_self(const podnet_nodes *nodes)
{
        struct pn_overlay_config cfg = config(PN_OVERLAY_ALWAYS, AF_INET);
        struct pn_overlay_plan p;

        if (ok(pn_overlay_plan(nodes, SIZE_MAX, &cfg, &p) == 0, "this node not in the list")) {
                is_int(p.n_peer, 6, "  every node is a peer");
                is_int(p.n_vxlan, 0, "  none over the overlay: no endpoint of our own");
                is_str(pn_path_reason_name(p.peer[1].reason), "no tunnel endpoint", "  ... says why");
                pn_overlay_plan_done(&p);
        }
        /* noaddr as this node: no address, so no endpoint */
        if (ok(pn_overlay_plan(nodes, 4, &cfg, &p) == 0, "this node without an address")) {
                is_int(p.n_vxlan, 0, "  no peer over the overlay");
                pn_overlay_plan_done(&p);
        }
        is_int(pn_overlay_plan(nodes, 6, &cfg, &p), -EINVAL, "self beyond the list: EINVAL");
        cfg.family = AF_UNSPEC;
        is_int(pn_overlay_plan(nodes, 0, &cfg, &p), -EINVAL, "no underlay family: EINVAL");
        cfg.family = AF_INET;
        cfg.ifindex = 0;
        is_int(pn_overlay_plan(nodes, 0, &cfg, &p), -EINVAL, "no VXLAN device: EINVAL");
        ok(p.peer == NULL && p.n_peer == 0, "  and an empty plan");
}

/* fd00::4:4980 and fd00::16b:61b have one endpoint MAC (test-vxlan.c): the later node
 * stays off the overlay; a node whose MAC is this node's too. */
static void test_collision(void)
{
        static const char text[] = "a 10.1.1.0/24 fd00::1\n"
                                   "b 10.1.2.0/24 fd00::4:4980\n"
                                   "c 10.1.3.0/24 fd00::16b:61b\n"
                                   "d 10.1.4.0/24 fd00::5\n";
        static const char text2[] = "a 10.1.1.0/24 fd00::4:4980\n"
                                    "b 10.1.2.0/24 fd00::5\n"
                                    "c 10.1.3.0/24 fd00::16b:61b\n";
        struct pn_overlay_config cfg = config(PN_OVERLAY_ALWAYS, AF_INET6);
        _cleanup_(podnet_nodes_freep) podnet_nodes *nodes = parse(text);
        _cleanup_(podnet_nodes_freep) podnet_nodes *nodes2 = parse(text2);
        struct pn_overlay_plan p;

        if (!ok(nodes && nodes2, "node lists with colliding IPv6 endpoints"))
                return;
        if (ok(pn_overlay_plan(nodes, 0, &cfg, &p) == 0, "colliding peers: planned")) {
                is_str(paths(nodes, &p),
                       "b=vxlan(forced by mode) c=direct(endpoint MAC collision) "
                       "d=vxlan(forced by mode)",
                       "  the later of two peers with one endpoint MAC stays direct");
                is_int(p.n_fdb, 2, "  two FDB entries, one per MAC");
                pn_overlay_plan_done(&p);
        }
        if (ok(pn_overlay_plan(nodes2, 0, &cfg, &p) == 0, "a peer with this node's MAC")) {
                is_str(paths(nodes2, &p),
                       "b=vxlan(forced by mode) c=direct(endpoint MAC collision)",
                       "  stays direct");
                pn_overlay_plan_done(&p);
        }
}


/* auto: an on-link peer whose probe failed goes over the overlay, the others as in
 * cross-subnet; modes by name. */
static void test_auto(const podnet_nodes *nodes)
{
        struct pn_overlay_config cfg = config(PN_OVERLAY_AUTO, AF_INET);
        struct pn_overlay_plan p;
        bool failed[6] = {false};
        enum pn_overlay_mode m;

        if (ok(pn_overlay_plan(nodes, 0, &cfg, &p) == 0, "auto, every probe answered: planned")) {
                is_str(paths(nodes, &p),
                       "near=direct(on-link) far=vxlan(not on-link) v4only=direct(on-link) "
                       "noaddr=direct(no tunnel endpoint) nocidr=direct(on-link)",
                       "  as cross-subnet");
                pn_overlay_plan_done(&p);
        }
        failed[1] = true; /* near */
        failed[2] = true; /* far: not on-link anyway */
        cfg.probe_failed = failed;
        if (ok(pn_overlay_plan(nodes, 0, &cfg, &p) == 0, "auto, near's probe failed: planned")) {
                is_str(paths(nodes, &p),
                       "near=vxlan(probe failed) far=vxlan(not on-link) v4only=direct(on-link) "
                       "noaddr=direct(no tunnel endpoint) nocidr=direct(on-link)",
                       "  near over the overlay, reason probe failed; far keeps its reason");
                is_int(p.n_vxlan, 2, "  two overlay peers");
                pn_overlay_plan_done(&p);
        }
        cfg.mode = PN_OVERLAY_CROSS_SUBNET;
        if (ok(pn_overlay_plan(nodes, 0, &cfg, &p) == 0, "cross-subnet ignores probe results")) {
                is_int(p.n_vxlan, 1, "  only far over the overlay");
                pn_overlay_plan_done(&p);
        }
        ok(pn_overlay_mode_parse(NULL, PN_OVERLAY_AUTO, &m) == 0 && m == PN_OVERLAY_AUTO,
           "mode: NULL is the default given");
        ok(pn_overlay_mode_parse("cross-subnet", PN_OVERLAY_NEVER, &m) == 0 &&
               m == PN_OVERLAY_CROSS_SUBNET,
           "mode: cross-subnet");
        ok(pn_overlay_mode_parse("sometimes", PN_OVERLAY_NEVER, &m) == -EINVAL,
           "mode: an unknown word is EINVAL");
        is_str(pn_overlay_mode_name(PN_OVERLAY_ALWAYS), "always", "mode name");
}

static struct pn_neigh nb(const char *addr, uint8_t mac_last, uint16_t state)
{
        struct pn_neigh n = {.family = AF_INET, .ifindex = 9, .state = state, .has_mac = true};

        inet_pton(AF_INET, addr, n.addr);
        memcpy(n.mac, (const uint8_t[]){0x72, 0x34, 0, 0, 0, mac_last}, 6);
        return n;
}

static struct pn_fdb fd(uint8_t mac_last, const char *dst)
{
        struct pn_fdb f = {.ifindex = 9, .state = NUD_PERMANENT, .flags = NTF_SELF,
                           .family = AF_INET};

        memcpy(f.mac, (const uint8_t[]){0x72, 0x34, 0, 0, 0, mac_last}, 6);
        inet_pton(AF_INET, dst, f.dst);
        return f;
}

/* "=0/0 ~1/1 +2 -/2": kind, then the wanted and installed index */
static const char *ops_text(const struct pn_entry_op *v, size_t n)
{
        static const char sym[] = {[PN_OP_KEEP] = '=', [PN_OP_ADD] = '+',
                                   [PN_OP_REPLACE] = '~', [PN_OP_DELETE] = '-'};
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%c", i ? " " : "",
                                        sym[v[i].kind]);
                if (v[i].want != SIZE_MAX)
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%zu", v[i].want);
                if (v[i].have != SIZE_MAX)
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "/%zu", v[i].have);
        }
        return buf;
}

static void test_entry_diff(void)
{
        struct pn_neigh nw[3] = {nb("10.1.1.0", 1, NUD_PERMANENT), nb("10.1.2.0", 2, NUD_PERMANENT),
                                 nb("10.1.3.0", 3, NUD_PERMANENT)};
        struct pn_neigh nh[4] = {nb("10.1.1.0", 1, NUD_PERMANENT), nb("10.1.2.0", 9, NUD_PERMANENT),
                                 nb("10.1.4.0", 4, NUD_PERMANENT), nb("10.1.5.0", 5, NUD_STALE)};
        struct pn_fdb fw[3] = {fd(1, "192.168.1.11"), fd(2, "192.168.1.12"), fd(3, "192.168.1.13")};
        struct pn_fdb fh[5] = {fd(1, "192.168.1.11"), fd(2, "192.168.1.99"), fd(3, "192.168.1.13"),
                               fd(3, "192.168.1.14"), fd(4, "192.168.1.14")};
        struct pn_entry_op *v = NULL;
        size_t n = 0;

        ok(pn_neigh_diff(nw, 3, nw, 3, &v, &n) == 0, "neighbour diff, in sync");
        is_str(ops_text(v, n), "=0/0 =1/1 =2/2", "  every entry kept: no write");
        free(v);
        ok(pn_neigh_diff(nw, 3, nh, 4, &v, &n) == 0, "neighbour diff");
        is_str(ops_text(v, n), "=0/0 ~1/1 +2 -/2",
               "  same kept, another MAC replaced, missing added, a permanent one nobody wants "
               "deleted, the kernel's stale one left alone");
        free(v);
        nh[0].state = NUD_REACHABLE;
        ok(pn_neigh_diff(nw, 1, nh, 1, &v, &n) == 0 && n == 1 && v[0].kind == PN_OP_REPLACE,
           "  a right MAC that is not permanent is replaced");
        free(v);
        ok(pn_neigh_diff(NULL, 0, NULL, 0, &v, &n) == 0 && n == 0, "  nothing, nothing");
        free(v);
        ok(pn_neigh_diff(NULL, 2, NULL, 0, &v, &n) == -EINVAL, "  NULL with a count: EINVAL");

        ok(pn_fdb_diff(fw, 3, fw, 3, &v, &n) == 0, "FDB diff, in sync");
        is_str(ops_text(v, n), "=0/0 =1/1 =2/2", "  every entry kept: no write");
        free(v);
        ok(pn_fdb_diff(fw, 3, fh, 5, &v, &n) == 0, "FDB diff");
        is_str(ops_text(v, n), "=0/0 ~1/1 =2/2 -/3 -/4",
               "  a moved remote replaced, a MAC's extra remote deleted, an unwanted MAC "
               "deleted");
        free(v);
        fh[0].odd = true;
        ok(pn_fdb_diff(fw, 1, fh, 1, &v, &n) == 0 && n == 1 && v[0].kind == PN_OP_REPLACE,
           "  an entry with its own VNI or port is replaced");
        free(v);
        ok(pn_fdb_diff(fw, 2, NULL, 0, &v, &n) == 0, "FDB diff, cold");
        is_str(ops_text(v, n), "+0 +1", "  all added");
        free(v);
}

int main(void)
{
        _cleanup_(podnet_nodes_freep) podnet_nodes *nodes = parse(nodes_text);

        if (!ok(nodes && podnet_nodes_count(nodes) == 6, "node list"))
                return done_testing();
        test_never(nodes);
        test_always(nodes);
        test_cross_subnet(nodes);
        test_ipv6_underlay(nodes);
        test_self(nodes);
        test_collision();
        test_auto(nodes);
        test_entry_diff();
        return done_testing();
}

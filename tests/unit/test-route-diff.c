/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Desired-route computation from a node list, the diff of desired against installed
 * routes into add / replace / delete / keep, and the nexthop-object plan. */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "internal.h"
#include "routes.h"
#include "tap.h"

static struct pn_rt rt(const char *dst, const char *gw)
{
        struct pn_rt r = {.type = RTN_UNICAST, .node = SIZE_MAX};
        char d[64];
        const char *slash = strchr(dst, '/');

        snprintf(d, sizeof(d), "%.*s", (int)(slash - dst), dst);
        r.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
        r.dst_len = (uint8_t)atoi(slash + 1);
        inet_pton(r.family, d, r.dst);
        if (gw) {
                inet_pton(r.family, gw, r.gw);
                r.has_gw = true;
        }
        r.priority = r.family == AF_INET6 ? 1024 : 0;
        return r;
}

static char opbuf[4096];

/* "+10.1.2.0/24 =10.1.3.0/24 ~10.1.4.0/24 -10.1.5.0/24" in op order */
static const char *diff(struct pn_rt *want, size_t nw, struct pn_rt *have, size_t nh)
{
        _cleanup_free_ struct pn_op *ops = NULL;
        size_t n = 0, len = 0;

        opbuf[0] = 0;
        if (pn_route_diff(want, nw, have, nh, &ops, &n) < 0)
                return "error";
        for (size_t i = 0; i < n; i++) {
                const struct pn_rt *r = ops[i].want ? ops[i].want : ops[i].have;
                char a[INET6_ADDRSTRLEN];
                const char sym[] = {[PN_OP_KEEP] = '=',
                                    [PN_OP_ADD] = '+',
                                    [PN_OP_REPLACE] = '~',
                                    [PN_OP_DELETE] = '-'};
                inet_ntop(r->family, r->dst, a, sizeof(a));
                len += (size_t)snprintf(opbuf + len, sizeof(opbuf) - len, "%s%c%s/%u", i ? " " : "",
                                        sym[ops[i].kind], a, r->dst_len);
        }
        return opbuf;
}

static void test_diff(void)
{
        struct pn_rt want[8], have[8];

        is_str(diff(NULL, 0, NULL, 0), "", "nothing wanted, nothing installed");

        want[0] = rt("10.1.3.0/24", "192.168.1.13");
        want[1] = rt("10.1.2.0/24", "192.168.1.12");
        is_str(diff(want, 2, NULL, 0), "+10.1.2.0/24 +10.1.3.0/24", "cold: two adds, sorted");

        want[0] = rt("10.1.3.0/24", "192.168.1.13");
        want[1] = rt("10.1.2.0/24", "192.168.1.12");
        have[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[1] = rt("10.1.3.0/24", "192.168.1.13");
        is_str(diff(want, 2, have, 2), "=10.1.2.0/24 =10.1.3.0/24", "no-op: all kept");

        want[0] = rt("10.1.2.0/24", "192.168.1.22");
        have[0] = rt("10.1.2.0/24", "192.168.1.12");
        is_str(diff(want, 1, have, 1), "~10.1.2.0/24", "changed gateway: replace");

        want[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0] = rt("10.1.3.0/24", "192.168.1.13");
        have[1] = rt("10.1.2.0/24", "192.168.1.12");
        is_str(diff(want, 1, have, 2), "=10.1.2.0/24 -10.1.3.0/24", "node left: delete");

        want[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0] = rt("10.1.2.0/25", "192.168.1.12");
        is_str(diff(want, 1, have, 1), "+10.1.2.0/24 -10.1.2.0/25",
               "CIDR moved (prefix changed): add new, delete old");

        /* two installed routes to one destination with different metrics */
        want[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0].priority = 100;
        have[1] = rt("10.1.2.0/24", "192.168.1.12");
        is_str(diff(want, 1, have, 2), "-10.1.2.0/24 =10.1.2.0/24",
               "duplicate with another metric: the equal one kept, the other deleted");

        want[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0].priority = 100;
        is_str(diff(want, 1, have, 1), "-10.1.2.0/24 +10.1.2.0/24",
               "only another metric installed: delete it, add ours");

        want[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0].type = RTN_BLACKHOLE;
        is_str(diff(want, 1, have, 1), "~10.1.2.0/24", "blackhole of ours: replace");

        want[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0].multipath = true;
        is_str(diff(want, 1, have, 1), "~10.1.2.0/24", "multipath of ours: replace");

        want[0] = rt("fd00:10:244:1::/64", "fd00::22");
        want[1] = rt("10.244.1.0/24", "192.168.10.22");
        have[0] = rt("fd00:10:244:1::/64", "fd00::22");
        have[1] = rt("fd00:10:244:2::/64", "fd00::23");
        is_str(diff(want, 2, have, 2), "+10.244.1.0/24 =fd00:10:244:1::/64 -fd00:10:244:2::/64",
               "dual-stack: IPv4 first, then IPv6");

        want[0] = rt("10.1.2.0/24", "192.168.1.12");
        want[1] = rt("10.1.2.0/24", "192.168.1.13");
        is_str(diff(want, 2, NULL, 0), "error", "two wanted routes to one destination refused");
}

static void test_desired(void)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        _cleanup_report_ podnet_sync_report *report = pn_sync_report_new();
        _cleanup_free_ struct pn_rt *want = NULL;
        size_t n = 0;
        const char *text = "kubenet1 10.1.1.0/24,fd00:1:1::/64 192.168.1.11,fd00::11\n"
                           "kubenet2 10.1.2.0/24,fd00:1:2::/64 192.168.1.12\n"
                           "kubenet3 10.1.3.0/24 192.168.1.13\n"
                           "kubenet4 - 192.168.1.14\n"
                           "kubenet5 10.1.5.0/24 -\n"
                           "kubenet6 10.1.1.128/25 192.168.1.16\n"
                           "kubenet7 10.1.3.0/24 192.168.1.17\n";
        char a[INET6_ADDRSTRLEN];

        if (!ok(podnet_nodes_parse(&nodes, text, strlen(text), NULL) == 0, "node list parses"))
                return;
        is_int(pn_routes_desired(nodes, "kubenet1", report, &want, &n, NULL), 0,
               "desired routes computed");
        is_int(n, 2, "two routes: kubenet2 IPv4 and kubenet3");
        inet_ntop(AF_INET, want[0].gw, a, sizeof(a));
        is_str(a, "192.168.1.12", "kubenet2 via its InternalIP");
        is_int(want[0].node, 1, "route tagged with its node");
        is_int(want[0].dst_len, 24, "prefix length");
        inet_ntop(AF_INET, want[1].gw, a, sizeof(a));
        is_str(a, "192.168.1.13", "kubenet3 via its InternalIP");

        is_int(podnet_sync_report_count(report), 5, "five skipped entries");
        is_int(podnet_sync_report_count_action(report, PODNET_SYNC_SKIPPED), 5, "all skipped");
        is_str(podnet_sync_report_node(report, 0), "kubenet2", "kubenet2's IPv6 CIDR skipped");
        is_str(podnet_sync_report_reason(report, 0), "node kubenet2 has no IPv6 address",
               "reason: no IPv6 address");
        is_str(podnet_sync_report_reason(report, 1), "no pod CIDR", "kubenet4: no pod CIDR");
        ok(podnet_sync_report_dst(report, 1) == NULL, "no destination for it");
        is_str(podnet_sync_report_reason(report, 2), "node kubenet5 has no IPv4 address",
               "kubenet5: no address");
        is_str(podnet_sync_report_reason(report, 3),
               "pod CIDR 10.1.1.128/25 is also claimed by node kubenet1",
               "kubenet6 overlaps this node's CIDR");
        is_str(podnet_sync_report_reason(report, 4),
               "pod CIDR 10.1.3.0/24 is also claimed by node kubenet3",
               "kubenet7 duplicates kubenet3's CIDR");
        is_str(podnet_sync_action_name(podnet_sync_report_action(report, 4)), "skipped",
               "action name");

        free(want);
        want = NULL;
        podnet_sync_report_free(report);
        report = pn_sync_report_new();
        is_int(pn_routes_desired(nodes, "not-in-list", report, &want, &n, NULL), 0,
               "node not in the list: every node is a peer");
        is_int(n, 5, "five routes then (kubenet1 v4+v6, kubenet2 v4, kubenet3, kubenet6)");
}

static struct pn_nh nh(uint32_t id, const char *gw, unsigned protocol)
{
        struct pn_nh x = {.id = id, .protocol = (uint8_t)protocol, .plain = true, .oif = 2};

        x.family = strchr(gw, ':') ? AF_INET6 : AF_INET;
        inet_pton(x.family, gw, x.gw);
        x.ours = protocol == 44;
        return x;
}

static struct pn_nh want_nh(size_t node, const char *name, const char *gw)
{
        struct pn_nh x = nh(0, gw, 0);

        x.node = node;
        x.name = name;
        x.ours = false;
        return x;
}

/* kind of the nexthop `id` in `h` (the plan sorts `h` by id), or -1 */
static int kind_of(const struct pn_nh *h, size_t n, uint32_t id)
{
        for (size_t j = 0; j < n; j++)
                if (h[j].id == id)
                        return (int)h[j].kind;
        return -1;
}

static void test_via_nexthop(void)
{
        struct pn_rt want[2], have[2];

        want[0] = rt("10.1.2.0/24", "192.168.1.12");
        want[0].via_nh = true;
        want[0].nhid = 100;
        have[0] = rt("10.1.2.0/24", "192.168.1.12");
        is_str(diff(want, 1, have, 1), "~10.1.2.0/24", "plain route of an older podnet: replace");
        have[0].nhid = 100;
        is_str(diff(want, 1, have, 1), "=10.1.2.0/24", "same nexthop object: keep");
        have[0].nhid = 101;
        is_str(diff(want, 1, have, 1), "~10.1.2.0/24", "another nexthop object: replace");
        want[0].nhid = 0;
        have[0].nhid = 0;
        is_str(diff(want, 1, have, 1), "~10.1.2.0/24",
               "no nexthop (unreachable) never equals an installed route");
        want[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0] = rt("10.1.2.0/24", "192.168.1.12");
        have[0].nhid = 100;
        is_str(diff(want, 1, have, 1), "~10.1.2.0/24", "plain wanted, nexthop installed: replace");
}

static void test_nexthop_plan(void)
{
        uint32_t base = pn_nh_base(44, 254);
        struct pn_nh w[4], h[4];
        struct pn_rt wr[4], hr[4];
        uint32_t hint;

        is_int(base, (44u << 24) | (14u << 20), "id block: protocol 44, table 254");
        hint = pn_nh_id_hint(base, "node2", AF_INET);
        ok(hint >= base && hint - base < PN_NH_SPAN, "hinted id inside the block");
        is_int(hint, pn_nh_id_hint(base, "node2", AF_INET), "hint is deterministic");
        ok(hint != pn_nh_id_hint(base, "node2", AF_INET6), "one id per family");

        /* cold: new ids from the node names */
        w[0] = want_nh(1, "node2", "192.168.1.12");
        w[1] = want_nh(2, "node3", "192.168.1.13");
        wr[0] = rt("10.1.2.0/24", "192.168.1.12");
        wr[0].node = 1;
        wr[1] = rt("10.1.3.0/24", "192.168.1.13");
        wr[1].node = 2;
        is_int(pn_nexthop_plan(w, 2, NULL, 0, wr, 2, NULL, 0, base), 0, "cold plan");
        ok(w[0].kind == PN_OP_ADD && w[0].id == hint, "cold: node2 added with its hinted id");
        ok(w[1].kind == PN_OP_ADD && w[1].id != w[0].id, "cold: node3 added, another id");

        /* no-op: same gateways installed (ours) under any id: kept, nothing written */
        w[0] = want_nh(1, "node2", "192.168.1.12");
        w[1] = want_nh(2, "node3", "192.168.1.13");
        h[0] = nh(500, "192.168.1.13", 44);
        h[1] = nh(400, "192.168.1.12", 44);
        is_int(pn_nexthop_plan(w, 2, h, 2, wr, 2, NULL, 0, base), 0, "no-op plan");
        ok(w[0].kind == PN_OP_KEEP && w[0].id == 400, "no-op: node2 keeps nexthop 400");
        ok(w[1].kind == PN_OP_KEEP && w[1].id == 500, "no-op: node3 keeps nexthop 500");
        ok(kind_of(h, 2, 400) == PN_OP_KEEP && kind_of(h, 2, 500) == PN_OP_KEEP,
           "no-op: nothing deleted");

        /* node3 moved to .23: it takes over the nexthop its route uses (one replace) */
        w[0] = want_nh(1, "node2", "192.168.1.12");
        w[1] = want_nh(2, "node3", "192.168.1.23");
        h[0] = nh(400, "192.168.1.12", 44);
        h[1] = nh(500, "192.168.1.13", 44);
        hr[0] = rt("10.1.2.0/24", NULL);
        hr[0].nhid = 400;
        hr[1] = rt("10.1.3.0/24", NULL);
        hr[1].nhid = 500;
        is_int(pn_nexthop_plan(w, 2, h, 2, wr, 2, hr, 2, base), 0, "address change plan");
        ok(w[1].kind == PN_OP_REPLACE && w[1].id == 500,
           "address change: node3's nexthop 500 replaced in place");
        is_int(kind_of(h, 2, 500), PN_OP_KEEP, "address change: 500 not deleted");

        /* a foreign nexthop with the wanted gateway, another holding the hinted id */
        w[0] = want_nh(1, "node2", "192.168.1.12");
        h[0] = nh(7, "192.168.1.12", 4);
        h[1] = nh(hint, "192.168.1.99", 4);
        h[2] = nh(600, "192.168.1.50", 44);
        is_int(pn_nexthop_plan(w, 1, h, 3, wr, 1, NULL, 0, base), 0, "foreign nexthops plan");
        ok(w[0].kind == PN_OP_ADD, "a foreign nexthop with the same gateway is not taken");
        is_int(w[0].id, base + (hint - base + 1) % PN_NH_SPAN, "hinted id taken: the next one");
        is_int(kind_of(h, 3, 7), PN_OP_KEEP, "foreign nexthop 7 kept");
        is_int(kind_of(h, 3, hint), PN_OP_KEEP, "foreign nexthop on the hinted id kept");
        is_int(kind_of(h, 3, 600), PN_OP_DELETE, "our unused nexthop 600 deleted");

        /* our route using a foreign nexthop: not taken over either */
        w[0] = want_nh(1, "node2", "192.168.1.22");
        h[0] = nh(7, "192.168.1.12", 4);
        hr[0] = rt("10.1.2.0/24", NULL);
        hr[0].nhid = 7;
        is_int(pn_nexthop_plan(w, 1, h, 1, wr, 1, hr, 1, base), 0, "foreign in use plan");
        ok(w[0].kind == PN_OP_ADD && w[0].id != 7, "route on a foreign nexthop: a new one of ours");

        /* dual-stack: lookup by node and family */
        w[0] = want_nh(1, "node2", "192.168.1.12");
        w[1] = want_nh(1, "node2", "fd00::12");
        ok(pn_nh_find(w, 2, 1, AF_INET6) == &w[1], "find: node 1, IPv6");
        ok(pn_nh_find(w, 2, 2, AF_INET) == NULL, "find: unknown node");
}

static void test_names(void)
{
        is_str(podnet_sync_action_name(PODNET_SYNC_KEPT), "kept", "kept");
        is_str(podnet_sync_action_name(PODNET_SYNC_ADDED), "added", "added");
        is_str(podnet_sync_action_name(PODNET_SYNC_REPLACED), "replaced", "replaced");
        is_str(podnet_sync_action_name(PODNET_SYNC_DELETED), "deleted", "deleted");
        is_str(podnet_sync_action_name(PODNET_SYNC_UNREACHABLE), "unreachable", "unreachable");
        is_str(podnet_sync_action_name(PODNET_SYNC_FAILED), "failed", "failed");
        ok(podnet_sync_action_name((podnet_sync_action)42) == NULL, "unknown action: NULL");
}

int main(void)
{
        test_diff();
        test_via_nexthop();
        test_nexthop_plan();
        test_desired();
        test_names();
        return done_testing();
}

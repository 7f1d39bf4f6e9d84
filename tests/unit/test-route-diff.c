/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Desired-route computation from a node list and the diff of desired against installed
 * routes into add / replace / delete / keep. */
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
        test_desired();
        test_names();
        return done_testing();
}

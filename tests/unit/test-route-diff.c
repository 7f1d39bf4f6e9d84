/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Desired-route computation from a node list, the diff of desired against installed
 * routes into add / replace / delete / keep, and the nexthop-object plan. */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "core/internal.h"
#include "agent/routes.h"
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


/* The overlay's routes: onlink via an endpoint address on the VXLAN device. A direct
 * route to the same gateway, or an onlink one on another device, is not it. */
static void test_diff_onlink(void)
{
        struct pn_rt want[1], have[1];

        want[0] = rt("10.1.3.0/24", "10.1.3.0");
        want[0].onlink = true;
        want[0].oif = 9;
        have[0] = want[0];
        is_str(diff(want, 1, have, 1), "=10.1.3.0/24", "onlink on the device: keep");
        have[0].oif = 8;
        is_str(diff(want, 1, have, 1), "~10.1.3.0/24", "onlink on another device: replace");
        have[0] = want[0];
        have[0].onlink = false;
        have[0].oif = 2;
        is_str(diff(want, 1, have, 1), "~10.1.3.0/24",
               "same gateway, not onlink (direct): replace");
        want[0] = rt("10.1.3.0/24", "192.168.1.13");
        have[0] = rt("10.1.3.0/24", "10.1.3.0");
        have[0].onlink = true;
        have[0].oif = 9;
        is_str(diff(want, 1, have, 1), "~10.1.3.0/24", "overlay route, direct wanted: replace");
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
        is_int(pn_routes_desired(nodes, "kubenet1", NULL, report, &want, &n, NULL), 0,
               "desired routes computed");
        is_int(n, 1, "one route: kubenet2 IPv4 (kubenet3 and kubenet7 claim the same CIDR)");
        inet_ntop(AF_INET, want[0].gw, a, sizeof(a));
        is_str(a, "192.168.1.12", "kubenet2 via its InternalIP");
        is_int(want[0].node, 1, "route tagged with its node");
        is_int(want[0].dst_len, 24, "prefix length");

        is_int(podnet_sync_report_count(report), 6, "six entries");
        is_int(podnet_sync_report_count_action(report, PODNET_SYNC_SKIPPED), 3, "three skipped");
        is_int(podnet_sync_report_count_action(report, PODNET_SYNC_REFUSED), 3, "three refused");
        is_str(podnet_sync_report_node(report, 0), "kubenet2", "kubenet2's IPv6 CIDR skipped");
        is_str(podnet_sync_report_reason(report, 0), "node kubenet2 has no IPv6 address",
               "reason: no IPv6 address");
        is_str(podnet_sync_report_reason(report, 1),
               "pod CIDR 10.1.3.0/24 overlaps pod CIDR 10.1.3.0/24 of node kubenet7",
               "kubenet3 refused: kubenet7 claims the same CIDR (not resolved by order)");
        is_str(podnet_sync_report_reason(report, 2), "no pod CIDR", "kubenet4: no pod CIDR");
        ok(podnet_sync_report_dst(report, 2) == NULL, "no destination for it");
        is_str(podnet_sync_report_reason(report, 3), "node kubenet5 has no IPv4 address",
               "kubenet5: no address");
        is_str(podnet_sync_report_reason(report, 4),
               "pod CIDR 10.1.1.128/25 overlaps this node's pod CIDR 10.1.1.0/24",
               "kubenet6 overlaps this node's CIDR");
        is_str(podnet_sync_report_reason(report, 5),
               "pod CIDR 10.1.3.0/24 overlaps pod CIDR 10.1.3.0/24 of node kubenet3",
               "kubenet7 refused too, naming kubenet3");
        is_str(podnet_sync_action_name(podnet_sync_report_action(report, 5)), "refused",
               "action name");

        free(want);
        want = NULL;
        podnet_sync_report_free(report);
        report = pn_sync_report_new();
        is_int(pn_routes_desired(nodes, "not-in-list", NULL, report, &want, &n, NULL), 0,
               "node not in the list: every node is a peer");
        is_int(n, 2,
               "two routes then (kubenet1 IPv6, kubenet2 IPv4): kubenet1 and kubenet6 "
               "overlap, kubenet3 and kubenet7 too");
}

/* --- trust: what a node list may claim ----------------------------------------------- */

/* This node ("self", 192.168.1.11/24 and fd00::11/64 on eth0, its pod CIDR 10.1.1.0/24 on
 * cbr0 with 10.1.1.1) as the kernel describes it: local addresses, on-link prefixes, the
 * routes podnet does not own (the default route via 192.168.1.1 is not among them: a
 * default route is never a prefix to protect, see route-sync.c) and their gateways. */
static struct pn_rt u_local[8], u_onlink[5], u_foreign[16], u_gw[2];

static struct pn_underlay underlay(const char *cluster_text, podnet_cidr **cluster,
                                   size_t *n_cluster)
{
        static const char *const local[] = {"127.0.0.0/8", "127.0.0.1/32", "192.168.1.11/32",
                                            "10.1.1.1/32", "::1/128",      "fd00::11/128",
                                            "fe80::11/128"};
        static const char *const onlink[] = {"192.168.1.0/24", "10.1.1.0/24", "fd00::/64",
                                             "fe80::/64"};
        static const char *const extra[] = {"172.16.5.0/24", "ff00::/8"};
        struct pn_underlay u = {0};
        size_t nf = 0;

        for (size_t i = 0; i < ELEMENTSOF(local); i++)
                u_foreign[nf++] = u_local[i] = rt(local[i], NULL);
        for (size_t i = 0; i < ELEMENTSOF(onlink); i++)
                u_foreign[nf++] = u_onlink[i] = rt(onlink[i], NULL);
        for (size_t i = 0; i < ELEMENTSOF(extra); i++)
                u_foreign[nf++] = rt(extra[i], "192.168.1.1");
        u_gw[0] = rt("192.168.1.1/32", NULL);
        u_gw[1] = rt("fd00::1/128", NULL);
        u = (struct pn_underlay){.local = u_local,
                                 .n_local = ELEMENTSOF(local),
                                 .onlink = u_onlink,
                                 .n_onlink = ELEMENTSOF(onlink),
                                 .foreign = u_foreign,
                                 .n_foreign = nf,
                                 .gateway = u_gw,
                                 .n_gateway = 2};
        *n_cluster = 0;
        if (cluster_text) {
                _cleanup_free_ char *copy = strdup(cluster_text);
                char *save = NULL;
                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                        podnet_cidr_parse(&cluster[(*n_cluster)++], t);
        }
        u.cluster = (const podnet_cidr *const *)cluster;
        u.n_cluster = *n_cluster;
        return u;
}

struct judged {
        podnet_sync_report *report;
        char routes[1024]; /* "10.1.2.0/24 fd00:10:1:2::/64" */
};

/* Runs pn_routes_desired() on `text` as node `self` with the underlay above and cluster
 * CIDRs `cluster` (comma-separated, or NULL). */
static int judge(struct judged *j, const char *text, const char *self, const char *cluster)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        _cleanup_free_ struct pn_rt *want = NULL;
        podnet_cidr *cl[4] = {NULL};
        size_t n = 0, n_cl, len = 0;
        struct pn_underlay u = underlay(cluster, cl, &n_cl);
        int r;

        memset(j, 0, sizeof(*j));
        r = podnet_nodes_parse(&nodes, text, strlen(text), NULL);
        if (r < 0)
                return r;
        j->report = pn_sync_report_new();
        r = pn_routes_desired(nodes, self, &u, j->report, &want, &n, NULL);
        for (size_t i = 0; i < n_cl; i++)
                podnet_cidr_free(cl[i]);
        if (r < 0)
                return r;
        qsort(want, n, sizeof(*want), (int (*)(const void *, const void *))pn_rt_compare_dst);
        for (size_t i = 0; i < n; i++) {
                char a[INET6_ADDRSTRLEN];
                inet_ntop(want[i].family, want[i].dst, a, sizeof(a));
                len += (size_t)snprintf(j->routes + len, sizeof(j->routes) - len, "%s%s/%u",
                                        i ? " " : "", a, want[i].dst_len);
        }
        return 0;
}

/* "action: reason" of the report entry of `node` for destination `dst`, or "none". */
static const char *entry(const struct judged *j, const char *node, const char *dst)
{
        static char buf[512];

        for (size_t i = 0; i < podnet_sync_report_count(j->report); i++) {
                const char *n = podnet_sync_report_node(j->report, i);
                const char *why = podnet_sync_report_reason(j->report, i);
                char d[PODNET_CIDR_STRLEN] = "";
                if (podnet_sync_report_dst(j->report, i))
                        podnet_cidr_format(podnet_sync_report_dst(j->report, i), d, sizeof(d));
                if (!n || strcmp(n, node) != 0 || strcmp(d, dst) != 0)
                        continue;
                snprintf(buf, sizeof(buf), "%s: %s",
                         podnet_sync_action_name(podnet_sync_report_action(j->report, i)),
                         why ? why : "");
                return buf;
        }
        return "none";
}

/* One expected report entry: what `entry(j, node, dst)` must be. */
struct expect {
        const char *node, *dst, *want, *msg;
};

static void is_entries(const struct judged *j, const struct expect *e, size_t n)
{
        for (size_t i = 0; i < n; i++)
                is_str(entry(j, e[i].node, e[i].dst), e[i].want, "%s", e[i].msg);
}

static const char *const attack_list = "self 10.1.1.0/24,fd00:10:1:1::/64 192.168.1.11,fd00::11\n"
                                       "good 10.1.2.0/24,fd00:10:1:2::/64 192.168.1.12,fd00::12\n"
                                       "evil1 0.0.0.0/0 192.168.1.66\n"
                                       "evil2 172.16.5.0/24 192.168.1.67\n"
                                       "evil3 128.0.0.0/1 192.168.1.68\n"
                                       "evil4 8.0.0.0/8 192.168.1.69\n"
                                       "evil5 192.168.1.12/32 192.168.1.70\n"
                                       "evil6 192.168.1.1/32 192.168.1.71\n"
                                       "evil7 ::/0 fd00::77\n"
                                       "evil8 ::/1,8000::/1 fd00::78\n";

static void test_attacks_cluster(void)
{
        struct judged j;

        if (!ok(judge(&j, attack_list, "self", "10.1.0.0/16,fd00:10:1::/48") == 0,
                "attack list judged with --cluster-cidr 10.1.0.0/16,fd00:10:1::/48"))
                return;
        is_str(j.routes, "10.1.2.0/24 fd00:10:1:2::/64", "only the legitimate peer is routed");
        is_int(podnet_sync_report_count_action(j.report, PODNET_SYNC_REFUSED), 9,
               "every hostile claim refused (nine)");
        static const struct expect cluster_entries[] = {
            {"evil1", "0.0.0.0/0", "refused: pod CIDR 0.0.0.0/0 is a default route",
             "0.0.0.0/0 refused"},
            {"evil2", "172.16.5.0/24",
             "refused: pod CIDR 172.16.5.0/24 is outside the cluster CIDR 10.1.0.0/16",
             "172.16.5.0/24 refused"},
            {"evil3", "128.0.0.0/1",
             "refused: pod CIDR 128.0.0.0/1 is outside the cluster CIDR 10.1.0.0/16",
             "128.0.0.0/1 refused"},
            {"evil4", "8.0.0.0/8",
             "refused: pod CIDR 8.0.0.0/8 is outside the cluster CIDR 10.1.0.0/16",
             "8.0.0.0/8 refused"},
            {"evil5", "192.168.1.12/32",
             "refused: pod CIDR 192.168.1.12/32 is outside the cluster CIDR 10.1.0.0/16",
             "another node's address as a /32 refused"},
            {"evil6", "192.168.1.1/32",
             "refused: pod CIDR 192.168.1.1/32 is outside the cluster CIDR 10.1.0.0/16",
             "the gateway as a /32 refused"},
            {"evil7", "::/0", "refused: pod CIDR ::/0 is a default route", "::/0 refused"},
            {"evil8", "::/1", "refused: pod CIDR ::/1 is outside the cluster CIDR fd00:10:1::/48",
             "::/1 refused"},
            {"evil8", "8000::/1",
             "refused: pod CIDR 8000::/1 is outside the cluster CIDR fd00:10:1::/48",
             "8000::/1 refused"},
            {"good", "10.1.2.0/24", "none", "the legitimate peer is not reported"},
            {"self", "10.1.1.0/24", "none",
             "this node's own CIDR (with its bridge address and on-link prefix) is accepted"},
        };
        is_entries(&j, cluster_entries, ELEMENTSOF(cluster_entries));
        podnet_sync_report_free(j.report);

        /* an IPv4 cluster CIDR only: IPv6 claims meet the rules for a family without one */
        if (!ok(judge(&j, attack_list, "self", "10.1.0.0/16") == 0, "judged, IPv4 cluster only"))
                return;
        is_str(j.routes, "10.1.2.0/24 fd00:10:1:2::/64", "still only the legitimate peer");
        is_str(entry(&j, "evil8", "8000::/1"),
               "refused: pod CIDR 8000::/1 is outside the private address ranges (no IPv6 "
               "cluster CIDR given)",
               "8000::/1 refused without an IPv6 cluster CIDR");
        podnet_sync_report_free(j.report);

        /* inside the cluster CIDR, node addresses and the gateway are still protected */
        const char *inner = "self 10.1.1.0/24 192.168.1.11\n"
                            "inner 10.1.3.0/24 10.200.0.5\n"
                            "evil9 10.200.0.5/32 192.168.1.79\n"
                            "evil10 192.168.1.1/32 192.168.1.80\n"
                            "evil11 192.168.1.11/32 192.168.1.81\n"
                            "evil12 10.1.1.0/25 192.168.1.82\n";
        if (!ok(judge(&j, inner, "self", "10.0.0.0/8,192.168.0.0/16") == 0,
                "judged, cluster CIDRs covering the underlay"))
                return;
        is_str(j.routes, "", "no route at all");
        static const struct expect inner_refusals[] = {
            {"evil9", "10.200.0.5/32",
             "refused: pod CIDR 10.200.0.5/32 covers the address 10.200.0.5 of node inner",
             "a /32 of another node's address inside the cluster CIDR refused"},
            {"inner", "10.1.3.0/24",
             "refused: address 10.200.0.5 of node inner is inside pod CIDR 10.200.0.5/32 of "
             "node evil9",
             "and the node whose address it is: refused too (the list contradicts itself)"},
            {"evil10", "192.168.1.1/32",
             "refused: pod CIDR 192.168.1.1/32 covers gateway 192.168.1.1 of this node's routes",
             "the gateway inside the cluster CIDR refused"},
            {"evil11", "192.168.1.11/32",
             "refused: pod CIDR 192.168.1.11/32 covers address 192.168.1.11 of this node",
             "this node's address inside the cluster CIDR refused"},
            {"evil12", "10.1.1.0/25",
             "refused: pod CIDR 10.1.1.0/25 overlaps this node's pod CIDR 10.1.1.0/24",
             "a claim inside this node's pod CIDR refused"},
        };
        is_entries(&j, inner_refusals, ELEMENTSOF(inner_refusals));
        podnet_sync_report_free(j.report);
}

static void test_attacks_no_cluster(void)
{
        struct judged j;

        if (!ok(judge(&j, attack_list, "self", NULL) == 0, "attack list judged, no cluster CIDR"))
                return;
        is_str(j.routes, "10.1.2.0/24 fd00:10:1:2::/64", "only the legitimate peer is routed");
        is_int(podnet_sync_report_count_action(j.report, PODNET_SYNC_REFUSED), 9,
               "every hostile claim refused (nine)");
        static const struct expect no_cluster_entries[] = {
            {"evil1", "0.0.0.0/0", "refused: pod CIDR 0.0.0.0/0 is a default route",
             "0.0.0.0/0 refused"},
            {"evil2", "172.16.5.0/24",
             "refused: pod CIDR 172.16.5.0/24 equals or covers route 172.16.5.0/24 that podnet "
             "does not own",
             "a private prefix another route owns refused"},
            {"evil3", "128.0.0.0/1",
             "refused: pod CIDR 128.0.0.0/1 is outside the private address ranges (no IPv4 "
             "cluster CIDR given)",
             "128.0.0.0/1 refused"},
            {"evil4", "8.0.0.0/8",
             "refused: pod CIDR 8.0.0.0/8 is outside the private address ranges (no IPv4 "
             "cluster CIDR given)",
             "8.0.0.0/8 refused"},
            {"evil5", "192.168.1.12/32",
             "refused: pod CIDR 192.168.1.12/32 overlaps on-link prefix 192.168.1.0/24 of this "
             "node",
             "another node's address as a /32 refused"},
            {"evil6", "192.168.1.1/32",
             "refused: pod CIDR 192.168.1.1/32 covers gateway 192.168.1.1 of this node's routes",
             "the gateway as a /32 refused"},
            {"evil7", "::/0", "refused: pod CIDR ::/0 is a default route", "::/0 refused"},
            {"evil8", "::/1",
             "refused: pod CIDR ::/1 is outside the private address ranges (no IPv6 cluster "
             "CIDR given)",
             "::/1 refused"},
            {"evil8", "8000::/1",
             "refused: pod CIDR 8000::/1 is outside the private address ranges (no IPv6 cluster "
             "CIDR given)",
             "8000::/1 refused"},
        };
        is_entries(&j, no_cluster_entries, ELEMENTSOF(no_cluster_entries));
        podnet_sync_report_free(j.report);

        /* private, but covering what this node has */
        const char *covering = "self 10.1.1.0/24 192.168.1.11\n"
                               "wide 172.16.0.0/12 192.168.1.20\n"
                               "under 192.168.0.0/16 192.168.1.21\n"
                               "ula fc00::/7 fd00::22\n"
                               "ok 10.1.2.0/24 192.168.1.23\n";
        if (!ok(judge(&j, covering, "self", NULL) == 0, "covering claims judged"))
                return;
        is_str(j.routes, "10.1.2.0/24", "only ok is routed");
        static const struct expect covering_refusals[] = {
            {"wide", "172.16.0.0/12",
             "refused: pod CIDR 172.16.0.0/12 equals or covers route 172.16.5.0/24 that podnet "
             "does not own",
             "a prefix covering a foreign route refused"},
            {"under", "192.168.0.0/16",
             "refused: pod CIDR 192.168.0.0/16 covers address 192.168.1.11 of this node",
             "a prefix covering the underlay refused"},
            {"ula", "fc00::/7", "refused: pod CIDR fc00::/7 covers address fd00::11 of this node",
             "an IPv6 prefix covering this node refused"},
        };
        is_entries(&j, covering_refusals, ELEMENTSOF(covering_refusals));
        podnet_sync_report_free(j.report);
}

static void test_overlaps(void)
{
        struct judged j;
        const char *text = "self 10.1.1.0/24 192.168.1.11\n"
                           "a 10.1.2.0/24 192.168.1.12\n"
                           "b 10.1.2.0/24 192.168.1.13\n"
                           "c 10.1.3.0/24 192.168.1.14\n"
                           "d 10.1.3.0/25 192.168.1.15\n"
                           "e 10.1.4.0/24 192.168.1.16\n"
                           "f 10.1.4.7/32 192.168.1.17\n"
                           "g 10.1.1.128/25 192.168.1.18\n"
                           "h 10.1.5.0/24 10.1.1.9\n"
                           "i 10.1.6.0/24 10.1.7.9\n"
                           "j 10.1.7.0/24 192.168.1.19\n"
                           "k 10.1.8.0/24 192.168.1.0\n"
                           "l 10.1.9.0/24 192.168.1.255\n"
                           "evil 0.0.0.0/0 192.168.1.21\n"
                           "ok 10.1.10.0/24 192.168.1.20\n";

        if (!ok(judge(&j, text, "self", "10.1.0.0/16") == 0, "overlapping claims judged"))
                return;
        is_str(j.routes, "10.1.10.0/24", "only the peer without a conflict is routed");
        static const struct expect overlap_refusals[] = {
            {"a", "10.1.2.0/24",
             "refused: pod CIDR 10.1.2.0/24 overlaps pod CIDR 10.1.2.0/24 of node b",
             "equal claims: the first refused, naming the second"},
            {"b", "10.1.2.0/24",
             "refused: pod CIDR 10.1.2.0/24 overlaps pod CIDR 10.1.2.0/24 of node a",
             "equal claims: the second refused, naming the first"},
            {"c", "10.1.3.0/24",
             "refused: pod CIDR 10.1.3.0/24 overlaps pod CIDR 10.1.3.0/25 of node d",
             "a /25 in a /24: the /24 refused"},
            {"d", "10.1.3.0/25",
             "refused: pod CIDR 10.1.3.0/25 overlaps pod CIDR 10.1.3.0/24 of node c",
             "a /25 in a /24: the /25 refused"},
            {"e", "10.1.4.0/24",
             "refused: pod CIDR 10.1.4.0/24 overlaps pod CIDR 10.1.4.7/32 of node f",
             "a /32 in a /24: the /24 refused"},
            {"f", "10.1.4.7/32",
             "refused: pod CIDR 10.1.4.7/32 overlaps pod CIDR 10.1.4.0/24 of node e",
             "a /32 in a /24: the /32 refused"},
            {"g", "10.1.1.128/25",
             "refused: pod CIDR 10.1.1.128/25 overlaps this node's pod CIDR 10.1.1.0/24",
             "inside this node's CIDR: refused"},
            {"h", "10.1.5.0/24",
             "refused: address 10.1.1.9 of node h is inside this node's pod CIDR 10.1.1.0/24",
             "a peer address inside this node's pod CIDR (a route through a local pod)"},
            {"i", "10.1.6.0/24",
             "refused: address 10.1.7.9 of node i is inside pod CIDR 10.1.7.0/24 of node j",
             "a peer address inside another peer's pod CIDR"},
            {"j", "10.1.7.0/24",
             "refused: pod CIDR 10.1.7.0/24 covers the address 10.1.7.9 of node i",
             "and that peer's CIDR, naming the node"},
            {"k", "10.1.8.0/24",
             "refused: address 192.168.1.0 of node k is the network address of on-link prefix "
             "192.168.1.0/24",
             "the underlay's network address"},
            {"l", "10.1.9.0/24",
             "refused: address 192.168.1.255 of node l is the broadcast address of on-link "
             "prefix 192.168.1.0/24",
             "the underlay's broadcast address"},
            {"evil", "0.0.0.0/0", "refused: pod CIDR 0.0.0.0/0 is a default route",
             "a refused claim takes no part in the overlap checks (no one refused because of it)"},
        };
        is_entries(&j, overlap_refusals, ELEMENTSOF(overlap_refusals));
        podnet_sync_report_free(j.report);

        /* a chain and a pair of equal claims with a third inside */
        text = "self 10.1.1.0/24 192.168.1.11\n"
               "p 10.2.0.0/16 192.168.1.12\n"
               "q 10.2.1.0/24 192.168.1.13\n"
               "r 10.2.1.0/24 192.168.1.14\n"
               "s 10.3.0.0/24 192.168.1.15\n";
        if (!ok(judge(&j, text, "self", "10.0.0.0/8") == 0, "nested chain judged"))
                return;
        is_str(j.routes, "10.3.0.0/24", "only s is routed");
        is_int(podnet_sync_report_count_action(j.report, PODNET_SYNC_REFUSED), 3,
               "all three parties refused");
        podnet_sync_report_free(j.report);
}

static void test_own_cidr(void)
{
        struct judged j;

        if (!ok(judge(&j, "self 0.0.0.0/0 192.168.1.11\ngood 10.1.2.0/24 192.168.1.12\n", "self",
                      "10.1.0.0/16") == 0,
                "own /0 judged"))
                return;
        is_str(entry(&j, "self", "0.0.0.0/0"), "refused: pod CIDR 0.0.0.0/0 is a default route",
               "this node's own 0.0.0.0/0 refused");
        is_str(j.routes, "10.1.2.0/24", "the peers are judged without it (not all refused)");
        podnet_sync_report_free(j.report);

        /* a list of this node alone, judged with `cluster`: its claim `dst` refused */
        static const struct {
                const char *list, *cluster, *judged;
                struct expect e;
        } alone[] = {
            {"self 10.9.0.0/24 192.168.1.11\n",
             "10.1.0.0/16",
             "own outside judged",
             {"self", "10.9.0.0/24",
              "refused: pod CIDR 10.9.0.0/24 is outside the cluster CIDR 10.1.0.0/16",
              "this node's own CIDR outside the cluster CIDR refused"}},
            {"self 192.168.0.0/16 192.168.1.11\n",
             NULL,
             "own covering judged",
             {"self", "192.168.0.0/16",
              "refused: pod CIDR 192.168.0.0/16 covers the address 192.168.1.11 of node self",
              "without a cluster CIDR: this node's own CIDR covering its address refused"}},
            {"self 192.168.1.128/25 192.168.1.11\n",
             NULL,
             "own inside on-link judged",
             {"self", "192.168.1.128/25",
              "refused: pod CIDR 192.168.1.128/25 lies inside on-link prefix 192.168.1.0/24 of "
              "this node",
              "this node's own CIDR carved out of the underlay refused"}},
        };
        for (size_t i = 0; i < ELEMENTSOF(alone); i++) {
                if (!ok(judge(&j, alone[i].list, "self", alone[i].cluster) == 0, "%s",
                        alone[i].judged))
                        return;
                is_entries(&j, &alone[i].e, 1);
                podnet_sync_report_free(j.report);
        }

        if (!ok(judge(&j, "self 10.1.1.0/24,fd00:10:1:1::/64 192.168.1.11,fd00::11\n", "self",
                      NULL) == 0,
                "legitimate own judged"))
                return;
        is_int(podnet_sync_report_count(j.report), 0, "a legitimate own CIDR: nothing reported");
        podnet_sync_report_free(j.report);
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

        /* an IPv6 peer moving to the overlay: the kernel cannot move an IPv6 nexthop in
         * use to another device or onlink, so a new one is added and the old deleted;
         * an IPv4 one is replaced in place */
        w[0] = want_nh(1, "node2", "fd00:1:0:1::");
        w[0].onlink = true;
        w[0].oif = 9;
        h[0] = nh(800, "fd00::12", 44);
        h[0].oif = 2;
        hr[0] = rt("fd00:1:0:1::/64", NULL);
        hr[0].nhid = 800;
        wr[0] = rt("fd00:1:0:1::/64", "fd00:1:0:1::");
        wr[0].node = 1;
        is_int(pn_nexthop_plan(w, 1, h, 1, wr, 1, hr, 1, base), 0, "IPv6 to the overlay plan");
        ok(w[0].kind == PN_OP_ADD && w[0].id != 800, "IPv6 to the overlay: a new nexthop");
        is_int(kind_of(h, 1, 800), PN_OP_DELETE, "IPv6 to the overlay: the old one deleted");
        w[0] = want_nh(1, "node2", "fd00::22");
        h[0] = nh(800, "fd00::12", 44);
        is_int(pn_nexthop_plan(w, 1, h, 1, wr, 1, hr, 1, base), 0, "IPv6 address change plan");
        ok(w[0].kind == PN_OP_REPLACE && w[0].id == 800,
           "IPv6 address change, same device: replaced in place");
        w[0] = want_nh(1, "node2", "10.1.2.0");
        w[0].onlink = true;
        w[0].oif = 9;
        h[0] = nh(400, "192.168.1.12", 44);
        hr[0] = rt("10.1.2.0/24", NULL);
        hr[0].nhid = 400;
        wr[0] = rt("10.1.2.0/24", "10.1.2.0");
        wr[0].node = 1;
        is_int(pn_nexthop_plan(w, 1, h, 1, wr, 1, hr, 1, base), 0, "IPv4 to the overlay plan");
        ok(w[0].kind == PN_OP_REPLACE && w[0].id == 400, "IPv4 to the overlay: replaced in place");

        /* dual-stack: lookup by node and family */
        w[0] = want_nh(1, "node2", "192.168.1.12");
        w[1] = want_nh(1, "node2", "fd00::12");
        ok(pn_nh_find(w, 2, 1, AF_INET6) == &w[1], "find: node 1, IPv6");
        ok(pn_nh_find(w, 2, 2, AF_INET) == NULL, "find: unknown node");
}

/* pn_keysort() sorts like qsort() with the same comparison: random routes of both
 * families with many ties in the key (same first bytes, prefix lengths, metrics), and
 * arrays already sorted, reversed, of one and of zero elements. */
static void test_keysort(void)
{
        enum { N = 3000 };
        static struct pn_rt a[N], b[N];
        unsigned seed = 12345;
        bool same = true;

        for (size_t n = 0; n <= N; n = n ? n * 3 : 1) {
                for (size_t i = 0; i < n; i++) {
                        struct pn_rt *r = &a[i];

                        seed = seed * 1103515245 + 12345;
                        *r = (struct pn_rt){.family = seed % 3 ? AF_INET : AF_INET6,
                                            .dst_len = (uint8_t)(16 + (seed >> 8) % 3),
                                            .priority = (seed >> 12) % 3,
                                            .node = i};
                        r->dst[0] = 10;
                        r->dst[1] = (uint8_t)(seed >> 16);
                        r->dst[r->family == AF_INET6 ? 15 : 3] = (uint8_t)(seed >> 24) % 4;
                }
                for (int order = 0; order < 3; order++) {
                        memcpy(b, a, n * sizeof(*a));
                        qsort(b, n, sizeof(*b), pn_rt_compare);
                        if (order == 1) /* sorted already */
                                memcpy(a, b, n * sizeof(*a));
                        if (order == 2) /* reversed */
                                for (size_t i = 0; i < n; i++)
                                        a[i] = b[n - 1 - i];
                        pn_keysort(a, n, sizeof(*a), pn_rt_key, pn_rt_compare);
                        for (size_t i = 0; i < n && same; i++)
                                same = pn_rt_compare(&a[i], &b[i]) == 0;
                        for (size_t i = 1; i < n && same; i++)
                                same = pn_rt_key(&a[i - 1]) <= pn_rt_key(&a[i]);
                }
        }
        ok(same, "pn_keysort sorts routes as qsort does, with ties, sorted and reversed input");
}

static void test_names(void)
{
        is_str(podnet_sync_action_name(PODNET_SYNC_KEPT), "kept", "kept");
        is_str(podnet_sync_action_name(PODNET_SYNC_ADDED), "added", "added");
        is_str(podnet_sync_action_name(PODNET_SYNC_REPLACED), "replaced", "replaced");
        is_str(podnet_sync_action_name(PODNET_SYNC_DELETED), "deleted", "deleted");
        is_str(podnet_sync_action_name(PODNET_SYNC_UNREACHABLE), "unreachable", "unreachable");
        is_str(podnet_sync_action_name(PODNET_SYNC_FAILED), "failed", "failed");
        is_str(podnet_sync_action_name(PODNET_SYNC_REFUSED), "refused", "refused");
        ok(podnet_sync_action_name((podnet_sync_action)42) == NULL, "unknown action: NULL");
}

int main(void)
{
        test_diff();
        test_diff_onlink();
        test_via_nexthop();
        test_nexthop_plan();
        test_desired();
        test_attacks_cluster();
        test_attacks_no_cluster();
        test_overlaps();
        test_own_cidr();
        test_names();
        test_keysort();
        return done_testing();
}

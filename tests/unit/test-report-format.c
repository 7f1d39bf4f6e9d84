/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sync report, the status view and an allocation as JSON (parsed back with jansson)
 * and as text: fields, nulls, states, the worst-entry peer state, flags, bad arguments;
 * and the node list written to a file. */
#include <jansson.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "agent/routes.h"
#include "core/internal.h"
#include "tap.h"

/* A route as the sync reports it, from text through the public CIDR parser. */
static struct pn_rt rt(const char *dst, const char *gw)
{
        _cleanup_cidr_ podnet_cidr *d = NULL, *g = NULL;
        struct pn_rt r = {.type = RTN_UNICAST, .node = SIZE_MAX};

        if (podnet_cidr_parse(&d, dst) < 0)
                return r;
        r.family = (uint8_t)podnet_cidr_family(d);
        r.dst_len = (uint8_t)podnet_cidr_prefixlen(d);
        memcpy(r.dst, podnet_cidr_addr(d), r.family == AF_INET ? 4 : 16);
        r.has_gw = gw && podnet_cidr_parse(&g, gw) == 0;
        if (r.has_gw)
                memcpy(r.gw, podnet_cidr_addr(g), r.family == AF_INET ? 4 : 16);
        return r;
}

/* A report as a sync of node1 in a three-node list could give. */
static podnet_sync_report *sample_report(void)
{
        podnet_sync_report *r = pn_sync_report_new();
        struct pn_rt a = rt("10.1.2.0/24", "192.168.1.12"), b = rt("10.1.3.0/24", "192.168.1.13"),
                     c = rt("10.1.9.0/24", "192.168.1.19"), d = rt("10.1.4.0/24", "10.9.9.9");

        if (!r)
                return NULL;
        pn_sync_report_add(r, PODNET_SYNC_ADDED, "node2", &a, NULL);
        pn_sync_report_add(r, PODNET_SYNC_KEPT, "node3", &b, "kept \"as\" is");
        pn_sync_report_add(r, PODNET_SYNC_DELETED, NULL, &c, NULL);
        pn_sync_report_add(r, PODNET_SYNC_SKIPPED, "node5", NULL, "no pod CIDR");
        pn_sync_report_add(r, PODNET_SYNC_UNREACHABLE, "node4", &d, "no route to %s", "10.9.9.9");
        return r;
}

static json_t *load(const char *text)
{
        json_error_t e;
        json_t *v = json_loads(text, 0, &e);

        if (!v)
                diag("not JSON: %s: %s", e.text, text);
        return v;
}

static const char *jget(json_t *root, const char *path)
{
        json_t *v = root;
        char key[64];

        /* "a.b.0.c": objects by key, arrays by index */
        for (const char *p = path; v && *p;) {
                size_t n = strcspn(p, ".");
                snprintf(key, sizeof(key), "%.*s", (int)n, p);
                v = json_is_array(v) ? json_array_get(v, strtoul(key, NULL, 10))
                                     : json_object_get(v, key);
                p += n + (p[n] == '.');
        }
        if (!v)
                return "(missing)";
        if (json_is_null(v))
                return "(null)";
        if (json_is_string(v))
                return json_string_value(v);
        static char buf[64];
        if (json_is_integer(v))
                snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
                snprintf(buf, sizeof(buf), "%.3f", json_real_value(v));
        else
                snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
        return buf;
}

/* Strings that need escapes (quote, backslash, control characters), UTF-8, and bytes that
 * are not UTF-8: the streamed routes read back as jansson reads them, and a document
 * jansson builds from the same values encodes to the same bytes. */
static void test_sync_json_escapes(void)
{
        static const char *const whys[] = {
            "tab\there",     "back\\slash \"q\"", "caf\xc3\xa9 \xe2\x82\xac",
            "bad \xff byte", "nl\nand \x01",      "/slash/ {}[]:,"};
        _cleanup_report_ podnet_sync_report *r = pn_sync_report_new();
        _cleanup_free_ char *text = NULL, *want = NULL;
        json_t *doc = json_object(), *routes = json_array();
        struct pn_rt a = rt("10.1.2.0/24", "192.168.1.12");

        if (!r)
                abort();
        json_object_set_new(doc, "routes", routes);
        for (size_t i = 0; i < ELEMENTSOF(whys); i++) {
                json_t *e = json_object();
                char fixed[64];

                pn_sync_report_add(r, PODNET_SYNC_UNREACHABLE, "node\"x", &a, "%s", whys[i]);
                snprintf(fixed, sizeof(fixed), "%s", whys[i]);
                for (char *p = fixed; *p; p++)
                        if (strncmp(whys[i], "bad", 3) == 0 && (unsigned char)*p >= 0x80)
                                *p = '?'; /* what the encoder makes of bytes that are not UTF-8 */
                json_object_set_new(e, "action", json_string("unreachable"));
                json_object_set_new(e, "dst", json_string("10.1.2.0/24"));
                json_object_set_new(e, "via", json_string("192.168.1.12"));
                json_object_set_new(e, "node", json_string("node\"x"));
                json_object_set_new(e, "reason", json_string(fixed));
                json_array_append_new(routes, e);
        }
        json_object_set_new(doc, "summary", json_object());
        is_int(podnet_sync_report_format_json(r, NULL, &text), 0, "escapes: sync json");
        want = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(doc);
        ok(text && want && strncmp(text, want, strlen(want) - 3) == 0,
           "escapes: the routes are the bytes jansson writes for them");
        if (text && want && strncmp(text, want, strlen(want) - 3) != 0)
                diag("ours:    %s\njansson: %s", text, want);
}

static void test_sync_json(void)
{
        _cleanup_report_ podnet_sync_report *r = sample_report();
        _cleanup_free_ char *text = NULL, *bare = NULL;
        podnet_sync_summary s = {.size = sizeof(s),
                                 .dry_run = true,
                                 .route_ms = 1.23449,
                                 .fw_commits = -1,
                                 .conf_path = "/etc/cni/net.d/10-podnet.conflist",
                                 .conf_written = 1};
        json_t *j;

        is_int(podnet_sync_report_format_json(r, &s, &text), 0, "sync json");
        j = load(text);
        ok(j, "sync json parses");
        is_int((int)json_array_size(json_object_get(j, "routes")), 5, "one route per entry");
        is_str(jget(j, "routes.0.action"), "added", "action");
        is_str(jget(j, "routes.0.dst"), "10.1.2.0/24", "dst");
        is_str(jget(j, "routes.0.via"), "192.168.1.12", "via: the address alone");
        is_str(jget(j, "routes.0.node"), "node2", "node");
        is_str(jget(j, "routes.0.reason"), "(null)", "no reason: null");
        is_str(jget(j, "routes.1.reason"), "kept \"as\" is", "reason with quotes survives");
        is_str(jget(j, "routes.2.node"), "(null)", "deleted route: node null");
        is_str(jget(j, "routes.3.dst"), "(null)", "skipped node: dst null");
        is_str(jget(j, "routes.3.via"), "(null)", "skipped node: via null");
        is_str(jget(j, "routes.4.reason"), "no route to 10.9.9.9", "formatted reason");
        is_str(jget(j, "summary.added"), "1", "summary added");
        is_str(jget(j, "summary.kept"), "1", "summary kept");
        is_str(jget(j, "summary.deleted"), "1", "summary deleted");
        is_str(jget(j, "summary.unreachable"), "1", "summary unreachable");
        is_str(jget(j, "summary.refused"), "0", "summary refused");
        is_str(jget(j, "summary.writes"), "0", "summary writes");
        is_str(jget(j, "summary.dryRun"), "true", "dryRun");
        is_str(jget(j, "summary.routeSyncMs"), "1.234", "routeSyncMs to the microsecond");
        is_str(jget(j, "firewallCommits"), "(null)", "no firewall: null");
        is_str(jget(j, "cniConf.path"), "/etc/cni/net.d/10-podnet.conflist", "conf path");
        is_str(jget(j, "cniConf.written"), "true", "conf written");
        ok(strstr(text, "\"routeSyncMs\":1.234,") || strstr(text, "\"routeSyncMs\":1.234}"),
           "routeSyncMs printed without float noise: %s", strstr(text, "routeSyncMs"));
        ok(!strchr(text, '\n'), "compact, no newline");
        json_decref(j);

        s.fw_commits = 2;
        s.conf_written = -1;
        s.conf_path = "/tmp/\xff\xfe.conflist"; /* not UTF-8 */
        free(text);
        text = NULL;
        is_int(podnet_sync_report_format_json(r, &s, &text), 0, "sync json, odd path");
        j = load(text);
        is_str(jget(j, "firewallCommits"), "2", "firewall commits");
        is_str(jget(j, "cniConf.written"), "(null)", "conf not managed: null");
        is_str(jget(j, "cniConf.path"), "/tmp/??.conflist", "non-UTF-8 bytes become '?'");
        json_decref(j);

        is_int(podnet_sync_report_format_json(r, NULL, &bare), 0, "sync json without summary");
        j = load(bare);
        is_str(jget(j, "summary.writes"), "0", "counts still there");
        is_str(jget(j, "summary.dryRun"), "(missing)", "no dryRun");
        ok(!json_object_get(j, "cniConf"), "no cniConf");
        json_decref(j);
}

static void test_sync_text(void)
{
        _cleanup_report_ podnet_sync_report *r = sample_report();
        _cleanup_free_ char *all = NULL, *changes = NULL;
        podnet_sync_summary s = {
            .size = sizeof(s), .route_ms = 0.25, .fw_commits = 3, .conf_written = 0};
        char *t = NULL;

        is_int(podnet_sync_report_format_text(r, &s, 0, &all), 0, "sync text");
        is_str(all,
               "added       10.1.2.0/24 via 192.168.1.12 (node2)\n"
               "kept        10.1.3.0/24 via 192.168.1.13 (node3)\n"
               "deleted     10.1.9.0/24 via 192.168.1.19\n"
               "skipped     - (node5): no pod CIDR\n"
               "unreachable 10.1.4.0/24 via 10.9.9.9 (node4): no route to 10.9.9.9\n"
               "1 added, 0 replaced, 1 deleted, 1 kept, 1 unreachable, 1 skipped, 0 refused, "
               "0 failed; 0 route writes, 3 firewall commits, CNI conf unchanged (routes 0.2 ms)\n",
               "sync text: lines and summary");
        is_int(podnet_sync_report_format_text(r, NULL, PODNET_FORMAT_CHANGES, &changes), 0,
               "changes only");
        ok(!strstr(changes, "kept"), "kept left out");
        ok(!strstr(changes, "route writes"), "no summary without s");
        is_int(podnet_sync_report_format_text(r, NULL, 1u << 7, &t), -EINVAL, "unknown flag");
        is_int(podnet_sync_report_format_text(NULL, NULL, 0, &t), -EINVAL, "no report");
        podnet_sync_summary tiny = {.size = 1};
        is_int(podnet_sync_report_format_json(r, &tiny, &t), -EINVAL, "size too small");
        ok(!t, "nothing returned on failure");
}

static void test_status(void)
{
        _cleanup_report_ podnet_sync_report *r = pn_sync_report_new();
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        _cleanup_free_ char *text = NULL, *json = NULL, *bare = NULL;
        const char *list = "node1 10.1.1.0/24 192.168.1.11\n"
                           "node2 10.1.2.0/24 192.168.1.12,fd00::12\n"
                           "node3 10.1.3.0/24,fd00:1:3::/64 192.168.1.13\n"
                           "node4 - 192.168.1.14\n";
        struct pn_rt a = rt("10.1.2.0/24", "192.168.1.12"), b = rt("10.1.3.0/24", "192.168.1.13"),
                     c = rt("fd00:1:3::/64", "fd00::13"), d = rt("10.1.9.0/24", "192.168.1.19");
        podnet_status_config st = {.size = sizeof(st),
                                   .node_name = "node1",
                                   .protocol = 44,
                                   .table = 254,
                                   .firewall = true,
                                   .firewall_dump = NULL};
        json_t *j;

        is_int(podnet_nodes_parse(&nodes, list, strlen(list), NULL), 0, "node list");
        pn_sync_report_add(r, PODNET_SYNC_KEPT, "node2", &a, NULL);
        pn_sync_report_add(r, PODNET_SYNC_ADDED, "node3", &b, NULL);
        pn_sync_report_add(r, PODNET_SYNC_REFUSED, "node3", &c, "first refusal");
        pn_sync_report_add(r, PODNET_SYNC_REFUSED, "node3", &c, "second refusal");
        pn_sync_report_add(r, PODNET_SYNC_DELETED, NULL, &d, NULL);
        pn_sync_report_add(r, PODNET_SYNC_SKIPPED, "node4", NULL, "no pod CIDR");
        st.nodes = nodes;

        is_int(podnet_status_format_json(r, &st, &json), 0, "status json");
        j = load(json);
        is_str(jget(j, "node"), "node1", "node");
        is_str(jget(j, "protocol"), "44", "protocol");
        is_str(jget(j, "table"), "254", "table");
        is_int((int)json_array_size(json_object_get(j, "routes")), 5,
               "routes: the entry without dst left out");
        is_str(jget(j, "routes.0.state"), "ok", "kept: ok");
        is_str(jget(j, "routes.1.state"), "missing", "added: missing");
        is_str(jget(j, "routes.2.state"), "refused", "refused");
        is_str(jget(j, "routes.4.state"), "stale", "deleted with a node list: stale");
        is_str(jget(j, "routes.4.node"), "(null)", "deleted: node null");
        is_int((int)json_array_size(json_object_get(j, "peers")), 4, "one peer per node");
        is_str(jget(j, "peers.0.state"), "self", "this node: self");
        is_str(jget(j, "peers.1.state"), "ok", "node2 ok");
        is_str(jget(j, "peers.1.addresses.1"), "fd00::12", "addresses, IPv4 then IPv6");
        is_str(jget(j, "peers.2.state"), "refused", "worst of node3's routes");
        is_str(jget(j, "peers.2.reason"), "first refusal", "the first worst entry's reason");
        is_str(jget(j, "peers.2.podCIDRs.1"), "fd00:1:3::/64", "pod CIDRs");
        is_str(jget(j, "peers.3.state"), "skipped", "node4 skipped");
        is_str(jget(j, "firewall"), "(null)", "no firewall dump: null");
        json_decref(j);

        is_int(podnet_status_format_text(r, &st, &text), 0, "status text");
        ok(strstr(text, "ROUTES (protocol 44, table 254)\n"
                        "DESTINATION              VIA                        NODE                 "
                        "STATE\n"
                        "10.1.2.0/24              192.168.1.12               node2                "
                        "ok\n") == text,
           "routes table");
        ok(strstr(text, "fd00:1:3::/64            fd00::13                   node3                "
                        "refused (first refusal)\n"),
           "refused route with its reason");
        ok(strstr(text,
                  "\nPEERS\nNODE                 POD CIDRS                          ADDRESS   "
                  "                 STATE\n"),
           "peers header");
        ok(strstr(text, "node3                10.1.3.0/24,fd00:1:3::/64          192.168.1.13     "
                        "          refused (first refusal)\n"),
           "peer row: CIDRs joined, first address");
        ok(strstr(text, "node4                -                                  192.168.1.14     "
                        "          skipped\n"),
           "peer without CIDR: -");
        ok(strstr(text, "\nFIREWALL\n(no podnet chains)\n"), "firewall section, empty");

        st.nodes = NULL;
        st.firewall = false;
        st.firewall_dump = "-N PODNET-FORWARD\n";
        is_int(podnet_status_format_text(r, &st, &bare), 0, "status text without nodes");
        ok(strstr(bare, "10.1.9.0/24              192.168.1.19               -                    "
                        "installed\n"),
           "no node list: installed");
        ok(!strstr(bare, "PEERS") && !strstr(bare, "FIREWALL"), "no peers, no firewall section");
        free(json);
        json = NULL;
        is_int(podnet_status_format_json(NULL, &st, &json), 0, "status json without report");
        j = load(json);
        is_int((int)json_array_size(json_object_get(j, "routes")), 0, "no routes");
        is_str(jget(j, "firewall"), "-N PODNET-FORWARD\n", "firewall dump");
        is_str(jget(j, "firewallBackend"), "(null)", "no backend: null");
        json_decref(j);
        free(json);
        json = NULL;
        free(bare);
        bare = NULL;
        st.firewall = true;
        st.firewall_backend = "iptables-nft";
        st.firewall_reason = "detected: no other program's rules";
        is_int(podnet_status_format_json(NULL, &st, &json), 0, "status json with the backend");
        j = load(json);
        is_str(jget(j, "firewallBackend"), "iptables-nft", "firewallBackend");
        is_str(jget(j, "firewallReason"), "detected: no other program's rules", "firewallReason");
        json_decref(j);
        is_int(podnet_status_format_text(NULL, &st, &bare), 0, "status text with the backend");
        ok(strstr(bare, "\nFIREWALL\nbackend iptables-nft (detected: no other program's rules)\n"
                        "-N PODNET-FORWARD\n"),
           "the backend and why, ahead of the chains");
        /* a caller built before the backend fields: accepted, no backend line */
        st.size = offsetof(podnet_status_config, firewall_backend);
        free(bare);
        bare = NULL;
        is_int(podnet_status_format_text(NULL, &st, &bare), 0, "status text, older size");
        ok(strstr(bare, "\nFIREWALL\n-N PODNET-FORWARD\n"), "older size: no backend line");
        st.size = sizeof(st);
        is_int(podnet_status_format_json(r, NULL, &json), -EINVAL, "no config");
}

static void test_allocation(void)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        _cleanup_free_ char *json = NULL, *text = NULL, *none = NULL;
        const char *list = "a - 192.168.1.1\nb 10.1.0.0/24 192.168.1.2\nc - 192.168.1.3\n";
        _cleanup_cidr_ podnet_cidr *cluster = NULL;
        const podnet_cidr *cl[1];
        unsigned mask = 24;
        size_t idx[] = {0, 2}, bad[] = {3};
        char *t = NULL;
        json_t *j;

        is_int(podnet_nodes_parse(&nodes, list, strlen(list), NULL), 0, "node list");
        is_int(podnet_cidr_parse(&cluster, "10.1.0.0/16"), 0, "cluster");
        cl[0] = cluster;
        is_int(podnet_nodes_allocate(nodes, cl, &mask, 1, NULL), 2, "two allocated");
        is_int(podnet_nodes_format_allocation_json(nodes, idx, 2, &json), 0, "allocation json");
        j = load(json);
        is_str(jget(j, "count"), "2", "count");
        is_str(jget(j, "allocated.0.name"), "a", "first");
        is_str(jget(j, "allocated.0.podCIDRs.0"), "10.1.1.0/24", "first CIDR");
        is_str(jget(j, "allocated.1.name"), "c", "second");
        is_str(jget(j, "allocated.1.podCIDRs.0"), "10.1.2.0/24", "second CIDR");
        json_decref(j);
        is_int(podnet_nodes_format_allocation_text(nodes, idx, 2, &text), 0, "allocation text");
        is_str(text,
               "kubectl patch node a --type merge -p "
               "'{\"spec\":{\"podCIDR\":\"10.1.1.0/24\",\"podCIDRs\":[\"10.1.1.0/24\"]}}'\n"
               "kubectl patch node c --type merge -p "
               "'{\"spec\":{\"podCIDR\":\"10.1.2.0/24\",\"podCIDRs\":[\"10.1.2.0/24\"]}}'\n",
               "kubectl patch commands");
        is_int(podnet_nodes_format_allocation_json(nodes, NULL, 0, &none), 0, "none allocated");
        is_str(none, "{\"allocated\":[],\"count\":0}", "empty allocation");
        is_int(podnet_nodes_format_allocation_json(nodes, bad, 1, &t), -EINVAL, "index past end");
        is_int(podnet_nodes_format_allocation_text(NULL, NULL, 0, &t), -EINVAL, "no nodes");
}

static void test_write_nodes(void)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL, *back = NULL;
        _cleanup_free_ char *text = NULL;
        const char *list = "a 10.1.1.0/24 192.168.1.1\nb - 192.168.1.2,fd00::2\n";
        char dir[] = "/tmp/podnet-test-XXXXXX", path[64], bad[96];
        podnet_error *err = NULL;
        struct stat st;
        size_t len = 0;
        FILE *f;

        ok(mkdtemp(dir), "temporary directory");
        snprintf(path, sizeof(path), "%s/nodes.json", dir);
        is_int(podnet_nodes_parse(&nodes, list, strlen(list), NULL), 0, "node list");
        is_int(podnet_nodes_write_json(nodes, path, NULL), 0, "written");
        f = fopen(path, "r");
        ok(f, "file exists");
        text = calloc(1, 65536);
        if (f && text) {
                len = fread(text, 1, 65535, f);
                fclose(f);
        }
        ok(len > 0 && text[len - 1] == '\n', "ends with a newline");
        is_int(podnet_nodes_parse(&back, text, len, NULL), 0, "reads back");
        is_int((int)podnet_nodes_count(back), 2, "both nodes");
        is_str(podnet_nodes_name(back, 1), "b", "second node's name");
        ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "mode 0644");
        snprintf(bad, sizeof(bad), "%s/missing/nodes.json", dir);
        is_int(podnet_nodes_write_json(nodes, bad, &err), -ENOENT, "missing directory");
        ok(err && strstr(podnet_error_message(err), bad), "message names the path: %s",
           err ? podnet_error_message(err) : "(none)");
        podnet_error_free(err);
        is_int(podnet_nodes_write_json(NULL, path, NULL), -EINVAL, "no nodes");
        unlink(path);
        ok(rmdir(dir) == 0, "no temporary file left behind");
}

int main(void)
{
        test_sync_json();
        test_sync_json_escapes();
        test_sync_text();
        test_status();
        test_allocation();
        test_write_nodes();
        return done_testing();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CNI results: one result printed in every supported version and compared with
 * hand-written JSON (jansson's json_equal), parse round trips, error and VERSION
 * objects. */
#include <arpa/inet.h>
#include <jansson.h>

#include "cni/cni.h"
#include "tap.h"

static podnet_cidr *C(const char *s)
{
        podnet_cidr *c = NULL;

        if (podnet_cidr_parse(&c, s) < 0) {
                printf("Bail out! cannot parse %s\n", s);
                exit(1);
        }
        return c;
}

/* Compares JSON texts structurally. */
static void json_is(const char *got, const char *want, const char *what)
{
        json_error_t e;
        json_t *g = got ? json_loads(got, 0, &e) : NULL;
        json_t *w = json_loads(want, 0, &e);

        if (!w)
                diag("expected JSON of %s does not parse: %s", what, e.text);
        if (!ok(g && w && json_equal(g, w), "%s", what)) {
                diag("got:  %s", got ? got : "(null)");
                diag("want: %s", want);
        }
        json_decref(g);
        json_decref(w);
}

static podnet_cni_result *build(void)
{
        podnet_cni_result *res = NULL;
        podnet_cidr *a4 = C("10.1.2.5/24"), *g4 = C("10.1.2.1"), *a6 = C("fd00::5/64"),
                    *g6 = C("fd00::1"), *a4b = C("10.1.2.6/24"), *d4 = C("0.0.0.0/0"),
                    *d6 = C("::/0"), *d9 = C("10.9.0.0/16");
        struct pn_cni_route r11 = {.dst = d9, .mtu = 1400, .table = 100, .scope = 0};

        if (podnet_cni_result_new(&res) < 0)
                exit(1);
        is_int(podnet_cni_result_add_interface(res, "cbr0", "0a:58:0a:01:02:01", 0, NULL), 0,
               "interface 0");
        is_int(podnet_cni_result_add_interface(res, "pn0123456789ab", "0a:58:0a:01:02:02", 0, NULL),
               1, "interface 1");
        is_int(podnet_cni_result_add_interface(res, "eth0", "0a:58:0a:01:02:03", 1460,
                                               "/run/netns/p1"),
               2, "interface 2");
        is_int(podnet_cni_result_add_ip(res, 2, a4, g4), 0, "ip 0");
        is_int(podnet_cni_result_add_ip(res, 2, a6, g6), 1, "ip 1");
        is_int(podnet_cni_result_add_ip(res, 2, a4b, NULL), 2, "ip 2");
        is_int(podnet_cni_result_add_ip(res, 3, a4b, NULL), -EINVAL, "ip on a missing interface");
        is_int(podnet_cni_result_add_ip(res, 0, a4b, g6), -EINVAL, "gateway of another family");
        is_int(podnet_cni_result_add_route(res, d4, g4), 0, "route 0");
        is_int(podnet_cni_result_add_route(res, d6, g6), 1, "route 1");
        is_int(pn_cni_result_add_route_full(res, &r11), 2, "route 2 with 1.1 attributes");
        ok(podnet_cni_result_add_dns(res, "10.0.0.10", "cluster.local", "default.svc.cluster.local",
                                     "ndots:5") == 0 &&
               podnet_cni_result_add_dns(res, "fd00::10", NULL, "svc.cluster.local", NULL) == 0,
           "dns");
        podnet_cidr_free(a4);
        podnet_cidr_free(g4);
        podnet_cidr_free(a6);
        podnet_cidr_free(g6);
        podnet_cidr_free(a4b);
        podnet_cidr_free(d4);
        podnet_cidr_free(d6);
        podnet_cidr_free(d9);
        return res;
}

#define IFACES_1X                                                                                  \
        "\"interfaces\": [{\"name\": \"cbr0\", \"mac\": \"0a:58:0a:01:02:01\"},"                   \
        " {\"name\": \"pn0123456789ab\", \"mac\": \"0a:58:0a:01:02:02\"},"                         \
        " {\"name\": \"eth0\", \"mac\": \"0a:58:0a:01:02:03\", \"mtu\": 1460,"                     \
        " \"sandbox\": \"/run/netns/p1\"}]"
#define IFACES_04                                                                                  \
        "\"interfaces\": [{\"name\": \"cbr0\", \"mac\": \"0a:58:0a:01:02:01\"},"                   \
        " {\"name\": \"pn0123456789ab\", \"mac\": \"0a:58:0a:01:02:02\"},"                         \
        " {\"name\": \"eth0\", \"mac\": \"0a:58:0a:01:02:03\", \"sandbox\": \"/run/netns/p1\"}]"
#define IPS_1X                                                                                     \
        "\"ips\": [{\"interface\": 2, \"address\": \"10.1.2.5/24\", \"gateway\": \"10.1.2.1\"},"   \
        " {\"interface\": 2, \"address\": \"fd00::5/64\", \"gateway\": \"fd00::1\"},"              \
        " {\"interface\": 2, \"address\": \"10.1.2.6/24\"}]"
#define IPS_04                                                                                     \
        "\"ips\": [{\"version\": \"4\", \"interface\": 2, \"address\": \"10.1.2.5/24\","           \
        " \"gateway\": \"10.1.2.1\"},"                                                             \
        " {\"version\": \"6\", \"interface\": 2, \"address\": \"fd00::5/64\","                     \
        " \"gateway\": \"fd00::1\"},"                                                              \
        " {\"version\": \"4\", \"interface\": 2, \"address\": \"10.1.2.6/24\"}]"
#define ROUTES_11                                                                                  \
        "\"routes\": [{\"dst\": \"0.0.0.0/0\", \"gw\": \"10.1.2.1\"},"                             \
        " {\"dst\": \"::/0\", \"gw\": \"fd00::1\"},"                                               \
        " {\"dst\": \"10.9.0.0/16\", \"mtu\": 1400, \"table\": 100, \"scope\": 0}]"
#define ROUTES                                                                                     \
        "\"routes\": [{\"dst\": \"0.0.0.0/0\", \"gw\": \"10.1.2.1\"},"                             \
        " {\"dst\": \"::/0\", \"gw\": \"fd00::1\"}, {\"dst\": \"10.9.0.0/16\"}]"
#define DNS                                                                                        \
        "\"dns\": {\"nameservers\": [\"10.0.0.10\", \"fd00::10\"], \"domain\": \"cluster.local\"," \
        " \"search\": [\"default.svc.cluster.local\", \"svc.cluster.local\"],"                     \
        " \"options\": [\"ndots:5\"]}"

static const struct {
        const char *version, *json;
} expected[] = {
    {"1.1.0", "{\"cniVersion\": \"1.1.0\", " IFACES_1X ", " IPS_1X ", " ROUTES_11 ", " DNS "}"},
    {"1.0.0", "{\"cniVersion\": \"1.0.0\", " IFACES_1X ", " IPS_1X ", " ROUTES ", " DNS "}"},
    {"0.4.0", "{\"cniVersion\": \"0.4.0\", " IFACES_04 ", " IPS_04 ", " ROUTES ", " DNS "}"},
    {"0.3.1", "{\"cniVersion\": \"0.3.1\", " IFACES_04 ", " IPS_04 ", " ROUTES ", " DNS "}"},
    {"0.3.0", "{\"cniVersion\": \"0.3.0\", " IFACES_04 ", " IPS_04 ", " ROUTES ", " DNS "}"},
    {"0.2.0", "{\"cniVersion\": \"0.2.0\","
              " \"ip4\": {\"ip\": \"10.1.2.5/24\", \"gateway\": \"10.1.2.1\", \"routes\":"
              " [{\"dst\": \"0.0.0.0/0\", \"gw\": \"10.1.2.1\"}, {\"dst\": \"10.9.0.0/16\"}]},"
              " \"ip6\": {\"ip\": \"fd00::5/64\", \"gateway\": \"fd00::1\", \"routes\":"
              " [{\"dst\": \"::/0\", \"gw\": \"fd00::1\"}]}, " DNS "}"},
    {"0.1.0", "{\"cniVersion\": \"0.1.0\","
              " \"ip4\": {\"ip\": \"10.1.2.5/24\", \"gateway\": \"10.1.2.1\", \"routes\":"
              " [{\"dst\": \"0.0.0.0/0\", \"gw\": \"10.1.2.1\"}, {\"dst\": \"10.9.0.0/16\"}]},"
              " \"ip6\": {\"ip\": \"fd00::5/64\", \"gateway\": \"fd00::1\", \"routes\":"
              " [{\"dst\": \"::/0\", \"gw\": \"fd00::1\"}]}, " DNS "}"},
};

static void test_format_every_version(podnet_cni_result *res)
{
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                const char *v = expected[i].version;
                char *text = NULL, *again = NULL;
                podnet_cni_result *back = NULL;
                podnet_error *err = NULL;
                char what[64];

                is_int(podnet_cni_result_format(res, v, &text, &err), 0, "format %s", v);
                snprintf(what, sizeof(what), "result in %s", v);
                json_is(text, expected[i].json, what);

                /* Parse what we printed in that version and print it again. */
                is_int(podnet_cni_result_parse(&back, text, v, &err), 0, "parse %s back", v);
                if (err)
                        diag("%s", podnet_error_message(err));
                if (back) {
                        is_int(podnet_cni_result_format(back, v, &again, &err), 0,
                               "format the parsed %s", v);
                        snprintf(what, sizeof(what), "round trip in %s", v);
                        json_is(again, expected[i].json, what);
                }
                podnet_cni_result_free(back);
                podnet_error_free(err);
                free(text);
                free(again);
        }
}

static void test_accessors(podnet_cni_result *res)
{
        char buf[PODNET_CIDR_STRLEN];

        is_int(podnet_cni_result_n_interfaces(res), 3, "three interfaces");
        is_int(podnet_cni_result_n_ips(res), 3, "three ips");
        is_int(podnet_cni_result_n_routes(res), 3, "three routes");
        is_str(podnet_cni_result_interface_name(res, 2), "eth0", "interface name");
        is_str(podnet_cni_result_interface_mac(res, 0), "0a:58:0a:01:02:01", "interface mac");
        is_str(podnet_cni_result_interface_sandbox(res, 2), "/run/netns/p1", "interface sandbox");
        ok(!podnet_cni_result_interface_sandbox(res, 0), "host interface has no sandbox");
        ok(!podnet_cni_result_interface_name(res, 3), "interface out of range");
        is_int(podnet_cni_result_ip_interface(res, 1), 2, "ip interface");
        is_int(podnet_cni_result_ip_interface(res, 9), -1, "ip out of range");
        podnet_cidr_format(podnet_cni_result_ip_addr(res, 1), buf, sizeof(buf));
        is_str(buf, "fd00::5/64", "ip address");
        ok(!podnet_cni_result_ip_gateway(res, 2), "ip without gateway");
        podnet_cidr_format(podnet_cni_result_route_dst(res, 1), buf, sizeof(buf));
        is_str(buf, "::/0", "route dst");
        ok(!podnet_cni_result_route_gw(res, 2), "route without gw");
        ok(!podnet_cni_result_route_dst(res, 3), "route out of range");
        ok(podnet_cni_result_n_ips(NULL) == 0 && !podnet_cni_result_ip_addr(NULL, 0),
           "NULL result");
}

static void test_sparse(void)
{
        podnet_cni_result *res = NULL;
        podnet_error *err = NULL;
        podnet_cidr *a = C("10.1.2.5/24"), *g = C("10.1.2.1");
        char *text = NULL;

        podnet_cni_result_new(&res);
        is_int(podnet_cni_result_format(res, "1.0.0", &text, NULL), 0, "empty result in 1.0.0");
        json_is(text, "{\"cniVersion\": \"1.0.0\"}", "empty result omits everything in 1.0.0");
        free(text);
        text = NULL;
        is_int(podnet_cni_result_format(res, "0.4.0", &text, NULL), 0, "empty result in 0.4.0");
        json_is(text, "{\"cniVersion\": \"0.4.0\", \"dns\": {}}",
                "empty result in 0.4.0 keeps dns like the Go types");
        free(text);
        text = NULL;
        ok(podnet_cni_result_format(res, "0.2.0", &text, &err) == -ENOTSUP && !text,
           "0.2.0 cannot express a result without addresses");
        ok(err && podnet_error_cni_code(err) == PODNET_CNI_ERR_INCOMPATIBLE_VERSION, "with code 1");
        podnet_error_free(err);
        err = NULL;
        ok(podnet_cni_result_format(res, "0.9.0", &text, &err) < 0 && err &&
               podnet_error_cni_code(err) == 1 && strstr(podnet_error_message(err), "0.9.0"),
           "unsupported version: code 1 naming it");
        podnet_error_free(err);
        err = NULL;

        /* An IPAM result: ips without interface, no interfaces. */
        podnet_cni_result_add_ip(res, -1, a, g);
        is_int(podnet_cni_result_format(res, "1.1.0", &text, NULL), 0, "IPAM result in 1.1.0");
        json_is(text,
                "{\"cniVersion\": \"1.1.0\", \"ips\": [{\"address\": \"10.1.2.5/24\","
                " \"gateway\": \"10.1.2.1\"}]}",
                "IPAM result without interface index");
        free(text);
        text = NULL;
        is_int(podnet_cni_result_format(res, "0.3.1", &text, NULL), 0, "IPAM result in 0.3.1");
        json_is(text,
                "{\"cniVersion\": \"0.3.1\", \"ips\": [{\"version\": \"4\", \"address\":"
                " \"10.1.2.5/24\", \"gateway\": \"10.1.2.1\"}], \"dns\": {}}",
                "IPAM result in 0.3.1");
        free(text);
        text = NULL;
        is_int(podnet_cni_result_format(res, "0.1.0", &text, NULL), 0, "IPAM result in 0.1.0");
        json_is(text,
                "{\"cniVersion\": \"0.1.0\", \"ip4\": {\"ip\": \"10.1.2.5/24\", \"gateway\":"
                " \"10.1.2.1\"}, \"dns\": {}}",
                "IPAM result in 0.1.0 without routes");
        free(text);
        podnet_cni_result_free(res);
        podnet_cidr_free(a);
        podnet_cidr_free(g);
}

static void parse_fails(const char *json, const char *version, int code, const char *needle,
                        const char *what)
{
        podnet_cni_result *res = NULL;
        podnet_error *err = NULL;

        ok(podnet_cni_result_parse(&res, json, version, &err) < 0 && !res, "%s: fails", what);
        is_int(err ? podnet_error_cni_code(err) : -1, code, "%s: code %d", what, code);
        if (!ok(err && strstr(podnet_error_message(err), needle), "%s: message names %s", what,
                needle))
                diag("message: %s", err ? podnet_error_message(err) : "(none)");
        podnet_error_free(err);
}

static void test_parse(void)
{
        podnet_cni_result *res = NULL;
        podnet_error *err = NULL;
        char *text = NULL;

        parse_fails("{\"ips\": [", "1.0.0", PODNET_CNI_ERR_DECODE, "line 1", "truncated");
        parse_fails("{\"cniVersion\": \"1.0.0\", \"ips\": [{\"address\": \"10.0.0.2\"}]}", "1.0.0",
                    PODNET_CNI_ERR_DECODE, "Invalid CIDR \"10.0.0.2\" in ips[0].address",
                    "address without prefix");
        parse_fails("{\"cniVersion\": \"1.0.0\", \"routes\": {}}", "1.0.0", PODNET_CNI_ERR_DECODE,
                    "Key \"routes\" must be an array, got object", "routes as object");
        parse_fails("{\"cniVersion\": \"1.0.0\", \"dns\": {\"nameservers\": [1]}}", "1.0.0",
                    PODNET_CNI_ERR_DECODE, "dns.nameservers[0]", "numeric nameserver");
        parse_fails("{\"cniVersion\": \"7.0.0\"}", "1.0.0", PODNET_CNI_ERR_INCOMPATIBLE_VERSION,
                    "7.0.0", "unsupported cniVersion in the result");
        parse_fails("{}", "0.0.9", PODNET_CNI_ERR_INCOMPATIBLE_VERSION, "0.0.9",
                    "unsupported version asked for");
        parse_fails("{\"ip4\": {\"gateway\": \"10.0.0.1\"}}", "0.2.0", PODNET_CNI_ERR_DECODE,
                    "ip4.ip", "ip4 without ip");
        parse_fails("{\"ip4\": {\"ip\": \"fd00::2/64\"}}", "0.2.0", PODNET_CNI_ERR_DECODE,
                    "wrong family", "ip4 holding IPv6");

        /* A 0.2.0 result converted up: first address per family, routes kept. */
        is_int(
            podnet_cni_result_parse(&res,
                                    "{\"cniVersion\": \"0.2.0\", \"ip4\": {\"ip\": \"10.0.0.2/24\","
                                    " \"routes\": [{\"dst\": \"0.0.0.0/0\"}]},"
                                    " \"dns\": {\"domain\": \"example\"}}",
                                    "0.2.0", &err),
            0, "parse 0.2.0");
        if (res) {
                is_int(podnet_cni_result_format(res, "1.0.0", &text, NULL), 0, "0.2.0 -> 1.0.0");
                json_is(
                    text,
                    "{\"cniVersion\": \"1.0.0\", \"ips\": [{\"address\": \"10.0.0.2/24\"}],"
                    " \"routes\": [{\"dst\": \"0.0.0.0/0\"}], \"dns\": {\"domain\": \"example\"}}",
                    "0.2.0 result printed in 1.0.0");
                free(text);
        }
        podnet_cni_result_free(res);
        podnet_error_free(err);

        /* A 1.1 route's attributes and interface socketPath/pciID survive a 1.1 round trip. */
        res = NULL;
        err = NULL;
        text = NULL;
        const char *v11 = "{\"cniVersion\": \"1.1.0\", \"interfaces\": [{\"name\": \"vhost0\","
                          " \"socketPath\": \"/run/vhost.sock\", \"pciID\": \"0000:00:1f.6\"}],"
                          " \"routes\": [{\"dst\": \"10.0.0.0/8\", \"gw\": \"10.1.0.1\","
                          " \"advmss\": 1360, \"priority\": 10, \"table\": 0, \"scope\": 253}]}";
        is_int(podnet_cni_result_parse(&res, v11, NULL, &err), 0, "parse 1.1.0 without version");
        if (res) {
                is_int(podnet_cni_result_format(res, "1.1.0", &text, NULL), 0, "format 1.1.0");
                json_is(text, v11, "1.1.0 attributes round trip");
                free(text);
                text = NULL;
                is_int(podnet_cni_result_format(res, "0.4.0", &text, NULL), 0, "format 0.4.0");
                json_is(
                    text,
                    "{\"cniVersion\": \"0.4.0\", \"interfaces\": [{\"name\": \"vhost0\"}],"
                    " \"routes\": [{\"dst\": \"10.0.0.0/8\", \"gw\": \"10.1.0.1\"}], \"dns\": {}}",
                    "0.4.0 drops socketPath, pciID and route attributes");
                free(text);
        }
        podnet_cni_result_free(res);
        podnet_error_free(err);
}

static void test_error_and_version(void)
{
        podnet_error *e = NULL;
        char *text = NULL;

        podnet_error_new(&e, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                         "Key \"mtu\" must be a number, got string");
        is_int(podnet_cni_error_format(e, "0.4.0", &text), 0, "error_format");
        json_is(text,
                "{\"cniVersion\": \"0.4.0\", \"code\": 7, \"msg\": \"Key \\\"mtu\\\" must be a "
                "number, got string\"}",
                "error object without details");
        free(text);
        text = NULL;
        pn_error_set_details(&e, "see podnet-cni(8)");
        is_int(podnet_cni_error_format(e, "1.1.0", &text), 0, "error_format with details");
        json_is(text,
                "{\"cniVersion\": \"1.1.0\", \"code\": 7, \"msg\": \"Key \\\"mtu\\\" must be a "
                "number, got string\", \"details\": \"see podnet-cni(8)\"}",
                "error object with details");
        free(text);
        text = NULL;
        podnet_error_free(e);
        e = NULL;
        podnet_error_new(&e, EINVAL, PODNET_CNI_ERR_INVALID_ENV, "Invalid container ID \"a\xff\"");
        is_int(podnet_cni_error_format(e, "1.0.0", &text), 0, "error with invalid UTF-8");
        json_is(text,
                "{\"cniVersion\": \"1.0.0\", \"code\": 4, \"msg\": \"Invalid container ID "
                "\\\"a?\\\"\"}",
                "invalid UTF-8 replaced");
        free(text);
        text = NULL;
        podnet_error_free(e);

        is_int(podnet_cni_version_format("0.4.0", &text), 0, "version_format");
        json_is(text,
                "{\"cniVersion\": \"0.4.0\", \"supportedVersions\": [\"0.1.0\", \"0.2.0\", "
                "\"0.3.0\", \"0.3.1\", \"0.4.0\", \"1.0.0\", \"1.1.0\"]}",
                "VERSION answer echoes the input's version");
        free(text);
}

int main(void)
{
        podnet_cni_result *res = build();

        test_accessors(res);
        test_format_every_version(res);
        podnet_cni_result_free(res);
        test_sparse();
        test_parse();
        test_error_and_version();
        return done_testing();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NodeList parsing: kubectl's JSON (both shipped samples, a single Node, bad input) and the
 * static node file, including the errors' line numbers and keys. */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "core/internal.h"
#include "agent/routes.h"
#include "tap.h"

static char buf[PODNET_CIDR_STRLEN];

static const char *fmt(const podnet_cidr *c)
{
        if (!c)
                return "(none)";
        if (podnet_cidr_format(c, buf, sizeof(buf)) < 0)
                return "(bad)";
        return buf;
}

static const char *fmt_addr(const podnet_cidr *c)
{
        if (!c)
                return "(none)";
        if (podnet_cidr_format_addr(c, buf, sizeof(buf)) < 0)
                return "(bad)";
        return buf;
}

static char *slurp(const char *name)
{
        const char *dir = getenv("PODNET_TESTDATA");
        char path[4096];
        FILE *f;
        char *text;
        long n;

        snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
        f = fopen(path, "re");
        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = calloc(1, (size_t)n + 1);
        if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
                free(text);
                text = NULL;
        }
        fclose(f);
        return text;
}

/* Parses text; returns the error message (static copy) or NULL on success. */
static char errbuf[1024];
static const char *parse_error(const char *text, int *code)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        _cleanup_error_ podnet_error *err = NULL;
        int r = podnet_nodes_parse(&nodes, text, strlen(text), &err);

        if (code)
                *code = r;
        if (r >= 0)
                return NULL;
        snprintf(errbuf, sizeof(errbuf), "%s", err ? podnet_error_message(err) : "(no message)");
        return errbuf;
}

static void test_kubenet3(void)
{
        _cleanup_free_ char *text = slurp("nodelist-kubenet3.json");
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        _cleanup_error_ podnet_error *err = NULL;
        const char *names[] = {"kubenet1", "kubenet2", "kubenet3"};

        if (!ok(text, "read nodelist-kubenet3.json"))
                return;
        is_int(podnet_nodes_parse(&nodes, text, strlen(text), &err), 0, "kubenet3 parses");
        if (!nodes)
                return;
        is_int(podnet_nodes_count(nodes), 3, "three nodes");
        for (size_t i = 0; i < 3; i++) {
                char want[32];
                is_str(podnet_nodes_name(nodes, i), names[i], "node %zu name", i);
                is_int(podnet_nodes_n_pod_cidrs(nodes, i), 1, "%s has one pod CIDR", names[i]);
                snprintf(want, sizeof(want), "10.1.%zu.0/24", i + 1);
                is_str(fmt(podnet_nodes_pod_cidr(nodes, i, 0)), want, "%s pod CIDR", names[i]);
                snprintf(want, sizeof(want), "10.0.0.%zu", 11 + i);
                is_str(fmt_addr(podnet_nodes_address(nodes, i, AF_INET)), want, "%s InternalIP",
                       names[i]);
                ok(podnet_nodes_address(nodes, i, AF_INET6) == NULL, "%s has no IPv6 address",
                   names[i]);
        }
        is_int(podnet_nodes_find(nodes, "kubenet2"), 1, "find kubenet2");
        is_int(podnet_nodes_find(nodes, "kubenet9"), -ENOENT, "find unknown node");
        ok(podnet_nodes_name(nodes, 3) == NULL, "name out of range is NULL");
        ok(podnet_nodes_pod_cidr(nodes, 0, 1) == NULL, "pod CIDR out of range is NULL");
}

static void test_dualstack(void)
{
        _cleanup_free_ char *text = slurp("nodelist-dualstack.json");
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        _cleanup_error_ podnet_error *err = NULL;
        int b;

        if (!ok(text, "read nodelist-dualstack.json"))
                return;
        is_int(podnet_nodes_parse(&nodes, text, strlen(text), &err), 0, "dual-stack parses");
        if (!nodes)
                return;
        is_int(podnet_nodes_count(nodes), 3, "three nodes");
        is_int(podnet_nodes_n_pod_cidrs(nodes, 0), 2, "node-a has two pod CIDRs");
        is_str(fmt(podnet_nodes_pod_cidr(nodes, 0, 0)), "10.244.0.0/24", "node-a IPv4 CIDR");
        is_str(fmt(podnet_nodes_pod_cidr(nodes, 0, 1)), "fd00:10:244::/64", "node-a IPv6 CIDR");
        is_str(fmt_addr(podnet_nodes_address(nodes, 0, AF_INET6)), "fd00:192:168:10::21",
               "node-a IPv6 InternalIP");
        b = podnet_nodes_find(nodes, "node-b");
        is_int(b, 1, "node-b found");
        is_str(fmt_addr(podnet_nodes_address(nodes, (size_t)b, AF_INET)), "192.168.10.22",
               "node-b: InternalIP preferred over the ExternalIP");
        is_int(podnet_nodes_find(nodes, "node-c"), 2, "node-c found");
        is_int(podnet_nodes_n_pod_cidrs(nodes, 2), 0, "node-c has no pod CIDR");
        is_str(fmt_addr(podnet_nodes_address(nodes, 2, AF_INET)), "192.168.10.23",
               "node-c address");
}

static void test_json_variants(void)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        _cleanup_free_ char *out = NULL;
        _cleanup_nodes_ podnet_nodes *again = NULL;
        const char *single = "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":"
                             "\"solo\"},\"spec\":{\"podCIDR\":\"10.5.7.0/24\"},\"status\":{"
                             "\"addresses\":[{\"type\":\"ExternalIP\",\"address\":\"203.0.113.5\"},"
                             "{\"type\":\"Hostname\",\"address\":\"solo\"}]}}";
        const char *ext = "{\"items\":[{\"metadata\":{\"name\":\"x\"},\"status\":{\"addresses\":"
                          "[{\"type\":\"ExternalIP\",\"address\":\"203.0.113.9\"},"
                          "{\"type\":\"InternalIP\",\"address\":\"192.168.1.9\"}]}}]}";
        int code = 0;

        is_int(podnet_nodes_parse(&nodes, single, strlen(single), NULL), 0, "a single Node parses");
        is_int(podnet_nodes_count(nodes), 1, "one node");
        is_str(podnet_nodes_name(nodes, 0), "solo", "its name");
        is_str(fmt(podnet_nodes_pod_cidr(nodes, 0, 0)), "10.5.7.0/24", "podCIDR alone is used");
        is_str(fmt_addr(podnet_nodes_address(nodes, 0, AF_INET)), "203.0.113.5",
               "ExternalIP used when there is no InternalIP");

        nodes = podnet_nodes_free(nodes);
        is_int(podnet_nodes_parse(&nodes, ext, strlen(ext), NULL), 0, "ExternalIP first parses");
        is_str(fmt_addr(podnet_nodes_address(nodes, 0, AF_INET)), "192.168.1.9",
               "a later InternalIP wins over an earlier ExternalIP");

        is_int(podnet_nodes_format_json(nodes, &out), 0, "format as NodeList JSON");
        ok(out && podnet_nodes_parse(&again, out, strlen(out), NULL) == 0,
           "formatted JSON parses back");
        is_str(fmt_addr(podnet_nodes_address(again, 0, AF_INET)), "192.168.1.9",
               "address survives the round trip");

        ok(parse_error("{\"kind\":\"NodeList\",\"items\":[]}", &code) == NULL && code == 0,
           "empty NodeList is fine");
        ok(parse_error("   \n# only a comment\n\n", &code) == NULL && code == 0,
           "static file with only comments is fine");
}

static void expect_error(const char *text, const char *fragment, const char *what)
{
        int code = 0;
        const char *msg = parse_error(text, &code);

        ok(msg && code == -EINVAL && strstr(msg, fragment), "%s", what);
        if (msg && !strstr(msg, fragment))
                diag("message: %s (want \"%s\")", msg, fragment);
        if (!msg)
                diag("unexpectedly parsed");
}

static void test_json_errors(void)
{
        expect_error("{\"items\": [", "not valid JSON", "truncated JSON");
        expect_error("{garbage}", "not valid JSON", "garbage JSON");
        expect_error("{\"kind\":\"NodeList\"}", "items: missing", "items missing");
        expect_error("{\"items\":{}}", "items: expected an array", "items of the wrong type");
        expect_error("{\"items\":[{\"spec\":{}}]}", "items[0].metadata: missing",
                     "metadata missing");
        expect_error("{\"items\":[{\"metadata\":{}}]}", "items[0].metadata.name: missing",
                     "name missing");
        expect_error("{\"items\":[{\"metadata\":{\"name\":7}}]}",
                     "items[0].metadata.name: expected a string, got a number",
                     "name of the wrong type");
        expect_error("{\"items\":[{\"metadata\":{\"name\":\"Bad_Name\"}}]}",
                     "not a valid node name", "invalid node name");
        expect_error("{\"items\":[{\"metadata\":{\"name\":\"a\"},\"spec\":{\"podCIDRs\":"
                     "\"10.0.0.0/24\"}}]}",
                     "items[0].spec.podCIDRs: expected an array, got a string",
                     "podCIDRs of the wrong type");
        expect_error("{\"items\":[{\"metadata\":{\"name\":\"a\"},\"spec\":{\"podCIDRs\":[5]}}]}",
                     "items[0].spec.podCIDRs[0]: expected a string", "podCIDRs item wrong type");
        expect_error("{\"items\":[{\"metadata\":{\"name\":\"a\"},\"spec\":{\"podCIDR\":"
                     "\"10.1.300.0/24\"}}]}",
                     "invalid pod CIDR \"10.1.300.0/24\"", "invalid pod CIDR");
        expect_error("{\"items\":[{\"metadata\":{\"name\":\"a\"},\"status\":{\"addresses\":[{"
                     "\"type\":\"InternalIP\",\"address\":\"192.168.1.x\"}]}}]}",
                     "invalid address \"192.168.1.x\"", "invalid InternalIP");
        expect_error("{\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":"
                     "\"a\"}}]}",
                     "node a appears twice", "duplicate node");
        expect_error("{\"kind\":\"Pod\",\"items\":[]}", "expected NodeList or Node", "wrong kind");
        expect_error("{\"items\":[{\"metadata\":{\"name\":\"a\"},\"status\":{\"addresses\":"
                     "{}}}]}",
                     "items[0].status.addresses: expected an array", "addresses wrong type");
}

static void test_static(void)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        _cleanup_error_ podnet_error *err = NULL;
        const char *text = "# lab nodes\n"
                           "\n"
                           "kubenet1 10.1.1.0/24 192.168.1.11   # first\n"
                           "  kubenet2\t10.1.2.0/24,fd00:1:2::/64  192.168.1.12,fd00::12\n"
                           "kubenet3 - 192.168.1.13\n"
                           "kubenet4 10.1.4.0/24 -\r\n";

        is_int(podnet_nodes_parse(&nodes, text, strlen(text), &err), 0, "static file parses");
        if (err)
                diag("%s", podnet_error_message(err));
        is_int(podnet_nodes_count(nodes), 4, "four nodes");
        is_str(podnet_nodes_name(nodes, 1), "kubenet2", "second node name");
        is_int(podnet_nodes_n_pod_cidrs(nodes, 1), 2, "kubenet2 has two pod CIDRs");
        is_str(fmt(podnet_nodes_pod_cidr(nodes, 1, 1)), "fd00:1:2::/64", "its IPv6 pod CIDR");
        is_str(fmt_addr(podnet_nodes_address(nodes, 1, AF_INET6)), "fd00::12", "its IPv6 address");
        is_int(podnet_nodes_n_pod_cidrs(nodes, 2), 0, "'-' means no pod CIDR");
        ok(podnet_nodes_address(nodes, 3, AF_INET) == NULL, "'-' means no address");

        expect_error("a 10.1.1.0/24\n", "Line 1: expected NAME POD-CIDR", "two fields");
        expect_error("# c\na 10.1.1.0/24 192.168.1.1 extra\n", "Line 2:", "four fields");
        expect_error("a 10.1.1.0/24 192.168.1.1\n\nb 10.1.2.0/24 192.168.1.999\n",
                     "Line 3: invalid address \"192.168.1.999\"", "bad address on line 3");
        expect_error("a 10.1.1.0/33 192.168.1.1\n", "Line 1: invalid pod CIDR", "bad CIDR");
        expect_error("a 10.1.1.0 192.168.1.1\n", "has no prefix length", "CIDR without prefix");
        expect_error("a 10.1.1.0/24 192.168.1.1,192.168.1.2\n", "more than one IPv4 address",
                     "two IPv4 addresses");
        expect_error("a 10.1.1.0/24 192.168.1.1\na 10.1.2.0/24 192.168.1.2\n",
                     "Line 2: node a appears twice", "duplicate name");
        expect_error("UPPER 10.1.1.0/24 192.168.1.1\n", "not a valid node name", "bad name");
        expect_error("a 10.1.0.0/16,10.1.1.0/24 192.168.1.1\n", "overlaps",
                     "overlapping pod CIDRs of one node");
}

static void test_set_pod_cidrs(void)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        _cleanup_cidr_ podnet_cidr *a = NULL, *b = NULL;
        const char *text = "n1 - 192.168.1.1\n";

        podnet_nodes_parse(&nodes, text, strlen(text), NULL);
        podnet_cidr_parse(&a, "10.9.1.7/24");
        podnet_cidr_parse(&b, "fd00:9::/64");
        const podnet_cidr *v[] = {a, b};
        is_int(podnet_nodes_set_pod_cidrs(nodes, 0, v, 2), 0, "set two pod CIDRs");
        is_str(fmt(podnet_nodes_pod_cidr(nodes, 0, 0)), "10.9.1.0/24", "stored as a network");
        is_int(podnet_nodes_n_pod_cidrs(nodes, 0), 2, "two now");
        is_int(podnet_nodes_set_pod_cidrs(nodes, 0, NULL, 0), 0, "clear");
        is_int(podnet_nodes_n_pod_cidrs(nodes, 0), 0, "none now");
        is_int(podnet_nodes_set_pod_cidrs(nodes, 5, v, 1), -EINVAL, "index out of range");
}

int main(void)
{
        test_kubenet3();
        test_dualstack();
        test_json_variants();
        test_json_errors();
        test_static();
        test_set_pod_cidrs();
        return done_testing();
}

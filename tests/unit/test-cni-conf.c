/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CNI network configuration parsing: every key, defaults, errors and their codes,
 * host-local ranges, requested addresses, attachments, prevResult; versions. */
#include <arpa/inet.h>

#include "cni/cni.h"
#include "tap.h"

static int parse(const char *json, podnet_cni_conf **conf, podnet_error **err)
{
        *conf = NULL;
        *err = NULL;
        return podnet_cni_conf_parse(conf, json, strlen(json), err);
}

static char *fmt(const podnet_cidr *c)
{
        static char buf[4][PODNET_CIDR_STRLEN];
        static int n;
        char *b = buf[n++ % 4];

        if (!c)
                return strcpy(b, "(none)");
        podnet_cidr_format(c, b, PODNET_CIDR_STRLEN);
        return b;
}

/* Parses `json`, expecting failure with `code` and `needle` in the message. */
static void fails(const char *json, int code, const char *needle, const char *what)
{
        podnet_cni_conf *conf;
        podnet_error *err;
        int r = parse(json, &conf, &err);

        ok(r < 0 && !conf && err, "%s: fails", what);
        if (!err)
                return;
        is_int(podnet_error_cni_code(err), code, "%s: code %d", what, code);
        if (!ok(strstr(podnet_error_message(err), needle) != NULL, "%s: message names %s", what,
                needle))
                diag("message: %s", podnet_error_message(err));
        podnet_error_free(err);
}

static podnet_cni_conf *parses(const char *json, const char *what)
{
        podnet_cni_conf *conf;
        podnet_error *err;
        int r = parse(json, &conf, &err);

        if (!ok(r == 0 && conf, "%s: parses", what))
                diag("error: %s", err ? podnet_error_message(err) : "(none)");
        podnet_error_free(err);
        return conf;
}

static void test_versions(void)
{
        const char *const *v = podnet_cni_supported_versions();
        const char *want[] = {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
        size_t n = 0;

        while (v[n])
                n++;
        is_int(n, 7, "seven supported versions");
        for (size_t i = 0; i < n && i < 7; i++)
                is_str(v[i], want[i], "supported version %zu", i);
        ok(podnet_cni_version_supported("0.3.1"), "0.3.1 supported");
        ok(!podnet_cni_version_supported("0.5.0"), "0.5.0 not supported");
        ok(!podnet_cni_version_supported(NULL), "NULL not supported");
        ok(podnet_cni_version_compare("0.4.0", "1.0.0") < 0, "0.4.0 < 1.0.0");
        ok(podnet_cni_version_compare("1.1.0", "1.0.0") > 0, "1.1.0 > 1.0.0");
        ok(podnet_cni_version_compare("0.10.0", "0.9.0") > 0, "numeric per component");
        is_int(podnet_cni_version_compare("1.0.0", "1.0.0"), 0, "equal versions");
        is_int(podnet_cni_version_compare("1.0", "1.0.0"), 0, "missing component is 0");
        ok(podnet_cni_version_compare("bogus", "0.1.0") < 0, "invalid sorts first");
        ok(podnet_cni_version_compare("0.1.0", "1.x") > 0, "invalid sorts first (right)");
        ok(podnet_cni_version_compare(NULL, "0.1.0") < 0, "NULL sorts first");
}

static void test_full(void)
{
        podnet_cni_conf *c = parses(
            "{\"cniVersion\": \"1.0.0\", \"name\": \"kubenet\", \"type\": \"podnet-cni\","
            " \"bridge\": \"br-pods\", \"isGateway\": true, \"isDefaultGateway\": false,"
            " \"forceAddress\": true, \"ipMasq\": true, \"mtu\": 1460, \"hairpinMode\": true,"
            " \"promiscMode\": true, \"enabledad\": true, \"someUnknownKey\": [1, {}],"
            " \"ipam\": {\"type\": \"host-local\","
            "   \"ranges\": [[{\"subnet\": \"10.1.2.0/24\", \"rangeStart\": \"10.1.2.10\","
            "                  \"rangeEnd\": \"10.1.2.100\", \"gateway\": \"10.1.2.1\"}],"
            "                [{\"subnet\": \"fd00:1::/64\"}]],"
            "   \"routes\": [{\"dst\": \"0.0.0.0/0\"}, {\"dst\": \"10.9.0.0/16\", \"gw\": "
            "\"10.1.2.254\"}],"
            "   \"dataDir\": \"/run/podnet-test/ipam\", \"resolvConf\": \"/etc/resolv.conf\"}}",
            "full configuration");

        if (!c)
                return;
        is_str(podnet_cni_conf_version(c), "1.0.0", "cniVersion");
        is_str(podnet_cni_conf_name(c), "kubenet", "name");
        is_str(podnet_cni_conf_type(c), "podnet-cni", "type");
        is_str(podnet_cni_conf_bridge(c), "br-pods", "bridge");
        ok(c->is_gateway && !c->is_default_gateway && c->force_address && c->ip_masq &&
               c->hairpin_mode && c->promisc_mode && c->enable_dad,
           "booleans");
        is_int(c->mtu, 1460, "mtu");
        is_str(podnet_cni_conf_ipam_type(c), "host-local", "ipam type");
        ok(c->ipam_in_process, "host-local runs in process");
        is_int(c->ipam.n_sets, 2, "two range sets");
        if (c->ipam.n_sets == 2) {
                const struct pn_ipam_range *r = &c->ipam.sets[0].ranges[0];

                is_str(fmt(r->subnet), "10.1.2.0/24", "set 0 subnet");
                is_str(fmt(r->range_start), "10.1.2.10/32", "set 0 rangeStart");
                is_str(fmt(r->range_end), "10.1.2.100/32", "set 0 rangeEnd");
                is_str(fmt(r->gateway), "10.1.2.1/32", "set 0 gateway");
                r = &c->ipam.sets[1].ranges[0];
                is_str(fmt(r->subnet), "fd00:1::/64", "set 1 subnet");
                ok(!r->range_start && !r->range_end && !r->gateway, "set 1 defaults left NULL");
        }
        is_int(c->ipam.n_routes, 2, "two ipam routes");
        if (c->ipam.n_routes == 2) {
                is_str(fmt(c->ipam.routes[0].dst), "0.0.0.0/0", "route 0 dst");
                ok(!c->ipam.routes[0].gw, "route 0 without gw");
                is_str(fmt(c->ipam.routes[1].gw), "10.1.2.254/32", "route 1 gw");
        }
        is_str(c->ipam.data_dir, "/run/podnet-test/ipam", "dataDir");
        is_str(c->ipam.resolv_conf, "/etc/resolv.conf", "resolvConf");
        ok(!podnet_cni_conf_prev_result(c), "no prevResult");
        ok(!c->has_valid_attachments, "no attachments");
        ok(podnet_cni_conf_json(c) && strstr(podnet_cni_conf_json(c), "someUnknownKey"),
           "raw JSON kept");
        podnet_cni_conf_free(c);
}

static void test_defaults(void)
{
        podnet_cni_conf *c = parses("{\"name\": \"n\", \"type\": \"podnet-cni\"}", "minimal");

        if (!c)
                return;
        is_str(podnet_cni_conf_version(c), "0.1.0", "missing cniVersion means 0.1.0");
        is_str(podnet_cni_conf_bridge(c), "cbr0", "bridge defaults to cbr0");
        ok(!c->is_gateway && !c->is_default_gateway && !c->force_address && !c->ip_masq &&
               !c->hairpin_mode && !c->promisc_mode && !c->enable_dad,
           "booleans default to false");
        is_int(c->mtu, 0, "mtu absent is 0");
        ok(!podnet_cni_conf_ipam_type(c) && !c->ipam_in_process, "no ipam");
        ok(!c->req_ips && !c->req_mac, "no requests");
        podnet_cni_conf_free(c);

        c = parses("{\"cniVersion\": \"0.3.1\", \"name\": \"n\", \"type\": \"t\","
                   " \"isDefaultGateway\": true, \"mtu\": null, \"bridge\": null}",
                   "isDefaultGateway");
        if (c) {
                ok(c->is_gateway && c->is_default_gateway, "isDefaultGateway implies isGateway");
                is_str(c->bridge, "cbr0", "null bridge is the default");
                podnet_cni_conf_free(c);
        }
        c = parses("{\"cniVersion\": \"1.1.0\", \"name\": \"n\", \"type\": \"t\","
                   " \"ipam\": {\"type\": \"dhcp\", \"whatever\": 1}}",
                   "delegated ipam");
        if (c) {
                is_str(c->ipam_type, "dhcp", "delegated ipam type");
                ok(!c->ipam_in_process && c->ipam.n_sets == 0, "not in process, no ranges");
                podnet_cni_conf_free(c);
        }
}

static void test_errors(void)
{
        fails("{\"name\": \"n\", \"type\": ", PODNET_CNI_ERR_DECODE, "line 1", "truncated JSON");
        fails("[1, 2]", PODNET_CNI_ERR_DECODE, "object", "array at top level");
        fails("{\"cniVersion\": \"0.5.0\", \"name\": \"n\", \"type\": \"t\"}",
              PODNET_CNI_ERR_INCOMPATIBLE_VERSION, "\"0.5.0\"", "unsupported version");
        fails("{\"cniVersion\": 1, \"name\": \"n\", \"type\": \"t\"}",
              PODNET_CNI_ERR_INVALID_CONFIG, "Key \"cniVersion\" must be a string, got number",
              "numeric cniVersion");
        fails("{\"type\": \"t\"}", PODNET_CNI_ERR_INVALID_CONFIG, "\"name\"", "missing name");
        fails("{\"name\": \"n\"}", PODNET_CNI_ERR_INVALID_CONFIG, "\"type\"", "missing type");
        fails("{\"name\": \"../etc\", \"type\": \"t\"}", PODNET_CNI_ERR_INVALID_CONFIG,
              "Invalid network name \"../etc\"", "network name escaping");
        fails("{\"name\": \"a b\", \"type\": \"t\"}", PODNET_CNI_ERR_INVALID_CONFIG,
              "Invalid network name", "network name with a space");
        fails("{\"name\": \"n\", \"type\": \"t\", \"mtu\": \"1500\"}",
              PODNET_CNI_ERR_INVALID_CONFIG, "Key \"mtu\" must be a number, got string",
              "mtu as string");
        fails("{\"name\": \"n\", \"type\": \"t\", \"mtu\": -1}", PODNET_CNI_ERR_INVALID_CONFIG,
              "Key \"mtu\" must be between 0 and 65535, got -1", "negative mtu");
        fails("{\"name\": \"n\", \"type\": \"t\", \"mtu\": 1500.5}", PODNET_CNI_ERR_INVALID_CONFIG,
              "Key \"mtu\" must be an integer", "fractional mtu");
        fails("{\"name\": \"n\", \"type\": \"t\", \"mtu\": 20}", PODNET_CNI_ERR_INVALID_CONFIG,
              "at least 68", "tiny mtu");
        fails("{\"name\": \"n\", \"type\": \"t\", \"isGateway\": \"yes\"}",
              PODNET_CNI_ERR_INVALID_CONFIG, "Key \"isGateway\" must be a boolean, got string",
              "isGateway as string");
        fails("{\"name\": \"n\", \"type\": \"t\", \"hairpinMode\": 1}",
              PODNET_CNI_ERR_INVALID_CONFIG, "Key \"hairpinMode\" must be a boolean, got number",
              "hairpinMode as number");
        fails("{\"name\": \"n\", \"type\": \"t\", \"bridge\": \"a-very-long-bridge-name\"}",
              PODNET_CNI_ERR_INVALID_CONFIG, "Invalid bridge \"a-very-long-bridge-name\"",
              "bridge name too long");
        fails("{\"name\": \"n\", \"type\": \"t\", \"bridge\": \"br/0\"}",
              PODNET_CNI_ERR_INVALID_CONFIG, "Invalid bridge \"br/0\"", "bridge name with a slash");
        fails("{\"name\": \"n\", \"type\": \"t\", \"bridge\": \"br%d\"}",
              PODNET_CNI_ERR_INVALID_CONFIG, "Invalid bridge \"br%d\": it holds '%'",
              "bridge name with a name template");
        fails("{\"name\": \"n\", \"type\": \"t\", \"ipam\": []}", PODNET_CNI_ERR_INVALID_CONFIG,
              "Key \"ipam\" must be an object, got array", "ipam as array");
        fails("{\"name\": \"n\", \"type\": \"t\", \"ipam\": {\"subnet\": \"10.0.0.0/24\"}}",
              PODNET_CNI_ERR_INVALID_CONFIG, "ipam.type", "ipam without type");
        fails("{\"name\": \"n\", \"type\": \"t\", \"runtimeConfig\": {\"ips\": \"10.0.0.2\"}}",
              PODNET_CNI_ERR_INVALID_CONFIG, "Key \"runtimeConfig.ips\" must be an array",
              "runtimeConfig.ips as string");
        fails("{\"name\": \"n\", \"type\": \"t\", \"runtimeConfig\": {\"mac\": \"zz\"}}",
              PODNET_CNI_ERR_INVALID_CONFIG, "runtimeConfig.mac", "bad runtimeConfig.mac");
        fails(
            "{\"name\": \"n\", \"type\": \"t\", \"args\": {\"cni\": {\"ips\": [\"10.0.0.300\"]}}}",
            PODNET_CNI_ERR_INVALID_CONFIG, "args.cni.ips[0]", "bad args.cni.ips");
        fails(
            "{\"name\": \"n\", \"type\": \"t\", \"cni.dev/valid-attachments\": [{\"ifname\": 3}]}",
            PODNET_CNI_ERR_INVALID_CONFIG, "cni.dev/valid-attachments[0].ifname", "bad attachment");
        fails("{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"t\","
              " \"prevResult\": {\"cniVersion\": \"1.0.0\", \"ips\": [{\"address\": 7}]}}",
              PODNET_CNI_ERR_INVALID_CONFIG, "prevResult.ips[0].address", "bad prevResult");
        fails("{\"name\": \"n\", \"type\": \"t\", \"firewallBackend\": \"nftables\"}",
              PODNET_CNI_ERR_INVALID_CONFIG,
              "Key \"firewallBackend\" must be \"auto\", \"iptables-legacy\" or "
              "\"iptables-nft\", got \"nftables\"",
              "unknown firewallBackend");
        fails("{\"name\": \"n\", \"type\": \"t\", \"firewallBackend\": true}",
              PODNET_CNI_ERR_INVALID_CONFIG, "Key \"firewallBackend\" must be a string",
              "firewallBackend as boolean");
}

static void test_fw_backend(void)
{
        static const char *const names[] = {"auto", "iptables-legacy", "iptables-nft"};
        podnet_cni_conf *c = parses("{\"name\": \"n\", \"type\": \"t\"}", "no firewallBackend");

        if (c) {
                ok(!c->fw_backend, "firewallBackend absent: NULL (auto)");
                podnet_cni_conf_free(c);
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char json[128];

                snprintf(json, sizeof(json),
                         "{\"name\": \"n\", \"type\": \"t\", \"firewallBackend\": \"%s\"}",
                         names[i]);
                c = parses(json, names[i]);
                if (c) {
                        is_str(c->fw_backend, names[i], "firewallBackend %s kept", names[i]);
                        podnet_cni_conf_free(c);
                }
        }
}

#define HL(ranges)                                                                                 \
        "{\"cniVersion\": \"0.4.0\", \"name\": \"n\", \"type\": \"t\", \"ipam\": "                 \
        "{\"type\": \"host-local\", " ranges "}}"

static void test_ranges(void)
{
        podnet_cni_conf *c;

        fails(HL("\"ranges\": [[{\"subnet\": \"10.1.2/24\"}]]"), PODNET_CNI_ERR_INVALID_CONFIG,
              "Invalid CIDR \"10.1.2/24\" in ipam.ranges[0][0].subnet", "bad subnet");
        fails(HL("\"ranges\": [[{\"subnet\": 10}]]"), PODNET_CNI_ERR_INVALID_CONFIG,
              "Key \"ipam.ranges[0][0].subnet\" must be a string, got number", "numeric subnet");
        fails(HL("\"ranges\": [[{\"rangeStart\": \"10.0.0.1\"}]]"), PODNET_CNI_ERR_INVALID_CONFIG,
              "ipam.ranges[0][0].subnet\" is required", "range without subnet");
        fails(HL("\"ranges\": [{\"subnet\": \"10.0.0.0/24\"}]"), PODNET_CNI_ERR_INVALID_CONFIG,
              "ipam.ranges[0]\" must be an array", "range set not a list");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\", \"rangeStart\": \"10.0.1.5\"}]]"),
              PODNET_CNI_ERR_INVALID_CONFIG,
              "ipam.ranges[0][0].rangeStart\": 10.0.1.5 is not inside",
              "rangeStart outside subnet");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\", \"gateway\": \"10.0.5.1\"}]]"),
              PODNET_CNI_ERR_INVALID_CONFIG, "ipam.ranges[0][0].gateway", "gateway outside subnet");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\", \"rangeEnd\": \"fd00::1\"}]]"),
              PODNET_CNI_ERR_INVALID_CONFIG, "ipam.ranges[0][0].rangeEnd",
              "rangeEnd of other family");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\", \"rangeStart\": \"10.0.0.50\","
                 " \"rangeEnd\": \"10.0.0.20\"}]]"),
              PODNET_CNI_ERR_INVALID_CONFIG, "is after", "rangeStart after rangeEnd");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\", \"rangeStart\": \"10.0.0.5/24\"}]]"),
              PODNET_CNI_ERR_INVALID_CONFIG, "Invalid address \"10.0.0.5/24\"",
              "rangeStart with prefix");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\"}, {\"subnet\": \"fd00::/64\"}]]"),
              PODNET_CNI_ERR_INVALID_CONFIG, "mixes address families", "mixed families in a set");
        fails(
            HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\"}], [{\"subnet\": \"10.0.0.128/25\"}]]"),
            PODNET_CNI_ERR_INVALID_CONFIG, "Ranges ipam.ranges[0][0] and ipam.ranges[1][0] overlap",
            "overlapping sets");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\"}, {\"subnet\": \"10.0.0.0/24\"}]]"),
              PODNET_CNI_ERR_INVALID_CONFIG, "overlap", "overlapping ranges in a set");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/31\"}]]"), PODNET_CNI_ERR_INVALID_CONFIG,
              "too small", "a /31 is too small");
        fails(HL("\"ranges\": []"), PODNET_CNI_ERR_INVALID_CONFIG, "No IP ranges", "no ranges");
        fails(HL("\"ranges\": [[]]"), PODNET_CNI_ERR_INVALID_CONFIG, "empty range set",
              "empty range set");
        fails(HL("\"rangeStart\": \"10.0.0.5\", \"ranges\": [[{\"subnet\": \"10.0.0.0/24\"}]]"),
              PODNET_CNI_ERR_INVALID_CONFIG, "ipam.rangeStart\" needs ipam.subnet",
              "deprecated rangeStart alone");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\"}]], \"dataDir\": \"relative/dir\""),
              PODNET_CNI_ERR_INVALID_CONFIG, "ipam.dataDir", "relative dataDir");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\"}]], \"routes\": [{\"gw\": "
                 "\"10.0.0.1\"}]"),
              PODNET_CNI_ERR_INVALID_CONFIG, "ipam.routes[0].dst", "route without dst");
        fails(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\"}]], \"routes\": [{\"dst\": "
                 "\"0.0.0.0/0\","
                 " \"gw\": \"fd00::1\"}]"),
              PODNET_CNI_ERR_INVALID_CONFIG, "ipam.routes[0].gw", "route gw of other family");

        /* Two ranges of one subnet that do not overlap are fine. */
        c = parses(HL("\"ranges\": [[{\"subnet\": \"10.0.0.0/24\", \"rangeEnd\": \"10.0.0.99\"},"
                      " {\"subnet\": \"10.0.0.0/24\", \"rangeStart\": \"10.0.0.100\"}]]"),
                   "split ranges of one subnet");
        if (c) {
                is_int(c->ipam.sets[0].n_ranges, 2, "one set of two ranges");
                podnet_cni_conf_free(c);
        }
        c = parses(HL("\"ranges\": [[{\"subnet\": \"10.1.2.77/24\"}]]"), "subnet with host bits");
        if (c) {
                is_str(fmt(c->ipam.sets[0].ranges[0].subnet), "10.1.2.0/24", "host bits cleared");
                podnet_cni_conf_free(c);
        }
        /* The deprecated form comes first, then ranges. */
        c = parses(HL("\"subnet\": \"10.5.0.0/16\", \"rangeStart\": \"10.5.1.0\", \"gateway\": "
                      "\"10.5.0.1\", \"ranges\": [[{\"subnet\": \"fd00:5::/64\"}]]"),
                   "deprecated form with ranges");
        if (c) {
                is_int(c->ipam.n_sets, 2, "deprecated range is a set of its own");
                is_str(fmt(c->ipam.sets[0].ranges[0].subnet), "10.5.0.0/16", "deprecated subnet");
                is_str(fmt(c->ipam.sets[0].ranges[0].range_start), "10.5.1.0/32",
                       "deprecated rangeStart");
                is_str(fmt(c->ipam.sets[0].ranges[0].gateway), "10.5.0.1/32", "deprecated gateway");
                is_str(fmt(c->ipam.sets[1].ranges[0].subnet), "fd00:5::/64", "then ranges");
                podnet_cni_conf_free(c);
        }
        fails(HL("\"subnet\": \"10.5.0.0/16\", \"ranges\": [[{\"subnet\": \"10.5.3.0/24\"}]]"),
              PODNET_CNI_ERR_INVALID_CONFIG, "Ranges ipam and ipam.ranges[0][0] overlap",
              "deprecated range overlapping ranges");
}

static void test_requests(void)
{
        podnet_cni_conf *c = parses(
            "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"t\","
            " \"runtimeConfig\": {\"ips\": [\"10.1.2.9/24\"], \"mac\": \"0a:58:0a:01:02:09\"},"
            " \"args\": {\"cni\": {\"ips\": [\"fd00::9\"], \"mac\": \"0a:58:00:00:00:01\"}}}",
            "runtimeConfig and args");

        if (!c)
                return;
        is_int(c->n_req_ips, 2, "two requested addresses");
        if (c->n_req_ips == 2) {
                is_str(fmt(c->req_ips[0]), "fd00::9/128", "args.cni.ips first");
                is_str(fmt(c->req_ips[1]), "10.1.2.9/24", "then runtimeConfig.ips");
        }
        is_str(c->req_mac, "0a:58:0a:01:02:09", "runtimeConfig.mac wins over args.cni.mac");
        podnet_cni_conf_free(c);

        c = parses("{\"name\": \"n\", \"type\": \"t\", \"args\": {\"cni\": {\"mac\": "
                   "\"0a:58:00:00:00:01\"}, \"other\": 1}}",
                   "args.cni.mac alone");
        if (c) {
                is_str(c->req_mac, "0a:58:00:00:00:01", "args.cni.mac");
                podnet_cni_conf_free(c);
        }
}

static void test_attachments(void)
{
        const char *keys[] = {"cni.dev/valid-attachments", "cni.dev/attachments"};

        for (size_t k = 0; k < 2; k++) {
                char json[512];
                podnet_cni_conf *c;

                snprintf(json, sizeof(json),
                         "{\"cniVersion\": \"1.1.0\", \"name\": \"n\", \"type\": \"t\", \"%s\": "
                         "[{\"containerID\": \"c1\", \"ifname\": \"eth0\"},"
                         " {\"containerID\": \"c2\", \"ifname\": \"net1\"}]}",
                         keys[k]);
                c = parses(json, keys[k]);
                if (!c)
                        continue;
                ok(c->has_valid_attachments, "%s: present", keys[k]);
                is_int(c->n_valid_attachments, 2, "%s: two attachments", keys[k]);
                if (c->n_valid_attachments == 2) {
                        is_str(c->valid_attachments[1].container_id, "c2", "%s: id", keys[k]);
                        is_str(c->valid_attachments[1].ifname, "net1", "%s: ifname", keys[k]);
                }
                podnet_cni_conf_free(c);
        }
        podnet_cni_conf *c = parses("{\"cniVersion\": \"1.1.0\", \"name\": \"n\", \"type\": \"t\","
                                    " \"cni.dev/valid-attachments\": []}",
                                    "empty attachment list");
        if (c) {
                ok(c->has_valid_attachments && c->n_valid_attachments == 0,
                   "an empty list is present but empty");
                podnet_cni_conf_free(c);
        }
}

static void test_prev_result(void)
{
        static const struct {
                const char *version, *prev;
                size_t n_ifaces, n_ips, n_routes;
                const char *addr0, *gw0;
        } cases[] = {
            {"0.4.0",
             "{\"cniVersion\": \"0.4.0\", \"interfaces\": [{\"name\": \"cbr0\", \"mac\": "
             "\"aa:bb:cc:dd:ee:ff\"}, {\"name\": \"eth0\", \"sandbox\": \"/run/netns/p1\"}],"
             " \"ips\": [{\"version\": \"4\", \"interface\": 1, \"address\": \"10.1.2.5/24\","
             " \"gateway\": \"10.1.2.1\"}], \"routes\": [{\"dst\": \"0.0.0.0/0\"}], \"dns\": {}}",
             2, 1, 1, "10.1.2.5/24", "10.1.2.1/32"},
            {"1.0.0",
             "{\"cniVersion\": \"1.0.0\", \"interfaces\": [{\"name\": \"eth0\", \"mtu\": 1450,"
             " \"sandbox\": \"/run/netns/p1\"}], \"ips\": [{\"interface\": 0, \"address\":"
             " \"fd00::5/64\", \"gateway\": \"fd00::1\"}, {\"address\": \"10.1.2.5/24\"}],"
             " \"routes\": [{\"dst\": \"::/0\", \"gw\": \"fd00::1\"}],"
             " \"dns\": {\"nameservers\": [\"10.0.0.10\"]}}",
             1, 2, 1, "fd00::5/64", "fd00::1/128"},
            {"0.2.0",
             "{\"ip4\": {\"ip\": \"10.1.2.5/24\", \"gateway\": \"10.1.2.1\", \"routes\":"
             " [{\"dst\": \"0.0.0.0/0\"}, {\"dst\": \"10.2.0.0/16\", \"gw\": \"10.1.2.1\"}]},"
             " \"ip6\": {\"ip\": \"fd00::5/64\"}, \"dns\": {}}",
             0, 2, 2, "10.1.2.5/24", "10.1.2.1/32"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char json[1024];
                podnet_cni_conf *c;
                const podnet_cni_result *p;

                snprintf(json, sizeof(json),
                         "{\"cniVersion\": \"%s\", \"name\": \"n\", \"type\": \"t\", "
                         "\"prevResult\": %s}",
                         cases[i].version, cases[i].prev);
                c = parses(json, cases[i].version);
                if (!c)
                        continue;
                p = podnet_cni_conf_prev_result(c);
                ok(p != NULL, "%s: prevResult present", cases[i].version);
                is_int(podnet_cni_result_n_interfaces(p), cases[i].n_ifaces, "%s: interfaces",
                       cases[i].version);
                is_int(podnet_cni_result_n_ips(p), cases[i].n_ips, "%s: ips", cases[i].version);
                is_int(podnet_cni_result_n_routes(p), cases[i].n_routes, "%s: routes",
                       cases[i].version);
                is_str(fmt(podnet_cni_result_ip_addr(p, 0)), cases[i].addr0, "%s: first address",
                       cases[i].version);
                is_str(fmt(podnet_cni_result_ip_gateway(p, 0)), cases[i].gw0, "%s: first gateway",
                       cases[i].version);
                podnet_cni_conf_free(c);
        }
        podnet_cni_conf *c =
            parses("{\"cniVersion\": \"0.4.0\", \"name\": \"n\", \"type\": \"t\","
                   " \"prevResult\": {\"ips\": [{\"version\": \"4\", \"interface\":"
                   " 0, \"address\": \"10.0.0.2/24\"}], \"interfaces\":"
                   " [{\"name\": \"eth0\"}]}}",
                   "0.4.0 prevResult without cniVersion");
        if (c) {
                is_int(podnet_cni_result_ip_interface(podnet_cni_conf_prev_result(c), 0), 0,
                       "interface index kept");
                podnet_cni_conf_free(c);
        }
        fails("{\"cniVersion\": \"0.4.0\", \"name\": \"n\", \"type\": \"t\", \"prevResult\":"
              " {\"ips\": [{\"version\": \"6\", \"address\": \"10.0.0.2/24\"}]}}",
              PODNET_CNI_ERR_INVALID_CONFIG, "prevResult.ips[0].version", "version mismatch");
        fails("{\"cniVersion\": \"0.4.0\", \"name\": \"n\", \"type\": \"t\", \"prevResult\":"
              " {\"ips\": [{\"interface\": 2, \"address\": \"10.0.0.2/24\"}]}}",
              PODNET_CNI_ERR_INVALID_CONFIG, "prevResult.ips[0].interface", "dangling interface");
}

int main(void)
{
        test_versions();
        test_full();
        test_defaults();
        test_errors();
        test_fw_backend();
        test_ranges();
        test_requests();
        test_attachments();
        test_prev_result();
        return done_testing();
}

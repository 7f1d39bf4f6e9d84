/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CNI_* environment: required variables per command, id and ifname rules,
 * CNI_ARGS parsing with IP=, MAC= and IgnoreUnknown=. */
#include "cni/cni.h"
#include "tap.h"

static podnet_cni_env env(const char *cmd, const char *id, const char *netns, const char *ifname,
                          const char *args)
{
        return (podnet_cni_env){.size = sizeof(podnet_cni_env),
                                .command = cmd,
                                .container_id = id,
                                .netns = netns,
                                .ifname = ifname,
                                .args = args,
                                .path = "/opt/cni/bin"};
}

static void fails(podnet_cni_env e, int code, const char *needle, const char *what)
{
        podnet_cni_args *a = NULL;
        podnet_error *err = NULL;

        ok(podnet_cni_args_new(&a, &e, &err) < 0 && !a, "%s: fails", what);
        is_int(err ? podnet_error_cni_code(err) : -1, code, "%s: code %d", what, code);
        if (!ok(err && strstr(podnet_error_message(err), needle), "%s: message names %s", what,
                needle))
                diag("message: %s", err ? podnet_error_message(err) : "(none)");
        podnet_error_free(err);
        podnet_cni_args_free(a);
}

static podnet_cni_args *parses(podnet_cni_env e, const char *what)
{
        podnet_cni_args *a = NULL;
        podnet_error *err = NULL;

        if (!ok(podnet_cni_args_new(&a, &e, &err) == 0 && a, "%s: accepted", what))
                diag("error: %s", err ? podnet_error_message(err) : "(none)");
        podnet_error_free(err);
        return a;
}

static void test_required(void)
{
        podnet_cni_args *a;

        fails(env(NULL, "c1", "/run/netns/p1", "eth0", NULL), PODNET_CNI_ERR_INVALID_ENV,
              "CNI_COMMAND", "no command");
        fails(env("FROB", "c1", "/run/netns/p1", "eth0", NULL), PODNET_CNI_ERR_INVALID_ENV,
              "\"FROB\"", "unknown command");
        fails(env("add", "c1", "/run/netns/p1", "eth0", NULL), PODNET_CNI_ERR_INVALID_ENV,
              "\"add\"", "commands are upper case");
        fails(env("ADD", NULL, "/run/netns/p1", "eth0", NULL), PODNET_CNI_ERR_INVALID_ENV,
              "CNI_CONTAINERID", "ADD without container id");
        fails(env("ADD", "c1", "", "eth0", NULL), PODNET_CNI_ERR_INVALID_ENV, "CNI_NETNS",
              "ADD with empty netns");
        fails(env("CHECK", "c1", "/run/netns/p1", NULL, NULL), PODNET_CNI_ERR_INVALID_ENV,
              "CNI_IFNAME", "CHECK without ifname");
        fails(env("ADD", NULL, NULL, NULL, NULL), PODNET_CNI_ERR_INVALID_ENV,
              "variables CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME", "ADD without anything");
        fails(env("DEL", "c1", NULL, NULL, NULL), PODNET_CNI_ERR_INVALID_ENV, "CNI_IFNAME",
              "DEL without ifname");

        a = parses(env("DEL", "c1", NULL, "eth0", NULL), "DEL without netns");
        if (a) {
                ok(isempty(a->netns), "netns absent");
                is_str(a->command, "DEL", "command");
                is_str(a->container_id, "c1", "container id");
                is_str(a->ifname, "eth0", "ifname");
                is_str(a->path, "/opt/cni/bin", "CNI_PATH");
                podnet_cni_args_free(a);
        }
        const char *only_cmd[] = {"GC", "STATUS", "VERSION"};
        for (size_t i = 0; i < ELEMENTSOF(only_cmd); i++) {
                a = parses(env(only_cmd[i], NULL, NULL, NULL, NULL), only_cmd[i]);
                podnet_cni_args_free(a);
        }
        a = parses(env("ADD", "c1", "/run/netns/p1", "eth0", NULL), "ADD with everything");
        if (a) {
                is_str(a->netns, "/run/netns/p1", "netns");
                is_int(a->n_args, 0, "no CNI_ARGS");
                ok(!podnet_cni_args_get(a, "IP"), "get on empty CNI_ARGS");
                podnet_cni_args_free(a);
        }
        podnet_cni_env small = env("ADD", "c1", "/n", "eth0", NULL);
        small.size = 8;
        fails(small, PODNET_CNI_ERR_INTERNAL, "invalid argument", "short env struct");
}

static void test_names(void)
{
        static const char *const bad_ids[] = {"-c1", "c/1", "..", "c 1", "c1:", "ä"};
        static const char *const good_ids[] = {"c1", "0123abcdef", "a.b_c-d", "K8S"};
        static const struct {
                const char *name, *why;
        } bad_ifnames[] = {
            {"0123456789abcdef", "longer than 15"},
            {".", ". or .."},
            {"..", ". or .."},
            {"eth/0", "'/'"},
            {"eth:0", "':'"},
            {"eth 0", "white space"},
            {"eth\t0", "white space"},
            {"eth%d", "name template"},
            {"e%", "name template"},
        };
        char buf[64];

        for (size_t i = 0; i < ELEMENTSOF(bad_ids); i++) {
                snprintf(buf, sizeof(buf), "Invalid container ID \"%s\"", bad_ids[i]);
                fails(env("ADD", bad_ids[i], "/n", "eth0", NULL), PODNET_CNI_ERR_INVALID_ENV, buf,
                      bad_ids[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(good_ids); i++)
                podnet_cni_args_free(
                    parses(env("DEL", good_ids[i], NULL, "eth0", NULL), good_ids[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad_ifnames); i++) {
                fails(env("ADD", "c1", "/n", bad_ifnames[i].name, NULL), PODNET_CNI_ERR_INVALID_ENV,
                      bad_ifnames[i].why, bad_ifnames[i].name);
        }
        podnet_cni_args_free(
            parses(env("ADD", "c1", "/n", "0123456789abcde", NULL), "15-byte ifname"));
        is_int(pn_cni_validate_network_name("kubenet", NULL), 0, "network name ok");
        ok(pn_cni_validate_network_name("a/b", NULL) < 0, "network name with '/'");
        ok(pn_cni_validate_ifname("", NULL) < 0, "empty ifname");
        ok(pn_cni_validate_container_id("", NULL) < 0, "empty container id");
        ok(pn_cni_mac_valid("0a:58:0A:01:02:03") && pn_cni_mac_valid("0a-58-0a-01-02-03"),
           "valid MACs");
        ok(!pn_cni_mac_valid("0a:58:0a:01:02") && !pn_cni_mac_valid("0a:58-0a:01:02:03") &&
               !pn_cni_mac_valid("0g:58:0a:01:02:03"),
           "invalid MACs");
}

static void test_cni_args(void)
{
        podnet_cni_args *a;
        char buf[PODNET_CIDR_STRLEN];

        a = parses(env("ADD", "c1", "/n", "eth0",
                       "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;"
                       "K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=1234;IP=10.1.2.9,fd00::9/64;"
                       "MAC=0a:58:0a:01:02:09"),
                   "kubelet's CNI_ARGS");
        if (a) {
                is_int(a->n_args, 7, "seven pairs");
                ok(a->ignore_unknown, "IgnoreUnknown=1");
                is_str(podnet_cni_args_get(a, "K8S_POD_NAME"), "web-0", "K8S_POD_NAME");
                is_str(a->args,
                       "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;"
                       "K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=1234;"
                       "IP=10.1.2.9,fd00::9/64;MAC=0a:58:0a:01:02:09",
                       "raw CNI_ARGS kept");
                is_int(a->n_req_ips, 2, "two requested addresses");
                if (a->n_req_ips == 2) {
                        podnet_cidr_format(a->req_ips[0], buf, sizeof(buf));
                        is_str(buf, "10.1.2.9/32", "first IP");
                        podnet_cidr_format(a->req_ips[1], buf, sizeof(buf));
                        is_str(buf, "fd00::9/64", "second IP");
                }
                is_str(a->req_mac, "0a:58:0a:01:02:09", "MAC");
                ok(!podnet_cni_args_get(a, "NOPE"), "absent key");
                podnet_cni_args_free(a);
        }
        fails(env("ADD", "c1", "/n", "eth0", "FOO=bar"), PODNET_CNI_ERR_UNSUPPORTED_FIELD,
              "Unsupported field \"FOO\" (value \"bar\")", "unknown key");
        a = parses(env("ADD", "c1", "/n", "eth0", "FOO=bar;IgnoreUnknown=true"),
                   "unknown key with IgnoreUnknown=true after it");
        if (a) {
                is_str(podnet_cni_args_get(a, "FOO"), "bar", "unknown key still readable");
                podnet_cni_args_free(a);
        }
        fails(env("ADD", "c1", "/n", "eth0", "FOO=bar;IgnoreUnknown=false"),
              PODNET_CNI_ERR_UNSUPPORTED_FIELD, "FOO", "IgnoreUnknown=false");
        fails(env("ADD", "c1", "/n", "eth0", "IgnoreUnknown=maybe"), PODNET_CNI_ERR_INVALID_ENV,
              "\"maybe\"", "bad IgnoreUnknown");
        fails(env("ADD", "c1", "/n", "eth0", "K8S_POD_NAME"), PODNET_CNI_ERR_INVALID_ENV,
              "Invalid pair \"K8S_POD_NAME\"", "pair without '='");
        fails(env("ADD", "c1", "/n", "eth0", "=x"), PODNET_CNI_ERR_INVALID_ENV, "Invalid pair",
              "pair without key");
        fails(env("ADD", "c1", "/n", "eth0", "IP=1=2"), PODNET_CNI_ERR_INVALID_ENV, "Invalid pair",
              "pair with two '='");
        fails(env("ADD", "c1", "/n", "eth0", "IP=10.1.2.300"), PODNET_CNI_ERR_INVALID_ENV,
              "10.1.2.300", "bad IP");
        fails(env("ADD", "c1", "/n", "eth0", "MAC=zz:zz"), PODNET_CNI_ERR_INVALID_ENV, "\"zz:zz\"",
              "bad MAC");
        a = parses(env("ADD", "c1", "/n", "eth0", "IP=10.0.0.1;IP=10.0.0.2"), "repeated key");
        if (a) {
                is_str(podnet_cni_args_get(a, "IP"), "10.0.0.2", "last occurrence wins");
                podnet_cni_args_free(a);
        }
        a = parses(env("ADD", "c1", "/n", "eth0", "K8S_POD_NAME=x;;"), "empty segments");
        if (a) {
                is_int(a->n_args, 1, "empty segments skipped");
                podnet_cni_args_free(a);
        }
}

int main(void)
{
        test_required();
        test_names();
        test_cni_args();
        return done_testing();
}

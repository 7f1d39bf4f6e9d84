/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Kubernetes client's pieces without a server: base64, kubeconfig variants (files,
 * inline data, token file, contexts, errors), in-cluster settings, and the watch event and
 * paginated list readers fed in chunks of every size. */
#include "agent/nodes.h"
#include "core/internal.h"
#include "kube/kube.h"
#include "tap.h"
#include <sys/stat.h>

static char dir[] = "/tmp/test-kube-XXXXXX";

static void write_file(const char *name, const char *text)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        fputs(text, f);
        fclose(f);
}

static void test_base64(void)
{
        char *out = NULL;
        size_t len = 0;

        ok(pn_base64_decode("aGVsbG8=", 8, &out, &len) == 0 && len == 5 && streq(out, "hello"),
           "base64 with padding");
        free(out);
        ok(pn_base64_decode("aGVs\nbG8", 8, &out, &len) == 0 && len == 5 && streq(out, "hello"),
           "base64 without padding, with a newline");
        free(out);
        ok(pn_base64_decode("aGV*", 4, &out, &len) == -EINVAL, "base64: a bad character");
        out = pn_kube_escape("eyJ+/=a-b_c.d~");
        is_str(out, "eyJ%2B%2F%3Da-b_c.d~", "a continue token escaped for the query");
        free(out);
}

static void test_kubeconfig(void)
{
        struct pn_kube_config *c = NULL;
        podnet_error *err = NULL;
        char path[512];

        write_file("kc1", "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
                          "clusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443\n"
                          "    certificate-authority: ca.crt\n"
                          "- name: c2\n  cluster:\n    server: https://k.example:443/\n"
                          "    certificate-authority-data: aGVsbG8=\n"
                          "contexts:\n- name: a\n  context: {cluster: c1, user: u1}\n"
                          "- name: b\n  context:\n    cluster: c2\n    user: u2\n"
                          "users:\n- name: u1\n  user:\n    tokenFile: /var/tok\n"
                          "    client-certificate: c.pem\n    client-key: /k.pem\n"
                          "- name: u2\n  user:\n    token: abc\n"
                          "    client-certificate-data: Y2VydA==\n    client-key-data: a2V5\n");
        snprintf(path, sizeof(path), "%s/kc1", dir);
        ok(pn_kube_config_load(path, NULL, &c, &err) == 0, "kubeconfig: current context");
        if (c) {
                is_str(c->server, "https://k.example:443/", "  its cluster's server");
                ok(c->ca_data && c->ca_len == 5 && streq(c->ca_data, "hello"),
                   "  certificate-authority-data decoded");
                is_str(c->token, "abc", "  inline token");
                ok(c->cert_data && streq(c->cert_data, "cert") && c->key_data &&
                       streq(c->key_data, "key"),
                   "  client certificate and key data");
        }
        c = pn_kube_config_free(c);
        ok(pn_kube_config_load(path, "a", &c, &err) == 0, "kubeconfig: a named context");
        if (c) {
                char want[600];
                is_str(c->server, "https://10.0.0.1:6443", "  its server");
                snprintf(want, sizeof(want), "%s/ca.crt", dir);
                is_str(c->ca_file, want, "  a relative CA path is relative to the file");
                is_str(c->token_file, "/var/tok", "  tokenFile");
                is_str(c->key_file, "/k.pem", "  an absolute key path");
        }
        c = pn_kube_config_free(c);
        ok(pn_kube_config_load(path, "zzz", &c, &err) == -EINVAL && err &&
               strstr(podnet_error_message(err), "no context named zzz"),
           "kubeconfig: an unknown context is named");
        err = podnet_error_free(err);
        write_file("kc2", "a: [b\n");
        snprintf(path, sizeof(path), "%s/kc2", dir);
        ok(pn_kube_config_load(path, NULL, &c, &err) == -EINVAL && err &&
               strstr(podnet_error_message(err), "line"),
           "kubeconfig: invalid YAML, with where");
        err = podnet_error_free(err);
        ok(pn_kube_config_load("/nonexistent/kc", NULL, &c, &err) == -ENOENT,
           "kubeconfig: a missing file");
        err = podnet_error_free(err);

        write_file("token", "t0k\n");
        ok(pn_kube_config_in_cluster(dir, "fd00::1", "443", &c, &err) == 0, "in-cluster");
        if (c) {
                is_str(c->server, "https://[fd00::1]:443", "  an IPv6 host in brackets");
                ok(strstr(c->ca_file, "/ca.crt") && strstr(c->token_file, "/token"),
                   "  CA and token from the directory");
        }
        c = pn_kube_config_free(c);
        ok(pn_kube_config_in_cluster(dir, NULL, "443", &c, &err) == -EINVAL && err,
           "in-cluster without KUBERNETES_SERVICE_HOST: refused");
        err = podnet_error_free(err);
}

static void write_script(const char *name, const char *text)
{
        char path[512];

        write_file(name, text);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        chmod(path, 0755);
}

/* The file dir/name's text, the caller's, or NULL. */
static char *slurp(const char *name)
{
        char path[512], *buf = calloc(1, 4096);
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "r");
        if (!f || !buf) {
                free(buf);
                if (f)
                        fclose(f);
                return NULL;
        }
        (void)!fread(buf, 1, 4095, f);
        fclose(f);
        return buf;
}

/* A kubeconfig whose user runs `exec` (YAML lines under exec:, indented 6). */
static void write_exec_kc(const char *name, const char *exec_lines)
{
        char text[2048];

        snprintf(text, sizeof(text),
                 "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
                 "clusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\n"
                 "    certificate-authority-data: aGVsbG8=\n"
                 "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                 "users:\n- name: u\n  user:\n    exec:\n%s",
                 exec_lines);
        write_file(name, text);
}

static int exec_kc(const char *name, struct pn_kube_config **c, struct pn_kube_cred *cred,
                   podnet_error **err)
{
        char path[512];
        int r;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        *cred = (struct pn_kube_cred){0};
        r = pn_kube_config_load(path, NULL, c, err);
        if (r < 0)
                return r;
        if (!(*c)->exec)
                return -ENOEXEC;
        return pn_kube_exec_run((*c)->exec, *c, cred, err);
}

static void test_exec(void)
{
        struct pn_kube_config *c = NULL;
        struct pn_kube_cred cred;
        podnet_error *err = NULL;
        char want[600], *text = NULL;
        int r;

        /* the plugin records its arguments, its env entry and KUBERNETES_EXEC_INFO */
        write_script("plugin-ok", "#!/bin/sh\n"
                                  "d=$(dirname \"$0\")\n"
                                  "echo \"$1 $2 $MY_VAR\" > \"$d/plugin-args\"\n"
                                  "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$d/plugin-info\"\n"
                                  "read -r line && echo stdin-not-empty > \"$d/plugin-stdin\"\n"
                                  "cat <<E\n"
                                  "{\"kind\":\"ExecCredential\",\"apiVersion\":"
                                  "\"client.authentication.k8s.io/v1\",\"status\":{\"token\":"
                                  "\"tok-1\",\"expirationTimestamp\":\"2030-01-02T03:04:05Z\"}}\n"
                                  "E\n");
        write_exec_kc("kc-exec", "      apiVersion: client.authentication.k8s.io/v1\n"
                                 "      command: ./plugin-ok\n"
                                 "      args: [--flag, value]\n"
                                 "      env:\n      - name: MY_VAR\n        value: hello\n"
                                 "      interactiveMode: Never\n"
                                 "      provideClusterInfo: true\n");
        r = exec_kc("kc-exec", &c, &cred, &err);
        ok(r == 0, "exec plugin: run (%s)", err ? podnet_error_message(err) : "ok");
        err = podnet_error_free(err);
        if (c && c->exec) {
                snprintf(want, sizeof(want), "%s/./plugin-ok", dir);
                is_str(c->exec->command, want,
                       "  a relative command is relative to the kubeconfig");
                ok(c->exec->interactive == PN_KUBE_EXEC_NEVER && c->exec->cluster_info,
                   "  interactiveMode Never, provideClusterInfo");
        }
        is_str(cred.token, "tok-1", "  status.token");
        ok(cred.expires == 1893553445.0, "  status.expirationTimestamp as unix time (%.0f)",
           cred.expires);
        text = slurp("plugin-args");
        is_str(text, "--flag value hello\n", "  args and the kubeconfig's env entry passed");
        text = (free(text), NULL);
        text = slurp("plugin-info");
        ok(text && strstr(text, "\"apiVersion\":\"client.authentication.k8s.io/v1\"") &&
               strstr(text, "\"interactive\":false") &&
               strstr(text, "\"server\":\"https://10.0.0.1:6443\"") &&
               strstr(text, "\"certificate-authority-data\":\"aGVsbG8=\""),
           "  KUBERNETES_EXEC_INFO: apiVersion, not interactive, the cluster (%s)",
           text ? text : "none");
        text = (free(text), NULL);
        text = slurp("plugin-stdin");
        ok(!text, "  standard input is empty (/dev/null)");
        free(text);
        pn_kube_cred_done(&cred);
        c = pn_kube_config_free(c);

        /* a client certificate and key, v1beta1 */
        write_script("plugin-cert",
                     "#!/bin/sh\necho '{\"kind\":\"ExecCredential\",\"apiVersion\":"
                     "\"client.authentication.k8s.io/v1beta1\",\"status\":{"
                     "\"clientCertificateData\":\"CERT\",\"clientKeyData\":\"KEY\"}}'\n");
        write_exec_kc("kc-cert", "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                                 "      command: ./plugin-cert\n");
        r = exec_kc("kc-cert", &c, &cred, &err);
        ok(r == 0 && cred.cert && streq(cred.cert, "CERT") && cred.key && streq(cred.key, "KEY") &&
               !cred.token && cred.expires == 0,
           "exec plugin v1beta1: client certificate and key, no expiry");
        err = podnet_error_free(err);
        pn_kube_cred_done(&cred);
        c = pn_kube_config_free(c);

        /* failures name the plugin */
        write_script("plugin-fail", "#!/bin/sh\necho 'no credentials here' >&2\nexit 3\n");
        write_exec_kc("kc-fail", "      apiVersion: client.authentication.k8s.io/v1\n"
                                 "      command: ./plugin-fail\n");
        r = exec_kc("kc-fail", &c, &cred, &err);
        ok(r < 0 && err && strstr(podnet_error_message(err), "plugin-fail") &&
               strstr(podnet_error_message(err), "status 3") &&
               strstr(podnet_error_message(err), "no credentials here"),
           "exec plugin failing: named, with its status and stderr (%s)",
           err ? podnet_error_message(err) : "no error");
        err = podnet_error_free(err);
        c = pn_kube_config_free(c);
        write_script("plugin-bad", "#!/bin/sh\necho '{\"kind\":\"ExecCredential\",\"apiVersion\":"
                                   "\"client.authentication.k8s.io/v1beta1\",\"status\":{}}'\n");
        write_exec_kc("kc-bad", "      apiVersion: client.authentication.k8s.io/v1\n"
                                "      command: ./plugin-bad\n");
        r = exec_kc("kc-bad", &c, &cred, &err);
        ok(r == -EBADMSG && err && strstr(podnet_error_message(err), "plugin-bad") &&
               strstr(podnet_error_message(err), "v1beta1"),
           "exec plugin answering another apiVersion: refused (%s)",
           err ? podnet_error_message(err) : "no error");
        err = podnet_error_free(err);
        c = pn_kube_config_free(c);
        write_exec_kc("kc-missing", "      apiVersion: client.authentication.k8s.io/v1\n"
                                    "      command: podnet-no-such-plugin\n"
                                    "      installHint: install it from example.com\n");
        r = exec_kc("kc-missing", &c, &cred, &err);
        ok(r == -ENOENT && err && strstr(podnet_error_message(err), "podnet-no-such-plugin") &&
               strstr(podnet_error_message(err), "example.com"),
           "exec plugin not found: named, with the install hint (%s)",
           err ? podnet_error_message(err) : "no error");
        err = podnet_error_free(err);
        c = pn_kube_config_free(c);
        write_exec_kc("kc-always", "      apiVersion: client.authentication.k8s.io/v1\n"
                                   "      command: ./plugin-ok\n"
                                   "      interactiveMode: Always\n");
        r = exec_kc("kc-always", &c, &cred, &err);
        ok(r == -ENOTSUP && err && strstr(podnet_error_message(err), "Always"),
           "exec plugin with interactiveMode Always: refused");
        err = podnet_error_free(err);
        c = pn_kube_config_free(c);
        write_exec_kc("kc-v", "      apiVersion: client.authentication.k8s.io/v1alpha1\n"
                              "      command: ./plugin-ok\n");
        r = exec_kc("kc-v", &c, &cred, &err);
        ok(r == -EINVAL && err && strstr(podnet_error_message(err), "v1alpha1"),
           "exec plugin of an unknown apiVersion: refused at load");
        err = podnet_error_free(err);
        c = pn_kube_config_free(c);
}

/* The public client: configurations it takes and refuses (requests: kube-watch.sh). */
static void test_public(void)
{
        podnet_ctx *ctx = NULL;
        podnet_kube *k = NULL;
        podnet_error *err = NULL;
        char path[512];
        podnet_kube_config kc = {.size = sizeof(kc)};
        podnet_kube_request_config rq = {.size = sizeof(rq), .path = "nodes"};
        struct pollfd p[4];
        int r;

        podnet_ctx_new(&ctx);
        snprintf(path, sizeof(path), "%s/kc1", dir);
        kc.kubeconfig = path;
        r = podnet_kube_new(ctx, &kc, &k, &err);
        ok(r == 0 && k, "podnet_kube_new: a kubeconfig (%s)",
           err ? podnet_error_message(err) : "ok");
        err = podnet_error_free(err);
        is_str(k ? podnet_kube_server(k) : NULL, "https://k.example:443/", "  podnet_kube_server");
        kc.context = "a";
        k = podnet_kube_free(k);
        ok(podnet_kube_new(ctx, &kc, &k, NULL) == 0 &&
               streq(podnet_kube_server(k), "https://10.0.0.1:6443"),
           "  a named context");
        ok(podnet_kube_pollfds(k, p, 4) == 0 && podnet_kube_timeout(k) == -1,
           "  nothing to poll before a call");
        ok(podnet_kube_request(k, &rq, NULL, NULL, NULL) == -EINVAL,
           "  a path without its leading slash: -EINVAL");
        rq.size = 4;
        rq.path = "/api";
        ok(podnet_kube_request(k, &rq, NULL, NULL, NULL) == -EINVAL,
           "  a request config too small: -EINVAL");
        k = podnet_kube_free(k);
        kc = (podnet_kube_config){.size = sizeof(kc),
                                  .service_account_dir = dir,
                                  .service_host = "10.96.0.1",
                                  .service_port = "443"};
        ok(podnet_kube_new(ctx, &kc, &k, NULL) == 0 &&
               streq(podnet_kube_server(k), "https://10.96.0.1:443"),
           "podnet_kube_new: in-cluster");
        k = podnet_kube_free(k);
        kc.service_host = NULL;
        ok(podnet_kube_new(ctx, &kc, &k, &err) == -EINVAL && !k && err &&
               strstr(podnet_error_message(err), "KUBERNETES_SERVICE_HOST"),
           "  without a host: refused, said why");
        err = podnet_error_free(err);
        kc.size = 0;
        ok(podnet_kube_new(ctx, &kc, &k, NULL) == -EINVAL, "  size 0: -EINVAL");
        ok(podnet_kube_free(NULL) == NULL && podnet_kube_call_free(NULL) == NULL,
           "destructors take NULL");
        podnet_ctx_unref(ctx);
}

/* Feeds text in chunks of `step` bytes (the last one with last set). */
static int feed_all(struct pn_nodes_reader *nr, const char *text, size_t step)
{
        size_t len = strlen(text), off = 0;
        int r = 0;

        while (off < len && r == 0) {
                size_t n = len - off < step ? len - off : step;
                r = pn_nodes_reader_feed(nr, text + off, n, false);
                off += n;
        }
        return r != 0 ? r : pn_nodes_reader_feed(nr, NULL, 0, true);
}

static void test_readers(void)
{
        static const char event[] =
            "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\","
            "\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"42\",\"annotations\":"
            "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}},"
            "\"spec\":{\"podCIDR\":\"10.1.0.0/24\",\"podCIDRs\":[\"10.1.0.0/24\"]},"
            "\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.168.1.5\"}]}}}";
        static const char list[] =
            "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
            "\"77\",\"continue\":\"abc\"},\"items\":[{\"metadata\":{\"name\":\"a\"},\"spec\":{}},"
            "{\"metadata\":{\"name\":\"b\",\"resourceVersion\":\"5\"},\"spec\":{\"podCIDR\":"
            "\"10.2.0.0/24\"}}]}";
        int bad = 0, bad_list = 0;

        for (size_t step = 1; step <= sizeof(event); step++) {
                podnet_nodes nodes = {0};
                struct pn_nodes_reader *nr = NULL;
                const char *type, *rv, *msg;
                int r;

                pn_nodes_reader_new(&nodes, true, &nr);
                r = feed_all(nr, event, step);
                if (r != 1 || pn_nodes_reader_end(nr, NULL) < 0 ||
                    pn_nodes_reader_event(nr, &type, &rv, &msg, NULL) < 0 ||
                    !streq(type, "MODIFIED") || !rv || !streq(rv, "42") || nodes.n != 1 ||
                    !streq(nodes.nodes[0].name, "n1") || nodes.nodes[0].n_pod_cidrs != 1 ||
                    !nodes.nodes[0].addr4)
                        bad++;
                pn_nodes_reader_free(nr);
                for (size_t i = 0; i < nodes.n; i++)
                        pn_node_done(&nodes.nodes[i]);
                free(nodes.nodes);
        }
        is_int(bad, 0, "a watch event fed in chunks of 1 to %zu bytes: type, rv, node",
               sizeof(event));
        for (size_t step = 1; step <= sizeof(list); step++) {
                podnet_nodes nodes = {0};
                struct pn_nodes_reader *nr = NULL;

                pn_nodes_reader_new(&nodes, false, &nr);
                if (feed_all(nr, list, step) != 1 || pn_nodes_reader_end(nr, NULL) < 0 ||
                    nodes.n != 2 || !pn_nodes_reader_rv(nr) ||
                    !streq(pn_nodes_reader_rv(nr), "77") || !pn_nodes_reader_continue(nr) ||
                    !streq(pn_nodes_reader_continue(nr), "abc"))
                        bad_list++;
                pn_nodes_reader_free(nr);
                for (size_t i = 0; i < nodes.n; i++)
                        pn_node_done(&nodes.nodes[i]);
                free(nodes.nodes);
        }
        is_int(bad_list, 0, "a list page fed in chunks: its nodes, resourceVersion, continue");
}

int main(void)
{
        if (!mkdtemp(dir))
                return 1;
        test_base64();
        test_kubeconfig();
        test_exec();
        test_public();
        test_readers();
        {
                char cmd[600];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
                (void)system(cmd);
        }
        return done_testing();
}

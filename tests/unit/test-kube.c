/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Kubernetes client's pieces without a server: base64, kubeconfig variants (files,
 * inline data, token file, contexts, errors), in-cluster settings, and the watch event and
 * paginated list readers fed in chunks of every size. */
#include "agent/nodes.h"
#include "core/internal.h"
#include "kube/kube.h"
#include "tap.h"

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
        test_readers();
        {
                char cmd[600];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
                (void)system(cmd);
        }
        return done_testing();
}

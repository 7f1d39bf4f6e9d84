/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Kubernetes client's configuration: the in-cluster service account (token and CA in
 * a directory the kubelet mounts, the address the caller read from the environment) or a
 * kubeconfig file read with libyaml (its current context's cluster and user).
 */
#include <yaml.h>

#include "kube/dl.h"
#include "kube/kube.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct pn_kube_config *pn_kube_config_free(struct pn_kube_config *c)
{
        if (!c)
                return NULL;
        free(c->server);
        free(c->ca_file);
        free(c->ca_data);
        free(c->cert_file);
        free(c->cert_data);
        free(c->key_file);
        free(c->key_data);
        free(c->token);
        free(c->token_file);
        pn_kube_exec_free(c->exec);
        free(c);
        return NULL;
}

static void kube_config_freep(struct pn_kube_config **c)
{
        pn_kube_config_free(*c);
}
#define _cleanup_kcfg_ _cleanup_(kube_config_freep)

static int b64_value(unsigned char ch)
{
        if (ch >= 'A' && ch <= 'Z')
                return ch - 'A';
        if (ch >= 'a' && ch <= 'z')
                return ch - 'a' + 26;
        if (ch >= '0' && ch <= '9')
                return ch - '0' + 52;
        if (ch == '+' || ch == '-')
                return 62;
        if (ch == '/' || ch == '_')
                return 63;
        return -1;
}

int pn_base64_decode(const char *in, size_t len, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *out = malloc(len / 4 * 3 + 4);
        unsigned acc = 0, bits = 0;
        size_t n = 0;
        bool pad = false;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)in[i];
                int v;

                if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
                        continue;
                if (ch == '=') {
                        pad = true;
                        continue;
                }
                v = b64_value(ch);
                if (v < 0 || pad)
                        return -EINVAL;
                acc = (acc << 6) | (unsigned)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[n++] = (char)((acc >> bits) & 0xff);
                }
        }
        if (bits >= 6)
                return -EINVAL; /* a lone sextet is not a byte */
        out[n] = '\0';
        *ret = steal_pointer(&out);
        *ret_len = n;
        return 0;
}

void pn_base64_encode(const char *in, size_t len, char *out)
{
        static const char abc[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *p = (const unsigned char *)in;
        size_t i;

        for (i = 0; i + 2 < len; i += 3) {
                *out++ = abc[p[i] >> 2];
                *out++ = abc[(p[i] & 3) << 4 | p[i + 1] >> 4];
                *out++ = abc[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
                *out++ = abc[p[i + 2] & 63];
        }
        if (i < len) {
                *out++ = abc[p[i] >> 2];
                if (i + 1 < len) {
                        *out++ = abc[(p[i] & 3) << 4 | p[i + 1] >> 4];
                        *out++ = abc[(p[i + 1] & 15) << 2];
                } else {
                        *out++ = abc[(p[i] & 3) << 4];
                        *out++ = '=';
                }
                *out++ = '=';
        }
        *out = '\0';
}

static char *strdup_or_null(const char *s)
{
        return s ? strdup(s) : NULL;
}

int pn_kube_config_in_cluster(const char *dir, const char *host, const char *port,
                              struct pn_kube_config **ret, podnet_error **err)
{
        _cleanup_kcfg_ struct pn_kube_config *c = calloc(1, sizeof(*c));
        bool v6;

        if (!c)
                return -ENOMEM;
        if (!host || !*host || !port || !*port)
                return pn_error_plain(err, EINVAL, 0,
                                      "In-cluster configuration: KUBERNETES_SERVICE_HOST and "
                                      "KUBERNETES_SERVICE_PORT are not both set");
        dir = dir ? dir : SA_DIR;
        v6 = strchr(host, ':') != NULL;
        /* (asprintf() leaves its pointer undefined when it fails: one at a time, so that
         * the configuration's cleanup frees what was made) */
        if (asprintf(&c->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port) <
            0) {
                c->server = NULL;
                return -ENOMEM;
        }
        if (asprintf(&c->ca_file, "%s/ca.crt", dir) < 0) {
                c->ca_file = NULL;
                return -ENOMEM;
        }
        if (asprintf(&c->token_file, "%s/token", dir) < 0) {
                c->token_file = NULL;
                return -ENOMEM;
        }
        if (access(c->token_file, R_OK) < 0)
                return pn_error(err, errno, 0, "In-cluster configuration: reading %s",
                                c->token_file);
        *ret = steal_pointer(&c);
        return 0;
}

/* --- kubeconfig ---------------------------------------------------------------------- */

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
        if (!map || map->type != YAML_MAPPING_NODE)
                return NULL;
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
             p++) {
                yaml_node_t *k = yaml_document_get_node(doc, p->key);
                if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
                    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
                        return yaml_document_get_node(doc, p->value);
        }
        return NULL;
}

static const char *scalar(yaml_node_t *n)
{
        if (!n || n->type != YAML_SCALAR_NODE)
                return NULL;
        return (const char *)n->data.scalar.value;
}

/* The `inner` mapping of the element of list `list` whose name is `name` (contexts,
 * clusters, users: [{name: x, context|cluster|user: {...}}]). */
static yaml_node_t *named(yaml_document_t *doc, yaml_node_t *root, const char *list,
                          const char *inner, const char *name)
{
        yaml_node_t *seq = map_get(doc, root, list);

        if (!seq || seq->type != YAML_SEQUENCE_NODE || !name)
                return NULL;
        for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
             i++) {
                yaml_node_t *e = yaml_document_get_node(doc, *i);
                const char *n = scalar(map_get(doc, e, "name"));
                if (n && streq(n, name))
                        return map_get(doc, e, inner);
        }
        return NULL;
}

/* A path as written, or relative to the kubeconfig's directory. */
static int kc_path(const char *base_dir, const char *p, char **ret)
{
        if (!p || !*p) {
                *ret = NULL;
                return 0;
        }
        if (p[0] == '/' || !base_dir)
                *ret = strdup(p);
        else if (asprintf(ret, "%s/%s", base_dir, p) < 0)
                *ret = NULL;
        return *ret ? 0 : -ENOMEM;
}

static int kc_data(const char *path, const char *field, const char *b64, char **ret, size_t *len,
                   podnet_error **err)
{
        int r;

        if (!b64)
                return 0;
        r = pn_base64_decode(b64, strlen(b64), ret, len);
        if (r == -EINVAL)
                return pn_error_plain(err, EINVAL, 0, "Kubeconfig %s: %s is not valid base64", path,
                                      field);
        return r;
}

/* A YAML sequence of scalars (or of {name, value} mappings, joined "name=value") as a
 * NULL-terminated array. */
static int kc_strv(yaml_document_t *doc, yaml_node_t *seq, bool pairs, char ***ret)
{
        size_t n = 0;
        char **v;

        *ret = NULL;
        if (!seq)
                return 0;
        if (seq->type != YAML_SEQUENCE_NODE)
                return -EINVAL;
        v = calloc((size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start) + 1,
                   sizeof(*v));
        if (!v)
                return -ENOMEM;
        *ret = v;
        for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
             i++) {
                yaml_node_t *e = yaml_document_get_node(doc, *i);
                if (pairs) {
                        const char *name = scalar(map_get(doc, e, "name"));
                        const char *value = scalar(map_get(doc, e, "value"));
                        if (!name || !*name || strchr(name, '='))
                                return -EINVAL;
                        if (asprintf(&v[n], "%s=%s", name, value ? value : "") < 0) {
                                v[n] = NULL;
                                return -ENOMEM;
                        }
                } else {
                        if (!scalar(e))
                                return -EINVAL;
                        if (!(v[n] = strdup(scalar(e))))
                                return -ENOMEM;
                }
                n++;
        }
        return 0;
}

/* users[].user.exec: client.authentication.k8s.io v1 or v1beta1. */
static int kc_exec(yaml_document_t *doc, yaml_node_t *e, const char *path, const char *dir,
                   const char *user, struct pn_kube_exec **ret, podnet_error **err)
{
        struct pn_kube_exec *x = calloc(1, sizeof(*x));
        const char *cmd = scalar(map_get(doc, e, "command"));
        const char *v = scalar(map_get(doc, e, "apiVersion"));
        const char *mode = scalar(map_get(doc, e, "interactiveMode"));
        const char *s;
        int r;

        user = user ? user : "";
        if (!x)
                return -ENOMEM;
        *ret = x; /* (freed with the configuration) */
        if (!cmd || !*cmd)
                return pn_error_plain(err, EINVAL, 0, "Kubeconfig %s: user %s: exec has no command",
                                      path, user);
        if (!v || (!streq(v, "client.authentication.k8s.io/v1") &&
                   !streq(v, "client.authentication.k8s.io/v1beta1")))
                return pn_error_plain(err, EINVAL, 0,
                                      "Kubeconfig %s: user %s: exec apiVersion %s is not "
                                      "client.authentication.k8s.io/v1 or v1beta1",
                                      path, user, v ? v : "(none)");
        if (mode && !streq(mode, "Never") && !streq(mode, "IfAvailable") && !streq(mode, "Always"))
                return pn_error_plain(err, EINVAL, 0,
                                      "Kubeconfig %s: user %s: exec interactiveMode %s is not "
                                      "Never, IfAvailable or Always",
                                      path, user, mode);
        x->interactive = !mode || streq(mode, "IfAvailable") ? PN_KUBE_EXEC_IF_AVAILABLE
                         : streq(mode, "Never")              ? PN_KUBE_EXEC_NEVER
                                                             : PN_KUBE_EXEC_ALWAYS;
        s = scalar(map_get(doc, e, "provideClusterInfo"));
        x->cluster_info = s && streq(s, "true");
        /* as client-go: a relative path with a slash is relative to the kubeconfig, a bare
         * name is looked up in PATH */
        if (strchr(cmd, '/') ? kc_path(dir, cmd, &x->command) < 0 : !(x->command = strdup(cmd)))
                return -ENOMEM;
        if (!(x->api_version = strdup(v)))
                return -ENOMEM;
        s = scalar(map_get(doc, e, "installHint"));
        if (s && !(x->install_hint = strdup(s)))
                return -ENOMEM;
        r = kc_strv(doc, map_get(doc, e, "args"), false, &x->args);
        if (r == 0)
                r = kc_strv(doc, map_get(doc, e, "env"), true, &x->env);
        if (r == -EINVAL)
                return pn_error_plain(err, EINVAL, 0,
                                      "Kubeconfig %s: user %s: exec args must be a list of "
                                      "strings and env a list of {name, value}",
                                      path, user);
        return r;
}

int pn_kube_config_load(const char *path, const char *context, struct pn_kube_config **ret,
                        podnet_error **err)
{
        _cleanup_kcfg_ struct pn_kube_config *c = calloc(1, sizeof(*c));
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *dir = NULL;
        yaml_parser_t parser;
        yaml_document_t doc;
        yaml_node_t *root, *ctxn, *cluster, *user;
        const char *cluster_name, *user_name, *s;
        char *slash;
        int r = 0;

        if (!c)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return pn_error(err, errno, 0, "Opening kubeconfig %s", path);
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash)
                *slash = '\0';
        else
                dir = (free(dir), NULL);
        r = pn_dl_yaml_load(err);
        if (r < 0)
                return r;
        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_file(&parser, f);
        if (!yaml_parser_load(&parser, &doc)) {
                r = pn_error_plain(err, EINVAL, 0, "Kubeconfig %s: %s at line %zu column %zu", path,
                                   parser.problem ? parser.problem : "invalid YAML",
                                   parser.problem_mark.line + 1, parser.problem_mark.column + 1);
                yaml_parser_delete(&parser);
                return r;
        }
        yaml_parser_delete(&parser);
        root = yaml_document_get_root_node(&doc);
        if (!root || root->type != YAML_MAPPING_NODE) {
                r = pn_error_plain(err, EINVAL, 0, "Kubeconfig %s: not a mapping", path);
                goto out;
        }
        if (!context)
                context = scalar(map_get(&doc, root, "current-context"));
        if (!context || !*context) {
                r = pn_error_plain(err, EINVAL, 0, "Kubeconfig %s: no current-context", path);
                goto out;
        }
        ctxn = named(&doc, root, "contexts", "context", context);
        if (!ctxn) {
                r = pn_error_plain(err, EINVAL, 0, "Kubeconfig %s: no context named %s", path,
                                   context);
                goto out;
        }
        cluster_name = scalar(map_get(&doc, ctxn, "cluster"));
        user_name = scalar(map_get(&doc, ctxn, "user"));
        cluster = named(&doc, root, "clusters", "cluster", cluster_name);
        if (!cluster || !scalar(map_get(&doc, cluster, "server"))) {
                r = pn_error_plain(err, EINVAL, 0,
                                   "Kubeconfig %s: context %s has no cluster with a server", path,
                                   context);
                goto out;
        }
        user = named(&doc, root, "users", "user", user_name); /* (may be none) */

        c->server = strdup(scalar(map_get(&doc, cluster, "server")));
        if (!c->server) {
                r = -ENOMEM;
                goto out;
        }
        s = scalar(map_get(&doc, cluster, "insecure-skip-tls-verify"));
        c->insecure = s && streq(s, "true");
        if ((r = kc_path(dir, scalar(map_get(&doc, cluster, "certificate-authority")),
                         &c->ca_file)) < 0 ||
            (r = kc_data(path, "certificate-authority-data",
                         scalar(map_get(&doc, cluster, "certificate-authority-data")), &c->ca_data,
                         &c->ca_len, err)) < 0 ||
            (r = kc_path(dir, scalar(map_get(&doc, user, "client-certificate")), &c->cert_file)) <
                0 ||
            (r = kc_data(path, "client-certificate-data",
                         scalar(map_get(&doc, user, "client-certificate-data")), &c->cert_data,
                         &c->cert_len, err)) < 0 ||
            (r = kc_path(dir, scalar(map_get(&doc, user, "client-key")), &c->key_file)) < 0 ||
            (r = kc_data(path, "client-key-data", scalar(map_get(&doc, user, "client-key-data")),
                         &c->key_data, &c->key_len, err)) < 0 ||
            (r = kc_path(dir, scalar(map_get(&doc, user, "tokenFile")), &c->token_file)) < 0)
                goto out;
        s = scalar(map_get(&doc, user, "token"));
        if (s && !(c->token = strdup_or_null(s))) {
                r = -ENOMEM;
                goto out;
        }
        if (map_get(&doc, user, "auth-provider")) {
                r = pn_error_plain(err, ENOTSUP, 0,
                                   "Kubeconfig %s: user %s uses an auth provider (removed from "
                                   "kubectl in 1.26), which podnet does not run; give it an exec "
                                   "plugin, a token, tokenFile or client certificate",
                                   path, user_name ? user_name : "");
                goto out;
        }
        if (map_get(&doc, user, "exec")) {
                r = kc_exec(&doc, map_get(&doc, user, "exec"), path, dir, user_name, &c->exec, err);
                if (r < 0)
                        goto out;
        }
        *ret = steal_pointer(&c);
out:
        yaml_document_delete(&doc);
        return r;
}

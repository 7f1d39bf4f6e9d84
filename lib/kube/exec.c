/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Kubernetes client's exec credential plugins (a kubeconfig's users[].user.exec, as
 * client-go runs them): the command with its arguments, the process environment plus the
 * kubeconfig's env entries and KUBERNETES_EXEC_INFO, standard input /dev/null (podnet is
 * never interactive), and its ExecCredential (client.authentication.k8s.io v1 or v1beta1)
 * read from standard output. Passing the process environment on is what kubectl does and
 * what plugins expect (PATH, HOME, cloud credentials); podnet reads no setting from it.
 */
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "kube/kube.h"
#include "json/reader.h"

extern char **environ;

#define EXEC_TIMEOUT_MS 60000
#define EXEC_OUT_MAX (1u << 20)
#define EXEC_ERR_MAX 2048

void pn_kube_exec_free(struct pn_kube_exec *x)
{
        if (!x)
                return;
        free(x->command);
        for (char **a = x->args; a && *a; a++)
                free(*a);
        free(x->args);
        for (char **e = x->env; e && *e; e++)
                free(*e);
        free(x->env);
        free(x->api_version);
        free(x->install_hint);
        free(x);
}

void pn_kube_cred_done(struct pn_kube_cred *c)
{
        if (c->token)
                explicit_bzero(c->token, strlen(c->token));
        if (c->key)
                explicit_bzero(c->key, c->key_len);
        free(c->token);
        free(c->cert);
        free(c->key);
        *c = (struct pn_kube_cred){0};
}

/* KUBERNETES_EXEC_INFO's value: the ExecCredential's spec (and the cluster with
 * provideClusterInfo). */
static char *exec_info(const struct pn_kube_exec *x, const struct pn_kube_config *cfg)
{
        json_t *doc = json_pack("{s:s, s:s, s:{s:b}}", "kind", "ExecCredential", "apiVersion",
                                x->api_version, "spec", "interactive", 0);
        char *s = NULL;

        if (!doc)
                return NULL;
        if (x->cluster_info) {
                json_t *cl = json_pack("{s:s, s:b}", "server", cfg->server,
                                       "insecure-skip-tls-verify", cfg->insecure);
                json_t *spec = json_object_get(doc, "spec");
                if (cl && cfg->ca_data) {
                        /* the kubeconfig's data as it was: base64 of the PEM */
                        size_t n = (cfg->ca_len + 2) / 3 * 4 + 1;
                        char *b = malloc(n);
                        if (b) {
                                pn_base64_encode(cfg->ca_data, cfg->ca_len, b);
                                json_object_set_new(cl, "certificate-authority-data",
                                                    json_string(b));
                                free(b);
                        }
                }
                if (!cl || json_object_set_new(spec, "cluster", cl) < 0) {
                        json_decref(doc);
                        return NULL;
                }
        }
        s = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        return s;
}

static bool env_overridden(const struct pn_kube_exec *x, const char *var)
{
        size_t n = strcspn(var, "=");

        if (n == 21 && strncmp(var, "KUBERNETES_EXEC_INFO", 20) == 0)
                return true;
        for (char **e = x->env; e && *e; e++)
                if (strncmp(*e, var, n) == 0 && (*e)[n] == '=')
                        return true;
        return false;
}

/* The child's environment: ours minus the names the kubeconfig sets, then its entries and
 * KUBERNETES_EXEC_INFO. The strings are borrowed but `info`. */
static char **exec_env(const struct pn_kube_exec *x, char *info)
{
        size_t n = 0, k = 0;
        char **env;

        for (char **e = environ; e && *e; e++)
                n++;
        for (char **e = x->env; e && *e; e++)
                n++;
        env = calloc(n + 2, sizeof(*env));
        if (!env)
                return NULL;
        for (char **e = environ; e && *e; e++)
                if (!env_overridden(x, *e))
                        env[k++] = *e;
        for (char **e = x->env; e && *e; e++)
                env[k++] = *e;
        env[k] = info;
        return env;
}

/* Reads the two pipes until both end or the deadline; false on timeout. */
static bool drain(int out_fd, int err_fd, char **out, size_t *out_len, char *errbuf,
                  size_t *err_len, size_t *out_cap, double deadline)
{
        struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};

        while (p[0].fd >= 0 || p[1].fd >= 0) {
                double left = deadline - pn_kube_now_ms();
                char buf[4096];

                if (left <= 0)
                        return false;
                if (poll(p, 2, (int)left + 1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return false;
                }
                for (int i = 0; i < 2; i++) {
                        ssize_t n;
                        if (p[i].fd < 0 || !p[i].revents)
                                continue;
                        n = read(p[i].fd, buf, sizeof(buf));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                p[i].fd = -1;
                                continue;
                        }
                        if (i == 0 && *out_len + (size_t)n < EXEC_OUT_MAX &&
                            pn_grow((void **)out, out_cap, *out_len + (size_t)n + 1, 1) == 0) {
                                memcpy(*out + *out_len, buf, (size_t)n);
                                *out_len += (size_t)n;
                                (*out)[*out_len] = '\0';
                        } else if (i == 1 && *err_len < EXEC_ERR_MAX - 1) {
                                size_t take = (size_t)n < EXEC_ERR_MAX - 1 - *err_len
                                                  ? (size_t)n
                                                  : EXEC_ERR_MAX - 1 - *err_len;
                                memcpy(errbuf + *err_len, buf, take);
                                *err_len += take;
                                errbuf[*err_len] = '\0';
                        }
                }
        }
        return true;
}

/* RFC 3339 (what metav1.Time writes) to unix seconds; -1 if it is not one. */
static double rfc3339(const char *s)
{
        struct tm tm = {0};
        const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        double frac = 0, off = 0;
        time_t t;

        if (!p)
                return -1;
        if (*p == '.') {
                char *end;
                frac = strtod(p, &end);
                p = end;
        }
        if (*p == '+' || *p == '-') {
                int hh, mm;
                if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
                        return -1;
                off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
                p += 6;
        } else if (*p == 'Z' || *p == 'z') {
                p++;
        } else {
                return -1;
        }
        if (*p)
                return -1;
        t = timegm(&tm);
        return (double)t + frac - off;
}

static int str_copy(pn_jreader *jr, char **dst, size_t *len)
{
        size_t l;
        const char *t = pn_jreader_text(jr, &l);

        free(*dst);
        *dst = t ? strndup(t, l) : NULL;
        if (len)
                *len = l;
        return *dst ? 0 : -ENOMEM;
}

/* The ExecCredential's status; "" in *why when it is fine. */
/* Whether a command named without a slash is an executable file in one of PATH's
 * directories: the search posix_spawnp() makes, which answers EACCES rather than ENOENT
 * when some directory of PATH cannot be searched (an unprivileged agent whose PATH names
 * root's directories), though the command is nowhere. kubectl's lookup skips such
 * directories too. */
static bool in_path(const char *command)
{
        const char *path = getenv("PATH");

        if (!path || !*path)
                path = "/bin:/usr/bin";
        while (*path) {
                size_t n = strcspn(path, ":");
                char file[PATH_MAX];

                if (n > 0 && (size_t)snprintf(file, sizeof(file), "%.*s/%s", (int)n, path,
                                              command) < sizeof(file) &&
                    access(file, X_OK) == 0)
                        return true;
                path += n + (path[n] == ':');
        }
        return false;
}

static int parse_cred(const char *text, size_t len, const char *api_version, struct pn_kube_cred *c,
                      char *why, size_t why_size)
{
        _cleanup_free_ char *kind = NULL, *version = NULL, *expiry = NULL;
        pn_jreader *jr = NULL;
        int tok, r = 0;

        why[0] = '\0';
        if (pn_jreader_new(&jr) < 0)
                return -ENOMEM;
        pn_jreader_set_buffer(jr, text, len);
        if (pn_jreader_next(jr) != PN_JTOK_BEGIN_OBJECT) {
                snprintf(why, why_size, "its output is not a JSON object");
                goto out;
        }
        while ((tok = pn_jreader_next(jr)) == PN_JTOK_KEY) {
                size_t kl;
                const char *k = pn_jreader_text(jr, &kl);
                char key[32];

                snprintf(key, sizeof(key), "%.*s", (int)(kl < 31 ? kl : 31), k ? k : "");
                if ((streq(key, "kind") || streq(key, "apiVersion")) &&
                    pn_jreader_next(jr) == PN_JTOK_STRING) {
                        r = str_copy(jr, streq(key, "kind") ? &kind : &version, NULL);
                } else if (streq(key, "status") && pn_jreader_next(jr) == PN_JTOK_BEGIN_OBJECT) {
                        while (r == 0 && (tok = pn_jreader_next(jr)) == PN_JTOK_KEY) {
                                k = pn_jreader_text(jr, &kl);
                                snprintf(key, sizeof(key), "%.*s", (int)(kl < 31 ? kl : 31),
                                         k ? k : "");
                                tok = pn_jreader_next(jr);
                                if (tok != PN_JTOK_STRING) {
                                        if (tok == PN_JTOK_BEGIN_OBJECT ||
                                            tok == PN_JTOK_BEGIN_ARRAY)
                                                (void)pn_jreader_skip(jr);
                                        continue;
                                }
                                if (streq(key, "token"))
                                        r = str_copy(jr, &c->token, NULL);
                                else if (streq(key, "clientCertificateData"))
                                        r = str_copy(jr, &c->cert, &c->cert_len);
                                else if (streq(key, "clientKeyData"))
                                        r = str_copy(jr, &c->key, &c->key_len);
                                else if (streq(key, "expirationTimestamp"))
                                        r = str_copy(jr, &expiry, NULL);
                        }
                } else if (pn_jreader_skip(jr) < 0) {
                        break;
                }
                if (r < 0)
                        goto out;
        }
        if (pn_jreader_error(jr, NULL)) {
                snprintf(why, why_size, "its output is not valid JSON: %s",
                         pn_jreader_error(jr, NULL));
        } else if (!kind || !streq(kind, "ExecCredential")) {
                snprintf(why, why_size, "its output is not an ExecCredential (kind %s)",
                         kind ? kind : "missing");
        } else if (!version || !streq(version, api_version)) {
                snprintf(why, why_size, "it answered apiVersion %s, not %s",
                         version ? version : "(none)", api_version);
        } else if (!c->token && !(c->cert && c->key)) {
                snprintf(why, why_size,
                         "its ExecCredential has neither status.token nor "
                         "status.clientCertificateData and clientKeyData");
        } else if ((c->cert != NULL) != (c->key != NULL)) {
                snprintf(why, why_size,
                         "its ExecCredential has a client certificate without "
                         "a key, or a key without a certificate");
        } else if (expiry && (c->expires = rfc3339(expiry)) < 0) {
                snprintf(why, why_size, "status.expirationTimestamp %s is not RFC 3339", expiry);
        }
out:
        pn_jreader_free(jr);
        return r;
}

int pn_kube_exec_run(const struct pn_kube_exec *x, const struct pn_kube_config *cfg,
                     struct pn_kube_cred *ret, podnet_error **err)
{
        _cleanup_free_ char *info_json = NULL, *info = NULL, *out = NULL;
        _cleanup_free_ char **env = NULL, **argv = NULL;
        _cleanup_close_ int out_r = -1, err_r = -1;
        int out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
        posix_spawn_file_actions_t fa;
        struct pn_kube_cred c = {0};
        char errbuf[EXEC_ERR_MAX] = "", why[256];
        size_t out_len = 0, out_cap = 0, err_len = 0, nargs = 0;
        pid_t pid;
        int r, status = 0;
        bool finished;

        *ret = (struct pn_kube_cred){0};
        if (x->interactive == PN_KUBE_EXEC_ALWAYS)
                return pn_error_plain(err, ENOTSUP, 0,
                                      "Exec credential plugin %s: its interactiveMode is Always, "
                                      "and podnet never runs one with a terminal",
                                      x->command);
        info_json = exec_info(x, cfg);
        if (!info_json || asprintf(&info, "KUBERNETES_EXEC_INFO=%s", info_json) < 0) {
                info = NULL;
                return -ENOMEM;
        }
        for (char **a = x->args; a && *a; a++)
                nargs++;
        argv = calloc(nargs + 2, sizeof(*argv));
        env = exec_env(x, info);
        if (!argv || !env)
                return -ENOMEM;
        argv[0] = x->command;
        for (size_t i = 0; i < nargs; i++)
                argv[i + 1] = x->args[i];
        if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
                r = -errno;
                if (out_p[0] >= 0) {
                        close(out_p[0]);
                        close(out_p[1]);
                }
                return pn_error(err, -r, 0, "Exec credential plugin %s: pipe", x->command);
        }
        out_r = out_p[0];
        err_r = err_p[0];
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, out_p[1], 1);
        posix_spawn_file_actions_adddup2(&fa, err_p[1], 2);
        r = posix_spawnp(&pid, x->command, &fa, NULL, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        close(out_p[1]);
        close(err_p[1]);
        if (r == EACCES && !strchr(x->command, '/') && !in_path(x->command))
                r = ENOENT;
        if (r != 0)
                return pn_error_plain(err, r, 0, "Exec credential plugin %s: cannot run it: %s%s%s",
                                      x->command, strerror(r), x->install_hint ? "; " : "",
                                      x->install_hint ? x->install_hint : "");
        finished = drain(out_r, err_r, &out, &out_len, errbuf, &err_len, &out_cap,
                         pn_kube_now_ms() + EXEC_TIMEOUT_MS);
        if (!finished)
                (void)kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        while (err_len > 0 && (errbuf[err_len - 1] == '\n' || errbuf[err_len - 1] == ' '))
                errbuf[--err_len] = '\0';
        if (!finished)
                return pn_error_plain(err, ETIMEDOUT, 0,
                                      "Exec credential plugin %s: no answer in %d s, killed",
                                      x->command, EXEC_TIMEOUT_MS / 1000);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char how[64];
                if (WIFEXITED(status))
                        snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
                else
                        snprintf(how, sizeof(how), "killed by signal %d",
                                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
                return pn_error_plain(err, EACCES, 0, "Exec credential plugin %s %s%s%s",
                                      x->command, how, err_len ? ": " : "", errbuf);
        }
        r = parse_cred(out ? out : "", out_len, x->api_version, &c, why, sizeof(why));
        if (out)
                explicit_bzero(out, out_len);
        if (r < 0) {
                pn_kube_cred_done(&c);
                return r;
        }
        if (why[0]) {
                pn_kube_cred_done(&c);
                return pn_error_plain(err, EBADMSG, 0, "Exec credential plugin %s: %s", x->command,
                                      why);
        }
        *ret = c;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IPAM for the CNI verbs: "host-local" served in-process through the podnet_ipam API,
 * any other ipam.type delegated to the plugin of that name found on CNI_PATH.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cni/cni.h"
#include "core/cidr.h"
#include "core/names.h"
#include "ipam/ipam.h"

extern char **environ;

/* A plugin printing more than this is broken; the rest is drained and dropped. */
#define PLUGIN_OUTPUT_MAX (16u << 20)

/* ---- in-process host-local ---------------------------------------------- */

static int need_attachment(const podnet_cni_args *args, const char *verb, podnet_error **err)
{
        if (isempty(args->container_id) || isempty(args->ifname))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_ENV,
                                      "IPAM %s needs CNI_CONTAINERID and CNI_IFNAME", verb);
        return 0;
}

/* The address store (lib/ipam/) names no CNI code: the verbs choose one from the errno
 * and from what they asked. Setting the store up from the configuration fails only on
 * the configuration (7). An attachment the store refuses is the environment's
 * (CNI_CONTAINERID, CNI_IFNAME: 4); a request outside the ranges is the
 * configuration's (7); no address left, or the attachment holding another one, is
 * exhaustion (101); anything else is the store's I/O (5, or 11 for a transient errno,
 * see podnet_error_cni_code()). */
enum store_step { STORE_SETUP, STORE_USE, STORE_ALLOCATE };

static int store_code(podnet_error **err, int r, enum store_step step,
                      const podnet_cni_args *args)
{
        int code = PODNET_CNI_ERR_IO;

        if (r >= 0)
                return r;
        if (step == STORE_SETUP)
                code = r == -EINVAL ? PODNET_CNI_ERR_INVALID_CONFIG : 0;
        else if (r == -EINVAL && args &&
                 (!pn_id_valid(args->container_id) ||
                  strlen(args->container_id) > PN_IPAM_ID_MAX || !pn_ifname_valid(args->ifname)))
                code = PODNET_CNI_ERR_INVALID_ENV;
        else if (step == STORE_ALLOCATE && r == -ERANGE)
                code = PODNET_CNI_ERR_INVALID_CONFIG;
        else if (step == STORE_ALLOCATE && (r == -ENOSPC || r == -EEXIST))
                code = PODNET_CNI_ERR_IPAM_EXHAUSTED;
        return code ? pn_error_set_code(err, r, code) : r;
}

static int local_open(podnet_ctx *ctx, const podnet_cni_conf *conf, podnet_ipam **ret,
                      podnet_error **err)
{
        _cleanup_ipam_ podnet_ipam *ipam = NULL;
        int r;

        r = podnet_ipam_open(ctx, &ipam, conf->ipam.data_dir, conf->name, err);
        if (r < 0)
                return store_code(err, r, STORE_SETUP, NULL);
        for (size_t s = 0; s < conf->ipam.n_sets; s++)
                for (size_t i = 0; i < conf->ipam.sets[s].n_ranges; i++) {
                        const struct pn_ipam_range *rg = &conf->ipam.sets[s].ranges[i];

                        r = podnet_ipam_add_range(ipam, (unsigned)s, rg->subnet, rg->range_start,
                                                  rg->range_end, rg->gateway, err);
                        if (r < 0)
                                return store_code(err, r, STORE_SETUP, NULL);
                }
        *ret = steal_pointer(&ipam);
        return 0;
}

/* A resolv.conf is a few hundred bytes; the reference plugin's line scanner gives up
 * at 64 KiB too. */
#define RESOLV_CONF_MAX (64u * 1024)

/* Reads at most RESOLV_CONF_MAX bytes of a regular file into *ret (NUL-terminated):
 * a FIFO, a device or /dev/zero is refused before anything is read from it. */
static int read_resolv_conf(const char *path, char **ret, podnet_error **err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        ssize_t n;

        /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
        fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return pn_error(err, errno, PODNET_CNI_ERR_IO, "Opening resolvConf %s", path);
        n = pn_check_regular(fd);
        if (n == -EISDIR || n == -EINVAL)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Refusing resolvConf %s: not a regular file", path);
        if (n < 0)
                return pn_error(err, (int)-n, PODNET_CNI_ERR_IO, "Opening resolvConf %s", path);
        buf = malloc(RESOLV_CONF_MAX + 2);
        if (!buf)
                return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL, "Out of memory");
        /* One byte beyond the limit tells a file of exactly the limit from a longer one. */
        n = pn_read_full(fd, buf, RESOLV_CONF_MAX + 2);
        if (n < 0)
                return pn_error(err, (int)-n, PODNET_CNI_ERR_IO, "Reading resolvConf %s", path);
        if ((size_t)n > RESOLV_CONF_MAX)
                return pn_error_plain(err, EFBIG, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Refusing resolvConf %s: larger than %u KiB", path,
                                      RESOLV_CONF_MAX / 1024);
        *ret = steal_pointer(&buf);
        return 0;
}

/* nameserver, domain, search and options lines of a resolv.conf, as host-local reads
 * them. */
static int parse_resolv_conf(podnet_cni_result *res, const char *path, podnet_error **err)
{
        _cleanup_free_ char *text = NULL;
        char *line, *next;
        int r;

        r = read_resolv_conf(path, &text, err);
        if (r < 0)
                return r;
        for (line = text; line; line = next) {
                char *save = NULL, *key, *v;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                key = strtok_r(line, " \t\r", &save);
                if (!key || key[0] == '#' || key[0] == ';')
                        continue;
                if (streq(key, "nameserver")) {
                        if ((v = strtok_r(NULL, " \t\r", &save)))
                                r = podnet_cni_result_add_dns(res, v, NULL, NULL, NULL);
                } else if (streq(key, "domain")) {
                        if ((v = strtok_r(NULL, " \t\r", &save)))
                                r = podnet_cni_result_add_dns(res, NULL, v, NULL, NULL);
                } else if (streq(key, "search")) {
                        while (r >= 0 && (v = strtok_r(NULL, " \t\r", &save)))
                                r = podnet_cni_result_add_dns(res, NULL, NULL, v, NULL);
                } else if (streq(key, "options")) {
                        while (r >= 0 && (v = strtok_r(NULL, " \t\r", &save)))
                                r = podnet_cni_result_add_dns(res, NULL, NULL, NULL, v);
                }
                if (r < 0)
                        return pn_error(err, -r, PODNET_CNI_ERR_INTERNAL, "Reading resolvConf %s",
                                        path);
        }
        return 0;
}

/* The range set holding `ip` (in any of its ranges' subnets), -1 if none. */
static int set_of(const podnet_cni_conf *conf, const podnet_cidr *ip)
{
        for (size_t s = 0; s < conf->ipam.n_sets; s++)
                for (size_t i = 0; i < conf->ipam.sets[s].n_ranges; i++)
                        if (podnet_cidr_contains(conf->ipam.sets[s].ranges[i].subnet, ip) == 1)
                                return (int)s;
        return -1;
}

/* Requested addresses (CNI_ARGS IP=, then args.cni.ips and runtimeConfig.ips) by
 * range set: want[s] borrowed, NULL where none was asked for. */
static int requested_by_set(const podnet_cni_conf *conf, const podnet_cni_args *args,
                            const podnet_cidr **want, podnet_error **err)
{
        const struct {
                podnet_cidr *const *v;
                size_t n;
                const char *from;
        } lists[] = {
            {args->req_ips, args->n_req_ips, "CNI_ARGS IP"},
            {conf->req_ips, conf->n_req_ips, "args.cni.ips/runtimeConfig.ips"},
        };

        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                for (size_t i = 0; i < lists[l].n; i++) {
                        const podnet_cidr *ip = lists[l].v[i];
                        char buf[PODNET_CIDR_STRLEN];
                        int s = set_of(conf, ip);

                        podnet_cidr_format_addr(ip, buf, sizeof(buf));
                        if (s < 0)
                                return pn_error_plain(err, ERANGE, PODNET_CNI_ERR_INVALID_CONFIG,
                                                      "Requested address %s (%s) is in no range "
                                                      "of network %s",
                                                      buf, lists[l].from, conf->name);
                        if (want[s] && !pn_cidr_addr_eq(want[s], ip))
                                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                                      "Requested address %s (%s) is a second "
                                                      "request in range set %d of network %s",
                                                      buf, lists[l].from, s, conf->name);
                        want[s] = ip;
                }
        return 0;
}

static int local_add(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                     podnet_cni_result **ret, podnet_error **err)
{
        _cleanup_result_ podnet_cni_result *res = NULL;
        _cleanup_ipam_ podnet_ipam *ipam = NULL;
        _cleanup_free_ const podnet_cidr **want = NULL;
        bool allocated = false;
        int r, n_held = 0;

        if ((r = need_attachment(args, "ADD", err)) < 0)
                return r;
        if (podnet_cni_result_new(&res) < 0)
                return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL, "Out of memory");
        want = calloc(conf->ipam.n_sets + 1, sizeof(*want));
        if (!want)
                return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL, "Out of memory");
        /* Everything that can fail without touching the store comes first. */
        if ((r = requested_by_set(conf, args, want, err)) < 0)
                return r;
        if (conf->ipam.resolv_conf && (r = parse_resolv_conf(res, conf->ipam.resolv_conf, err)) < 0)
                return r;
        for (size_t i = 0; i < conf->ipam.n_routes; i++)
                if (podnet_cni_result_add_route(res, conf->ipam.routes[i].dst,
                                                conf->ipam.routes[i].gw) < 0)
                        return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL,
                                              "Out of memory");
        if ((r = local_open(ctx, conf, &ipam, err)) < 0)
                return r;

        /* One lock over all sets: the attachment gets all its addresses or none. */
        if ((r = podnet_ipam_lock(ipam, err)) < 0)
                return store_code(err, r, STORE_USE, args);
        for (size_t s = 0; s < conf->ipam.n_sets; s++) {
                _cleanup_cidr_ podnet_cidr *addr = NULL, *gw = NULL;

                /* The first set's allocation also says how many leases the attachment
                 * held before this ADD, from the index entry it reads anyway (never a
                 * scan of every lease: an ADD costs the same with 5 or 500 pods). */
                r = pn_ipam_allocate(ipam, (unsigned)s, args->container_id, args->ifname, want[s],
                                     &addr, &gw, s == 0 ? &n_held : NULL, err);
                r = store_code(err, r, STORE_ALLOCATE, args);
                allocated |= r >= 0;
                if (r >= 0 && podnet_cni_result_add_ip(res, -1, addr, gw) < 0)
                        r = pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL, "Out of memory");
                if (r < 0) {
                        /* A retried ADD keeps what an earlier one got; a new one leaves
                         * nothing behind: its index entry then lists just what this call
                         * allocated, and the release reads only those leases. */
                        if (n_held == 0 && allocated)
                                (void)podnet_ipam_release(ipam, args->container_id, args->ifname,
                                                          NULL);
                        podnet_ipam_unlock(ipam);
                        return r;
                }
        }
        podnet_ipam_unlock(ipam);
        pn_debug(ctx, "IPAM: %zu address(es) for %s/%s in network %s", podnet_cni_result_n_ips(res),
                 args->container_id, args->ifname, conf->name);
        *ret = steal_pointer(&res);
        return 0;
}

static int local_del(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                     podnet_error **err)
{
        _cleanup_ipam_ podnet_ipam *ipam = NULL;
        int r;

        if ((r = need_attachment(args, "DEL", err)) < 0)
                return r;
        if ((r = local_open(ctx, conf, &ipam, err)) < 0)
                return r;
        r = podnet_ipam_release(ipam, args->container_id, args->ifname, err);
        return r < 0 ? store_code(err, r, STORE_USE, args) : 0;
}

static int local_check(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                       podnet_error **err)
{
        _cleanup_ipam_ podnet_ipam *ipam = NULL;
        podnet_cidr **held = NULL;
        const podnet_cni_result *prev = conf->prev_result;
        int r, n;

        if ((r = need_attachment(args, "CHECK", err)) < 0)
                return r;
        if ((r = local_open(ctx, conf, &ipam, err)) < 0)
                return r;
        n = podnet_ipam_lookup(ipam, args->container_id, args->ifname, &held, err);
        if (n < 0)
                return store_code(err, n, STORE_USE, args);
        if (n == 0)
                r = pn_error_plain(err, ENOENT, PODNET_CNI_ERR_CHECK_FAILED,
                                   "No IPAM lease for container %s interface %s in network %s",
                                   args->container_id, args->ifname, conf->name);
        /* Each address of prevResult inside our ranges must be one of the leases. */
        for (size_t i = 0; r >= 0 && prev && i < prev->n_ips; i++) {
                const podnet_cidr *a = prev->ips[i].addr;
                char buf[PODNET_CIDR_STRLEN];
                bool found = false;

                if (set_of(conf, a) < 0)
                        continue;
                for (int j = 0; j < n && !found; j++)
                        found = pn_cidr_addr_eq(held[j], a);
                if (!found) {
                        podnet_cidr_format_addr(a, buf, sizeof(buf));
                        r = pn_error_plain(err, ENOENT, PODNET_CNI_ERR_CHECK_FAILED,
                                           "Address %s of prevResult is not leased to container "
                                           "%s interface %s in network %s",
                                           buf, args->container_id, args->ifname, conf->name);
                }
        }
        podnet_cidr_array_free(held);
        return r < 0 ? r : 0;
}

static int local_gc(podnet_ctx *ctx, const podnet_cni_conf *conf, podnet_error **err)
{
        _cleanup_ipam_ podnet_ipam *ipam = NULL;
        int r;

        /* Without the list every lease would look stale: refuse rather than wipe. */
        if (!conf->has_valid_attachments)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "GC needs cni.dev/valid-attachments in the configuration");
        if ((r = local_open(ctx, conf, &ipam, err)) < 0)
                return r;
        r = podnet_ipam_gc(ipam, conf->valid_attachments, conf->n_valid_attachments, err);
        /* (The configuration parser made sure every valid attachment is complete.) */
        r = store_code(err, r, STORE_USE, NULL);
        if (r > 0)
                pn_debug(ctx, "IPAM GC released %d lease(s) in network %s", r, conf->name);
        return r < 0 ? r : 0;
}

/* ---- delegation --------------------------------------------------------- */

static int find_plugin(const char *type, const char *cni_path, char **ret, podnet_error **err)
{
        _cleanup_free_ char *dirs = NULL;
        char *save = NULL;

        if (isempty(type) || strchr(type, '/') || streq(type, ".") || streq(type, ".."))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Invalid IPAM plugin name \"%s\"", type ? type : "");
        if (isempty(cni_path))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_ENV,
                                      "CNI_PATH is not set: cannot find IPAM plugin %s", type);
        dirs = strdup(cni_path);
        if (!dirs)
                return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL, "Out of memory");
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (asprintf(&p, "%s/%s", d, type) < 0)
                        return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL,
                                              "Out of memory");
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                        *ret = steal_pointer(&p);
                        return 0;
                }
        }
        return pn_error_plain(err, ENOENT, PODNET_CNI_ERR_INVALID_CONFIG,
                              "IPAM plugin %s not found in CNI_PATH %s", type, cni_path);
}

static bool env_overridden(const char *entry)
{
        static const char *const names[] = {"CNI_COMMAND=", "CNI_CONTAINERID=", "CNI_NETNS=",
                                            "CNI_IFNAME=",  "CNI_ARGS=",        "CNI_PATH="};

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strncmp(entry, names[i], strlen(names[i])) == 0)
                        return true;
        return false;
}

static void strv_free_all(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

/* The caller's environment with the CNI_* variables replaced by the invocation's. */
static char **plugin_env(const char *verb, const podnet_cni_args *args)
{
        const struct {
                const char *name, *value;
        } vars[] = {
            {"CNI_COMMAND", verb},      {"CNI_CONTAINERID", args->container_id},
            {"CNI_NETNS", args->netns}, {"CNI_IFNAME", args->ifname},
            {"CNI_ARGS", args->args},   {"CNI_PATH", args->path},
        };
        size_t n = 0, k = 0;
        char **env;

        while (environ && environ[n])
                n++;
        env = calloc(n + ELEMENTSOF(vars) + 1, sizeof(*env));
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!env_overridden(environ[i]) && !(env[k++] = strdup(environ[i])))
                        goto fail;
        for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                if (!vars[i].value)
                        continue;
                if (asprintf(&env[k], "%s=%s", vars[i].name, vars[i].value) < 0) {
                        env[k] = NULL;
                        goto fail;
                }
                k++;
        }
        return env;
fail:
        strv_free_all(env);
        return NULL;
}

/* fd moved above 2 with close-on-exec, so that dup2 onto 0/1 in the child always
 * makes a fresh, inheritable descriptor. */
static int fd_above_stdio(int fd)
{
        int nfd;

        if (fd > 2)
                return fd;
        nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        close(fd);
        return nfd;
}

struct run {
        char *out;
        size_t len;
        bool truncated;
        int status;
};

/* Feeds `input` to fd `in` and collects fd `out` until EOF. Closes both. */
static int pump(int in, int out, const char *input, struct run *run)
{
        size_t len = strlen(input), done = 0, cap = 0;
        int r = 0;

        (void)fcntl(in, F_SETFL, O_NONBLOCK);
        while (out >= 0) {
                struct pollfd p[2] = {{.fd = out, .events = POLLIN}, {.fd = in, .events = POLLOUT}};
                int n = poll(p, in >= 0 ? 2 : 1, -1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (in >= 0 && p[1].revents) {
                        ssize_t w = send(in, input + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

                        if (w > 0)
                                done += (size_t)w;
                        /* A plugin that exits without reading stdin is not our error. */
                        if ((w < 0 && errno != EAGAIN && errno != EINTR) || done == len) {
                                close(in);
                                in = -1;
                        }
                }
                if (p[0].revents) {
                        char buf[8192];
                        ssize_t got = read(out, buf, sizeof(buf));

                        if (got < 0 && errno == EINTR)
                                continue;
                        if (got <= 0) {
                                if (got < 0)
                                        r = -errno;
                                close(out);
                                out = -1;
                                break;
                        }
                        if (run->len + (size_t)got > PLUGIN_OUTPUT_MAX) {
                                run->truncated = true;
                                continue;
                        }
                        if (run->len + (size_t)got + 1 > cap) {
                                size_t ncap = (run->len + (size_t)got + 1) * 2;
                                char *nb = realloc(run->out, ncap);

                                if (!nb) {
                                        r = -ENOMEM;
                                        break;
                                }
                                run->out = nb;
                                cap = ncap;
                        }
                        memcpy(run->out + run->len, buf, (size_t)got);
                        run->len += (size_t)got;
                        run->out[run->len] = '\0';
                }
        }
        if (in >= 0)
                close(in);
        if (out >= 0)
                close(out);
        return r;
}

/* Runs `bin` for `verb` with the configuration on stdin; run->out gets its stdout,
 * run->status the wait status. */
static int run_plugin(const char *bin, const char *verb, const podnet_cni_conf *conf,
                      const podnet_cni_args *args, struct run *run, podnet_error **err)
{
        char *argv[] = {(char *)bin, NULL};
        char **env = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int in[2] = {-1, -1}, out[2] = {-1, -1}, r;
        pid_t pid;

        memset(run, 0, sizeof(*run));
        env = plugin_env(verb, args);
        if (!env)
                return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL, "Out of memory");
        /* stdin is a socket so that a plugin exiting early gives EPIPE, not SIGPIPE. */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
            pipe2(out, O_CLOEXEC) < 0) {
                r = pn_error(err, errno, PODNET_CNI_ERR_IO, "Running IPAM plugin %s", bin);
                goto close_fds;
        }
        for (int i = 0; i < 2; i++) {
                in[i] = fd_above_stdio(in[i]);
                out[i] = fd_above_stdio(out[i]);
        }
        if (in[0] < 0 || in[1] < 0 || out[0] < 0 || out[1] < 0) {
                r = pn_error(err, EMFILE, PODNET_CNI_ERR_IO, "Running IPAM plugin %s", bin);
                goto close_fds;
        }
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_adddup2(&fa, in[1], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = posix_spawn(&pid, bin, &fa, &attr, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0) {
                r = pn_error(err, r, PODNET_CNI_ERR_IPAM_PLUGIN, "Running IPAM plugin %s", bin);
                goto close_fds;
        }
        close(in[1]);
        close(out[1]);
        in[1] = out[1] = -1;
        r = pump(steal_fd(&in[0]), steal_fd(&out[0]), conf->json ? conf->json : "{}", run);
        while (waitpid(pid, &run->status, 0) < 0)
                if (errno != EINTR) {
                        if (r >= 0)
                                r = -errno;
                        break;
                }
        if (r < 0)
                r = pn_error(err, -r, PODNET_CNI_ERR_IO, "Reading the output of IPAM plugin %s",
                             bin);
close_fds:
        for (int i = 0; i < 2; i++) {
                if (in[i] >= 0)
                        close(in[i]);
                if (out[i] >= 0)
                        close(out[i]);
        }
        strv_free_all(env);
        return r < 0 ? r : 0;
}

/* The error a failed plugin printed, or code 104 describing how it failed. */
static int plugin_error(const char *type, const struct run *run, podnet_error **err)
{
        json_t *root = run->out ? json_loads(run->out, 0, NULL) : NULL;
        json_t *jcode = json_object_get(root, "code");
        const char *msg = json_string_value(json_object_get(root, "msg"));
        const char *details = json_string_value(json_object_get(root, "details"));
        int r;

        if (json_is_integer(jcode) && json_integer_value(jcode) > 0 &&
            json_integer_value(jcode) < INT32_MAX) {
                r = pn_error_plain(err, EIO, (int)json_integer_value(jcode), "%s",
                                   !isempty(msg) ? msg : "IPAM plugin failed without a message");
                pn_error_set_details(err, details);
        } else if (WIFSIGNALED(run->status)) {
                r = pn_error_plain(err, EIO, PODNET_CNI_ERR_IPAM_PLUGIN,
                                   "IPAM plugin %s was killed by signal %d", type,
                                   WTERMSIG(run->status));
        } else {
                r = pn_error_plain(err, EIO, PODNET_CNI_ERR_IPAM_PLUGIN,
                                   "IPAM plugin %s failed with exit status %d%s%s", type,
                                   WIFEXITED(run->status) ? WEXITSTATUS(run->status) : -1,
                                   !isempty(msg) ? ": " : "", !isempty(msg) ? msg : "");
                pn_error_set_details(err, !isempty(details) ? details : run->out);
        }
        json_decref(root);
        return r;
}

static int delegate(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                    const char *verb, podnet_cni_result **ret, podnet_error **err)
{
        _cleanup_free_ char *bin = NULL;
        struct run run;
        int r;

        r = find_plugin(conf->ipam_type, args->path, &bin, err);
        if (r < 0)
                return r;
        pn_debug(ctx, "IPAM: running %s for %s", bin, verb);
        r = run_plugin(bin, verb, conf, args, &run, err);
        if (r < 0)
                goto out;
        if (run.truncated) {
                r = pn_error_plain(err, EFBIG, PODNET_CNI_ERR_IPAM_PLUGIN,
                                   "IPAM plugin %s printed more than %u bytes", conf->ipam_type,
                                   PLUGIN_OUTPUT_MAX);
                goto out;
        }
        if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0) {
                r = plugin_error(conf->ipam_type, &run, err);
                goto out;
        }
        if (ret) {
                r = podnet_cni_result_parse(ret, run.out ? run.out : "", conf->cni_version, err);
                if (r < 0)
                        pn_error_wrap(err, "Result of IPAM plugin %s", conf->ipam_type);
        }
out:
        free(run.out);
        return r;
}

/* ---- the four verbs ------------------------------------------------------ */

static int check_input(const podnet_cni_conf *conf, const podnet_cni_args *args, podnet_error **err)
{
        if (!conf || !args)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INTERNAL,
                                      "IPAM: invalid argument");
        if (!conf->ipam_type)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Network %s has no ipam section", conf->name);
        return 0;
}

PODNET_EXPORT int podnet_cni_ipam_add(podnet_ctx *ctx, const podnet_cni_conf *conf,
                                      const podnet_cni_args *args, podnet_cni_result **ret,
                                      podnet_error **err)
{
        int r;

        if (!ret)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INTERNAL,
                                      "IPAM: invalid argument");
        *ret = NULL;
        if ((r = check_input(conf, args, err)) < 0)
                return r;
        if (conf->ipam_in_process)
                return local_add(ctx, conf, args, ret, err);
        return delegate(ctx, conf, args, "ADD", ret, err);
}

PODNET_EXPORT int podnet_cni_ipam_del(podnet_ctx *ctx, const podnet_cni_conf *conf,
                                      const podnet_cni_args *args, podnet_error **err)
{
        int r;

        if ((r = check_input(conf, args, err)) < 0)
                return r;
        if (conf->ipam_in_process)
                return local_del(ctx, conf, args, err);
        return delegate(ctx, conf, args, "DEL", NULL, err);
}

PODNET_EXPORT int podnet_cni_ipam_check(podnet_ctx *ctx, const podnet_cni_conf *conf,
                                        const podnet_cni_args *args, podnet_error **err)
{
        int r;

        if ((r = check_input(conf, args, err)) < 0)
                return r;
        if (conf->ipam_in_process)
                return local_check(ctx, conf, args, err);
        return delegate(ctx, conf, args, "CHECK", NULL, err);
}

PODNET_EXPORT int podnet_cni_ipam_gc(podnet_ctx *ctx, const podnet_cni_conf *conf,
                                     const podnet_cni_args *args, podnet_error **err)
{
        int r;

        if ((r = check_input(conf, args, err)) < 0)
                return r;
        if (conf->ipam_in_process)
                return local_gc(ctx, conf, err);
        return delegate(ctx, conf, args, "GC", NULL, err);
}

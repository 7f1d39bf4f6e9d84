/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * podnet-routes: the node agent. Reads the cluster's node list (kubectl JSON or the static
 * node file), then calls libpodnet to sync routes, firewall chains and the CNI conflist,
 * to allocate pod CIDRs, to report status or to tear everything down. See podnet-routes(8).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <podnet/podnet.h>

#include "read-all.h"

extern char **environ;

enum { EXIT_USAGE = 2, EXIT_PARTIAL = 3, EXIT_NODES = 4, EXIT_RUNNING = 5 };

#define MAX_NODE_LIST (64u << 20)
#define MAX_CIDRS 8

struct opts {
        const char *command;
        const char *nodes_file, *nodes_cmd;
        char node_name[256];
        podnet_cidr *cluster[MAX_CIDRS];
        size_t n_cluster;
        podnet_cidr *non_masq[MAX_CIDRS];
        size_t n_non_masq;
        bool masquerade, firewall, cni_conf, cni_ip_masq, dry_run, json;
        const char *cni_conf_dir, *cni_conf_name, *network, *bridge, *ipam_data_dir;
        const char *write_nodes;
        unsigned mtu, protocol, table, interval, nodes_timeout, fw_interval;
        unsigned mask, mask4, mask6;
        int verbose;
};

static void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errmsg(const char *fmt, ...)
{
        va_list ap;

        fputs("podnet-routes: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static int fail_err(podnet_error *err, int r, const char *what)
{
        if (err)
                errmsg("%s", podnet_error_message(err));
        else
                errmsg("%s: %s", what, strerror(r < 0 ? -r : r));
        podnet_error_free(err);
        return EXIT_FAILURE;
}

static void log_stderr(podnet_ctx *ctx, void *userdata, int prio, const char *msg)
{
        (void)ctx;
        (void)userdata;
        (void)prio;
        fprintf(stderr, "podnet-routes: %s\n", msg);
}

/* --- small helpers ------------------------------------------------------------------- */

static const char *cidr_str(const podnet_cidr *c, char *buf, size_t size)
{
        if (!c || podnet_cidr_format(c, buf, size) < 0)
                return NULL;
        return buf;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max || *s == '-')
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

static int parse_cidr_list(const char *text, podnet_cidr **v, size_t *n, const char *opt)
{
        char *copy = strdup(text), *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                podnet_cidr *c = NULL, *net = NULL;
                if (*n >= MAX_CIDRS || !strchr(t, '/') || podnet_cidr_parse(&c, t) < 0 ||
                    podnet_cidr_network(&net, c) < 0) {
                        errmsg("%s: invalid CIDR \"%s\"", opt, t);
                        podnet_cidr_free(c);
                        free(copy);
                        return -EINVAL;
                }
                podnet_cidr_free(c);
                v[(*n)++] = net;
        }
        free(copy);
        return 0;
}

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* --- the node list command ------------------------------------------------------------ */

/* The signals that end podnet-routes (SIGHUP: run resyncs), taken through a signalfd. */
static void stop_signals(sigset_t *mask)
{
        sigemptyset(mask);
        sigaddset(mask, SIGTERM);
        sigaddset(mask, SIGINT);
        sigaddset(mask, SIGHUP);
}

/* `sh -c CMD` in a process group of its own, its standard output read without blocking so
 * that `run` keeps answering route changes and signals meanwhile. When it ends (finished,
 * out of time, or abandoned) the whole group is killed: nothing it started outlives it. */
struct fetch {
        pid_t pid; /* 0: none running; not reaped before fetch_end(), so the group id
                    * cannot be reused while we may still kill it */
        int out;   /* read end of its standard output */
        int pidfd; /* readable when it exits; -1 where the kernel has no pidfd_open */
        bool eof, exited;
        int read_errno;
        char *buf;
        size_t len, cap;
        double deadline;
};

static int fetch_start(struct fetch *f, const struct opts *o)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t empty, deflt;
        char *argv[] = {(char *)"sh", (char *)"-c", (char *)o->nodes_cmd, NULL};
        int pipefd[2], r;

        *f = (struct fetch){.out = -1, .pidfd = -1};
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                errmsg("Running node list command %s: %s", o->nodes_cmd, strerror(errno));
                return -1;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        posix_spawnattr_init(&attr);
        sigemptyset(&empty);
        sigemptyset(&deflt);
        sigaddset(&deflt, SIGTERM);
        sigaddset(&deflt, SIGINT);
        sigaddset(&deflt, SIGHUP);
        sigaddset(&deflt, SIGPIPE);
        posix_spawnattr_setsigmask(&attr, &empty);
        posix_spawnattr_setsigdefault(&attr, &deflt);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETPGROUP);
        r = posix_spawn(&f->pid, "/bin/sh", &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(pipefd[1]);
        if (r != 0) {
                close(pipefd[0]);
                f->pid = 0;
                errmsg("Running node list command %s: %s", o->nodes_cmd, strerror(r));
                return -1;
        }
        f->out = pipefd[0];
        (void)fcntl(f->out, F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
        f->pidfd = (int)syscall(SYS_pidfd_open, f->pid, 0);
#endif
        f->deadline = now_ms() + o->nodes_timeout * 1000.0;
        return 0;
}

/* Reads what the command printed so far and notices its exit; true when the fetch is
 * over: output closed and command exited, output too large, or out of time. */
static bool fetch_step(struct fetch *f)
{
        while (!f->eof && f->len <= MAX_NODE_LIST) {
                ssize_t k;
                if (f->cap - f->len < 65536) {
                        size_t cap = f->cap ? f->cap * 2 : 131072;
                        char *b = realloc(f->buf, cap);
                        if (!b) {
                                f->read_errno = ENOMEM;
                                f->eof = true;
                                break;
                        }
                        f->buf = b;
                        f->cap = cap;
                }
                k = read(f->out, f->buf + f->len, f->cap - f->len - 1);
                if (k > 0) {
                        f->len += (size_t)k;
                } else if (k == 0) {
                        f->eof = true;
                } else if (errno != EINTR) {
                        if (errno != EAGAIN)
                                f->read_errno = errno, f->eof = true;
                        break;
                }
        }
        if (!f->exited) {
                siginfo_t si = {0};
                /* WNOWAIT: seen, not reaped */
                if (waitid(P_PID, (id_t)f->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                    si.si_pid == f->pid)
                        f->exited = true;
        }
        return (f->eof && f->exited) || f->len > MAX_NODE_LIST || now_ms() >= f->deadline;
}

/* The descriptors to poll while the fetch runs; returns how many. */
static nfds_t fetch_pollfds(const struct fetch *f, struct pollfd *p)
{
        nfds_t n = 0;

        if (!f->pid)
                return 0;
        if (!f->eof)
                p[n++] = (struct pollfd){.fd = f->out, .events = POLLIN};
        if (!f->exited && f->pidfd >= 0)
                p[n++] = (struct pollfd){.fd = f->pidfd, .events = POLLIN};
        return n;
}

/* Milliseconds the caller may sleep in poll() before fetch_step() is due. */
static double fetch_wait_ms(const struct fetch *f)
{
        double left = f->deadline - now_ms();

        if (f->eof && !f->exited && f->pidfd < 0 && left > 20)
                left = 20; /* no pidfd: watch for the exit by polling */
        return left > 0 ? left : 0;
}

/* Ends the fetch: kills what is left of the command's process group, reaps the command.
 * Returns its output (NUL-terminated, the caller's) or NULL after a message (none when
 * `abandoned`: its group is killed, not waited for). */
static char *fetch_end(struct fetch *f, const struct opts *o, bool abandoned, size_t *len)
{
        bool done = f->eof && f->exited;
        int status = 0;
        char *out = NULL;

        if (!f->pid)
                return NULL;
        (void)kill(-f->pid, SIGKILL);
        while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (abandoned)
                ;
        else if (f->len > MAX_NODE_LIST)
                errmsg("Node list command %s printed more than %u MiB", o->nodes_cmd,
                       MAX_NODE_LIST >> 20);
        else if (!done)
                errmsg("Node list command %s timed out after %u s: killed it and its process "
                       "group",
                       o->nodes_cmd, o->nodes_timeout);
        else if (f->read_errno)
                errmsg("Reading the output of node list command %s: %s", o->nodes_cmd,
                       strerror(f->read_errno));
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                errmsg("Node list command %s failed (%s %d)", o->nodes_cmd,
                       WIFEXITED(status) ? "exit status" : "signal",
                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        else if (!f->buf && !(f->buf = malloc(1)))
                errmsg("Out of memory");
        else {
                f->buf[f->len] = 0;
                out = f->buf;
                f->buf = NULL;
                *len = f->len;
        }
        if (f->out >= 0)
                close(f->out);
        if (f->pidfd >= 0)
                close(f->pidfd);
        free(f->buf);
        *f = (struct fetch){.out = -1, .pidfd = -1};
        return out;
}

/* Runs the node list command to its end (sync, status, allocate). SIGTERM, SIGINT or
 * SIGHUP meanwhile kill the command's group, then end this process as they would have. */
static char *run_command(const struct opts *o, size_t *len)
{
        struct signalfd_siginfo si;
        sigset_t mask, old;
        struct fetch f;
        char *out;
        int sfd;

        stop_signals(&mask);
        sigprocmask(SIG_BLOCK, &mask, &old);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fetch_start(&f, o) < 0) {
                out = NULL;
                goto out;
        }
        while (!fetch_step(&f)) {
                struct pollfd p[3];
                nfds_t n = fetch_pollfds(&f, p);

                if (sfd >= 0)
                        p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
                (void)poll(p, n, (int)fetch_wait_ms(&f) + 1);
                if (sfd >= 0 && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                        free(fetch_end(&f, o, true, len));
                        signal((int)si.ssi_signo, SIG_DFL);
                        sigprocmask(SIG_SETMASK, &old, NULL);
                        raise((int)si.ssi_signo);
                        _exit(128 + (int)si.ssi_signo); /* (not reached) */
                }
        }
        out = fetch_end(&f, o, false, len);
out:
        if (sfd >= 0)
                close(sfd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return out;
}

/* Parses a node list read from `what`; NULL after a message. Frees text. */
static podnet_nodes *parse_nodes(char *text, size_t len, const char *what)
{
        podnet_nodes *nodes = NULL;
        podnet_error *err = NULL;

        if (!text)
                return NULL;
        if (podnet_nodes_parse(&nodes, text, len, &err) < 0) {
                errmsg("Node list from %s: %s", what, err ? podnet_error_message(err) : "invalid");
                podnet_error_free(err);
                nodes = NULL;
        }
        free(text);
        return nodes;
}

/* Reads and parses the node list from --nodes or --nodes-cmd; NULL after a message. */
static podnet_nodes *load_nodes(const struct opts *o)
{
        size_t len = 0;
        char *text;

        if (o->nodes_cmd) {
                text = run_command(o, &len);
                return parse_nodes(text, len, o->nodes_cmd);
        }
        if (strcmp(o->nodes_file, "-") == 0) {
                text = pn_read_all(STDIN_FILENO, MAX_NODE_LIST, &len);
                if (!text)
                        errmsg("Reading the node list from standard input: %s", strerror(errno));
                return parse_nodes(text, len, "standard input");
        }
        int fd = open(o->nodes_file, O_RDONLY | O_CLOEXEC);
        text = fd < 0 ? NULL : pn_read_all(fd, MAX_NODE_LIST, &len);
        if (!text)
                errmsg("Reading node list %s: %s", o->nodes_file, strerror(errno));
        if (fd >= 0)
                close(fd);
        return parse_nodes(text, len, o->nodes_file);
}

/* --- the node lock ------------------------------------------------------------------- */

/* podnet's writers on one node serialise on flock(2) locks in RUN_DIR, named after the
 * network namespace (its inode number, as `stat -L -c %i /proc/self/ns/net` prints it):
 * namespaces are the nodes (a lab runs several in one mount namespace). "routes" is held
 * by each writing pass (sync, each pass of run, teardown); "routes-run" by a run agent for
 * its whole life, so that a second one refuses to start. */
#define RUN_DIR "/run/podnet"
#define LOCK_WAIT_MS 60000

static int lock_open(const char *kind, char *path, size_t size)
{
        struct stat st;
        int fd;

        if (stat("/proc/self/ns/net", &st) < 0) {
                errmsg("Reading this network namespace's id (/proc/self/ns/net): %s",
                       strerror(errno));
                return -1;
        }
        snprintf(path, size, RUN_DIR "/%s-%llu.lock", kind, (unsigned long long)st.st_ino);
        if (mkdir(RUN_DIR, 0755) < 0 && errno != EEXIST) {
                errmsg("Creating %s: %s", RUN_DIR, strerror(errno));
                return -1;
        }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                errmsg("Opening lock %s: %s", path, strerror(errno));
        return fd;
}

/* Takes the writers' lock, waiting at most LOCK_WAIT_MS; the fd or -1 after a message.
 * Closing the fd releases it. */
static int lock_writers(void)
{
        char path[PATH_MAX];
        int fd = lock_open("routes", path, sizeof(path));
        double deadline = now_ms() + LOCK_WAIT_MS;

        if (fd < 0)
                return -1;
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if ((errno != EWOULDBLOCK && errno != EINTR) || now_ms() >= deadline) {
                        errmsg("Locking %s: %s", path,
                               errno == EWOULDBLOCK ? "another podnet-routes held it for 60 s"
                                                    : strerror(errno));
                        close(fd);
                        return -1;
                }
                (void)poll(NULL, 0, 5);
        }
        return fd;
}

static bool nodes_have_family(const podnet_nodes *nodes, int family)
{
        for (size_t i = 0; i < podnet_nodes_count(nodes); i++)
                for (size_t j = 0; j < podnet_nodes_n_pod_cidrs(nodes, i); j++)
                        if (podnet_cidr_family(podnet_nodes_pod_cidr(nodes, i, j)) == family)
                                return true;
        return false;
}

static void conf_path(const struct opts *o, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s", o->cni_conf_dir, o->cni_conf_name);
}

/* --- sync ---------------------------------------------------------------------------- */

struct node_result {
        int fw_commits; /* -1: skipped */
        int conf;       /* 1 written, 0 unchanged, -1 skipped */
        double route_ms;
};

/* The firewall chains' configuration: sync and run's checks use the same. */
static podnet_fw_config fw_config(const struct opts *o)
{
        return (podnet_fw_config){
            .size = sizeof(podnet_fw_config),
            .cluster_cidrs = (const podnet_cidr *const *)o->cluster,
            .n_cluster_cidrs = o->n_cluster,
            .non_masq_cidrs = (const podnet_cidr *const *)o->non_masq,
            .n_non_masq_cidrs = o->n_non_masq,
            .masquerade = o->masquerade,
        };
}

/* Forwarding and firewall. 0 or -1 after a message. */
static int sync_node_side(podnet_ctx *ctx, const struct opts *o, const podnet_nodes *nodes,
                          struct node_result *res)
{
        podnet_error *err = NULL;
        int r;

        res->fw_commits = -1;
        res->conf = -1;
        if (o->dry_run)
                return 0;
        r = podnet_sysctl_enable_forwarding(ctx, AF_INET, &err);
        if (r < 0)
                return fail_err(err, r, "Enabling IPv4 forwarding"), -1;
        bool v6 = nodes_have_family(nodes, AF_INET6);
        for (size_t i = 0; i < o->n_cluster; i++)
                if (podnet_cidr_family(o->cluster[i]) == AF_INET6)
                        v6 = true;
        if (v6) {
                r = podnet_sysctl_enable_forwarding(ctx, AF_INET6, &err);
                if (r < 0)
                        return fail_err(err, r, "Enabling IPv6 forwarding"), -1;
        }
        if (o->firewall && o->n_cluster == 0) {
                static bool warned;
                if (!warned)
                        errmsg("Warning: no --cluster-cidr: firewall chains not managed");
                warned = true;
        } else if (o->firewall) {
                podnet_fw_config fw = fw_config(o);
                r = podnet_fw_node_ensure(ctx, &fw, &err);
                if (r < 0)
                        return fail_err(err, r, "Installing firewall chains"), -1;
                res->fw_commits = r;
        }
        return 0;
}

/* The refusal of this node's own pod CIDR in the report, or -1. */
static ssize_t own_refusal(const podnet_sync_report *rep, const char *node_name)
{
        for (size_t i = 0; i < podnet_sync_report_count(rep); i++) {
                const char *n = podnet_sync_report_node(rep, i);
                if (podnet_sync_report_action(rep, i) == PODNET_SYNC_REFUSED && n &&
                    strcmp(n, node_name) == 0)
                        return (ssize_t)i;
        }
        return -1;
}

/* The CNI conflist with this node's pod CIDR(s), once the route sync has judged them
 * (`rep`, NULL when it could not): a pod CIDR the library refused (0.0.0.0/0, outside the
 * cluster CIDRs, covering this node's addresses) would become the bridge's on-link
 * prefix, so the old file is kept. 0 or -1 after a message. */
static int sync_cni_conf(const struct opts *o, const podnet_nodes *nodes,
                         const podnet_sync_report *rep, struct node_result *res)
{
        podnet_error *err = NULL;
        char path[PATH_MAX], d[PODNET_CIDR_STRLEN];
        ssize_t refused;
        int r, self;

        if (o->dry_run || !o->cni_conf)
                return 0;
        if (!rep) {
                errmsg("Not writing the CNI configuration: the node list could not be checked");
                return -1;
        }
        refused = own_refusal(rep, o->node_name);
        if (refused >= 0) {
                conf_path(o, path, sizeof(path));
                const char *dst =
                    cidr_str(podnet_sync_report_dst(rep, (size_t)refused), d, sizeof(d));
                errmsg("Refusing this node's pod CIDR %s: %s; %s left as it was", dst ? dst : "?",
                       podnet_sync_report_reason(rep, (size_t)refused), path);
                return -1;
        }
        self = podnet_nodes_find(nodes, o->node_name);
        if (self < 0 || podnet_nodes_n_pod_cidrs(nodes, (size_t)self) == 0) {
                static bool warned;
                if (!warned)
                        errmsg("Warning: %s %s: no CNI configuration written", o->node_name,
                               self < 0 ? "is not in the node list" : "has no pod CIDR yet");
                warned = true;
                return 0;
        }
        const podnet_cidr *cidrs[MAX_CIDRS];
        size_t n = podnet_nodes_n_pod_cidrs(nodes, (size_t)self);
        if (n > MAX_CIDRS)
                n = MAX_CIDRS;
        for (size_t j = 0; j < n; j++)
                cidrs[j] = podnet_nodes_pod_cidr(nodes, (size_t)self, j);
        podnet_conflist_config cc = {
            .size = sizeof(cc),
            .network = o->network,
            .bridge = o->bridge,
            .pod_cidrs = cidrs,
            .n_pod_cidrs = n,
            .mtu = o->mtu,
            .ip_masq = o->cni_ip_masq,
            .data_dir = o->ipam_data_dir,
        };
        conf_path(o, path, sizeof(path));
        r = podnet_conflist_write(&cc, path, &err);
        if (r < 0)
                return fail_err(err, r, "Writing the CNI configuration"), -1;
        res->conf = r;
        return 0;
}

/* Prints what the library formatted; JSON gets its newline. A formatter's failure (out
 * of memory) is reported instead. */
static void print_formatted(int r, char *text, bool json)
{
        if (r < 0)
                errmsg("Formatting the output: %s", strerror(-r));
        else
                printf(json ? "%s\n" : "%s", text);
        free(text);
        fflush(stdout);
}

/* The sync report as JSON, or as text: with the summary line when res is given, the
 * changes only with PODNET_FORMAT_CHANGES. */
static void print_sync(const podnet_sync_report *rep, const struct node_result *res,
                       const struct opts *o, bool json, unsigned flags)
{
        char path[PATH_MAX], *text = NULL;
        podnet_sync_summary s = {.size = sizeof(s), .dry_run = o->dry_run, .conf_path = path};
        int r;

        conf_path(o, path, sizeof(path));
        if (res) {
                s.route_ms = res->route_ms;
                s.fw_commits = res->fw_commits;
                s.conf_written = res->conf;
        }
        if (json)
                r = podnet_sync_report_format_json(rep, &s, &text);
        else
                r = podnet_sync_report_format_text(rep, res ? &s : NULL, flags, &text);
        print_formatted(r, text, json);
}

/* The route sync's configuration: sync, run and status differ only in dry_run. Settings
 * the environment gives (the library reads none) are passed in here. */
static podnet_sync_config sync_config(const struct opts *o, bool dry_run)
{
        return (podnet_sync_config){.size = sizeof(podnet_sync_config),
                                    .node_name = o->node_name,
                                    .protocol = o->protocol,
                                    .table = o->table,
                                    .dry_run = dry_run,
                                    .cluster_cidrs = (const podnet_cidr *const *)o->cluster,
                                    .n_cluster_cidrs = o->n_cluster};
}

/* One full pass. Returns the exit status: 0, 1, 3, or 4 when the node list is not valid
 * (no node, or not this node: the library refuses it and nothing is printed). */
static int do_sync(podnet_ctx *ctx, const struct opts *o, const podnet_nodes *nodes, bool quiet)
{
        podnet_sync_config sc = sync_config(o, o->dry_run);
        podnet_sync_report *rep = NULL;
        podnet_error *err = NULL;
        struct node_result res = {.fw_commits = -1, .conf = -1};
        int r, status = 0;
        double t0;

        if (sync_node_side(ctx, o, nodes, &res) < 0)
                status = EXIT_FAILURE;
        t0 = now_ms();
        r = podnet_routes_sync(ctx, nodes, &sc, &rep, &err);
        res.route_ms = now_ms() - t0;
        if (r < 0) {
                fail_err(err, r, "Syncing routes");
                status = r == -ENODATA ? EXIT_NODES : EXIT_FAILURE;
        }
        /* after the routes: the sync is what judges this node's own pod CIDR; a node
         * list that is not valid changes nothing, the conflist included */
        if (status != EXIT_NODES && sync_cni_conf(o, nodes, rep, &res) < 0)
                status = EXIT_FAILURE;
        if (rep && status != EXIT_NODES) {
                bool changed =
                    podnet_sync_report_writes(rep) > 0 || res.conf == 1 || res.fw_commits > 0;
                if (o->json || !quiet || changed || o->verbose)
                        print_sync(rep, &res, o, o->json, quiet ? PODNET_FORMAT_CHANGES : 0);
                if (status == 0 && (podnet_sync_report_count_action(rep, PODNET_SYNC_UNREACHABLE) ||
                                    podnet_sync_report_count_action(rep, PODNET_SYNC_REFUSED)))
                        status = EXIT_PARTIAL;
        }
        podnet_sync_report_free(rep);
        return status;
}

static int cmd_sync(podnet_ctx *ctx, const struct opts *o)
{
        podnet_nodes *nodes = load_nodes(o);
        int status, lock = -1;

        if (!nodes)
                return EXIT_FAILURE;
        if (!o->dry_run && (lock = lock_writers()) < 0) {
                podnet_nodes_free(nodes);
                return EXIT_FAILURE;
        }
        status = do_sync(ctx, o, nodes, false);
        if (lock >= 0)
                close(lock);
        podnet_nodes_free(nodes);
        return status;
}

/* --- run ----------------------------------------------------------------------------- */

struct agent {
        podnet_ctx *ctx;
        const struct opts *o;
        podnet_nodes *nodes; /* the last valid node list, or NULL */
        podnet_nodes *fresh; /* a fetched list whose pass waits for the lock */
        bool fetched;        /* a fetch ended (fresh NULL: it failed); a full pass is due */
        bool restore;        /* podnet's routes changed: a route pass is due */
        bool quiet;          /* after the first full pass: print only changes */
        bool fw;             /* run's firewall checks are on */
        double next_fetch, next_fw, retry_at;
        int lock_fd; /* the writers' lock file, locked only during a pass */
        struct fetch f;
};

/* A full pass with a fetched list: a valid one replaces the previous, an invalid or
 * missing one leaves it in place. */
static void agent_full_pass(struct agent *a)
{
        if (a->fresh) {
                int status = do_sync(a->ctx, a->o, a->fresh, a->quiet);
                if (status == EXIT_NODES) {
                        podnet_nodes_free(a->fresh);
                        if (a->nodes)
                                errmsg("Keeping the previous node list");
                } else {
                        podnet_nodes_free(a->nodes);
                        a->nodes = a->fresh;
                }
                a->fresh = NULL;
                a->quiet = true;
        } else if (a->nodes) {
                errmsg("Keeping the previous node list");
                do_sync(a->ctx, a->o, a->nodes, a->quiet);
        }
}

/* Restores podnet's routes after a change someone else made. */
static void agent_route_pass(struct agent *a)
{
        podnet_sync_config sc = sync_config(a->o, false);
        podnet_sync_report *rep = NULL;
        podnet_error *err = NULL;
        int r = podnet_routes_sync(a->ctx, a->nodes, &sc, &rep, &err);

        if (r < 0)
                fail_err(err, r, "Restoring routes");
        if (rep && podnet_sync_report_writes(rep) > 0) {
                printf("route change detected: ");
                fflush(stdout);
                print_sync(rep, NULL, a->o, false, PODNET_FORMAT_CHANGES);
        }
        podnet_sync_report_free(rep);
}

/* x_tables sends no events: the chains are checked every --firewall-interval seconds.
 * A check that finds everything in place reads the tables without the xtables lock and
 * writes nothing. */
static void agent_fw_check(struct agent *a)
{
        podnet_fw_config fw = fw_config(a->o);
        podnet_error *err = NULL;
        double t0 = now_ms();
        int r = podnet_fw_node_ensure(a->ctx, &fw, &err);

        if (r < 0)
                fail_err(err, r, "Checking the firewall chains");
        else if (r > 0) {
                printf("firewall chains repaired (%d commit%s)\n", r, r == 1 ? "" : "s");
                fflush(stdout);
        }
        if (a->o->verbose > 1)
                errmsg("Firewall check: %.3f ms", now_ms() - t0);
}

/* Runs the passes that are due, under the writers' lock; when another writer holds it,
 * tries again shortly. */
static void agent_passes(struct agent *a, double now)
{
        bool fw_due = a->fw && now >= a->next_fw;

        if (!a->fetched && !a->restore && !fw_due)
                return;
        if (now < a->retry_at)
                return;
        if (flock(a->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                a->retry_at = now + 20;
                return;
        }
        if (a->fetched) {
                agent_full_pass(a);
                a->fetched = a->restore = false;
                a->next_fetch = now_ms() + a->o->interval * 1000.0;
                a->next_fw = now_ms() + a->o->fw_interval * 1000.0;
        } else {
                if (a->restore && a->nodes)
                        agent_route_pass(a);
                a->restore = false;
                if (fw_due) {
                        agent_fw_check(a);
                        a->next_fw = now_ms() + a->o->fw_interval * 1000.0;
                }
        }
        (void)flock(a->lock_fd, LOCK_UN);
}

/* Starts fetching the node list when it is due, and takes it in when the fetch ends. */
static void agent_fetch(struct agent *a, double now)
{
        const struct opts *o = a->o;

        if (!a->f.pid && !a->fetched && now >= a->next_fetch) {
                if (!o->nodes_cmd)
                        a->fresh = load_nodes(o);
                else if (fetch_start(&a->f, o) == 0)
                        return;
                a->fetched = true;
                return;
        }
        if (a->f.pid && fetch_step(&a->f)) {
                size_t len = 0;
                char *text = fetch_end(&a->f, o, false, &len);
                a->fresh = parse_nodes(text, len, o->nodes_cmd);
                a->fetched = true;
        }
}

/* How long poll() may sleep: until the next thing due. */
static int agent_timeout(const struct agent *a, double now)
{
        double t = 3600e3;

        if (a->fetched || a->restore) /* a pass waits for the lock */
                t = a->retry_at - now;
        if (a->f.pid && fetch_wait_ms(&a->f) < t)
                t = fetch_wait_ms(&a->f);
        else if (!a->f.pid && !a->fetched && a->next_fetch - now < t)
                t = a->next_fetch - now;
        if (a->fw) {
                double w = (a->next_fw > a->retry_at ? a->next_fw : a->retry_at) - now;
                if (w < t)
                        t = w;
        }
        if (t < 0)
                return 0;
        return t >= 3600e3 ? 3600000 : (int)t + 1;
}

static int cmd_run(podnet_ctx *ctx, const struct opts *o)
{
        struct agent a = {.ctx = ctx, .o = o, .lock_fd = -1, .f = {.out = -1, .pidfd = -1}};
        podnet_route_monitor *mon = NULL;
        podnet_error *err = NULL;
        char path[PATH_MAX];
        sigset_t mask;
        int sfd = -1, run_fd, r, status = 0;

        /* one agent per node: a second one refuses to start */
        run_fd = lock_open("routes-run", path, sizeof(path));
        if (run_fd < 0)
                return EXIT_FAILURE;
        if (flock(run_fd, LOCK_EX | LOCK_NB) < 0) {
                bool running = errno == EWOULDBLOCK; /* (errmsg and close may change errno) */
                if (running)
                        errmsg("Another podnet-routes run is already running on this node (it "
                               "holds %s)",
                               path);
                else
                        errmsg("Locking %s: %s", path, strerror(errno));
                close(run_fd);
                return running ? EXIT_RUNNING : EXIT_FAILURE;
        }
        a.lock_fd = lock_open("routes", path, sizeof(path));
        if (a.lock_fd < 0) {
                close(run_fd);
                return EXIT_FAILURE;
        }
        a.fw = o->firewall && o->n_cluster > 0 && !o->dry_run && o->fw_interval > 0;

        stop_signals(&mask);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* a shell starts background commands with SIGINT ignored, and an ignored signal
         * never reaches the signalfd */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_IGN);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                errmsg("Creating a signalfd: %s", strerror(errno));
                status = EXIT_FAILURE;
                goto out;
        }
        r = podnet_route_monitor_new(ctx, &mon, o->protocol, &err);
        if (r < 0) {
                status = fail_err(err, r, "Subscribing to route changes");
                goto out;
        }
        a.next_fetch = now_ms();
        for (;;) {
                struct pollfd pfd[4] = {{.fd = sfd, .events = POLLIN},
                                        {.fd = podnet_route_monitor_fd(mon), .events = POLLIN}};
                double now = now_ms();
                nfds_t n = 2;

                agent_fetch(&a, now);
                agent_passes(&a, now);
                now = now_ms();
                n += fetch_pollfds(&a.f, pfd + 2);
                r = poll(pfd, n, agent_timeout(&a, now));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        errmsg("poll: %s", strerror(errno));
                        status = EXIT_FAILURE;
                        break;
                }
                if (pfd[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        bool stop = false;
                        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                                if (si.ssi_signo != SIGHUP) {
                                        stop = true;
                                } else if (!a.f.pid) {
                                        /* (while a fetch runs, its list is the fresh one) */
                                        if (o->verbose)
                                                errmsg("SIGHUP: resyncing");
                                        a.next_fetch = 0;
                                }
                        }
                        if (stop)
                                break;
                }
                if (pfd[1].revents & POLLIN) {
                        r = podnet_route_monitor_process(mon, &err);
                        if (r < 0) {
                                fail_err(err, r, "Reading route changes");
                                err = NULL;
                        } else if (r > 0) {
                                /* let a burst of changes settle (at most 100 ms), then
                                 * restore in one pass */
                                struct pollfd m = {.fd = podnet_route_monitor_fd(mon),
                                                   .events = POLLIN};
                                double until = now_ms() + 100;
                                while (now_ms() < until && poll(&m, 1, 10) > 0)
                                        (void)podnet_route_monitor_process(mon, NULL);
                                a.restore = true;
                        }
                }
        }
out:
        if (a.f.pid) {
                size_t len;
                free(fetch_end(&a.f, o, true, &len));
        }
        podnet_route_monitor_free(mon);
        podnet_nodes_free(a.nodes);
        podnet_nodes_free(a.fresh);
        if (sfd >= 0)
                close(sfd);
        close(a.lock_fd);
        close(run_fd);
        return status;
}

/* --- status -------------------------------------------------------------------------- */

static int cmd_status(podnet_ctx *ctx, const struct opts *o)
{
        podnet_nodes *nodes = NULL;
        podnet_sync_report *rep = NULL;
        podnet_error *err = NULL;
        char *fw = NULL, *text = NULL;
        bool have_nodes = o->nodes_file || o->nodes_cmd;
        int r;

        if (have_nodes) {
                nodes = load_nodes(o);
                if (!nodes)
                        return EXIT_FAILURE;
        } else if (podnet_nodes_parse(&nodes, "", 0, NULL) < 0) {
                errmsg("Out of memory");
                return EXIT_FAILURE;
        }
        podnet_sync_config sc = sync_config(o, true);
        r = podnet_routes_sync(ctx, nodes, &sc, &rep, &err);
        if (r == -ENODATA) {
                /* an invalid list (or none): the installed routes are still shown */
                if (have_nodes)
                        errmsg("Warning: %s", podnet_error_message(err));
                podnet_error_free(err);
                err = NULL;
        } else if (r < 0) {
                podnet_sync_report_free(rep);
                podnet_nodes_free(nodes);
                return fail_err(err, r, "Reading routes");
        }
        if (o->firewall && podnet_fw_node_dump(ctx, &fw, &err) < 0) {
                errmsg("Warning: %s", err ? podnet_error_message(err) : "cannot list chains");
                podnet_error_free(err);
                err = NULL;
        }
        podnet_status_config st = {
            .size = sizeof(st),
            .node_name = o->node_name,
            .protocol = o->protocol,
            .table = o->table,
            .nodes = have_nodes ? nodes : NULL,
            .firewall = o->firewall,
            .firewall_dump = fw,
        };
        if (o->json)
                r = podnet_status_format_json(rep, &st, &text);
        else
                r = podnet_status_format_text(rep, &st, &text);
        print_formatted(r, text, o->json);
        free(fw);
        podnet_sync_report_free(rep);
        podnet_nodes_free(nodes);
        return 0;
}

/* --- teardown ------------------------------------------------------------------------ */

static int cmd_teardown(podnet_ctx *ctx, const struct opts *o)
{
        podnet_error *err = NULL;
        char path[PATH_MAX];
        int r, status = 0, lock = lock_writers();

        if (lock < 0)
                return EXIT_FAILURE;
        r = podnet_routes_flush(ctx, o->protocol, o->table, &err);
        if (r < 0)
                status = fail_err(err, r, "Removing routes");
        else
                printf("deleted %d route%s of protocol %u\n", r, r == 1 ? "" : "s", o->protocol);
        err = NULL;
        if (o->firewall) {
                r = podnet_fw_node_teardown(ctx, &err);
                if (r < 0)
                        status = fail_err(err, r, "Removing firewall chains");
                else
                        printf("removed podnet firewall chains\n");
                err = NULL;
        }
        if (o->cni_conf) {
                conf_path(o, path, sizeof(path));
                r = podnet_conflist_remove(path, &err);
                if (r == -EEXIST) {
                        errmsg("Warning: %s", podnet_error_message(err));
                        podnet_error_free(err);
                } else if (r < 0) {
                        status = fail_err(err, r, "Removing the CNI configuration");
                } else if (r > 0) {
                        printf("removed %s\n", path);
                }
        }
        close(lock);
        return status;
}

/* --- allocate ------------------------------------------------------------------------ */

static int cmd_allocate(podnet_ctx *ctx, const struct opts *o)
{
        podnet_nodes *nodes;
        podnet_error *err = NULL;
        unsigned masks[MAX_CIDRS];
        size_t *fresh, n_fresh = 0;
        char *text = NULL;
        int r;

        (void)ctx;
        if (o->n_cluster == 0) {
                errmsg("allocate needs --cluster-cidr");
                return EXIT_USAGE;
        }
        nodes = load_nodes(o);
        if (!nodes)
                return EXIT_FAILURE;
        for (size_t c = 0; c < o->n_cluster; c++) {
                bool v4 = podnet_cidr_family(o->cluster[c]) == AF_INET;
                unsigned m = v4 ? o->mask4 : o->mask6;
                masks[c] = m ? m : o->mask ? o->mask : v4 ? 24 : 64;
        }
        /* the nodes without a pod CIDR are the ones podnet_nodes_allocate() serves */
        fresh = calloc(podnet_nodes_count(nodes) + 1, sizeof(*fresh));
        if (!fresh) {
                podnet_nodes_free(nodes);
                errmsg("Out of memory");
                return EXIT_FAILURE;
        }
        for (size_t i = 0; i < podnet_nodes_count(nodes); i++)
                if (podnet_nodes_n_pod_cidrs(nodes, i) == 0)
                        fresh[n_fresh++] = i;
        r = podnet_nodes_allocate(nodes, (const podnet_cidr *const *)o->cluster, masks,
                                  o->n_cluster, &err);
        if (r < 0) {
                free(fresh);
                podnet_nodes_free(nodes);
                return fail_err(err, r, "Allocating pod CIDRs");
        }
        if (o->json) {
                r = podnet_nodes_format_allocation_json(nodes, fresh, n_fresh, &text);
                print_formatted(r, text, true);
        } else if (!o->write_nodes || strcmp(o->write_nodes, "-") != 0) {
                r = podnet_nodes_format_allocation_text(nodes, fresh, n_fresh, &text);
                print_formatted(r, text, false);
        }
        free(fresh);
        r = 0;
        if (o->write_nodes && strcmp(o->write_nodes, "-") == 0) {
                text = NULL;
                r = podnet_nodes_format_json(nodes, &text);
                if (r >= 0)
                        printf("%s\n", text);
                else
                        errmsg("Writing the node list: %s", strerror(-r));
                free(text);
        } else if (o->write_nodes) {
                r = podnet_nodes_write_json(nodes, o->write_nodes, &err);
                if (r < 0)
                        fail_err(err, r, "Writing the node list");
        }
        podnet_nodes_free(nodes);
        return r < 0 ? EXIT_FAILURE : 0;
}

/* --- commands ------------------------------------------------------------------------ */

enum {
        CMD_NODES = 1 << 0, /* needs --nodes or --nodes-cmd */
        CMD_CTX = 1 << 1,   /* talks to the kernel: gets a context */
};

struct command {
        const char *name;
        int (*run)(podnet_ctx *ctx, const struct opts *o);
        unsigned flags;
        const char *help;
};

static const struct command commands[] = {
    {"sync", cmd_sync, CMD_NODES | CMD_CTX,
     "one pass: forwarding, firewall chains, routes, CNI conflist"},
    {"run", cmd_run, CMD_NODES | CMD_CTX,
     "sync, then keep syncing on an interval and on route changes"},
    {"status", cmd_status, CMD_CTX, "routes, firewall chains and peers (--json for programs)"},
    {"teardown", cmd_teardown, CMD_CTX,
     "remove podnet's routes, chains and conflist, nothing else"},
    {"allocate", cmd_allocate, CMD_NODES, "give nodes without a pod CIDR one from --cluster-cidr"},
};

static void usage(FILE *f)
{
        fputs("Usage: podnet-routes [OPTION]... COMMAND\n"
              "Keeps this node's routes to other nodes' pod CIDRs, its forwarding rules and its\n"
              "CNI configuration in step with the cluster's node list.\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(f, "  %-12s%s\n", commands[i].name, commands[i].help);
        fputs("\n"
              "Options:\n"
              "  --nodes FILE                 node list: kubectl JSON or static file ('-': stdin)\n"
              "  --nodes-cmd CMD              command printing the node list (sh -c), re-run\n"
              "                               every interval, e.g. 'kubectl get nodes -o json'\n"
              "  --nodes-timeout SECONDS      kill --nodes-cmd after this long (default 30)\n"
              "  --node-name NAME             this node (default: the host name)\n"
              "  --cluster-cidr CIDR[,CIDR]   cluster CIDRs (firewall, allocate; pod CIDRs\n"
              "                               outside them get no route)\n"
              "  --non-masquerade-cidr CIDR[,CIDR]  not masqueraded (default: cluster CIDRs)\n"
              "  --no-masquerade              no PODNET-POSTROUTING chain\n"
              "  --no-firewall                leave iptables alone\n"
              "  --cni-conf-dir DIR           default /etc/cni/net.d\n"
              "  --cni-conf-name NAME         default 10-podnet.conflist\n"
              "  --no-cni-conf                do not write the CNI conflist\n"
              "  --network-name NAME          CNI network name (default podnet)\n"
              "  --bridge NAME                bridge in the conflist (default cbr0)\n"
              "  --mtu N                      MTU in the conflist (default: the plugin's)\n"
              "  --cni-ip-masq                set ipMasq in the conflist\n"
              "  --ipam-data-dir DIR          host-local dataDir in the conflist\n"
              "  --route-protocol N           route protocol podnet owns (default 44)\n"
              "  --route-table N              routing table (default main, 254)\n"
              "  --interval SECONDS           run: resync interval (default 30)\n"
              "  --firewall-interval SECONDS  run: firewall chain check (default 1, 0: off)\n"
              "  --dry-run                    sync: report what would change, change nothing\n"
              "  --json                       sync, status, allocate: JSON output\n"
              "  --node-cidr-mask-size N      allocate: mask for every family\n"
              "  --node-cidr-mask-size-ipv4 N allocate: IPv4 mask (default 24)\n"
              "  --node-cidr-mask-size-ipv6 N allocate: IPv6 mask (default 64)\n"
              "  --write-nodes FILE           allocate: write the NodeList with allocations\n"
              "  -v, --verbose                log library debug messages to stderr\n"
              "  -h, --help                   this help\n"
              "  -V, --version                version\n"
              "\n"
              "Exit status: 0 done, 1 error, 2 usage error, 3 done but some peers unreachable\n"
              "or refused, 4 node list without any node or without this node (nothing\n"
              "changed), 5 run: another run is already running on this node.\n"
              "See podnet-routes(8).\n",
              f);
}

/* --- options ------------------------------------------------------------------------- */

/* How an option's argument is stored in struct opts (at `off`). */
enum opt_kind {
        OPT_STR,   /* const char * */
        OPT_NAME,  /* const char *, not empty, no '/' (a file name) */
        OPT_UINT,  /* unsigned, min..max */
        OPT_SET,   /* bool = true, no argument */
        OPT_CLEAR, /* bool = false, no argument */
        OPT_CIDRS, /* CIDR list: off is the array, off_n its count */
        OPT_NODE,  /* the node name */
};

struct opt_def {
        const char *name;
        enum opt_kind kind;
        size_t off, off_n;
        unsigned min, max;
};

#define OFF(f) offsetof(struct opts, f)

static const struct opt_def opt_defs[] = {
    {"nodes", OPT_STR, OFF(nodes_file)},
    {"nodes-cmd", OPT_STR, OFF(nodes_cmd)},
    {"node-name", OPT_NODE, OFF(node_name)},
    {"cluster-cidr", OPT_CIDRS, OFF(cluster), OFF(n_cluster)},
    {"non-masquerade-cidr", OPT_CIDRS, OFF(non_masq), OFF(n_non_masq)},
    {"no-masquerade", OPT_CLEAR, OFF(masquerade)},
    {"no-firewall", OPT_CLEAR, OFF(firewall)},
    {"cni-conf-dir", OPT_STR, OFF(cni_conf_dir)},
    {"cni-conf-name", OPT_NAME, OFF(cni_conf_name)},
    {"no-cni-conf", OPT_CLEAR, OFF(cni_conf)},
    {"network-name", OPT_STR, OFF(network)},
    {"bridge", OPT_STR, OFF(bridge)},
    {"mtu", OPT_UINT, OFF(mtu), 0, 68, 65535},
    {"cni-ip-masq", OPT_SET, OFF(cni_ip_masq)},
    {"ipam-data-dir", OPT_STR, OFF(ipam_data_dir)},
    {"route-protocol", OPT_UINT, OFF(protocol), 0, 1, 255},
    {"route-table", OPT_UINT, OFF(table), 0, 1, UINT_MAX},
    {"interval", OPT_UINT, OFF(interval), 0, 1, 86400},
    {"nodes-timeout", OPT_UINT, OFF(nodes_timeout), 0, 1, 86400},
    {"firewall-interval", OPT_UINT, OFF(fw_interval), 0, 0, 86400},
    {"dry-run", OPT_SET, OFF(dry_run)},
    {"json", OPT_SET, OFF(json)},
    {"node-cidr-mask-size", OPT_UINT, OFF(mask), 0, 1, 128},
    {"node-cidr-mask-size-ipv4", OPT_UINT, OFF(mask4), 0, 1, 32},
    {"node-cidr-mask-size-ipv6", OPT_UINT, OFF(mask6), 0, 1, 128},
    {"write-nodes", OPT_STR, OFF(write_nodes)},
};

#define N_OPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

/* Stores one option's argument; 0, or -1 after a message. */
static int set_option(struct opts *o, const struct opt_def *d, char *arg)
{
        char *field = (char *)o + d->off;

        switch (d->kind) {
        case OPT_STR:
                *(const char **)field = arg;
                return 0;
        case OPT_NAME:
                if (!*arg || strchr(arg, '/'))
                        break;
                *(const char **)field = arg;
                return 0;
        case OPT_UINT:
                if (parse_uint(arg, d->min, d->max, (unsigned *)field) < 0)
                        break;
                return 0;
        case OPT_SET:
        case OPT_CLEAR:
                *(bool *)field = d->kind == OPT_SET;
                return 0;
        case OPT_CIDRS: {
                char opt[64];
                snprintf(opt, sizeof(opt), "--%s", d->name);
                return parse_cidr_list(arg, (podnet_cidr **)field, (size_t *)((char *)o + d->off_n),
                                       opt);
        }
        case OPT_NODE:
                if (!*arg || strlen(arg) >= sizeof(o->node_name))
                        break;
                snprintf(o->node_name, sizeof(o->node_name), "%s", arg);
                return 0;
        }
        errmsg("Invalid value for --%s: \"%s\"", d->name, arg);
        return -1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
        struct option longopts[N_OPTS + 4] = {
            [N_OPTS] = {"verbose", no_argument, NULL, 'v'},
            [N_OPTS + 1] = {"help", no_argument, NULL, 'h'},
            [N_OPTS + 2] = {"version", no_argument, NULL, 'V'},
        };
        int c;

        for (size_t i = 0; i < N_OPTS; i++) {
                bool flag = opt_defs[i].kind == OPT_SET || opt_defs[i].kind == OPT_CLEAR;
                longopts[i] = (struct option){
                    opt_defs[i].name, flag ? no_argument : required_argument, NULL, 256 + (int)i};
        }
        while ((c = getopt_long(argc, argv, "vhV", longopts, NULL)) != -1) {
                if (c >= 256 && c < 256 + (int)N_OPTS) {
                        if (set_option(o, &opt_defs[c - 256], optarg) < 0)
                                return -1;
                } else if (c == 'v') {
                        o->verbose++;
                } else if (c == 'h') {
                        usage(stdout);
                        exit(0);
                } else if (c == 'V') {
                        printf("podnet-routes %s\n", podnet_version());
                        exit(0);
                } else {
                        return -1;
                }
        }
        if (optind != argc - 1) {
                errmsg(optind >= argc ? "Missing command" : "Too many arguments");
                return -1;
        }
        o->command = argv[optind];
        return 0;
}

/* --- main ---------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
        struct opts o = {
            .masquerade = true,
            .firewall = true,
            .cni_conf = true,
            .cni_conf_dir = "/etc/cni/net.d",
            .cni_conf_name = "10-podnet.conflist",
            .network = "podnet",
            .bridge = "cbr0",
            .protocol = PODNET_ROUTE_PROTOCOL,
            .table = 254,
            .interval = 30,
            .nodes_timeout = 30,
            .fw_interval = 1,
        };
        const struct command *cmd = NULL;
        podnet_ctx *ctx = NULL;
        int status;

        if (parse_args(argc, argv, &o) < 0) {
                fputs("Try 'podnet-routes --help'.\n", stderr);
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(o.command, commands[i].name) == 0)
                        cmd = &commands[i];
        if (!cmd) {
                errmsg("Unknown command \"%s\"", o.command);
                return EXIT_USAGE;
        }
        if ((cmd->flags & CMD_NODES) && !o.nodes_file == !o.nodes_cmd) {
                errmsg("%s needs exactly one of --nodes and --nodes-cmd", o.command);
                return EXIT_USAGE;
        }
        if (o.nodes_file && o.nodes_cmd) {
                errmsg("--nodes and --nodes-cmd exclude each other");
                return EXIT_USAGE;
        }
        if (!o.node_name[0]) {
                if (gethostname(o.node_name, sizeof(o.node_name) - 1) < 0) {
                        errmsg("Cannot get the host name: %s; use --node-name", strerror(errno));
                        return EXIT_FAILURE;
                }
                /* kubelet registers the lower-cased host name */
                for (char *p = o.node_name; *p; p++)
                        *p = (char)tolower((unsigned char)*p);
        }
        if (cmd->flags & CMD_CTX) {
                /* The lock file iptables(8) takes, where its own variable moves it. */
                if (podnet_ctx_new(&ctx) < 0 ||
                    podnet_ctx_set_xtables_lock(ctx, secure_getenv("XTABLES_LOCKFILE")) < 0) {
                        errmsg("Out of memory");
                        status = EXIT_FAILURE;
                        goto out;
                }
                if (o.verbose) {
                        podnet_ctx_set_log_fn(ctx, log_stderr, NULL);
                        podnet_ctx_set_log_priority(ctx, LOG_DEBUG);
                }
        }
        status = cmd->run(ctx, &o);
        podnet_ctx_unref(ctx);
out:
        for (size_t i = 0; i < o.n_cluster; i++)
                podnet_cidr_free(o.cluster[i]);
        for (size_t i = 0; i < o.n_non_masq; i++)
                podnet_cidr_free(o.non_masq[i]);
        return status;
}

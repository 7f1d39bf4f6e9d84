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

static void usage(FILE *f)
{
        fputs("Usage: podnet-routes [OPTION]... COMMAND\n"
              "Keeps this node's routes to other nodes' pod CIDRs, its forwarding rules and its\n"
              "CNI configuration in step with the cluster's node list.\n"
              "\n"
              "Commands:\n"
              "  sync        one pass: forwarding, firewall chains, routes, CNI conflist\n"
              "  run         sync, then keep syncing on an interval and on route changes\n"
              "  status      routes, firewall chains and peers (--json for programs)\n"
              "  teardown    remove podnet's routes, chains and conflist, nothing else\n"
              "  allocate    give nodes without a pod CIDR one from --cluster-cidr\n"
              "\n"
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

/* --- small helpers ------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
        if (!s) {
                fputs("null", f);
                return;
        }
        fputc('"', f);
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < 0x20)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

static const char *cidr_str(const podnet_cidr *c, char *buf, size_t size)
{
        if (!c || podnet_cidr_format(c, buf, size) < 0)
                return NULL;
        return buf;
}

static const char *addr_str(const podnet_cidr *c, char *buf, size_t size)
{
        if (!c || podnet_cidr_format_addr(c, buf, size) < 0)
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

static void print_report_text(const podnet_sync_report *rep, bool changes_only)
{
        for (size_t i = 0; i < podnet_sync_report_count(rep); i++) {
                podnet_sync_action a = podnet_sync_report_action(rep, i);
                char d[PODNET_CIDR_STRLEN], v[PODNET_CIDR_STRLEN];
                const char *dst = cidr_str(podnet_sync_report_dst(rep, i), d, sizeof(d));
                const char *via = addr_str(podnet_sync_report_via(rep, i), v, sizeof(v));
                const char *node = podnet_sync_report_node(rep, i);
                const char *why = podnet_sync_report_reason(rep, i);

                if (changes_only && a == PODNET_SYNC_KEPT)
                        continue;
                printf("%-11s %s", podnet_sync_action_name(a), dst ? dst : "-");
                if (via)
                        printf(" via %s", via);
                if (node)
                        printf(" (%s)", node);
                if (why && a != PODNET_SYNC_KEPT)
                        printf(": %s", why);
                putchar('\n');
        }
}

static void print_summary_text(const podnet_sync_report *rep, const struct node_result *res,
                               const struct opts *o)
{
        printf("%s%zu added, %zu replaced, %zu deleted, %zu kept, %zu unreachable, %zu skipped, "
               "%zu refused, %zu failed; %zu route writes",
               o->dry_run ? "dry run: " : "",
               podnet_sync_report_count_action(rep, PODNET_SYNC_ADDED),
               podnet_sync_report_count_action(rep, PODNET_SYNC_REPLACED),
               podnet_sync_report_count_action(rep, PODNET_SYNC_DELETED),
               podnet_sync_report_count_action(rep, PODNET_SYNC_KEPT),
               podnet_sync_report_count_action(rep, PODNET_SYNC_UNREACHABLE),
               podnet_sync_report_count_action(rep, PODNET_SYNC_SKIPPED),
               podnet_sync_report_count_action(rep, PODNET_SYNC_REFUSED),
               podnet_sync_report_count_action(rep, PODNET_SYNC_FAILED),
               podnet_sync_report_writes(rep));
        if (res->fw_commits >= 0)
                printf(", %d firewall commits", res->fw_commits);
        if (res->conf >= 0)
                printf(", CNI conf %s", res->conf ? "written" : "unchanged");
        printf(" (routes %.1f ms)\n", res->route_ms);
}

static void print_report_json(const podnet_sync_report *rep, const struct node_result *res,
                              const struct opts *o)
{
        static const podnet_sync_action actions[] = {
            PODNET_SYNC_ADDED,       PODNET_SYNC_REPLACED, PODNET_SYNC_DELETED, PODNET_SYNC_KEPT,
            PODNET_SYNC_UNREACHABLE, PODNET_SYNC_SKIPPED,  PODNET_SYNC_REFUSED, PODNET_SYNC_FAILED,
        };
        char path[PATH_MAX];

        printf("{\"routes\":[");
        for (size_t i = 0; i < podnet_sync_report_count(rep); i++) {
                char d[PODNET_CIDR_STRLEN], v[PODNET_CIDR_STRLEN];
                printf("%s{\"action\":", i ? "," : "");
                json_str(stdout, podnet_sync_action_name(podnet_sync_report_action(rep, i)));
                printf(",\"dst\":");
                json_str(stdout, cidr_str(podnet_sync_report_dst(rep, i), d, sizeof(d)));
                printf(",\"via\":");
                json_str(stdout, addr_str(podnet_sync_report_via(rep, i), v, sizeof(v)));
                printf(",\"node\":");
                json_str(stdout, podnet_sync_report_node(rep, i));
                printf(",\"reason\":");
                json_str(stdout, podnet_sync_report_reason(rep, i));
                printf("}");
        }
        printf("],\"summary\":{");
        for (size_t k = 0; k < sizeof(actions) / sizeof(actions[0]); k++)
                printf("\"%s\":%zu,", podnet_sync_action_name(actions[k]),
                       podnet_sync_report_count_action(rep, actions[k]));
        printf("\"writes\":%zu,\"dryRun\":%s,\"routeSyncMs\":%.3f}", podnet_sync_report_writes(rep),
               o->dry_run ? "true" : "false", res->route_ms);
        printf(",\"firewallCommits\":");
        if (res->fw_commits >= 0)
                printf("%d", res->fw_commits);
        else
                printf("null");
        conf_path(o, path, sizeof(path));
        printf(",\"cniConf\":{\"path\":");
        json_str(stdout, path);
        printf(",\"written\":%s}}\n", res->conf < 0 ? "null" : res->conf ? "true" : "false");
}

/* The route sync's configuration: sync, run and status differ only in dry_run. */
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
                if (o->json)
                        print_report_json(rep, &res, o);
                else if (!quiet || changed || o->verbose) {
                        print_report_text(rep, quiet);
                        print_summary_text(rep, &res, o);
                }
                fflush(stdout);
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
                print_report_text(rep, true);
                fflush(stdout);
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

static const char *state_name(podnet_sync_action a, bool have_nodes)
{
        switch (a) {
        case PODNET_SYNC_KEPT:
                return "ok";
        case PODNET_SYNC_ADDED:
                return "missing";
        case PODNET_SYNC_REPLACED:
                return "wrong-gateway";
        case PODNET_SYNC_DELETED:
                return have_nodes ? "stale" : "installed";
        case PODNET_SYNC_UNREACHABLE:
                return "unreachable";
        case PODNET_SYNC_SKIPPED:
                return "skipped";
        case PODNET_SYNC_REFUSED:
                return "refused";
        default:
                return "failed";
        }
}

/* A peer's state: the worst of its routes' states, and that entry's reason (*why, may be
 * NULL). This node is "self", or "refused" when its own pod CIDR is. */
static const char *peer_state(const podnet_sync_report *rep, const char *name, bool self,
                              const char **why)
{
        static const podnet_sync_action worst[] = {
            PODNET_SYNC_REFUSED,  PODNET_SYNC_FAILED, PODNET_SYNC_UNREACHABLE, PODNET_SYNC_SKIPPED,
            PODNET_SYNC_REPLACED, PODNET_SYNC_ADDED,  PODNET_SYNC_KEPT};
        *why = NULL;
        for (size_t k = 0; k < sizeof(worst) / sizeof(worst[0]); k++)
                for (size_t i = 0; i < podnet_sync_report_count(rep); i++) {
                        const char *n = podnet_sync_report_node(rep, i);
                        if (!n || strcmp(n, name) != 0 ||
                            podnet_sync_report_action(rep, i) != worst[k])
                                continue;
                        *why = podnet_sync_report_reason(rep, i);
                        return state_name(worst[k], true);
                }
        return self ? "self" : "unknown";
}

static int cmd_status(podnet_ctx *ctx, const struct opts *o)
{
        podnet_nodes *nodes = NULL;
        podnet_sync_report *rep = NULL;
        podnet_error *err = NULL;
        char *fw = NULL;
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

        if (o->json) {
                bool first = true;
                printf("{\"node\":");
                json_str(stdout, o->node_name);
                printf(",\"protocol\":%u,\"table\":%u,\"routes\":[", o->protocol, o->table);
                for (size_t i = 0; i < podnet_sync_report_count(rep); i++) {
                        char d[PODNET_CIDR_STRLEN], v[PODNET_CIDR_STRLEN];
                        const char *dst = cidr_str(podnet_sync_report_dst(rep, i), d, sizeof(d));
                        if (!dst)
                                continue;
                        printf("%s{\"dst\":", first ? "" : ",");
                        first = false;
                        json_str(stdout, dst);
                        printf(",\"via\":");
                        json_str(stdout, addr_str(podnet_sync_report_via(rep, i), v, sizeof(v)));
                        printf(",\"node\":");
                        json_str(stdout, podnet_sync_report_node(rep, i));
                        printf(",\"state\":");
                        json_str(stdout, state_name(podnet_sync_report_action(rep, i), have_nodes));
                        printf(",\"reason\":");
                        json_str(stdout, podnet_sync_report_reason(rep, i));
                        printf("}");
                }
                printf("],\"peers\":[");
                for (size_t i = 0; i < podnet_nodes_count(nodes); i++) {
                        const char *name = podnet_nodes_name(nodes, i);
                        char a[PODNET_CIDR_STRLEN];
                        printf("%s{\"name\":", i ? "," : "");
                        json_str(stdout, name);
                        printf(",\"podCIDRs\":[");
                        for (size_t j = 0; j < podnet_nodes_n_pod_cidrs(nodes, i); j++) {
                                printf("%s", j ? "," : "");
                                json_str(stdout, cidr_str(podnet_nodes_pod_cidr(nodes, i, j), a,
                                                          sizeof(a)));
                        }
                        printf("],\"addresses\":[");
                        bool f2 = true;
                        for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
                                const char *s =
                                    addr_str(podnet_nodes_address(nodes, i, fam), a, sizeof(a));
                                if (!s)
                                        continue;
                                printf("%s", f2 ? "" : ",");
                                f2 = false;
                                json_str(stdout, s);
                        }
                        const char *why;
                        printf("],\"state\":");
                        json_str(stdout,
                                 peer_state(rep, name, strcmp(name, o->node_name) == 0, &why));
                        printf(",\"reason\":");
                        json_str(stdout, why);
                        printf("}");
                }
                printf("],\"firewall\":");
                json_str(stdout, fw);
                printf("}\n");
        } else {
                printf("ROUTES (protocol %u, table %u)\n", o->protocol, o->table);
                printf("%-24s %-26s %-20s %s\n", "DESTINATION", "VIA", "NODE", "STATE");
                for (size_t i = 0; i < podnet_sync_report_count(rep); i++) {
                        char d[PODNET_CIDR_STRLEN], v[PODNET_CIDR_STRLEN];
                        const char *dst = cidr_str(podnet_sync_report_dst(rep, i), d, sizeof(d));
                        const char *via = addr_str(podnet_sync_report_via(rep, i), v, sizeof(v));
                        const char *node = podnet_sync_report_node(rep, i);
                        const char *why = podnet_sync_report_reason(rep, i);
                        podnet_sync_action a = podnet_sync_report_action(rep, i);
                        if (!dst)
                                continue;
                        printf("%-24s %-26s %-20s %s", dst, via ? via : "-", node ? node : "-",
                               state_name(a, have_nodes));
                        if (why && (a == PODNET_SYNC_UNREACHABLE || a == PODNET_SYNC_REFUSED))
                                printf(" (%s)", why);
                        putchar('\n');
                }
                if (have_nodes) {
                        printf("\nPEERS\n%-20s %-34s %-26s %s\n", "NODE", "POD CIDRS", "ADDRESS",
                               "STATE");
                        for (size_t i = 0; i < podnet_nodes_count(nodes); i++) {
                                const char *name = podnet_nodes_name(nodes, i);
                                char cidrs[256] = "", a[PODNET_CIDR_STRLEN];
                                size_t len = 0;
                                for (size_t j = 0; j < podnet_nodes_n_pod_cidrs(nodes, i); j++) {
                                        const char *c = cidr_str(podnet_nodes_pod_cidr(nodes, i, j),
                                                                 a, sizeof(a));
                                        len += (size_t)snprintf(cidrs + len, sizeof(cidrs) - len,
                                                                "%s%s", j ? "," : "", c ? c : "?");
                                        if (len >= sizeof(cidrs))
                                                break;
                                }
                                const char *ad =
                                    addr_str(podnet_nodes_address(nodes, i, AF_INET), a, sizeof(a));
                                if (!ad)
                                        ad = addr_str(podnet_nodes_address(nodes, i, AF_INET6), a,
                                                      sizeof(a));
                                const char *why,
                                    *state = peer_state(rep, name, strcmp(name, o->node_name) == 0,
                                                        &why);
                                printf("%-20s %-34s %-26s %s", name, *cidrs ? cidrs : "-",
                                       ad ? ad : "-", state);
                                if (why && strcmp(state, "refused") == 0)
                                        printf(" (%s)", why);
                                putchar('\n');
                        }
                }
                if (o->firewall)
                        printf("\nFIREWALL\n%s", fw && *fw ? fw : "(no podnet chains)\n");
        }
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

static int write_file(const char *path, const char *text)
{
        char tmp[PATH_MAX];
        int fd;
        size_t len = strlen(text), off = 0;

        if (strcmp(path, "-") == 0) {
                fputs(text, stdout);
                return 0;
        }
        if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
                return -ENAMETOOLONG;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while (off < len) {
                ssize_t k = write(fd, text + off, len - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int e = errno;
                        close(fd);
                        unlink(tmp);
                        return -e;
                }
                off += (size_t)k;
        }
        if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
                int e = errno;
                unlink(tmp);
                return -e;
        }
        return 0;
}

static int cmd_allocate(const struct opts *o)
{
        podnet_nodes *nodes;
        podnet_error *err = NULL;
        unsigned masks[MAX_CIDRS];
        bool *had;
        int r;

        if (o->n_cluster == 0) {
                errmsg("allocate needs --cluster-cidr");
                return EXIT_USAGE;
        }
        nodes = load_nodes(o);
        if (!nodes)
                return EXIT_FAILURE;
        for (size_t c = 0; c < o->n_cluster; c++) {
                bool v4 = podnet_cidr_family(o->cluster[c]) == AF_INET;
                masks[c] = v4 ? (o->mask4  ? o->mask4
                                 : o->mask ? o->mask
                                           : 24)
                              : (o->mask6  ? o->mask6
                                 : o->mask ? o->mask
                                           : 64);
        }
        had = calloc(podnet_nodes_count(nodes) + 1, sizeof(*had));
        if (!had) {
                podnet_nodes_free(nodes);
                errmsg("Out of memory");
                return EXIT_FAILURE;
        }
        for (size_t i = 0; i < podnet_nodes_count(nodes); i++)
                had[i] = podnet_nodes_n_pod_cidrs(nodes, i) > 0;
        r = podnet_nodes_allocate(nodes, (const podnet_cidr *const *)o->cluster, masks,
                                  o->n_cluster, &err);
        if (r < 0) {
                free(had);
                podnet_nodes_free(nodes);
                return fail_err(err, r, "Allocating pod CIDRs");
        }
        if (o->json)
                printf("{\"allocated\":[");
        for (size_t i = 0, k = 0; i < podnet_nodes_count(nodes); i++) {
                char c[PODNET_CIDR_STRLEN], list[512] = "";
                size_t len = 0;

                if (had[i])
                        continue;
                for (size_t j = 0; j < podnet_nodes_n_pod_cidrs(nodes, i); j++)
                        len += (size_t)snprintf(
                            list + len, sizeof(list) - len, "%s\"%s\"", j ? "," : "",
                            cidr_str(podnet_nodes_pod_cidr(nodes, i, j), c, sizeof(c)));
                cidr_str(podnet_nodes_pod_cidr(nodes, i, 0), c, sizeof(c));
                if (o->json)
                        printf("%s{\"name\":\"%s\",\"podCIDRs\":[%s]}", k++ ? "," : "",
                               podnet_nodes_name(nodes, i), list);
                else if (!o->write_nodes || strcmp(o->write_nodes, "-") != 0)
                        printf("kubectl patch node %s --type merge -p "
                               "'{\"spec\":{\"podCIDR\":\"%s\",\"podCIDRs\":[%s]}}'\n",
                               podnet_nodes_name(nodes, i), c, list);
        }
        if (o->json)
                printf("],\"count\":%d}\n", r);
        fflush(stdout);
        free(had);
        if (o->write_nodes) {
                char *text = NULL;
                r = podnet_nodes_format_json(nodes, &text);
                if (r >= 0) {
                        size_t l = strlen(text);
                        char *t2 = realloc(text, l + 2);
                        if (t2) {
                                text = t2;
                                strcpy(text + l, "\n");
                        }
                        r = write_file(o->write_nodes, text);
                }
                free(text);
                if (r < 0) {
                        errmsg("Writing %s: %s", o->write_nodes, strerror(-r));
                        podnet_nodes_free(nodes);
                        return EXIT_FAILURE;
                }
        }
        podnet_nodes_free(nodes);
        return 0;
}

/* --- main ---------------------------------------------------------------------------- */

enum {
        OPT_NODES = 256,
        OPT_NODES_CMD,
        OPT_NODE_NAME,
        OPT_CLUSTER_CIDR,
        OPT_NON_MASQ,
        OPT_NO_MASQ,
        OPT_NO_FIREWALL,
        OPT_CNI_CONF_DIR,
        OPT_CNI_CONF_NAME,
        OPT_NO_CNI_CONF,
        OPT_NETWORK,
        OPT_BRIDGE,
        OPT_MTU,
        OPT_CNI_IP_MASQ,
        OPT_IPAM_DATA_DIR,
        OPT_PROTOCOL,
        OPT_TABLE,
        OPT_INTERVAL,
        OPT_NODES_TIMEOUT,
        OPT_FW_INTERVAL,
        OPT_DRY_RUN,
        OPT_JSON,
        OPT_MASK,
        OPT_MASK4,
        OPT_MASK6,
        OPT_WRITE_NODES,
};

static const struct option longopts[] = {
    {"nodes", required_argument, NULL, OPT_NODES},
    {"nodes-cmd", required_argument, NULL, OPT_NODES_CMD},
    {"node-name", required_argument, NULL, OPT_NODE_NAME},
    {"cluster-cidr", required_argument, NULL, OPT_CLUSTER_CIDR},
    {"non-masquerade-cidr", required_argument, NULL, OPT_NON_MASQ},
    {"no-masquerade", no_argument, NULL, OPT_NO_MASQ},
    {"no-firewall", no_argument, NULL, OPT_NO_FIREWALL},
    {"cni-conf-dir", required_argument, NULL, OPT_CNI_CONF_DIR},
    {"cni-conf-name", required_argument, NULL, OPT_CNI_CONF_NAME},
    {"no-cni-conf", no_argument, NULL, OPT_NO_CNI_CONF},
    {"network-name", required_argument, NULL, OPT_NETWORK},
    {"bridge", required_argument, NULL, OPT_BRIDGE},
    {"mtu", required_argument, NULL, OPT_MTU},
    {"cni-ip-masq", no_argument, NULL, OPT_CNI_IP_MASQ},
    {"ipam-data-dir", required_argument, NULL, OPT_IPAM_DATA_DIR},
    {"route-protocol", required_argument, NULL, OPT_PROTOCOL},
    {"route-table", required_argument, NULL, OPT_TABLE},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"nodes-timeout", required_argument, NULL, OPT_NODES_TIMEOUT},
    {"firewall-interval", required_argument, NULL, OPT_FW_INTERVAL},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"json", no_argument, NULL, OPT_JSON},
    {"node-cidr-mask-size", required_argument, NULL, OPT_MASK},
    {"node-cidr-mask-size-ipv4", required_argument, NULL, OPT_MASK4},
    {"node-cidr-mask-size-ipv6", required_argument, NULL, OPT_MASK6},
    {"write-nodes", required_argument, NULL, OPT_WRITE_NODES},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static int bad_value(const char *opt, const char *value)
{
        errmsg("Invalid value for --%s: \"%s\"", opt, value);
        return -1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
        int c, idx = 0;

        while ((c = getopt_long(argc, argv, "vhV", longopts, &idx)) != -1) {
                const char *name = c >= OPT_NODES ? longopts[idx].name : "";
                switch (c) {
                case OPT_NODES:
                        o->nodes_file = optarg;
                        break;
                case OPT_NODES_CMD:
                        o->nodes_cmd = optarg;
                        break;
                case OPT_NODE_NAME:
                        if (!*optarg || strlen(optarg) >= sizeof(o->node_name))
                                return bad_value(name, optarg);
                        snprintf(o->node_name, sizeof(o->node_name), "%s", optarg);
                        break;
                case OPT_CLUSTER_CIDR:
                        if (parse_cidr_list(optarg, o->cluster, &o->n_cluster, "--cluster-cidr") <
                            0)
                                return -1;
                        break;
                case OPT_NON_MASQ:
                        if (parse_cidr_list(optarg, o->non_masq, &o->n_non_masq,
                                            "--non-masquerade-cidr") < 0)
                                return -1;
                        break;
                case OPT_NO_MASQ:
                        o->masquerade = false;
                        break;
                case OPT_NO_FIREWALL:
                        o->firewall = false;
                        break;
                case OPT_CNI_CONF_DIR:
                        o->cni_conf_dir = optarg;
                        break;
                case OPT_CNI_CONF_NAME:
                        if (!*optarg || strchr(optarg, '/'))
                                return bad_value(name, optarg);
                        o->cni_conf_name = optarg;
                        break;
                case OPT_NO_CNI_CONF:
                        o->cni_conf = false;
                        break;
                case OPT_NETWORK:
                        o->network = optarg;
                        break;
                case OPT_BRIDGE:
                        o->bridge = optarg;
                        break;
                case OPT_MTU:
                        if (parse_uint(optarg, 68, 65535, &o->mtu) < 0)
                                return bad_value(name, optarg);
                        break;
                case OPT_CNI_IP_MASQ:
                        o->cni_ip_masq = true;
                        break;
                case OPT_IPAM_DATA_DIR:
                        o->ipam_data_dir = optarg;
                        break;
                case OPT_PROTOCOL:
                        if (parse_uint(optarg, 1, 255, &o->protocol) < 0)
                                return bad_value(name, optarg);
                        break;
                case OPT_TABLE:
                        if (parse_uint(optarg, 1, UINT_MAX, &o->table) < 0)
                                return bad_value(name, optarg);
                        break;
                case OPT_INTERVAL:
                        if (parse_uint(optarg, 1, 86400, &o->interval) < 0)
                                return bad_value(name, optarg);
                        break;
                case OPT_NODES_TIMEOUT:
                        if (parse_uint(optarg, 1, 86400, &o->nodes_timeout) < 0)
                                return bad_value(name, optarg);
                        break;
                case OPT_FW_INTERVAL:
                        if (parse_uint(optarg, 0, 86400, &o->fw_interval) < 0)
                                return bad_value(name, optarg);
                        break;
                case OPT_DRY_RUN:
                        o->dry_run = true;
                        break;
                case OPT_JSON:
                        o->json = true;
                        break;
                case OPT_MASK:
                        if (parse_uint(optarg, 1, 128, &o->mask) < 0)
                                return bad_value(name, optarg);
                        break;
                case OPT_MASK4:
                        if (parse_uint(optarg, 1, 32, &o->mask4) < 0)
                                return bad_value(name, optarg);
                        break;
                case OPT_MASK6:
                        if (parse_uint(optarg, 1, 128, &o->mask6) < 0)
                                return bad_value(name, optarg);
                        break;
                case OPT_WRITE_NODES:
                        o->write_nodes = optarg;
                        break;
                case 'v':
                        o->verbose++;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                case 'V':
                        printf("podnet-routes %s\n", podnet_version());
                        exit(0);
                default:
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
        podnet_ctx *ctx = NULL;
        bool needs_nodes;
        int status;

        if (parse_args(argc, argv, &o) < 0) {
                fputs("Try 'podnet-routes --help'.\n", stderr);
                return EXIT_USAGE;
        }
        needs_nodes = !strcmp(o.command, "sync") || !strcmp(o.command, "run") ||
                      !strcmp(o.command, "allocate");
        if (strcmp(o.command, "sync") && strcmp(o.command, "run") && strcmp(o.command, "status") &&
            strcmp(o.command, "teardown") && strcmp(o.command, "allocate")) {
                errmsg("Unknown command \"%s\"", o.command);
                return EXIT_USAGE;
        }
        if (needs_nodes && !o.nodes_file == !o.nodes_cmd) {
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
        if (!strcmp(o.command, "allocate")) {
                status = cmd_allocate(&o);
                goto out;
        }
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
        if (!strcmp(o.command, "sync"))
                status = cmd_sync(ctx, &o);
        else if (!strcmp(o.command, "run"))
                status = cmd_run(ctx, &o);
        else if (!strcmp(o.command, "status"))
                status = cmd_status(ctx, &o);
        else
                status = cmd_teardown(ctx, &o);
        podnet_ctx_unref(ctx);
out:
        for (size_t i = 0; i < o.n_cluster; i++)
                podnet_cidr_free(o.cluster[i]);
        for (size_t i = 0; i < o.n_non_masq; i++)
                podnet_cidr_free(o.non_masq[i]);
        return status;
}

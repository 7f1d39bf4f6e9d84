/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * podnet-routes: the node agent's command line. Parses the options into libpodnet's agent
 * configuration (podnet_agent_new(3)), runs one command from the table below, and prints
 * what the library returns. See podnet-routes(8).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>

#include <dlfcn.h>
#include <microhttpd.h>
#include <podnet/podnet.h>

/* libmicrohttpd is loaded when --metrics-addr asks for the server (mhd_load()), not at
 * start: it brings GnuTLS and a dozen more libraries that every other command would load
 * for nothing, several milliseconds per exec. Its header still checks the calls. */
static struct {
        __typeof__(MHD_start_daemon) *start_daemon;
        __typeof__(MHD_stop_daemon) *stop_daemon;
        __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
        __typeof__(MHD_add_response_header) *add_response_header;
        __typeof__(MHD_queue_response) *queue_response;
        __typeof__(MHD_destroy_response) *destroy_response;
} mhd_fn;
#define MHD_start_daemon mhd_fn.start_daemon
#define MHD_stop_daemon mhd_fn.stop_daemon
#define MHD_create_response_from_buffer mhd_fn.create_response_from_buffer
#define MHD_add_response_header mhd_fn.add_response_header
#define MHD_queue_response mhd_fn.queue_response
#define MHD_destroy_response mhd_fn.destroy_response

/* Loads libmicrohttpd (its soname since 0.9.53) and fills mhd_fn; NULL, or dlerror()'s reason. */
static const char *mhd_load(void)
{
        static const char *const names[] = {
            "MHD_start_daemon",          "MHD_stop_daemon",    "MHD_create_response_from_buffer",
            "MHD_add_response_header",   "MHD_queue_response", "MHD_destroy_response",
        };
        _Static_assert(sizeof(names) / sizeof(*names) * sizeof(void *) == sizeof(mhd_fn),
                       "one name per libmicrohttpd function of the table");
        void **table = (void **)&mhd_fn;
        void *h = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL);
        const char *e;

        if (!h)
                return (e = dlerror()) ? e : "dlopen failed";
        for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
                if (!(table[i] = dlsym(h, names[i])))
                        return (e = dlerror()) ? e : names[i];
        return NULL;
}

enum { EXIT_USAGE = 2, EXIT_PARTIAL = 3, EXIT_NODES = 4, EXIT_RUNNING = 5, EXIT_FW_DROP = 6 };

#define MAX_CIDRS 8

struct opts {
        const char *command;
        podnet_agent_config ac;    /* node source, firewall, routes, run's intervals */
        podnet_conflist_config cc; /* the conflist's network, bridge, MTU, ipMasq, dataDir */
        char node_name[256];
        podnet_cidr *cluster[MAX_CIDRS];
        size_t n_cluster;
        podnet_cidr *non_masq[MAX_CIDRS];
        size_t n_non_masq;
        bool cni_conf, json;
        const char *cni_conf_dir, *cni_conf_name, *write_nodes;
        char *kubeconfig_env; /* the first file of $KUBECONFIG */
        char conf_path[PATH_MAX];
        unsigned mask, mask4, mask6;
        int verbose;
        const char *metrics_addr; /* run: where /metrics and /healthz are served; NULL: off */
        struct sockaddr_storage metrics_ss; /* (parsed) */
        unsigned source_max;      /* run: seconds the node source may fail before /healthz does */
        bool watch;               /* allocate --watch: the allocator controller */
        const char *lease_name, *lease_ns, *lease_identity;
        unsigned lease_ms, renew_ms, retry_ms; /* (0: the library's defaults) */
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

/* The library's messages: failures, warnings, and with -v its debug messages. */
static void log_stderr(podnet_ctx *ctx, void *userdata, int prio, const char *msg)
{
        (void)ctx;
        (void)userdata;
        fprintf(stderr, "podnet-routes: %s%s\n", prio == LOG_WARNING ? "Warning: " : "", msg);
}

/* --- small helpers ------------------------------------------------------------------- */

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

/* --- the node list ------------------------------------------------------------------- */

/* Blocks the signals that end podnet-routes (SIGHUP: run resyncs) and returns a signalfd
 * that takes them (-1 if none could be had), the previous mask in *old. */
static int stop_signals(sigset_t *old)
{
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, old);
        return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Gets the node list from --nodes or --nodes-cmd; NULL after a message. SIGTERM, SIGINT
 * or SIGHUP while the command runs kill its group, then end this process as they would
 * have (a file or standard input is read with the signals left alone). */
static podnet_nodes *load_nodes(podnet_agent *agent, const struct opts *o)
{
        struct signalfd_siginfo si;
        podnet_nodes *nodes = NULL;
        sigset_t old;
        int sfd = o->ac.nodes_cmd || o->ac.kube ? stop_signals(&old) : -1, r;

        r = podnet_agent_load_nodes(agent, sfd, &nodes);
        if (r == -ECANCELED && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                signal((int)si.ssi_signo, SIG_DFL);
                sigprocmask(SIG_SETMASK, &old, NULL);
                raise((int)si.ssi_signo);
                _exit(128 + (int)si.ssi_signo); /* (not reached) */
        }
        if (o->ac.nodes_cmd || o->ac.kube) {
                if (sfd >= 0)
                        close(sfd);
                sigprocmask(SIG_SETMASK, &old, NULL);
        }
        return nodes;
}

/* --- printing ------------------------------------------------------------------------ */

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

/* The sync report as JSON, or as text: with the summary line when sum is given, the
 * changes only with PODNET_FORMAT_CHANGES. */
static void print_sync(const podnet_sync_report *rep, const podnet_sync_summary *sum,
                       const struct opts *o, bool json, unsigned flags)
{
        podnet_sync_summary s = {.size = sizeof(s), .dry_run = o->ac.dry_run};
        char *text = NULL;
        int r;

        if (sum)
                s = *sum;
        s.conf_path = o->conf_path; /* (shown also where podnet-routes does not write it) */
        if (json)
                r = podnet_sync_report_format_json(rep, &s, &text);
        else
                r = podnet_sync_report_format_text(rep, sum ? &s : NULL, flags, &text);
        print_formatted(r, text, json);
}

/* What a pass of sync or run prints: after run's first full pass, only changes. */
static void print_pass(podnet_agent *agent, const podnet_agent_pass *p, void *userdata)
{
        const struct opts *o = userdata;

        (void)agent;
        if (p->kind == PODNET_AGENT_PASS_FULL && p->report &&
            (o->json || p->first || p->changed || o->verbose)) {
                print_sync(p->report, p->summary, o, o->json, p->first ? 0 : PODNET_FORMAT_CHANGES);
        } else if (p->kind == PODNET_AGENT_PASS_ROUTES && p->report && p->changed) {
                printf(p->partial ? "nodes changed: " : "route change detected: ");
                fflush(stdout);
                print_sync(p->report, NULL, o, false, PODNET_FORMAT_CHANGES);
        } else if (p->kind == PODNET_AGENT_PASS_FIREWALL) {
                if (p->fw_commits > 0) {
                        printf("firewall chains repaired (%d commit%s)\n", p->fw_commits,
                               p->fw_commits == 1 ? "" : "s");
                        fflush(stdout);
                }
                if (o->verbose > 1)
                        errmsg("Firewall check: %.3f ms", p->ms);
        }
}

/* --- commands ------------------------------------------------------------------------ */

static int cmd_sync(podnet_agent *agent, const struct opts *o)
{
        podnet_agent_pass pass = {.size = sizeof(pass)};
        podnet_nodes *nodes = load_nodes(agent, o);
        int r;

        if (!nodes)
                return EXIT_FAILURE;
        r = podnet_agent_sync(agent, nodes, &pass);
        print_pass(agent, &pass, (void *)o);
        podnet_nodes_free(nodes);
        if (r == -ENODATA)
                return EXIT_NODES; /* (the library refused the list: nothing printed) */
        if (r < 0)
                return EXIT_FAILURE;
        /* all pod traffic lost outweighs some peers unreachable (the library warned) */
        if (pass.fw_drop_chain)
                return EXIT_FW_DROP;
        if (podnet_sync_report_count_action(pass.report, PODNET_SYNC_UNREACHABLE) ||
            podnet_sync_report_count_action(pass.report, PODNET_SYNC_REFUSED))
                return EXIT_PARTIAL;
        return 0;
}

/* --- /metrics and /healthz ---------------------------------------------------------- */

/* libmicrohttpd serves them from a thread of its own (MHD_USE_INTERNAL_POLLING_THREAD):
 * the agent's loop stays as it is, and a request reads only a snapshot of the agent's
 * statistics (podnet_agent_metrics(3) may run beside podnet_agent_run()), so a slow or
 * stuck scraper never delays a sync, and a long pass never leaves a probe unanswered. */
struct metrics_server {
        podnet_agent *agent;
        unsigned source_max;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body)
{
        struct MHD_Response *resp;
        enum MHD_Result r;

        resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        r = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **state)
{
        static const char *const text = "text/plain; charset=utf-8";
        const struct metrics_server *m = cls;
        char *body = NULL, *why = NULL;
        int r;

        (void)version;
        (void)upload;
        (void)upload_size;
        (void)state;
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
                return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, strdup("GET only\n"));
        if (strcmp(url, "/metrics") == 0) {
                r = podnet_agent_metrics(m->agent, &body);
                if (r < 0)
                        return MHD_NO;
                return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body);
        }
        if (strcmp(url, "/healthz") == 0) {
                r = podnet_agent_health(m->agent, m->source_max, &why);
                if (r < 0)
                        return MHD_NO;
                if (r > 0)
                        return reply(c, MHD_HTTP_OK, text, strdup("ok\n"));
                if (asprintf(&body, "%s\n", why) < 0)
                        body = NULL;
                free(why);
                return body ? reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, text, body) : MHD_NO;
        }
        return reply(c, MHD_HTTP_NOT_FOUND, text, strdup("Not found: /metrics, /healthz\n"));
}

/* ADDRESS:PORT, [IPv6]:PORT or :PORT (every address) into *ss; 0, or -1 after a message. */
static int parse_listen_addr(const char *arg, struct sockaddr_storage *ss)
{
        struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        const char *colon = strrchr(arg, ':');
        char host[INET6_ADDRSTRLEN + 2];
        unsigned port;
        size_t n;

        memset(ss, 0, sizeof(*ss));
        if (!colon || parse_uint(colon + 1, 1, 65535, &port) < 0)
                goto bad;
        n = (size_t)(colon - arg);
        if (n >= sizeof(host))
                goto bad;
        memcpy(host, arg, n);
        host[n] = '\0';
        if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
                host[n - 1] = '\0';
                if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
                        goto bad;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t)port);
                return 0;
        }
        if (n == 0) {
                in4->sin_addr.s_addr = htonl(INADDR_ANY);
        } else if (inet_pton(AF_INET, host, &in4->sin_addr) != 1) {
                goto bad;
        }
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        return 0;
bad:
        errmsg("Invalid value for --metrics-addr: \"%s\" (ADDRESS:PORT, [IPv6]:PORT or :PORT, "
               "e.g. 127.0.0.1:9633)",
               arg);
        return -1;
}

/* Starts the server on --metrics-addr (parsed into *ss); NULL after a message. Its thread
 * inherits the caller's signal mask: call with the stop signals blocked. */
static struct MHD_Daemon *metrics_start(struct metrics_server *m, const char *addr,
                                        const struct sockaddr_storage *ss)
{
        struct MHD_Daemon *d;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

        const char *why = mhd_load();

        if (why) {
                errmsg("Cannot serve metrics on %s: loading libmicrohttpd: %s", addr, why);
                return NULL;
        }
        if (ss->ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        /* a few connections at a time: probes and one scraper, each answered at once */
        d = MHD_start_daemon(flags, 0, NULL, NULL, serve, m, MHD_OPTION_SOCK_ADDR,
                             (const struct sockaddr *)ss, MHD_OPTION_CONNECTION_LIMIT, 16u,
                             MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
        if (!d)
                errmsg("Cannot serve metrics on %s: %s", addr,
                       errno ? strerror(errno) : "libmicrohttpd failed to start");
        return d;
}

static int cmd_run(podnet_agent *agent, const struct opts *o)
{
        podnet_error *err = NULL;
        struct metrics_server ms = {agent, o->source_max};
        struct MHD_Daemon *mhd = NULL;
        sigset_t old;
        int sfd, r;

        sfd = stop_signals(&old);
        /* a shell starts background commands with SIGINT ignored, and an ignored signal
         * never reaches the signalfd */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_IGN);
        if (sfd < 0) {
                errmsg("Creating a signalfd: %s", strerror(errno));
                return EXIT_FAILURE;
        }
        if (o->metrics_addr) {
                errno = 0;
                mhd = metrics_start(&ms, o->metrics_addr, &o->metrics_ss);
                if (!mhd) {
                        close(sfd);
                        return EXIT_FAILURE;
                }
        }
        /* the agent returns when a signal is there: SIGHUP resyncs, the others stop it */
        while ((r = podnet_agent_run(agent, sfd, &err)) == 0) {
                struct signalfd_siginfo si;
                bool stop = false;

                while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                        if (si.ssi_signo != SIGHUP)
                                stop = true;
                        else if (podnet_agent_resync(agent) > 0 && o->verbose)
                                errmsg("SIGHUP: resyncing");
                }
                if (stop)
                        break;
        }
        close(sfd);
        if (mhd)
                MHD_stop_daemon(mhd);
        if (r < 0)
                fail_err(err, r, "Running");
        return r == -EBUSY ? EXIT_RUNNING : r < 0 ? EXIT_FAILURE : 0;
}

static int cmd_status(podnet_agent *agent, const struct opts *o)
{
        podnet_nodes *nodes = NULL;
        char *text = NULL;
        int r;

        if ((o->ac.nodes_file || o->ac.nodes_cmd || o->ac.kube) && !(nodes = load_nodes(agent, o)))
                return EXIT_FAILURE;
        r = podnet_agent_status(agent, nodes, o->json ? PODNET_AGENT_JSON : 0, &text);
        podnet_nodes_free(nodes);
        if (r < 0)
                return EXIT_FAILURE; /* (the library said why) */
        print_formatted(r, text, o->json);
        return 0;
}

static int cmd_teardown(podnet_agent *agent, const struct opts *o)
{
        podnet_agent_teardown_result t = {.size = sizeof(t)};
        int r = podnet_agent_teardown(agent, &t);

        if (t.routes >= 0)
                printf("deleted %d route%s of protocol %u\n", t.routes, t.routes == 1 ? "" : "s",
                       o->ac.protocol);
        if (t.firewall >= 0)
                printf("removed podnet firewall chains\n");
        if (t.conf > 0)
                printf("removed %s\n", o->conf_path);
        return r < 0 ? EXIT_FAILURE : 0;
}

static int masks_fill(const struct opts *o, unsigned *masks)
{
        for (size_t c = 0; c < o->n_cluster; c++) {
                bool v4 = podnet_cidr_family(o->cluster[c]) == AF_INET;
                unsigned m = v4 ? o->mask4 : o->mask6;
                masks[c] = m ? m : o->mask ? o->mask : v4 ? 24 : 64;
        }
        return 0;
}

/* allocate --watch: the allocator controller until SIGTERM or SIGINT (the Lease is
 * released then). */
static int cmd_allocate_watch(podnet_agent *agent, const struct opts *o)
{
        podnet_error *err = NULL;
        unsigned masks[MAX_CIDRS];
        char host[256] = "", identity[300];
        podnet_allocator_config ac = {
            .size = sizeof(ac),
            .mask_sizes = masks,
            .lease_name = o->lease_name,
            .lease_namespace = o->lease_ns,
            .identity = o->lease_identity,
            .lease_duration_ms = o->lease_ms,
            .renew_deadline_ms = o->renew_ms,
            .retry_period_ms = o->retry_ms,
        };
        sigset_t mask, old;
        int sfd, r;

        masks_fill(o, masks);
        if (!ac.identity) {
                /* client-go's habit: the host name and something unique to this process */
                if (gethostname(host, sizeof(host) - 1) < 0)
                        snprintf(host, sizeof(host), "unknown");
                snprintf(identity, sizeof(identity), "%s_%d", host, (int)getpid());
                ac.identity = identity;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, &old);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_IGN);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                errmsg("Creating a signalfd: %s", strerror(errno));
                return EXIT_FAILURE;
        }
        r = podnet_agent_allocate_watch(agent, &ac, sfd, &err);
        {
                /* taken here, so that unblocking does not deliver it: the Lease is
                 * released, the exit is a clean one */
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                        ;
        }
        close(sfd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return fail_err(err, r, "Allocating pod CIDRs");
        return 0;
}

static int cmd_allocate(podnet_agent *agent, const struct opts *o)
{
        bool to_stdout = o->write_nodes && strcmp(o->write_nodes, "-") == 0;
        podnet_error *err = NULL;
        podnet_nodes *nodes;
        unsigned masks[MAX_CIDRS];
        char *text = NULL;
        int r;

        if (o->n_cluster == 0) {
                errmsg("allocate needs --cluster-cidr");
                return EXIT_USAGE;
        }
        if (o->watch)
                return cmd_allocate_watch(agent, o);
        if (!(nodes = load_nodes(agent, o)))
                return EXIT_FAILURE;
        masks_fill(o, masks);
        /* with --write-nodes -, the NodeList alone goes to standard output */
        r = podnet_agent_allocate(agent, nodes, masks, o->json ? PODNET_AGENT_JSON : 0,
                                  o->json || !to_stdout ? &text : NULL, &err);
        if (r < 0) {
                podnet_nodes_free(nodes);
                return fail_err(err, r, "Allocating pod CIDRs");
        }
        if (text)
                print_formatted(0, text, o->json);
        if (to_stdout) {
                text = NULL;
                r = podnet_nodes_format_json(nodes, &text);
                if (r >= 0)
                        printf("%s\n", text);
                else
                        errmsg("Writing the node list: %s", strerror(-r));
                free(text);
        } else if (o->write_nodes &&
                   (r = podnet_nodes_write_json(nodes, o->write_nodes, &err)) < 0) {
                fail_err(err, r, "Writing the node list");
        }
        podnet_nodes_free(nodes);
        return r < 0 ? EXIT_FAILURE : 0;
}

enum {
        CMD_NODES = 1 << 0, /* needs --nodes or --nodes-cmd */
};

struct command {
        const char *name;
        int (*run)(podnet_agent *agent, const struct opts *o);
        unsigned flags;
        const char *help;
};

static const struct command commands[] = {
    {"sync", cmd_sync, CMD_NODES, "one pass: forwarding, firewall chains, routes, CNI conflist"},
    {"run", cmd_run, CMD_NODES, "sync, then keep syncing on an interval and on route changes"},
    {"status", cmd_status, 0, "routes, firewall chains and peers (--json for programs)"},
    {"teardown", cmd_teardown, 0, "remove podnet's routes, VXLAN device, chains and conflist, nothing else"},
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
              "  --kube                       node list from the Kubernetes API (LIST, then WATCH);\n"
              "                               the default in a pod (KUBERNETES_SERVICE_HOST set)\n"
              "  --kubeconfig FILE            the API's address and credentials (implies --kube;\n"
              "                               default $KUBECONFIG, in-cluster, ~/.kube/config)\n"
              "  --kube-service-account-dir DIR  in-cluster token and ca.crt (default\n"
              "                               /var/run/secrets/kubernetes.io/serviceaccount)\n"
              "  --node-name NAME             this node (default: the host name)\n"
              "  --cluster-cidr CIDR[,CIDR]   cluster CIDRs (firewall, allocate; pod CIDRs\n"
              "                               outside them get no route)\n"
              "  --non-masquerade-cidr CIDR[,CIDR]  not masqueraded (default: cluster CIDRs)\n"
              "  --no-masquerade              no PODNET-POSTROUTING chain\n"
              "  --firewall BACKEND           auto (default: the backend the host's other\n"
              "                               firewall users use), iptables-legacy,\n"
              "                               iptables-nft, or none\n"
              "  --no-firewall                leave the firewall alone (--firewall none)\n"
              "  --nft-accept-chain FAMILY:TABLE:CHAIN  insert podnet's accepts for the\n"
              "                               cluster CIDRs into this nftables chain (e.g.\n"
              "                               inet:filter:forward, policy drop)\n"
              "  --cni-conf-dir DIR           default /etc/cni/net.d\n"
              "  --cni-conf-name NAME         default 10-podnet.conflist\n"
              "  --no-cni-conf                do not write the CNI conflist\n"
              "  --network-name NAME          CNI network name (default podnet)\n"
              "  --bridge NAME                bridge in the conflist (default cbr0)\n"
              "  --mtu N                      MTU in the conflist (default: the overlay's,\n"
              "                               the underlay's less 50 (IPv4) or 70 (IPv6),\n"
              "                               unless --overlay never: then the plugin's)\n"
              "  --overlay MODE               auto (default: cross-subnet, and direct peers\n"
              "                               verified), cross-subnet, always, or never\n"
              "  --vxlan-vni N                VXLAN network identifier (default 1)\n"
              "  --vxlan-port N               VXLAN UDP port (default 4789; flannel's: 8472)\n"
              "  --vxlan-dev NAME             VXLAN device (default podnet.vx)\n"
              "  --cni-ip-masq                set ipMasq in the conflist\n"
              "  --ipam-data-dir DIR          host-local dataDir in the conflist\n"
              "  --route-protocol N           route protocol podnet owns (default 44)\n"
              "  --route-table N              routing table (default main, 254)\n"
              "  --interval SECONDS           run: resync interval (default 30)\n"
              "  --firewall-interval SECONDS  run: firewall chain check (default 1, 0: off)\n"
              "  --metrics-addr ADDR:PORT     run: serve /metrics and /healthz there (HTTP;\n"
              "                               e.g. 127.0.0.1:9633, :9633 every address)\n"
              "  --healthz-source-timeout SECONDS  run: /healthz fails when the node source\n"
              "                               has failed this long (default 60, 0: never)\n"
              "  --dry-run                    sync: report what would change, change nothing\n"
              "  --json                       sync, status, allocate: JSON output\n"
              "  --node-cidr-mask-size N      allocate: mask for every family\n"
              "  --node-cidr-mask-size-ipv4 N allocate: IPv4 mask (default 24)\n"
              "  --node-cidr-mask-size-ipv6 N allocate: IPv6 mask (default 64)\n"
              "  --write-nodes FILE           allocate: write the NodeList with allocations\n"
              "  --watch                      allocate: keep allocating to new Nodes (a controller\n"
              "                               on the Kubernetes API, leader elected on a Lease)\n"
              "  --lease-name NAME            allocate --watch: the Lease (default podnet-allocator)\n"
              "  --lease-namespace NS         allocate --watch: its namespace (default kube-system)\n"
              "  --lease-identity ID          allocate --watch: this replica (default HOST_PID)\n"
              "  --lease-duration SECONDS     allocate --watch: how long a leader's Lease holds\n"
              "                               without renewal (default 15)\n"
              "  --renew-deadline SECONDS     allocate --watch: a leader that has not renewed\n"
              "                               for this long stops allocating (default 10)\n"
              "  --retry-period SECONDS       allocate --watch: between two tries (default 2)\n"
              "  -v, --verbose                log library debug messages to stderr\n"
              "  -h, --help                   this help\n"
              "  -V, --version                version\n"
              "\n"
              "Exit status: 0 done, 1 error, 2 usage error, 3 done but some peers unreachable\n"
              "or refused, 4 node list without any node or without this node (nothing\n"
              "changed), 5 run: another run is already running on this node, 6 sync: done\n"
              "but an nftables forward chain podnet does not own drops pod traffic.\n"
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
        OPT_FW,    /* the firewall backend's name, or none */
        OPT_MS,    /* unsigned milliseconds, given as seconds with a fraction */
};

struct opt_def {
        const char *name;
        enum opt_kind kind;
        size_t off, off_n;
        unsigned min, max;
};

#define OFF(f) offsetof(struct opts, f)

static const struct opt_def opt_defs[] = {
    {"nodes", OPT_STR, OFF(ac.nodes_file)},
    {"nodes-cmd", OPT_STR, OFF(ac.nodes_cmd)},
    {"node-name", OPT_NODE, OFF(node_name)},
    {"cluster-cidr", OPT_CIDRS, OFF(cluster), OFF(n_cluster)},
    {"non-masquerade-cidr", OPT_CIDRS, OFF(non_masq), OFF(n_non_masq)},
    {"no-masquerade", OPT_CLEAR, OFF(ac.masquerade)},
    {"no-firewall", OPT_CLEAR, OFF(ac.firewall)},
    {"firewall", OPT_FW, OFF(ac.fw_backend)},
    {"nft-accept-chain", OPT_STR, OFF(ac.nft_accept_chain)},
    {"cni-conf-dir", OPT_STR, OFF(cni_conf_dir)},
    {"cni-conf-name", OPT_NAME, OFF(cni_conf_name)},
    {"no-cni-conf", OPT_CLEAR, OFF(cni_conf)},
    {"network-name", OPT_STR, OFF(cc.network)},
    {"bridge", OPT_STR, OFF(cc.bridge)},
    {"mtu", OPT_UINT, OFF(cc.mtu), 0, 68, 65535},
    {"cni-ip-masq", OPT_SET, OFF(cc.ip_masq)},
    {"ipam-data-dir", OPT_STR, OFF(cc.data_dir)},
    {"route-protocol", OPT_UINT, OFF(ac.protocol), 0, 1, 255},
    {"route-table", OPT_UINT, OFF(ac.table), 0, 1, UINT_MAX},
    {"interval", OPT_UINT, OFF(ac.interval), 0, 1, 86400},
    {"nodes-timeout", OPT_UINT, OFF(ac.nodes_timeout), 0, 1, 86400},
    {"firewall-interval", OPT_UINT, OFF(ac.fw_interval), 0, 0, 86400},
    {"dry-run", OPT_SET, OFF(ac.dry_run)},
    {"json", OPT_SET, OFF(json)},
    {"node-cidr-mask-size", OPT_UINT, OFF(mask), 0, 1, 128},
    {"node-cidr-mask-size-ipv4", OPT_UINT, OFF(mask4), 0, 1, 32},
    {"node-cidr-mask-size-ipv6", OPT_UINT, OFF(mask6), 0, 1, 128},
    {"write-nodes", OPT_STR, OFF(write_nodes)},
    {"metrics-addr", OPT_STR, OFF(metrics_addr)},
    {"healthz-source-timeout", OPT_UINT, OFF(source_max), 0, 0, 86400},
    {"kube", OPT_SET, OFF(ac.kube)},
    {"kubeconfig", OPT_STR, OFF(ac.kubeconfig)},
    {"kube-service-account-dir", OPT_STR, OFF(ac.kube_sa_dir)},
    {"overlay", OPT_STR, OFF(ac.overlay)},
    {"vxlan-vni", OPT_UINT, OFF(ac.vxlan_vni), 0, 1, 16777215},
    {"vxlan-port", OPT_UINT, OFF(ac.vxlan_port), 0, 1, 65535},
    {"vxlan-dev", OPT_STR, OFF(ac.vxlan_dev)},
    {"watch", OPT_SET, OFF(watch)},
    {"lease-name", OPT_STR, OFF(lease_name)},
    {"lease-namespace", OPT_STR, OFF(lease_ns)},
    {"lease-identity", OPT_STR, OFF(lease_identity)},
    {"lease-duration", OPT_MS, OFF(lease_ms), 0, 1, 86400000},
    {"renew-deadline", OPT_MS, OFF(renew_ms), 0, 1, 86400000},
    {"retry-period", OPT_MS, OFF(retry_ms), 0, 1, 86400000},
};

#define N_OPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

/* --firewall's choices (the library knows the backends; "none" is this program's). */
static const char *const fw_names[] = {"auto", "iptables-legacy", "iptables-nft", "none"};

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
        case OPT_MS: {
                char *end;
                double v;
                errno = 0;
                v = strtod(arg, &end);
                if (errno || end == arg || *end || !(v * 1000 >= d->min && v * 1000 <= d->max))
                        break;
                *(unsigned *)field = (unsigned)(v * 1000 + 0.5);
                return 0;
        }
        case OPT_FW:
                for (size_t i = 0; i < sizeof(fw_names) / sizeof(fw_names[0]); i++)
                        if (strcmp(arg, fw_names[i]) == 0) {
                                *(const char **)field = fw_names[i];
                                o->ac.firewall = strcmp(arg, "none") != 0;
                                return 0;
                        }
                errmsg("Invalid value for --%s: \"%s\" (auto, iptables-legacy, iptables-nft "
                       "or none)",
                       d->name, arg);
                return -1;
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

/* The Kubernetes API as the node source: --kube or --kubeconfig; by default (no --nodes,
 * --nodes-cmd) when in-cluster configuration is present (KUBERNETES_SERVICE_HOST set).
 * Which configuration: --kubeconfig, else $KUBECONFIG's first file, else in-cluster, else
 * ~/.kube/config (client-go's order). */
static int kube_settle(struct opts *o, const struct command *cmd)
{
        podnet_agent_config *ac = &o->ac;
        const char *host = secure_getenv("KUBERNETES_SERVICE_HOST");
        const char *env = secure_getenv("KUBECONFIG"), *home = secure_getenv("HOME");

        if (ac->kubeconfig)
                ac->kube = true;
        if (ac->kube && (ac->nodes_file || ac->nodes_cmd)) {
                errmsg("--kube and --kubeconfig exclude --nodes and --nodes-cmd");
                return -1;
        }
        if (!ac->kube && !ac->nodes_file && !ac->nodes_cmd && (cmd->flags & CMD_NODES) && host &&
            *host)
                ac->kube = true;
        if (!ac->kube || ac->kubeconfig)
                return 0;
        if (env && *env) {
                o->kubeconfig_env = strndup(env, strcspn(env, ":"));
                ac->kubeconfig = o->kubeconfig_env;
        } else if (host && *host) {
                ac->kube_host = host;
                ac->kube_port = secure_getenv("KUBERNETES_SERVICE_PORT");
        } else if (home && asprintf(&o->kubeconfig_env, "%s/.kube/config", home) >= 0) {
                ac->kubeconfig = o->kubeconfig_env;
        }
        return 0;
}

/* Checks the options against the command, fills in what the options leave to this
 * program (the node name, the conflist's path, the CIDR lists). 0, or an exit status. */
static int settle_options(struct opts *o, const struct command *cmd)
{
        podnet_agent_config *ac = &o->ac;
        const char *no_nh;

        if (kube_settle(o, cmd) < 0)
                return EXIT_USAGE;
        if ((cmd->flags & CMD_NODES) && !ac->kube && !ac->nodes_file == !ac->nodes_cmd) {
                errmsg("%s needs exactly one of --nodes, --nodes-cmd and --kube", o->command);
                return EXIT_USAGE;
        }
        if (o->watch && (cmd->run != cmd_allocate || !ac->kube)) {
                errmsg(cmd->run != cmd_allocate ? "--watch is for allocate only"
                                                 : "allocate --watch needs the Kubernetes API "
                                                   "(--kube, --kubeconfig or in-cluster)");
                return EXIT_USAGE;
        }
        if ((o->lease_name || o->lease_ns || o->lease_identity || o->lease_ms || o->renew_ms ||
             o->retry_ms) && !o->watch) {
                errmsg("The --lease-* options, --renew-deadline and --retry-period are for "
                       "allocate --watch");
                return EXIT_USAGE;
        }
        if (o->metrics_addr && cmd->run != cmd_run) {
                errmsg("--metrics-addr is for run only");
                return EXIT_USAGE;
        }
        if (o->metrics_addr && parse_listen_addr(o->metrics_addr, &o->metrics_ss) < 0)
                return EXIT_USAGE;
        if (ac->nodes_file && ac->nodes_cmd) {
                errmsg("--nodes and --nodes-cmd exclude each other");
                return EXIT_USAGE;
        }
        if (!o->node_name[0]) {
                if (gethostname(o->node_name, sizeof(o->node_name) - 1) < 0) {
                        errmsg("Cannot get the host name: %s; use --node-name", strerror(errno));
                        return EXIT_FAILURE;
                }
                /* kubelet registers the lower-cased host name */
                for (char *p = o->node_name; *p; p++)
                        *p = (char)tolower((unsigned char)*p);
        }
        if (ac->overlay && strcmp(ac->overlay, "never") != 0 &&
            strcmp(ac->overlay, "cross-subnet") != 0 && strcmp(ac->overlay, "always") != 0 &&
            strcmp(ac->overlay, "auto") != 0) {
                errmsg("--overlay: \"%s\" is not auto, cross-subnet, always or never",
                       ac->overlay);
                return EXIT_USAGE;
        }
        snprintf(o->conf_path, sizeof(o->conf_path), "%s/%s", o->cni_conf_dir, o->cni_conf_name);
        ac->node_name = o->node_name;
        ac->cni_conf_path = o->cni_conf ? o->conf_path : NULL;
        ac->conflist = &o->cc;
        ac->cluster_cidrs = (const podnet_cidr *const *)o->cluster;
        ac->n_cluster_cidrs = o->n_cluster;
        ac->non_masq_cidrs = (const podnet_cidr *const *)o->non_masq;
        ac->n_non_masq_cidrs = o->n_non_masq;
        ac->on_pass = print_pass;
        ac->userdata = o;
        /* plain routes where the kernel has nexthop objects: for tests and benchmarks (the
         * library reads no environment) */
        no_nh = secure_getenv("PODNET_NO_NEXTHOP");
        ac->no_nexthops = no_nh && *no_nh && strcmp(no_nh, "0") != 0;
        return 0;
}

int main(int argc, char **argv)
{
        struct opts o = {
            .ac = {.size = sizeof(podnet_agent_config),
                   .masquerade = true,
                   .firewall = true,
                   .fw_backend = "auto",
                   .protocol = PODNET_ROUTE_PROTOCOL,
                   .table = 254,
                   .interval = 30,
                   .nodes_timeout = 30,
                   .fw_interval = 1},
            .cc = {.size = sizeof(podnet_conflist_config), .network = "podnet", .bridge = "cbr0"},
            .cni_conf = true,
            .cni_conf_dir = "/etc/cni/net.d",
            .cni_conf_name = "10-podnet.conflist",
            .source_max = 60,
        };
        const struct command *cmd = NULL;
        podnet_ctx *ctx = NULL;
        podnet_agent *agent = NULL;
        podnet_error *err = NULL;
        int r, status;

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
        status = settle_options(&o, cmd);
        if (status)
                goto out;
        /* The lock file iptables(8) takes, where its own variable moves it. */
        if (podnet_ctx_new(&ctx) < 0 ||
            podnet_ctx_set_xtables_lock(ctx, secure_getenv("XTABLES_LOCKFILE")) < 0) {
                errmsg("Out of memory");
                status = EXIT_FAILURE;
                goto out;
        }
        podnet_ctx_set_log_fn(ctx, log_stderr, NULL);
        /* the allocator says what it gives and who leads */
        podnet_ctx_set_log_priority(ctx, o.verbose ? LOG_DEBUG : o.watch ? LOG_INFO : LOG_WARNING);
        r = podnet_agent_new(ctx, &o.ac, &agent, &err);
        status = r < 0 ? fail_err(err, r, "Creating the node agent") : cmd->run(agent, &o);
out:
        podnet_agent_free(agent);
        podnet_ctx_unref(ctx);
        for (size_t i = 0; i < o.n_cluster; i++)
                podnet_cidr_free(o.cluster[i]);
        for (size_t i = 0; i < o.n_non_masq; i++)
                podnet_cidr_free(o.non_masq[i]);
        return status;
}

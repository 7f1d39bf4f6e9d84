/* pn-resync: the in-process resync of `podnet-routes run` measured alone: loads a node
 * list file once, then calls podnet_routes_sync() N times in one process, as the agent's
 * periodic resync does every interval, and prints each call's time and kernel writes and
 * the median of the calls after the first. Unlike a fresh `podnet-routes sync` per
 * resync, this excludes program start-up and the first touch of the memory a sync uses
 * (on a virtual machine a page fault can cost tens of microseconds). Used by
 * bench/overlay-bench.sh. Run it with LD_LIBRARY_PATH pointing at another build's
 * libpodnet.so to measure that build (the call is in the PODNET_0.1 ABI). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <podnet/podnet.h>

#define MAX_CALLS 1000

static void usage(FILE *f)
{
        fprintf(f, "Usage: pn-resync [-n CALLS] [-o MODE] [-N NODE] [-C CLUSTER_CIDR] [-v] NODES_FILE\n"
                   "Calls podnet_routes_sync() CALLS times (default 20) in this process with\n"
                   "--overlay MODE (default always), node NODE (default bench-node), cluster CIDR\n"
                   "CLUSTER_CIDR (default 10.0.0.0/8), no firewall, and prints per call\n"
                   "\"call I MS WRITES FAULTS\" (FAULTS: the page faults of the call), then\n"
                   "\"median MS WRITES_MAX\" over the calls after the first. -v logs the library's\n"
                   "debug messages (the stage times) to stderr.\n");
}

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void log_stderr(podnet_ctx *ctx, void *userdata, int priority, const char *msg)
{
        (void)ctx;
        (void)userdata;
        (void)priority;
        fprintf(stderr, "%s\n", msg);
}

static long minor_faults(void)
{
        struct rusage ru;

        return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : 0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

static char *read_file(const char *path, size_t *len)
{
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t cap = 0, n = 0, k;

        if (!f)
                return NULL;
        do {
                if (n == cap) {
                        char *p = realloc(buf, cap = cap ? 2 * cap : 1 << 20);
                        if (!p) {
                                free(buf);
                                fclose(f);
                                return NULL;
                        }
                        buf = p;
                }
                k = fread(buf + n, 1, cap - n, f);
                n += k;
        } while (k > 0);
        if (ferror(f)) {
                free(buf);
                buf = NULL;
        }
        fclose(f);
        *len = n;
        return buf;
}

int main(int argc, char **argv)
{
        const char *mode = "always", *node = "bench-node", *cluster = "10.0.0.0/8";
        podnet_ctx *ctx = NULL;
        podnet_nodes *nodes = NULL;
        podnet_cidr *cc = NULL;
        podnet_error *err = NULL;
        double ms[MAX_CALLS];
        size_t len, writes_max = 0;
        int calls = 20, verbose = 0, opt, r;
        char *text;

        while ((opt = getopt(argc, argv, "n:o:N:C:vh")) != -1) {
                switch (opt) {
                case 'n':
                        calls = atoi(optarg);
                        break;
                case 'o':
                        mode = optarg;
                        break;
                case 'N':
                        node = optarg;
                        break;
                case 'C':
                        cluster = optarg;
                        break;
                case 'v':
                        verbose = 1;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind != argc - 1 || calls < 1 || calls > MAX_CALLS) {
                usage(stderr);
                return 2;
        }
        text = read_file(argv[optind], &len);
        if (!text) {
                fprintf(stderr, "pn-resync: reading %s: %s\n", argv[optind], strerror(errno));
                return 1;
        }
        r = podnet_ctx_new(&ctx);
        if (r >= 0)
                r = podnet_nodes_parse(&nodes, text, len, &err);
        if (r >= 0)
                r = podnet_cidr_parse(&cc, cluster);
        free(text);
        if (r < 0) {
                fprintf(stderr, "pn-resync: %s\n", err ? podnet_error_message(err) : strerror(-r));
                return 1;
        }
        if (verbose) {
                podnet_ctx_set_log_fn(ctx, log_stderr, NULL);
                podnet_ctx_set_log_priority(ctx, LOG_DEBUG);
        }
        const podnet_cidr *ccs[1] = {cc};
        podnet_sync_config cfg = {.size = sizeof(cfg),
                                  .node_name = node,
                                  .cluster_cidrs = ccs,
                                  .n_cluster_cidrs = 1,
                                  .overlay = mode};
        for (int i = 0; i < calls; i++) {
                podnet_sync_report *rep = NULL;
                size_t w;
                long f0 = minor_faults();
                double t0 = now_ms();

                r = podnet_routes_sync(ctx, nodes, &cfg, &rep, &err);
                ms[i] = now_ms() - t0;
                f0 = minor_faults() - f0;
                if (r < 0) {
                        fprintf(stderr, "pn-resync: call %d: %s\n", i + 1,
                                err ? podnet_error_message(err) : strerror(-r));
                        return 1;
                }
                w = podnet_sync_report_writes(rep);
                if (i > 0 && w > writes_max)
                        writes_max = w;
                printf("call %d %.3f %zu %ld\n", i + 1, ms[i], w, f0);
                podnet_sync_report_free(rep);
        }
        if (calls > 1) {
                qsort(ms + 1, (size_t)calls - 1, sizeof(*ms), cmp_double);
                size_t m = (size_t)calls - 1;
                double med = m % 2 ? ms[1 + m / 2] : (ms[m / 2] + ms[m / 2 + 1]) / 2;
                printf("median %.3f %zu\n", med, writes_max);
        }
        podnet_cidr_free(cc);
        podnet_nodes_free(nodes);
        podnet_ctx_unref(ctx);
        return 0;
}

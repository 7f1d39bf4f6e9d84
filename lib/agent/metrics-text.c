/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's statistics in the Prometheus text exposition format 0.0.4: one HELP
 * and one TYPE line per family, then its samples; names podnet_*, base units (seconds).
 * Rendered from a snapshot (stats.h), so it runs without the statistics' lock.
 */
#include <inttypes.h>

#include "agent/stats.h"

static const char *const state_names[PN_PEER_STATES] = {"ok", "skipped", "unreachable", "failed",
                                                        "refused"};
static const char *const path_names[PN_PATHS] = {"direct", "vxlan"};

static void family(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped, as the format asks. */
static void label_value(FILE *f, const char *v)
{
        for (; *v; v++) {
                if (*v == '\\' || *v == '"')
                        fputc('\\', f);
                if (*v == '\n')
                        fputs("\\n", f);
                else
                        fputc(*v, f);
        }
}

/* A floating-point sample value; the format's own spelling of infinities and NaN. */
static void value(FILE *f, double v)
{
        char buf[32];

        if (v != v)
                fputs("NaN", f);
        else if (v > 1e308 || v < -1e308)
                fputs(v > 0 ? "+Inf" : "-Inf", f);
        else if (snprintf(buf, sizeof(buf), "%.15g", v) > 0 && strtod(buf, NULL) == v)
                fputs(buf, f); /* (0.005, not 0.0050000000000000001) */
        else
                fprintf(f, "%.17g", v);
}

int pn_metrics_render(const struct pn_stats_snap *s, const char *version, char **ret)
{
        static const char *const sync_kinds[] = {"full", "routes"};
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        *ret = NULL;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;

        family(f, "podnet_build_info", "gauge", "podnet's version, as a label (value 1).");
        fputs("podnet_build_info{version=\"", f);
        label_value(f, version ? version : "");
        fputs("\"} 1\n", f);

        family(f, "podnet_syncs_total", "counter",
               "Route syncs: full passes (after a node list) and route passes (after someone "
               "changed podnet's routes), by result.");
        for (size_t k = 0; k < 2; k++)
                for (int e = 0; e < 2; e++)
                        fprintf(f, "podnet_syncs_total{kind=\"%s\",result=\"%s\"} %" PRIu64 "\n",
                                sync_kinds[k], e ? "error" : "ok", s->passes[k][e]);

        family(f, "podnet_firewall_checks_total", "counter",
               "Checks (and repairs) of podnet's firewall chains between syncs, by result.");
        for (int e = 0; e < 2; e++)
                fprintf(f, "podnet_firewall_checks_total{result=\"%s\"} %" PRIu64 "\n",
                        e ? "error" : "ok", s->passes[PN_STATS_FIREWALL][e]);

        family(f, "podnet_sync_duration_seconds", "histogram",
               "How long the route syncs (full and route passes) took.");
        for (size_t i = 0; i < PN_STATS_BUCKETS; i++) {
                fputs("podnet_sync_duration_seconds_bucket{le=\"", f);
                value(f, pn_stats_bucket_le[i]);
                fprintf(f, "\"} %" PRIu64 "\n", s->buckets[i]);
        }
        fprintf(f, "podnet_sync_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
                s->buckets[PN_STATS_BUCKETS]);
        fputs("podnet_sync_duration_seconds_sum ", f);
        value(f, s->sync_sum);
        fprintf(f, "\npodnet_sync_duration_seconds_count %" PRIu64 "\n", s->sync_count);

        family(f, "podnet_kernel_writes_total", "counter",
               "Writes to the kernel: routes and nexthops written or deleted, firewall "
               "table commits.");
        fprintf(f, "podnet_kernel_writes_total %" PRIu64 "\n", s->kernel_writes);

        family(f, "podnet_peers", "gauge",
               "Peers (other nodes) by state after the last sync, and by the path their pods' "
               "traffic takes.");
        for (size_t st = 0; st < PN_PEER_STATES; st++)
                for (size_t p = 0; p < PN_PATHS; p++)
                        fprintf(f, "podnet_peers{state=\"%s\",path=\"%s\"} %" PRIu64 "\n",
                                state_names[st], path_names[p], s->peers[st][p]);

        family(f, "podnet_watch_reconnects_total", "counter",
               "Times the node source's watch of the API server was connected again.");
        fprintf(f, "podnet_watch_reconnects_total %" PRIu64 "\n", s->watch_reconnects);
        family(f, "podnet_relists_total", "counter",
               "Full node lists the node source fetched again after its watch broke.");
        fprintf(f, "podnet_relists_total %" PRIu64 "\n", s->relists);

        family(f, "podnet_node_source_failures_total", "counter",
               "Fetches of the node list that failed (the previous list was kept).");
        fprintf(f, "podnet_node_source_failures_total %" PRIu64 "\n", s->source_failures);
        family(f, "podnet_node_source_up", "gauge",
               "1 when the node source's last fetch succeeded (or none failed yet), else 0.");
        fprintf(f, "podnet_node_source_up %d\n", s->source_down_since > 0 ? 0 : 1);

        family(f, "podnet_last_sync_success_timestamp_seconds", "gauge",
               "When the last route sync that succeeded ended (unix seconds; 0: none yet).");
        fputs("podnet_last_sync_success_timestamp_seconds ", f);
        value(f, s->last_success);
        fputc('\n', f);

        if (ferror(f) | fclose(f)) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

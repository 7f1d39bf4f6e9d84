/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The node agent's statistics as Prometheus text (lib/agent/metrics-text.c) and as
 * /healthz judges them (lib/agent/stats.c): every line valid in the exposition format,
 * counters by kind and result, a cumulative histogram whose +Inf bucket is its count,
 * peers by their worst route, label escaping, and each reason to be unhealthy. */
#include <ctype.h>
#include <math.h>

#include "agent/routes.h"
#include "agent/stats.h"
#include "tap.h"

static bool name_ok(const char *s, size_t n)
{
        if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
                        return false;
        return true;
}

/* A sample line: name, optional {label="value",...}, a space, a value; no timestamp. */
static bool sample_ok(const char *l)
{
        size_t n = strcspn(l, "{ ");
        const char *p = l + n;
        char *end;

        if (!name_ok(l, n))
                return false;
        if (*p == '{') {
                for (p++; *p != '}';) {
                        size_t k = strcspn(p, "=");
                        if (!name_ok(p, k) || p[k] != '=' || p[k + 1] != '"')
                                return false;
                        for (p += k + 2; *p != '"'; p++) {
                                if (!*p || *p == '\n')
                                        return false;
                                if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'))
                                        p++;
                                else if (*p == '\\')
                                        return false;
                        }
                        p++;
                        if (*p == ',')
                                p++;
                        else if (*p != '}')
                                return false;
                }
                p++;
        }
        if (*p != ' ')
                return false;
        p++;
        if (streq(p, "+Inf") || streq(p, "-Inf") || streq(p, "NaN"))
                return true;
        strtod(p, &end);
        return end != p && *end == '\0';
}

/* Every line: a HELP or TYPE comment of a family, or a sample of the family last typed.
 * Returns the number of bad lines (each one a diagnostic). */
static int bad_lines(const char *text)
{
        char family[128] = "";
        int bad = 0;
        char *copy = strdup(text), *save = NULL;

        if (!text[0] || text[strlen(text) - 1] != '\n')
                bad++;
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                bool good;
                if (strncmp(l, "# HELP ", 7) == 0) {
                        size_t n = strcspn(l + 7, " ");
                        good = name_ok(l + 7, n) && l[7 + n] == ' ';
                } else if (strncmp(l, "# TYPE ", 7) == 0) {
                        size_t n = strcspn(l + 7, " ");
                        const char *t = l + 7 + n + 1;
                        good = name_ok(l + 7, n) && (streq(t, "counter") || streq(t, "gauge") ||
                                                     streq(t, "histogram"));
                        snprintf(family, sizeof(family), "%.*s", (int)n, l + 7);
                } else {
                        size_t f = strlen(family);
                        good = sample_ok(l) && f > 0 && strncmp(l, family, f) == 0;
                }
                if (!good) {
                        diag("bad line: %s", l);
                        bad++;
                }
        }
        free(copy);
        return bad;
}

/* The value of the sample whose text before the value is `key`, or NAN. */
static double sample(const char *text, const char *key)
{
        size_t n = strlen(key);

        for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
                if (strncmp(l, key, n) == 0 && l[n] == ' ')
                        return strtod(l + n + 1, NULL);
        return NAN;
}

static podnet_sync_report *report(void)
{
        podnet_sync_report *r = pn_sync_report_new();

        pn_sync_report_add(r, PODNET_SYNC_KEPT, "node2", NULL, NULL);
        pn_sync_report_add(r, PODNET_SYNC_ADDED, "node3", NULL, NULL);
        pn_sync_report_add(r, PODNET_SYNC_UNREACHABLE, "node4", NULL, NULL);
        pn_sync_report_add(r, PODNET_SYNC_SKIPPED, "node5", NULL, NULL);
        pn_sync_report_add(r, PODNET_SYNC_DELETED, NULL, NULL, NULL);
        pn_sync_report_add(r, PODNET_SYNC_DELETED, "gone", NULL, NULL);
        /* node2's second family failed: the peer is failed */
        pn_sync_report_add(r, PODNET_SYNC_FAILED, "node2", NULL, NULL);
        pn_sync_report_set_writes(r, 5);
        return r;
}

static void test_empty(void)
{
        struct pn_stats st;
        struct pn_stats_snap s;
        char *text = NULL, *why = NULL;

        pn_stats_init(&st);
        pn_stats_snapshot(&st, &s);
        is_int(pn_metrics_render(&s, "1.2.3", &text), 0, "empty: rendered");
        is_int(bad_lines(text), 0, "empty: every line valid");
        ok(sample(text, "podnet_build_info{version=\"1.2.3\"}") == 1, "build info");
        ok(sample(text, "podnet_sync_duration_seconds_bucket{le=\"+Inf\"}") == 0 &&
               sample(text, "podnet_sync_duration_seconds_count") == 0,
           "empty histogram");
        ok(sample(text, "podnet_watch_reconnects_total") == 0 && sample(text, "podnet_relists_total") == 0,
           "watch counters registered at 0");
        ok(sample(text, "podnet_last_sync_success_timestamp_seconds") == 0, "no success yet");
        ok(sample(text, "podnet_peers{state=\"ok\",path=\"direct\"}") == 0 &&
               sample(text, "podnet_peers{state=\"ok\",path=\"vxlan\"}") == 0,
           "peers by state and path at 0");
        is_int(pn_stats_health(&s, 1000, 60, &why), 0, "empty: not healthy");
        ok(why && strstr(why, "No sync"), "reason: %s", why);
        free(why);
        free(text);
        pn_stats_done(&st);
}

static void test_passes(void)
{
        podnet_sync_report *r = report();
        podnet_sync_summary sum = {.size = sizeof(sum), .fw_commits = 3};
        struct pn_stats st;
        struct pn_stats_snap s;
        char *text = NULL, *why = NULL;
        double prev = -1;
        bool cumulative = true;

        pn_stats_init(&st);
        pn_stats_pass(&st,
                      &(podnet_agent_pass){.kind = PODNET_AGENT_PASS_FULL, .report = r,
                                           .summary = &sum, .ms = 3},
                      1000);
        pn_stats_pass(&st, &(podnet_agent_pass){.kind = PODNET_AGENT_PASS_FIREWALL, .fw_commits = 2},
                      1001);
        pn_stats_snapshot(&st, &s);
        is_int(pn_stats_health(&s, 1002, 60, &why), 1, "after a good sync: healthy");
        pn_stats_pass(&st,
                      &(podnet_agent_pass){.kind = PODNET_AGENT_PASS_ROUTES, .error = -EPERM,
                                           .ms = 200},
                      1003);
        pn_stats_watch(&st, 2, 1, true, 0, NULL);
        pn_stats_snapshot(&st, &s);
        is_int(pn_metrics_render(&s, "v\"1\\\n", &text), 0, "rendered");
        is_int(bad_lines(text), 0, "every line valid");
        ok(sample(text, "podnet_build_info{version=\"v\\\"1\\\\\\n\"}") == 1, "label escaped");
        ok(sample(text, "podnet_syncs_total{kind=\"full\",result=\"ok\"}") == 1, "full ok 1");
        ok(sample(text, "podnet_syncs_total{kind=\"full\",result=\"error\"}") == 0, "full error 0");
        ok(sample(text, "podnet_syncs_total{kind=\"routes\",result=\"error\"}") == 1, "routes error 1");
        ok(sample(text, "podnet_firewall_checks_total{result=\"ok\"}") == 1, "firewall check 1");
        ok(sample(text, "podnet_kernel_writes_total") == 5 + 3 + 2,
           "writes: routes 5, full pass commits 3, check commits 2");
        ok(sample(text, "podnet_sync_duration_seconds_bucket{le=\"0.001\"}") == 0, "3 ms > 1 ms");
        ok(sample(text, "podnet_sync_duration_seconds_bucket{le=\"0.005\"}") == 1,
           "3 ms <= 5 ms");
        ok(sample(text, "podnet_sync_duration_seconds_bucket{le=\"0.25\"}") == 2, "200 ms <= 250 ms");
        ok(sample(text, "podnet_sync_duration_seconds_bucket{le=\"+Inf\"}") == 2 &&
               sample(text, "podnet_sync_duration_seconds_count") == 2,
           "+Inf bucket = count = 2 syncs (the firewall check is not one)");
        ok(fabs(sample(text, "podnet_sync_duration_seconds_sum") - 0.203) < 1e-9, "sum 0.203 s");
        for (const char *l = strstr(text, "_bucket{"); l; l = strstr(l + 1, "_bucket{")) {
                double v = strtod(strchr(l, ' ') + 1, NULL);
                cumulative &= v >= prev;
                prev = v;
        }
        ok(cumulative, "buckets cumulative");
        ok(sample(text, "podnet_peers{state=\"ok\",path=\"direct\"}") == 1, "node3 ok");
        ok(sample(text, "podnet_peers{state=\"failed\",path=\"direct\"}") == 1,
           "node2: its worst route failed");
        ok(sample(text, "podnet_peers{state=\"unreachable\",path=\"direct\"}") == 1 &&
               sample(text, "podnet_peers{state=\"skipped\",path=\"direct\"}") == 1,
           "node4 unreachable, node5 skipped; a deleted route is no peer");
        ok(sample(text, "podnet_watch_reconnects_total") == 2 && sample(text, "podnet_relists_total") == 1,
           "watch counters");
        ok(sample(text, "podnet_last_sync_success_timestamp_seconds") == 1000,
           "last success: the full pass");
        free(why);
        is_int(pn_stats_health(&s, 1004, 60, &why), 0, "after a failed sync: not healthy");
        ok(why && strstr(why, "routes pass") && strstr(why, strerror(EPERM)), "reason: %s", why);
        free(why);
        free(text);
        podnet_sync_report_free(r);
        pn_stats_done(&st);
}

static void test_source(void)
{
        struct pn_stats st;
        struct pn_stats_snap s;
        char *why = NULL, *text = NULL;

        pn_stats_init(&st);
        pn_stats_pass(&st, &(podnet_agent_pass){.kind = PODNET_AGENT_PASS_FULL, .ms = 1}, 100);
        pn_stats_source(&st, -EIO, 110);
        pn_stats_source(&st, -EIO, 140); /* (down since the first failure) */
        pn_stats_pass(&st, &(podnet_agent_pass){.kind = PODNET_AGENT_PASS_FULL, .ms = 1}, 140);
        pn_stats_snapshot(&st, &s);
        is_int(pn_stats_health(&s, 160, 60, &why), 1, "source down 50 s of 60: healthy");
        free(why);
        is_int(pn_stats_health(&s, 171, 60, &why), 0, "source down 61 s: not healthy");
        ok(why && strstr(why, "node source has failed for 61 s"), "reason: %s", why);
        free(why);
        is_int(pn_stats_health(&s, 1e6, 0, &why), 1, "threshold 0: the source is not judged");
        free(why);
        pn_metrics_render(&s, "", &text);
        ok(sample(text, "podnet_node_source_up") == 0 &&
               sample(text, "podnet_node_source_failures_total") == 2,
           "source down in the metrics");
        free(text);
        pn_stats_source(&st, 0, 180);
        pn_stats_snapshot(&st, &s);
        is_int(pn_stats_health(&s, 1e6, 60, &why), 1, "source back: healthy");
        free(why);
        /* a watching source: its own word on whether it is up, its counts absolute */
        pn_stats_watch(&st, 3, 1, false, 200, "Connecting to https://10.0.0.1:6443: refused");
        pn_stats_watch(&st, 4, 1, false, 200, "Connecting to https://10.0.0.1:6443: refused");
        pn_stats_snapshot(&st, &s);
        is_int(pn_stats_health(&s, 261, 60, &why), 0, "watch down 61 s: not healthy");
        ok(why && strstr(why, "failed for 61 s") && strstr(why, ": Connecting to"), "reason: %s",
           why);
        free(why);
        pn_metrics_render(&s, "", &text);
        ok(sample(text, "podnet_watch_reconnects_total") == 4 && sample(text, "podnet_node_source_up") == 0,
           "reconnects as the source counts them; source down");
        free(text);
        pn_stats_watch(&st, 4, 1, true, 0, "");
        pn_stats_snapshot(&st, &s);
        is_int(pn_stats_health(&s, 1e6, 60, &why), 1, "watch up: healthy");
        free(why);
        pn_stats_done(&st);
}

int main(void)
{
        test_empty();
        test_passes();
        test_source();
        return done_testing();
}

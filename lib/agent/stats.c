/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's running statistics: passes by kind and result, the syncs' duration
 * histogram, kernel writes, peers by state, the node source's failures, and what
 * /healthz judges from them. Recorded by the agent's thread, read by a metrics server's
 * thread: the mutex covers copies only (see stats.h).
 */
#include <math.h>

#include "agent/stats.h"

const double pn_stats_bucket_le[PN_STATS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   10};

void pn_stats_init(struct pn_stats *st)
{
        pthread_mutex_init(&st->lock, NULL);
        memset(&st->s, 0, sizeof(st->s));
}

void pn_stats_done(struct pn_stats *st)
{
        pthread_mutex_destroy(&st->lock);
}

/* How bad a route is for its peer's state: the worst names it; -1 not a peer's (a route
 * deleted: its node left). */
static int peer_badness(podnet_sync_action a)
{
        switch (a) {
        case PODNET_SYNC_KEPT:
        case PODNET_SYNC_ADDED:
        case PODNET_SYNC_REPLACED:
                return PN_PEER_OK;
        case PODNET_SYNC_SKIPPED:
                return PN_PEER_SKIPPED;
        case PODNET_SYNC_UNREACHABLE:
                return PN_PEER_UNREACHABLE;
        case PODNET_SYNC_FAILED:
                return PN_PEER_FAILED;
        case PODNET_SYNC_REFUSED:
                return PN_PEER_REFUSED;
        default:
                return -1;
        }
}

struct peer_entry {
        const char *node;
        int state;
};

static int peer_compare(const void *a, const void *b)
{
        return strcmp(((const struct peer_entry *)a)->node, ((const struct peer_entry *)b)->node);
}

/* Counts the report's peers by their worst route's state, sorting its entries by node (a
 * peer's routes, one per family, need not be adjacent), and by path: vxlan where the sync
 * recorded that path for the peer (an overlay mode), else direct. -ENOMEM, else 0. */
static int count_peers(const podnet_sync_report *r, uint64_t peers[PN_PEER_STATES][PN_PATHS])
{
        size_t n = podnet_sync_report_count(r), k = 0;
        _cleanup_free_ struct peer_entry *v = NULL;

        memset(peers, 0, sizeof(uint64_t) * PN_PEER_STATES * PN_PATHS);
        if (n == 0)
                return 0;
        v = calloc(n, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *node = podnet_sync_report_node(r, i);
                int b = peer_badness(podnet_sync_report_action(r, i));
                if (node && b >= 0)
                        v[k++] = (struct peer_entry){node, b};
        }
        qsort(v, k, sizeof(*v), peer_compare);
        for (size_t i = 0; i < k;) {
                int worst = v[i].state;
                size_t j = i + 1;
                for (; j < k && streq(v[j].node, v[i].node); j++)
                        if (v[j].state > worst)
                                worst = v[j].state;
                const char *path, *why;
                bool vxlan = pn_sync_report_path_of(r, v[i].node, &path, &why) &&
                             streq(path, pn_path_name(PN_PATH_VXLAN));
                peers[worst][vxlan ? PN_PATH_VXLAN : PN_PATH_DIRECT]++;
                i = j;
        }
        return 0;
}

/* A partial pass (pass->partial: a ROUTES pass over the changed peers only) is counted
 * like any, but its report does not replace the peers' states. */
void pn_stats_pass(struct pn_stats *st, const podnet_agent_pass *pass, double now)
{
        bool partial = pass->partial;
        uint64_t peers[PN_PEER_STATES][PN_PATHS];
        bool have_peers = false;
        int kind = (int)pass->kind - 1;
        double secs = pass->ms / 1000.0;
        uint64_t writes = 0;

        if (kind < 0 || kind >= PN_STATS_KINDS)
                return;
        if (pass->report) {
                writes = podnet_sync_report_writes(pass->report);
                if (kind != PN_STATS_FIREWALL && !partial)
                        have_peers = count_peers(pass->report, peers) == 0;
        }
        if (kind == PN_STATS_FULL && pass->summary && pass->summary->fw_commits > 0)
                writes += (uint64_t)pass->summary->fw_commits;
        if (kind == PN_STATS_FIREWALL && pass->fw_commits > 0)
                writes += (uint64_t)pass->fw_commits;

        pthread_mutex_lock(&st->lock);
        st->s.passes[kind][pass->error < 0]++;
        st->s.kernel_writes += writes;
        if (have_peers)
                memcpy(st->s.peers, peers, sizeof(peers));
        if (kind != PN_STATS_FIREWALL) {
                for (size_t i = 0; i < PN_STATS_BUCKETS; i++)
                        if (secs <= pn_stats_bucket_le[i])
                                st->s.buckets[i]++;
                st->s.buckets[PN_STATS_BUCKETS]++;
                st->s.sync_count++;
                st->s.sync_sum += isfinite(secs) && secs > 0 ? secs : 0;
                st->s.last_pass = now;
                st->s.last_error = pass->error < 0 ? pass->error : 0;
                st->s.last_kind = kind;
                if (pass->error >= 0)
                        st->s.last_success = now;
        }
        pthread_mutex_unlock(&st->lock);
}

void pn_stats_source(struct pn_stats *st, int error, double now)
{
        pthread_mutex_lock(&st->lock);
        if (error < 0) {
                st->s.source_failures++;
                if (st->s.source_down_since == 0)
                        st->s.source_down_since = now;
        } else {
                st->s.source_down_since = 0;
        }
        pthread_mutex_unlock(&st->lock);
}

void pn_stats_watch(struct pn_stats *st, uint64_t reconnects, uint64_t relists, bool up,
                    double down_since, const char *error)
{
        pthread_mutex_lock(&st->lock);
        st->s.watch_reconnects = reconnects;
        st->s.relists = relists;
        st->s.source_down_since = up ? 0 : down_since > 0 ? down_since : 1;
        snprintf(st->s.source_error, sizeof(st->s.source_error), "%s", error ? error : "");
        pthread_mutex_unlock(&st->lock);
}

void pn_stats_snapshot(struct pn_stats *st, struct pn_stats_snap *ret)
{
        pthread_mutex_lock(&st->lock);
        *ret = st->s;
        pthread_mutex_unlock(&st->lock);
}

static const char *const kind_names[PN_STATS_KINDS] = {"full", "routes", "firewall"};

int pn_stats_health(const struct pn_stats_snap *s, double now, unsigned source_max,
                    char **reason)
{
        int n;

        *reason = NULL;
        if (s->last_pass == 0 && s->source_down_since == 0)
                n = asprintf(reason, "No sync has run yet");
        else if (s->last_error == -ENODATA)
                n = asprintf(reason, "The last sync (%s pass) refused the node list (see the "
                             "log): nothing changed", kind_names[s->last_kind]);
        else if (s->last_error < 0)
                n = asprintf(reason, "The last sync (%s pass) failed: %s",
                             kind_names[s->last_kind], strerror(-s->last_error));
        else if (s->source_down_since > 0 && source_max > 0 &&
                 now - s->source_down_since > source_max)
                n = asprintf(reason,
                             "The node source has failed for %.0f s (more than %u s)%s%s; "
                             "the previous node list is kept",
                             now - s->source_down_since, source_max,
                             s->source_error[0] ? ": " : "", s->source_error);
        else if (s->last_pass == 0 && s->source_error[0])
                n = asprintf(reason, "No sync has run yet: the node source failed: %s",
                             s->source_error);
        else if (s->last_pass == 0)
                n = asprintf(reason, "No sync has run yet");
        else
                return 1;
        if (n < 0) {
                *reason = NULL;
                return -ENOMEM;
        }
        return 0;
}

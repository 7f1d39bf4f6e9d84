/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's running statistics (stats.c) and their Prometheus text rendering
 * (metrics-text.c): what /metrics and /healthz of podnet-routes show. The agent's thread
 * records, any thread reads a snapshot; a mutex guards only the copy, so a scrape never
 * waits on a pass and a pass never waits on a scrape longer than a memcpy.
 */
#ifndef PODNET_AGENT_STATS_H
#define PODNET_AGENT_STATS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "agent/overlay.h"
#include "core/internal.h"

/* Upper bounds of the pass duration histogram, in seconds (+Inf implied). */
#define PN_STATS_BUCKETS 12
extern const double pn_stats_bucket_le[PN_STATS_BUCKETS];

/* The pass kinds counted apart (podnet_agent_pass_kind - 1). */
enum { PN_STATS_FULL, PN_STATS_ROUTES, PN_STATS_FIREWALL, PN_STATS_KINDS };

/* A peer's state after a pass: its worst route's. */
enum {
        PN_PEER_OK,          /* routed (kept, added or replaced) */
        PN_PEER_SKIPPED,     /* no pod CIDR or address */
        PN_PEER_UNREACHABLE, /* not directly reachable: no route */
        PN_PEER_FAILED,      /* a write failed */
        PN_PEER_REFUSED,     /* its claim is inconsistent: no route */
        PN_PEER_STATES
};
/* Where a peer's traffic goes (overlay.h's enum pn_path): straight to its address or
 * through the VXLAN overlay. */
#define PN_PATHS (PN_PATH_VXLAN + 1)

struct pn_stats_snap {
        uint64_t passes[PN_STATS_KINDS][2]; /* [kind][0 ok, 1 error] */
        /* full and route passes (the syncs): cumulative counts per bucket, then +Inf */
        uint64_t buckets[PN_STATS_BUCKETS + 1];
        uint64_t sync_count;
        double sync_sum; /* seconds */
        uint64_t kernel_writes; /* route and nexthop writes, firewall commits */
        uint64_t peers[PN_PEER_STATES][PN_PATHS]; /* after the last sync with a report */
        /* the node source: watch reconnects and relists (a watching source counts them;
         * a file or command source has none), fetches that failed */
        uint64_t watch_reconnects, relists, source_failures;
        double last_success;  /* unix seconds of the last sync that succeeded; 0: none */
        double last_pass;     /* unix seconds of the last sync; 0: none */
        int last_error;       /* the last sync's -errno, 0 */
        int last_kind;        /* its PN_STATS_* */
        double source_down_since; /* unix seconds of the first failure in a row; 0: up */
        char source_error[160];   /* what a watching source last said went wrong, or "" */
};

struct pn_stats {
        pthread_mutex_t lock;
        struct pn_stats_snap s;
};

/* CLOCK_REALTIME in seconds: what the timestamps above hold. */
static inline double pn_now_unix(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void pn_stats_init(struct pn_stats *st);
void pn_stats_done(struct pn_stats *st);
/* Records a pass (podnet_agent_pass) that ended at `now` (unix seconds); a partial one's
 * report does not replace the peers' states. */
void pn_stats_pass(struct pn_stats *st, const podnet_agent_pass *pass, double now);
/* Records a fetch of the node list: error 0 (a list came) or < 0 (it failed, logged). */
void pn_stats_source(struct pn_stats *st, int error, double now);
/* What a watching node source says: its counts so far, whether its watch is up and, if
 * not, since when (unix seconds) and why ("" or NULL: no message). Overrides what
 * pn_stats_source() recorded. */
void pn_stats_watch(struct pn_stats *st, uint64_t reconnects, uint64_t relists, bool up,
                    double down_since, const char *error);
void pn_stats_snapshot(struct pn_stats *st, struct pn_stats_snap *ret);

/* The Prometheus text exposition format 0.0.4 of a snapshot; *ret the caller's. 0 or
 * -ENOMEM. */
int pn_metrics_render(const struct pn_stats_snap *s, const char *version, char **ret);
/* 1 healthy, or 0 with *reason (the caller's) saying why not: no sync yet, the last one
 * failed, or the node source has failed for more than source_max seconds (0: never
 * judged) at `now`. -ENOMEM. */
int pn_stats_health(const struct pn_stats_snap *s, double now, unsigned source_max,
                    char **reason);

#endif

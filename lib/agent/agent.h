/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the node agent (agent.c, agent-run.c, lock.c): the agent's state between
 * passes and the writers' locks.
 */
#ifndef PODNET_AGENT_AGENT_H
#define PODNET_AGENT_AGENT_H

#include <limits.h>

#include "agent/node-source.h"
#include "agent/stats.h"
#include "core/internal.h"

struct pn_fw_backend;

struct podnet_agent {
        podnet_ctx *ctx;
        podnet_agent_config cfg;    /* with the defaults filled in */
        struct pn_node_source *src; /* NULL: none configured */
        char run_dir[PATH_MAX];

        /* the last pass's outcome, handed out through podnet_agent_pass */
        podnet_sync_report *report;
        podnet_sync_summary summary;
        bool warned_fw, warned_conf; /* (each warning once per agent) */

        /* run's state between two calls of podnet_agent_run() */
        podnet_nodes *nodes; /* the last valid node list, or NULL */
        podnet_nodes *fresh; /* a fetched list whose pass waits for the lock */
        bool fetched;        /* a fetch ended (fresh NULL: it failed); a full pass is due */
        bool restore;        /* podnet's routes changed: a route pass is due */
        bool quiet;          /* a full pass with a fetched list ran */
        bool fw;             /* run's firewall checks are on */
        bool started;
        double next_fetch, next_fw, retry_at;
        int run_fd;  /* the run lock, held for the agent's life once run started */
        int lock_fd; /* the writers' lock file, locked only during a pass */
        podnet_route_monitor *mon;

        /* the firewall backend of the passes (agent-fw.c): NULL until the first full pass
         * chose one; why, as status shows it */
        const struct pn_fw_backend *fw_backend;
        char *fw_reason;
        /* run: the backend's change notifications (-1: none), and whether they could
         * not be had (the interval's checks go on) */
        int fw_mon_fd;
        bool fw_mon_failed;
        /* the last full pass's finding: an nftables forward chain that drops pod
         * traffic ("inet:filter:forward") and why, or NULL (agent-fw.c) */
        char *fw_drop_chain, *fw_drop_reason;

        /* run's statistics for podnet_agent_metrics() and podnet_agent_health(), which
         * other threads may call (stats.h) */
        struct pn_stats stats;

        /* the overlay mode: no mode configured means auto for a writing pass, and for a
         * status the mode the last writing pass on this node recorded (run_dir/overlay) */
        bool overlay_default;
        char overlay_recorded[16]; /* "" if none */

        /* run: the node source's state as last recorded for status (source-state.c) */
        char src_state[16];
        double src_since;       /* unix seconds: when src_state began */
        char *src_key;          /* the record's lines that are written at once */
        char src_counts[192];   /* and those that may wait a second */
        double src_written_ms;
        unsigned long long src_start; /* this process's start time, in ticks */
        bool src_warned;

        /* run's partial passes (route-sync-delta.c): a change set waiting for the lock,
         * whether `nodes` is the source's last delivery (then it may send change sets),
         * and the underlay facts of the last full pass (NULL: every change is a full
         * pass) */
        struct pn_node_changes *changes;
        bool src_held;
        struct pn_delta_base *delta;
};

/* Records the node source's state in run_dir/source-<netns> when it changed (run's
 * loop); pn_agent_source_forget() removes the record (a clean exit). */
void pn_agent_source_record(podnet_agent *a);
void pn_agent_source_forget(podnet_agent *a);
/* For status: 1 with *text (the caller's) the "NODE SOURCE" text section or the JSON
 * object of the record, saying whether its agent still runs; 0 when there is none. */
int pn_agent_source_status(podnet_agent *a, bool json, char **text);

/* The partial pass (route-sync-delta.c). The base: the underlay facts of a dump taken
 * after a full pass, and in an overlay mode the VXLAN device's (overlay-delta.c) (NULL,
 * and 0, where partial passes are not made: no tunnel endpoint here, plain routes, a table other than main, a dry run). 0 or -errno. */
struct pn_delta_base;
int pn_delta_base_refresh(podnet_agent *a, struct pn_delta_base **base);
struct pn_delta_base *pn_delta_base_free(struct pn_delta_base *b);
/* Whether partial passes on b write the overlay's entries (an overlay mode). */
bool pn_delta_base_overlay(const struct pn_delta_base *b);
/* Brings the routes of the peers c names in step with a->nodes (c applied already; `old`
 * holds the entries it replaced or removed). 0 with *report (the changed peers' routes
 * only), or 1: nothing decided, a full pass must follow (it may have written part). */
int pn_agent_delta_pass(podnet_agent *a, struct pn_delta_base *base,
                        const struct pn_node_changes *c, const podnet_nodes *old,
                        podnet_sync_report **report);

/* Records the overlay mode of a writing pass in run_dir/overlay (when it changed). */
void pn_agent_overlay_record(podnet_agent *a);
/* Removes the record (teardown). */
void pn_agent_overlay_forget(podnet_agent *a);

DEFINE_CLEANUP(podnet_agent, podnet_agent_free)

/* The "routes" lock (held by each writing pass) or "routes-run" (held by a run agent for
 * its whole life) of this network namespace, opened (not locked). The fd, or -errno. */
int pn_agent_lock_open(const char *run_dir, const char *kind, char *path, size_t size,
                       podnet_error **err);
/* Takes the writers' lock, waiting at most 60 s; the fd or -errno. */
int pn_agent_lock_writers(const char *run_dir, podnet_error **err);

/* One full pass with `nodes`, without taking the lock; fills *pass; `first` as in
 * podnet_agent_pass. */
void pn_agent_full_pass(podnet_agent *a, const podnet_nodes *nodes, bool first,
                        podnet_agent_pass *pass);
/* The route sync's and the firewall's configuration. */
podnet_sync_config pn_agent_sync_config(const podnet_agent *a, bool dry_run);
podnet_fw_config pn_agent_fw_config(const podnet_agent *a);
/* The firewall backend's name the configuration asks for: "auto", a backend's, or "none"
 * (also when firewall is off). */
const char *pn_agent_fw_name(const podnet_agent *a);
/* At a full pass: chooses the backend (the detection's for "auto"), removes podnet's node
 * chains from the other backends when the choice changed (or was never made), records it
 * in the run directory. 0 or -errno after a message. */
int pn_agent_fw_choose(podnet_agent *a);
/* With the firewall off: removes the recorded choice (podnet-cni then detects). */
void pn_agent_fw_forget(podnet_agent *a);
/* podnet_fw_node_ensure() on the chosen backend (chosen first if none was). */
int pn_agent_fw_ensure(podnet_agent *a, podnet_error **err);
/* Removes podnet's node chains from every backend and the recorded choice: the number
 * of commits, or -errno after a message. */
int pn_agent_fw_teardown(podnet_agent *a);
/* For status: the backend in effect (a "auto" agent reads what a running one recorded,
 * else detects), why, and the listing of podnet's chains in it. */
int pn_agent_fw_status(podnet_agent *a, const char **backend, char **reason, char **dump);
/* At a full pass and for status: looks for a native nftables forward chain that drops
 * pod traffic with backend b in use (a->fw_drop_chain, warned about). 0; a failure to
 * look is logged and ignored. */
int pn_agent_fw_drop_check(podnet_agent *a, const struct pn_fw_backend *b);
/* The Kubernetes client configuration the agent's settings name (kubeconfig or in
 * cluster), for the allocator's second client; 0 or -errno with *err. */
struct pn_kube_config;
int pn_agent_kube_config(const podnet_agent *a, struct pn_kube_config **ret, podnet_error **err);
/* Logs err's message (or what: strerror(r)) at LOG_ERR and frees err; returns r. */
int pn_agent_fail(podnet_agent *a, podnet_error *err, int r, const char *what);

#endif

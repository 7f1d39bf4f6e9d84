/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the route sync's files (route-dump.c, route-lookup.c, route-sync.c,
 * route-monitor.c): what a
 * dump of the installed routes and nexthop objects collects, and the route lookups that
 * tell whether a peer's address is directly reachable.
 */
#ifndef PODNET_AGENT_ROUTE_SYNC_H
#define PODNET_AGENT_ROUTE_SYNC_H

#include <pthread.h>

#include "agent/overlay.h"
#include "agent/routes.h"

/* What a dump collects: the routes of `protocol` in `table`, the nexthop ids routes of
 * `protocol` in other tables use, and every nexthop object; with `facts`, also the routes
 * podnet does not own in `table`, main and local, and their gateways (what a node list is
 * judged against, see route-trust.c). */
struct pn_route_dump {
        unsigned protocol, table;
        bool facts;
        struct pn_rt *rt;
        size_t n_rt, cap_rt;
        uint32_t *other; /* nexthop ids used in other tables */
        size_t n_other, cap_other;
        struct pn_nh *nh;
        size_t n_nh, cap_nh;
        struct pn_rt *foreign; /* not podnet's (local, broadcast, ... included) */
        size_t n_foreign, cap_foreign;
        struct pn_rt *gw; /* their gateways, as host prefixes */
        size_t n_gw, cap_gw;
        struct pn_rt *local, *onlink; /* sorted out of `foreign` (facts) */
        size_t n_local, n_onlink;
};

/* Dumps the nexthop objects, then the routes, over sk; gives each route using a nexthop
 * object that object's gateway and marks which nexthops are ours: our protocol, used by
 * none of our protocol's routes in another table, and either in our id block or used by
 * our routes. *nh_kernel says whether the kernel has nexthop objects at all (>= 5.3). */
int pn_route_dump_read(struct nl_sock *sk, struct pn_route_dump *d, bool *nh_kernel);

/* The underlay facts a route dump found, for pn_routes_desired(); `overlay` is left false.
 * Points into d: valid while d is. */
static inline struct pn_underlay pn_underlay_of(const struct pn_route_dump *d,
                                                const podnet_cidr *const *cluster, size_t n_cluster)
{
        return (struct pn_underlay){
            .cluster = cluster,
            .n_cluster = cluster ? n_cluster : 0,
            .local = d->local,
            .n_local = d->n_local,
            .onlink = d->onlink,
            .n_onlink = d->n_onlink,
            .foreign = d->foreign,
            .n_foreign = d->n_foreign,
            .gateway = d->gw,
            .n_gateway = d->n_gw,
        };
}
/* Frees what the dump collected; keeps protocol, table and facts. */
void pn_route_dump_clear(struct pn_route_dump *d);

/* A route lookup: the kernel's answer for one address. */
struct pn_lookup {
        uint8_t family;
        uint8_t addr[16];
        int error;
        struct pn_rt reply;
        char *why; /* unreachable reason, or NULL: the only owner of reason strings */
};

/* Looks up the route to each of v[0..n) (one RTM_GETROUTE per address, pipelined,
 * duplicates dropped first: *n_unique are left, sorted) and words once per address why
 * it is unusable as a next hop, if it is. */
int pn_lookups_resolve(struct nl_sock *sk, struct pn_lookup *v, size_t n, size_t *n_unique);
/* The lookup of (family, addr) in v sorted by pn_lookups_resolve(), or NULL. */
const struct pn_lookup *pn_lookup_find(const struct pn_lookup *v, size_t n, int family,
                                       const uint8_t *addr);
void pn_lookups_free(struct pn_lookup *v, size_t n);

/* 0 means podnet's protocol: sync, flush and the monitor accept the same ones. */
int pn_route_protocol_check(unsigned *protocol, podnet_error **err);

/* The overlay's part of a sync pass (overlay-sync.c). */
struct pn_overlay_pass {
        enum pn_overlay_mode mode;
        bool explicit_mode; /* the caller named the mode (NULL is never, silently) */
        bool active;        /* mode != never and this node can be a tunnel endpoint */
        bool remove_dev;    /* "never" named: a VXLAN device of that name goes */
        bool replaced;      /* the device was replaced (its routes went with the old one) */
        bool dry_run;
        int family;         /* of the underlay */
        int ifindex;        /* the VXLAN device; a placeholder in a dry run without one */
        int underlay;       /* the underlay device: the one with this node's address */
        char dev[16];       /* its name */
        unsigned mtu;       /* its MTU: the underlay's less the encapsulation */
        size_t self;
        struct pn_overlay_plan plan;
        struct pn_neigh *neigh;  /* installed on the device */
        size_t n_neigh;
        struct pn_fdb *fdb;
        size_t n_fdb;
        struct pn_entry_op *nops, *fops;
        size_t n_nops, n_fops;
        size_t nops_size, fops_size; /* bytes of nops, fops (kept for the next sync) */
        size_t writes;
        bool dumped; /* neigh and fdb hold the device's entries (pn_overlay_early_join()) */
        unsigned probe_ms; /* auto's probe budget; 0: the full round's */
};

/* Reads the mode from cfg; for an active one, finds this node's underlay device from
 * the dump's local routes, makes the VXLAN device exist (not in a dry run), asks the
 * kernel which peers are on-link, and plans each peer's path. A mode of "never" named
 * by the caller removes a VXLAN device of that name left by an earlier mode. 0 or
 * -errno after a message. */
int pn_overlay_pass_prepare(struct pn_overlay_pass *o, podnet_ctx *ctx, struct nl_sock *sk,
                            const podnet_nodes *nodes, const podnet_sync_config *cfg,
                            const struct pn_route_dump *d, podnet_error **err);
/* Turns the wanted direct routes of overlay peers, and the wanted routes without a
 * gateway (pod CIDRs of a family their node has no address of), into their overlay
 * routes (same destination and metric); those of the latter the overlay cannot carry
 * are dropped and reported skipped. Keeps only the entries that a route uses. */
int pn_overlay_pass_routes(struct pn_overlay_pass *o, const podnet_nodes *nodes,
                           struct pn_rt *want, size_t *n_want, podnet_sync_report *report);
/* Dumps the device's neighbour and FDB entries and diffs them with the plan's. */
int pn_overlay_pass_diff(struct pn_overlay_pass *o, struct nl_sock *sk, podnet_error **err);
/* Writes the additions and replacements (before the routes: adds) or the deletions
 * (after them). 0 or -errno after a message. */
int pn_overlay_pass_write(struct pn_overlay_pass *o, struct nl_sock *sk, bool adds,
                          podnet_error **err);
/* Records each peer's path and reason in the report. */
int pn_overlay_pass_report(const struct pn_overlay_pass *o, const podnet_nodes *nodes,
                           const struct pn_rt *want, size_t n_want, podnet_sync_report *report);
/* After the routes: with "never", deletes the VXLAN device an earlier mode made. */
int pn_overlay_pass_finish(struct pn_overlay_pass *o, podnet_ctx *ctx, podnet_error **err);
void pn_overlay_pass_done(struct pn_overlay_pass *o);
/* The path of every peer of nodes but o->self, as pn_overlay_pass_prepare() plans it, for
 * an o whose mode, family, ifindex, underlay and self are set (the partial pass,
 * overlay-delta.c): on-link lookups, and in auto the probe of the on-link peers. */
int pn_overlay_pass_plan(struct pn_overlay_pass *o, podnet_ctx *ctx, struct nl_sock *sk,
                         const podnet_nodes *nodes, const podnet_sync_config *cfg,
                         podnet_error **err);

/* The VXLAN device's neighbour and FDB dumps made by a second thread (overlay-dump.c). */
struct pn_overlay_early {
        bool started;
        pthread_t thread;
        struct nl_sock *sk; /* its own, in the namespace of the pass's */
        char dev[16];
        int ifindex; /* of the device the dumps read */
        int r;       /* 0, or why they did not */
        double ms;   /* how long they took */
        struct pn_neigh *neigh;
        size_t n_neigh;
        struct pn_fdb *fdb;
        size_t n_fdb;
        void *neigh_kept, *fdb_kept; /* the calling thread's arrays of its last pass */
        size_t neigh_kept_size, fdb_kept_size;
};
/* When cfg's overlay mode may use the device, starts its dumps beside the pass's own
 * work, over a second socket in the namespace of `like`. Not starting them (no second
 * socket, no thread) is no error: the pass then dumps them itself. */
void pn_overlay_early_start(struct pn_overlay_early *e, struct nl_sock *like,
                            const podnet_sync_config *cfg);
/* Waits for the dumps; when they read the device the prepared pass o plans for, hands
 * their entries to o (pn_overlay_pass_diff() then dumps no more). */
void pn_overlay_early_join(struct pn_overlay_early *e, struct pn_overlay_pass *o);
/* Waits for the dumps if they run, and frees what o did not take. */
void pn_overlay_early_done(struct pn_overlay_early *e);

/* Makes the monitor also report changes to neighbour and FDB entries on the
 * VXLAN device `dev` (subscribing to neighbour notifications). 0 or -errno. */
int pn_route_monitor_watch_vxlan(podnet_route_monitor *m, const char *dev);
/* Makes the monitor ignore (on) the notifications of changes its context's route socket
 * requested, that is podnet's own writes through the same context. */
void pn_route_monitor_ignore_own(podnet_route_monitor *m, bool on);

/* An address in text, "?" if it cannot be. */
void pn_addr_text(int family, const void *a, char *buf, size_t size);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the route sync's files (route-dump.c, route-lookup.c, route-sync.c,
 * route-monitor.c): what a
 * dump of the installed routes and nexthop objects collects, and the route lookups that
 * tell whether a peer's address is directly reachable.
 */
#ifndef PODNET_AGENT_ROUTE_SYNC_H
#define PODNET_AGENT_ROUTE_SYNC_H

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

/* An address in text, "?" if it cannot be. */
void pn_addr_text(int family, const void *a, char *buf, size_t size);

#endif

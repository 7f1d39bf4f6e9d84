/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the node agent's modules (nodes.c, route-trust.c, the route sync's files,
 * conflist.c): the node list's layout, the route diff and the nexthop plan over the
 * route and nexthop forms of net/net.h, the sync report's builder. Address arithmetic is
 * cidr.h's.
 */
#ifndef PODNET_ROUTES_H
#define PODNET_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/internal.h"
#include "net/net.h"

enum pn_addr_type {
        PN_ADDR_NONE = 0,
        PN_ADDR_EXTERNAL = 1,
        PN_ADDR_INTERNAL = 2, /* higher wins */
};

struct pn_node {
        char *name;
        podnet_cidr **pod_cidrs;
        size_t n_pod_cidrs;
        podnet_cidr *addr4, *addr6; /* host prefix */
        enum pn_addr_type type4, type6;
        size_t origin; /* where it was read: item index (JSON) or line number (static) */
};

struct podnet_nodes {
        struct pn_node *nodes;
        size_t n;
};

struct pn_op {
        enum pn_op_kind kind;
        const struct pn_rt *want; /* NULL for DELETE */
        const struct pn_rt *have; /* NULL for ADD */
};

/* podnet's nexthop ids: PN_NH_SPAN ids from pn_nh_base(protocol, table); a new node's id
 * is base + hash(node name, family) mod PN_NH_SPAN, the next free one on collision. */
#define PN_NH_SPAN (1u << 20)
uint32_t pn_nh_base(unsigned protocol, unsigned table);
uint32_t pn_nh_id_hint(uint32_t base, const char *name, int family);

/* Orders routes by (family, dst, dst_len). */
int pn_rt_compare_dst(const struct pn_rt *a, const struct pn_rt *b);
/* The same, then by metric: the order pn_route_diff() sorts into (qsort() form). */
int pn_rt_compare(const void *a, const void *b);
/* A sort key (pn_keysort()) for pn_rt_compare() and pn_rt_compare_dst(): the family,
 * the destination's first bytes, and of IPv4 the prefix length. */
uint64_t pn_rt_key(const void *a);
/* qsort() unless already sorted: dumps and the desired routes mostly come in order. */
void pn_sort_if_needed(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
/* The bytes of the operations array pn_route_diff() returns for n_want and n_have
 * routes (what a caller gives back to netlink/scratch.c). */
size_t pn_route_ops_size(size_t n_want, size_t n_have);
/* Sorts both arrays in place and merges them into operations: KEEP where an existing route
 * equals the wanted one, REPLACE where one with the same destination and metric differs,
 * ADD where none exists, DELETE for every other existing route. `want` must not hold two
 * routes with the same destination. *ret is the caller's to free(). */
int pn_route_diff(struct pn_rt *want, size_t n_want, struct pn_rt *have, size_t n_have,
                  struct pn_op **ret, size_t *n_ret);

/* Decides which nexthop object each wanted one (`want`, sorted by node then family; gw,
 * family, node, name set) becomes: an existing one of ours with the same gateway (KEEP),
 * else the one the node's installed routes use (REPLACE: one write moves all its routes),
 * else a new id (ADD). Existing ones of ours left unused become DELETE; others (`ours`
 * false) are never chosen, and their ids are never reused. `want_rt` (sorted by dst) and
 * `have_rt` are the routes; `have_rt` and `have` are sorted in place. */
int pn_nexthop_plan(struct pn_nh *want, size_t n_want, struct pn_nh *have, size_t n_have,
                    const struct pn_rt *want_rt, size_t n_want_rt, struct pn_rt *have_rt,
                    size_t n_have_rt, uint32_t base);
/* The wanted nexthop of (node, family) in `want` sorted as above, or NULL. */
struct pn_nh *pn_nh_find(struct pn_nh *want, size_t n_want, size_t node, int family);
/* Orders nexthops by (node, family) and by id (qsort() forms); the one with `id` in v
 * sorted by id, or NULL. */
int pn_nh_compare_node(const void *a, const void *b);
int pn_nh_compare_id(const void *a, const void *b);
struct pn_nh *pn_nh_by_id(struct pn_nh *v, size_t n, uint32_t id);

/* What this node knows that a node list must agree with (route-sync.c fills it from its
 * route dump; tests by hand). Prefixes are pn_rt (family, dst, dst_len); NULL arrays with
 * zero counts are fine. */
struct pn_underlay {
        const podnet_cidr *const *cluster; /* cluster CIDRs (any family mix) */
        size_t n_cluster;
        const struct pn_rt *local; /* RTN_LOCAL routes: this node's addresses */
        size_t n_local;
        const struct pn_rt *onlink; /* connected prefixes: no gateway, not podnet's */
        size_t n_onlink;
        const struct pn_rt *foreign; /* every route podnet does not own */
        size_t n_foreign;
        const struct pn_rt *gateway; /* gateways of those, as host prefixes */
        size_t n_gateway;
        /* An overlay is up: a pod CIDR of a family its node has no address of is wanted
         * (without gateway, for the overlay to carry) rather than skipped. */
        bool overlay;
};

/* The routes this node wants: each pod CIDR of every other node via that node's address
 * of the same family. Nodes without pod CIDR or address are reported SKIPPED; claims
 * that the node list or `u` contradict (see podnet_routes_sync(3): outside the cluster
 * CIDRs, covering the underlay, overlapping another claim, a peer address inside a pod
 * CIDR, ...) are reported REFUSED, this node's own too (node_name, no route either way).
 * `u` may be NULL. *ret is the caller's. */
int pn_routes_desired(const podnet_nodes *nodes, const char *node_name, const struct pn_underlay *u,
                      podnet_sync_report *report, struct pn_rt **ret, size_t *n_ret,
                      podnet_error **err);
podnet_sync_report *pn_sync_report_new(void);
/* Appends an entry (node, rt's destination and gateway, and a reason, each optional). */
int pn_sync_report_add(podnet_sync_report *r, podnet_sync_action action, const char *node,
                       const struct pn_rt *rt, const char *reason_fmt, ...) _printf_(5, 6);
/* Records a peer's path ("direct", "vxlan") and why: what status and sync reports print
 * per peer once a sync used an overlay mode. path and reason are static strings. */
int pn_sync_report_add_path(podnet_sync_report *r, const char *node, const char *path,
                            const char *reason);
/* Sorts the paths by node, for pn_sync_report_path_of(). */
void pn_sync_report_sort_paths(podnet_sync_report *r);
/* The number of paths recorded, and the i-th. */
size_t pn_sync_report_n_paths(const podnet_sync_report *r);
void pn_sync_report_path(const podnet_sync_report *r, size_t i, const char **node,
                         const char **path, const char **reason);
/* The path and reason of `node`, or false. */
bool pn_sync_report_path_of(const podnet_sync_report *r, const char *node, const char **path,
                            const char **reason);
/* The MTU of the overlay the sync used (its VXLAN device's: the underlay's less the
 * encapsulation); 0 when it used none. */
void pn_sync_report_set_overlay_mtu(podnet_sync_report *r, unsigned mtu);
unsigned pn_sync_report_overlay_mtu(const podnet_sync_report *r);
/* Sets the count podnet_sync_report_writes() returns. */
void pn_sync_report_set_writes(podnet_sync_report *r, size_t writes);
/* Carries what an earlier pass wrote (prev) into the report of the next: a route it
 * added or replaced that the next pass found in place is reported as added or replaced,
 * and a route it deleted (which the next pass no longer sees) as deleted. */
int pn_sync_report_carry(podnet_sync_report *next, const podnet_sync_report *prev);

/* Valid Kubernetes node name (DNS-1123 subdomain). */
bool pn_node_name_valid(const char *name);

/* The node list's building blocks, shared by its readers (and the tests' reference reader):
 * a zeroed new entry; a pod CIDR (stored as its network, checked against the node's
 * others); an address (InternalIP beats ExternalIP, the first of a type wins; with
 * strict_single a second one of a family is an error); the check that names are unique
 * (json: messages name items[origin], else Line origin). `where` prefixes messages. */
int pn_nodes_append(podnet_nodes *nodes, struct pn_node **ret);
int pn_node_add_pod_cidr(struct pn_node *node, const char *text, podnet_error **err,
                         const char *where);
int pn_node_add_address(struct pn_node *node, const char *text, enum pn_addr_type type,
                        bool strict_single, podnet_error **err, const char *where);
int pn_nodes_check_unique(const podnet_nodes *nodes, bool json, podnet_error **err);

#endif

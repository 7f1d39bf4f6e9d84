/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the node agent: the overlay plan (overlay-plan.c). Which path each peer
 * takes, direct routing or the VXLAN overlay, and why; and for the overlay peers the
 * kernel objects a sync wants on the VXLAN device: neighbour entries, FDB entries and
 * onlink routes, in the net/ forms a diff against a dump uses.
 */
#ifndef PODNET_AGENT_OVERLAY_H
#define PODNET_AGENT_OVERLAY_H

#include "agent/routes.h"

/* The VXLAN device when the configuration names none. */
#define PN_VXLAN_DEV_DEFAULT "podnet.vx"

/* podnet-routes --overlay MODE. */
enum pn_overlay_mode {
        PN_OVERLAY_NEVER = 0,    /* direct routes only: what podnet did before the overlay */
        PN_OVERLAY_CROSS_SUBNET, /* direct to on-link peers, the overlay to the others */
        PN_OVERLAY_ALWAYS,       /* the overlay to every peer */
        PN_OVERLAY_AUTO,         /* cross-subnet, and a direct peer must pass a probe */
};

/* The mode named `name` ("never", "cross-subnet", "always", "auto"; NULL: `dflt`):
 * 0, or -EINVAL for another word. */
int pn_overlay_mode_parse(const char *name, enum pn_overlay_mode dflt, enum pn_overlay_mode *ret);
const char *pn_overlay_mode_name(enum pn_overlay_mode m);

enum pn_path {
        PN_PATH_DIRECT = 0,
        PN_PATH_VXLAN,
};

/* Why a peer takes its path; the names are what status and sync reports print. */
enum pn_path_reason {
        PN_REASON_FORCED = 0,    /* "forced by mode": never or always */
        PN_REASON_ONLINK,        /* "on-link": direct; the kernel's routes to the peer's
                                  * addresses have no gateway */
        PN_REASON_NOT_ONLINK,    /* "not on-link": vxlan */
        PN_REASON_NO_ENDPOINT,   /* "no tunnel endpoint": direct (as before the overlay),
                                  * since this node or the peer has no address of the
                                  * underlay's family */
        PN_REASON_MAC_COLLISION, /* "endpoint MAC collision": direct; an IPv6 underlay
                                  * address whose endpoint MAC an earlier node (or this
                                  * one) has already (see vtep.c) */
        PN_REASON_PROBE_FAILED,  /* "probe failed": vxlan; auto mode, on-link, but a probe
                                  * between the pod CIDR gateways got no answer */
};

const char *pn_path_name(enum pn_path p);
const char *pn_path_reason_name(enum pn_path_reason r);

/* Whether the address (family, addr) of a peer is on-link: the kernel's route to it is
 * a unicast route through a device without a gateway (route-lookup.c asks the kernel). */
typedef bool (*pn_onlink_fn)(int family, const uint8_t *addr, void *userdata);

struct pn_overlay_config {
        enum pn_overlay_mode mode;
        int family;             /* the underlay's: AF_INET or AF_INET6 (one VXLAN device) */
        int ifindex;            /* the VXLAN device: the routes' oif, the entries' link */
        uint32_t table;         /* of the routes */
        uint32_t priority[2];   /* the routes' metric, IPv4 and IPv6 */
        pn_onlink_fn onlink;    /* asked in cross-subnet and auto modes; NULL: nothing is */
        void *userdata;
        /* auto mode: per node index, true where the probe of the direct path failed
         * (such an on-link peer goes over the overlay); NULL: none failed */
        const bool *probe_failed;
};

struct pn_overlay_peer {
        size_t node; /* index into the node list */
        enum pn_path path;
        enum pn_path_reason reason;
        bool has_endpoint;   /* it has an underlay address of the underlay's family */
        uint8_t underlay[16];
        uint8_t mac[6];      /* its endpoint MAC (has_endpoint) */
};

/* A plan: every node of the list but this one, in list order, and the entries and
 * routes the overlay peers need. Neighbour entries are sorted by pn_neigh_cmp(), FDB
 * entries by pn_fdb_cmp(), routes by pn_rt_compare(): what a diff against a dump
 * (sorted alike) walks. Routes are onlink via the peer's endpoint address (its pod
 * CIDR's network address) on the VXLAN device; their `node` is the peer's index. */
struct pn_overlay_plan {
        struct pn_overlay_peer *peer;
        size_t n_peer;
        struct pn_neigh *neigh;
        size_t n_neigh;
        struct pn_fdb *fdb;
        size_t n_fdb;
        struct pn_rt *rt;
        size_t n_rt;
        size_t n_vxlan; /* peers on the overlay */
};

/* Plans the overlay for this node (`self`, an index into nodes; SIZE_MAX: not in the
 * list, then there is no endpoint of its own and no peer goes over the overlay). A peer
 * goes over the overlay when the mode says so (always; cross-subnet: when one of the
 * addresses its pod CIDRs' direct routes would use, of each pod CIDR's family, is
 * missing or not on-link) and both ends have an endpoint. 0, or -ENOMEM / -EINVAL
 * (bad configuration); out is the caller's to pn_overlay_plan_done(). */
int pn_overlay_plan(const podnet_nodes *nodes, size_t self, const struct pn_overlay_config *cfg,
                    struct pn_overlay_plan *out);
/* Frees what a plan holds; out is {0} again. */
void pn_overlay_plan_done(struct pn_overlay_plan *p);

/* The entry diff (overlay-diff.c): an operation on a neighbour or FDB entry. `want` and
 * `have` index the wanted and installed arrays (SIZE_MAX: none). */
struct pn_entry_op {
        enum pn_op_kind kind;
        size_t want, have;
};

/* Merges wanted neighbour entries with installed ones, both sorted by pn_neigh_cmp():
 * KEEP (pn_neigh_same()), REPLACE (same address, another MAC or not permanent), ADD,
 * DELETE for installed permanent entries nobody wants (the kernel's own, not permanent,
 * are left alone: the device is podnet's, they come and go with traffic). *ret is the
 * caller's to free(). 0 or -ENOMEM / -EINVAL. */
/* The bytes of the operations array pn_neigh_diff() and pn_fdb_diff() return for n_want
 * and n_have entries (what a caller gives back to netlink/scratch.c). */
size_t pn_entry_ops_size(size_t n_want, size_t n_have);
int pn_neigh_diff(const struct pn_neigh *want, size_t n_want, const struct pn_neigh *have,
                  size_t n_have, struct pn_entry_op **ret, size_t *n_ret);
/* The same for FDB entries sorted by pn_fdb_cmp(), keyed by MAC (one remote each
 * wanted): KEEP the remote that is pn_fdb_same(), else REPLACE one; the MAC's other
 * remotes and the MACs nobody wants are DELETE. */
int pn_fdb_diff(const struct pn_fdb *want, size_t n_want, const struct pn_fdb *have,
                size_t n_have, struct pn_entry_op **ret, size_t *n_ret);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the partial pass (route-sync-delta.c, overlay-delta.c): the overlay's part
 * of a pass over the peers of a change set, in an overlay mode: the facts of the last
 * full pass it stands on, the changed peers' paths, and their neighbour and FDB entries
 * read one by one and written where they differ.
 */
#ifndef PODNET_AGENT_OVERLAY_DELTA_H
#define PODNET_AGENT_OVERLAY_DELTA_H

#include "agent/route-sync.h"

/* What the last full pass found of the overlay; NULL where partial passes are direct
 * only (never). */
struct pn_ov_base;

/* After a full pass in an overlay mode: the VXLAN device, this node's endpoint and
 * underlay device, and (IPv6 underlay) every node's endpoint MAC. 0 with *ret, or 0 with
 * *ret NULL: no partial passes (no endpoint here, no device), or -errno. */
int pn_ov_base_new(podnet_agent *a, const struct pn_route_dump *d, struct pn_ov_base **ret);
struct pn_ov_base *pn_ov_base_free(struct pn_ov_base *b);

/* The overlay part of one partial pass. */
struct pn_ov_delta {
        struct pn_overlay_pass o; /* the plan of `sub` (this node first, then the peers) */
        struct ov_entry *ne, *fdb;
        size_t n_ne, n_fdb;
        size_t writes;
};

/* Checks that the device is the base's, and plans the paths of sub's peers (sub->nodes[0]
 * is this node) as a full pass would: on-link lookups, auto's probe of these peers only.
 * 0, 1: a full pass instead, or -errno. */
int pn_ov_delta_plan(podnet_agent *a, struct pn_ov_base *b, struct nl_sock *sk,
                     const podnet_nodes *sub, struct pn_ov_delta *ov);
/* After the routes were planned (pn_overlay_pass_routes()): reads the neighbour and FDB
 * entries the changed peers had (old) and have (sub) on the device and decides what to
 * write. 0, 1: a full pass instead, or -errno. */
int pn_ov_delta_entries(struct nl_sock *sk, const podnet_nodes *old, const podnet_nodes *sub,
                        struct pn_ov_delta *ov);
/* Writes the additions and replacements (adds, before the routes) or the deletions.
 * 0 or the kernel's first refusal. */
int pn_ov_delta_write(struct nl_sock *sk, struct pn_ov_delta *ov, bool adds);
/* After a partial pass that wrote everything: sub's endpoint MACs join the base's. */
int pn_ov_base_note(struct pn_ov_base *b, const podnet_nodes *sub);
void pn_ov_delta_done(struct pn_ov_delta *ov);

#endif

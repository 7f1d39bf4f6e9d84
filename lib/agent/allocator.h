/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the pod CIDR allocator (allocator-plan.c, allocator-watch.c): the CIDRs it
 * patched into Nodes whose events have not come back yet, and the plan that gives the
 * nodes without a pod CIDR one per cluster CIDR without ever handing a CIDR out twice.
 */
#ifndef PODNET_AGENT_ALLOCATOR_H
#define PODNET_AGENT_ALLOCATOR_H

#include "agent/routes.h"
#include "core/internal.h"

/* A Node's pod CIDRs known before its watch event says so: ours, patched (or a patch whose
 * outcome is not known: retried with the same CIDRs), or another writer's, read after our
 * patch was refused, or read by the consistent LIST a new leader makes (its watch may lag
 * behind the patches of the leader before it). They are taken until a node list shows the
 * Node with pod CIDRs (the list then says what is taken), or, once a list has shown the
 * Node, until a list does not (it was deleted). */
struct pn_alloc_pending {
        char *name;
        podnet_cidr **cidrs;
        size_t n_cidrs;
        bool listed;     /* a node list has shown the Node (ours: always) */
        bool retry;      /* our patch's outcome is unknown: send it again at retry_at */
        double retry_at; /* pn_now_ms() */
};

struct pn_alloc_state {
        struct pn_alloc_pending *v;
        size_t n, cap;
};

void pn_alloc_state_done(struct pn_alloc_state *st);
/* Records name's CIDRs (copied) as taken; an entry for name is replaced. 0 or -ENOMEM. */
int pn_alloc_pending_add(struct pn_alloc_state *st, const char *name,
                         const podnet_cidr *const *cidrs, size_t n, bool listed, bool retry,
                         double retry_at);
struct pn_alloc_pending *pn_alloc_pending_find(struct pn_alloc_state *st, const char *name);
void pn_alloc_pending_drop(struct pn_alloc_state *st, const char *name);

/* The name of another node that holds a CIDR overlapping one of p's (a node of `nodes`
 * or another entry), or NULL when p's CIDRs are still free: a patch whose outcome was not
 * known is sent again only then (a leader of another term, or another writer, may have
 * given them meanwhile). */
const char *pn_alloc_pending_holder(const struct pn_alloc_state *st, const podnet_nodes *nodes,
                                    const struct pn_alloc_pending *p);

/* Forgets the entries that `nodes` (a complete node list) settles: a Node listed with pod
 * CIDRs, or not listed though listed before. Returns how many were forgotten. */
size_t pn_alloc_reconcile(struct pn_alloc_state *st, const podnet_nodes *nodes);

/* One node to patch: its new CIDRs, one per cluster CIDR in that order. */
struct pn_alloc_assign {
        char *name;
        podnet_cidr **cidrs;
        size_t n_cidrs;
};
void pn_alloc_assign_free(struct pn_alloc_assign *a, size_t n);

/* The plan for `nodes` (after pn_alloc_reconcile()): every CIDR of the list and of the
 * pending entries is taken; the nodes listed without pod CIDRs and without an entry get
 * the lowest free subnet of each cluster CIDR, in name order, as many as fit. *ret (the
 * caller's, *n_ret entries) says who gets what; *n_left how many nodes got nothing because
 * a cluster CIDR is full (*err then says which). 0 or -errno (bad cluster CIDRs or mask
 * sizes: *err). */
int pn_alloc_plan(const podnet_nodes *nodes, const struct pn_alloc_state *st,
                  const podnet_cidr *const *cluster, const unsigned *masks, size_t n_cluster,
                  struct pn_alloc_assign **ret, size_t *n_ret, size_t *n_left, podnet_error **err);

#endif

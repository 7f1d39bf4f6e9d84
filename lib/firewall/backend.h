/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the firewall family: what a firewall backend is (the limits it declares
 * and the calls that translate and commit a plan), the table of backends, and the
 * per-call options. A new backend is one new file defining a struct pn_fw_backend and
 * one entry in pn_fw_backends[] (backend.c).
 */
#ifndef PODNET_FW_BACKEND_H
#define PODNET_FW_BACKEND_H

#include <stdio.h>

#include "firewall/plan.h"

#define PN_FW_LOCK_TIMEOUT_MS_DEFAULT 10000

/* Knobs of one call; the public functions use the defaults, tests may not. */
struct pn_fw_backend;
struct pn_fw_opts {
        /* How long to wait for a lock other programs share (the xtables lock) before
         * -EAGAIN. */
        unsigned lock_timeout_ms;
        /* The backend of this call; NULL: the context's (podnet_ctx_set_fw_backend). */
        const struct pn_fw_backend *backend;
};

/* One of podnet-cni's per-network masquerade entries read back: the network (from its
 * comment "podnet:<network>") and the subnet it masquerades. */
typedef int (*pn_fw_entry_fn)(int family, const char *network, const podnet_cidr *subnet,
                              void *data);

/* A backend. Arguments are validated against its limits before they reach it; every
 * call returns a negative errno and a message (no CNI code) on failure. */
struct pn_fw_backend {
        const char *name;
        /* Limits: the longest rule comment it can store (bytes, without a NUL), and
         * whether it filters IPv6. */
        size_t comment_max;
        bool ipv6;
        /* Whether the kernel announces changes of its rule set (pn_fw_monitor_open). */
        bool notifies;

        /* Makes every chain of the plan present with exactly its rules and its jump, or
         * absent with its jump. Returns the number of commits (0: all was in place). */
        int (*apply)(podnet_ctx *ctx, const struct pn_fw_opts *opts, const struct pn_fw_plan *plan,
                     podnet_error **err);
        /* The shared chain's entry: add returns 1 if it added, 0 if present (duplicates
         * go); remove returns 1 if it removed, 0 if absent, and removes the chain with
         * its jump when nothing else is left in it; check returns 1 or 0 and writes
         * nothing. */
        int (*add)(podnet_ctx *ctx, const struct pn_fw_opts *opts, const struct pn_fw_entry *e,
                   podnet_error **err);
        int (*remove)(podnet_ctx *ctx, const struct pn_fw_opts *opts, const struct pn_fw_entry *e,
                      podnet_error **err);
        int (*check)(podnet_ctx *ctx, const struct pn_fw_entry *e, podnet_error **err);
        /* Appends a listing of podnet's chains (pn_fw_chains) and their jumps, in the
         * backend's own syntax, to out. */
        int (*list)(podnet_ctx *ctx, FILE *out, podnet_error **err);
        /* Calls fn for each per-network masquerade entry of podnet's shared chain
         * (PODNET-MASQ) of family, in chain order; rules of any other shape are skipped.
         * Writes nothing; a table or chain that is not there has no entries. 0, fn's
         * negative return, or -errno with *err. */
        int (*entries)(podnet_ctx *ctx, int family, pn_fw_entry_fn fn, void *data,
                       podnet_error **err);
};

extern const struct pn_fw_backend pn_fw_backend_iptables_legacy;
extern const struct pn_fw_backend pn_fw_backend_iptables_nft;

/* The backend the host's other firewall users (Docker, kube-proxy, kubelet) write to,
 * for an automatic choice: kubelet's hint chains first, else the side with more rules
 * that are not podnet's, else iptables-nft where the kernel has nf_tables (nft-detect.c).
 * *reason (the caller frees it) says why in a sentence. 0 or -errno. */
int pn_fw_detect(podnet_ctx *ctx, const struct pn_fw_backend **ret, char **reason,
                 podnet_error **err);

/* The backend the context chose (podnet_ctx_set_fw_backend(3)). */
const struct pn_fw_backend *pn_fw_backend_of(const podnet_ctx *ctx);
/* The backend named `name`, or NULL. */
const struct pn_fw_backend *pn_fw_backend_by_name(const char *name);
/* The i-th backend of the table, NULL past its end: for a walk over every backend. */
const struct pn_fw_backend *pn_fw_backend_nth(size_t i);
/* The lock file iptables(8) shares, as the context names it (default /run/xtables.lock). */
const char *pn_fw_xtables_lock(const podnet_ctx *ctx);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the firewall family: the backend ops table (iptables through libiptc now,
 * nftables later), the per-call options, and the names of podnet's chains.
 */
#ifndef PODNET_FW_H
#define PODNET_FW_H

#include "core/internal.h"

#define PN_FW_CHAIN_MASQ "PODNET-MASQ"
#define PN_FW_CHAIN_FORWARD "PODNET-FORWARD"
#define PN_FW_CHAIN_POSTROUTING "PODNET-POSTROUTING"
#define PN_FW_COMMENT_MASQ_JUMP "podnet masquerade"
#define PN_FW_COMMENT_FORWARD_JUMP "podnet forward"
#define PN_FW_COMMENT_POSTROUTING_JUMP "podnet postrouting"
/* Per-network masquerade rules carry the comment "podnet:<network>". */
#define PN_FW_COMMENT_NETWORK_PREFIX "podnet:"
/* xt_comment holds 256 bytes with the NUL. */
#define PN_FW_NETWORK_MAX (256 - 1 - (sizeof(PN_FW_COMMENT_NETWORK_PREFIX) - 1))

#define PN_FW_LOCK_TIMEOUT_MS_DEFAULT 10000

/* Knobs of one call; the public functions use the defaults, tests may not. */
struct pn_fw_opts {
        /* How long to wait for the xtables lock before -EAGAIN (CNI code 11). */
        unsigned lock_timeout_ms;
};

enum pn_fw_masq_op {
        PN_FW_MASQ_ENSURE,
        PN_FW_MASQ_REMOVE,
        PN_FW_MASQ_HAS,
};

/* A backend. Arguments are validated by fw.c before they reach it; each function
 * follows the contract of the public function of the same name. */
struct pn_fw_ops {
        const char *name;
        /* ENSURE: 1 added, 0 present; REMOVE: 1 removed, 0 absent; HAS: 1/0. */
        int (*masq)(podnet_ctx *ctx, const struct pn_fw_opts *opts, enum pn_fw_masq_op op,
                    const char *network, const podnet_cidr *subnet, podnet_error **err);
        /* cfg is a full-size copy; returns the number of commits. */
        int (*node_ensure)(podnet_ctx *ctx, const struct pn_fw_opts *opts,
                           const podnet_fw_config *cfg, podnet_error **err);
        int (*node_teardown)(podnet_ctx *ctx, const struct pn_fw_opts *opts, podnet_error **err);
        /* Appends the listing to out (an open_memstream). */
        int (*node_dump)(podnet_ctx *ctx, FILE *out, podnet_error **err);
};

extern const struct pn_fw_ops pn_fw_iptables_ops;

/* The public functions with explicit options, for tests (reachable through the
 * convenience library). */
int pn_fw_masq(podnet_ctx *ctx, const struct pn_fw_opts *opts, enum pn_fw_masq_op op,
               const char *network, const podnet_cidr *subnet, podnet_error **err);
int pn_fw_node_ensure(podnet_ctx *ctx, const struct pn_fw_opts *opts, const podnet_fw_config *cfg,
                      podnet_error **err);
int pn_fw_node_teardown(podnet_ctx *ctx, const struct pn_fw_opts *opts, podnet_error **err);

#endif

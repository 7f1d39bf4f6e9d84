/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to libpodnet: the firewall family's front with explicit per-call options (the
 * backend of the call, for the node agent and the CNI verbs; timeouts for tests), and
 * the choice of a node's backend (choice.c).
 */
#ifndef PODNET_FW_H
#define PODNET_FW_H

#include "firewall/backend.h"

enum pn_fw_masq_op {
        PN_FW_MASQ_ENSURE,
        PN_FW_MASQ_REMOVE,
        PN_FW_MASQ_HAS,
};

int pn_fw_masq(podnet_ctx *ctx, const struct pn_fw_opts *opts, enum pn_fw_masq_op op,
               const char *network, const podnet_cidr *subnet, podnet_error **err);
int pn_fw_node_ensure(podnet_ctx *ctx, const struct pn_fw_opts *opts, const podnet_fw_config *cfg,
                      podnet_error **err);
int pn_fw_node_teardown(podnet_ctx *ctx, const struct pn_fw_opts *opts, podnet_error **err);
int pn_fw_node_dump(podnet_ctx *ctx, const struct pn_fw_opts *opts, char **ret, podnet_error **err);
/* The public functions' options, with `backend` (NULL: the context's). */
struct pn_fw_opts pn_fw_opts_with(const struct pn_fw_backend *backend);

/* ---- change notifications (monitor.c) ---- */

/* A subscription to the changes of backend b's rule set, for a daemon: a non-blocking
 * fd (the caller's to close), -EOPNOTSUPP for a backend whose kernel announces nothing
 * (x_tables), or another -errno with *err set. */
int pn_fw_monitor_open(podnet_ctx *ctx, const struct pn_fw_backend *b, podnet_error **err);
/* Reads every queued notification: how many (an overrun counts as one), or -errno. */
int pn_fw_monitor_drain(int fd);

/* ---- the node's backend (choice.c) ---- */

/* The name that asks for the automatic choice. */
#define PN_FW_AUTO "auto"
/* The state file's name in podnet's run directory (/run/podnet). */
#define PN_FW_STATE_FILE "firewall-backend"

/* Resolves `name`: a backend's name (reason "configured"; -ENOENT for a name no backend
 * has), or "auto" / NULL: the decision recorded in state_path when there is one (NULL:
 * none is read), else pn_fw_detect()'s. *reason is the caller's. 0 or -errno. */
int pn_fw_choose(podnet_ctx *ctx, const char *name, const char *state_path,
                 const struct pn_fw_backend **ret, char **reason, podnet_error **err);
/* The state file: "<backend>\n<reason>\n". read: 1 with the backend (and *reason, the
 * caller's, when reason is not NULL), 0 when absent or not valid. write: atomic, 1
 * written, 0 when it already said so. remove: 1 removed, 0 absent. */
int pn_fw_state_read(const char *path, const struct pn_fw_backend **ret, char **reason);
int pn_fw_state_write(const char *path, const struct pn_fw_backend *b, const char *reason,
                      podnet_error **err);
int pn_fw_state_remove(const char *path, podnet_error **err);

/* ---- native nftables chains of the forward hook (nft-forward.c) ---- */

/* A chain of nf_tables: family (NFPROTO_IPV4, _IPV6, _INET), table, name. */
struct pn_fw_nft_chain {
        uint16_t nfproto;
        char table[256], chain[256];
};

/* "ip", "ip6", "inet", or NULL. */
const char *pn_fw_nft_family_name(uint16_t nfproto);
/* Parses "FAMILY:TABLE:CHAIN" (inet:filter:forward). 0 or -EINVAL with *err. */
int pn_fw_nft_chain_parse(const char *spec, struct pn_fw_nft_chain *c, podnet_error **err);

/* A base chain of the forward hook that drops what podnet forwards. */
struct pn_fw_drop {
        bool found;
        struct pn_fw_nft_chain chain;
        char why[64]; /* "policy drop", "rule 3 of 5 drops all" */
};

/* Looks for a base chain of the forward hook (ip, ip6, inet) with policy drop or a rule
 * that drops everything, other than `accept` (NULL: none; podnet's accepts go there)
 * and, with skip_iptables_nft, iptables-nft's FORWARD chains (podnet's jump precedes
 * their rules). The first one found in *ret. 0 or -errno with *err. */
int pn_fw_nft_drop_find(podnet_ctx *ctx, const struct pn_fw_nft_chain *accept,
                        bool skip_iptables_nft, struct pn_fw_drop *ret, podnet_error **err);
/* Makes chain c hold podnet's accepts for the cluster CIDRs (of c's family; source or
 * destination, tagged with a comment "podnet: ..."), inserted at its head, and no other
 * rule of podnet's. 1 if it committed, 0 if all was in place, -errno with *err. */
int pn_fw_nft_accept_ensure(podnet_ctx *ctx, const struct pn_fw_nft_chain *c,
                            const podnet_cidr *const *cidrs, size_t n, podnet_error **err);
/* Removes podnet's accepts from c (NULL: from every base chain of the forward hook).
 * 1 if it committed, 0 if none was there, -errno with *err. */
int pn_fw_nft_accept_remove(podnet_ctx *ctx, const struct pn_fw_nft_chain *c, podnet_error **err);

#endif

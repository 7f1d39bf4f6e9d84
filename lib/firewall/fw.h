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

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the firewall family: the public front's functions with explicit per-call
 * options, for tests (reachable through the convenience library).
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

#endif

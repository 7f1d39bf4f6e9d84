/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The firewall family's public front: validates arguments and hands them to the
 * backend's ops table (only iptables through libiptc exists; nftables can come later).
 */
#include <ctype.h>
#include <sys/socket.h>

#include "firewall/fw.h"

static const struct pn_fw_opts fw_default_opts = {
    .lock_timeout_ms = PN_FW_LOCK_TIMEOUT_MS_DEFAULT,
};

static const struct pn_fw_ops *fw_backend(void)
{
        return &pn_fw_iptables_ops;
}

static int fw_check_cidr(const podnet_cidr *c, const char *what, podnet_error **err)
{
        int family;

        if (!c)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG, "Missing %s",
                                      what);
        family = podnet_cidr_family(c);
        if (family != AF_INET && family != AF_INET6)
                return pn_error_plain(err, EAFNOSUPPORT, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Unsupported address family %d of %s", family, what);
        return 0;
}

/* The network name ends up in an xt_comment: bounded, printable, no quotes (iptables -S
 * would have to escape them). */
static int fw_check_network(const char *network, podnet_error **err)
{
        if (isempty(network))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Missing network name for the masquerade rule");
        if (strlen(network) > PN_FW_NETWORK_MAX)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Network name %.32s... is longer than %zu bytes", network,
                                      (size_t)PN_FW_NETWORK_MAX);
        for (const char *p = network; *p; p++)
                if (!isprint((unsigned char)*p) || *p == '"' || *p == '\\')
                        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                              "Network name %s has a character not allowed in "
                                              "a rule comment",
                                              network);
        return 0;
}

int pn_fw_masq(podnet_ctx *ctx, const struct pn_fw_opts *opts, enum pn_fw_masq_op op,
               const char *network, const podnet_cidr *subnet, podnet_error **err)
{
        int r;

        if (!ctx)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INTERNAL, "Missing context");
        r = fw_check_network(network, err);
        if (r < 0)
                return r;
        r = fw_check_cidr(subnet, "masquerade subnet", err);
        if (r < 0)
                return r;
        return fw_backend()->masq(ctx, opts ? opts : &fw_default_opts, op, network, subnet, err);
}

PODNET_EXPORT int podnet_fw_masq_ensure(podnet_ctx *ctx, const char *network,
                                        const podnet_cidr *subnet, podnet_error **err)
{
        return pn_fw_masq(ctx, NULL, PN_FW_MASQ_ENSURE, network, subnet, err);
}

PODNET_EXPORT int podnet_fw_masq_remove(podnet_ctx *ctx, const char *network,
                                        const podnet_cidr *subnet, podnet_error **err)
{
        return pn_fw_masq(ctx, NULL, PN_FW_MASQ_REMOVE, network, subnet, err);
}

PODNET_EXPORT int podnet_fw_masq_has(podnet_ctx *ctx, const char *network,
                                     const podnet_cidr *subnet, podnet_error **err)
{
        return pn_fw_masq(ctx, NULL, PN_FW_MASQ_HAS, network, subnet, err);
}

int pn_fw_node_ensure(podnet_ctx *ctx, const struct pn_fw_opts *opts, const podnet_fw_config *cfg,
                      podnet_error **err)
{
        podnet_fw_config c;
        int r;

        if (!ctx)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INTERNAL, "Missing context");
        if (PODNET_OPTS_COPY(c, cfg, sizeof(podnet_fw_config)) < 0)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Invalid firewall configuration (size %zu)",
                                      cfg ? cfg->size : 0);
        if (c.n_cluster_cidrs == 0 || !c.cluster_cidrs)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "No cluster CIDR for the node firewall rules");
        if (c.n_non_masq_cidrs > 0 && !c.non_masq_cidrs)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Missing non-masquerade CIDR list");
        for (size_t i = 0; i < c.n_cluster_cidrs; i++) {
                r = fw_check_cidr(c.cluster_cidrs[i], "cluster CIDR", err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < c.n_non_masq_cidrs; i++) {
                r = fw_check_cidr(c.non_masq_cidrs[i], "non-masquerade CIDR", err);
                if (r < 0)
                        return r;
        }
        return fw_backend()->node_ensure(ctx, opts ? opts : &fw_default_opts, &c, err);
}

PODNET_EXPORT int podnet_fw_node_ensure(podnet_ctx *ctx, const podnet_fw_config *cfg,
                                        podnet_error **err)
{
        return pn_fw_node_ensure(ctx, NULL, cfg, err);
}

int pn_fw_node_teardown(podnet_ctx *ctx, const struct pn_fw_opts *opts, podnet_error **err)
{
        if (!ctx)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INTERNAL, "Missing context");
        return fw_backend()->node_teardown(ctx, opts ? opts : &fw_default_opts, err);
}

PODNET_EXPORT int podnet_fw_node_teardown(podnet_ctx *ctx, podnet_error **err)
{
        return pn_fw_node_teardown(ctx, NULL, err);
}

PODNET_EXPORT int podnet_fw_node_dump(podnet_ctx *ctx, char **ret, podnet_error **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *out;
        int r;

        if (!ctx || !ret)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INTERNAL,
                                      "Missing context or result pointer");
        out = open_memstream(&buf, &len);
        if (!out)
                return pn_error(err, errno, PODNET_CNI_ERR_INTERNAL,
                                "Allocating the firewall listing");
        r = fw_backend()->node_dump(ctx, out, err);
        if (fclose(out) != 0 && r >= 0)
                r = pn_error(err, errno, PODNET_CNI_ERR_INTERNAL, "Writing the firewall listing");
        if (r < 0)
                return r;
        *ret = steal_pointer(&buf);
        return 0;
}

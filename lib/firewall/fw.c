/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The firewall family's public front: validates arguments against the limits the
 * context's backend declares, computes the rule plan, and hands it to the backend.
 * Failures carry an errno and a message; the CNI verbs choose their CNI codes.
 */
#include <ctype.h>
#include <sys/socket.h>

#include "firewall/fw.h"

static const struct pn_fw_opts fw_default_opts = {
    .lock_timeout_ms = PN_FW_LOCK_TIMEOUT_MS_DEFAULT,
};

struct pn_fw_opts pn_fw_opts_with(const struct pn_fw_backend *backend)
{
        struct pn_fw_opts o = fw_default_opts;

        o.backend = backend;
        return o;
}

static const struct pn_fw_backend *fw_backend(const podnet_ctx *ctx, const struct pn_fw_opts *opts)
{
        return opts && opts->backend ? opts->backend : pn_fw_backend_of(ctx);
}

static int fw_check_cidr(const podnet_cidr *c, const char *what, podnet_error **err)
{
        int family;

        if (!c)
                return pn_error_plain(err, EINVAL, 0, "Missing %s", what);
        family = podnet_cidr_family(c);
        if (family != AF_INET && family != AF_INET6)
                return pn_error_plain(err, EAFNOSUPPORT, 0, "Unsupported address family %d of %s",
                                      family, what);
        return 0;
}

/* The network name ends up in a rule comment: as long as the backend can store with
 * the prefix, printable, no quotes (listings would have to escape them). */
static int fw_check_network(const struct pn_fw_backend *b, const char *network, podnet_error **err)
{
        size_t prefix = sizeof(PN_FW_COMMENT_NETWORK_PREFIX) - 1;
        size_t max = b->comment_max > prefix ? b->comment_max - prefix : 0;

        if (isempty(network))
                return pn_error_plain(err, EINVAL, 0,
                                      "Missing network name for the masquerade rule");
        if (strlen(network) > max)
                return pn_error_plain(
                    err, EINVAL, 0, "Network name %.32s... is longer than %zu bytes", network, max);
        for (const char *p = network; *p; p++)
                if (!isprint((unsigned char)*p) || *p == '"' || *p == '\\')
                        return pn_error_plain(err, EINVAL, 0,
                                              "Network name %s has a character not allowed in "
                                              "a rule comment",
                                              network);
        return 0;
}

static int fw_no_ipv6(const struct pn_fw_backend *b, podnet_error **err)
{
        return pn_error_plain(err, EAFNOSUPPORT, 0, "The %s firewall backend does not filter IPv6",
                              b->name);
}

int pn_fw_masq(podnet_ctx *ctx, const struct pn_fw_opts *opts, enum pn_fw_masq_op op,
               const char *network, const podnet_cidr *subnet, podnet_error **err)
{
        _cleanup_fw_entry_ struct pn_fw_entry e = {0};
        const struct pn_fw_backend *b;
        int r;

        if (!ctx)
                return pn_error_plain(err, EINVAL, 0, "Missing context");
        if (!opts)
                opts = &fw_default_opts;
        b = fw_backend(ctx, opts);
        r = fw_check_network(b, network, err);
        if (r < 0)
                return r;
        r = fw_check_cidr(subnet, "masquerade subnet", err);
        if (r < 0)
                return r;
        if (podnet_cidr_family(subnet) == AF_INET6 && !b->ipv6)
                /* Nothing of IPv6 can be there to find or remove. */
                return op == PN_FW_MASQ_ENSURE ? fw_no_ipv6(b, err) : 0;
        if (pn_fw_entry_masq(&e, network, subnet) < 0)
                return pn_error(err, ENOMEM, 0, "Planning the masquerade rule of network %s",
                                network);
        switch (op) {
        case PN_FW_MASQ_ENSURE:
                return b->add(ctx, opts, &e, err);
        case PN_FW_MASQ_REMOVE:
                return b->remove(ctx, opts, &e, err);
        default:
                return b->check(ctx, &e, err);
        }
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

/* Hands the plan to the context's backend; a backend without IPv6 gets the IPv4 part
 * when the plan wants nothing of IPv6 (there is nothing of it to remove either). */
static int fw_apply(podnet_ctx *ctx, const struct pn_fw_opts *opts, struct pn_fw_plan *plan,
                    podnet_error **err)
{
        const struct pn_fw_backend *b = fw_backend(ctx, opts);

        if (!b->ipv6) {
                size_t k = 0;

                if (pn_fw_plan_uses(plan, AF_INET6))
                        return fw_no_ipv6(b, err);
                /* Chains not wanted hold no rules: nothing to free in what goes. */
                for (size_t i = 0; i < plan->n_families; i++)
                        if (plan->families[i].family != AF_INET6)
                                plan->families[k++] = plan->families[i];
                plan->n_families = k;
        }
        return b->apply(ctx, opts ? opts : &fw_default_opts, plan, err);
}

int pn_fw_node_ensure(podnet_ctx *ctx, const struct pn_fw_opts *opts, const podnet_fw_config *cfg,
                      podnet_error **err)
{
        _cleanup_fw_plan_ struct pn_fw_plan plan = {0};
        podnet_fw_config c;
        int r;

        if (!ctx)
                return pn_error_plain(err, EINVAL, 0, "Missing context");
        if (PODNET_OPTS_COPY(c, cfg, sizeof(podnet_fw_config)) < 0)
                return pn_error_plain(err, EINVAL, 0, "Invalid firewall configuration (size %zu)",
                                      cfg ? cfg->size : 0);
        if (c.n_cluster_cidrs == 0 || !c.cluster_cidrs)
                return pn_error_plain(err, EINVAL, 0,
                                      "No cluster CIDR for the node firewall rules");
        if (c.n_non_masq_cidrs > 0 && !c.non_masq_cidrs)
                return pn_error_plain(err, EINVAL, 0, "Missing non-masquerade CIDR list");
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
        if (pn_fw_plan_node(&plan, &c) < 0)
                return pn_error(err, ENOMEM, 0, "Planning the node firewall rules");
        return fw_apply(ctx, opts, &plan, err);
}

PODNET_EXPORT int podnet_fw_node_ensure(podnet_ctx *ctx, const podnet_fw_config *cfg,
                                        podnet_error **err)
{
        return pn_fw_node_ensure(ctx, NULL, cfg, err);
}

int pn_fw_node_teardown(podnet_ctx *ctx, const struct pn_fw_opts *opts, podnet_error **err)
{
        struct pn_fw_plan plan;

        if (!ctx)
                return pn_error_plain(err, EINVAL, 0, "Missing context");
        pn_fw_plan_teardown(&plan);
        return fw_apply(ctx, opts, &plan, err);
}

PODNET_EXPORT int podnet_fw_node_teardown(podnet_ctx *ctx, podnet_error **err)
{
        return pn_fw_node_teardown(ctx, NULL, err);
}

int pn_fw_node_dump(podnet_ctx *ctx, const struct pn_fw_opts *opts, char **ret, podnet_error **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *out;
        int r;

        if (!ctx || !ret)
                return pn_error_plain(err, EINVAL, 0, "Missing context or result pointer");
        out = open_memstream(&buf, &len);
        if (!out)
                return pn_error(err, errno, 0, "Allocating the firewall listing");
        r = fw_backend(ctx, opts)->list(ctx, out, err);
        if (fclose(out) != 0 && r >= 0)
                r = pn_error(err, errno, 0, "Writing the firewall listing");
        if (r < 0)
                return r;
        *ret = steal_pointer(&buf);
        return 0;
}

PODNET_EXPORT int podnet_fw_node_dump(podnet_ctx *ctx, char **ret, podnet_error **err)
{
        return pn_fw_node_dump(ctx, NULL, ret, err);
}

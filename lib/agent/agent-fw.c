/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's firewall backend: which one its passes write to (the configured one,
 * or for "auto" the detection's, taken at each full pass and never in run's checks every
 * second, which reuse it), podnet's node chains removed from every other backend when
 * the choice changes so that they are never in two, and the decision recorded in the
 * run directory, where podnet-cni reads it instead of detecting on every ADD. Also the
 * native nftables forward chains podnet does not own: the one that drops pod traffic
 * named at each full pass, and podnet's accepts kept in the one the operator names.
 */
#include "agent/agent.h"
#include "firewall/fw.h"

const char *pn_agent_fw_name(const podnet_agent *a)
{
        if (!a->cfg.firewall)
                return "none";
        return a->cfg.fw_backend ? a->cfg.fw_backend : podnet_ctx_get_fw_backend(a->ctx);
}

static void state_path(const podnet_agent *a, char *path, size_t size)
{
        snprintf(path, size, "%s/%s", a->run_dir, PN_FW_STATE_FILE);
}

/* A kernel without nf_tables (or without x_tables' tables) has nothing of podnet's. */
static bool fw_absent(int r)
{
        return r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT || r == -EOPNOTSUPP || r == -ENOENT;
}

/* Removes podnet's node chains from every backend but `keep` (NULL: from all). The
 * number of commits; a failure is a warning (the chosen backend's rules still go in). */
static int sweep(podnet_agent *a, const struct pn_fw_backend *keep)
{
        const struct pn_fw_backend *b;
        int commits = 0;

        for (size_t i = 0; (b = pn_fw_backend_nth(i)); i++) {
                struct pn_fw_opts o = pn_fw_opts_with(b);
                podnet_error *err = NULL;
                int r;

                if (b == keep)
                        continue;
                r = pn_fw_node_teardown(a->ctx, &o, &err);
                if (r > 0)
                        pn_info(a->ctx, "Removed podnet's firewall chains from %s", b->name);
                else if (r < 0 && fw_absent(r))
                        pn_debug(a->ctx, "%s", podnet_error_message(err));
                else if (r < 0)
                        pn_warn(a->ctx, "Removing podnet's firewall chains from %s: %s", b->name,
                                podnet_error_message(err));
                podnet_error_free(err);
                commits += r > 0 ? r : 0;
        }
        return commits;
}

/* podnet-cni's per-network masquerade entries found in a backend */
struct masq_found {
        struct masq_entry {
                char *network;
                podnet_cidr subnet;
        } * v;
        size_t n, cap;
};

static int masq_collect(int family, const char *network, const podnet_cidr *subnet, void *data)
{
        struct masq_found *m = data;

        (void)family;
        /* a read run again after another writer's commit reports an entry again */
        for (size_t i = 0; i < m->n; i++)
                if (streq(m->v[i].network, network) &&
                    podnet_cidr_compare(&m->v[i].subnet, subnet) == 0)
                        return 0;
        if (pn_grow((void **)&m->v, &m->cap, m->n + 1, sizeof(*m->v)) < 0)
                return -ENOMEM;
        m->v[m->n].network = strdup(network);
        if (!m->v[m->n].network)
                return -ENOMEM;
        m->v[m->n++].subnet = *subnet;
        return 0;
}

static void masq_found_done(struct masq_found *m)
{
        for (size_t i = 0; i < m->n; i++)
                free(m->v[i].network);
        free(m->v);
        *m = (struct masq_found){0};
}

/* Moves podnet-cni's per-network masquerade entries (ipMasq) from every backend but
 * `to` into `to`: added there first, then removed where they were, so that a pod's
 * traffic is masqueraded throughout, and afterwards by one backend only. The entries
 * themselves are the record of the attached networks: their comment names the network,
 * their source the subnet. Moved ones are counted; failures are warnings (the entry
 * stays where it was, and the next full pass tries again). */
static int move_masq(podnet_agent *a, const struct pn_fw_backend *to)
{
        static const int families[] = {AF_INET, AF_INET6};
        const struct pn_fw_backend *b;
        struct pn_fw_opts o_to = pn_fw_opts_with(to);
        int moved = 0;

        for (size_t i = 0; (b = pn_fw_backend_nth(i)); i++) {
                struct pn_fw_opts o_from = pn_fw_opts_with(b);

                if (b == to || !b->entries)
                        continue;
                for (size_t f = 0; f < ELEMENTSOF(families); f++) {
                        _cleanup_(masq_found_done) struct masq_found m = {0};
                        podnet_error *err = NULL;
                        int r = b->entries(a->ctx, families[f], masq_collect, &m, &err);

                        if (r < 0) {
                                if (!fw_absent(r))
                                        pn_warn(a->ctx, "Reading podnet-cni's masquerade rules "
                                                        "in %s: %s",
                                                b->name, err ? podnet_error_message(err)
                                                             : strerror(-r));
                                podnet_error_free(err);
                                continue;
                        }
                        for (size_t k = 0; k < m.n; k++) {
                                const char *net = m.v[k].network;

                                r = pn_fw_masq(a->ctx, &o_to, PN_FW_MASQ_ENSURE, net,
                                               &m.v[k].subnet, &err);
                                if (r >= 0)
                                        r = pn_fw_masq(a->ctx, &o_from, PN_FW_MASQ_REMOVE, net,
                                                       &m.v[k].subnet, &err);
                                if (r < 0) {
                                        pn_warn(a->ctx, "Moving the masquerade rule of network "
                                                        "%s from %s to %s: %s",
                                                net, b->name, to->name,
                                                err ? podnet_error_message(err) : strerror(-r));
                                        err = podnet_error_free(err);
                                        continue;
                                }
                                pn_info(a->ctx, "Moved the masquerade rule of network %s from "
                                                "%s to %s",
                                        net, b->name, to->name);
                                moved++;
                        }
                }
        }
        return moved;
}

int pn_agent_fw_choose(podnet_agent *a)
{
        const struct pn_fw_backend *b, *prev;
        podnet_error *err = NULL;
        char *reason = NULL, path[PATH_MAX + 32];
        int r;

        r = pn_fw_choose(a->ctx, pn_agent_fw_name(a), NULL, &b, &reason, &err);
        if (r < 0)
                return pn_agent_fail(a, err, r, "Choosing the firewall backend");
        state_path(a, path, sizeof(path));
        /* before this agent's first choice, the last one is what an earlier run recorded */
        prev = a->fw_backend;
        if (!prev && pn_fw_state_read(path, &prev, NULL) <= 0)
                prev = NULL;
        if (b != a->fw_backend) {
                if (prev && prev != b)
                        pn_warn(a->ctx, "Firewall backend now %s (was %s): %s", b->name, prev->name,
                                reason);
                else
                        pn_debug(a->ctx, "Firewall backend %s: %s", b->name, reason);
                /* podnet's rules in the other backend were either never there or are
                 * stale now: a packet must pass both, and only one is podnet's. */
                sweep(a, b);
        }
        a->fw_backend = b;
        free(a->fw_reason);
        a->fw_reason = reason;
        r = pn_fw_state_write(path, b, reason, &err);
        if (r < 0) {
                /* podnet-cni detects by itself then: slower, still the same answer */
                pn_warn(a->ctx, "%s", podnet_error_message(err));
                podnet_error_free(err);
        }
        /* after the record, which podnet-cni's next ADD and DEL follow; at every full
         * pass, not only at a switch: an ADD that read the old record just before it
         * may have written to the old backend since */
        (void)move_masq(a, b);
        return 0;
}

void pn_agent_fw_forget(podnet_agent *a)
{
        char path[PATH_MAX + 32];

        /* an agent that leaves the firewall alone has no choice for podnet-cni to follow */
        state_path(a, path, sizeof(path));
        (void)pn_fw_state_remove(path, NULL);
        a->fw_backend = NULL;
}

int pn_agent_fw_ensure(podnet_agent *a, podnet_error **err)
{
        podnet_fw_config fw = pn_agent_fw_config(a);
        struct pn_fw_opts o;
        int r;

        if (!a->fw_backend && (r = pn_agent_fw_choose(a)) < 0)
                return r;
        o = pn_fw_opts_with(a->fw_backend);
        r = pn_fw_node_ensure(a->ctx, &o, &fw, err);
        if (r >= 0 && a->cfg.nft_accept_chain) {
                struct pn_fw_nft_chain c;
                int commits = r;

                r = pn_fw_nft_chain_parse(a->cfg.nft_accept_chain, &c, err);
                if (r >= 0)
                        r = pn_fw_nft_accept_ensure(a->ctx, &c, a->cfg.cluster_cidrs,
                                                    a->cfg.n_cluster_cidrs, err);
                if (r >= 0)
                        r += commits;
        }
        return r;
}

int pn_agent_fw_drop_check(podnet_agent *a, const struct pn_fw_backend *b)
{
        struct pn_fw_nft_chain accept, *ap = NULL;
        struct pn_fw_drop d;
        podnet_error *err = NULL;
        char spec[600];
        int r;

        free(a->fw_drop_chain);
        free(a->fw_drop_reason);
        a->fw_drop_chain = a->fw_drop_reason = NULL;
        if (a->cfg.nft_accept_chain && pn_fw_nft_chain_parse(a->cfg.nft_accept_chain, &accept,
                                                             NULL) == 0)
                ap = &accept;
        r = pn_fw_nft_drop_find(a->ctx, ap, b == &pn_fw_backend_iptables_nft, &d,
                                &err);
        if (r < 0) {
                /* a kernel without nf_tables has no such chain */
                if (!fw_absent(r))
                        pn_warn(a->ctx, "%s", podnet_error_message(err));
                podnet_error_free(err);
                return 0;
        }
        if (!d.found)
                return 0;
        snprintf(spec, sizeof(spec), "%s:%s:%s", pn_fw_nft_family_name(d.chain.nfproto),
                 d.chain.table, d.chain.chain);
        a->fw_drop_chain = strdup(spec);
        a->fw_drop_reason = strdup(d.why);
        pn_warn(a->ctx,
                "nftables chain %s %s %s (%s) drops pod traffic; podnet's rules in other tables "
                "cannot override it (--nft-accept-chain %s inserts podnet's accepts there)",
                pn_fw_nft_family_name(d.chain.nfproto), d.chain.table, d.chain.chain, d.why, spec);
        return 0;
}

int pn_agent_fw_teardown(podnet_agent *a)
{
        podnet_error *err = NULL;
        char path[PATH_MAX + 32];
        int commits = 0, r;

        /* every backend: the rules of an earlier choice go too */
        for (size_t i = 0; pn_fw_backend_nth(i); i++) {
                const struct pn_fw_backend *b = pn_fw_backend_nth(i);
                struct pn_fw_opts o = pn_fw_opts_with(b);

                r = pn_fw_node_teardown(a->ctx, &o, &err);
                if (r < 0 && fw_absent(r) && b != pn_fw_backend_by_name(pn_agent_fw_name(a))) {
                        err = podnet_error_free(err);
                        continue;
                }
                if (r < 0)
                        return pn_agent_fail(a, err, r, "Removing firewall chains");
                commits += r;
        }
        /* podnet's accepts in native nftables chains: wherever they are (the option may
         * have named another chain before) */
        r = pn_fw_nft_accept_remove(a->ctx, NULL, &err);
        if (r < 0 && !fw_absent(r))
                return pn_agent_fail(a, err, r, "Removing podnet's nftables accepts");
        err = podnet_error_free(err);
        commits += r > 0 ? r : 0;
        state_path(a, path, sizeof(path));
        r = pn_fw_state_remove(path, &err);
        if (r < 0)
                return pn_agent_fail(a, err, r, "Removing the recorded firewall backend");
        return commits;
}

int pn_agent_fw_status(podnet_agent *a, const char **backend, char **reason, char **dump)
{
        const struct pn_fw_backend *b;
        podnet_error *err = NULL;
        char path[PATH_MAX + 32];
        struct pn_fw_opts o;
        int r;

        *backend = NULL;
        *reason = *dump = NULL;
        state_path(a, path, sizeof(path));
        r = pn_fw_choose(a->ctx, pn_agent_fw_name(a), path, &b, reason, &err);
        if (r < 0)
                return pn_agent_fail(a, err, r, "Choosing the firewall backend");
        *backend = b->name;
        (void)pn_agent_fw_drop_check(a, b);
        o = pn_fw_opts_with(b);
        r = pn_fw_node_dump(a->ctx, &o, dump, &err);
        if (r < 0) {
                pn_warn(a->ctx, "%s", err ? podnet_error_message(err) : "cannot list chains");
                podnet_error_free(err);
        }
        return 0;
}

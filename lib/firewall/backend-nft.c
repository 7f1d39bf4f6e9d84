/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iptables-nft firewall backend: translates the rule plan into nf_tables in the
 * layout iptables-nft uses (family ip/ip6 tables "filter" and "nat", base chains FORWARD
 * and POSTROUTING with iptables-nft's hooks, priorities and ACCEPT policy, created only
 * where absent), with rules encoded as iptables-nft encodes them (nft-rule.c). Each call
 * reads only the chains it touches (the base chain and podnet's own), never the whole
 * ruleset, and commits every change as ONE nf_tables batch checked against the
 * ruleset's generation (nft-txn.c): with kube-proxy's iptables-nft-restore or Docker
 * re-creating its chains at the same moment, podnet reads again and decides again
 * rather than delete by a stale handle or append a second copy of a rule someone else
 * put back meanwhile.
 */
/* Ahead of the kernel's headers, which then yield to glibc's definitions. */
#include <netinet/in.h>

#include <linux/netfilter.h>
#include <sys/socket.h>

#include "firewall/backend.h"
#include "firewall/nft-txn.h"

static const struct nft_hook nft_hooks[] = {
    [PN_FW_HOOK_FORWARD] = {"filter", "FORWARD", "filter", NF_INET_FORWARD, 0},
    [PN_FW_HOOK_POSTROUTING] = {"nat", "POSTROUTING", "nat", NF_INET_POST_ROUTING, 100},
};

/* ---- a chain of podnet's and its jump ---- */

/* Rules of `base` that jump to `chain`. */
static size_t nft_count_jumps(const struct nft_rules *base, const char *chain, size_t *pos)
{
        size_t n = 0;

        for (size_t i = 0; i < base->n; i++)
                if (streq(base->v[i].target, chain) && n++ == 0 && pos)
                        *pos = i;
        return n;
}

static bool nft_jump_ok(const struct nft_rules *base, const struct nft_rule_m *jump, bool first)
{
        size_t pos = 0;

        return nft_count_jumps(base, jump->target, &pos) == 1 && nft_rule_eq(&base->v[pos], jump) &&
               (!first || pos == 0);
}

/* What one chain of podnet's looks like now. */
struct nft_view {
        int family;
        const struct nft_hook *h;
        const struct pn_fw_chain *c;
        struct nft_chain_info base_info, chain_info;
        struct nft_rules base, rules;
};

static void nft_view_done(struct nft_view *v)
{
        nft_rules_done(&v->base);
        nft_rules_done(&v->rules);
}
#define _cleanup_view_ _cleanup_(nft_view_done)

static int nft_view_read(struct nft_txn *t, struct nft_view *v, int family,
                         const struct pn_fw_chain *c, podnet_error **err)
{
        int r;

        *v = (struct nft_view){.family = family, .h = &nft_hooks[c->hook], .c = c};
        r = nft_read_chain(t, family, v->h->table, v->h->builtin, &v->base_info, &v->base);
        if (r >= 0)
                r = nft_read_chain(t, family, v->h->table, c->name, &v->chain_info, &v->rules);
        if (r == -EINTR)
                return r;
        if (r < 0)
                return pn_error(err, -r, 0, "Reading chains %s and %s of %s table %s",
                                v->h->builtin, c->name, nft_family_name(family), v->h->table);
        /* Not iptables-nft's layout, or not podnet's chain: changing it would break its
         * owner's rules, so say whose it is and stop. */
        if (v->base_info.exists && (!v->base_info.base || v->base_info.hooknum != v->h->hooknum))
                return pn_error_plain(err, EEXIST, 0,
                                      "Chain %s of %s table %s is not the base chain of hook %u "
                                      "that iptables-nft uses; not touching it",
                                      v->h->builtin, nft_family_name(family), v->h->table,
                                      v->h->hooknum);
        if (v->chain_info.base)
                return pn_error_plain(err, EEXIST, 0,
                                      "Chain %s of %s table %s is a base chain (hook %u), not "
                                      "podnet's; not touching it",
                                      c->name, nft_family_name(family), v->h->table,
                                      v->chain_info.hooknum);
        return 0;
}

static int nft_ensure_chain(struct nft_txn *t, const struct nft_view *v)
{
        int r = 0;

        if (!v->base_info.exists)
                r = nft_op_base_chain(t, v->family, v->h);
        if (r >= 0 && !v->chain_info.exists)
                r = nft_op_chain(t, v->family, v->h->table, v->c->name, false);
        return r;
}

/* Makes the jump to the view's chain the only one of the base chain, first if asked. */
static int nft_ensure_jump(struct nft_txn *t, const struct nft_view *v)
{
        struct nft_rule_m jump;
        int r = 0;

        nft_rule_jump(&jump, v->c->name, v->c->jump_comment);
        if (nft_jump_ok(&v->base, &jump, v->c->jump_first))
                return 0;
        for (size_t i = 0; r >= 0 && i < v->base.n; i++)
                if (streq(v->base.v[i].target, v->c->name))
                        r = nft_op_del_rule(t, v->family, v->h->table, v->h->builtin,
                                            v->base.v[i].handle);
        if (r >= 0)
                r = nft_op_add_rule(t, v->family, v->h->table, v->h->builtin, &jump,
                                    v->c->jump_first);
        return r;
}

/* Deletes every jump to the view's chain, then (if it exists) the chain; and the table,
 * when that leaves it nothing but an empty base chain of policy accept (which decides
 * nothing): the one podnet created, so that the host's ruleset is as it was before. */
static int nft_remove_chain(struct nft_txn *t, const struct nft_view *v, bool flush)
{
        size_t jumps = 0, chains = 0;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < v->base.n; i++)
                if (streq(v->base.v[i].target, v->c->name)) {
                        r = nft_op_del_rule(t, v->family, v->h->table, v->h->builtin,
                                            v->base.v[i].handle);
                        jumps++;
                }
        if (r >= 0 && v->chain_info.exists && flush && v->rules.n > 0)
                r = nft_op_del_rule(t, v->family, v->h->table, v->c->name, 0);
        if (r >= 0 && v->chain_info.exists)
                r = nft_op_chain(t, v->family, v->h->table, v->c->name, true);
        if (r < 0 || !v->base_info.exists || v->base_info.policy != NF_ACCEPT ||
            v->base.n != jumps || (!v->chain_info.exists && jumps == 0))
                return r;
        r = nft_count_chains(t, v->family, v->h->table, &chains);
        if (r >= 0 && chains == (v->chain_info.exists ? 2u : 1u))
                r = nft_op_del_table(t, v->family, v->h->table);
        return r;
}

/* ---- the node's chains ---- */

static int nft_plan_chain(struct nft_txn *t, int family, const struct pn_fw_chain_plan *cp,
                          podnet_error **err)
{
        _cleanup_view_ struct nft_view v = {0};
        _cleanup_free_ struct nft_rule_m *want = NULL;
        bool same;
        int r;

        r = nft_view_read(t, &v, family, cp->chain, err);
        if (r < 0)
                return r;
        if (!cp->present)
                r = nft_remove_chain(t, &v, true);
        else {
                want = calloc(cp->n_rules ? cp->n_rules : 1, sizeof(*want));
                if (!want)
                        return pn_error(err, ENOMEM, 0, "Building the rules of %s",
                                        cp->chain->name);
                for (size_t i = 0; i < cp->n_rules; i++)
                        nft_rule_from_plan(&want[i], &cp->rules[i]);
                same = v.rules.n == cp->n_rules;
                for (size_t i = 0; same && i < cp->n_rules; i++)
                        same = nft_rule_eq(&v.rules.v[i], &want[i]);
                r = nft_ensure_chain(t, &v);
                if (r >= 0 && !same && v.rules.n > 0)
                        r = nft_op_del_rule(t, family, v.h->table, cp->chain->name, 0);
                for (size_t i = 0; r >= 0 && !same && i < cp->n_rules; i++)
                        r = nft_op_add_rule(t, family, v.h->table, cp->chain->name, &want[i],
                                            false);
                if (r >= 0)
                        r = nft_ensure_jump(t, &v);
        }
        if (r < 0)
                return pn_error(err, -r, 0, "Planning chain %s of %s table %s", cp->chain->name,
                                nft_family_name(family), v.h->table);
        return 0;
}

static int nft_plan_node(struct nft_txn *t, const void *arg, int *result, podnet_error **err)
{
        const struct pn_fw_plan *plan = arg;

        for (size_t i = 0; i < plan->n_families; i++)
                for (size_t j = 0; j < PN_FW_PLAN_CHAINS; j++) {
                        int r = nft_plan_chain(t, plan->families[i].family,
                                               &plan->families[i].chains[j], err);
                        if (r < 0)
                                return r;
                }
        *result = t->n_ops > 0;
        return 0;
}

static int nft_apply(podnet_ctx *ctx, const struct pn_fw_opts *opts, const struct pn_fw_plan *plan,
                     podnet_error **err)
{
        (void)opts; /* nf_tables needs no lock: the generation check serialises */
        return nft_run(ctx, nft_plan_node, plan, "podnet's node chains", err);
}

/* ---- entries of the shared chain (the per-network masquerade rules) ---- */

enum nft_entry_op { NFT_ENTRY_ADD, NFT_ENTRY_REMOVE, NFT_ENTRY_CHECK };

struct nft_entry_arg {
        const struct pn_fw_entry *e;
        enum nft_entry_op op;
};

static int nft_plan_entry(struct nft_txn *t, const void *arg, int *result, podnet_error **err)
{
        const struct nft_entry_arg *a = arg;
        const struct pn_fw_entry *e = a->e;
        _cleanup_view_ struct nft_view v = {0};
        struct nft_rule_m want, jump;
        size_t found = 0;
        int r;

        r = nft_view_read(t, &v, e->family, e->chain, err);
        if (r < 0)
                return r;
        nft_rule_from_plan(&want, &e->rule);
        for (size_t i = 0; i < v.rules.n; i++)
                found += nft_rule_eq(&v.rules.v[i], &want);
        switch (a->op) {
        case NFT_ENTRY_CHECK:
                *result = found > 0;
                return 0;
        case NFT_ENTRY_ADD:
                *result = found == 0;
                nft_rule_jump(&jump, e->chain->name, e->chain->jump_comment);
                if (found == 1 && v.chain_info.exists && nft_jump_ok(&v.base, &jump, false))
                        return 0;
                r = nft_ensure_chain(t, &v);
                if (r >= 0)
                        r = nft_ensure_jump(t, &v);
                /* Duplicates (from races of older tools) go; the first stays. */
                for (size_t i = 0, seen = 0; r >= 0 && i < v.rules.n; i++)
                        if (nft_rule_eq(&v.rules.v[i], &want) && seen++ > 0)
                                r = nft_op_del_rule(t, e->family, v.h->table, e->chain->name,
                                                    v.rules.v[i].handle);
                if (r >= 0 && found == 0)
                        r = nft_op_add_rule(t, e->family, v.h->table, e->chain->name, &want, false);
                break;
        default:
                *result = found > 0;
                for (size_t i = 0; i < v.rules.n; i++)
                        if (nft_rule_eq(&v.rules.v[i], &want) &&
                            (r = nft_op_del_rule(t, e->family, v.h->table, e->chain->name,
                                                 v.rules.v[i].handle)) < 0)
                                break;
                /* The last entry takes the chain and its jump with it. */
                if (r >= 0 && v.chain_info.exists && v.rules.n == found)
                        r = nft_remove_chain(t, &v, false);
                break;
        }
        if (r < 0)
                return pn_error(err, -r, 0, "Planning the rule %s in chain %s of %s table nat",
                                want.comment, e->chain->name, nft_family_name(e->family));
        return 0;
}

static int nft_entry(podnet_ctx *ctx, const struct pn_fw_entry *e, enum nft_entry_op op,
                     podnet_error **err)
{
        struct nft_entry_arg a = {e, op};

        return nft_run(ctx, nft_plan_entry, &a, e->rule.comment, err);
}

static int nft_add_entry(podnet_ctx *ctx, const struct pn_fw_opts *opts,
                         const struct pn_fw_entry *e, podnet_error **err)
{
        (void)opts;
        return nft_entry(ctx, e, NFT_ENTRY_ADD, err);
}

static int nft_remove_entry(podnet_ctx *ctx, const struct pn_fw_opts *opts,
                            const struct pn_fw_entry *e, podnet_error **err)
{
        (void)opts;
        return nft_entry(ctx, e, NFT_ENTRY_REMOVE, err);
}

static int nft_check_entry(podnet_ctx *ctx, const struct pn_fw_entry *e, podnet_error **err)
{
        return nft_entry(ctx, e, NFT_ENTRY_CHECK, err);
}

struct nft_entries_arg {
        int family;
        pn_fw_entry_fn fn;
        void *data;
};

static int nft_plan_entries(struct nft_txn *t, const void *arg, int *result, podnet_error **err)
{
        const struct nft_entries_arg *a = arg;
        const size_t prefix = strlen(PN_FW_COMMENT_NETWORK_PREFIX);
        _cleanup_view_ struct nft_view v = {0};
        int r;

        *result = 0;
        r = nft_view_read(t, &v, a->family, &pn_fw_chain_masq, err);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < v.rules.n; i++) {
                const struct nft_rule_m *m = &v.rules.v[i];

                /* the shape pn_fw_entry_masq() plans: -s S ! -d S -j MASQUERADE */
                if (m->foreign || !streq(m->target, NFT_T_MASQUERADE) || !m->src.family ||
                    m->src_inv || !m->dst_inv || m->src.prefixlen != m->dst.prefixlen ||
                    podnet_cidr_compare(&m->src, &m->dst) != 0 ||
                    strncmp(m->comment, PN_FW_COMMENT_NETWORK_PREFIX, prefix) != 0 ||
                    !m->comment[prefix])
                        continue;
                r = a->fn(a->family, m->comment + prefix, &m->src, a->data);
        }
        return r < 0 ? r : 0;
}

static int nft_entries(podnet_ctx *ctx, int family, pn_fw_entry_fn fn, void *data,
                       podnet_error **err)
{
        struct nft_entries_arg a = {family, fn, data};

        return nft_run(ctx, nft_plan_entries, &a, "the masquerade entries", err);
}

/* ---- listing ---- */

struct nft_list_arg {
        FILE *out;
        int family;
        enum pn_fw_hook hook;
};

/* podnet's chains of one hook: "-N" lines, the base chain's jumps to them, their rules. */
static int nft_plan_list(struct nft_txn *t, const void *arg, int *result, podnet_error **err)
{
        const struct nft_list_arg *a = arg;
        struct nft_view v[ELEMENTSOF(pn_fw_chains)] = {0};
        size_t n = 0;
        bool header = false;
        int r = 0;

        *result = 0;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(pn_fw_chains); i++) {
                if (pn_fw_chains[i]->hook != a->hook)
                        continue;
                r = nft_view_read(t, &v[n], a->family, pn_fw_chains[i], err);
                n++; /* read or not, it is freed below */
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (!v[i].chain_info.exists && nft_count_jumps(&v[i].base, v[i].c->name, NULL) == 0)
                        continue;
                if (!header)
                        fprintf(a->out, "# %s -t %s\n",
                                a->family == AF_INET6 ? "ip6tables-nft" : "iptables-nft",
                                v[i].h->table);
                header = true;
                if (v[i].chain_info.exists)
                        fprintf(a->out, "-N %s\n", v[i].c->name);
        }
        /* Every view of the hook read the same base chain: the first one's jumps. */
        for (size_t i = 0; r >= 0 && n > 0 && i < v[0].base.n; i++)
                for (size_t j = 0; j < n; j++)
                        if (streq(v[0].base.v[i].target, v[j].c->name))
                                nft_rule_print(a->out, v[0].h->builtin, &v[0].base.v[i]);
        for (size_t i = 0; r >= 0 && i < n; i++)
                for (size_t j = 0; j < v[i].rules.n; j++)
                        nft_rule_print(a->out, v[i].c->name, &v[i].rules.v[j]);
        for (size_t i = 0; i < n; i++)
                nft_view_done(&v[i]);
        return r < 0 ? r : 0;
}

static int nft_list(podnet_ctx *ctx, FILE *out, podnet_error **err)
{
        static const int families[] = {AF_INET, AF_INET6};
        static const enum pn_fw_hook hooks[] = {PN_FW_HOOK_FORWARD, PN_FW_HOOK_POSTROUTING};

        for (size_t i = 0; i < ELEMENTSOF(families); i++)
                for (size_t h = 0; h < ELEMENTSOF(hooks); h++) {
                        struct nft_list_arg a = {out, families[i], hooks[h]};
                        int r = nft_run(ctx, nft_plan_list, &a, "the listing", err);
                        if (r < 0)
                                return r;
                }
        return 0;
}

const struct pn_fw_backend pn_fw_backend_iptables_nft = {
    .name = "iptables-nft",
    .comment_max = NFT_COMMENT_SIZE - 1,
    .ipv6 = true,
    .notifies = true,
    .apply = nft_apply,
    .add = nft_add_entry,
    .remove = nft_remove_entry,
    .check = nft_check_entry,
    .list = nft_list,
    .entries = nft_entries,
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rule plan: podnet's firewall policy computed from the configuration, the same for
 * every backend. Which chains exist, where they are jumped to from, and which traffic
 * they accept, return or masquerade, in which order.
 */
#include <sys/socket.h>

#include "firewall/plan.h"

const struct pn_fw_chain pn_fw_chain_forward = {
    .name = PN_FW_CHAIN_FORWARD,
    .hook = PN_FW_HOOK_FORWARD,
    .jump_comment = "podnet forward",
    .jump_first = true,
};

const struct pn_fw_chain pn_fw_chain_postrouting = {
    .name = PN_FW_CHAIN_POSTROUTING,
    .hook = PN_FW_HOOK_POSTROUTING,
    .jump_comment = "podnet postrouting",
};

const struct pn_fw_chain pn_fw_chain_masq = {
    .name = PN_FW_CHAIN_MASQ,
    .hook = PN_FW_HOOK_POSTROUTING,
    .jump_comment = "podnet masquerade",
};

const struct pn_fw_chain *const pn_fw_chains[3] = {
    &pn_fw_chain_forward,
    &pn_fw_chain_postrouting,
    &pn_fw_chain_masq,
};

static const int plan_families[2] = {AF_INET, AF_INET6};

static void plan_prefix(podnet_cidr *dst, const podnet_cidr *src)
{
        *dst = *src;
        pn_cidr_mask(dst);
}

static struct pn_fw_rule *plan_rule(struct pn_fw_chain_plan *cp, enum pn_fw_verdict verdict,
                                    const podnet_cidr *src, const podnet_cidr *dst)
{
        struct pn_fw_rule *r = &cp->rules[cp->n_rules++];

        *r = (struct pn_fw_rule){.verdict = verdict};
        if (src)
                plan_prefix(&r->src, src);
        if (dst)
                plan_prefix(&r->dst, dst);
        return r;
}

static size_t plan_cidrs_of(const podnet_cidr *const *in, size_t n, int family,
                            const podnet_cidr **out)
{
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                if (podnet_cidr_family(in[i]) == family)
                        out[k++] = in[i];
        return k;
}

static void plan_family_init(struct pn_fw_family_plan *fp, int family)
{
        *fp = (struct pn_fw_family_plan){
            .family = family,
            .chains = {{.chain = &pn_fw_chain_forward}, {.chain = &pn_fw_chain_postrouting}},
        };
}

/* PODNET-FORWARD accepts what comes from and goes to each cluster CIDR. PODNET-POSTROUTING
 * masquerades what leaves a cluster CIDR for anywhere outside the non-masquerade CIDRs:
 * a RETURN for each of those, then the MASQUERADE. With no cluster CIDR of the family,
 * both chains go (what an earlier configuration installed). */
static int plan_family(struct pn_fw_family_plan *fp, int family, const podnet_fw_config *cfg)
{
        _cleanup_free_ const podnet_cidr **cl = NULL, **nm = NULL;
        struct pn_fw_chain_plan *fwd = &fp->chains[0], *nat = &fp->chains[1];
        size_t n_cl, n_nm;

        plan_family_init(fp, family);
        cl = calloc(cfg->n_cluster_cidrs, sizeof(*cl));
        nm = calloc(cfg->n_non_masq_cidrs + cfg->n_cluster_cidrs, sizeof(*nm));
        if (!cl || !nm)
                return -ENOMEM;
        n_cl = plan_cidrs_of(cfg->cluster_cidrs, cfg->n_cluster_cidrs, family, cl);
        n_nm = plan_cidrs_of(cfg->non_masq_cidrs, cfg->n_non_masq_cidrs, family, nm);
        /* kubelet's --non-masquerade-cidr defaults to the cluster CIDR. */
        if (n_nm == 0)
                n_nm = plan_cidrs_of(cfg->cluster_cidrs, cfg->n_cluster_cidrs, family, nm);
        if (n_cl == 0)
                return 0;

        fwd->present = true;
        fwd->rules = calloc(2 * n_cl, sizeof(*fwd->rules));
        if (!fwd->rules)
                return -ENOMEM;
        for (size_t i = 0; i < n_cl; i++) {
                plan_rule(fwd, PN_FW_ACCEPT, cl[i], NULL);
                plan_rule(fwd, PN_FW_ACCEPT, NULL, cl[i]);
        }
        if (!cfg->masquerade)
                return 0;
        nat->present = true;
        nat->rules = calloc(n_cl * (n_nm + 1), sizeof(*nat->rules));
        if (!nat->rules)
                return -ENOMEM;
        for (size_t i = 0; i < n_cl; i++) {
                for (size_t j = 0; j < n_nm; j++)
                        plan_rule(nat, PN_FW_RETURN, cl[i], nm[j]);
                plan_rule(nat, PN_FW_MASQUERADE, cl[i], NULL);
        }
        return 0;
}

int pn_fw_plan_node(struct pn_fw_plan *plan, const podnet_fw_config *cfg)
{
        *plan = (struct pn_fw_plan){.n_families = ELEMENTSOF(plan_families)};
        for (size_t i = 0; i < plan->n_families; i++) {
                int r = plan_family(&plan->families[i], plan_families[i], cfg);
                if (r < 0) {
                        pn_fw_plan_done(plan);
                        return r;
                }
        }
        return 0;
}

void pn_fw_plan_teardown(struct pn_fw_plan *plan)
{
        *plan = (struct pn_fw_plan){.n_families = ELEMENTSOF(plan_families)};
        for (size_t i = 0; i < plan->n_families; i++)
                plan_family_init(&plan->families[i], plan_families[i]);
}

bool pn_fw_plan_uses(const struct pn_fw_plan *plan, int family)
{
        for (size_t i = 0; i < plan->n_families; i++)
                for (size_t j = 0; j < PN_FW_PLAN_CHAINS; j++)
                        if (plan->families[i].family == family &&
                            plan->families[i].chains[j].present)
                                return true;
        return false;
}

void pn_fw_plan_done(struct pn_fw_plan *plan)
{
        for (size_t i = 0; i < plan->n_families; i++)
                for (size_t j = 0; j < PN_FW_PLAN_CHAINS; j++) {
                        struct pn_fw_chain_plan *cp = &plan->families[i].chains[j];
                        /* Node rules carry no comment of their own. */
                        free(cp->rules);
                        cp->rules = NULL;
                        cp->n_rules = 0;
                }
        plan->n_families = 0;
}

/* Masquerades what leaves the network's subnet for anywhere outside it. */
int pn_fw_entry_masq(struct pn_fw_entry *e, const char *network, const podnet_cidr *subnet)
{
        *e = (struct pn_fw_entry){
            .chain = &pn_fw_chain_masq,
            .family = podnet_cidr_family(subnet),
            .rule = {.verdict = PN_FW_MASQUERADE, .dst_outside = true},
        };
        plan_prefix(&e->rule.src, subnet);
        plan_prefix(&e->rule.dst, subnet);
        if (asprintf(&e->rule.comment, PN_FW_COMMENT_NETWORK_PREFIX "%s", network) < 0) {
                e->rule.comment = NULL;
                return -ENOMEM;
        }
        return 0;
}

void pn_fw_entry_done(struct pn_fw_entry *e)
{
        free(e->rule.comment);
        e->rule.comment = NULL;
}

/* The firewall rule plan (no root): which chains, rules and order a configuration
 * asks for; the masquerade entry; the backend table and the context's settings; the
 * front's checks against the backend's declared limits; errors without a CNI code. */
#include <sys/socket.h>

#include "firewall/fw.h"
#include "tap.h"

/* "VERDICT [-s SRC] [! -d|-d DST] [#COMMENT]; " for each rule of cp. */
static const char *rules_text(const struct pn_fw_chain_plan *cp)
{
        static char buf[1024];
        static const char *const verdicts[] = {"ACCEPT", "RETURN", "MASQUERADE"};
        size_t n = 0;

        buf[0] = 0;
        for (size_t i = 0; i < cp->n_rules; i++) {
                const struct pn_fw_rule *r = &cp->rules[i];
                char s[64] = "", d[64] = "";

                if (r->src.family)
                        podnet_cidr_format(&r->src, s, sizeof(s));
                if (r->dst.family)
                        podnet_cidr_format(&r->dst, d, sizeof(d));
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s%s%s%s%s; ",
                                      verdicts[r->verdict], *s ? " -s " : "", s,
                                      *d ? (r->dst_outside ? " ! -d " : " -d ") : "", d,
                                      r->comment ? " #" : "");
        }
        return buf;
}

static podnet_cidr *cidr(const char *text)
{
        static podnet_cidr *pool[32];
        static size_t n;
        podnet_cidr *c = NULL;

        if (podnet_cidr_parse(&c, text) < 0 || n == ELEMENTSOF(pool))
                abort();
        return pool[n++] = c;
}

int main(void)
{
        const podnet_cidr *cl[] = {cidr("10.7.0.9/16"), cidr("fd10::1/56"), cidr("10.8.0.0/16")};
        const podnet_cidr *nm[] = {cidr("10.0.0.0/8"), cidr("192.168.0.0/16")};
        podnet_fw_config cfg = {
            .size = sizeof(cfg), .cluster_cidrs = cl, .n_cluster_cidrs = 1, .masquerade = true};
        struct pn_fw_plan plan;
        struct pn_fw_entry e;
        podnet_error *err = NULL;
        podnet_ctx *ctx = NULL;
        char name[300];
        int r;

        /* One IPv4 cluster CIDR. */
        is_int(pn_fw_plan_node(&plan, &cfg), 0, "plan: built");
        is_int((int)plan.n_families, 2, "plan: both families, IPv4 first");
        ok(plan.families[0].family == AF_INET && plan.families[1].family == AF_INET6,
           "plan: family order");
        ok(plan.families[0].chains[0].chain == &pn_fw_chain_forward &&
               plan.families[0].chains[1].chain == &pn_fw_chain_postrouting,
           "plan: PODNET-FORWARD, then PODNET-POSTROUTING");
        ok(plan.families[0].chains[0].present && plan.families[0].chains[1].present,
           "plan: IPv4 chains present");
        is_str(rules_text(&plan.families[0].chains[0]),
               "ACCEPT -s 10.7.0.0/16; ACCEPT -d 10.7.0.0/16; ",
               "plan: forward accepts from and to the cluster CIDR (host bits cleared)");
        is_str(rules_text(&plan.families[0].chains[1]),
               "RETURN -s 10.7.0.0/16 -d 10.7.0.0/16; MASQUERADE -s 10.7.0.0/16; ",
               "plan: postrouting returns inside the cluster CIDR, then masquerades");
        ok(!pn_fw_plan_uses(&plan, AF_INET6) && pn_fw_plan_uses(&plan, AF_INET),
           "plan: no IPv6 chain wanted, so IPv6 chains are to go");
        pn_fw_plan_done(&plan);

        /* Non-masquerade CIDRs replace the cluster CIDRs as RETURN destinations. */
        cfg.non_masq_cidrs = nm;
        cfg.n_non_masq_cidrs = 2;
        is_int(pn_fw_plan_node(&plan, &cfg), 0, "plan with non-masquerade CIDRs: built");
        is_str(rules_text(&plan.families[0].chains[1]),
               "RETURN -s 10.7.0.0/16 -d 10.0.0.0/8; RETURN -s 10.7.0.0/16 -d 192.168.0.0/16; "
               "MASQUERADE -s 10.7.0.0/16; ",
               "plan: one RETURN per non-masquerade CIDR before the MASQUERADE");
        pn_fw_plan_done(&plan);

        /* Dual-stack, two IPv4 cluster CIDRs: each masquerades outside both. */
        cfg.non_masq_cidrs = NULL;
        cfg.n_non_masq_cidrs = 0;
        cfg.n_cluster_cidrs = 3;
        is_int(pn_fw_plan_node(&plan, &cfg), 0, "dual-stack plan: built");
        is_str(rules_text(&plan.families[0].chains[0]),
               "ACCEPT -s 10.7.0.0/16; ACCEPT -d 10.7.0.0/16; ACCEPT -s 10.8.0.0/16; "
               "ACCEPT -d 10.8.0.0/16; ",
               "dual-stack plan: IPv4 forward rules in configuration order");
        is_str(rules_text(&plan.families[0].chains[1]),
               "RETURN -s 10.7.0.0/16 -d 10.7.0.0/16; RETURN -s 10.7.0.0/16 -d 10.8.0.0/16; "
               "MASQUERADE -s 10.7.0.0/16; RETURN -s 10.8.0.0/16 -d 10.7.0.0/16; "
               "RETURN -s 10.8.0.0/16 -d 10.8.0.0/16; MASQUERADE -s 10.8.0.0/16; ",
               "dual-stack plan: IPv4 postrouting");
        is_str(rules_text(&plan.families[1].chains[0]),
               "ACCEPT -s fd10::/56; ACCEPT -d fd10::/56; ", "dual-stack plan: IPv6 forward rules");
        is_str(rules_text(&plan.families[1].chains[1]),
               "RETURN -s fd10::/56 -d fd10::/56; MASQUERADE -s fd10::/56; ",
               "dual-stack plan: IPv6 postrouting");
        pn_fw_plan_done(&plan);

        /* Masquerade off: forward stays, postrouting goes. */
        cfg.masquerade = false;
        cfg.n_cluster_cidrs = 1;
        is_int(pn_fw_plan_node(&plan, &cfg), 0, "plan without masquerade: built");
        ok(plan.families[0].chains[0].present && !plan.families[0].chains[1].present &&
               plan.families[0].chains[1].n_rules == 0,
           "plan without masquerade: PODNET-POSTROUTING to go");
        pn_fw_plan_done(&plan);

        pn_fw_plan_teardown(&plan);
        ok(!pn_fw_plan_uses(&plan, AF_INET) && !pn_fw_plan_uses(&plan, AF_INET6) &&
               plan.n_families == 2,
           "teardown plan: every chain of both families to go");
        pn_fw_plan_done(&plan);

        /* The per-network masquerade entry. */
        is_int(pn_fw_entry_masq(&e, "net1", cidr("10.1.2.3/16")), 0, "entry: built");
        ok(e.chain == &pn_fw_chain_masq && e.family == AF_INET, "entry: PODNET-MASQ, IPv4");
        is_str(e.rule.comment, "podnet:net1", "entry: comment names the network");
        ok(e.rule.verdict == PN_FW_MASQUERADE && e.rule.dst_outside, "entry: masquerade outside");
        {
                struct pn_fw_chain_plan one = {.rules = &e.rule, .n_rules = 1};
                is_str(rules_text(&one), "MASQUERADE -s 10.1.0.0/16 ! -d 10.1.0.0/16 #; ",
                       "entry: from the subnet to anywhere outside it");
        }
        pn_fw_entry_done(&e);
        ok(pn_fw_chain_masq.hook == PN_FW_HOOK_POSTROUTING && !pn_fw_chain_masq.jump_first &&
               pn_fw_chain_forward.jump_first,
           "chains: the forward jump goes first, the others are appended");

        /* The backend table and the context's settings. */
        if (podnet_ctx_new(&ctx) < 0)
                return 1;
        is_str(podnet_ctx_get_fw_backend(ctx), "iptables-legacy",
               "backend: iptables-legacy by default");
        is_int(podnet_ctx_set_fw_backend(ctx, "nftables-someday"), -ENOENT,
               "backend: an unknown name is refused");
        is_str(podnet_ctx_get_fw_backend(ctx), "iptables-legacy",
               "backend: unchanged after a refusal");
        is_int(podnet_ctx_set_fw_backend(ctx, "iptables-legacy"), 0, "backend: chosen by name");
        is_int(podnet_ctx_set_fw_backend(ctx, NULL), 0, "backend: NULL restores the default");
        is_int(podnet_ctx_set_fw_backend(NULL, "iptables-legacy"), -EINVAL, "backend: no context");
        ok(podnet_ctx_get_fw_backend(NULL) == NULL, "backend: no context, no name");
        is_str(pn_fw_xtables_lock(ctx), "/run/xtables.lock", "lock: iptables(8)'s default");
        is_int(podnet_ctx_set_xtables_lock(ctx, "/run/other.lock"), 0, "lock: set");
        is_str(pn_fw_xtables_lock(ctx), "/run/other.lock", "lock: the context's");
        is_int(podnet_ctx_set_xtables_lock(ctx, ""), 0, "lock: empty restores the default");
        is_str(pn_fw_xtables_lock(ctx), "/run/xtables.lock", "lock: default again");
        is_int(podnet_ctx_set_xtables_lock(NULL, "/x"), -EINVAL, "lock: no context");

        /* The front checks names against the backend's limit before touching it. */
        ok(pn_fw_backend_of(ctx)->comment_max == 255, "iptables-legacy: 255-byte comments");
        memset(name, 'n', sizeof(name));
        name[pn_fw_backend_of(ctx)->comment_max - 7 + 1] = 0;
        r = podnet_fw_masq_ensure(ctx, name, cl[0], &err);
        is_int(r, -EINVAL, "front: a name one byte too long for the comment is refused");
        ok(err && strstr(podnet_error_message(err), "longer than 248 bytes"),
           "front: the message gives the backend's limit");
        is_int(err ? err->cni_code : -1, 0, "front: no CNI code chosen in the firewall family");
        err = podnet_error_free(err);
        r = podnet_fw_masq_has(ctx, "bad\"name", cl[0], &err);
        is_int(r, -EINVAL, "front: a quote is refused");
        is_int(err ? err->cni_code : -1, 0, "front: still no CNI code");
        err = podnet_error_free(err);
        r = podnet_fw_node_ensure(ctx, &(podnet_fw_config){.size = sizeof(cfg)}, &err);
        is_int(r, -EINVAL, "front: no cluster CIDR refused");
        err = podnet_error_free(err);
        podnet_ctx_unref(ctx);
        return done_testing();
}

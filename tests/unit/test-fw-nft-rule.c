/* The iptables-nft backend's rule encoding (no root, no kernel): which expressions a rule
 * becomes (as iptables-nft 1.8 writes them: whole-byte prefixes compared directly, a
 * partial byte through a bitwise mask, the xt comment match, a counter, an immediate
 * verdict or the xt MASQUERADE target), that parsing gives the rule back, and that
 * anything podnet does not write makes a rule foreign. */
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <sys/socket.h>

#include <libnftnl/expr.h>

#include "firewall/nft-rule.h"
#include "tap.h"

static podnet_cidr prefix(const char *text)
{
        podnet_cidr *c = NULL, out;

        if (podnet_cidr_parse(&c, text) < 0)
                abort();
        pn_cidr_mask(c);
        out = *c;
        podnet_cidr_free(c);
        return out;
}

/* "payload:LEN bitwise cmp:OP ..." for the expressions of r. */
static const char *shape(struct nftnl_rule *r)
{
        static char buf[512];
        struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
        struct nftnl_expr *e;
        size_t n = 0;

        buf[0] = 0;
        while ((e = nftnl_expr_iter_next(it))) {
                const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "", name);
                if (streq(name, "payload"))
                        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ":%u+%u",
                                              nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET),
                                              nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN));
                else if (streq(name, "cmp"))
                        n += (size_t)snprintf(
                            buf + n, sizeof(buf) - n, ":%s",
                            nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP) == NFT_CMP_EQ ? "eq" : "neq");
                else if (streq(name, "match") || streq(name, "target"))
                        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ":%s",
                                              nftnl_expr_get_str(e, streq(name, "match")
                                                                        ? NFTNL_EXPR_MT_NAME
                                                                        : NFTNL_EXPR_TG_NAME));
        }
        nftnl_expr_iter_destroy(it);
        return buf;
}

/* Builds m, checks the expressions' shape, parses it back and compares. */
static void round_trip(int family, const struct nft_rule_m *m, const char *want_shape,
                       const char *what)
{
        struct nftnl_rule *r = nft_rule_build(family, "nat", "PODNET-MASQ", m);
        struct nft_rule_m back;

        ok(r != NULL, "%s: built", what);
        if (!r)
                return;
        is_str(shape(r), want_shape, "%s: expressions", what);
        is_int(nftnl_rule_get_u32(r, NFTNL_RULE_COMPAT_PROTO), 0, "%s: compat protocol 0", what);
        nft_rule_parse(family, r, &back);
        ok(!back.foreign, "%s: parsed as podnet's", what);
        ok(nft_rule_eq(&back, m), "%s: parses back to the same rule", what);
        nftnl_rule_free(r);
}

int main(void)
{
        struct pn_fw_rule p = {
            .verdict = PN_FW_MASQUERADE, .dst_outside = true, .comment = (char *)"podnet:net1"};
        struct nft_rule_m m, other;
        struct nftnl_rule *r;
        char *text = NULL;
        size_t len = 0;
        FILE *f;

        /* -s 10.244.1.0/24 ! -d 10.244.1.0/24 -m comment -j MASQUERADE: 3 whole bytes. */
        p.src = p.dst = prefix("10.244.1.0/24");
        nft_rule_from_plan(&m, &p);
        round_trip(AF_INET, &m,
                   "payload:12+3 cmp:eq payload:16+3 cmp:neq match:comment counter "
                   "target:MASQUERADE",
                   "IPv4 /24 masquerade");

        /* A prefix ending inside a byte: the whole address through a mask. */
        p = (struct pn_fw_rule){.verdict = PN_FW_ACCEPT, .src = prefix("10.240.0.0/12")};
        nft_rule_from_plan(&m, &p);
        round_trip(AF_INET, &m, "payload:12+4 bitwise cmp:eq counter immediate", "IPv4 /12 accept");

        p = (struct pn_fw_rule){
            .verdict = PN_FW_RETURN, .src = prefix("fd00:10::/60"), .dst = prefix("fd00:10::/60")};
        nft_rule_from_plan(&m, &p);
        round_trip(AF_INET6, &m,
                   "payload:8+16 bitwise cmp:eq payload:24+16 bitwise cmp:eq counter immediate",
                   "IPv6 /60 return");

        p = (struct pn_fw_rule){.verdict = PN_FW_ACCEPT, .dst = prefix("fd00:1::/64")};
        nft_rule_from_plan(&m, &p);
        round_trip(AF_INET6, &m, "payload:24+8 cmp:eq counter immediate", "IPv6 /64 accept");

        nft_rule_jump(&m, "PODNET-FORWARD", "podnet forward");
        round_trip(AF_INET, &m, "match:comment counter immediate", "jump with comment");

        /* Equality: every field counts. */
        p = (struct pn_fw_rule){.verdict = PN_FW_ACCEPT, .src = prefix("10.1.0.0/16")};
        nft_rule_from_plan(&m, &p);
        p.src = prefix("10.1.0.0/17");
        nft_rule_from_plan(&other, &p);
        ok(!nft_rule_eq(&m, &other), "a different prefix length differs");
        p.src = prefix("10.1.0.0/16");
        p.verdict = PN_FW_RETURN;
        nft_rule_from_plan(&other, &p);
        ok(!nft_rule_eq(&m, &other), "a different verdict differs");

        /* Anything more than podnet writes makes the rule foreign. */
        r = nft_rule_build(AF_INET, "filter", "PODNET-FORWARD", &m);
        {
                struct nftnl_expr *e = nftnl_expr_alloc("meta");

                nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_OIFNAME);
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
                nftnl_rule_add_expr(r, e);
        }
        nft_rule_parse(AF_INET, r, &other);
        ok(other.foreign, "an extra meta expression: foreign");
        ok(!nft_rule_eq(&other, &m), "a foreign rule equals none of podnet's");
        nftnl_rule_free(r);

        /* The listing prints iptables -S syntax. */
        p = (struct pn_fw_rule){.verdict = PN_FW_MASQUERADE,
                                .dst_outside = true,
                                .comment = (char *)"podnet:net1",
                                .src = prefix("10.244.1.0/24"),
                                .dst = prefix("10.244.1.0/24")};
        nft_rule_from_plan(&m, &p);
        f = open_memstream(&text, &len);
        nft_rule_print(f, "PODNET-MASQ", &m);
        fclose(f);
        is_str(text,
               "-A PODNET-MASQ -s 10.244.1.0/24 ! -d 10.244.1.0/24 -m comment --comment "
               "\"podnet:net1\" -j MASQUERADE\n",
               "printed as iptables -S prints it");
        free(text);
        done_testing();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One rule of the iptables-nft backend as nf_tables expressions, in the encoding
 * iptables-nft writes (learnt from `nft --debug=netlink` after iptables-nft -A):
 *   -s/-d PREFIX   payload (network header, address offset, whole bytes of the prefix)
 *                  [bitwise mask over the whole address when the prefix ends inside a
 *                  byte] and cmp eq (neq for "!"), registers 1;
 *   -m comment     the xt "comment" match, revision 0, an xt_comment_info;
 *   every rule     the compat attributes (protocol 0, no flags) and a counter;
 *   -j ACCEPT/RETURN/CHAIN  an immediate verdict; -j MASQUERADE the xt target, revision 0,
 *                  with the data its libxt extension writes for no options.
 * Reading back accepts exactly those expressions; anything else makes the rule foreign.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <stdio.h>

#include <libnftnl/expr.h>

#include "firewall/nft-rule.h"

/* The xt MASQUERADE target's data, as the kernel checks its size (XT_ALIGN of the
 * struct) and libxt_MASQUERADE fills it for a rule without options. */
#define NFT_MASQ4_SIZE XT_ALIGN(sizeof(struct nf_nat_ipv4_multi_range_compat))
#define NFT_MASQ6_SIZE XT_ALIGN(sizeof(struct nf_nat_range))

static size_t nft_masq_size(int family)
{
        return family == AF_INET6 ? NFT_MASQ6_SIZE : NFT_MASQ4_SIZE;
}

static void nft_masq_fill(int family, void *data)
{
        memset(data, 0, nft_masq_size(family));
        if (family == AF_INET)
                ((struct nf_nat_ipv4_multi_range_compat *)data)->rangesize = 1;
}

static uint32_t nft_addr_offset(int family, bool dst)
{
        if (family == AF_INET6)
                return dst ? offsetof(struct ip6_hdr, ip6_dst) : offsetof(struct ip6_hdr, ip6_src);
        return dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr);
}

void nft_rule_from_plan(struct nft_rule_m *m, const struct pn_fw_rule *p)
{
        static const char *const targets[] = {
            [PN_FW_ACCEPT] = NFT_T_ACCEPT,
            [PN_FW_RETURN] = NFT_T_RETURN,
            [PN_FW_MASQUERADE] = NFT_T_MASQUERADE,
        };

        nft_rule_jump(m, targets[p->verdict], p->comment);
        m->src = p->src;
        m->dst = p->dst;
        m->dst_inv = p->dst_outside;
}

void nft_rule_jump(struct nft_rule_m *m, const char *chain, const char *comment)
{
        *m = (struct nft_rule_m){0};
        snprintf(m->target, sizeof(m->target), "%s", chain);
        if (comment)
                snprintf(m->comment, sizeof(m->comment), "%s", comment);
}

static bool nft_cidr_eq(const podnet_cidr *a, const podnet_cidr *b)
{
        return a->family == b->family &&
               (a->family == 0 || (a->prefixlen == b->prefixlen && podnet_cidr_compare(a, b) == 0));
}

bool nft_rule_eq(const struct nft_rule_m *a, const struct nft_rule_m *b)
{
        return !a->foreign && !b->foreign && nft_cidr_eq(&a->src, &b->src) &&
               nft_cidr_eq(&a->dst, &b->dst) && a->src_inv == b->src_inv &&
               a->dst_inv == b->dst_inv && streq(a->comment, b->comment) &&
               streq(a->target, b->target);
}

/* ---- building ---- */

static int nft_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
        if (!e)
                return -ENOMEM;
        nftnl_rule_add_expr(r, e);
        return 0;
}

/* What iptables-nft's add_addr() emits for a prefix: whole 0xff bytes of the mask
 * compared directly, a partial byte through a mask over the whole address. */
int nft_rule_add_prefix(struct nftnl_rule *r, int family, const podnet_cidr *c, bool dst,
                        bool inv)
{
        size_t alen = pn_family_len(family), len;
        uint8_t mask[16] = {0}, addr[16];
        unsigned plen = podnet_cidr_prefixlen(c);
        bool partial = plen % 8 != 0;
        struct nftnl_expr *e;

        for (unsigned i = 0; i < plen; i++)
                mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
        memcpy(addr, podnet_cidr_addr(c), alen);
        for (size_t i = 0; i < alen; i++)
                addr[i] &= mask[i];
        len = partial ? alen : plen / 8;

        e = nftnl_expr_alloc("payload");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, nft_addr_offset(family, dst));
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, (uint32_t)len);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
        }
        if (nft_add(r, e) < 0)
                return -ENOMEM;
        if (partial) {
                uint8_t xor [16] = {0};

                e = nftnl_expr_alloc("bitwise");
                if (e) {
                        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
                        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
                        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, (uint32_t)len);
                        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, (uint32_t)len);
                        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, (uint32_t)len);
                }
                if (nft_add(r, e) < 0)
                        return -ENOMEM;
        }
        e = nftnl_expr_alloc("cmp");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, inv ? NFT_CMP_NEQ : NFT_CMP_EQ);
                nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, addr, (uint32_t)len);
        }
        return nft_add(r, e);
}

/* An xt match or target expression; libnftnl takes ownership of info. */
static int nft_add_xt(struct nftnl_rule *r, bool target, const char *name, void *info, size_t size)
{
        struct nftnl_expr *e = nftnl_expr_alloc(target ? "target" : "match");

        if (!e) {
                free(info);
                return -ENOMEM;
        }
        nftnl_expr_set(e, target ? NFTNL_EXPR_TG_NAME : NFTNL_EXPR_MT_NAME, name,
                       (uint32_t)strlen(name));
        nftnl_expr_set_u32(e, target ? NFTNL_EXPR_TG_REV : NFTNL_EXPR_MT_REV, 0);
        nftnl_expr_set(e, target ? NFTNL_EXPR_TG_INFO : NFTNL_EXPR_MT_INFO, info, (uint32_t)size);
        return nft_add(r, e);
}

static int nft_add_verdict(struct nftnl_rule *r, const char *target)
{
        struct nftnl_expr *e = nftnl_expr_alloc("immediate");
        int verdict = NFT_JUMP;

        if (streq(target, NFT_T_ACCEPT))
                verdict = NF_ACCEPT;
        else if (streq(target, NFT_T_DROP))
                verdict = NF_DROP;
        else if (streq(target, NFT_T_RETURN))
                verdict = NFT_RETURN;
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
                if (verdict == NFT_JUMP)
                        nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, target);
        }
        return nft_add(r, e);
}

static int nft_rule_fill(struct nftnl_rule *r, int family, const struct nft_rule_m *m)
{
        struct nftnl_expr *e;
        int ret;

        if (m->src.family && (ret = nft_rule_add_prefix(r, family, &m->src, false, m->src_inv)) < 0)
                return ret;
        if (m->dst.family && (ret = nft_rule_add_prefix(r, family, &m->dst, true, m->dst_inv)) < 0)
                return ret;
        nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_PROTO, 0);
        nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_FLAGS, 0);
        if (m->comment[0]) {
                char *info = calloc(1, NFT_COMMENT_SIZE);

                if (!info)
                        return -ENOMEM;
                snprintf(info, NFT_COMMENT_SIZE, "%s", m->comment);
                if (nft_add_xt(r, false, "comment", info, NFT_COMMENT_SIZE) < 0)
                        return -ENOMEM;
        }
        e = nftnl_expr_alloc("counter");
        if (e) {
                nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
                nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
        }
        if (nft_add(r, e) < 0)
                return -ENOMEM;
        if (streq(m->target, NFT_T_MASQUERADE)) {
                void *info = malloc(nft_masq_size(family));

                if (!info)
                        return -ENOMEM;
                nft_masq_fill(family, info);
                return nft_add_xt(r, true, NFT_T_MASQUERADE, info, nft_masq_size(family));
        }
        return nft_add_verdict(r, m->target);
}

struct nftnl_rule *nft_rule_build(int family, const char *table, const char *chain,
                                  const struct nft_rule_m *m)
{
        struct nftnl_rule *r = nftnl_rule_alloc();

        if (!r)
                return NULL;
        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
        if (nft_rule_fill(r, family, m) < 0) {
                nftnl_rule_free(r);
                return NULL;
        }
        return r;
}

/* ---- parsing ---- */

/* A payload load of an address waiting for its cmp. */
struct nft_pending {
        bool active, dst;
        uint32_t len;
        uint8_t mask[16];
};

/* The prefix length of mask (len bytes, the rest zero), or -1 if it is not one. */
static int nft_mask_plen(const uint8_t *mask, size_t len)
{
        int n = 0;
        bool ones = true;

        for (size_t i = 0; i < len; i++)
                for (int b = 7; b >= 0; b--) {
                        bool bit = mask[i] & (1u << b);
                        if (bit && !ones)
                                return -1;
                        ones = bit;
                        n += bit;
                }
        return n;
}

static bool nft_parse_payload(int family, struct nftnl_expr *e, struct nft_pending *p)
{
        uint32_t off = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
        uint32_t len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);

        if (p->active ||
            nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE) != NFT_PAYLOAD_NETWORK_HEADER ||
            len == 0 || len > pn_family_len(family) ||
            nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG))
                return false;
        if (off != nft_addr_offset(family, false) && off != nft_addr_offset(family, true))
                return false;
        *p = (struct nft_pending){
            .active = true, .dst = off == nft_addr_offset(family, true), .len = len};
        memset(p->mask, 0xff, len);
        return true;
}

static bool nft_parse_bitwise(struct nftnl_expr *e, struct nft_pending *p)
{
        uint32_t mlen = 0, xlen = 0;
        const uint8_t *mask = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &mlen);
        const uint8_t * xor = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_XOR, &xlen);

        if (!p->active || !mask || !xor || mlen != p->len || xlen != p->len)
                return false;
        for (uint32_t i = 0; i < xlen; i++)
                if (xor[i])
                        return false;
        memcpy(p->mask, mask, mlen);
        return true;
}

static bool nft_parse_cmp(int family, struct nftnl_expr *e, struct nft_pending *p,
                          struct nft_rule_m *m)
{
        uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP), dlen = 0;
        const uint8_t *data = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &dlen);
        podnet_cidr *c = p->dst ? &m->dst : &m->src;
        int plen = nft_mask_plen(p->mask, p->len);

        if (!p->active || !data || dlen != p->len || plen < 0 || c->family ||
            (op != NFT_CMP_EQ && op != NFT_CMP_NEQ))
                return false;
        *c = (podnet_cidr){.family = family, .prefixlen = (unsigned)plen};
        for (uint32_t i = 0; i < dlen; i++)
                c->addr.b[i] = data[i] & p->mask[i];
        if (p->dst)
                m->dst_inv = op == NFT_CMP_NEQ;
        else
                m->src_inv = op == NFT_CMP_NEQ;
        p->active = false;
        return true;
}

static bool nft_parse_xt(int family, struct nftnl_expr *e, bool target, struct nft_rule_m *m)
{
        const char *name = nftnl_expr_get_str(e, target ? NFTNL_EXPR_TG_NAME : NFTNL_EXPR_MT_NAME);
        uint32_t rev = nftnl_expr_get_u32(e, target ? NFTNL_EXPR_TG_REV : NFTNL_EXPR_MT_REV);
        uint32_t len = 0;
        const char *info =
            nftnl_expr_get(e, target ? NFTNL_EXPR_TG_INFO : NFTNL_EXPR_MT_INFO, &len);

        if (!name || !info || rev != 0)
                return false;
        if (!target && streq(name, "comment") && len == NFT_COMMENT_SIZE && !m->comment[0]) {
                snprintf(m->comment, sizeof(m->comment), "%.*s", NFT_COMMENT_SIZE - 1, info);
                return m->comment[0] != 0;
        }
        if (target && streq(name, NFT_T_MASQUERADE) && len == nft_masq_size(family) &&
            !m->target[0]) {
                uint8_t want[NFT_MASQ6_SIZE > NFT_MASQ4_SIZE ? NFT_MASQ6_SIZE : NFT_MASQ4_SIZE];

                nft_masq_fill(family, want);
                snprintf(m->target, sizeof(m->target), "%s", NFT_T_MASQUERADE);
                return memcmp(want, info, len) == 0;
        }
        if (target && !m->target[0])
                snprintf(m->target, sizeof(m->target), "%s", name);
        return false;
}

static bool nft_parse_immediate(struct nftnl_expr *e, struct nft_rule_m *m)
{
        const char *chain;

        if (nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT || m->target[0])
                return false;
        switch ((int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT)) {
        case NF_ACCEPT:
                snprintf(m->target, sizeof(m->target), NFT_T_ACCEPT);
                return true;
        case NF_DROP:
                snprintf(m->target, sizeof(m->target), NFT_T_DROP);
                return true;
        case NFT_RETURN:
                snprintf(m->target, sizeof(m->target), NFT_T_RETURN);
                return true;
        case NFT_JUMP:
                chain = nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN);
                snprintf(m->target, sizeof(m->target), "%s", chain ? chain : "");
                return chain != NULL;
        default: /* a goto (-g) or anything else */
                return false;
        }
}

void nft_rule_parse(int family, struct nftnl_rule *r, struct nft_rule_m *m)
{
        struct nft_pending p = {0};
        struct nftnl_expr_iter *it;
        struct nftnl_expr *e;

        *m = (struct nft_rule_m){.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE)};
        if ((nftnl_rule_is_set(r, NFTNL_RULE_COMPAT_PROTO) &&
             nftnl_rule_get_u32(r, NFTNL_RULE_COMPAT_PROTO) != 0))
                m->foreign = true;
        it = nftnl_expr_iter_create(r);
        if (!it) {
                m->foreign = true;
                return;
        }
        while ((e = nftnl_expr_iter_next(it))) {
                const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
                bool ok = false;

                if (streq(name, "payload"))
                        ok = nft_parse_payload(family, e, &p);
                else if (streq(name, "bitwise"))
                        ok = nft_parse_bitwise(e, &p);
                else if (streq(name, "cmp"))
                        ok = nft_parse_cmp(family, e, &p, m);
                else if (streq(name, "counter"))
                        ok = !p.active;
                else if (streq(name, "match") || streq(name, "target"))
                        ok = nft_parse_xt(family, e, streq(name, "target"), m);
                else if (streq(name, "immediate"))
                        ok = nft_parse_immediate(e, m);
                if (!ok)
                        m->foreign = true;
        }
        nftnl_expr_iter_destroy(it);
        if (p.active || !m->target[0])
                m->foreign = true;
}

/* ---- printing ---- */

static void nft_print_prefix(FILE *out, const char *opt, const podnet_cidr *c, bool inv)
{
        char buf[PODNET_CIDR_STRLEN];

        if (!c->family || podnet_cidr_format(c, buf, sizeof(buf)) < 0)
                return;
        fprintf(out, "%s %s %s", inv ? " !" : "", opt, buf);
}

void nft_rule_print(FILE *out, const char *chain, const struct nft_rule_m *m)
{
        fprintf(out, "-A %s", chain);
        nft_print_prefix(out, "-s", &m->src, m->src_inv);
        nft_print_prefix(out, "-d", &m->dst, m->dst_inv);
        if (m->comment[0]) {
                fputs(" -m comment --comment \"", out);
                for (const char *s = m->comment; *s; s++)
                        fprintf(out, "%s%c", *s == '"' || *s == '\\' ? "\\" : "", *s);
                fputc('"', out);
        }
        if (m->target[0])
                fprintf(out, " -j %s", m->target);
        if (m->foreign)
                fputs(" # and more than podnet writes", out);
        fputc('\n', out);
}

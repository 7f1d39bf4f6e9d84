/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Native nftables base chains of the forward hook in tables podnet does not own (what
 * nftables.service and firewalld make): a packet must pass every base chain of a hook,
 * and no rule of podnet's in another table can override their drop. Here: finding such a
 * chain that drops pod traffic (policy drop, or a drop/reject rule that matches
 * everything), and podnet's accepts for the cluster CIDRs in a chain the operator names,
 * tagged with a rule comment ("podnet: ...") so that podnet finds them again.
 *
 * Cheap on a host with a large ruleset: one chain dump per family (ip, ip6, inet; chain
 * messages are small and carry hook and policy), and rules are read only of a forward
 * base chain whose policy is accept: kube-proxy's 20,000 rules are not read. (The
 * nfnetlink_hook dump of kernel 5.14 would list only the chains on the forward hook,
 * but it is missing from kernels built without NETFILTER_NETLINK_HOOK, as the one this
 * was tested on.)
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nfnetlink.h>

#include "firewall/fw.h"
#include "firewall/nft-txn.h"

#define FWD_TAG "podnet: "
#define FWD_REQ_SIZE 4096
#define FWD_MAX_ACCEPTS (2 * 16)

static const struct {
        uint16_t nfproto;
        const char *name;
} fwd_families[] = {
    {NFPROTO_IPV4, "ip"},
    {NFPROTO_IPV6, "ip6"},
    {NFPROTO_INET, "inet"},
};

const char *pn_fw_nft_family_name(uint16_t nfproto)
{
        for (size_t i = 0; i < ELEMENTSOF(fwd_families); i++)
                if (fwd_families[i].nfproto == nfproto)
                        return fwd_families[i].name;
        return NULL;
}

int pn_fw_nft_chain_parse(const char *spec, struct pn_fw_nft_chain *c, podnet_error **err)
{
        const char *t, *n;
        size_t flen, tlen;

        *c = (struct pn_fw_nft_chain){0};
        if (!spec || !(t = strchr(spec, ':')) || !(n = strchr(t + 1, ':')))
                goto invalid;
        flen = (size_t)(t - spec);
        tlen = (size_t)(n - t - 1);
        n++;
        if (tlen == 0 || tlen >= sizeof(c->table) || isempty(n) || strlen(n) >= sizeof(c->chain) ||
            strchr(n, ':'))
                goto invalid;
        for (size_t i = 0; i < ELEMENTSOF(fwd_families); i++)
                if (strlen(fwd_families[i].name) == flen &&
                    strncmp(spec, fwd_families[i].name, flen) == 0)
                        c->nfproto = fwd_families[i].nfproto;
        if (!c->nfproto)
                goto invalid;
        memcpy(c->table, t + 1, tlen);
        memcpy(c->chain, n, strlen(n) + 1);
        return 0;
invalid:
        return pn_error_plain(err, EINVAL, 0,
                              "Invalid nftables chain \"%s\": FAMILY:TABLE:CHAIN with FAMILY "
                              "ip, ip6 or inet expected",
                              spec ? spec : "");
}

static bool fwd_chain_eq(const struct pn_fw_nft_chain *a, uint16_t nfproto, const char *table,
                         const char *chain)
{
        return a && a->nfproto == nfproto && streq(a->table, table) && streq(a->chain, chain);
}

/* ---- reading ---- */

/* A base chain of the forward hook. */
struct fwd_base {
        uint16_t nfproto;
        char table[NFT_NAME_SIZE], chain[NFT_NAME_SIZE];
        uint32_t policy;
};

struct fwd_bases {
        struct fwd_base *v;
        size_t n, cap;
};

/* Adds a base chain once (an inet chain sits on the IPv4 and the IPv6 hook). */
static int fwd_bases_add(struct fwd_bases *bs, uint16_t nfproto, const char *table,
                         const char *chain, uint32_t policy)
{
        struct fwd_base *b;

        if (!pn_fw_nft_family_name(nfproto) || !table || !chain)
                return 0;
        for (size_t i = 0; i < bs->n; i++)
                if (bs->v[i].nfproto == nfproto && streq(bs->v[i].table, table) &&
                    streq(bs->v[i].chain, chain))
                        return 0;
        if (pn_grow((void **)&bs->v, &bs->cap, bs->n + 1, sizeof(*bs->v)) < 0)
                return -ENOMEM;
        b = &bs->v[bs->n++];
        b->nfproto = nfproto;
        snprintf(b->table, sizeof(b->table), "%s", table);
        snprintf(b->chain, sizeof(b->chain), "%s", chain);
        b->policy = policy;
        return 0;
}

/* A chain dump per family (the kernel filters chain dumps by family, not by table): the
 * base chains of the forward hook kept, with their policies. */
static int fwd_hook_attr_cb(const struct nlattr *a, void *data)
{
        if (mnl_attr_get_type(a) == NFTA_CHAIN_HOOK)
                *(bool *)data = true;
        return MNL_CB_OK;
}

static int fwd_chain_cb(const struct nlmsghdr *nlh, void *data)
{
        struct fwd_bases *bs = data;
        struct nftnl_chain *c;
        bool hook = false;
        int ret = MNL_CB_OK;

        /* most chains are user chains (kube-proxy's thousands): a walk over the
         * attributes tells, without building a libnftnl object for each */
        if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), fwd_hook_attr_cb, &hook) < 0 || !hook)
                return MNL_CB_OK;
        c = nftnl_chain_alloc();
        if (!c)
                return MNL_CB_ERROR;
        if (nftnl_chain_nlmsg_parse(nlh, c) == 0 && nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) &&
            nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) == NF_INET_FORWARD &&
            fwd_bases_add(bs, (uint16_t)nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY),
                          nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE),
                          nftnl_chain_get_str(c, NFTNL_CHAIN_NAME),
                          nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY)
                              ? nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY)
                              : NF_ACCEPT) < 0) {
                errno = ENOMEM;
                ret = MNL_CB_ERROR;
        }
        nftnl_chain_free(c);
        return ret;
}

static int fwd_read_chain_dumps(struct nft_txn *t, struct fwd_bases *bs)
{
        char buf[FWD_REQ_SIZE];
        int r = 0;

        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(fwd_families); i++) {
                struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN,
                                                             fwd_families[i].nfproto, NLM_F_DUMP,
                                                             ++t->seq);
                r = nft_talk(t, nlh, fwd_chain_cb, bs);
        }
        return r;
}

/* Every base chain of the forward hook in families ip, ip6 and inet, with its policy. */
static int fwd_read_bases(struct nft_txn *t, struct fwd_bases *bs)
{
        return fwd_read_chain_dumps(t, bs);
}

/* One rule of a chain, as this file needs it. */
struct fwd_rule {
        uint64_t handle;
        char comment[NFT_COMMENT_SIZE]; /* its userdata comment, or "" */
        bool drops_all;                 /* drop or reject with no match before it */
};

struct fwd_rules {
        struct fwd_rule *v;
        size_t n, cap;
};

static void fwd_rules_done(struct fwd_rules *rs)
{
        free(rs->v);
        *rs = (struct fwd_rules){0};
}

/* The comment in a rule's userdata (TLVs of a type byte, a length byte, the value). */
static void fwd_rule_comment(struct nftnl_rule *r, char *out, size_t size)
{
        uint32_t len = 0;
        const uint8_t *d = nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)
                               ? nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len)
                               : NULL;

        out[0] = 0;
        for (uint32_t off = 0; d && off + 2 <= len && off + 2 + d[off + 1] <= len;
             off += 2 + d[off + 1]) {
                if (d[off] == NFTNL_UDATA_RULE_COMMENT && d[off + 1] > 0) {
                        snprintf(out, size, "%.*s", (int)d[off + 1], (const char *)d + off + 2);
                        return;
                }
        }
}

/* Whether r drops (or rejects) every packet that reaches it: its expressions are
 * counters, logs and the verdict, nothing that matches. */
static bool fwd_rule_drops_all(struct nftnl_rule *r)
{
        struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
        struct nftnl_expr *e;
        bool drops = false, match = false;

        if (!it)
                return false;
        while ((e = nftnl_expr_iter_next(it))) {
                const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

                if (streq(name, "counter") || streq(name, "log"))
                        continue;
                if (streq(name, "reject"))
                        drops = true;
                else if (streq(name, "immediate") &&
                         nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG) == NFT_REG_VERDICT)
                        drops = (int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT) == NF_DROP;
                else
                        match = true;
        }
        nftnl_expr_iter_destroy(it);
        return drops && !match;
}

static int fwd_rule_cb(const struct nlmsghdr *nlh, void *data)
{
        struct fwd_rules *rs = data;
        struct nftnl_rule *r = nftnl_rule_alloc();
        int ret = MNL_CB_OK;

        if (!r)
                return MNL_CB_ERROR;
        if (nftnl_rule_nlmsg_parse(nlh, r) == 0) {
                if (pn_grow((void **)&rs->v, &rs->cap, rs->n + 1, sizeof(*rs->v)) < 0) {
                        errno = ENOMEM;
                        ret = MNL_CB_ERROR;
                } else {
                        struct fwd_rule *f = &rs->v[rs->n++];

                        f->handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
                        fwd_rule_comment(r, f->comment, sizeof(f->comment));
                        f->drops_all = fwd_rule_drops_all(r);
                }
        }
        nftnl_rule_free(r);
        return ret;
}

static int fwd_read_rules(struct nft_txn *t, uint16_t nfproto, const char *table,
                          const char *chain, struct fwd_rules *rs)
{
        char buf[FWD_REQ_SIZE];
        struct nftnl_rule *r = nftnl_rule_alloc();
        struct nlmsghdr *nlh;
        int ret;

        *rs = (struct fwd_rules){0};
        if (!r)
                return -ENOMEM;
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, nfproto, NLM_F_DUMP, ++t->seq);
        nftnl_rule_nlmsg_build_payload(nlh, r);
        nftnl_rule_free(r);
        ret = nft_talk(t, nlh, fwd_rule_cb, rs);
        if (ret < 0)
                fwd_rules_done(rs);
        return ret;
}

static bool fwd_is_podnet(const struct fwd_rule *f)
{
        return strncmp(f->comment, FWD_TAG, strlen(FWD_TAG)) == 0;
}

/* ---- the drop finding ---- */

struct fwd_drop_arg {
        const struct pn_fw_nft_chain *accept;
        bool skip_iptables_nft;
        struct pn_fw_drop *out;
};

static int fwd_drop_plan(struct nft_txn *t, const void *arg, int *result, podnet_error **err)
{
        const struct fwd_drop_arg *a = arg;
        struct fwd_bases bs = {0};
        int r;

        *a->out = (struct pn_fw_drop){0};
        *result = 0;
        r = fwd_read_bases(t, &bs);
        for (size_t i = 0; r >= 0 && i < bs.n && !a->out->found; i++) {
                const struct fwd_base *b = &bs.v[i];
                struct fwd_rules rs;
                const char *why = NULL;
                char buf[64] = "";

                /* podnet's jump goes ahead of iptables-nft's own FORWARD rules and policy */
                if (a->skip_iptables_nft && b->nfproto != NFPROTO_INET && streq(b->table, "filter") &&
                    streq(b->chain, "FORWARD"))
                        continue;
                if (fwd_chain_eq(a->accept, b->nfproto, b->table, b->chain))
                        continue; /* podnet's accepts go there */
                if (b->policy == NF_DROP) {
                        why = "policy drop";
                } else {
                        r = fwd_read_rules(t, b->nfproto, b->table, b->chain, &rs);
                        if (r == -ENOENT) {
                                r = -EINTR; /* went meanwhile: read again */
                                break;
                        }
                        if (r < 0)
                                break;
                        for (size_t k = 0; k < rs.n && !why; k++)
                                if (rs.v[k].drops_all) {
                                        snprintf(buf, sizeof(buf), "rule %zu of %zu drops all",
                                                 k + 1, rs.n);
                                        why = buf;
                                }
                        fwd_rules_done(&rs);
                }
                if (why) {
                        struct pn_fw_drop *d = a->out;

                        d->found = true;
                        d->chain.nfproto = b->nfproto;
                        snprintf(d->chain.table, sizeof(d->chain.table), "%s", b->table);
                        snprintf(d->chain.chain, sizeof(d->chain.chain), "%s", b->chain);
                        snprintf(d->why, sizeof(d->why), "%s", why);
                }
        }
        free(bs.v);
        if (r < 0 && r != -EINTR)
                return pn_error(err, -r, 0, "Reading the base chains of nftables' forward hook");
        return r;
}

int pn_fw_nft_drop_find(podnet_ctx *ctx, const struct pn_fw_nft_chain *accept,
                        bool skip_iptables_nft, struct pn_fw_drop *ret, podnet_error **err)
{
        struct fwd_drop_arg a = {accept, skip_iptables_nft, ret};

        *ret = (struct pn_fw_drop){0};
        return nft_run(ctx, fwd_drop_plan, &a, "the forward chain check", err);
}

/* ---- podnet's accepts ---- */

struct fwd_accept {
        int family;
        const podnet_cidr *cidr;
        bool dst;
        char comment[NFT_COMMENT_SIZE];
};

struct fwd_accept_arg {
        const struct pn_fw_nft_chain *chain;
        struct fwd_accept want[FWD_MAX_ACCEPTS];
        size_t n_want;
};

static struct nftnl_rule *fwd_accept_rule(const struct pn_fw_nft_chain *c,
                                          const struct fwd_accept *w)
{
        struct nftnl_rule *r = nftnl_rule_alloc();
        struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_COMMENT_SIZE + 2);
        struct nftnl_expr *e;
        bool ok = r && ud;

        if (ok) {
                nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, c->nfproto);
                nftnl_rule_set_str(r, NFTNL_RULE_TABLE, c->table);
                nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->chain);
        }
        if (ok && c->nfproto == NFPROTO_INET) {
                /* what nft writes for "ip saddr" in an inet table: the family first */
                uint8_t proto = w->family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;

                e = nftnl_expr_alloc("meta");
                ok = e != NULL;
                if (ok) {
                        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_NFPROTO);
                        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
                        nftnl_rule_add_expr(r, e);
                        e = nftnl_expr_alloc("cmp");
                        ok = e != NULL;
                }
                if (ok) {
                        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
                        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
                        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &proto, sizeof(proto));
                        nftnl_rule_add_expr(r, e);
                }
        }
        ok = ok && nft_rule_add_prefix(r, w->family, w->cidr, w->dst, false) == 0;
        if (ok && (ok = (e = nftnl_expr_alloc("counter")) != NULL))
                nftnl_rule_add_expr(r, e);
        if (ok && (ok = (e = nftnl_expr_alloc("immediate")) != NULL)) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
                nftnl_rule_add_expr(r, e);
        }
        ok = ok && nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, w->comment);
        if (ok)
                nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
                                    nftnl_udata_buf_len(ud));
        if (ud)
                nftnl_udata_buf_free(ud);
        if (!ok && r) {
                nftnl_rule_free(r);
                r = NULL;
        }
        return r;
}

static int fwd_del_rule(struct nft_txn *t, const struct pn_fw_nft_chain *c, uint64_t handle)
{
        struct nftnl_rule *r = nftnl_rule_alloc();
        char what[2 * NFT_NAME_SIZE + 64];
        int ret;

        if (!r)
                return -ENOMEM;
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, c->table);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->chain);
        nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
        snprintf(what, sizeof(what), "Deleting podnet's accept from chain %s %s %s",
                 pn_fw_nft_family_name(c->nfproto), c->table, c->chain);
        ret = nft_op_native_rule(t, c->nfproto, true, r, what);
        nftnl_rule_free(r);
        return ret;
}

/* The chain's rules are podnet's wanted ones (any order, each once) or are made so:
 * podnet's others go, and the wanted ones are inserted at the head. want NULL: none. */
static int fwd_accept_plan(struct nft_txn *t, const void *arg, int *result, podnet_error **err)
{
        const struct fwd_accept_arg *a = arg;
        const struct pn_fw_nft_chain *c = a->chain;
        struct fwd_rules rs;
        size_t ours = 0, matched = 0;
        int r;

        *result = 0;
        r = fwd_read_rules(t, c->nfproto, c->table, c->chain, &rs);
        if (r == -ENOENT && a->n_want == 0)
                return 0; /* nothing to remove from a chain that is not there */
        if (r < 0)
                return r == -EINTR ? r
                                   : pn_error(err, -r, 0, "Reading nftables chain %s %s %s",
                                              pn_fw_nft_family_name(c->nfproto), c->table,
                                              c->chain);
        for (size_t k = 0; k < rs.n; k++) {
                if (!fwd_is_podnet(&rs.v[k]))
                        continue;
                ours++;
                for (size_t i = 0; i < a->n_want; i++)
                        if (streq(rs.v[k].comment, a->want[i].comment)) {
                                matched++;
                                break;
                        }
        }
        if (ours == a->n_want && matched == a->n_want) {
                fwd_rules_done(&rs);
                return 0;
        }
        for (size_t k = 0; r >= 0 && k < rs.n; k++)
                if (fwd_is_podnet(&rs.v[k]))
                        r = fwd_del_rule(t, c, rs.v[k].handle);
        fwd_rules_done(&rs);
        /* inserted at the head one by one: the last first, so that they end in order */
        for (size_t i = a->n_want; r >= 0 && i-- > 0;) {
                struct nftnl_rule *nr = fwd_accept_rule(c, &a->want[i]);
                char what[2 * NFT_NAME_SIZE + NFT_COMMENT_SIZE + 64];

                if (!nr)
                        return pn_error(err, ENOMEM, 0, "Building podnet's accept rules");
                snprintf(what, sizeof(what), "Adding the accept \"%s\" to chain %s %s %s",
                         a->want[i].comment, pn_fw_nft_family_name(c->nfproto), c->table,
                         c->chain);
                r = nft_op_native_rule(t, c->nfproto, false, nr, what);
                nftnl_rule_free(nr);
        }
        if (r < 0)
                return pn_error(err, -r, 0, "Planning podnet's accepts in chain %s %s %s",
                                pn_fw_nft_family_name(c->nfproto), c->table, c->chain);
        *result = 1;
        return 0;
}

int pn_fw_nft_accept_ensure(podnet_ctx *ctx, const struct pn_fw_nft_chain *c,
                            const podnet_cidr *const *cidrs, size_t n, podnet_error **err)
{
        _cleanup_free_ struct fwd_accept_arg *a = calloc(1, sizeof(*a));
        char what[2 * NFT_NAME_SIZE + 64];

        if (!a)
                return pn_error(err, ENOMEM, 0, "Planning podnet's accept rules");
        a->chain = c;
        for (size_t i = 0; i < n; i++) {
                int family = podnet_cidr_family(cidrs[i]);
                char buf[PODNET_CIDR_STRLEN];

                if (podnet_cidr_prefixlen(cidrs[i]) == 0)
                        return pn_error_plain(err, EINVAL, 0,
                                              "Refusing a blanket accept in chain %s %s %s: "
                                              "cluster CIDR of prefix length 0",
                                              pn_fw_nft_family_name(c->nfproto), c->table,
                                              c->chain);
                if ((family == AF_INET && c->nfproto == NFPROTO_IPV6) ||
                    (family == AF_INET6 && c->nfproto == NFPROTO_IPV4))
                        continue; /* a chain of the other family sees none of it */
                if (a->n_want + 2 > FWD_MAX_ACCEPTS || podnet_cidr_format(cidrs[i], buf, sizeof(buf)) < 0)
                        return pn_error_plain(err, EINVAL, 0, "Too many cluster CIDRs");
                for (int dst = 0; dst <= 1; dst++) {
                        struct fwd_accept *w = &a->want[a->n_want++];

                        w->family = family;
                        w->cidr = cidrs[i];
                        w->dst = dst;
                        snprintf(w->comment, sizeof(w->comment), FWD_TAG "pod traffic %s %s",
                                 dst ? "to" : "from", buf);
                }
        }
        snprintf(what, sizeof(what), "podnet's accepts in chain %s %s %s",
                 pn_fw_nft_family_name(c->nfproto), c->table, c->chain);
        return nft_run(ctx, fwd_accept_plan, a, what, err);
}

/* Deletes podnet's accepts from every base chain of the forward hook. */
static int fwd_sweep_plan(struct nft_txn *t, const void *arg, int *result, podnet_error **err)
{
        struct fwd_bases bs = {0};
        int r;

        (void)arg;
        *result = 0;
        r = fwd_read_bases(t, &bs);
        for (size_t i = 0; r >= 0 && i < bs.n; i++) {
                struct pn_fw_nft_chain c = {.nfproto = bs.v[i].nfproto};
                struct fwd_rules rs;

                snprintf(c.table, sizeof(c.table), "%s", bs.v[i].table);
                snprintf(c.chain, sizeof(c.chain), "%s", bs.v[i].chain);
                r = fwd_read_rules(t, c.nfproto, c.table, c.chain, &rs);
                if (r == -ENOENT)
                        r = -EINTR;
                for (size_t k = 0; r >= 0 && k < rs.n; k++)
                        if (fwd_is_podnet(&rs.v[k])) {
                                r = fwd_del_rule(t, &c, rs.v[k].handle);
                                *result = 1;
                        }
                fwd_rules_done(&rs);
        }
        free(bs.v);
        if (r < 0 && r != -EINTR)
                return pn_error(err, -r, 0, "Removing podnet's accepts from nftables' forward "
                                            "chains");
        return r;
}

int pn_fw_nft_accept_remove(podnet_ctx *ctx, const struct pn_fw_nft_chain *c, podnet_error **err)
{
        _cleanup_free_ struct fwd_accept_arg *a = NULL;
        char what[2 * NFT_NAME_SIZE + 64];

        if (!c)
                return nft_run(ctx, fwd_sweep_plan, NULL, "removing podnet's accepts", err);
        a = calloc(1, sizeof(*a));
        if (!a)
                return pn_error(err, ENOMEM, 0, "Planning the removal of podnet's accepts");
        a->chain = c;
        snprintf(what, sizeof(what), "removing podnet's accepts from chain %s %s %s",
                 pn_fw_nft_family_name(c->nfproto), c->table, c->chain);
        return nft_run(ctx, fwd_accept_plan, a, what, err);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nf_tables over netlink for the iptables-nft backend: a call's socket, the ruleset's
 * generation, reads of one chain or the rules of a table, and ONE batch per call whose
 * begin message carries the generation read first, so that a kernel that checks it
 * (5.11 and later) refuses the whole batch with ERESTART when any other transaction
 * committed meanwhile; nft_run() then reads again and decides again, a bounded number
 * of times. No global state: each call has its own socket.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <time.h>

#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <libnftnl/table.h>

#include "firewall/nft-txn.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* How often a call reads and decides again after another writer's commit. */
#define NFT_ATTEMPTS 10
#define NFT_RECV_SIZE 65536
#define NFT_REQ_SIZE 4096 /* a get or dump request: a few names */

uint16_t nft_proto(int family)
{
        return family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

const char *nft_family_name(int family)
{
        return family == AF_INET6 ? "ip6" : "ip";
}

/* ---- one call: a socket, the generation, reads, and the batch ---- */

void nft_rules_done(struct nft_rules *rs)
{
        free(rs->v);
        *rs = (struct nft_rules){0};
}

static void nft_txn_reset(struct nft_txn *t)
{
        for (size_t i = 0; i < t->n_ops; i++)
                free(t->what[i]);
        t->n_ops = 0;
        if (t->batch)
                nftnl_batch_free(t->batch);
        t->batch = NULL;
}

void nft_txn_done(struct nft_txn *t)
{
        nft_txn_reset(t);
        free(t->what);
        free(t->buf);
        if (t->nl)
                mnl_socket_close(t->nl);
        *t = (struct nft_txn){0};
}

int nft_txn_open(struct nft_txn *t, podnet_error **err)
{
        int one = 1;

        *t = (struct nft_txn){.seq = (uint32_t)time(NULL)};
        t->buf = malloc(NFT_RECV_SIZE);
        if (!t->buf)
                return pn_error(err, ENOMEM, 0, "Allocating the nf_tables receive buffer");
        t->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!t->nl)
                return pn_error(err, errno, 0, "Opening an nf_tables netlink socket");
        if (mnl_socket_bind(t->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return pn_error(err, errno, 0, "Binding an nf_tables netlink socket");
        /* Error replies then carry the failed message's header only. */
        (void)mnl_socket_setsockopt(t->nl, NETLINK_CAP_ACK, &one, sizeof(one));
        t->portid = mnl_socket_get_portid(t->nl);
        return 0;
}

/* Sends one request and runs cb on each reply until the dump ends or the ack comes.
 * Returns 0 or -errno (ENOENT: no such object; EINTR: a commit interrupted the dump). */
int nft_talk(struct nft_txn *t, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
        uint32_t seq = nlh->nlmsg_seq;
        ssize_t n;
        int r;

        if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        do {
                n = mnl_socket_recvfrom(t->nl, t->buf, NFT_RECV_SIZE);
                if (n < 0)
                        return -errno;
                r = mnl_cb_run(t->buf, (size_t)n, seq, t->portid, cb, data);
        } while (r > 0);
        return r < 0 ? (errno ? -errno : -EPROTO) : 0;
}

static int nft_gen_cb(const struct nlmsghdr *nlh, void *data)
{
        struct nftnl_gen *g = nftnl_gen_alloc();

        if (!g)
                return MNL_CB_ERROR;
        if (nftnl_gen_nlmsg_parse(nlh, g) == 0)
                *(uint32_t *)data = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
        nftnl_gen_free(g);
        return MNL_CB_OK;
}

int nft_read_genid(struct nft_txn *t)
{
        char buf[NFT_REQ_SIZE];
        struct nlmsghdr *nlh =
            nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, ++t->seq);

        return nft_talk(t, nlh, nft_gen_cb, &t->genid);
}

static int nft_chain_cb(const struct nlmsghdr *nlh, void *data)
{
        struct nft_chain_info *ci = data;
        struct nftnl_chain *c = nftnl_chain_alloc();

        if (!c)
                return MNL_CB_ERROR;
        if (nftnl_chain_nlmsg_parse(nlh, c) == 0) {
                ci->exists = true;
                ci->base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
                ci->hooknum = ci->base ? nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) : 0;
                ci->policy = nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY)
                                 ? nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY)
                                 : NF_ACCEPT;
        }
        nftnl_chain_free(c);
        return MNL_CB_OK;
}

struct nft_chain_count {
        const char *table;
        size_t n;
};

static int nft_chain_count_cb(const struct nlmsghdr *nlh, void *data)
{
        struct nft_chain_count *cc = data;
        struct nftnl_chain *c = nftnl_chain_alloc();

        if (!c)
                return MNL_CB_ERROR;
        /* the table is asked for; an older kernel may answer with every table's chains */
        if (nftnl_chain_nlmsg_parse(nlh, c) == 0 &&
            streq(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), cc->table))
                cc->n++;
        nftnl_chain_free(c);
        return MNL_CB_OK;
}

int nft_count_chains(struct nft_txn *t, int family, const char *table, size_t *n)
{
        char buf[NFT_REQ_SIZE];
        struct nftnl_chain *c = nftnl_chain_alloc();
        struct nft_chain_count cc = {table, 0};
        struct nlmsghdr *nlh;
        int r;

        *n = 0;
        if (!c)
                return -ENOMEM;
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, nft_proto(family), NLM_F_DUMP, ++t->seq);
        nftnl_chain_nlmsg_build_payload(nlh, c);
        nftnl_chain_free(c);
        r = nft_talk(t, nlh, nft_chain_count_cb, &cc);
        if (r == -ENOENT)
                return 0;
        *n = cc.n;
        return r;
}

struct nft_dump {
        int family;
        nft_rule_fn fn;
        void *data;
};

static int nft_rule_cb(const struct nlmsghdr *nlh, void *data)
{
        struct nft_dump *d = data;
        struct nftnl_rule *r = nftnl_rule_alloc();
        struct nft_rule_m m;
        int ret = -ENOMEM;

        if (!r) {
                errno = ENOMEM;
                return MNL_CB_ERROR;
        }
        if (nftnl_rule_nlmsg_parse(nlh, r) == 0) {
                nft_rule_parse(d->family, r, &m);
                ret = d->fn(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), &m, d->data);
        }
        nftnl_rule_free(r);
        if (ret < 0)
                errno = -ret;
        return ret < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int nft_dump_rules(struct nft_txn *t, int family, const char *table, const char *chain,
                   nft_rule_fn fn, void *data)
{
        char buf[NFT_REQ_SIZE];
        struct nftnl_rule *r = nftnl_rule_alloc();
        struct nlmsghdr *nlh;

        if (!r)
                return -ENOMEM;
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
        if (chain)
                nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, nft_proto(family), NLM_F_DUMP, ++t->seq);
        nftnl_rule_nlmsg_build_payload(nlh, r);
        nftnl_rule_free(r);
        return nft_talk(t, nlh, nft_rule_cb, &(struct nft_dump){family, fn, data});
}

static int nft_collect(const char *chain, const struct nft_rule_m *m, void *data)
{
        struct nft_rules *rs = data;

        (void)chain;
        if (pn_grow((void **)&rs->v, &rs->cap, rs->n + 1, sizeof(*rs->v)) < 0)
                return -ENOMEM;
        rs->v[rs->n++] = *m;
        return 0;
}

/* Reads chain `name` of family's `table`: whether it exists, whether it is a base chain,
 * and (rs non-NULL) its rules in order. A missing table reads as a missing chain. */
int nft_read_chain(struct nft_txn *t, int family, const char *table, const char *name,
                   struct nft_chain_info *ci, struct nft_rules *rs)
{
        char buf[NFT_REQ_SIZE];
        struct nftnl_chain *c = nftnl_chain_alloc();
        struct nlmsghdr *nlh;
        int ret;

        *ci = (struct nft_chain_info){0};
        if (rs)
                *rs = (struct nft_rules){0};
        if (!c)
                return -ENOMEM;
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, nft_proto(family), NLM_F_ACK, ++t->seq);
        nftnl_chain_nlmsg_build_payload(nlh, c);
        nftnl_chain_free(c);
        ret = nft_talk(t, nlh, nft_chain_cb, ci);
        if (ret == -ENOENT) {
                *ci = (struct nft_chain_info){0};
                return 0;
        }
        if (ret < 0 || !rs || !ci->exists)
                return ret;

        ret = nft_dump_rules(t, family, table, name, nft_collect, rs);
        if (ret < 0)
                nft_rules_done(rs);
        return ret == -ENOENT ? -EINTR : ret; /* deleted under our feet: read again */
}

/* ---- the batch ---- */

int nft_batch_start(struct nft_txn *t)
{
        struct nlmsghdr *nlh;

        nft_txn_reset(t);
        t->batch = nftnl_batch_alloc((uint32_t)getpagesize() * 8, MNL_SOCKET_BUFFER_SIZE);
        if (!t->batch)
                return -ENOMEM;
        nlh = nftnl_batch_begin(nftnl_batch_buffer(t->batch), ++t->seq);
        /* The kernel refuses the batch (ERESTART) if the ruleset changed since. */
        mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(t->genid));
        if (nftnl_batch_update(t->batch) < 0)
                return -ENOMEM;
        t->first_op_seq = t->seq + 1;
        return 0;
}

/* Opens the next op's message; `what` (printf) names it for errors. */
static struct nlmsghdr *nft_op_proto(struct nft_txn *t, uint16_t type, uint16_t nfproto,
                                     uint16_t flags, const char *fmt, va_list ap) _printf_(5, 0);
static struct nlmsghdr *nft_op_proto(struct nft_txn *t, uint16_t type, uint16_t nfproto,
                                     uint16_t flags, const char *fmt, va_list ap)
{
        char *what = NULL;

        if (pn_grow((void **)&t->what, &t->what_cap, t->n_ops + 1, sizeof(*t->what)) < 0)
                return NULL;
        if (vasprintf(&what, fmt, ap) < 0)
                what = NULL;
        if (!what)
                return NULL;
        t->what[t->n_ops++] = what;
        return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(t->batch), type, nfproto,
                                     flags | NLM_F_ACK, ++t->seq);
}

static struct nlmsghdr *nft_op_va(struct nft_txn *t, uint16_t type, uint16_t nfproto,
                                  uint16_t flags, const char *fmt, ...) _printf_(5, 6);
static struct nlmsghdr *nft_op_va(struct nft_txn *t, uint16_t type, uint16_t nfproto,
                                  uint16_t flags, const char *fmt, ...)
{
        struct nlmsghdr *nlh;
        va_list ap;

        va_start(ap, fmt);
        nlh = nft_op_proto(t, type, nfproto, flags, fmt, ap);
        va_end(ap);
        return nlh;
}

static struct nlmsghdr *nft_op(struct nft_txn *t, uint16_t type, int family, uint16_t flags,
                               const char *fmt, ...) _printf_(5, 6);
static struct nlmsghdr *nft_op(struct nft_txn *t, uint16_t type, int family, uint16_t flags,
                               const char *fmt, ...)
{
        struct nlmsghdr *nlh;
        va_list ap;

        va_start(ap, fmt);
        nlh = nft_op_proto(t, type, nft_proto(family), flags, fmt, ap);
        va_end(ap);
        return nlh;
}

static int nft_op_end(struct nft_txn *t)
{
        return nftnl_batch_update(t->batch) < 0 ? -ENOMEM : 0;
}

/* Adds r at the head of its chain or deletes it (by its handle), in any nf_tables family
 * (inet included); r stays the caller's. */
int nft_op_native_rule(struct nft_txn *t, uint16_t nfproto, bool del, struct nftnl_rule *r,
                       const char *what)
{
        struct nlmsghdr *nlh = nft_op_va(t, del ? NFT_MSG_DELRULE : NFT_MSG_NEWRULE, nfproto,
                                         del ? 0 : NLM_F_CREATE, "%s", what);

        if (!nlh)
                return -ENOMEM;
        nftnl_rule_nlmsg_build_payload(nlh, r);
        return nft_op_end(t);
}

int nft_op_del_table(struct nft_txn *t, int family, const char *table)
{
        struct nftnl_table *tb = nftnl_table_alloc();
        struct nlmsghdr *nlh;

        if (!tb)
                return -ENOMEM;
        nftnl_table_set_str(tb, NFTNL_TABLE_NAME, table);
        nlh = nft_op(t, NFT_MSG_DELTABLE, family, 0, "Deleting table %s %s", nft_family_name(family),
                     table);
        if (nlh)
                nftnl_table_nlmsg_build_payload(nlh, tb);
        nftnl_table_free(tb);
        return nlh ? nft_op_end(t) : -ENOMEM;
}

/* Creates (del false) or deletes user chain `name`. */
int nft_op_chain(struct nft_txn *t, int family, const char *table, const char *name, bool del)
{
        struct nftnl_chain *c = nftnl_chain_alloc();
        struct nlmsghdr *nlh;

        if (!c)
                return -ENOMEM;
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
        nlh = nft_op(t, del ? NFT_MSG_DELCHAIN : NFT_MSG_NEWCHAIN, family, del ? 0 : NLM_F_CREATE,
                     "%s chain %s in %s table %s", del ? "Deleting" : "Creating", name,
                     nft_family_name(family), table);
        if (nlh)
                nftnl_chain_nlmsg_build_payload(nlh, c);
        nftnl_chain_free(c);
        return nlh ? nft_op_end(t) : -ENOMEM;
}

/* Adds rule m to chain: at its head (first) or at its end. */
int nft_op_add_rule(struct nft_txn *t, int family, const char *table, const char *chain,
                    const struct nft_rule_m *m, bool first)
{
        struct nftnl_rule *r = nft_rule_build(family, table, chain, m);
        struct nlmsghdr *nlh;

        if (!r)
                return -ENOMEM;
        nlh = nft_op(t, NFT_MSG_NEWRULE, family, NLM_F_CREATE | (first ? 0 : NLM_F_APPEND),
                     "Adding a rule to chain %s in %s table %s", chain, nft_family_name(family),
                     table);
        if (nlh)
                nftnl_rule_nlmsg_build_payload(nlh, r);
        nftnl_rule_free(r);
        return nlh ? nft_op_end(t) : -ENOMEM;
}

/* Deletes the rule with `handle` from chain, or (handle 0) every rule of chain. */
int nft_op_del_rule(struct nft_txn *t, int family, const char *table, const char *chain,
                    uint64_t handle)
{
        struct nftnl_rule *r = nftnl_rule_alloc();
        struct nlmsghdr *nlh;

        if (!r)
                return -ENOMEM;
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
        if (handle)
                nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
        nlh = nft_op(t, NFT_MSG_DELRULE, family, 0, "Deleting %s chain %s in %s table %s",
                     handle ? "a rule of" : "the rules of", chain, nft_family_name(family), table);
        if (nlh)
                nftnl_rule_nlmsg_build_payload(nlh, r);
        nftnl_rule_free(r);
        return nlh ? nft_op_end(t) : -ENOMEM;
}

/* Sends the batch and collects the kernel's answers: the first error, with what it was
 * about in *what (NULL: the batch as a whole, e.g. ERESTART for a stale generation). */
int nft_batch_commit(struct nft_txn *t, const char **what)
{
        _cleanup_free_ struct iovec *iov = NULL;
        struct sockaddr_nl snl = {.nl_family = AF_NETLINK};
        struct msghdr msg = {.msg_name = &snl, .msg_namelen = sizeof(snl)};
        int first_err = 0, iovlen;

        *what = NULL;
        nftnl_batch_end(nftnl_batch_buffer(t->batch), ++t->seq);
        if (nftnl_batch_update(t->batch) < 0)
                return -ENOMEM;
        iovlen = nftnl_batch_iovec_len(t->batch);
        iov = calloc((size_t)iovlen, sizeof(*iov));
        if (!iov)
                return -ENOMEM;
        nftnl_batch_iovec(t->batch, iov, (uint32_t)iovlen);
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)iovlen;
        if (sendmsg(mnl_socket_get_fd(t->nl), &msg, 0) < 0)
                return -errno;
        /* The kernel handles the batch within sendmsg(): every answer is queued now. */
        for (;;) {
                ssize_t n = recv(mnl_socket_get_fd(t->nl), t->buf, NFT_RECV_SIZE, MSG_DONTWAIT);
                int len = (int)n;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        return first_err ? first_err : -errno;
                }
                for (struct nlmsghdr *nlh = (void *)t->buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len)) {
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

                        if (nlh->nlmsg_type != NLMSG_ERROR || e->error == 0 || first_err)
                                continue;
                        first_err = e->error;
                        if (nlh->nlmsg_seq >= t->first_op_seq &&
                            nlh->nlmsg_seq - t->first_op_seq < t->n_ops)
                                *what = t->what[nlh->nlmsg_seq - t->first_op_seq];
                }
        }
        return first_err;
}

/* ---- running a call: read, decide, commit; again if another writer came between ---- */

int nft_run(podnet_ctx *ctx, nft_plan_fn plan, const void *arg, const char *what,
            podnet_error **err)
{
        _cleanup_nft_txn_ struct nft_txn t = {0};
        long delay_us = 1000;
        int r, result = 0;

        r = nft_txn_open(&t, err);
        if (r < 0)
                return r;
        for (int attempt = 1;; attempt++) {
                const char *failed = NULL;

                r = nft_read_genid(&t);
                if (r < 0)
                        return pn_error(err, -r, 0, "Reading the nf_tables generation for %s",
                                        what);
                r = nft_batch_start(&t);
                if (r < 0)
                        return pn_error(err, -r, 0, "Starting an nf_tables batch for %s", what);
                r = plan(&t, arg, &result, err);
                if (r == 0 && t.n_ops == 0)
                        return result;
                if (r == 0) {
                        r = nft_batch_commit(&t, &failed);
                        if (r == 0) {
                                pn_debug(ctx, "Committed %zu nf_tables changes for %s", t.n_ops,
                                         what);
                                return result;
                        }
                }
                /* ERESTART: the generation moved; EINTR: a dump saw a commit; EBUSY: an
                 * object we delete is in use, maybe by a rule being replaced; ENOENT: a
                 * rule we delete went meanwhile (kernels before 5.11 check no
                 * generation). */
                if ((r != -ERESTART && r != -EINTR && r != -EBUSY && r != -ENOENT) ||
                    attempt == NFT_ATTEMPTS) {
                        if (failed)
                                return pn_error(err, -r, 0, "%s (for %s)", failed, what);
                        return pn_error(err, -r, 0, "Committing the nf_tables changes for %s%s",
                                        what, attempt > 1 ? " after retries" : "");
                }
                pn_debug(ctx, "nf_tables changed under %s (%s), trying again", what, strerror(-r));
                /* A dump left half-read stays on its socket: start on a fresh one. */
                nft_txn_done(&t);
                r = nft_txn_open(&t, err);
                if (r < 0)
                        return r;
                nanosleep(&(struct timespec){0, delay_us * 1000}, NULL);
                if (delay_us < 64000)
                        delay_us *= 2;
        }
}

int nft_op_base_chain(struct nft_txn *t, int family, const struct nft_hook *h)
{
        struct nftnl_table *tb = nftnl_table_alloc();
        struct nftnl_chain *c = nftnl_chain_alloc();
        struct nlmsghdr *nlh;
        int ret = -ENOMEM;

        if (!tb || !c)
                goto out;
        nftnl_table_set_str(tb, NFTNL_TABLE_NAME, h->table);
        nlh = nft_op(t, NFT_MSG_NEWTABLE, family, NLM_F_CREATE, "Creating table %s %s",
                     nft_family_name(family), h->table);
        if (!nlh)
                goto out;
        nftnl_table_nlmsg_build_payload(nlh, tb);
        if (nft_op_end(t) < 0)
                goto out;
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, h->table);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, h->builtin);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, h->hooknum);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, h->prio);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, h->type);
        nlh = nft_op(t, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE,
                     "Creating base chain %s of %s table %s", h->builtin, nft_family_name(family),
                     h->table);
        if (!nlh)
                goto out;
        nftnl_chain_nlmsg_build_payload(nlh, c);
        ret = nft_op_end(t);
out:
        if (tb)
                nftnl_table_free(tb);
        if (c)
                nftnl_chain_free(c);
        return ret;
}

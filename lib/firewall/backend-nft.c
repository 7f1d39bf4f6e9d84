/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iptables-nft firewall backend: translates the rule plan into nf_tables in the
 * layout iptables-nft uses (family ip/ip6 tables "filter" and "nat", base chains FORWARD
 * and POSTROUTING with iptables-nft's hooks, priorities and ACCEPT policy, created only
 * where absent), with rules encoded as iptables-nft encodes them (nft-rule.c), through
 * libnftnl and libmnl. Each call reads only the chains it touches (the base chain and
 * podnet's own), never the whole ruleset, and commits every change as ONE nf_tables
 * batch.
 *
 * Concurrent writers (kube-proxy's iptables-nft-restore, Docker re-creating its chains):
 * the ruleset's generation id is read before anything else and sent in the batch's
 * begin message, so a kernel that checks it (5.11 and later) refuses the whole batch with
 * ERESTART when any other transaction committed since; then the call reads again and
 * decides again, a bounded number of times. A dump interrupted by a commit (EINTR) is
 * retried the same way. Thus podnet never deletes by a stale handle or appends a second
 * copy of a rule someone else put back meanwhile. No global state: every call has its
 * own netlink socket.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "firewall/backend.h"
#include "firewall/nft-rule.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* How often a call reads and decides again after another writer's commit. */
#define NFT_ATTEMPTS 10
#define NFT_RECV_SIZE 65536
#define NFT_REQ_SIZE 4096 /* a get or dump request: a few names */

/* Where the plan's hooks are in iptables-nft's layout (its builtin_table entries). */
struct nft_hook {
        const char *table, *builtin, *type;
        uint32_t hooknum;
        int prio;
};

static const struct nft_hook nft_hooks[] = {
    [PN_FW_HOOK_FORWARD] = {"filter", "FORWARD", "filter", NF_INET_FORWARD, 0},
    [PN_FW_HOOK_POSTROUTING] = {"nat", "POSTROUTING", "nat", NF_INET_POST_ROUTING, 100},
};

static uint16_t nft_proto(int family)
{
        return family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

static const char *nft_family_name(int family)
{
        return family == AF_INET6 ? "ip6" : "ip";
}

/* ---- one call: a socket, the generation, reads, and the batch ---- */

struct nft_rules {
        struct nft_rule_m *v;
        size_t n, cap;
};

static void nft_rules_done(struct nft_rules *rs)
{
        free(rs->v);
        *rs = (struct nft_rules){0};
}
#define _cleanup_nft_rules_ _cleanup_(nft_rules_done)

struct nft_txn {
        struct mnl_socket *nl;
        uint32_t portid, seq, genid;
        char *buf; /* NFT_RECV_SIZE */
        struct nftnl_batch *batch;
        uint32_t first_op_seq;
        size_t n_ops;
        /* What each op of the batch does, by seq - first_op_seq, for error messages. */
        char **what;
        size_t what_cap;
};

static void nft_txn_reset(struct nft_txn *t)
{
        for (size_t i = 0; i < t->n_ops; i++)
                free(t->what[i]);
        t->n_ops = 0;
        if (t->batch)
                nftnl_batch_free(t->batch);
        t->batch = NULL;
}

static void nft_txn_done(struct nft_txn *t)
{
        nft_txn_reset(t);
        free(t->what);
        free(t->buf);
        if (t->nl)
                mnl_socket_close(t->nl);
        *t = (struct nft_txn){0};
}
#define _cleanup_nft_txn_ _cleanup_(nft_txn_done)

static int nft_txn_open(struct nft_txn *t, podnet_error **err)
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
static int nft_talk(struct nft_txn *t, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
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

static int nft_read_genid(struct nft_txn *t)
{
        char buf[NFT_REQ_SIZE];
        struct nlmsghdr *nlh =
            nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, ++t->seq);

        return nft_talk(t, nlh, nft_gen_cb, &t->genid);
}

/* What a chain is, read back. */
struct nft_chain_info {
        bool exists, base;
        uint32_t hooknum;
};

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
        }
        nftnl_chain_free(c);
        return MNL_CB_OK;
}

struct nft_rules_read {
        int family;
        struct nft_rules *rs;
};

static int nft_rule_cb(const struct nlmsghdr *nlh, void *data)
{
        struct nft_rules_read *rr = data;
        struct nftnl_rule *r = nftnl_rule_alloc();
        int ret = MNL_CB_ERROR;

        if (!r)
                return MNL_CB_ERROR;
        if (nftnl_rule_nlmsg_parse(nlh, r) == 0 &&
            pn_grow((void **)&rr->rs->v, &rr->rs->cap, rr->rs->n + 1, sizeof(*rr->rs->v)) == 0) {
                nft_rule_parse(rr->family, r, &rr->rs->v[rr->rs->n++]);
                ret = MNL_CB_OK;
        }
        nftnl_rule_free(r);
        if (ret != MNL_CB_OK)
                errno = ENOMEM;
        return ret;
}

/* Reads chain `name` of family's `table`: whether it exists, whether it is a base chain,
 * and (rs non-NULL) its rules in order. A missing table reads as a missing chain. */
static int nft_read_chain(struct nft_txn *t, int family, const char *table, const char *name,
                          struct nft_chain_info *ci, struct nft_rules *rs)
{
        char buf[NFT_REQ_SIZE];
        struct nftnl_chain *c = nftnl_chain_alloc();
        struct nftnl_rule *r = NULL;
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

        r = nftnl_rule_alloc();
        if (!r)
                return -ENOMEM;
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name);
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, nft_proto(family), NLM_F_DUMP, ++t->seq);
        nftnl_rule_nlmsg_build_payload(nlh, r);
        nftnl_rule_free(r);
        ret = nft_talk(t, nlh, nft_rule_cb, &(struct nft_rules_read){family, rs});
        if (ret < 0)
                nft_rules_done(rs);
        return ret == -ENOENT ? -EINTR : ret; /* deleted under our feet: read again */
}

/* ---- the batch ---- */

static int nft_batch_start(struct nft_txn *t)
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
static struct nlmsghdr *nft_op(struct nft_txn *t, uint16_t type, int family, uint16_t flags,
                               const char *fmt, ...) _printf_(5, 6);
static struct nlmsghdr *nft_op(struct nft_txn *t, uint16_t type, int family, uint16_t flags,
                               const char *fmt, ...)
{
        va_list ap;
        char *what = NULL;

        if (pn_grow((void **)&t->what, &t->what_cap, t->n_ops + 1, sizeof(*t->what)) < 0)
                return NULL;
        va_start(ap, fmt);
        if (vasprintf(&what, fmt, ap) < 0)
                what = NULL;
        va_end(ap);
        if (!what)
                return NULL;
        t->what[t->n_ops++] = what;
        return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(t->batch), type, nft_proto(family),
                                     flags | NLM_F_ACK, ++t->seq);
}

static int nft_op_end(struct nft_txn *t)
{
        return nftnl_batch_update(t->batch) < 0 ? -ENOMEM : 0;
}

static int nft_op_base_chain(struct nft_txn *t, int family, const struct nft_hook *h)
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
        nlh = nft_op(t, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE, "Creating base chain %s of %s table %s",
                     h->builtin, nft_family_name(family), h->table);
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

/* Creates (del false) or deletes user chain `name`. */
static int nft_op_chain(struct nft_txn *t, int family, const char *table, const char *name,
                        bool del)
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
static int nft_op_add_rule(struct nft_txn *t, int family, const char *table, const char *chain,
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
static int nft_op_del_rule(struct nft_txn *t, int family, const char *table, const char *chain,
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
static int nft_batch_commit(struct nft_txn *t, const char **what)
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

/* Reads what it needs and queues its changes in t's batch; sets *result. Returns 0,
 * -EINTR to be run again, or another -errno with *err set. */
typedef int (*nft_plan_fn)(struct nft_txn *t, const void *arg, int *result, podnet_error **err);

static int nft_run(podnet_ctx *ctx, nft_plan_fn plan, const void *arg, const char *what,
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

        return nft_count_jumps(base, jump->target, &pos) == 1 &&
               nft_rule_eq(&base->v[pos], jump) && (!first || pos == 0);
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

/* Deletes every jump to the view's chain, then (if it exists) the chain. */
static int nft_remove_chain(struct nft_txn *t, const struct nft_view *v, bool flush)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < v->base.n; i++)
                if (streq(v->base.v[i].target, v->c->name))
                        r = nft_op_del_rule(t, v->family, v->h->table, v->h->builtin,
                                            v->base.v[i].handle);
        if (r >= 0 && v->chain_info.exists && flush && v->rules.n > 0)
                r = nft_op_del_rule(t, v->family, v->h->table, v->c->name, 0);
        if (r >= 0 && v->chain_info.exists)
                r = nft_op_chain(t, v->family, v->h->table, v->c->name, true);
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
                        return pn_error(err, ENOMEM, 0, "Building the rules of %s", cp->chain->name);
                for (size_t i = 0; i < cp->n_rules; i++)
                        nft_rule_from_plan(&want[i], &cp->rules[i]);
                same = v.rules.n == cp->n_rules;
                for (size_t i = 0; same && i < cp->n_rules; i++)
                        same = nft_rule_eq(&v.rules.v[i], &want[i]);
                r = nft_ensure_chain(t, &v);
                if (r >= 0 && !same && v.rules.n > 0)
                        r = nft_op_del_rule(t, family, v.h->table, cp->chain->name, 0);
                for (size_t i = 0; r >= 0 && !same && i < cp->n_rules; i++)
                        r = nft_op_add_rule(t, family, v.h->table, cp->chain->name, &want[i], false);
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
    .apply = nft_apply,
    .add = nft_add_entry,
    .remove = nft_remove_entry,
    .check = nft_check_entry,
    .list = nft_list,
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the firewall family: nf_tables over netlink (libmnl, libnftnl) for the
 * iptables-nft backend and the backend detection: one call's socket and generation,
 * reads, the batch of changes, and nft_run(), which reads, decides and commits again
 * when another writer committed in between.
 */
#ifndef PODNET_FW_NFT_TXN_H
#define PODNET_FW_NFT_TXN_H

#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>

#include "firewall/nft-rule.h"

/* A base chain as iptables-nft creates it (its builtin_table entries). */
struct nft_hook {
        const char *table, *builtin, *type;
        uint32_t hooknum;
        int prio;
};

struct nft_rules {
        struct nft_rule_m *v;
        size_t n, cap;
};

void nft_rules_done(struct nft_rules *rs);
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

int nft_txn_open(struct nft_txn *t, podnet_error **err);
void nft_txn_done(struct nft_txn *t);
#define _cleanup_nft_txn_ _cleanup_(nft_txn_done)

uint16_t nft_proto(int family);          /* NFPROTO_IPV4 or NFPROTO_IPV6 */
const char *nft_family_name(int family); /* "ip" or "ip6" */

/* Sends one request and runs cb on each reply until the dump ends or the ack comes.
 * Returns 0 or -errno (ENOENT: no such object; EINTR: a commit interrupted the dump). */
int nft_talk(struct nft_txn *t, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
int nft_read_genid(struct nft_txn *t);

/* What a chain is, read back. */
struct nft_chain_info {
        bool exists, base;
        uint32_t hooknum;
        uint32_t policy; /* of a base chain: NF_ACCEPT or NF_DROP */
};

/* Reads chain `name` of family's `table`: whether it exists, whether it is a base chain,
 * and (rs non-NULL) its rules in order. A missing table reads as a missing chain. */
int nft_read_chain(struct nft_txn *t, int family, const char *table, const char *name,
                   struct nft_chain_info *ci, struct nft_rules *rs);
/* How many chains family's `table` holds (0 for a table that is not there). */
int nft_count_chains(struct nft_txn *t, int family, const char *table, size_t *n);
/* Deletes family's `table` with whatever it still holds. */
int nft_op_del_table(struct nft_txn *t, int family, const char *table);
/* Calls fn for each rule of family's table (of chain, or of every chain if NULL); a
 * negative return of fn ends the dump with that error. */
typedef int (*nft_rule_fn)(const char *chain, const struct nft_rule_m *m, void *data);
int nft_dump_rules(struct nft_txn *t, int family, const char *table, const char *chain,
                   nft_rule_fn fn, void *data);

/* The batch: started after the generation is read; each op adds one message. */
int nft_batch_start(struct nft_txn *t);
/* The table (if absent) and its base chain with iptables-nft's hook, priority, type and
 * ACCEPT policy: only for a base chain known to be absent (it would reset a policy). */
int nft_op_base_chain(struct nft_txn *t, int family, const struct nft_hook *h);
/* Creates (del false) or deletes user chain `name`. */
int nft_op_chain(struct nft_txn *t, int family, const char *table, const char *name, bool del);
/* Adds rule m to chain: at its head (first) or at its end. */
int nft_op_add_rule(struct nft_txn *t, int family, const char *table, const char *chain,
                    const struct nft_rule_m *m, bool first);
/* Deletes the rule with `handle` from chain, or (handle 0) every rule of chain. */
int nft_op_del_rule(struct nft_txn *t, int family, const char *table, const char *chain,
                    uint64_t handle);
/* Adds r (table, chain and expressions set) at the head of its chain, or deletes it
 * (del: by its handle), in any nf_tables family (NFPROTO_INET included); `what` names
 * the op in errors; r stays the caller's. */
int nft_op_native_rule(struct nft_txn *t, uint16_t nfproto, bool del, struct nftnl_rule *r,
                       const char *what);
/* Sends the batch; the first error, with what it was about in *what (NULL: the batch as
 * a whole, e.g. ERESTART for a stale generation). */
int nft_batch_commit(struct nft_txn *t, const char **what);

/* Reads what it needs and queues its changes in t's batch; sets *result. Returns 0,
 * -EINTR to be run again, or another -errno with *err set. */
typedef int (*nft_plan_fn)(struct nft_txn *t, const void *arg, int *result, podnet_error **err);
/* Runs plan on a fresh read, commits what it queued, and does it again (a bounded
 * number of times) when another writer committed in between. Returns plan's result, or
 * -errno with *err naming `what`. */
int nft_run(podnet_ctx *ctx, nft_plan_fn plan, const void *arg, const char *what,
            podnet_error **err);

#endif

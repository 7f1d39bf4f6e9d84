/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the firewall family: one rule as the iptables-nft backend models it, and
 * its translation to and from nf_tables expressions in the encoding iptables-nft (1.8)
 * writes, so that iptables-nft -S and iptables-nft-save read podnet's rules as their own.
 * Pure: builds and parses libnftnl objects, talks to no kernel.
 */
#ifndef PODNET_FW_NFT_RULE_H
#define PODNET_FW_NFT_RULE_H

#include <stdint.h>
#include <stdio.h>

#include <libnftnl/rule.h>

#include "firewall/plan.h"

/* xt_comment_info's size: what iptables' comment match carries. */
#define NFT_COMMENT_SIZE 256
#define NFT_NAME_SIZE 256 /* NFT_CHAIN_MAXNAMELEN */

/* Verdict words as iptables names them; anything else in target is a chain jumped to. */
#define NFT_T_ACCEPT "ACCEPT"
#define NFT_T_DROP "DROP"
#define NFT_T_RETURN "RETURN"
#define NFT_T_MASQUERADE "MASQUERADE"

/* One rule: source and destination prefixes (family 0: no match), either negated, a
 * comment, and the target. Anything else a rule carries (other matches, a goto, target
 * options, interfaces) marks it foreign: it never equals one of podnet's. */
struct nft_rule_m {
        podnet_cidr src, dst;
        bool src_inv, dst_inv;
        bool foreign;
        char comment[NFT_COMMENT_SIZE];
        char target[NFT_NAME_SIZE];
        uint64_t handle; /* the kernel's, for rules read back; 0 for rules built */
};

/* A rule of family (AF_INET, AF_INET6) for plan rule p. */
void nft_rule_from_plan(struct nft_rule_m *m, const struct pn_fw_rule *p);
/* A jump to chain with comment (NULL: none). */
void nft_rule_jump(struct nft_rule_m *m, const char *chain, const char *comment);
bool nft_rule_eq(const struct nft_rule_m *a, const struct nft_rule_m *b);

/* An nftnl rule of family (AF_INET, AF_INET6) in table/chain for m, with the expressions
 * iptables-nft writes for the same rule. NULL on out-of-memory. */
struct nftnl_rule *nft_rule_build(int family, const char *table, const char *chain,
                                  const struct nft_rule_m *m);
/* Appends to r the match of c (validated, prefix length above 0) as source or (dst)
 * destination address of family, negated with inv: the expressions iptables-nft and
 * nft both write for a prefix. 0 or -ENOMEM. */
int nft_rule_add_prefix(struct nftnl_rule *r, int family, const podnet_cidr *c, bool dst,
                        bool inv);
/* Reads r (of family) back into m, with its handle. */
void nft_rule_parse(int family, struct nftnl_rule *r, struct nft_rule_m *m);
/* The rule in iptables -S syntax ("-A chain ... -j target"), with a newline. */
void nft_rule_print(FILE *out, const char *chain, const struct nft_rule_m *m);

#endif

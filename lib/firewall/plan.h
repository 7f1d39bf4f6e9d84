/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the firewall family: the rule plan, podnet's firewall policy as data that
 * no backend has to know. podnet's chains, where the kernel's path enters each one, the
 * rules each holds per address family (accept, return, masquerade), and the single
 * rules of the shared masquerade chain. Backends translate a plan, never decide one.
 */
#ifndef PODNET_FW_PLAN_H
#define PODNET_FW_PLAN_H

#include <stdbool.h>

#include "core/cidr.h"
#include "core/internal.h"

#define PN_FW_CHAIN_MASQ "PODNET-MASQ"
#define PN_FW_CHAIN_FORWARD "PODNET-FORWARD"
#define PN_FW_CHAIN_POSTROUTING "PODNET-POSTROUTING"
/* Per-network masquerade rules carry the comment "podnet:<network>". */
#define PN_FW_COMMENT_NETWORK_PREFIX "podnet:"

/* Where the kernel's path enters one of podnet's chains: iptables' FORWARD chain of the
 * filter table and POSTROUTING chain of the nat table. */
enum pn_fw_hook {
        PN_FW_HOOK_FORWARD,
        PN_FW_HOOK_POSTROUTING,
};

enum pn_fw_verdict {
        PN_FW_ACCEPT,
        PN_FW_RETURN,
        PN_FW_MASQUERADE,
};

/* One of podnet's chains and the one rule that jumps to it from its hook. */
struct pn_fw_chain {
        const char *name;
        enum pn_fw_hook hook;
        const char *jump_comment;
        /* The jump goes ahead of every other rule of the hook (of Docker's DROP rules,
         * for instance); otherwise it is appended. */
        bool jump_first;
};

extern const struct pn_fw_chain pn_fw_chain_forward;     /* PODNET-FORWARD */
extern const struct pn_fw_chain pn_fw_chain_postrouting; /* PODNET-POSTROUTING */
extern const struct pn_fw_chain pn_fw_chain_masq;        /* PODNET-MASQ, the CNI plugin's */
/* Every chain of podnet's, in listing order. */
extern const struct pn_fw_chain *const pn_fw_chains[3];

/* One rule: a packet from src to dst (or to anywhere outside dst) gets the verdict.
 * Prefixes have their host bits cleared; family 0 matches any address. */
struct pn_fw_rule {
        podnet_cidr src, dst;
        bool dst_outside;
        enum pn_fw_verdict verdict;
        char *comment; /* NULL: none; owned by the rule */
};

/* A chain of the node's plan: present with exactly these rules, in order, and its
 * jump; or absent, chain and jump to be removed. */
struct pn_fw_chain_plan {
        const struct pn_fw_chain *chain;
        bool present;
        struct pn_fw_rule *rules;
        size_t n_rules;
};

#define PN_FW_PLAN_CHAINS 2

/* The node's plan for one address family: PODNET-FORWARD, then PODNET-POSTROUTING. */
struct pn_fw_family_plan {
        int family;
        struct pn_fw_chain_plan chains[PN_FW_PLAN_CHAINS];
};

/* The node's plan: IPv4, then IPv6 (the families a backend applies in this order). */
struct pn_fw_plan {
        struct pn_fw_family_plan families[2];
        size_t n_families;
};

/* One rule of a chain that several owners share (the per-network masquerade rules of
 * PODNET-MASQ): added, removed and looked for one at a time. */
struct pn_fw_entry {
        const struct pn_fw_chain *chain;
        int family;
        struct pn_fw_rule rule;
};

/* The plan that cfg (validated, full size) asks for. 0 or -ENOMEM. */
int pn_fw_plan_node(struct pn_fw_plan *plan, const podnet_fw_config *cfg);
/* The plan that removes every node chain of both families. */
void pn_fw_plan_teardown(struct pn_fw_plan *plan);
/* true if the plan wants a chain of `family` present. */
bool pn_fw_plan_uses(const struct pn_fw_plan *plan, int family);
void pn_fw_plan_done(struct pn_fw_plan *plan);
#define _cleanup_fw_plan_ _cleanup_(pn_fw_plan_done)

/* Network `network`'s masquerade rule for `subnet` (validated). 0 or -ENOMEM. */
int pn_fw_entry_masq(struct pn_fw_entry *e, const char *network, const podnet_cidr *subnet);
void pn_fw_entry_done(struct pn_fw_entry *e);
#define _cleanup_fw_entry_ _cleanup_(pn_fw_entry_done)

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * For tests/netns/fw-nft.sh: prints every table, chain and rule of the ip and ip6 families
 * of this network namespace as the kernel holds them, attribute by attribute in hex, one
 * line per object, so that the test can compare podnet's objects byte for byte with those
 * iptables-nft writes (nft's own listing shows neither the xt data, nor the compat
 * attributes, nor user data). Left out: what differs between two identical rule sets
 * (handles, positions, use counts, counter values).
 */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>

static void hex(const struct nlattr *a)
{
        const unsigned char *p = mnl_attr_get_payload(a);

        for (uint16_t i = 0; i < mnl_attr_get_payload_len(a); i++)
                printf("%02x", p[i]);
}

/* One expression: its name, then its data attributes unless it is a counter. */
static void print_expr(const struct nlattr *elem)
{
        const struct nlattr *a, *name = NULL, *data = NULL;

        mnl_attr_for_each_nested(a, elem)
        {
                if (mnl_attr_get_type(a) == NFTA_EXPR_NAME)
                        name = a;
                else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA)
                        data = a;
        }
        printf(" [%s", name ? mnl_attr_get_str(name) : "?");
        if (data && !(name && strcmp(mnl_attr_get_str(name), "counter") == 0)) {
                mnl_attr_for_each_nested(a, data)
                {
                        printf(" %u=", mnl_attr_get_type(a));
                        hex(a);
                }
        }
        printf("]");
}

static int print_cb(const struct nlmsghdr *nlh, void *data)
{
        int type = nlh->nlmsg_type & 0xff;
        const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;

        (void)data;
        printf("%s family=%u",
               type == NFT_MSG_NEWTABLE   ? "table"
               : type == NFT_MSG_NEWCHAIN ? "chain"
                                          : "rule",
               g->nfgen_family);
        mnl_attr_for_each(a, nlh, sizeof(*g))
        {
                uint16_t at = mnl_attr_get_type(a);

                if (type == NFT_MSG_NEWTABLE && (at == NFTA_TABLE_HANDLE || at == NFTA_TABLE_USE))
                        continue;
                if (type == NFT_MSG_NEWCHAIN &&
                    (at == NFTA_CHAIN_HANDLE || at == NFTA_CHAIN_USE || at == NFTA_CHAIN_COUNTERS))
                        continue;
                if (type == NFT_MSG_NEWRULE &&
                    (at == NFTA_RULE_HANDLE || at == NFTA_RULE_POSITION || at == NFTA_RULE_ID))
                        continue;
                if (type == NFT_MSG_NEWRULE && at == NFTA_RULE_EXPRESSIONS) {
                        const struct nlattr *e;

                        printf(" exprs:");
                        mnl_attr_for_each_nested(e, a) print_expr(e);
                        continue;
                }
                if ((type == NFT_MSG_NEWTABLE && at == NFTA_TABLE_NAME) ||
                    (type == NFT_MSG_NEWCHAIN &&
                     (at == NFTA_CHAIN_TABLE || at == NFTA_CHAIN_NAME || at == NFTA_CHAIN_TYPE)) ||
                    (type == NFT_MSG_NEWRULE && (at == NFTA_RULE_TABLE || at == NFTA_RULE_CHAIN))) {
                        printf(" %u=%s", at, mnl_attr_get_str(a));
                        continue;
                }
                printf(" %u=", at);
                hex(a);
        }
        printf("\n");
        return MNL_CB_OK;
}

static int dump(struct mnl_socket *nl, uint16_t msg, uint8_t family)
{
        static char buf[65536];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct nfgenmsg *g;
        unsigned seq = (unsigned)time(NULL) + msg;
        ssize_t n;
        int r;

        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | msg;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        nlh->nlmsg_seq = seq;
        g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->nfgen_family = family;
        g->version = NFNETLINK_V0;
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return -1;
        do {
                n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
                if (n < 0)
                        return -1;
                r = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), print_cb, NULL);
        } while (r > 0);
        return r;
}

int main(void)
{
        static const uint16_t msgs[] = {NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE};
        static const uint8_t families[] = {NFPROTO_IPV4, NFPROTO_IPV6};
        struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);

        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                perror("fw-nft-dump: netlink");
                return 1;
        }
        for (size_t f = 0; f < sizeof(families); f++)
                for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++)
                        if (dump(nl, msgs[m], families[f]) < 0) {
                                perror("fw-nft-dump: dump");
                                return 1;
                        }
        mnl_socket_close(nl);
        return 0;
}

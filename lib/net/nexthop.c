/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Nexthop objects (Linux >= 5.3): the one nexthop parser, and the request builders for
 * adding, replacing, deleting and dumping them.
 */
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>

#include "net/net.h"

bool pn_nexthop_parse(const struct nlmsghdr *hdr, struct pn_nh *nh)
{
        const struct nhmsg *nhm;
        const struct nlattr *a;
        bool odd = false, has_gw = false;
        int rem;

        if (hdr->nlmsg_len < NLMSG_LENGTH(sizeof(*nhm)))
                return false;
        nhm = nlmsg_data(hdr);
        memset(nh, 0, sizeof(*nh));
        nh->family = nhm->nh_family;
        nh->protocol = nhm->nh_protocol;
        nh->node = nh->match = SIZE_MAX;
        nlmsg_for_each_attr (a, hdr, sizeof(*nhm), rem) {
                switch (nla_type(a)) {
                case NHA_ID:
                        pn_attr_copy(a, &nh->id, 4);
                        break;
                case NHA_OIF:
                        pn_attr_copy(a, &nh->oif, 4);
                        break;
                case NHA_GATEWAY:
                        if (nla_len(a) == 4 || nla_len(a) == 16) {
                                memcpy(nh->gw, nla_data(a), (size_t)nla_len(a));
                                has_gw = (unsigned)nla_len(a) == pn_family_len(nh->family);
                        }
                        break;
                case NHA_GROUP:
                case NHA_BLACKHOLE:
                case NHA_ENCAP:
                case NHA_FDB:
                        odd = true;
                        break;
                default:
                        break;
                }
        }
        nh->plain = has_gw && nh->oif && !odd && pn_family_len(nh->family) != 0;
        return nh->id != 0;
}

struct nl_msg *pn_nexthop_msg(int cmd, int nlflags, const struct pn_nh *nh, unsigned protocol)
{
        struct nhmsg nhm = {0};
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;

        if (cmd == RTM_NEWNEXTHOP) {
                nhm.nh_family = nh->family;
                nhm.nh_protocol = (uint8_t)protocol;
        }
        msg = pn_nlmsg_new(cmd, nlflags, &nhm, sizeof(nhm), 64);
        if (!msg || nla_put_u32(msg, NHA_ID, nh->id) < 0)
                return NULL;
        if (cmd == RTM_NEWNEXTHOP &&
            (nla_put_u32(msg, NHA_OIF, nh->oif) < 0 ||
             nla_put(msg, NHA_GATEWAY, (int)pn_family_len(nh->family), nh->gw) < 0))
                return NULL;
        return steal_pointer(&msg);
}

struct nl_msg *pn_nexthop_dump_msg(void)
{
        struct nhmsg nhm = {.nh_family = AF_UNSPEC};

        return pn_nlmsg_new(RTM_GETNEXTHOP, 0, &nhm, sizeof(nhm), 16);
}

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
        nh->onlink = nhm->nh_flags & RTNH_F_ONLINK;
        nh->node = nh->match = SIZE_MAX;
        pn_attr_for_each(a, hdr, sizeof(*nhm), rem)
        {
                switch (pn_attr_type(a)) {
                case NHA_ID:
                        pn_attr_copy(a, &nh->id, 4);
                        break;
                case NHA_OIF:
                        pn_attr_copy(a, &nh->oif, 4);
                        break;
                case NHA_GATEWAY:
                        if (pn_attr_len(a) == 4 || pn_attr_len(a) == 16) {
                                memcpy(nh->gw, pn_attr_data(a), (size_t)pn_attr_len(a));
                                has_gw = (unsigned)pn_attr_len(a) == pn_family_len(nh->family);
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

int pn_nexthop_put(struct pn_nlbuf *b, int cmd, int nlflags, const struct pn_nh *nh,
                   unsigned protocol)
{
        struct nhmsg nhm = {0};

        if (cmd == RTM_NEWNEXTHOP) {
                nhm.nh_family = nh->family;
                nhm.nh_protocol = (uint8_t)protocol;
                nhm.nh_flags = nh->onlink ? RTNH_F_ONLINK : 0;
        }
        pn_nlbuf_msg(b, cmd, nlflags, false, &nhm, sizeof(nhm));
        pn_nlbuf_put_u32(b, NHA_ID, nh->id);
        if (cmd == RTM_NEWNEXTHOP) {
                pn_nlbuf_put_u32(b, NHA_OIF, nh->oif);
                pn_nlbuf_put(b, NHA_GATEWAY, nh->gw, pn_family_len(nh->family));
        }
        return b->error;
}

int pn_nexthop_dump_put(struct pn_nlbuf *b)
{
        struct nhmsg nhm = {.nh_family = AF_UNSPEC};

        return pn_nlbuf_msg(b, RTM_GETNEXTHOP, 0, true, &nhm, sizeof(nhm));
}

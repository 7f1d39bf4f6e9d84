/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Links in general: the lookup of a link and its parse, the link request builder, setting
 * a link up or its MTU, deleting one, MAC address text. The kinds of link podnet creates
 * have their own files: bridge.c, veth.c.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <sys/random.h>

#include "net/net.h"

#ifndef RTEXT_FILTER_SKIP_STATS
#define RTEXT_FILTER_SKIP_STATS 0
#endif

void pn_mac_format(const uint8_t *mac, unsigned len, char *buf, size_t size)
{
        size_t off = 0;

        if (size == 0)
                return;
        buf[0] = '\0';
        for (unsigned i = 0; i < len && off + (i ? 4 : 3) <= size; i++)
                off += (size_t)snprintf(buf + off, size - off, "%s%02x", i ? ":" : "", mac[i]);
}

int pn_mac_parse(const char *s, uint8_t mac[6])
{
        unsigned v[6];
        char extra;

        if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &extra) != 6 ||
            strlen(s) != 17)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t)v[i];
        if (mac[0] & 1) /* multicast: no interface may have it */
                return -EINVAL;
        return 0;
}

struct link_reply {
        struct pn_link *out;
        bool found;
};

static int link_reply(struct nlmsghdr *hdr, void *userdata)
{
        struct link_reply *lr = userdata;
        struct pn_link *l = lr->out;
        struct nlattr *tb[IFLA_MAX + 1];
        const struct ifinfomsg *ifi;

        if (hdr->nlmsg_type != RTM_NEWLINK || lr->found)
                return 0;
        if (nlmsg_parse(hdr, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
                return -EBADMSG;
        ifi = nlmsg_data(hdr);
        l->ifindex = ifi->ifi_index;
        l->flags = ifi->ifi_flags;
        l->mtu = pn_attr_u32(tb[IFLA_MTU], 0);
        l->master = (int)pn_attr_u32(tb[IFLA_MASTER], 0);
        l->hairpin = -1;
        l->group = pn_attr_u32(tb[IFLA_GROUP], 0);
        l->peer_ifindex = (int)pn_attr_u32(tb[IFLA_LINK], 0);
        if (tb[IFLA_IFALIAS]) {
                char alias[sizeof(PN_BRIDGE_PINNED_ALIAS) + 1];

                pn_attr_str(tb[IFLA_IFALIAS], alias, sizeof(alias));
                l->has_alias = alias[0] != '\0';
                l->mac_pinned = streq(alias, PN_BRIDGE_PINNED_ALIAS);
        }
        pn_attr_str(tb[IFLA_IFNAME], l->name, sizeof(l->name));
        if (tb[IFLA_ADDRESS] && (size_t)nla_len(tb[IFLA_ADDRESS]) <= sizeof(l->mac)) {
                l->mac_len = (unsigned)nla_len(tb[IFLA_ADDRESS]);
                memcpy(l->mac, nla_data(tb[IFLA_ADDRESS]), l->mac_len);
        }
        if (tb[IFLA_LINKINFO]) {
                struct nlattr *li[IFLA_INFO_MAX + 1];
                char slave_kind[16];

                if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0)
                        return -EBADMSG;
                pn_attr_str(li[IFLA_INFO_KIND], l->kind, sizeof(l->kind));
                pn_attr_str(li[IFLA_INFO_SLAVE_KIND], slave_kind, sizeof(slave_kind));
                if (streq(slave_kind, "bridge")) {
                        struct nlattr *bp[IFLA_BRPORT_MAX + 1] = {0};

                        if (li[IFLA_INFO_SLAVE_DATA] &&
                            nla_parse_nested(bp, IFLA_BRPORT_MAX, li[IFLA_INFO_SLAVE_DATA], NULL) <
                                0)
                                return -EBADMSG;
                        l->hairpin = pn_attr_u8(bp[IFLA_BRPORT_MODE], 0);
                }
        }
        lr->found = true;
        return 0;
}

int pn_link_query(struct nl_sock *sk, const char *name, int ifindex, struct pn_link *out)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct link_reply lr = {.out = out};
        int r;

        memset(out, 0, sizeof(*out));
        msg = pn_nlmsg_new(RTM_GETLINK, 0, &ifi, sizeof(ifi), 32 + (name ? strlen(name) : 0));
        if (!msg || (ifindex <= 0 && nla_put_string(msg, IFLA_IFNAME, name) < 0) ||
            nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
                return -ENOMEM;
        r = pn_nl_request(sk, nlmsg_hdr(msg), link_reply, &lr);
        if (r < 0)
                return r;
        return lr.found ? 0 : -ENODEV;
}

struct nl_msg *pn_link_msg(int type, int nlflags, int ifindex, const char *name, unsigned flags,
                           unsigned change)
{
        struct ifinfomsg ifi = {
            .ifi_family = AF_UNSPEC,
            .ifi_index = ifindex,
            .ifi_flags = flags,
            .ifi_change = change,
        };
        struct nl_msg *msg = pn_nlmsg_new(type, nlflags, &ifi, sizeof(ifi), 0);

        if (!msg)
                return NULL;
        if (name && nla_put_string(msg, IFLA_IFNAME, name) < 0) {
                nlmsg_free(msg);
                return NULL;
        }
        return msg;
}

int pn_link_set(struct nl_sock *sk, int ifindex, const char *name, unsigned flags, unsigned change,
                unsigned mtu)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;

        msg = pn_link_msg(RTM_SETLINK, 0, ifindex, ifindex > 0 ? NULL : name, flags, change);
        if (!msg || (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0))
                return -ENOMEM;
        return pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL);
}

int pn_link_del(struct nl_sock *sk, int ifindex, const char *name)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;

        msg = pn_link_msg(RTM_DELLINK, 0, ifindex, ifindex > 0 ? NULL : name, 0, 0);
        if (!msg)
                return -ENOMEM;
        return pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL);
}

int pn_net_sock_error(podnet_error **err, podnet_netns *ns)
{
        return pn_error(err, errno, 0, "Opening a netlink socket" PN_NS_FMT, PN_NS_ARG(ns));
}

int pn_net_sock_for(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, struct nl_sock **sk,
                    podnet_error **err)
{
        if (!pn_ifname_valid(ifname))
                return pn_error_plain(err, EINVAL, 0, "Invalid interface name '%s'",
                                      ifname ? ifname : "");
        *sk = pn_nl_sock(ctx, ns);
        return *sk ? 0 : pn_net_sock_error(err, ns);
}

int pn_net_link_for(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, struct nl_sock **sk,
                    int *ifindex, podnet_error **err)
{
        struct pn_link l;
        int r;

        r = pn_net_sock_for(ctx, ns, ifname, sk, err);
        if (r < 0)
                return r;
        r = pn_link_query(*sk, ifname, 0, &l);
        if (r < 0)
                return pn_error(err, -r, 0, "Looking up interface %s" PN_NS_FMT, ifname,
                                PN_NS_ARG(ns));
        *ifindex = l.ifindex;
        return 0;
}

PODNET_EXPORT int podnet_link_get(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                  podnet_link_info *info, podnet_error **err)
{
        podnet_link_info out = {.size = sizeof(out)};
        struct nl_sock *sk;
        struct pn_link l;
        int r;

        if (!info || info->size < sizeof(podnet_link_info))
                return pn_error_plain(err, EINVAL, 0, "podnet_link_get: info missing or too small");
        r = pn_net_sock_for(ctx, ns, ifname, &sk, err);
        if (r < 0)
                return r;
        r = pn_link_query(sk, ifname, 0, &l);
        if (r < 0)
                return pn_error(err, -r, 0, "Looking up interface %s" PN_NS_FMT, ifname,
                                PN_NS_ARG(ns));
        out.ifindex = l.ifindex;
        snprintf(out.ifname, sizeof(out.ifname), "%s", l.name);
        pn_mac_format(l.mac, l.mac_len, out.mac, sizeof(out.mac));
        out.mtu = l.mtu;
        out.up = l.flags & IFF_UP;
        snprintf(out.kind, sizeof(out.kind), "%s", l.kind);
        out.master_ifindex = l.master;
        out.hairpin = l.hairpin > 0;
        out.promisc = l.flags & IFF_PROMISC;
        return PN_INFO_COPY_OUT(info, out, sizeof(podnet_link_info));
}

PODNET_EXPORT int podnet_link_set_up(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                     podnet_error **err)
{
        struct nl_sock *sk;
        int r;

        r = pn_net_sock_for(ctx, ns, ifname, &sk, err);
        if (r < 0)
                return r;
        r = pn_link_set(sk, 0, ifname, IFF_UP, IFF_UP, 0);
        if (r < 0)
                return pn_error(err, -r, 0, "Setting %s up" PN_NS_FMT, ifname, PN_NS_ARG(ns));
        return 0;
}

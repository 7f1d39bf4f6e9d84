/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VXLAN devices for the overlay: ensure one exists as configured (VNI, UDP port, underlay
 * address and device, no learning, no group, MTU, MAC, up) writing only what differs,
 * delete it, and report what it is.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>

#include "core/cidr.h"
#include "net/net.h"

#ifndef RTEXT_FILTER_SKIP_STATS
#define RTEXT_FILTER_SKIP_STATS 0
#endif

/* IANA's port for VXLAN. The kernel's default without IFLA_VXLAN_PORT is 8472 (what
 * Linux used before the IANA assignment, and flannel's default), so the port is always
 * sent. */
#define VXLAN_PORT_IANA 4789
#define VXLAN_VNI_MAX 0xffffffu

static void vxlan_parse_data(const struct nlattr *data, struct pn_vxlan *v)
{
        bool has_group6 = false;
        const struct nlattr *a;
        int rem;

        v->family = AF_INET;
        /* the kernel reports learning always; absent means an old kernel's default */
        v->learning = true;
        pn_attr_for_each_nested(a, data, rem)
        {
                switch (pn_attr_type(a)) {
                case IFLA_VXLAN_ID:
                        v->vni = pn_attr_u32(a, 0);
                        break;
                case IFLA_VXLAN_PORT:
                        if (pn_attr_len(a) >= 2)
                                v->port = ntohs(*(const uint16_t *)pn_attr_data(a));
                        break;
                case IFLA_VXLAN_LOCAL:
                        if (pn_attr_copy(a, v->local, 4))
                                v->has_local = true, v->family = AF_INET;
                        break;
                case IFLA_VXLAN_LOCAL6:
                        if (pn_attr_copy(a, v->local, 16))
                                v->has_local = true, v->family = AF_INET6;
                        break;
                case IFLA_VXLAN_GROUP:
                        v->has_group = true;
                        break;
                case IFLA_VXLAN_GROUP6:
                        v->has_group = has_group6 = true;
                        break;
                case IFLA_VXLAN_LINK:
                        v->link = pn_attr_u32(a, 0);
                        break;
                case IFLA_VXLAN_LEARNING:
                        v->learning = pn_attr_u8(a, 1);
                        break;
                case IFLA_VXLAN_COLLECT_METADATA:
                        v->metadata = pn_attr_u8(a, 0);
                        break;
                default:
                        break;
                }
        }
        if (has_group6 && !v->has_local)
                v->family = AF_INET6;
}

/* IFLA_LINKINFO: the kind, and a VXLAN device's data. */
static void vxlan_parse_linkinfo(const struct nlattr *li, struct pn_vxlan *v)
{
        const struct nlattr *a, *data = NULL;
        int rem;

        pn_attr_for_each_nested(a, li, rem)
        {
                if (pn_attr_type(a) == IFLA_INFO_KIND)
                        pn_attr_str(a, v->kind, sizeof(v->kind));
                else if (pn_attr_type(a) == IFLA_INFO_DATA)
                        data = a;
        }
        if (streq(v->kind, "vxlan") && data)
                vxlan_parse_data(data, v);
}

int pn_vxlan_parse(const struct nlmsghdr *hdr, struct pn_vxlan *v)
{
        const struct ifinfomsg *ifi;
        const struct nlattr *a;
        int rem;

        memset(v, 0, sizeof(*v));
        if (hdr->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
                return -EBADMSG;
        ifi = NLMSG_DATA(hdr);
        v->ifindex = ifi->ifi_index;
        v->flags = ifi->ifi_flags;
        pn_attr_for_each(a, hdr, sizeof(*ifi), rem)
        {
                switch (pn_attr_type(a)) {
                case IFLA_MTU:
                        v->mtu = pn_attr_u32(a, 0);
                        break;
                case IFLA_ADDRESS:
                        v->has_mac = pn_attr_copy(a, v->mac, 6);
                        break;
                case IFLA_IFNAME:
                        pn_attr_str(a, v->name, sizeof(v->name));
                        break;
                case IFLA_LINKINFO:
                        vxlan_parse_linkinfo(a, v);
                        break;
                default:
                        break;
                }
        }
        return 0;
}

struct vxlan_reply {
        struct pn_vxlan *out;
        bool found;
};

static int vxlan_reply(struct nlmsghdr *hdr, void *userdata)
{
        struct vxlan_reply *vr = userdata;
        int r;

        if (hdr->nlmsg_type != RTM_NEWLINK || vr->found)
                return 0;
        r = pn_vxlan_parse(hdr, vr->out);
        vr->found = r >= 0;
        return r;
}

int pn_vxlan_query(struct nl_sock *sk, const char *name, struct pn_vxlan *out)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct vxlan_reply vr = {.out = out};
        int r;

        memset(out, 0, sizeof(*out));
        msg = pn_nlmsg_new(RTM_GETLINK, 0, &ifi, sizeof(ifi), 32 + strlen(name));
        if (!msg || nla_put_string(msg, IFLA_IFNAME, name) < 0 ||
            nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
                return -ENOMEM;
        r = pn_nl_request(sk, nlmsg_hdr(msg), vxlan_reply, &vr);
        if (r < 0)
                return r;
        return vr.found ? 0 : -ENODEV;
}

struct nl_msg *pn_vxlan_create_msg(const struct pn_vxlan *v)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct nlattr *li, *data;

        msg = pn_link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, v->name, IFF_UP, IFF_UP);
        if (!msg || (v->mtu && nla_put_u32(msg, IFLA_MTU, v->mtu) < 0) ||
            (v->has_mac && nla_put(msg, IFLA_ADDRESS, 6, v->mac) < 0) ||
            !(li = nla_nest_start(msg, IFLA_LINKINFO)) ||
            nla_put_string(msg, IFLA_INFO_KIND, "vxlan") < 0 ||
            !(data = nla_nest_start(msg, IFLA_INFO_DATA)) ||
            nla_put_u32(msg, IFLA_VXLAN_ID, v->vni) < 0 ||
            nla_put_u16(msg, IFLA_VXLAN_PORT, htons(v->port)) < 0 ||
            nla_put_u8(msg, IFLA_VXLAN_LEARNING, v->learning) < 0 ||
            (v->link && nla_put_u32(msg, IFLA_VXLAN_LINK, v->link) < 0) ||
            (v->has_local &&
             nla_put(msg, v->family == AF_INET6 ? IFLA_VXLAN_LOCAL6 : IFLA_VXLAN_LOCAL,
                     (int)pn_family_len(v->family), v->local) < 0))
                return NULL;
        nla_nest_end(msg, data);
        nla_nest_end(msg, li);
        return steal_pointer(&msg);
}

bool pn_vxlan_needs_replace(const struct pn_vxlan *have, const struct pn_vxlan *want)
{
        if (have->vni != want->vni || have->port != want->port || have->link != want->link ||
            have->learning != want->learning || have->has_group || have->metadata ||
            have->has_local != want->has_local)
                return true;
        return want->has_local && (have->family != want->family ||
                                   memcmp(have->local, want->local, pn_family_len(want->family)));
}

/* "VNI 42, port 4789, local 192.168.1.1", for messages. */
static const char *vxlan_describe(const struct pn_vxlan *v, char *buf, size_t size)
{
        char local[PODNET_CIDR_STRLEN] = "none";

        if (v->has_local) {
                pn_net_format(v->family, v->local, pn_family_bits(v->family), local, sizeof(local));
                *strrchr(local, '/') = '\0';
        }
        snprintf(buf, size, "VNI %" PRIu32 ", port %u, local %s", v->vni, v->port, local);
        return buf;
}

/* Creates want and looks it up. A creation refused with EEXIST was either a race with
 * another caller creating the same name (the lookup then finds it) or the kernel's
 * refusal of a second device with the same VNI, port and underlay. */
static int vxlan_create(struct nl_sock *sk, podnet_netns *ns, const struct pn_vxlan *want,
                        struct pn_vxlan *have, podnet_error **err)
{
        _cleanup_nlmsg_ struct nl_msg *msg = pn_vxlan_create_msg(want);
        char what[96];
        int r, q;

        if (!msg)
                return pn_error(err, ENOMEM, 0, "Creating VXLAN device %s", want->name);
        r = pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL);
        q = r == 0 || r == -EEXIST ? pn_vxlan_query(sk, want->name, have) : r;
        if (r == -EEXIST && q == -ENODEV)
                return pn_error_plain(err, EEXIST, 0,
                                      "Creating VXLAN device %s (%s)" PN_NS_FMT
                                      ": another VXLAN device has that VNI and port",
                                      want->name, vxlan_describe(want, what, sizeof(what)),
                                      PN_NS_ARG(ns));
        if (q < 0)
                return pn_error(err, -q, 0, "Creating VXLAN device %s (%s)" PN_NS_FMT, want->name,
                                vxlan_describe(want, what, sizeof(what)), PN_NS_ARG(ns));
        return r;
}

/* The caller's configuration as a wanted device, checked before any netlink traffic;
 * then the socket, and the underlay device's index. */
static int vxlan_want(podnet_ctx *ctx, podnet_netns *ns, const podnet_vxlan_config *cfg,
                      struct pn_vxlan *want, struct nl_sock **sk, podnet_error **err)
{
        struct pn_link l;
        int r;

        memset(want, 0, sizeof(*want));
        if (!pn_ifname_valid(cfg->name))
                return pn_error_plain(err, EINVAL, 0, "Invalid VXLAN device name '%s'",
                                      cfg->name ? cfg->name : "");
        snprintf(want->name, sizeof(want->name), "%s", cfg->name);
        if (cfg->vni > VXLAN_VNI_MAX)
                return pn_error_plain(err, EINVAL, 0,
                                      "VXLAN device %s: VNI %" PRIu32 " is out of range (0..%u)",
                                      cfg->name, cfg->vni, VXLAN_VNI_MAX);
        want->vni = cfg->vni;
        want->port = cfg->port ? cfg->port : VXLAN_PORT_IANA;
        want->mtu = cfg->mtu;
        want->family = AF_INET;
        if (cfg->local) {
                int family = podnet_cidr_family(cfg->local);

                if (family != AF_INET && family != AF_INET6)
                        return pn_error_plain(err, EINVAL, 0,
                                              "VXLAN device %s: invalid local address", cfg->name);
                want->family = (uint8_t)family;
                want->has_local = true;
                memcpy(want->local, podnet_cidr_addr(cfg->local), pn_family_len(family));
        }
        if (cfg->mac) {
                if (pn_mac_parse_unicast(cfg->mac, want->mac) < 0)
                        return pn_error_plain(err, EINVAL, 0,
                                              "VXLAN device %s: invalid MAC address '%s'",
                                              cfg->name, cfg->mac);
                want->has_mac = true;
        }
        if (cfg->dev && !pn_ifname_valid(cfg->dev))
                return pn_error_plain(err, EINVAL, 0,
                                      "VXLAN device %s: invalid underlay device name '%s'",
                                      cfg->name, cfg->dev);
        r = pn_net_sock_for(ctx, ns, cfg->name, sk, err);
        if (r < 0 || !cfg->dev)
                return r;
        r = pn_link_query(*sk, cfg->dev, 0, &l);
        if (r < 0)
                return pn_error(err, -r, 0,
                                "VXLAN device %s: looking up underlay device %s" PN_NS_FMT,
                                cfg->name, cfg->dev, PN_NS_ARG(ns));
        want->link = (uint32_t)l.ifindex;
        return 0;
}

static void vxlan_info_fill(const struct pn_vxlan *v, podnet_vxlan_info *out)
{
        out->ifindex = v->ifindex;
        snprintf(out->ifname, sizeof(out->ifname), "%s", v->name);
        pn_mac_format(v->mac, v->has_mac ? 6 : 0, out->mac, sizeof(out->mac));
        out->mtu = v->mtu;
        out->up = v->flags & IFF_UP;
        out->vni = v->vni;
        out->port = v->port;
        out->family = v->family;
        out->local[0] = '\0';
        if (v->has_local)
                inet_ntop(v->family, v->local, out->local, sizeof(out->local));
        out->dev_ifindex = (int)v->link;
        out->learning = v->learning;
        out->has_group = v->has_group;
}

PODNET_EXPORT int podnet_vxlan_ensure(podnet_ctx *ctx, podnet_netns *ns,
                                      const podnet_vxlan_config *config, podnet_vxlan_info *info,
                                      podnet_error **err)
{
        podnet_vxlan_config cfg;
        podnet_vxlan_info out = {.size = sizeof(out)};
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct pn_vxlan want, have;
        struct nl_sock *sk;
        char what[96];
        unsigned mtu = 0;
        int r;

        if (PODNET_OPTS_COPY(cfg, config, sizeof(podnet_vxlan_config)) < 0)
                return pn_error_plain(err, EINVAL, 0,
                                      "VXLAN configuration missing or of unknown size");
        if (info && info->size < sizeof(podnet_vxlan_info))
                return pn_error_plain(err, EINVAL, 0, "podnet_vxlan_ensure: info too small");
        r = vxlan_want(ctx, ns, &cfg, &want, &sk, err);
        if (r < 0)
                return r;

        r = pn_vxlan_query(sk, cfg.name, &have);
        if (r == -ENODEV) {
                r = vxlan_create(sk, ns, &want, &have, err);
                if (r < 0 && r != -EEXIST)
                        return r;
                /* 0: created as wanted; EEXIST: another caller was first, check it */
                out.changes |= r == 0 ? PODNET_VXLAN_CREATED : 0;
        } else if (r < 0) {
                return pn_error(err, -r, 0, "Looking up VXLAN device %s" PN_NS_FMT, cfg.name,
                                PN_NS_ARG(ns));
        }
        if (!streq(have.kind, "vxlan"))
                return pn_error_plain(
                    err, EEXIST, 0,
                    "Interface %s" PN_NS_FMT " exists and is not a VXLAN device (%s)", cfg.name,
                    PN_NS_ARG(ns), have.kind[0] ? have.kind : "no link kind");
        if (!(out.changes & PODNET_VXLAN_CREATED) && pn_vxlan_needs_replace(&have, &want)) {
                char was[96];

                pn_info(ctx, "Replacing VXLAN device %s (%s) by one with %s", cfg.name,
                        vxlan_describe(&have, was, sizeof(was)),
                        vxlan_describe(&want, what, sizeof(what)));
                r = pn_link_del(sk, have.ifindex, NULL);
                if (r < 0 && r != -ENODEV)
                        return pn_error(
                            err, -r, 0, "Deleting VXLAN device %s (%s)" PN_NS_FMT " to replace it",
                            cfg.name, vxlan_describe(&have, was, sizeof(was)), PN_NS_ARG(ns));
                r = vxlan_create(sk, ns, &want, &have, err);
                if (r < 0 && r != -EEXIST) /* EEXIST: another caller made it meanwhile */
                        return r;
                out.changes |= PODNET_VXLAN_REPLACED;
        }

        /* What can change in place: MTU, MAC address, up. */
        if (want.mtu && have.mtu != want.mtu) {
                mtu = want.mtu;
                out.changes |= PODNET_VXLAN_MTU_SET;
        }
        if (want.has_mac && (!have.has_mac || memcmp(have.mac, want.mac, 6) != 0))
                out.changes |= PODNET_VXLAN_MAC_SET;
        if (!(have.flags & IFF_UP))
                out.changes |= PODNET_VXLAN_UP_SET;
        if (out.changes & (PODNET_VXLAN_MTU_SET | PODNET_VXLAN_MAC_SET | PODNET_VXLAN_UP_SET)) {
                msg = pn_link_msg(RTM_SETLINK, 0, have.ifindex, NULL, IFF_UP, IFF_UP);
                if (!msg || (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0) ||
                    ((out.changes & PODNET_VXLAN_MAC_SET) &&
                     nla_put(msg, IFLA_ADDRESS, 6, want.mac) < 0))
                        return pn_error(err, ENOMEM, 0, "Configuring VXLAN device %s", cfg.name);
                r = pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL);
                if (r < 0 && mtu)
                        return pn_error(err, -r, 0, "Setting MTU %u on VXLAN device %s" PN_NS_FMT,
                                        mtu, cfg.name, PN_NS_ARG(ns));
                if (r < 0)
                        return pn_error(err, -r, 0, "Configuring VXLAN device %s" PN_NS_FMT,
                                        cfg.name, PN_NS_ARG(ns));
                have.flags |= IFF_UP;
                have.mtu = mtu ? mtu : have.mtu;
                if (out.changes & PODNET_VXLAN_MAC_SET) {
                        memcpy(have.mac, want.mac, 6);
                        have.has_mac = true;
                }
        }
        if (info) {
                vxlan_info_fill(&have, &out);
                (void)PN_INFO_COPY_OUT(info, out, sizeof(podnet_vxlan_info));
        }
        return have.ifindex;
}

/* The VXLAN device `name`: 0, -ENODEV (unworded) when absent, -EMEDIUMTYPE (worded)
 * when the name is another kind of link's. */
static int vxlan_lookup(struct nl_sock *sk, podnet_netns *ns, const char *name, struct pn_vxlan *v,
                        podnet_error **err)
{
        int r = pn_vxlan_query(sk, name, v);

        if (r == -ENODEV)
                return r;
        if (r < 0)
                return pn_error(err, -r, 0, "Looking up VXLAN device %s" PN_NS_FMT, name,
                                PN_NS_ARG(ns));
        if (!streq(v->kind, "vxlan"))
                return pn_error_plain(err, EMEDIUMTYPE, 0,
                                      "Interface %s" PN_NS_FMT " is not a VXLAN device (%s)", name,
                                      PN_NS_ARG(ns), v->kind[0] ? v->kind : "no link kind");
        return 0;
}

PODNET_EXPORT int podnet_vxlan_get(podnet_ctx *ctx, podnet_netns *ns, const char *name,
                                   podnet_vxlan_info *info, podnet_error **err)
{
        podnet_vxlan_info out = {.size = sizeof(out)};
        struct nl_sock *sk;
        struct pn_vxlan v;
        int r;

        if (!info || info->size < sizeof(podnet_vxlan_info))
                return pn_error_plain(err, EINVAL, 0,
                                      "podnet_vxlan_get: info missing or too small");
        r = pn_net_sock_for(ctx, ns, name, &sk, err);
        if (r < 0)
                return r;
        r = vxlan_lookup(sk, ns, name, &v, err);
        if (r == -ENODEV)
                return pn_error(err, ENODEV, 0, "Looking up VXLAN device %s" PN_NS_FMT, name,
                                PN_NS_ARG(ns));
        if (r < 0)
                return r;
        vxlan_info_fill(&v, &out);
        return PN_INFO_COPY_OUT(info, out, sizeof(podnet_vxlan_info));
}

PODNET_EXPORT int podnet_vxlan_delete(podnet_ctx *ctx, podnet_netns *ns, const char *name,
                                      podnet_error **err)
{
        struct nl_sock *sk;
        struct pn_vxlan v;
        int r;

        r = pn_net_sock_for(ctx, ns, name, &sk, err);
        if (r < 0)
                return r;
        r = vxlan_lookup(sk, ns, name, &v, err);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        r = pn_link_del(sk, v.ifindex, NULL);
        if (r < 0 && r != -ENODEV)
                return pn_error(err, -r, 0, "Deleting VXLAN device %s" PN_NS_FMT, name,
                                PN_NS_ARG(ns));
        return 0;
}

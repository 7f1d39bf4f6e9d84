/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Veth pairs: the pod end created directly inside the pod namespace under a name derived
 * from (container id, ifname), hairpin on the bridge port, the host end's deletion, and
 * the park group a DEL leaves a pair in for the next ADD to reap.
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

PODNET_EXPORT int podnet_veth_host_name(const char *container_id, const char *ifname, char buf[16])
{
        /* FNV-1a, 64 bit, over "<container id>/<ifname>"; the low 48 bits name the link. */
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        const char *parts[] = {container_id, "/", ifname};

        if (isempty(container_id) || isempty(ifname) || !buf)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
                        h ^= *p;
                        h *= UINT64_C(0x100000001b3);
                }
        snprintf(buf, 16, "pn%012" PRIx64, h & UINT64_C(0xffffffffffff));
        return 0;
}

static int veth_create_msg(struct nl_msg **ret, const podnet_veth_config *cfg, const char *host,
                           int master, const uint8_t *mac)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        /* No IFF_UP here: the kernel configures the peer before the pair is tied together,
         * and opening a veth without its peer fails with ENOTCONN. */
        struct ifinfomsg peer = {.ifi_family = AF_UNSPEC};
        struct nlattr *li, *data, *pe;

        /* One queue each way, asked for explicitly: without IFLA_NUM_*_QUEUES the kernel
         * allocates one per possible CPU and then cuts the real count down to 1, which
         * waits for an expedited RCU grace period per end (veth_init_queues()). One is
         * what a veth uses by default either way. */
        msg = pn_link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, host, IFF_UP, IFF_UP);
        if (!msg || (cfg->mtu && nla_put_u32(msg, IFLA_MTU, cfg->mtu) < 0) ||
            (master && nla_put_u32(msg, IFLA_MASTER, (uint32_t)master) < 0) ||
            nla_put_u32(msg, IFLA_NUM_TX_QUEUES, 1) < 0 ||
            nla_put_u32(msg, IFLA_NUM_RX_QUEUES, 1) < 0)
                return -ENOMEM;
        if (!(li = nla_nest_start(msg, IFLA_LINKINFO)) ||
            nla_put_string(msg, IFLA_INFO_KIND, "veth") < 0 ||
            !(data = nla_nest_start(msg, IFLA_INFO_DATA)) ||
            !(pe = nla_nest_start(msg, VETH_INFO_PEER)) ||
            nlmsg_append(msg, &peer, sizeof(peer), NLMSG_ALIGNTO) < 0 ||
            nla_put_string(msg, IFLA_IFNAME, cfg->ifname) < 0 ||
            nla_put_u32(msg, IFLA_NET_NS_FD, (uint32_t)cfg->netns->fd) < 0 ||
            nla_put_u32(msg, IFLA_NUM_TX_QUEUES, 1) < 0 ||
            nla_put_u32(msg, IFLA_NUM_RX_QUEUES, 1) < 0 ||
            (cfg->mtu && nla_put_u32(msg, IFLA_MTU, cfg->mtu) < 0) ||
            (mac && nla_put(msg, IFLA_ADDRESS, 6, mac) < 0))
                return -ENOMEM;
        nla_nest_end(msg, pe);
        nla_nest_end(msg, data);
        nla_nest_end(msg, li);
        *ret = steal_pointer(&msg);
        return 0;
}

/* Bridge port hairpin mode, as `ip link set X type bridge_slave hairpin on` sets it. */
static int veth_set_hairpin(struct nl_sock *sk, const char *host)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct nlattr *li, *sd;

        msg = pn_link_msg(RTM_NEWLINK, 0, 0, host, 0, 0);
        if (!msg || !(li = nla_nest_start(msg, IFLA_LINKINFO)) ||
            nla_put_string(msg, IFLA_INFO_SLAVE_KIND, "bridge") < 0 ||
            !(sd = nla_nest_start(msg, IFLA_INFO_SLAVE_DATA)) ||
            nla_put_u8(msg, IFLA_BRPORT_MODE, 1) < 0)
                return -ENOMEM;
        nla_nest_end(msg, sd);
        nla_nest_end(msg, li);
        return pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL);
}

/* The kernel says only EEXIST; find out which end's name is taken. */
static int veth_exists_error(struct nl_sock *sk, const podnet_veth_config *cfg, const char *host,
                             podnet_error **err)
{
        struct pn_link l;

        if (pn_link_query(sk, host, 0, &l) == 0)
                return pn_error_plain(err, EEXIST, 0,
                                      "Interface %s (host end for %s of container %s) already "
                                      "exists",
                                      host, cfg->ifname, cfg->container_id);
        return pn_error_plain(err, EEXIST, 0, "Interface %s already exists in %s", cfg->ifname,
                              cfg->netns->path);
}

PODNET_EXPORT int podnet_veth_create(podnet_ctx *ctx, const podnet_veth_config *config,
                                     podnet_veth_info *info, podnet_error **err)
{
        podnet_veth_config cfg;
        podnet_veth_info out = {.size = sizeof(out)};
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct nl_sock *sk, *pod_sk;
        uint8_t mac[6];
        char host[16];
        int master = 0, r;
        struct pn_link l;
        const char *what;

        if (PODNET_OPTS_COPY(cfg, config, sizeof(podnet_veth_config)) < 0)
                return pn_error_plain(err, EINVAL, 0,
                                      "Veth configuration missing or of unknown size");
        if (info && info->size < sizeof(podnet_veth_info))
                return pn_error_plain(err, EINVAL, 0, "podnet_veth_create: info too small");
        if (isempty(cfg.container_id))
                return pn_error_plain(err, EINVAL, 0, "Creating veth: no container id");
        if (!pn_ifname_valid(cfg.ifname))
                return pn_error_plain(err, EINVAL, 0, "Invalid interface name '%s'",
                                      cfg.ifname ? cfg.ifname : "");
        if (!cfg.netns)
                return pn_error_plain(err, EINVAL, 0, "Creating veth for %s: no pod namespace",
                                      cfg.ifname);
        if (cfg.bridge && !pn_ifname_valid(cfg.bridge))
                return pn_error_plain(err, EINVAL, 0, "Invalid bridge name '%s'", cfg.bridge);
        if (cfg.mac && pn_mac_parse(cfg.mac, mac) < 0)
                return pn_error_plain(err, EINVAL, 0, "Invalid MAC address '%s'", cfg.mac);
        podnet_veth_host_name(cfg.container_id, cfg.ifname, host);

        sk = pn_nl_sock(ctx, NULL);
        if (!sk)
                return pn_net_sock_error(err, NULL);
        /* Open the pod side first: once the pair exists, nothing may fail for a reason
         * that was knowable before. */
        pod_sk = pn_nl_sock(ctx, cfg.netns);
        if (!pod_sk)
                return pn_net_sock_error(err, cfg.netns);
        if (cfg.bridge) {
                r = pn_link_query(sk, cfg.bridge, 0, &l);
                if (r < 0)
                        return pn_error(err, -r, 0, "Looking up bridge %s", cfg.bridge);
                master = l.ifindex;
        }

        r = veth_create_msg(&msg, &cfg, host, master, cfg.mac ? mac : NULL);
        if (r < 0)
                return pn_error(err, -r, 0, "Creating veth %s for %s in %s", host, cfg.ifname,
                                cfg.netns->path);
        r = pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL);
        if (r == -EEXIST)
                return veth_exists_error(sk, &cfg, host, err);
        if (r < 0) {
                /* The kernel may have created the pair and only its answer got lost (a
                 * failed receive, a full socket buffer). The host end's name is this
                 * attachment's own, so delete whatever carries it: that takes the pod end
                 * with it. When the pair was not created this finds nothing. */
                (void)pn_link_del(sk, 0, host);
                return pn_error(err, -r, 0, "Creating veth %s for %s in %s", host, cfg.ifname,
                                cfg.netns->path);
        }

        /* From here on, a failure deletes the pair again. */
        what = "Setting hairpin mode on";
        r = cfg.hairpin && master ? veth_set_hairpin(sk, host) : 0;
        if (r >= 0) {
                what = "Setting up";
                r = pn_link_set(pod_sk, 0, cfg.ifname, IFF_UP, IFF_UP, 0);
        }
        if (r >= 0 && info) {
                what = "Looking up";
                r = pn_link_query(sk, host, 0, &l);
                if (r >= 0) {
                        snprintf(out.host_ifname, sizeof(out.host_ifname), "%s", host);
                        pn_mac_format(l.mac, l.mac_len, out.host_mac, sizeof(out.host_mac));
                        out.host_ifindex = l.ifindex;
                        r = pn_link_query(pod_sk, cfg.ifname, 0, &l);
                }
                if (r >= 0) {
                        snprintf(out.pod_ifname, sizeof(out.pod_ifname), "%s", cfg.ifname);
                        pn_mac_format(l.mac, l.mac_len, out.pod_mac, sizeof(out.pod_mac));
                        out.pod_ifindex = l.ifindex;
                }
        }
        if (r < 0) {
                (void)pn_link_del(sk, 0, host);
                return pn_error(err, -r, 0, "%s veth %s for %s in %s", what, host, cfg.ifname,
                                cfg.netns->path);
        }
        if (info)
                (void)PN_INFO_COPY_OUT(info, out, sizeof(podnet_veth_info));
        return 0;
}

/* The host end's name and the context's socket, for the functions below that act on
 * the pair of (container id, ifname) from the host side only. */
static int veth_host_side(podnet_ctx *ctx, const char *container_id, const char *ifname,
                          const char *what, char host[16], struct nl_sock **sk, podnet_error **err)
{
        if (isempty(container_id) || !pn_ifname_valid(ifname))
                return pn_error_plain(err, EINVAL, 0,
                                      "%s veth: invalid container id or interface name", what);
        podnet_veth_host_name(container_id, ifname, host);
        *sk = pn_nl_sock(ctx, NULL);
        if (!*sk)
                return pn_net_sock_error(err, NULL);
        return 0;
}

/* One RTM_DELLINK for every parked pair: the kernel then waits for its RCU grace
 * periods once for all of them instead of once per pair. -ENODEV: none is parked (a
 * concurrent teardown took them). */
static int park_group_delete(struct nl_sock *sk)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;

        msg = pn_link_msg(RTM_DELLINK, 0, 0, NULL, 0, 0);
        if (!msg || nla_put_u32(msg, IFLA_GROUP, PN_VETH_PARK_GROUP) < 0)
                return -ENOMEM;
        return pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL);
}

int pn_veth_reap_parked(podnet_ctx *ctx)
{
        struct nl_sock *sk = pn_nl_sock(ctx, NULL);
        int r;

        if (!sk)
                return -errno;
        r = park_group_delete(sk);
        return r == -ENODEV ? 0 : r < 0 ? r : 1;
}

PODNET_EXPORT int podnet_veth_delete(podnet_ctx *ctx, const char *container_id, const char *ifname,
                                     podnet_error **err)
{
        struct nl_sock *sk;
        struct pn_link l;
        char host[16];
        int r;

        r = veth_host_side(ctx, container_id, ifname, "Deleting", host, &sk, err);
        if (r < 0)
                return r;
        r = pn_link_query(sk, host, 0, &l);
        if (r >= 0)
                /* A parked pair goes with every other parked pair: they are all doomed,
                 * and together they cost the kernel little more than one. */
                r = l.group == PN_VETH_PARK_GROUP ? park_group_delete(sk)
                                                  : pn_link_del(sk, l.ifindex, NULL);
        if (r < 0 && r != -ENODEV)
                return pn_error(err, -r, 0, "Deleting veth %s (%s of container %s)", host, ifname,
                                container_id);
        return 0;
}

int pn_veth_park(podnet_ctx *ctx, const char *container_id, const char *ifname, podnet_error **err)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct nl_sock *sk;
        char host[16];
        int r;

        r = veth_host_side(ctx, container_id, ifname, "Detaching", host, &sk, err);
        if (r < 0)
                return r;
        /* Down is enough to stop all traffic through the pair, and unlike deletion it
         * does not wait for RCU grace periods in the kernel; the park group marks the
         * pair as doomed (see PN_VETH_PARK_GROUP). One request, by name: ENODEV says
         * there is no pair. */
        msg = pn_link_msg(RTM_SETLINK, 0, 0, host, 0, IFF_UP);
        if (!msg || nla_put_u32(msg, IFLA_GROUP, PN_VETH_PARK_GROUP) < 0)
                return pn_error(err, ENOMEM, 0, "Detaching veth %s", host);
        r = pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return pn_error(err, -r, 0, "Taking down veth %s (%s of container %s)", host,
                                ifname, container_id);
        return 1;
}

PODNET_EXPORT int podnet_veth_detach(podnet_ctx *ctx, const char *container_id, const char *ifname,
                                     podnet_error **err)
{
        return pn_veth_park(ctx, container_id, ifname, err);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The route monitor: a socket subscribed to route, nexthop and neighbour notifications,
 * and the check whether a batch of them touched routes or nexthops of podnet's protocol,
 * or a neighbour or FDB entry on the overlay's VXLAN device (or was lost),
 * which tells a daemon to sync again. A monitor may be told to ignore the changes its
 * context's own route socket made (the sync's writes): the kernel stamps each route,
 * nexthop and neighbour notification with the port id of the socket whose request caused
 * it (nlmsg_pid), and 0 when the kernel itself caused it.
 */
#include <linux/neighbour.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/socket.h>

#include "agent/route-sync.h"

/* Bytes read per recv(): a notification burst arrives in datagrams of at most 32 KiB. */
#define EVENT_BUF (64 * 1024)

struct podnet_route_monitor {
        podnet_ctx *ctx;
        int fd;
        unsigned protocol;
        char *buf;
        char vxlan_dev[IF_NAMESIZE]; /* "" : neighbour notifications ignored */
        unsigned vxlan_ifindex;      /* looked up again when an event names another link */
        bool ignore_own;             /* drop notifications of the context socket's requests */
};

void pn_route_monitor_ignore_own(podnet_route_monitor *m, bool on)
{
        m->ignore_own = on;
}

/* The port id of the context's route socket (the one every sync writes with), or 0: a
 * socket opened later is seen at the next batch. FDB entries written through the VXLAN
 * device, and the final deletion of a neighbour entry, are announced with port id 0 (as
 * the kernel's own): those still count. */
static uint32_t own_port(const podnet_route_monitor *m)
{
        struct nl_sock *sk;

        if (!m->ignore_own || !(sk = pn_ctx_nl(m->ctx)))
                return 0;
        return nl_socket_get_local_port(sk);
}

int pn_route_monitor_watch_vxlan(podnet_route_monitor *m, const char *dev)
{
        int group = RTNLGRP_NEIGH;

        /* only a monitor that asks gets the (on a busy node, many) neighbour events */
        if (!m->vxlan_dev[0] && dev && *dev &&
            setsockopt(m->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
                return -errno;
        snprintf(m->vxlan_dev, sizeof(m->vxlan_dev), "%s", dev ? dev : "");
        m->vxlan_ifindex = 0;
        return 0;
}

/* Whether a neighbour notification is about an entry on the VXLAN device: an IPv4/IPv6
 * neighbour or an FDB entry (AF_BRIDGE). Every one counts: the deletion of a permanent
 * neighbour entry is reported with the state it fell to (not permanent), and with every
 * endpoint's entry permanent the kernel makes none of its own there. */
static bool vxlan_entry_event(podnet_route_monitor *m, const struct nlmsghdr *nlh)
{
        const struct ndmsg *nd = NLMSG_DATA(nlh);

        if (!m->vxlan_dev[0] || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)) ||
            nd->ndm_ifindex <= 0)
                return false;
        if ((unsigned)nd->ndm_ifindex != m->vxlan_ifindex)
                m->vxlan_ifindex = if_nametoindex(m->vxlan_dev); /* the device may be new */
        return (unsigned)nd->ndm_ifindex == m->vxlan_ifindex;
}

PODNET_EXPORT podnet_route_monitor *podnet_route_monitor_free(podnet_route_monitor *m)
{
        if (!m)
                return NULL;
        if (m->fd >= 0)
                close(m->fd);
        free(m->buf);
        podnet_ctx_unref(m->ctx);
        free(m);
        return NULL;
}

PODNET_EXPORT int podnet_route_monitor_new(podnet_ctx *ctx, podnet_route_monitor **ret,
                                           unsigned protocol, podnet_error **err)
{
        /* deleting a nexthop object silently takes its routes with it: watch nexthops too */
        static const unsigned groups[] = {RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_NEXTHOP};
        podnet_route_monitor *m;
        int r;

        if (!ctx || !ret)
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        r = pn_route_protocol_check(&protocol, err);
        if (r < 0)
                return r;
        m = calloc(1, sizeof(*m));
        if (!m)
                return pn_error(err, ENOMEM, 0, "Creating a route monitor");
        m->protocol = protocol;
        m->buf = malloc(EVENT_BUF);
        m->fd = m->buf ? pn_nl_event_socket(groups, ELEMENTSOF(groups)) : -ENOMEM;
        if (m->fd < 0) {
                int e = -m->fd;
                podnet_route_monitor_free(m);
                return pn_error(err, e, 0,
                                "Subscribing to route change notifications");
        }
        m->ctx = podnet_ctx_ref(ctx);
        *ret = m;
        return 0;
}

PODNET_EXPORT int podnet_route_monitor_fd(const podnet_route_monitor *m)
{
        return m ? m->fd : -EINVAL;
}

PODNET_EXPORT int podnet_route_monitor_process(podnet_route_monitor *m, podnet_error **err)
{
        int events = 0;
        uint32_t own;

        if (!m)
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        own = own_port(m);
        for (;;) {
                ssize_t k = recv(m->fd, m->buf, EVENT_BUF, MSG_DONTWAIT);
                int len;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                if (k < 0 && errno == ENOBUFS) {
                        /* notifications were lost: the caller must resync */
                        events++;
                        continue;
                }
                if (k < 0)
                        return pn_error(err, errno, 0,
                                        "Reading route change notifications");
                len = (int)k;
                for (struct nlmsghdr *nlh = (struct nlmsghdr *)m->buf; NLMSG_OK(nlh, len);
                     nlh = NLMSG_NEXT(nlh, len)) {
                        if (own && nlh->nlmsg_pid == own)
                                continue; /* podnet's own write */
                        if (nlh->nlmsg_type == RTM_NEWROUTE || nlh->nlmsg_type == RTM_DELROUTE) {
                                const struct rtmsg *rtm = NLMSG_DATA(nlh);
                                if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*rtm)) &&
                                    rtm->rtm_protocol == m->protocol)
                                        events++;
                        } else if (nlh->nlmsg_type == RTM_NEWNEXTHOP ||
                                   nlh->nlmsg_type == RTM_DELNEXTHOP) {
                                const struct nhmsg *nhm = NLMSG_DATA(nlh);
                                if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*nhm)) &&
                                    nhm->nh_protocol == m->protocol)
                                        events++;
                        } else if (nlh->nlmsg_type == RTM_NEWNEIGH ||
                                   nlh->nlmsg_type == RTM_DELNEIGH) {
                                if (vxlan_entry_event(m, nlh))
                                        events++;
                        }
                }
        }
        return events;
}

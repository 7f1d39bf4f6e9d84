/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The route monitor: a socket subscribed to route and nexthop notifications, and the
 * check whether a batch of them touched routes or nexthops of podnet's protocol (or was
 * lost), which tells a daemon to sync again.
 */
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include "agent/route-sync.h"

/* Bytes read per recv(): a notification burst arrives in datagrams of at most 32 KiB. */
#define EVENT_BUF (64 * 1024)

struct podnet_route_monitor {
        podnet_ctx *ctx;
        int fd;
        unsigned protocol;
        char *buf;
};

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

        if (!m)
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
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
                        }
                }
        }
        return events;
}

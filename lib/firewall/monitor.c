/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Change notifications of a backend's rule set, for a daemon that puts podnet's chains
 * back when someone removes them (Docker re-creating its chains, iptables -F, a restore
 * without --noflush). nf_tables announces every committed change on the netlink group
 * NFNLGRP_NFTABLES; x_tables announces nothing, and its users check on an interval.
 * The notifications are only counted: what changed is read again from the chains.
 */
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "firewall/fw.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int pn_fw_monitor_open(podnet_ctx *ctx, const struct pn_fw_backend *b, podnet_error **err)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        unsigned group = NFNLGRP_NFTABLES;
        _cleanup_close_ int fd = -1;

        (void)ctx;
        if (!b->notifies)
                return -EOPNOTSUPP;
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
        if (fd < 0)
                return pn_error(err, errno, 0, "Opening an nf_tables notification socket");
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return pn_error(err, errno, 0, "Binding an nf_tables notification socket");
        if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
                return pn_error(err, errno, 0, "Subscribing to nf_tables' changes");
        return steal_fd(&fd);
}

int pn_fw_monitor_drain(int fd)
{
        char buf[16384];
        int n = 0;

        for (;;) {
                ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

                if (len < 0 && errno == EINTR)
                        continue;
                if (len < 0 && errno == ENOBUFS) {
                        n++; /* notifications were lost: something changed */
                        continue;
                }
                if (len < 0)
                        return errno == EAGAIN || errno == EWOULDBLOCK ? n : -errno;
                if (len == 0)
                        return n;
                for (size_t off = 0; off + sizeof(struct nlmsghdr) <= (size_t)len;) {
                        const struct nlmsghdr *h = (const void *)(buf + off);

                        if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > (size_t)len - off)
                                break;
                        n++;
                        off += NLMSG_ALIGN(h->nlmsg_len);
                }
        }
}

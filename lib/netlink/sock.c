/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Route sockets: the one of a (context, namespace) pair, created inside the namespace by
 * a short-lived helper thread (the caller's thread never moves) and kept on the namespace
 * object; a second one beside it, for a dump that runs in another thread; its tuning for
 * bulk traffic; and the event sockets monitors subscribe with.
 */
#include <linux/sockios.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "netlink/transport.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

/* Enough for socket()+bind(); the socket helper thread needs nothing more. */
#define SOCKET_THREAD_STACK (64 * 1024)

/* Receive and send buffer asked for bulk traffic and events: with one ack per request
 * this bounds a batch's chunk, and it absorbs a burst of notifications. */
#define BULK_BUF (8 * 1024 * 1024)
/* Requests in flight: each ack costs ~1 KiB of receive buffer (skb truesize), and
 * sendmsg() takes at most 1024 iovecs (UIO_MAXIOV). */
#define CHUNK_MAX 1024
#define CHUNK_MIN 16

static int open_route_socket(void *userdata _unused_)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        int fd, r;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        /* libnl's nl_socket_set_fd() wants a bound socket. */
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* A libnl socket around the bound route socket fd, which it then owns; NULL with errno
 * set (fd closed) on failure. */
static struct nl_sock *wrap_fd(int fd)
{
        struct nl_sock *sk = nl_socket_alloc();
        int r;

        if (!sk) {
                close(fd);
                errno = ENOMEM;
                return NULL;
        }
        errno = 0;
        r = nl_socket_set_fd(sk, NETLINK_ROUTE, fd);
        if (r < 0) {
                int e = pn_nl_sys_errno(r, errno);

                close(fd);
                nl_socket_free(sk);
                errno = e;
                return NULL;
        }
        return sk;
}

static struct nl_sock *netns_nl(podnet_netns *ns)
{
        int fd;

        if (ns->nl)
                return ns->nl;
        fd = pn_ns_call(ns->fd, SOCKET_THREAD_STACK, open_route_socket, NULL);
        if (fd < 0) {
                errno = -fd;
                return NULL;
        }
        ns->nl = wrap_fd(fd);
        return ns->nl;
}

struct nl_sock *pn_nl_sock(podnet_ctx *ctx, podnet_netns *ns)
{
        if (ns)
                return netns_nl(ns);
        if (!ctx) {
                errno = EINVAL;
                return NULL;
        }
        return pn_ctx_nl(ctx);
}

/* The inode of the namespace of socket fd (SIOCGSKNS, >= 4.9), or 0 if it cannot be told. */
static ino_t sock_netns(int fd)
{
        struct stat st;
        int ns = ioctl(fd, SIOCGSKNS);
        ino_t ino = 0;

        if (ns < 0)
                return 0;
        if (fstat(ns, &st) == 0)
                ino = st.st_ino;
        close(ns);
        return ino;
}

struct nl_sock *pn_nl_sock_beside(struct nl_sock *like)
{
        struct nl_sock *sk;
        ino_t a, b;
        int fd;

        fd = open_route_socket(NULL);
        if (fd < 0) {
                errno = -fd;
                return NULL;
        }
        /* opened in the calling thread's namespace, which need not be the one `like` was
         * opened in */
        a = sock_netns(fd);
        b = sock_netns(nl_socket_get_fd(like));
        if (a == 0 || a != b) {
                close(fd);
                errno = EXDEV;
                return NULL;
        }
        sk = wrap_fd(fd);
        if (sk)
                (void)pn_nl_sock_bulk(sk);
        return sk;
}

struct nl_sock *pn_nl_sock_free(struct nl_sock *sk)
{
        if (sk)
                nl_socket_free(sk); /* closes its fd */
        return NULL;
}

size_t pn_nl_sock_bulk(struct nl_sock *sk)
{
        int fd = nl_socket_get_fd(sk), one = 1, size = BULK_BUF, got = 0;
        socklen_t len = sizeof(got);
        size_t chunk;

        /* FORCE needs CAP_NET_ADMIN, which a writer has anyway; fall back for readers */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
        (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0)
                got = 212992;
        chunk = (size_t)got / 2048;
        return chunk > CHUNK_MAX ? CHUNK_MAX : chunk < CHUNK_MIN ? CHUNK_MIN : chunk;
}

int pn_nl_event_socket(const unsigned *groups, size_t n_groups)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        int size = BULK_BUF;
        _cleanup_close_ int fd = -1;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        /* a kernel without a group (RTNLGRP_NEXTHOP before 5.3) refuses it with EINVAL:
         * then there is nothing to watch there */
        for (size_t i = 0; i < n_groups; i++)
                if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
                               sizeof(groups[i])) < 0 &&
                    errno != EINVAL)
                        return -errno;
        return steal_fd(&fd);
}

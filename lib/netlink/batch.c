/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pipelined batches: any list of requests (links, addresses, routes, nexthops, lookups...)
 * sent in chunks with one sendmsg() each, their answers collected with recvmmsg() and
 * matched back by sequence number, so that each request gets its own error and a
 * thousand writes cost a few system calls instead of two thousand.
 */
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/uio.h>

#include "netlink/transport.h"

/* Slots per recvmmsg() and bytes per slot: an ack (with an extended-ack message) or a
 * single reply such as a route lookup's. */
#define SLOTS 256
#define SLOT_SIZE 1024

struct batch_rx {
        struct iovec iov[SLOTS]; /* into SLOTS * SLOT_SIZE bytes */
        struct mmsghdr mm[SLOTS];
};

/* Sends reqs[0..n) with one sendmsg(): the kernel handles the messages of one datagram
 * in order and answers each. */
static int send_chunk(struct nl_sock *sk, struct pn_nl_req *reqs, size_t n, uint32_t base,
                      struct iovec *iov)
{
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        struct msghdr mh = {.msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = iov};
        uint32_t port = nl_socket_get_local_port(sk);
        size_t total = 0;
        ssize_t k;

        for (size_t i = 0; i < n; i++) {
                struct nlmsghdr *h = nlmsg_hdr(reqs[i].msg);

                h->nlmsg_flags |= (uint16_t)(NLM_F_REQUEST | (reqs[i].get ? 0 : NLM_F_ACK));
                h->nlmsg_seq = base + (uint32_t)i;
                h->nlmsg_pid = port;
                iov[i].iov_base = h;
                iov[i].iov_len = NLMSG_ALIGN(h->nlmsg_len);
                total += iov[i].iov_len;
                reqs[i].answered = false;
                reqs[i].error = 0;
        }
        mh.msg_iovlen = n;
        do
                k = sendmsg(nl_socket_get_fd(sk), &mh, 0);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        return (size_t)k == total ? 0 : -EIO;
}

/* Reads until every request of the chunk reqs[0..n) has its answer. */
static int recv_chunk(struct nl_sock *sk, struct pn_nl_req *reqs, size_t n, uint32_t base,
                      size_t first, struct batch_rx *rx, pn_nl_batch_fn fn, void *userdata)
{
        size_t left = n;
        int fn_r = 0;

        while (left > 0) {
                int got;

                for (size_t i = 0; i < SLOTS; i++)
                        rx->mm[i].msg_hdr =
                            (struct msghdr){.msg_iov = &rx->iov[i], .msg_iovlen = 1};
                got = recvmmsg(nl_socket_get_fd(sk), rx->mm, left < SLOTS ? (unsigned)left : SLOTS,
                               0, NULL);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return -errno;
                for (int m = 0; m < got; m++) {
                        int len = (int)rx->mm[m].msg_len;

                        for (struct nlmsghdr *h = rx->iov[m].iov_base; nlmsg_ok(h, len);
                             h = nlmsg_next(h, &len)) {
                                uint32_t idx = h->nlmsg_seq - base;
                                struct pn_nl_req *q;

                                if (idx >= n)
                                        continue; /* a stray */
                                q = &reqs[idx];
                                if (q->answered)
                                        continue;
                                if (h->nlmsg_type == NLMSG_ERROR) {
                                        const struct nlmsgerr *e = nlmsg_data(h);

                                        q->error = h->nlmsg_len >= (uint32_t)nlmsg_size(sizeof(*e))
                                                       ? e->error
                                                       : -EBADMSG;
                                } else if (h->nlmsg_type >= NLMSG_MIN_TYPE && q->get) {
                                        if (fn && fn_r == 0) {
                                                int r = fn(first + idx, h, userdata);

                                                if (r < 0)
                                                        fn_r = r;
                                        }
                                } else {
                                        continue;
                                }
                                q->answered = true;
                                left--;
                        }
                }
        }
        return fn_r;
}

int pn_nl_batch(struct nl_sock *sk, struct pn_nl_req *reqs, size_t n, pn_nl_batch_fn fn,
                void *userdata)
{
        _cleanup_free_ struct iovec *iov = NULL;
        _cleanup_free_ struct batch_rx *rx = NULL;
        _cleanup_free_ char *slots = NULL;
        size_t chunk;
        uint32_t seq;
        int r = 0;

        for (size_t i = 0; i < n; i++)
                reqs[i].answered = false;
        if (n == 0)
                return 0;
        chunk = pn_nl_sock_bulk(sk);
        iov = calloc(chunk < n ? chunk : n, sizeof(*iov));
        rx = malloc(sizeof(*rx));
        slots = malloc((size_t)SLOTS * SLOT_SIZE);
        if (!iov || !rx || !slots)
                return -ENOMEM;
        for (size_t i = 0; i < SLOTS; i++)
                rx->iov[i] = (struct iovec){slots + i * SLOT_SIZE, SLOT_SIZE};
        seq = pn_nl_seq();
        for (size_t start = 0; start < n && r >= 0; start += chunk) {
                size_t len = n - start < chunk ? n - start : chunk;
                uint32_t base = seq + (uint32_t)start;

                r = send_chunk(sk, reqs + start, len, base, iov);
                if (r >= 0)
                        r = recv_chunk(sk, reqs + start, len, base, start, rx, fn, userdata);
        }
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pipelined batches: any list of requests (links, addresses, routes, nexthops, lookups...)
 * written into one message buffer (struct pn_nlbuf) and sent in chunks with one sendto()
 * each, their answers collected with recvmmsg() and matched back by sequence number, so
 * that each request gets its own error and a thousand writes cost a few system calls
 * instead of two thousand.
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
/* Sends requests [first, first + n) of b, numbered from base, straight from the buffer:
 * their messages lie back to back. */
static int send_chunk(struct nl_sock *sk, struct pn_nlbuf *b, size_t first, size_t n, uint32_t base)
{
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        uint32_t port = nl_socket_get_local_port(sk);
        size_t start = b->reqs[first].off;
        size_t end = first + n < b->n ? b->reqs[first + n].off : b->len;
        ssize_t k;

        for (size_t i = first; i < first + n; i++) {
                struct pn_nl_req *q = &b->reqs[i];
                struct nlmsghdr *h = pn_nlbuf_hdr(b, i);

                h->nlmsg_flags |= (uint16_t)(NLM_F_REQUEST | (q->get ? 0 : NLM_F_ACK));
                h->nlmsg_seq = base + (uint32_t)(i - first);
                h->nlmsg_pid = port;
                q->answered = false;
                q->error = 0;
        }
        do
                k = sendto(nl_socket_get_fd(sk), b->data + start, end - start, 0,
                           (struct sockaddr *)&kernel, sizeof(kernel));
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        return (size_t)k == end - start ? 0 : -EIO;
}

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

int pn_nl_batch(struct nl_sock *sk, struct pn_nlbuf *b, pn_nl_batch_fn fn, void *userdata)
{
        _cleanup_free_ struct batch_rx *rx = NULL;
        _cleanup_free_ char *slots = NULL;
        size_t chunk, n = b->n;
        uint32_t seq;
        int r = 0;

        for (size_t i = 0; i < n; i++)
                b->reqs[i].answered = false;
        if (b->error < 0)
                return b->error;
        if (n == 0)
                return 0;
        chunk = pn_nl_sock_bulk(sk);
        rx = malloc(sizeof(*rx));
        slots = malloc((size_t)SLOTS * SLOT_SIZE);
        if (!rx || !slots)
                return -ENOMEM;
        for (size_t i = 0; i < SLOTS; i++)
                rx->iov[i] = (struct iovec){slots + i * SLOT_SIZE, SLOT_SIZE};
        seq = pn_nl_seq();
        for (size_t start = 0; start < n && r >= 0; start += chunk) {
                size_t len = n - start < chunk ? n - start : chunk;
                uint32_t base = seq + (uint32_t)start;

                r = send_chunk(sk, b, start, len, base);
                if (r >= 0)
                        r = recv_chunk(sk, b->reqs + start, len, base, start, rx, fn, userdata);
        }
        return r;
}

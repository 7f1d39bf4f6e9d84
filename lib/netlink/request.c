/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One request and its answer: an ack, the reply of a get, or the stream of a dump (read
 * again from the start when another writer interrupted it). Sent and received here, not
 * by libnl: nl_send() folds ENOBUFS (a full socket buffer, transient) into NLE_NOMEM,
 * and many kernel errnos into NLE_FAILURE.
 */
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <time.h>

#include "netlink/transport.h"

/* Replies are read straight into one buffer, without libnl's MSG_PEEK round: the kernel
 * never builds a dump chunk beyond 32 KiB, and single replies are far smaller. */
#define REPLY_BUF_SIZE (64 * 1024)
/* Starts of a dump that another writer keeps interrupting. */
#define DUMP_ATTEMPTS 5

/* Sequence numbers here only tell our replies from strays of an abandoned request.
 * They are not taken from libnl's counter: libnl expects every number it hands out to
 * come back through its own receive path. */
uint32_t pn_nl_seq(void)
{
        struct timespec ts;
        uint32_t seq;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        seq = (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 20);
        return seq ? seq : 1;
}

static int send_request(struct nl_sock *sk, struct nlmsghdr *req, int flags, uint32_t seq)
{
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        int fd = nl_socket_get_fd(sk);

        req->nlmsg_flags |= (uint16_t)(NLM_F_REQUEST | flags);
        req->nlmsg_seq = seq;
        req->nlmsg_pid = nl_socket_get_local_port(sk);
        while (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

/* Reads the answer to request `seq` into buf: 0 or the kernel's -errno, else what fn
 * returned first. *intr tells whether a dump was interrupted (NLM_F_DUMP_INTR). */
static int read_answer(struct nl_sock *sk, uint32_t seq, unsigned char *buf, pn_nl_reply_fn fn,
                       void *userdata, bool *intr)
{
        int fd = nl_socket_get_fd(sk), fn_r = 0, r;

        for (;;) {
                struct sockaddr_nl peer = {0};
                socklen_t peer_len = sizeof(peer);
                struct nlmsghdr *hdr;
                ssize_t got;
                int n;

                got = recvfrom(fd, buf, REPLY_BUF_SIZE, MSG_TRUNC, (struct sockaddr *)&peer,
                               &peer_len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return -errno;
                if (got > REPLY_BUF_SIZE)
                        return -EMSGSIZE;
                if (peer.nl_pid != 0)
                        continue;
                n = (int)got;
                for (hdr = (struct nlmsghdr *)buf; nlmsg_ok(hdr, n); hdr = nlmsg_next(hdr, &n)) {
                        if (hdr->nlmsg_seq != seq)
                                continue; /* a stray from an earlier, abandoned request */
                        if (hdr->nlmsg_flags & NLM_F_DUMP_INTR)
                                *intr = true;
                        if (hdr->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = nlmsg_data(hdr);

                                if (hdr->nlmsg_len < (uint32_t)nlmsg_size(sizeof(*e)))
                                        return -EBADMSG;
                                return e->error < 0 ? e->error : fn_r;
                        }
                        if (hdr->nlmsg_type == NLMSG_DONE) {
                                int dump_err = 0;

                                if (hdr->nlmsg_len >= (uint32_t)nlmsg_size(sizeof(int)))
                                        memcpy(&dump_err, nlmsg_data(hdr), sizeof(int));
                                return dump_err < 0 ? dump_err : fn_r;
                        }
                        if (hdr->nlmsg_type < NLMSG_MIN_TYPE)
                                continue;
                        if (fn && fn_r == 0) {
                                r = fn(hdr, userdata);
                                if (r < 0)
                                        fn_r = r;
                        }
                        if (!(hdr->nlmsg_flags & NLM_F_MULTI))
                                return fn_r; /* the one reply of a plain get */
                }
        }
}

int pn_nl_request(struct nl_sock *sk, struct nlmsghdr *req, pn_nl_reply_fn fn, void *userdata)
{
        _cleanup_free_ unsigned char *buf = NULL;
        uint32_t seq = pn_nl_seq();
        bool intr = false;
        int r;

        /* A request that expects data ends with that data (or NLMSG_DONE, or an error);
         * only changes need the ack. */
        r = send_request(sk, req, fn ? 0 : NLM_F_ACK, seq);
        if (r < 0)
                return r;
        buf = malloc(REPLY_BUF_SIZE);
        if (!buf)
                return -ENOMEM;
        return read_answer(sk, seq, buf, fn, userdata, &intr);
}

int pn_nl_dump(struct nl_sock *sk, struct nlmsghdr *req, pn_nl_reply_fn fn,
               void (*restart)(void *userdata), void *userdata)
{
        _cleanup_free_ unsigned char *buf = malloc(REPLY_BUF_SIZE);
        uint32_t seq = pn_nl_seq();

        if (!buf)
                return -ENOMEM;
        for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
                bool intr = false;
                int r;

                if (attempt > 0)
                        restart(userdata);
                r = send_request(sk, req, NLM_F_DUMP, seq + (uint32_t)attempt);
                if (r >= 0)
                        r = read_answer(sk, seq + (uint32_t)attempt, buf, fn, userdata, &intr);
                if (restart && (r == -ENOBUFS || (r >= 0 && intr)))
                        continue; /* interrupted by a concurrent change, or overrun */
                return r;
        }
        return -EAGAIN;
}

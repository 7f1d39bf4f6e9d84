/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink transport, private to the library: the namespace object's layout, the route
 * socket of a (context, namespace) pair, message allocation and attribute readers, one
 * request with its ack or reply, a dump, and a pipelined batch of any requests. Messages
 * and attributes are libnl's (struct nl_msg, nla_put()); sending and receiving are ours,
 * so that the kernel's own errno comes back (libnl folds many into NLE_FAILURE).
 */
#ifndef PODNET_NETLINK_TRANSPORT_H
#define PODNET_NETLINK_TRANSPORT_H

#include <linux/netlink.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/internal.h"

#include <netlink/attr.h>
#include <netlink/msg.h>

struct nl_sock;
struct nl_msg;

/* ---- namespaces (netns.c) ---- */

struct podnet_netns {
        int n_ref;
        int fd; /* O_RDONLY|O_CLOEXEC on the nsfs file */
        char *path;
        dev_t dev; /* identity of the namespace, for is_current() */
        ino_t ino;
        struct nl_sock *nl; /* route socket inside the namespace, opened lazily */
};

/* Runs fn in a new thread that joined the namespace behind nsfd, with every signal
 * blocked, and waits for it; stack 0 means the default size. fn's value, or -errno. */
int pn_ns_call(int nsfd, size_t stack, int (*fn)(void *userdata), void *userdata);

/* Names the namespace in messages: printf("Adding x" PN_NS_FMT, PN_NS_ARG(ns)) prints
 * "Adding x in /run/netns/p1", or just "Adding x" for the context's own namespace. */
#define PN_NS_FMT "%s%s"
#define PN_NS_ARG(ns) ((ns) ? " in " : ""), ((ns) ? (ns)->path : "")

/* ---- sockets (sock.c) ---- */

/* The route socket for (ctx, ns), opened on first use and kept: ns NULL means the
 * context's own namespace. NULL with errno set on failure. */
struct nl_sock *pn_nl_sock(podnet_ctx *ctx, podnet_netns *ns);

/* A second route socket in the namespace of `like` (a context's or namespace's), for a
 * dump made by another thread at the same time, readied for bulk traffic; freed with
 * pn_nl_sock_free(). It is opened in the calling thread's namespace: NULL with errno
 * EXDEV when that is not like's, or when the kernel cannot tell (before 4.9, or without
 * CAP_NET_ADMIN); NULL with errno set on other failures. */
struct nl_sock *pn_nl_sock_beside(struct nl_sock *like);
/* Closes and frees sk (NULL is fine); returns NULL. */
struct nl_sock *pn_nl_sock_free(struct nl_sock *sk);
/* Readies sk for bulk traffic (idempotent): receive and send buffers of 8 MiB, acks
 * without a copy of the request, extended acks, and strict checking of dump requests
 * (the kernel then filters dumps by the header's fields, >= 4.20). Returns how many
 * requests a batch may keep in flight for the receive buffer it got. */
size_t pn_nl_sock_bulk(struct nl_sock *sk);

/* A new non-blocking NETLINK_ROUTE socket in the calling thread's namespace, subscribed
 * to the multicast groups `groups` (RTNLGRP_*), with a receive buffer for bursts. A
 * group the kernel does not know is skipped. The fd, or -errno. */
int pn_nl_event_socket(const unsigned *groups, size_t n_groups);

/* ---- messages and attributes (message.c) ---- */

static inline void pn_nlmsg_freep(struct nl_msg **m)
{
        if (*m)
                nlmsg_free(*m);
}
#define _cleanup_nlmsg_ _cleanup_(pn_nlmsg_freep)

/* A message of `type` and `flags` starting with the family header hdr (hdr_len bytes),
 * with room for `room` bytes of attributes (0: a page, for the large link requests).
 * NULL when out of memory. */
struct nl_msg *pn_nlmsg_new(int type, int flags, const void *hdr, size_t hdr_len, size_t room);

/* Attribute walking, inline: a dump of 5,000 routes visits some 30,000 attributes, and
 * libnl's nla_ok()/nla_next()/nla_type() are out-of-line library calls each. */
static inline bool pn_attr_ok(const struct nlattr *a, int rem)
{
        return rem >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= rem;
}
static inline const struct nlattr *pn_attr_next(const struct nlattr *a, int *rem)
{
        int len = (int)NLA_ALIGN(a->nla_len);

        *rem -= len;
        return (const struct nlattr *)((const char *)a + len);
}
static inline int pn_attr_type(const struct nlattr *a)
{
        return a->nla_type & NLA_TYPE_MASK;
}
static inline int pn_attr_len(const struct nlattr *a)
{
        return (int)a->nla_len - NLA_HDRLEN;
}
static inline const void *pn_attr_data(const struct nlattr *a)
{
        return (const char *)a + NLA_HDRLEN;
}
/* The attributes after a message's family header of hdr_len bytes, or inside a nest. */
static inline const struct nlattr *pn_attr_first(const struct nlmsghdr *h, size_t hdr_len, int *rem)
{
        *rem = (int)h->nlmsg_len - (int)NLMSG_LENGTH(NLMSG_ALIGN(hdr_len));
        return (const struct nlattr *)((const char *)NLMSG_DATA(h) + NLMSG_ALIGN(hdr_len));
}
#define pn_attr_for_each(a, h, hdr_len, rem)                                                       \
        for ((a) = pn_attr_first((h), (hdr_len), &(rem)); pn_attr_ok((a), (rem));                  \
             (a) = pn_attr_next((a), &(rem)))
#define pn_attr_for_each_nested(a, nest, rem)                                                      \
        for ((a) = (const struct nlattr *)pn_attr_data(nest), (rem) = pn_attr_len(nest);           \
             pn_attr_ok((a), (rem)); (a) = pn_attr_next((a), &(rem)))

/* Attribute readers that tolerate absent or short attributes. */
static inline uint32_t pn_attr_u32(const struct nlattr *a, uint32_t def)
{
        return a && pn_attr_len(a) >= 4 ? *(const uint32_t *)pn_attr_data(a) : def;
}
static inline uint8_t pn_attr_u8(const struct nlattr *a, uint8_t def)
{
        return a && pn_attr_len(a) >= 1 ? *(const uint8_t *)pn_attr_data(a) : def;
}
/* Copies an attribute of exactly `len` bytes into out; false (out untouched) otherwise. */
static inline bool pn_attr_copy(const struct nlattr *a, void *out, size_t len)
{
        if (!a || (size_t)pn_attr_len(a) != len)
                return false;
        memcpy(out, pn_attr_data(a), len);
        return true;
}
/* Copies a string attribute into buf (NUL-terminated, truncated to fit). */
void pn_attr_str(const struct nlattr *a, char *buf, size_t size);

/* ---- one request (request.c) ---- */

/* A sequence number for a new request (or the first of a batch): not 0, and unlike the
 * ones before it on the socket, so that strays of an abandoned request are told apart. */
uint32_t pn_nl_seq(void);

/* Called for every reply message of a request other than the final ack, error or done.
 * A negative return is remembered and returned by the request, which still drains the
 * replies so that the socket stays in step. */
typedef int (*pn_nl_reply_fn)(struct nlmsghdr *hdr, void *userdata);

/* Sends the message req (a libnl message's nlmsg_hdr(), or one of a pn_nlbuf) and reads
 * until its ack, error or NLMSG_DONE: without fn a change, which gets NLM_F_ACK; with fn
 * a get whose replies fn sees. Returns 0 or -errno, the kernel's errno when the kernel
 * refused. */
int pn_nl_request(struct nl_sock *sk, struct nlmsghdr *req, pn_nl_reply_fn fn, void *userdata);

/* A dump of req (NLM_F_DUMP is added): fn sees every object. When another writer changed
 * the objects during the dump (NLM_F_DUMP_INTR) or the socket overran, and `restart` is
 * given, restart(userdata) forgets what fn collected and the dump starts over, up to 5
 * times (then -EAGAIN); without `restart` an interrupted dump counts as complete. */
int pn_nl_dump(struct nl_sock *sk, struct nlmsghdr *req, pn_nl_reply_fn fn,
               void (*restart)(void *userdata), void *userdata);

/* ---- messages written back to back (message.c) ---- */

/* One request of a message buffer: where its message starts, and its answer. */
struct pn_nl_req {
        size_t off;    /* offset of the message in the buffer's data */
        bool get;      /* answered by one reply message (given to the batch's fn), no ack */
        bool answered; /* out: the kernel answered */
        int error;     /* out: the kernel's answer, 0 or -errno (meaningful if answered) */
};

/* Requests written back to back into one growing buffer, libmnl's way: a batch of
 * thousands costs a few allocations rather than two per message (libnl's nl_msg), and
 * the buffer is what goes to the kernel, uncopied. Start from {0}; an append that fails
 * makes every later one a no-op and leaves error set, so builders check once at the end.
 * Pointers into data move when it grows: keep offsets. */
struct pn_nlbuf {
        unsigned char *data;
        size_t len, size;
        struct pn_nl_req *reqs; /* one per message, in order */
        size_t n, cap;
        int error; /* 0, or the first failure (-ENOMEM, -EINVAL) */
};

/* Begins a message of `type` and `flags` with the family header hdr (hdr_len bytes). */
int pn_nlbuf_msg(struct pn_nlbuf *b, int type, int flags, bool get, const void *hdr,
                 size_t hdr_len);
/* Appends an attribute to the message begun last. */
int pn_nlbuf_put(struct pn_nlbuf *b, int type, const void *data, size_t len);
static inline int pn_nlbuf_put_u32(struct pn_nlbuf *b, int type, uint32_t v)
{
        return pn_nlbuf_put(b, type, &v, sizeof(v));
}
/* A nested attribute: start returns its offset (0 on failure), end closes it. */
size_t pn_nlbuf_nest_start(struct pn_nlbuf *b, int type);
void pn_nlbuf_nest_end(struct pn_nlbuf *b, size_t off);
/* Appends a copy of a message built elsewhere (a libnl nl_msg's nlmsg_hdr()). */
int pn_nlbuf_append(struct pn_nlbuf *b, const struct nlmsghdr *msg, bool get);
/* Message i of the buffer. */
static inline struct nlmsghdr *pn_nlbuf_hdr(const struct pn_nlbuf *b, size_t i)
{
        return (struct nlmsghdr *)(b->data + b->reqs[i].off);
}
/* Frees the buffer and its requests; b is {0} again. */
void pn_nlbuf_done(struct pn_nlbuf *b);
static inline void pn_nlbuf_donep(struct pn_nlbuf *b)
{
        pn_nlbuf_done(b);
}
#define _cleanup_nlbuf_ _cleanup_(pn_nlbuf_donep)

/* ---- receive buffers kept per thread (scratch.c) ---- */

/* REPLY and BATCH: receive buffers. The others: the arrays a route sync's dumps parse
 * into (routes, nexthop objects, neighbour and FDB entries) and its diffs and sorts
 * write, taken by a dump, diff or sort and given back
 * when the sync is done, so that a resync in a long-running process reuses warm memory
 * (glibc returns a block this big to the kernel on free(); a 5,000-peer no-op resync
 * faulted 3.2 MB of fresh pages in each pass). */
enum pn_nl_scratch_kind {
        PN_NL_SCRATCH_REPLY,
        PN_NL_SCRATCH_BATCH,
        PN_NL_SCRATCH_ROUTES,
        PN_NL_SCRATCH_NEXTHOPS,
        PN_NL_SCRATCH_NEIGH,
        PN_NL_SCRATCH_FDB,
        PN_NL_SCRATCH_ROUTE_OPS, /* the diffs' operations, and a sort's keys */
        PN_NL_SCRATCH_NEIGH_OPS,
        PN_NL_SCRATCH_FDB_OPS,
        PN_NL_SCRATCH_SORT,
        PN_NL_SCRATCH_KINDS
};
/* A buffer of at least size bytes: the thread's kept one if it is free, else a new one;
 * NULL when out of memory. Give it back (or free it) when done. */
void *pn_nl_scratch_take(enum pn_nl_scratch_kind kind, size_t size);
/* Keeps p (size bytes) for the thread's next take, or frees it if one is kept already
 * (the larger of the two stays). */
void pn_nl_scratch_give(enum pn_nl_scratch_kind kind, void *p, size_t size);
/* The thread's kept buffer of this kind, whatever its size (in *size), or NULL (*size 0):
 * the start of an array that grows with realloc(). */
void *pn_nl_scratch_take_kept(enum pn_nl_scratch_kind kind, size_t *size);

/* ---- pipelined batches (batch.c) ---- */

/* Called with the reply to a `get` request reqs[i]; a negative return stops the batch
 * after the chunk in flight and is returned. */
typedef int (*pn_nl_batch_fn)(size_t i, struct nlmsghdr *hdr, void *userdata);

/* Sends every message of b pipelined: chunks of up to a thousand requests with one
 * sendto() each, straight from the buffer, sized to the receive buffer, and collects
 * exactly one answer per request into b->reqs[i]. A failed request does not stop the
 * others: each gets its own error. Returns 0, or -errno when building (b->error) or the
 * transport failed (then requests not answered have answered false). */
int pn_nl_batch(struct nl_sock *sk, struct pn_nlbuf *b, pn_nl_batch_fn fn, void *userdata);

/* The answer of a request, for reports: its error, or -EIO if none came. */
static inline int pn_nl_req_error(const struct pn_nl_req *q)
{
        return q->answered ? q->error : -EIO;
}

#endif

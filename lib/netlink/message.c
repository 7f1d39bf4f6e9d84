/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Messages and attributes: a libnl message sized for its request with its family header
 * in place; messages written back to back into one buffer (struct pn_nlbuf) for
 * requests that travel by the thousand; the attribute readers every parser here shares.
 */
#include <netlink/msg.h>
#include <unistd.h>

#include "netlink/transport.h"

struct nl_msg *pn_nlmsg_new(int type, int flags, const void *hdr, size_t hdr_len, size_t room)
{
        struct nl_msg *msg;

        /* libnl never grows a message: `room` is the caller's bound. A batch holds
         * thousands of these, which a page each would make megabytes to clear. */
        if (room == 0)
                msg = nlmsg_alloc_simple(type, flags);
        else {
                msg = nlmsg_alloc_size(NLMSG_SPACE(hdr_len) + room);
                if (msg) {
                        struct nlmsghdr *h = nlmsg_hdr(msg);

                        h->nlmsg_type = (uint16_t)type;
                        h->nlmsg_flags = (uint16_t)flags;
                }
        }
        if (!msg)
                return NULL;
        if (nlmsg_append(msg, (void *)hdr, hdr_len, NLMSG_ALIGNTO) < 0) {
                nlmsg_free(msg);
                return NULL;
        }
        return msg;
}

void pn_attr_str(const struct nlattr *a, char *buf, size_t size)
{
        size_t n;

        if (size == 0)
                return;
        buf[0] = '\0';
        if (!a)
                return;
        n = strnlen(nla_data(a), (size_t)nla_len(a));
        if (n >= size)
                n = size - 1;
        memcpy(buf, nla_data(a), n);
        buf[n] = '\0';
}

/* ---- messages written back to back (struct pn_nlbuf) ---- */

static int nlbuf_reserve(struct pn_nlbuf *b, size_t more)
{
        size_t want, size;
        unsigned char *data;

        if (b->error < 0)
                return b->error;
        if (more > SIZE_MAX / 2 - b->len) {
                b->error = -ENOMEM;
                return b->error;
        }
        want = b->len + more;
        if (want <= b->size)
                return 0;
        size = b->size ? b->size : 4096;
        while (size < want)
                size *= 2;
        data = realloc(b->data, size);
        if (!data) {
                b->error = -ENOMEM;
                return b->error;
        }
        b->data = data;
        b->size = size;
        return 0;
}

int pn_nlbuf_msg(struct pn_nlbuf *b, int type, int flags, bool get, const void *hdr, size_t hdr_len)
{
        size_t need = NLMSG_SPACE(hdr_len);
        struct nlmsghdr *h;

        if (b->n == b->cap) {
                size_t cap = b->cap ? 2 * b->cap : 64;
                struct pn_nl_req *reqs = reallocarray(b->reqs, cap, sizeof(*reqs));

                if (!reqs) {
                        b->error = -ENOMEM;
                        return b->error;
                }
                b->reqs = reqs;
                b->cap = cap;
        }
        if (nlbuf_reserve(b, need) < 0)
                return b->error;
        h = (struct nlmsghdr *)(b->data + b->len);
        memset(h, 0, need);
        h->nlmsg_len = (uint32_t)NLMSG_LENGTH(hdr_len);
        h->nlmsg_type = (uint16_t)type;
        h->nlmsg_flags = (uint16_t)flags;
        if (hdr_len)
                memcpy(NLMSG_DATA(h), hdr, hdr_len);
        b->reqs[b->n++] = (struct pn_nl_req){.off = b->len, .get = get};
        b->len += need;
        return 0;
}

/* The message being written: the last one begun. */
static struct nlmsghdr *nlbuf_last(struct pn_nlbuf *b)
{
        return (struct nlmsghdr *)(b->data + b->reqs[b->n - 1].off);
}

int pn_nlbuf_put(struct pn_nlbuf *b, int type, const void *data, size_t len)
{
        size_t need = NLA_ALIGN(NLA_HDRLEN + len);
        struct nlattr *a;

        if (b->n == 0 || len > UINT16_MAX - NLA_HDRLEN)
                return b->error = b->error < 0 ? b->error : -EINVAL;
        if (nlbuf_reserve(b, need) < 0)
                return b->error;
        a = (struct nlattr *)(b->data + b->len);
        a->nla_type = (uint16_t)type;
        a->nla_len = (uint16_t)(NLA_HDRLEN + len);
        if (len)
                memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
        memset((unsigned char *)a + NLA_HDRLEN + len, 0, need - NLA_HDRLEN - len);
        b->len += need;
        nlbuf_last(b)->nlmsg_len += (uint32_t)need;
        return 0;
}

size_t pn_nlbuf_nest_start(struct pn_nlbuf *b, int type)
{
        size_t off = b->len;

        return pn_nlbuf_put(b, type, NULL, 0) < 0 ? 0 : off;
}

void pn_nlbuf_nest_end(struct pn_nlbuf *b, size_t off)
{
        if (b->error < 0 || off == 0)
                return;
        ((struct nlattr *)(b->data + off))->nla_len = (uint16_t)(b->len - off);
}

int pn_nlbuf_append(struct pn_nlbuf *b, const struct nlmsghdr *msg, bool get)
{
        size_t body = msg->nlmsg_len - NLMSG_HDRLEN;

        if (msg->nlmsg_len < NLMSG_HDRLEN)
                return b->error = -EINVAL;
        if (pn_nlbuf_msg(b, msg->nlmsg_type, msg->nlmsg_flags, get, NULL, 0) < 0 ||
            nlbuf_reserve(b, NLMSG_ALIGN(body)) < 0)
                return b->error;
        memcpy(b->data + b->len, (const unsigned char *)msg + NLMSG_HDRLEN, body);
        memset(b->data + b->len + body, 0, NLMSG_ALIGN(body) - body);
        b->len += NLMSG_ALIGN(body);
        nlbuf_last(b)->nlmsg_len = msg->nlmsg_len;
        return 0;
}

void pn_nlbuf_done(struct pn_nlbuf *b)
{
        free(b->data);
        free(b->reqs);
        *b = (struct pn_nlbuf){0};
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Messages and attributes: a libnl message sized for its request with its family header
 * in place, and the attribute readers every parser here shares.
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

bool pn_attr_copy(const struct nlattr *a, void *out, size_t len)
{
        if (!a || (size_t)nla_len(a) != len)
                return false;
        memcpy(out, nla_data(a), len);
        return true;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the netns, link, addr and route modules: the namespace object's layout, the
 * socket for a (context, namespace) pair, and one netlink request/reply helper that keeps
 * the kernel's own errno (libnl folds many of them into NLE_FAILURE).
 */
#ifndef PODNET_NET_H
#define PODNET_NET_H

#include <linux/netlink.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/cidr.h"
#include "core/internal.h"
#include "core/names.h"

#include <netlink/attr.h>
#include <netlink/msg.h>

struct nl_sock;
struct nl_msg;

struct podnet_netns {
        int n_ref;
        int fd; /* O_RDONLY|O_CLOEXEC on the nsfs file */
        char *path;
        dev_t dev; /* identity of the namespace, for is_current() */
        ino_t ino;
        struct nl_sock *nl; /* route socket inside the namespace, opened lazily */
};

static inline void pn_nlmsg_freep(struct nl_msg **m)
{
        if (*m)
                nlmsg_free(*m);
}
#define _cleanup_nlmsg_ _cleanup_(pn_nlmsg_freep)

/* The route socket for (ctx, ns): ns NULL means the context's own namespace. NULL with
 * errno set on failure. */
struct nl_sock *pn_net_sock(podnet_ctx *ctx, podnet_netns *ns);

/* Checks ifname (pn_ifname_valid) and gets the socket for (ctx, ns); on failure sets
 * *err and returns -errno. */
int pn_net_sock_for(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, struct nl_sock **sk,
                    podnet_error **err);

/* Called for every reply message of a request other than the final ack/error/done. A
 * negative return is remembered and returned by pn_net_request(), which still drains
 * the replies so the socket stays in step. */
typedef int (*pn_net_reply_fn)(struct nlmsghdr *hdr, void *userdata);

/* Sends msg (NLM_F_ACK is added) and reads until its ack, error or NLMSG_DONE.
 * Returns 0 or -errno, the kernel's errno when the kernel refused. */
int pn_net_request(struct nl_sock *sk, struct nl_msg *msg, pn_net_reply_fn fn, void *userdata);

/* What the link module knows about a link, from one RTM_GETLINK reply. */
struct pn_link {
        int ifindex;
        unsigned flags; /* IFF_* as the kernel reports them */
        unsigned mtu;
        int master;
        int hairpin; /* -1: not a bridge port */
        uint8_t mac[32];
        unsigned mac_len;
        char name[16];
        char kind[16];
        uint32_t group;   /* IFLA_GROUP */
        int peer_ifindex; /* IFLA_LINK of a veth: its peer's index (0: not reported) */
        bool mac_pinned;  /* the alias says podnet_bridge_ensure() made the MAC fixed */
        bool has_alias;   /* IFLA_IFALIAS is set (to anything) */
};

/* The link group (IFLA_GROUP) of veth pairs whose deletion is pending (their host ends;
 * "PNDP" in ASCII): podnet_veth_detach() parks a pair there, and one RTM_DELLINK for the
 * group deletes every parked pair at once, for a fraction of the kernel's cost of
 * deleting them one by one. Documented in podnet_bridge_ensure(3) and podnet-cni(8). */
#define PN_VETH_PARK_GROUP UINT32_C(0x504e4450)

/* podnet_veth_detach(); with err NULL, failures are not described. */
int pn_veth_park(podnet_ctx *ctx, const char *container_id, const char *ifname,
                 podnet_error **err);

/* Deletes every parked veth pair in the context's namespace in one request: 1 if some
 * were parked, 0 if none, or -errno. */
int pn_veth_reap_parked(podnet_ctx *ctx);

/* RTM_GETLINK by name (ifindex 0) or by index. -ENODEV if absent. */
int pn_link_query(struct nl_sock *sk, const char *name, int ifindex, struct pn_link *out);

/* Formats a hardware address as "aa:bb:..", into at least 18 bytes (truncated beyond 6
 * bytes' worth). */
void pn_mac_format(const uint8_t *mac, unsigned len, char *buf, size_t size);

/* Writes `local` into the caller's size-prefixed output struct: -EINVAL if the caller's
 * size is below min_size (the first release's layout), else copies what both know and
 * keeps the caller's size. */
#define PN_INFO_COPY_OUT(out, local, min_size)                                                     \
        ({                                                                                         \
                int _r = 0;                                                                        \
                size_t _size = (out)->size;                                                        \
                if (_size < (min_size))                                                            \
                        _r = -EINVAL;                                                              \
                else {                                                                             \
                        memcpy((out), &(local), _size < sizeof(local) ? _size : sizeof(local));    \
                        (out)->size = _size;                                                       \
                }                                                                                  \
                _r;                                                                                \
        })

/* An address as RTM_GETADDR reports it. */
struct pn_addr {
        int family;
        int ifindex;
        unsigned prefixlen;
        unsigned flags; /* IFA_F_* */
        uint8_t addr[16];
};

/* Calls fn for every address of `family` on link ifindex (0: every link). A negative
 * return from fn stops the walk and is returned. */
int pn_addr_dump(struct nl_sock *sk, int family, int ifindex,
                 int (*fn)(const struct pn_addr *a, void *userdata), void *userdata);
/* RTM_NEWADDR (nlflags NLM_F_CREATE|NLM_F_EXCL or NLM_F_CREATE|NLM_F_REPLACE) or
 * RTM_DELADDR of a->addr/a->prefixlen on a->ifindex with IFA_F_* a->flags. */
int pn_addr_send(struct nl_sock *sk, int cmd, int nlflags, const struct pn_addr *a);
/* Fills a from a podnet_cidr and a link; -EINVAL for an unusable cidr. */
int pn_addr_from_cidr(struct pn_addr *a, const podnet_cidr *c, int ifindex);

/* Attribute readers that tolerate absent or short attributes. */
static inline uint32_t pn_attr_u32(const struct nlattr *a, uint32_t def)
{
        return a && nla_len(a) >= 4 ? nla_get_u32(a) : def;
}
static inline uint8_t pn_attr_u8(const struct nlattr *a, uint8_t def)
{
        return a && nla_len(a) >= 1 ? nla_get_u8(a) : def;
}
/* Copies a string attribute into buf (NUL-terminated, truncated to fit). */
void pn_attr_str(const struct nlattr *a, char *buf, size_t size);

/* Names the namespace in messages: printf("Adding x" PN_NS_FMT, PN_NS_ARG(ns)) prints
 * "Adding x in /run/netns/p1", or just "Adding x" for the context's own namespace. */
#define PN_NS_FMT "%s%s"
#define PN_NS_ARG(ns) ((ns) ? " in " : ""), ((ns) ? (ns)->path : "")

#endif

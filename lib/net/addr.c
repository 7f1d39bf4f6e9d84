/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Interface addresses, in the context's namespace or inside a pod namespace: add (with
 * NODAD/REPLACE), delete, exact-match lookup; plus the address dump the bridge uses.
 */
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>

#include "core/cidr.h"
#include "net/net.h"

int pn_addr_from_cidr(struct pn_addr *a, const podnet_cidr *c, int ifindex)
{
        unsigned len;

        memset(a, 0, sizeof(*a));
        if (!c)
                return -EINVAL;
        a->family = podnet_cidr_family(c);
        len = pn_family_len(a->family);
        if (len == 0)
                return -EINVAL;
        a->prefixlen = podnet_cidr_prefixlen(c);
        if (a->prefixlen > len * 8)
                return -EINVAL;
        memcpy(a->addr, podnet_cidr_addr(c), len);
        a->ifindex = ifindex;
        return 0;
}

struct addr_walk {
        int ifindex;
        int (*fn)(const struct pn_addr *a, void *userdata);
        void *userdata;
};

static int addr_reply(struct nlmsghdr *hdr, void *userdata)
{
        struct addr_walk *w = userdata;
        struct nlattr *tb[IFA_MAX + 1];
        const struct ifaddrmsg *ifa;
        const struct nlattr *at;
        struct pn_addr a = {0};
        unsigned len;

        if (hdr->nlmsg_type != RTM_NEWADDR)
                return 0;
        if (nlmsg_parse(hdr, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
                return -EBADMSG;
        ifa = nlmsg_data(hdr);
        if (w->ifindex > 0 && (int)ifa->ifa_index != w->ifindex)
                return 0;
        len = pn_family_len(ifa->ifa_family);
        /* IPv4: IFA_LOCAL is the interface's own address, IFA_ADDRESS the peer's on
         * point-to-point links. */
        at = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (len == 0 || !at || (unsigned)nla_len(at) != len)
                return 0;
        a.family = ifa->ifa_family;
        a.ifindex = (int)ifa->ifa_index;
        a.prefixlen = ifa->ifa_prefixlen;
        a.flags = pn_attr_u32(tb[IFA_FLAGS], ifa->ifa_flags);
        memcpy(a.addr, nla_data(at), len);
        return w->fn(&a, w->userdata);
}

int pn_addr_dump(struct nl_sock *sk, int family, int ifindex,
                 int (*fn)(const struct pn_addr *a, void *userdata), void *userdata)
{
        struct ifaddrmsg ifa = {.ifa_family = (uint8_t)family};
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct addr_walk w = {.ifindex = ifindex, .fn = fn, .userdata = userdata};

        msg = pn_nlmsg_new(RTM_GETADDR, 0, &ifa, sizeof(ifa), 16);
        if (!msg)
                return -ENOMEM;
        return pn_nl_dump(sk, nlmsg_hdr(msg), addr_reply, NULL, &w);
}

struct nl_msg *pn_addr_msg(int cmd, int nlflags, const struct pn_addr *a)
{
        struct ifaddrmsg ifa = {
            .ifa_family = (uint8_t)a->family,
            .ifa_prefixlen = (uint8_t)a->prefixlen,
            .ifa_flags = (uint8_t)(a->flags & 0xff),
            .ifa_scope = RT_SCOPE_UNIVERSE,
            .ifa_index = (uint32_t)a->ifindex,
        };
        /* The kernel refuses 127/8 with global scope; ip-address(8) picks host scope. */
        if (a->family == AF_INET && a->addr[0] == 127)
                ifa.ifa_scope = RT_SCOPE_HOST;
        unsigned len = pn_family_len(a->family);
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;

        msg = pn_nlmsg_new(cmd, nlflags, &ifa, sizeof(ifa), 96);
        if (!msg || nla_put(msg, IFA_LOCAL, (int)len, a->addr) < 0 ||
            nla_put(msg, IFA_ADDRESS, (int)len, a->addr) < 0)
                return NULL;
        if (cmd == RTM_NEWADDR && a->flags > 0xff && nla_put_u32(msg, IFA_FLAGS, a->flags) < 0)
                return NULL;
        /* A broadcast address as `ip addr add ... brd +` and the reference plugins set. */
        if (cmd == RTM_NEWADDR && a->family == AF_INET && a->prefixlen < 31) {
                uint32_t v;

                memcpy(&v, a->addr, 4);
                v |= htonl(UINT32_MAX >> a->prefixlen);
                if (nla_put(msg, IFA_BROADCAST, 4, &v) < 0)
                        return NULL;
        }
        return steal_pointer(&msg);
}

int pn_addr_send(struct nl_sock *sk, int cmd, int nlflags, const struct pn_addr *a)
{
        _cleanup_nlmsg_ struct nl_msg *msg = pn_addr_msg(cmd, nlflags, a);

        return msg ? pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL) : -ENOMEM;
}

/* Resolves ifname in (ctx, ns) and turns addr into a pn_addr. */
static int addr_prepare(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                        const podnet_cidr *addr, struct nl_sock **sk, struct pn_addr *a, char *text,
                        size_t size, podnet_error **err)
{
        struct pn_link l;
        int r;

        r = pn_net_sock_for(ctx, ns, ifname, sk, err);
        if (r < 0)
                return r;
        if (pn_addr_from_cidr(a, addr, 0) < 0)
                return pn_error_plain(err, EINVAL, 0, "Invalid address for %s", ifname);
        pn_net_format(a->family, a->addr, a->prefixlen, text, size);
        r = pn_link_query(*sk, ifname, 0, &l);
        if (r < 0)
                return r; /* the caller words it */
        a->ifindex = l.ifindex;
        return 0;
}

enum addr_op { ADDR_ADD, ADDR_DEL, ADDR_HAS };

static int addr_match(const struct pn_addr *a, void *userdata)
{
        struct pn_addr *want = userdata;

        if (a->prefixlen == want->prefixlen &&
            memcmp(a->addr, want->addr, pn_family_len(a->family)) == 0)
                return -EEXIST; /* found: stop looking */
        return 0;
}

static int addr_do(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, const podnet_cidr *addr,
                   enum addr_op op, unsigned flags, podnet_error **err)
{
        static const char *const verb[] = {"Adding", "Removing", "Looking for"};
        static const char *const prep[] = {"to", "from", "on"};
        char text[PODNET_CIDR_STRLEN];
        struct nl_sock *sk;
        struct pn_addr a;
        int r;

        r = addr_prepare(ctx, ns, ifname, addr, &sk, &a, text, sizeof(text), err);
        if (r == -ENODEV && op != ADDR_ADD)
                return 0; /* no link, so no address either */
        if (r >= 0 && op == ADDR_ADD) {
                if (flags & PODNET_ADDR_NODAD)
                        a.flags |= IFA_F_NODAD;
                r = pn_addr_send(
                    sk, RTM_NEWADDR,
                    NLM_F_CREATE | (flags & PODNET_ADDR_REPLACE ? NLM_F_REPLACE : NLM_F_EXCL), &a);
        } else if (r >= 0 && op == ADDR_DEL) {
                r = pn_addr_send(sk, RTM_DELADDR, 0, &a);
                if (r == -EADDRNOTAVAIL)
                        r = 0;
        } else if (r >= 0) {
                r = pn_addr_dump(sk, a.family, a.ifindex, addr_match, &a);
                if (r == -EEXIST)
                        return 1;
        }
        if (r < 0)
                return pn_error(err, -r, 0, "%s address %s %s %s" PN_NS_FMT, verb[op], text,
                                prep[op], ifname, PN_NS_ARG(ns));
        return 0;
}

PODNET_EXPORT int podnet_addr_add(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                  const podnet_cidr *addr, unsigned flags, podnet_error **err)
{
        if (flags & ~(unsigned)(PODNET_ADDR_NODAD | PODNET_ADDR_REPLACE))
                return pn_error_plain(err, EINVAL, 0, "Adding an address: unknown flags 0x%x",
                                      flags);
        return addr_do(ctx, ns, ifname, addr, ADDR_ADD, flags, err);
}

PODNET_EXPORT int podnet_addr_del(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                  const podnet_cidr *addr, podnet_error **err)
{
        return addr_do(ctx, ns, ifname, addr, ADDR_DEL, 0, err);
}

PODNET_EXPORT int podnet_addr_has(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                  const podnet_cidr *addr, podnet_error **err)
{
        return addr_do(ctx, ns, ifname, addr, ADDR_HAS, 0, err);
}

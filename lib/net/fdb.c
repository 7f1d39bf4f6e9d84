/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Forwarding entries of a VXLAN device (bridge FDB, NTF_SELF): which underlay address
 * frames to a MAC address are sent to. The parser, the request builders (appending to a
 * message buffer, for one request or a pipelined batch), a dump into a sorted array for
 * a sync's diff, and the public one-shot calls: set, delete, dump.
 */
#include <limits.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/socket.h>

#include "core/cidr.h"
#include "net/net.h"

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

int pn_fdb_parse(const struct nlmsghdr *hdr, struct pn_fdb *f)
{
        const struct ndmsg *ndm;
        const struct nlattr *a;
        bool has_mac = false;
        int rem;

        if (hdr->nlmsg_len < NLMSG_LENGTH(sizeof(*ndm)))
                return -EBADMSG;
        ndm = NLMSG_DATA(hdr);
        if (ndm->ndm_family != AF_BRIDGE)
                return 0;
        memset(f, 0, sizeof(*f));
        pn_attr_for_each(a, hdr, sizeof(*ndm), rem)
        {
                switch (pn_attr_type(a)) {
                case NDA_LLADDR:
                        has_mac = pn_attr_copy(a, f->mac, 6);
                        break;
                case NDA_DST:
                        if (pn_attr_copy(a, f->dst, 4))
                                f->family = AF_INET;
                        else if (pn_attr_copy(a, f->dst, 16))
                                f->family = AF_INET6;
                        break;
                case NDA_VNI:
                case NDA_PORT:
                case NDA_IFINDEX:
                case NDA_SRC_VNI:
                case NDA_NH_ID:
                        /* what podnet never writes: a remote of its own VNI, port or device */
                        f->odd = true;
                        break;
                default:
                        break;
                }
        }
        if (!has_mac)
                return 0;
        f->ifindex = ndm->ndm_ifindex;
        f->state = ndm->ndm_state;
        f->flags = ndm->ndm_flags;
        return 1;
}

int pn_fdb_put(struct pn_nlbuf *b, int cmd, int nlflags, const struct pn_fdb *f)
{
        struct ndmsg ndm = {
            .ndm_family = AF_BRIDGE,
            .ndm_ifindex = f->ifindex,
            .ndm_flags = NTF_SELF,
            .ndm_state = cmd == RTM_NEWNEIGH ? NUD_PERMANENT : 0,
        };
        unsigned len = pn_family_len(f->family);

        if (cmd == RTM_NEWNEIGH && len == 0 && b->error == 0)
                b->error = -EINVAL; /* an entry without a remote: no message */
        pn_nlbuf_msg(b, cmd, nlflags, false, &ndm, sizeof(ndm));
        pn_nlbuf_put(b, NDA_LLADDR, f->mac, 6);
        if (len)
                pn_nlbuf_put(b, NDA_DST, f->dst, len);
        return b->error;
}

int pn_fdb_dump_put(struct pn_nlbuf *b, struct nl_sock *sk, int ifindex)
{
        int strict = 0;
        socklen_t len = sizeof(strict);

        /* A strict socket reads an ndmsg header and NDA_IFINDEX; any other reads, for
         * compatibility with old iproute2, an ifinfomsg whose ifi_index names the link
         * (an ndmsg there gets no filter at all: every link's FDB, unicast and
         * multicast lists included). */
        if (getsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &strict, &len) <
            0)
                strict = 0;
        if (strict) {
                struct ndmsg ndm = {.ndm_family = AF_BRIDGE};

                pn_nlbuf_msg(b, RTM_GETNEIGH, 0, true, &ndm, sizeof(ndm));
                if (ifindex > 0)
                        pn_nlbuf_put_u32(b, NDA_IFINDEX, (uint32_t)ifindex);
        } else {
                struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = ifindex};

                pn_nlbuf_msg(b, RTM_GETNEIGH, 0, true, &ifi, sizeof(ifi));
        }
        return b->error;
}

int pn_fdb_get_put(struct pn_nlbuf *b, int ifindex, const uint8_t mac[6])
{
        struct ndmsg ndm = {.ndm_family = AF_BRIDGE, .ndm_ifindex = ifindex, .ndm_flags = NTF_SELF};

        pn_nlbuf_msg(b, RTM_GETNEIGH, 0, true, &ndm, sizeof(ndm));
        pn_nlbuf_put(b, NDA_LLADDR, mac, 6);
        return b->error;
}

static int fdb_keep(const struct nlmsghdr *hdr, void *elem, void *userdata)
{
        const int *ifindex = userdata;
        struct pn_fdb *f = elem;
        int r = pn_fdb_parse(hdr, f);

        return r > 0 && *ifindex > 0 && f->ifindex != *ifindex ? 0 : r;
}

int pn_fdb_cmp(const void *a, const void *b)
{
        const struct pn_fdb *x = a, *y = b;
        int c;

        if (x->ifindex != y->ifindex)
                return x->ifindex < y->ifindex ? -1 : 1;
        c = memcmp(x->mac, y->mac, 6);
        if (c)
                return c;
        if (x->family != y->family)
                return x->family < y->family ? -1 : 1;
        return memcmp(x->dst, y->dst, pn_family_len(x->family));
}

/* The sort key of an entry among those of one link (pn_fdb_cmp()'s order there): the
 * MAC, the remote's family, then 15 bits of the remote. */
static uint64_t fdb_key_one_link(const void *a)
{
        const struct pn_fdb *x = a;

        return pn_key_be(x->mac, 6) | (uint64_t)(x->family > AF_INET) << 15 |
               pn_key_be(x->dst, 16) >> 49;
}

/* Of entries of any link: the link, then the first 4 bytes of the MAC. */
static uint64_t fdb_key(const void *a)
{
        const struct pn_fdb *x = a;

        return (uint64_t)(uint32_t)x->ifindex << 32 | pn_key_be(x->mac, 4) >> 32;
}

int pn_fdb_dump(struct nl_sock *sk, int ifindex, struct pn_fdb **ret, size_t *n)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        size_t cap = 0;
        void *v;
        int r;

        *ret = NULL;
        *n = 0;
        r = pn_fdb_dump_put(&b, sk, ifindex);
        if (r < 0)
                return r;
        /* the array of the thread's last dump, if it gave it back (a sync does) */
        v = pn_nl_scratch_take_kept(PN_NL_SCRATCH_FDB, &cap);
        cap /= sizeof(struct pn_fdb);
        r = pn_neigh_collect(sk, pn_nlbuf_hdr(&b, 0), sizeof(struct pn_fdb), fdb_keep, &ifindex,
                             &v, n, &cap);
        if (r < 0) {
                free(v);
                *n = 0;
                return r;
        }
        if (*n > 1)
                pn_keysort(v, *n, sizeof(struct pn_fdb), ifindex > 0 ? fdb_key_one_link : fdb_key,
                           pn_fdb_cmp);
        *ret = v;
        return 0;
}

bool pn_fdb_same(const struct pn_fdb *have, const struct pn_fdb *want)
{
        return (have->state & NUD_PERMANENT) && (have->flags & NTF_SELF) && !have->odd &&
               have->family == want->family &&
               memcmp(have->dst, want->dst, pn_family_len(want->family)) == 0 &&
               memcmp(have->mac, want->mac, 6) == 0;
}

/* ---- public calls ---- */

/* podnet_fdb_set() (RTM_NEWNEIGH, dst required) and podnet_fdb_del() (RTM_DELNEIGH,
 * dst optional). */
static int fdb_write(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, int cmd,
                     const char *mac, const podnet_cidr *dst, podnet_error **err)
{
        bool add = cmd == RTM_NEWNEIGH;
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        struct pn_fdb f = {0};
        struct nl_sock *sk;
        struct pn_addr a;
        char what[PODNET_CIDR_STRLEN] = "";
        int r;

        if (pn_mac_parse_unicast(mac, f.mac) < 0)
                return pn_error_plain(err, EINVAL, 0, "FDB entry on %s: invalid MAC address '%s'",
                                      ifname ? ifname : "(null)", mac ? mac : "");
        if ((add || dst) && pn_addr_from_cidr(&a, dst, 0) < 0)
                return pn_error_plain(err, EINVAL, 0, "FDB entry %s on %s: %s remote address", mac,
                                      ifname ? ifname : "(null)", dst ? "invalid" : "no");
        if (dst) {
                f.family = (uint8_t)a.family;
                memcpy(f.dst, a.addr, sizeof(f.dst));
                pn_net_format(f.family, f.dst, pn_family_bits(f.family), what, sizeof(what));
                *strrchr(what, '/') = '\0';
        }
        r = pn_net_link_for(ctx, ns, ifname, &sk, &f.ifindex, err);
        if (r < 0)
                return r;
        r = pn_fdb_put(&b, cmd, add ? NLM_F_CREATE | NLM_F_REPLACE : 0, &f);
        if (r >= 0)
                r = pn_nl_request(sk, pn_nlbuf_hdr(&b, 0), NULL, NULL);
        if (r == -ENOENT && !add)
                return 0;
        if (r < 0)
                return pn_error(err, -r, 0, "%s FDB entry %s%s%s on %s" PN_NS_FMT,
                                add ? "Setting" : "Deleting", mac, dst ? " to " : "", what, ifname,
                                PN_NS_ARG(ns));
        return 0;
}

PODNET_EXPORT int podnet_fdb_set(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                 const char *mac, const podnet_cidr *dst, podnet_error **err)
{
        return fdb_write(ctx, ns, ifname, RTM_NEWNEIGH, mac, dst, err);
}

PODNET_EXPORT int podnet_fdb_del(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                 const char *mac, const podnet_cidr *dst, podnet_error **err)
{
        return fdb_write(ctx, ns, ifname, RTM_DELNEIGH, mac, dst, err);
}

PODNET_EXPORT int podnet_fdb_dump(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                  podnet_fdb_fn fn, void *userdata, podnet_error **err)
{
        _cleanup_free_ struct pn_fdb *v = NULL;
        struct nl_sock *sk;
        size_t n;
        int ifindex, r;

        if (!fn)
                return pn_error_plain(err, EINVAL, 0, "podnet_fdb_dump: no callback");
        r = pn_net_link_for(ctx, ns, ifname, &sk, &ifindex, err);
        if (r < 0)
                return r;
        r = pn_fdb_dump(sk, ifindex, &v, &n);
        if (r < 0)
                return pn_error(err, -r, 0, "Listing FDB entries of %s" PN_NS_FMT, ifname,
                                PN_NS_ARG(ns));
        for (size_t i = 0; i < n; i++) {
                podnet_fdb_entry e = {.size = sizeof(e), .state = v[i].state, .flags = v[i].flags};
                podnet_cidr c;

                if (v[i].family) {
                        pn_cidr_init(&c, v[i].family, v[i].dst, pn_family_bits(v[i].family));
                        e.dst = &c;
                }
                pn_mac_format(v[i].mac, 6, e.mac, sizeof(e.mac));
                r = fn(&e, userdata);
                if (r < 0)
                        return r;
        }
        return (int)(n > INT_MAX ? INT_MAX : n);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Neighbour entries (ARP, IPv6 ND) of one link, as the overlay pins them: the parser,
 * the request builders (appending to a message buffer, which a sync sends whole as a
 * pipelined batch), a dump into a sorted array for its diff, and the public one-shot
 * calls: set, delete, dump.
 */
#include <limits.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "core/cidr.h"
#include "net/net.h"

int pn_neigh_parse(const struct nlmsghdr *hdr, struct pn_neigh *n)
{
        const struct ndmsg *ndm;
        const struct nlattr *a;
        bool has_dst = false;
        unsigned len;
        int rem;

        if (hdr->nlmsg_len < NLMSG_LENGTH(sizeof(*ndm)))
                return -EBADMSG;
        ndm = NLMSG_DATA(hdr);
        len = pn_family_len(ndm->ndm_family);
        if (len == 0)
                return 0;
        memset(n, 0, sizeof(*n));
        pn_attr_for_each(a, hdr, sizeof(*ndm), rem)
        {
                switch (pn_attr_type(a)) {
                case NDA_DST:
                        has_dst = pn_attr_copy(a, n->addr, len);
                        break;
                case NDA_LLADDR:
                        n->has_mac = pn_attr_copy(a, n->mac, 6);
                        break;
                default:
                        break;
                }
        }
        if (!has_dst)
                return 0;
        n->family = ndm->ndm_family;
        n->flags = ndm->ndm_flags;
        n->state = ndm->ndm_state;
        n->ifindex = ndm->ndm_ifindex;
        return 1;
}

int pn_neigh_put(struct pn_nlbuf *b, int cmd, int nlflags, const struct pn_neigh *n)
{
        struct ndmsg ndm = {
            .ndm_family = n->family,
            .ndm_ifindex = n->ifindex,
            .ndm_state = cmd == RTM_NEWNEIGH ? NUD_PERMANENT : 0,
        };
        unsigned len = pn_family_len(n->family);

        if (len == 0 && b->error == 0)
                b->error = -EAFNOSUPPORT; /* no message: the batch must not run */
        pn_nlbuf_msg(b, cmd, nlflags, false, &ndm, sizeof(ndm));
        pn_nlbuf_put(b, NDA_DST, n->addr, len);
        if (cmd == RTM_NEWNEIGH)
                pn_nlbuf_put(b, NDA_LLADDR, n->mac, 6);
        return b->error;
}

int pn_neigh_dump_put(struct pn_nlbuf *b, int family, int ifindex)
{
        /* The link goes in NDA_IFINDEX: a strict socket refuses a dump request whose
         * header names one, and both kinds of socket filter by the attribute. */
        struct ndmsg ndm = {.ndm_family = (uint8_t)family};

        pn_nlbuf_msg(b, RTM_GETNEIGH, 0, true, &ndm, sizeof(ndm));
        if (ifindex > 0)
                pn_nlbuf_put_u32(b, NDA_IFINDEX, (uint32_t)ifindex);
        return b->error;
}

int pn_neigh_get_put(struct pn_nlbuf *b, int family, int ifindex, const uint8_t *addr)
{
        struct ndmsg ndm = {.ndm_family = (uint8_t)family, .ndm_ifindex = ifindex};

        pn_nlbuf_msg(b, RTM_GETNEIGH, 0, true, &ndm, sizeof(ndm));
        pn_nlbuf_put(b, NDA_DST, addr, pn_family_len(family));
        return b->error;
}

/* ---- a dump into an array (for neighbour and FDB entries alike) ---- */

struct collect {
        size_t size; /* of an element */
        int (*parse)(const struct nlmsghdr *hdr, void *elem, void *userdata);
        void *userdata;
        void *v;
        size_t start, n, cap; /* start: what the caller collected before this dump */
};

static int collect_reply(struct nlmsghdr *hdr, void *userdata)
{
        struct collect *c = userdata;
        int r;

        if (hdr->nlmsg_type != RTM_NEWNEIGH)
                return 0;
        if (pn_grow(&c->v, &c->cap, c->n + 1, c->size) < 0)
                return -ENOMEM;
        r = c->parse(hdr, (char *)c->v + c->n * c->size, c->userdata);
        if (r > 0)
                c->n++;
        return r < 0 ? r : 0;
}

static void collect_restart(void *userdata)
{
        struct collect *c = userdata;

        c->n = c->start;
}

int pn_neigh_collect(struct nl_sock *sk, struct nlmsghdr *req, size_t size,
                     int (*parse)(const struct nlmsghdr *hdr, void *elem, void *userdata),
                     void *userdata, void **v, size_t *n, size_t *cap)
{
        struct collect c = {.size = size,
                            .parse = parse,
                            .userdata = userdata,
                            .v = *v,
                            .start = *n,
                            .n = *n,
                            .cap = *cap};
        int r;

        r = pn_nl_dump(sk, req, collect_reply, collect_restart, &c);
        *v = c.v;
        *cap = c.cap;
        *n = r < 0 ? c.start : c.n;
        return r;
}

/* ---- neighbour dumps ---- */

static int neigh_keep(const struct nlmsghdr *hdr, void *elem, void *userdata)
{
        const int *ifindex = userdata;
        struct pn_neigh *n = elem;
        int r = pn_neigh_parse(hdr, n);

        /* the kernel filters by link; an old one may not, so look again */
        return r > 0 && *ifindex > 0 && n->ifindex != *ifindex ? 0 : r;
}

int pn_neigh_cmp(const void *a, const void *b)
{
        const struct pn_neigh *x = a, *y = b;

        if (x->ifindex != y->ifindex)
                return x->ifindex < y->ifindex ? -1 : 1;
        if (x->family != y->family)
                return x->family < y->family ? -1 : 1;
        return pn_addr_cmp(x->addr, y->addr, pn_family_len(x->family));
}

/* The sort key of an entry among those of one link (pn_neigh_cmp()'s order there): the
 * family, then the first 63 bits of the address. */
static uint64_t neigh_key_one_link(const void *a)
{
        const struct pn_neigh *x = a;

        return (uint64_t)(x->family != AF_INET) << 63 | pn_key_be(x->addr, 16) >> 1;
}

/* Of entries of any link: the link, the family, then 31 bits of the address. */
static uint64_t neigh_key(const void *a)
{
        const struct pn_neigh *x = a;

        return (uint64_t)(uint32_t)x->ifindex << 32 | (uint64_t)(x->family != AF_INET) << 31 |
               pn_key_be(x->addr, 16) >> 33;
}

int pn_neigh_dump(struct nl_sock *sk, int family, int ifindex, struct pn_neigh **ret, size_t *n)
{
        static const int families[] = {AF_INET, AF_INET6};
        size_t cap = 0;
        void *v;
        int r = 0;

        *ret = NULL;
        *n = 0;
        if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
                return -EAFNOSUPPORT;
        /* the array of the thread's last dump, if it gave it back (a sync does) */
        v = pn_nl_scratch_take_kept(PN_NL_SCRATCH_NEIGH, &cap);
        cap /= sizeof(struct pn_neigh);
        /* one dump per family: an AF_UNSPEC neighbour dump also walks every bridge FDB */
        for (size_t i = 0; i < ELEMENTSOF(families) && r >= 0; i++) {
                _cleanup_nlbuf_ struct pn_nlbuf b = {0};

                if (family != AF_UNSPEC && family != families[i])
                        continue;
                r = pn_neigh_dump_put(&b, families[i], ifindex);
                if (r >= 0)
                        r = pn_neigh_collect(sk, pn_nlbuf_hdr(&b, 0), sizeof(struct pn_neigh),
                                             neigh_keep, &ifindex, &v, n, &cap);
        }
        if (r < 0) {
                free(v);
                *n = 0;
                return r;
        }
        if (*n > 1)
                pn_keysort(v, *n, sizeof(struct pn_neigh),
                           ifindex > 0 ? neigh_key_one_link : neigh_key, pn_neigh_cmp);
        *ret = v;
        return 0;
}

bool pn_neigh_same(const struct pn_neigh *have, const struct pn_neigh *want)
{
        return (have->state & NUD_PERMANENT) && have->has_mac &&
               memcmp(have->mac, want->mac, 6) == 0;
}

/* ---- public calls ---- */

/* podnet_neigh_set() (RTM_NEWNEIGH, with mac) and podnet_neigh_del() (RTM_DELNEIGH). */
static int neigh_write(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, int cmd,
                       const podnet_cidr *addr, const char *mac, podnet_error **err)
{
        bool add = cmd == RTM_NEWNEIGH;
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        struct pn_neigh n = {0};
        struct nl_sock *sk;
        struct pn_addr a;
        char what[PODNET_CIDR_STRLEN];
        int r;

        if (add && pn_mac_parse_unicast(mac, n.mac) < 0)
                return pn_error_plain(err, EINVAL, 0,
                                      "Neighbour entry on %s: invalid MAC address '%s'",
                                      ifname ? ifname : "(null)", mac ? mac : "");
        if (pn_addr_from_cidr(&a, addr, 0) < 0)
                return pn_error_plain(err, EINVAL, 0, "Neighbour entry on %s: invalid address",
                                      ifname ? ifname : "(null)");
        n.family = (uint8_t)a.family;
        memcpy(n.addr, a.addr, sizeof(n.addr));
        r = pn_net_link_for(ctx, ns, ifname, &sk, &n.ifindex, err);
        if (r < 0)
                return r;
        r = pn_neigh_put(&b, cmd, add ? NLM_F_CREATE | NLM_F_REPLACE : 0, &n);
        if (r >= 0)
                r = pn_nl_request(sk, pn_nlbuf_hdr(&b, 0), NULL, NULL);
        if (r == -ENOENT && !add)
                return 0;
        if (r < 0) {
                pn_net_format(n.family, n.addr, pn_family_bits(n.family), what, sizeof(what));
                *strrchr(what, '/') = '\0';
                return pn_error(err, -r, 0, "%s neighbour entry %s%s%s on %s" PN_NS_FMT,
                                add ? "Setting" : "Deleting", what, add ? " -> " : "",
                                add ? mac : "", ifname, PN_NS_ARG(ns));
        }
        return 0;
}

PODNET_EXPORT int podnet_neigh_set(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                   const podnet_cidr *addr, const char *mac, podnet_error **err)
{
        return neigh_write(ctx, ns, ifname, RTM_NEWNEIGH, addr, mac, err);
}

PODNET_EXPORT int podnet_neigh_del(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                   const podnet_cidr *addr, podnet_error **err)
{
        return neigh_write(ctx, ns, ifname, RTM_DELNEIGH, addr, NULL, err);
}

PODNET_EXPORT int podnet_neigh_dump(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                    int family, podnet_neigh_fn fn, void *userdata,
                                    podnet_error **err)
{
        _cleanup_free_ struct pn_neigh *v = NULL;
        struct nl_sock *sk;
        size_t n;
        int ifindex, r;

        if (!fn)
                return pn_error_plain(err, EINVAL, 0, "podnet_neigh_dump: no callback");
        if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
                return pn_error_plain(
                    err, EINVAL, 0,
                    "Listing neighbour entries of %s: family %d is neither IPv4 nor IPv6",
                    ifname ? ifname : "(null)", family);
        r = pn_net_link_for(ctx, ns, ifname, &sk, &ifindex, err);
        if (r < 0)
                return r;
        r = pn_neigh_dump(sk, family, ifindex, &v, &n);
        if (r < 0)
                return pn_error(err, -r, 0, "Listing neighbour entries of %s" PN_NS_FMT, ifname,
                                PN_NS_ARG(ns));
        for (size_t i = 0; i < n; i++) {
                podnet_neigh_entry e = {
                    .size = sizeof(e), .state = v[i].state, .flags = v[i].flags};
                podnet_cidr c;

                pn_cidr_init(&c, v[i].family, v[i].addr, pn_family_bits(v[i].family));
                e.addr = &c;
                pn_mac_format(v[i].mac, v[i].has_mac ? 6 : 0, e.mac, sizeof(e.mac));
                r = fn(&e, userdata);
                if (r < 0)
                        return r;
        }
        return (int)(n > INT_MAX ? INT_MAX : n);
}

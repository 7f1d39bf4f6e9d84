/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Peer reachability for the route sync: the kernel's route to each peer address, asked
 * in one pipelined batch, and why an address is unusable as a next hop (not routable,
 * this node's own, reached only through another gateway).
 */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include "agent/route-sync.h"

void pn_addr_text(int family, const void *a, char *buf, size_t size)
{
        if (!inet_ntop(family, a, buf, (socklen_t)size))
                snprintf(buf, size, "?");
}

static int lookup_compare(const void *a, const void *b)
{
        const struct pn_lookup *x = a, *y = b;

        if (x->family != y->family)
                return x->family < y->family ? -1 : 1;
        return memcmp(x->addr, y->addr, 16);
}

/* Why `l` is not usable as a next hop, or NULL when it is. *why is the caller's. */
static int unreachable_reason(const struct pn_lookup *l, char **why)
{
        char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
        int r = 0;

        *why = NULL;
        if (!l->error && l->reply.type == RTN_UNICAST && l->reply.oif && !l->reply.has_gw)
                return 0; /* usable: the common case, which formats nothing */
        pn_addr_text(l->family, l->addr, a, sizeof(a));
        if (l->error)
                r = asprintf(why, "no route to %s (%s): not routable on this network", a,
                             strerror(-l->error));
        else if (l->reply.type == RTN_LOCAL)
                r = asprintf(why, "%s is an address of this node", a);
        else if (l->reply.type != RTN_UNICAST || !l->reply.oif)
                r = asprintf(why,
                             "the route to %s is not a unicast route: not routable on "
                             "this network",
                             a);
        else if (l->reply.has_gw) {
                pn_addr_text(l->family, l->reply.gw, g, sizeof(g));
                r = asprintf(why,
                             "%s is reached via gateway %s, not directly: not routable on "
                             "this network",
                             a, g);
        }
        return r < 0 ? -ENOMEM : 0;
}

const struct pn_lookup *pn_lookup_find(const struct pn_lookup *v, size_t n, int family,
                                       const uint8_t *addr)
{
        struct pn_lookup key = {.family = (uint8_t)family};

        memcpy(key.addr, addr, pn_family_len(family));
        return n ? bsearch(&key, v, n, sizeof(*v), lookup_compare) : NULL;
}

void pn_lookups_free(struct pn_lookup *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i].why);
        free(v);
}

static int lookup_reply(size_t i, struct nlmsghdr *hdr, void *userdata)
{
        struct pn_lookup *v = userdata;

        if (hdr->nlmsg_type == RTM_NEWROUTE && pn_route_parse(hdr, &v[i].reply) < 0)
                return -EBADMSG;
        return 0;
}

int pn_lookups_resolve(struct nl_sock *sk, struct pn_lookup *v, size_t n, size_t *n_unique)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        size_t u = 0;
        int r = 0;

        qsort(v, n, sizeof(*v), lookup_compare);
        for (size_t i = 0; i < n; i++)
                if (u == 0 || lookup_compare(&v[u - 1], &v[i]) != 0)
                        v[u++] = v[i];
        *n_unique = u;
        if (u == 0)
                return 0;
        for (size_t i = 0; i < u; i++)
                pn_route_lookup_put(&b, v[i].family, v[i].addr, 0);
        r = pn_nl_batch(sk, &b, lookup_reply, v);
        for (size_t i = 0; i < u; i++) {
                v[i].error = i < b.n ? pn_nl_req_error(&b.reqs[i]) : -EIO;
                if (r >= 0 && unreachable_reason(&v[i], &v[i].why) < 0)
                        r = -ENOMEM;
        }
        return r;
}

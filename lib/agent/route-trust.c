/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How far a node list is trusted: the desired routes, and the rules a pod CIDR claim must
 * meet to get one (inside the cluster CIDRs, clear of this node's addresses, gateways,
 * on-link prefixes and others' routes, overlapping no other claim, via a peer address that
 * is no pod's and no network's). The list comes from other machines; one node that can
 * write its own Node object must not be able to steal traffic. Sorted spans keep every
 * check O(n log n) for clusters of thousands of nodes.
 */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include "core/cidr.h"
#include "agent/routes.h"

/* A prefix or address as a closed interval of the 128-bit address space. */
struct span {
        pn_addr128 lo, hi;
        uint32_t ref; /* the caller's: a claim or node index */
        uint8_t family, len;
};

/* Spans sorted by (family, lo, prefix length); maxhi[i] is the highest hi among the spans
 * of v[i]'s family up to i, so that "does anything overlap [lo, hi]" is one binary
 * search. Disjoint spans (a consistent node list) need no maxhi: it is v[i].hi. */
struct spanset {
        struct span *v;
        pn_addr128 *maxhi; /* NULL: disjoint */
        size_t n;
};

static pn_addr128 maxhi_at(const struct spanset *s, size_t i)
{
        return s->maxhi ? s->maxhi[i] : s->v[i].hi;
}

static void spanset_done(struct spanset *s)
{
        free(s->v);
        free(s->maxhi);
        s->v = NULL;
        s->maxhi = NULL;
        s->n = 0;
}

static void span_init(struct span *s, const podnet_cidr *c, size_t ref)
{
        pn_addr128 host = pn_cidr_hostmask(c);

        s->lo = pn_a128_and(pn_cidr_a128(c), pn_a128_not(host));
        s->hi = pn_a128_or(s->lo, host);
        s->ref = (uint32_t)ref;
        s->family = (uint8_t)c->family;
        s->len = (uint8_t)c->prefixlen;
}

static int span_compare(const void *a, const void *b)
{
        const struct span *x = a, *y = b;
        int r;

        if (x->family != y->family)
                return x->family < y->family ? -1 : 1;
        r = pn_a128_cmp(x->lo, y->lo);
        if (r != 0)
                return r;
        return x->len < y->len ? -1 : x->len > y->len;
}

static int spanset_alloc(struct spanset *s, size_t cap)
{
        /* every entry is written before it is read: no zeroing; a fresh process pays a
         * page fault for every page touched (5000 claims: 200 KiB) */
        s->n = 0;
        s->maxhi = NULL;
        s->v = malloc((cap + 1) * sizeof(*s->v));
        return s->v ? 0 : -ENOMEM;
}

static int spanset_sort(struct spanset *s)
{
        bool disjoint = true;

        /* node lists mostly come in address order already: a check is cheaper than qsort */
        for (size_t i = 1; i < s->n; i++)
                if (span_compare(&s->v[i - 1], &s->v[i]) > 0) {
                        qsort(s->v, s->n, sizeof(*s->v), span_compare);
                        break;
                }
        for (size_t i = 1; i < s->n && disjoint; i++)
                disjoint = s->v[i - 1].family != s->v[i].family ||
                           pn_a128_cmp(s->v[i - 1].hi, s->v[i].lo) < 0;
        if (disjoint)
                return 0;
        s->maxhi = malloc((s->n + 1) * sizeof(*s->maxhi));
        if (!s->maxhi)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++)
                s->maxhi[i] = i > 0 && s->v[i - 1].family == s->v[i].family &&
                                      pn_a128_cmp(s->maxhi[i - 1], s->v[i].hi) > 0
                                  ? s->maxhi[i - 1]
                                  : s->v[i].hi;
        return 0;
}

/* Fills `s` with the prefixes of `rt`, less default routes (no prefix to protect: every
 * pod route is more specific than one). */
static int spanset_from_rt(struct spanset *s, const struct pn_rt *rt, size_t n)
{
        if (spanset_alloc(s, n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                podnet_cidr c;
                if (rt[i].dst_len == 0 ||
                    pn_cidr_init(&c, rt[i].family, rt[i].dst, rt[i].dst_len) < 0)
                        continue;
                span_init(&s->v[s->n++], &c, i);
        }
        return spanset_sort(s);
}

/* First index whose (family, lo) is at or above (family, x), or strictly above it with
 * `past_equal`. */
static size_t spanset_bound(const struct spanset *s, int family, pn_addr128 x, bool past_equal)
{
        size_t lo = 0, hi = s->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct span *m = &s->v[mid];
                int c = m->family != family ? (m->family < family ? -1 : 1) : pn_a128_cmp(m->lo, x);
                if (c < 0 || (c == 0 && past_equal))
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* A span overlapping `q` (same family), or NULL. */
static const struct span *spanset_overlap(const struct spanset *s, const struct span *q)
{
        size_t k;

        /* below the lowest start or above the highest end of a set of q's family alone
         * (5,000 node addresses against 5,000 pod CIDRs): no search */
        if (s->n == 0 || (s->v[0].family == q->family && s->v[s->n - 1].family == q->family &&
                          (pn_a128_cmp(q->hi, s->v[0].lo) < 0 ||
                           pn_a128_cmp(maxhi_at(s, s->n - 1), q->lo) < 0)))
                return NULL;
        k = spanset_bound(s, q->family, q->hi, true);

        /* spans starting at or below q->hi: one of them reaching q->lo overlaps */
        while (k-- > 0 && s->v[k].family == q->family && pn_a128_cmp(maxhi_at(s, k), q->lo) >= 0)
                if (pn_a128_cmp(s->v[k].hi, q->lo) >= 0)
                        return &s->v[k];
        return NULL;
}

/* A span inside `q` or equal to it, or NULL. */
static const struct span *spanset_inside(const struct spanset *s, const struct span *q)
{
        for (size_t k = spanset_bound(s, q->family, q->lo, false);
             k < s->n && s->v[k].family == q->family && pn_a128_cmp(s->v[k].lo, q->hi) <= 0; k++)
                if (pn_a128_cmp(s->v[k].hi, q->hi) <= 0)
                        return &s->v[k];
        return NULL;
}

static bool span_inside(const struct span *a, const struct span *b)
{
        return a->family == b->family && pn_a128_cmp(b->lo, a->lo) <= 0 &&
               pn_a128_cmp(a->hi, b->hi) <= 0;
}

static bool span_overlaps(const struct span *a, const struct span *b)
{
        return a->family == b->family && pn_a128_cmp(a->lo, b->hi) <= 0 &&
               pn_a128_cmp(b->lo, a->hi) <= 0;
}

/* "10.1.0.0/16"; with `host`, a host prefix as its address alone ("10.1.0.7"). */
static const char *fmt_span(const struct span *s, bool host, char *buf, size_t size)
{
        podnet_cidr c = {.family = s->family, .prefixlen = s->len};
        int r;

        pn_cidr_set_a128(&c, s->lo);
        r = host && s->len == pn_family_bits(s->family) ? pn_addr_format(&c, buf, size)
                                                        : podnet_cidr_format(&c, buf, size);
        if (r < 0)
                snprintf(buf, size, "?");
        return buf;
}

static const char *span_str(const struct span *s, char *buf, size_t size)
{
        return fmt_span(s, false, buf, size);
}

static const char *addr_str(const struct span *s, char *buf, size_t size)
{
        return fmt_span(s, true, buf, size);
}

#define SPAN_STRLEN (PODNET_CIDR_STRLEN + 8)

/* *why = the formatted reason; 0, or -ENOMEM (then *why is NULL). */
static int refuse(char **why, const char *fmt, ...) _printf_(2, 3);
static int refuse(char **why, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(why, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *why = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* --- the rules ---------------------------------------------------------------------- */

/* What a pod CIDR may lie in where no cluster CIDR of its family is given: RFC 1918, the
 * shared address space of RFC 6598 and IPv6 unique local addresses. */
static const char *const private_ranges[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                             "100.64.0.0/10", "fc00::/7"};

struct trust {
        const podnet_nodes *nodes;
        int self;
        struct spanset cluster, local, gateway, onlink, foreign;
        bool explicit4, explicit6;
        struct span *own; /* this node's accepted pod CIDRs */
        size_t n_own;
};

static void trust_done(struct trust *t)
{
        spanset_done(&t->cluster);
        spanset_done(&t->local);
        spanset_done(&t->gateway);
        spanset_done(&t->onlink);
        spanset_done(&t->foreign);
        free(t->own);
}

static bool explicit_cluster(const struct trust *t, int family)
{
        return family == AF_INET ? t->explicit4 : t->explicit6;
}

static const char *family_name(int family)
{
        return family == AF_INET ? "IPv4" : "IPv6";
}

static int trust_init(struct trust *t, const podnet_nodes *nodes, int self,
                      const struct pn_underlay *u)
{
        int r;

        memset(t, 0, sizeof(*t));
        t->nodes = nodes;
        t->self = self;
        r = spanset_from_rt(&t->local, u->local, u->n_local);
        if (r >= 0)
                r = spanset_from_rt(&t->gateway, u->gateway, u->n_gateway);
        if (r >= 0)
                r = spanset_from_rt(&t->onlink, u->onlink, u->n_onlink);
        if (r >= 0)
                r = spanset_from_rt(&t->foreign, u->foreign, u->n_foreign);
        if (r >= 0)
                r = spanset_alloc(&t->cluster, u->n_cluster + ELEMENTSOF(private_ranges));
        if (r < 0)
                return r;
        for (size_t i = 0; i < u->n_cluster; i++) {
                const podnet_cidr *c = u->cluster[i];
                if (!c || (c->family != AF_INET && c->family != AF_INET6))
                        continue;
                span_init(&t->cluster.v[t->cluster.n++], c, i);
                if (c->family == AF_INET)
                        t->explicit4 = true;
                else
                        t->explicit6 = true;
        }
        for (size_t i = 0; i < ELEMENTSOF(private_ranges); i++) {
                podnet_cidr c;
                if (pn_cidr_parse_into(&c, private_ranges[i]) < 0)
                        return -EINVAL;
                if (!explicit_cluster(t, c.family))
                        span_init(&t->cluster.v[t->cluster.n++], &c, 0);
        }
        return spanset_sort(&t->cluster);
}

/* Whether the claim lies in a cluster CIDR of its family (or, with none given, in the
 * private ranges). */
static bool in_cluster(const struct trust *t, const struct span *q)
{
        for (size_t i = 0; i < t->cluster.n; i++)
                if (span_inside(q, &t->cluster.v[i]))
                        return true;
        return false;
}

static int refuse_cluster(const struct trust *t, const struct span *q, char **why)
{
        char list[8 * SPAN_STRLEN] = "", b[SPAN_STRLEN];
        size_t len = 0, n = 0;

        if (!explicit_cluster(t, q->family))
                return refuse(why,
                              "pod CIDR %s is outside the private address ranges (no %s "
                              "cluster CIDR given)",
                              span_str(q, b, sizeof(b)), family_name(q->family));
        for (size_t i = 0; i < t->cluster.n && len < sizeof(list); i++) {
                char c[SPAN_STRLEN];
                if (t->cluster.v[i].family != q->family)
                        continue;
                len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", n++ ? ", " : "",
                                        span_str(&t->cluster.v[i], c, sizeof(c)));
        }
        return refuse(why, "pod CIDR %s is outside the cluster CIDR%s %s",
                      span_str(q, b, sizeof(b)), n > 1 ? "s" : "", list);
}

/* The rules for every claim, this node's too: not a default route, inside the cluster
 * CIDRs. *why: the reason one is broken, or NULL; 0 or -ENOMEM. */
static int judge_space(const struct trust *t, const struct span *q, char **why)
{
        char b[SPAN_STRLEN];

        *why = NULL;
        if (q->len == 0)
                return refuse(why, "pod CIDR %s is a default route", span_str(q, b, sizeof(b)));
        if (!in_cluster(t, q))
                return refuse_cluster(t, q, why);
        return 0;
}

/* Shared by this node's claims and the peers'. */
static int refuse_gateway(const struct span *q, const struct span *x, char **why)
{
        char b[SPAN_STRLEN], o[SPAN_STRLEN];

        return refuse(why, "pod CIDR %s covers gateway %s of this node's routes",
                      span_str(q, b, sizeof(b)), addr_str(x, o, sizeof(o)));
}

/* This node's own pod CIDR: it goes into the CNI configuration and becomes the bridge's
 * on-link prefix, so it must not be a default route, leave the cluster CIDRs, cover this
 * node's own addresses or a gateway, or be carved out of an on-link (underlay) prefix.
 * Addresses of this node inside it (the bridge's) are its own business. */
static int judge_own(const struct trust *t, const struct span *q, char **why)
{
        char b[SPAN_STRLEN], o[SPAN_STRLEN];
        /* only an address of the claim's family can lie in it */
        const podnet_cidr *a = podnet_nodes_address(t->nodes, (size_t)t->self, q->family);
        const struct span *x;
        struct span s;
        int r = judge_space(t, q, why);

        if (r < 0 || *why)
                return r;
        if (a) {
                span_init(&s, a, 0);
                if (span_overlaps(q, &s))
                        return refuse(why, "pod CIDR %s covers the address %s of node %s",
                                      span_str(q, b, sizeof(b)), addr_str(&s, o, sizeof(o)),
                                      podnet_nodes_name(t->nodes, (size_t)t->self));
        }
        if ((x = spanset_overlap(&t->gateway, q)))
                return refuse_gateway(q, x, why);
        for (size_t i = 0; i < t->onlink.n; i++) {
                x = &t->onlink.v[i];
                if (span_inside(q, x) && x->len < q->len)
                        return refuse(why, "pod CIDR %s lies inside on-link prefix %s of this node",
                                      span_str(q, b, sizeof(b)), span_str(x, o, sizeof(o)));
        }
        return 0;
}

/* A peer's claim on its own: the checks that do not depend on other peers, so that a claim
 * refused here (0.0.0.0/0, say) cannot get anyone else refused. */
static int judge_peer(const struct trust *t, const struct span *q, char **why)
{
        char b[SPAN_STRLEN], o[SPAN_STRLEN];
        const struct span *x;
        int r = judge_space(t, q, why);

        if (r < 0 || *why)
                return r;
        for (size_t i = 0; i < t->n_own; i++)
                if (span_overlaps(q, &t->own[i]))
                        return refuse(why, "pod CIDR %s overlaps this node's pod CIDR %s",
                                      span_str(q, b, sizeof(b)),
                                      span_str(&t->own[i], o, sizeof(o)));
        if ((x = spanset_overlap(&t->local, q)))
                return refuse(why, "pod CIDR %s covers address %s of this node",
                              span_str(q, b, sizeof(b)), addr_str(x, o, sizeof(o)));
        if ((x = spanset_overlap(&t->gateway, q)))
                return refuse_gateway(q, x, why);
        if ((x = spanset_overlap(&t->onlink, q)))
                return refuse(why, "pod CIDR %s overlaps on-link prefix %s of this node",
                              span_str(q, b, sizeof(b)), span_str(x, o, sizeof(o)));
        /* without a cluster CIDR nothing says which space is the pods': a route someone
         * else installed marks its prefix as theirs (being more specific is what a pod
         * route is; equal or wider takes it over) */
        if (!explicit_cluster(t, q->family) && (x = spanset_inside(&t->foreign, q)))
                return refuse(why, "pod CIDR %s equals or covers route %s that podnet does not own",
                              span_str(q, b, sizeof(b)), span_str(x, o, sizeof(o)));
        return 0;
}

/* --- desired routes ----------------------------------------------------------------- */

/* Per claim (a node's pod CIDR, numbered in list order), written only when it is refused:
 * for 5000 nodes this array stays untouched zero pages. */
struct claim {
        char *why;         /* refused on its own (judge_own/judge_peer) */
        uint32_t other;    /* 1 + an overlapping claim of another node, 0: none */
        uint32_t n_other;  /* how many */
        uint32_t covers;   /* 1 + a node whose address lies inside it, 0: none */
        uint8_t cover_fam; /* that address's family */
};

struct desired {
        struct trust t; /* also the node list and this node */
        struct claim *cl;
        size_t n_cl;
        size_t *first;          /* per node: number of its first claim; first[n_nodes] = n_cl */
        struct spanset claimed; /* accepted own claims and peer claims not refused on their
                                 * own; ref: claim number */
        char **addr_why;        /* per node and family (2i: IPv4, 2i + 1: IPv6) */
};

static void desired_done(struct desired *d)
{
        size_t n_nodes = podnet_nodes_count(d->t.nodes);

        for (size_t i = 0; d->cl && i < d->n_cl; i++)
                free(d->cl[i].why);
        for (size_t i = 0; d->addr_why && i < 2 * n_nodes; i++)
                free(d->addr_why[i]);
        free(d->addr_why);
        free(d->cl);
        free(d->first);
        spanset_done(&d->claimed);
        trust_done(&d->t);
}

/* The node of claim k. */
static size_t claim_node(const struct desired *d, size_t k)
{
        size_t lo = 0, hi = podnet_nodes_count(d->t.nodes);

        while (hi - lo > 1) { /* last node whose first claim is <= k */
                size_t mid = lo + (hi - lo) / 2;
                if (d->first[mid] <= k)
                        lo = mid;
                else
                        hi = mid;
        }
        return lo;
}

static void claim_span(const struct desired *d, size_t k, struct span *s)
{
        size_t i = claim_node(d, k);

        span_init(s, podnet_nodes_pod_cidr(d->t.nodes, i, k - d->first[i]), k);
}

/* Overlapping claims of different nodes: sorted by (family, start, length), a claim
 * overlaps exactly the claims on the stack of those containing its start. Every party is
 * marked, none wins by order. (This node's accepted claims are in the set too: no peer
 * claim left overlaps them.) */
static int mark_overlaps(struct desired *d)
{
        const struct spanset *set = &d->claimed;
        _cleanup_free_ uint32_t *stack = malloc((set->n + 1) * sizeof(*stack));
        size_t depth = 0;

        if (!stack)
                return -ENOMEM;
        for (size_t k = 0; k < set->n; k++) {
                const struct span *q = &set->v[k], *top;
                while (depth > 0 && (set->v[stack[depth - 1]].family != q->family ||
                                     pn_a128_cmp(set->v[stack[depth - 1]].hi, q->lo) < 0))
                        depth--;
                top = depth > 0 ? &set->v[stack[depth - 1]] : NULL;
                if (top && claim_node(d, top->ref) != claim_node(d, q->ref)) {
                        struct claim *a = &d->cl[top->ref], *b = &d->cl[q->ref];
                        if (!a->other)
                                a->other = q->ref + 1;
                        if (!b->other)
                                b->other = top->ref + 1;
                        a->n_other++;
                        b->n_other++;
                }
                stack[depth++] = (uint32_t)k;
        }
        return 0;
}

/* A node's address of `family` against the claims: a claim of another node that covers
 * it is refused (the list contradicts itself); a peer's address that lies in a claim
 * (this node's: a route through a local pod; a peer's: through that peer) or is the
 * network or broadcast address of an on-link prefix cannot be its routes' gateway (*why,
 * or NULL). */
static int judge_address(struct desired *d, size_t node, int family, char **why)
{
        const podnet_cidr *a = podnet_nodes_address(d->t.nodes, node, family);
        const char *name = podnet_nodes_name(d->t.nodes, node);
        const struct spanset *onlink = &d->t.onlink;
        char b[SPAN_STRLEN], o[SPAN_STRLEN];
        const struct span *x;
        struct span s;

        *why = NULL;
        if (!a)
                return 0;
        span_init(&s, a, node);
        if ((x = spanset_overlap(&d->claimed, &s))) {
                size_t m = claim_node(d, x->ref);
                if ((int)m != d->t.self && m != node && !d->cl[x->ref].covers) {
                        d->cl[x->ref].covers = (uint32_t)node + 1;
                        d->cl[x->ref].cover_fam = (uint8_t)family;
                }
                if ((int)node == d->t.self)
                        return 0;
                addr_str(&s, b, sizeof(b));
                if ((int)m == d->t.self)
                        return refuse(why,
                                      "address %s of node %s is inside this node's pod CIDR %s", b,
                                      name, span_str(x, o, sizeof(o)));
                return refuse(why, "address %s of node %s is inside pod CIDR %s of node %s", b,
                              name, span_str(x, o, sizeof(o)), podnet_nodes_name(d->t.nodes, m));
        }
        if ((int)node == d->t.self)
                return 0;
        for (size_t k = spanset_bound(onlink, family, s.lo, true);
             k-- > 0 && onlink->v[k].family == family &&
             pn_a128_cmp(maxhi_at(onlink, k), s.lo) >= 0;) {
                const struct span *p = &onlink->v[k];
                unsigned host = pn_family_bits(p->family) - p->len;
                /* /31, /32 (RFC 3021) and /127, /128 have no network or broadcast address */
                if (host < 2 || pn_a128_cmp(p->hi, s.lo) < 0)
                        continue;
                if (!pn_a128_eq(p->lo, s.lo) && !(family == AF_INET && pn_a128_eq(p->hi, s.lo)))
                        continue;
                addr_str(&s, b, sizeof(b));
                return refuse(why, "address %s of node %s is the %s address of on-link prefix %s",
                              b, name, pn_a128_eq(p->lo, s.lo) ? "network" : "broadcast",
                              span_str(p, o, sizeof(o)));
        }
        return 0;
}

/* Judges every claim and address; -ENOMEM or 0. */
static int judge_all(struct desired *d)
{
        size_t n_nodes = podnet_nodes_count(d->t.nodes), n_own = 0;
        int self = d->t.self;

        d->first = malloc((n_nodes + 1) * sizeof(*d->first));
        d->addr_why = calloc(2 * n_nodes + 1, sizeof(*d->addr_why));
        if (!d->first || !d->addr_why)
                return -ENOMEM;
        for (size_t i = 0; i < n_nodes; i++) {
                d->first[i] = d->n_cl;
                d->n_cl += podnet_nodes_n_pod_cidrs(d->t.nodes, i);
        }
        d->first[n_nodes] = d->n_cl;
        if (self >= 0)
                n_own = d->first[self + 1] - d->first[self];
        d->cl = calloc(d->n_cl + 1, sizeof(*d->cl));
        d->t.own = calloc(n_own + 1, sizeof(*d->t.own));
        if (!d->cl || !d->t.own || spanset_alloc(&d->claimed, d->n_cl) < 0)
                return -ENOMEM;

        /* this node's own claims first: the peers are judged against the accepted ones */
        for (size_t k = self >= 0 ? d->first[self] : 0; self >= 0 && k < d->first[self + 1]; k++) {
                struct span q;
                span_init(&q, podnet_nodes_pod_cidr(d->t.nodes, (size_t)self, k - d->first[self]),
                          k);
                if (judge_own(&d->t, &q, &d->cl[k].why) < 0)
                        return -ENOMEM;
                if (!d->cl[k].why)
                        d->claimed.v[d->claimed.n++] = d->t.own[d->t.n_own++] = q;
        }
        for (size_t i = 0; i < n_nodes; i++) {
                if ((int)i == self)
                        continue;
                for (size_t k = d->first[i]; k < d->first[i + 1]; k++) {
                        struct span q;
                        span_init(&q, podnet_nodes_pod_cidr(d->t.nodes, i, k - d->first[i]), k);
                        if (judge_peer(&d->t, &q, &d->cl[k].why) < 0)
                                return -ENOMEM;
                        if (!d->cl[k].why)
                                d->claimed.v[d->claimed.n++] = q;
                }
        }
        if (spanset_sort(&d->claimed) < 0 || mark_overlaps(d) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n_nodes; i++)
                for (int f = 0; f < 2; f++)
                        if (judge_address(d, i, f ? AF_INET6 : AF_INET, &d->addr_why[2 * i + f]) <
                            0)
                                return -ENOMEM;
        return 0;
}

/* Why claim k (`q`) is refused, in `buf` or as the claim's own text; NULL if it is not. */
static const char *claim_refusal(const struct desired *d, size_t k, const struct span *q, char *buf,
                                 size_t size)
{
        const struct claim *c = &d->cl[k];
        char b[SPAN_STRLEN], o[SPAN_STRLEN];

        if (c->why)
                return c->why;
        if (c->other) {
                struct span x;
                int len;
                claim_span(d, c->other - 1, &x);
                len = snprintf(buf, size, "pod CIDR %s overlaps pod CIDR %s of node %s",
                               span_str(q, b, sizeof(b)), span_str(&x, o, sizeof(o)),
                               podnet_nodes_name(d->t.nodes, claim_node(d, c->other - 1)));
                if (c->n_other > 1 && len > 0 && (size_t)len < size)
                        snprintf(buf + len, size - (size_t)len, " (and %u more)", c->n_other - 1);
                return buf;
        }
        if (c->covers) {
                struct span a;
                span_init(&a, podnet_nodes_address(d->t.nodes, c->covers - 1, c->cover_fam), 0);
                snprintf(buf, size, "pod CIDR %s covers the address %s of node %s",
                         span_str(q, b, sizeof(b)), addr_str(&a, o, sizeof(o)),
                         podnet_nodes_name(d->t.nodes, c->covers - 1));
                return buf;
        }
        return NULL;
}

static uint32_t default_priority(int family)
{
        /* what the kernel records for a route added without a metric */
        return family == AF_INET6 ? 1024 : 0;
}

int pn_routes_desired(const podnet_nodes *nodes, const char *node_name, const struct pn_underlay *u,
                      podnet_sync_report *report, struct pn_rt **ret, size_t *n_ret,
                      podnet_error **err)
{
        static const struct pn_underlay none;
        struct desired d = {0};
        struct pn_rt *want = NULL;
        size_t n_want = 0;
        int self = -1, r;

        if (node_name && (r = podnet_nodes_find(nodes, node_name)) >= 0)
                self = r;
        r = trust_init(&d.t, nodes, self, u ? u : &none);
        if (r >= 0)
                r = judge_all(&d);
        if (r >= 0 && !(want = calloc(d.n_cl + 1, sizeof(*want))))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < podnet_nodes_count(nodes); i++) {
                const char *name = podnet_nodes_name(nodes, i);

                if ((int)i != d.t.self && d.first[i] == d.first[i + 1])
                        r = pn_sync_report_add(report, PODNET_SYNC_SKIPPED, name, NULL,
                                               "no pod CIDR");
                for (size_t k = d.first[i]; r >= 0 && k < d.first[i + 1]; k++) {
                        const podnet_cidr *pc = podnet_nodes_pod_cidr(nodes, i, k - d.first[i]);
                        int family = podnet_cidr_family(pc), f = family == AF_INET6;
                        const podnet_cidr *via = podnet_nodes_address(nodes, i, family);
                        struct pn_rt rt = {.family = (uint8_t)family,
                                           .type = RTN_UNICAST,
                                           .dst_len = (uint8_t)podnet_cidr_prefixlen(pc),
                                           .priority = default_priority(family),
                                           .node = i};
                        char buf[4 * SPAN_STRLEN + 64];
                        const char *why = NULL;
                        struct span q;

                        if (d.cl[k].why || d.cl[k].other || d.cl[k].covers) {
                                span_init(&q, pc, k);
                                why = claim_refusal(&d, k, &q, buf, sizeof(buf));
                        }
                        if (!why && (int)i == d.t.self)
                                continue; /* accepted: no route to this node's own pods */
                        memcpy(rt.dst, podnet_cidr_addr(pc), pn_family_bits(family) / 8);
                        if (via) {
                                rt.has_gw = true;
                                memcpy(rt.gw, podnet_cidr_addr(via), pn_family_bits(family) / 8);
                        }
                        if (!why && !via && u && u->overlay)
                                want[n_want++] = rt; /* the overlay's (no gateway yet) */
                        else if (!why && !via)
                                r = pn_sync_report_add(report, PODNET_SYNC_SKIPPED, name, &rt,
                                                       "node %s has no %s address", name,
                                                       family_name(family));
                        else if (why || (why = d.addr_why[2 * i + f]))
                                r = pn_sync_report_add(report, PODNET_SYNC_REFUSED, name, &rt, "%s",
                                                       why);
                        else
                                want[n_want++] = rt;
                }
        }
        desired_done(&d);
        if (r < 0) {
                free(want);
                return pn_error(err, ENOMEM, 0, "Computing the desired routes");
        }
        *ret = want;
        *n_ret = n_want;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The partial pass: brings the routes and nexthop objects of the peers a change set names
 * (node-source.h) in step without a dump. The claims are judged by the full sync's rules
 * (route-trust.c) on a list of this node and the changed peers, against the underlay
 * facts (this node's addresses, connected prefixes, foreign routes) of a dump taken after
 * the last full pass; what is installed is read per prefix (a FIB lookup) and per nexthop
 * id. In an overlay mode the changed peers' paths, neighbour and FDB entries are
 * overlay-delta.c's. Anything this cannot decide alone asks for a full pass instead,
 * before any write: a changed claim or address that meets another node's, this node
 * itself changed, a route of another owner at a changed prefix, a nexthop object not
 * podnet's, a table other than main, plain routes, the overlay's doubts; and so does any
 * write the kernel refuses.
 */
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include "agent/agent.h"
#include "agent/overlay-delta.h"
#include "agent/route-sync.h"
#include "netlink/transport.h"

/* A burst larger than this is a full pass: the conflict check is one scan per peer. */
#define DELTA_PEERS_MAX 64
/* Nexthop ids tried from a new peer's hint before giving the choice to a full pass. */
#define ID_TRIES 16

struct pn_delta_base {
        struct pn_route_dump d; /* the facts only (local, onlink, foreign, gw) */
        struct pn_ov_base *ov;  /* an overlay mode's facts; NULL: never */
};

struct pn_delta_base *pn_delta_base_free(struct pn_delta_base *b)
{
        if (b) {
                pn_route_dump_clear(&b->d);
                pn_ov_base_free(b->ov);
                free(b);
        }
        return NULL;
}

bool pn_delta_base_overlay(const struct pn_delta_base *b)
{
        return b && b->ov;
}

int pn_delta_base_refresh(podnet_agent *a, struct pn_delta_base **base)
{
        struct pn_delta_base *b;
        struct nl_sock *sk;
        enum pn_overlay_mode mode;
        bool nh_kernel = false;
        int r;

        *base = pn_delta_base_free(*base);
        if (pn_overlay_mode_parse(a->cfg.overlay, PN_OVERLAY_AUTO, &mode) < 0 ||
            a->cfg.no_nexthops || a->cfg.table != RT_TABLE_MAIN || a->cfg.dry_run)
                return 0; /* every change is a full pass */
        if (!(sk = pn_nl_sock(a->ctx, NULL)))
                return -errno;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->d.protocol = a->cfg.protocol;
        b->d.table = a->cfg.table;
        b->d.facts = true;
        r = pn_route_dump_read(sk, &b->d, &nh_kernel);
        if (r < 0 || !nh_kernel) {
                pn_delta_base_free(b);
                return r < 0 ? r : 0;
        }
        if (mode != PN_OVERLAY_NEVER) {
                r = pn_ov_base_new(a, &b->d, &b->ov);
                if (r < 0 || !b->ov) {
                        pn_delta_base_free(b);
                        return r;
                }
        }
        /* only the facts are judged against: the routes of ours are read per prefix */
        free(b->d.rt);
        b->d.rt = NULL;
        b->d.n_rt = b->d.cap_rt = 0;
        free(b->d.nh);
        b->d.nh = NULL;
        b->d.n_nh = b->d.cap_nh = 0;
        *base = b;
        return 0;
}

/* --- the peers of a change set ------------------------------------------------------------ */

static bool overlap(const podnet_cidr *a, const podnet_cidr *b)
{
        unsigned len;

        if (!a || !b || a->family != b->family)
                return false;
        len = a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen;
        return pn_prefix_equal(a->addr.b, b->addr.b, len);
}

/* Whether n (a changed peer, old or new facts) meets x (a node that did not change): a
 * claim overlapping one of x's, an address inside one of x's claims or the other way, the
 * same address. The full sync judges such pairs together (one may refuse the other). */
static bool meets(const struct pn_node *n, const struct pn_node *x)
{
        const podnet_cidr *na[2] = {n->addr4, n->addr6}, *xa[2] = {x->addr4, x->addr6};

        for (size_t i = 0; i < n->n_pod_cidrs; i++) {
                for (size_t j = 0; j < x->n_pod_cidrs; j++)
                        if (overlap(n->pod_cidrs[i], x->pod_cidrs[j]))
                                return true;
                for (int f = 0; f < 2; f++)
                        if (xa[f] && overlap(n->pod_cidrs[i], xa[f]))
                                return true;
        }
        for (int f = 0; f < 2; f++) {
                if (!na[f])
                        continue;
                if (xa[f] && pn_cidr_addr_eq(na[f], xa[f]))
                        return true;
                for (size_t j = 0; j < x->n_pod_cidrs; j++)
                        if (overlap(na[f], x->pod_cidrs[j]))
                                return true;
        }
        return false;
}

static bool named(const struct pn_node_changes *c, const podnet_nodes *old, const char *name)
{
        for (size_t i = 0; c->set && i < c->set->n; i++)
                if (streq(c->set->nodes[i].name, name))
                        return true;
        for (size_t i = 0; i < c->n_gone; i++)
                if (streq(c->gone[i], name))
                        return true;
        for (size_t i = 0; old && i < old->n; i++)
                if (streq(old->nodes[i].name, name))
                        return true;
        return false;
}

/* One scan of the list: whether a changed peer (new facts in c->set, old ones in old)
 * meets any node that did not change. */
static bool conflicts(const podnet_nodes *nodes, const struct pn_node_changes *c,
                      const podnet_nodes *old)
{
        for (size_t i = 0; i < nodes->n; i++) {
                const struct pn_node *x = &nodes->nodes[i];
                bool hit = false;

                for (size_t k = 0; !hit && c->set && k < c->set->n; k++)
                        hit = meets(&c->set->nodes[k], x);
                for (size_t k = 0; !hit && old && k < old->n; k++)
                        hit = meets(&old->nodes[k], x);
                if (hit && !named(c, old, x->name))
                        return true;
        }
        return false;
}

/* --- what is installed ------------------------------------------------------------------- */

/* A prefix of a changed peer: what the kernel has there (ours: a route of our protocol at
 * exactly this prefix in main), and what it should have. */
struct slot {
        struct pn_rt q;    /* the prefix (family, dst, dst_len) */
        bool ours;         /* a route of ours is installed at q */
        struct pn_rt have; /* that route */
        const struct pn_rt *want; /* the wanted route at q, or NULL */
        const char *peer;  /* the peer whose claim it is (old or new) */
        int err;
};

/* Per (peer, family): the nexthop object its routes use. */
struct hop {
        const char *peer;
        int family;
        uint32_t have_id; /* the installed one of ours, 0: none */
        struct pn_nh have;
        bool wanted;      /* the peer has reachable routes of this family */
        struct pn_nh want;
        enum pn_op_kind kind; /* of want: KEEP, REPLACE, ADD */
        const char *why;      /* unreachable, or NULL */
        int err, err_del;
};

struct delta {
        podnet_agent *a;
        struct nl_sock *sk;
        unsigned protocol;
        struct slot *s;
        size_t n_s;
        struct hop *h;
        size_t n_h;
        struct pn_lookup *lookups;
        size_t n_lookups;
        size_t writes;
};

static int slot_add(struct delta *dl, const struct pn_rt *q, const char *peer)
{
        for (size_t i = 0; i < dl->n_s; i++)
                if (pn_rt_compare_dst(&dl->s[i].q, q) == 0)
                        return streq(dl->s[i].peer, peer) ? 0 : -EDOM; /* two owners */
        dl->s[dl->n_s++] = (struct slot){.q = *q, .peer = peer};
        return 0;
}

static void rt_of_cidr(struct pn_rt *rt, const podnet_cidr *c)
{
        *rt = (struct pn_rt){.family = (uint8_t)c->family, .dst_len = (uint8_t)c->prefixlen};
        memcpy(rt->dst, c->addr.b, pn_family_len(c->family));
}

static int fib_reply(size_t i, struct nlmsghdr *hdr, void *userdata)
{
        struct delta *dl = userdata;
        struct slot *s = &dl->s[i];
        struct pn_rt rt;

        if (hdr->nlmsg_type != RTM_NEWROUTE || pn_route_parse(hdr, &rt) <= 0)
                return 0;
        if (rt.dst_len > s->q.dst_len) {
                s->err = -EDOM; /* a more specific route holds the prefix's first address */
        } else if (rt.dst_len == s->q.dst_len && pn_rt_compare_dst(&rt, &s->q) == 0 &&
                   rt.table == RT_TABLE_MAIN) {
                if (rt.protocol != dl->protocol || rt.type != RTN_UNICAST || !rt.nhid)
                        s->err = -EDOM; /* another owner's, or not one of ours as we write */
                else {
                        s->ours = true;
                        s->have = rt;
                }
        }
        return 0;
}

/* The FIB entry holding each slot's first address. */
static int read_slots(struct delta *dl)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        int r;

        for (size_t i = 0; i < dl->n_s; i++)
                pn_route_lookup_put(&b, dl->s[i].q.family, dl->s[i].q.dst, RTM_F_FIB_MATCH);
        r = pn_nl_batch(dl->sk, &b, fib_reply, dl);
        if (r < 0)
                return r;
        for (size_t i = 0; i < dl->n_s; i++) {
                int e = pn_nl_req_error(&b.reqs[i]);
                if (dl->s[i].err < 0)
                        return dl->s[i].err;
                if (e < 0 && e != -ENETUNREACH && e != -EHOSTUNREACH && e != -ENOENT &&
                    e != -ESRCH)
                        return e;
        }
        return 0;
}

static int nh_reply(size_t i, struct nlmsghdr *hdr, void *userdata)
{
        struct pn_nh *v = userdata;

        if (hdr->nlmsg_type == RTM_NEWNEXTHOP && !pn_nexthop_parse(hdr, &v[i]))
                v[i].id = 0;
        return 0;
}

/* Reads the nexthop objects ids[0..n) into got[] (id 0: none). */
static int read_nexthops(struct delta *dl, const uint32_t *ids, size_t n, struct pn_nh *got)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        struct nhmsg nhm = {.nh_family = AF_UNSPEC};
        int r;

        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                got[i] = (struct pn_nh){0};
                pn_nlbuf_msg(&b, RTM_GETNEXTHOP, 0, true, &nhm, sizeof(nhm));
                pn_nlbuf_put_u32(&b, NHA_ID, ids[i]);
        }
        r = pn_nl_batch(dl->sk, &b, nh_reply, got);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                int e = pn_nl_req_error(&b.reqs[i]);
                if (e < 0 && e != -ENOENT && e != -ESRCH)
                        return e;
                if (e < 0)
                        got[i].id = 0;
        }
        return 0;
}

static struct hop *hop_of(struct delta *dl, const char *peer, int family)
{
        for (size_t k = 0; k < dl->n_h; k++)
                if (dl->h[k].family == family && streq(dl->h[k].peer, peer))
                        return &dl->h[k];
        dl->h[dl->n_h] = (struct hop){.peer = peer, .family = family};
        return &dl->h[dl->n_h++];
}

/* Which nexthop object each (peer, family) has and should have. -EDOM: a full pass. */
static int plan_hops(struct delta *dl)
{
        uint32_t base = pn_nh_base(dl->protocol, dl->a->cfg.table);
        _cleanup_free_ uint32_t *ids = calloc(dl->n_h + 1, sizeof(*ids));
        _cleanup_free_ struct pn_nh *got = calloc(dl->n_h + 1, sizeof(*got));
        size_t n = 0;
        int r;

        if (!ids || !got)
                return -ENOMEM;
        for (size_t i = 0; i < dl->n_s; i++) {
                struct hop *h;
                if (!dl->s[i].ours)
                        continue;
                h = hop_of(dl, dl->s[i].peer, dl->s[i].q.family);
                if (h->have_id && h->have_id != dl->s[i].have.nhid)
                        return -EDOM; /* one peer's routes through two objects */
                h->have_id = dl->s[i].have.nhid;
        }
        for (size_t k = 0; k < dl->n_h; k++)
                if (dl->h[k].have_id)
                        ids[n++] = dl->h[k].have_id;
        r = read_nexthops(dl, ids, n, got);
        if (r < 0)
                return r;
        for (size_t k = 0, j = 0; k < dl->n_h; k++) {
                struct hop *h = &dl->h[k];
                if (!h->have_id)
                        continue;
                h->have = got[j++];
                if (h->have.id != h->have_id || h->have.protocol != dl->protocol ||
                    h->have_id - base >= PN_NH_SPAN || h->have.family != h->family)
                        return -EDOM; /* not one podnet would replace or delete */
        }
        /* the gateways of the wanted ones: looked up unless the object is kept */
        dl->lookups = calloc(dl->n_h + 1, sizeof(*dl->lookups));
        if (!dl->lookups)
                return -ENOMEM;
        n = 0;
        for (size_t k = 0; k < dl->n_h; k++) {
                struct hop *h = &dl->h[k];
                if (!h->wanted)
                        continue;
                if (h->have_id && memcmp(h->have.gw, h->want.gw, 16) == 0 &&
                    h->have.onlink == h->want.onlink &&
                    (!h->want.onlink || h->have.oif == h->want.oif)) {
                        h->kind = PN_OP_KEEP;
                        h->want.id = h->have_id;
                        h->want.oif = h->have.oif;
                        continue;
                }
                if (h->want.onlink)
                        continue; /* the overlay's: on the VXLAN device, nothing to resolve */
                dl->lookups[n].family = (uint8_t)h->family;
                memcpy(dl->lookups[n].addr, h->want.gw, 16);
                n++;
        }
        r = pn_lookups_resolve(dl->sk, dl->lookups, n, &dl->n_lookups);
        if (r < 0)
                return r;
        for (size_t k = 0; k < dl->n_h; k++) {
                struct hop *h = &dl->h[k];
                const struct pn_lookup *l;
                if (!h->wanted || h->kind == PN_OP_KEEP)
                        continue;
                if (!h->want.onlink) {
                        l = pn_lookup_find(dl->lookups, dl->n_lookups, h->family, h->want.gw);
                        if (!l)
                                return -EIO;
                        if ((h->why = l->why))
                                continue; /* no object: its routes are unreachable */
                        h->want.oif = l->reply.oif;
                }
                if (h->have_id) {
                        h->kind = PN_OP_REPLACE; /* one write moves the peer's routes */
                        h->want.id = h->have_id;
                        continue;
                }
                /* a new peer: its hinted id, or the next free one */
                h->kind = PN_OP_ADD;
                h->want.id = pn_nh_id_hint(base, h->peer, h->family);
                for (int t = 0;; t++) {
                        uint32_t id = h->want.id;
                        struct pn_nh x;
                        bool taken = false;
                        if (t == ID_TRIES)
                                return -EDOM;
                        for (size_t o = 0; o < dl->n_h; o++)
                                taken |= &dl->h[o] != h && (dl->h[o].want.id == id ||
                                                            dl->h[o].have_id == id);
                        if (!taken) {
                                r = read_nexthops(dl, &id, 1, &x);
                                if (r < 0)
                                        return r;
                                taken = x.id != 0;
                        }
                        if (!taken)
                                break;
                        h->want.id = base + (h->want.id - base + 1) % PN_NH_SPAN;
                }
        }
        return 0;
}

/* --- writes ------------------------------------------------------------------------------ */

static void route_msg(struct pn_nlbuf *b, int cmd, int flags, const struct pn_rt *rt,
                      unsigned protocol)
{
        struct pn_route_hdr hd = {.protocol = (uint8_t)protocol,
                                  .scope = RT_SCOPE_UNIVERSE,
                                  .type = cmd == RTM_DELROUTE ? rt->type : RTN_UNICAST,
                                  .table = RT_TABLE_MAIN};

        pn_route_put(b, cmd, flags, rt, &hd);
}

/* Sends b and counts the answers; the first refusal, or 0. */
static int send_batch(struct delta *dl, struct pn_nlbuf *b, int *errs)
{
        int r = b->n ? pn_nl_batch(dl->sk, b, NULL, NULL) : 0, first = 0;

        for (size_t k = 0; k < b->n; k++) {
                int e = pn_nl_req_error(&b->reqs[k]);
                dl->writes += b->reqs[k].answered;
                if (errs)
                        errs[k] = e;
                if (e < 0 && !first)
                        first = e;
        }
        return r < 0 ? r : first;
}

static bool hop_ok(const struct hop *h)
{
        return h && h->wanted && !h->why;
}

/* Nexthop objects added or replaced, then routes deleted, replaced, added, then objects
 * no route of the peer uses any more. A refusal stops it: a full pass follows. */
static int write_delta(struct delta *dl, podnet_sync_report *rep)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        int r;

        for (size_t k = 0; k < dl->n_h; k++) {
                const struct hop *h = &dl->h[k];
                if (hop_ok(h) && h->kind != PN_OP_KEEP)
                        pn_nexthop_put(&b, RTM_NEWNEXTHOP,
                                       NLM_F_CREATE |
                                           (h->kind == PN_OP_REPLACE ? NLM_F_REPLACE : NLM_F_EXCL),
                                       &h->want, dl->protocol);
        }
        if ((r = send_batch(dl, &b, NULL)) < 0)
                return r;
        pn_nlbuf_done(&b);
        for (int pass = 0; pass < 3; pass++)
                for (size_t i = 0; i < dl->n_s; i++) {
                        struct slot *s = &dl->s[i];
                        const struct hop *h = s->want ? hop_of(dl, s->peer, s->q.family) : NULL;
                        struct pn_rt w;
                        if (pass == 0 && s->ours && !hop_ok(h)) {
                                route_msg(&b, RTM_DELROUTE, 0, &s->have, dl->protocol);
                                (void)pn_sync_report_add(rep, PODNET_SYNC_DELETED, s->peer,
                                                         &s->have, NULL);
                        }
                        if (pass == 0 || !hop_ok(h) || pass != (s->ours ? 1 : 2))
                                continue;
                        w = *s->want;
                        w.via_nh = true;
                        w.nhid = h->want.id;
                        if (s->ours && s->have.nhid == w.nhid && s->have.priority == w.priority)
                                continue; /* in place: its object carries any change */
                        route_msg(&b, RTM_NEWROUTE,
                                  NLM_F_CREATE | (s->ours ? NLM_F_REPLACE : NLM_F_EXCL), &w,
                                  dl->protocol);
                        (void)pn_sync_report_add(rep, s->ours ? PODNET_SYNC_REPLACED
                                                              : PODNET_SYNC_ADDED,
                                                 s->peer, &w, NULL);
                }
        if ((r = send_batch(dl, &b, NULL)) < 0)
                return r;
        pn_nlbuf_done(&b);
        for (size_t k = 0; k < dl->n_h; k++) {
                const struct hop *h = &dl->h[k];
                if (h->have_id && !hop_ok(h))
                        pn_nexthop_put(&b, RTM_DELNEXTHOP, 0, &h->have, dl->protocol);
        }
        return send_batch(dl, &b, NULL);
}

/* --- the pass ---------------------------------------------------------------------------- */

int pn_agent_delta_pass(podnet_agent *a, struct pn_delta_base *base,
                        const struct pn_node_changes *c, const podnet_nodes *old,
                        podnet_sync_report **ret)
{
        _cleanup_(podnet_sync_report_freep) podnet_sync_report *rep = NULL;
        size_t n_changed = (c->set ? c->set->n : 0) + c->n_gone, n_claims = 0;
        _cleanup_free_ struct pn_node *sub_v = NULL;
        _cleanup_free_ struct pn_rt *want = NULL;
        struct delta dl = {.a = a, .protocol = a->cfg.protocol};
        struct pn_ov_delta ov = {0};
        podnet_nodes sub = {0};
        size_t n_want = 0;
        ssize_t self;
        int r;

        *ret = NULL;
        if (!base || n_changed > DELTA_PEERS_MAX || !a->nodes ||
            named(c, old, a->cfg.node_name) ||
            (self = pn_nodes_find_sorted(a->nodes, a->cfg.node_name)) < 0)
                return 1;
        if (conflicts(a->nodes, c, old))
                return 1;
        /* the changed peers' claims, judged with this node's, against the underlay */
        sub_v = calloc((c->set ? c->set->n : 0) + 1, sizeof(*sub_v));
        if (!sub_v)
                return -ENOMEM;
        sub.nodes = sub_v;
        sub.nodes[sub.n++] = a->nodes->nodes[self];
        for (size_t i = 0; c->set && i < c->set->n; i++) {
                sub.nodes[sub.n++] = c->set->nodes[i];
                for (size_t k = 0; k < c->set->nodes[i].n_pod_cidrs; k++)
                        if (c->set->nodes[i].pod_cidrs[k]->family == AF_INET6)
                                (void)podnet_sysctl_enable_forwarding(a->ctx, AF_INET6, NULL);
        }
        rep = pn_sync_report_new();
        if (!rep)
                return -ENOMEM;
        if (!(dl.sk = pn_nl_sock(a->ctx, NULL)))
                return -errno;
        (void)pn_nl_sock_bulk(dl.sk);
        /* an overlay mode: the changed peers' paths first (the routes depend on them) */
        if (base->ov && (r = pn_ov_delta_plan(a, base->ov, dl.sk, &sub, &ov)) != 0)
                goto out;
        struct pn_underlay u = pn_underlay_of(&base->d, a->cfg.cluster_cidrs,
                                              a->cfg.n_cluster_cidrs);
        u.overlay = base->ov != NULL;
        r = pn_routes_desired(&sub, a->cfg.node_name, &u, rep, &want, &n_want, NULL);
        if (r >= 0 && base->ov) {
                r = pn_overlay_pass_routes(&ov.o, &sub, want, &n_want, rep);
                if (r >= 0)
                        r = pn_overlay_pass_report(&ov.o, &sub, want, n_want, rep);
        }
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n_want; i++)
                if (want[i].node == 0 || !want[i].has_gw) {
                        r = 1; /* (cannot be: this node's own claims get no route) */
                        goto out;
                }
        /* the prefixes to look at: the old claims and the wanted routes */
        for (size_t i = 0; old && i < old->n; i++)
                n_claims += old->nodes[i].n_pod_cidrs;
        dl.s = calloc(n_claims + n_want + 1, sizeof(*dl.s));
        dl.h = calloc(2 * (n_claims + n_want) + 1, sizeof(*dl.h));
        if (!dl.s || !dl.h) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; r >= 0 && old && i < old->n; i++)
                for (size_t k = 0; r >= 0 && k < old->nodes[i].n_pod_cidrs; k++) {
                        struct pn_rt q;
                        rt_of_cidr(&q, old->nodes[i].pod_cidrs[k]);
                        r = slot_add(&dl, &q, old->nodes[i].name);
                }
        for (size_t i = 0; r >= 0 && i < n_want; i++) {
                const char *peer = sub.nodes[want[i].node].name;
                struct hop *h;
                r = slot_add(&dl, &want[i], peer);
                for (size_t k = 0; r >= 0 && k < dl.n_s; k++)
                        if (pn_rt_compare_dst(&dl.s[k].q, &want[i]) == 0)
                                dl.s[k].want = &want[i];
                if (r < 0)
                        break;
                h = hop_of(&dl, peer, want[i].family);
                if (h->wanted && memcmp(h->want.gw, want[i].gw, 16) != 0) {
                        r = -EDOM;
                        break;
                }
                h->wanted = true;
                h->kind = PN_OP_ADD; /* until plan_hops() finds it installed */
                h->want = (struct pn_nh){.family = want[i].family,
                                         .name = peer,
                                         /* an overlay peer's: onlink on the VXLAN device */
                                         .onlink = want[i].onlink,
                                         .oif = want[i].onlink ? want[i].oif : 0};
                memcpy(h->want.gw, want[i].gw, 16);
        }
        if (r < 0)
                goto out;
        r = read_slots(&dl);
        if (r >= 0)
                r = plan_hops(&dl);
        if (r >= 0 && base->ov)
                r = pn_ov_delta_entries(dl.sk, old, &sub, &ov);
        if (r != 0)
                goto out;
        for (size_t k = 0; k < dl.n_h; k++)
                for (size_t i = 0; dl.h[k].why && i < dl.n_s; i++)
                        if (dl.s[i].want && dl.s[i].q.family == dl.h[k].family &&
                            streq(dl.s[i].peer, dl.h[k].peer))
                                (void)pn_sync_report_add(rep, PODNET_SYNC_UNREACHABLE,
                                                         dl.h[k].peer, dl.s[i].want, "%s",
                                                         dl.h[k].why);
        /* the overlay's entries around the routes: added before, deleted after */
        r = base->ov ? pn_ov_delta_write(dl.sk, &ov, true) : 0;
        if (r >= 0)
                r = write_delta(&dl, rep);
        if (r >= 0 && base->ov)
                r = pn_ov_delta_write(dl.sk, &ov, false);
        pn_sync_report_set_writes(rep, dl.writes + ov.writes);
        if (r >= 0 && base->ov)
                r = pn_ov_base_note(base->ov, &sub);
        if (r >= 0)
                *ret = steal_pointer(&rep);
out:
        free(dl.s);
        free(dl.h);
        pn_lookups_free(dl.lookups, dl.n_lookups);
        pn_ov_delta_done(&ov);
        if (r == -EDOM || r == 1)
                return 1;
        if (r < 0)
                pn_debug(a->ctx, "Partial pass: %s; a full pass instead", strerror(-r));
        return r < 0 ? 1 : 0;
}

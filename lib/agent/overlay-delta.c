/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The overlay's part of a partial pass (route-sync-delta.c) in an overlay mode: the
 * changed peers' paths decided as a full pass decides them (overlay-sync.c's plan, on a
 * list of this node and those peers: on-link lookups, auto's probe of those peers
 * only), and their neighbour and FDB entries on the VXLAN device read one by one (a
 * single-entry RTM_GETNEIGH each) and written where they differ. Doubt asks for a full
 * pass before any write: a device that is not the last full pass's, an endpoint MAC
 * another node has (IPv6 underlay), an FDB entry with a remote podnet does not write.
 */
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "agent/agent.h"
#include "agent/overlay-delta.h"
#include "netlink/transport.h"

/* auto's probe budget for the few peers of a change set: a direct path that works
 * answers in well under a millisecond; a peer that misses it goes over the overlay until
 * the next full pass probes it again with the full round's budget. */
#define DELTA_PROBE_MS 50

/* An endpoint MAC and the underlay address it was derived from (IPv6 underlay). */
struct mac_entry {
        uint8_t mac[6];
        uint8_t addr[16];
};

struct pn_ov_base {
        enum pn_overlay_mode mode;
        int family;   /* of the underlay */
        int ifindex;  /* the VXLAN device */
        int underlay; /* the device with this node's address */
        char dev[IFNAMSIZ];
        struct mac_entry *macs; /* sorted by MAC; IPv6 underlay only */
        size_t n_macs, cap_macs;
};

/* One neighbour or FDB entry of a changed peer: the wanted one (or just the key), what
 * is installed under its key, and what to do. */
struct ov_entry {
        bool wanted, have;
        struct pn_neigh ne, ne_have;
        struct pn_fdb fdb, fdb_have;
        enum pn_op_kind kind;
};

struct pn_ov_base *pn_ov_base_free(struct pn_ov_base *b)
{
        if (b) {
                free(b->macs);
                free(b);
        }
        return NULL;
}

static inline void pn_ov_base_freep(struct pn_ov_base **b)
{
        pn_ov_base_free(*b);
}

static int mac_entry_cmp(const void *a, const void *b)
{
        return memcmp(((const struct mac_entry *)a)->mac, ((const struct mac_entry *)b)->mac, 6);
}

static int macs_add(struct pn_ov_base *b, const podnet_cidr *addr)
{
        struct mac_entry *e;

        if (!addr)
                return 0;
        if (b->n_macs == b->cap_macs) {
                size_t cap = b->cap_macs ? 2 * b->cap_macs : 64;
                e = reallocarray(b->macs, cap, sizeof(*e));
                if (!e)
                        return -ENOMEM;
                b->macs = e;
                b->cap_macs = cap;
        }
        e = &b->macs[b->n_macs++];
        memset(e, 0, sizeof(*e));
        memcpy(e->addr, podnet_cidr_addr(addr), 16);
        return pn_vtep_mac(AF_INET6, e->addr, e->mac);
}

int pn_ov_base_new(podnet_agent *a, const struct pn_route_dump *d, struct pn_ov_base **ret)
{
        podnet_vxlan_info info = {.size = sizeof(info)};
        _cleanup_(pn_ov_base_freep) struct pn_ov_base *b = NULL;
        const podnet_cidr *self_addr;
        ssize_t self;
        int r;

        *ret = NULL;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        if (pn_overlay_mode_parse(a->cfg.overlay, PN_OVERLAY_AUTO, &b->mode) < 0 ||
            b->mode == PN_OVERLAY_NEVER || !a->nodes ||
            (self = pn_nodes_find_sorted(a->nodes, a->cfg.node_name)) < 0)
                return 0;
        /* as the full pass chooses (overlay-sync.c): IPv4 where this node has it */
        b->family = a->nodes->nodes[self].addr4 ? AF_INET : AF_INET6;
        self_addr = b->family == AF_INET ? a->nodes->nodes[self].addr4
                                         : a->nodes->nodes[self].addr6;
        if (!self_addr)
                return 0;
        for (size_t i = 0; i < d->n_local && !b->underlay; i++) {
                const struct pn_rt *rt = &d->local[i];
                if (rt->family == b->family && rt->dst_len == pn_family_bits(b->family) &&
                    memcmp(rt->dst, podnet_cidr_addr(self_addr), pn_family_len(b->family)) == 0)
                        b->underlay = (int)rt->oif;
        }
        snprintf(b->dev, sizeof(b->dev), "%s",
                 a->cfg.vxlan_dev ? a->cfg.vxlan_dev : PN_VXLAN_DEV_DEFAULT);
        if (!b->underlay || podnet_vxlan_get(a->ctx, NULL, b->dev, &info, NULL) < 0)
                return 0; /* no endpoint here: every peer direct, a full pass decides */
        b->ifindex = info.ifindex;
        if (b->family == AF_INET6) {
                /* IPv4 endpoint MACs are the address itself; IPv6 ones a hash */
                for (size_t i = 0; i < a->nodes->n; i++)
                        if ((r = macs_add(b, a->nodes->nodes[i].addr6)) < 0)
                                return r;
                qsort(b->macs, b->n_macs, sizeof(*b->macs), mac_entry_cmp);
        }
        *ret = steal_pointer(&b);
        return 0;
}

int pn_ov_base_note(struct pn_ov_base *b, const podnet_nodes *sub)
{
        size_t n = b->n_macs;
        int r;

        if (b->family != AF_INET6)
                return 0;
        for (size_t i = 0; i < sub->n; i++)
                if ((r = macs_add(b, sub->nodes[i].addr6)) < 0)
                        return r;
        if (b->n_macs > n)
                qsort(b->macs, b->n_macs, sizeof(*b->macs), mac_entry_cmp);
        return 0;
}

/* Whether another address than addr has addr's endpoint MAC among the base's nodes. */
static bool mac_taken(const struct pn_ov_base *b, const uint8_t *mac, const uint8_t *addr)
{
        struct mac_entry key = {0};
        const struct mac_entry *e;
        size_t i;

        memcpy(key.mac, mac, 6);
        e = bsearch(&key, b->macs, b->n_macs, sizeof(*b->macs), mac_entry_cmp);
        if (!e)
                return false;
        for (i = (size_t)(e - b->macs); i > 0 && mac_entry_cmp(&b->macs[i - 1], &key) == 0; i--)
                ;
        for (; i < b->n_macs && mac_entry_cmp(&b->macs[i], &key) == 0; i++)
                if (memcmp(b->macs[i].addr, addr, 16) != 0)
                        return true;
        return false;
}

int pn_ov_delta_plan(podnet_agent *a, struct pn_ov_base *b, struct nl_sock *sk,
                     const podnet_nodes *sub, struct pn_ov_delta *ov)
{
        podnet_sync_config sc = pn_agent_sync_config(a, false);
        podnet_error *err = NULL;
        struct pn_link l;
        int r;

        r = pn_link_query(sk, NULL, b->ifindex, &l);
        if (r == -ENODEV)
                return 1; /* deleted: the full pass makes it again */
        if (r < 0)
                return r;
        if (!streq(l.name, b->dev) || !streq(l.kind, "vxlan") || !(l.flags & IFF_UP))
                return 1;
        ov->o = (struct pn_overlay_pass){.mode = b->mode,
                                         .explicit_mode = true,
                                         .active = true,
                                         .family = b->family,
                                         .ifindex = b->ifindex,
                                         .underlay = b->underlay,
                                         .self = 0,
                                         .probe_ms = DELTA_PROBE_MS};
        snprintf(ov->o.dev, sizeof(ov->o.dev), "%s", b->dev);
        r = pn_overlay_pass_plan(&ov->o, a->ctx, sk, sub, &sc, &err);
        if (r < 0) {
                pn_debug(a->ctx, "Partial pass: %s", err ? podnet_error_message(err) : strerror(-r));
                podnet_error_free(err);
                return r;
        }
        for (size_t k = 0; k < ov->o.plan.n_peer; k++) {
                const struct pn_overlay_peer *p = &ov->o.plan.peer[k];
                /* which of two colliding peers keeps the overlay depends on the whole
                 * list's order */
                if (p->reason == PN_REASON_MAC_COLLISION)
                        return 1;
                if (b->family == AF_INET6 && p->has_endpoint && mac_taken(b, p->mac, p->underlay))
                        return 1;
        }
        return 0;
}

/* --- the entries ------------------------------------------------------------------------- */

static struct ov_entry *ne_key(struct pn_ov_delta *ov, const struct pn_neigh *n, bool wanted)
{
        struct ov_entry *e;

        for (size_t i = 0; i < ov->n_ne; i++) {
                e = &ov->ne[i];
                if (e->ne.family == n->family &&
                    memcmp(e->ne.addr, n->addr, pn_family_len(n->family)) == 0)
                        goto found;
        }
        e = &ov->ne[ov->n_ne++];
        *e = (struct ov_entry){.ne = *n};
found:
        if (wanted) {
                e->ne = *n;
                e->wanted = true;
        }
        return e;
}

static struct ov_entry *fdb_key(struct pn_ov_delta *ov, const struct pn_fdb *f, bool wanted)
{
        struct ov_entry *e;

        for (size_t i = 0; i < ov->n_fdb; i++) {
                e = &ov->fdb[i];
                if (memcmp(e->fdb.mac, f->mac, 6) == 0)
                        goto found;
        }
        e = &ov->fdb[ov->n_fdb++];
        *e = (struct ov_entry){.fdb = *f};
found:
        if (wanted) {
                e->fdb = *f;
                e->wanted = true;
        }
        return e;
}

/* The keys of the entries node n would have over the overlay, whatever its path: one
 * FDB entry (its endpoint MAC) and a neighbour entry per pod CIDR (its endpoint
 * address), as overlay-plan.c makes them. */
static void node_keys(struct pn_ov_delta *ov, const struct pn_node *n)
{
        const podnet_cidr *ua = ov->o.family == AF_INET ? n->addr4 : n->addr6;
        struct pn_fdb f = {.ifindex = ov->o.ifindex};

        if (!ua)
                return; /* no endpoint: never on the overlay */
        pn_vtep_mac(ov->o.family, podnet_cidr_addr(ua), f.mac);
        fdb_key(ov, &f, false);
        for (size_t k = 0; k < n->n_pod_cidrs; k++) {
                struct pn_neigh ne = {.family = (uint8_t)n->pod_cidrs[k]->family,
                                      .ifindex = ov->o.ifindex};
                podnet_cidr ep;

                if (pn_vtep_addr(n->pod_cidrs[k], &ep) < 0)
                        continue;
                if (ne.family == AF_INET6)
                        pn_vtep_addr6_ll(f.mac, ep.addr.b);
                memcpy(ne.addr, ep.addr.b, pn_family_len(ne.family));
                ne_key(ov, &ne, false);
        }
}

static int entry_reply(size_t i, struct nlmsghdr *hdr, void *userdata)
{
        struct pn_ov_delta *ov = userdata;

        if (hdr->nlmsg_type != RTM_NEWNEIGH)
                return 0;
        if (i < ov->n_ne)
                ov->ne[i].have = pn_neigh_parse(hdr, &ov->ne[i].ne_have) > 0;
        else if (i - ov->n_ne < ov->n_fdb)
                ov->fdb[i - ov->n_ne].have = pn_fdb_parse(hdr, &ov->fdb[i - ov->n_ne].fdb_have) > 0;
        return 0;
}

/* One RTM_GETNEIGH per entry: a neighbour entry by device and address (kernel 5.0's
 * neigh_get), an FDB entry by device and MAC (ndo_fdb_get, NTF_SELF, also 5.0). A VXLAN
 * FDB get answers with the MAC's first remote only: podnet writes one remote per MAC
 * (and replaces it in place); a remote appended by hand is the full resync's. */
static int read_entries(struct nl_sock *sk, struct pn_ov_delta *ov)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        int r;

        for (size_t i = 0; i < ov->n_ne; i++)
                pn_neigh_get_put(&b, ov->ne[i].ne.family, ov->o.ifindex, ov->ne[i].ne.addr);
        for (size_t i = 0; i < ov->n_fdb; i++)
                pn_fdb_get_put(&b, ov->o.ifindex, ov->fdb[i].fdb.mac);
        if (b.error < 0)
                return b.error;
        if (b.n == 0)
                return 0;
        r = pn_nl_batch(sk, &b, entry_reply, ov);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b.n; i++) {
                int e = pn_nl_req_error(&b.reqs[i]);
                if (e < 0 && e != -ENOENT)
                        return e;
        }
        return 0;
}

int pn_ov_delta_entries(struct nl_sock *sk, const podnet_nodes *old, const podnet_nodes *sub,
                        struct pn_ov_delta *ov)
{
        const struct pn_overlay_plan *p = &ov->o.plan;
        size_t n = p->n_neigh + p->n_fdb;
        int r;

        for (size_t i = 0; old && i < old->n; i++)
                n += 1 + old->nodes[i].n_pod_cidrs;
        for (size_t i = 1; i < sub->n; i++)
                n += 1 + sub->nodes[i].n_pod_cidrs;
        ov->ne = calloc(n + 1, sizeof(*ov->ne));
        ov->fdb = calloc(n + 1, sizeof(*ov->fdb));
        if (!ov->ne || !ov->fdb)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_neigh; i++)
                ne_key(ov, &p->neigh[i], true);
        for (size_t i = 0; i < p->n_fdb; i++)
                fdb_key(ov, &p->fdb[i], true);
        for (size_t i = 0; old && i < old->n; i++)
                node_keys(ov, &old->nodes[i]);
        for (size_t i = 1; i < sub->n; i++)
                node_keys(ov, &sub->nodes[i]);
        r = read_entries(sk, ov);
        if (r < 0)
                return r;
        /* as the full pass's diff (overlay-diff.c) decides, per key */
        for (size_t i = 0; i < ov->n_ne; i++) {
                struct ov_entry *e = &ov->ne[i];
                e->kind = PN_OP_KEEP;
                if (e->wanted && (!e->have || !pn_neigh_same(&e->ne_have, &e->ne)))
                        e->kind = e->have ? PN_OP_REPLACE : PN_OP_ADD;
                else if (!e->wanted && e->have && (e->ne_have.state & NUD_PERMANENT))
                        e->kind = PN_OP_DELETE;
        }
        for (size_t i = 0; i < ov->n_fdb; i++) {
                struct ov_entry *e = &ov->fdb[i];
                e->kind = PN_OP_KEEP;
                if (e->have && e->fdb_have.odd)
                        return 1; /* a remote of its own VNI or port: not ours to judge */
                if (e->wanted && (!e->have || !pn_fdb_same(&e->fdb_have, &e->fdb)))
                        e->kind = e->have ? PN_OP_REPLACE : PN_OP_ADD;
                else if (!e->wanted && e->have)
                        e->kind = PN_OP_DELETE;
        }
        return 0;
}

int pn_ov_delta_write(struct nl_sock *sk, struct pn_ov_delta *ov, bool adds)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        int r, first = 0;

        /* FDB entries before the neighbour entries that point at their MACs; deletions
         * in the reverse order */
        for (size_t i = 0; adds && i < ov->n_fdb; i++)
                if (ov->fdb[i].kind == PN_OP_ADD || ov->fdb[i].kind == PN_OP_REPLACE)
                        pn_fdb_put(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &ov->fdb[i].fdb);
        for (size_t i = 0; i < ov->n_ne; i++) {
                const struct ov_entry *e = &ov->ne[i];
                if (adds && (e->kind == PN_OP_ADD || e->kind == PN_OP_REPLACE))
                        pn_neigh_put(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &e->ne);
                else if (!adds && e->kind == PN_OP_DELETE)
                        pn_neigh_put(&b, RTM_DELNEIGH, 0, &e->ne_have);
        }
        for (size_t i = 0; !adds && i < ov->n_fdb; i++)
                if (ov->fdb[i].kind == PN_OP_DELETE)
                        pn_fdb_put(&b, RTM_DELNEIGH, 0, &ov->fdb[i].fdb_have);
        if (b.error < 0)
                return b.error;
        if (b.n == 0)
                return 0;
        r = pn_nl_batch(sk, &b, NULL, NULL);
        for (size_t q = 0; q < b.n; q++) {
                int e = pn_nl_req_error(&b.reqs[q]);
                ov->writes += b.reqs[q].answered;
                if (e < 0 && !(!adds && (e == -ENOENT || e == -ESRCH)) && !first)
                        first = e;
        }
        return r < 0 ? r : first;
}

void pn_ov_delta_done(struct pn_ov_delta *ov)
{
        pn_overlay_plan_done(&ov->o.plan);
        free(ov->ne);
        free(ov->fdb);
        *ov = (struct pn_ov_delta){0};
}

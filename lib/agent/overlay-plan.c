/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The overlay plan: for each peer of the node list, direct routing or the VXLAN overlay
 * and why (the mode, whether its addresses are on-link, whether both ends have a tunnel
 * endpoint, endpoint MAC collisions), and the neighbour entries, FDB entries and onlink
 * routes the overlay peers need. Pure: the on-link question goes to the caller.
 */
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "agent/overlay.h"
#include "core/cidr.h"

static const char *const mode_names[] = {
    [PN_OVERLAY_NEVER] = "never",
    [PN_OVERLAY_CROSS_SUBNET] = "cross-subnet",
    [PN_OVERLAY_ALWAYS] = "always",
    [PN_OVERLAY_AUTO] = "auto",
};

int pn_overlay_mode_parse(const char *name, enum pn_overlay_mode dflt, enum pn_overlay_mode *ret)
{
        if (!name) {
                *ret = dflt;
                return 0;
        }
        for (size_t m = 0; m < ELEMENTSOF(mode_names); m++)
                if (streq(name, mode_names[m])) {
                        *ret = (enum pn_overlay_mode)m;
                        return 0;
                }
        return -EINVAL;
}

const char *pn_overlay_mode_name(enum pn_overlay_mode m)
{
        return (size_t)m < ELEMENTSOF(mode_names) ? mode_names[m] : "?";
}

const char *pn_path_name(enum pn_path p)
{
        return p == PN_PATH_VXLAN ? "vxlan" : "direct";
}

const char *pn_path_reason_name(enum pn_path_reason r)
{
        switch (r) {
        case PN_REASON_FORCED:
                return "forced by mode";
        case PN_REASON_ONLINK:
                return "on-link";
        case PN_REASON_NOT_ONLINK:
                return "not on-link";
        case PN_REASON_NO_ENDPOINT:
                return "no tunnel endpoint";
        case PN_REASON_MAC_COLLISION:
                return "endpoint MAC collision";
        case PN_REASON_PROBE_FAILED:
                return "probe failed";
        }
        return "?";
}

/* The underlay address of node i for cfg's family into addr: false if it has none. */
static bool endpoint_of(const podnet_nodes *nodes, size_t i, int family, uint8_t addr[16])
{
        const podnet_cidr *a = podnet_nodes_address(nodes, i, family);

        if (!a)
                return false;
        memset(addr, 0, 16);
        memcpy(addr, podnet_cidr_addr(a), pn_family_len(family));
        return true;
}

/* Cross-subnet's test: direct when, for the family of every pod CIDR of node i (the
 * underlay's when it has none) that node i has an address of, that address is on-link,
 * and there is at least one such family. (A pod CIDR of a family without an address
 * cannot be routed directly: the overlay carries it whatever the peer's path.) */
static bool peer_onlink(const podnet_nodes *nodes, size_t i, const struct pn_overlay_config *cfg)
{
        static const int families[] = {AF_INET, AF_INET6};
        size_t n = podnet_nodes_n_pod_cidrs(nodes, i);
        bool checked = false;

        for (size_t f = 0; f < ELEMENTSOF(families); f++) {
                const podnet_cidr *a;
                bool used = n == 0 && families[f] == cfg->family;

                for (size_t k = 0; k < n && !used; k++)
                        used = podnet_cidr_family(podnet_nodes_pod_cidr(nodes, i, k)) ==
                               families[f];
                if (!used)
                        continue;
                a = podnet_nodes_address(nodes, i, families[f]);
                if (!a)
                        continue; /* no direct route of that family: the overlay's anyway */
                if (!cfg->onlink || !cfg->onlink(families[f], podnet_cidr_addr(a), cfg->userdata))
                        return false;
                checked = true;
        }
        return checked;
}

static void decide(const podnet_nodes *nodes, const struct pn_overlay_config *cfg,
                   bool self_endpoint, struct pn_overlay_peer *p)
{
        bool over;

        switch (cfg->mode) {
        case PN_OVERLAY_ALWAYS:
                over = true;
                p->reason = PN_REASON_FORCED;
                break;
        case PN_OVERLAY_CROSS_SUBNET:
        case PN_OVERLAY_AUTO: /* the probe is the caller's: it moves failures over */
                over = !peer_onlink(nodes, p->node, cfg);
                p->reason = over ? PN_REASON_NOT_ONLINK : PN_REASON_ONLINK;
                if (!over && cfg->mode == PN_OVERLAY_AUTO && cfg->probe_failed &&
                    cfg->probe_failed[p->node]) {
                        over = true;
                        p->reason = PN_REASON_PROBE_FAILED;
                }
                break;
        case PN_OVERLAY_NEVER:
        default:
                over = false;
                p->reason = PN_REASON_FORCED;
                break;
        }
        if (over && !(self_endpoint && p->has_endpoint))
                p->reason = PN_REASON_NO_ENDPOINT, over = false;
        p->path = over ? PN_PATH_VXLAN : PN_PATH_DIRECT;
}

/* An endpoint MAC with its owner, for finding collisions: `order` 0 is this node, 1 + k
 * the k-th peer. */
struct mac_owner {
        uint8_t mac[6];
        size_t order;
        const uint8_t *underlay;
};

static int mac_owner_cmp(const void *a, const void *b)
{
        const struct mac_owner *x = a, *y = b;
        int c = memcmp(x->mac, y->mac, 6);

        if (c)
                return c;
        return x->order < y->order ? -1 : x->order > y->order;
}

/* mac_owner_cmp()'s order as far as 64 bits go: the MAC, then the order (capped). */
static uint64_t mac_owner_key(const void *a)
{
        const struct mac_owner *x = a;

        return pn_key_be(x->mac, 6) | (x->order < 0xffff ? x->order : 0xffff);
}

/* Takes the later of two overlay peers whose endpoint MACs collide (different underlay
 * addresses, one MAC: possible for IPv6 only) off the overlay; a peer colliding with this
 * node goes off it too. Frames to that MAC would reach one of the two only. */
static int drop_collisions(struct pn_overlay_plan *out, int family, const uint8_t *self_addr,
                           const uint8_t *self_mac)
{
        _cleanup_free_ struct mac_owner *v = NULL;
        unsigned len = pn_family_len(family);
        size_t n = 0;

        v = calloc(out->n_peer + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v[n] = (struct mac_owner){.order = 0, .underlay = self_addr};
        memcpy(v[n++].mac, self_mac, 6);
        for (size_t k = 0; k < out->n_peer; k++) {
                if (out->peer[k].path != PN_PATH_VXLAN)
                        continue;
                v[n] = (struct mac_owner){.order = 1 + k, .underlay = out->peer[k].underlay};
                memcpy(v[n++].mac, out->peer[k].mac, 6);
        }
        pn_keysort(v, n, sizeof(*v), mac_owner_key, mac_owner_cmp);
        for (size_t i = 1, first = 0; i < n; i++) {
                struct pn_overlay_peer *p;

                if (memcmp(v[i].mac, v[first].mac, 6) != 0) {
                        first = i;
                        continue;
                }
                if (memcmp(v[i].underlay, v[first].underlay, len) == 0)
                        continue; /* one address twice: the node list's matter */
                p = &out->peer[v[i].order - 1];
                p->path = PN_PATH_DIRECT;
                p->reason = PN_REASON_MAC_COLLISION;
        }
        return 0;
}

/* Whether pod CIDR k of peer p goes over the overlay: all of an overlay peer's; of a
 * direct one, those of a family it has no address of (when the mode has an overlay). */
static bool cidr_over(const podnet_nodes *nodes, const struct pn_overlay_config *cfg,
                      const struct pn_overlay_peer *p, size_t k)
{
        if (p->path == PN_PATH_VXLAN)
                return true;
        if (cfg->mode == PN_OVERLAY_NEVER || !p->has_endpoint ||
            p->reason == PN_REASON_MAC_COLLISION || p->reason == PN_REASON_NO_ENDPOINT)
                return false;
        return !podnet_nodes_address(
            nodes, p->node, podnet_cidr_family(podnet_nodes_pod_cidr(nodes, p->node, k)));
}

/* The neighbour entries and routes of peer p's pod CIDRs that go over the overlay (one
 * per pod CIDR), and its FDB entry, appended to out (room made by the caller). */
static void peer_entries(const podnet_nodes *nodes, const struct pn_overlay_config *cfg,
                         const struct pn_overlay_peer *p, struct pn_overlay_plan *out)
{
        struct pn_fdb *f;
        bool any = false;

        for (size_t k = 0; k < podnet_nodes_n_pod_cidrs(nodes, p->node) && !any; k++)
                any = cidr_over(nodes, cfg, p, k);
        if (!any)
                return;
        f = &out->fdb[out->n_fdb++];

        *f = (struct pn_fdb){.ifindex = cfg->ifindex,
                             .state = NUD_PERMANENT,
                             .flags = NTF_SELF,
                             .family = (uint8_t)cfg->family};
        memcpy(f->mac, p->mac, 6);
        memcpy(f->dst, p->underlay, pn_family_len(cfg->family));
        for (size_t k = 0; k < podnet_nodes_n_pod_cidrs(nodes, p->node); k++) {
                const podnet_cidr *pc = podnet_nodes_pod_cidr(nodes, p->node, k);
                struct pn_neigh *ne;
                struct pn_rt *rt;
                podnet_cidr ep, net;
                int family = pc->family;
                unsigned len = pn_family_len(family);

                if (!cidr_over(nodes, cfg, p, k))
                        continue;
                ne = &out->neigh[out->n_neigh++];
                rt = &out->rt[out->n_rt++];

                /* IPv4: the pod CIDR's network address; IPv6: the link-local address of
                 * the peer's endpoint MAC (pn_vtep_addr6_ll() says why) */
                pn_vtep_addr(pc, &ep);
                if (family == AF_INET6)
                        pn_vtep_addr6_ll(p->mac, ep.addr.b);
                net = *pc;
                pn_cidr_mask(&net);
                *ne = (struct pn_neigh){.family = (uint8_t)family,
                                        .state = NUD_PERMANENT,
                                        .ifindex = cfg->ifindex,
                                        .has_mac = true};
                memcpy(ne->mac, p->mac, 6);
                memcpy(ne->addr, ep.addr.b, len);
                *rt = (struct pn_rt){.family = (uint8_t)family,
                                     .dst_len = (uint8_t)pc->prefixlen,
                                     .type = RTN_UNICAST,
                                     .has_gw = true,
                                     .onlink = true,
                                     .table = cfg->table,
                                     .priority = cfg->priority[family == AF_INET6],
                                     .oif = (uint32_t)cfg->ifindex,
                                     .node = p->node};
                memcpy(rt->dst, net.addr.b, len);
                memcpy(rt->gw, ep.addr.b, len);
        }
}

int pn_overlay_plan(const podnet_nodes *nodes, size_t self, const struct pn_overlay_config *cfg,
                    struct pn_overlay_plan *out)
{
        size_t n = podnet_nodes_count(nodes), n_cidrs = 0;
        uint8_t self_addr[16] = {0}, self_mac[6] = {0};
        bool self_endpoint;
        int r;

        memset(out, 0, sizeof(*out));
        if (!cfg || pn_family_len(cfg->family) == 0 || cfg->ifindex <= 0 ||
            (self != SIZE_MAX && self >= n))
                return -EINVAL;
        self_endpoint = self != SIZE_MAX && endpoint_of(nodes, self, cfg->family, self_addr);
        if (self_endpoint)
                pn_vtep_mac(cfg->family, self_addr, self_mac);
        out->peer = calloc(n + 1, sizeof(*out->peer));
        if (!out->peer)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct pn_overlay_peer *p = &out->peer[out->n_peer];

                if (i == self)
                        continue;
                out->n_peer++;
                p->node = i;
                p->has_endpoint = endpoint_of(nodes, i, cfg->family, p->underlay);
                if (p->has_endpoint)
                        pn_vtep_mac(cfg->family, p->underlay, p->mac);
                decide(nodes, cfg, self_endpoint, p);
        }
        if (self_endpoint) {
                r = drop_collisions(out, cfg->family, self_addr, self_mac);
                if (r < 0) {
                        pn_overlay_plan_done(out);
                        return r;
                }
        }
        for (size_t k = 0; k < out->n_peer; k++) {
                out->n_vxlan += out->peer[k].path == PN_PATH_VXLAN;
                n_cidrs += podnet_nodes_n_pod_cidrs(nodes, out->peer[k].node);
        }
        out->fdb = calloc(out->n_peer + 1, sizeof(*out->fdb));
        out->neigh = calloc(n_cidrs + 1, sizeof(*out->neigh));
        out->rt = calloc(n_cidrs + 1, sizeof(*out->rt));
        if (!out->fdb || !out->neigh || !out->rt) {
                pn_overlay_plan_done(out);
                return -ENOMEM;
        }
        for (size_t k = 0; k < out->n_peer; k++)
                if (self_endpoint)
                        peer_entries(nodes, cfg, &out->peer[k], out);
        pn_sort_if_needed(out->fdb, out->n_fdb, sizeof(*out->fdb), pn_fdb_cmp);
        pn_sort_if_needed(out->neigh, out->n_neigh, sizeof(*out->neigh), pn_neigh_cmp);
        pn_sort_if_needed(out->rt, out->n_rt, sizeof(*out->rt), pn_rt_compare);
        return 0;
}

void pn_overlay_plan_done(struct pn_overlay_plan *p)
{
        free(p->peer);
        free(p->neigh);
        free(p->fdb);
        free(p->rt);
        *p = (struct pn_overlay_plan){0};
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The overlay's part of a route sync pass: the VXLAN device made to exist on this node's
 * underlay device, each peer's path planned (overlay-plan.c) from the kernel's answer to
 * whether its address is on-link, the overlay peers' routes put in place of their direct
 * ones, and their neighbour and FDB entries reconciled like routes: dump, diff
 * (overlay-diff.c), only the difference written.
 */
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "agent/probe.h"
#include "agent/route-sync.h"

#define VXLAN_VNI_DEFAULT 1
/* What VXLAN adds to an inner frame: outer IP header, UDP, VXLAN, inner Ethernet. */
#define VXLAN_OVERHEAD_IPV4 50
#define VXLAN_OVERHEAD_IPV6 70
/* The most a sync waits for the answers of auto's probe round, all peers together: a
 * peer whose answer is later goes over the overlay until the next sync. One round of
 * 5,000 answered probes took 159 ms (bench/probe-bench.sh). */
#define PROBE_BUDGET_MS 250
#define BRIDGE_DEFAULT "cbr0"
#define MAX_OWN_CIDRS 8
/* The device's index in a dry run where it does not exist yet: no link has it. */
#define IFINDEX_PLACEHOLDER 0x7fffffff

void pn_overlay_pass_done(struct pn_overlay_pass *o)
{
        pn_overlay_plan_done(&o->plan);
        /* kept for the thread's next dump (netlink/scratch.c) */
        pn_nl_scratch_give(PN_NL_SCRATCH_NEIGH, o->neigh, o->n_neigh * sizeof(*o->neigh));
        pn_nl_scratch_give(PN_NL_SCRATCH_FDB, o->fdb, o->n_fdb * sizeof(*o->fdb));
        pn_nl_scratch_give(PN_NL_SCRATCH_NEIGH_OPS, o->nops, o->nops_size);
        pn_nl_scratch_give(PN_NL_SCRATCH_FDB_OPS, o->fops, o->fops_size);
        *o = (struct pn_overlay_pass){0};
}

/* The lookups of every peer address, for the on-link question. */
struct onlink_ctx {
        struct pn_lookup *v;
        size_t n;
};

static bool lookup_onlink(int family, const uint8_t *addr, void *userdata)
{
        const struct onlink_ctx *c = userdata;
        const struct pn_lookup *l = pn_lookup_find(c->v, c->n, family, addr);

        return l && !l->error && !l->why;
}

/* The oif of the local route of this node's address (family, addr): the underlay
 * device. 0 if the address is not this node's. */
static int underlay_ifindex(const struct pn_route_dump *d, int family, const uint8_t *addr)
{
        for (size_t i = 0; i < d->n_local; i++) {
                const struct pn_rt *rt = &d->local[i];
                if (rt->family == family && rt->dst_len == pn_family_bits(family) &&
                    memcmp(rt->dst, addr, pn_family_len(family)) == 0 && rt->oif)
                        return (int)rt->oif;
        }
        return 0;
}

/* The VXLAN device on the underlay device `under`, as podnet_vxlan_ensure() makes it
 * (not in a dry run: then only looked up). */
static int ensure_device(struct pn_overlay_pass *o, podnet_ctx *ctx, struct nl_sock *sk,
                         const podnet_sync_config *cfg, const podnet_cidr *self_addr, int under,
                         podnet_error **err)
{
        podnet_vxlan_info info = {.size = sizeof(info)};
        struct pn_link l;
        uint8_t mac[6];
        char mac_text[18];
        int r;

        r = pn_link_query(sk, NULL, under, &l);
        if (r < 0)
                return pn_error(err, -r, 0, "Looking up the underlay device (index %d)", under);
        o->mtu = l.mtu > VXLAN_OVERHEAD_IPV6
                     ? l.mtu - (o->family == AF_INET ? VXLAN_OVERHEAD_IPV4 : VXLAN_OVERHEAD_IPV6)
                     : 0;
        pn_vtep_mac(o->family, podnet_cidr_addr(self_addr), mac);
        pn_mac_format(mac, 6, mac_text, sizeof(mac_text));
        if (o->dry_run) {
                r = podnet_vxlan_get(ctx, NULL, o->dev, &info, NULL);
                o->ifindex = r >= 0 ? info.ifindex : IFINDEX_PLACEHOLDER;
                return 0;
        }
        podnet_vxlan_config vc = {
            .size = sizeof(vc),
            .name = o->dev,
            .vni = cfg->vxlan_vni ? cfg->vxlan_vni : VXLAN_VNI_DEFAULT,
            .port = (uint16_t)cfg->vxlan_port,
            .local = self_addr,
            .dev = l.name,
            .mtu = o->mtu,
            .mac = mac_text,
        };
        if (cfg->vxlan_port > 65535)
                return pn_error_plain(err, EINVAL, 0, "VXLAN port %u is not in 1..65535",
                                      cfg->vxlan_port);
        r = podnet_vxlan_ensure(ctx, NULL, &vc, &info, err);
        if (r < 0)
                return r;
        o->ifindex = r;
        if (info.changes & PODNET_VXLAN_CREATED)
                o->writes++;
        if (info.changes & PODNET_VXLAN_REPLACED) {
                o->writes += 2;
                o->replaced = true;
        }
        if (info.changes & (PODNET_VXLAN_MTU_SET | PODNET_VXLAN_MAC_SET | PODNET_VXLAN_UP_SET))
                o->writes++;
        return 0;
}

/* The tunnel endpoint address of each IPv4 pod CIDR of this node (its network address,
 * what the peers' neighbour entries name) as a /32 on the VXLAN device, and no other IPv4
 * address there. Without an address on it, a packet a peer sends over the overlay while
 * this node routes that peer directly (mixed modes, or a probe that failed one way only)
 * fails loose reverse-path filtering (rp_filter 2: a device without an IPv4 address
 * passes only sources routed through it) and is dropped. flannel does the same. Read
 * from the route dump's local routes: a sync that finds them in place writes nothing. */
static int ensure_endpoint_addrs(struct pn_overlay_pass *o, podnet_ctx *ctx,
                                 const podnet_nodes *nodes, const struct pn_route_dump *d,
                                 podnet_error **err)
{
        podnet_cidr want[MAX_OWN_CIDRS];
        size_t n_want = 0;
        int r;

        for (size_t k = 0; o->self != SIZE_MAX && k < podnet_nodes_n_pod_cidrs(nodes, o->self) &&
                           n_want < MAX_OWN_CIDRS;
             k++) {
                const podnet_cidr *c = podnet_nodes_pod_cidr(nodes, o->self, k);
                if (podnet_cidr_family(c) == AF_INET && pn_vtep_addr(c, &want[n_want]) >= 0)
                        n_want++;
        }
        for (size_t i = 0; i < d->n_local; i++) { /* addresses no pod CIDR of ours has */
                const struct pn_rt *rt = &d->local[i];
                bool wanted = false;
                podnet_cidr c = {.family = AF_INET, .prefixlen = 32};

                if (rt->family != AF_INET || (int)rt->oif != o->ifindex || o->dry_run)
                        continue;
                memcpy(c.addr.b, rt->dst, 4);
                for (size_t k = 0; k < n_want && !wanted; k++)
                        wanted = memcmp(want[k].addr.b, rt->dst, 4) == 0;
                if (wanted)
                        continue;
                r = podnet_addr_del(ctx, NULL, o->dev, &c, err);
                if (r < 0)
                        return r;
                o->writes++;
        }
        for (size_t k = 0; k < n_want; k++) {
                bool present = false;

                for (size_t i = 0; i < d->n_local && !present; i++)
                        present = d->local[i].family == AF_INET &&
                                  (int)d->local[i].oif == o->ifindex &&
                                  memcmp(d->local[i].dst, want[k].addr.b, 4) == 0;
                if (present || o->dry_run)
                        continue;
                r = podnet_addr_add(ctx, NULL, o->dev, &want[k], PODNET_ADDR_REPLACE, err);
                if (r < 0)
                        return r;
                o->writes++;
        }
        return 0;
}

/* The gateway (first host) address of pod CIDR c, with c's prefix: what podnet-cni puts
 * on the bridge. */
static int gateway_of(const podnet_cidr *c, podnet_cidr **ret)
{
        return podnet_cidr_nth(ret, c, 1);
}

/* auto: this node's bridge with the gateway address of each of its pod CIDRs, as
 * podnet-cni makes it (so that the peers' probes are answered before any pod exists
 * here), ensured only where something is missing: a sync that finds it in place writes
 * nothing. 0 or -errno after a message. */
static int ensure_bridge(struct pn_overlay_pass *o, podnet_ctx *ctx, const podnet_nodes *nodes,
                         const podnet_sync_config *cfg, podnet_error **err)
{
        podnet_cidr *gw[MAX_OWN_CIDRS] = {0};
        size_t n = podnet_nodes_n_pod_cidrs(nodes, o->self);
        const char *bridge = cfg->bridge ? cfg->bridge : BRIDGE_DEFAULT;
        bool missing = false;
        size_t n_gw = 0;
        int r = 0;

        if (n > MAX_OWN_CIDRS)
                n = MAX_OWN_CIDRS;
        for (size_t k = 0; k < n && r >= 0; k++) {
                r = gateway_of(podnet_nodes_pod_cidr(nodes, o->self, k), &gw[n_gw]);
                if (r == -ERANGE) { /* a /32 or /128: no gateway, no probe */
                        r = 0;
                        continue;
                }
                if (r >= 0 && !missing)
                        missing = podnet_addr_has(ctx, NULL, bridge, gw[n_gw], NULL) != 1;
                n_gw += r >= 0;
        }
        if (r < 0)
                r = pn_error(err, -r, 0, "The gateway addresses of bridge %s", bridge);
        else if (missing && !o->dry_run) {
                podnet_bridge_config bc = {.size = sizeof(bc),
                                           .name = bridge,
                                           .addrs = (const podnet_cidr *const *)gw,
                                           .n_addrs = n_gw,
                                           .ipv6_nodad = true};
                r = podnet_bridge_ensure(ctx, NULL, &bc, err);
                if (r >= 0)
                        o->writes++;
        }
        for (size_t k = 0; k < n_gw; k++)
                podnet_cidr_free(gw[k]);
        return r < 0 ? r : 0;
}

/* The probe targets of the on-link (direct) peers of the plan: per pod CIDR family
 * both nodes have, this node's gateway to the peer's, to the peer node's address of
 * that family (else its underlay one) on the underlay device. */
static int probe_targets(const struct pn_overlay_pass *o, const podnet_nodes *nodes,
                         struct pn_probe_target **ret, size_t **owner, size_t *n_ret)
{
        const podnet_cidr *own[2] = {NULL, NULL};
        size_t n = 0, cap = 0;
        int r = 0;

        for (size_t k = 0; k < podnet_nodes_n_pod_cidrs(nodes, o->self); k++) {
                const podnet_cidr *c = podnet_nodes_pod_cidr(nodes, o->self, k);
                int f = podnet_cidr_family(c) == AF_INET6;
                if (!own[f])
                        own[f] = c;
        }
        for (size_t p = 0; p < o->plan.n_peer; p++)
                if (o->plan.peer[p].reason == PN_REASON_ONLINK)
                        cap += podnet_nodes_n_pod_cidrs(nodes, o->plan.peer[p].node);
        *ret = calloc(cap + 1, sizeof(**ret));
        *owner = calloc(cap + 1, sizeof(**owner));
        if (!*ret || !*owner)
                return -ENOMEM;
        for (size_t p = 0; p < o->plan.n_peer && r >= 0; p++) {
                size_t node = o->plan.peer[p].node;
                if (o->plan.peer[p].reason != PN_REASON_ONLINK)
                        continue;
                for (size_t k = 0; k < podnet_nodes_n_pod_cidrs(nodes, node) && r >= 0; k++) {
                        const podnet_cidr *c = podnet_nodes_pod_cidr(nodes, node, k);
                        int f = podnet_cidr_family(c);
                        const podnet_cidr *mine = own[f == AF_INET6];
                        const podnet_cidr *addr = podnet_nodes_address(nodes, node, f);
                        struct pn_probe_target *t = &(*ret)[n];
                        podnet_cidr *a = NULL, *b = NULL;

                        if (!mine)
                                continue;
                        if (!addr)
                                addr = podnet_nodes_address(nodes, node, o->family);
                        if (!addr)
                                continue;
                        r = gateway_of(mine, &a);
                        if (r >= 0)
                                r = gateway_of(c, &b);
                        if (r == -ERANGE)
                                r = 0; /* a /32 or /128 has no gateway: not probed */
                        else if (r >= 0) {
                                *t = (struct pn_probe_target){.family = f,
                                                              .ifindex = o->underlay,
                                                              .node_family =
                                                                  podnet_cidr_family(addr)};
                                memcpy(t->src, podnet_cidr_addr(a), pn_family_len(f));
                                memcpy(t->dst, podnet_cidr_addr(b), pn_family_len(f));
                                memcpy(t->node_addr, podnet_cidr_addr(addr),
                                       pn_family_len(t->node_family));
                                (*owner)[n++] = node;
                        }
                        podnet_cidr_free(a);
                        podnet_cidr_free(b);
                }
        }
        *n_ret = n;
        return r;
}

/* auto: probes the direct path to every on-link peer within PROBE_BUDGET_MS; *failed
 * (per node index) marks those with a target unanswered. The number of peers that
 * failed, or -errno (after a message when err is set; a probe that cannot run at all
 * is logged and every peer stays as cross-subnet would route it). */
static int probe(struct pn_overlay_pass *o, podnet_ctx *ctx, const podnet_nodes *nodes,
                 const podnet_sync_config *cfg, bool **failed, podnet_error **err)
{
        _cleanup_free_ struct pn_probe_target *t = NULL;
        _cleanup_free_ size_t *owner = NULL;
        _cleanup_free_ bool *ok = NULL;
        podnet_error *perr = NULL;
        size_t n = 0;
        int r, n_failed = 0;

        r = ensure_bridge(o, ctx, nodes, cfg, err);
        if (r < 0)
                return r;
        r = probe_targets(o, nodes, &t, &owner, &n);
        if (r < 0)
                return pn_error(err, -r, 0, "Preparing the probes of the direct peers");
        *failed = calloc(podnet_nodes_count(nodes) + 1, sizeof(**failed));
        ok = calloc(n + 1, sizeof(*ok));
        if (!*failed || !ok)
                return pn_error(err, ENOMEM, 0, "Probing the direct peers");
        if (n == 0)
                return 0;
        r = pn_probe_direct(t, n, o->probe_ms ? o->probe_ms : PROBE_BUDGET_MS, ok, &perr);
        if (r < 0) {
                pn_warn(ctx, "Probing the direct path to %zu peers: %s; they stay direct", n,
                        perr ? podnet_error_message(perr) : strerror(-r));
                podnet_error_free(perr);
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                if (!ok[i] && !(*failed)[owner[i]]) {
                        (*failed)[owner[i]] = true;
                        n_failed++;
                }
        pn_debug(ctx, "Probed %zu direct paths: %d peers failed", n, n_failed);
        return n_failed;
}

/* Asks the kernel for the route to every peer address and plans each peer's path. */
int pn_overlay_pass_plan(struct pn_overlay_pass *o, podnet_ctx *ctx, struct nl_sock *sk,
                         const podnet_nodes *nodes, const podnet_sync_config *cfg,
                         podnet_error **err)
{
        size_t n_nodes = podnet_nodes_count(nodes), n = 0, n_unique = 0;
        struct onlink_ctx oc = {0};
        struct pn_overlay_config pc = {
            .mode = o->mode,
            .family = o->family,
            .ifindex = o->ifindex,
            .table = cfg->table,
            .priority = {0, 1024},
            .onlink = lookup_onlink,
            .userdata = &oc,
        };
        int r = 0;

        if (o->mode == PN_OVERLAY_CROSS_SUBNET || o->mode == PN_OVERLAY_AUTO) {
                oc.v = calloc(2 * n_nodes + 1, sizeof(*oc.v));
                if (!oc.v)
                        return pn_error(err, ENOMEM, 0, "Planning the overlay");
                for (size_t i = 0; i < n_nodes; i++)
                        for (int f = AF_INET; f; f = f == AF_INET ? AF_INET6 : 0) {
                                const podnet_cidr *a = podnet_nodes_address(nodes, i, f);
                                if (!a || i == o->self)
                                        continue;
                                oc.v[n].family = (uint8_t)f;
                                memcpy(oc.v[n].addr, podnet_cidr_addr(a), pn_family_len(f));
                                n++;
                        }
                r = pn_lookups_resolve(sk, oc.v, n, &n_unique);
                oc.n = n_unique;
                if (r < 0) {
                        pn_lookups_free(oc.v, n);
                        return pn_error(err, -r, 0, "Looking up routes to peers");
                }
        }
        r = pn_overlay_plan(nodes, o->self, &pc, &o->plan);
        if (r >= 0 && o->mode == PN_OVERLAY_AUTO) {
                /* the on-link peers must also pass the probe: those that fail go over */
                _cleanup_free_ bool *failed = NULL;
                r = probe(o, ctx, nodes, cfg, &failed, err);
                if (r > 0) {
                        pc.probe_failed = failed;
                        pn_overlay_plan_done(&o->plan);
                        r = pn_overlay_plan(nodes, o->self, &pc, &o->plan);
                } else if (r < 0) {
                        pn_lookups_free(oc.v, n_unique);
                        return r; /* the probe's message */
                }
        }
        pn_lookups_free(oc.v, oc.v ? n_unique : 0);
        if (r < 0)
                return pn_error(err, -r, 0, "Planning the overlay");
        return 0;
}

int pn_overlay_pass_prepare(struct pn_overlay_pass *o, podnet_ctx *ctx, struct nl_sock *sk,
                            const podnet_nodes *nodes, const podnet_sync_config *cfg,
                            const struct pn_route_dump *d, podnet_error **err)
{
        const podnet_cidr *self_addr = NULL;
        int self, under = 0, r;

        *o = (struct pn_overlay_pass){.self = SIZE_MAX, .dry_run = cfg->dry_run};
        o->explicit_mode = cfg->overlay != NULL;
        if (pn_overlay_mode_parse(cfg->overlay, PN_OVERLAY_NEVER, &o->mode) < 0)
                return pn_error_plain(err, EINVAL, 0,
                                      "Unknown overlay mode \"%s\" (never, cross-subnet, always "
                                      "or auto)",
                                      cfg->overlay);
        snprintf(o->dev, sizeof(o->dev), "%s", cfg->vxlan_dev ? cfg->vxlan_dev : PN_VXLAN_DEV_DEFAULT);
        if (o->mode == PN_OVERLAY_NEVER) {
                /* a device an earlier mode made goes once the routes are direct again */
                o->remove_dev = o->explicit_mode && !o->dry_run;
                return 0;
        }
        self = isempty(cfg->node_name) ? -1 : podnet_nodes_find(nodes, cfg->node_name);
        if (self >= 0) {
                o->self = (size_t)self;
                o->family = podnet_nodes_address(nodes, o->self, AF_INET) ? AF_INET : AF_INET6;
                self_addr = podnet_nodes_address(nodes, o->self, o->family);
        }
        if (self_addr)
                under = underlay_ifindex(d, o->family, podnet_cidr_addr(self_addr));
        if (!under) {
                char a[PODNET_CIDR_STRLEN] = "none";
                if (self_addr)
                        podnet_cidr_format_addr(self_addr, a, sizeof(a));
                pn_warn(ctx,
                        "Overlay %s: this node's address (%s) is not an address of this "
                        "machine; no VXLAN tunnel endpoint, every peer direct",
                        pn_overlay_mode_name(o->mode), a);
                return 0;
        }
        r = ensure_device(o, ctx, sk, cfg, self_addr, under, err);
        if (r < 0)
                return r;
        r = ensure_endpoint_addrs(o, ctx, nodes, d, err);
        if (r < 0)
                return r;
        o->active = true;
        o->underlay = under;
        return pn_overlay_pass_plan(o, ctx, sk, nodes, cfg, err);
}

static int mac_compare(const void *a, const void *b)
{
        return memcmp(a, b, 6);
}

static uint64_t mac_key(const void *a)
{
        return pn_key_be(a, 6);
}

static uint64_t neigh_key(const void *a)
{
        const struct pn_neigh *x = a;

        return (uint64_t)(x->family != AF_INET) << 63 | pn_key_be(x->addr, 16) >> 1;
}

/* Every array here is sorted and merged, not searched: a no-op sync of 5,000 overlay
 * peers spent 13.8M instructions in bsearch() and qsort() on this (callgrind). */
int pn_overlay_pass_routes(struct pn_overlay_pass *o, const podnet_nodes *nodes,
                           struct pn_rt *want, size_t *n_want_io, podnet_sync_report *report)
{
        struct pn_overlay_plan *p = &o->plan;
        _cleanup_free_ struct pn_neigh *gws = NULL;
        _cleanup_free_ uint8_t *macs = NULL;
        size_t n_gw = 0, n_mac = 0, k = 0, j = 0, n_want = *n_want_io;

        if (!o->active)
                return 0;
        gws = calloc(n_want + 1, sizeof(*gws));
        macs = calloc(p->n_neigh + 1, 6);
        if (!gws || !macs)
                return -ENOMEM;
        /* both by destination (the plan's are; the route diff wants them so anyway) */
        pn_keysort(p->rt, p->n_rt, sizeof(*p->rt), pn_rt_key, pn_rt_compare);
        pn_keysort(want, n_want, sizeof(*want), pn_rt_key, pn_rt_compare);
        for (size_t i = 0; i < n_want; i++) {
                const struct pn_rt *ov = NULL;
                uint32_t priority = want[i].priority, table = want[i].table;

                while (j < p->n_rt && pn_rt_compare_dst(&p->rt[j], &want[i]) < 0)
                        j++;
                /* the plan may hold one destination twice (nodes claiming one pod CIDR,
                 * which the sync refuses): the one of this route's node */
                for (size_t g = j; g < p->n_rt && pn_rt_compare_dst(&p->rt[g], &want[i]) == 0;
                     g++)
                        if (p->rt[g].node == want[i].node) {
                                ov = &p->rt[g];
                                break;
                        }
                if (!ov)
                        continue;
                want[i] = *ov;
                want[i].priority = priority;
                want[i].table = table;
                gws[n_gw] = (struct pn_neigh){.family = want[i].family, .ifindex = o->ifindex};
                memcpy(gws[n_gw++].addr, want[i].gw, 16);
        }
        /* routes without a gateway the overlay does not carry: as before the overlay */
        for (size_t i = 0; i < n_want; i++) {
                int r;

                if (want[i].has_gw) {
                        want[k++] = want[i];
                        continue;
                }
                r = pn_sync_report_add(report, PODNET_SYNC_SKIPPED,
                                       podnet_nodes_name(nodes, want[i].node), &want[i],
                                       "node %s has no %s address",
                                       podnet_nodes_name(nodes, want[i].node),
                                       want[i].family == AF_INET6 ? "IPv6" : "IPv4");
                if (r < 0)
                        return r;
        }
        *n_want_io = n_want = k;
        /* entries of peers (pod CIDRs) the sync refused or skipped go: only those that a
         * route uses stay, neighbour entries by address, FDB entries by MAC (the plan's
         * entries are all of the device, sorted by pn_neigh_cmp() and pn_fdb_cmp()) */
        pn_keysort(gws, n_gw, sizeof(*gws), neigh_key, pn_neigh_cmp);
        k = j = 0;
        for (size_t i = 0; i < p->n_neigh; i++) {
                int c = 1;

                while (j < n_gw && (c = pn_neigh_cmp(&gws[j], &p->neigh[i])) < 0)
                        j++;
                if (j < n_gw && c == 0)
                        p->neigh[k++] = p->neigh[i];
        }
        p->n_neigh = k;
        for (size_t i = 0; i < p->n_neigh; i++)
                memcpy(macs + 6 * n_mac++, p->neigh[i].mac, 6);
        pn_keysort(macs, n_mac, 6, mac_key, mac_compare);
        k = j = 0;
        for (size_t i = 0; i < p->n_fdb; i++) {
                int c = 1;

                while (j < n_mac && (c = memcmp(macs + 6 * j, p->fdb[i].mac, 6)) < 0)
                        j++;
                if (j < n_mac && c == 0)
                        p->fdb[k++] = p->fdb[i];
        }
        p->n_fdb = k;
        return 0;
}

int pn_overlay_pass_diff(struct pn_overlay_pass *o, struct nl_sock *sk, podnet_error **err)
{
        int r;

        if (!o->active || o->ifindex == IFINDEX_PLACEHOLDER || o->dumped)
                goto diff; /* nothing to dump, or dumped by pn_overlay_early_join() */
        r = pn_neigh_dump(sk, AF_UNSPEC, o->ifindex, &o->neigh, &o->n_neigh);
        if (r < 0)
                return pn_error(err, -r, 0, "Dumping the neighbour entries of %s", o->dev);
        r = pn_fdb_dump(sk, o->ifindex, &o->fdb, &o->n_fdb);
        if (r < 0)
                return pn_error(err, -r, 0, "Dumping the FDB of %s", o->dev);
diff:
        if (!o->active)
                return 0;
        r = pn_neigh_diff(o->plan.neigh, o->plan.n_neigh, o->neigh, o->n_neigh, &o->nops,
                          &o->n_nops);
        if (r >= 0) {
                o->nops_size = pn_entry_ops_size(o->plan.n_neigh, o->n_neigh);
                r = pn_fdb_diff(o->plan.fdb, o->plan.n_fdb, o->fdb, o->n_fdb, &o->fops, &o->n_fops);
        }
        if (r >= 0)
                o->fops_size = pn_entry_ops_size(o->plan.n_fdb, o->n_fdb);
        if (r < 0)
                return pn_error(err, -r, 0, "Comparing the entries of %s", o->dev);
        return 0;
}

static bool gone(int e)
{
        return e == -ESRCH || e == -ENOENT;
}

int pn_overlay_pass_write(struct pn_overlay_pass *o, struct nl_sock *sk, bool adds,
                          podnet_error **err)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        int r;

        if (!o->active || o->dry_run)
                return 0;
        /* FDB entries before the neighbour entries that point at their MACs; deletions in
         * the reverse order */
        for (size_t i = 0; adds && i < o->n_fops; i++)
                if (o->fops[i].kind == PN_OP_ADD || o->fops[i].kind == PN_OP_REPLACE)
                        pn_fdb_put(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE,
                                   &o->plan.fdb[o->fops[i].want]);
        for (size_t i = 0; i < o->n_nops; i++) {
                const struct pn_entry_op *op = &o->nops[i];
                if (adds && (op->kind == PN_OP_ADD || op->kind == PN_OP_REPLACE))
                        pn_neigh_put(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE,
                                     &o->plan.neigh[op->want]);
                else if (!adds && op->kind == PN_OP_DELETE)
                        pn_neigh_put(&b, RTM_DELNEIGH, 0, &o->neigh[op->have]);
        }
        for (size_t i = 0; !adds && i < o->n_fops; i++)
                if (o->fops[i].kind == PN_OP_DELETE)
                        pn_fdb_put(&b, RTM_DELNEIGH, 0, &o->fdb[o->fops[i].have]);
        if (b.error < 0)
                return pn_error(err, -b.error, 0, "Writing the entries of %s", o->dev);
        if (b.n == 0)
                return 0;
        r = pn_nl_batch(sk, &b, NULL, NULL);
        for (size_t q = 0; q < b.n; q++)
                if (b.reqs[q].answered)
                        o->writes++;
        if (r < 0)
                return pn_error(err, -r, 0, "Writing the entries of %s", o->dev);
        for (size_t q = 0; q < b.n; q++) {
                int e = pn_nl_req_error(&b.reqs[q]);
                if (e < 0 && !(gone(e) && !adds))
                        return pn_error(err, -e, 0, "%s neighbour and FDB entries of %s",
                                        adds ? "Writing" : "Deleting", o->dev);
        }
        return 0;
}

int pn_overlay_pass_report(const struct pn_overlay_pass *o, const podnet_nodes *nodes,
                           const struct pn_rt *want, size_t n_want, podnet_sync_report *report)
{
        _cleanup_free_ bool *routed = NULL;
        size_t n_nodes = podnet_nodes_count(nodes);
        int r;

        if (o->mode == PN_OVERLAY_NEVER && !o->explicit_mode)
                return 0; /* a caller that knows nothing of the overlay: as before it */
        routed = calloc(n_nodes + 1, sizeof(*routed));
        if (!routed)
                return -ENOMEM;
        for (size_t i = 0; i < n_want; i++)
                if (want[i].node < n_nodes)
                        routed[want[i].node] = true;
        for (size_t k = 0; k < o->plan.n_peer; k++) {
                const struct pn_overlay_peer *p = &o->plan.peer[k];
                if (!routed[p->node])
                        continue; /* skipped or refused: reported so */
                r = pn_sync_report_add_path(report, podnet_nodes_name(nodes, p->node),
                                            pn_path_name(p->path), pn_path_reason_name(p->reason));
                if (r < 0)
                        return r;
        }
        if (!o->active) /* never, or no endpoint here: every routed peer direct */
                for (size_t i = 0; i < n_nodes; i++) {
                        if (!routed[i])
                                continue;
                        r = pn_sync_report_add_path(report, podnet_nodes_name(nodes, i), "direct",
                                                    o->mode == PN_OVERLAY_NEVER
                                                        ? pn_path_reason_name(PN_REASON_FORCED)
                                                        : pn_path_reason_name(
                                                              PN_REASON_NO_ENDPOINT));
                        if (r < 0)
                                return r;
                }
        pn_sync_report_sort_paths(report);
        return 0;
}

int pn_overlay_pass_finish(struct pn_overlay_pass *o, podnet_ctx *ctx, podnet_error **err)
{
        podnet_vxlan_info info = {.size = sizeof(info)};
        int r;

        if (!o->remove_dev || podnet_vxlan_get(ctx, NULL, o->dev, &info, NULL) < 0)
                return 0;
        r = podnet_vxlan_delete(ctx, NULL, o->dev, err);
        if (r < 0)
                return r;
        o->writes++;
        return 0;
}

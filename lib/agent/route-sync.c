/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The route sync: reconciles the routes tagged with podnet's route protocol, and one
 * nexthop object per peer node that they use, against the node list, in passes of one
 * dump, an in-memory plan (route-diff.c, nexthop-plan.c), only the difference written in
 * pipelined batches, and the report (sync-report.c); again from a fresh dump when another
 * writer raced it. And the flush of every route of the protocol.
 */
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <time.h>

#include "agent/route-sync.h"

/* How many stale nexthops the sync deletes together with their routes (one write each):
 * the kernel then walks the whole FIB once per nexthop, so past this many the routes are
 * deleted first, one write each, and the unused nexthops after them. */
#define NH_IMPLICIT_MAX 16

static double ms_since(const struct timespec *t0)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* "10.1.2.0/24" */
static void fmt_rt(const struct pn_rt *rt, char *buf, size_t size)
{
        pn_net_format(rt->family, rt->dst, rt->dst_len, buf, size);
}

struct sync_state {
        podnet_ctx *ctx;
        const podnet_nodes *nodes;
        podnet_sync_config cfg;
        podnet_sync_report *report;
        struct pn_rt *want;
        size_t n_want;
        struct pn_route_dump d; /* installed: d.rt routes, d.nh nexthop objects */
        bool nh_kernel;         /* the kernel has nexthop objects */
        bool nh_mode;           /* routes via nexthop objects */
        bool implicit;          /* stale routes go with their deleted nexthop */
        struct pn_nh *nhw;      /* wanted nexthops, by node then family */
        size_t n_nhw;
        const char **nh_why; /* per wanted nexthop: its lookup's reason, or NULL */
        int *nhw_err;        /* per wanted nexthop: answer to its add or replace */
        int *nhh_err;        /* per installed nexthop: answer to its deletion */
        struct pn_op *ops;
        size_t n_ops;
        size_t ops_size; /* bytes of ops (kept for the next sync) */
        struct pn_lookup *lookups;
        size_t n_lookups;
        const char **why; /* per op: its lookup's reason, or NULL */
        int *err_del;     /* per op: answer to deleting the installed route */
        int *err_set;     /* per op: answer to adding or replacing the wanted route */
        size_t writes;    /* requests answered */
        size_t chunk;     /* requests in flight per chunk */
        struct nl_sock *sk;
        struct pn_overlay_pass ov; /* the VXLAN overlay's part */
        struct pn_overlay_early early; /* its dumps, beside the route dump */
};

static void sync_state_done(struct sync_state *st)
{
        free(st->want);
        pn_route_dump_clear(&st->d);
        free(st->nhw);
        free(st->nh_why);
        free(st->nhw_err);
        free(st->nhh_err);
        pn_nl_scratch_give(PN_NL_SCRATCH_ROUTE_OPS, st->ops, st->ops_size);
        pn_lookups_free(st->lookups, st->n_lookups);
        free(st->why);
        free(st->err_del);
        free(st->err_set);
        pn_overlay_early_done(&st->early);
        pn_overlay_pass_done(&st->ov);
        podnet_sync_report_free(st->report);
}

static const char *node_name_of(const struct sync_state *st, const struct pn_rt *rt)
{
        if (!rt || rt->node == SIZE_MAX)
                return NULL;
        return podnet_nodes_name(st->nodes, rt->node);
}

/* Looks up the route to each of st->lookups[0..n) and words why it is unusable. */
static int lookup_all(struct sync_state *st, size_t n, podnet_error **err)
{
        int r = pn_lookups_resolve(st->sk, st->lookups, n, &st->n_lookups);

        if (r == -ENOMEM)
                return pn_error(err, ENOMEM, 0, "Resolving next hops");
        if (r < 0)
                return pn_error(err, -r, 0, "Looking up routes to peers");
        return 0;
}

/* Plain routes: resolves the next hop of every route about to be written. Routes already
 * installed are not looked up again: the kernel checked their gateway when they were
 * added. */
static int resolve_routes(struct sync_state *st, podnet_error **err)
{
        size_t n = 0;
        int r;

        st->lookups = calloc(st->n_ops + 1, sizeof(*st->lookups));
        if (!st->lookups)
                return pn_error(err, ENOMEM, 0, "Resolving next hops");
        for (size_t i = 0; i < st->n_ops; i++) {
                const struct pn_rt *w = st->ops[i].want;
                if ((st->ops[i].kind != PN_OP_ADD && st->ops[i].kind != PN_OP_REPLACE) ||
                    w->onlink)
                        continue; /* onlink: the overlay's, on the VXLAN device */
                st->lookups[n].family = w->family;
                memcpy(st->lookups[n].addr, w->gw, pn_family_len(w->family));
                n++;
        }
        r = lookup_all(st, n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < st->n_ops; i++) {
                const struct pn_rt *w = st->ops[i].want;
                const struct pn_lookup *l;
                if ((st->ops[i].kind != PN_OP_ADD && st->ops[i].kind != PN_OP_REPLACE) ||
                    w->onlink)
                        continue;
                l = pn_lookup_find(st->lookups, st->n_lookups, w->family, w->gw);
                st->why[i] = l ? l->why : NULL;
        }
        return 0;
}

/* Tells each wanted route which wanted nexthop (sorted by node, family) is its node's. */
static int route_slots(struct sync_state *st)
{
        size_t n_nodes = podnet_nodes_count(st->nodes);
        _cleanup_free_ uint32_t *slot = calloc(2 * n_nodes + 1, sizeof(*slot));

        if (!slot)
                return -ENOMEM;
        for (size_t k = 0; k < st->n_nhw; k++)
                slot[2 * st->nhw[k].node + (st->nhw[k].family == AF_INET6)] = (uint32_t)k + 1;
        for (size_t i = 0; i < st->n_want; i++) {
                st->want[i].nh_slot = slot[2 * st->want[i].node + (st->want[i].family == AF_INET6)];
                if (!st->want[i].nh_slot)
                        return -EIO; /* cannot be: every wanted route made its nexthop */
        }
        return 0;
}

/* Nexthop objects: one per peer node and family; decides which are kept, replaced (the
 * node's address changed), added or deleted; resolves the device of every one about to be
 * written (a gateway that is not directly reachable gets none, and its node's routes are
 * reported unreachable); then points every wanted route at its node's nexthop. */
static int plan_nexthops(struct sync_state *st, podnet_error **err)
{
        size_t n = 0;
        int r;

        st->nhw = calloc(st->n_want + 1, sizeof(*st->nhw));
        if (!st->nhw)
                return pn_error(err, ENOMEM, 0, "Planning next hops");
        for (size_t i = 0; st->nh_mode && i < st->n_want; i++) {
                struct pn_nh *w = &st->nhw[st->n_nhw++];
                w->family = st->want[i].family;
                w->node = st->want[i].node;
                w->name = podnet_nodes_name(st->nodes, w->node);
                memcpy(w->gw, st->want[i].gw, 16);
                /* an overlay peer's: onlink on the VXLAN device, nothing to resolve */
                w->onlink = st->want[i].onlink;
                w->oif = st->want[i].onlink ? st->want[i].oif : 0;
        }
        pn_sort_if_needed(st->nhw, st->n_nhw, sizeof(*st->nhw), pn_nh_compare_node);
        for (size_t k = 0; k < st->n_nhw; k++)
                if (n == 0 || pn_nh_compare_node(&st->nhw[n - 1], &st->nhw[k]) != 0)
                        st->nhw[n++] = st->nhw[k];
        st->n_nhw = n;
        r = st->nh_mode ? route_slots(st) : 0;
        if (r < 0)
                return pn_error(err, -r, 0, "Planning next hops");
        r = pn_nexthop_plan(st->nhw, st->n_nhw, st->d.nh, st->d.n_nh, st->want, st->n_want,
                            st->d.rt, st->d.n_rt, pn_nh_base(st->cfg.protocol, st->cfg.table));
        if (r < 0)
                return pn_error(err, -r, 0, "Planning next hops");

        st->nh_why = calloc(st->n_nhw + 1, sizeof(*st->nh_why));
        st->nhw_err = calloc(st->n_nhw + 1, sizeof(*st->nhw_err));
        st->nhh_err = calloc(st->d.n_nh + 1, sizeof(*st->nhh_err));
        if (!st->nh_why || !st->nhw_err || !st->nhh_err)
                return pn_error(err, ENOMEM, 0, "Planning next hops");
        if (!st->nh_mode)
                return 0; /* plain routes: our nexthops only go */
        n = 0;
        for (size_t k = 0; k < st->n_nhw; k++)
                n += st->nhw[k].kind != PN_OP_KEEP && !st->nhw[k].onlink;
        /* sized to what is resolved: a no-op sync of 5,000 peers zeroed 520 KB here */
        st->lookups = calloc(n + 1, sizeof(*st->lookups));
        if (!st->lookups)
                return pn_error(err, ENOMEM, 0, "Planning next hops");
        n = 0;
        for (size_t k = 0; k < st->n_nhw; k++) {
                if (st->nhw[k].kind == PN_OP_KEEP || st->nhw[k].onlink)
                        continue; /* installed and accepted by the kernel: nothing to resolve */
                st->lookups[n].family = st->nhw[k].family;
                memcpy(st->lookups[n].addr, st->nhw[k].gw, 16);
                n++;
        }
        r = lookup_all(st, n, err);
        if (r < 0)
                return r;
        for (size_t k = 0; k < st->n_nhw; k++) {
                struct pn_nh *w = &st->nhw[k];
                const struct pn_lookup *l;
                if (w->kind == PN_OP_KEEP || w->onlink)
                        continue;
                l = pn_lookup_find(st->lookups, st->n_lookups, w->family, w->gw);
                if (!l)
                        return pn_error(err, EIO, 0, "Resolving next hops");
                st->nh_why[k] = l->why;
                if (!l->why) {
                        w->oif = l->reply.oif;
                        continue;
                }
                /* unreachable: no nexthop; the one it was to take over is stale now */
                if (w->match != SIZE_MAX) {
                        struct pn_nh *h = &st->d.nh[w->match];
                        h->match = SIZE_MAX;
                        h->kind = h->ours ? PN_OP_DELETE : PN_OP_KEEP;
                        w->match = SIZE_MAX;
                }
                w->id = 0;
        }
        for (size_t i = 0; i < st->n_want; i++) {
                st->want[i].via_nh = true;
                st->want[i].nhid = st->nhw[st->want[i].nh_slot - 1].id;
        }
        return 0;
}

static struct pn_nh *nh_of_route(const struct sync_state *st, const struct pn_rt *want)
{
        if (!st->nh_mode || !want || !want->nh_slot)
                return NULL;
        return &st->nhw[want->nh_slot - 1];
}

/* The installed nexthop whose deletion takes this stale route with it, or NULL. */
static const struct pn_nh *implicit_nh(const struct sync_state *st, const struct pn_rt *have)
{
        const struct pn_nh *x;

        if (!st->implicit || !have->nhid)
                return NULL;
        x = pn_nh_by_id(st->d.nh, st->d.n_nh, have->nhid);
        return x && x->kind == PN_OP_DELETE ? x : NULL;
}

/* A route request of podnet's (protocol, table): a deletion names the installed route's
 * type, an addition or replacement a unicast route. */
static void route_req(struct pn_nlbuf *b, int cmd, int flags, const struct pn_rt *rt,
                      unsigned protocol, unsigned table)
{
        struct pn_route_hdr h = {
            .protocol = (uint8_t)protocol,
            .scope = RT_SCOPE_UNIVERSE,
            .type = cmd == RTM_DELROUTE ? rt->type : RTN_UNICAST,
            .table = table,
            /* a plain onlink route (the overlay's) names its device */
            .oif = cmd != RTM_DELROUTE && rt->onlink && !rt->via_nh ? rt->oif : 0,
        };

        pn_route_put(b, cmd, flags, rt, &h);
}

/* Sends the requests of b and counts the answered ones as writes. */
static int write_batch(struct sync_state *st, struct pn_nlbuf *b)
{
        int r = pn_nl_batch(st->sk, b, NULL, NULL);

        for (size_t k = 0; k < b->n; k++)
                if (b->reqs[k].answered)
                        st->writes++;
        return r;
}

/* The writes, in three pipelined batches: nexthop objects added or replaced; then routes
 * deleted, replaced, added (a route whose nexthop failed is not sent); then the nexthop
 * objects nothing uses any more. */
static int write_all(struct sync_state *st, podnet_error **err)
{
        static const enum pn_op_kind order[] = {PN_OP_DELETE, PN_OP_REPLACE, PN_OP_ADD};
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        _cleanup_free_ size_t *idx = NULL;
        _cleanup_free_ bool *del = NULL;
        size_t cap = 0, n = 0;
        int r = 0;

        for (size_t k = 0; k < st->n_nhw; k++)
                cap += st->nhw[k].kind != PN_OP_KEEP;
        for (size_t i = 0; i < st->n_ops; i++)
                cap += st->ops[i].kind != PN_OP_KEEP ? 2 : 0;
        for (size_t j = 0; j < st->d.n_nh; j++)
                cap += st->d.nh[j].kind == PN_OP_DELETE;
        if (cap == 0)
                return 0; /* in sync: no write */
        idx = calloc(cap, sizeof(*idx));
        del = calloc(cap, sizeof(*del));
        if (!idx || !del)
                return pn_error(err, ENOMEM, 0, "Planning route changes");

        for (size_t k = 0; k < st->n_nhw; k++) {
                const struct pn_nh *w = &st->nhw[k];
                if (w->kind == PN_OP_KEEP || !w->id)
                        continue;
                pn_nexthop_put(&b, RTM_NEWNEXTHOP,
                               NLM_F_CREATE |
                                   (w->kind == PN_OP_REPLACE ? NLM_F_REPLACE : NLM_F_EXCL),
                               w, st->cfg.protocol);
                idx[n++] = k;
        }
        r = write_batch(st, &b);
        for (size_t q = 0; q < n && q < b.n; q++)
                st->nhw_err[idx[q]] = pn_nl_req_error(&b.reqs[q]);
        if (r < 0)
                return pn_error(err, -r, 0, "Writing next hops");

        pn_nlbuf_done(&b);
        n = 0;
        for (size_t o = 0; o < ELEMENTSOF(order); o++)
                for (size_t i = 0; i < st->n_ops; i++) {
                        const struct pn_op *op = &st->ops[i];
                        const struct pn_nh *w = nh_of_route(st, op->want);
                        bool unreachable = st->why[i] != NULL;

                        if (op->kind == PN_OP_KEEP)
                                continue;
                        /* an unreachable replacement still removes the stale route */
                        if (order[o] == PN_OP_DELETE &&
                            (op->kind == PN_OP_DELETE ||
                             (op->kind == PN_OP_REPLACE && unreachable))) {
                                if (implicit_nh(st, op->have))
                                        continue;
                                route_req(&b, RTM_DELROUTE, 0, op->have, st->cfg.protocol,
                                          st->cfg.table);
                                del[n] = true;
                        } else if (order[o] == op->kind && order[o] != PN_OP_DELETE &&
                                   !unreachable) {
                                if (w && st->nhw_err[w - st->nhw] < 0)
                                        continue; /* its nexthop failed */
                                route_req(&b, RTM_NEWROUTE,
                                          NLM_F_CREATE | (op->kind == PN_OP_REPLACE ? NLM_F_REPLACE
                                                                                    : NLM_F_EXCL),
                                          op->want, st->cfg.protocol, st->cfg.table);
                                del[n] = false;
                        } else {
                                continue;
                        }
                        idx[n++] = i;
                }
        r = write_batch(st, &b);
        for (size_t q = 0; q < n && q < b.n; q++) {
                int e = pn_nl_req_error(&b.reqs[q]);
                if (del[q])
                        st->err_del[idx[q]] = e;
                else
                        st->err_set[idx[q]] = e;
        }
        if (r < 0)
                return pn_error(err, -r, 0, "Writing routes");

        pn_nlbuf_done(&b);
        n = 0;
        for (size_t j = 0; j < st->d.n_nh; j++) {
                if (st->d.nh[j].kind != PN_OP_DELETE)
                        continue;
                pn_nexthop_put(&b, RTM_DELNEXTHOP, 0, &st->d.nh[j], st->cfg.protocol);
                idx[n++] = j;
        }
        r = write_batch(st, &b);
        for (size_t q = 0; q < n && q < b.n; q++)
                st->nhh_err[idx[q]] = pn_nl_req_error(&b.reqs[q]);
        if (r < 0)
                return pn_error(err, -r, 0, "Deleting next hops");
        return 0;
}

static bool gone(int e)
{
        return e == -ESRCH || e == -ENOENT;
}

/* Reports a route that was to be added or replaced, or whose nexthop was replaced: `e` is
 * the kernel's answer, `nh_failed` says it was about the node's nexthop. */
static int report_set(struct sync_state *st, podnet_sync_action action, const char *node,
                      const struct pn_rt *rt, int e, bool nh_failed, int *first_error,
                      podnet_error **err)
{
        char d[PODNET_CIDR_STRLEN + 8], g[INET6_ADDRSTRLEN];
        const char *verb = action == PODNET_SYNC_ADDED ? "Adding" : "Replacing";

        fmt_rt(rt, d, sizeof(d));
        pn_addr_text(rt->family, rt->gw, g, sizeof(g));
        if (e == -ENETUNREACH || e == -EHOSTUNREACH)
                return pn_sync_report_add(st->report, PODNET_SYNC_UNREACHABLE, node, rt,
                                          "the kernel refused gateway %s: %s", g, strerror(-e));
        if (e == -EEXIST && !nh_failed) {
                if (!*first_error)
                        *first_error = pn_error_plain(err, EEXIST, 0,
                                                      "Adding route %s via %s: a route to %s "
                                                      "that podnet does not own exists",
                                                      d, g, d);
                return pn_sync_report_add(st->report, PODNET_SYNC_FAILED, node, rt,
                                          "a route to %s that podnet does not own exists", d);
        }
        if (e < 0) {
                if (!*first_error)
                        *first_error =
                            pn_error(err, -e, 0, "%s %s %s via %s", verb,
                                     nh_failed ? "the next hop of route" : "route", d, g);
                return pn_sync_report_add(st->report, PODNET_SYNC_FAILED, node, rt, "%s%s",
                                          nh_failed ? "next hop: " : "", strerror(-e));
        }
        return pn_sync_report_add(st->report, action, node, rt, NULL);
}

static int build_report(struct sync_state *st, podnet_error **err)
{
        int first_error = 0;
        int r = 0;

        for (size_t i = 0; i < st->n_ops && r >= 0; i++) {
                const struct pn_op *op = &st->ops[i];
                const struct pn_rt *rt = op->want ? op->want : op->have;
                const char *node = node_name_of(st, op->want);
                const struct pn_nh *w = nh_of_route(st, op->want);
                int nh_e = w ? st->nhw_err[w - st->nhw] : 0;
                int e;

                if (op->kind == PN_OP_KEEP) {
                        if (w && w->kind == PN_OP_REPLACE)
                                r = report_set(st, PODNET_SYNC_REPLACED, node, rt, nh_e, true,
                                               &first_error, err);
                        else
                                r = pn_sync_report_add(st->report, PODNET_SYNC_KEPT, node, rt,
                                                       NULL);
                        continue;
                }
                if (op->kind == PN_OP_DELETE || (op->kind == PN_OP_REPLACE && st->why[i])) {
                        const struct pn_nh *x = implicit_nh(st, op->have);
                        e = x ? st->nhh_err[x - st->d.nh] : st->err_del[i];
                        if (gone(e))
                                e = 0; /* already gone */
                        if (e < 0) {
                                char d[PODNET_CIDR_STRLEN + 8];
                                fmt_rt(op->have, d, sizeof(d));
                                if (!first_error)
                                        first_error = pn_error(err, -e, 0, "Deleting route %s", d);
                                r = pn_sync_report_add(st->report, PODNET_SYNC_FAILED, node,
                                                       op->have, "deleting: %s", strerror(-e));
                        } else {
                                r = pn_sync_report_add(
                                    st->report, PODNET_SYNC_DELETED, node, op->have,
                                    op->kind == PN_OP_DELETE ? "stale" : "peer address changed");
                        }
                        if (r < 0 || op->kind == PN_OP_DELETE)
                                continue;
                }
                if (st->why[i]) {
                        r = pn_sync_report_add(st->report, PODNET_SYNC_UNREACHABLE, node, rt, "%s",
                                               st->why[i]);
                        continue;
                }
                r = report_set(st, op->kind == PN_OP_ADD ? PODNET_SYNC_ADDED : PODNET_SYNC_REPLACED,
                               node, rt, nh_e < 0 ? nh_e : st->err_set[i], nh_e < 0, &first_error,
                               err);
        }
        /* nexthops deleted that no reported route depended on */
        for (size_t j = 0; j < st->d.n_nh && r >= 0 && !first_error; j++)
                if (st->d.nh[j].kind == PN_OP_DELETE && st->nhh_err[j] < 0 && !gone(st->nhh_err[j]))
                        first_error = pn_error(err, -st->nhh_err[j], 0, "Deleting next hop %u",
                                               st->d.nh[j].id);
        if (r < 0)
                return pn_error(err, -r, 0, "Reporting");
        return first_error;
}

/* 0 means podnet's protocol; sync, flush and the monitor accept the same ones. */
int pn_route_protocol_check(unsigned *protocol, podnet_error **err)
{
        if (*protocol == 0)
                *protocol = PODNET_ROUTE_PROTOCOL;
        if (*protocol > 255)
                return pn_error_plain(err, EINVAL, 0, "Route protocol %u is not in 1..255",
                                      *protocol);
        return 0;
}

static int parse_proto_table(unsigned *protocol, unsigned *table, podnet_error **err)
{
        if (*table == 0)
                *table = RT_TABLE_MAIN;
        return pn_route_protocol_check(protocol, err);
}

/* The context's route socket, readied for bulk traffic, and the dump over it. */
static int open_and_dump(podnet_ctx *ctx, struct nl_sock **sk, size_t *chunk,
                         struct pn_route_dump *d, bool *nh_kernel, podnet_error **err)
{
        int r;

        *sk = pn_nl_sock(ctx, NULL);
        if (!*sk)
                return pn_error(err, errno, 0, "Opening a netlink route socket");
        *chunk = pn_nl_sock_bulk(*sk);
        r = pn_route_dump_read(*sk, d, nh_kernel);
        if (r < 0)
                return pn_error(err, -r, 0,
                                "Dumping routes of protocol %u in table %u and next hops",
                                d->protocol, d->table);
        return 0;
}

/* A node list that holds no node, or that does not hold this node, is not a picture of
 * the cluster (an empty `kubectl` answer, a truncated file, a wrong --node-name): syncing
 * to it would delete every route, so it is refused. A node that leaves is absent from a
 * list that still holds this node; that one is synced. */
static int check_node_list(const podnet_nodes *nodes, const podnet_sync_config *cfg,
                           podnet_error **err)
{
        size_t n = podnet_nodes_count(nodes);

        if (n == 0)
                return pn_error_plain(err, ENODATA, 0,
                                      "The node list holds no node: refusing to change routes "
                                      "(it would delete every route of protocol %u)",
                                      cfg->protocol);
        if (!isempty(cfg->node_name) && podnet_nodes_find(nodes, cfg->node_name) < 0)
                return pn_error_plain(err, ENODATA, 0,
                                      "Node %s is not in the node list (%zu node%s): refusing to "
                                      "change routes",
                                      cfg->node_name, n, n == 1 ? "" : "s");
        return 0;
}

/* How many passes a sync makes at most when another writer changes podnet's routes or
 * nexthop objects between its dump and its writes. */
#define SYNC_PASSES 10

static bool race_error(int e)
{
        return e == -EEXIST || e == -ENOENT || e == -ESRCH;
}

/* Whether a failed pass can be explained by another writer: a dump it kept interrupting
 * (EAGAIN, after nl_dump()'s own retries), a nexthop id or a route that appeared since
 * the dump (EEXIST), a route to delete that went already (ESRCH), a nexthop object a
 * route was to use that went (EINVAL: "Nexthop id does not exist"; ENOENT). A route some
 * program keeps with another protocol fails the same way on every pass, and is reported
 * after the last. */
static bool raced(const struct sync_state *st, int r)
{
        if (r == -EAGAIN)
                return true;
        for (size_t k = 0; k < st->n_nhw; k++)
                if (race_error(st->nhw_err[k]))
                        return true;
        for (size_t i = 0; i < st->n_ops; i++) {
                const struct pn_rt *w = st->ops[i].want;
                if (race_error(st->err_set[i]) || (st->err_set[i] == -EINVAL && w && w->via_nh))
                        return true;
        }
        return false;
}

/* One pass: wanted routes, dump, plan, writes (unless a dry run), report. */
static int sync_pass(struct sync_state *st, podnet_error **err)
{
        struct timespec t0;
        struct nl_sock *sk;
        size_t n_del = 0;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        sk = pn_nl_sock(st->ctx, NULL);
        if (sk) /* the overlay's dumps run while the routes are dumped and planned */
                pn_overlay_early_start(&st->early, sk, &st->cfg);
        st->d.protocol = st->cfg.protocol;
        st->d.table = st->cfg.table;
        st->d.facts = true;
        r = open_and_dump(st->ctx, &st->sk, &st->chunk, &st->d, &st->nh_kernel, err);
        if (r < 0)
                return r;
        /* the node list is judged against what the dump says about this node; the report
         * exists from here on, so a caller that gets one knows the list was judged */
        st->report = pn_sync_report_new();
        if (!st->report)
                return pn_error(err, ENOMEM, 0, "Syncing routes");
        pn_debug(st->ctx, "Route sync: dumped (%.2f ms)", ms_since(&t0));
        r = pn_overlay_pass_prepare(&st->ov, st->ctx, st->sk, st->nodes, &st->cfg, &st->d, err);
        if (r < 0)
                return r;
        pn_debug(st->ctx, "Route sync: overlay %s planned, %zu peers over it (%.2f ms)",
                 pn_overlay_mode_name(st->ov.mode), st->ov.plan.n_vxlan, ms_since(&t0));
        st->writes += st->ov.writes; /* the VXLAN device's */
        st->ov.writes = 0;
        if (st->ov.replaced) {
                /* the old device took its routes and nexthops with it: plan against what
                 * is left */
                pn_route_dump_clear(&st->d);
                r = pn_route_dump_read(st->sk, &st->d, &st->nh_kernel);
                if (r < 0)
                        return pn_error(err, -r, 0, "Dumping routes again after replacing %s",
                                        st->ov.dev);
        }
        struct pn_underlay u = pn_underlay_of(&st->d, st->cfg.cluster_cidrs,
                                              st->cfg.n_cluster_cidrs);
        u.overlay = st->ov.active;
        r = pn_routes_desired(st->nodes, st->cfg.node_name, &u, st->report, &st->want, &st->n_want,
                              err);
        if (r < 0)
                return r;
        if (st->ov.active)
                pn_sync_report_set_overlay_mtu(st->report, st->ov.mtu);
        r = pn_overlay_pass_routes(&st->ov, st->nodes, st->want, &st->n_want, st->report);
        if (r >= 0)
                r = pn_overlay_pass_report(&st->ov, st->nodes, st->want, st->n_want, st->report);
        if (r < 0)
                return pn_error(err, -r, 0, "Planning the overlay");
        pn_debug(st->ctx, "Route sync: %zu routes wanted, overlay routes in place (%.2f ms)",
                 st->n_want, ms_since(&t0));
        pn_overlay_early_join(&st->early, &st->ov);
        r = pn_overlay_pass_diff(&st->ov, st->sk, err);
        if (r < 0)
                return r;
        {
                char beside[64] = "";
                if (st->ov.dumped)
                        snprintf(beside, sizeof(beside), ", dumped beside the routes in %.2f ms",
                                 st->early.ms);
                pn_debug(st->ctx,
                         "Route sync: %zu neighbour and %zu FDB entries installed%s (%.2f ms)",
                         st->ov.n_neigh, st->ov.n_fdb, beside, ms_since(&t0));
        }
        st->nh_mode = st->nh_kernel && !st->cfg.no_nexthops;
        pn_debug(st->ctx, "Route sync: %zu wanted, %zu installed, %zu next hops (%s) (%.2f ms)",
                 st->n_want, st->d.n_rt, st->d.n_nh,
                 st->nh_mode ? "routes via next hops" : "plain routes", ms_since(&t0));
        r = plan_nexthops(st, err);
        if (r < 0)
                return r;
        r = pn_route_diff(st->want, st->n_want, st->d.rt, st->d.n_rt, &st->ops, &st->n_ops);
        st->ops_size = pn_route_ops_size(st->n_want, st->d.n_rt);
        if (r < 0)
                return pn_error(err, -r, 0, "Comparing routes");
        st->why = calloc(st->n_ops + 1, sizeof(*st->why));
        st->err_del = calloc(st->n_ops + 1, sizeof(*st->err_del));
        st->err_set = calloc(st->n_ops + 1, sizeof(*st->err_set));
        if (!st->why || !st->err_del || !st->err_set)
                return pn_error(err, ENOMEM, 0, "Syncing routes");
        if (st->nh_mode) {
                for (size_t i = 0; i < st->n_ops; i++) {
                        const struct pn_nh *w = nh_of_route(st, st->ops[i].want);
                        if (w && (st->ops[i].kind == PN_OP_ADD || st->ops[i].kind == PN_OP_REPLACE))
                                st->why[i] = st->nh_why[w - st->nhw];
                }
        } else {
                r = resolve_routes(st, err);
                if (r < 0)
                        return r;
        }
        for (size_t j = 0; j < st->d.n_nh; j++)
                if (st->d.nh[j].kind == PN_OP_DELETE)
                        n_del++;
        st->implicit = n_del > 0 && n_del <= NH_IMPLICIT_MAX;
        pn_debug(st->ctx, "Route sync: diffed, %zu next hops resolved (%.2f ms)", st->n_lookups,
                 ms_since(&t0));
        if (!st->cfg.dry_run) {
                r = pn_overlay_pass_write(&st->ov, st->sk, true, err);
                if (r >= 0)
                        r = write_all(st, err); /* on error the report still says what happened */
                if (r >= 0)
                        r = pn_overlay_pass_write(&st->ov, st->sk, false, err);
                if (r >= 0)
                        r = pn_overlay_pass_finish(&st->ov, st->ctx, err);
                st->writes += st->ov.writes;
        }
        pn_sync_report_set_writes(st->report, st->writes);
        pn_debug(st->ctx, "Route sync: %zu writes in chunks of %zu (%.2f ms)", st->writes,
                 st->chunk, ms_since(&t0));
        {
                int r2 = build_report(st, r < 0 ? NULL : err);
                if (r >= 0)
                        r = r2;
        }
        return r;
}

PODNET_EXPORT int podnet_routes_sync(podnet_ctx *ctx, const podnet_nodes *nodes,
                                     const podnet_sync_config *config, podnet_sync_report **ret,
                                     podnet_error **err)
{
        podnet_sync_config cfg;
        podnet_error *invalid = NULL;
        podnet_sync_report *prev = NULL; /* the report of the pass before */
        size_t writes = 0;
        int r, r_invalid;

        if (!ctx || !nodes ||
            PODNET_OPTS_COPY(cfg, config,
                             offsetof(podnet_sync_config, dry_run) + sizeof(cfg.dry_run)) < 0)
                return pn_error_plain(err, EINVAL, 0, "Invalid route sync configuration");
        r = parse_proto_table(&cfg.protocol, &cfg.table, err);
        if (r < 0)
                return r;
        /* refused before anything is read; a dry run still reports (for `status`), then
         * fails the same way */
        r_invalid = check_node_list(nodes, &cfg, cfg.dry_run ? &invalid : err);
        if (r_invalid < 0 && !cfg.dry_run)
                return r_invalid;
        for (unsigned pass = 1;; pass++) {
                struct sync_state st = {.ctx = ctx, .nodes = nodes, .cfg = cfg};
                podnet_error *e = NULL;

                r = sync_pass(&st, &e);
                writes += st.writes;
                if (prev && st.report && pn_sync_report_carry(st.report, prev) < 0 && r >= 0)
                        r = pn_error(&e, ENOMEM, 0, "Reporting");
                prev = podnet_sync_report_free(prev);
                if (r < 0 && !cfg.dry_run && pass < SYNC_PASSES && raced(&st, r)) {
                        pn_debug(ctx,
                                 "Route sync pass %u raced with another writer (%s): again "
                                 "from a fresh dump",
                                 pass, e ? podnet_error_message(e) : "?");
                        podnet_error_free(e);
                        prev = steal_pointer(&st.report);
                        sync_state_done(&st);
                        continue;
                }
                if (st.report)
                        pn_sync_report_set_writes(st.report, writes); /* every pass's */
                if (ret && st.report)
                        *ret = steal_pointer(&st.report);
                if (r_invalid < 0) {
                        podnet_error_free(e);
                        e = steal_pointer(&invalid);
                        r = r_invalid;
                }
                if (err && !*err)
                        *err = steal_pointer(&e);
                podnet_error_free(e);
                sync_state_done(&st);
                break;
        }
        podnet_error_free(invalid);
        return r < 0 ? r : 0;
}

PODNET_EXPORT int podnet_routes_flush(podnet_ctx *ctx, unsigned protocol, unsigned table,
                                      podnet_error **err)
{
        struct pn_route_dump d = {.protocol = protocol, .table = table};
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        _cleanup_free_ const struct pn_nh **nh_of = NULL; /* per request: NULL for a route */
        size_t n = 0, deleted = 0, chunk;
        struct nl_sock *sk;
        bool nh_kernel;
        int r;

        if (!ctx)
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        r = parse_proto_table(&d.protocol, &d.table, err);
        if (r < 0)
                return r;
        r = open_and_dump(ctx, &sk, &chunk, &d, &nh_kernel, err);
        if (r >= 0)
                r = pn_nexthop_plan(NULL, 0, d.nh, d.n_nh, NULL, 0, d.rt, d.n_rt, 0);
        if (r >= 0 && !(nh_of = calloc(d.n_rt + d.n_nh + 1, sizeof(*nh_of))))
                r = pn_error(err, ENOMEM, 0, "Flushing routes");
        if (r < 0)
                goto out;
        /* the routes first, then the nexthops nothing uses any more */
        for (size_t i = 0; i < d.n_rt; i++, n++)
                route_req(&b, RTM_DELROUTE, 0, &d.rt[i], d.protocol, d.table);
        for (size_t j = 0; j < d.n_nh; j++)
                if (d.nh[j].kind == PN_OP_DELETE) {
                        nh_of[n++] = &d.nh[j];
                        pn_nexthop_put(&b, RTM_DELNEXTHOP, 0, &d.nh[j], d.protocol);
                }
        r = pn_nl_batch(sk, &b, NULL, NULL);
        if (r < 0) {
                r = pn_error(err, -r, 0, "Deleting routes of protocol %u", d.protocol);
                goto out;
        }
        for (size_t q = 0; q < n; q++) {
                char what[PODNET_CIDR_STRLEN + 32];
                int e = pn_nl_req_error(&b.reqs[q]);

                if (e == 0) {
                        deleted += nh_of[q] == NULL;
                        continue;
                }
                if (gone(e))
                        continue;
                if (!nh_of[q]) {
                        fmt_rt(&d.rt[q], what, sizeof(what));
                        r = pn_error(err, -e, 0, "Deleting route %s", what);
                } else {
                        r = pn_error(err, -e, 0, "Deleting next hop %u", nh_of[q]->id);
                }
                goto out;
        }
        r = (int)deleted;
out:
        pn_route_dump_clear(&d);
        return r;
}

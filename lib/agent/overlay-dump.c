/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VXLAN device's neighbour and FDB dumps of a route sync pass, made by a second
 * thread over a second socket while the pass dumps routes and plans: the kernel's dump
 * work is half of a no-op resync of thousands of overlay peers, and the two dumps do not
 * depend on each other. The pass uses them only if they read the device it then plans
 * with; else it dumps again itself, as it would without them.
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "agent/route-sync.h"

static int dump(struct pn_overlay_early *e)
{
        struct pn_link l;
        int r;

        /* the arrays of the caller's last pass, for the dumps below to reuse */
        pn_nl_scratch_give(PN_NL_SCRATCH_NEIGH, e->neigh_kept, e->neigh_kept_size);
        pn_nl_scratch_give(PN_NL_SCRATCH_FDB, e->fdb_kept, e->fdb_kept_size);
        e->neigh_kept = e->fdb_kept = NULL;
        r = pn_link_query(e->sk, e->dev, 0, &l);
        if (r < 0)
                return r;
        e->ifindex = l.ifindex;
        /* the FDB first: it runs beside the nexthop dump; beside the route dump it was
         * slower (1.7 ms alone, 3.6 ms beside it; the neighbour dump does not mind) */
        r = pn_fdb_dump(e->sk, e->ifindex, &e->fdb, &e->n_fdb);
        if (r >= 0)
                r = pn_neigh_dump(e->sk, AF_UNSPEC, e->ifindex, &e->neigh, &e->n_neigh);
        return r;
}

static void *dump_run(void *userdata)
{
        struct pn_overlay_early *e = userdata;
        struct timespec t0, t1;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        e->r = dump(e);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        e->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        return NULL;
}

void pn_overlay_early_start(struct pn_overlay_early *e, struct nl_sock *like,
                            const podnet_sync_config *cfg)
{
        enum pn_overlay_mode mode;
        sigset_t all, old;
        int r;

        *e = (struct pn_overlay_early){.r = -EAGAIN};
        if (pn_overlay_mode_parse(cfg->overlay, PN_OVERLAY_NEVER, &mode) < 0 ||
            mode == PN_OVERLAY_NEVER)
                return;
        snprintf(e->dev, sizeof(e->dev), "%s", cfg->vxlan_dev ? cfg->vxlan_dev : PN_VXLAN_DEV_DEFAULT);
        e->sk = pn_nl_sock_beside(like);
        if (!e->sk)
                return;
        e->neigh_kept = pn_nl_scratch_take_kept(PN_NL_SCRATCH_NEIGH, &e->neigh_kept_size);
        e->fdb_kept = pn_nl_scratch_take_kept(PN_NL_SCRATCH_FDB, &e->fdb_kept_size);
        /* the caller's signals stay with the caller's threads */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&e->thread, NULL, dump_run, e);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                pn_overlay_early_done(e);
                return;
        }
        e->started = true;
}

static void wait_for(struct pn_overlay_early *e)
{
        if (!e->started)
                return;
        pthread_join(e->thread, NULL);
        e->started = false;
}

void pn_overlay_early_join(struct pn_overlay_early *e, struct pn_overlay_pass *o)
{
        wait_for(e);
        if (e->r < 0 || !o->active || o->replaced || e->ifindex != o->ifindex)
                return; /* not the device the plan is for: the pass dumps it itself */
        o->neigh = steal_pointer(&e->neigh);
        o->n_neigh = e->n_neigh;
        o->fdb = steal_pointer(&e->fdb);
        o->n_fdb = e->n_fdb;
        o->dumped = true;
}

void pn_overlay_early_done(struct pn_overlay_early *e)
{
        wait_for(e);
        /* unused: kept for the thread's next dump (netlink/scratch.c) */
        pn_nl_scratch_give(PN_NL_SCRATCH_NEIGH, e->neigh, e->n_neigh * sizeof(*e->neigh));
        pn_nl_scratch_give(PN_NL_SCRATCH_FDB, e->fdb, e->n_fdb * sizeof(*e->fdb));
        pn_nl_scratch_give(PN_NL_SCRATCH_NEIGH, e->neigh_kept, e->neigh_kept_size);
        pn_nl_scratch_give(PN_NL_SCRATCH_FDB, e->fdb_kept, e->fdb_kept_size);
        pn_nl_sock_free(e->sk);
        *e = (struct pn_overlay_early){.r = -EAGAIN};
}

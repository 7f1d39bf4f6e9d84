/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's loop (podnet-routes run): fetches the node list every interval (and
 * when asked), restores podnet's routes when someone else changes them (the route
 * monitor), checks the firewall chains every fw_interval and, with nf_tables, as soon as
 * it announces a change (x_tables announces none), each pass under the writers' lock; it
 * returns to the caller when the caller's stop fd becomes readable.
 */
#include <sys/file.h>

#include "agent/agent.h"
#include "agent/route-sync.h"
#include "firewall/fw.h"

/* A restore or a restart is one burst of notifications: let it end before the check. */
#define FW_SETTLE_MS 50

static void report_pass(podnet_agent *a, const podnet_agent_pass *pass)
{
        pn_stats_pass(&a->stats, pass, pn_now_unix());
        if (a->cfg.on_pass)
                a->cfg.on_pass(a, pass, a->cfg.userdata);
}

/* After a full pass: the underlay facts partial passes judge against. */
static void delta_base(podnet_agent *a)
{
        int r = pn_delta_base_refresh(a, &a->delta);

        if (r < 0)
                pn_debug(a->ctx, "No partial passes until the next full one: %s", strerror(-r));
}

/* A full pass with a fetched list: a valid one replaces the previous, an invalid or
 * missing one leaves it in place. */
static void full_pass(podnet_agent *a)
{
        podnet_agent_pass pass;

        if (a->fresh) {
                pn_agent_full_pass(a, a->fresh, !a->quiet, &pass);
                report_pass(a, &pass);
                if (pass.error == -ENODATA) {
                        a->fresh = podnet_nodes_free(a->fresh);
                        a->src_held = false; /* the source's list is not ours */
                        if (a->nodes)
                                pn_err(a->ctx, "Keeping the previous node list");
                } else {
                        podnet_nodes_free(a->nodes);
                        a->nodes = steal_pointer(&a->fresh);
                        a->src_held = true;
                        delta_base(a);
                }
                a->quiet = true;
        } else if (a->nodes) {
                pn_err(a->ctx, "Keeping the previous node list");
                pn_agent_full_pass(a, a->nodes, !a->quiet, &pass);
                report_pass(a, &pass);
        }
}

/* Whether c names this node. */
static bool names_self(const podnet_agent *a, const struct pn_node_changes *c)
{
        for (size_t i = 0; c->set && i < podnet_nodes_count(c->set); i++)
                if (streq(podnet_nodes_name(c->set, i), a->cfg.node_name))
                        return true;
        for (size_t i = 0; i < c->n_gone; i++)
                if (streq(c->gone[i], a->cfg.node_name))
                        return true;
        return false;
}

static void route_changes(podnet_agent *a);

/* A change set: applied to the list, then a partial pass over the peers it names, or a
 * full pass where that cannot decide. A change of this node itself asks the source for
 * the whole list instead (its full pass may refuse it and keep the previous). */
static void changes_pass(podnet_agent *a)
{
        _cleanup_(pn_node_changes_freep) struct pn_node_changes *c = steal_pointer(&a->changes);
        podnet_nodes *old = NULL;
        podnet_sync_report *rep = NULL;
        podnet_agent_pass pass;
        double t0 = pn_now_ms();
        int r;

        if (!a->nodes || !a->src_held || names_self(a, c) ||
            pn_node_changes_apply(a->nodes, c, &old) < 0) {
                /* (an apply that failed left the list half changed: a whole one comes) */
                a->src_held = false;
                podnet_nodes_free(old);
                (void)a->src->ops->request(a->src);
                return;
        }
        /* the kernel announces FDB writes on the VXLAN device, and neighbour deletions,
         * with port id 0 (as its own), so the monitor cannot tell a partial pass's from
         * another writer's: what others did before it is counted now, what came during
         * it is dropped after it (the periodic resync is the net for a change made in
         * that instant) */
        if (pn_delta_base_overlay(a->delta) && a->mon)
                route_changes(a);
        r = pn_agent_delta_pass(a, a->delta, c, old, &rep);
        podnet_nodes_free(old);
        if (r == 0 && pn_delta_base_overlay(a->delta) && a->mon)
                (void)podnet_route_monitor_process(a->mon, NULL);
        if (r == 0) {
                a->report = podnet_sync_report_free(a->report);
                a->report = rep;
                pass = (podnet_agent_pass){
                    .size = sizeof(podnet_agent_pass),
                    .kind = PODNET_AGENT_PASS_ROUTES,
                    .changed = podnet_sync_report_writes(rep) > 0,
                    .report = rep,
                    .ms = pn_now_ms() - t0,
                    .partial = true,
                };
                pn_debug(a->ctx, "Partial pass: %zu peers changed, %zu writes (%.2f ms)",
                         (c->set ? podnet_nodes_count(c->set) : 0) + c->n_gone,
                         podnet_sync_report_writes(rep), pass.ms);
                report_pass(a, &pass);
                return;
        }
        pn_agent_full_pass(a, a->nodes, false, &pass);
        report_pass(a, &pass);
        delta_base(a);
}

/* Restores podnet's routes after a change someone else made. */
static void route_pass(podnet_agent *a)
{
        podnet_sync_config sc = pn_agent_sync_config(a, false);
        podnet_error *err = NULL;
        double t0 = pn_now_ms();
        int r;

        pn_debug(a->ctx, "Routes changed by another writer: restoring");
        a->report = podnet_sync_report_free(a->report);
        r = podnet_routes_sync(a->ctx, a->nodes, &sc, &a->report, &err);
        if (r < 0)
                pn_agent_fail(a, err, r, "Restoring routes");
        report_pass(a, &(podnet_agent_pass){
                           .size = sizeof(podnet_agent_pass),
                           .kind = PODNET_AGENT_PASS_ROUTES,
                           .error = r < 0 ? r : 0,
                           .changed = a->report && podnet_sync_report_writes(a->report) > 0,
                           .report = a->report,
                           .ms = pn_now_ms() - t0,
                       });
}

/* A check that finds everything in place reads the tables without the xtables lock and
 * writes nothing; it uses the backend the last full pass chose (no detection here). */
static void fw_check(podnet_agent *a)
{
        podnet_error *err = NULL;
        double t0 = pn_now_ms();
        int r = pn_agent_fw_ensure(a, &err);

        if (r < 0)
                pn_agent_fail(a, err, r, "Checking the firewall chains");
        report_pass(a, &(podnet_agent_pass){
                           .size = sizeof(podnet_agent_pass),
                           .kind = PODNET_AGENT_PASS_FIREWALL,
                           .error = r < 0 ? r : 0,
                           .changed = r > 0,
                           .fw_commits = r > 0 ? r : 0,
                           .ms = pn_now_ms() - t0,
                       });
}

/* Subscribes to the chosen backend's changes where its kernel announces them, and lets
 * go of a subscription when the choice moved elsewhere. */
static void fw_watch(podnet_agent *a)
{
        bool want = a->fw && a->fw_backend && a->fw_backend->notifies;
        podnet_error *err = NULL;
        int fd;

        if (!want && a->fw_mon_fd >= 0) {
                close(a->fw_mon_fd);
                a->fw_mon_fd = -1;
        } else if (want && a->fw_mon_fd < 0 && !a->fw_mon_failed) {
                fd = pn_fw_monitor_open(a->ctx, a->fw_backend, &err);
                if (fd < 0) {
                        /* the checks every fw_interval still repair */
                        a->fw_mon_failed = true;
                        pn_agent_fail(a, err, fd, "Subscribing to nf_tables' changes");
                        return;
                }
                a->fw_mon_fd = fd;
        }
}

/* nf_tables announced changes (someone's, or a commit of ours): a check soon. */
static void fw_changes(podnet_agent *a)
{
        int r = pn_fw_monitor_drain(a->fw_mon_fd);
        double soon;

        if (r < 0) {
                pn_agent_fail(a, NULL, r, "Reading nf_tables' changes");
                close(a->fw_mon_fd);
                a->fw_mon_fd = -1;
                a->fw_mon_failed = true;
                return;
        }
        soon = pn_now_ms() + FW_SETTLE_MS;
        if (r > 0 && soon < a->next_fw)
                a->next_fw = soon;
}

/* Runs the passes that are due, under the writers' lock; when another writer holds it,
 * tries again shortly. */
static void passes(podnet_agent *a, double now)
{
        bool fw_due = a->fw && now >= a->next_fw;

        if (!a->fetched && !a->restore && !fw_due)
                return;
        if (now < a->retry_at)
                return;
        if (flock(a->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                a->retry_at = now + 20;
                return;
        }
        if (a->fetched && a->changes) {
                changes_pass(a); /* (the periodic full pass keeps its time) */
                a->fetched = false;
        } else if (a->fetched) {
                full_pass(a);
                a->fetched = a->restore = false;
                a->next_fetch = pn_now_ms() + a->cfg.interval * 1000.0;
                a->next_fw = pn_now_ms() + a->cfg.fw_interval * 1000.0;
        } else {
                if (a->restore && a->nodes)
                        route_pass(a);
                a->restore = false;
                if (fw_due) {
                        fw_check(a);
                        a->next_fw = pn_now_ms() + a->cfg.fw_interval * 1000.0;
                }
        }
        (void)flock(a->lock_fd, LOCK_UN);
}

/* A watching source (the Kubernetes API's) says itself whether it is up and counts its
 * reconnects and relists: the statistics take its word. */
static void watch_stats(podnet_agent *a)
{
        struct pn_kube_source_stats ks;
        double now_ms, now;

        if (pn_node_source_kube_stats(a->src, &ks) < 0)
                return;
        now_ms = pn_now_ms();
        now = pn_now_unix();
        pn_stats_watch(&a->stats, ks.reconnects, ks.relists, ks.watching,
                       now - (now_ms - ks.since_ms) / 1000.0, ks.last_error);
}

/* Asks the source for a list when one is due, and takes it in when it arrives. */
static void fetch(podnet_agent *a, double now)
{
        const struct pn_node_source_ops *ops = a->src->ops;

        if (!ops->busy(a->src) && !a->fetched && now >= a->next_fetch) {
                if (ops->request(a->src) < 0) {
                        pn_stats_source(&a->stats, -EIO, pn_now_unix());
                        a->fetched = true; /* (fresh stays NULL: the previous list is kept) */
                        return;
                }
        }
        if (!a->fetched) {
                podnet_nodes *nodes = NULL;
                struct pn_node_changes *c = NULL;
                int r = ops->step_changes && a->src_held && a->nodes
                            ? ops->step_changes(a->src, &nodes, &c)
                            : ops->step(a->src, &nodes);

                if (r > 0 && c) {
                        pn_stats_source(&a->stats, 0, pn_now_unix());
                        pn_node_changes_free(a->changes);
                        a->changes = c;
                        a->fetched = true;
                } else if (r > 0) {
                        pn_stats_source(&a->stats, nodes ? 0 : -EIO, pn_now_unix());
                        podnet_nodes_free(a->fresh);
                        a->fresh = nodes;
                        a->fetched = true;
                }
        }
}

/* How long poll() may sleep: until the next thing due. */
static int timeout_ms(const podnet_agent *a, double now)
{
        double t = 3600e3, w = a->src->ops->wait_ms(a->src);

        if (a->fetched || a->restore) /* a pass waits for the lock */
                t = a->retry_at - now;
        if (w >= 0 && w < t)
                t = w;
        else if (w < 0 && !a->src->ops->busy(a->src) && !a->fetched && a->next_fetch - now < t)
                t = a->next_fetch - now;
        if (a->fw) {
                double f = (a->next_fw > a->retry_at ? a->next_fw : a->retry_at) - now;
                if (f < t)
                        t = f;
        }
        if (t < 0)
                return 0;
        return t >= 3600e3 ? 3600000 : (int)t + 1;
}

/* Takes the run lock (one agent per node), opens the writers' lock, subscribes to route
 * changes. */
static int start(podnet_agent *a, podnet_error **err)
{
        char path[PATH_MAX];
        int r;

        if (!a->src)
                return pn_error_plain(err, EINVAL, 0,
                                      "No node source: give a node list file or command");
        a->run_fd = pn_agent_lock_open(a->run_dir, "routes-run", path, sizeof(path), err);
        if (a->run_fd < 0)
                return a->run_fd;
        if (flock(a->run_fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno;
                close(a->run_fd);
                a->run_fd = -1;
                if (r == EWOULDBLOCK)
                        return pn_error_plain(err, EBUSY, 0,
                                              "Another podnet-routes run is already running on "
                                              "this node (it holds %s)",
                                              path);
                return pn_error(err, r, 0, "Locking %s", path);
        }
        a->lock_fd = pn_agent_lock_open(a->run_dir, "routes", path, sizeof(path), err);
        if (a->lock_fd < 0)
                return a->lock_fd;
        r = podnet_route_monitor_new(a->ctx, &a->mon, a->cfg.protocol, err);
        if (r < 0)
                return pn_error(err, -r, 0, "Subscribing to route changes");
        /* the passes write through the context's socket: their own notifications would
         * start a second (zero-write) pass after every one */
        pn_route_monitor_ignore_own(a->mon, true);
        /* the overlay's neighbour and FDB entries are restored like its routes */
        if (!streq(a->cfg.overlay, "never")) {
                r = pn_route_monitor_watch_vxlan(a->mon, a->cfg.vxlan_dev ? a->cfg.vxlan_dev
                                                                          : PN_VXLAN_DEV_DEFAULT);
                if (r < 0)
                        return pn_error(err, -r, 0, "Subscribing to neighbour changes");
        }
        a->fw = a->cfg.firewall && a->cfg.n_cluster_cidrs > 0 && !a->cfg.dry_run &&
                a->cfg.fw_interval > 0;
        a->next_fetch = pn_now_ms();
        a->started = true;
        return 0;
}

/* The route monitor reported: let a burst of changes settle (at most 100 ms), then
 * restore in one pass. */
static void route_changes(podnet_agent *a)
{
        podnet_error *err = NULL;
        int r = podnet_route_monitor_process(a->mon, &err);

        if (r < 0) {
                pn_agent_fail(a, err, r, "Reading route changes");
        } else if (r > 0) {
                struct pollfd m = {.fd = podnet_route_monitor_fd(a->mon), .events = POLLIN};
                double until = pn_now_ms() + 100;
                while (pn_now_ms() < until && poll(&m, 1, 10) > 0)
                        (void)podnet_route_monitor_process(a->mon, NULL);
                a->restore = true;
        }
}

PODNET_EXPORT int podnet_agent_run(podnet_agent *agent, int stop_fd, podnet_error **err)
{
        podnet_agent *a = agent;
        int r;

        if (!a)
                return -EINVAL;
        if (!a->started && (r = start(a, err)) < 0)
                return r;
        for (;;) {
                struct pollfd pfd[3 + PN_SOURCE_MAX_FDS] = {
                    {.fd = stop_fd, .events = POLLIN},
                    {.fd = podnet_route_monitor_fd(a->mon), .events = POLLIN},
                    {.fd = -1, .events = POLLIN}};
                double now = pn_now_ms();
                nfds_t n = 3;

                fetch(a, now);
                watch_stats(a);
                passes(a, now);
                pn_agent_source_record(a); /* (after the pass: its node count) */
                fw_watch(a);
                pfd[2].fd = a->fw_mon_fd; /* (poll skips -1) */
                now = pn_now_ms();
                n += a->src->ops->pollfds(a->src, pfd + 3);
                r = poll(pfd, n, timeout_ms(a, now));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return pn_error(err, errno, 0, "poll");
                if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
                        return 0;
                if (pfd[1].revents & POLLIN)
                        route_changes(a);
                if (pfd[2].revents & POLLIN)
                        fw_changes(a);
        }
}

PODNET_EXPORT int podnet_agent_resync(podnet_agent *agent)
{
        if (!agent)
                return -EINVAL;
        if (agent->src && agent->src->ops->busy(agent->src))
                return 0; /* (the list on its way is the fresh one) */
        agent->next_fetch = 0;
        return 1;
}

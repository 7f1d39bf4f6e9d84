/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent: its configuration, its node source, and the full pass that brings the
 * node in step with one node list (forwarding, firewall chains, routes, then the CNI
 * conflist). The loop that repeats passes is agent-run.c.
 */
#include <arpa/inet.h>

#include "agent/agent.h"
#include "agent/overlay.h"
#include "core/file.h"
#include "firewall/fw.h"
#include "kube/kube.h"

#define MAX_POD_CIDRS 8

int pn_agent_fail(podnet_agent *a, podnet_error *err, int r, const char *what)
{
        if (err)
                pn_err(a->ctx, "%s", podnet_error_message(err));
        else
                pn_err(a->ctx, "%s: %s", what, strerror(r < 0 ? -r : r));
        podnet_error_free(err);
        return r < 0 ? r : -EIO;
}

podnet_sync_config pn_agent_sync_config(const podnet_agent *a, bool dry_run)
{
        return (podnet_sync_config){.size = sizeof(podnet_sync_config),
                                    .no_nexthops = a->cfg.no_nexthops,
                                    .node_name = a->cfg.node_name,
                                    .protocol = a->cfg.protocol,
                                    .table = a->cfg.table,
                                    .dry_run = dry_run,
                                    .cluster_cidrs = a->cfg.cluster_cidrs,
                                    .n_cluster_cidrs = a->cfg.n_cluster_cidrs,
                                    .overlay = dry_run && a->overlay_default &&
                                                       a->overlay_recorded[0]
                                                   ? a->overlay_recorded
                                                   : a->cfg.overlay,
                                    .vxlan_vni = a->cfg.vxlan_vni,
                                    .vxlan_port = a->cfg.vxlan_port,
                                    .vxlan_dev = a->cfg.vxlan_dev,
                                    .bridge = a->cfg.conflist ? a->cfg.conflist->bridge : NULL};
}

podnet_fw_config pn_agent_fw_config(const podnet_agent *a)
{
        return (podnet_fw_config){
            .size = sizeof(podnet_fw_config),
            .cluster_cidrs = a->cfg.cluster_cidrs,
            .n_cluster_cidrs = a->cfg.n_cluster_cidrs,
            .non_masq_cidrs = a->cfg.non_masq_cidrs,
            .n_non_masq_cidrs = a->cfg.n_non_masq_cidrs,
            .masquerade = a->cfg.masquerade,
        };
}

static bool needs_ipv6(const podnet_agent *a, const podnet_nodes *nodes)
{
        for (size_t i = 0; i < a->cfg.n_cluster_cidrs; i++)
                if (podnet_cidr_family(a->cfg.cluster_cidrs[i]) == AF_INET6)
                        return true;
        for (size_t i = 0; i < podnet_nodes_count(nodes); i++)
                for (size_t j = 0; j < podnet_nodes_n_pod_cidrs(nodes, i); j++)
                        if (podnet_cidr_family(podnet_nodes_pod_cidr(nodes, i, j)) == AF_INET6)
                                return true;
        return false;
}

/* Forwarding and firewall. 0 or -errno after a message. */
static int sync_node_side(podnet_agent *a, const podnet_nodes *nodes)
{
        podnet_error *err = NULL;
        int r;

        if (a->cfg.dry_run)
                return 0;
        r = podnet_sysctl_enable_forwarding(a->ctx, AF_INET, &err);
        if (r < 0)
                return pn_agent_fail(a, err, r, "Enabling IPv4 forwarding");
        if (needs_ipv6(a, nodes)) {
                r = podnet_sysctl_enable_forwarding(a->ctx, AF_INET6, &err);
                if (r < 0)
                        return pn_agent_fail(a, err, r, "Enabling IPv6 forwarding");
        }
        if (!a->cfg.firewall)
                pn_agent_fw_forget(a);
        if (a->cfg.firewall && a->cfg.n_cluster_cidrs == 0) {
                if (!a->warned_fw)
                        pn_warn(a->ctx, "no --cluster-cidr: firewall chains not managed");
                a->warned_fw = true;
        } else if (a->cfg.firewall) {
                r = pn_agent_fw_choose(a);
                if (r < 0)
                        return r;
                r = pn_agent_fw_ensure(a, &err);
                if (r < 0)
                        return pn_agent_fail(a, err, r, "Installing firewall chains");
                a->summary.fw_commits = r;
                (void)pn_agent_fw_drop_check(a, a->fw_backend);
        }
        return 0;
}

/* The refusal of this node's own pod CIDR in the report, or -1. */
static ssize_t own_refusal(const podnet_sync_report *rep, const char *node_name)
{
        for (size_t i = 0; i < podnet_sync_report_count(rep); i++) {
                const char *n = podnet_sync_report_node(rep, i);
                if (podnet_sync_report_action(rep, i) == PODNET_SYNC_REFUSED && n &&
                    streq(n, node_name))
                        return (ssize_t)i;
        }
        return -1;
}

/* The CNI conflist with this node's pod CIDR(s), once the route sync has judged them
 * (a->report, NULL when it could not): a pod CIDR the library refused (0.0.0.0/0,
 * outside the cluster CIDRs, covering this node's addresses) would become the bridge's
 * on-link prefix, so the old file is kept. 0 or -errno after a message. */
static int sync_cni_conf(podnet_agent *a, const podnet_nodes *nodes)
{
        const podnet_agent_config *c = &a->cfg;
        const podnet_cidr *cidrs[MAX_POD_CIDRS];
        podnet_error *err = NULL;
        ssize_t refused;
        size_t n;
        int r, self;

        if (c->dry_run || !c->cni_conf_path)
                return 0;
        if (!a->report) {
                pn_err(a->ctx,
                       "Not writing the CNI configuration: the node list could not be checked");
                return -ENODATA;
        }
        refused = own_refusal(a->report, c->node_name);
        if (refused >= 0) {
                char d[PODNET_CIDR_STRLEN];
                const podnet_cidr *dst = podnet_sync_report_dst(a->report, (size_t)refused);
                if (!dst || podnet_cidr_format(dst, d, sizeof(d)) < 0)
                        snprintf(d, sizeof(d), "?");
                pn_err(a->ctx, "Refusing this node's pod CIDR %s: %s; %s left as it was", d,
                       podnet_sync_report_reason(a->report, (size_t)refused), c->cni_conf_path);
                return -EINVAL;
        }
        self = podnet_nodes_find(nodes, c->node_name);
        if (self < 0 || podnet_nodes_n_pod_cidrs(nodes, (size_t)self) == 0) {
                if (!a->warned_conf)
                        pn_warn(a->ctx, "%s %s: no CNI configuration written", c->node_name,
                                self < 0 ? "is not in the node list" : "has no pod CIDR yet");
                a->warned_conf = true;
                return 0;
        }
        n = podnet_nodes_n_pod_cidrs(nodes, (size_t)self);
        if (n > MAX_POD_CIDRS)
                n = MAX_POD_CIDRS;
        for (size_t j = 0; j < n; j++)
                cidrs[j] = podnet_nodes_pod_cidr(nodes, (size_t)self, j);
        podnet_conflist_config cc = {.size = sizeof(cc)};
        if (c->conflist)
                PODNET_OPTS_COPY(cc, c->conflist, offsetof(podnet_conflist_config, data_dir));
        cc.size = sizeof(cc);
        /* a pod's full-size packet must fit through the tunnel to any overlay peer: the
         * template's MTU wins, else the overlay's (every mode but never) */
        if (!cc.mtu && !streq(c->overlay, "never"))
                cc.mtu = pn_sync_report_overlay_mtu(a->report);
        /* podnet-cni's ipMasq rules go where this agent's chains go */
        if (!cc.fw_backend && a->cfg.firewall)
                cc.fw_backend = pn_agent_fw_name(a);
        cc.pod_cidrs = cidrs;
        cc.n_pod_cidrs = n;
        r = podnet_conflist_write(&cc, c->cni_conf_path, &err);
        if (r < 0)
                return pn_agent_fail(a, err, r, "Writing the CNI configuration");
        a->summary.conf_written = r;
        return 0;
}

void pn_agent_full_pass(podnet_agent *a, const podnet_nodes *nodes, bool first,
                        podnet_agent_pass *pass)
{
        podnet_sync_config sc = pn_agent_sync_config(a, a->cfg.dry_run);
        podnet_error *err = NULL;
        int r, error = 0;
        double t0 = pn_now_ms();

        a->report = podnet_sync_report_free(a->report);
        a->summary = (podnet_sync_summary){.size = sizeof(podnet_sync_summary),
                                           .dry_run = a->cfg.dry_run,
                                           .conf_path = a->cfg.cni_conf_path,
                                           .fw_commits = -1,
                                           .conf_written = -1};
        r = sync_node_side(a, nodes);
        if (r < 0)
                error = r;
        double t1 = pn_now_ms();
        r = podnet_routes_sync(a->ctx, nodes, &sc, &a->report, &err);
        a->summary.route_ms = pn_now_ms() - t1;
        if (r != -ENODATA)
                pn_agent_overlay_record(a);
        if (r < 0) {
                pn_agent_fail(a, err, r, "Syncing routes");
                error = r == -ENODATA ? r : error ? error : r;
        }
        /* after the routes: the sync is what judges this node's own pod CIDR; a node list
         * that is not valid changes nothing, the conflist included */
        if (error != -ENODATA) {
                r = sync_cni_conf(a, nodes);
                if (r < 0 && !error)
                        error = r == -ENODATA ? -EIO : r;
        }
        *pass = (podnet_agent_pass){
            .size = sizeof(*pass),
            .kind = PODNET_AGENT_PASS_FULL,
            .error = error,
            .first = first,
            .changed = (a->report && podnet_sync_report_writes(a->report) > 0) ||
                       a->summary.conf_written == 1 || a->summary.fw_commits > 0,
            .report = error == -ENODATA ? NULL : a->report,
            .summary = &a->summary,
            .ms = pn_now_ms() - t0,
            .fw_drop_chain = a->fw_drop_chain,
            .fw_drop_reason = a->fw_drop_reason,
        };
}

PODNET_EXPORT int podnet_agent_sync(podnet_agent *agent, const podnet_nodes *nodes,
                                    podnet_agent_pass *pass)
{
        podnet_agent_pass p;
        podnet_error *err = NULL;
        int lock = -1;

        if (!agent || !nodes || (pass && pass->size < offsetof(podnet_agent_pass, ms)))
                return -EINVAL;
        if (!agent->cfg.dry_run && (lock = pn_agent_lock_writers(agent->run_dir, &err)) < 0) {
                agent->report = podnet_sync_report_free(agent->report);
                p = (podnet_agent_pass){.size = sizeof(p),
                                        .kind = PODNET_AGENT_PASS_FULL,
                                        .error = pn_agent_fail(agent, err, lock, "Locking")};
        } else {
                pn_agent_full_pass(agent, nodes, true, &p);
        }
        if (lock >= 0)
                close(lock);
        if (pass) {
                size_t size = pass->size < sizeof(p) ? pass->size : sizeof(p);
                memcpy((char *)pass + sizeof(size_t), (char *)&p + sizeof(size_t),
                       size - sizeof(size_t));
        }
        return p.error;
}

PODNET_EXPORT int podnet_agent_load_nodes(podnet_agent *agent, int stop_fd, podnet_nodes **ret)
{
        if (!agent || !ret)
                return -EINVAL;
        *ret = NULL;
        if (!agent->src) {
                pn_err(agent->ctx, "No node source: give a node list file or command");
                return -EINVAL;
        }
        return pn_node_source_load(agent->src, stop_fd, ret);
}

int pn_agent_kube_config(const podnet_agent *a, struct pn_kube_config **ret, podnet_error **err)
{
        if (a->cfg.kubeconfig)
                return pn_kube_config_load(a->cfg.kubeconfig, NULL, ret, err);
        return pn_kube_config_in_cluster(a->cfg.kube_sa_dir, a->cfg.kube_host, a->cfg.kube_port,
                                         ret, err);
}

/* The Kubernetes source from the configuration (its messages name the file or setting). */
static int kube_source(podnet_agent *a, podnet_error **err)
{
        struct pn_kube_config *kc = NULL;
        int r = pn_agent_kube_config(a, &kc, err);

        if (r >= 0)
                r = pn_node_source_kube_new(a->ctx, kc, &a->src, err);
        return r;
}

/* The file where writing passes record their overlay mode, for status. */
static int overlay_path(const podnet_agent *a, char *buf, size_t size)
{
        return (size_t)snprintf(buf, size, "%s/overlay", a->run_dir) < size ? 0 : -ENAMETOOLONG;
}

static void overlay_read(podnet_agent *a)
{
        char path[PATH_MAX], buf[sizeof(a->overlay_recorded)] = "";
        enum pn_overlay_mode m;
        FILE *f;

        a->overlay_recorded[0] = '\0';
        if (overlay_path(a, path, sizeof(path)) < 0 || !(f = fopen(path, "re")))
                return;
        if (fgets(buf, sizeof(buf), f)) {
                buf[strcspn(buf, "\n")] = '\0';
                if (pn_overlay_mode_parse(buf, PN_OVERLAY_AUTO, &m) == 0)
                        snprintf(a->overlay_recorded, sizeof(a->overlay_recorded), "%s", buf);
        }
        fclose(f);
}

void pn_agent_overlay_record(podnet_agent *a)
{
        char path[PATH_MAX], text[32];
        int n = snprintf(text, sizeof(text), "%s\n", a->cfg.overlay);

        if (a->cfg.dry_run || streq(a->overlay_recorded, a->cfg.overlay) ||
            overlay_path(a, path, sizeof(path)) < 0)
                return;
        int r = pn_file_write_atomic(path, text, (size_t)n, 0644);

        if (r < 0) {
                pn_warn(a->ctx, "Recording the overlay mode in %s: %s", path, strerror(-r));
                return;
        }
        snprintf(a->overlay_recorded, sizeof(a->overlay_recorded), "%s", a->cfg.overlay);
}

void pn_agent_overlay_forget(podnet_agent *a)
{
        char path[PATH_MAX];

        if (overlay_path(a, path, sizeof(path)) == 0)
                (void)unlink(path);
        a->overlay_recorded[0] = '\0';
}

PODNET_EXPORT int podnet_agent_new(podnet_ctx *ctx, const podnet_agent_config *cfg,
                                   podnet_agent **ret, podnet_error **err)
{
        _cleanup_(podnet_agent_freep) podnet_agent *a = NULL;
        int r;

        if (!ctx || !ret)
                return -EINVAL;
        a = calloc(1, sizeof(*a));
        if (!a)
                return pn_error(err, ENOMEM, 0, "Creating the node agent");
        a->run_fd = a->lock_fd = a->fw_mon_fd = -1;
        pn_stats_init(&a->stats);
        a->ctx = podnet_ctx_ref(ctx);
        if (PODNET_OPTS_COPY(a->cfg, cfg, offsetof(podnet_agent_config, userdata)) < 0)
                return pn_error_plain(err, EINVAL, 0, "Invalid node agent configuration");
        if (isempty(a->cfg.node_name))
                return pn_error_plain(err, EINVAL, 0, "The node agent needs this node's name");
        if (a->cfg.nodes_file && a->cfg.nodes_cmd)
                return pn_error_plain(
                    err, EINVAL, 0, "A node list file and a node list command exclude each other");
        if (a->cfg.kube && (a->cfg.nodes_file || a->cfg.nodes_cmd))
                return pn_error_plain(err, EINVAL, 0,
                                      "The Kubernetes API and a node list file or command "
                                      "exclude each other");
        if (a->cfg.fw_backend && streq(a->cfg.fw_backend, "none"))
                a->cfg.firewall = false;
        else if (a->cfg.fw_backend && !streq(a->cfg.fw_backend, PN_FW_AUTO) &&
                 !pn_fw_backend_by_name(a->cfg.fw_backend))
                return pn_error_plain(err, ENOENT, 0, "Unknown firewall backend \"%s\"",
                                      a->cfg.fw_backend);
        if (a->cfg.nft_accept_chain) {
                struct pn_fw_nft_chain c;

                r = pn_fw_nft_chain_parse(a->cfg.nft_accept_chain, &c, err);
                if (r < 0)
                        return r;
        }
        a->overlay_default = !a->cfg.overlay;
        if (!a->cfg.overlay)
                a->cfg.overlay = "auto";
        {
                enum pn_overlay_mode m;
                if (pn_overlay_mode_parse(a->cfg.overlay, PN_OVERLAY_AUTO, &m) < 0)
                        return pn_error_plain(
                            err, EINVAL, 0,
                            "Unknown overlay mode \"%s\" (never, cross-subnet, always or auto)",
                            a->cfg.overlay);
        }
        if (a->cfg.vxlan_port > 65535 || a->cfg.vxlan_vni > 0xffffff)
                return pn_error_plain(err, EINVAL, 0, "VXLAN port %u or VNI %u out of range",
                                      a->cfg.vxlan_port, a->cfg.vxlan_vni);
        if (!a->cfg.nodes_timeout)
                a->cfg.nodes_timeout = 30;
        if (!a->cfg.interval)
                a->cfg.interval = 30;
        if (!a->cfg.protocol)
                a->cfg.protocol = PODNET_ROUTE_PROTOCOL;
        if (!a->cfg.table)
                a->cfg.table = 254;
        if ((size_t)snprintf(a->run_dir, sizeof(a->run_dir), "%s",
                             a->cfg.run_dir ? a->cfg.run_dir : "/run/podnet") >= sizeof(a->run_dir))
                return pn_error_plain(err, ENAMETOOLONG, 0, "Run directory name too long");
        overlay_read(a);
        r = 0;
        if (a->cfg.nodes_cmd)
                r = pn_node_source_cmd_new(ctx, a->cfg.nodes_cmd, a->cfg.nodes_timeout, &a->src);
        else if (a->cfg.nodes_file)
                r = pn_node_source_file_new(ctx, a->cfg.nodes_file, &a->src);
        else if (a->cfg.kube && (r = kube_source(a, err)) < 0)
                return r;
        if (r < 0)
                return pn_error(err, -r, 0, "Creating the node source");
        *ret = steal_pointer(&a);
        return 0;
}

PODNET_EXPORT podnet_agent *podnet_agent_free(podnet_agent *agent)
{
        if (!agent)
                return NULL;
        if (agent->started)
                pn_agent_source_forget(agent);
        pn_node_source_free(agent->src);
        podnet_route_monitor_free(agent->mon);
        podnet_nodes_free(agent->nodes);
        podnet_nodes_free(agent->fresh);
        pn_node_changes_free(agent->changes);
        pn_delta_base_free(agent->delta);
        podnet_sync_report_free(agent->report);
        free(agent->fw_reason);
        free(agent->fw_drop_chain);
        free(agent->fw_drop_reason);
        pn_stats_done(&agent->stats);
        if (agent->lock_fd >= 0)
                close(agent->lock_fd);
        if (agent->run_fd >= 0)
                close(agent->run_fd);
        if (agent->fw_mon_fd >= 0)
                close(agent->fw_mon_fd);
        podnet_ctx_unref(agent->ctx);
        free(agent);
        return NULL;
}

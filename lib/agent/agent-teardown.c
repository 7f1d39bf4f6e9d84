/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's teardown (podnet-routes teardown): under the writers' lock, podnet's
 * routes, its VXLAN device (and with it every neighbour and FDB entry on it), its firewall
 * chains (from every backend, with the recorded choice) and its CNI conflist go, and
 * nothing else. The bridge stays: it is podnet-cni's, and pods may be on it.
 */
#include "agent/agent.h"
#include "agent/overlay.h"

PODNET_EXPORT int podnet_agent_teardown(podnet_agent *agent, podnet_agent_teardown_result *res)
{
        podnet_agent_teardown_result t = {
            .size = sizeof(t), .routes = -ECANCELED, .firewall = -ECANCELED, .conf = -ECANCELED};
        podnet_error *err = NULL;
        int lock, r = 0, error = 0;

        if (!agent || (res && res->size < sizeof(size_t) + 3 * sizeof(int)))
                return -EINVAL;
        lock = pn_agent_lock_writers(agent->run_dir, &err);
        if (lock < 0) {
                error = pn_agent_fail(agent, err, lock, "Locking");
                goto out;
        }
        t.routes = podnet_routes_flush(agent->ctx, agent->cfg.protocol, agent->cfg.table, &err);
        if (t.routes < 0)
                error = pn_agent_fail(agent, steal_pointer(&err), t.routes, "Removing routes");
        r = podnet_vxlan_delete(agent->ctx, NULL,
                                agent->cfg.vxlan_dev ? agent->cfg.vxlan_dev : PN_VXLAN_DEV_DEFAULT, &err);
        if (r < 0 && r != -EMEDIUMTYPE) /* not a VXLAN device: not podnet's, left alone */
                error = error ? error
                              : pn_agent_fail(agent, steal_pointer(&err), r,
                                              "Removing the VXLAN device");
        err = podnet_error_free(err);
        pn_agent_overlay_forget(agent);
        if (agent->cfg.firewall) {
                t.firewall = pn_agent_fw_teardown(agent);
                error = error ? error : t.firewall < 0 ? t.firewall : 0;
        }
        if (agent->cfg.cni_conf_path) {
                r = 0;
                t.conf = podnet_conflist_remove(agent->cfg.cni_conf_path, &err);
                if (t.conf == -EEXIST) /* someone else's file: left in place */
                        pn_warn(agent->ctx, "%s", podnet_error_message(err));
                else if (t.conf < 0)
                        r = pn_agent_fail(agent, steal_pointer(&err), t.conf,
                                          "Removing the CNI configuration");
                err = podnet_error_free(err);
                error = error ? error : r;
        }
        close(lock);
out:
        if (res)
                memcpy((char *)res + sizeof(size_t), (char *)&t + sizeof(size_t),
                       (res->size < sizeof(t) ? res->size : sizeof(t)) - sizeof(size_t));
        return error;
}

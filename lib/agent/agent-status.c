/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's status (podnet-routes status): a dry-run route sync against the node
 * list (or none), the firewall backend in effect with why, and a listing of podnet's
 * chains in it, formatted as text or JSON.
 */
#include "agent/agent.h"

/* What the node agent running here records of its node source (source-state.c): a
 * "source" member of the JSON object, or a section after the text. */
static int add_source(podnet_agent *agent, bool json, char **doc)
{
        _cleanup_free_ char *src = NULL;
        char *out, *end;
        int r = pn_agent_source_status(agent, json, &src);

        if (r <= 0)
                return r;
        if (json) {
                end = strrchr(*doc, '}');
                if (!end)
                        return 0;
                if (asprintf(&out, "%.*s%s\"source\":%s}", (int)(end - *doc), *doc,
                             end > *doc && end[-1] != '{' ? "," : "", src) < 0)
                        return -ENOMEM;
        } else if (asprintf(&out, "%s%s", *doc, src) < 0) {
                return -ENOMEM;
        }
        free(*doc);
        *doc = out;
        return 0;
}

PODNET_EXPORT int podnet_agent_status(podnet_agent *agent, const podnet_nodes *nodes,
                                      unsigned flags, char **ret)
{
        _cleanup_nodes_ podnet_nodes *none = NULL;
        _cleanup_report_ podnet_sync_report *rep = NULL;
        _cleanup_free_ char *fw = NULL, *reason = NULL;
        const char *backend = NULL;
        podnet_error *err = NULL;
        podnet_sync_config sc;
        int r;

        if (!agent || !ret || (flags & ~(unsigned)PODNET_AGENT_JSON))
                return -EINVAL;
        *ret = NULL;
        if (!nodes && (r = podnet_nodes_parse(&none, "", 0, NULL)) < 0)
                return pn_agent_fail(agent, NULL, r, "Reading routes");
        sc = pn_agent_sync_config(agent, true);
        r = podnet_routes_sync(agent->ctx, nodes ? nodes : none, &sc, &rep, &err);
        if (r == -ENODATA) {
                /* an invalid list (or none): the installed routes are still shown */
                if (nodes)
                        pn_warn(agent->ctx, "%s", podnet_error_message(err));
                err = podnet_error_free(err);
        } else if (r < 0) {
                return pn_agent_fail(agent, err, r, "Reading routes");
        }
        if (agent->cfg.firewall)
                (void)pn_agent_fw_status(agent, &backend, &reason, &fw);
        podnet_status_config st = {
            .size = sizeof(st),
            .node_name = agent->cfg.node_name,
            .protocol = agent->cfg.protocol,
            .table = agent->cfg.table,
            .nodes = nodes,
            .firewall = agent->cfg.firewall,
            .firewall_dump = fw,
            .firewall_backend = backend,
            .firewall_reason = reason,
            .firewall_drop_chain = agent->fw_drop_chain,
            .firewall_drop_reason = agent->fw_drop_reason,
        };
        if (flags & PODNET_AGENT_JSON)
                r = podnet_status_format_json(rep, &st, ret);
        else
                r = podnet_status_format_text(rep, &st, ret);
        if (r >= 0 && (r = add_source(agent, flags & PODNET_AGENT_JSON, ret)) < 0)
                *ret = (free(*ret), NULL);
        if (r < 0)
                pn_err(agent->ctx, "Formatting the output: %s", strerror(-r));
        return r;
}

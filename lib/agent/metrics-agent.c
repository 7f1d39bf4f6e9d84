/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's metrics and health (podnet_agent_metrics(3)): a snapshot of its
 * statistics rendered for Prometheus or judged for /healthz. Both may be called from a
 * thread other than the one in podnet_agent_run(): they touch only the statistics.
 */
#include "agent/agent.h"

PODNET_EXPORT int podnet_agent_metrics(podnet_agent *agent, char **ret)
{
        struct pn_stats_snap s;

        if (!agent || !ret)
                return -EINVAL;
        pn_stats_snapshot(&agent->stats, &s);
        return pn_metrics_render(&s, podnet_version(), ret);
}

PODNET_EXPORT int podnet_agent_health(podnet_agent *agent, unsigned source_max, char **reason)
{
        struct pn_stats_snap s;

        if (!agent || !reason)
                return -EINVAL;
        pn_stats_snapshot(&agent->stats, &s);
        return pn_stats_health(&s, pn_now_unix(), source_max, reason);
}

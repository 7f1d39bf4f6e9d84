/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's pod CIDR allocation (podnet-routes allocate): the nodes without a pod
 * CIDR get one from the agent's cluster CIDRs, and what they got is formatted for the
 * caller (the kubectl patch commands that apply it, or JSON).
 */
#include "agent/agent.h"

PODNET_EXPORT int podnet_agent_allocate(podnet_agent *agent, podnet_nodes *nodes,
                                        const unsigned *mask_sizes, unsigned flags, char **ret,
                                        podnet_error **err)
{
        _cleanup_free_ size_t *fresh = NULL;
        size_t n_fresh = 0;
        int r, given;

        if (!agent || !nodes || !mask_sizes || (flags & ~(unsigned)PODNET_AGENT_JSON))
                return -EINVAL;
        if (agent->cfg.n_cluster_cidrs == 0)
                return pn_error_plain(err, EINVAL, 0, "Allocating pod CIDRs needs cluster CIDRs");
        /* the nodes without a pod CIDR are the ones podnet_nodes_allocate() serves */
        fresh = calloc(podnet_nodes_count(nodes) + 1, sizeof(*fresh));
        if (!fresh)
                return pn_error(err, ENOMEM, 0, "Allocating pod CIDRs");
        for (size_t i = 0; i < podnet_nodes_count(nodes); i++)
                if (podnet_nodes_n_pod_cidrs(nodes, i) == 0)
                        fresh[n_fresh++] = i;
        given = podnet_nodes_allocate(nodes, agent->cfg.cluster_cidrs, mask_sizes,
                                      agent->cfg.n_cluster_cidrs, err);
        if (given < 0 || !ret)
                return given;
        if (flags & PODNET_AGENT_JSON)
                r = podnet_nodes_format_allocation_json(nodes, fresh, n_fresh, ret);
        else
                r = podnet_nodes_format_allocation_text(nodes, fresh, n_fresh, ret);
        if (r < 0)
                return pn_error(err, -r, 0, "Formatting the allocation");
        return given;
}

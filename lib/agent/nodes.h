/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the node list files (nodes.c, nodes-json.c, nodes-static.c, allocate.c): the
 * readers of the two node list formats, called by podnet_nodes_parse().
 */
#ifndef PODNET_AGENT_NODES_H
#define PODNET_AGENT_NODES_H

#include "core/cidr.h"
#include "agent/routes.h"

void pn_node_done(struct pn_node *n);

/* text[0..len) is a Kubernetes NodeList (or Node) as JSON; appends its nodes. */
int pn_nodes_parse_json(podnet_nodes *nodes, const char *text, size_t len, podnet_error **err);

/* text[0..len) is a static node file; appends its nodes. */
int pn_nodes_parse_static(podnet_nodes *nodes, const char *text, size_t len, podnet_error **err);

#endif

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

/* A NodeList (or Node) read as it arrives, chunk by chunk (the file and command sources,
 * a Kubernetes LIST), or one watch event ({"type", "object"}) when `event`: memory holds
 * the nodes' routing facts, never the document. Nodes are appended to `nodes` (borrowed). */
struct pn_nodes_reader;
int pn_nodes_reader_new(podnet_nodes *nodes, bool event, struct pn_nodes_reader **ret);
struct pn_nodes_reader *pn_nodes_reader_free(struct pn_nodes_reader *nr);
/* Feeds a chunk (read at once, not kept); `last`: the document ends here. 0: more input
 * wanted; 1: the document is complete (later input is ignored); -errno: it failed
 * (pn_nodes_reader_end() says why). */
int pn_nodes_reader_feed(struct pn_nodes_reader *nr, const char *chunk, size_t len, bool last);
/* The verdict after the last feed, with the messages pn_nodes_parse_json() gives. */
int pn_nodes_reader_end(struct pn_nodes_reader *nr, podnet_error **err);
/* A list's metadata.resourceVersion and metadata.continue (NULL: none). */
const char *pn_nodes_reader_rv(const struct pn_nodes_reader *nr);
const char *pn_nodes_reader_continue(const struct pn_nodes_reader *nr);
/* An event's type, its object's resourceVersion and message (a Status); for ADDED,
 * MODIFIED and DELETED its Node is appended to the nodes. 0 or -errno with *err. */
int pn_nodes_reader_event(struct pn_nodes_reader *nr, const char **type, const char **rv,
                          const char **message, podnet_error **err);

/* text[0..len) is a static node file; appends its nodes. */
int pn_nodes_parse_static(podnet_nodes *nodes, const char *text, size_t len, podnet_error **err);

#endif

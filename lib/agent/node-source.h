/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the node agent: where a node list comes from. A source is an object with
 * descriptors to poll and a step function, so that the agent's loop keeps answering route
 * changes while a list is on its way; the file and the command are two sources, a
 * Kubernetes LIST/WATCH client would be a third (it would also deliver lists unasked).
 */
#ifndef PODNET_AGENT_NODE_SOURCE_H
#define PODNET_AGENT_NODE_SOURCE_H

#include <poll.h>
#include <stdbool.h>

#include "core/internal.h"

/* The largest node list a source reads. */
#define PN_MAX_NODE_LIST (64u << 20)

struct pn_node_source;

struct pn_node_source_ops {
        /* Starts getting a fresh list; step() then delivers it. 0, or -errno after a
         * logged failure (no list comes). */
        int (*request)(struct pn_node_source *s);
        /* A list is on its way: a second request would be ignored. */
        bool (*busy)(const struct pn_node_source *s);
        /* Fills p (room for PN_SOURCE_MAX_FDS) with what to poll; returns how many. */
        nfds_t (*pollfds)(const struct pn_node_source *s, struct pollfd *p);
        /* Milliseconds after which step() is due even without an event; < 0: none. */
        double (*wait_ms)(const struct pn_node_source *s);
        /* 1 when a list arrived or failed (*ret NULL, after a logged message), 0 when
         * none is ready yet. */
        int (*step)(struct pn_node_source *s, podnet_nodes **ret);
        /* Abandons a list on its way (nothing logged). */
        void (*cancel)(struct pn_node_source *s);
        void (*free)(struct pn_node_source *s);
};

#define PN_SOURCE_MAX_FDS 4

struct pn_node_source {
        const struct pn_node_source_ops *ops;
        podnet_ctx *ctx; /* borrowed from the agent, for logging */
};

/* A node list file ("-": standard input), read when requested. */
int pn_node_source_file_new(podnet_ctx *ctx, const char *path, struct pn_node_source **ret);
/* `sh -c cmd` in a process group of its own, killed with its group after timeout_s. */
int pn_node_source_cmd_new(podnet_ctx *ctx, const char *cmd, unsigned timeout_s,
                           struct pn_node_source **ret);

/* Requests a list and waits for it. 0 (*ret the caller's), -ECANCELED when stop_fd (-1:
 * none) became readable first, another -errno after a logged failure. */
int pn_node_source_load(struct pn_node_source *s, int stop_fd, podnet_nodes **ret);
/* Parses text read from `what`, logging why it is refused; frees text. NULL on failure. */
podnet_nodes *pn_node_source_parse(podnet_ctx *ctx, char *text, size_t len, const char *what);
void pn_node_source_free(struct pn_node_source *s);

/* CLOCK_MONOTONIC in milliseconds. */
double pn_now_ms(void);

#endif

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

/* The largest static node file a source reads (kubectl JSON is read as a stream, with
 * no limit: memory holds the nodes' routing facts, not the document). */
#define PN_MAX_NODE_LIST (64u << 20)

/* A node list read as it arrives: JSON (its first non-space byte is '{') goes through the
 * streaming reader chunk by chunk; the static format is kept (at most PN_MAX_NODE_LIST)
 * and parsed at the end. */
struct pn_list_stream {
        podnet_nodes *nodes;
        struct pn_nodes_reader *nr;
        int format; /* 0 not known yet, 1 JSON, 2 static */
        char *text;
        size_t len, cap;
        int r;
};
/* Feeds a chunk: 0, -EFBIG (a static file over the limit), -ENOMEM. */
int pn_list_stream_feed(struct pn_list_stream *ls, const char *chunk, size_t len);
/* Ends the stream: the list, or NULL after logging why it is refused (`what` names the
 * source). Frees what the stream holds. */
podnet_nodes *pn_list_stream_end(podnet_ctx *ctx, struct pn_list_stream *ls, const char *what);
void pn_list_stream_done(struct pn_list_stream *ls);

struct pn_node_source;

/* What changed since a source's previous delivery (a list or a change set): the nodes
 * added or whose routing facts changed, with their facts now, and the names of the nodes
 * deleted. A name is in at most one of the two; both are sorted by name. */
struct pn_node_changes {
        podnet_nodes *set;
        char **gone;
        size_t n_gone;
};
void pn_node_changes_free(struct pn_node_changes *c);
static inline void pn_node_changes_freep(struct pn_node_changes **c)
{
        pn_node_changes_free(*c);
}
/* Applies c to `nodes` (sorted by name, as the Kubernetes source delivers them), which
 * stays sorted; the entries replaced or removed are moved to *old (sorted by name; NULL
 * if none). 0, or -ENOMEM (nodes then holds a part of the change: deliver a list). */
int pn_node_changes_apply(podnet_nodes *nodes, const struct pn_node_changes *c,
                          podnet_nodes **old);
/* The index of name in nodes sorted by name (a binary search), or -ENOENT. */
ssize_t pn_nodes_find_sorted(const podnet_nodes *nodes, const char *name);

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
        /* Optional: step() for a caller that holds the source's previous delivery. 1 with
         * *changes (the change set since it) where the source has one, with *ret a whole
         * list after a (re)list, a request, or a burst too large to be worth a set, or
         * with both NULL after a logged failure; 0 when nothing is ready yet. */
        int (*step_changes)(struct pn_node_source *s, podnet_nodes **ret,
                            struct pn_node_changes **changes);
        /* Abandons a list on its way (nothing logged). */
        void (*cancel)(struct pn_node_source *s);
        void (*free)(struct pn_node_source *s);
};

#define PN_SOURCE_MAX_FDS 8

struct pn_node_source {
        const struct pn_node_source_ops *ops;
        podnet_ctx *ctx; /* borrowed from the agent, for logging */
};

/* A node list file ("-": standard input), read when requested. */
int pn_node_source_file_new(podnet_ctx *ctx, const char *path, struct pn_node_source **ret);
/* `sh -c cmd` in a process group of its own, killed with its group after timeout_s. */
int pn_node_source_cmd_new(podnet_ctx *ctx, const char *cmd, unsigned timeout_s,
                           struct pn_node_source **ret);

/* The Kubernetes API (kube/kube.h): LIST then WATCH of Nodes, the node map kept from the
 * events; a change is delivered unasked when a routing fact changed (at most every
 * PN_KUBE_COALESCE_MS; through step_changes() as the change set of at most
 * PN_KUBE_CHANGES_MAX nodes, else as a list), and a list when requested (the periodic
 * resync) or after a (re)list. Takes cfg. */
#define PN_KUBE_COALESCE_MS 50
#define PN_KUBE_CHANGES_MAX 256
struct pn_kube_config;
int pn_node_source_kube_new(podnet_ctx *ctx, struct pn_kube_config *cfg,
                            struct pn_node_source **ret, podnet_error **err);

/* What the Kubernetes source did, for status and metrics. */
struct pn_kube_source_stats {
        unsigned long lists;      /* complete LISTs (the first one included) */
        unsigned long relists;    /* LISTs after a 410 Gone, an ERROR event, a bad stream */
        unsigned long reconnects; /* WATCHes started again after one ended or failed */
        unsigned long events;     /* watch events read (bookmarks included) */
        unsigned long changes;    /* events that changed a routing fact */
        unsigned long failures;   /* calls that got no answer or an error status */
        unsigned long long bytes; /* response bytes read */
        bool synced;              /* a complete list arrived since the start */
        bool watching;            /* a WATCH is open and answered */
        double since_ms;          /* pn_now_ms() when `watching` last changed */
        size_t nodes;             /* in the map */
        char resource_version[64];
        char last_error[256];     /* the last failure's message, "" if none yet */
        const char *state;        /* listing, watching, connecting, backoff, idle */
        const char *server;       /* the API server's URL */
};
/* -EINVAL when s is not the Kubernetes source. */
int pn_node_source_kube_stats(const struct pn_node_source *s, struct pn_kube_source_stats *ret);

/* Requests a list and waits for it. 0 (*ret the caller's), -ECANCELED when stop_fd (-1:
 * none) became readable first, another -errno after a logged failure. */
int pn_node_source_load(struct pn_node_source *s, int stop_fd, podnet_nodes **ret);
/* Parses text read from `what`, logging why it is refused; frees text. NULL on failure. */
podnet_nodes *pn_node_source_parse(podnet_ctx *ctx, char *text, size_t len, const char *what);
void pn_node_source_free(struct pn_node_source *s);

/* CLOCK_MONOTONIC in milliseconds. */
double pn_now_ms(void);

#endif

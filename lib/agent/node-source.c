/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's node sources, seen from outside: waiting for one list (sync, status,
 * allocate), parsing what a source read, freeing. The sources themselves are
 * node-source-file.c and node-source-cmd.c.
 */
#include <time.h>

#include <ctype.h>

#include "agent/node-source.h"
#include "agent/nodes.h"

double pn_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

podnet_nodes *pn_node_source_parse(podnet_ctx *ctx, char *text, size_t len, const char *what)
{
        _cleanup_error_ podnet_error *err = NULL;
        podnet_nodes *nodes = NULL;

        if (!text)
                return NULL;
        if (podnet_nodes_parse(&nodes, text, len, &err) < 0) {
                pn_err(ctx, "Node list from %s: %s", what,
                       err ? podnet_error_message(err) : "invalid");
                nodes = NULL;
        }
        free(text);
        return nodes;
}

static int stream_keep(struct pn_list_stream *ls, const char *chunk, size_t len)
{
        if (ls->len + len > PN_MAX_NODE_LIST)
                return -EFBIG;
        if (pn_grow((void **)&ls->text, &ls->cap, ls->len + len + 1, 1) < 0)
                return -ENOMEM;
        memcpy(ls->text + ls->len, chunk, len);
        ls->len += len;
        ls->text[ls->len] = '\0';
        return 0;
}

int pn_list_stream_feed(struct pn_list_stream *ls, const char *chunk, size_t len)
{
        size_t i = 0;
        int r;

        if (ls->r < 0)
                return ls->r;
        if (ls->format == 0) {
                while (i < len && isspace((unsigned char)chunk[i]))
                        i++;
                if (i == len) /* only whitespace so far */
                        return ls->r = stream_keep(ls, chunk, len);
                ls->format = chunk[i] == '{' ? 1 : 2;
                if (ls->format == 1) {
                        ls->nodes = calloc(1, sizeof(*ls->nodes));
                        if (!ls->nodes || pn_nodes_reader_new(ls->nodes, false, &ls->nr) < 0)
                                return ls->r = -ENOMEM;
                        /* the whitespace before, so that offsets and lines stay right */
                        if (ls->len && pn_nodes_reader_feed(ls->nr, ls->text, ls->len, false) < 0)
                                return 0; /* (the reader keeps its verdict) */
                        ls->text = (free(ls->text), NULL);
                        ls->len = ls->cap = 0;
                }
        }
        if (ls->format == 2)
                return ls->r = stream_keep(ls, chunk, len);
        r = pn_nodes_reader_feed(ls->nr, chunk, len, false);
        return r == -ENOMEM ? (ls->r = r) : 0;
}

void pn_list_stream_done(struct pn_list_stream *ls)
{
        pn_nodes_reader_free(ls->nr);
        podnet_nodes_free(ls->nodes);
        free(ls->text);
        *ls = (struct pn_list_stream){0};
}

podnet_nodes *pn_list_stream_end(podnet_ctx *ctx, struct pn_list_stream *ls, const char *what)
{
        _cleanup_error_ podnet_error *err = NULL;
        podnet_nodes *nodes = NULL;
        int r = ls->r;

        if (r == -ENOMEM)
                pn_err(ctx, "Node list from %s: out of memory", what);
        else if (ls->format != 1) /* the static format, or nothing but whitespace */
                return pn_node_source_parse(ctx, ls->text ? steal_pointer(&ls->text) : strdup(""),
                                            ls->len, what);
        else if ((void)pn_nodes_reader_feed(ls->nr, NULL, 0, true),
                 (r = pn_nodes_reader_end(ls->nr, &err)) < 0 ||
                     (r = pn_nodes_check_unique(ls->nodes, true, &err)) < 0)
                pn_err(ctx, "Node list from %s: %s", what,
                       err ? podnet_error_message(err) : strerror(-r));
        else
                nodes = steal_pointer(&ls->nodes);
        pn_list_stream_done(ls);
        return nodes;
}

int pn_node_source_load(struct pn_node_source *s, int stop_fd, podnet_nodes **ret)
{
        int r = s->ops->request(s);

        *ret = NULL;
        if (r < 0)
                return r;
        while (s->ops->step(s, ret) == 0) {
                struct pollfd p[PN_SOURCE_MAX_FDS + 1];
                nfds_t n = s->ops->pollfds(s, p);
                double wait = s->ops->wait_ms(s);

                if (stop_fd >= 0)
                        p[n++] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
                (void)poll(p, n, wait < 0 ? -1 : (int)wait + 1);
                if (stop_fd >= 0 && (p[n - 1].revents & POLLIN)) {
                        s->ops->cancel(s);
                        return -ECANCELED;
                }
        }
        /* (the source logged why there is no list) */
        return *ret ? 0 : -ENODATA;
}

void pn_node_source_free(struct pn_node_source *s)
{
        if (s)
                s->ops->free(s);
}

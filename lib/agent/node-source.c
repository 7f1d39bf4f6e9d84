/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's node sources, seen from outside: waiting for one list (sync, status,
 * allocate), parsing what a source read, freeing. The sources themselves are
 * node-source-file.c and node-source-cmd.c.
 */
#include <time.h>

#include "agent/node-source.h"

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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's file source: a node list file (kubectl JSON or the static node file)
 * or standard input, read when a list is requested, JSON as a stream (no size limit).
 */
#include <fcntl.h>

#include "agent/node-source.h"

struct file_source {
        struct pn_node_source s;
        const char *path; /* borrowed; "-": standard input */
        bool ready;
        podnet_nodes *nodes;
};

/* Reads fd to its end into the list stream: 0 or -errno (-EFBIG: a static file over the
 * limit). */
static int read_stream(int fd, struct pn_list_stream *ls)
{
        _cleanup_free_ char *buf = malloc(65536);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf, 65536);
                int r;

                if (k == 0)
                        return 0;
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                r = pn_list_stream_feed(ls, buf, (size_t)k);
                if (r < 0)
                        return r;
        }
}

static int file_request(struct pn_node_source *s)
{
        struct file_source *f = (struct file_source *)s;
        bool in = streq(f->path, "-");
        int fd = in ? STDIN_FILENO : open(f->path, O_RDONLY | O_CLOEXEC);
        struct pn_list_stream ls = {0};
        int r = fd < 0 ? -errno : read_stream(fd, &ls);

        if (!in && fd >= 0)
                close(fd);
        if (r < 0 && in)
                pn_err(s->ctx, "Reading the node list from standard input: %s", strerror(-r));
        else if (r < 0)
                pn_err(s->ctx, "Reading node list %s: %s", f->path, strerror(-r));
        podnet_nodes_free(f->nodes);
        f->nodes = NULL;
        if (r < 0)
                pn_list_stream_done(&ls);
        else
                f->nodes = pn_list_stream_end(s->ctx, &ls, in ? "standard input" : f->path);
        f->ready = true;
        return 0;
}

static bool file_busy(const struct pn_node_source *s)
{
        (void)s;
        return false;
}

static nfds_t file_pollfds(const struct pn_node_source *s, struct pollfd *p)
{
        (void)s;
        (void)p;
        return 0;
}

static double file_wait_ms(const struct pn_node_source *s)
{
        return ((const struct file_source *)s)->ready ? 0 : -1;
}

static int file_step(struct pn_node_source *s, podnet_nodes **ret)
{
        struct file_source *f = (struct file_source *)s;

        if (!f->ready)
                return 0;
        f->ready = false;
        *ret = steal_pointer(&f->nodes);
        return 1;
}

static void file_cancel(struct pn_node_source *s)
{
        struct file_source *f = (struct file_source *)s;

        f->nodes = podnet_nodes_free(f->nodes);
        f->ready = false;
}

static void file_free(struct pn_node_source *s)
{
        file_cancel(s);
        free(s);
}

static const struct pn_node_source_ops file_ops = {
    .request = file_request,
    .busy = file_busy,
    .pollfds = file_pollfds,
    .wait_ms = file_wait_ms,
    .step = file_step,
    .cancel = file_cancel,
    .free = file_free,
};

int pn_node_source_file_new(podnet_ctx *ctx, const char *path, struct pn_node_source **ret)
{
        struct file_source *f = calloc(1, sizeof(*f));

        if (!f)
                return -ENOMEM;
        f->s = (struct pn_node_source){.ops = &file_ops, .ctx = ctx};
        f->path = path;
        *ret = &f->s;
        return 0;
}

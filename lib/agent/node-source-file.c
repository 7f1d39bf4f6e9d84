/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's file source: a node list file (kubectl JSON or the static node file)
 * or standard input, read whole when a list is requested.
 */
#include <fcntl.h>

#include "agent/node-source.h"

struct file_source {
        struct pn_node_source s;
        const char *path; /* borrowed; "-": standard input */
        bool ready;
        podnet_nodes *nodes;
};

/* Reads fd to its end, at most PN_MAX_NODE_LIST bytes, NUL-terminated: 0 or -errno
 * (-EFBIG when longer). */
static int slurp(int fd, char **ret, size_t *len)
{
        _cleanup_free_ char *buf = NULL;
        size_t cap = 0, n = 0;

        for (;;) {
                ssize_t k;

                if (pn_grow((void **)&buf, &cap, n + 4096 + 1, 1) < 0)
                        return -ENOMEM;
                k = read(fd, buf + n, cap - n - 1);
                if (k == 0)
                        break;
                if (k < 0 && errno != EINTR)
                        return -errno;
                if (k > 0 && (n += (size_t)k) > PN_MAX_NODE_LIST)
                        return -EFBIG;
        }
        buf[n] = '\0';
        *len = n;
        *ret = steal_pointer(&buf);
        return 0;
}

static int file_request(struct pn_node_source *s)
{
        struct file_source *f = (struct file_source *)s;
        bool in = streq(f->path, "-");
        int fd = in ? STDIN_FILENO : open(f->path, O_RDONLY | O_CLOEXEC);
        char *text = NULL;
        size_t len = 0;
        int r = fd < 0 ? -errno : slurp(fd, &text, &len);

        if (!in && fd >= 0)
                close(fd);
        if (r < 0 && in)
                pn_err(s->ctx, "Reading the node list from standard input: %s", strerror(-r));
        else if (r < 0)
                pn_err(s->ctx, "Reading node list %s: %s", f->path, strerror(-r));
        podnet_nodes_free(f->nodes);
        f->nodes = pn_node_source_parse(s->ctx, text, len, in ? "standard input" : f->path);
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

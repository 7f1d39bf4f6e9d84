/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The library context: reference count, log callback and priority, and the lazily
 * opened netlink route socket of the namespace the context was created in.
 */
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <string.h>

#include "core/internal.h"

PODNET_EXPORT const char *podnet_version(void)
{
        return PODNET_VERSION_STRING;
}

PODNET_EXPORT int podnet_has_feature(const char *name)
{
        static const char *const features[] = {
            "ipv6",     "iptables", "host-local", "cni-1.1.0",      "gc", "status", "route-sync",
            "nodelist", "allocate", "conflist",   "boot-id-leases", "vxlan",
        };
        if (!name)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(features); i++)
                if (streq(features[i], name))
                        return 1;
        return 0;
}

PODNET_EXPORT int podnet_ctx_new(podnet_ctx **ret)
{
        podnet_ctx *ctx;

        if (!ret)
                return -EINVAL;
        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return -ENOMEM;
        ctx->n_ref = 1;
        ctx->log_priority = LOG_ERR;
        *ret = ctx;
        return 0;
}

PODNET_EXPORT podnet_ctx *podnet_ctx_ref(podnet_ctx *ctx)
{
        if (ctx)
                ctx->n_ref++;
        return ctx;
}

PODNET_EXPORT podnet_ctx *podnet_ctx_unref(podnet_ctx *ctx)
{
        if (!ctx || --ctx->n_ref > 0)
                return NULL;
        if (ctx->nl)
                nl_socket_free(ctx->nl);
        free(ctx->xtables_lock);
        free(ctx);
        return NULL;
}

PODNET_EXPORT void podnet_ctx_set_log_fn(podnet_ctx *ctx, podnet_log_fn fn, void *userdata)
{
        if (!ctx)
                return;
        ctx->log_fn = fn;
        ctx->log_userdata = userdata;
}

PODNET_EXPORT void podnet_ctx_set_log_priority(podnet_ctx *ctx, int priority)
{
        if (ctx)
                ctx->log_priority = priority;
}

PODNET_EXPORT int podnet_ctx_get_log_priority(const podnet_ctx *ctx)
{
        return ctx ? ctx->log_priority : -EINVAL;
}

void pn_log(podnet_ctx *ctx, int priority, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;

        if (!ctx || !ctx->log_fn || priority > ctx->log_priority)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        ctx->log_fn(ctx, ctx->log_userdata, priority, buf);
}

struct nl_sock *pn_ctx_nl(podnet_ctx *ctx)
{
        struct nl_sock *sk;
        int r;

        if (ctx->nl)
                return ctx->nl;
        sk = nl_socket_alloc();
        if (!sk) {
                errno = ENOMEM;
                return NULL;
        }
        errno = 0;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                int e = pn_nl_sys_errno(r, errno);

                nl_socket_free(sk);
                errno = e;
                return NULL;
        }
        ctx->nl = sk;
        return sk;
}

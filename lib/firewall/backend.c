/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The table of firewall backends and the context's firewall settings: which backend
 * its calls use, and which lock file the iptables backends share with iptables(8).
 * The library reads no environment: a tool that honours XTABLES_LOCKFILE passes it in.
 */
#include "firewall/backend.h"

#define XT_LOCK_PATH "/run/xtables.lock"

/* The first is the default. */
static const struct pn_fw_backend *const pn_fw_backends[] = {
    &pn_fw_backend_iptables_legacy,
    &pn_fw_backend_iptables_nft,
};

const struct pn_fw_backend *pn_fw_backend_of(const podnet_ctx *ctx)
{
        return pn_fw_backends[ctx->fw_backend < ELEMENTSOF(pn_fw_backends) ? ctx->fw_backend : 0];
}

const struct pn_fw_backend *pn_fw_backend_by_name(const char *name)
{
        for (size_t i = 0; name && i < ELEMENTSOF(pn_fw_backends); i++)
                if (streq(pn_fw_backends[i]->name, name))
                        return pn_fw_backends[i];
        return NULL;
}

const struct pn_fw_backend *pn_fw_backend_nth(size_t i)
{
        return i < ELEMENTSOF(pn_fw_backends) ? pn_fw_backends[i] : NULL;
}

const char *pn_fw_xtables_lock(const podnet_ctx *ctx)
{
        return ctx->xtables_lock ? ctx->xtables_lock : XT_LOCK_PATH;
}

PODNET_EXPORT int podnet_ctx_set_fw_backend(podnet_ctx *ctx, const char *name)
{
        if (!ctx)
                return -EINVAL;
        if (isempty(name)) {
                ctx->fw_backend = 0;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(pn_fw_backends); i++)
                if (streq(pn_fw_backends[i]->name, name)) {
                        ctx->fw_backend = (unsigned)i;
                        return 0;
                }
        return -ENOENT;
}

PODNET_EXPORT const char *podnet_ctx_get_fw_backend(const podnet_ctx *ctx)
{
        return ctx ? pn_fw_backend_of(ctx)->name : NULL;
}

PODNET_EXPORT int podnet_ctx_set_xtables_lock(podnet_ctx *ctx, const char *path)
{
        char *copy = NULL;

        if (!ctx)
                return -EINVAL;
        if (!isempty(path)) {
                copy = strdup(path);
                if (!copy)
                        return -ENOMEM;
        }
        free(ctx->xtables_lock);
        ctx->xtables_lock = copy;
        return 0;
}

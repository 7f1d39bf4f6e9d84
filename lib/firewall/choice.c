/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which firewall backend a node's podnet writes to: a name from a flag or a
 * configuration key ("auto", or a backend's) resolved to a backend with a sentence that
 * says why, and the state file in which podnet-routes records its decision. podnet-cni
 * reads that file (one small read) when its key says "auto", so that both programs
 * write to the same backend and ADD does not pay for a detection; only where no
 * podnet-routes recorded anything does the plugin detect by itself.
 */
#include <fcntl.h>

#include "core/file.h"
#include "firewall/fw.h"

/* Two short lines: the backend's name, the reason. */
#define STATE_MAX 1024

/* 1 and the recorded backend (and, if reason is not NULL, the recorded reason, the
 * caller's), or 0 when the file is absent, unreadable or not one podnet-routes wrote:
 * the caller then decides by itself. */
int pn_fw_state_read(const char *path, const struct pn_fw_backend **ret, char **reason)
{
        _cleanup_close_ int fd = -1;
        char buf[STATE_MAX + 1], *nl, *why;
        ssize_t n;

        if (reason)
                *reason = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return 0;
        do
                n = read(fd, buf, STATE_MAX);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        nl = strchr(buf, '\n');
        if (!nl)
                return 0;
        *nl = 0;
        *ret = pn_fw_backend_by_name(buf);
        if (!*ret)
                return 0;
        why = nl + 1;
        why[strcspn(why, "\n")] = 0;
        if (reason)
                *reason = strdup(why); /* (NULL on out-of-memory: no reason to show) */
        return 1;
}

int pn_fw_state_write(const char *path, const struct pn_fw_backend *b, const char *reason,
                      podnet_error **err)
{
        _cleanup_free_ char *text = NULL, *old_reason = NULL;
        const struct pn_fw_backend *old = NULL;
        int len, r;

        if (pn_fw_state_read(path, &old, &old_reason) > 0 && old == b && old_reason &&
            streq(old_reason, reason))
                return 0;
        len = asprintf(&text, "%s\n%s\n", b->name, reason);
        if (len < 0) {
                text = NULL;
                return pn_error(err, ENOMEM, 0, "Recording the firewall backend in %s", path);
        }
        if (len > STATE_MAX) {
                /* the reason is a sentence of ours: cut it rather than fail */
                text[STATE_MAX - 1] = '\n';
                len = STATE_MAX;
        }
        r = pn_file_write_atomic(path, text, (size_t)len, 0644);
        if (r < 0)
                return pn_error(err, -r, 0, "Recording the firewall backend in %s", path);
        return 1;
}

int pn_fw_state_remove(const char *path, podnet_error **err)
{
        if (unlink(path) == 0)
                return 1;
        if (errno == ENOENT)
                return 0;
        return pn_error(err, errno, 0, "Removing %s", path);
}

int pn_fw_choose(podnet_ctx *ctx, const char *name, const char *state_path,
                 const struct pn_fw_backend **ret, char **reason, podnet_error **err)
{
        _cleanup_free_ char *why = NULL;
        int r;

        *reason = NULL;
        if (!isempty(name) && !streq(name, PN_FW_AUTO)) {
                *ret = pn_fw_backend_by_name(name);
                if (!*ret)
                        return pn_error_plain(err, ENOENT, 0, "Unknown firewall backend \"%s\"",
                                              name);
                *reason = strdup("configured");
                return *reason ? 0 : pn_error(err, ENOMEM, 0, "Choosing the firewall backend");
        }
        if (state_path && pn_fw_state_read(state_path, ret, &why) > 0) {
                r = asprintf(reason, "recorded in %s: %s", state_path, why ? why : "");
        } else {
                r = pn_fw_detect(ctx, ret, &why, err);
                if (r < 0)
                        return r;
                r = asprintf(reason, "detected: %s", why);
        }
        if (r < 0) {
                *reason = NULL;
                return pn_error(err, ENOMEM, 0, "Choosing the firewall backend");
        }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * For tests/netns/fw-nft-detect.sh: prints the firewall backend pn_fw_detect() chooses
 * in this network namespace and why, as "NAME: REASON"; errors to stderr, exit 1.
 */
#include "firewall/backend.h"

int main(void)
{
        _cleanup_error_ podnet_error *err = NULL;
        _cleanup_free_ char *reason = NULL;
        const struct pn_fw_backend *b = NULL;
        podnet_ctx *ctx = NULL;
        int r;

        if (podnet_ctx_new(&ctx) < 0)
                return 1;
        r = pn_fw_detect(ctx, &b, &reason, &err);
        if (r < 0)
                fprintf(stderr, "fw-nft-detect: %s\n",
                        err ? podnet_error_message(err) : strerror(-r));
        else
                printf("%s: %s\n", b->name, reason);
        podnet_ctx_unref(ctx);
        return r < 0;
}

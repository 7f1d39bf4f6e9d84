/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Drives the firewall family for tests/netns/fw.sh: one verb per run, prints the
 * function's return value (or the listing), errors to stderr with errno and CNI code.
 * Linked against the convenience library to reach the lock-timeout knob. Like the
 * tools, it passes XTABLES_LOCKFILE to the library (which reads no environment).
 */
#include <sys/socket.h>

#include "firewall/fw.h"

static int usage(void)
{
        fprintf(stderr, "usage: pn-fw-test [--lock-timeout MS] [--backend NAME] VERB ARGS\n"
                        "  masq-ensure|masq-remove|masq-has NETWORK CIDR\n"
                        "  node-ensure [--no-masq] [--non-masq CIDR]... CLUSTER-CIDR...\n"
                        "  node-teardown | dump | forwarding 4|6\n");
        return 2;
}

/* Takes the error by address: it is read after the call that sets it. */
static int report(int r, podnet_error **errp)
{
        podnet_error *err = *errp;

        if (r < 0) {
                fprintf(stderr, "pn-fw-test: %s (errno %d, code %d)\n",
                        err ? podnet_error_message(err) : strerror(-r),
                        err ? podnet_error_errno(err) : -r, err ? podnet_error_cni_code(err) : 0);
                return 1;
        }
        printf("%d\n", r);
        return 0;
}

static int parse_cidrs(char **argv, int argc, podnet_cidr **out)
{
        for (int i = 0; i < argc; i++)
                if (podnet_cidr_parse(&out[i], argv[i]) < 0) {
                        fprintf(stderr, "pn-fw-test: bad CIDR %s\n", argv[i]);
                        return -1;
                }
        return 0;
}

static int node_ensure(podnet_ctx *ctx, const struct pn_fw_opts *opts, int argc, char **argv)
{
        podnet_cidr *cluster[16] = {0}, *nonmasq[16] = {0};
        char *cl_txt[16], *nm_txt[16];
        int n_cl = 0, n_nm = 0, rc = 1, r;
        bool masq = true;
        _cleanup_error_ podnet_error *err = NULL;

        for (int i = 0; i < argc; i++) {
                if (streq(argv[i], "--no-masq"))
                        masq = false;
                else if (streq(argv[i], "--non-masq") && i + 1 < argc && n_nm < 16)
                        nm_txt[n_nm++] = argv[++i];
                else if (n_cl < 16)
                        cl_txt[n_cl++] = argv[i];
        }
        if (parse_cidrs(cl_txt, n_cl, cluster) == 0 && parse_cidrs(nm_txt, n_nm, nonmasq) == 0) {
                podnet_fw_config cfg = {
                    .size = sizeof(cfg),
                    .cluster_cidrs = (const podnet_cidr *const *)cluster,
                    .n_cluster_cidrs = (size_t)n_cl,
                    .non_masq_cidrs = (const podnet_cidr *const *)nonmasq,
                    .n_non_masq_cidrs = (size_t)n_nm,
                    .masquerade = masq,
                };
                r = pn_fw_node_ensure(ctx, opts, &cfg, &err);
                rc = report(r, &err);
        }
        for (int i = 0; i < 16; i++) {
                podnet_cidr_free(cluster[i]);
                podnet_cidr_free(nonmasq[i]);
        }
        return rc;
}

int main(int argc, char **argv)
{
        struct pn_fw_opts opts = {.lock_timeout_ms = PN_FW_LOCK_TIMEOUT_MS_DEFAULT};
        _cleanup_error_ podnet_error *err = NULL;
        podnet_ctx *ctx = NULL;
        const char *verb;
        int i = 1, rc;

        if (podnet_ctx_new(&ctx) < 0 ||
            podnet_ctx_set_xtables_lock(ctx, secure_getenv("XTABLES_LOCKFILE")) < 0) {
                fprintf(stderr, "pn-fw-test: cannot create a context\n");
                return 1;
        }
        for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2)
                if (streq(argv[i], "--lock-timeout")) {
                        opts.lock_timeout_ms = (unsigned)strtoul(argv[i + 1], NULL, 10);
                } else if (streq(argv[i], "--backend")) {
                        int r = podnet_ctx_set_fw_backend(ctx, argv[i + 1]);
                        if (r < 0) {
                                fprintf(stderr, "pn-fw-test: backend %s: %s\n", argv[i + 1],
                                        strerror(-r));
                                podnet_ctx_unref(ctx);
                                return 1;
                        }
                } else {
                        break;
                }
        if (i >= argc) {
                podnet_ctx_unref(ctx);
                return usage();
        }
        verb = argv[i++];

        if (!strncmp(verb, "masq-", 5) && argc - i == 2) {
                _cleanup_cidr_ podnet_cidr *subnet = NULL;
                enum pn_fw_masq_op op = streq(verb, "masq-ensure")   ? PN_FW_MASQ_ENSURE
                                        : streq(verb, "masq-remove") ? PN_FW_MASQ_REMOVE
                                                                     : PN_FW_MASQ_HAS;
                /* Parse errors go through the library so that they are tested too. */
                (void)podnet_cidr_parse(&subnet, argv[i + 1]);
                int r = pn_fw_masq(ctx, &opts, op, argv[i], subnet, &err);
                rc = report(r, &err);
        } else if (streq(verb, "node-ensure")) {
                rc = node_ensure(ctx, &opts, argc - i, argv + i);
        } else if (streq(verb, "node-teardown")) {
                int r = pn_fw_node_teardown(ctx, &opts, &err);
                rc = report(r, &err);
        } else if (streq(verb, "dump")) {
                _cleanup_free_ char *text = NULL;
                int r = podnet_fw_node_dump(ctx, &text, &err);
                if (r >= 0)
                        fputs(text, stdout);
                rc = r < 0 ? report(r, &err) : 0;
        } else if (streq(verb, "forwarding") && argc - i == 1) {
                int family = streq(argv[i], "6") ? AF_INET6 : streq(argv[i], "4") ? AF_INET : 0;
                int r = podnet_sysctl_enable_forwarding(ctx, family, &err);
                rc = report(r, &err);
        } else {
                rc = usage();
        }
        podnet_ctx_unref(ctx);
        return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One round of the agent's direct-path probe (lib/agent/probe.c, linked from the
 * internal library), for tests/netns/probe.sh and bench/probe-bench.sh:
 *
 *   pn-probe-test [-q] TIMEOUT_MS DEV < TARGETS
 *
 * Each line of TARGETS is "SRC DST NODE" (the pod-CIDR gateway addresses of this node
 * and of a peer, the peer's node address); each target is printed as "DST ok|fail",
 * (not with -q), then "answered K of N in M ms". Exit 0 when the round ran, 1 if not. */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/probe.h"

static int family_of(const char *s, uint8_t *out)
{
        if (inet_pton(AF_INET, s, out) == 1)
                return AF_INET;
        if (inet_pton(AF_INET6, s, out) == 1)
                return AF_INET6;
        return 0;
}

int main(int argc, char **argv)
{
        struct pn_probe_target *t = NULL;
        size_t n = 0, cap = 0, answered = 0;
        char src[64], dst[64], node[64];
        podnet_error *err = NULL;
        struct timespec a, b;
        bool quiet = false;
        unsigned timeout;
        bool *ok;
        int ifindex, r;

        if (argc > 1 && strcmp(argv[1], "-q") == 0) {
                quiet = true;
                argv++;
                argc--;
        }
        if (argc != 3) {
                fprintf(stderr, "usage: pn-probe-test [-q] TIMEOUT_MS DEV < TARGETS\n");
                return 1;
        }
        timeout = (unsigned)strtoul(argv[1], NULL, 10);
        ifindex = (int)if_nametoindex(argv[2]);
        if (ifindex == 0) {
                fprintf(stderr, "pn-probe-test: no device %s\n", argv[2]);
                return 1;
        }
        while (scanf("%63s %63s %63s", src, dst, node) == 3) {
                if (n == cap) {
                        cap = cap ? 2 * cap : 64;
                        t = realloc(t, cap * sizeof(*t));
                        if (!t)
                                return 1;
                }
                memset(&t[n], 0, sizeof(t[n]));
                t[n].family = family_of(src, t[n].src);
                t[n].ifindex = ifindex;
                if (family_of(dst, t[n].dst) != t[n].family || t[n].family == 0 ||
                    (t[n].node_family = family_of(node, t[n].node_addr)) == 0) {
                        fprintf(stderr, "pn-probe-test: bad target %s %s %s\n", src, dst, node);
                        return 1;
                }
                n++;
        }
        ok = calloc(n ? n : 1, sizeof(bool));
        if (!ok)
                return 1;
        clock_gettime(CLOCK_MONOTONIC, &a);
        r = pn_probe_direct(t, n, timeout, ok, &err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (r < 0) {
                fprintf(stderr, "pn-probe-test: %s\n",
                        err ? podnet_error_message(err) : strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                answered += ok[i];
                if (!quiet) {
                        inet_ntop(t[i].family, t[i].dst, dst, sizeof(dst));
                        printf("%s %s\n", dst, ok[i] ? "ok" : "fail");
                }
        }
        printf("answered %zu of %zu in %.1f ms\n", answered, n,
               (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
        free(ok);
        free(t);
        return 0;
}

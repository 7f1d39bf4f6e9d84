/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pod CIDR allocation with kube-controller-manager's semantics: existing assignments kept,
 * no overlap, name order, lowest free first, exhaustion changes nothing, dual-stack. */
#include <sys/socket.h>

#include "core/internal.h"
#include "agent/routes.h"
#include "tap.h"

static char buf[PODNET_CIDR_STRLEN];

static const char *cidr_of(const podnet_nodes *nodes, const char *name, size_t j)
{
        int i = podnet_nodes_find(nodes, name);
        const podnet_cidr *c = i < 0 ? NULL : podnet_nodes_pod_cidr(nodes, (size_t)i, j);

        if (!c)
                return "(none)";
        podnet_cidr_format(c, buf, sizeof(buf));
        return buf;
}

static podnet_nodes *parse(const char *text)
{
        podnet_nodes *nodes = NULL;

        if (podnet_nodes_parse(&nodes, text, strlen(text), NULL) < 0)
                return NULL;
        return nodes;
}

static int alloc(podnet_nodes *nodes, const char *c1, unsigned m1, const char *c2, unsigned m2,
                 podnet_error **err)
{
        _cleanup_cidr_ podnet_cidr *a = NULL, *b = NULL;
        unsigned masks[2] = {m1, m2};

        if (podnet_cidr_parse(&a, c1) < 0 || (c2 && podnet_cidr_parse(&b, c2) < 0))
                return -999;
        const podnet_cidr *v[2] = {a, b};
        return podnet_nodes_allocate(nodes, v, masks, c2 ? 2 : 1, err);
}

static void test_basic(void)
{
        /* input order is not name order; n2 already has 10.1.0.0/24 */
        _cleanup_nodes_ podnet_nodes *nodes = parse("n3 - 192.168.1.13\n"
                                                    "n2 10.1.0.0/24 192.168.1.12\n"
                                                    "n1 - 192.168.1.11\n"
                                                    "n4 10.1.2.0/23 192.168.1.14\n"
                                                    "n5 - -\n");

        if (!ok(nodes, "node file parses"))
                return;
        is_int(alloc(nodes, "10.1.0.0/16", 24, NULL, 0, NULL), 3, "three nodes allocated");
        is_str(cidr_of(nodes, "n2", 0), "10.1.0.0/24", "existing assignment kept");
        is_str(cidr_of(nodes, "n4", 0), "10.1.2.0/23", "existing /23 kept");
        is_str(cidr_of(nodes, "n1", 0), "10.1.1.0/24", "n1 (first by name) gets the lowest free");
        is_str(cidr_of(nodes, "n3", 0), "10.1.4.0/24", "n3 skips the /23 of n4");
        is_str(cidr_of(nodes, "n5", 0), "10.1.5.0/24", "n5 next");
        is_int(alloc(nodes, "10.1.0.0/16", 24, NULL, 0, NULL), 0, "second run allocates nothing");
        is_str(cidr_of(nodes, "n1", 0), "10.1.1.0/24", "n1 unchanged by the second run");
}

static void test_deterministic(void)
{
        _cleanup_nodes_ podnet_nodes *a = parse("b - -\na - -\nc - -\n");
        _cleanup_nodes_ podnet_nodes *b = parse("c - -\nb - -\na - -\n");
        char x[PODNET_CIDR_STRLEN];

        alloc(a, "10.2.0.0/16", 24, NULL, 0, NULL);
        alloc(b, "10.2.0.0/16", 24, NULL, 0, NULL);
        for (const char *const *n = (const char *const[]){"a", "b", "c", NULL}; *n; n++) {
                snprintf(x, sizeof(x), "%s", cidr_of(a, *n, 0));
                is_str(cidr_of(b, *n, 0), x, "node %s gets the same CIDR whatever the order", *n);
        }
        is_str(cidr_of(a, "c", 0), "10.2.2.0/24", "c third");
}

static void test_exhausted(void)
{
        _cleanup_nodes_ podnet_nodes *nodes = parse("a 10.3.0.0/25 -\nb - -\nc - -\nd - -\n");
        _cleanup_error_ podnet_error *err = NULL;

        /* /24 in /25 steps: two subnets, one taken, three nodes need one */
        is_int(alloc(nodes, "10.3.0.0/24", 25, NULL, 0, &err), -ENOSPC, "exhaustion: -ENOSPC");
        is_str(err ? podnet_error_message(err) : NULL, "Cluster CIDR 10.3.0.0/24 is exhausted",
               "exhaustion message");
        is_int(podnet_nodes_n_pod_cidrs(nodes, 1), 0, "b not changed");
        is_int(podnet_nodes_n_pod_cidrs(nodes, 2), 0, "c not changed");
        is_int(podnet_nodes_n_pod_cidrs(nodes, 3), 0, "d not changed");
        is_str(cidr_of(nodes, "a", 0), "10.3.0.0/25", "a still has its CIDR");

        _cleanup_nodes_ podnet_nodes *two = parse("a - -\nb - -\n");
        is_int(alloc(two, "10.3.0.0/24", 25, NULL, 0, NULL), 2, "exactly enough: both allocated");
        is_str(cidr_of(two, "b", 0), "10.3.0.128/25", "b gets the last subnet");

        /* A whole-space cluster CIDR cut into one subnet (mask 0) while a node holds part
         * of it: the subnet size does not fit the arithmetic's width, which once divided
         * by zero here. */
        _cleanup_nodes_ podnet_nodes *v6 = parse("a fd00::/64 -\nb - -\n");
        _cleanup_error_ podnet_error *err6 = NULL;
        is_int(alloc(v6, "::/0", 0, NULL, 0, &err6), -ENOSPC,
               "::/0 into /0 with one taken: -ENOSPC");
        is_str(err6 ? podnet_error_message(err6) : NULL, "Cluster CIDR ::/0 is exhausted",
               "::/0 exhaustion message");
        is_int(podnet_nodes_n_pod_cidrs(v6, 1), 0, "b not changed");
}

static void test_dualstack(void)
{
        _cleanup_nodes_ podnet_nodes *nodes =
            parse("node-a 10.244.0.0/24,fd00:10:244::/64 -\nnode-c - -\nnode-b - -\n");
        _cleanup_nodes_ podnet_nodes *bad = parse("x - -\n");
        _cleanup_error_ podnet_error *err = NULL;

        is_int(alloc(nodes, "10.244.0.0/16", 24, "fd00:10:244::/56", 64, NULL), 2,
               "dual-stack: two nodes allocated");
        is_int(podnet_nodes_n_pod_cidrs(nodes, 2), 2, "node-b got two CIDRs");
        is_str(cidr_of(nodes, "node-b", 0), "10.244.1.0/24", "node-b IPv4");
        is_str(cidr_of(nodes, "node-b", 1), "fd00:10:244:1::/64", "node-b IPv6");
        is_str(cidr_of(nodes, "node-c", 0), "10.244.2.0/24", "node-c IPv4");
        is_str(cidr_of(nodes, "node-c", 1), "fd00:10:244:2::/64", "node-c IPv6");

        is_int(alloc(bad, "10.0.0.0/16", 24, "10.1.0.0/16", 24, &err), -EINVAL,
               "two IPv4 cluster CIDRs refused");
        podnet_error_free(err);
        err = NULL;
        is_int(alloc(bad, "10.0.0.0/16", 8, NULL, 0, &err), -EINVAL,
               "mask shorter than the cluster prefix refused");
        is_int(podnet_nodes_n_pod_cidrs(bad, 0), 0, "nothing changed on refusal");
}

static void test_large(void)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        _cleanup_nodes_ podnet_nodes *nodes = NULL;

        /* every other /24 taken: allocation must interleave */
        for (int i = 0; i < 100; i++)
                fprintf(f, "t%03d 10.4.%d.0/24 -\nf%03d - -\n", i, 2 * i, i);
        fclose(f);
        nodes = parse(text);
        if (!ok(nodes, "200-node file parses"))
                return;
        is_int(alloc(nodes, "10.4.0.0/16", 24, NULL, 0, NULL), 100, "100 allocated");
        is_str(cidr_of(nodes, "f000", 0), "10.4.1.0/24", "f000 in the first gap");
        is_str(cidr_of(nodes, "f099", 0), "10.4.199.0/24", "f099 in the last gap");
        /* no two nodes overlap */
        size_t clashes = 0;
        for (size_t i = 0; i < podnet_nodes_count(nodes); i++)
                for (size_t j = i + 1; j < podnet_nodes_count(nodes); j++)
                        if (podnet_cidr_overlaps(podnet_nodes_pod_cidr(nodes, i, 0),
                                                 podnet_nodes_pod_cidr(nodes, j, 0)) > 0)
                                clashes++;
        is_int(clashes, 0, "no overlapping pod CIDRs");
}

int main(void)
{
        test_basic();
        test_deterministic();
        test_exhausted();
        test_dualstack();
        test_large();
        return done_testing();
}

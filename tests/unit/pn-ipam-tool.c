/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test helper: one IPAM operation from the command line, for the interoperability test
 * with the reference host-local plugin. Public API only.
 *   pn-ipam-tool alloc|release|lookup DATADIR NETWORK SUBNET ID IFNAME */
#include <stdio.h>
#include <string.h>

#include <podnet/podnet.h>

static int fail(const char *what, podnet_error *err, int r)
{
        fprintf(stderr, "pn-ipam-tool: %s: %s (%d)\n", what,
                err ? podnet_error_message(err) : "failed", r);
        podnet_error_free(err);
        return 1;
}

int main(int argc, char **argv)
{
        podnet_ipam *ipam = NULL;
        podnet_cidr *subnet = NULL, *addr = NULL, **list = NULL;
        podnet_error *err = NULL;
        char buf[PODNET_CIDR_STRLEN];
        int r, rc = 0;

        if (argc != 7) {
                fprintf(stderr, "usage: pn-ipam-tool alloc|release|lookup DATADIR NETWORK "
                                "SUBNET ID IFNAME\n");
                return 2;
        }
        r = podnet_ipam_open(NULL, &ipam, argv[2], argv[3], &err);
        if (r < 0)
                return fail("open", err, r);
        r = podnet_cidr_parse(&subnet, argv[4]);
        if (r < 0)
                return fail("subnet", NULL, r);
        r = podnet_ipam_add_range(ipam, 0, subnet, NULL, NULL, NULL, &err);
        if (r < 0)
                return fail("range", err, r);

        if (strcmp(argv[1], "alloc") == 0) {
                r = podnet_ipam_allocate(ipam, 0, argv[5], argv[6], NULL, &addr, NULL, &err);
                if (r < 0)
                        return fail("alloc", err, r);
                podnet_cidr_format(addr, buf, sizeof(buf));
                printf("%s\n", buf);
        } else if (strcmp(argv[1], "release") == 0) {
                r = podnet_ipam_release(ipam, argv[5], argv[6], &err);
                if (r < 0)
                        return fail("release", err, r);
                printf("%d\n", r);
        } else if (strcmp(argv[1], "lookup") == 0) {
                r = podnet_ipam_lookup(ipam, argv[5], argv[6], &list, &err);
                if (r < 0)
                        return fail("lookup", err, r);
                for (int i = 0; list[i]; i++) {
                        podnet_cidr_format(list[i], buf, sizeof(buf));
                        printf("%s\n", buf);
                }
                podnet_cidr_array_free(list);
        } else {
                fprintf(stderr, "pn-ipam-tool: unknown operation %s\n", argv[1]);
                rc = 2;
        }
        podnet_cidr_free(addr);
        podnet_cidr_free(subnet);
        podnet_ipam_unref(ipam);
        return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * podnet_veth_host_name(): "pn" + 12 hex digits of FNV-1a-64("<container id>/<ifname>"),
 * checked against values computed outside the library and a separate implementation.
 */
#include <inttypes.h>
#include <stdint.h>

#include "internal.h"
#include "tap.h"

/* Written apart from the library's: hash the joined string byte by byte. */
static void expected(const char *id, const char *ifname, char out[16])
{
        char joined[256];
        uint64_t h = 14695981039346656037ULL;

        snprintf(joined, sizeof(joined), "%s/%s", id, ifname);
        for (size_t i = 0; joined[i]; i++)
                h = (h ^ (uint8_t)joined[i]) * 1099511628211ULL;
        snprintf(out, 16, "pn%04" PRIx64 "%08" PRIx64, (h >> 32) & 0xffff, h & 0xffffffff);
}

int main(void)
{
        static const struct {
                const char *id, *ifname, *name; /* name: computed with Python's FNV-1a */
        } known[] = {
            {"abc", "eth0", "pn69de51a688dd"},
            {"abc", "eth1", "pn68de51a6872a"},
            {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "eth0",
             "pn1a1f6725f34f"},
            {"c1", "net1", "pneed53f7a1e9c"},
        };
        char a[16], b[16], want[16];

        for (size_t i = 0; i < ELEMENTSOF(known); i++) {
                memset(a, 'x', sizeof(a));
                is_int(podnet_veth_host_name(known[i].id, known[i].ifname, a), 0, "name for %s/%s",
                       known[i].id, known[i].ifname);
                is_str(a, known[i].name, "known value for %s/%s", known[i].id, known[i].ifname);
                expected(known[i].id, known[i].ifname, want);
                is_str(a, want, "matches the independent FNV-1a for %s/%s", known[i].id,
                       known[i].ifname);
                is_int(strlen(a), 14, "14 characters");
        }

        podnet_veth_host_name("container-1", "eth0", a);
        podnet_veth_host_name("container-1", "eth0", b);
        is_str(a, b, "deterministic");
        podnet_veth_host_name("container-1", "eth1", b);
        ok(strcmp(a, b) != 0, "another ifname gives another name (%s, %s)", a, b);
        podnet_veth_host_name("container-2", "eth0", b);
        ok(strcmp(a, b) != 0, "another container gives another name (%s, %s)", a, b);
        /* The separator matters: ("ab", "c/d") and ("ab/c", "d") differ only in where
         * the caller split, but "a" + "/" + "bc" must not equal "ab" + "/" + "c". */
        podnet_veth_host_name("a", "bc", a);
        podnet_veth_host_name("ab", "c", b);
        ok(strcmp(a, b) != 0, "split point matters");

        ok(strncmp(a, "pn", 2) == 0, "starts with pn");
        ok(strspn(a + 2, "0123456789abcdef") == 12, "lowercase hex after the prefix");

        is_int(podnet_veth_host_name(NULL, "eth0", a), -EINVAL, "NULL container id");
        is_int(podnet_veth_host_name("", "eth0", a), -EINVAL, "empty container id");
        is_int(podnet_veth_host_name("c", NULL, a), -EINVAL, "NULL ifname");
        is_int(podnet_veth_host_name("c", "", a), -EINVAL, "empty ifname");
        is_int(podnet_veth_host_name("c", "eth0", NULL), -EINVAL, "NULL buffer");
        return done_testing();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * podnet_veth_host_name(): "pn" + 12 hex digits of FNV-1a-64("<container id>/<ifname>"),
 * checked against values computed outside the library and a separate implementation; and
 * the argument checks of the link/addr/route calls that fail before any netlink traffic.
 */
#include <inttypes.h>
#include <stdint.h>

#include "core/internal.h"
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
        {
                podnet_ctx *ctx = NULL;
                podnet_error *err = NULL;
                podnet_cidr *c = NULL;
                podnet_link_info li = {.size = sizeof(li) - 1};
                podnet_bridge_config bc = {.size = 0, .name = "cbr0"};
                podnet_veth_config vc = {
                    .size = sizeof(vc) - 1, .container_id = "c", .ifname = "eth0"};
                podnet_route_config rc = {.size = 4};

                ok(podnet_ctx_new(&ctx) == 0, "context");
                ok(podnet_cidr_parse(&c, "10.1.1.2/24") == 0, "cidr");
                is_int(podnet_link_get(ctx, NULL, "lo", &li, NULL), -EINVAL,
                       "link_get: info.size too small");
                is_int(podnet_bridge_ensure(ctx, NULL, &bc, NULL), -EINVAL,
                       "bridge_ensure: size 0");
                is_int(podnet_bridge_ensure(ctx, NULL, NULL, NULL), -EINVAL,
                       "bridge_ensure: no config");
                is_int(podnet_veth_create(ctx, &vc, NULL, NULL), -EINVAL,
                       "veth_create: size too small");
                vc.size = sizeof(vc);
                is_int(podnet_veth_create(ctx, &vc, NULL, &err), -EINVAL,
                       "veth_create: no pod namespace");
                ok(err && strstr(podnet_error_message(err), "no pod namespace"),
                   "  ... says so: %s", err ? podnet_error_message(err) : "(none)");
                err = podnet_error_free(err);
                is_int(podnet_route_add(ctx, NULL, &rc, NULL), -EINVAL, "route_add: size 4");
                is_int(podnet_addr_add(ctx, NULL, "lo", c, 1u << 7, &err), -EINVAL,
                       "addr_add: unknown flag");
                ok(err && strstr(podnet_error_message(err), "unknown flags 0x80"),
                   "  ... says so: %s", err ? podnet_error_message(err) : "(none)");
                err = podnet_error_free(err);
                is_int(podnet_addr_add(ctx, NULL, "a/b", c, 0, NULL), -EINVAL,
                       "addr_add: '/' in ifname");
                is_int(podnet_link_set_up(ctx, NULL, "0123456789abcdef", NULL), -EINVAL,
                       "link_set_up: 16-byte ifname");
                is_int(podnet_link_get(ctx, NULL, "br%d", &(podnet_link_info){.size = sizeof(li)},
                                       NULL),
                       -EINVAL, "link_get: '%%' (a kernel name template) in ifname");
                is_int(podnet_veth_delete(ctx, "c", "..", NULL), -EINVAL, "veth_delete: '..'");
                is_int(podnet_default_route_mtu(ctx, 12345, NULL), -EINVAL,
                       "default_route_mtu: bad family");
                is_int(podnet_netns_run(NULL, NULL, NULL), -EINVAL, "netns_run: NULL");
                is_int(podnet_netns_fd(NULL), -EINVAL, "netns_fd: NULL");
                ok(podnet_netns_unref(NULL) == NULL, "netns_unref(NULL)");
                podnet_cidr_free(c);
                podnet_ctx_unref(ctx);
        }
        return done_testing();
}

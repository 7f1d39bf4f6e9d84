/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CIDR parsing, formatting and arithmetic at the edges of both families. */
#include <arpa/inet.h>

#include "core/cidr.h"
#include "core/internal.h"
#include "tap.h"

static char out[PODNET_CIDR_STRLEN];

/* Parses and formats back; NULL when parsing fails. */
static const char *roundtrip(const char *text)
{
        _cleanup_cidr_ podnet_cidr *c = NULL;

        if (podnet_cidr_parse(&c, text) < 0)
                return NULL;
        if (podnet_cidr_format(c, out, sizeof(out)) < 0)
                return NULL;
        return out;
}

/* Applies op to the parsed text and formats the result; "ERANGE"/"EINVAL" on those. */
typedef int (*unary_fn)(podnet_cidr **ret, const podnet_cidr *c);
static const char *apply(unary_fn op, const char *text)
{
        _cleanup_cidr_ podnet_cidr *c = NULL, *r = NULL;
        int k;

        if (podnet_cidr_parse(&c, text) < 0)
                return "parse failed";
        k = op(&r, c);
        if (k == -ERANGE)
                return "ERANGE";
        if (k < 0)
                return "error";
        podnet_cidr_format(r, out, sizeof(out));
        return out;
}

static const char *nth(const char *text, uint64_t n)
{
        _cleanup_cidr_ podnet_cidr *c = NULL, *r = NULL;
        int k;

        if (podnet_cidr_parse(&c, text) < 0)
                return "parse failed";
        k = podnet_cidr_nth(&r, c, n);
        if (k == -ERANGE)
                return "ERANGE";
        if (k < 0)
                return "error";
        podnet_cidr_format(r, out, sizeof(out));
        return out;
}

static const char *subnet(const char *text, unsigned plen, uint64_t index)
{
        _cleanup_cidr_ podnet_cidr *c = NULL, *r = NULL;
        int k;

        if (podnet_cidr_parse(&c, text) < 0)
                return "parse failed";
        k = podnet_cidr_subnet(&r, c, plen, index);
        if (k == -ERANGE)
                return "ERANGE";
        if (k < 0)
                return "EINVAL";
        podnet_cidr_format(r, out, sizeof(out));
        return out;
}

static int pred(int (*fn)(const podnet_cidr *, const podnet_cidr *), const char *a, const char *b)
{
        _cleanup_cidr_ podnet_cidr *x = NULL, *y = NULL;

        if (podnet_cidr_parse(&x, a) < 0 || podnet_cidr_parse(&y, b) < 0)
                return -100;
        return fn(x, y);
}

/* Our IPv6 text agrees with inet_ntop() (and Go) on this address. */
static int same_as_inet_ntop(const char *text)
{
        char want[INET6_ADDRSTRLEN];
        podnet_cidr c;

        if (pn_cidr_parse_into(&c, text) < 0)
                return 0;
        inet_ntop(AF_INET6, c.addr.b, want, sizeof(want));
        podnet_cidr_format_addr(&c, out, sizeof(out));
        if (strcmp(want, out) != 0)
                diag("%s: inet_ntop '%s', ours '%s'", text, want, out);
        return strcmp(want, out) == 0;
}

/* Formats `n` pseudo-random addresses of family (IPv6 words zero half the time, so that
 * runs of every length and place occur) and counts those whose text differs from
 * inet_ntop()'s. IPv4-compatible addresses (::a.b.c.d) are left out: ours are printed in
 * hex, as Go prints them. */
static unsigned differ_from_inet_ntop(int family, unsigned n)
{
        uint32_t x = 2463534242u;
        unsigned bad = 0;

        for (unsigned k = 0; k < n; k++) {
                char want[INET6_ADDRSTRLEN];
                uint8_t b[16] = {0};
                podnet_cidr c;
                bool compat = true;

                for (unsigned i = 0; i < (family == AF_INET ? 4u : 16u); i += 2) {
                        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                        if (family == AF_INET6 && (x & 1))
                                continue; /* a zero word */
                        b[i] = (uint8_t)(x >> 8);
                        b[i + 1] = (uint8_t)(x >> 16);
                        if (family == AF_INET6 && (x >> 24) % 5 == 0)
                                b[i] = 0; /* short words too */
                }
                for (unsigned i = 0; i < 12; i++)
                        compat = compat && b[i] == 0;
                if (family == AF_INET6 && compat)
                        continue;
                if (pn_cidr_init(&c, family, b, family == AF_INET ? 32 : 128) < 0)
                        return n;
                inet_ntop(family, b, want, sizeof(want));
                podnet_cidr_format_addr(&c, out, sizeof(out));
                if (strcmp(want, out) != 0 && bad++ < 3)
                        diag("inet_ntop '%s', ours '%s'", want, out);
        }
        return bad;
}

int main(void)
{
        static const char *const rejects[] = {
            "",
            "/",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/0024",
            " 10.0.0.0/8",
            "10.0.0.0/8 ",
            "10.0.0.0 /8",
            "10.0.0.0/ 8",
            "10.0.0/8",
            "10.0.0.256",
            "10.0.0.01",
            "junk",
            "::/129",
            "fe80::1%eth0",
            "1:2:3:4:5:6:7:8:9",
            "10.0.0.0/8/8",
            "10.0.0.0/8x",
            "0x0a.0.0.0",
            ":::/64",
        };
        _cleanup_cidr_ podnet_cidr *c = NULL, *d = NULL;
        uint8_t v4[4] = {10, 1, 2, 3}, v6[16] = {0xfd, 0, [15] = 5};
        uint64_t count = 0;

        /* Round trips */
        is_str(roundtrip("10.1.2.3/24"), "10.1.2.3/24", "IPv4 keeps host bits");
        is_str(roundtrip("10.1.2.3"), "10.1.2.3/32", "bare IPv4 gets /32");
        is_str(roundtrip("0.0.0.0/0"), "0.0.0.0/0", "IPv4 default");
        is_str(roundtrip("255.255.255.255/32"), "255.255.255.255/32", "IPv4 all ones");
        is_str(roundtrip("10.0.0.0/008"), "10.0.0.0/8", "prefix with leading zeros (Go accepts)");
        is_str(roundtrip("fd00::5/64"), "fd00::5/64", "IPv6");
        is_str(roundtrip("fd00::5"), "fd00::5/128", "bare IPv6 gets /128");
        is_str(roundtrip("FD00:0:0:0:0:0:0:5/64"), "fd00::5/64", "IPv6 compressed, lower case");
        is_str(roundtrip("::/0"), "::/0", "IPv6 default");
        is_str(roundtrip("::1"), "::1/128", "loopback");
        is_str(roundtrip("2001:db8:0:0:1:0:0:1/64"), "2001:db8::1:0:0:1/64",
               "leftmost longest zero run compressed");
        is_str(roundtrip("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1/128",
               "a single zero word is not compressed");
        is_str(roundtrip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"),
               "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "IPv6 all ones");
        is_str(roundtrip("::ffff:10.1.2.3/128"), "::ffff:10.1.2.3/128", "IPv4-mapped");
        is_str(roundtrip("::a01:203"), "::a01:203/128", "IPv4-compatible printed in hex like Go");
        ok(same_as_inet_ntop("2001:db8::1:0:0:1"), "agrees with inet_ntop: mixed runs");
        ok(same_as_inet_ntop("fd00:1:0:0:2::"), "agrees with inet_ntop: trailing run");
        ok(same_as_inet_ntop("1:0:0:2:0:0:0:3"), "agrees with inet_ntop: longer second run");
        ok(same_as_inet_ntop("fe80::"), "agrees with inet_ntop: fe80::");
        ok(differ_from_inet_ntop(AF_INET, 20000) == 0, "20000 random IPv4 addresses: as inet_ntop");
        ok(differ_from_inet_ntop(AF_INET6, 20000) == 0,
           "20000 random IPv6 addresses with zero runs: as inet_ntop");

        for (size_t i = 0; i < ELEMENTSOF(rejects); i++) {
                podnet_cidr *x = NULL;
                is_int(podnet_cidr_parse(&x, rejects[i]), -EINVAL, "rejects '%s'", rejects[i]);
                ok(x == NULL, "nothing returned for '%s'", rejects[i]);
        }
        is_int(podnet_cidr_parse(&c, NULL), -EINVAL, "NULL text");
        is_int(podnet_cidr_parse(NULL, "10.0.0.0/8"), -EINVAL, "NULL ret");

        /* Constructors and accessors */
        is_int(podnet_cidr_new(&c, AF_INET, v4, 33), -EINVAL, "new: prefix too long for IPv4");
        is_int(podnet_cidr_new(&c, AF_UNIX, v4, 8), -EINVAL, "new: bad family");
        is_int(podnet_cidr_new(&c, AF_INET, NULL, 8), -EINVAL, "new: NULL address");
        is_int(podnet_cidr_new(&c, AF_INET, v4, 24), 0, "new: IPv4");
        is_int(podnet_cidr_family(c), AF_INET, "family");
        is_int(podnet_cidr_prefixlen(c), 24, "prefixlen");
        ok(memcmp(podnet_cidr_addr(c), v4, 4) == 0, "addr bytes");
        is_int(podnet_cidr_format(c, out, sizeof(out)), 11, "format returns the length");
        is_str(out, "10.1.2.3/24", "format");
        is_int(podnet_cidr_format(c, out, 11), -ENOSPC, "format: no room for the NUL");
        is_int(podnet_cidr_format_addr(c, out, sizeof(out)), 8, "format_addr length");
        is_str(out, "10.1.2.3", "format_addr");
        is_int(podnet_cidr_format_addr(c, out, 4), -ENOSPC, "format_addr: too small");
        is_int(podnet_cidr_dup(&d, c), 0, "dup");
        is_int(podnet_cidr_compare(c, d), 0, "dup compares equal");
        c = podnet_cidr_free(c);
        d = podnet_cidr_free(d);
        is_int(podnet_cidr_new(&c, AF_INET6, v6, 64), 0, "new: IPv6");
        podnet_cidr_format(c, out, sizeof(out));
        is_str(out, "fd00::5/64", "IPv6 from bytes");
        c = podnet_cidr_free(c);
        ok(podnet_cidr_free(NULL) == NULL, "free accepts NULL");
        is_int(podnet_cidr_family(NULL), -EINVAL, "family(NULL)");
        ok(podnet_cidr_addr(NULL) == NULL, "addr(NULL)");
        is_int(podnet_cidr_format(NULL, out, sizeof(out)), -EINVAL, "format(NULL)");
        is_int(podnet_cidr_network(&c, NULL), -EINVAL, "network(NULL)");
        ok(podnet_cidr_array_free(NULL) == NULL, "array_free(NULL)");

        /* network / last */
        is_str(apply(podnet_cidr_network, "10.1.2.3/24"), "10.1.2.0/24", "network");
        is_str(apply(podnet_cidr_last, "10.1.2.3/24"), "10.1.2.255/24", "last (broadcast)");
        is_str(apply(podnet_cidr_network, "0.0.0.0/0"), "0.0.0.0/0", "network of /0");
        is_str(apply(podnet_cidr_last, "1.2.3.4/0"), "255.255.255.255/0", "last of IPv4 /0");
        is_str(apply(podnet_cidr_network, "fd00::1:2:3/64"), "fd00::/64", "IPv6 network");
        is_str(apply(podnet_cidr_last, "fd00::/64"), "fd00::ffff:ffff:ffff:ffff/64", "IPv6 last");
        is_str(apply(podnet_cidr_last, "::/0"), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0",
               "last of ::/0");
        is_str(apply(podnet_cidr_network, "fd00::ffff/121"), "fd00::ff80/121", "IPv6 odd prefix");

        /* contains / overlaps / compare */
        is_int(pred(podnet_cidr_contains, "10.1.0.0/16", "10.1.5.0/24"), 1, "contains subnet");
        is_int(pred(podnet_cidr_contains, "10.1.0.0/16", "10.1.255.255"), 1, "contains address");
        is_int(pred(podnet_cidr_contains, "10.1.0.0/16", "10.2.0.0/24"), 0, "outside");
        is_int(pred(podnet_cidr_contains, "10.1.5.0/24", "10.1.0.0/16"), 0,
               "a bigger network is not inside");
        is_int(pred(podnet_cidr_contains, "0.0.0.0/0", "255.255.255.255"), 1, "/0 holds all");
        is_int(pred(podnet_cidr_contains, "::/0", "10.0.0.1"), 0, "families differ");
        is_int(pred(podnet_cidr_contains, "fd00::/48", "fd00:0:0:ffff::1"), 1, "IPv6 contains");
        is_int(pred(podnet_cidr_contains, "fd00::/48", "fd00:0:1::1"), 0, "IPv6 outside");
        is_int(podnet_cidr_contains(NULL, NULL), 0, "contains(NULL) is false");
        is_int(pred(podnet_cidr_overlaps, "10.1.0.0/16", "10.0.0.0/8"), 1, "overlap (b bigger)");
        is_int(pred(podnet_cidr_overlaps, "10.0.0.0/8", "10.1.2.0/24"), 1, "overlap (a bigger)");
        is_int(pred(podnet_cidr_overlaps, "10.1.0.0/24", "10.1.1.0/24"), 0, "adjacent");
        is_int(pred(podnet_cidr_overlaps, "fd00::/64", "fd00::/64"), 1, "IPv6 same");
        is_int(pred(podnet_cidr_overlaps, "fd00::/64", "10.0.0.0/8"), 0, "families differ");
        ok(pred(podnet_cidr_compare, "10.0.0.1", "10.0.0.2") < 0, "compare by address");
        ok(pred(podnet_cidr_compare, "10.0.0.1/8", "10.0.0.1/24") < 0, "then by prefix");
        ok(pred(podnet_cidr_compare, "255.0.0.0", "::") < 0, "IPv4 before IPv6");
        ok(pred(podnet_cidr_compare, "fd00::2", "fd00::1") > 0, "IPv6 by address");
        is_int(pred(podnet_cidr_compare, "fd00::1/64", "fd00::1/64"), 0, "equal");

        /* nth / next / prev at the edges */
        is_str(nth("10.1.2.3/24", 0), "10.1.2.0/24", "nth 0 is the network address");
        is_str(nth("10.1.2.3/24", 255), "10.1.2.255/24", "nth 255");
        is_str(nth("10.1.2.3/24", 256), "ERANGE", "nth past the network");
        is_str(nth("0.0.0.0/0", UINT32_MAX), "255.255.255.255/0", "nth last of IPv4 /0");
        is_str(nth("0.0.0.0/0", (uint64_t)UINT32_MAX + 1), "ERANGE", "nth past IPv4 /0");
        is_str(nth("::/0", UINT64_MAX), "::ffff:ffff:ffff:ffff/0", "nth UINT64_MAX in ::/0");
        is_str(nth("fd00::/120", 256), "ERANGE", "nth past IPv6 /120");
        is_str(nth("fd00::/64", 10), "fd00::a/64", "nth IPv6");
        is_str(apply(podnet_cidr_next, "10.1.2.254/24"), "10.1.2.255/24", "next");
        is_str(apply(podnet_cidr_next, "10.1.2.255/24"), "ERANGE", "next past the network");
        is_str(apply(podnet_cidr_next, "255.255.255.255"), "ERANGE", "next past 255.255.255.255");
        is_str(apply(podnet_cidr_next, "255.255.255.254/0"), "255.255.255.255/0", "next to top");
        is_str(apply(podnet_cidr_next, "255.255.255.255/0"), "ERANGE", "next past /0");
        is_str(apply(podnet_cidr_next, "10.0.0.255/16"), "10.0.1.0/16", "next carries");
        is_str(apply(podnet_cidr_prev, "10.0.1.0/16"), "10.0.0.255/16", "prev borrows");
        is_str(apply(podnet_cidr_prev, "10.1.2.0/24"), "ERANGE", "prev before the network");
        is_str(apply(podnet_cidr_prev, "0.0.0.0/0"), "ERANGE", "prev before 0.0.0.0");
        is_str(apply(podnet_cidr_prev, "::/0"), "ERANGE", "prev before ::");
        is_str(apply(podnet_cidr_next, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0"), "ERANGE",
               "next past the last IPv6 address");
        is_str(apply(podnet_cidr_next, "fd00::ffff:ffff:ffff:ffff/48"), "fd00:0:0:1::/48",
               "IPv6 next carries into the high half");
        is_str(apply(podnet_cidr_prev, "fd00:0:0:1::/48"), "fd00::ffff:ffff:ffff:ffff/48",
               "IPv6 prev borrows from the high half");

        /* subnets */
        is_int(podnet_cidr_parse(&c, "10.1.0.0/16"), 0, "parse 10.1.0.0/16");
        is_int(podnet_cidr_subnet_count(c, 24, &count), 0, "subnet_count /16 into /24");
        is_int(count, 256, "256 /24s");
        is_int(podnet_cidr_subnet_count(c, 16, &count), 0, "subnet_count into itself");
        is_int(count, 1, "one");
        is_int(podnet_cidr_subnet_count(c, 8, &count), -EINVAL, "shorter prefix");
        is_int(podnet_cidr_subnet_count(c, 33, &count), -EINVAL, "prefix too long");
        c = podnet_cidr_free(c);
        is_str(subnet("10.1.0.0/16", 24, 5), "10.1.5.0/24", "index 5 is 10.1.5.0/24");
        is_str(subnet("10.1.77.9/16", 24, 0), "10.1.0.0/24", "host bits cleared");
        is_str(subnet("10.1.0.0/16", 24, 255), "10.1.255.0/24", "last /24");
        is_str(subnet("10.1.0.0/16", 24, 256), "ERANGE", "past the last /24");
        is_str(subnet("10.1.0.0/16", 8, 0), "EINVAL", "subnet shorter than network");
        is_str(subnet("0.0.0.0/0", 32, UINT32_MAX), "255.255.255.255/32", "last /32 of /0");
        is_int(podnet_cidr_parse(&c, "fd00::/48"), 0, "parse fd00::/48");
        is_int(podnet_cidr_subnet_count(c, 64, &count), 0, "fd00::/48 into /64");
        is_int(count, 65536, "65536 /64s");
        is_int(podnet_cidr_subnet_count(c, 112, &count), -ERANGE, "/48 into /112 overflows");
        c = podnet_cidr_free(c);
        is_int(podnet_cidr_parse(&c, "::/0"), 0, "parse ::/0");
        is_int(podnet_cidr_subnet_count(c, 128, &count), -ERANGE, "::/0 into /128 overflows");
        is_int(podnet_cidr_subnet_count(c, 63, &count), 0, "::/0 into /63 fits");
        ok(count == UINT64_C(1) << 63, "2^63");
        c = podnet_cidr_free(c);
        is_str(subnet("fd00::/48", 64, 0x1234), "fd00:0:0:1234::/64", "IPv6 subnet");
        is_str(subnet("fd00::/48", 64, 65536), "ERANGE", "IPv6 subnet past the end");
        is_str(subnet("::/0", 128, UINT64_MAX), "::ffff:ffff:ffff:ffff/128",
               "huge count: index still valid");
        is_str(subnet("fd00::/56", 120, 3), "fd00::300/120", "IPv6 /120s");

        /* 128-bit helpers used by other modules */
        {
                bool carry = false, borrow = false;
                pn_addr128 x = pn_a128_add(pn_a128_make(0, UINT64_MAX), pn_a128_make(0, 1), &carry);
                ok(x.hi == 1 && x.lo == 0 && !carry, "u128 add carries into hi");
                pn_a128_add(pn_a128_make(UINT64_MAX, UINT64_MAX), pn_a128_make(0, 1), &carry);
                ok(carry, "u128 add overflow reported");
                x = pn_a128_sub(pn_a128_make(1, 0), pn_a128_make(0, 1), &borrow);
                ok(x.hi == 0 && x.lo == UINT64_MAX && !borrow, "u128 sub borrows");
                pn_a128_sub(pn_a128_make(0, 0), pn_a128_make(0, 1), &borrow);
                ok(borrow, "u128 underflow reported");
                ok(pn_a128_eq(pn_a128_lowmask(64), pn_a128_make(0, UINT64_MAX)), "lowmask 64");
                ok(pn_a128_eq(pn_a128_lowmask(65), pn_a128_make(1, UINT64_MAX)), "lowmask 65");
                ok(pn_a128_eq(pn_a128_shl(pn_a128_make(0, 3), 64), pn_a128_make(3, 0)), "shl 64");
        }

        return done_testing();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The direct-path probe without a kernel: the Internet checksum against RFC 1071's
 * example, the IPv4 and IPv6 echo frames (headers, checksums that verify, payload), and
 * the matching of replies to a round's targets (and the strays it must ignore).
 */
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>

#include "agent/probe.h"
#include "tap.h"

static void target(struct pn_probe_target *t, int family, const char *src, const char *dst)
{
        memset(t, 0, sizeof(*t));
        t->family = family;
        t->ifindex = 2;
        inet_pton(family, src, t->src);
        inet_pton(family, dst, t->dst);
}

/* Whether a buffer with its checksum in place sums to all ones (RFC 1071's check):
 * its checksum over the whole is then 0. */
static bool verifies(const uint8_t *p, size_t len, uint32_t sum)
{
        return pn_probe_csum(p, len, sum) == 0;
}

static uint32_t pseudo6(const uint8_t *src, const uint8_t *dst, unsigned len)
{
        uint32_t sum = len + IPPROTO_ICMPV6;

        for (int i = 0; i < 16; i += 2)
                sum += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
        return sum;
}

static void test_csum(void)
{
        /* RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 */
        static const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
        static const uint8_t odd[] = {0x01, 0x02, 0x03};
        uint16_t c = pn_probe_csum(rfc, sizeof(rfc), 0);

        is_int(ntohs(c), 0xffff - 0xddf2, "RFC 1071's example: checksum ~0xddf2");
        /* an odd length pads with a zero byte: 0x0102 + 0x0300 */
        is_int(ntohs(pn_probe_csum(odd, sizeof(odd), 0)), 0xffff - 0x0402, "odd length");
        /* a continued sum equals the sum of the whole */
        is_int(pn_probe_csum(rfc + 4, 4, 0x0001 + 0xf203), c, "continued from a partial sum");
}

static void test_frame4(void)
{
        struct pn_probe_round round = {.id = 0xbeef, .cookie = 0x0123456789abcdefULL};
        struct pn_probe_target t;
        uint8_t f[PN_PROBE_FRAME_MAX];
        size_t len;

        target(&t, AF_INET, "10.1.0.1", "10.2.0.1");
        len = pn_probe_frame(&t, &round, 70000, f);
        is_int(len, 40, "IPv4 frame: 20 header + 8 echo + 12 payload");
        is_int(f[0], 0x45, "version 4, ihl 5");
        is_int(f[2] << 8 | f[3], 40, "total length");
        is_int(f[9], IPPROTO_ICMP, "protocol ICMP");
        ok(f[6] & 0x40, "DF set");
        ok(memcmp(f + 12, t.src, 4) == 0 && memcmp(f + 16, t.dst, 4) == 0, "addresses");
        ok(verifies(f, 20, 0), "header checksum verifies");
        is_int(f[20], ICMP_ECHO, "echo request");
        is_int(f[24] << 8 | f[25], 0xbeef, "identifier is the round's");
        is_int(f[26] << 8 | f[27], 70000 & 0xffff, "sequence: the index's low 16 bits");
        ok(verifies(f + 20, 20, 0), "ICMP checksum verifies");
}

static void test_frame6(void)
{
        struct pn_probe_round round = {.id = 7, .cookie = 42};
        struct pn_probe_target t;
        uint8_t f[PN_PROBE_FRAME_MAX];
        size_t len;

        target(&t, AF_INET6, "fd00:1::1", "fd00:2::1");
        len = pn_probe_frame(&t, &round, 3, f);
        is_int(len, 60, "IPv6 frame: 40 header + 8 echo + 12 payload");
        is_int(f[0] >> 4, 6, "version 6");
        is_int(f[4] << 8 | f[5], 20, "payload length");
        is_int(f[6], IPPROTO_ICMPV6, "next header ICMPv6");
        is_int(f[7], 64, "hop limit");
        is_int(f[40], ICMP6_ECHO_REQUEST, "echo request");
        ok(verifies(f + 40, 20, pseudo6(t.src, t.dst, 20)),
           "ICMPv6 checksum verifies with the pseudo-header");
        t.family = AF_PACKET;
        is_int(pn_probe_frame(&t, &round, 0, f), 0, "unknown family: no frame");
}

/* The reply the peer's kernel sends to probe `index`: the echo turned into a reply. */
static size_t reply(const struct pn_probe_target *t, const struct pn_probe_round *round,
                    uint32_t index, uint8_t *icmp)
{
        uint8_t f[PN_PROBE_FRAME_MAX];
        size_t hl = t->family == AF_INET ? 20 : 40;
        size_t len = pn_probe_frame(t, round, index, f) - hl;

        memcpy(icmp, f + hl, len);
        icmp[0] = t->family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
        return len;
}

static void test_match(void)
{
        struct pn_probe_round round = {.id = 0x1234, .cookie = 0xfeedfacecafef00dULL};
        struct pn_probe_round other = {.id = 0x1234, .cookie = 0xfeedfacecafef00eULL};
        struct pn_probe_target t[3];
        uint8_t icmp[PN_PROBE_FRAME_MAX];
        size_t len;

        target(&t[0], AF_INET, "10.1.0.1", "10.2.0.1");
        target(&t[1], AF_INET, "10.1.0.1", "10.3.0.1");
        target(&t[2], AF_INET6, "fd00:1::1", "fd00:3::1");

        len = reply(&t[1], &round, 1, icmp);
        is_int(pn_probe_match(AF_INET, icmp, len, t[1].dst, t[1].src, &round, t, 3), 1,
               "a reply matches its target");
        is_int(pn_probe_match(AF_INET, icmp, len, t[1].dst, NULL, &round, t, 3), 1,
               "without the destination too");
        is_int(pn_probe_match(AF_INET, icmp, len, t[0].dst, t[1].src, &round, t, 3), -1,
               "from another peer's address: ignored");
        is_int(pn_probe_match(AF_INET, icmp, len, t[1].dst, t[1].dst, &round, t, 3), -1,
               "to another address than the probe's source: ignored");
        is_int(pn_probe_match(AF_INET, icmp, len, t[1].dst, t[1].src, &other, t, 3), -1,
               "another round's cookie: ignored");
        is_int(pn_probe_match(AF_INET, icmp, len - 1, t[1].dst, t[1].src, &round, t, 3), -1,
               "truncated: ignored");
        is_int(pn_probe_match(AF_INET, icmp, len, t[1].dst, t[1].src, &round, t, 1), -1,
               "an index beyond the round: ignored");
        icmp[0] = ICMP_ECHO;
        is_int(pn_probe_match(AF_INET, icmp, len, t[1].dst, t[1].src, &round, t, 3), -1,
               "an echo request: ignored");

        len = reply(&t[2], &round, 2, icmp);
        is_int(pn_probe_match(AF_INET6, icmp, len, t[2].dst, t[2].src, &round, t, 3), 2,
               "an ICMPv6 reply matches");
        is_int(pn_probe_match(AF_INET, icmp, len, t[2].dst, t[2].src, &round, t, 3), -1,
               "an ICMPv6 reply read as ICMP: ignored");
        icmp[5] ^= 1; /* the identifier */
        is_int(pn_probe_match(AF_INET6, icmp, len, t[2].dst, t[2].src, &round, t, 3), -1,
               "another identifier (another program's ping): ignored");
}

int main(void)
{
        test_csum();
        test_frame4();
        test_frame6();
        test_match();
        return done_testing();
}

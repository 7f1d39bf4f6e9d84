/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VXLAN overlay's kernel objects without a kernel: the tunnel endpoint MAC (known
 * values computed outside the library, the address bits, distinctness over large sets
 * of structured addresses), the endpoint address, the MAC parser, and the neighbour,
 * FDB and VXLAN link messages read back by the parsers the dumps use.
 */
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "core/cidr.h"
#include "net/net.h"
#include "tap.h"

static void mac_of(const char *addr, char out[18])
{
        podnet_cidr *c = NULL;

        strcpy(out, "?");
        if (podnet_cidr_parse(&c, addr) == 0)
                podnet_vxlan_endpoint_mac(c, out);
        podnet_cidr_free(c);
}

static int cmp_mac(const void *a, const void *b)
{
        return memcmp(a, b, 6);
}

/* Sorts n MACs and counts adjacent equal pairs. */
static size_t duplicates(uint8_t (*macs)[6], size_t n)
{
        size_t d = 0;

        qsort(macs, n, 6, cmp_mac);
        for (size_t i = 1; i < n; i++)
                d += memcmp(macs[i - 1], macs[i], 6) == 0;
        return d;
}

static void test_mac_ipv4(void)
{
        static const struct {
                const char *addr, *mac;
        } known[] = {
            {"192.168.50.1", "72:34:c0:a8:32:01"},
            {"10.0.0.1/8", "72:34:0a:00:00:01"}, /* the prefix plays no part */
            {"0.0.0.0", "72:34:00:00:00:00"},
            {"255.255.255.255", "72:34:ff:ff:ff:ff"},
        };
        char mac[18];
        bool exact = true, unicast_local = true;
        uint8_t m[6];

        for (size_t i = 0; i < ELEMENTSOF(known); i++) {
                mac_of(known[i].addr, mac);
                is_str(mac, known[i].mac, "IPv4 endpoint MAC of %s", known[i].addr);
        }
        /* injective by construction: the address is in the MAC, whole */
        for (uint32_t a = 0; a < (1u << 20); a++) {
                uint32_t be = htonl(UINT32_C(0x0a000000) | (a * 4093u % (1u << 24)));

                pn_vtep_mac(AF_INET, (const uint8_t *)&be, m);
                exact = exact && m[0] == 0x72 && m[1] == 0x34 && memcmp(m + 2, &be, 4) == 0;
                unicast_local = unicast_local && (m[0] & 1) == 0 && (m[0] & 2) == 2;
        }
        ok(exact, "IPv4: 2^20 addresses, each MAC is 72:34 and the address's four bytes");
        ok(unicast_local, "IPv4: every MAC is unicast and locally administered");
}

static void test_mac_ipv6(void)
{
        /* computed with a separate Python implementation of FNV-1a 64 + fmix64, top
         * 48 bits, first byte & 0xfc | 0x02 */
        static const struct {
                const char *addr, *mac;
        } known[] = {
            {"fd00::1", "22:ba:d4:79:47:16"},
            {"fd00::2", "d2:a7:2e:10:a8:25"},
            {"2001:db8:1::1", "32:1d:97:e8:3d:2d"},
            {"2001:db8:2::1", "3e:69:fb:30:cc:5b"},
            {"::", "a6:e0:db:a6:c3:85"},
            {"fe80::1/64", "2e:86:ee:82:d4:26"},
        };
        enum { N = 1 << 18 };
        uint8_t(*macs)[6] = calloc(4 * (size_t)N, 6);
        uint8_t a[16], b[16];
        char mac[18];
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(known); i++) {
                mac_of(known[i].addr, mac);
                is_str(mac, known[i].mac, "IPv6 endpoint MAC of %s", known[i].addr);
        }
        if (!ok(macs != NULL, "memory for %d MACs", 4 * N))
                return;
        /* the shapes node addresses take: consecutive hosts in one /64; the same host
         * part in consecutive /64s (routed racks); EUI-64 interface identifiers of one
         * vendor; and addresses differing in a single bit */
        for (uint32_t i = 0; i < N; i++) {
                inet_pton(AF_INET6, "fd00:10::", a);
                a[12] = (uint8_t)(i >> 24), a[13] = (uint8_t)(i >> 16);
                a[14] = (uint8_t)(i >> 8), a[15] = (uint8_t)i;
                pn_vtep_mac(AF_INET6, a, macs[n++]);
                inet_pton(AF_INET6, "2001:db8::1", a);
                a[4] = (uint8_t)(i >> 16), a[6] = (uint8_t)(i >> 8), a[7] = (uint8_t)i;
                pn_vtep_mac(AF_INET6, a, macs[n++]);
                inet_pton(AF_INET6, "2001:db8:0:7:250:56ff:fe00:0", a);
                a[13] = (uint8_t)(i >> 16), a[14] = (uint8_t)(i >> 8), a[15] = (uint8_t)i;
                pn_vtep_mac(AF_INET6, a, macs[n++]);
                inet_pton(AF_INET6, "fd12:3456:789a:1::", a);
                if (i < 128) {
                        a[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
                        pn_vtep_mac(AF_INET6, a, macs[n++]);
                }
        }
        bool flags = true;

        for (size_t i = 0; i < n; i++)
                flags = flags && (macs[i][0] & 3) == 2;
        ok(flags, "IPv6: every MAC is unicast and locally administered");
        is_int(duplicates(macs, n), 0, "IPv6: %zu structured addresses, no two MACs equal", n);
        free(macs);

        inet_pton(AF_INET6, "fd00::1", a);
        inet_pton(AF_INET6, "fd00::2", b);
        ok(!pn_vtep_mac_collides(AF_INET6, a, a), "an address does not collide with itself");
        ok(!pn_vtep_mac_collides(AF_INET6, a, b), "fd00::1 and fd00::2 do not collide");
        /* Collisions exist, as for any 46-bit value: a search over the 2^25 addresses
         * fd00::0 .. fd00::1ff:ffff found 10 pairs (8 expected of random bits). */
        mac_of("fd00::4:4980", mac);
        is_str(mac, "3e:e7:c3:13:ec:8c", "fd00::4:4980's MAC");
        mac_of("fd00::16b:61b", mac);
        is_str(mac, "3e:e7:c3:13:ec:8c", "fd00::16b:61b has the same");
        inet_pton(AF_INET6, "fd00::4:4980", a);
        inet_pton(AF_INET6, "fd00::16b:61b", b);
        ok(pn_vtep_mac_collides(AF_INET6, a, b), "  ... and pn_vtep_mac_collides() says so");
        is_int(pn_vtep_mac(AF_UNSPEC, a, (uint8_t[6]){0}), -EAFNOSUPPORT, "no MAC for AF_UNSPEC");
        is_int(podnet_vxlan_endpoint_mac(NULL, mac), -EINVAL, "public: no address: EINVAL");
}

static void test_endpoint_addr(void)
{
        static const struct {
                const char *pod_cidr, *want;
        } cases[] = {
            {"10.244.2.0/24", "10.244.2.0/32"},       {"10.244.2.77/24", "10.244.2.0/32"},
            {"10.245.0.0/16", "10.245.0.0/32"},       {"fd00:244:3::/64", "fd00:244:3::/128"},
            {"fd00:244:3::9/64", "fd00:244:3::/128"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                podnet_cidr *c = NULL, *ep = NULL;
                char text[PODNET_CIDR_STRLEN] = "?";

                podnet_cidr_parse(&c, cases[i].pod_cidr);
                if (podnet_vxlan_endpoint_addr(&ep, c) == 0)
                        podnet_cidr_format(ep, text, sizeof(text));
                is_str(text, cases[i].want, "endpoint address of %s", cases[i].pod_cidr);
                podnet_cidr_free(c);
                podnet_cidr_free(ep);
        }
        is_int(podnet_vxlan_endpoint_addr(NULL, NULL), -EINVAL, "endpoint address: no ret");
}

static void test_mac_parse(void)
{
        static const char *const bad[] = {
            "",
            "72:34:c0:a8:32",
            "72:34:c0:a8:32:01:02",
            "72-34-c0-a8-32-01",
            "zz:34:c0:a8:32:01",
            "01:00:5e:00:00:01", /* multicast */
            "00:00:00:00:00:00", /* "every remote" to a VXLAN FDB */
        };
        uint8_t m[6];

        is_int(pn_mac_parse_unicast("72:34:C0:a8:32:01", m), 0, "MAC in mixed case parses");
        ok(m[0] == 0x72 && m[2] == 0xc0 && m[5] == 0x01, "  ... to its bytes");
        is_int(pn_mac_parse_unicast(NULL, m), -EINVAL, "NULL MAC refused");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                is_int(pn_mac_parse_unicast(bad[i], m), -EINVAL, "MAC '%s' refused", bad[i]);
}

/* The attribute `type` of message hdr (family header of hdr_len bytes), or NULL. */
static const struct nlattr *find_attr(const struct nlmsghdr *hdr, size_t hdr_len, int type)
{
        const struct nlattr *a;
        int rem;

        pn_attr_for_each(a, hdr, hdr_len, rem)
        {
                if (pn_attr_type(a) == type)
                        return a;
        }
        return NULL;
}

static void test_neigh_msg(void)
{
        struct pn_neigh want = {.family = AF_INET6, .ifindex = 7}, got;
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        struct nlmsghdr *hdr;

        inet_pton(AF_INET6, "fd00:244:3::", want.addr);
        pn_mac_parse("72:34:c0:a8:32:03", want.mac);
        if (!ok(pn_neigh_put(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &want) == 0 &&
                    b.n == 1,
                "neighbour add message built"))
                return;
        hdr = pn_nlbuf_hdr(&b, 0);
        is_int(hdr->nlmsg_type, RTM_NEWNEIGH, "  type RTM_NEWNEIGH");
        is_int(hdr->nlmsg_flags & (NLM_F_CREATE | NLM_F_REPLACE | NLM_F_EXCL),
               NLM_F_CREATE | NLM_F_REPLACE, "  flags create|replace");
        ok(!b.reqs[0].get, "  a change (acked), not a get");
        is_int(pn_neigh_parse(hdr, &got), 1, "  parses as a neighbour entry");
        is_int(got.family, AF_INET6, "  family");
        is_int(got.ifindex, 7, "  link");
        is_int(got.state, NUD_PERMANENT, "  permanent");
        ok(got.has_mac && memcmp(got.mac, want.mac, 6) == 0, "  MAC");
        ok(memcmp(got.addr, want.addr, 16) == 0, "  address");
        ok(pn_neigh_same(&got, &want), "  the entry it makes is the entry wanted");
        got.state = NUD_STALE;
        ok(!pn_neigh_same(&got, &want), "  a learnt (stale) entry is not");
        got.state = NUD_PERMANENT;
        got.mac[5] ^= 1;
        ok(!pn_neigh_same(&got, &want), "  nor one with another MAC");

        if (!ok(pn_neigh_put(&b, RTM_DELNEIGH, 0, &want) == 0 && b.n == 2,
                "neighbour delete message appended"))
                return;
        hdr = pn_nlbuf_hdr(&b, 1);
        is_int(hdr->nlmsg_type, RTM_DELNEIGH, "  type RTM_DELNEIGH");
        is_int(pn_neigh_parse(hdr, &got), 1, "  parses");
        ok(!got.has_mac && got.state == 0, "  no MAC, no state: the key alone");
        is_int(pn_neigh_parse(pn_nlbuf_hdr(&b, 0), &got), 1, "  the first message is intact");
        ok(got.has_mac && memcmp(got.addr, want.addr, 16) == 0, "  ... MAC and address");
        pn_nlbuf_done(&b);

        if (ok(pn_neigh_dump_put(&b, AF_INET, 7) == 0 && b.n == 1,
               "neighbour dump message built")) {
                const struct ndmsg *ndm = NLMSG_DATA(pn_nlbuf_hdr(&b, 0));
                const struct nlattr *a = find_attr(pn_nlbuf_hdr(&b, 0), sizeof(*ndm), NDA_IFINDEX);

                ok(ndm->ndm_ifindex == 0 && pn_attr_u32(a, 0) == 7,
                   "  the link in NDA_IFINDEX, not the header (strict sockets)");
                ok(b.reqs[0].get, "  a get");
        }
        pn_nlbuf_done(&b);

        want.family = AF_PACKET;
        is_int(pn_neigh_put(&b, RTM_NEWNEIGH, NLM_F_CREATE, &want), -EAFNOSUPPORT,
               "a neighbour entry of another family: refused");
        ok(b.n == 0 && b.error == -EAFNOSUPPORT, "  nothing appended, the buffer stays failed");
        pn_nlbuf_done(&b);

        struct pn_neigh v[3] = {{.family = AF_INET6, .ifindex = 2},
                                {.family = AF_INET, .ifindex = 2, .addr = {10, 0, 0, 9}},
                                {.family = AF_INET, .ifindex = 2, .addr = {10, 0, 0, 1}}};
        qsort(v, 3, sizeof(v[0]), pn_neigh_cmp);
        ok(v[0].addr[3] == 1 && v[1].addr[3] == 9 && v[2].family == AF_INET6,
           "neighbour entries sort by family, then address");
}

static void test_fdb_msg(void)
{
        struct pn_fdb want = {.ifindex = 5, .family = AF_INET, .dst = {192, 168, 50, 2}}, got;
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        struct nlmsghdr *hdr;
        const struct ndmsg *ndm;

        pn_mac_parse("72:34:c0:a8:32:02", want.mac);
        if (!ok(pn_fdb_put(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &want) == 0,
                "FDB add message built"))
                return;
        hdr = pn_nlbuf_hdr(&b, 0);
        ndm = NLMSG_DATA(hdr);
        is_int(ndm->ndm_family, AF_BRIDGE, "  family AF_BRIDGE");
        is_int(ndm->ndm_flags, NTF_SELF, "  NTF_SELF: the VXLAN device's own table");
        is_int(pn_fdb_parse(hdr, &got), 1, "  parses as an FDB entry");
        ok(got.ifindex == 5 && got.family == AF_INET && memcmp(got.dst, want.dst, 4) == 0,
           "  link and remote");
        ok(memcmp(got.mac, want.mac, 6) == 0 && !got.odd, "  MAC, nothing odd");
        ok(pn_fdb_same(&got, &want), "  the entry it makes is the entry wanted");
        got.dst[3] = 3;
        ok(!pn_fdb_same(&got, &want), "  one with another remote is not");
        got.dst[3] = 2;
        got.odd = true;
        ok(!pn_fdb_same(&got, &want), "  nor one with a VNI or port of its own");

        /* an entry with a VNI of its own, as `bridge fdb add ... vni 7` makes */
        pn_nlbuf_put_u32(&b, NDA_VNI, 7);
        is_int(pn_fdb_parse(pn_nlbuf_hdr(&b, 0), &got), 1, "an entry with its own VNI parses");
        ok(got.odd && !pn_fdb_same(&got, &want), "  odd, so not the entry wanted");
        pn_nlbuf_done(&b);

        want.family = 0;
        is_int(pn_fdb_put(&b, RTM_NEWNEIGH, NLM_F_CREATE, &want), -EINVAL,
               "FDB add without a remote: no message (the kernel requires one)");
        ok(b.n == 0, "  nothing appended");
        pn_nlbuf_done(&b);
        if (ok(pn_fdb_put(&b, RTM_DELNEIGH, 0, &want) == 0, "FDB delete of a whole entry built")) {
                hdr = pn_nlbuf_hdr(&b, 0);
                ok(find_attr(hdr, sizeof(struct ndmsg), NDA_DST) == NULL &&
                       find_attr(hdr, sizeof(struct ndmsg), NDA_LLADDR) != NULL,
                   "  MAC, no remote");
        }
}

static void test_vxlan_msg(void)
{
        struct pn_vxlan want = {.vni = 42,
                                .port = 4789,
                                .family = AF_INET6,
                                .has_local = true,
                                .link = 3,
                                .mtu = 1430,
                                .has_mac = true},
                        got, other;
        struct nl_msg *msg;

        snprintf(want.name, sizeof(want.name), "podnet.vx");
        inet_pton(AF_INET6, "fd00:50::1", want.local);
        pn_mac_parse("72:20:ba:d4:79:47", want.mac);
        msg = pn_vxlan_create_msg(&want);
        if (!ok(msg != NULL, "VXLAN create message built"))
                return;
        is_int(nlmsg_hdr(msg)->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL,
               "  create, exclusive");
        is_int(pn_vxlan_parse(nlmsg_hdr(msg), &got), 0, "  parses as a link");
        is_str(got.kind, "vxlan", "  kind vxlan");
        is_str(got.name, "podnet.vx", "  name");
        ok(got.vni == 42 && got.port == 4789 && got.link == 3, "  VNI, port (host order), device");
        ok(got.has_local && got.family == AF_INET6 && memcmp(got.local, want.local, 16) == 0,
           "  IPv6 local address");
        ok(!got.learning && !got.has_group && !got.metadata, "  no learning, group, metadata");
        ok(got.mtu == 1430 && got.has_mac && memcmp(got.mac, want.mac, 6) == 0 &&
               (got.flags & IFF_UP),
           "  MTU, MAC, up");
        ok(!pn_vxlan_needs_replace(&got, &want), "  what it creates needs no replacing");
        nlmsg_free(msg);

        other = got;
        other.mtu = 9000;
        other.mac[1] ^= 1;
        other.flags = 0;
        ok(!pn_vxlan_needs_replace(&other, &want), "another MTU, MAC or state: set in place");
        other = got, other.vni = 43;
        ok(pn_vxlan_needs_replace(&other, &want), "another VNI: replaced");
        other = got, other.port = 8472;
        ok(pn_vxlan_needs_replace(&other, &want), "another port: replaced");
        other = got, other.local[15] = 2;
        ok(pn_vxlan_needs_replace(&other, &want), "another local address: replaced");
        other = got, other.family = AF_INET;
        ok(pn_vxlan_needs_replace(&other, &want), "another underlay family: replaced");
        other = got, other.has_local = false;
        ok(pn_vxlan_needs_replace(&other, &want), "no local address: replaced");
        other = got, other.link = 4;
        ok(pn_vxlan_needs_replace(&other, &want), "another underlay device: replaced");
        other = got, other.learning = true;
        ok(pn_vxlan_needs_replace(&other, &want), "learning on: replaced");
        other = got, other.has_group = true;
        ok(pn_vxlan_needs_replace(&other, &want), "a multicast group: replaced");

        want.has_local = false;
        want.family = AF_INET;
        want.has_mac = false;
        want.mtu = 0;
        want.link = 0;
        msg = pn_vxlan_create_msg(&want);
        if (ok(msg != NULL, "VXLAN create message without local, device, MAC, MTU")) {
                pn_vxlan_parse(nlmsg_hdr(msg), &got);
                ok(!got.has_local && got.family == AF_INET && !got.link && !got.has_mac &&
                       got.mtu == 0 && got.port == 4789,
                   "  only the port (always sent: the kernel's default is 8472) and VNI");
                nlmsg_free(msg);
        }
}

static void test_arguments(void)
{
        podnet_ctx *ctx = NULL;
        podnet_error *err = NULL;
        podnet_vxlan_config c = {.size = sizeof(c), .name = "vx0", .vni = 1u << 24};

        ok(podnet_has_feature("vxlan") == 1, "podnet_has_feature(\"vxlan\")");
        if (!ok(podnet_ctx_new(&ctx) == 0, "context"))
                return;
        /* all refused before any netlink traffic */
        is_int(podnet_vxlan_ensure(ctx, NULL, &c, NULL, &err), -EINVAL, "VNI 2^24 refused");
        is_str(err ? podnet_error_message(err) : NULL,
               "VXLAN device vx0: VNI 16777216 is out of range (0..16777215)",
               "  the message names the device and the range");
        err = podnet_error_free(err);
        c.vni = 1;
        c.name = "a/b";
        is_int(podnet_vxlan_ensure(ctx, NULL, &c, NULL, NULL), -EINVAL, "bad device name");
        c.name = "vx0";
        c.mac = "01:00:5e:00:00:01";
        is_int(podnet_vxlan_ensure(ctx, NULL, &c, NULL, NULL), -EINVAL, "multicast MAC refused");
        c.mac = NULL;
        c.size = 4;
        is_int(podnet_vxlan_ensure(ctx, NULL, &c, NULL, NULL), -EINVAL, "config too small");
        is_int(podnet_neigh_set(ctx, NULL, "vx0", NULL, "72:34:00:00:00:01", NULL), -EINVAL,
               "neighbour without an address");
        is_int(podnet_fdb_set(ctx, NULL, "vx0", "72:34:00:00:00:01", NULL, NULL), -EINVAL,
               "FDB entry without a remote");
        podnet_cidr *dst = NULL;

        podnet_cidr_parse(&dst, "192.168.50.2");
        is_int(podnet_fdb_set(ctx, NULL, "vx0", "00:00:00:00:00:00", dst, NULL), -EINVAL,
               "FDB entry for the all-zeros MAC");
        podnet_cidr_free(dst);
        is_int(podnet_neigh_dump(ctx, NULL, "vx0", AF_INET, NULL, NULL, NULL), -EINVAL,
               "dump without a callback");
        podnet_ctx_unref(ctx);
}

int main(void)
{
        test_mac_ipv4();
        test_mac_ipv6();
        test_endpoint_addr();
        test_mac_parse();
        test_neigh_msg();
        test_fdb_msg();
        test_vxlan_msg();
        test_arguments();
        return done_testing();
}

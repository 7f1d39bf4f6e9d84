/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A node's VXLAN tunnel endpoint (VTEP) as every other node computes it, with nothing
 * published: its MAC address from its underlay address, and its endpoint address (the
 * gateway of the routes to its pods) from its pod CIDR. Pure arithmetic, no kernel.
 */
#include "core/cidr.h"
#include "net/net.h"

/*
 * IPv4: 72:34:a:b:c:d. The four address bytes make the mapping injective: two nodes of
 * one cluster (distinct underlay addresses) never share a MAC. 0x72 has the locally
 * administered bit set and the group bit clear, and its low nibble 2 puts it in IEEE
 * 802c's quadrant for administratively assigned addresses (SLAP AAI), the one meant for
 * local administrators. CNI plugins' 0a:58:<IPv4> (their gateways, OVN's pods) and
 * Docker's 02:42:<IPv4> use other prefixes, so a podnet VTEP is never mistaken for
 * either. The kernel's random addresses (bridges, veths) may take any locally
 * administered value, this prefix included, but they never meet these: the only MACs
 * on the overlay segment are VTEPs', and one VXLAN device carries one underlay family.
 *
 * IPv6: 46 bits of a hash of the 16 address bytes, with the locally administered bit
 * set and the group bit clear (no fixed prefix: every bit kept is a factor of two in
 * the collision odds). 128 bits cannot go into 46 without collisions, so for an IPv6
 * underlay a collision is possible though improbable: with n nodes its probability is
 * at most n(n-1)/2 / 2^46, about 1 in 5.6 million for 5000 nodes and 1 in 140 million
 * for 1000. The hash spreads structured addresses (consecutive hosts, one host part
 * in many /64s, one vendor's EUI-64 identifiers) as it spreads random ones, so no
 * addressing plan makes a collision likelier; truncating the address instead would
 * collide systematically (::1 in every rack's /64). Every node knows the whole node
 * list, so a sync can and must check it (pn_vtep_mac_collides()) and keep the later of
 * two colliding peers off the overlay rather than misroute it.
 *
 * The hash: FNV-1a 64 over the 16 bytes, then MurmurHash3's fmix64 finalizer (FNV's
 * low bits mix poorly on their own); the MAC takes the top 48 bits of it and then sets
 * the two flag bits. It is part of the cluster's wire contract: every podnet version
 * must compute the same value.
 */
#define VTEP_MAC_V4_0 0x72
#define VTEP_MAC_V4_1 0x34

static uint64_t vtep_hash(const uint8_t *p, size_t n)
{
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++) {
                h ^= p[i];
                h *= UINT64_C(0x100000001b3);
        }
        h ^= h >> 33;
        h *= UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 33;
        h *= UINT64_C(0xc4ceb9fe1a85ec53);
        h ^= h >> 33;
        return h;
}

int pn_vtep_mac(int family, const uint8_t *addr, uint8_t mac[6])
{
        uint64_t h;

        switch (family) {
        case AF_INET:
                mac[0] = VTEP_MAC_V4_0;
                mac[1] = VTEP_MAC_V4_1;
                memcpy(mac + 2, addr, 4);
                return 0;
        case AF_INET6:
                h = vtep_hash(addr, 16);
                for (int i = 0; i < 6; i++)
                        mac[i] = (uint8_t)(h >> (56 - 8 * i));
                mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* unicast, locally administered */
                return 0;
        default:
                return -EAFNOSUPPORT;
        }
}

bool pn_vtep_mac_collides(int family, const uint8_t *a, const uint8_t *b)
{
        uint8_t ma[6], mb[6];
        unsigned len = pn_family_len(family);

        if (len == 0 || memcmp(a, b, len) == 0)
                return false;
        pn_vtep_mac(family, a, ma);
        pn_vtep_mac(family, b, mb);
        return memcmp(ma, mb, 6) == 0;
}

int pn_vtep_addr(const podnet_cidr *pod_cidr, podnet_cidr *out)
{
        if (!pod_cidr || pn_family_len(pod_cidr->family) == 0)
                return -EINVAL;
        *out = *pod_cidr;
        pn_cidr_mask(out);
        out->prefixlen = pn_cidr_bits(out);
        return 0;
}

void pn_vtep_addr6_ll(const uint8_t mac[6], uint8_t out[16])
{
        memset(out, 0, 16);
        out[0] = 0xfe;
        out[1] = 0x80;
        out[8] = mac[0] ^ 0x02; /* EUI-64: the universal/local bit inverted */
        out[9] = mac[1];
        out[10] = mac[2];
        out[11] = 0xff;
        out[12] = 0xfe;
        out[13] = mac[3];
        out[14] = mac[4];
        out[15] = mac[5];
}

PODNET_EXPORT int podnet_vxlan_endpoint_mac(const podnet_cidr *underlay, char buf[18])
{
        uint8_t mac[6];

        if (!underlay || !buf || pn_vtep_mac(underlay->family, underlay->addr.b, mac) < 0)
                return -EINVAL;
        pn_mac_format(mac, 6, buf, 18);
        return 0;
}

PODNET_EXPORT int podnet_vxlan_endpoint_addr(podnet_cidr **ret, const podnet_cidr *pod_cidr)
{
        podnet_cidr c;
        int r;

        if (!ret)
                return -EINVAL;
        r = pn_vtep_addr(pod_cidr, &c);
        if (r < 0)
                return r;
        return podnet_cidr_dup(ret, &c);
}

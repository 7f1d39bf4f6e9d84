/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the node agent: the direct-path probe of `--overlay auto` (probe.c). One
 * ICMP echo per peer, from this node's pod-CIDR gateway address to the peer's, sent as
 * a frame straight to the peer node's MAC on the underlay device, so that the answer
 * tells whether the underlay carries pod-addressed packets between the two nodes.
 */
#ifndef PODNET_AGENT_PROBE_H
#define PODNET_AGENT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/internal.h"

struct pn_probe_target {
        int family;            /* of src and dst: AF_INET or AF_INET6 */
        uint8_t src[16];       /* this node's pod-CIDR gateway address */
        uint8_t dst[16];       /* the peer's pod-CIDR gateway address */
        int ifindex;           /* the underlay device the frame leaves on */
        uint8_t node_addr[16]; /* the peer node's underlay address (its MAC is the frame's
                                * destination) */
        int node_family;       /* of node_addr; 0: the same as family (dual-stack pods over
                                * a single-family underlay set it) */
};

/* One probe per target over the DIRECT path, never through the routing table's route
 * to dst (which may be the VXLAN overlay): an ICMP echo (ICMPv6 for AF_INET6) from src
 * to dst, sent as a frame on ifindex to the MAC of node_addr (from the kernel's
 * neighbour table; resolution is triggered when it is missing, and waited for within
 * the bound). Waits at most timeout_ms for all answers; ok[i] is set for the targets
 * answered, cleared for the others. Works in the calling thread's network namespace;
 * needs CAP_NET_RAW (and CAP_NET_ADMIN to trigger neighbour resolution).
 * 0 or -errno (+ err): a failure of the probe itself (no raw socket), not of a target;
 * -EINVAL for a target of an unknown family or without ifindex. */
int pn_probe_direct(const struct pn_probe_target *t, size_t n, unsigned timeout_ms, bool *ok,
                    podnet_error **err);

/* ---- the parts without a kernel, for tests/unit/test-probe.c ---- */

/* The largest frame pn_probe_frame() writes (an IPv6 header, ICMPv6 echo, payload). */
#define PN_PROBE_FRAME_MAX 64
/* What identifies one round's probes: the ICMP identifier, and a random cookie in each
 * payload beside the target's index. */
struct pn_probe_round {
        uint16_t id;
        uint64_t cookie;
};
/* The Internet checksum (RFC 1071) of data, continuing from the partial sum `sum`
 * (0 to start): the checksum in network byte order, ready to store. */
uint16_t pn_probe_csum(const void *data, size_t len, uint32_t sum);
/* Writes the IP packet of target t's probe (number `index` of the round) into buf
 * (PN_PROBE_FRAME_MAX bytes): header, echo request, payload. Its length, or 0 for an
 * unknown family. */
size_t pn_probe_frame(const struct pn_probe_target *t, const struct pn_probe_round *round,
                      uint32_t index, uint8_t *buf);
/* Matches a received ICMP/ICMPv6 message (icmp, len bytes, from the address `from`
 * to the address `to`, NULL if unknown) against the round's targets: the index of
 * the target it answers, or -1 for anything else (another program's ping, another
 * round's late answer, a forged or truncated reply). */
ssize_t pn_probe_match(int family, const uint8_t *icmp, size_t len, const uint8_t *from,
                       const uint8_t *to, const struct pn_probe_round *round,
                       const struct pn_probe_target *t, size_t n);

#endif

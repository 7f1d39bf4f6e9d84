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

#include "core/internal.h"

struct pn_probe_target {
        int family;           /* of src and dst: AF_INET or AF_INET6 */
        uint8_t src[16];      /* this node's pod-CIDR gateway address */
        uint8_t dst[16];      /* the peer's pod-CIDR gateway address */
        int ifindex;          /* the underlay device the frame leaves on */
        uint8_t node_addr[16]; /* the peer node's underlay address (its MAC is the frame's
                                * destination) */
        int node_family;      /* of node_addr; 0: the same as family (dual-stack pods over
                               * a single-family underlay set it) */
};

/* One probe per target over the DIRECT path, never through the routing table's route
 * to dst (which may be the VXLAN overlay): an ICMP echo (ICMPv6 for AF_INET6) from src
 * to dst, sent as a frame on ifindex to the MAC of node_addr (from the kernel's
 * neighbour table; resolution is triggered when it is missing, and waited for within
 * the bound). Waits at most timeout_ms for all answers; ok[i] is set for the targets
 * answered, cleared for the others. Works in the calling thread's network namespace.
 * 0 or -errno (+ err): a failure of the probe itself (no raw socket: CAP_NET_RAW), not
 * of a target. */
int pn_probe_direct(const struct pn_probe_target *t, size_t n, unsigned timeout_ms, bool *ok,
                    podnet_error **err);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The direct-path probe of `--overlay auto`: does the underlay carry a packet whose
 * source and destination are pod addresses from this node to a peer node?
 *
 * - The path. The probe must not follow the routing table, whose route to the peer's
 *   pod CIDR may be the overlay's: it is written as a whole IP packet (ICMP echo from
 *   this node's gateway address to the peer's) and sent on an AF_PACKET socket of type
 *   SOCK_DGRAM on the underlay device, to the MAC of the peer's node address, which
 *   the kernel's neighbour table gives. A missing, incomplete or failed entry gets an
 *   RTM_NEWNEIGH with NTF_USE (the kernel resolves it as if traffic were waiting) and
 *   the table is read again every few milliseconds until it resolves or the bound is
 *   over. A peer behind a router is never resolved (nothing answers ARP/ND for it on
 *   the link), so its probe fails, as it should.
 * - Batching. One packet socket for the whole round, frames built back to back in one
 *   buffer and sent 64 per sendmmsg(); the answers are drained between chunks, so the
 *   raw sockets' receive buffers (8 MiB asked for) only hold what one chunk returns.
 * - Matching. The answers come to the raw ICMP (ICMPv6) socket, filtered to echo
 *   replies by ICMP_FILTER (ICMP6_FILTER). Every program's pings reach a raw socket:
 *   a reply is ours when its identifier is the round's, its payload carries the
 *   round's 64-bit random cookie and the index of a target, and it comes from that
 *   target's dst (to its src, where the header says). Anything else is ignored.
 * - The way back. The peer answers along its own route to our pod CIDR, which may be
 *   the overlay; the answer still proves our direct forward path, and the peer's probe
 *   checks the other direction. The raw socket sees the answer on any device.
 * - rp_filter. A peer in strict mode (1) drops our probe when its route to our pod
 *   CIDR is the overlay's, since it arrives on the underlay device: two nodes would
 *   then keep each other on the overlay forever after a network recovered, and pod
 *   traffic on asymmetric paths is dropped alike. podnet does not weaken a host's
 *   rp_filter behind its back: on such a host the probe fails and the peer takes the
 *   overlay, which works; loose mode (2, what kube-proxy hosts and systemd's defaults
 *   use) or 0 on the underlay device lets a peer come back to direct routing. Loose
 *   mode wants a route to the answer's source, the peer's pod CIDR: the sync writes
 *   one to every peer (direct or overlay) before a probe can matter.
 * - Cost. Per target one frame out, one reply in, no socket and no allocation; one
 *   neighbour dump per round (and one per 10 ms while entries resolve).
 *   bench/probe-bench.sh: a round of 5,000 answering targets took 159 ms (median of 9,
 *   on a loaded 2-core machine that also ran the answering side).
 * - Safety. Frames leave only on the given device to a MAC the kernel resolved there.
 */
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/probe.h"
#include "core/cidr.h"
#include "net/net.h"
#include "netlink/transport.h"

/* linux/icmp.h's, whose header clashes with glibc's netinet/in.h: a raw ICMP socket's
 * filter is a bit mask of the types it drops */
#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif

#define PAYLOAD_LEN 12 /* cookie (8), index (4) */
#define ICMP_LEN (8 + PAYLOAD_LEN)
#define SEND_CHUNK 64
#define RECV_CHUNK 64
#define RAW_RCVBUF (8 * 1024 * 1024)
/* How often the neighbour table is read again while an entry resolves. */
#define NEIGH_POLL_MS 10
/* Up to this many targets, their neighbour entries are read one by one, not dumped. */
#define FEW_TARGETS 64

/* ---- the parts without a kernel ---- */

uint16_t pn_probe_csum(const void *data, size_t len, uint32_t sum)
{
        const uint8_t *p = data;

        for (; len > 1; p += 2, len -= 2)
                sum += (uint32_t)p[0] << 8 | p[1];
        if (len)
                sum += (uint32_t)p[0] << 8;
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return htons((uint16_t)~sum);
}

/* The one's-complement sum of data, unfolded, for a pseudo-header. */
static uint32_t sum16(const void *data, size_t len)
{
        const uint8_t *p = data;
        uint32_t sum = 0;

        for (; len > 1; p += 2, len -= 2)
                sum += (uint32_t)p[0] << 8 | p[1];
        return sum;
}

static void put_echo(uint8_t *icmp, uint8_t type, const struct pn_probe_round *round,
                     uint32_t index)
{
        uint64_t cookie = round->cookie;
        uint32_t idx = htonl(index);
        uint16_t id = htons(round->id), seq = htons((uint16_t)index);

        icmp[0] = type;
        icmp[1] = 0;
        icmp[2] = icmp[3] = 0;
        memcpy(icmp + 4, &id, 2);
        memcpy(icmp + 6, &seq, 2);
        memcpy(icmp + 8, &cookie, 8);
        memcpy(icmp + 16, &idx, 4);
}

size_t pn_probe_frame(const struct pn_probe_target *t, const struct pn_probe_round *round,
                      uint32_t index, uint8_t *buf)
{
        if (t->family == AF_INET) {
                struct iphdr ip = {
                    .version = 4,
                    .ihl = 5,
                    .tot_len = htons(sizeof(ip) + ICMP_LEN),
                    .id = htons((uint16_t)index),
                    .frag_off = htons(IP_DF),
                    .ttl = 64,
                    .protocol = IPPROTO_ICMP,
                };
                uint16_t c;

                memcpy(&ip.saddr, t->src, 4);
                memcpy(&ip.daddr, t->dst, 4);
                ip.check = pn_probe_csum(&ip, sizeof(ip), 0);
                memcpy(buf, &ip, sizeof(ip));
                put_echo(buf + sizeof(ip), ICMP_ECHO, round, index);
                c = pn_probe_csum(buf + sizeof(ip), ICMP_LEN, 0);
                memcpy(buf + sizeof(ip) + 2, &c, 2);
                return sizeof(ip) + ICMP_LEN;
        }
        if (t->family == AF_INET6) {
                struct ip6_hdr ip6 = {
                    .ip6_flow = htonl(6u << 28),
                    .ip6_plen = htons(ICMP_LEN),
                    .ip6_nxt = IPPROTO_ICMPV6,
                    .ip6_hlim = 64,
                };
                uint32_t sum;
                uint16_t c;

                memcpy(&ip6.ip6_src, t->src, 16);
                memcpy(&ip6.ip6_dst, t->dst, 16);
                memcpy(buf, &ip6, sizeof(ip6));
                put_echo(buf + sizeof(ip6), ICMP6_ECHO_REQUEST, round, index);
                /* pseudo-header: both addresses, the upper-layer length, next header */
                sum = sum16(t->src, 16) + sum16(t->dst, 16) + ICMP_LEN + IPPROTO_ICMPV6;
                c = pn_probe_csum(buf + sizeof(ip6), ICMP_LEN, sum);
                memcpy(buf + sizeof(ip6) + 2, &c, 2);
                return sizeof(ip6) + ICMP_LEN;
        }
        return 0;
}

ssize_t pn_probe_match(int family, const uint8_t *icmp, size_t len, const uint8_t *from,
                       const uint8_t *to, const struct pn_probe_round *round,
                       const struct pn_probe_target *t, size_t n)
{
        uint8_t reply = family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
        unsigned alen = pn_family_len(family);
        uint16_t id, seq;
        uint64_t cookie;
        uint32_t index;

        if (alen == 0 || len < ICMP_LEN || icmp[0] != reply || icmp[1] != 0)
                return -1;
        memcpy(&id, icmp + 4, 2);
        memcpy(&seq, icmp + 6, 2);
        memcpy(&cookie, icmp + 8, 8);
        memcpy(&index, icmp + 16, 4);
        index = ntohl(index);
        if (ntohs(id) != round->id || cookie != round->cookie || index >= n ||
            ntohs(seq) != (uint16_t)index)
                return -1;
        if (t[index].family != family || memcmp(from, t[index].dst, alen) != 0)
                return -1;
        if (to && memcmp(to, t[index].src, alen) != 0)
                return -1;
        return (ssize_t)index;
}

/* ---- the round ---- */

struct probe {
        const struct pn_probe_target *t;
        size_t n;
        bool *ok;
        struct pn_probe_round round;
        struct timespec deadline;
        int raw[2];      /* IPv4, IPv6 receive sockets (-1: no target of that family) */
        int pkt;         /* the packet socket frames leave by */
        uint8_t *frames; /* n frames of PN_PROBE_FRAME_MAX bytes */
        uint8_t (*mac)[6];
        bool *resolved, *sent;
        size_t n_ok, n_sent;
        struct nl_sock *nl;
        podnet_error **err;
};

static int node_family(const struct pn_probe_target *t)
{
        return t->node_family ? t->node_family : t->family;
}

static long ms_left(const struct timespec *deadline)
{
        struct timespec now;
        long ms;

        clock_gettime(CLOCK_MONOTONIC, &now);
        ms = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
        return ms < 0 ? 0 : ms;
}

static int open_raw(int family, podnet_error **err)
{
        int rcvbuf = RAW_RCVBUF;
        int fd, r;

        if (family == AF_INET) {
                uint32_t f = ~(1u << ICMP_ECHOREPLY);

                fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
                if (fd >= 0 && setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f)) < 0)
                        goto fail;
        } else {
                struct icmp6_filter f;
                int on = 1;

                ICMP6_FILTER_SETBLOCKALL(&f);
                ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
                fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMPV6);
                if (fd >= 0 &&
                    (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) < 0 ||
                     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) < 0))
                        goto fail;
        }
        if (fd < 0)
                return pn_error(err, errno, 0, "Opening a raw %s socket for the direct-path probe",
                                family == AF_INET ? "ICMP" : "ICMPv6");
        /* FORCE passes net.core.rmem_max (CAP_NET_ADMIN); without it, what rmem_max allows */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        return fd;
fail:
        r = errno;
        close(fd);
        return pn_error(err, r, 0, "Setting the filter of the direct-path probe's raw socket");
}

/* Reads the neighbour table and takes the MAC of every unresolved target whose node
 * address has a usable entry; with `trigger`, asks the kernel to resolve the others. */
static int neigh_reply(size_t i, struct nlmsghdr *hdr, void *userdata)
{
        struct pn_neigh *v = userdata;

        if (hdr->nlmsg_type == RTM_NEWNEIGH && pn_neigh_parse(hdr, &v[i]) <= 0)
                v[i].family = 0;
        return 0;
}

/* The entries of a few targets (a partial pass's probe), one RTM_GETNEIGH each: a node
 * with thousands of on-link peers has as many entries to dump. v[i] is target i's, or
 * has family 0. */
static int neigh_get_few(struct probe *p, struct pn_neigh *v)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        _cleanup_free_ size_t *of = calloc(p->n + 1, sizeof(*of));
        _cleanup_free_ struct pn_neigh *got = calloc(p->n + 1, sizeof(*got));
        int r;

        if (!of || !got)
                return -ENOMEM;
        for (size_t i = 0; i < p->n; i++) {
                if (p->resolved[i])
                        continue;
                of[b.n] = i;
                pn_neigh_get_put(&b, node_family(&p->t[i]), p->t[i].ifindex, p->t[i].node_addr);
        }
        if (b.error < 0)
                return b.error;
        r = b.n ? pn_nl_batch(p->nl, &b, neigh_reply, got) : 0;
        if (r < 0)
                return r;
        for (size_t k = 0; k < b.n; k++)
                if (pn_nl_req_error(&b.reqs[k]) == 0)
                        v[of[k]] = got[k];
        return 0;
}

static int resolve(struct probe *p, bool trigger)
{
        _cleanup_free_ struct pn_neigh *v = NULL;
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        bool few = p->n <= FEW_TARGETS;
        size_t nv = 0;
        int r;

        if (few) {
                v = calloc(p->n + 1, sizeof(*v));
                r = v ? neigh_get_few(p, v) : -ENOMEM;
        } else {
                r = pn_neigh_dump(p->nl, AF_UNSPEC, 0, &v, &nv);
        }
        if (r < 0)
                return pn_error(p->err, -r, 0,
                                "Reading the neighbour table for the direct-path probe");
        for (size_t i = 0; i < p->n; i++) {
                struct pn_neigh key = {.family = (uint8_t)node_family(&p->t[i]),
                                       .ifindex = p->t[i].ifindex};
                const struct pn_neigh *e;

                if (p->resolved[i])
                        continue;
                memcpy(key.addr, p->t[i].node_addr, pn_family_len(key.family));
                if (few)
                        e = v[i].family ? &v[i] : NULL;
                else
                        e = nv ? bsearch(&key, v, nv, sizeof(*v), pn_neigh_cmp) : NULL;
                if (e && e->has_mac &&
                    (e->state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT |
                                 NUD_NOARP))) {
                        memcpy(p->mac[i], e->mac, 6);
                        p->resolved[i] = true;
                        continue;
                }
                if (trigger) {
                        struct ndmsg ndm = {.ndm_family = key.family,
                                            .ndm_ifindex = key.ifindex,
                                            .ndm_flags = NTF_USE};

                        pn_nlbuf_msg(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, false, &ndm,
                                     sizeof(ndm));
                        pn_nlbuf_put(&b, NDA_DST, key.addr, pn_family_len(key.family));
                }
        }
        /* A refused request leaves its target unresolved: it fails, the others go on. */
        if (b.n > 0)
                (void)pn_nl_batch(p->nl, &b, NULL, NULL);
        return 0;
}

static void receive(struct probe *p, int family)
{
        int fd = p->raw[family == AF_INET ? 0 : 1];
        uint8_t buf[RECV_CHUNK][128];
        uint8_t ctl[RECV_CHUNK][CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct sockaddr_storage from[RECV_CHUNK];
        struct mmsghdr msg[RECV_CHUNK];
        struct iovec iov[RECV_CHUNK];
        int got;

        if (fd < 0)
                return;
        do {
                for (size_t i = 0; i < RECV_CHUNK; i++) {
                        iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
                        msg[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
                                                         .msg_namelen = sizeof(from[i]),
                                                         .msg_iov = &iov[i],
                                                         .msg_iovlen = 1,
                                                         .msg_control = ctl[i],
                                                         .msg_controllen = sizeof(ctl[i])};
                }
                got = recvmmsg(fd, msg, RECV_CHUNK, MSG_DONTWAIT, NULL);
                for (int i = 0; i < got; i++) {
                        const uint8_t *pkt = buf[i], *src, *dst = NULL;
                        size_t len = msg[i].msg_len;
                        ssize_t k;

                        if (family == AF_INET) {
                                /* a raw IPv4 socket gets the IP header */
                                size_t hl = len ? (size_t)(pkt[0] & 0xf) * 4 : 0;

                                if (len < sizeof(struct iphdr) || hl < sizeof(struct iphdr) ||
                                    len < hl)
                                        continue;
                                src = pkt + 12;
                                dst = pkt + 16;
                                pkt += hl;
                                len -= hl;
                        } else {
                                src =
                                    (const uint8_t *)&((struct sockaddr_in6 *)&from[i])->sin6_addr;
                                for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg[i].msg_hdr); c;
                                     c = CMSG_NXTHDR(&msg[i].msg_hdr, c))
                                        if (c->cmsg_level == IPPROTO_IPV6 &&
                                            c->cmsg_type == IPV6_PKTINFO)
                                                dst = (const uint8_t *)&(
                                                          (struct in6_pktinfo *)CMSG_DATA(c))
                                                          ->ipi6_addr;
                        }
                        k = pn_probe_match(family, pkt, len, src, dst, &p->round, p->t, p->n);
                        if (k >= 0 && !p->ok[k]) {
                                p->ok[k] = true;
                                p->n_ok++;
                        }
                }
        } while (got == RECV_CHUNK);
}

static void receive_all(struct probe *p)
{
        receive(p, AF_INET);
        receive(p, AF_INET6);
}

/* Sends the frames of the resolved targets not sent yet, a chunk per sendmmsg(), and
 * drains the answers between chunks. */
static void send_resolved(struct probe *p)
{
        struct sockaddr_ll sll[SEND_CHUNK];
        struct mmsghdr msg[SEND_CHUNK];
        struct iovec iov[SEND_CHUNK];
        size_t idx[SEND_CHUNK];
        size_t i = 0;

        while (i < p->n) {
                unsigned m = 0;
                int r;

                for (; i < p->n && m < SEND_CHUNK; i++) {
                        const struct pn_probe_target *t = &p->t[i];

                        if (!p->resolved[i] || p->sent[i])
                                continue;
                        sll[m] = (struct sockaddr_ll){
                            .sll_family = AF_PACKET,
                            .sll_protocol = htons(t->family == AF_INET ? ETH_P_IP : ETH_P_IPV6),
                            .sll_ifindex = t->ifindex,
                            .sll_halen = 6,
                        };
                        memcpy(sll[m].sll_addr, p->mac[i], 6);
                        iov[m] =
                            (struct iovec){p->frames + i * PN_PROBE_FRAME_MAX,
                                           t->family == AF_INET ? 20 + ICMP_LEN : 40 + ICMP_LEN};
                        msg[m].msg_hdr = (struct msghdr){.msg_name = &sll[m],
                                                         .msg_namelen = sizeof(sll[m]),
                                                         .msg_iov = &iov[m],
                                                         .msg_iovlen = 1};
                        idx[m++] = i;
                }
                for (unsigned done = 0; done < m;) {
                        r = sendmmsg(p->pkt, msg + done, m - done, 0);
                        if (r < 0 && errno == EINTR)
                                continue;
                        /* a frame refused (device down, gone): its target fails */
                        done += r > 0 ? (unsigned)r : 1;
                }
                for (unsigned k = 0; k < m; k++)
                        p->sent[idx[k]] = true;
                p->n_sent += m;
                receive_all(p);
        }
}

static bool all_sent(const struct probe *p)
{
        return p->n_sent == p->n;
}

static int probe_run(struct probe *p)
{
        long resolve_at; /* the time left when the table is read next */
        int r;

        r = resolve(p, true);
        if (r < 0)
                return r;
        send_resolved(p);
        resolve_at = ms_left(&p->deadline) - NEIGH_POLL_MS;
        while (p->n_ok < p->n) {
                struct pollfd pfd[2] = {{.fd = p->raw[0], .events = POLLIN},
                                        {.fd = p->raw[1], .events = POLLIN}};
                long left = ms_left(&p->deadline), wait = left;

                if (left == 0)
                        break;
                if (!all_sent(p))
                        wait = left > resolve_at ? left - resolve_at : 0;
                r = poll(pfd, 2, (int)wait);
                if (r < 0 && errno != EINTR)
                        return pn_error(p->err, errno, 0,
                                        "Waiting for the direct-path probe's answers");
                receive_all(p);
                if (!all_sent(p) && ms_left(&p->deadline) <= resolve_at) {
                        r = resolve(p, false);
                        if (r < 0)
                                return r;
                        send_resolved(p);
                        resolve_at = ms_left(&p->deadline) - NEIGH_POLL_MS;
                }
        }
        return 0;
}

int pn_probe_direct(const struct pn_probe_target *t, size_t n, unsigned timeout_ms, bool *ok,
                    podnet_error **err)
{
        struct probe p = {.t = t, .n = n, .ok = ok, .raw = {-1, -1}, .pkt = -1, .err = err};
        bool fam[2] = {false, false};
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                int nf = node_family(&t[i]);

                ok[i] = false;
                if ((t[i].family != AF_INET && t[i].family != AF_INET6) ||
                    (nf != AF_INET && nf != AF_INET6) || t[i].ifindex <= 0)
                        return pn_error(err, EINVAL, 0,
                                        "Direct-path probe target %zu: bad family or device", i);
                fam[t[i].family == AF_INET6] = true;
        }
        if (n == 0)
                return 0;
        clock_gettime(CLOCK_MONOTONIC, &p.deadline);
        p.deadline.tv_sec += timeout_ms / 1000;
        p.deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (p.deadline.tv_nsec >= 1000000000) {
                p.deadline.tv_sec++;
                p.deadline.tv_nsec -= 1000000000;
        }
        if (getrandom(&p.round, sizeof(p.round), GRND_NONBLOCK) != sizeof(p.round)) {
                struct timespec now;

                clock_gettime(CLOCK_MONOTONIC, &now);
                p.round.cookie =
                    ((uint64_t)now.tv_nsec << 32) ^ (uint64_t)now.tv_sec ^ (uint64_t)getpid();
                p.round.id = (uint16_t)(p.round.cookie >> 17);
        }

        p.frames = malloc(n * PN_PROBE_FRAME_MAX);
        p.mac = malloc(n * sizeof(*p.mac));
        p.resolved = calloc(n, sizeof(bool));
        p.sent = calloc(n, sizeof(bool));
        p.nl = nl_socket_alloc();
        if (!p.frames || !p.mac || !p.resolved || !p.sent || !p.nl) {
                r = pn_error(err, ENOMEM, 0, "Preparing the direct-path probe");
                goto out;
        }
        r = nl_connect(p.nl, NETLINK_ROUTE);
        if (r < 0) {
                r = pn_error(err, pn_nl_errno(r), 0,
                             "Opening a route socket for the direct-path probe");
                goto out;
        }
        for (int f = 0; f < 2; f++)
                if (fam[f] && (p.raw[f] = open_raw(f ? AF_INET6 : AF_INET, err)) < 0) {
                        r = p.raw[f];
                        goto out;
                }
        /* protocol 0: the socket sends only, nothing received is queued on it */
        p.pkt = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (p.pkt < 0) {
                r = pn_error(err, errno, 0, "Opening a packet socket for the direct-path probe");
                goto out;
        }
        for (size_t i = 0; i < n; i++)
                pn_probe_frame(&t[i], &p.round, (uint32_t)i, p.frames + i * PN_PROBE_FRAME_MAX);
        r = probe_run(&p);
out:
        if (p.pkt >= 0)
                close(p.pkt);
        for (int f = 0; f < 2; f++)
                if (p.raw[f] >= 0)
                        close(p.raw[f]);
        if (p.nl)
                nl_socket_free(p.nl);
        free(p.frames);
        free(p.mac);
        free(p.resolved);
        free(p.sent);
        return r < 0 ? r : 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the library: the kernel network objects as the net/ modules read and write
 * them over the netlink transport (netlink/transport.h): links, addresses, routes,
 * nexthop objects, VXLAN devices, neighbour and FDB entries, their parsers and their
 * request builders; and the VXLAN tunnel endpoint of a node. The builders of requests
 * that travel by the thousand (routes, nexthops, lookups, neighbour and FDB entries)
 * append to a message buffer (struct pn_nlbuf), which goes whole to pn_nl_batch() or
 * message by message to pn_nl_request(); the link and address builders return a libnl
 * message, which a request sends by its nlmsg_hdr() and a batch takes with
 * pn_nlbuf_append().
 */
#ifndef PODNET_NET_NET_H
#define PODNET_NET_NET_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "core/cidr.h"
#include "core/names.h"
#include "netlink/transport.h"

/* Writes `local` into the caller's size-prefixed output struct: -EINVAL if the caller's
 * size is below min_size (the first release's layout), else copies what both know and
 * keeps the caller's size. */
#define PN_INFO_COPY_OUT(out, local, min_size)                                                     \
        ({                                                                                         \
                int _r = 0;                                                                        \
                size_t _size = (out)->size;                                                        \
                if (_size < (min_size))                                                            \
                        _r = -EINVAL;                                                              \
                else {                                                                             \
                        memcpy((out), &(local), _size < sizeof(local) ? _size : sizeof(local));    \
                        (out)->size = _size;                                                       \
                }                                                                                  \
                _r;                                                                                \
        })

/* What a plan does with an object it compares against the kernel's. */
enum pn_op_kind {
        PN_OP_KEEP,
        PN_OP_ADD,
        PN_OP_REPLACE,
        PN_OP_DELETE,
};

/* ---- links (link.c) ---- */

/* What the link module knows about a link, from one RTM_GETLINK reply. */
struct pn_link {
        int ifindex;
        unsigned flags; /* IFF_* as the kernel reports them */
        unsigned mtu;
        int master;
        int hairpin; /* -1: not a bridge port */
        uint8_t mac[32];
        unsigned mac_len;
        char name[16];
        char kind[16];
        uint32_t group;   /* IFLA_GROUP */
        int peer_ifindex; /* IFLA_LINK of a veth: its peer's index (0: not reported) */
        bool mac_pinned;  /* the alias says podnet_bridge_ensure() made the MAC fixed */
        bool has_alias;   /* IFLA_IFALIAS is set (to anything) */
};

/* The link group (IFLA_GROUP) of veth pairs whose deletion is pending (their host ends;
 * "PNDP" in ASCII): podnet_veth_detach() parks a pair there, and one RTM_DELLINK for the
 * group deletes every parked pair at once, for a fraction of the kernel's cost of
 * deleting them one by one. Documented in podnet_bridge_ensure(3) and podnet-cni(8). */
#define PN_VETH_PARK_GROUP UINT32_C(0x504e4450)

/* podnet_veth_detach(); with err NULL, failures are not described. */
int pn_veth_park(podnet_ctx *ctx, const char *container_id, const char *ifname, podnet_error **err);

/* Deletes every parked veth pair in the context's namespace in one request: 1 if some
 * were parked, 0 if none, or -errno. */
int pn_veth_reap_parked(podnet_ctx *ctx);

/* RTM_GETLINK by name (ifindex 0) or by index. -ENODEV if absent. */
int pn_link_query(struct nl_sock *sk, const char *name, int ifindex, struct pn_link *out);

/* An RTM_NEWLINK/RTM_SETLINK/RTM_DELLINK request addressing a link by index, or by name
 * when ifindex is 0 (name may be NULL then, for a request by group); IFF_* `flags`
 * within `change`. The caller adds further attributes. */
struct nl_msg *pn_link_msg(int type, int nlflags, int ifindex, const char *name, unsigned flags,
                           unsigned change);

/* Formats a hardware address as "aa:bb:..", into at least 18 bytes (truncated beyond 6
 * bytes' worth). */
void pn_mac_format(const uint8_t *mac, unsigned len, char *buf, size_t size);
/* Parses "aa:bb:cc:dd:ee:ff" (a unicast address) into mac: 0 or -EINVAL. */
int pn_mac_parse(const char *s, uint8_t mac[6]);
/* pn_mac_parse(), also refusing NULL and the all-zeros address (which a VXLAN FDB reads as
 * "every remote"): an address a neighbour or FDB entry can point at. */
static inline int pn_mac_parse_unicast(const char *s, uint8_t mac[6])
{
        static const uint8_t zero[6];

        return !s || pn_mac_parse(s, mac) < 0 || memcmp(mac, zero, 6) == 0 ? -EINVAL : 0;
}
/* Sets IFF_* bits `flags` (within `change`) and, if mtu > 0, the MTU of the link ifindex
 * (0: by name). 0 or -errno. */
int pn_link_set(struct nl_sock *sk, int ifindex, const char *name, unsigned flags, unsigned change,
                unsigned mtu);
/* Deletes the link ifindex (0: by name). 0 or -errno. */
int pn_link_del(struct nl_sock *sk, int ifindex, const char *name);
/* The alias podnet_bridge_ensure() gives a bridge once its MAC address is fixed: every
 * later call sees it in the lookup it makes anyway, so keeping the MAC costs nothing. */
#define PN_BRIDGE_PINNED_ALIAS "podnet: MAC address pinned"
/* Sets *err for a socket that could not be opened (errno) in ns; returns -errno. */
int pn_net_sock_error(podnet_error **err, podnet_netns *ns);

/* Checks ifname (pn_ifname_valid) and gets the socket for (ctx, ns); on failure sets
 * *err and returns -errno. */
int pn_net_sock_for(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, struct nl_sock **sk,
                    podnet_error **err);
/* pn_net_sock_for(), then the index of link ifname; on failure sets *err (naming the
 * link and the namespace) and returns -errno, -ENODEV when there is no such link. */
int pn_net_link_for(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, struct nl_sock **sk,
                    int *ifindex, podnet_error **err);

/* ---- addresses (addr.c) ---- */

/* An address as RTM_GETADDR reports it. */
struct pn_addr {
        int family;
        int ifindex;
        unsigned prefixlen;
        unsigned flags; /* IFA_F_* */
        uint8_t addr[16];
};

/* Calls fn for every address of `family` on link ifindex (0: every link). A negative
 * return from fn stops the walk and is returned. */
int pn_addr_dump(struct nl_sock *sk, int family, int ifindex,
                 int (*fn)(const struct pn_addr *a, void *userdata), void *userdata);
/* RTM_NEWADDR (nlflags NLM_F_CREATE|NLM_F_EXCL or NLM_F_CREATE|NLM_F_REPLACE) or
 * RTM_DELADDR of a->addr/a->prefixlen on a->ifindex with IFA_F_* a->flags. */
struct nl_msg *pn_addr_msg(int cmd, int nlflags, const struct pn_addr *a);
/* The same, sent: 0 or -errno. */
int pn_addr_send(struct nl_sock *sk, int cmd, int nlflags, const struct pn_addr *a);
/* Fills a from a podnet_cidr and a link; -EINVAL for an unusable cidr. */
int pn_addr_from_cidr(struct pn_addr *a, const podnet_cidr *c, int ifindex);

/* ---- routes (route.c) ---- */

/* A route: as a dump or a lookup reports it (pn_route_parse()), or as a request names it
 * (pn_route_put()). Raw network-order bytes, no allocation. The fields after `gw` belong
 * to a sync's plan (agent/): the net layer never reads them; a parse clears them and
 * sets node to SIZE_MAX. */
struct pn_rt {
        uint8_t family;
        uint8_t dst_len;
        uint8_t type;     /* RTN_*; desired routes are RTN_UNICAST */
        uint8_t protocol; /* RTPROT_* */
        bool has_gw;
        bool multipath;    /* existing route with RTA_MULTIPATH: never "equal" */
        bool cloned;       /* RTM_F_CLONED: a cache entry, or a lookup's answer */
        bool via_nh;       /* desired: must use nexthop object `nhid` (0: none, unreachable) */
        bool onlink;       /* RTNH_F_ONLINK: the gateway is taken to be on the link oif without
                            * a route to it (the overlay's peer endpoints). A plain route
                            * carries it in rtm_flags; a route through a nexthop object has
                            * it from that object (pn_nh.onlink), which the kernel reports in
                            * the route's rtm_flags too */
        uint32_t table;    /* RTA_TABLE */
        uint32_t priority; /* metric */
        uint32_t nhid;     /* RTA_NH_ID, 0 for a plain route */
        uint32_t oif;      /* RTA_OIF; of a multipath route, its first hop's */
        uint8_t dst[16];
        uint8_t gw[16];   /* for a route using a nexthop object: that object's gateway */
        uint32_t nh_slot; /* desired, via a nexthop: 1 + index of it in the sync's list */
        size_t node;      /* desired: index into the node list; SIZE_MAX for existing */
};

/* Parses an RTM_NEWROUTE/RTM_DELROUTE message into rt: 1, or 0 when it is not an IPv4
 * or IPv6 route (rt undefined then), or -EBADMSG. */
int pn_route_parse(const struct nlmsghdr *hdr, struct pn_rt *rt);
/* Calls fn with every gateway of the multipath route in hdr (RTA_MULTIPATH); a negative
 * return stops the walk and is returned. */
int pn_route_multipath_gateways(const struct nlmsghdr *hdr,
                                int (*fn)(int family, const void *gw, void *userdata),
                                void *userdata);

/* How a route request names the route beyond what a pn_rt says (destination, next hop:
 * nexthop object or gateway, metric): its header fields and device. */
struct pn_route_hdr {
        uint8_t protocol; /* RTPROT_*; 0 in a deletion: any */
        uint8_t scope;    /* RT_SCOPE_*; RT_SCOPE_NOWHERE in a deletion: any */
        uint8_t type;     /* RTN_*; 0 in a deletion: any */
        uint32_t table;
        uint32_t oif; /* 0: none */
};
/* RTM_NEWROUTE or RTM_DELROUTE of rt as h says, with room for RTA_METRICS. A route
 * using a nexthop object is named by RTA_NH_ID, never by its gateway (the kernel would
 * not match it when deleting). A plain route with rt->onlink asks for RTNH_F_ONLINK
 * (the kernel then wants h->oif); one using a nexthop object leaves that to the object. */
int pn_route_put(struct pn_nlbuf *b, int cmd, int nlflags, const struct pn_rt *rt,
                 const struct pn_route_hdr *h);
/* RTM_GETROUTE: which route the kernel would use to reach the host `addr` (rtm_flags:
 * RTM_F_FIB_MATCH for the FIB entry rather than the resolved route). A `get`. */
int pn_route_lookup_put(struct pn_nlbuf *b, int family, const uint8_t *addr, unsigned rtm_flags);
/* A route dump of `family` (AF_UNSPEC: both); protocol non-zero asks the kernel to send
 * only that protocol's routes (honoured on a strict socket, see pn_nl_sock_bulk()). */
int pn_route_dump_put(struct pn_nlbuf *b, int family, unsigned protocol);

/* ---- nexthop objects (nexthop.c) ---- */

/* A kernel nexthop object (RTM_NEWNEXTHOP). The fields after `oif` belong to a sync's
 * plan: one per peer node and address family. */
struct pn_nh {
        uint32_t id;
        uint8_t family;
        uint8_t protocol;
        bool plain; /* existing: a gateway + device nexthop (no group, blackhole, fdb) */
        bool ours;  /* existing: podnet's, so the sync may replace or delete it */
        uint8_t gw[16];
        uint32_t oif;
        bool onlink;          /* RTNH_F_ONLINK in nh_flags: gw is on oif without a route to it */
        enum pn_op_kind kind; /* desired: KEEP, REPLACE (gateway changed), ADD;
                               * existing: KEEP (in use or not ours), DELETE */
        size_t node;          /* desired: index into the node list */
        const char *name;     /* desired: node name, borrowed (hashed into the id) */
        size_t match;         /* desired: existing index it takes over; existing: desired index
                               * using it; SIZE_MAX for none */
};

/* Parses an RTM_NEWNEXTHOP message: true for an object with an id (plan fields cleared,
 * node and match SIZE_MAX). */
bool pn_nexthop_parse(const struct nlmsghdr *hdr, struct pn_nh *nh);
/* RTM_NEWNEXTHOP (id, family, protocol, device, gateway, onlink) or RTM_DELNEXTHOP (id). */
int pn_nexthop_put(struct pn_nlbuf *b, int cmd, int nlflags, const struct pn_nh *nh,
                   unsigned protocol);
/* A dump of every nexthop object. */
int pn_nexthop_dump_put(struct pn_nlbuf *b);

/* ---- VXLAN tunnel endpoints (vtep.c) ---- */

/* The MAC address of the tunnel endpoint of the node whose underlay address is addr
 * (4 or 16 bytes): 72:34:<IPv4>, or 46 bits of a hash of the IPv6 address.
 * -EAFNOSUPPORT for another family. The derivation and its collision argument are in
 * vtep.c and podnet_vxlan_ensure(3). */
int pn_vtep_mac(int family, const uint8_t *addr, uint8_t mac[6]);
/* true if two different underlay addresses give the same endpoint MAC (possible for
 * IPv6 only): a sync must then route only one of the two nodes over the overlay. */
bool pn_vtep_mac_collides(int family, const uint8_t *a, const uint8_t *b);
/* The endpoint address of the node with pod CIDR pod_cidr: the CIDR's network address
 * with the host prefix (10.244.2.0/32), flannel's choice. -EINVAL for no CIDR. */
int pn_vtep_addr(const podnet_cidr *pod_cidr, podnet_cidr *out);
/* The IPv6 gateway of the routes to an overlay peer's IPv6 pod CIDRs: the link-local
 * address fe80::/64 + EUI-64 of the peer's endpoint MAC (what its VXLAN device derives
 * for itself). Not the pod CIDR's network address, as for IPv4: the kernel refuses an
 * onlink IPv6 gateway that a route on another device covers ("Nexthop has invalid gateway
 * or device mismatch"), and the peer's direct route covers its own pod CIDR while the
 * peer moves to the overlay; a link-local gateway is exempt from that check. */
void pn_vtep_addr6_ll(const uint8_t mac[6], uint8_t out[16]);

/* ---- VXLAN devices (vxlan.c) ---- */

/* A VXLAN link as the kernel reports it (pn_vxlan_parse()) or as podnet wants it
 * (pn_vxlan_create_msg()). The fields after `kind` are meaningful for kind "vxlan". */
struct pn_vxlan {
        int ifindex;
        unsigned flags; /* IFF_* */
        unsigned mtu;   /* 0: the kernel's choice (wanted) */
        bool has_mac;   /* wanted: false leaves the address to the kernel */
        uint8_t mac[6];
        char name[16];
        char kind[16];
        uint32_t vni;
        uint16_t port;  /* UDP destination port, host order */
        uint8_t family; /* AF_INET6 when local or the group is IPv6, else AF_INET */
        bool has_local;
        uint8_t local[16];
        uint32_t link; /* IFLA_VXLAN_LINK: the underlay device, 0 none */
        bool learning;
        bool has_group; /* a multicast group or default remote (GROUP, GROUP6) */
        bool metadata;  /* collect_metadata ("external") mode */
};

/* Parses an RTM_NEWLINK message: 0, or -EBADMSG. */
int pn_vxlan_parse(const struct nlmsghdr *hdr, struct pn_vxlan *v);
/* RTM_GETLINK of `name`: 0, -ENODEV when absent; out->kind says whether it is VXLAN. */
int pn_vxlan_query(struct nl_sock *sk, const char *name, struct pn_vxlan *out);
/* RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL) of v->name, up, with v's MTU (if not 0), MAC
 * (if has_mac), VNI, port, local address, underlay device; learning off, no group. */
struct nl_msg *pn_vxlan_create_msg(const struct pn_vxlan *v);
/* true when have (a VXLAN link) differs from want in what the kernel cannot change in
 * place or podnet does not: VNI, port, local address, underlay device, learning, group,
 * metadata mode. Such a device is deleted and created anew. */
bool pn_vxlan_needs_replace(const struct pn_vxlan *have, const struct pn_vxlan *want);

/* ---- neighbour entries (neigh.c) ---- */

/* An IPv4 (ARP) or IPv6 (ND) neighbour entry. */
struct pn_neigh {
        uint8_t family; /* AF_INET or AF_INET6 */
        uint8_t flags;  /* NTF_* */
        uint16_t state; /* NUD_* */
        int ifindex;
        bool has_mac;
        uint8_t mac[6];
        uint8_t addr[16];
};

/* Parses an RTM_NEWNEIGH/RTM_DELNEIGH message: 1 for an IPv4/IPv6 entry with an
 * address, 0 for anything else (n undefined then), -EBADMSG. */
int pn_neigh_parse(const struct nlmsghdr *hdr, struct pn_neigh *n);
/* RTM_NEWNEIGH of n as a permanent entry (n->mac; state and flags ignored), nlflags
 * NLM_F_CREATE|NLM_F_REPLACE to add or replace; or RTM_DELNEIGH of n's address on
 * n->ifindex. Appended to b: b->error (-EAFNOSUPPORT for a family other than IPv4 or
 * IPv6, then nothing is appended). */
int pn_neigh_put(struct pn_nlbuf *b, int cmd, int nlflags, const struct pn_neigh *n);
/* A dump of the entries of `family` (AF_INET or AF_INET6) on link ifindex (0: all). */
int pn_neigh_dump_put(struct pn_nlbuf *b, int family, int ifindex);
/* A get of the one entry of addr (`family`) on link ifindex (kernel 5.0); answered with
 * RTM_NEWNEIGH, or ENOENT. */
int pn_neigh_get_put(struct pn_nlbuf *b, int family, int ifindex, const uint8_t *addr);
/* Every entry of `family` (AF_UNSPEC: both) on ifindex into *ret (n entries, the
 * caller frees *ret), sorted by pn_neigh_cmp() for a diff. 0 or -errno. */
int pn_neigh_dump(struct nl_sock *sk, int family, int ifindex, struct pn_neigh **ret, size_t *n);
/* A dump (req) whose RTM_NEWNEIGH replies parse(hdr, elem, userdata) turns into
 * elements of `size` bytes (1 keep, 0 skip, < 0 stop), appended to the array *v of *n
 * elements and capacity *cap (pn_grow()). A dump restarted by a concurrent change
 * forgets only what it appended itself. 0 or -errno (*n as before then). */
int pn_neigh_collect(struct nl_sock *sk, struct nlmsghdr *req, size_t size,
                     int (*parse)(const struct nlmsghdr *hdr, void *elem, void *userdata),
                     void *userdata, void **v, size_t *n, size_t *cap);
/* Orders entries by their key: ifindex, family, address. qsort()/bsearch() shape. */
int pn_neigh_cmp(const void *a, const void *b);
/* true if the existing entry have is what writing want would make: permanent with
 * want's MAC. A sync keeps such an entry and writes the others. */
bool pn_neigh_same(const struct pn_neigh *have, const struct pn_neigh *want);

/* ---- bridge FDB entries of a VXLAN device (fdb.c) ---- */

/* A forwarding entry: frames to `mac` leave through the VXLAN device to the underlay
 * address dst. A MAC with several remotes has one entry per remote in a dump. */
struct pn_fdb {
        int ifindex;
        uint16_t state; /* NUD_* */
        uint8_t flags;  /* NTF_* */
        uint8_t family; /* of dst: AF_INET, AF_INET6; 0 none */
        uint8_t mac[6];
        uint8_t dst[16];
        bool odd; /* existing: its own VNI, port, source VNI or remote device */
};

/* Parses an AF_BRIDGE RTM_NEWNEIGH/RTM_DELNEIGH message: 1 for an entry with a MAC,
 * 0 for anything else, -EBADMSG. */
int pn_fdb_parse(const struct nlmsghdr *hdr, struct pn_fdb *f);
/* RTM_NEWNEIGH of f (NTF_SELF, permanent, mac to dst), nlflags NLM_F_CREATE|
 * NLM_F_REPLACE to add or replace the entry's remote; or RTM_DELNEIGH of f->mac, of
 * its remote dst only when f->family is set (else of the whole entry). Appended to b:
 * b->error (-EINVAL for an RTM_NEWNEIGH without a remote, then nothing is appended). */
int pn_fdb_put(struct pn_nlbuf *b, int cmd, int nlflags, const struct pn_fdb *f);
/* A dump of the FDB of link ifindex, in the form sk's strictness asks for. */
int pn_fdb_dump_put(struct pn_nlbuf *b, struct nl_sock *sk, int ifindex);
/* A get of the device's own (NTF_SELF) entry of mac on link ifindex (kernel 5.0). A
 * VXLAN device answers with the MAC's first remote only. */
int pn_fdb_get_put(struct pn_nlbuf *b, int ifindex, const uint8_t mac[6]);
/* Every entry of link ifindex into *ret (n entries, the caller frees *ret), sorted by
 * pn_fdb_cmp(). 0 or -errno. */
int pn_fdb_dump(struct nl_sock *sk, int ifindex, struct pn_fdb **ret, size_t *n);
/* Orders entries by ifindex, MAC, then remote. */
int pn_fdb_cmp(const void *a, const void *b);
/* true if have is what writing want makes: permanent, NTF_SELF, want's remote, and
 * nothing odd. */
bool pn_fdb_same(const struct pn_fdb *have, const struct pn_fdb *want);

/* ---- sorting (keysort.c) ---- */

/* Sorts n elements of `size` bytes at base like qsort(base, n, size, cmp), faster: by
 * key first, where key(a) < key(b) must imply cmp(a, b) < 0 (a prefix of what cmp
 * compares, in the same order); cmp decides among equal keys. Falls back to qsort() when
 * memory is short, so it cannot fail. */
void pn_keysort(void *base, size_t n, size_t size, uint64_t (*key)(const void *),
                int (*cmp)(const void *, const void *));
/* The first 8 bytes of b (len of them, zeros after) as a big-endian number: a key that
 * orders like memcmp() does. */
uint64_t pn_key_be(const uint8_t *b, size_t len);
/* memcmp(a, b, len)'s sign for an address (len 4 or 16), inline: the sorts and merges of
 * a 5,000-peer sync compare some 100,000 addresses, and a call to memcmp() for 4 or 16
 * bytes was a tenth of its instructions. */
static inline int pn_addr_cmp(const uint8_t *a, const uint8_t *b, size_t len)
{
        if (len == 4) {
                uint32_t x, y;

                memcpy(&x, a, 4);
                memcpy(&y, b, 4);
                x = be32toh(x);
                y = be32toh(y);
                return x < y ? -1 : x > y;
        }
        if (len == 16) {
                for (size_t o = 0; o < 16; o += 8) {
                        uint64_t x, y;

                        memcpy(&x, a + o, 8);
                        memcpy(&y, b + o, 8);
                        if (x != y) {
                                x = be64toh(x);
                                y = be64toh(y);
                                return x < y ? -1 : 1;
                        }
                }
                return 0;
        }
        return memcmp(a, b, len);
}

#endif

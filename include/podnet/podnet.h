/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libpodnet — node-level pod networking for Kubernetes: bridge, veth and namespace
 * plumbing, host-local compatible IPAM, CNI configuration and results, node routes
 * and firewall rules. This is the one public header; every type is opaque or a
 * size-prefixed options struct. See libpodnet(3).
 *
 * Conventions (libpodnet(3) has the details):
 *  - functions return 0 (or a count) on success and a negative errno on failure;
 *  - where a message helps, the last argument is `podnet_error **err` (may be NULL);
 *    on failure *err receives a new error object the caller frees with
 *    podnet_error_free();
 *  - constructors are `int podnet_x_new(podnet_x **ret, ...)`, destructors return NULL
 *    and accept NULL;
 *  - strings returned through `const char *` are owned by the object they came from;
 *    strings returned through `char **` are the caller's to free();
 *  - the library never prints, exits, aborts, or changes the caller's network
 *    namespace or working directory.
 */
#ifndef PODNET_PODNET_H
#define PODNET_PODNET_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <podnet/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Library, context, logging, errors                        podnet_ctx_new(3) */

typedef struct podnet_ctx podnet_ctx;
typedef struct podnet_error podnet_error;

/* Runtime version string, e.g. "0.1.0". Static storage. */
const char *podnet_version(void);

/* 1 if this build supports the named feature ("ipv6", "iptables", "host-local",
 * "cni-1.1.0", "gc", "status", "route-sync", ...), 0 if not. */
int podnet_has_feature(const char *name);

/* Log priorities are syslog's LOG_ERR (3) .. LOG_DEBUG (7). */
typedef void (*podnet_log_fn)(podnet_ctx *ctx, void *userdata, int priority, const char *msg);

/* A context holds the log callback and a netlink route socket in the caller's
 * network namespace, opened lazily. It is not thread-safe: use one per thread. */
int podnet_ctx_new(podnet_ctx **ret);
podnet_ctx *podnet_ctx_ref(podnet_ctx *ctx);
podnet_ctx *podnet_ctx_unref(podnet_ctx *ctx);
void podnet_ctx_set_log_fn(podnet_ctx *ctx, podnet_log_fn fn, void *userdata);
void podnet_ctx_set_log_priority(podnet_ctx *ctx, int priority);
int podnet_ctx_get_log_priority(const podnet_ctx *ctx);

/* Error objects: a message naming what failed with which input, the positive errno,
 * and the CNI error code it maps to (spec codes 1..11, 50/51, podnet's own >= 100;
 * see PODNET_CNI_ERR_*). */
int podnet_error_new(podnet_error **err, int errnum, int cni_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *podnet_error_message(const podnet_error *err);
const char *podnet_error_details(const podnet_error *err); /* may be NULL */
int podnet_error_errno(const podnet_error *err);           /* positive */
int podnet_error_cni_code(const podnet_error *err);
podnet_error *podnet_error_free(podnet_error *err);

/* CNI error codes (spec 1.1.0) and podnet's own (>= 100, see podnet-cni(8)). */
enum {
        PODNET_CNI_ERR_INCOMPATIBLE_VERSION = 1,
        PODNET_CNI_ERR_UNSUPPORTED_FIELD = 2,
        PODNET_CNI_ERR_UNKNOWN_CONTAINER = 3,
        PODNET_CNI_ERR_INVALID_ENV = 4,
        PODNET_CNI_ERR_IO = 5,
        PODNET_CNI_ERR_DECODE = 6,
        PODNET_CNI_ERR_INVALID_CONFIG = 7,
        PODNET_CNI_ERR_INVALID_NETNS = 8, /* CNI_NETNS is the plugin's own namespace */
        PODNET_CNI_ERR_TRY_AGAIN = 11,
        PODNET_CNI_ERR_NOT_AVAILABLE = 50,
        PODNET_CNI_ERR_DEGRADED = 51,
        PODNET_CNI_ERR_NETLINK = 100,        /* kernel refused a link/address/route change */
        PODNET_CNI_ERR_IPAM_EXHAUSTED = 101, /* no address left in a range set */
        PODNET_CNI_ERR_IFACE_EXISTS = 102,   /* CNI_IFNAME already exists in the netns */
        PODNET_CNI_ERR_FIREWALL = 103,       /* iptables change failed */
        PODNET_CNI_ERR_IPAM_PLUGIN = 104,    /* delegated IPAM plugin failed */
        PODNET_CNI_ERR_CHECK_FAILED = 105,   /* CHECK found a difference */
        PODNET_CNI_ERR_INTERNAL = 999,
};

/* ------------------------------------------------------------------------- */
/* CIDR and address arithmetic (IPv4 and IPv6)              podnet_cidr_parse(3) */

typedef struct podnet_cidr podnet_cidr;

/* Longest text podnet_cidr_format() writes, with the NUL. */
#define PODNET_CIDR_STRLEN 50

/* "10.1.2.3/24", "fd00::5/64"; a bare address gets the host prefix (/32, /128).
 * Host bits are kept (an interface address); use podnet_cidr_network() to mask. */
int podnet_cidr_parse(podnet_cidr **ret, const char *text);
/* family AF_INET (addr: 4 bytes) or AF_INET6 (16 bytes), network byte order. */
int podnet_cidr_new(podnet_cidr **ret, int family, const void *addr, unsigned prefixlen);
int podnet_cidr_dup(podnet_cidr **ret, const podnet_cidr *c);
podnet_cidr *podnet_cidr_free(podnet_cidr *c);

int podnet_cidr_family(const podnet_cidr *c);
unsigned podnet_cidr_prefixlen(const podnet_cidr *c);
/* 4 or 16 bytes in network order, owned by c. */
const void *podnet_cidr_addr(const podnet_cidr *c);

/* "10.1.2.3/24". Returns the length, or -ENOSPC. */
int podnet_cidr_format(const podnet_cidr *c, char *buf, size_t size);
/* The address alone: "10.1.2.3". Returns the length, or -ENOSPC. */
int podnet_cidr_format_addr(const podnet_cidr *c, char *buf, size_t size);

/* Host bits cleared. */
int podnet_cidr_network(podnet_cidr **ret, const podnet_cidr *c);
/* Last address of the network (IPv4 broadcast), prefix kept. */
int podnet_cidr_last(podnet_cidr **ret, const podnet_cidr *c);
/* 1 if `inner` (address or network) lies inside network `outer`, 0 if not. */
int podnet_cidr_contains(const podnet_cidr *outer, const podnet_cidr *inner);
int podnet_cidr_overlaps(const podnet_cidr *a, const podnet_cidr *b);
/* Orders by family, address, prefix length: <0, 0, >0. */
int podnet_cidr_compare(const podnet_cidr *a, const podnet_cidr *b);
/* The n-th address of c's network (n = 0 is the network address), prefix kept;
 * -ERANGE if outside. */
int podnet_cidr_nth(podnet_cidr **ret, const podnet_cidr *c, uint64_t n);
/* The address after/before c's address, prefix kept; -ERANGE past the network. */
int podnet_cidr_next(podnet_cidr **ret, const podnet_cidr *c);
int podnet_cidr_prev(podnet_cidr **ret, const podnet_cidr *c);
/* Number of /new_prefixlen subnets of c; -ERANGE if more than UINT64_MAX. */
int podnet_cidr_subnet_count(const podnet_cidr *c, unsigned new_prefixlen, uint64_t *count);
/* The index-th /new_prefixlen subnet of c's network. */
int podnet_cidr_subnet(podnet_cidr **ret, const podnet_cidr *c, unsigned new_prefixlen,
                       uint64_t index);

/* ------------------------------------------------------------------------- */
/* Network namespaces                                       podnet_netns_open(3) */

typedef struct podnet_netns podnet_netns;

/* Opens the namespace at `path` (e.g. /run/netns/p1, /proc/PID/ns/net) and a netlink
 * socket inside it, without moving the calling thread. -ENOENT when it is gone,
 * -EINVAL when `path` is not a network namespace. */
int podnet_netns_open(podnet_ctx *ctx, podnet_netns **ret, const char *path, podnet_error **err);
podnet_netns *podnet_netns_unref(podnet_netns *ns);
int podnet_netns_fd(const podnet_netns *ns);
const char *podnet_netns_path(const podnet_netns *ns);
/* 1 if ns is the network namespace the calling thread is in. */
int podnet_netns_is_current(const podnet_netns *ns);
/* Runs fn(userdata) in a short-lived thread that entered ns; returns fn's value. For
 * the rare operation netlink cannot do (e.g. a sysctl in that namespace). */
int podnet_netns_run(podnet_netns *ns, int (*fn)(void *userdata), void *userdata);

/* ------------------------------------------------------------------------- */
/* Links: bridge, veth                                  podnet_bridge_ensure(3) */

/* In all functions below, `ns` NULL means the context's own namespace. */

typedef struct podnet_bridge_config {
        size_t size;                     /* sizeof(podnet_bridge_config) */
        const char *name;                /* e.g. "cbr0" */
        unsigned mtu;                    /* 0: leave as is */
        bool promisc;                    /* promiscuous mode on */
        const podnet_cidr *const *addrs; /* gateway addresses with prefix, e.g. 10.1.1.1/24 */
        size_t n_addrs;
        bool force_address; /* replace other addresses of the same family
                               in the same subnet instead of failing */
        bool ipv6_nodad;    /* add IPv6 gateway addresses without DAD */
} podnet_bridge_config;

/* Creates the bridge if missing, sets MTU/promisc, adds missing addresses and brings
 * it up. Idempotent. -EEXIST if `name` exists and is not a bridge. Returns the
 * ifindex (> 0) on success. */
int podnet_bridge_ensure(podnet_ctx *ctx, podnet_netns *ns, const podnet_bridge_config *cfg,
                         podnet_error **err);
/* 0, or 0 too if it does not exist. */
int podnet_bridge_delete(podnet_ctx *ctx, podnet_netns *ns, const char *name, podnet_error **err);

/* Host-side veth name for (container id, ifname): "pn" + 12 hex digits of a hash,
 * deterministic, 14 characters. buf must hold 16 bytes. */
int podnet_veth_host_name(const char *container_id, const char *ifname, char buf[16]);

typedef struct podnet_veth_config {
        size_t size; /* sizeof(podnet_veth_config) */
        const char *container_id;
        const char *ifname;  /* name inside the pod namespace, e.g. "eth0" */
        podnet_netns *netns; /* the pod namespace (required) */
        const char *bridge;  /* host end is enslaved here (NULL: not enslaved) */
        unsigned mtu;        /* 0: kernel default */
        const char *mac;     /* pod-side MAC "aa:bb:..", NULL: kernel-chosen */
        bool hairpin;        /* bridge port hairpin mode */
} podnet_veth_config;

typedef struct podnet_veth_info {
        size_t size; /* caller sets sizeof(podnet_veth_info) */
        char host_ifname[16];
        char host_mac[18];
        int host_ifindex;
        char pod_ifname[16];
        char pod_mac[18];
        int pod_ifindex; /* inside the pod namespace */
} podnet_veth_info;

/* Creates the pair with the pod end made directly inside cfg->netns as cfg->ifname
 * and the host end named podnet_veth_host_name(), enslaved and up, pod end up.
 * -EEXIST (with a message naming which) if either name exists; nothing is left
 * behind on failure. `info` may be NULL. */
int podnet_veth_create(podnet_ctx *ctx, const podnet_veth_config *cfg, podnet_veth_info *info,
                       podnet_error **err);
/* Deletes the host end (and with it the pod end) for (container id, ifname). 0 if it
 * is already gone. Works whether or not the pod namespace still exists. */
int podnet_veth_delete(podnet_ctx *ctx, const char *container_id, const char *ifname,
                       podnet_error **err);
/* Takes the host end for (container id, ifname) down, which stops all traffic through
 * the pair at once, without deleting it: deleting a veth costs the kernel tens of
 * milliseconds of RCU grace periods, which podnet_veth_delete() then pays. Returns 1 if
 * the pair exists (and is now down), 0 if it does not. */
int podnet_veth_detach(podnet_ctx *ctx, const char *container_id, const char *ifname,
                       podnet_error **err);

typedef struct podnet_link_info {
        size_t size; /* caller sets sizeof(podnet_link_info) */
        int ifindex;
        char ifname[16];
        char mac[18];
        unsigned mtu;
        bool up;
        char kind[16];      /* "bridge", "veth", "" ... */
        int master_ifindex; /* 0 if none */
        bool hairpin;       /* bridge port hairpin, if a port */
        bool promisc;
} podnet_link_info;

/* -ENODEV if there is no such link. */
int podnet_link_get(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, podnet_link_info *info,
                    podnet_error **err);
int podnet_link_set_up(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, podnet_error **err);
/* MTU of the link holding the default route of `family` in the context's namespace;
 * -ENOENT if there is no default route. */
int podnet_default_route_mtu(podnet_ctx *ctx, int family, unsigned *mtu);

/* ------------------------------------------------------------------------- */
/* Addresses and routes                                    podnet_addr_add(3) */

enum {
        PODNET_ADDR_NODAD = 1u << 0, /* IPv6: no duplicate address detection */
        PODNET_ADDR_REPLACE = 1u << 1,
};

int podnet_addr_add(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, const podnet_cidr *addr,
                    unsigned flags, podnet_error **err);
/* 0 also if absent. */
int podnet_addr_del(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, const podnet_cidr *addr,
                    podnet_error **err);
/* 1 if ifname holds exactly addr (address and prefix), 0 if not. */
int podnet_addr_has(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, const podnet_cidr *addr,
                    podnet_error **err);

typedef struct podnet_route_config {
        size_t size;            /* sizeof(podnet_route_config) */
        const podnet_cidr *dst; /* required; 0.0.0.0/0 or ::/0 for default */
        const podnet_cidr *gw;  /* NULL: on-link */
        const char *ifname;     /* NULL: the kernel picks from gw */
        unsigned mtu, advmss;   /* 0: unset */
        unsigned priority;      /* metric */
        unsigned table;         /* 0: main */
        int scope;              /* -1: kernel default; else RT_SCOPE_* */
        unsigned protocol;      /* 0: boot; podnet-routes uses its own number */
        bool replace;           /* NLM_F_REPLACE instead of failing on EEXIST */
} podnet_route_config;

int podnet_route_add(podnet_ctx *ctx, podnet_netns *ns, const podnet_route_config *rc,
                     podnet_error **err);
/* 0 also if absent. Matches dst, table, and gw/ifname when given. */
int podnet_route_del(podnet_ctx *ctx, podnet_netns *ns, const podnet_route_config *rc,
                     podnet_error **err);
/* 1 if a route with rc's dst (and gw/ifname when given) exists, 0 if not. */
int podnet_route_has(podnet_ctx *ctx, podnet_netns *ns, const podnet_route_config *rc,
                     podnet_error **err);

/* ------------------------------------------------------------------------- */
/* VXLAN overlay: device, endpoints                      podnet_vxlan_ensure(3) */

typedef struct podnet_vxlan_config {
        size_t size;              /* sizeof(podnet_vxlan_config) */
        const char *name;         /* the device, e.g. "podnet.vx" */
        uint32_t vni;             /* 0 .. 16777215 */
        uint16_t port;            /* UDP destination port; 0: 4789 (IANA) */
        const podnet_cidr *local; /* underlay source address (prefix ignored); NULL: none.
                                     An IPv6 underlay needs it. */
        const char *dev;          /* underlay device; NULL: none */
        unsigned mtu;             /* 0: the kernel's on creation, then left as is */
        const char *mac;          /* "72:34:..": see podnet_vxlan_endpoint_mac(); NULL:
                                     the kernel's on creation, then left as is */
} podnet_vxlan_config;

/* What podnet_vxlan_ensure() did (podnet_vxlan_info.changes). */
enum {
        PODNET_VXLAN_CREATED = 1u << 0,
        PODNET_VXLAN_REPLACED = 1u << 1, /* deleted and created anew: its entries are gone */
        PODNET_VXLAN_MTU_SET = 1u << 2,
        PODNET_VXLAN_MAC_SET = 1u << 3,
        PODNET_VXLAN_UP_SET = 1u << 4,
};

typedef struct podnet_vxlan_info {
        size_t size; /* caller sets sizeof(podnet_vxlan_info) */
        int ifindex;
        char ifname[16];
        char mac[18];
        unsigned mtu;
        bool up;
        uint32_t vni;
        uint16_t port;
        int family;       /* of the underlay: AF_INET6 if local (or a group) is IPv6 */
        char local[46];   /* underlay source address, "" if none */
        int dev_ifindex;  /* underlay device, 0 if none */
        bool learning;    /* podnet's devices: false */
        bool has_group;   /* a multicast group or default remote: podnet's devices: false */
        unsigned changes; /* podnet_vxlan_ensure(): PODNET_VXLAN_* bits, 0 if nothing */
} podnet_vxlan_info;

/* Makes the VXLAN device cfg->name exist as configured, up, without learning and
 * without a group, writing only what differs: nothing if it already does. A device
 * with another VNI, port, local address or underlay device is replaced. -EEXIST if
 * the name is another kind of link's. `info` may be NULL. Returns the ifindex. */
int podnet_vxlan_ensure(podnet_ctx *ctx, podnet_netns *ns, const podnet_vxlan_config *cfg,
                        podnet_vxlan_info *info, podnet_error **err);
/* -ENODEV if absent, -EMEDIUMTYPE if the link is not a VXLAN device. */
int podnet_vxlan_get(podnet_ctx *ctx, podnet_netns *ns, const char *name,
                     podnet_vxlan_info *info, podnet_error **err);
/* 0, also if absent; -EMEDIUMTYPE (nothing deleted) if the link is not a VXLAN device. */
int podnet_vxlan_delete(podnet_ctx *ctx, podnet_netns *ns, const char *name, podnet_error **err);

/* The tunnel endpoint MAC of the node with underlay address `underlay`: 72:34 and the
 * four bytes of an IPv4 address; for IPv6, 46 bits of a hash of the address (see the
 * man page for collisions). buf receives "aa:bb:cc:dd:ee:ff". */
int podnet_vxlan_endpoint_mac(const podnet_cidr *underlay, char buf[18]);
/* The tunnel endpoint address of the node with pod CIDR `pod_cidr`, the gateway of
 * the routes to its pods: the CIDR's network address as a host (10.244.2.0/32).
 * *ret is the caller's to free with podnet_cidr_free(). */
int podnet_vxlan_endpoint_addr(podnet_cidr **ret, const podnet_cidr *pod_cidr);

/* ------------------------------------------------------------------------- */
/* Neighbour and FDB entries                               podnet_neigh_set(3) */

/* An entry as a dump reports it; size is the library's sizeof(podnet_neigh_entry),
 * so that fields a later release appends can be checked for. Pointers are valid
 * during the callback only. */
typedef struct podnet_neigh_entry {
        size_t size;
        const podnet_cidr *addr; /* IPv4 or IPv6 address, host prefix */
        char mac[18];            /* "" if the entry has none (incomplete, failed) */
        unsigned state;          /* NUD_*: podnet's entries are NUD_PERMANENT */
        unsigned flags;          /* NTF_* */
} podnet_neigh_entry;
typedef int (*podnet_neigh_fn)(const podnet_neigh_entry *e, void *userdata);

/* Adds, or replaces, the permanent entry addr -> mac on ifname. */
int podnet_neigh_set(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                     const podnet_cidr *addr, const char *mac, podnet_error **err);
/* 0 also if absent. */
int podnet_neigh_del(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                     const podnet_cidr *addr, podnet_error **err);
/* Calls fn for every entry of `family` (AF_INET, AF_INET6, or AF_UNSPEC for both) on
 * ifname, ordered by address; a negative return from fn stops and is returned.
 * Returns the number of entries. */
int podnet_neigh_dump(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, int family,
                      podnet_neigh_fn fn, void *userdata, podnet_error **err);

typedef struct podnet_fdb_entry {
        size_t size;            /* as podnet_neigh_entry's */
        char mac[18];
        const podnet_cidr *dst; /* underlay address of the remote; NULL if none */
        unsigned state;         /* NUD_* */
        unsigned flags;         /* NTF_*: podnet's entries are NTF_SELF */
} podnet_fdb_entry;
typedef int (*podnet_fdb_fn)(const podnet_fdb_entry *e, void *userdata);

/* Adds the permanent FDB entry mac -> dst on the VXLAN device ifname, or replaces the
 * remote of the entry for mac. */
int podnet_fdb_set(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, const char *mac,
                   const podnet_cidr *dst, podnet_error **err);
/* Deletes the remote dst of mac's entry, or the whole entry if dst is NULL; 0 also if
 * absent. */
int podnet_fdb_del(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, const char *mac,
                   const podnet_cidr *dst, podnet_error **err);
/* Calls fn for every FDB entry of ifname (one per remote), ordered by MAC; returns the
 * number of entries. */
int podnet_fdb_dump(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, podnet_fdb_fn fn,
                    void *userdata, podnet_error **err);

/* ------------------------------------------------------------------------- */
/* Host-local compatible IPAM                              podnet_ipam_open(3) */

typedef struct podnet_ipam podnet_ipam;

/* An allocator over `<data_dir>/<network>/` in host-local's on-disk format. data_dir
 * NULL means /var/lib/cni/networks. -EINVAL for a network name that could escape
 * data_dir. The directory is created on first allocation. */
int podnet_ipam_open(podnet_ctx *ctx, podnet_ipam **ret, const char *data_dir, const char *network,
                     podnet_error **err);
podnet_ipam *podnet_ipam_unref(podnet_ipam *ipam);

/* Adds a range to range set `set` (sets are 0, 1, ... in order; one address is
 * allocated per set). start/end/gateway may be NULL for host-local's defaults. */
int podnet_ipam_add_range(podnet_ipam *ipam, unsigned set, const podnet_cidr *subnet,
                          const podnet_cidr *range_start, const podnet_cidr *range_end,
                          const podnet_cidr *gateway, podnet_error **err);
unsigned podnet_ipam_n_sets(const podnet_ipam *ipam);

/* Takes/releases host-local's flock on `<dir>/lock`. The functions below take it
 * themselves when it is not held. */
int podnet_ipam_lock(podnet_ipam *ipam, podnet_error **err);
void podnet_ipam_unlock(podnet_ipam *ipam);

/* Allocates one address in set `set` for (id, ifname), round-robin after
 * last_reserved_ip.<set>, or `requested` (may be NULL) if free and in range. If
 * (id, ifname) already holds an address in that set it is returned again.
 * *ret_addr gets the address with the subnet's prefix, *ret_gw the range's gateway
 * (NULL if none). -ENOSPC (code 101) when exhausted, -EEXIST when `requested` is
 * taken, -ERANGE when it lies in no range of the set. Leases recorded in a previous
 * boot are reclaimed. */
int podnet_ipam_allocate(podnet_ipam *ipam, unsigned set, const char *container_id,
                         const char *ifname, const podnet_cidr *requested, podnet_cidr **ret_addr,
                         podnet_cidr **ret_gw, podnet_error **err);
/* Releases every lease of (id, ifname); returns how many. */
int podnet_ipam_release(podnet_ipam *ipam, const char *container_id, const char *ifname,
                        podnet_error **err);
/* The addresses (with prefix) leased to (id, ifname): *ret is a NULL-terminated array
 * the caller frees with podnet_cidr_array_free(). Returns the count. */
int podnet_ipam_lookup(podnet_ipam *ipam, const char *container_id, const char *ifname,
                       podnet_cidr ***ret, podnet_error **err);
podnet_cidr **podnet_cidr_array_free(podnet_cidr **array);

typedef struct podnet_attachment {
        const char *container_id;
        const char *ifname;
} podnet_attachment;

/* Releases every lease not held by one of `valid`; returns how many were released. */
int podnet_ipam_gc(podnet_ipam *ipam, const podnet_attachment *valid, size_t n_valid,
                   podnet_error **err);

/* ------------------------------------------------------------------------- */
/* CNI configuration, arguments, results                podnet_cni_conf_parse(3) */

typedef struct podnet_cni_conf podnet_cni_conf;
typedef struct podnet_cni_args podnet_cni_args;
typedef struct podnet_cni_result podnet_cni_result;

/* NULL-terminated list of the CNI versions this library speaks, oldest first. */
const char *const *podnet_cni_supported_versions(void);
/* 1 if supported, 0 if not. */
int podnet_cni_version_supported(const char *version);
/* Compares "0.4.0"-style versions: <0, 0, >0; -EINVAL folded to 0 never: invalid
 * versions sort first. */
int podnet_cni_version_compare(const char *a, const char *b);

/* Parses a plugin's network configuration (JSON on stdin). Errors carry code 6 for
 * undecodable JSON, 7 for a wrong type or value (naming the key), 1 for an
 * unsupported cniVersion. */
int podnet_cni_conf_parse(podnet_cni_conf **ret, const char *json, size_t len, podnet_error **err);
podnet_cni_conf *podnet_cni_conf_free(podnet_cni_conf *conf);
const char *podnet_cni_conf_version(const podnet_cni_conf *conf);
const char *podnet_cni_conf_name(const podnet_cni_conf *conf);
const char *podnet_cni_conf_type(const podnet_cni_conf *conf);
const char *podnet_cni_conf_bridge(const podnet_cni_conf *conf);
const char *podnet_cni_conf_ipam_type(const podnet_cni_conf *conf); /* NULL if no ipam */
/* The prevResult, NULL if absent. Owned by conf. */
const podnet_cni_result *podnet_cni_conf_prev_result(const podnet_cni_conf *conf);
/* The raw configuration text, owned by conf (for delegating to IPAM plugins). */
const char *podnet_cni_conf_json(const podnet_cni_conf *conf);

/* The CNI_* environment as the runtime set it. */
typedef struct podnet_cni_env {
        size_t size;              /* sizeof(podnet_cni_env) */
        const char *command;      /* CNI_COMMAND */
        const char *container_id; /* CNI_CONTAINERID */
        const char *netns;        /* CNI_NETNS */
        const char *ifname;       /* CNI_IFNAME */
        const char *args;         /* CNI_ARGS */
        const char *path;         /* CNI_PATH */
} podnet_cni_env;

/* Validates the environment for `env->command` (code 4 naming the variable; container
 * id, ifname and CNI_ARGS syntax checked) and copies it. */
int podnet_cni_args_new(podnet_cni_args **ret, const podnet_cni_env *env, podnet_error **err);
podnet_cni_args *podnet_cni_args_free(podnet_cni_args *args);
/* Value of K in CNI_ARGS, NULL if absent. */
const char *podnet_cni_args_get(const podnet_cni_args *args, const char *key);

/* Results. A result is printed in any supported version. */
int podnet_cni_result_new(podnet_cni_result **ret);
podnet_cni_result *podnet_cni_result_free(podnet_cni_result *res);
/* Parses a result (prevResult, delegated IPAM output) of version `version`. */
int podnet_cni_result_parse(podnet_cni_result **ret, const char *json, const char *version,
                            podnet_error **err);
/* Appends an interface; returns its index. sandbox NULL for host-side interfaces. */
int podnet_cni_result_add_interface(podnet_cni_result *res, const char *name, const char *mac,
                                    unsigned mtu, const char *sandbox);
/* Appends an IP: interface index or -1, address with prefix, gateway may be NULL. */
int podnet_cni_result_add_ip(podnet_cni_result *res, int interface, const podnet_cidr *addr,
                             const podnet_cidr *gw);
int podnet_cni_result_add_route(podnet_cni_result *res, const podnet_cidr *dst,
                                const podnet_cidr *gw);
int podnet_cni_result_add_dns(podnet_cni_result *res, const char *nameserver, const char *domain,
                              const char *search, const char *option);
size_t podnet_cni_result_n_interfaces(const podnet_cni_result *res);
size_t podnet_cni_result_n_ips(const podnet_cni_result *res);
size_t podnet_cni_result_n_routes(const podnet_cni_result *res);
/* Accessors; NULL / -1 when out of range. Returned pointers are owned by res. */
const char *podnet_cni_result_interface_name(const podnet_cni_result *res, size_t i);
const char *podnet_cni_result_interface_mac(const podnet_cni_result *res, size_t i);
const char *podnet_cni_result_interface_sandbox(const podnet_cni_result *res, size_t i);
const podnet_cidr *podnet_cni_result_ip_addr(const podnet_cni_result *res, size_t i);
const podnet_cidr *podnet_cni_result_ip_gateway(const podnet_cni_result *res, size_t i);
int podnet_cni_result_ip_interface(const podnet_cni_result *res, size_t i);
const podnet_cidr *podnet_cni_result_route_dst(const podnet_cni_result *res, size_t i);
const podnet_cidr *podnet_cni_result_route_gw(const podnet_cni_result *res, size_t i);
/* Encodes in CNI version `version` (converting down as the spec says); *ret is
 * the caller's to free(). -ENOTSUP if the result cannot be expressed. */
int podnet_cni_result_format(const podnet_cni_result *res, const char *version, char **ret,
                             podnet_error **err);
/* Encodes an error object {cniVersion, code, msg, details}; *ret is the caller's. */
int podnet_cni_error_format(const podnet_error *error, const char *version, char **ret);
/* {"cniVersion": version, "supportedVersions": [...]}; *ret is the caller's. */
int podnet_cni_version_format(const char *version, char **ret);

/* ------------------------------------------------------------------------- */
/* The CNI plugin's verbs                                     podnet_cni_add(3) */

/* The whole of podnet-cni's work for each verb, on parsed input. ADD fills *ret
 * (the caller frees it); failures leave nothing behind. DEL is idempotent and works
 * with CNI_NETNS empty or gone. GC takes the valid attachments from the
 * configuration. STATUS returns 0 when ADD can be served. */
int podnet_cni_add(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                   podnet_cni_result **ret, podnet_error **err);
int podnet_cni_del(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                   podnet_error **err);
/* DEL whose veth teardown is left to the caller: everything podnet_cni_del() does,
 * except that the pair is only taken down (podnet_veth_detach()). Returns 1 when the
 * caller should still call podnet_veth_delete() (e.g. from a detached process, so that
 * the runtime does not wait for the kernel), 0 when there is no pair to delete. */
int podnet_cni_del_deferred(podnet_ctx *ctx, const podnet_cni_conf *conf,
                            const podnet_cni_args *args, podnet_error **err);
int podnet_cni_check(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                     podnet_error **err);
int podnet_cni_gc(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                  podnet_error **err);
int podnet_cni_status(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                      podnet_error **err);
/* VERSION: from the request on stdin ({"cniVersion": ...}, may be empty) builds the
 * reply {"cniVersion": <the request's, else "1.1.0">, "supportedVersions": [...]};
 * *ret is the caller's. Code 6 if the request is not JSON. */
int podnet_cni_version(const char *json, size_t len, char **ret, podnet_error **err);

/* IPAM as the CNI plugin uses it: in-process host-local, or the plugin named by
 * ipam.type run from CNI_PATH. */
int podnet_cni_ipam_add(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                        podnet_cni_result **ret, podnet_error **err);
int podnet_cni_ipam_del(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                        podnet_error **err);
int podnet_cni_ipam_check(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                          podnet_error **err);
int podnet_cni_ipam_gc(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                       podnet_error **err);

/* ------------------------------------------------------------------------- */
/* Firewall (iptables-legacy through libiptc, iptables-nft)  podnet_fw_masq_ensure(3) */

/* The firewall backend the context's podnet_fw_* calls use, by name: "iptables-legacy"
 * (the default; NULL or "" restores it). -ENOENT for a backend this build lacks.
 * podnet_ctx_set_fw_backend(3) */
int podnet_ctx_set_fw_backend(podnet_ctx *ctx, const char *name);
/* Its name; owned by the library. */
const char *podnet_ctx_get_fw_backend(const podnet_ctx *ctx);
/* The lock file that the iptables backends share with iptables(8): what
 * XTABLES_LOCKFILE names (NULL or "": /run/xtables.lock). The library reads no
 * environment variable; a program that honours XTABLES_LOCKFILE passes it here. */
int podnet_ctx_set_xtables_lock(podnet_ctx *ctx, const char *path);

/* Per-network masquerade (the CNI plugin's ipMasq): one rule per network, in chain
 * PODNET-MASQ of nat POSTROUTING, masquerading traffic from `subnet` to anywhere
 * but `subnet`, tagged with a comment naming `network`. Idempotent; the xtables
 * lock is honoured; commits are atomic. Returns 1 when it added the rule, 0 when it
 * was there (the table is then not written). */
int podnet_fw_masq_ensure(podnet_ctx *ctx, const char *network, const podnet_cidr *subnet,
                          podnet_error **err);
/* 1 removed, 0 also if absent. Removes PODNET-MASQ and its jump once empty. */
int podnet_fw_masq_remove(podnet_ctx *ctx, const char *network, const podnet_cidr *subnet,
                          podnet_error **err);
/* 1 present, 0 absent. */
int podnet_fw_masq_has(podnet_ctx *ctx, const char *network, const podnet_cidr *subnet,
                       podnet_error **err);

/* Node-wide rules of podnet-routes: chain PODNET-FORWARD (filter, jumped to from
 * FORWARD) accepting traffic from and to each cluster CIDR, and chain
 * PODNET-POSTROUTING (nat, from POSTROUTING) masquerading traffic from the cluster
 * CIDRs to destinations outside every non-masquerade CIDR. Replaces the chains'
 * contents to match; one jump rule each. */
typedef struct podnet_fw_config {
        size_t size; /* sizeof(podnet_fw_config) */
        const podnet_cidr *const *cluster_cidrs;
        size_t n_cluster_cidrs;
        const podnet_cidr *const *non_masq_cidrs; /* NULL/0: the cluster CIDRs */
        size_t n_non_masq_cidrs;
        bool masquerade; /* install PODNET-POSTROUTING */
} podnet_fw_config;

/* Returns the number of table commits made (0 when already as wanted). */
int podnet_fw_node_ensure(podnet_ctx *ctx, const podnet_fw_config *cfg, podnet_error **err);
/* Removes the chains and their jump rules (both families), not PODNET-MASQ (the CNI
 * plugin's). Returns the number of table commits. */
int podnet_fw_node_teardown(podnet_ctx *ctx, podnet_error **err);
/* Text listing of podnet's chains for status output; *ret is the caller's. */
int podnet_fw_node_dump(podnet_ctx *ctx, char **ret, podnet_error **err);

/* Writes 1 to net.ipv4.ip_forward (family AF_INET) or
 * net.ipv6.conf.all.forwarding (AF_INET6) in the context's namespace. Returns 1 when
 * it wrote, 0 when forwarding was already on. */
int podnet_sysctl_enable_forwarding(podnet_ctx *ctx, int family, podnet_error **err);

/* ------------------------------------------------------------------------- */
/* Nodes, routes sync, pod CIDR allocation              podnet_nodes_parse(3) */

typedef struct podnet_nodes podnet_nodes;

/* Parses `kubectl get nodes -o json` output (a NodeList, or a single Node), or the
 * static node file format (see podnet-routes(8)), detected by content. */
int podnet_nodes_parse(podnet_nodes **ret, const char *text, size_t len, podnet_error **err);
podnet_nodes *podnet_nodes_free(podnet_nodes *nodes);
size_t podnet_nodes_count(const podnet_nodes *nodes);
/* Index of node `name`, -ENOENT if absent. */
int podnet_nodes_find(const podnet_nodes *nodes, const char *name);
const char *podnet_nodes_name(const podnet_nodes *nodes, size_t i);
size_t podnet_nodes_n_pod_cidrs(const podnet_nodes *nodes, size_t i);
const podnet_cidr *podnet_nodes_pod_cidr(const podnet_nodes *nodes, size_t i, size_t j);
/* The node's address of `family` (InternalIP preferred, then ExternalIP); NULL if
 * none. */
const podnet_cidr *podnet_nodes_address(const podnet_nodes *nodes, size_t i, int family);
/* Sets the node's pod CIDRs (replacing any). */
int podnet_nodes_set_pod_cidrs(podnet_nodes *nodes, size_t i, const podnet_cidr *const *cidrs,
                               size_t n);
/* The list as `kubectl get nodes -o json`-shaped NodeList JSON (name, pod CIDRs,
 * addresses), e.g. to feed allocations to a later sync; *ret is the caller's to free(). */
int podnet_nodes_format_json(const podnet_nodes *nodes, char **ret);

/* Gives every node without a pod CIDR one /mask subnet of each cluster CIDR, keeping
 * existing assignments and never overlapping them (kube-controller-manager's
 * --allocate-node-cidrs). Returns the number of nodes given a CIDR; -ENOSPC when the
 * cluster CIDR is exhausted (nothing is changed then). */
int podnet_nodes_allocate(podnet_nodes *nodes, const podnet_cidr *const *cluster_cidrs,
                          const unsigned *mask_sizes, size_t n_cluster_cidrs, podnet_error **err);

/* Route protocol number podnet-routes tags its routes with by default (see
 * /etc/iproute2/rt_protos; 0..255). */
#define PODNET_ROUTE_PROTOCOL 44

typedef struct podnet_sync_config {
        size_t size;           /* sizeof(podnet_sync_config) */
        const char *node_name; /* this node: its own CIDRs get no route */
        unsigned protocol;     /* 0: PODNET_ROUTE_PROTOCOL */
        unsigned table;        /* 0: main */
        bool dry_run;          /* compute and report, change nothing */
        /* Appended (read only when size covers them): a pod CIDR must lie inside one of
         * these of its family; for a family without one, the private address ranges and
         * the stricter rules of podnet_routes_sync(3) apply. */
        const podnet_cidr *const *cluster_cidrs;
        size_t n_cluster_cidrs;
        /* Appended: plain routes via the peer's address even where the kernel has nexthop
         * objects (what a kernel older than 5.3 gets), for tests and comparisons. */
        bool no_nexthops;
        /* Appended: the VXLAN overlay (podnet_routes_sync(3)). overlay: "never" (and
         * NULL: no overlay, as before it existed), "cross-subnet", "always" or "auto".
         * vxlan_vni 0: 1; vxlan_port 0: 4789; vxlan_dev NULL: "podnet.vx". */
        const char *overlay;
        unsigned vxlan_vni;
        unsigned vxlan_port;
        const char *vxlan_dev;
        /* auto: the bridge podnet-cni uses (NULL: "cbr0"); the sync gives it the gateway
         * address of each of this node's pod CIDRs, for the peers' probes */
        const char *bridge;
} podnet_sync_config;

typedef struct podnet_sync_report podnet_sync_report;

/* Reconciles the routes tagged `protocol` in the context's namespace with the node
 * list: adds missing, replaces changed, deletes stale, never touches other routes;
 * no kernel write when nothing changed. Peers whose address is not directly
 * reachable are reported, not routed; claims the node list or this node contradict
 * (outside the cluster CIDRs, covering this node's addresses, overlapping another
 * node's, ...; this node's own too) are reported PODNET_SYNC_REFUSED, not routed. *ret
 * (may be NULL) gets the report once the node list has been judged. */
int podnet_routes_sync(podnet_ctx *ctx, const podnet_nodes *nodes, const podnet_sync_config *cfg,
                       podnet_sync_report **ret, podnet_error **err);
/* Deletes every route tagged `protocol` (0: default); returns how many. */
int podnet_routes_flush(podnet_ctx *ctx, unsigned protocol, unsigned table, podnet_error **err);
podnet_sync_report *podnet_sync_report_free(podnet_sync_report *r);

typedef enum podnet_sync_action {
        PODNET_SYNC_KEPT = 0,
        PODNET_SYNC_ADDED,
        PODNET_SYNC_REPLACED,
        PODNET_SYNC_DELETED,
        PODNET_SYNC_UNREACHABLE, /* peer not directly reachable: no route installed */
        PODNET_SYNC_SKIPPED,     /* node without pod CIDR or address */
        PODNET_SYNC_FAILED,
        PODNET_SYNC_REFUSED, /* claim inconsistent with the cluster or this node: no route */
} podnet_sync_action;

size_t podnet_sync_report_count(const podnet_sync_report *r);
/* Number of entries with `action`. */
size_t podnet_sync_report_count_action(const podnet_sync_report *r, podnet_sync_action action);
/* Kernel writes (netlink requests that change state) the sync made. */
size_t podnet_sync_report_writes(const podnet_sync_report *r);
podnet_sync_action podnet_sync_report_action(const podnet_sync_report *r, size_t i);
const char *podnet_sync_report_node(const podnet_sync_report *r, size_t i); /* may be NULL */
const podnet_cidr *podnet_sync_report_dst(const podnet_sync_report *r, size_t i);
const podnet_cidr *podnet_sync_report_via(const podnet_sync_report *r, size_t i);
const char *podnet_sync_report_reason(const podnet_sync_report *r, size_t i); /* may be NULL */
const char *podnet_sync_action_name(podnet_sync_action action);

/* Route change notifications for a daemon: the fd is readable when the kernel reported a
 * route change; process() drains it and returns > 0 if a route tagged `protocol` (0:
 * default) was added, changed or deleted, or if notifications were lost (resync then). */
typedef struct podnet_route_monitor podnet_route_monitor;
int podnet_route_monitor_new(podnet_ctx *ctx, podnet_route_monitor **ret, unsigned protocol,
                             podnet_error **err);
int podnet_route_monitor_fd(const podnet_route_monitor *m);
int podnet_route_monitor_process(podnet_route_monitor *m, podnet_error **err);
podnet_route_monitor *podnet_route_monitor_free(podnet_route_monitor *m);

/* Writes the node's CNI network configuration list (.conflist for podnet-cni) for
 * `pod_cidrs` to `path` atomically (temp file + rename) unless it already has that
 * content. Returns 1 if written, 0 if unchanged. */
typedef struct podnet_conflist_config {
        size_t size;         /* sizeof(podnet_conflist_config) */
        const char *network; /* "podnet" */
        const char *bridge;  /* "cbr0" */
        const podnet_cidr *const *pod_cidrs;
        size_t n_pod_cidrs;
        unsigned mtu;         /* 0: omit (plugin picks the uplink's) */
        bool ip_masq;         /* plugin-level ipMasq */
        const char *data_dir; /* NULL: host-local's default */
        /* With ip_masq: the plugin's "firewallBackend" ("auto" or a backend's name);
         * NULL: the key is left out (podnet-cni then chooses as for "auto"). */
        const char *fw_backend;
} podnet_conflist_config;

int podnet_conflist_render(const podnet_conflist_config *cfg, char **ret, podnet_error **err);
int podnet_conflist_write(const podnet_conflist_config *cfg, const char *path, podnet_error **err);
/* Removes `path` only if it is a configuration for podnet-cni: 1 removed, 0 absent,
 * -EEXIST (file left in place) if it is someone else's. */
int podnet_conflist_remove(const char *path, podnet_error **err);

/* What podnet-routes prints, as text and as JSON (one document, two encodings); every
 * *ret is NUL-terminated, without a final newline for JSON, and the caller's to free().
 * See podnet_routes_sync(3). */

/* What a sync pass did besides the routes (podnet-routes' summary line). */
typedef struct podnet_sync_summary {
        size_t size;           /* sizeof(podnet_sync_summary) */
        bool dry_run;          /* the routes were computed, not written */
        double route_ms;       /* time podnet_routes_sync() took */
        int fw_commits;        /* firewall commits podnet_fw_node_ensure() made; -1: none run */
        const char *conf_path; /* the CNI conflist (may be NULL) */
        int conf_written;      /* 1 written, 0 up to date, -1 not managed */
} podnet_sync_summary;

enum {
        PODNET_FORMAT_CHANGES = 1u << 0, /* text: leave out the routes that were kept */
};

/* {"routes":[{"action","dst","via","node","reason"}],"summary":{"added",...,"failed",
 * "writes","dryRun","routeSyncMs"},"firewallCommits","cniConf":{"path","written"}};
 * s NULL: "summary" holds the counts and writes only. */
int podnet_sync_report_format_json(const podnet_sync_report *r, const podnet_sync_summary *s,
                                   char **ret);
/* One line per entry ("added      10.1.2.0/24 via 192.168.1.12 (node2)"), then, when s
 * is not NULL, the summary line. flags: PODNET_FORMAT_*. */
int podnet_sync_report_format_text(const podnet_sync_report *r, const podnet_sync_summary *s,
                                   unsigned flags, char **ret);

/* The status view of a dry-run report: each route's state ("ok", "missing",
 * "wrong-gateway", "stale", "installed", "unreachable", "skipped", "refused", "failed")
 * and each peer's (the worst of its routes', or "self"). */
typedef struct podnet_status_config {
        size_t size;               /* sizeof(podnet_status_config) */
        const char *node_name;     /* this node */
        unsigned protocol, table;  /* printed as given */
        const podnet_nodes *nodes; /* NULL: no node list (routes "installed", no peers) */
        bool firewall;             /* text: a FIREWALL section */
        const char *firewall_dump; /* podnet_fw_node_dump() text, or NULL */
        const char *firewall_backend; /* the backend listed, or NULL */
        const char *firewall_reason;  /* why it is the one (a sentence), or NULL */
        /* the nftables chain that drops pod traffic ("inet:filter:forward") and why, or
         * NULL (podnet_agent_pass' fw_drop_chain) */
        const char *firewall_drop_chain;
        const char *firewall_drop_reason;
} podnet_status_config;

int podnet_status_format_json(const podnet_sync_report *r, const podnet_status_config *cfg,
                              char **ret);
int podnet_status_format_text(const podnet_sync_report *r, const podnet_status_config *cfg,
                              char **ret);

/* The nodes idx[0..n) (those podnet_nodes_allocate() gave CIDRs) with their pod CIDRs:
 * {"allocated":[{"name","podCIDRs"}],"count":n}, or as text one `kubectl patch node`
 * command per node that applies it. */
int podnet_nodes_format_allocation_json(const podnet_nodes *nodes, const size_t *idx, size_t n,
                                        char **ret);
int podnet_nodes_format_allocation_text(const podnet_nodes *nodes, const size_t *idx, size_t n,
                                        char **ret);

/* Writes podnet_nodes_format_json()'s text and a newline to `path` atomically (temporary
 * file, fsync, rename), mode 0644. 0 or a negative errno. */
int podnet_nodes_write_json(const podnet_nodes *nodes, const char *path, podnet_error **err);

/* ------------------------------------------------------------------------- */
/* The node agent (what podnet-routes runs)                   podnet_agent_new(3) */

/* An agent keeps one node's routes to the other nodes' pod CIDRs, its forwarding, its
 * firewall chains and its CNI conflist in step with the cluster's node list, which it
 * gets from a node source: a file, or a command that prints it. It logs through its
 * context's log function (failures at LOG_ERR, warnings at LOG_WARNING) and hands each
 * pass's outcome to the caller; it never prints and never touches signal dispositions.
 * Not thread-safe. */
typedef struct podnet_agent podnet_agent;

typedef enum podnet_agent_pass_kind {
        PODNET_AGENT_PASS_FULL = 1,     /* forwarding, firewall chains, routes, conflist */
        PODNET_AGENT_PASS_ROUTES = 2,   /* routes restored after someone else changed them */
        PODNET_AGENT_PASS_FIREWALL = 3, /* the firewall chains checked (and repaired) */
} podnet_agent_pass_kind;

/* The outcome of one pass. Every pointer is the agent's, valid until its next pass or
 * podnet_agent_free(). */
typedef struct podnet_agent_pass {
        size_t size; /* sizeof(podnet_agent_pass): the caller's, for podnet_agent_sync() */
        podnet_agent_pass_kind kind;
        int error;   /* 0, or the first failure's negative errno (each one is logged);
                      * -ENODATA: the node list was refused and nothing changed */
        bool first;  /* FULL: no full pass with a fetched list ran before this one */
        bool changed;                       /* routes, chains or the conflist were written */
        const podnet_sync_report *report;   /* the routes' report, or NULL */
        const podnet_sync_summary *summary; /* FULL: what was done besides the routes */
        int fw_commits;                     /* FIREWALL: commits of the repair (0: intact) */
        double ms;                          /* how long the pass took */
        /* FULL: a base chain of nftables' forward hook in a table podnet does not own
         * that drops pod traffic ("inet:filter:forward"), and why ("policy drop"), or
         * NULL: none found (or not looked for: firewall off) */
        const char *fw_drop_chain;
        const char *fw_drop_reason;
        /* Appended (since PODNET_0.6). ROUTES: true when the pass routed the nodes a
         * Kubernetes watch reported changed (a partial pass), false when it restored
         * routes someone else changed. */
        bool partial;
} podnet_agent_pass;

typedef void (*podnet_agent_pass_fn)(podnet_agent *agent, const podnet_agent_pass *pass,
                                     void *userdata);

/* Strings, CIDRs and the conflist template are borrowed: they must outlive the agent. */
typedef struct podnet_agent_config {
        size_t size;           /* sizeof(podnet_agent_config) */
        const char *node_name; /* this node (required) */
        /* The node source, at most one (none: podnet_agent_load_nodes() fails). */
        const char *nodes_file;  /* kubectl JSON or the static node file; "-": stdin */
        const char *nodes_cmd;   /* a command (sh -c) printing the node list */
        unsigned nodes_timeout;  /* seconds nodes_cmd may take; 0: 30 */
        const podnet_cidr *const *cluster_cidrs;
        size_t n_cluster_cidrs;
        const podnet_cidr *const *non_masq_cidrs; /* NULL/0: the cluster CIDRs */
        size_t n_non_masq_cidrs;
        bool firewall;   /* manage PODNET-FORWARD (and PODNET-POSTROUTING) */
        bool masquerade; /* PODNET-POSTROUTING */
        bool dry_run;    /* report what a pass would change, change nothing */
        unsigned protocol, table; /* of the routes; 0: PODNET_ROUTE_PROTOCOL, main */
        const char *cni_conf_path; /* the conflist to keep; NULL: none */
        /* network, bridge, mtu, ip_masq, data_dir of the conflist; pod_cidrs ignored */
        const podnet_conflist_config *conflist;
        unsigned interval;    /* run: seconds between node list fetches; 0: 30 */
        unsigned fw_interval; /* run: seconds between firewall checks; 0: none */
        const char *run_dir;  /* the writers' locks; NULL: /run/podnet */
        podnet_agent_pass_fn on_pass; /* run: called after each pass (may be NULL) */
        void *userdata;
        bool no_nexthops; /* plain routes even where the kernel has nexthop objects */
        /* The firewall backend when firewall is set: "auto" (the detection's, at each
         * full pass, recorded in run_dir/firewall-backend for podnet-cni), or a backend's
         * name (podnet_ctx_set_fw_backend(3)); "none" as firewall false; NULL: the
         * context's. podnet's node chains are removed from every other backend. */
        const char *fw_backend;
        /* A native nftables chain "FAMILY:TABLE:CHAIN" (inet:filter:forward) whose drop
         * podnet's forwarded traffic must pass: podnet inserts its accepts for the
         * cluster CIDRs (as source or destination) there, tagged with a comment
         * "podnet: ...", keeps them there and removes them at teardown. NULL: none. */
        const char *nft_accept_chain;
        /* The Kubernetes API as the node source (LIST then WATCH of Nodes; excludes
         * nodes_file and nodes_cmd): `kubeconfig` a kubeconfig file (its current context),
         * else the in-cluster configuration: kube_host and kube_port (what
         * KUBERNETES_SERVICE_HOST and _PORT say), the service account's token and ca.crt in
         * kube_sa_dir (NULL: /var/run/secrets/kubernetes.io/serviceaccount). */
        bool kube;
        const char *kubeconfig;
        const char *kube_host, *kube_port;
        const char *kube_sa_dir;
        /* Appended: the VXLAN overlay, as podnet_sync_config's, except that NULL is
         * "auto" here (podnet-routes' default). With a mode other than "never" the
         * conflist's MTU (when the template has none) is the overlay's. */
        const char *overlay;
        unsigned vxlan_vni;
        unsigned vxlan_port;
        const char *vxlan_dev;
} podnet_agent_config;

/* Creates an agent; it takes a reference on ctx. Nothing runs yet. */
int podnet_agent_new(podnet_ctx *ctx, const podnet_agent_config *cfg, podnet_agent **ret,
                     podnet_error **err);
/* Kills what a running node list command left, releases the locks. */
podnet_agent *podnet_agent_free(podnet_agent *agent);
/* Gets the node list from the source once; *ret is the caller's. -ECANCELED (the
 * command and its process group killed, nothing logged) when stop_fd (-1: none) became
 * readable first; another negative errno after a logged failure. */
int podnet_agent_load_nodes(podnet_agent *agent, int stop_fd, podnet_nodes **ret);
/* One full pass with `nodes` under the writers' lock (none for a dry run): forwarding,
 * firewall chains, routes, then the conflist. Fills *pass (may be NULL; the caller sets
 * its size) and returns its error. */
int podnet_agent_sync(podnet_agent *agent, const podnet_nodes *nodes, podnet_agent_pass *pass);
/* Runs the agent until stop_fd (-1: none) becomes readable (it is not read), then returns 0;
 * calling it again continues where it was (a fetch under way goes on). Passes: a full
 * one after each fetch (every interval, and after podnet_agent_resync()), a route pass
 * when podnet's routes were changed by someone else, a firewall check every
 * fw_interval. -EBUSY when another agent runs on this node (network namespace). */
int podnet_agent_run(podnet_agent *agent, int stop_fd, podnet_error **err);
/* Asks run for a fetch and full pass now: 1, or 0 when a fetch is already under way. */
int podnet_agent_resync(podnet_agent *agent);
/* Takes the writers' lock that podnet's passes on this node serialise on, waiting at
 * most 60 s; returns its fd (closing it releases the lock; the caller's). */
int podnet_agent_lock(podnet_agent *agent, podnet_error **err);

enum {
        PODNET_AGENT_JSON = 1u << 0, /* podnet_agent_status(): JSON instead of text */
};

/* The node's status against `nodes` (NULL: no node list): podnet's routes and their
 * state, the peers, the firewall chains (see podnet_status_format_text(3)); *ret is the
 * caller's. A refused node list or unlisted chains are logged warnings. */
int podnet_agent_status(podnet_agent *agent, const podnet_nodes *nodes, unsigned flags,
                        char **ret);

/* Gives every node of `nodes` without a pod CIDR one /mask_sizes[i] subnet of each of the
 * agent's cluster CIDRs i (podnet_nodes_allocate(3)) and, when ret is not NULL, formats
 * what they got: one `kubectl patch node` command per node, or JSON with
 * PODNET_AGENT_JSON (podnet_nodes_format_allocation_text(3)); *ret is the caller's.
 * Returns the number of nodes given a CIDR. */
int podnet_agent_allocate(podnet_agent *agent, podnet_nodes *nodes, const unsigned *mask_sizes,
                          unsigned flags, char **ret, podnet_error **err);

/* What podnet_agent_teardown() removed; -ECANCELED where it did not try (no lock, not
 * managed). */
typedef struct podnet_agent_teardown_result {
        size_t size;  /* sizeof(podnet_agent_teardown_result) */
        int routes;   /* routes deleted, or a negative errno */
        int firewall; /* table commits removing the chains, or a negative errno */
        int conf;     /* 1 conflist removed, 0 absent; -EEXIST someone else's (kept) */
} podnet_agent_teardown_result;

/* Under the writers' lock, removes podnet's routes, its firewall chains (when managed)
 * and its conflist (when cni_conf_path is set), nothing else. Fills *res (may be NULL;
 * the caller sets its size); returns 0 or the first failure's negative errno (each one
 * logged; a conflist that is someone else's is a warning). */
int podnet_agent_teardown(podnet_agent *agent, podnet_agent_teardown_result *res);

/* The node agent's metrics and health (since PODNET_0.5). Both read a snapshot of the
 * statistics podnet_agent_run() keeps, and may be called from another thread while it
 * runs (a metrics server's), never waiting on a pass. */
/* The statistics in the Prometheus text format 0.0.4; *ret is the caller's. 0 or -errno. */
int podnet_agent_metrics(podnet_agent *agent, char **ret);
/* 1 healthy; 0 not, with *reason (the caller's) saying why: no sync yet, the last sync
 * failed, or the node source has failed for more than source_max seconds (0: never
 * judged). Negative errno on failure. */
int podnet_agent_health(podnet_agent *agent, unsigned source_max, char **reason);

/* ------------------------------------------------------------------------- */
/* Kubernetes API client (since PODNET_0.6)                   podnet_kube_new(3) */

/* A client of one Kubernetes API server over HTTPS (libcurl, loaded on first use), with
 * the credentials of a kubeconfig context or of the in-cluster service account. Calls
 * run on the caller's thread: podnet_kube_request() blocks; a call started with
 * podnet_kube_call_start() moves on as the caller polls the client's descriptors and
 * calls podnet_kube_step(). Not thread-safe: one client per thread. */
typedef struct podnet_kube podnet_kube;
typedef struct podnet_kube_call podnet_kube_call;

typedef struct podnet_kube_config {
        size_t size;            /* sizeof(podnet_kube_config) */
        const char *kubeconfig; /* a kubeconfig file; NULL: the in-cluster configuration */
        const char *context;    /* its context; NULL: its current-context */
        /* in-cluster: the API server's address (what KUBERNETES_SERVICE_HOST and
         * KUBERNETES_SERVICE_PORT say: the library reads no environment) and the service
         * account directory (NULL: /var/run/secrets/kubernetes.io/serviceaccount) */
        const char *service_host;
        const char *service_port;
        const char *service_account_dir;
} podnet_kube_config;

/* A client; *ret the caller's (podnet_kube_free()). It holds a reference on ctx, logs
 * through it. 0 or -errno: -ELIBACC when libcurl (or, for a kubeconfig, libyaml) cannot
 * be loaded, -EINVAL for a configuration it cannot use, -ENOENT for a missing file. */
int podnet_kube_new(podnet_ctx *ctx, const podnet_kube_config *cfg, podnet_kube **ret,
                    podnet_error **err);
/* Frees the client; its calls must have been freed. Returns NULL. */
podnet_kube *podnet_kube_free(podnet_kube *kube);
/* "https://host:port" as configured; owned by the client. */
const char *podnet_kube_server(const podnet_kube *kube);

/* What to ask: method (NULL: GET), path with its query (e.g. "/api/v1/nodes?limit=500"),
 * a body with its content type (NULL: application/json), a limit for the whole call in
 * seconds (0: none, for a WATCH that the server's timeoutSeconds ends). */
typedef struct podnet_kube_request_config {
        size_t size; /* sizeof(podnet_kube_request_config) */
        const char *method;
        const char *path;
        const char *content_type;
        const char *body;
        size_t body_len;
        unsigned timeout_s;
} podnet_kube_request_config;

/* Runs the request to its end. Returns the HTTP status (> 0; a status other than 2xx
 * also sets *err with the server's message) or -errno when no answer came (*err says
 * why). *body (may be NULL: discarded) receives the whole body NUL-terminated, the
 * caller's; *body_len (may be NULL) its length. */
int podnet_kube_request(podnet_kube *kube, const podnet_kube_request_config *req, char **body,
                        size_t *body_len, podnet_error **err);

/* Receives a 2xx response's body as it arrives; a negative return ends the call with
 * that error. */
typedef int (*podnet_kube_data_fn)(void *userdata, const char *data, size_t len);

/* Starts a call that moves on at each podnet_kube_step(); *ret the caller's
 * (podnet_kube_call_free(), which also abandons it). */
int podnet_kube_call_start(podnet_kube *kube, const podnet_kube_request_config *req,
                           podnet_kube_data_fn fn, void *userdata, podnet_kube_call **ret,
                           podnet_error **err);
podnet_kube_call *podnet_kube_call_free(podnet_kube_call *call);
/* Fills fds (room for max; events set, revents 0) with the descriptors to poll; returns
 * how many (at most 16). */
int podnet_kube_pollfds(const podnet_kube *kube, struct pollfd *fds, unsigned max);
/* Milliseconds until podnet_kube_step() is due without an event, as poll() takes them;
 * -1: none. */
int podnet_kube_timeout(const podnet_kube *kube);
/* Moves every call of the client on without blocking. */
void podnet_kube_step(podnet_kube *kube);
/* 1 once the call ended, else 0. */
int podnet_kube_call_done(const podnet_kube_call *call);
/* An ended call: 0 for a 2xx status, else -errno with *err saying what went wrong;
 * -EINPROGRESS while it runs. *status (may be NULL) the HTTP status, 0 when none came. */
int podnet_kube_call_result(const podnet_kube_call *call, long *status, podnet_error **err);

/* The pod CIDR allocator controller (since PODNET_0.6): `podnet-routes allocate --watch`.
 * Options of podnet_agent_allocate_watch(); zero fields take the defaults (client-go's
 * leader election timings). */
typedef struct podnet_allocator_config {
        size_t size;                  /* sizeof(podnet_allocator_config) */
        const unsigned *mask_sizes;   /* one per cluster CIDR of the agent, in its order */
        const char *lease_name;       /* NULL: "podnet-allocator" */
        const char *lease_namespace;  /* NULL: "kube-system" */
        const char *identity;         /* this candidate, unique among the replicas */
        unsigned lease_duration_ms;   /* 0: 15000 */
        unsigned renew_deadline_ms;   /* 0: 10000 */
        unsigned retry_period_ms;     /* 0: 2000 */
} podnet_allocator_config;

/* Runs the allocator until stop_fd (-1: none) becomes readable: LISTs and WATCHes the
 * Nodes through the agent's Kubernetes source and, while it holds the coordination.k8s.io
 * Lease, gives each Node without pod CIDRs one subnet of each of the agent's cluster
 * CIDRs by a JSON patch (tested: the Node still has none). A CIDR is never handed out
 * twice: every CIDR listed, patched or read back is taken until a node list shows it.
 * On stop, a held Lease is released. Returns 0 after stop_fd, -errno with *err on a
 * configuration error (no Kubernetes source, no cluster CIDR, bad masks or lease
 * options). Failures of the API are logged and retried, never returned. */
int podnet_agent_allocate_watch(podnet_agent *agent, const podnet_allocator_config *cfg,
                                int stop_fd, podnet_error **err);

#ifdef __cplusplus
}
#endif

#endif

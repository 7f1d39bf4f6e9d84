/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to lib/cni/: the parsed forms of a CNI network configuration and CNI_*
 * environment, shared by the parser (cni-conf.c, cni-args.c), the IPAM adapter
 * (cni-ipam.c) and the verbs (cni-plugin.c), and what these files offer each other
 * (result building, JSON readers, name checks with CNI codes).
 */
#ifndef PODNET_CNI_H
#define PODNET_CNI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/internal.h"

struct pn_ipam_range {
        podnet_cidr *subnet;      /* network (host bits cleared) */
        podnet_cidr *range_start; /* NULL: host-local default */
        podnet_cidr *range_end;   /* NULL: host-local default */
        podnet_cidr *gateway;     /* NULL: host-local default (network + 1) */
};

struct pn_ipam_range_set {
        struct pn_ipam_range *ranges;
        size_t n_ranges;
};

struct pn_route {
        podnet_cidr *dst;
        podnet_cidr *gw; /* NULL: via the default gateway / on-link */
};

/* ipam of "type": "host-local" (the only IPAM podnet runs in-process). */
struct pn_ipam_conf {
        struct pn_ipam_range_set *sets; /* `ranges`, or the deprecated top-level `subnet` */
        size_t n_sets;
        struct pn_route *routes;
        size_t n_routes;
        char *data_dir;    /* NULL: /var/lib/cni/networks */
        char *resolv_conf; /* NULL: no DNS from a file */
};

struct podnet_cni_conf {
        char *json;        /* the raw configuration text */
        char *cni_version; /* validated: one of podnet_cni_supported_versions() */
        char *name;        /* validated network name */
        char *type;

        /* The reference bridge plugin's keys (kubenet's configuration). */
        char *bridge; /* default "cbr0" */
        bool is_gateway;
        bool is_default_gateway; /* implies is_gateway */
        bool force_address;
        bool ip_masq;
        bool hairpin_mode;
        bool promisc_mode;
        bool enable_dad; /* default false */
        unsigned mtu;    /* 0: absent (use the default-route link's MTU) */
        /* podnet's key: the firewall backend of ipMasq's rules, "auto" or a backend's
         * name (validated); NULL: absent, as "auto". */
        char *fw_backend;

        char *ipam_type;          /* NULL: no ipam section */
        bool ipam_in_process;     /* ipam_type is "host-local" */
        struct pn_ipam_conf ipam; /* filled when ipam_in_process */

        /* Requested addresses: runtimeConfig.ips and args.cni.ips (CNI_ARGS IP= is in
         * podnet_cni_args). */
        podnet_cidr **req_ips;
        size_t n_req_ips;
        char *req_mac; /* runtimeConfig.mac or args.cni.mac; NULL if none */

        /* GC: cni.dev/valid-attachments (or cni.dev/attachments). */
        bool has_valid_attachments;
        podnet_attachment *valid_attachments; /* strings owned by the conf */
        size_t n_valid_attachments;

        podnet_cni_result *prev_result; /* NULL if absent */
};

struct podnet_cni_args {
        char *command; /* ADD DEL CHECK GC STATUS VERSION */
        char *container_id;
        char *netns; /* may be NULL/empty for DEL, GC, STATUS */
        char *ifname;
        char *path; /* CNI_PATH, may be NULL */
        char *args; /* raw CNI_ARGS */
        /* Parsed CNI_ARGS. */
        char **keys, **values;
        size_t n_args;
        bool ignore_unknown;
        podnet_cidr **req_ips; /* IP=a,b */
        size_t n_req_ips;
        char *req_mac; /* MAC= */
};

/* A result in the 1.x model; every older shape converts to and from it. */
struct pn_cni_iface {
        char *name;
        char *mac;         /* NULL: absent */
        unsigned mtu;      /* 0: absent (1.x only) */
        char *sandbox;     /* NULL: host-side interface */
        char *socket_path; /* 1.x only; kept from parsed results */
        char *pci_id;      /* 1.x only; kept from parsed results */
};

struct pn_cni_ip {
        int interface;     /* index into ifaces, -1: none */
        podnet_cidr *addr; /* address with prefix */
        podnet_cidr *gw;   /* NULL: none */
};

struct pn_cni_route {
        podnet_cidr *dst;
        podnet_cidr *gw; /* NULL: none */
        /* CNI 1.1 attributes (printed only in 1.1.0); 0 / -1: absent. */
        unsigned mtu, advmss, priority;
        int table, scope;
};

struct pn_cni_dns {
        char **nameservers;
        size_t n_nameservers;
        char *domain;
        char **search;
        size_t n_search;
        char **options;
        size_t n_options;
};

struct podnet_cni_result {
        char *cni_version; /* as parsed; NULL for a result built in code */
        struct pn_cni_iface *ifaces;
        size_t n_ifaces;
        struct pn_cni_ip *ips;
        size_t n_ips;
        struct pn_cni_route *routes;
        size_t n_routes;
        struct pn_cni_dns dns;
};

/* Appends a route with the 1.1 attributes (mtu/advmss/priority 0 and table/scope -1
 * mean absent). Returns the route's index or -errno. */
int pn_cni_result_add_route_full(podnet_cni_result *res, const struct pn_cni_route *route);
/* Points IP i of res at interface index iface (IPAM results carry none). */
int pn_cni_result_set_ip_interface(podnet_cni_result *res, size_t i, int iface);

/* Index of `version` in podnet_cni_supported_versions(), -1 if unsupported. */
int pn_cni_version_index(const char *version);

/* JSON helpers shared by the CNI parsers (cni-json.c). `path` is the dotted path of
 * the object holding `key` ("" at the top level, "ipam.ranges[0][0]"); messages name
 * "<path>.<key>" and errors carry CNI code `code`. */
struct json_t;
enum {
        PN_JSON_STRING = 1 << 0,
        PN_JSON_NUMBER = 1 << 1,
        PN_JSON_BOOL = 1 << 2,
        PN_JSON_OBJECT = 1 << 3,
        PN_JSON_ARRAY = 1 << 4,
};
/* "path.key", or "key" when path is empty; "path[index]" when key is NULL. NULL on
 * out-of-memory. The caller frees it. */
char *pn_json_path(const char *path, const char *key, size_t index);
/* 1 and *ret (borrowed) if obj[key] is present and not null, 0 if absent or null,
 * -EINVAL if of another kind than `kinds`. */
int pn_json_member(struct json_t *obj, const char *path, const char *key, int kinds,
                   struct json_t **ret, int code, podnet_error **err);
int pn_json_string(struct json_t *obj, const char *path, const char *key, const char **ret,
                   int code, podnet_error **err);
int pn_json_bool(struct json_t *obj, const char *path, const char *key, bool *ret, int code,
                 podnet_error **err);
/* An integer in [0, max]. */
int pn_json_uint(struct json_t *obj, const char *path, const char *key, unsigned max, unsigned *ret,
                 int code, podnet_error **err);
/* A string holding a CIDR ("10.1.2.3/24"; want_prefix) or a bare address. */
int pn_json_cidr(struct json_t *obj, const char *path, const char *key, bool want_prefix,
                 podnet_cidr **ret, int code, podnet_error **err);
/* Parses text as a CIDR (want_prefix) or bare address; message names `where`. */
int pn_cidr_parse_checked(podnet_cidr **ret, const char *text, bool want_prefix, const char *where,
                          int code, podnet_error **err);
/* A requested IP (CIDR or bare address) appended to (*v, *n): -EINVAL with *err naming
 * `where`, or -ENOMEM with *err left to the caller. */
int pn_cidr_list_append(podnet_cidr ***v, size_t *n, const char *text, const char *where, int code,
                        podnet_error **err);
/* A JSON string of s with invalid UTF-8 bytes replaced by '?'. */
struct json_t *pn_json_string_new(const char *s);
/* The text of a CNI answer (indented by 4, keys in insertion order) into *ret; consumes
 * root (NULL: -ENOMEM). */
int pn_json_dump(struct json_t *root, char **ret);

/* Replaces *dst (freed) with a copy of src, NULL if src is NULL. 0 or -ENOMEM. */
static inline int pn_strdup_replace(char **dst, const char *src)
{
        char *copy = NULL;

        if (src && !(copy = strdup(src)))
                return -ENOMEM;
        free(*dst);
        *dst = copy;
        return 0;
}

/* Decodes a result from a parsed JSON value in any supported shape (the 0.1/0.2
 * ip4/ip6 form is recognised by its keys). `version` must be supported (code 1);
 * the result keeps the object's own cniVersion, else `version`. Errors carry `code`
 * and name `path` (e.g. "prevResult.ips[0].address"). */
int pn_cni_result_from_json(podnet_cni_result **ret, struct json_t *obj, const char *version,
                            const char *path, int code, podnet_error **err);

/* Name validation shared by the parser and the verbs (libcni's rules). Return 0 or
 * a negative errno with *err naming the value (CNI code 4 for the environment, 7 for
 * the configuration). */
int pn_cni_validate_container_id(const char *id, podnet_error **err);
int pn_cni_validate_ifname(const char *ifname, podnet_error **err);
int pn_cni_validate_network_name(const char *name, podnet_error **err);
/* The interface-name rules for any name (e.g. the configuration's "bridge"); the
 * message names `what`. */
int pn_cni_validate_name_as_ifname(const char *name, const char *what, int code,
                                   podnet_error **err);
/* true for "aa:bb:cc:dd:ee:ff" (or '-' separated). */
bool pn_cni_mac_valid(const char *mac);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private: the parsed forms of a CNI network configuration and CNI_* environment,
 * shared by the parser (cni-conf.c, cni-args.c), the IPAM adapter (cni-ipam.c) and
 * the verbs (cni-plugin.c). Everything here is plain C data; JSON stays in the parser.
 */
#ifndef PODNET_CNI_H
#define PODNET_CNI_H

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

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

/* Name validation shared by the parser and the verbs (libcni's rules). Return 0 or
 * a negative errno with *err naming the value (CNI code 4 for the environment, 7 for
 * the configuration). */
int pn_cni_validate_container_id(const char *id, podnet_error **err);
int pn_cni_validate_ifname(const char *ifname, podnet_error **err);
int pn_cni_validate_network_name(const char *name, podnet_error **err);

#endif

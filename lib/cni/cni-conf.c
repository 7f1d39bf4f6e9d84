/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CNI network configuration: JSON (the reference bridge plugin's keys and
 * host-local's ipam section) into struct podnet_cni_conf, validated, plus accessors.
 */
#include <arpa/inet.h>
#include <jansson.h>

#include "core/cidr.h"
#include "cni/cni.h"
#include "firewall/fw.h"

#define CODE PODNET_CNI_ERR_INVALID_CONFIG

static void ipam_conf_clear(struct pn_ipam_conf *ipam)
{
        for (size_t i = 0; i < ipam->n_sets; i++) {
                struct pn_ipam_range_set *set = &ipam->sets[i];

                for (size_t j = 0; j < set->n_ranges; j++) {
                        podnet_cidr_free(set->ranges[j].subnet);
                        podnet_cidr_free(set->ranges[j].range_start);
                        podnet_cidr_free(set->ranges[j].range_end);
                        podnet_cidr_free(set->ranges[j].gateway);
                }
                free(set->ranges);
        }
        free(ipam->sets);
        for (size_t i = 0; i < ipam->n_routes; i++) {
                podnet_cidr_free(ipam->routes[i].dst);
                podnet_cidr_free(ipam->routes[i].gw);
        }
        free(ipam->routes);
        free(ipam->data_dir);
        free(ipam->resolv_conf);
        memset(ipam, 0, sizeof(*ipam));
}

PODNET_EXPORT podnet_cni_conf *podnet_cni_conf_free(podnet_cni_conf *conf)
{
        if (!conf)
                return NULL;
        free(conf->json);
        free(conf->cni_version);
        free(conf->name);
        free(conf->type);
        free(conf->bridge);
        free(conf->fw_backend);
        free(conf->ipam_type);
        ipam_conf_clear(&conf->ipam);
        for (size_t i = 0; i < conf->n_req_ips; i++)
                podnet_cidr_free(conf->req_ips[i]);
        free(conf->req_ips);
        free(conf->req_mac);
        for (size_t i = 0; i < conf->n_valid_attachments; i++) {
                free((char *)conf->valid_attachments[i].container_id);
                free((char *)conf->valid_attachments[i].ifname);
        }
        free(conf->valid_attachments);
        podnet_cni_result_free(conf->prev_result);
        free(conf);
        return NULL;
}

static int oom(podnet_error **err)
{
        return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL,
                              "Parsing network configuration: out of memory");
}

static int strdup_opt(char **dst, const char *src, podnet_error **err)
{
        return pn_strdup_replace(dst, src) < 0 ? oom(err) : 0;
}

/* The first and last address host-local allocates from in `r`, as numbers (its
 * defaults when rangeStart/rangeEnd are absent: network + 1 .. broadcast - 1 for IPv4,
 * the last address for IPv6). The subnet leaves at least two host bits. */
static void range_bounds(const struct pn_ipam_range *r, pn_addr128 *first, pn_addr128 *last)
{
        pn_addr128 net = pn_cidr_a128(r->subnet), one = pn_a128_make(0, 1);

        *first = r->range_start ? pn_cidr_a128(r->range_start) : pn_a128_add(net, one, NULL);
        if (r->range_end)
                *last = pn_cidr_a128(r->range_end);
        else if (r->subnet->family == AF_INET)
                *last = pn_a128_sub(pn_a128_or(net, pn_cidr_hostmask(r->subnet)), one, NULL);
        else
                *last = pn_a128_or(net, pn_cidr_hostmask(r->subnet));
}

static bool ranges_overlap(const struct pn_ipam_range *a, const struct pn_ipam_range *b)
{
        pn_addr128 af, al, bf, bl;

        if (a->subnet->family != b->subnet->family)
                return false;
        range_bounds(a, &af, &al);
        range_bounds(b, &bf, &bl);
        return pn_a128_cmp(af, bl) <= 0 && pn_a128_cmp(bf, al) <= 0;
}

/* One {subnet, rangeStart, rangeEnd, gateway} object; `path` names it. */
static int parse_range(json_t *o, const char *path, struct pn_ipam_range *r, podnet_error **err)
{
        _cleanup_cidr_ podnet_cidr *subnet = NULL;
        char buf[PODNET_CIDR_STRLEN];
        const struct {
                const char *key;
                podnet_cidr **dst;
        } addrs[] = {
            {"rangeStart", &r->range_start},
            {"rangeEnd", &r->range_end},
            {"gateway", &r->gateway},
        };
        int ret;

        if (!json_is_object(o))
                return pn_error_plain(err, EINVAL, CODE, "Key \"%s\" must be an object", path);
        ret = pn_json_cidr(o, path, "subnet", true, &subnet, CODE, err);
        if (ret == 0)
                return pn_error_plain(err, EINVAL, CODE, "Key \"%s.subnet\" is required", path);
        if (ret < 0)
                return ret;
        if (podnet_cidr_network(&r->subnet, subnet) < 0)
                return oom(err);
        if (subnet->prefixlen > pn_cidr_bits(subnet) - 2) {
                podnet_cidr_format(subnet, buf, sizeof(buf));
                return pn_error_plain(err, EINVAL, CODE,
                                      "Network %s in %s.subnet is too small to allocate from", buf,
                                      path);
        }
        for (size_t i = 0; i < ELEMENTSOF(addrs); i++) {
                ret = pn_json_cidr(o, path, addrs[i].key, false, addrs[i].dst, CODE, err);
                if (ret < 0)
                        return ret;
                if (ret > 0 && (podnet_cidr_family(*addrs[i].dst) != podnet_cidr_family(subnet) ||
                                podnet_cidr_contains(r->subnet, *addrs[i].dst) != 1)) {
                        podnet_cidr_format_addr(*addrs[i].dst, buf, sizeof(buf));
                        return pn_error_plain(err, EINVAL, CODE,
                                              "Key \"%s.%s\": %s is not inside the subnet", path,
                                              addrs[i].key, buf);
                }
        }
        if (r->range_start && r->range_end && pn_cidr_addr_cmp(r->range_start, r->range_end) > 0)
                return pn_error_plain(err, EINVAL, CODE,
                                      "Key \"%s.rangeStart\" is after %s.rangeEnd", path, path);
        return 0;
}

static int set_push_range(struct pn_ipam_range_set *set, struct pn_ipam_range **ret)
{
        struct pn_ipam_range *v = reallocarray(set->ranges, set->n_ranges + 1, sizeof(*v));

        if (!v)
                return -ENOMEM;
        set->ranges = v;
        *ret = memset(&v[set->n_ranges++], 0, sizeof(*v));
        return 0;
}

static int ipam_push_set(struct pn_ipam_conf *ipam, struct pn_ipam_range_set **ret)
{
        struct pn_ipam_range_set *v = reallocarray(ipam->sets, ipam->n_sets + 1, sizeof(*v));

        if (!v)
                return -ENOMEM;
        ipam->sets = v;
        *ret = memset(&v[ipam->n_sets++], 0, sizeof(*v));
        return 0;
}

/* A path for range j of set i: "ipam.ranges[i][j]", or "ipam" for the deprecated
 * top-level form (which is set 0 when present). */
static char *range_path(bool deprecated_first, size_t i, size_t j)
{
        char *p = NULL;

        if (deprecated_first && i == 0)
                return strdup("ipam");
        if (asprintf(&p, "ipam.ranges[%zu][%zu]", deprecated_first ? i - 1 : i, j) < 0)
                return NULL;
        return p;
}

/* Range j of set i: one address family per set, no overlap with any earlier range (in
 * this set or an earlier one). */
static int validate_range(const struct pn_ipam_conf *ipam, bool dep, size_t i, size_t j,
                          podnet_error **err)
{
        const struct pn_ipam_range *r = &ipam->sets[i].ranges[j];

        if (r->subnet->family != ipam->sets[i].ranges[0].subnet->family) {
                _cleanup_free_ char *p = range_path(dep, i, j);
                return pn_error_plain(err, EINVAL, CODE,
                                      "Key \"%s.subnet\": a range set mixes address families",
                                      p ? p : "ipam");
        }
        for (size_t k = 0; k <= i; k++)
                for (size_t l = 0; l < (k == i ? j : ipam->sets[k].n_ranges); l++)
                        if (ranges_overlap(r, &ipam->sets[k].ranges[l])) {
                                _cleanup_free_ char *p = range_path(dep, i, j);
                                _cleanup_free_ char *q = range_path(dep, k, l);
                                return pn_error_plain(err, EINVAL, CODE, "Ranges %s and %s overlap",
                                                      q ? q : "ipam", p ? p : "ipam");
                        }
        return 0;
}

static int validate_sets(const struct pn_ipam_conf *ipam, bool dep, podnet_error **err)
{
        for (size_t i = 0; i < ipam->n_sets; i++)
                for (size_t j = 0; j < ipam->sets[i].n_ranges; j++) {
                        int r = validate_range(ipam, dep, i, j, err);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int parse_ipam_routes(json_t *ipam, struct pn_ipam_conf *c, podnet_error **err)
{
        json_t *arr, *item;
        size_t i;
        int r;

        r = pn_json_member(ipam, "ipam", "routes", PN_JSON_ARRAY, &arr, CODE, err);
        if (r <= 0)
                return r;
        c->routes = calloc(json_array_size(arr) + 1, sizeof(*c->routes));
        if (!c->routes)
                return oom(err);
        for (i = 0; i < json_array_size(arr) && (item = json_array_get(arr, i)); i++) {
                char path[64];
                struct pn_route *rt = &c->routes[c->n_routes];

                snprintf(path, sizeof(path), "ipam.routes[%zu]", i);
                if (!json_is_object(item))
                        return pn_error_plain(err, EINVAL, CODE, "Key \"%s\" must be an object",
                                              path);
                r = pn_json_cidr(item, path, "dst", true, &rt->dst, CODE, err);
                if (r == 0)
                        return pn_error_plain(err, EINVAL, CODE, "Key \"%s.dst\" is required",
                                              path);
                c->n_routes++;
                if (r < 0 || (r = pn_json_cidr(item, path, "gw", false, &rt->gw, CODE, err)) < 0)
                        return r;
                if (rt->gw && podnet_cidr_family(rt->gw) != podnet_cidr_family(rt->dst))
                        return pn_error_plain(err, EINVAL, CODE,
                                              "Key \"%s.gw\" is of another address family than "
                                              "dst",
                                              path);
        }
        return 0;
}

static int parse_host_local(json_t *ipam, struct pn_ipam_conf *c, podnet_error **err)
{
        struct pn_ipam_range_set *set;
        struct pn_ipam_range *range;
        json_t *ranges, *jset, *jrange;
        const char *s;
        bool dep = false;
        size_t i, j;
        int r;

        /* The deprecated single range at the top of ipam comes first, as in host-local. */
        r = pn_json_member(ipam, "ipam", "subnet", PN_JSON_STRING, &jrange, CODE, err);
        if (r < 0)
                return r;
        if (r > 0) {
                dep = true;
                if (ipam_push_set(c, &set) < 0 || set_push_range(set, &range) < 0)
                        return oom(err);
                r = parse_range(ipam, "ipam", range, err);
                if (r < 0)
                        return r;
        } else {
                static const char *const keys[] = {"rangeStart", "rangeEnd", "gateway"};

                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        if (json_object_get(ipam, keys[k]) &&
                            !json_is_null(json_object_get(ipam, keys[k])))
                                return pn_error_plain(err, EINVAL, CODE,
                                                      "Key \"ipam.%s\" needs ipam.subnet", keys[k]);
        }
        r = pn_json_member(ipam, "ipam", "ranges", PN_JSON_ARRAY, &ranges, CODE, err);
        if (r < 0)
                return r;
        for (i = 0; i < json_array_size(ranges) && (jset = json_array_get(ranges, i)); i++) {
                if (!json_is_array(jset))
                        return pn_error_plain(err, EINVAL, CODE,
                                              "Key \"ipam.ranges[%zu]\" must be an array, got %s",
                                              i, json_is_object(jset) ? "object" : "another type");
                if (json_array_size(jset) == 0)
                        return pn_error_plain(err, EINVAL, CODE,
                                              "Key \"ipam.ranges[%zu]\" is an empty range set", i);
                if (ipam_push_set(c, &set) < 0)
                        return oom(err);
                for (j = 0; j < json_array_size(jset) && (jrange = json_array_get(jset, j)); j++) {
                        char path[64];

                        snprintf(path, sizeof(path), "ipam.ranges[%zu][%zu]", i, j);
                        if (set_push_range(set, &range) < 0)
                                return oom(err);
                        r = parse_range(jrange, path, range, err);
                        if (r < 0)
                                return r;
                }
        }
        if (c->n_sets == 0)
                return pn_error_plain(err, EINVAL, CODE,
                                      "No IP ranges in ipam: set ipam.ranges or ipam.subnet");
        r = validate_sets(c, dep, err);
        if (r < 0)
                return r;
        r = parse_ipam_routes(ipam, c, err);
        if (r < 0)
                return r;
        r = pn_json_string(ipam, "ipam", "dataDir", &s, CODE, err);
        if (r < 0)
                return r;
        if (r > 0 && s[0] != '/')
                return pn_error_plain(err, EINVAL, CODE,
                                      "Key \"ipam.dataDir\" must be an absolute path, got \"%s\"",
                                      s);
        if (r > 0 && strdup_opt(&c->data_dir, s, err) < 0)
                return -ENOMEM;
        r = pn_json_string(ipam, "ipam", "resolvConf", &s, CODE, err);
        if (r < 0)
                return r;
        if (r > 0 && !isempty(s) && strdup_opt(&c->resolv_conf, s, err) < 0)
                return -ENOMEM;
        return 0;
}

/* {ips: [...], mac: "..."} of runtimeConfig or args.cni. */
static int parse_requests(podnet_cni_conf *conf, json_t *obj, const char *path, podnet_error **err)
{
        json_t *ips, *item;
        const char *mac;
        size_t i;
        int r;

        r = pn_json_member(obj, path, "ips", PN_JSON_ARRAY, &ips, CODE, err);
        if (r < 0)
                return r;
        for (i = 0; i < json_array_size(ips) && (item = json_array_get(ips, i)); i++) {
                char where[64];

                snprintf(where, sizeof(where), "%s.ips[%zu]", path, i);
                if (!json_is_string(item))
                        return pn_error_plain(err, EINVAL, CODE, "Key \"%s\" must be a string",
                                              where);
                r = pn_cidr_list_append(&conf->req_ips, &conf->n_req_ips, json_string_value(item),
                                        where, CODE, err);
                if (r < 0)
                        return r == -ENOMEM ? oom(err) : r;
        }
        r = pn_json_string(obj, path, "mac", &mac, CODE, err);
        if (r <= 0 || isempty(mac))
                return r;
        if (!pn_cni_mac_valid(mac))
                return pn_error_plain(err, EINVAL, CODE,
                                      "Key \"%s.mac\": invalid MAC address \"%s\"", path, mac);
        return strdup_opt(&conf->req_mac, mac, err);
}

static int parse_attachments(podnet_cni_conf *conf, json_t *root, podnet_error **err)
{
        static const char *const keys[] = {"cni.dev/valid-attachments", "cni.dev/attachments"};
        json_t *arr = NULL, *item;
        const char *key = NULL;
        size_t i;
        int r;

        for (size_t k = 0; k < ELEMENTSOF(keys) && !arr; k++) {
                r = pn_json_member(root, "", keys[k], PN_JSON_ARRAY, &arr, CODE, err);
                if (r < 0)
                        return r;
                key = keys[k];
        }
        if (!arr)
                return 0;
        conf->has_valid_attachments = true;
        conf->valid_attachments = calloc(json_array_size(arr) + 1, sizeof(podnet_attachment));
        if (!conf->valid_attachments)
                return oom(err);
        for (i = 0; i < json_array_size(arr) && (item = json_array_get(arr, i)); i++) {
                podnet_attachment *a = &conf->valid_attachments[conf->n_valid_attachments];
                const char *id, *ifname;
                char path[64];

                snprintf(path, sizeof(path), "%s[%zu]", key, i);
                if (!json_is_object(item))
                        return pn_error_plain(err, EINVAL, CODE, "Key \"%s\" must be an object",
                                              path);
                if ((r = pn_json_string(item, path, "containerID", &id, CODE, err)) < 0 ||
                    (r = pn_json_string(item, path, "ifname", &ifname, CODE, err)) < 0)
                        return r;
                if (isempty(id) || isempty(ifname))
                        return pn_error_plain(err, EINVAL, CODE,
                                              "Key \"%s\" needs containerID and ifname", path);
                a->container_id = strdup(id);
                a->ifname = strdup(ifname);
                conf->n_valid_attachments++;
                if (!a->container_id || !a->ifname)
                        return oom(err);
        }
        return 0;
}

static int parse_ipam(podnet_cni_conf *conf, json_t *root, podnet_error **err)
{
        const char *type;
        json_t *ipam;
        int r;

        r = pn_json_member(root, "", "ipam", PN_JSON_OBJECT, &ipam, CODE, err);
        if (r <= 0)
                return r;
        r = pn_json_string(ipam, "ipam", "type", &type, CODE, err);
        if (r < 0)
                return r;
        if (isempty(type))
                return pn_error_plain(err, EINVAL, CODE, "Key \"ipam.type\" is required");
        if (strdup_opt(&conf->ipam_type, type, err) < 0)
                return -ENOMEM;
        conf->ipam_in_process = streq(type, "host-local");
        return conf->ipam_in_process ? parse_host_local(ipam, &conf->ipam, err) : 0;
}

static int parse_root(podnet_cni_conf *conf, json_t *root, podnet_error **err)
{
        const struct {
                const char *key;
                bool *dst;
        } bools[] = {
            {"isGateway", &conf->is_gateway},       {"isDefaultGateway", &conf->is_default_gateway},
            {"forceAddress", &conf->force_address}, {"ipMasq", &conf->ip_masq},
            {"hairpinMode", &conf->hairpin_mode},   {"promiscMode", &conf->promisc_mode},
            {"enabledad", &conf->enable_dad},
        };
        const char *s;
        json_t *obj, *cni;
        int r;

        /* libcni reads a configuration without cniVersion as 0.1.0. */
        r = pn_json_string(root, "", "cniVersion", &s, CODE, err);
        if (r < 0)
                return r;
        if (strdup_opt(&conf->cni_version, r > 0 ? s : "0.1.0", err) < 0)
                return -ENOMEM;
        if (!podnet_cni_version_supported(conf->cni_version))
                return pn_error_plain(err, ENOTSUP, PODNET_CNI_ERR_INCOMPATIBLE_VERSION,
                                      "Unsupported CNI version \"%s\" (supported: 0.1.0, 0.2.0, "
                                      "0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)",
                                      conf->cni_version);

        r = pn_json_string(root, "", "name", &s, CODE, err);
        if (r < 0)
                return r;
        if (isempty(s))
                return pn_error_plain(err, EINVAL, CODE, "Key \"name\" is required");
        if ((r = pn_cni_validate_network_name(s, err)) < 0 || strdup_opt(&conf->name, s, err) < 0)
                return r < 0 ? r : -ENOMEM;

        r = pn_json_string(root, "", "type", &s, CODE, err);
        if (r < 0)
                return r;
        if (isempty(s))
                return pn_error_plain(err, EINVAL, CODE, "Key \"type\" is required");
        if (strdup_opt(&conf->type, s, err) < 0)
                return -ENOMEM;

        r = pn_json_string(root, "", "bridge", &s, CODE, err);
        if (r < 0)
                return r;
        if (isempty(s))
                s = "cbr0";
        if ((r = pn_cni_validate_name_as_ifname(s, "bridge", CODE, err)) < 0 ||
            strdup_opt(&conf->bridge, s, err) < 0)
                return r < 0 ? r : -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(bools); i++)
                if ((r = pn_json_bool(root, "", bools[i].key, bools[i].dst, CODE, err)) < 0)
                        return r;
        if (conf->is_default_gateway)
                conf->is_gateway = true;
        r = pn_json_uint(root, "", "mtu", 65535, &conf->mtu, CODE, err);
        if (r < 0)
                return r;
        if (conf->mtu && conf->mtu < 68)
                return pn_error_plain(err, ERANGE, CODE, "Key \"mtu\" must be at least 68, got %u",
                                      conf->mtu);

        r = pn_json_string(root, "", "firewallBackend", &s, CODE, err);
        if (r < 0)
                return r;
        if (r > 0 && !streq(s, PN_FW_AUTO) && !pn_fw_backend_by_name(s))
                return pn_error_plain(err, EINVAL, CODE,
                                      "Key \"firewallBackend\" must be \"auto\", "
                                      "\"iptables-legacy\" or \"iptables-nft\", got \"%s\"",
                                      s);
        if (r > 0 && strdup_opt(&conf->fw_backend, s, err) < 0)
                return -ENOMEM;

        if ((r = parse_ipam(conf, root, err)) < 0)
                return r;

        /* args.cni first, then runtimeConfig: host-local's order for requested IPs; the
         * MAC of runtimeConfig wins, as in the bridge plugin. */
        r = pn_json_member(root, "", "args", PN_JSON_OBJECT, &obj, CODE, err);
        if (r < 0)
                return r;
        if (r > 0) {
                r = pn_json_member(obj, "args", "cni", PN_JSON_OBJECT, &cni, CODE, err);
                if (r < 0 || (r > 0 && (r = parse_requests(conf, cni, "args.cni", err)) < 0))
                        return r;
        }
        r = pn_json_member(root, "", "runtimeConfig", PN_JSON_OBJECT, &obj, CODE, err);
        if (r < 0 || (r > 0 && (r = parse_requests(conf, obj, "runtimeConfig", err)) < 0))
                return r;

        if ((r = parse_attachments(conf, root, err)) < 0)
                return r;

        r = pn_json_member(root, "", "prevResult", PN_JSON_OBJECT, &obj, CODE, err);
        if (r > 0)
                r = pn_cni_result_from_json(&conf->prev_result, obj, conf->cni_version,
                                            "prevResult", CODE, err);
        return r < 0 ? r : 0;
}

PODNET_EXPORT int podnet_cni_conf_parse(podnet_cni_conf **ret, const char *json, size_t len,
                                        podnet_error **err)
{
        _cleanup_conf_ podnet_cni_conf *conf = NULL;
        json_error_t jerr;
        json_t *root;
        int r;

        if (!ret || !json)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INTERNAL,
                                      "Parsing network configuration: invalid argument");
        *ret = NULL;
        root = json_loadb(json, len, 0, &jerr);
        if (!root)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "Decoding network configuration: %s (line %d, column %d)",
                                      jerr.text, jerr.line, jerr.column);
        if (!json_is_object(root)) {
                json_decref(root);
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "Decoding network configuration: not a JSON object");
        }
        conf = calloc(1, sizeof(*conf));
        if (conf)
                conf->json = strndup(json, len);
        if (!conf || !conf->json) {
                json_decref(root);
                return oom(err);
        }
        r = parse_root(conf, root, err);
        json_decref(root);
        if (r < 0)
                return r == -ENOMEM ? oom(err) : r;
        *ret = steal_pointer(&conf);
        return 0;
}

PODNET_EXPORT const char *podnet_cni_conf_version(const podnet_cni_conf *conf)
{
        return conf ? conf->cni_version : NULL;
}

PODNET_EXPORT const char *podnet_cni_conf_name(const podnet_cni_conf *conf)
{
        return conf ? conf->name : NULL;
}

PODNET_EXPORT const char *podnet_cni_conf_type(const podnet_cni_conf *conf)
{
        return conf ? conf->type : NULL;
}

PODNET_EXPORT const char *podnet_cni_conf_bridge(const podnet_cni_conf *conf)
{
        return conf ? conf->bridge : NULL;
}

PODNET_EXPORT const char *podnet_cni_conf_ipam_type(const podnet_cni_conf *conf)
{
        return conf ? conf->ipam_type : NULL;
}

PODNET_EXPORT const podnet_cni_result *podnet_cni_conf_prev_result(const podnet_cni_conf *conf)
{
        return conf ? conf->prev_result : NULL;
}

PODNET_EXPORT const char *podnet_cni_conf_json(const podnet_cni_conf *conf)
{
        return conf ? conf->json : NULL;
}

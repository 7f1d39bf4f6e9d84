/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CNI results: the 1.x model built in code or decoded from any supported version's
 * JSON shape, and the one encoder that prints it in any supported version.
 */
#include <arpa/inet.h>
#include <jansson.h>

#include "cni/cni.h"

/* Index of "0.3.0" and "1.0.0" in the supported list: the shape boundaries. */
#define IDX_0_3_0 2
#define IDX_1_0_0 5
#define IDX_1_1_0 6

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static int strv_push(char ***v, size_t *n, const char *s)
{
        char **nv;
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        nv = reallocarray(*v, *n + 1, sizeof(**v));
        if (!nv) {
                free(copy);
                return -ENOMEM;
        }
        nv[(*n)++] = copy;
        *v = nv;
        return 0;
}

PODNET_EXPORT int podnet_cni_result_new(podnet_cni_result **ret)
{
        if (!ret)
                return -EINVAL;
        *ret = calloc(1, sizeof(**ret));
        return *ret ? 0 : -ENOMEM;
}

PODNET_EXPORT podnet_cni_result *podnet_cni_result_free(podnet_cni_result *res)
{
        if (!res)
                return NULL;
        for (size_t i = 0; i < res->n_ifaces; i++) {
                free(res->ifaces[i].name);
                free(res->ifaces[i].mac);
                free(res->ifaces[i].sandbox);
                free(res->ifaces[i].socket_path);
                free(res->ifaces[i].pci_id);
        }
        free(res->ifaces);
        for (size_t i = 0; i < res->n_ips; i++) {
                podnet_cidr_free(res->ips[i].addr);
                podnet_cidr_free(res->ips[i].gw);
        }
        free(res->ips);
        for (size_t i = 0; i < res->n_routes; i++) {
                podnet_cidr_free(res->routes[i].dst);
                podnet_cidr_free(res->routes[i].gw);
        }
        free(res->routes);
        strv_free(res->dns.nameservers, res->dns.n_nameservers);
        free(res->dns.domain);
        strv_free(res->dns.search, res->dns.n_search);
        strv_free(res->dns.options, res->dns.n_options);
        free(res->cni_version);
        free(res);
        return NULL;
}

/* Appends an interface with the 1.x-only fields too. */
static int add_iface_full(podnet_cni_result *res, const char *name, const char *mac, unsigned mtu,
                          const char *sandbox, const char *socket_path, const char *pci_id)
{
        struct pn_cni_iface iface = {.mtu = mtu}, *v;

        if (!res || isempty(name))
                return -EINVAL;
        if (res->n_ifaces >= INT32_MAX)
                return -E2BIG;
        if (pn_strdup_replace(&iface.name, name) < 0 ||
            pn_strdup_replace(&iface.mac, isempty(mac) ? NULL : mac) < 0 ||
            pn_strdup_replace(&iface.sandbox, isempty(sandbox) ? NULL : sandbox) < 0 ||
            pn_strdup_replace(&iface.socket_path, isempty(socket_path) ? NULL : socket_path) < 0 ||
            pn_strdup_replace(&iface.pci_id, isempty(pci_id) ? NULL : pci_id) < 0)
                goto oom;
        v = reallocarray(res->ifaces, res->n_ifaces + 1, sizeof(*v));
        if (!v)
                goto oom;
        res->ifaces = v;
        v[res->n_ifaces] = iface;
        return (int)res->n_ifaces++;
oom:
        free(iface.name);
        free(iface.mac);
        free(iface.sandbox);
        free(iface.socket_path);
        free(iface.pci_id);
        return -ENOMEM;
}

PODNET_EXPORT int podnet_cni_result_add_interface(podnet_cni_result *res, const char *name,
                                                  const char *mac, unsigned mtu,
                                                  const char *sandbox)
{
        return add_iface_full(res, name, mac, mtu, sandbox, NULL, NULL);
}

PODNET_EXPORT int podnet_cni_result_add_ip(podnet_cni_result *res, int interface,
                                           const podnet_cidr *addr, const podnet_cidr *gw)
{
        _cleanup_cidr_ podnet_cidr *a = NULL, *g = NULL;
        struct pn_cni_ip *v;

        if (!res || !addr || interface < -1 ||
            (interface >= 0 && (size_t)interface >= res->n_ifaces))
                return -EINVAL;
        if (gw && podnet_cidr_family(gw) != podnet_cidr_family(addr))
                return -EINVAL;
        if (podnet_cidr_dup(&a, addr) < 0 || (gw && podnet_cidr_dup(&g, gw) < 0))
                return -ENOMEM;
        v = reallocarray(res->ips, res->n_ips + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        res->ips = v;
        v[res->n_ips] = (struct pn_cni_ip){
            .interface = interface,
            .addr = steal_pointer(&a),
            .gw = steal_pointer(&g),
        };
        return (int)res->n_ips++;
}

int pn_cni_result_add_route_full(podnet_cni_result *res, const struct pn_cni_route *route)
{
        _cleanup_cidr_ podnet_cidr *d = NULL, *g = NULL;
        struct pn_cni_route *v;

        if (!res || !route || !route->dst)
                return -EINVAL;
        if (route->gw && podnet_cidr_family(route->gw) != podnet_cidr_family(route->dst))
                return -EINVAL;
        if (podnet_cidr_dup(&d, route->dst) < 0 ||
            (route->gw && podnet_cidr_dup(&g, route->gw) < 0))
                return -ENOMEM;
        v = reallocarray(res->routes, res->n_routes + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        res->routes = v;
        v[res->n_routes] = *route;
        v[res->n_routes].dst = steal_pointer(&d);
        v[res->n_routes].gw = steal_pointer(&g);
        return (int)res->n_routes++;
}

PODNET_EXPORT int podnet_cni_result_add_route(podnet_cni_result *res, const podnet_cidr *dst,
                                              const podnet_cidr *gw)
{
        struct pn_cni_route r = {
            .dst = (podnet_cidr *)dst, .gw = (podnet_cidr *)gw, .table = -1, .scope = -1};

        return pn_cni_result_add_route_full(res, &r);
}

PODNET_EXPORT int podnet_cni_result_add_dns(podnet_cni_result *res, const char *nameserver,
                                            const char *domain, const char *search,
                                            const char *option)
{
        if (!res)
                return -EINVAL;
        if (!isempty(nameserver) &&
            strv_push(&res->dns.nameservers, &res->dns.n_nameservers, nameserver) < 0)
                return -ENOMEM;
        if (!isempty(domain)) {
                char *d = strdup(domain);

                if (!d)
                        return -ENOMEM;
                free(res->dns.domain);
                res->dns.domain = d;
        }
        if (!isempty(search) && strv_push(&res->dns.search, &res->dns.n_search, search) < 0)
                return -ENOMEM;
        if (!isempty(option) && strv_push(&res->dns.options, &res->dns.n_options, option) < 0)
                return -ENOMEM;
        return 0;
}

PODNET_EXPORT size_t podnet_cni_result_n_interfaces(const podnet_cni_result *res)
{
        return res ? res->n_ifaces : 0;
}

PODNET_EXPORT size_t podnet_cni_result_n_ips(const podnet_cni_result *res)
{
        return res ? res->n_ips : 0;
}

PODNET_EXPORT size_t podnet_cni_result_n_routes(const podnet_cni_result *res)
{
        return res ? res->n_routes : 0;
}

PODNET_EXPORT const char *podnet_cni_result_interface_name(const podnet_cni_result *res, size_t i)
{
        return res && i < res->n_ifaces ? res->ifaces[i].name : NULL;
}

PODNET_EXPORT const char *podnet_cni_result_interface_mac(const podnet_cni_result *res, size_t i)
{
        return res && i < res->n_ifaces ? res->ifaces[i].mac : NULL;
}

PODNET_EXPORT const char *podnet_cni_result_interface_sandbox(const podnet_cni_result *res,
                                                              size_t i)
{
        return res && i < res->n_ifaces ? res->ifaces[i].sandbox : NULL;
}

PODNET_EXPORT const podnet_cidr *podnet_cni_result_ip_addr(const podnet_cni_result *res, size_t i)
{
        return res && i < res->n_ips ? res->ips[i].addr : NULL;
}

PODNET_EXPORT const podnet_cidr *podnet_cni_result_ip_gateway(const podnet_cni_result *res,
                                                              size_t i)
{
        return res && i < res->n_ips ? res->ips[i].gw : NULL;
}

PODNET_EXPORT int podnet_cni_result_ip_interface(const podnet_cni_result *res, size_t i)
{
        return res && i < res->n_ips ? res->ips[i].interface : -1;
}

PODNET_EXPORT const podnet_cidr *podnet_cni_result_route_dst(const podnet_cni_result *res, size_t i)
{
        return res && i < res->n_routes ? res->routes[i].dst : NULL;
}

PODNET_EXPORT const podnet_cidr *podnet_cni_result_route_gw(const podnet_cni_result *res, size_t i)
{
        return res && i < res->n_routes ? res->routes[i].gw : NULL;
}

/* ---- encoding ---- */

/* obj[key] = value, taking the reference; fails (and drops value) on NULL. */
static int set_new(json_t *obj, const char *key, json_t *value)
{
        if (!value)
                return -ENOMEM;
        return json_object_set_new(obj, key, value) < 0 ? -ENOMEM : 0;
}

static int append_new(json_t *arr, json_t *value)
{
        if (!value)
                return -ENOMEM;
        return json_array_append_new(arr, value) < 0 ? -ENOMEM : 0;
}

static json_t *cidr_json(const podnet_cidr *c, bool with_prefix)
{
        char buf[PODNET_CIDR_STRLEN];
        int r = with_prefix ? podnet_cidr_format(c, buf, sizeof(buf))
                            : podnet_cidr_format_addr(c, buf, sizeof(buf));

        return r < 0 ? NULL : json_string(buf);
}

static int set_str_opt(json_t *obj, const char *key, const char *s)
{
        return isempty(s) ? 0 : set_new(obj, key, pn_json_string_new(s));
}

static int set_strv_opt(json_t *obj, const char *key, char **v, size_t n)
{
        json_t *arr;

        if (n == 0)
                return 0;
        arr = json_array();
        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (append_new(arr, pn_json_string_new(v[i])) < 0) {
                        json_decref(arr);
                        return -ENOMEM;
                }
        return set_new(obj, key, arr);
}

static bool dns_empty(const struct pn_cni_dns *d)
{
        return !d->n_nameservers && isempty(d->domain) && !d->n_search && !d->n_options;
}

static json_t *dns_json(const struct pn_cni_dns *d)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        if (set_strv_opt(o, "nameservers", d->nameservers, d->n_nameservers) < 0 ||
            set_str_opt(o, "domain", d->domain) < 0 ||
            set_strv_opt(o, "search", d->search, d->n_search) < 0 ||
            set_strv_opt(o, "options", d->options, d->n_options) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* A route as every version prints it: dst, gw; plus the 1.1 attributes when asked. */
static json_t *route_json(const struct pn_cni_route *rt, bool v11)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        if (set_new(o, "dst", cidr_json(rt->dst, true)) < 0 ||
            (rt->gw && set_new(o, "gw", cidr_json(rt->gw, false)) < 0))
                goto fail;
        if (v11 && ((rt->mtu && set_new(o, "mtu", json_integer(rt->mtu)) < 0) ||
                    (rt->advmss && set_new(o, "advmss", json_integer(rt->advmss)) < 0) ||
                    (rt->priority && set_new(o, "priority", json_integer(rt->priority)) < 0) ||
                    (rt->table >= 0 && set_new(o, "table", json_integer(rt->table)) < 0) ||
                    (rt->scope >= 0 && set_new(o, "scope", json_integer(rt->scope)) < 0)))
                goto fail;
        return o;
fail:
        json_decref(o);
        return NULL;
}

/* 0.3.0 .. 1.1.0: interfaces, ips, routes (omitted when empty), dns. */
static int encode_current(const podnet_cni_result *res, int vidx, json_t *root)
{
        bool v1 = vidx >= IDX_1_0_0, v11 = vidx >= IDX_1_1_0;
        json_t *arr;

        if (res->n_ifaces) {
                if (set_new(root, "interfaces", arr = json_array()) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < res->n_ifaces; i++) {
                        const struct pn_cni_iface *f = &res->ifaces[i];
                        json_t *o = json_object();

                        if (append_new(arr, o) < 0 || set_str_opt(o, "name", f->name) < 0 ||
                            set_str_opt(o, "mac", f->mac) < 0 ||
                            (v1 && f->mtu && set_new(o, "mtu", json_integer(f->mtu)) < 0) ||
                            set_str_opt(o, "sandbox", f->sandbox) < 0 ||
                            (v1 && set_str_opt(o, "socketPath", f->socket_path) < 0) ||
                            (v1 && set_str_opt(o, "pciID", f->pci_id) < 0))
                                return -ENOMEM;
                }
        }
        if (res->n_ips) {
                if (set_new(root, "ips", arr = json_array()) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < res->n_ips; i++) {
                        const struct pn_cni_ip *ip = &res->ips[i];
                        json_t *o = json_object();
                        bool v4 = podnet_cidr_family(ip->addr) == AF_INET;

                        if (append_new(arr, o) < 0 ||
                            (!v1 && set_new(o, "version", json_string(v4 ? "4" : "6")) < 0) ||
                            (ip->interface >= 0 &&
                             set_new(o, "interface", json_integer(ip->interface)) < 0) ||
                            set_new(o, "address", cidr_json(ip->addr, true)) < 0 ||
                            (ip->gw && set_new(o, "gateway", cidr_json(ip->gw, false)) < 0))
                                return -ENOMEM;
                }
        }
        if (res->n_routes) {
                if (set_new(root, "routes", arr = json_array()) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < res->n_routes; i++)
                        if (append_new(arr, route_json(&res->routes[i], v11)) < 0)
                                return -ENOMEM;
        }
        /* The Go types print an empty "dns": {} before 1.0 (a struct is never omitted)
         * and drop it from 1.0 on; do the same so that output compares equal. */
        if (!v1 || !dns_empty(&res->dns))
                return set_new(root, "dns", dns_json(&res->dns));
        return 0;
}

/* 0.1.0, 0.2.0: ip4/ip6 with the first address of each family and that family's
 * routes, then dns. */
static int encode_legacy(const podnet_cni_result *res, json_t *root, podnet_error **err)
{
        static const struct {
                const char *key;
                int family;
        } fams[] = {{"ip4", AF_INET}, {"ip6", AF_INET6}};
        bool any = false;

        for (size_t f = 0; f < ELEMENTSOF(fams); f++) {
                const struct pn_cni_ip *ip = NULL;
                json_t *o, *routes = NULL;

                for (size_t i = 0; i < res->n_ips && !ip; i++)
                        if (podnet_cidr_family(res->ips[i].addr) == fams[f].family)
                                ip = &res->ips[i];
                if (!ip)
                        continue;
                any = true;
                if (set_new(root, fams[f].key, o = json_object()) < 0 ||
                    set_new(o, "ip", cidr_json(ip->addr, true)) < 0 ||
                    (ip->gw && set_new(o, "gateway", cidr_json(ip->gw, false)) < 0))
                        return -ENOMEM;
                for (size_t i = 0; i < res->n_routes; i++) {
                        if (podnet_cidr_family(res->routes[i].dst) != fams[f].family)
                                continue;
                        if (!routes && set_new(o, "routes", routes = json_array()) < 0)
                                return -ENOMEM;
                        if (append_new(routes, route_json(&res->routes[i], false)) < 0)
                                return -ENOMEM;
                }
        }
        if (!any)
                return pn_error_plain(err, ENOTSUP, PODNET_CNI_ERR_INCOMPATIBLE_VERSION,
                                      "Cannot express a result without IP addresses in CNI "
                                      "version 0.1.0 or 0.2.0");
        return set_new(root, "dns", dns_json(&res->dns));
}

PODNET_EXPORT int podnet_cni_result_format(const podnet_cni_result *res, const char *version,
                                           char **ret, podnet_error **err)
{
        json_t *root;
        int vidx, r;

        if (!res || !ret)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INTERNAL,
                                      "Formatting a CNI result: invalid argument");
        *ret = NULL;
        vidx = pn_cni_version_index(version);
        if (vidx < 0)
                return pn_error_plain(err, ENOTSUP, PODNET_CNI_ERR_INCOMPATIBLE_VERSION,
                                      "Unsupported CNI version \"%s\"", version ? version : "");
        root = json_object();
        if (!root || set_new(root, "cniVersion", json_string(version)) < 0)
                r = -ENOMEM;
        else
                r = vidx >= IDX_0_3_0 ? encode_current(res, vidx, root)
                                      : encode_legacy(res, root, err);
        if (r < 0)
                json_decref(root);
        else
                r = pn_json_dump(root, ret);
        if (r == -ENOMEM)
                pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL,
                               "Formatting a CNI result: out of memory");
        return r;
}

/* ---- decoding ---- */

struct dec {
        int code;
        podnet_error **err;
};

static int dec_strv(const struct dec *d, json_t *obj, const char *path, const char *key, char ***v,
                    size_t *n)
{
        json_t *arr, *item;
        size_t i;
        int r = pn_json_member(obj, path, key, PN_JSON_ARRAY, &arr, d->code, d->err);

        if (r <= 0)
                return r;
        for (i = 0; i < json_array_size(arr) && (item = json_array_get(arr, i)); i++) {
                if (!json_is_string(item)) {
                        _cleanup_free_ char *p = pn_json_path(path, key, 0);
                        return pn_error_plain(d->err, EINVAL, d->code,
                                              "Key \"%s[%zu]\" must be a string", p ? p : key, i);
                }
                if (strv_push(v, n, json_string_value(item)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int dec_dns(const struct dec *d, podnet_cni_result *res, json_t *obj, const char *path)
{
        _cleanup_free_ char *p = pn_json_path(path, "dns", 0);
        const char *domain;
        json_t *dns;
        int r;

        if (!p)
                return -ENOMEM;
        r = pn_json_member(obj, path, "dns", PN_JSON_OBJECT, &dns, d->code, d->err);
        if (r <= 0)
                return r;
        if ((r = dec_strv(d, dns, p, "nameservers", &res->dns.nameservers,
                          &res->dns.n_nameservers)) < 0 ||
            (r = pn_json_string(dns, p, "domain", &domain, d->code, d->err)) < 0 ||
            (r = dec_strv(d, dns, p, "search", &res->dns.search, &res->dns.n_search)) < 0 ||
            (r = dec_strv(d, dns, p, "options", &res->dns.options, &res->dns.n_options)) < 0)
                return r;
        if (!isempty(domain) && !(res->dns.domain = strdup(domain)))
                return -ENOMEM;
        return 0;
}

/* Iterates the array obj[key] (absent: nothing), calling fn on each object element
 * with its path. */
typedef int (*dec_item_fn)(const struct dec *d, podnet_cni_result *res, json_t *item,
                           const char *path);

static int dec_array(const struct dec *d, podnet_cni_result *res, json_t *obj, const char *path,
                     const char *key, dec_item_fn fn)
{
        _cleanup_free_ char *p = pn_json_path(path, key, 0);
        json_t *arr, *item;
        size_t i;
        int r;

        if (!p)
                return -ENOMEM;
        r = pn_json_member(obj, path, key, PN_JSON_ARRAY, &arr, d->code, d->err);
        if (r <= 0)
                return r;
        for (i = 0; i < json_array_size(arr) && (item = json_array_get(arr, i)); i++) {
                _cleanup_free_ char *ip = pn_json_path(p, NULL, i);

                if (!ip)
                        return -ENOMEM;
                if (!json_is_object(item))
                        return pn_error_plain(d->err, EINVAL, d->code,
                                              "Key \"%s\" must be an object", ip);
                r = fn(d, res, item, ip);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int dec_route(const struct dec *d, podnet_cni_result *res, json_t *o, const char *path)
{
        _cleanup_cidr_ podnet_cidr *dst = NULL, *gw = NULL;
        struct pn_cni_route rt = {.table = -1, .scope = -1};
        unsigned table = 0, scope = 0;
        int r, has_table, has_scope;

        r = pn_json_cidr(o, path, "dst", true, &dst, d->code, d->err);
        if (r == 0)
                return pn_error_plain(d->err, EINVAL, d->code, "Key \"%s.dst\" is required", path);
        if (r < 0 || (r = pn_json_cidr(o, path, "gw", false, &gw, d->code, d->err)) < 0 ||
            (r = pn_json_uint(o, path, "mtu", UINT32_MAX >> 1, &rt.mtu, d->code, d->err)) < 0 ||
            (r = pn_json_uint(o, path, "advmss", UINT32_MAX >> 1, &rt.advmss, d->code, d->err)) <
                0 ||
            (r = pn_json_uint(o, path, "priority", UINT32_MAX >> 1, &rt.priority, d->code,
                              d->err)) < 0)
                return r;
        if ((has_table = pn_json_uint(o, path, "table", INT32_MAX, &table, d->code, d->err)) < 0)
                return has_table;
        if ((has_scope = pn_json_uint(o, path, "scope", 255, &scope, d->code, d->err)) < 0)
                return has_scope;
        if (gw && podnet_cidr_family(gw) != podnet_cidr_family(dst))
                return pn_error_plain(d->err, EINVAL, d->code,
                                      "Key \"%s.gw\" is of another address family than dst", path);
        rt.table = has_table ? (int)table : -1;
        rt.scope = has_scope ? (int)scope : -1;
        rt.dst = dst;
        rt.gw = gw;
        r = pn_cni_result_add_route_full(res, &rt);
        return r < 0 ? pn_error_plain(d->err, -r, d->code, "Decoding %s", path) : 0;
}

static int dec_iface(const struct dec *d, podnet_cni_result *res, json_t *o, const char *path)
{
        const char *name, *mac, *sandbox, *socket_path, *pci_id;
        unsigned mtu = 0;
        int r;

        if ((r = pn_json_string(o, path, "name", &name, d->code, d->err)) < 0 ||
            (r = pn_json_string(o, path, "mac", &mac, d->code, d->err)) < 0 ||
            (r = pn_json_uint(o, path, "mtu", INT32_MAX, &mtu, d->code, d->err)) < 0 ||
            (r = pn_json_string(o, path, "sandbox", &sandbox, d->code, d->err)) < 0 ||
            (r = pn_json_string(o, path, "socketPath", &socket_path, d->code, d->err)) < 0 ||
            (r = pn_json_string(o, path, "pciID", &pci_id, d->code, d->err)) < 0)
                return r;
        if (isempty(name))
                return pn_error_plain(d->err, EINVAL, d->code, "Key \"%s.name\" is required", path);
        r = add_iface_full(res, name, mac, mtu, sandbox, socket_path, pci_id);
        return r < 0 ? pn_error_plain(d->err, -r, d->code, "Decoding %s", path) : 0;
}

static int dec_ip(const struct dec *d, podnet_cni_result *res, json_t *o, const char *path)
{
        _cleanup_cidr_ podnet_cidr *addr = NULL, *gw = NULL;
        const char *version;
        json_t *jif;
        int r, ifindex = -1;

        r = pn_json_cidr(o, path, "address", true, &addr, d->code, d->err);
        if (r == 0)
                return pn_error_plain(d->err, EINVAL, d->code, "Key \"%s.address\" is required",
                                      path);
        if (r < 0 || (r = pn_json_cidr(o, path, "gateway", false, &gw, d->code, d->err)) < 0 ||
            (r = pn_json_string(o, path, "version", &version, d->code, d->err)) < 0 ||
            (r = pn_json_member(o, path, "interface", PN_JSON_NUMBER, &jif, d->code, d->err)) < 0)
                return r;
        if (jif) {
                if (!json_is_integer(jif) || json_integer_value(jif) < 0 ||
                    (size_t)json_integer_value(jif) >= res->n_ifaces)
                        return pn_error_plain(d->err, EINVAL, d->code,
                                              "Key \"%s.interface\" is not the index of an "
                                              "interface of the result",
                                              path);
                ifindex = (int)json_integer_value(jif);
        }
        if (version && !streq(version, podnet_cidr_family(addr) == AF_INET ? "4" : "6"))
                return pn_error_plain(d->err, EINVAL, d->code,
                                      "Key \"%s.version\" is \"%s\" but the address is not IPv%s",
                                      path, version, version);
        if (gw && podnet_cidr_family(gw) != podnet_cidr_family(addr))
                return pn_error_plain(d->err, EINVAL, d->code,
                                      "Key \"%s.gateway\" is of another address family than "
                                      "the address",
                                      path);
        r = podnet_cni_result_add_ip(res, ifindex, addr, gw);
        return r < 0 ? pn_error_plain(d->err, -r, d->code, "Decoding %s", path) : 0;
}

/* 0.1.0/0.2.0's ip4 or ip6 object: {ip, gateway, routes}. */
static int dec_legacy_ip(const struct dec *d, podnet_cni_result *res, json_t *obj, const char *path,
                         const char *key, int family)
{
        _cleanup_free_ char *p = pn_json_path(path, key, 0);
        _cleanup_cidr_ podnet_cidr *addr = NULL, *gw = NULL;
        json_t *o;
        int r;

        if (!p)
                return -ENOMEM;
        r = pn_json_member(obj, path, key, PN_JSON_OBJECT, &o, d->code, d->err);
        if (r <= 0)
                return r;
        r = pn_json_cidr(o, p, "ip", true, &addr, d->code, d->err);
        if (r == 0)
                return pn_error_plain(d->err, EINVAL, d->code, "Key \"%s.ip\" is required", p);
        if (r < 0 || (r = pn_json_cidr(o, p, "gateway", false, &gw, d->code, d->err)) < 0)
                return r;
        if (podnet_cidr_family(addr) != family || (gw && podnet_cidr_family(gw) != family))
                return pn_error_plain(d->err, EINVAL, d->code,
                                      "Key \"%s\" holds an address of the wrong family", p);
        r = podnet_cni_result_add_ip(res, -1, addr, gw);
        if (r < 0)
                return pn_error_plain(d->err, -r, d->code, "Decoding %s", p);
        return dec_array(d, res, o, p, "routes", dec_route);
}

int pn_cni_result_from_json(podnet_cni_result **ret, json_t *obj, const char *version,
                            const char *path, int code, podnet_error **err)
{
        _cleanup_result_ podnet_cni_result *res = NULL;
        const struct dec d = {.code = code, .err = err};
        const char *own = NULL;
        int r;

        *ret = NULL;
        if (version && !podnet_cni_version_supported(version))
                return pn_error_plain(err, ENOTSUP, PODNET_CNI_ERR_INCOMPATIBLE_VERSION,
                                      "Unsupported CNI version \"%s\"", version);
        if (!json_is_object(obj)) {
                if (isempty(path))
                        return pn_error_plain(err, EINVAL, code,
                                              "A CNI result must be a JSON object");
                return pn_error_plain(err, EINVAL, code, "Key \"%s\" must be an object", path);
        }
        r = pn_json_string(obj, path, "cniVersion", &own, code, err);
        if (r < 0)
                return r;
        if (own && !podnet_cni_version_supported(own))
                return pn_error_plain(err, ENOTSUP, PODNET_CNI_ERR_INCOMPATIBLE_VERSION,
                                      "Unsupported CNI version \"%s\" in %s%s", own,
                                      isempty(path) ? "" : path,
                                      isempty(path) ? "the result" : ".cniVersion");
        if (podnet_cni_result_new(&res) < 0)
                return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL, "Out of memory");
        if (pn_strdup_replace(&res->cni_version, own ? own : version) < 0)
                return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL, "Out of memory");
        if (json_object_get(obj, "ip4") || json_object_get(obj, "ip6")) {
                r = dec_legacy_ip(&d, res, obj, path, "ip4", AF_INET);
                if (r >= 0)
                        r = dec_legacy_ip(&d, res, obj, path, "ip6", AF_INET6);
        } else {
                r = dec_array(&d, res, obj, path, "interfaces", dec_iface);
                if (r >= 0)
                        r = dec_array(&d, res, obj, path, "ips", dec_ip);
                if (r >= 0)
                        r = dec_array(&d, res, obj, path, "routes", dec_route);
        }
        if (r >= 0)
                r = dec_dns(&d, res, obj, path);
        if (r < 0)
                return r == -ENOMEM
                           ? pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL, "Out of memory")
                           : r;
        *ret = steal_pointer(&res);
        return 0;
}

PODNET_EXPORT int podnet_cni_result_parse(podnet_cni_result **ret, const char *json,
                                          const char *version, podnet_error **err)
{
        json_error_t jerr;
        json_t *root;
        int r;

        if (!ret || !json)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INTERNAL,
                                      "Parsing a CNI result: invalid argument");
        *ret = NULL;
        root = json_loads(json, 0, &jerr);
        if (!root)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "Decoding CNI result: %s (line %d, column %d)", jerr.text,
                                      jerr.line, jerr.column);
        r = pn_cni_result_from_json(ret, root, version, "", PODNET_CNI_ERR_DECODE, err);
        json_decref(root);
        return r;
}

int pn_cni_result_set_ip_interface(podnet_cni_result *res, size_t i, int iface)
{
        if (!res || i >= res->n_ips || iface < -1 || (iface >= 0 && (size_t)iface >= res->n_ifaces))
                return -EINVAL;
        res->ips[i].interface = iface;
        return 0;
}

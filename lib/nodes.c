/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node list: Kubernetes NodeList/Node JSON and the static node file parsed into plain
 * structs, accessors, serialisation back to NodeList JSON, and pod CIDR allocation.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <sys/socket.h>

#include "routes.h"

/* --- 128-bit address arithmetic ---------------------------------------------------- */

pn_u128 pn_bytes_to_u128(int family, const void *bytes)
{
        const uint8_t *b = bytes;
        size_t n = family == AF_INET ? 4 : 16;
        pn_u128 v = 0;

        for (size_t i = 0; i < n; i++)
                v = (v << 8) | b[i];
        return v;
}

void pn_u128_to_bytes(int family, pn_u128 v, void *bytes)
{
        uint8_t *b = bytes;
        size_t n = family == AF_INET ? 4 : 16;

        for (size_t i = n; i > 0; i--) {
                b[i - 1] = (uint8_t)(v & 0xff);
                v >>= 8;
        }
}

static pn_u128 host_mask(int family, unsigned prefixlen)
{
        unsigned bits = family == AF_INET ? 32 : 128;
        unsigned host = bits - prefixlen;

        if (host == 0)
                return 0;
        if (host >= 128)
                return ~(pn_u128)0;
        return ((pn_u128)1 << host) - 1;
}

void pn_cidr_range(const podnet_cidr *c, pn_u128 *first, pn_u128 *last)
{
        int family = podnet_cidr_family(c);
        pn_u128 m = host_mask(family, podnet_cidr_prefixlen(c));
        pn_u128 v = pn_bytes_to_u128(family, podnet_cidr_addr(c));

        *first = v & ~m;
        *last = v | m;
}

/* --- node list basics ---------------------------------------------------------------- */

bool pn_node_name_valid(const char *name)
{
        size_t len = name ? strlen(name) : 0;

        if (len == 0 || len > 253)
                return false;
        for (size_t i = 0; i < len; i++) {
                char ch = name[i];
                if (!(islower((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '-' ||
                      ch == '.'))
                        return false;
        }
        return isalnum((unsigned char)name[0]) && isalnum((unsigned char)name[len - 1]);
}

static void node_done(struct pn_node *n)
{
        free(n->name);
        for (size_t j = 0; j < n->n_pod_cidrs; j++)
                podnet_cidr_free(n->pod_cidrs[j]);
        free(n->pod_cidrs);
        podnet_cidr_free(n->addr4);
        podnet_cidr_free(n->addr6);
}

PODNET_EXPORT podnet_nodes *podnet_nodes_free(podnet_nodes *nodes)
{
        if (!nodes)
                return NULL;
        for (size_t i = 0; i < nodes->n; i++)
                node_done(&nodes->nodes[i]);
        free(nodes->nodes);
        free(nodes);
        return NULL;
}

PODNET_EXPORT size_t podnet_nodes_count(const podnet_nodes *nodes)
{
        return nodes ? nodes->n : 0;
}

PODNET_EXPORT int podnet_nodes_find(const podnet_nodes *nodes, const char *name)
{
        if (!nodes || !name)
                return -EINVAL;
        for (size_t i = 0; i < nodes->n; i++)
                if (streq(nodes->nodes[i].name, name))
                        return (int)i;
        return -ENOENT;
}

PODNET_EXPORT const char *podnet_nodes_name(const podnet_nodes *nodes, size_t i)
{
        return nodes && i < nodes->n ? nodes->nodes[i].name : NULL;
}

PODNET_EXPORT size_t podnet_nodes_n_pod_cidrs(const podnet_nodes *nodes, size_t i)
{
        return nodes && i < nodes->n ? nodes->nodes[i].n_pod_cidrs : 0;
}

PODNET_EXPORT const podnet_cidr *podnet_nodes_pod_cidr(const podnet_nodes *nodes, size_t i,
                                                       size_t j)
{
        if (!nodes || i >= nodes->n || j >= nodes->nodes[i].n_pod_cidrs)
                return NULL;
        return nodes->nodes[i].pod_cidrs[j];
}

PODNET_EXPORT const podnet_cidr *podnet_nodes_address(const podnet_nodes *nodes, size_t i,
                                                      int family)
{
        if (!nodes || i >= nodes->n)
                return NULL;
        if (family == AF_INET)
                return nodes->nodes[i].addr4;
        if (family == AF_INET6)
                return nodes->nodes[i].addr6;
        return NULL;
}

static int cidrs_copy(podnet_cidr ***ret, const podnet_cidr *const *cidrs, size_t n)
{
        podnet_cidr **v = NULL;
        int r;

        if (n > 0) {
                v = calloc(n, sizeof(*v));
                if (!v)
                        return -ENOMEM;
        }
        for (size_t j = 0; j < n; j++) {
                r = podnet_cidr_network(&v[j], cidrs[j]);
                if (r < 0) {
                        for (size_t k = 0; k < j; k++)
                                podnet_cidr_free(v[k]);
                        free(v);
                        return r;
                }
        }
        *ret = v;
        return 0;
}

PODNET_EXPORT int podnet_nodes_set_pod_cidrs(podnet_nodes *nodes, size_t i,
                                             const podnet_cidr *const *cidrs, size_t n)
{
        podnet_cidr **v = NULL;
        struct pn_node *node;
        int r;

        if (!nodes || i >= nodes->n || (n > 0 && !cidrs))
                return -EINVAL;
        for (size_t j = 0; j < n; j++)
                if (!cidrs[j])
                        return -EINVAL;
        r = cidrs_copy(&v, cidrs, n);
        if (r < 0)
                return r;
        node = &nodes->nodes[i];
        for (size_t j = 0; j < node->n_pod_cidrs; j++)
                podnet_cidr_free(node->pod_cidrs[j]);
        free(node->pod_cidrs);
        node->pod_cidrs = v;
        node->n_pod_cidrs = n;
        return 0;
}

static int nodes_append(podnet_nodes *nodes, struct pn_node **ret)
{
        struct pn_node *v;

        v = realloc(nodes->nodes, (nodes->n + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        nodes->nodes = v;
        memset(&v[nodes->n], 0, sizeof(*v));
        *ret = &v[nodes->n++];
        return 0;
}

static int node_add_pod_cidr(struct pn_node *node, const char *text, podnet_error **err,
                             const char *where)
{
        _cleanup_cidr_ podnet_cidr *c = NULL, *net = NULL;
        podnet_cidr **v;
        int r;

        if (!strchr(text, '/'))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "%s: pod CIDR \"%s\" of node %s has no prefix length", where,
                                      text, node->name);
        r = podnet_cidr_parse(&c, text);
        if (r < 0)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "%s: invalid pod CIDR \"%s\" of node %s", where, text,
                                      node->name);
        r = podnet_cidr_network(&net, c);
        if (r < 0)
                return pn_error(err, -r, 0, "%s: pod CIDR %s", where, text);
        for (size_t j = 0; j < node->n_pod_cidrs; j++)
                if (podnet_cidr_overlaps(node->pod_cidrs[j], net) > 0)
                        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                              "%s: pod CIDR %s of node %s overlaps another of "
                                              "its pod CIDRs",
                                              where, text, node->name);
        v = realloc(node->pod_cidrs, (node->n_pod_cidrs + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        node->pod_cidrs = v;
        v[node->n_pod_cidrs++] = steal_pointer(&net);
        return 0;
}

/* Keeps the best address per family: InternalIP over ExternalIP, first one of a type. */
static int node_add_address(struct pn_node *node, const char *text, enum pn_addr_type type,
                            bool strict_single, podnet_error **err, const char *where)
{
        _cleanup_cidr_ podnet_cidr *c = NULL;
        podnet_cidr **slot;
        enum pn_addr_type *slot_type;
        int r, family;

        if (strchr(text, '/') || (r = podnet_cidr_parse(&c, text)) < 0)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "%s: invalid address \"%s\" of node %s", where, text,
                                      node->name);
        family = podnet_cidr_family(c);
        slot = family == AF_INET ? &node->addr4 : &node->addr6;
        slot_type = family == AF_INET ? &node->type4 : &node->type6;
        if (*slot && strict_single)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "%s: node %s has more than one %s address", where, node->name,
                                      family == AF_INET ? "IPv4" : "IPv6");
        if (*slot && *slot_type >= type)
                return 0;
        podnet_cidr_free(*slot);
        *slot = steal_pointer(&c);
        *slot_type = type;
        return 0;
}

static int name_order(const void *a, const void *b, void *userdata)
{
        const struct pn_node *v = userdata;
        size_t i = *(const size_t *)a, j = *(const size_t *)b;
        int c = strcmp(v[i].name, v[j].name);

        return c ? c : (i > j) - (i < j);
}

/* Node names are unique. Sorting finds duplicates in O(n log n) (a list of thousands of
 * nodes made a pairwise check the slowest part of a sync); like a check made entry by
 * entry, the message names the first entry, in input order, that repeats a name. */
static int nodes_check_unique(const podnet_nodes *nodes, bool json, podnet_error **err)
{
        _cleanup_free_ size_t *idx = NULL;
        size_t dup = SIZE_MAX;

        if (nodes->n < 2)
                return 0;
        idx = malloc(nodes->n * sizeof(*idx));
        if (!idx)
                return -ENOMEM;
        for (size_t i = 0; i < nodes->n; i++)
                idx[i] = i;
        qsort_r(idx, nodes->n, sizeof(*idx), name_order, nodes->nodes);
        for (size_t k = 1; k < nodes->n; k++)
                if (streq(nodes->nodes[idx[k - 1]].name, nodes->nodes[idx[k]].name) && idx[k] < dup)
                        dup = idx[k]; /* ties sort by position: idx[k] repeats an earlier one */
        if (dup == SIZE_MAX)
                return 0;
        if (json)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "items[%zu]: node %s appears twice", nodes->nodes[dup].origin,
                                      nodes->nodes[dup].name);
        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE, "Line %zu: node %s appears twice",
                              nodes->nodes[dup].origin, nodes->nodes[dup].name);
}

/* --- Kubernetes JSON ------------------------------------------------------------------ */

static const char *json_type_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

static int type_error(podnet_error **err, const char *where, const char *key, const char *want,
                      const json_t *got)
{
        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE, "%s%s: expected %s, got %s",
                              where, key, want, json_type_name(got));
}

static int parse_json_node(podnet_nodes *nodes, json_t *item, const char *where, podnet_error **err)
{
        json_t *meta, *name, *spec, *status, *cidr, *cidrs, *addrs, *a;
        struct pn_node *node;
        size_t k;
        int r;

        if (!json_is_object(item))
                return type_error(err, where, "", "an object", item);
        meta = json_object_get(item, "metadata");
        if (!json_is_object(meta))
                return meta ? type_error(err, where, ".metadata", "an object", meta)
                            : pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                             "%s.metadata: missing", where);
        name = json_object_get(meta, "name");
        if (!name)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "%s.metadata.name: missing", where);
        if (!json_is_string(name))
                return type_error(err, where, ".metadata.name", "a string", name);
        if (!pn_node_name_valid(json_string_value(name)))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "%s.metadata.name: \"%s\" is not a valid node name", where,
                                      json_string_value(name));

        r = nodes_append(nodes, &node);
        if (r < 0)
                return r;
        node->name = strdup(json_string_value(name));
        if (!node->name)
                return -ENOMEM;
        node->origin = nodes->n - 1;

        spec = json_object_get(item, "spec");
        if (spec && !json_is_object(spec))
                return type_error(err, where, ".spec", "an object", spec);
        cidrs = spec ? json_object_get(spec, "podCIDRs") : NULL;
        cidr = spec ? json_object_get(spec, "podCIDR") : NULL;
        if (cidr && !json_is_string(cidr) && !json_is_null(cidr))
                return type_error(err, where, ".spec.podCIDR", "a string", cidr);
        if (cidrs && !json_is_array(cidrs) && !json_is_null(cidrs))
                return type_error(err, where, ".spec.podCIDRs", "an array", cidrs);
        if (json_array_size(cidrs) > 0) {
                json_array_foreach(cidrs, k, a)
                {
                        char key[64];
                        snprintf(key, sizeof(key), ".spec.podCIDRs[%zu]", k);
                        if (!json_is_string(a))
                                return type_error(err, where, key, "a string", a);
                        r = node_add_pod_cidr(node, json_string_value(a), err, where);
                        if (r < 0)
                                return r;
                }
        } else if (json_is_string(cidr) && *json_string_value(cidr)) {
                r = node_add_pod_cidr(node, json_string_value(cidr), err, where);
                if (r < 0)
                        return r;
        }

        status = json_object_get(item, "status");
        if (status && !json_is_object(status))
                return type_error(err, where, ".status", "an object", status);
        addrs = status ? json_object_get(status, "addresses") : NULL;
        if (addrs && !json_is_array(addrs) && !json_is_null(addrs))
                return type_error(err, where, ".status.addresses", "an array", addrs);
        json_array_foreach(addrs, k, a)
        {
                json_t *type, *address;
                enum pn_addr_type t;
                char key[64];

                snprintf(key, sizeof(key), ".status.addresses[%zu]", k);
                if (!json_is_object(a))
                        return type_error(err, where, key, "an object", a);
                type = json_object_get(a, "type");
                address = json_object_get(a, "address");
                if (!json_is_string(type))
                        return type ? type_error(err, where, ".type", "a string", type)
                                    : pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                                     "%s%s.type: missing", where, key);
                if (streq(json_string_value(type), "InternalIP"))
                        t = PN_ADDR_INTERNAL;
                else if (streq(json_string_value(type), "ExternalIP"))
                        t = PN_ADDR_EXTERNAL;
                else
                        continue; /* Hostname, InternalDNS, ExternalDNS */
                if (!json_is_string(address))
                        return address ? type_error(err, where, ".address", "a string", address)
                                       : pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                                        "%s%s.address: missing", where, key);
                r = node_add_address(node, json_string_value(address), t, false, err, where);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_json(podnet_nodes *nodes, const char *text, size_t len, podnet_error **err)
{
        json_t *root, *kind, *items, *item;
        json_error_t jerr;
        size_t i;
        int r = 0;

        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "Node list is not valid JSON: %s at line %d column %d",
                                      jerr.text, jerr.line, jerr.column);
        if (!json_is_object(root)) {
                r = type_error(err, "Node list", "", "an object", root);
                goto out;
        }
        kind = json_object_get(root, "kind");
        items = json_object_get(root, "items");
        if (kind && !json_is_string(kind)) {
                r = type_error(err, "Node list", ": kind", "a string", kind);
                goto out;
        }
        if (kind && streq(json_string_value(kind), "Node")) {
                r = parse_json_node(nodes, root, "Node", err);
                goto out;
        }
        if (kind && !streq(json_string_value(kind), "NodeList") &&
            !streq(json_string_value(kind), "List")) {
                r = pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                   "kind: expected NodeList or Node, got %s",
                                   json_string_value(kind));
                goto out;
        }
        if (!items) {
                r = pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE, "items: missing");
                goto out;
        }
        if (!json_is_array(items)) {
                r = type_error(err, "items", "", "an array", items);
                goto out;
        }
        json_array_foreach(items, i, item)
        {
                char where[32];
                snprintf(where, sizeof(where), "items[%zu]", i);
                r = parse_json_node(nodes, item, where, err);
                if (r < 0)
                        break;
        }
out:
        json_decref(root);
        return r;
}

/* --- static node file ----------------------------------------------------------------- */

static int parse_static_line(podnet_nodes *nodes, char *line, unsigned lineno, podnet_error **err)
{
        char where[32], *fields[4], *save = NULL, *tok, *item;
        struct pn_node *node;
        size_t n = 0;
        int r;

        snprintf(where, sizeof(where), "Line %u", lineno);
        for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                if (n == 3)
                        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                              "%s: expected NAME POD-CIDR[,POD-CIDR] "
                                              "ADDRESS[,ADDRESS], got more fields",
                                              where);
                fields[n++] = tok;
        }
        if (n != 3)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "%s: expected NAME POD-CIDR[,POD-CIDR] ADDRESS[,ADDRESS], "
                                      "got %zu field%s",
                                      where, n, n == 1 ? "" : "s");
        if (!pn_node_name_valid(fields[0]))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "%s: \"%s\" is not a valid node name", where, fields[0]);
        r = nodes_append(nodes, &node);
        if (r < 0)
                return r;
        node->name = strdup(fields[0]);
        if (!node->name)
                return -ENOMEM;
        node->origin = lineno;
        if (!streq(fields[1], "-"))
                for (item = strtok_r(fields[1], ",", &save); item;
                     item = strtok_r(NULL, ",", &save)) {
                        r = node_add_pod_cidr(node, item, err, where);
                        if (r < 0)
                                return r;
                }
        if (!streq(fields[2], "-"))
                for (item = strtok_r(fields[2], ",", &save); item;
                     item = strtok_r(NULL, ",", &save)) {
                        r = node_add_address(node, item, PN_ADDR_INTERNAL, true, err, where);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int parse_static(podnet_nodes *nodes, const char *text, size_t len, podnet_error **err)
{
        unsigned lineno = 0;
        size_t pos = 0;
        int r;

        while (pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t end = nl ? (size_t)(nl - text) : len;
                _cleanup_free_ char *line = strndup(text + pos, end - pos);
                char *hash, *p;

                lineno++;
                pos = end + 1;
                if (!line)
                        return -ENOMEM;
                hash = strchr(line, '#');
                if (hash)
                        *hash = 0;
                for (p = line; *p; p++)
                        if (*p == '\r')
                                *p = ' ';
                p = line + strspn(line, " \t");
                if (!*p)
                        continue;
                r = parse_static_line(nodes, p, lineno, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

PODNET_EXPORT int podnet_nodes_parse(podnet_nodes **ret, const char *text, size_t len,
                                     podnet_error **err)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        size_t i = 0;
        int r;

        if (!ret || (!text && len > 0))
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        if (text && memchr(text, 0, len))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "Node list contains a NUL byte");
        nodes = calloc(1, sizeof(*nodes));
        if (!nodes)
                return -ENOMEM;
        while (i < len && isspace((unsigned char)text[i]))
                i++;
        if (i < len && text[i] == '{')
                r = parse_json(nodes, text, len, err);
        else
                r = parse_static(nodes, text ? text : "", len, err);
        if (r >= 0)
                r = nodes_check_unique(nodes, i < len && text[i] == '{', err);
        if (r < 0)
                return r == -ENOMEM ? pn_error(err, ENOMEM, 0, "Parsing the node list") : r;
        *ret = steal_pointer(&nodes);
        return 0;
}

/* --- serialisation -------------------------------------------------------------------- */

static json_t *address_json(const podnet_cidr *a, enum pn_addr_type t)
{
        char buf[PODNET_CIDR_STRLEN];

        if (podnet_cidr_format_addr(a, buf, sizeof(buf)) < 0)
                return NULL;
        return json_pack("{s:s,s:s}", "address", buf, "type",
                         t == PN_ADDR_EXTERNAL ? "ExternalIP" : "InternalIP");
}

PODNET_EXPORT int podnet_nodes_format_json(const podnet_nodes *nodes, char **ret)
{
        json_t *root, *items;
        char *s;

        if (!nodes || !ret)
                return -EINVAL;
        root = json_pack("{s:s,s:s,s:[]}", "apiVersion", "v1", "kind", "NodeList", "items");
        if (!root)
                return -ENOMEM;
        items = json_object_get(root, "items");
        for (size_t i = 0; i < nodes->n; i++) {
                const struct pn_node *n = &nodes->nodes[i];
                json_t *item, *spec, *cidrs, *addrs;
                char buf[PODNET_CIDR_STRLEN];

                item =
                    json_pack("{s:s,s:s,s:{s:s},s:{},s:{s:[]}}", "apiVersion", "v1", "kind", "Node",
                              "metadata", "name", n->name, "spec", "status", "addresses");
                if (!item || json_array_append_new(items, item) < 0)
                        goto oom;
                spec = json_object_get(item, "spec");
                if (n->n_pod_cidrs > 0) {
                        cidrs = json_array();
                        if (!cidrs || json_object_set_new(spec, "podCIDRs", cidrs) < 0)
                                goto oom;
                        for (size_t j = 0; j < n->n_pod_cidrs; j++) {
                                if (podnet_cidr_format(n->pod_cidrs[j], buf, sizeof(buf)) < 0)
                                        goto oom;
                                if (j == 0 &&
                                    json_object_set_new(spec, "podCIDR", json_string(buf)) < 0)
                                        goto oom;
                                if (json_array_append_new(cidrs, json_string(buf)) < 0)
                                        goto oom;
                        }
                        /* kubectl prints podCIDR first */
                }
                addrs = json_object_get(json_object_get(item, "status"), "addresses");
                if (n->addr4 && json_array_append_new(addrs, address_json(n->addr4, n->type4)) < 0)
                        goto oom;
                if (n->addr6 && json_array_append_new(addrs, address_json(n->addr6, n->type6)) < 0)
                        goto oom;
                if (json_array_append_new(
                        addrs, json_pack("{s:s,s:s}", "address", n->name, "type", "Hostname")) < 0)
                        goto oom;
        }
        s = json_dumps(root, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
oom:
        json_decref(root);
        return -ENOMEM;
}

/* --- allocation ----------------------------------------------------------------------- */

struct range {
        pn_u128 first, last;
};

static int range_compare(const void *a, const void *b)
{
        const struct range *x = a, *y = b;

        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        return 0;
}

static int name_index_compare(const void *a, const void *b, void *userdata)
{
        const podnet_nodes *nodes = userdata;
        size_t x = *(const size_t *)a, y = *(const size_t *)b;

        return strcmp(nodes->nodes[x].name, nodes->nodes[y].name);
}

PODNET_EXPORT int podnet_nodes_allocate(podnet_nodes *nodes,
                                        const podnet_cidr *const *cluster_cidrs,
                                        const unsigned *mask_sizes, size_t n_cluster_cidrs,
                                        podnet_error **err)
{
        _cleanup_free_ size_t *order = NULL;
        _cleanup_free_ podnet_cidr **fresh = NULL; /* [node * n_cluster_cidrs + c] */
        size_t n_need = 0, n_fresh;
        int r = 0;

        if (!nodes || (n_cluster_cidrs > 0 && (!cluster_cidrs || !mask_sizes)))
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        if (n_cluster_cidrs == 0)
                return pn_error_plain(err, EINVAL, 0, "No cluster CIDR to allocate from");
        for (size_t c = 0; c < n_cluster_cidrs; c++) {
                char buf[PODNET_CIDR_STRLEN] = "?";
                int family;
                unsigned bits;

                if (!cluster_cidrs[c])
                        return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
                family = podnet_cidr_family(cluster_cidrs[c]);
                bits = family == AF_INET ? 32 : 128;
                podnet_cidr_format(cluster_cidrs[c], buf, sizeof(buf));
                if (mask_sizes[c] < podnet_cidr_prefixlen(cluster_cidrs[c]) || mask_sizes[c] > bits)
                        return pn_error_plain(err, EINVAL, 0,
                                              "Node CIDR mask size %u does not fit cluster "
                                              "CIDR %s",
                                              mask_sizes[c], buf);
                for (size_t d = 0; d < c; d++)
                        if (podnet_cidr_family(cluster_cidrs[d]) == family)
                                return pn_error_plain(err, EINVAL, 0,
                                                      "More than one %s cluster CIDR (%s): at "
                                                      "most one per family",
                                                      family == AF_INET ? "IPv4" : "IPv6", buf);
        }
        for (size_t i = 0; i < nodes->n; i++)
                if (nodes->nodes[i].n_pod_cidrs == 0)
                        n_need++;
        if (n_need == 0)
                return 0;

        order = calloc(n_need, sizeof(*order));
        n_fresh = n_need * n_cluster_cidrs;
        fresh = calloc(n_fresh, sizeof(*fresh));
        if (!order || !fresh)
                return pn_error(err, ENOMEM, 0, "Allocating pod CIDRs");
        for (size_t i = 0, k = 0; i < nodes->n; i++)
                if (nodes->nodes[i].n_pod_cidrs == 0)
                        order[k++] = i;
        qsort_r(order, n_need, sizeof(*order), name_index_compare, nodes);

        for (size_t c = 0; c < n_cluster_cidrs && r >= 0; c++) {
                const podnet_cidr *cluster = cluster_cidrs[c];
                int family = podnet_cidr_family(cluster);
                _cleanup_free_ struct range *taken = NULL;
                size_t n_taken = 0, t = 0;
                pn_u128 cfirst, clast, step, cand;
                bool exhausted = false;

                pn_cidr_range(cluster, &cfirst, &clast);
                step = host_mask(family, mask_sizes[c]) + 1;
                for (size_t i = 0; i < nodes->n; i++)
                        n_taken += nodes->nodes[i].n_pod_cidrs;
                taken = calloc(n_taken + 1, sizeof(*taken));
                if (!taken) {
                        r = pn_error(err, ENOMEM, 0, "Allocating pod CIDRs");
                        break;
                }
                n_taken = 0;
                for (size_t i = 0; i < nodes->n; i++)
                        for (size_t j = 0; j < nodes->nodes[i].n_pod_cidrs; j++) {
                                const podnet_cidr *p = nodes->nodes[i].pod_cidrs[j];
                                if (podnet_cidr_family(p) != family)
                                        continue;
                                pn_cidr_range(p, &taken[n_taken].first, &taken[n_taken].last);
                                n_taken++;
                        }
                qsort(taken, n_taken, sizeof(*taken), range_compare);

                /* Candidates only move forward, so one merge walk over the sorted taken
                 * ranges finds the lowest free subnet for each node in turn. */
                cand = cfirst;
                for (size_t k = 0; k < n_need; k++) {
                        uint8_t bytes[16];
                        for (;;) {
                                pn_u128 cand_last = cand + (step - 1);
                                /* step 0 means the whole 128-bit space: one subnet */
                                if (exhausted || cand_last < cand || cand_last > clast ||
                                    cand < cfirst) {
                                        exhausted = true;
                                        break;
                                }
                                while (t < n_taken && taken[t].last < cand)
                                        t++;
                                /* ranges may nest: look at every one starting before us */
                                size_t u = t;
                                bool clash = false;
                                pn_u128 skip_to = cand;
                                while (u < n_taken && taken[u].first <= cand_last) {
                                        if (taken[u].last >= cand) {
                                                clash = true;
                                                if (taken[u].last > skip_to)
                                                        skip_to = taken[u].last;
                                        }
                                        u++;
                                }
                                if (!clash)
                                        break;
                                /* next subnet boundary after skip_to */
                                pn_u128 next = ((skip_to - cfirst) / step + 1) * step + cfirst;
                                if (next <= cand) {
                                        exhausted = true;
                                        break;
                                }
                                cand = next;
                        }
                        if (exhausted) {
                                char buf[PODNET_CIDR_STRLEN] = "?";
                                podnet_cidr_format(cluster, buf, sizeof(buf));
                                r = pn_error_plain(err, ENOSPC, 0, "Cluster CIDR %s is exhausted",
                                                   buf);
                                break;
                        }
                        pn_u128_to_bytes(family, cand, bytes);
                        r = podnet_cidr_new(&fresh[k * n_cluster_cidrs + c], family, bytes,
                                            mask_sizes[c]);
                        if (r < 0) {
                                r = pn_error(err, -r, 0, "Allocating pod CIDRs");
                                break;
                        }
                        cand += step;
                        if (cand == 0) /* wrapped past the end of the space */
                                exhausted = true;
                }
        }

        if (r >= 0)
                for (size_t k = 0; k < n_need; k++) {
                        struct pn_node *node = &nodes->nodes[order[k]];
                        node->pod_cidrs = calloc(n_cluster_cidrs, sizeof(*node->pod_cidrs));
                        if (!node->pod_cidrs) {
                                /* undo what this loop did so that nothing changes */
                                for (size_t l = 0; l < k; l++) {
                                        struct pn_node *m = &nodes->nodes[order[l]];
                                        memcpy(&fresh[l * n_cluster_cidrs], m->pod_cidrs,
                                               n_cluster_cidrs * sizeof(*fresh));
                                        free(m->pod_cidrs);
                                        m->pod_cidrs = NULL;
                                        m->n_pod_cidrs = 0;
                                }
                                r = pn_error(err, ENOMEM, 0, "Allocating pod CIDRs");
                                break;
                        }
                        memcpy(node->pod_cidrs, &fresh[k * n_cluster_cidrs],
                               n_cluster_cidrs * sizeof(*fresh));
                        memset(&fresh[k * n_cluster_cidrs], 0, n_cluster_cidrs * sizeof(*fresh));
                        node->n_pod_cidrs = n_cluster_cidrs;
                }
        for (size_t f = 0; f < n_fresh; f++)
                podnet_cidr_free(fresh[f]);
        return r < 0 ? r : (int)n_need;
}

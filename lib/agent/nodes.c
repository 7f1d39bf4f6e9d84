/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node list: the set of nodes (name, pod CIDRs, best address per family) and its
 * accessors, the checks every entry passes whatever format it came in, and
 * podnet_nodes_parse(), which picks the format. Formats: nodes-json.c (Kubernetes NodeList
 * JSON) and nodes-static.c (the static node file); allocation: allocate.c.
 */
#include <ctype.h>
#include <sys/socket.h>

#include "agent/nodes.h"

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

void pn_node_done(struct pn_node *n)
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
                pn_node_done(&nodes->nodes[i]);
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

/* The array grows in powers of two (at least 16): only this function adds nodes, so the
 * capacity follows from the count. */
int pn_nodes_append(podnet_nodes *nodes, struct pn_node **ret)
{
        struct pn_node *v = nodes->nodes;
        size_t n = nodes->n;

        if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
                v = realloc(v, (n ? 2 * n : 16) * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                nodes->nodes = v;
        }
        memset(&v[nodes->n], 0, sizeof(*v));
        *ret = &v[nodes->n++];
        return 0;
}

int pn_node_add_pod_cidr(struct pn_node *node, const char *text, podnet_error **err,
                         const char *where)
{
        _cleanup_cidr_ podnet_cidr *c = NULL, *net = NULL;
        podnet_cidr **v;
        int r;

        if (!strchr(text, '/'))
                return pn_error_plain(err, EINVAL, 0,
                                      "%s: pod CIDR \"%s\" of node %s has no prefix length", where,
                                      text, node->name);
        r = podnet_cidr_parse(&c, text);
        if (r < 0)
                return pn_error_plain(err, EINVAL, 0,
                                      "%s: invalid pod CIDR \"%s\" of node %s", where, text,
                                      node->name);
        r = podnet_cidr_network(&net, c);
        if (r < 0)
                return pn_error(err, -r, 0, "%s: pod CIDR %s", where, text);
        for (size_t j = 0; j < node->n_pod_cidrs; j++)
                if (podnet_cidr_overlaps(node->pod_cidrs[j], net) > 0)
                        return pn_error_plain(err, EINVAL, 0,
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
int pn_node_add_address(struct pn_node *node, const char *text, enum pn_addr_type type,
                        bool strict_single, podnet_error **err, const char *where)
{
        _cleanup_cidr_ podnet_cidr *c = NULL;
        podnet_cidr **slot;
        enum pn_addr_type *slot_type;
        int r, family;

        if (strchr(text, '/') || (r = podnet_cidr_parse(&c, text)) < 0)
                return pn_error_plain(err, EINVAL, 0,
                                      "%s: invalid address \"%s\" of node %s", where, text,
                                      node->name);
        family = podnet_cidr_family(c);
        slot = family == AF_INET ? &node->addr4 : &node->addr6;
        slot_type = family == AF_INET ? &node->type4 : &node->type6;
        if (*slot && strict_single)
                return pn_error_plain(err, EINVAL, 0,
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
int pn_nodes_check_unique(const podnet_nodes *nodes, bool json, podnet_error **err)
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
                return pn_error_plain(err, EINVAL, 0,
                                      "items[%zu]: node %s appears twice", nodes->nodes[dup].origin,
                                      nodes->nodes[dup].name);
        return pn_error_plain(err, EINVAL, 0, "Line %zu: node %s appears twice",
                              nodes->nodes[dup].origin, nodes->nodes[dup].name);
}

PODNET_EXPORT int podnet_nodes_parse(podnet_nodes **ret, const char *text, size_t len,
                                     podnet_error **err)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        size_t i = 0;
        int r;

        if (!ret || (!text && len > 0))
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        while (i < len && isspace((unsigned char)text[i]))
                i++;
        /* JSON cannot hold a NUL byte anywhere: pn_nodes_parse_json looks for one when it fails */
        if (!(i < len && text[i] == '{') && text && memchr(text, 0, len))
                return pn_error_plain(err, EINVAL, 0,
                                      "Node list contains a NUL byte");
        nodes = calloc(1, sizeof(*nodes));
        if (!nodes)
                return -ENOMEM;
        if (i < len && text[i] == '{')
                r = pn_nodes_parse_json(nodes, text, len, err);
        else
                r = pn_nodes_parse_static(nodes, text ? text : "", len, err);
        if (r >= 0)
                r = pn_nodes_check_unique(nodes, i < len && text[i] == '{', err);
        if (r < 0)
                return r == -ENOMEM ? pn_error(err, ENOMEM, 0, "Parsing the node list") : r;
        *ret = steal_pointer(&nodes);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The static node file: one node per line, NAME POD-CIDR[,POD-CIDR] ADDRESS[,ADDRESS]
 * ('-' for none), '#' starts a comment; for clusters without an API server to list nodes.
 */
#include "agent/nodes.h"

static int parse_static_line(podnet_nodes *nodes, char *line, unsigned lineno, podnet_error **err)
{
        char where[32], *fields[4], *save = NULL, *tok, *item;
        struct pn_node *node;
        size_t n = 0;
        int r;

        snprintf(where, sizeof(where), "Line %u", lineno);
        for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                if (n == 3)
                        return pn_error_plain(err, EINVAL, 0,
                                              "%s: expected NAME POD-CIDR[,POD-CIDR] "
                                              "ADDRESS[,ADDRESS], got more fields",
                                              where);
                fields[n++] = tok;
        }
        if (n != 3)
                return pn_error_plain(err, EINVAL, 0,
                                      "%s: expected NAME POD-CIDR[,POD-CIDR] ADDRESS[,ADDRESS], "
                                      "got %zu field%s",
                                      where, n, n == 1 ? "" : "s");
        if (!pn_node_name_valid(fields[0]))
                return pn_error_plain(err, EINVAL, 0,
                                      "%s: \"%s\" is not a valid node name", where, fields[0]);
        r = pn_nodes_append(nodes, &node);
        if (r < 0)
                return r;
        node->name = strdup(fields[0]);
        if (!node->name)
                return -ENOMEM;
        node->origin = lineno;
        if (!streq(fields[1], "-"))
                for (item = strtok_r(fields[1], ",", &save); item;
                     item = strtok_r(NULL, ",", &save)) {
                        r = pn_node_add_pod_cidr(node, item, err, where);
                        if (r < 0)
                                return r;
                }
        if (!streq(fields[2], "-"))
                for (item = strtok_r(fields[2], ",", &save); item;
                     item = strtok_r(NULL, ",", &save)) {
                        r = pn_node_add_address(node, item, PN_ADDR_INTERNAL, true, err, where);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int pn_nodes_parse_static(podnet_nodes *nodes, const char *text, size_t len, podnet_error **err)
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

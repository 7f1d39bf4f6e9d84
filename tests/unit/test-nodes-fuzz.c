/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The streaming NodeList reader against the tree-based one it replaced (kept here on jansson
 * as the reference): the shipped samples, generated NodeLists with random extra fields,
 * nesting, escapes and Unicode, edge cases, and thousands of mutated documents must give the
 * same success or failure, the same message for a bad node and the same nodes. */
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <sys/socket.h>
#include <time.h>

#include "core/internal.h"
#include "agent/routes.h"
#include "strbuf.h"
#include "tap.h"

/* --- the reference: the jansson-based reader as it was ------------------------------------ */

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

static int ref_node(podnet_nodes *nodes, json_t *item, const char *where, podnet_error **err)
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
        r = pn_nodes_append(nodes, &node);
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
                        r = pn_node_add_pod_cidr(node, json_string_value(a), err, where);
                        if (r < 0)
                                return r;
                }
        } else if (json_is_string(cidr) && *json_string_value(cidr)) {
                r = pn_node_add_pod_cidr(node, json_string_value(cidr), err, where);
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
                        continue;
                if (!json_is_string(address))
                        return address ? type_error(err, where, ".address", "a string", address)
                                       : pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                                        "%s%s.address: missing", where, key);
                r = pn_node_add_address(node, json_string_value(address), t, false, err, where);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int ref_json(podnet_nodes *nodes, const char *text, size_t len, podnet_error **err)
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
                r = ref_node(nodes, root, "Node", err);
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
                r = ref_node(nodes, item, where, err);
                if (r < 0)
                        break;
        }
out:
        json_decref(root);
        return r;
}

/* podnet_nodes_parse with the reference for JSON (the static file reader is shared). */
static int ref_parse(podnet_nodes **ret, const char *text, size_t len, podnet_error **err)
{
        _cleanup_nodes_ podnet_nodes *nodes = NULL;
        size_t i = 0;
        int r;

        if (memchr(text, 0, len))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "Node list contains a NUL byte");
        while (i < len && isspace((unsigned char)text[i]))
                i++;
        if (i >= len || text[i] != '{')
                return podnet_nodes_parse(ret, text, len, err);
        nodes = calloc(1, sizeof(*nodes));
        if (!nodes)
                return -ENOMEM;
        r = ref_json(nodes, text, len, err);
        if (r >= 0)
                r = pn_nodes_check_unique(nodes, true, err);
        if (r < 0)
                return r;
        *ret = steal_pointer(&nodes);
        return 0;
}

/* --- comparison --------------------------------------------------------------------------- */

struct tally {
        const char *what;
        unsigned docs, ok_docs, failed_docs, mismatches;
};

static void cidr_text(const podnet_cidr *c, char *buf, size_t size)
{
        if (!c)
                snprintf(buf, size, "-");
        else if (podnet_cidr_format(c, buf, size) < 0)
                snprintf(buf, size, "?");
}

static bool same_nodes(const podnet_nodes *a, const podnet_nodes *b, char *why, size_t size)
{
        if (a->n != b->n) {
                snprintf(why, size, "%zu nodes against %zu", a->n, b->n);
                return false;
        }
        for (size_t i = 0; i < a->n; i++) {
                const struct pn_node *x = &a->nodes[i], *y = &b->nodes[i];
                char s[PODNET_CIDR_STRLEN], t[PODNET_CIDR_STRLEN];

                if (!streq(x->name, y->name) || x->origin != y->origin ||
                    x->n_pod_cidrs != y->n_pod_cidrs || x->type4 != y->type4 ||
                    x->type6 != y->type6) {
                        snprintf(why, size, "node %zu: %s against %s", i, x->name, y->name);
                        return false;
                }
                for (size_t j = 0; j < x->n_pod_cidrs; j++) {
                        cidr_text(x->pod_cidrs[j], s, sizeof(s));
                        cidr_text(y->pod_cidrs[j], t, sizeof(t));
                        if (!streq(s, t)) {
                                snprintf(why, size, "node %s CIDR %zu: %s against %s", x->name, j,
                                         s, t);
                                return false;
                        }
                }
                cidr_text(x->addr4, s, sizeof(s));
                cidr_text(y->addr4, t, sizeof(t));
                if (!streq(s, t)) {
                        snprintf(why, size, "node %s IPv4: %s against %s", x->name, s, t);
                        return false;
                }
                cidr_text(x->addr6, s, sizeof(s));
                cidr_text(y->addr6, t, sizeof(t));
                if (!streq(s, t)) {
                        snprintf(why, size, "node %s IPv6: %s against %s", x->name, s, t);
                        return false;
                }
        }
        return true;
}

static void show_doc(const char *text, size_t len)
{
        char out[401];
        size_t n = 0;

        for (size_t i = 0; i < len && n + 4 < sizeof(out); i++) {
                unsigned char c = (unsigned char)text[i];
                if (c >= 0x20 && c < 0x7f) {
                        out[n++] = (char)c;
                } else {
                        snprintf(out + n, sizeof(out) - n, "\\x%02x", c);
                        n += 4;
                }
        }
        out[n] = 0;
        diag("document (%zu bytes): %s%s", len, out, n + 4 >= sizeof(out) ? "..." : "");
}

/* Both readers on one document: the same outcome, message (for a valid document) and
 * nodes. Reports the first few differences; returns whether the document is valid. */
static bool compare(struct tally *t, const char *text, size_t len)
{
        _cleanup_nodes_ podnet_nodes *a = NULL, *b = NULL;
        _cleanup_error_ podnet_error *ea = NULL, *eb = NULL;
        int ra = podnet_nodes_parse(&a, text, len, &ea);
        int rb = ref_parse(&b, text, len, &eb);
        const char *ma = ea ? podnet_error_message(ea) : "",
                   *mb = eb ? podnet_error_message(eb) : "";
        char why[256] = "";
        bool same;

        t->docs++;
        if (ra >= 0 && rb >= 0) {
                t->ok_docs++;
                same = same_nodes(a, b, why, sizeof(why));
        } else if (ra < 0 && rb < 0) {
                t->failed_docs++;
                same = ra == rb && (streq(ma, mb) || (strstr(ma, "Node list is not valid JSON") &&
                                                      strstr(mb, "Node list is not valid JSON")));
                if (!same)
                        snprintf(why, sizeof(why), "messages \"%s\" (%d) against \"%s\" (%d)", ma,
                                 ra, mb, rb);
        } else {
                same = false;
                snprintf(why, sizeof(why), "streaming %s (%s), reference %s (%s)",
                         ra < 0 ? "fails" : "accepts", ma, rb < 0 ? "fails" : "accepts", mb);
        }
        if (!same && t->mismatches++ < 5) {
                diag("%s: %s", t->what, why);
                show_doc(text, len);
        }
        return ra >= 0;
}

static void report(const struct tally *t, unsigned want_ok, unsigned want_failed)
{
        ok(t->mismatches == 0, "%s: %u documents (%u valid, %u rejected), %u differences", t->what,
           t->docs, t->ok_docs, t->failed_docs, t->mismatches);
        ok(t->ok_docs >= want_ok && t->failed_docs >= want_failed,
           "%s: at least %u valid and %u rejected documents exercised", t->what, want_ok,
           want_failed);
}

/* --- generated documents ------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
        uint64_t x = rng_state;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return rng_state = x;
}

static unsigned pick(unsigned n)
{
        return (unsigned)(rnd() % n);
}

static void ws(struct sbuf *b)
{
        static const char *const spaces[] = {"", "", "", " ", "\n", "\t", "\r\n", "  \n    "};

        sb_puts(b, spaces[pick(8)]);
}

/* A string's text, quotes included, spelling some characters as escapes. */
static void str_lit(struct sbuf *b, const char *s)
{
        sb_puts(b, "\"");
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                unsigned how = pick(12);
                if (c == '"' || c == '\\')
                        sb_printf(b, how < 6 ? "\\%c" : "\\u%04x", c);
                else if (c < 0x20)
                        sb_printf(b, "\\u%04X", c);
                else if (c < 0x80 && how == 0)
                        sb_printf(b, "\\u%04x", c);
                else if (c == '/' && how == 1)
                        sb_puts(b, "\\/");
                else
                        sb_add(b, s, 1);
        }
        sb_puts(b, "\"");
}

static void random_string(struct sbuf *b)
{
        static const char *const pieces[] = {"a",
                                             "kubernetes.io/hostname",
                                             "f:metadata",
                                             "k:{\\\"type\\\":\\\"Ready\\\"}",
                                             "\\n",
                                             "\\t",
                                             "\\\"",
                                             "\\\\",
                                             "\\/",
                                             "\\b",
                                             "\\f",
                                             "\\r",
                                             "\\u00e9",
                                             "\\u20AC",
                                             "\\ud83d\\ude00",
                                             "\\uD834\\uDD1E",
                                             "é",
                                             "€",
                                             "😀",
                                             "\xf4\x8f\xbf\xbf",
                                             "registry.k8s.io/pause:3.9",
                                             "sha256:0123abcd",
                                             " ",
                                             "x",
                                             "Z",
                                             "-",
                                             "0"};
        unsigned n = pick(6);

        sb_puts(b, "\"");
        for (unsigned i = 0; i < n; i++)
                sb_puts(b, pieces[pick(sizeof(pieces) / sizeof(*pieces))]);
        sb_puts(b, "\"");
}

static void random_value(struct sbuf *b, int depth);

static void random_object(struct sbuf *b, int depth, unsigned max_keys)
{
        unsigned n = pick(max_keys + 1);

        sb_puts(b, "{");
        ws(b);
        for (unsigned i = 0; i < n; i++) {
                if (i) {
                        sb_puts(b, ",");
                        ws(b);
                }
                sb_printf(b, "\"k%u", i);
                if (pick(4) == 0)
                        sb_puts(b, pick(2) ? "\\u00e9" : "\\n");
                sb_puts(b, "\"");
                ws(b);
                sb_puts(b, ":");
                ws(b);
                random_value(b, depth + 1);
        }
        ws(b);
        sb_puts(b, "}");
}

static void random_value(struct sbuf *b, int depth)
{
        static const char *const scalars[] = {"0",
                                              "-0",
                                              "1",
                                              "42",
                                              "-17",
                                              "3.25",
                                              "-0.5",
                                              "1e3",
                                              "2E-7",
                                              "6.02e+23",
                                              "1.7976931348623157e308",
                                              "4.9e-324",
                                              "true",
                                              "false",
                                              "null",
                                              "9223372036854775807",
                                              "-9223372036854775808",
                                              "1e-400",
                                              "123456789012"};
        unsigned kind = depth > 5 ? pick(2) : pick(5);

        switch (kind) {
        case 0:
                sb_puts(b, scalars[pick(sizeof(scalars) / sizeof(*scalars))]);
                break;
        case 1:
                random_string(b);
                break;
        case 2:
                random_object(b, depth, 4);
                break;
        default: {
                unsigned n = pick(4);
                sb_puts(b, "[");
                ws(b);
                for (unsigned i = 0; i < n; i++) {
                        if (i) {
                                sb_puts(b, ",");
                                ws(b);
                        }
                        random_value(b, depth + 1);
                }
                ws(b);
                sb_puts(b, "]");
        }
        }
}

/* Members of an object in random order, each given as its full "key": value text. */
static void members(struct sbuf *b, char **m, size_t n)
{
        for (size_t i = n; i > 1; i--) {
                size_t j = pick((unsigned)i);
                char *tmp = m[i - 1];
                m[i - 1] = m[j];
                m[j] = tmp;
        }
        sb_puts(b, "{");
        ws(b);
        for (size_t i = 0; i < n; i++) {
                if (i) {
                        sb_puts(b, ",");
                        ws(b);
                }
                sb_puts(b, m[i]);
                free(m[i]);
        }
        ws(b);
        sb_puts(b, "}");
}

static char *member(const char *key, void (*value)(struct sbuf *b, unsigned i), unsigned i)
{
        struct sbuf b = {0};

        str_lit(&b, key);
        ws(&b);
        sb_puts(&b, ":");
        ws(&b);
        value(&b, i);
        return b.s;
}

static void v_extra(struct sbuf *b, unsigned i)
{
        (void)i;
        random_value(b, 1);
}

/* Now and then (n of one_in times) one of the n JSON texts bad[] instead of a good value. */
static bool fault(struct sbuf *b, unsigned one_in, const char *const *bad, unsigned n)
{
        unsigned k = pick(one_in);

        if (k >= n)
                return false;
        sb_puts(b, bad[k]);
        return true;
}

static void v_name(struct sbuf *b, unsigned i)
{
        static const char *const bad[] = {"7", "\"Bad_Name\"", "\"node0\"" /* maybe twice */};
        char name[32];

        if (fault(b, 40, bad, 3))
                return;
        snprintf(name, sizeof(name), "node%u", i);
        str_lit(b, name);
}

/* A generated object's member: present unless pick(absent_one_in) == 0 (0: always). */
struct field {
        const char *key;
        void (*value)(struct sbuf *b, unsigned i);
        unsigned absent_one_in;
};

/* An object of the fields in random order, or once in bad_one_in times the JSON text bad. */
static void object_of(struct sbuf *b, unsigned i, const struct field *f, size_t n_f,
                      const char *bad, unsigned bad_one_in)
{
        char *m[8];
        size_t n = 0;

        if (pick(bad_one_in) == 0) {
                sb_puts(b, bad);
                return;
        }
        for (size_t k = 0; k < n_f && n < 8; k++)
                if (!f[k].absent_one_in || pick(f[k].absent_one_in))
                        m[n++] = member(f[k].key, f[k].value, i);
        members(b, m, n);
}

static void v_meta(struct sbuf *b, unsigned i)
{
        static const struct field f[] = {
            {"name", v_name, 40}, {"labels", v_extra, 0}, {"resourceVersion", v_extra, 2}};

        object_of(b, i, f, 3, pick(2) ? "null" : "[]", 60);
}

static void v_cidr(struct sbuf *b, unsigned i)
{
        static const char *const bad[] = {"null", "\"\"", "5", "\"10.1.300.0/24\"", "\"10.0.0.0\""};

        if (!fault(b, 50, bad, 5))
                sb_printf(b, "\"10.%u.%u.%u/24\"", i / 256 % 256, i % 256, pick(20) ? 0 : 7);
}

/* An array of n elements element(b, i, k), or once in bad_one_in times the JSON text bad. */
static void array_of(struct sbuf *b, unsigned i, unsigned n,
                     void (*element)(struct sbuf *b, unsigned i, unsigned k), const char *bad,
                     unsigned bad_one_in)
{
        if (pick(bad_one_in) == 0) {
                sb_puts(b, bad);
                return;
        }
        sb_puts(b, "[");
        for (unsigned k = 0; k < n; k++) {
                if (k)
                        sb_puts(b, ",");
                ws(b);
                element(b, i, k);
        }
        ws(b);
        sb_puts(b, "]");
}

static void e_cidr(struct sbuf *b, unsigned i, unsigned k)
{
        if (k == 0 || pick(8) == 0) /* later ones the same again now and then: overlaps */
                v_cidr(b, i);
        else
                sb_printf(b, "\"fd00:%x:%x::/64\"", i, k);
}

static void v_cidrs(struct sbuf *b, unsigned i)
{
        array_of(b, i, pick(30) == 0 ? 0 : 1 + pick(3), e_cidr,
                 pick(2) ? "null" : "\"10.0.0.0/24\"", 50);
}

static void v_spec(struct sbuf *b, unsigned i)
{
        static const struct field f[] = {
            {"podCIDR", v_cidr, 4}, {"podCIDRs", v_cidrs, 4}, {"taints", v_extra, 2}};

        object_of(b, i, f, 3, "\"spec\"", 80);
}

static void v_addr_type(struct sbuf *b, unsigned i)
{
        static const char *const types[] = {"InternalIP", "ExternalIP", "Hostname", "InternalDNS"};
        (void)i;
        if (pick(60) == 0)
                sb_puts(b, "1");
        else
                str_lit(b, types[pick(4)]);
}

static void v_addr(struct sbuf *b, unsigned i)
{
        static const char *const bad[] = {"\"192.168.1.x\"", "false", "\"192.168.0.0/16\""};

        if (fault(b, 40, bad, 3))
                return;
        if (pick(40) == 0)
                sb_printf(b, "\"fd00::%x\"", i + 1);
        else
                sb_printf(b, "\"192.168.%u.%u\"", i / 250, 1 + i % 250 + pick(2));
}

static void v_address(struct sbuf *b, unsigned i)
{
        static const struct field f[] = {
            {"type", v_addr_type, 40}, {"address", v_addr, 40}, {"extra", v_extra, 2}};

        object_of(b, i, f, 3, "\"addr\"", 80);
}

static void e_address(struct sbuf *b, unsigned i, unsigned k)
{
        (void)k;
        v_address(b, i);
}

static void v_addresses(struct sbuf *b, unsigned i)
{
        array_of(b, i, pick(4), e_address, pick(2) ? "null" : "{}", 60);
}

static void v_status(struct sbuf *b, unsigned i)
{
        static const struct field f[] = {
            {"addresses", v_addresses, 10}, {"images", v_extra, 2}, {"conditions", v_extra, 0}};

        object_of(b, i, f, 3, "[]", 80);
}

static void v_str_node(struct sbuf *b, unsigned i)
{
        (void)i;
        str_lit(b, "Node");
}

static void v_str_v1(struct sbuf *b, unsigned i)
{
        (void)i;
        str_lit(b, "v1");
}

static void node_members(char **m, size_t *n, unsigned i, bool root)
{
        if (!root && pick(2))
                m[(*n)++] = member("kind", v_str_node, i);
        if (pick(root ? 100 : 2) == 0) /* the root has one already: a duplicate key */
                m[(*n)++] = member("apiVersion", v_str_v1, i);
        if (pick(50))
                m[(*n)++] = member("metadata", v_meta, i);
        if (pick(8))
                m[(*n)++] = member("spec", v_spec, i);
        if (pick(8))
                m[(*n)++] = member("status", v_status, i);
}

static void v_node(struct sbuf *b, unsigned i)
{
        char *m[8];
        size_t n = 0;

        static const char *const bad[] = {"42"};

        if (fault(b, 200, bad, 1))
                return;
        node_members(m, &n, i, false);
        if (pick(2))
                m[n++] = member("managedFields", v_extra, i);
        members(b, m, n);
}

static unsigned n_items_want;

static void e_node(struct sbuf *b, unsigned i, unsigned k)
{
        (void)i;
        v_node(b, k);
}

static void v_items(struct sbuf *b, unsigned i)
{
        array_of(b, i, n_items_want, e_node, "", UINT_MAX); /* never bad: "items" is left out */
}

static void v_kind(struct sbuf *b, unsigned i)
{
        static const char *const kinds[] = {"NodeList", "List", "NodeList", "List", "Node", "Pod"};

        (void)i;
        if (pick(40) == 0)
                sb_puts(b, "3");
        else
                str_lit(b, kinds[pick(6)]);
}

/* A random NodeList (now and then a Node, or a broken one): mostly valid. */
static char *nodelist(unsigned n_items)
{
        struct sbuf b = {0};
        char *m[8];
        size_t n = 0;

        n_items_want = n_items;
        if (pick(6))
                m[n++] = member("kind", v_kind, 0);
        if (pick(30))
                m[n++] = member("items", v_items, 0);
        m[n++] = member("apiVersion", v_str_v1, 0);
        if (pick(4) == 0) /* the root might be read as a Node: give it a Node's fields */
                node_members(m, &n, 9999, true);
        else
                m[n++] = member("metadata", v_extra, 0);
        ws(&b);
        members(&b, m, n);
        ws(&b);
        return b.s;
}

/* --- mutations ----------------------------------------------------------------------------- */

static const char *const snippets[] = {"{",
                                       "}",
                                       "[",
                                       "]",
                                       ":",
                                       ",",
                                       "\"",
                                       "\\",
                                       "\\u",
                                       "\\ud800",
                                       "\\udc00",
                                       "\\u0000",
                                       "\\x",
                                       "0",
                                       "-",
                                       "01",
                                       "1.",
                                       ".5",
                                       "1e",
                                       "1e999",
                                       "99999999999999999999",
                                       "tru",
                                       "nulll",
                                       "NaN",
                                       "\xc3",
                                       "\xc0\x80",
                                       "\xed\xa0\x80",
                                       "\xf4\x90\x80\x80",
                                       "\xff",
                                       "\x01",
                                       "\n",
                                       "\f",
                                       "\v",
                                       " ",
                                       "\"a\":1,",
                                       "\"metadata\":{},",
                                       "\"kind\":\"Node\",",
                                       "\"x\":",
                                       ",\"k0\":0",
                                       "\xef\xbb\xbf"};

static char *mutate(const char *doc, size_t len, size_t *out_len)
{
        struct sbuf b = {0};
        size_t at = len ? pick((unsigned)len) : 0;
        const char *s;

        switch (pick(6)) {
        case 0: /* flip a byte to something else */
                sb_add(&b, doc, len);
                if (len)
                        b.s[at] = pick(3) ? "{}[]:,\"\\ 0-.eE1tfnul\n"[pick(21)] : (char)pick(256);
                break;
        case 1: /* cut it short */
                sb_add(&b, doc, at);
                if (!b.s)
                        sb_add(&b, "", 0);
                break;
        case 2: /* insert something */
        case 3:
                s = snippets[pick(sizeof(snippets) / sizeof(*snippets))];
                sb_add(&b, doc, at);
                sb_puts(&b, s);
                sb_add(&b, doc + at, len - at);
                break;
        case 4: { /* take a piece out */
                size_t n = 1 + pick(8);
                sb_add(&b, doc, at);
                if (at + n < len)
                        sb_add(&b, doc + at + n, len - at - n);
                else
                        sb_add(&b, "", 0);
                break;
        }
        default: { /* repeat a piece (keys, values, separators) */
                size_t n = 1 + pick(24);
                if (at + n > len)
                        n = len - at;
                sb_add(&b, doc, at + n);
                sb_add(&b, doc + at, len - at);
                break;
        }
        }
        *out_len = b.len;
        return b.s;
}

/* --- the corpora ----------------------------------------------------------------------------- */

static char *slurp(const char *name, size_t *len)
{
        const char *dir = getenv("PODNET_TESTDATA");
        char path[4096];
        struct sbuf b = {0};
        char chunk[4096];
        size_t n;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
        f = fopen(path, "re");
        if (!f)
                return NULL;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                sb_add(&b, chunk, n);
        fclose(f);
        *len = b.len;
        return b.s;
}

static void test_samples(char **docs, size_t *lens)
{
        static const char *const names[] = {"nodelist-kubenet3.json", "nodelist-dualstack.json"};
        struct tally t = {.what = "shipped samples"};

        for (size_t i = 0; i < 2; i++) {
                docs[i] = slurp(names[i], &lens[i]);
                if (!ok(docs[i], "read %s", names[i]))
                        return;
                compare(&t, docs[i], lens[i]);
        }
        report(&t, 2, 0);
}

static void compare_str(struct tally *t, const char *s)
{
        compare(t, s, strlen(s));
}

static void nested(struct tally *t, unsigned levels, bool scalar)
{
        struct sbuf b = {0};

        sb_puts(&b, "{\"items\":[],\"x\":");
        for (unsigned i = 0; i < levels; i++)
                sb_puts(&b, i % 2 ? "{\"k\":" : "[");
        if (scalar)
                sb_puts(&b, "1");
        else if (levels % 2)
                sb_puts(&b, "[]");
        else
                sb_puts(&b, "{}");
        for (unsigned i = levels; i > 0; i--)
                sb_puts(&b, (i - 1) % 2 ? "}" : "]");
        sb_puts(&b, "}");
        compare(t, b.s, b.len);
        free(b.s);
}

static void many_keys(struct tally *t, unsigned n, long dup)
{
        struct sbuf b = {0};

        sb_puts(&b, "{\"items\":[{\"metadata\":{\"name\":\"a\"},\"labels\":{");
        for (unsigned i = 0; i < n; i++)
                sb_printf(&b, "%s\"key%u\":%u", i ? "," : "", i, i);
        if (dup >= 0)
                sb_printf(&b, ",\"key\\u0030%ld\":0", dup); /* "key0..." spelt with an escape */
        sb_puts(&b, "}}]}");
        compare(t, b.s, b.len);
        free(b.s);
}

static void test_edges(void)
{
        static const char *const docs[] = {
            "{\"items\":[]}",
            "{\"items\":[]} ",
            "{\"items\":[]} x",
            "\f{\"items\":[]}",
            "\v{\"items\":[]}",
            " \r\n\t{\"items\":[]}",
            "{\"items\":[],\"items\":[]}",
            "{\"items\":[],\"x\":{\"a\":1,\"a\":2}}",
            "{\"items\":[],\"x\":{\"a\":1,\"\\u0061\":2}}",
            "{\"items\":[],\"x\":[{\"a\":1},{\"a\":2}]}",
            "{\"items\":[],\"x\":{\"a\":{\"a\":1},\"b\":{\"a\":1}}}",
            "{\"items\":[],\"x\":\"\\u0000\"}",
            "{\"items\":[],\"\\u0000\":1}",
            "{\"items\":[],\"x\":\"\\ud800\"}",
            "{\"items\":[],\"x\":\"\\udc00\"}",
            "{\"items\":[],\"x\":\"\\ud800\\u0041\"}",
            "{\"items\":[],\"x\":\"\\ud800\\n\"}",
            "{\"items\":[],\"x\":\"\\uDBFF\\uDFFF\"}",
            "{\"items\":[],\"x\":\"\\u12\"}",
            "{\"items\":[],\"x\":\"\\u12G4\"}",
            "{\"items\":[],\"x\":\"\\a\"}",
            "{\"items\":[],\"x\":\"tab\there\"}",
            "{\"items\":[],\"x\":\"\x7f\"}",
            "{\"items\":[],\"x\":\"\xc3\xa9\"}",
            "{\"items\":[],\"x\":\"\xc0\x80\"}",
            "{\"items\":[],\"x\":\"\xc1\xbf\"}",
            "{\"items\":[],\"x\":\"\xe0\x80\x80\"}",
            "{\"items\":[],\"x\":\"\xe0\xa0\x80\"}",
            "{\"items\":[],\"x\":\"\xed\x9f\xbf\"}",
            "{\"items\":[],\"x\":\"\xed\xa0\x80\"}",
            "{\"items\":[],\"x\":\"\xef\xbf\xbf\"}",
            "{\"items\":[],\"x\":\"\xf0\x8f\xbf\xbf\"}",
            "{\"items\":[],\"x\":\"\xf0\x90\x80\x80\"}",
            "{\"items\":[],\"x\":\"\xf4\x8f\xbf\xbf\"}",
            "{\"items\":[],\"x\":\"\xf4\x90\x80\x80\"}",
            "{\"items\":[],\"x\":\"\xf5\x80\x80\x80\"}",
            "{\"items\":[],\"x\":\"\xe2\x82\"}",
            "{\"items\":[],\"x\":\"\x80\"}",
            "{\"items\":[],\"x\":\xc3\xa9}",
            "{\"items\":[],\"x\":9223372036854775807}",
            "{\"items\":[],\"x\":9223372036854775808}",
            "{\"items\":[],\"x\":-9223372036854775808}",
            "{\"items\":[],\"x\":-9223372036854775809}",
            "{\"items\":[],\"x\":12345678901234567890}",
            "{\"items\":[],\"x\":1e308}",
            "{\"items\":[],\"x\":1.7976931348623157e308}",
            "{\"items\":[],\"x\":1.7976931348623158e308}",
            "{\"items\":[],\"x\":1.7976931348623159e308}",
            "{\"items\":[],\"x\":1.8e308}",
            "{\"items\":[],\"x\":-1.8e308}",
            "{\"items\":[],\"x\":17976931348623157e292}",
            "{\"items\":[],\"x\":179769313486231580000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            ".0}",
            "{\"items\":[],\"x\":0.0000000000000000001e327}",
            "{\"items\":[],\"x\":0.0000000000000000001e328}",
            "{\"items\":[],\"x\":1e309}",
            "{\"items\":[],\"x\":0e99999999999999999999}",
            "{\"items\":[],\"x\":1e-99999999999999999999}",
            "{\"items\":[],\"x\":1e99999999999999999999}",
            "{\"items\":[],\"x\":00}",
            "{\"items\":[],\"x\":-}",
            "{\"items\":[],\"x\":-01}",
            "{\"items\":[],\"x\":1.}",
            "{\"items\":[],\"x\":.1}",
            "{\"items\":[],\"x\":1e+}",
            "{\"items\":[],\"x\":+1}",
            "{\"items\":[],\"x\":1E+2}",
            "{\"items\":[],\"x\":truex}",
            "{\"items\":[],\"x\":nul}",
            "{\"items\":[],\"x\":[1,]}",
            "{\"items\":[],}",
            "{\"items\":[] \"x\":1}",
            "{\"items\" []}",
            "{\"items\":[]",
            "{}",
            "{\"kind\":\"Node\"}",
            "{\"kind\":\"Node\",\"metadata\":{\"name\":\"solo\"},\"items\":5}",
            "{\"items\":[{\"metadata\":{\"name\":\"a\"}}],\"kind\":\"Node\",\"metadata\":{}}",
            "{\"items\":[7],\"kind\":\"Pod\"}",
            "{\"items\":[7],\"kind\":null}",
            "{\"items\":[{\"metadata\":{\"name\":\"a\"}},7]}",
            "{\"items\":[7,{\"metadata\":{\"name\":\"a\\u0062\"}}]}",
            "{\"items\":[{\"metadata\":{\"name\":\"a\\u0062\"}}]}",
            "{\"items\":[{\"metadata\":{\"name\":\"b\"}},{\"metadata\":{\"name\":\"a\"}},"
            "{\"metadata\":{\"name\":\"b\"}}]}",
            "{\"items\":[{\"metadata\":{\"name\":\"a\"},\"spec\":{\"podCIDRs\":[],\"podCIDR\":"
            "\"10.0.0.0/24\"}}]}",
            "{\"items\":[{\"metadata\":{\"name\":\"a\"},\"spec\":{\"podCIDRs\":null,\"podCIDR\":"
            "null}}]}",
            "{\"items\":[{\"metadata\":{\"name\":\"a\"},\"status\":{\"addresses\":[{\"type\":"
            "\"Hostname\"},{\"type\":5}]}}]}",
            "{\"items\":[{\"metadata\":{\"name\":\"a\"},\"status\":{\"addresses\":[{\"type\":"
            "\"InternalIP\"}]}}]}",
            "{\"items\":[{\"metadata\":{\"name\":\"a\"},\"status\":{\"addresses\":[{\"type\":"
            "\"ExternalIP\",\"address\":\"198.51.100.1\"},{\"type\":\"InternalIP\",\"address\":"
            "\"192.168.1.1\"},{\"type\":\"InternalIP\",\"address\":\"192.168.1.2\"}]}}]}",
            "{\"items\":[{\"metadata\":{\"name\":\"a\"}}],\"x\":\"\\ud800\"}",
            "{\"items\":[{\"metadata\":{\"name\":\"a\"},\"metadata\":{\"name\":\"b\"}}]}",
        };
        struct tally t = {.what = "edge cases"};

        for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++)
                compare_str(&t, docs[i]);
        for (unsigned levels = 2044; levels <= 2050; levels++) {
                nested(&t, levels, true);
                nested(&t, levels, false);
        }
        many_keys(&t, 15, -1);
        many_keys(&t, 16, -1);
        many_keys(&t, 17, 16);
        many_keys(&t, 500, -1);
        many_keys(&t, 500, 3);
        many_keys(&t, 500, 499);
        many_keys(&t, 5000, 4321);
        report(&t, 30, 60);
}

int main(void)
{
        char *samples[2] = {0}, *gen[64] = {0};
        size_t sample_len[2] = {0}, gen_len[64] = {0};
        struct tally g = {.what = "generated NodeLists"};
        struct tally m = {.what = "mutated documents"};
        clock_t start = clock();

        test_samples(samples, sample_len);
        test_edges();

        for (unsigned i = 0, n_gen = 0; i < 1500; i++) {
                char *doc = nodelist(pick(6));
                size_t len = strlen(doc);
                /* valid ones become the mutations' starting points */
                if (compare(&g, doc, len) && n_gen < 64) {
                        gen[n_gen] = doc;
                        gen_len[n_gen++] = len;
                } else {
                        free(doc);
                }
        }
        report(&g, 300, 300);

        for (unsigned i = 0; i < 25000; i++) {
                unsigned src = pick(66);
                const char *doc = src < 2 ? samples[src] : gen[src - 2];
                size_t len = src < 2 ? sample_len[src] : gen_len[src - 2], n;
                char *mut;

                if (!doc)
                        continue;
                mut = mutate(doc, len, &n);
                if (pick(3) == 0) { /* a second mutation now and then */
                        size_t n2;
                        char *again = mutate(mut, n, &n2);
                        free(mut);
                        mut = again;
                        n = n2;
                }
                compare(&m, mut, n);
                free(mut);
        }
        report(&m, 2000, 6000);

        diag("%.2f s of CPU", (double)(clock() - start) / CLOCKS_PER_SEC);
        for (unsigned i = 0; i < 64; i++)
                free(gen[i]);
        free(samples[0]);
        free(samples[1]);
        return done_testing();
}

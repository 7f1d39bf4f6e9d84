/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node list: Kubernetes NodeList/Node JSON and the static node file parsed into plain
 * structs, accessors, serialisation back to NodeList JSON, and pod CIDR allocation.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <sys/socket.h>

#include "core/cidr.h"
#include "agent/routes.h"

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
int pn_node_add_address(struct pn_node *node, const char *text, enum pn_addr_type type,
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
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "items[%zu]: node %s appears twice", nodes->nodes[dup].origin,
                                      nodes->nodes[dup].name);
        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE, "Line %zu: node %s appears twice",
                              nodes->nodes[dup].origin, nodes->nodes[dup].name);
}

/* --- Kubernetes JSON: a streaming reader ------------------------------------------------
 *
 * kubectl's NodeList carries tens of KB per node (managedFields, images, conditions) of
 * which podnet needs four fields. The reader below checks the whole document as strictly as
 * json_loadb(..., JSON_REJECT_DUPLICATES) did (RFC 8259 syntax, UTF-8, \u escapes and
 * surrogate pairs, no \u0000, integers that fit in long long, finite reals, nesting depth
 * 2048, no key twice in an object), copies out only the fields it needs and builds nothing
 * for the rest. Node semantics are decided after each item, in the order the tree-based
 * parser used, so results and messages are the same (tests/unit/test-nodes-fuzz.c). */

#define JP_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH: every value counts a level */
#define JP_LINEAR_KEYS 16 /* objects with more keys get a hash table for the duplicate check */

enum jtype { JT_ABSENT, JT_OBJECT, JT_ARRAY, JT_STRING, JT_NUMBER, JT_BOOL, JT_NULL };

struct jp_key {
        uint64_t hash;   /* of the decoded key */
        size_t off, len; /* raw text between the quotes */
        bool esc;
};

struct jp_obj {
        size_t base;   /* its first key in jp.keys */
        size_t *table; /* index + 1 into jp.keys, 0: empty; NULL while small */
        size_t mask;
};

struct jp {
        const char *s, *p, *end;
        size_t depth;
        const char *err_at; /* set once the document is found invalid */
        char err_msg[64];
        struct jp_key *keys;
        size_t n_keys, cap_keys;
        struct jp_obj *objs;
        size_t n_objs, cap_objs;
        uint8_t in_array[JP_MAX_DEPTH + 2]; /* per depth, for jp_skip: array or object */
        char *scratch, *scratch2;
        size_t scratch_cap, scratch2_cap;
};

/* A captured string: decoded, NUL-terminated, at off in jcap.buf. */
struct jstr {
        enum jtype t;
        size_t off;
};

struct jaddr {
        enum jtype t;
        struct jstr type, address;
};

/* What a Node object holds that podnet reads; JT_ABSENT for what it lacks. */
struct jcap {
        enum jtype item, meta, spec, status, cidrs, addrs;
        struct jstr name, cidr;
        struct jstr *cidr_v;
        size_t n_cidr, cap_cidr;
        struct jaddr *addr_v;
        size_t n_addr, cap_addr;
        char *buf;
        size_t len, cap;
        struct jlist *list; /* the NodeList read this belongs to */
};

static void jcap_reset(struct jcap *c)
{
        c->item = c->meta = c->spec = c->status = c->cidrs = c->addrs = JT_ABSENT;
        c->name.t = c->cidr.t = JT_ABSENT;
        c->n_cidr = c->n_addr = c->len = 0;
}

static void jcap_done(struct jcap *c)
{
        free(c->cidr_v);
        free(c->addr_v);
        free(c->buf);
}

static const char *jcap_str(const struct jcap *c, const struct jstr *s)
{
        return c->buf + s->off;
}

static int jp_fail(struct jp *jp, const char *at, const char *msg)
{
        if (!jp->err_at) {
                jp->err_at = at;
                snprintf(jp->err_msg, sizeof(jp->err_msg), "%s", msg);
        }
        return -EINVAL;
}

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
        size_t n = *cap ? *cap : 16;
        void *w;

        if (need <= *cap)
                return 0;
        while (n < need)
                n *= 2;
        w = realloc(*v, n * size);
        if (!w)
                return -ENOMEM;
        *v = w;
        *cap = n;
        return 0;
}

static inline void jp_ws(struct jp *jp)
{
        const uint64_t spaces = 0x2020202020202020ULL; /* kubectl indents: long runs */
        const char *p = jp->p, *end = jp->end;
        uint64_t x;

        for (;;) {
                while (end - p >= 8 && (memcpy(&x, p, sizeof(x)), x == spaces))
                        p += 8;
                if (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
                        p++;
                else
                        break;
        }
        jp->p = p;
}

static int jp_enter(struct jp *jp)
{
        if (++jp->depth > JP_MAX_DEPTH)
                return jp_fail(jp, jp->p, "maximum parsing depth reached");
        return 0;
}

static int hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* The value of the \uXXXX escape at p (pointing at the backslash), or -1. */
static long u_escape(const unsigned char *p, const unsigned char *end)
{
        long v = 0;

        if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                return -1;
        for (int i = 2; i < 6; i++) {
                int h = hexval(p[i]);
                if (h < 0)
                        return -1;
                v = v << 4 | h;
        }
        return v;
}

/* Length of the well-formed UTF-8 sequence of two or more bytes at p, or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
        unsigned c = p[0], lo = 0x80, hi = 0xbf;
        size_t n;

        if (c < 0xc2 || c > 0xf4)
                return 0;
        n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if ((size_t)(end - p) < n)
                return 0;
        if (c == 0xe0)
                lo = 0xa0; /* overlong */
        else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        else if (c == 0xf0)
                lo = 0x90; /* overlong */
        else if (c == 0xf4)
                hi = 0x8f; /* above U+10FFFF */
        if (p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                        return 0;
        return n;
}

/* 1 for the bytes a string holds as they are: printable ASCII but '"' and '\\'. */
static const uint8_t str_plain[256] = {
    [0x20 ... 0x21] = 1, /* 0x22 '"' */
    [0x23 ... 0x5b] = 1, /* 0x5c '\\' */
    [0x5d ... 0x7f] = 1,
};

/* Whether all 8 bytes at p are str_plain ones (exact "has a byte below/equal" tests). */
static inline bool plain8(const unsigned char *p)
{
        const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        uint64_t x, q, b;

        memcpy(&x, p, sizeof(x));
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        return !((x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high);
}

/* Checks the string at jp->p (at its opening quote) and moves past it; *raw and *len give
 * the text between the quotes, *esc whether it holds escapes. */
static int jp_string(struct jp *jp, const char **raw, size_t *len, bool *esc)
{
        const unsigned char *p = (const unsigned char *)jp->p + 1;
        const unsigned char *end = (const unsigned char *)jp->end;
        const unsigned char *start = p;
        bool e = false;

        for (;;) {
                unsigned c;

                while (end - p >= 8 && plain8(p))
                        p += 8;
                while (p < end && str_plain[*p])
                        p++;
                if (p >= end)
                        return jp_fail(jp, (const char *)p, "premature end of input");
                c = *p;
                if (c == '"')
                        break;
                if (c == '\\') {
                        e = true;
                        if (p + 1 >= end)
                                return jp_fail(jp, (const char *)p, "premature end of input");
                        c = p[1];
                        if (c == 'u') {
                                long v = u_escape(p, end), v2;
                                if (v < 0)
                                        return jp_fail(jp, (const char *)p, "invalid escape");
                                if (v == 0)
                                        return jp_fail(jp, (const char *)p,
                                                       "\\u0000 is not allowed");
                                p += 6;
                                if (v >= 0xdc00 && v <= 0xdfff)
                                        return jp_fail(jp, (const char *)p - 6,
                                                       "invalid Unicode: lone low surrogate");
                                if (v >= 0xd800 && v <= 0xdbff) {
                                        v2 = u_escape(p, end);
                                        if (v2 < 0xdc00 || v2 > 0xdfff)
                                                return jp_fail(jp, (const char *)p - 6,
                                                               "invalid Unicode: lone high "
                                                               "surrogate");
                                        p += 6;
                                }
                        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' ||
                                   c == 'n' || c == 'r' || c == 't') {
                                p += 2;
                        } else {
                                return jp_fail(jp, (const char *)p, "invalid escape");
                        }
                } else if (c < 0x20) {
                        return jp_fail(jp, (const char *)p,
                                       c == '\n' ? "unexpected newline" : "control character");
                } else {
                        size_t n = utf8_seq(p, end);
                        if (!n)
                                return jp_fail(jp, (const char *)p, "invalid UTF-8");
                        p += n;
                }
        }
        *raw = (const char *)start;
        *len = (size_t)(p - start);
        *esc = e;
        jp->p = (const char *)p + 1;
        return 0;
}

/* Decodes a string jp_string accepted into dst (room for len + 1 bytes); returns its
 * length. */
static size_t str_decode(const char *raw, size_t len, char *dst)
{
        const unsigned char *p = (const unsigned char *)raw, *end = p + len;
        char *d = dst;

        while (p < end) {
                if (*p != '\\') {
                        *d++ = (char)*p++;
                        continue;
                }
                switch (p[1]) {
                case 'b':
                        *d++ = '\b';
                        break;
                case 'f':
                        *d++ = '\f';
                        break;
                case 'n':
                        *d++ = '\n';
                        break;
                case 'r':
                        *d++ = '\r';
                        break;
                case 't':
                        *d++ = '\t';
                        break;
                case 'u': {
                        long v = u_escape(p, end);
                        if (v >= 0xd800 && v <= 0xdbff) {
                                v = ((v - 0xd800) << 10) + (u_escape(p + 6, end) - 0xdc00) +
                                    0x10000;
                                p += 6;
                        }
                        if (v < 0x80) {
                                *d++ = (char)v;
                        } else if (v < 0x800) {
                                *d++ = (char)(0xc0 | v >> 6);
                                *d++ = (char)(0x80 | (v & 0x3f));
                        } else if (v < 0x10000) {
                                *d++ = (char)(0xe0 | v >> 12);
                                *d++ = (char)(0x80 | (v >> 6 & 0x3f));
                                *d++ = (char)(0x80 | (v & 0x3f));
                        } else {
                                *d++ = (char)(0xf0 | v >> 18);
                                *d++ = (char)(0x80 | (v >> 12 & 0x3f));
                                *d++ = (char)(0x80 | (v >> 6 & 0x3f));
                                *d++ = (char)(0x80 | (v & 0x3f));
                        }
                        p += 6;
                        continue;
                }
                default: /* '"', '\\', '/' */
                        *d++ = (char)p[1];
                        break;
                }
                p += 2;
        }
        *d = 0;
        return (size_t)(d - dst);
}

/* Whether a real with this text overflows a double (jansson rejects those). */
static bool real_overflows(const char *s, size_t len)
{
        const char *p = s, *end = s + len;
        long long ip = 0, lz = 0, e = 0, e10;
        bool nonzero = false, eneg = false;

        if (*p == '-')
                p++;
        for (; p < end && *p >= '0' && *p <= '9'; p++, ip++) {
                if (!nonzero && *p == '0')
                        lz++;
                else
                        nonzero = true;
        }
        if (p < end && *p == '.') {
                for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
                        if (!nonzero && *p == '0')
                                lz++;
                        else
                                nonzero = true;
                }
        }
        if (!nonzero)
                return false;
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                if (*p == '+' || *p == '-')
                        eneg = *p++ == '-';
                for (; p < end && *p >= '0' && *p <= '9'; p++)
                        if (e < 1000000000)
                                e = e * 10 + (*p - '0');
        }
        e10 = ip - lz - 1 + (eneg ? -e : e); /* the value is in [10^e10, 10^(e10 + 1)) */
        if (e10 < 308)
                return false;
        if (e10 > 308)
                return true;
        {
                _cleanup_free_ char *copy = strndup(s, len);
                locale_t c_locale;
                double d;

                if (!copy)
                        return false;
                c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
                if (!c_locale)
                        return false;
                errno = 0;
                d = strtod_l(copy, NULL, c_locale);
                freelocale(c_locale);
                return errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
        }
}

static int jp_number(struct jp *jp)
{
        const char *p = jp->p, *start = p, *end = jp->end, *digits;
        bool real = false;

        if (p < end && *p == '-')
                p++;
        digits = p;
        if (p < end && *p == '0') {
                p++;
        } else if (p < end && *p >= '1' && *p <= '9') {
                while (p < end && *p >= '0' && *p <= '9')
                        p++;
        } else {
                return jp_fail(jp, start, "invalid token");
        }
        if (p < end && *p >= '0' && *p <= '9')
                return jp_fail(jp, start, "invalid token");
        if (p < end && *p == '.') {
                p++;
                real = true;
                if (p >= end || *p < '0' || *p > '9')
                        return jp_fail(jp, start, "invalid token");
                while (p < end && *p >= '0' && *p <= '9')
                        p++;
        }
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                real = true;
                if (p < end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= end || *p < '0' || *p > '9')
                        return jp_fail(jp, start, "invalid token");
                while (p < end && *p >= '0' && *p <= '9')
                        p++;
        }
        if (real) {
                if (real_overflows(start, (size_t)(p - start)))
                        return jp_fail(jp, start, "real number overflow");
        } else if (p - digits > 19 ||
                   (p - digits == 19 &&
                    memcmp(digits, *start == '-' ? "9223372036854775808" : "9223372036854775807",
                           19) > 0)) {
                return jp_fail(jp, start, "too big integer");
        }
        jp->p = p;
        return 0;
}

static int jp_literal(struct jp *jp, const char *word, size_t n)
{
        if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
                return jp_fail(jp, jp->p, "invalid token");
        jp->p += n;
        return 0;
}

/* The type of the value at jp->p, by its first character; JT_ABSENT if none can start
 * there (jp_skip then reports it). */
static enum jtype jp_peek(const struct jp *jp)
{
        if (jp->p >= jp->end)
                return JT_ABSENT;
        switch (*jp->p) {
        case '{':
                return JT_OBJECT;
        case '[':
                return JT_ARRAY;
        case '"':
                return JT_STRING;
        case 't':
        case 'f':
                return JT_BOOL;
        case 'n':
                return JT_NULL;
        case '-':
        case '0' ... '9':
                return JT_NUMBER;
        default:
                return JT_ABSENT;
        }
}

/* Of the decoded key; eight bytes a step. */
static uint64_t key_hash(const char *k, size_t len)
{
        const uint64_t mul = 0x9e3779b97f4a7c15ULL;
        uint64_t h = len * mul, x;

        for (; len >= 8; k += 8, len -= 8) {
                memcpy(&x, k, sizeof(x));
                h = (h ^ x) * mul;
                h ^= h >> 29;
        }
        if (len) {
                x = 0;
                memcpy(&x, k, len);
                h = (h ^ x) * mul;
                h ^= h >> 29;
        }
        return h;
}

static int jp_decode_into(char **buf, size_t *cap, const char *raw, size_t len, size_t *out)
{
        int r = grow((void **)buf, cap, len + 1, 1);

        if (r < 0)
                return r;
        *out = str_decode(raw, len, *buf);
        return 0;
}

/* Whether stored key i equals the decoded key k. */
static int jp_key_equal(struct jp *jp, size_t i, const char *k, size_t klen)
{
        const struct jp_key *e = &jp->keys[i];
        size_t n;
        int r;

        if (!e->esc)
                return e->len == klen && memcmp(jp->s + e->off, k, klen) == 0;
        r = jp_decode_into(&jp->scratch2, &jp->scratch2_cap, jp->s + e->off, e->len, &n);
        if (r < 0)
                return r;
        return n == klen && memcmp(jp->scratch2, k, klen) == 0;
}

static int jp_table_insert(struct jp_obj *o, const struct jp_key *keys, size_t i)
{
        size_t slot = keys[i].hash & o->mask;

        while (o->table[slot])
                slot = (slot + 1) & o->mask;
        o->table[slot] = i + 1;
        return 0;
}

static int jp_table_build(struct jp *jp, struct jp_obj *o, size_t n)
{
        size_t size = 64;

        while (size < 2 * n)
                size *= 2;
        free(o->table);
        o->table = calloc(size, sizeof(*o->table));
        if (!o->table)
                return -ENOMEM;
        o->mask = size - 1;
        for (size_t i = o->base; i < jp->n_keys; i++)
                jp_table_insert(o, jp->keys, i);
        return 0;
}

/* Records key (raw text, decoded k) in the innermost open object; a repeat is an error. */
static int jp_key_add(struct jp *jp, const char *raw, size_t len, bool esc, const char *k,
                      size_t klen)
{
        struct jp_obj *o = &jp->objs[jp->n_objs - 1];
        uint64_t h = key_hash(k, klen);
        size_t n = jp->n_keys - o->base;
        int r;

        if (!o->table) {
                for (size_t i = o->base; i < jp->n_keys; i++)
                        if (jp->keys[i].hash == h && (r = jp_key_equal(jp, i, k, klen)) != 0)
                                return r < 0 ? r : jp_fail(jp, raw - 1, "duplicate object key");
        } else {
                for (size_t slot = h & o->mask; o->table[slot]; slot = (slot + 1) & o->mask) {
                        size_t i = o->table[slot] - 1;
                        if (jp->keys[i].hash == h && (r = jp_key_equal(jp, i, k, klen)) != 0)
                                return r < 0 ? r : jp_fail(jp, raw - 1, "duplicate object key");
                }
        }
        r = grow((void **)&jp->keys, &jp->cap_keys, jp->n_keys + 1, sizeof(*jp->keys));
        if (r < 0)
                return r;
        jp->keys[jp->n_keys++] =
            (struct jp_key){.hash = h, .off = (size_t)(raw - jp->s), .len = len, .esc = esc};
        n++;
        if (n == JP_LINEAR_KEYS || (o->table && 2 * n > o->mask + 1))
                return jp_table_build(jp, o, n);
        if (o->table)
                jp_table_insert(o, jp->keys, jp->n_keys - 1);
        return 0;
}

/* At '{' (depth already counted): opens the object; 1 if a member follows, 0 if it was
 * empty (and is closed). */
static int jp_obj_open(struct jp *jp)
{
        int r;

        jp->p++;
        jp_ws(jp);
        if (jp->p < jp->end && *jp->p == '}') {
                jp->p++;
                return 0;
        }
        r = grow((void **)&jp->objs, &jp->cap_objs, jp->n_objs + 1, sizeof(*jp->objs));
        if (r < 0)
                return r;
        jp->objs[jp->n_objs++] = (struct jp_obj){.base = jp->n_keys};
        return 1;
}

static void jp_obj_close(struct jp *jp)
{
        struct jp_obj *o = &jp->objs[--jp->n_objs];

        jp->n_keys = o->base;
        free(o->table);
}

/* Reads a member's key and the ':' after it; *k is the decoded key (valid until the next
 * key), jp->p the value. */
static int jp_obj_key(struct jp *jp, const char **k, size_t *klen)
{
        const char *raw;
        size_t len;
        bool esc;
        int r;

        if (jp->p >= jp->end || *jp->p != '"')
                return jp_fail(jp, jp->p, "string or '}' expected");
        r = jp_string(jp, &raw, &len, &esc);
        if (r < 0)
                return r;
        if (esc) {
                r = jp_decode_into(&jp->scratch, &jp->scratch_cap, raw, len, klen);
                if (r < 0)
                        return r;
                *k = jp->scratch;
        } else {
                *k = raw;
                *klen = len;
        }
        r = jp_key_add(jp, raw, len, esc, *k, *klen);
        if (r < 0)
                return r;
        jp_ws(jp);
        if (jp->p >= jp->end || *jp->p != ':')
                return jp_fail(jp, jp->p, "':' expected");
        jp->p++;
        jp_ws(jp);
        return 0;
}

/* After a member's value or an element: 1 if another follows (jp->p past the ','), 0 past
 * the closing `close` ('}' also ends the object's duplicate check). */
static int jp_next(struct jp *jp, char close)
{
        jp_ws(jp);
        if (jp->p < jp->end && *jp->p == ',') {
                jp->p++;
                jp_ws(jp);
                return 1;
        }
        if (jp->p < jp->end && *jp->p == close) {
                jp->p++;
                if (close == '}')
                        jp_obj_close(jp);
                return 0;
        }
        return jp_fail(jp, jp->p, close == '}' ? "'}' expected" : "']' expected");
}

/* At '[' (depth already counted): 1 if an element follows, 0 if it was empty. */
static int jp_arr_open(struct jp *jp)
{
        jp->p++;
        jp_ws(jp);
        if (jp->p < jp->end && *jp->p == ']') {
                jp->p++;
                return 0;
        }
        return 1;
}

/* Checks and passes over the value at jp->p, keeping nothing. Iterative: nesting is only
 * bounded by JP_MAX_DEPTH. */
static int jp_skip(struct jp *jp)
{
        size_t base = jp->depth;
        const char *raw, *k;
        size_t len, klen;
        bool esc;
        int r;

value:
        r = jp_enter(jp);
        if (r < 0)
                return r;
        if (jp->p >= jp->end)
                return jp_fail(jp, jp->p, "premature end of input");
        switch (*jp->p) {
        case '"':
                r = jp_string(jp, &raw, &len, &esc);
                break;
        case '-':
        case '0' ... '9':
                r = jp_number(jp);
                break;
        case 't':
                r = jp_literal(jp, "true", 4);
                break;
        case 'f':
                r = jp_literal(jp, "false", 5);
                break;
        case 'n':
                r = jp_literal(jp, "null", 4);
                break;
        case '{':
                jp->in_array[jp->depth] = 0;
                r = jp_obj_open(jp);
                if (r > 0)
                        goto key;
                break;
        case '[':
                jp->in_array[jp->depth] = 1;
                r = jp_arr_open(jp);
                if (r > 0)
                        goto value;
                break;
        default:
                return jp_fail(jp, jp->p, "invalid token");
        }
        if (r < 0)
                return r;
done:
        jp->depth--;
        if (jp->depth == base)
                return 0;
        r = jp_next(jp, jp->in_array[jp->depth] ? ']' : '}');
        if (r < 0)
                return r;
        if (r == 0)
                goto done;
        if (jp->in_array[jp->depth])
                goto value;
key:
        r = jp_obj_key(jp, &k, &klen);
        if (r < 0)
                return r;
        goto value;
}

static bool keyeq(const char *k, size_t klen, const char *lit)
{
        size_t n = strlen(lit);

        return klen == n && memcmp(k, lit, n) == 0;
}

/* The value at jp->p into *s if it is a string; its type in any case. */
static int cap_str(struct jp *jp, struct jcap *c, struct jstr *s)
{
        const char *raw;
        size_t len, n;
        bool esc;
        int r;

        s->t = jp_peek(jp);
        if (s->t != JT_STRING)
                return jp_skip(jp);
        r = jp_enter(jp);
        if (r < 0)
                return r;
        r = jp_string(jp, &raw, &len, &esc);
        if (r < 0)
                return r;
        r = grow((void **)&c->buf, &c->cap, c->len + len + 1, 1);
        if (r < 0)
                return r;
        s->off = c->len;
        if (esc) {
                n = str_decode(raw, len, c->buf + c->len);
        } else {
                memcpy(c->buf + c->len, raw, len);
                c->buf[c->len + len] = 0;
                n = len;
        }
        c->len += n + 1;
        jp->depth--;
        return 0;
}

/* Readers of what podnet needs: *t gets the value's type; a value of another type than the
 * one they read is passed over. */
typedef int (*member_fn)(struct jp *jp, struct jcap *c, const char *k, size_t klen);
typedef int (*element_fn)(struct jp *jp, struct jcap *c);

/* The object (member given) or array (element given) at jp->p: member(key) for each of its
 * members, element() for each element. */
static int cap_nested(struct jp *jp, struct jcap *c, enum jtype *t, member_fn member,
                      element_fn element)
{
        const char *k;
        size_t klen;
        int r;

        *t = jp_peek(jp);
        if (*t != (member ? JT_OBJECT : JT_ARRAY))
                return jp_skip(jp);
        r = jp_enter(jp);
        if (r < 0)
                return r;
        for (r = member ? jp_obj_open(jp) : jp_arr_open(jp); r > 0;
             r = jp_next(jp, member ? '}' : ']')) {
                if (member) {
                        r = jp_obj_key(jp, &k, &klen);
                        if (r >= 0)
                                r = member(jp, c, k, klen);
                } else {
                        r = element(jp, c);
                }
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        jp->depth--;
        return 0;
}

static int cap_object(struct jp *jp, struct jcap *c, enum jtype *t, member_fn member)
{
        return cap_nested(jp, c, t, member, NULL);
}

static int cap_array(struct jp *jp, struct jcap *c, enum jtype *t, element_fn element)
{
        return cap_nested(jp, c, t, NULL, element);
}

static int meta_member(struct jp *jp, struct jcap *c, const char *k, size_t klen)
{
        return keyeq(k, klen, "name") ? cap_str(jp, c, &c->name) : jp_skip(jp);
}

static int cidr_element(struct jp *jp, struct jcap *c)
{
        int r = grow((void **)&c->cidr_v, &c->cap_cidr, c->n_cidr + 1, sizeof(*c->cidr_v));

        return r < 0 ? r : cap_str(jp, c, &c->cidr_v[c->n_cidr++]);
}

static int spec_member(struct jp *jp, struct jcap *c, const char *k, size_t klen)
{
        if (keyeq(k, klen, "podCIDR"))
                return cap_str(jp, c, &c->cidr);
        if (keyeq(k, klen, "podCIDRs"))
                return cap_array(jp, c, &c->cidrs, cidr_element);
        return jp_skip(jp);
}

static int addr_member(struct jp *jp, struct jcap *c, const char *k, size_t klen)
{
        struct jaddr *a = &c->addr_v[c->n_addr - 1];

        if (keyeq(k, klen, "type"))
                return cap_str(jp, c, &a->type);
        if (keyeq(k, klen, "address"))
                return cap_str(jp, c, &a->address);
        return jp_skip(jp);
}

static int addr_element(struct jp *jp, struct jcap *c)
{
        int r = grow((void **)&c->addr_v, &c->cap_addr, c->n_addr + 1, sizeof(*c->addr_v));

        if (r < 0)
                return r;
        c->addr_v[c->n_addr++] = (struct jaddr){0};
        return cap_object(jp, c, &c->addr_v[c->n_addr - 1].t, addr_member);
}

static int status_member(struct jp *jp, struct jcap *c, const char *k, size_t klen)
{
        return keyeq(k, klen, "addresses") ? cap_array(jp, c, &c->addrs, addr_element)
                                           : jp_skip(jp);
}

/* A member of a Node object (also of the root, which may be one). */
static int node_member(struct jp *jp, struct jcap *c, const char *k, size_t klen)
{
        if (keyeq(k, klen, "metadata"))
                return cap_object(jp, c, &c->meta, meta_member);
        if (keyeq(k, klen, "spec"))
                return cap_object(jp, c, &c->spec, spec_member);
        if (keyeq(k, klen, "status"))
                return cap_object(jp, c, &c->status, status_member);
        return jp_skip(jp);
}

static const char *jtype_name(enum jtype t)
{
        switch (t) {
        case JT_OBJECT:
                return "an object";
        case JT_ARRAY:
                return "an array";
        case JT_STRING:
                return "a string";
        case JT_NUMBER:
                return "a number";
        case JT_BOOL:
                return "a boolean";
        default:
                return "null";
        }
}

static int type_error(podnet_error **err, const char *where, const char *key, const char *want,
                      enum jtype got)
{
        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE, "%s%s: expected %s, got %s",
                              where, key, want, jtype_name(got));
}

/* buf (64 bytes) = prefix[k]: snprintf costs more than reading a node. */
static const char *index_name(char *buf, const char *prefix, size_t k)
{
        char digits[24];
        size_t n = 0, len = strlen(prefix);

        do {
                digits[n++] = (char)('0' + k % 10);
                k /= 10;
        } while (k);
        memcpy(buf, prefix, len);
        buf[len++] = '[';
        while (n)
                buf[len++] = digits[--n];
        buf[len++] = ']';
        buf[len] = 0;
        return buf;
}

/* Turns a captured Node into a node list entry, checking in the order the tree-based parser
 * did so that the first problem reported is the same. */
static int node_from_capture(podnet_nodes *nodes, const struct jcap *c, const char *where,
                             podnet_error **err)
{
        struct pn_node *node;
        const char *name;
        int r;

        if (c->item != JT_OBJECT)
                return type_error(err, where, "", "an object", c->item);
        if (c->meta != JT_OBJECT)
                return c->meta ? type_error(err, where, ".metadata", "an object", c->meta)
                               : pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                                "%s.metadata: missing", where);
        if (!c->name.t)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "%s.metadata.name: missing", where);
        if (c->name.t != JT_STRING)
                return type_error(err, where, ".metadata.name", "a string", c->name.t);
        name = jcap_str(c, &c->name);
        if (!pn_node_name_valid(name))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "%s.metadata.name: \"%s\" is not a valid node name", where,
                                      name);

        r = pn_nodes_append(nodes, &node);
        if (r < 0)
                return r;
        node->name = strdup(name);
        if (!node->name)
                return -ENOMEM;
        node->origin = nodes->n - 1;

        if (c->spec && c->spec != JT_OBJECT)
                return type_error(err, where, ".spec", "an object", c->spec);
        if (c->cidr.t && c->cidr.t != JT_STRING && c->cidr.t != JT_NULL)
                return type_error(err, where, ".spec.podCIDR", "a string", c->cidr.t);
        if (c->cidrs && c->cidrs != JT_ARRAY && c->cidrs != JT_NULL)
                return type_error(err, where, ".spec.podCIDRs", "an array", c->cidrs);
        if (c->cidrs == JT_ARRAY && c->n_cidr > 0) {
                for (size_t k = 0; k < c->n_cidr; k++) {
                        char key[64];
                        if (c->cidr_v[k].t != JT_STRING)
                                return type_error(err, where, index_name(key, ".spec.podCIDRs", k),
                                                  "a string", c->cidr_v[k].t);
                        r = pn_node_add_pod_cidr(node, jcap_str(c, &c->cidr_v[k]), err, where);
                        if (r < 0)
                                return r;
                }
        } else if (c->cidr.t == JT_STRING && *jcap_str(c, &c->cidr)) {
                r = pn_node_add_pod_cidr(node, jcap_str(c, &c->cidr), err, where);
                if (r < 0)
                        return r;
        }

        if (c->status && c->status != JT_OBJECT)
                return type_error(err, where, ".status", "an object", c->status);
        if (c->addrs && c->addrs != JT_ARRAY && c->addrs != JT_NULL)
                return type_error(err, where, ".status.addresses", "an array", c->addrs);
        for (size_t k = 0; c->addrs == JT_ARRAY && k < c->n_addr; k++) {
                const struct jaddr *a = &c->addr_v[k];
                const char *type;
                enum pn_addr_type t;
                char key[64];

                index_name(key, ".status.addresses", k); /* for messages */
                if (a->t != JT_OBJECT)
                        return type_error(err, where, key, "an object", a->t);
                if (a->type.t != JT_STRING)
                        return a->type.t ? type_error(err, where, ".type", "a string", a->type.t)
                                         : pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                                          "%s%s.type: missing", where, key);
                type = jcap_str(c, &a->type);
                if (streq(type, "InternalIP"))
                        t = PN_ADDR_INTERNAL;
                else if (streq(type, "ExternalIP"))
                        t = PN_ADDR_EXTERNAL;
                else
                        continue; /* Hostname, InternalDNS, ExternalDNS */
                if (a->address.t != JT_STRING)
                        return a->address.t
                                   ? type_error(err, where, ".address", "a string", a->address.t)
                                   : pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                                    "%s%s.address: missing", where, key);
                r = pn_node_add_address(node, jcap_str(c, &a->address), t, false, err, where);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The state of a NodeList read: its items become nodes as they end (the first problem is
 * kept for later: kind, which kubectl prints after items, decides whether it counts). */
struct jlist {
        podnet_nodes *nodes;
        struct jcap root, item;
        struct jstr kind;
        enum jtype items;
        size_t n_items;
        podnet_error *item_err;
        int item_r;
};

static int item_element(struct jp *jp, struct jcap *c)
{
        struct jlist *l = c->list;
        char where[32];
        int r;

        if (l->item_r < 0) /* an earlier item is wrong already: only check the syntax */
                return jp_skip(jp);
        jcap_reset(c);
        c->item = jp_peek(jp);
        r = c->item == JT_OBJECT ? cap_object(jp, c, &c->item, node_member) : jp_skip(jp);
        if (r < 0)
                return r;
        index_name(where, "items", l->n_items++);
        l->item_r = node_from_capture(l->nodes, c, where, &l->item_err);
        if (l->item_r == 0 || l->item_r == -ENOMEM)
                return l->item_r;
        return 0;
}

static int root_member(struct jp *jp, struct jcap *c, const char *k, size_t klen)
{
        struct jlist *l = c->list;

        if (keyeq(k, klen, "kind"))
                return cap_str(jp, c, &l->kind);
        if (keyeq(k, klen, "items"))
                return cap_array(jp, &l->item, &l->items, item_element);
        return node_member(jp, c, k, klen);
}

static int json_syntax_error(const struct jp *jp, podnet_error **err)
{
        const char *at = jp->err_at < jp->end ? jp->err_at : jp->end;
        int line = 1, column = 1;

        for (const char *p = jp->s; p < at; p++) {
                if (*p == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char)*p & 0xc0) != 0x80) {
                        column++;
                }
        }
        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                              "Node list is not valid JSON: %s at line %d column %d", jp->err_msg,
                              line, column);
}

static int parse_json(podnet_nodes *nodes, const char *text, size_t len, podnet_error **err)
{
        struct jp jp = {.s = text, .p = text, .end = text + len};
        struct jlist l = {.nodes = nodes};
        const char *kind = NULL;
        int r;

        l.root.list = l.item.list = &l;
        jp_ws(&jp);
        r = cap_object(&jp, &l.root, &l.root.item, root_member);
        if (r >= 0) {
                jp_ws(&jp);
                if (jp.p < jp.end)
                        r = jp_fail(&jp, jp.p, "end of file expected");
        }
        for (size_t o = 0; o < jp.n_objs; o++)
                free(jp.objs[o].table);
        free(jp.objs);
        free(jp.keys);
        free(jp.scratch);
        free(jp.scratch2);
        if (r < 0 && jp.err_at && memchr(text, 0, len)) /* checked here: it costs a pass */
                r = pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                   "Node list contains a NUL byte");
        else if (r < 0 && jp.err_at)
                r = json_syntax_error(&jp, err);
        else if (r < 0)
                ; /* out of memory */
        else if (l.kind.t && l.kind.t != JT_STRING)
                r = type_error(err, "Node list", ": kind", "a string", l.kind.t);
        else if (l.kind.t && streq((kind = jcap_str(&l.root, &l.kind)), "Node")) {
                for (size_t i = 0; i < nodes->n; i++)
                        node_done(&nodes->nodes[i]);
                nodes->n = 0;
                r = node_from_capture(nodes, &l.root, "Node", err);
        } else if (l.kind.t && !streq(kind, "NodeList") && !streq(kind, "List"))
                r = pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                   "kind: expected NodeList or Node, got %s", kind);
        else if (!l.items)
                r = pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE, "items: missing");
        else if (l.items != JT_ARRAY)
                r = type_error(err, "items", "", "an array", l.items);
        else if (l.item_r < 0) {
                r = l.item_r;
                if (err && !*err)
                        *err = steal_pointer(&l.item_err);
        }
        podnet_error_free(l.item_err);
        jcap_done(&l.root);
        jcap_done(&l.item);
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
        while (i < len && isspace((unsigned char)text[i]))
                i++;
        /* JSON cannot hold a NUL byte anywhere: parse_json looks for one when it fails */
        if (!(i < len && text[i] == '{') && text && memchr(text, 0, len))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                      "Node list contains a NUL byte");
        nodes = calloc(1, sizeof(*nodes));
        if (!nodes)
                return -ENOMEM;
        if (i < len && text[i] == '{')
                r = parse_json(nodes, text, len, err);
        else
                r = parse_static(nodes, text ? text : "", len, err);
        if (r >= 0)
                r = pn_nodes_check_unique(nodes, i < len && text[i] == '{', err);
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
        pn_addr128 first, last;
};

/* First and last address of c's network. */
static struct range cidr_range(const podnet_cidr *c)
{
        pn_addr128 v = pn_cidr_a128(c), m = pn_cidr_hostmask(c);

        return (struct range){pn_a128_and(v, pn_a128_not(m)), pn_a128_or(v, m)};
}

static int range_compare(const void *a, const void *b)
{
        const struct range *x = a, *y = b;

        return pn_a128_cmp(x->first, y->first);
}

/* Moves *cand (a subnet start; `sub` its host bits) to the lowest subnet at or after it that
 * lies inside `cluster` and overlaps no range of taken[*t..n_taken) (sorted by start; *t
 * moves past those wholly below *cand). false when there is none. */
static bool next_free(pn_addr128 *cand, const struct range *cluster, pn_addr128 sub,
                      const struct range *taken, size_t n_taken, size_t *t)
{
        pn_addr128 step = pn_a128_add(sub, pn_a128_make(0, 1), NULL);

        for (;;) {
                pn_addr128 last = pn_a128_add(*cand, sub, NULL), skip_to = *cand, next;
                bool clash = false;

                if (pn_a128_cmp(last, *cand) < 0 || pn_a128_cmp(last, cluster->last) > 0 ||
                    pn_a128_cmp(*cand, cluster->first) < 0)
                        return false;
                while (*t < n_taken && pn_a128_cmp(taken[*t].last, *cand) < 0)
                        (*t)++;
                /* ranges may nest: look at every one starting before the candidate ends */
                for (size_t u = *t; u < n_taken && pn_a128_cmp(taken[u].first, last) <= 0; u++)
                        if (pn_a128_cmp(taken[u].last, *cand) >= 0) {
                                clash = true;
                                if (pn_a128_cmp(taken[u].last, skip_to) > 0)
                                        skip_to = taken[u].last;
                        }
                if (!clash)
                        return true;
                /* the next subnet boundary after skip_to: subnets are aligned to their size
                 * (the cluster's start is one), so masking finds it; a wrap (or the one
                 * subnet of the whole space) ends the search */
                next = pn_a128_add(pn_a128_and(skip_to, pn_a128_not(sub)), step, NULL);
                if (pn_a128_cmp(next, *cand) <= 0)
                        return false;
                *cand = next;
        }
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
                bits = pn_cidr_bits(cluster_cidrs[c]);
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
                struct range cr = cidr_range(cluster);
                /* host bits of one subnet; the step is 0 for the whole IPv6 space */
                pn_addr128 sub = pn_a128_lowmask(pn_cidr_bits(cluster) - mask_sizes[c]);
                pn_addr128 step = pn_a128_add(sub, pn_a128_make(0, 1), NULL), cand = cr.first;
                bool exhausted = false;

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
                                if (podnet_cidr_family(p) == family)
                                        taken[n_taken++] = cidr_range(p);
                        }
                qsort(taken, n_taken, sizeof(*taken), range_compare);

                /* Candidates only move forward, so one merge walk over the sorted taken
                 * ranges finds the lowest free subnet for each node in turn. */
                for (size_t k = 0; k < n_need; k++) {
                        podnet_cidr net = {.family = family};

                        if (exhausted || !next_free(&cand, &cr, sub, taken, n_taken, &t)) {
                                char buf[PODNET_CIDR_STRLEN] = "?";
                                podnet_cidr_format(cluster, buf, sizeof(buf));
                                r = pn_error_plain(err, ENOSPC, 0, "Cluster CIDR %s is exhausted",
                                                   buf);
                                break;
                        }
                        pn_cidr_set_a128(&net, cand);
                        r = podnet_cidr_new(&fresh[k * n_cluster_cidrs + c], family, net.addr.b,
                                            mask_sizes[c]);
                        if (r < 0) {
                                r = pn_error(err, -r, 0, "Allocating pod CIDRs");
                                break;
                        }
                        cand = pn_a128_add(cand, step, NULL);
                        if (pn_a128_eq(cand, pn_a128_make(0, 0))) /* wrapped past the end */
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CIDR values (IPv4 and IPv6): strict parsing, canonical formatting, containment,
 * ordering, n-th address and subnet arithmetic, and raw addresses' prefix match and
 * text. Predicates never allocate.
 */
#include <arpa/inet.h>
#include <ctype.h>

#include "core/cidr.h"
#include "core/internal.h"

pn_addr128 pn_cidr_a128(const podnet_cidr *c)
{
        pn_addr128 v = {0, 0};

        if (c->family == AF_INET) {
                v.lo = (uint64_t)c->addr.b[0] << 24 | (uint64_t)c->addr.b[1] << 16 |
                       (uint64_t)c->addr.b[2] << 8 | c->addr.b[3];
                return v;
        }
        for (unsigned i = 0; i < 8; i++)
                v.hi = v.hi << 8 | c->addr.b[i];
        for (unsigned i = 8; i < 16; i++)
                v.lo = v.lo << 8 | c->addr.b[i];
        return v;
}

void pn_cidr_set_a128(podnet_cidr *c, pn_addr128 v)
{
        if (c->family == AF_INET) {
                for (int i = 3; i >= 0; i--, v.lo >>= 8)
                        c->addr.b[i] = v.lo & 0xff;
                return;
        }
        for (int i = 15; i >= 8; i--, v.lo >>= 8)
                c->addr.b[i] = v.lo & 0xff;
        for (int i = 7; i >= 0; i--, v.hi >>= 8)
                c->addr.b[i] = v.hi & 0xff;
}

int pn_cidr_init(podnet_cidr *c, int family, const void *addr, unsigned prefixlen)
{
        unsigned bits = pn_family_bits(family);

        if (!c || !addr || bits == 0 || prefixlen > bits)
                return -EINVAL;
        memset(c, 0, sizeof(*c));
        c->family = family;
        c->prefixlen = prefixlen;
        memcpy(c->addr.b, addr, bits / 8);
        return 0;
}

/* "24": one to three decimal digits, nothing else, at most `max`. */
static int parse_prefixlen(const char *s, unsigned max, unsigned *ret)
{
        unsigned v = 0;
        size_t n = 0;

        for (; s[n]; n++) {
                if (n >= 3 || !isdigit((unsigned char)s[n]))
                        return -EINVAL;
                v = v * 10 + (unsigned)(s[n] - '0');
        }
        if (n == 0 || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

int pn_cidr_parse_into(podnet_cidr *c, const char *text)
{
        char buf[INET6_ADDRSTRLEN];
        const char *slash;
        size_t len;
        int family;

        if (!c || !text)
                return -EINVAL;
        slash = strchr(text, '/');
        len = slash ? (size_t)(slash - text) : strlen(text);
        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, text, len);
        buf[len] = '\0';

        memset(c, 0, sizeof(*c));
        family = memchr(buf, ':', len) ? AF_INET6 : AF_INET;
        if (inet_pton(family, buf, c->addr.b) != 1)
                return -EINVAL;
        c->family = family;
        c->prefixlen = pn_family_bits(family);
        if (slash)
                return parse_prefixlen(slash + 1, pn_family_bits(family), &c->prefixlen);
        return 0;
}

/* Appends text to buf[*pos..size); false when it does not fit. */
static bool put(char *buf, size_t size, size_t *pos, const char *text)
{
        size_t n = strlen(text);

        if (*pos + n >= size)
                return false;
        memcpy(buf + *pos, text, n + 1);
        *pos += n;
        return true;
}

/* v (< 1000) in decimal at p, no NUL: the digits written. snprintf() costs some thousand
 * instructions a number, and a report of 5,000 routes formats 40,000 of them. */
static size_t put_dec(char *p, unsigned v)
{
        size_t n = v >= 100 ? 3 : v >= 10 ? 2 : 1;

        for (size_t i = n; i > 0; i--, v /= 10)
                p[i - 1] = (char)('0' + v % 10);
        return n;
}

/* The dotted quad of b[0..4) at p, NUL-terminated (16 bytes suffice). */
static void put_quad(char *p, const uint8_t *b)
{
        for (int i = 0; i < 4; i++) {
                p += put_dec(p, b[i]);
                *p++ = i < 3 ? '.' : '\0';
        }
}

/* A 16-bit word in lower-case hex at p, no leading zeros, NUL-terminated. */
static void put_hex(char *p, unsigned w)
{
        static const char digits[] = "0123456789abcdef";
        int shift = w >= 0x1000 ? 12 : w >= 0x100 ? 8 : w >= 0x10 ? 4 : 0;

        for (; shift >= 0; shift -= 4)
                *p++ = digits[(w >> shift) & 0xf];
        *p = '\0';
}

int pn_addr_format(const podnet_cidr *c, char *buf, size_t size)
{
        unsigned words[8], best = 8, best_len = 0;
        char tmp[PN_ADDR_STRLEN];
        size_t pos = 0;

        if (!c || !buf)
                return -EINVAL;
        if (c->family == AF_INET) {
                put_quad(tmp, c->addr.b);
                return put(buf, size, &pos, tmp) ? (int)pos : -ENOSPC;
        }
        if (c->family != AF_INET6)
                return -EINVAL;

        for (unsigned i = 0; i < 8; i++)
                words[i] = (unsigned)c->addr.b[2 * i] << 8 | c->addr.b[2 * i + 1];

        /* IPv4-mapped keeps the dotted tail, as inet_ntop() writes it. */
        if (!words[0] && !words[1] && !words[2] && !words[3] && !words[4] && words[5] == 0xffff) {
                if (!put(buf, size, &pos, "::ffff:"))
                        return -ENOSPC;
                put_quad(tmp, c->addr.b + 12);
                return put(buf, size, &pos, tmp) ? (int)pos : -ENOSPC;
        }

        /* RFC 5952: the longest run (leftmost on a tie) of two or more zero words. */
        for (unsigned i = 0; i < 8;) {
                unsigned j = i;
                while (j < 8 && words[j] == 0)
                        j++;
                if (j - i > best_len && j - i >= 2) {
                        best = i;
                        best_len = j - i;
                }
                i = j > i ? j : i + 1;
        }

        for (unsigned i = 0; i < 8; i++) {
                if (i == best) {
                        if (!put(buf, size, &pos, "::"))
                                return -ENOSPC;
                        i += best_len - 1;
                        continue;
                }
                if (i > 0 && i != best + best_len && !put(buf, size, &pos, ":"))
                        return -ENOSPC;
                put_hex(tmp, words[i]);
                if (!put(buf, size, &pos, tmp))
                        return -ENOSPC;
        }
        return (int)pos;
}

void pn_cidr_mask(podnet_cidr *c)
{
        pn_cidr_set_a128(c, pn_a128_and(pn_cidr_a128(c), pn_a128_not(pn_cidr_hostmask(c))));
}

void pn_cidr_fill(podnet_cidr *c)
{
        pn_cidr_set_a128(c, pn_a128_or(pn_cidr_a128(c), pn_cidr_hostmask(c)));
}

bool pn_cidr_contains_addr(const podnet_cidr *net, const podnet_cidr *c)
{
        pn_addr128 m;

        if (net->family != c->family)
                return false;
        m = pn_a128_not(pn_cidr_hostmask(net));
        return pn_a128_eq(pn_a128_and(pn_cidr_a128(net), m), pn_a128_and(pn_cidr_a128(c), m));
}

bool pn_cidr_addr_eq(const podnet_cidr *a, const podnet_cidr *b)
{
        return a->family == b->family && memcmp(a->addr.b, b->addr.b, pn_cidr_bits(a) / 8) == 0;
}

int pn_cidr_addr_cmp(const podnet_cidr *a, const podnet_cidr *b)
{
        return memcmp(a->addr.b, b->addr.b, pn_cidr_bits(a) / 8);
}

/* ---- public API --------------------------------------------------------- */

static int cidr_alloc(podnet_cidr **ret, const podnet_cidr *from)
{
        podnet_cidr *c;

        c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = *from;
        *ret = c;
        return 0;
}

PODNET_EXPORT int podnet_cidr_parse(podnet_cidr **ret, const char *text)
{
        podnet_cidr c;
        int r;

        if (!ret)
                return -EINVAL;
        r = pn_cidr_parse_into(&c, text);
        if (r < 0)
                return r;
        return cidr_alloc(ret, &c);
}

PODNET_EXPORT int podnet_cidr_new(podnet_cidr **ret, int family, const void *addr,
                                  unsigned prefixlen)
{
        podnet_cidr c;
        int r;

        if (!ret)
                return -EINVAL;
        r = pn_cidr_init(&c, family, addr, prefixlen);
        if (r < 0)
                return r;
        return cidr_alloc(ret, &c);
}

PODNET_EXPORT int podnet_cidr_dup(podnet_cidr **ret, const podnet_cidr *c)
{
        if (!ret || !c)
                return -EINVAL;
        return cidr_alloc(ret, c);
}

PODNET_EXPORT podnet_cidr *podnet_cidr_free(podnet_cidr *c)
{
        free(c);
        return NULL;
}

PODNET_EXPORT int podnet_cidr_family(const podnet_cidr *c)
{
        return c ? c->family : -EINVAL;
}

PODNET_EXPORT unsigned podnet_cidr_prefixlen(const podnet_cidr *c)
{
        return c ? c->prefixlen : 0;
}

PODNET_EXPORT const void *podnet_cidr_addr(const podnet_cidr *c)
{
        return c ? c->addr.b : NULL;
}

PODNET_EXPORT int podnet_cidr_format_addr(const podnet_cidr *c, char *buf, size_t size)
{
        return pn_addr_format(c, buf, size);
}

PODNET_EXPORT int podnet_cidr_format(const podnet_cidr *c, char *buf, size_t size)
{
        char tmp[8] = "/";
        size_t pos;
        int r;

        r = pn_addr_format(c, buf, size);
        if (r < 0)
                return r;
        pos = (size_t)r;
        tmp[1 + put_dec(tmp + 1, c->prefixlen)] = '\0';
        return put(buf, size, &pos, tmp) ? (int)pos : -ENOSPC;
}

/* A copy of c changed in place by fn. */
static int cidr_derive(podnet_cidr **ret, const podnet_cidr *c, void (*fn)(podnet_cidr *))
{
        podnet_cidr n;

        if (!ret || !c)
                return -EINVAL;
        n = *c;
        fn(&n);
        return cidr_alloc(ret, &n);
}

PODNET_EXPORT int podnet_cidr_network(podnet_cidr **ret, const podnet_cidr *c)
{
        return cidr_derive(ret, c, pn_cidr_mask);
}

PODNET_EXPORT int podnet_cidr_last(podnet_cidr **ret, const podnet_cidr *c)
{
        return cidr_derive(ret, c, pn_cidr_fill);
}

PODNET_EXPORT int podnet_cidr_contains(const podnet_cidr *outer, const podnet_cidr *inner)
{
        if (!outer || !inner || outer->family != inner->family ||
            inner->prefixlen < outer->prefixlen)
                return 0;
        return pn_cidr_contains_addr(outer, inner);
}

PODNET_EXPORT int podnet_cidr_overlaps(const podnet_cidr *a, const podnet_cidr *b)
{
        if (!a || !b || a->family != b->family)
                return 0;
        /* Two prefixes overlap exactly when the shorter one contains the other. */
        return a->prefixlen <= b->prefixlen ? pn_cidr_contains_addr(a, b)
                                            : pn_cidr_contains_addr(b, a);
}

PODNET_EXPORT int podnet_cidr_compare(const podnet_cidr *a, const podnet_cidr *b)
{
        int r;

        if (!a || !b)
                return a ? 1 : b ? -1 : 0;
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        r = pn_cidr_addr_cmp(a, b);
        if (r != 0)
                return r < 0 ? -1 : 1;
        if (a->prefixlen != b->prefixlen)
                return a->prefixlen < b->prefixlen ? -1 : 1;
        return 0;
}

PODNET_EXPORT int podnet_cidr_nth(podnet_cidr **ret, const podnet_cidr *c, uint64_t n)
{
        podnet_cidr r;

        if (!ret || !c)
                return -EINVAL;
        if (pn_a128_cmp(pn_a128_make(0, n), pn_cidr_hostmask(c)) > 0)
                return -ERANGE;
        r = *c;
        pn_cidr_mask(&r);
        pn_cidr_set_a128(&r, pn_a128_add(pn_cidr_a128(&r), pn_a128_make(0, n), NULL));
        return cidr_alloc(ret, &r);
}

static int cidr_step(podnet_cidr **ret, const podnet_cidr *c, bool forward)
{
        pn_addr128 v, one = pn_a128_make(0, 1), host;
        podnet_cidr r;

        if (!ret || !c)
                return -EINVAL;
        host = pn_cidr_hostmask(c);
        v = pn_a128_and(pn_cidr_a128(c), host);
        /* Stepping past the network's first or last address leaves it. */
        if (forward ? pn_a128_eq(v, host) : pn_a128_eq(v, pn_a128_make(0, 0)))
                return -ERANGE;
        r = *c;
        v = pn_cidr_a128(c);
        pn_cidr_set_a128(&r, forward ? pn_a128_add(v, one, NULL) : pn_a128_sub(v, one, NULL));
        return cidr_alloc(ret, &r);
}

PODNET_EXPORT int podnet_cidr_next(podnet_cidr **ret, const podnet_cidr *c)
{
        return cidr_step(ret, c, true);
}

PODNET_EXPORT int podnet_cidr_prev(podnet_cidr **ret, const podnet_cidr *c)
{
        return cidr_step(ret, c, false);
}

PODNET_EXPORT int podnet_cidr_subnet_count(const podnet_cidr *c, unsigned new_prefixlen,
                                           uint64_t *count)
{
        unsigned diff;

        if (!c || !count || new_prefixlen < c->prefixlen || new_prefixlen > pn_cidr_bits(c))
                return -EINVAL;
        diff = new_prefixlen - c->prefixlen;
        if (diff >= 64)
                return -ERANGE;
        *count = UINT64_C(1) << diff;
        return 0;
}

PODNET_EXPORT int podnet_cidr_subnet(podnet_cidr **ret, const podnet_cidr *c,
                                     unsigned new_prefixlen, uint64_t index)
{
        unsigned diff;
        podnet_cidr r;

        if (!ret || !c || new_prefixlen < c->prefixlen || new_prefixlen > pn_cidr_bits(c))
                return -EINVAL;
        diff = new_prefixlen - c->prefixlen;
        if (diff < 64 && index >= UINT64_C(1) << diff)
                return -ERANGE;
        r = *c;
        pn_cidr_mask(&r);
        r.prefixlen = new_prefixlen;
        pn_cidr_set_a128(
            &r, pn_a128_or(pn_cidr_a128(&r),
                           pn_a128_shl(pn_a128_make(0, index), pn_cidr_bits(c) - new_prefixlen)));
        return cidr_alloc(ret, &r);
}

PODNET_EXPORT podnet_cidr **podnet_cidr_array_free(podnet_cidr **array)
{
        if (!array)
                return NULL;
        for (podnet_cidr **p = array; *p; p++)
                free(*p);
        free(array);
        return NULL;
}

bool pn_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefixlen)
{
        unsigned bytes = prefixlen / 8, bits = prefixlen % 8;

        if (memcmp(a, b, bytes) != 0)
                return false;
        if (bits == 0)
                return true;
        return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

const char *pn_net_format(int family, const uint8_t *addr, unsigned prefixlen, char *buf,
                          size_t size)
{
        podnet_cidr c;

        if (pn_cidr_init(&c, family, addr, prefixlen) < 0 || podnet_cidr_format(&c, buf, size) < 0)
                snprintf(buf, size, "?");
        return buf;
}

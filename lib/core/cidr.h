/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to libpodnet: the layout of podnet_cidr and allocation-free helpers (128-bit
 * address arithmetic, parsing into caller storage) that other modules may use, and the
 * helpers for raw addresses as netlink carries them (length, prefix match, text).
 */
#ifndef PODNET_CIDR_H
#define PODNET_CIDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "podnet/podnet.h"

struct podnet_cidr {
        int family; /* AF_INET or AF_INET6 */
        unsigned prefixlen;
        union {
                uint8_t b[16];
                struct in_addr v4;
                struct in6_addr v6;
        } addr; /* network byte order; IPv4 uses the first 4 bytes */
};

/* An address as a 128-bit unsigned number; IPv4 lives in the low 32 bits. */
typedef struct pn_addr128 {
        uint64_t hi, lo;
} pn_addr128;

/* Longest address text pn_cidr_format_addr writes, with the NUL. */
#define PN_ADDR_STRLEN 46

/* Bytes of an address of the family: 4, 16; 0 for an unknown family. The one
 * address-length helper of the library. */
static inline unsigned pn_family_len(int family)
{
        return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* 32 or 128; 0 for an unknown family. */
static inline unsigned pn_family_bits(int family)
{
        return 8 * pn_family_len(family);
}

static inline unsigned pn_cidr_bits(const podnet_cidr *c)
{
        return pn_family_bits(c->family);
}

static inline pn_addr128 pn_a128_make(uint64_t hi, uint64_t lo)
{
        pn_addr128 v = {hi, lo};
        return v;
}

static inline int pn_a128_cmp(pn_addr128 a, pn_addr128 b)
{
        if (a.hi != b.hi)
                return a.hi < b.hi ? -1 : 1;
        if (a.lo != b.lo)
                return a.lo < b.lo ? -1 : 1;
        return 0;
}

static inline bool pn_a128_eq(pn_addr128 a, pn_addr128 b)
{
        return a.hi == b.hi && a.lo == b.lo;
}

static inline pn_addr128 pn_a128_and(pn_addr128 a, pn_addr128 b)
{
        return pn_a128_make(a.hi & b.hi, a.lo & b.lo);
}

static inline pn_addr128 pn_a128_or(pn_addr128 a, pn_addr128 b)
{
        return pn_a128_make(a.hi | b.hi, a.lo | b.lo);
}

static inline pn_addr128 pn_a128_not(pn_addr128 a)
{
        return pn_a128_make(~a.hi, ~a.lo);
}

/* a + b; *carry (may be NULL) set on wrap-around past 2^128. */
static inline pn_addr128 pn_a128_add(pn_addr128 a, pn_addr128 b, bool *carry)
{
        pn_addr128 r;
        uint64_t h;
        bool c1, c2;

        r.lo = a.lo + b.lo;
        h = a.hi + b.hi;
        c1 = h < a.hi;
        r.hi = h + (r.lo < a.lo);
        c2 = r.hi < h;
        if (carry)
                *carry = c1 || c2;
        return r;
}

/* a - b; *borrow (may be NULL) set when b > a. */
static inline pn_addr128 pn_a128_sub(pn_addr128 a, pn_addr128 b, bool *borrow)
{
        pn_addr128 r;

        r.lo = a.lo - b.lo;
        r.hi = a.hi - b.hi - (a.lo < b.lo);
        if (borrow)
                *borrow = pn_a128_cmp(a, b) < 0;
        return r;
}

static inline pn_addr128 pn_a128_shl(pn_addr128 a, unsigned n)
{
        if (n == 0)
                return a;
        if (n >= 128)
                return pn_a128_make(0, 0);
        if (n >= 64)
                return pn_a128_make(a.lo << (n - 64), 0);
        return pn_a128_make((a.hi << n) | (a.lo >> (64 - n)), a.lo << n);
}

/* The low `bits` bits set (0..128). */
static inline pn_addr128 pn_a128_lowmask(unsigned bits)
{
        if (bits >= 128)
                return pn_a128_make(UINT64_MAX, UINT64_MAX);
        if (bits >= 64)
                return pn_a128_make(bits == 64 ? 0 : UINT64_MAX >> (128 - bits), UINT64_MAX);
        return pn_a128_make(0, bits == 0 ? 0 : UINT64_MAX >> (64 - bits));
}

/* Host bits of c's prefix as a mask. */
static inline pn_addr128 pn_cidr_hostmask(const podnet_cidr *c)
{
        return pn_a128_lowmask(pn_cidr_bits(c) - c->prefixlen);
}

/* The address as a number, and back (prefix and family untouched). */
pn_addr128 pn_cidr_a128(const podnet_cidr *c);
void pn_cidr_set_a128(podnet_cidr *c, pn_addr128 v);

/* Fills caller storage; -EINVAL on bad family, NULL addr or prefix too long. */
int pn_cidr_init(podnet_cidr *c, int family, const void *addr, unsigned prefixlen);
/* podnet_cidr_parse() into caller storage: no allocation. */
int pn_cidr_parse_into(podnet_cidr *c, const char *text);
/* The address text alone into buf (>= PN_ADDR_STRLEN bytes is always enough):
 * IPv6 compressed as RFC 5952 / Go's net.IP.String(), dotted quad only for
 * IPv4-mapped addresses. Returns the length or -ENOSPC. */
int pn_addr_format(const podnet_cidr *c, char *buf, size_t size);

/* In place: clear host bits / set host bits. */
void pn_cidr_mask(podnet_cidr *c);
void pn_cidr_fill(podnet_cidr *c);

/* true if c's address lies inside net's network (c's own prefix ignored). */
bool pn_cidr_contains_addr(const podnet_cidr *net, const podnet_cidr *c);
/* true if a and b carry the same family and address (prefixes ignored). */
bool pn_cidr_addr_eq(const podnet_cidr *a, const podnet_cidr *b);
/* Orders a and b by address alone; families must match. */
int pn_cidr_addr_cmp(const podnet_cidr *a, const podnet_cidr *b);

/* For raw addresses of pn_family_len(family) bytes, as netlink carries them: */
/* true if the first `prefixlen` bits of a and b are equal. */
bool pn_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefixlen);
/* "10.1.1.1/24", "fd00::1/64" into buf (PODNET_CIDR_STRLEN bytes suffice); "?" for an
 * unusable family or prefix. Returns buf. */
const char *pn_net_format(int family, const uint8_t *addr, unsigned prefixlen, char *buf,
                          size_t size);

#endif

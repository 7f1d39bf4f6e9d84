/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Range sets: adding a range with host-local's checks, which range holds an address,
 * and host-local's round-robin iteration over a set from last_reserved_ip.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "core/cidr.h"
#include "core/internal.h"
#include "core/names.h"
#include "ipam/ipam.h"
#include "ipam/store.h"

static bool range_contains(const struct ipam_range *r, const podnet_cidr *ip)
{
        return ip->family == r->start.family && pn_cidr_addr_cmp(ip, &r->start) >= 0 &&
               pn_cidr_addr_cmp(ip, &r->end) <= 0;
}

/* host-local's RangeSet.RangeFor: the range whose [start, end] holds ip. */
const struct ipam_range *pn_ipam_set_range_for(const struct ipam_set *s, const podnet_cidr *ip)
{
        for (size_t i = 0; i < s->n; i++)
                if (range_contains(&s->ranges[i], ip))
                        return &s->ranges[i];
        return NULL;
}

static bool ranges_overlap(const struct ipam_range *a, const struct ipam_range *b)
{
        return a->start.family == b->start.family && pn_cidr_addr_cmp(&a->start, &b->end) <= 0 &&
               pn_cidr_addr_cmp(&b->start, &a->end) <= 0;
}

/* "10.1.1.0/24,10.1.2.0/24" into buf (truncated if it has to be). */
const char *pn_ipam_set_string(const struct ipam_set *s, char *buf, size_t size)
{
        size_t pos = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < s->n && pos + PODNET_CIDR_STRLEN + 1 < size; i++) {
                if (i > 0)
                        buf[pos++] = ',';
                int r = podnet_cidr_format(&s->ranges[i].subnet, buf + pos, size - pos);
                if (r < 0)
                        break;
                pos += (size_t)r;
        }
        return buf;
}

static int range_bound(const char *what, const podnet_cidr *in, const podnet_cidr *subnet,
                       podnet_cidr *out, podnet_error **err)
{
        char a[PODNET_CIDR_STRLEN], n[PODNET_CIDR_STRLEN];

        if (!in)
                return 0;
        if (!pn_cidr_contains_addr(subnet, in)) {
                podnet_cidr_format_addr(in, a, sizeof(a));
                podnet_cidr_format(subnet, n, sizeof(n));
                return pn_error_plain(err, EINVAL, 0, "%s %s not in network %s", what, a, n);
        }
        *out = *in;
        out->prefixlen = subnet->prefixlen;
        return 0;
}

PODNET_EXPORT int podnet_ipam_add_range(podnet_ipam *ipam, unsigned set, const podnet_cidr *subnet,
                                        const podnet_cidr *range_start,
                                        const podnet_cidr *range_end, const podnet_cidr *gateway,
                                        podnet_error **err)
{
        char a[PODNET_CIDR_STRLEN], b[PODNET_CIDR_STRLEN];
        struct ipam_range r = {0};
        struct ipam_set *s;
        int k;

        if (!ipam || !subnet)
                return -EINVAL;
        if (set > ipam->n_sets)
                return pn_error_plain(err, EINVAL, 0, "Range set %u added before range set %u", set,
                                      ipam->n_sets);
        podnet_cidr_format(subnet, a, sizeof(a));
        /* Like host-local: a /31, /32, /127 or /128 leaves nothing to allocate. */
        if (subnet->prefixlen + 2 > pn_cidr_bits(subnet))
                return pn_error_plain(err, EINVAL, 0, "Network %s too small to allocate from", a);
        r.subnet = *subnet;
        pn_cidr_mask(&r.subnet);
        podnet_cidr_format(&r.subnet, a, sizeof(a));

        /* Defaults: gateway and start network+1, end the last address (IPv4: before
         * the broadcast). */
        r.gw = r.subnet;
        pn_cidr_set_a128(&r.gw, pn_a128_add(pn_cidr_a128(&r.subnet), pn_a128_make(0, 1), NULL));
        r.start = r.gw;
        r.end = r.subnet;
        pn_cidr_fill(&r.end);
        if (r.end.family == AF_INET)
                pn_cidr_set_a128(&r.end,
                                 pn_a128_sub(pn_cidr_a128(&r.end), pn_a128_make(0, 1), NULL));
        k = range_bound("Gateway", gateway, &r.subnet, &r.gw, err);
        if (k >= 0)
                k = range_bound("Range start", range_start, &r.subnet, &r.start, err);
        if (k >= 0)
                k = range_bound("Range end", range_end, &r.subnet, &r.end, err);
        if (k < 0)
                return k;
        if (pn_cidr_addr_cmp(&r.start, &r.end) > 0) {
                podnet_cidr_format_addr(&r.start, a, sizeof(a));
                podnet_cidr_format_addr(&r.end, b, sizeof(b));
                return pn_error_plain(err, EINVAL, 0, "Range start %s is after range end %s", a, b);
        }

        for (unsigned i = 0; i < ipam->n_sets; i++)
                for (size_t j = 0; j < ipam->sets[i].n; j++) {
                        const struct ipam_range *o = &ipam->sets[i].ranges[j];
                        if (i == set && o->subnet.family != r.subnet.family)
                                return pn_error_plain(err, EINVAL, 0,
                                                      "Range set %u mixes address families", set);
                        if (!ranges_overlap(o, &r))
                                continue;
                        podnet_cidr_format(&o->subnet, b, sizeof(b));
                        return pn_error_plain(err, EINVAL, 0, "Subnets %s and %s overlap", b, a);
                }

        if (set == ipam->n_sets) {
                s = realloc(ipam->sets, (ipam->n_sets + 1) * sizeof(*s));
                if (!s)
                        return -ENOMEM;
                ipam->sets = s;
                ipam->sets[ipam->n_sets++] = (struct ipam_set){0};
        }
        s = &ipam->sets[set];
        struct ipam_range *nr = realloc(s->ranges, (s->n + 1) * sizeof(*nr));
        if (!nr)
                return -ENOMEM;
        s->ranges = nr;
        s->ranges[s->n++] = r;
        return 0;
}

void pn_ipam_iter_init(struct range_iter *it, podnet_ipam *ipam, unsigned set)
{
        char buf[PN_ADDR_STRLEN + 16], name[sizeof(PN_IPAM_LAST_IP_PREFIX) + 12];
        const struct ipam_set *s = &ipam->sets[set];
        const struct ipam_range *r;
        podnet_cidr last;
        const char *t;
        size_t len;

        *it = (struct range_iter){.set = s};
        snprintf(name, sizeof(name), "%s%u", PN_IPAM_LAST_IP_PREFIX, set);
        t = pn_ipam_read_trimmed(ipam, name, buf, sizeof(buf), &len);
        r = t && pn_ipam_parse_lease_name(t, &last) ? pn_ipam_set_range_for(s, &last) : NULL;
        if (r) {
                it->idx = (size_t)(r - s->ranges);
                it->cur = pn_cidr_a128(&last);
                it->has_cur = true;
                return;
        }
        it->start = pn_cidr_a128(&s->ranges[0].start);
        it->has_start = true;
}

/* Neither the gateway, nor the network address, nor IPv4's broadcast address. */
bool pn_ipam_iter_skip(const struct ipam_range *r, pn_addr128 v)
{
        podnet_cidr bcast = r->subnet;

        if (pn_a128_eq(v, pn_cidr_a128(&r->gw)) || pn_a128_eq(v, pn_cidr_a128(&r->subnet)))
                return true;
        pn_cidr_fill(&bcast);
        return r->subnet.family == AF_INET && pn_a128_eq(v, pn_cidr_a128(&bcast));
}

/* The next candidate into *ip, false when the set is exhausted. */
bool pn_ipam_iter_next(struct range_iter *it, podnet_cidr *ip, const struct ipam_range **range)
{
        const struct ipam_set *s = it->set;

        for (;;) {
                const struct ipam_range *r = &s->ranges[it->idx];

                if (!it->has_cur) {
                        it->cur = pn_cidr_a128(&r->start);
                        it->start = it->cur;
                        it->has_cur = it->has_start = true;
                } else {
                        if (pn_a128_eq(it->cur, pn_cidr_a128(&r->end))) {
                                it->idx = (it->idx + 1) % s->n;
                                r = &s->ranges[it->idx];
                                it->cur = pn_cidr_a128(&r->start);
                        } else {
                                it->cur = pn_a128_add(it->cur, pn_a128_make(0, 1), NULL);
                        }
                        if (!it->has_start) {
                                it->start = it->cur;
                                it->has_start = true;
                        } else if (pn_a128_eq(it->cur, it->start)) {
                                return false;
                        }
                }
                if (pn_ipam_iter_skip(r, it->cur))
                        continue;
                *ip = r->subnet;
                pn_cidr_set_a128(ip, it->cur);
                *range = r;
                return true;
        }
}

/* The first range (in set order) whose subnet holds ip, its set in *set; NULL and
 * n_sets if none. */
const struct ipam_range *pn_ipam_subnet_of(const podnet_ipam *ipam, const podnet_cidr *ip,
                                           unsigned *set)
{
        for (unsigned i = 0; i < ipam->n_sets; i++)
                for (size_t j = 0; j < ipam->sets[i].n; j++)
                        if (pn_cidr_contains_addr(&ipam->sets[i].ranges[j].subnet, ip)) {
                                *set = i;
                                return &ipam->sets[i].ranges[j];
                        }
        *set = ipam->n_sets;
        return NULL;
}

unsigned pn_ipam_lease_order(const podnet_ipam *ipam, const podnet_cidr *ip)
{
        unsigned set;

        (void)pn_ipam_subnet_of(ipam, ip, &set);
        return set;
}

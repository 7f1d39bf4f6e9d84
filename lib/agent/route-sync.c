/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reconciles the routes tagged with podnet's route protocol, and one nexthop object per
 * peer node that they use, against the node list: one dump of each, an in-memory diff,
 * then only the difference written, pipelined over a raw NETLINK_ROUTE socket; the sync
 * report; flush; and the route and nexthop event monitor.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "core/cidr.h"
#include "agent/routes.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

/* Receive buffer we ask for: with one ack per request this bounds a chunk. */
#define NL_RCVBUF (8 * 1024 * 1024)
/* Requests sent with one sendmsg(); each ack costs ~1 KiB of receive buffer (skb truesize). */
#define NL_CHUNK_MAX 1024
#define NL_CHUNK_MIN 16
/* Slots per recvmmsg() and bytes per slot (an ack or a single route reply). */
#define NL_SLOTS 256
#define NL_SLOT_SIZE 1024
#define NL_DUMP_BUF (64 * 1024)

/* Address bytes of an address family: 4, 16, or 0 for any other. */
static inline size_t alen(int family)
{
        return pn_family_bits(family) / 8;
}

/* --- report ------------------------------------------------------------------------- */

struct report_entry {
        podnet_sync_action action;
        bool has_dst, has_via;
        char *node;
        podnet_cidr dst, via; /* inline: a report of 5000 routes is 10000 mallocs fewer */
        char *reason;
};

struct podnet_sync_report {
        struct report_entry *e;
        size_t n, cap;
        size_t writes;
};

PODNET_EXPORT podnet_sync_report *podnet_sync_report_free(podnet_sync_report *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n; i++) {
                free(r->e[i].node);
                free(r->e[i].reason);
        }
        free(r->e);
        free(r);
        return NULL;
}

PODNET_EXPORT size_t podnet_sync_report_count(const podnet_sync_report *r)
{
        return r ? r->n : 0;
}

PODNET_EXPORT size_t podnet_sync_report_count_action(const podnet_sync_report *r,
                                                     podnet_sync_action action)
{
        size_t n = 0;

        for (size_t i = 0; r && i < r->n; i++)
                if (r->e[i].action == action)
                        n++;
        return n;
}

PODNET_EXPORT size_t podnet_sync_report_writes(const podnet_sync_report *r)
{
        return r ? r->writes : 0;
}

PODNET_EXPORT podnet_sync_action podnet_sync_report_action(const podnet_sync_report *r, size_t i)
{
        return r && i < r->n ? r->e[i].action : PODNET_SYNC_FAILED;
}

PODNET_EXPORT const char *podnet_sync_report_node(const podnet_sync_report *r, size_t i)
{
        return r && i < r->n ? r->e[i].node : NULL;
}

PODNET_EXPORT const podnet_cidr *podnet_sync_report_dst(const podnet_sync_report *r, size_t i)
{
        return r && i < r->n && r->e[i].has_dst ? &r->e[i].dst : NULL;
}

PODNET_EXPORT const podnet_cidr *podnet_sync_report_via(const podnet_sync_report *r, size_t i)
{
        return r && i < r->n && r->e[i].has_via ? &r->e[i].via : NULL;
}

PODNET_EXPORT const char *podnet_sync_report_reason(const podnet_sync_report *r, size_t i)
{
        return r && i < r->n ? r->e[i].reason : NULL;
}

PODNET_EXPORT const char *podnet_sync_action_name(podnet_sync_action action)
{
        static const char *const names[] = {
            [PODNET_SYNC_KEPT] = "kept",
            [PODNET_SYNC_ADDED] = "added",
            [PODNET_SYNC_REPLACED] = "replaced",
            [PODNET_SYNC_DELETED] = "deleted",
            [PODNET_SYNC_UNREACHABLE] = "unreachable",
            [PODNET_SYNC_SKIPPED] = "skipped",
            [PODNET_SYNC_FAILED] = "failed",
            [PODNET_SYNC_REFUSED] = "refused",
        };
        if ((unsigned)action >= ELEMENTSOF(names))
                return NULL;
        return names[action];
}

podnet_sync_report *pn_sync_report_new(void)
{
        return calloc(1, sizeof(podnet_sync_report));
}

int pn_sync_report_add(podnet_sync_report *r, podnet_sync_action action, const char *node,
                       const struct pn_rt *rt, const char *reason_fmt, ...)
{
        struct report_entry *e;
        int ret;

        if (r->n == r->cap) {
                size_t cap = r->cap ? r->cap * 2 : 64;
                e = realloc(r->e, cap * sizeof(*e));
                if (!e)
                        return -ENOMEM;
                r->e = e;
                r->cap = cap;
        }
        e = &r->e[r->n];
        memset(e, 0, sizeof(*e));
        e->action = action;
        if (node && !(e->node = strdup(node)))
                return -ENOMEM;
        r->n++; /* from here the entry is freed with the report */
        if (rt) {
                ret = pn_cidr_init(&e->dst, rt->family, rt->dst, rt->dst_len);
                if (ret < 0)
                        return ret;
                e->has_dst = true;
                if (rt->has_gw) {
                        ret = pn_cidr_init(&e->via, rt->family, rt->gw, pn_family_bits(rt->family));
                        if (ret < 0)
                                return ret;
                        e->has_via = true;
                }
        }
        if (reason_fmt) {
                va_list ap;
                va_start(ap, reason_fmt);
                ret = vasprintf(&e->reason, reason_fmt, ap);
                va_end(ap);
                if (ret < 0) {
                        e->reason = NULL;
                        return -ENOMEM;
                }
        }
        return 0;
}

/* --- diff ----------------------------------------------------------------------------- */

/* qsort() unless already sorted: dumps and the desired routes mostly come in order. */
static void sort_if_needed(void *base, size_t n, size_t size,
                           int (*cmp)(const void *, const void *))
{
        const char *p = base;

        for (size_t i = 1; i < n; i++)
                if (cmp(p + (i - 1) * size, p + i * size) > 0) {
                        qsort(base, n, size, cmp);
                        return;
                }
}

int pn_rt_compare_dst(const struct pn_rt *a, const struct pn_rt *b)
{
        int r;

        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        r = memcmp(a->dst, b->dst, alen(a->family));
        if (r != 0)
                return r;
        if (a->dst_len != b->dst_len)
                return a->dst_len < b->dst_len ? -1 : 1;
        return 0;
}

static int rt_qsort_compare(const void *a, const void *b)
{
        int r = pn_rt_compare_dst(a, b);
        const struct pn_rt *x = a, *y = b;

        if (r != 0)
                return r;
        /* stable order within one destination: by metric */
        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        return 0;
}

static bool rt_equal(const struct pn_rt *want, const struct pn_rt *have)
{
        if (have->type != RTN_UNICAST || have->multipath || have->priority != want->priority)
                return false;
        /* via a nexthop object: the object's id is all that counts (its gateway is the
         * object's business); a plain route must not have one */
        if (want->via_nh)
                return want->nhid != 0 && have->nhid == want->nhid;
        return have->nhid == 0 && have->has_gw == want->has_gw &&
               (!want->has_gw || memcmp(have->gw, want->gw, alen(want->family)) == 0);
}

int pn_route_diff(struct pn_rt *want, size_t n_want, struct pn_rt *have, size_t n_have,
                  struct pn_op **ret, size_t *n_ret)
{
        struct pn_op *ops;
        size_t n = 0, i = 0, j = 0;

        if (!ret || !n_ret || (n_want && !want) || (n_have && !have))
                return -EINVAL;
        ops = calloc(n_want + n_have + 1, sizeof(*ops));
        if (!ops)
                return -ENOMEM;
        sort_if_needed(want, n_want, sizeof(*want), rt_qsort_compare);
        sort_if_needed(have, n_have, sizeof(*have), rt_qsort_compare);
        for (size_t k = 1; k < n_want; k++)
                if (pn_rt_compare_dst(&want[k - 1], &want[k]) == 0) {
                        free(ops);
                        return -EINVAL;
                }

        while (i < n_want || j < n_have) {
                int c;
                size_t g_end, match = SIZE_MAX;
                bool kept = false;

                if (i >= n_want)
                        c = 1;
                else if (j >= n_have)
                        c = -1;
                else
                        c = pn_rt_compare_dst(&want[i], &have[j]);
                if (c < 0) {
                        ops[n++] = (struct pn_op){PN_OP_ADD, &want[i], NULL};
                        i++;
                        continue;
                }
                /* the group of existing routes with this destination */
                for (g_end = j; g_end < n_have && pn_rt_compare_dst(&have[j], &have[g_end]) == 0;
                     g_end++)
                        ;
                if (c > 0) {
                        for (; j < g_end; j++)
                                ops[n++] = (struct pn_op){PN_OP_DELETE, NULL, &have[j]};
                        continue;
                }
                for (size_t k = j; k < g_end && match == SIZE_MAX; k++)
                        if (rt_equal(&want[i], &have[k])) {
                                match = k;
                                kept = true;
                        }
                for (size_t k = j; k < g_end && match == SIZE_MAX; k++)
                        if (have[k].priority == want[i].priority)
                                match = k;
                for (size_t k = j; k < g_end; k++)
                        if (k != match)
                                ops[n++] = (struct pn_op){PN_OP_DELETE, NULL, &have[k]};
                if (match == SIZE_MAX)
                        ops[n++] = (struct pn_op){PN_OP_ADD, &want[i], NULL};
                else
                        ops[n++] = (struct pn_op){kept ? PN_OP_KEEP : PN_OP_REPLACE, &want[i],
                                                  &have[match]};
                i++;
                j = g_end;
        }
        *ret = ops;
        *n_ret = n;
        return 0;
}

/* --- nexthop plan ------------------------------------------------------------------------ */

uint32_t pn_nh_base(unsigned protocol, unsigned table)
{
        /* one 2^24 block per protocol, split in 16 by table: two podnet instances with the
         * same protocol in different tables (mod 16) do not even collide */
        return ((uint32_t)(protocol & 0xff) << 24) | ((uint32_t)(table & 0xf) << 20);
}

uint32_t pn_nh_id_hint(uint32_t base, const char *name, int family)
{
        uint32_t h = 2166136261u; /* FNV-1a */

        for (const char *p = name ? name : ""; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        h = (h ^ (uint8_t)family) * 16777619u;
        return base + h % PN_NH_SPAN;
}

static int nh_id_compare(const void *a, const void *b)
{
        const struct pn_nh *x = a, *y = b;

        return x->id < y->id ? -1 : x->id > y->id;
}

static int nh_node_compare(const void *a, const void *b)
{
        const struct pn_nh *x = a, *y = b;

        if (x->node != y->node)
                return x->node < y->node ? -1 : 1;
        return x->family < y->family ? -1 : x->family > y->family;
}

static int nh_gw_compare(const struct pn_nh *x, const struct pn_nh *y)
{
        if (x->family != y->family)
                return x->family < y->family ? -1 : 1;
        return memcmp(x->gw, y->gw, alen(x->family));
}

struct pn_nh *pn_nh_find(struct pn_nh *want, size_t n_want, size_t node, int family)
{
        struct pn_nh key = {.node = node, .family = (uint8_t)family};

        return n_want ? bsearch(&key, want, n_want, sizeof(*want), nh_node_compare) : NULL;
}

static struct pn_nh *nh_by_id(struct pn_nh *v, size_t n, uint32_t id)
{
        struct pn_nh key = {.id = id};

        return n ? bsearch(&key, v, n, sizeof(*v), nh_id_compare) : NULL;
}

/* Open-addressing set of ids: the ids in use, to pick free ones. */
struct idset {
        uint32_t *slot; /* 0: empty (no nexthop has id 0) */
        size_t mask;
};

static bool idset_add(struct idset *s, uint32_t id)
{
        size_t i = (id * 2654435761u) & s->mask;

        while (s->slot[i] && s->slot[i] != id)
                i = (i + 1) & s->mask;
        if (s->slot[i] == id)
                return false;
        s->slot[i] = id;
        return true;
}

/* have-index array sorted by gateway (bsearch helper state for qsort_r) */
static int gw_index_compare(const void *a, const void *b, void *arg)
{
        const struct pn_nh *v = arg;

        return nh_gw_compare(&v[*(const size_t *)a], &v[*(const size_t *)b]);
}

static void nh_claim(struct pn_nh *w, size_t k, struct pn_nh *have, size_t j, enum pn_op_kind kind)
{
        w->match = j;
        w->id = have[j].id;
        w->kind = kind;
        have[j].match = k;
        have[j].kind = PN_OP_KEEP;
}

/* Walks the wanted and installed routes (both sorted by destination) together: a wanted
 * nexthop not yet decided takes over the nexthop of ours that its installed route uses,
 * if that one's gateway is the wanted one (same_gw: KEEP) or not (REPLACE). */
static void claim_by_routes(struct pn_nh *want, size_t n_want, struct pn_nh *have, size_t n_have,
                            const struct pn_rt *want_rt, size_t n_want_rt,
                            const struct pn_rt *have_rt, size_t n_have_rt, bool same_gw)
{
        size_t j = 0;

        for (size_t i = 0; i < n_want_rt; i++) {
                struct pn_nh *w, *x;

                while (j < n_have_rt && pn_rt_compare_dst(&have_rt[j], &want_rt[i]) < 0)
                        j++;
                if (j >= n_have_rt)
                        break;
                if (!have_rt[j].nhid || pn_rt_compare_dst(&have_rt[j], &want_rt[i]) != 0)
                        continue;
                w = want_rt[i].nh_slot && want_rt[i].nh_slot <= n_want
                        ? &want[want_rt[i].nh_slot - 1]
                        : pn_nh_find(want, n_want, want_rt[i].node, want_rt[i].family);
                if (!w || w->match != SIZE_MAX)
                        continue;
                x = nh_by_id(have, n_have, have_rt[j].nhid);
                if (!x || !x->ours || !x->plain || x->family != w->family || x->match != SIZE_MAX ||
                    same_gw != (nh_gw_compare(x, w) == 0))
                        continue;
                nh_claim(w, (size_t)(w - want), have, (size_t)(x - have),
                         same_gw ? PN_OP_KEEP : PN_OP_REPLACE);
        }
}

/* Any existing nexthop of ours, unused so far, with the wanted gateway (KEEP). */
static int claim_by_gateway(struct pn_nh *want, size_t n_want, struct pn_nh *have, size_t n_have)
{
        _cleanup_free_ size_t *by_gw = calloc(n_have + 1, sizeof(size_t));
        size_t n_gw = 0;

        if (!by_gw)
                return -ENOMEM;
        for (size_t j = 0; j < n_have; j++)
                if (have[j].ours && have[j].plain && have[j].match == SIZE_MAX)
                        by_gw[n_gw++] = j;
        if (n_gw == 0)
                return 0;
        qsort_r(by_gw, n_gw, sizeof(*by_gw), gw_index_compare, have);
        for (size_t k = 0; k < n_want; k++) {
                size_t lo = 0, hi = n_gw;
                if (want[k].match != SIZE_MAX)
                        continue;
                while (lo < hi) { /* first entry >= the wanted gateway */
                        size_t mid = lo + (hi - lo) / 2;
                        if (nh_gw_compare(&have[by_gw[mid]], &want[k]) < 0)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                for (; lo < n_gw && nh_gw_compare(&have[by_gw[lo]], &want[k]) == 0; lo++)
                        if (have[by_gw[lo]].match == SIZE_MAX) {
                                nh_claim(&want[k], k, have, by_gw[lo], PN_OP_KEEP);
                                break;
                        }
        }
        return 0;
}

/* A new id for every wanted nexthop still without one: the node's hashed id, or the next
 * one free of every existing id. */
static int new_ids(struct pn_nh *want, size_t n_want, const struct pn_nh *have, size_t n_have,
                   uint32_t base)
{
        _cleanup_free_ uint32_t *slots = NULL;
        struct idset used;
        size_t size = 16;

        while (size < 2 * (n_have + n_want))
                size *= 2;
        slots = calloc(size, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        used = (struct idset){slots, size - 1};
        for (size_t j = 0; j < n_have; j++)
                if (have[j].id)
                        idset_add(&used, have[j].id);
        for (size_t k = 0; k < n_want; k++) {
                uint32_t id;
                if (want[k].match != SIZE_MAX)
                        continue;
                id = pn_nh_id_hint(base, want[k].name, want[k].family);
                for (size_t tries = 0; !idset_add(&used, id); tries++) {
                        if (tries >= PN_NH_SPAN)
                                return -ENOSPC;
                        id = base + (id - base + 1) % PN_NH_SPAN;
                }
                want[k].id = id;
        }
        return 0;
}

static size_t count_undecided(const struct pn_nh *want, size_t n_want)
{
        size_t n = 0;

        for (size_t k = 0; k < n_want; k++)
                n += want[k].match == SIZE_MAX;
        return n;
}

int pn_nexthop_plan(struct pn_nh *want, size_t n_want, struct pn_nh *have, size_t n_have,
                    const struct pn_rt *want_rt, size_t n_want_rt, struct pn_rt *have_rt,
                    size_t n_have_rt, uint32_t base)
{
        int r;

        if ((n_want && !want) || (n_have && !have) || (n_want_rt && !want_rt) ||
            (n_have_rt && !have_rt))
                return -EINVAL;
        sort_if_needed(have, n_have, sizeof(*have), nh_id_compare);
        sort_if_needed(have_rt, n_have_rt, sizeof(*have_rt), rt_qsort_compare);
        for (size_t j = 0; j < n_have; j++) {
                have[j].match = SIZE_MAX;
                have[j].kind = have[j].ours ? PN_OP_DELETE : PN_OP_KEEP;
        }
        for (size_t k = 0; k < n_want; k++) {
                want[k].match = SIZE_MAX;
                want[k].id = 0;
                want[k].kind = PN_OP_ADD;
        }
        /* 1. in sync: the nexthop the node's routes use has the wanted gateway (no write) */
        claim_by_routes(want, n_want, have, n_have, want_rt, n_want_rt, have_rt, n_have_rt, true);
        if (count_undecided(want, n_want) == 0)
                return 0;
        /* 2. another nexthop of ours has the wanted gateway (no write) */
        r = claim_by_gateway(want, n_want, have, n_have);
        if (r < 0)
                return r;
        /* 3. the node's address changed: take over the nexthop its routes use, so that one
         * replacement of that nexthop moves all of them */
        claim_by_routes(want, n_want, have, n_have, want_rt, n_want_rt, have_rt, n_have_rt, false);
        /* 4. the rest are new */
        return new_ids(want, n_want, have, n_have, base);
}

/* --- raw netlink ------------------------------------------------------------------------ */

struct nlsk {
        int fd;
        uint32_t seq;
        size_t chunk;
        char *dumpbuf;
        char *slots; /* NL_SLOTS * NL_SLOT_SIZE */
};

static void nlsk_close(struct nlsk *s)
{
        if (s->fd >= 0)
                close(s->fd);
        free(s->dumpbuf);
        free(s->slots);
        s->fd = -1;
        s->dumpbuf = s->slots = NULL;
}

static int nlsk_open(struct nlsk *s)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        int one = 1, size = NL_RCVBUF, got = 0;
        socklen_t len = sizeof(got);

        memset(s, 0, sizeof(*s));
        s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (s->fd < 0)
                return -errno;
        if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                nlsk_close(s);
                return r;
        }
        /* FORCE needs CAP_NET_ADMIN, which a writer has anyway; fall back for readers */
        if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        (void)setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
        (void)setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        (void)setsockopt(s->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        /* lets the kernel filter the dump by protocol and table (>= 4.20); we filter too */
        (void)setsockopt(s->fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
        if (getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0)
                got = 212992;
        s->chunk = (size_t)got / 2048;
        if (s->chunk > NL_CHUNK_MAX)
                s->chunk = NL_CHUNK_MAX;
        if (s->chunk < NL_CHUNK_MIN)
                s->chunk = NL_CHUNK_MIN;
        s->seq = (uint32_t)time(NULL) << 8;
        s->dumpbuf = malloc(NL_DUMP_BUF);
        s->slots = malloc((size_t)NL_SLOTS * NL_SLOT_SIZE);
        if (!s->dumpbuf || !s->slots) {
                nlsk_close(s);
                return -ENOMEM;
        }
        return 0;
}

struct msgbuf {
        char *buf;
        size_t len, cap;
};

static void *msgbuf_put(struct msgbuf *b, size_t len)
{
        size_t need = b->len + NLMSG_ALIGN(len);
        void *p;

        if (need > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 16384;
                while (cap < need)
                        cap *= 2;
                p = realloc(b->buf, cap);
                if (!p)
                        return NULL;
                b->buf = p;
                b->cap = cap;
        }
        p = b->buf + b->len;
        memset(p, 0, NLMSG_ALIGN(len));
        b->len = need;
        return p;
}

static int msg_attr(struct msgbuf *b, struct nlmsghdr *nlh, uint16_t type, const void *data,
                    size_t len)
{
        size_t off = (char *)nlh - b->buf;
        struct rtattr *rta = msgbuf_put(b, RTA_LENGTH(len));

        if (!rta)
                return -ENOMEM;
        nlh = (struct nlmsghdr *)(b->buf + off);
        rta->rta_type = type;
        rta->rta_len = (unsigned short)RTA_LENGTH(len);
        memcpy(RTA_DATA(rta), data, len);
        nlh->nlmsg_len = (uint32_t)(b->len - off);
        return 0;
}

/* Appends one route request; for RTM_GETROUTE only the destination (a host) is used. A
 * route using a nexthop object is named by RTA_NH_ID, never by its gateway (the kernel
 * would not match it when deleting). */
static int msg_route(struct msgbuf *b, uint16_t type, uint16_t flags, uint32_t seq,
                     const struct pn_rt *rt, unsigned protocol, unsigned table)
{
        size_t off = b->len, len = alen(rt->family);
        struct nlmsghdr *nlh = msgbuf_put(b, NLMSG_LENGTH(sizeof(struct rtmsg)));
        struct rtmsg *rtm;
        uint32_t t32 = table;
        int r;

        if (!nlh)
                return -ENOMEM;
        nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = seq;
        rtm = NLMSG_DATA(nlh);
        rtm->rtm_family = rt->family;
        if (type == RTM_GETROUTE) {
                rtm->rtm_dst_len = (unsigned char)pn_family_bits(rt->family);
                return msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_DST, rt->dst, len);
        }
        rtm->rtm_dst_len = rt->dst_len;
        rtm->rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
        rtm->rtm_protocol = (unsigned char)protocol;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = type == RTM_DELROUTE ? rt->type : RTN_UNICAST;
        r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_DST, rt->dst, len);
        if (r >= 0)
                r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_TABLE, &t32, sizeof(t32));
        if (r >= 0 && rt->nhid)
                r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_NH_ID, &rt->nhid,
                             sizeof(rt->nhid));
        else if (r >= 0 && rt->has_gw)
                r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_GATEWAY, rt->gw, len);
        if (r >= 0 && rt->priority)
                r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_PRIORITY, &rt->priority,
                             sizeof(rt->priority));
        return r;
}

/* Appends one nexthop request: RTM_NEWNEXTHOP (id, device, gateway) or RTM_DELNEXTHOP. */
static int msg_nexthop(struct msgbuf *b, uint16_t type, uint16_t flags, uint32_t seq,
                       const struct pn_nh *nh, unsigned protocol)
{
        size_t off = b->len;
        struct nlmsghdr *nlh = msgbuf_put(b, NLMSG_LENGTH(sizeof(struct nhmsg)));
        struct nhmsg *nhm;
        int r;

        if (!nlh)
                return -ENOMEM;
        nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct nhmsg));
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = seq;
        nhm = NLMSG_DATA(nlh);
        r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), NHA_ID, &nh->id, sizeof(nh->id));
        if (type == RTM_DELNEXTHOP || r < 0)
                return r;
        nhm = NLMSG_DATA((struct nlmsghdr *)(b->buf + off));
        nhm->nh_family = nh->family;
        nhm->nh_protocol = (unsigned char)protocol;
        r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), NHA_OIF, &nh->oif, sizeof(nh->oif));
        if (r >= 0)
                r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), NHA_GATEWAY, nh->gw,
                             alen(nh->family));
        return r;
}

/* Parses a route message; returns false for a cached clone. */
static bool parse_route(const struct nlmsghdr *nlh, struct pn_rt *rt, unsigned *protocol,
                        unsigned *table)
{
        const struct rtmsg *rtm = NLMSG_DATA(nlh);
        int len = (int)nlh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rtm));
        size_t n = alen(rtm->rtm_family);

        if (len < 0 || n == 0)
                return false;
        memset(rt, 0, sizeof(*rt));
        rt->family = rtm->rtm_family;
        rt->dst_len = rtm->rtm_dst_len;
        rt->type = rtm->rtm_type;
        rt->node = SIZE_MAX;
        *protocol = rtm->rtm_protocol;
        *table = rtm->rtm_table;
        for (const struct rtattr *rta = RTM_RTA(rtm); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
                size_t plen = RTA_PAYLOAD(rta);
                switch (rta->rta_type) {
                case RTA_DST:
                        if (plen == n)
                                memcpy(rt->dst, RTA_DATA(rta), n);
                        break;
                case RTA_GATEWAY:
                        if (plen == n) {
                                memcpy(rt->gw, RTA_DATA(rta), n);
                                rt->has_gw = true;
                        }
                        break;
                case RTA_PRIORITY:
                        if (plen == 4)
                                memcpy(&rt->priority, RTA_DATA(rta), 4);
                        break;
                case RTA_TABLE:
                        if (plen == 4)
                                memcpy(table, RTA_DATA(rta), 4);
                        break;
                case RTA_OIF:
                        if (plen == 4)
                                memcpy(&rt->oif, RTA_DATA(rta), 4);
                        break;
                case RTA_NH_ID:
                        if (plen == 4)
                                memcpy(&rt->nhid, RTA_DATA(rta), 4);
                        break;
                case RTA_MULTIPATH:
                        rt->multipath = true;
                        break;
                default:
                        break;
                }
        }
        return !(rtm->rtm_flags & RTM_F_CLONED);
}

static bool parse_nexthop(const struct nlmsghdr *nlh, struct pn_nh *nh)
{
        const struct nhmsg *nhm = NLMSG_DATA(nlh);
        int len = (int)nlh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*nhm));
        bool odd = false, has_gw = false;

        if (len < 0)
                return false;
        memset(nh, 0, sizeof(*nh));
        nh->family = nhm->nh_family;
        nh->protocol = nhm->nh_protocol;
        nh->node = nh->match = SIZE_MAX;
        for (const struct rtattr *rta =
                 (const struct rtattr *)((const char *)nhm + NLMSG_ALIGN(sizeof(*nhm)));
             RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
                size_t plen = RTA_PAYLOAD(rta);
                switch (rta->rta_type) {
                case NHA_ID:
                        if (plen == 4)
                                memcpy(&nh->id, RTA_DATA(rta), 4);
                        break;
                case NHA_OIF:
                        if (plen == 4)
                                memcpy(&nh->oif, RTA_DATA(rta), 4);
                        break;
                case NHA_GATEWAY:
                        if (plen == 4 || plen == 16) {
                                memcpy(nh->gw, RTA_DATA(rta), plen);
                                has_gw = plen == alen(nh->family);
                        }
                        break;
                case NHA_GROUP:
                case NHA_BLACKHOLE:
                case NHA_ENCAP:
                case NHA_FDB:
                        odd = true;
                        break;
                default:
                        break;
                }
        }
        nh->plain = has_gw && nh->oif && !odd && (nh->family == AF_INET || nh->family == AF_INET6);
        return nh->id != 0;
}

static int nl_send(int fd, const void *buf, size_t len)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        ssize_t k;

        do
                k = sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        return (size_t)k == len ? 0 : -EIO;
}

static int grow(void *pv, size_t *cap, size_t n, size_t size)
{
        void **v = pv, *p;
        size_t c = *cap ? *cap * 2 : 256;

        if (n < *cap)
                return 0;
        p = realloc(*v, c * size);
        if (!p)
                return -ENOMEM;
        *v = p;
        *cap = c;
        return 0;
}

/* What a dump collects: the routes of `protocol` in `table`, the nexthop ids routes of
 * `protocol` in other tables use, and every nexthop object; with `facts`, also the routes
 * podnet does not own in `table`, main and local, and their gateways (what a node list is
 * judged against, see route-trust.c). */
struct dump {
        unsigned protocol, table;
        bool facts;
        struct pn_rt *rt;
        size_t n_rt, cap_rt;
        uint32_t *other; /* nexthop ids used in other tables */
        size_t n_other, cap_other;
        struct pn_nh *nh;
        size_t n_nh, cap_nh;
        struct pn_rt *foreign; /* not podnet's (local, broadcast, ... included) */
        size_t n_foreign, cap_foreign;
        struct pn_rt *gw; /* their gateways, as host prefixes */
        size_t n_gw, cap_gw;
        struct pn_rt *local, *onlink; /* sorted out of `foreign` by dump_facts() */
        size_t n_local, n_onlink;
};

static void dump_done(struct dump *d)
{
        free(d->rt);
        free(d->other);
        free(d->nh);
        free(d->foreign);
        free(d->gw);
        free(d->local);
        free(d->onlink);
        *d = (struct dump){.protocol = d->protocol, .table = d->table, .facts = d->facts};
}

static int add_gateway(struct dump *d, int family, const void *addr)
{
        struct pn_rt *g;

        if (grow(&d->gw, &d->cap_gw, d->n_gw, sizeof(*d->gw)) < 0)
                return -ENOMEM;
        g = &d->gw[d->n_gw++];
        memset(g, 0, sizeof(*g));
        g->family = (uint8_t)family;
        g->dst_len = (uint8_t)pn_family_bits(family);
        memcpy(g->dst, addr, alen(family));
        return 0;
}

/* A route podnet does not own: kept with its gateways, those of a multipath route too. */
static int dump_foreign(struct dump *d, const struct nlmsghdr *nlh, const struct pn_rt *rt)
{
        const struct rtmsg *rtm = NLMSG_DATA(nlh);
        int len = (int)nlh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rtm));
        size_t n = alen(rt->family);

        if (grow(&d->foreign, &d->cap_foreign, d->n_foreign, sizeof(*d->foreign)) < 0)
                return -ENOMEM;
        d->foreign[d->n_foreign++] = *rt;
        if (rt->has_gw && add_gateway(d, rt->family, rt->gw) < 0)
                return -ENOMEM;
        for (const struct rtattr *rta = RTM_RTA(rtm); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
                const struct rtnexthop *nh = RTA_DATA(rta);
                int left = (int)RTA_PAYLOAD(rta);

                if (rta->rta_type != RTA_MULTIPATH)
                        continue;
                for (; left >= (int)sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) &&
                       nh->rtnh_len <= left;
                     left -= NLMSG_ALIGN(nh->rtnh_len),
                     nh =
                         (const struct rtnexthop *)((const char *)nh + NLMSG_ALIGN(nh->rtnh_len))) {
                        int alen_nh = nh->rtnh_len - (int)sizeof(*nh);
                        for (const struct rtattr *a = RTNH_DATA(nh); RTA_OK(a, alen_nh);
                             a = RTA_NEXT(a, alen_nh))
                                if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == n &&
                                    add_gateway(d, rt->family, RTA_DATA(a)) < 0)
                                        return -ENOMEM;
                }
        }
        return 0;
}

static int dump_msg(struct dump *d, const struct nlmsghdr *nlh)
{
        if (nlh->nlmsg_type == RTM_NEWROUTE) {
                struct pn_rt rt;
                unsigned proto, tbl;

                if (!parse_route(nlh, &rt, &proto, &tbl))
                        return 0;
                if (proto != d->protocol) {
                        if (d->facts &&
                            (tbl == d->table || tbl == RT_TABLE_MAIN || tbl == RT_TABLE_LOCAL))
                                return dump_foreign(d, nlh, &rt);
                        return 0;
                }
                if (tbl != d->table) {
                        if (!rt.nhid)
                                return 0;
                        if (grow(&d->other, &d->cap_other, d->n_other, sizeof(*d->other)) < 0)
                                return -ENOMEM;
                        d->other[d->n_other++] = rt.nhid;
                        return 0;
                }
                if (grow(&d->rt, &d->cap_rt, d->n_rt, sizeof(*d->rt)) < 0)
                        return -ENOMEM;
                d->rt[d->n_rt++] = rt;
        } else if (nlh->nlmsg_type == RTM_NEWNEXTHOP) {
                struct pn_nh nh;

                if (!parse_nexthop(nlh, &nh))
                        return 0;
                if (grow(&d->nh, &d->cap_nh, d->n_nh, sizeof(*d->nh)) < 0)
                        return -ENOMEM;
                d->nh[d->n_nh++] = nh;
        }
        return 0;
}

/* One dump: RTM_GETROUTE (our protocol, every table, both families) or RTM_GETNEXTHOP;
 * dumped again when a concurrent change interrupted it. */
static int nl_dump(struct nlsk *s, uint16_t type, struct dump *d)
{
        for (int attempt = 0; attempt < 5; attempt++) {
                struct {
                        struct nlmsghdr nlh;
                        union {
                                struct rtmsg rtm;
                                struct nhmsg nhm;
                        };
                } req = {0};
                bool done = false, intr = false;
                uint32_t seq = ++s->seq;
                int r = 0;

                req.nlh.nlmsg_type = type;
                req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
                req.nlh.nlmsg_seq = seq;
                if (type == RTM_GETROUTE) {
                        req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
                        req.rtm.rtm_family = AF_UNSPEC;
                        /* kernel-side filter (strict checking, >= 4.20); we filter too */
                        if (!d->facts)
                                req.rtm.rtm_protocol = (unsigned char)d->protocol;
                        d->n_rt = d->n_other = d->n_foreign = d->n_gw = 0;
                } else {
                        req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(struct nhmsg));
                        req.nhm.nh_family = AF_UNSPEC;
                        d->n_nh = 0;
                }
                r = nl_send(s->fd, &req, req.nlh.nlmsg_len);
                if (r < 0)
                        return r;
                while (!done && r >= 0) {
                        ssize_t k = recv(s->fd, s->dumpbuf, NL_DUMP_BUF, 0);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0) {
                                r = -errno;
                                break;
                        }
                        int len = (int)k;
                        for (struct nlmsghdr *nlh = (struct nlmsghdr *)s->dumpbuf;
                             NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
                                if (nlh->nlmsg_seq != seq)
                                        continue;
                                if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                                        intr = true;
                                if (nlh->nlmsg_type == NLMSG_DONE) {
                                        done = true;
                                        break;
                                }
                                if (nlh->nlmsg_type == NLMSG_ERROR) {
                                        const struct nlmsgerr *e = NLMSG_DATA(nlh);
                                        r = e->error ? e->error : -EIO;
                                        break;
                                }
                                r = dump_msg(d, nlh);
                                if (r < 0)
                                        break;
                        }
                }
                if (r < 0 && r != -ENOBUFS)
                        return r;
                if (r == -ENOBUFS || intr)
                        continue; /* interrupted by a concurrent change or overrun */
                return 0;
        }
        return -EAGAIN;
}

/* Sorts the routes podnet does not own into this node's addresses (local routes) and its
 * on-link prefixes (unicast, no gateway), and adds the gateways of those using a nexthop
 * object. */
static int dump_facts(struct dump *d)
{
        d->local = calloc(d->n_foreign + 1, sizeof(*d->local));
        d->onlink = calloc(d->n_foreign + 1, sizeof(*d->onlink));
        if (!d->local || !d->onlink)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_foreign; i++) {
                const struct pn_rt *rt = &d->foreign[i];
                const struct pn_nh *x = rt->nhid ? nh_by_id(d->nh, d->n_nh, rt->nhid) : NULL;

                if (x && x->plain && add_gateway(d, x->family, x->gw) < 0)
                        return -ENOMEM;
                if (rt->type == RTN_LOCAL)
                        d->local[d->n_local++] = *rt;
                else if (rt->type == RTN_UNICAST && !rt->has_gw && !rt->nhid && !rt->multipath &&
                         rt->oif && rt->dst_len > 0)
                        d->onlink[d->n_onlink++] = *rt;
        }
        return 0;
}

/* Dumps the nexthop objects, then our routes; gives each route using a nexthop object
 * that object's gateway and marks which nexthops are ours: our protocol, used by none of
 * our protocol's routes in another table, and either in our id block or used by our
 * routes. *nh_kernel says whether the kernel has nexthop objects at all (>= 5.3). */
static int dump_all(struct nlsk *s, struct dump *d, bool *nh_kernel)
{
        uint32_t base = pn_nh_base(d->protocol, d->table);
        int r;

        r = nl_dump(s, RTM_GETNEXTHOP, d);
        *nh_kernel = r >= 0;
        if (r == -EOPNOTSUPP || r == -EINVAL || r == -EAFNOSUPPORT || r == -EPROTONOSUPPORT)
                r = 0; /* no nexthop objects in this kernel: plain routes only */
        if (r >= 0)
                r = nl_dump(s, RTM_GETROUTE, d);
        if (r < 0)
                return r;
        sort_if_needed(d->nh, d->n_nh, sizeof(*d->nh), nh_id_compare);
        for (size_t j = 0; j < d->n_nh; j++)
                d->nh[j].ours = d->nh[j].protocol == d->protocol && d->nh[j].id - base < PN_NH_SPAN;
        for (size_t i = 0; i < d->n_rt; i++) {
                struct pn_nh *x = d->rt[i].nhid ? nh_by_id(d->nh, d->n_nh, d->rt[i].nhid) : NULL;
                if (!x)
                        continue;
                if (x->protocol == d->protocol)
                        x->ours = true;
                if (x->plain) {
                        memcpy(d->rt[i].gw, x->gw, 16);
                        d->rt[i].has_gw = true;
                } else {
                        d->rt[i].has_gw = false;
                }
        }
        for (size_t i = 0; i < d->n_other; i++) {
                struct pn_nh *x = nh_by_id(d->nh, d->n_nh, d->other[i]);
                if (x)
                        x->ours = false;
        }
        return d->facts ? dump_facts(d) : 0;
}

struct nlreq {
        uint16_t type, flags;
        const struct pn_rt *rt; /* a route request, or */
        const struct pn_nh *nh; /* a nexthop request */
        int error;              /* kernel's answer, 0 or -errno */
        bool answered;
        struct pn_rt reply; /* RTM_GETROUTE */
};

/* Sends the requests in chunks with one sendmsg each and collects exactly one answer
 * per request: an ack (writes) or a route (lookups). */
static int nl_batch(struct nlsk *s, struct nlreq *reqs, size_t n, unsigned protocol, unsigned table)
{
        struct msgbuf b = {0};
        struct mmsghdr mm[NL_SLOTS];
        struct iovec iov[NL_SLOTS];
        int r = 0;

        for (size_t i = 0; i < NL_SLOTS; i++) {
                iov[i].iov_base = s->slots + i * NL_SLOT_SIZE;
                iov[i].iov_len = NL_SLOT_SIZE;
        }
        for (size_t start = 0; start < n && r >= 0; start += s->chunk) {
                size_t end = start + s->chunk < n ? start + s->chunk : n, left = end - start;
                uint32_t base = s->seq + 1;

                b.len = 0;
                for (size_t i = start; i < end && r >= 0; i++) {
                        uint32_t seq = base + (uint32_t)(i - start);
                        if (reqs[i].nh)
                                r = msg_nexthop(&b, reqs[i].type, reqs[i].flags, seq, reqs[i].nh,
                                                protocol);
                        else
                                r = msg_route(&b, reqs[i].type, reqs[i].flags, seq, reqs[i].rt,
                                              protocol, table);
                }
                s->seq += (uint32_t)(end - start);
                if (r >= 0)
                        r = nl_send(s->fd, b.buf, b.len);
                while (r >= 0 && left > 0) {
                        int got;

                        memset(mm, 0, sizeof(mm));
                        for (size_t i = 0; i < NL_SLOTS; i++) {
                                mm[i].msg_hdr.msg_iov = &iov[i];
                                mm[i].msg_hdr.msg_iovlen = 1;
                        }
                        got = recvmmsg(s->fd, mm, left < NL_SLOTS ? (unsigned)left : NL_SLOTS, 0,
                                       NULL);
                        if (got < 0 && errno == EINTR)
                                continue;
                        if (got < 0) {
                                r = -errno;
                                break;
                        }
                        for (int m = 0; m < got; m++) {
                                int len = (int)mm[m].msg_len;
                                for (struct nlmsghdr *nlh = iov[m].iov_base; NLMSG_OK(nlh, len);
                                     nlh = NLMSG_NEXT(nlh, len)) {
                                        uint32_t idx = nlh->nlmsg_seq - base;
                                        struct nlreq *q;
                                        unsigned proto, tbl;

                                        if (nlh->nlmsg_seq < base || idx >= end - start)
                                                continue;
                                        q = &reqs[start + idx];
                                        if (q->answered)
                                                continue;
                                        if (nlh->nlmsg_type == NLMSG_ERROR) {
                                                const struct nlmsgerr *e = NLMSG_DATA(nlh);
                                                q->error = e->error;
                                        } else if (nlh->nlmsg_type == RTM_NEWROUTE) {
                                                parse_route(nlh, &q->reply, &proto, &tbl);
                                        } else {
                                                continue;
                                        }
                                        q->answered = true;
                                        left--;
                                }
                        }
                }
        }
        free(b.buf);
        return r;
}

/* --- sync --------------------------------------------------------------------------- */

/* How many stale nexthops the sync deletes together with their routes (one write each):
 * the kernel then walks the whole FIB once per nexthop, so past this many the routes are
 * deleted first, one write each, and the unused nexthops after them. */
#define NH_IMPLICIT_MAX 16

static double ms_since(const struct timespec *t0)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void fmt_addr(int family, const void *a, char *buf, size_t size)
{
        if (!inet_ntop(family, a, buf, (socklen_t)size))
                snprintf(buf, size, "?");
}

static void fmt_rt(const struct pn_rt *rt, char *buf, size_t size)
{
        char a[INET6_ADDRSTRLEN];

        fmt_addr(rt->family, rt->dst, a, sizeof(a));
        snprintf(buf, size, "%s/%u", a, rt->dst_len);
}

struct lookup {
        uint8_t family;
        uint8_t addr[16];
        int error;
        struct pn_rt reply;
        char *why; /* unreachable reason, or NULL: the only owner of reason strings */
};

static int lookup_compare(const void *a, const void *b)
{
        const struct lookup *x = a, *y = b;

        if (x->family != y->family)
                return x->family < y->family ? -1 : 1;
        return memcmp(x->addr, y->addr, 16);
}

/* Why `gw` is not usable as a next hop, or NULL when it is. *why is the caller's. */
static int unreachable_reason(const struct lookup *l, char **why)
{
        char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
        int r = 0;

        *why = NULL;
        fmt_addr(l->family, l->addr, a, sizeof(a));
        if (l->error)
                r = asprintf(why, "no route to %s (%s): not routable on this network", a,
                             strerror(-l->error));
        else if (l->reply.type == RTN_LOCAL)
                r = asprintf(why, "%s is an address of this node", a);
        else if (l->reply.type != RTN_UNICAST || !l->reply.oif)
                r = asprintf(why,
                             "the route to %s is not a unicast route: not routable on "
                             "this network",
                             a);
        else if (l->reply.has_gw) {
                fmt_addr(l->family, l->reply.gw, g, sizeof(g));
                r = asprintf(why,
                             "%s is reached via gateway %s, not directly: not routable on "
                             "this network",
                             a, g);
        }
        return r < 0 ? -ENOMEM : 0;
}

static const struct lookup *lookup_find(const struct lookup *v, size_t n, int family,
                                        const uint8_t *addr)
{
        struct lookup key = {.family = (uint8_t)family};

        memcpy(key.addr, addr, alen(family));
        return n ? bsearch(&key, v, n, sizeof(*v), lookup_compare) : NULL;
}

struct sync_state {
        podnet_ctx *ctx;
        const podnet_nodes *nodes;
        podnet_sync_config cfg;
        podnet_sync_report *report;
        struct pn_rt *want;
        size_t n_want;
        struct dump d;     /* installed: d.rt routes, d.nh nexthop objects */
        bool nh_kernel;    /* the kernel has nexthop objects */
        bool nh_mode;      /* routes via nexthop objects */
        bool implicit;     /* stale routes go with their deleted nexthop */
        struct pn_nh *nhw; /* wanted nexthops, by node then family */
        size_t n_nhw;
        const char **nh_why; /* per wanted nexthop: its lookup's reason, or NULL */
        int *nhw_err;        /* per wanted nexthop: answer to its add or replace */
        int *nhh_err;        /* per installed nexthop: answer to its deletion */
        struct pn_op *ops;
        size_t n_ops;
        struct lookup *lookups;
        size_t n_lookups;
        const char **why; /* per op: its lookup's reason, or NULL */
        int *err_del;     /* per op: answer to deleting the installed route */
        int *err_set;     /* per op: answer to adding or replacing the wanted route */
        size_t writes;    /* requests answered */
        struct nlsk sk;
};

static void sync_state_done(struct sync_state *st)
{
        free(st->want);
        dump_done(&st->d);
        free(st->nhw);
        free(st->nh_why);
        free(st->nhw_err);
        free(st->nhh_err);
        free(st->ops);
        for (size_t i = 0; i < st->n_lookups; i++)
                free(st->lookups[i].why);
        free(st->lookups);
        free(st->why);
        free(st->err_del);
        free(st->err_set);
        nlsk_close(&st->sk);
        podnet_sync_report_free(st->report);
}

static const char *node_name_of(const struct sync_state *st, const struct pn_rt *rt)
{
        if (!rt || rt->node == SIZE_MAX)
                return NULL;
        return podnet_nodes_name(st->nodes, rt->node);
}

/* Looks up the route to each of st->lookups[0..n) (RTM_GETROUTE per address, pipelined,
 * duplicates dropped) and words once per address why it is unusable, if it is. */
static int lookup_all(struct sync_state *st, size_t n, podnet_error **err)
{
        _cleanup_free_ struct nlreq *reqs = NULL;
        _cleanup_free_ struct pn_rt *hosts = NULL;
        size_t u = 0;
        int r;

        qsort(st->lookups, n, sizeof(*st->lookups), lookup_compare);
        for (size_t i = 0; i < n; i++)
                if (u == 0 || lookup_compare(&st->lookups[u - 1], &st->lookups[i]) != 0)
                        st->lookups[u++] = st->lookups[i];
        st->n_lookups = u;
        if (u == 0)
                return 0;
        reqs = calloc(u, sizeof(*reqs));
        hosts = calloc(u, sizeof(*hosts));
        if (!reqs || !hosts)
                return pn_error(err, ENOMEM, 0, "Resolving next hops");
        for (size_t i = 0; i < u; i++) {
                hosts[i].family = st->lookups[i].family;
                memcpy(hosts[i].dst, st->lookups[i].addr, 16);
                reqs[i].type = RTM_GETROUTE;
                reqs[i].rt = &hosts[i];
        }
        r = nl_batch(&st->sk, reqs, u, 0, 0);
        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Looking up routes to peers");
        for (size_t i = 0; i < u; i++) {
                st->lookups[i].error = reqs[i].answered ? reqs[i].error : -EIO;
                st->lookups[i].reply = reqs[i].reply;
                if (unreachable_reason(&st->lookups[i], &st->lookups[i].why) < 0)
                        return pn_error(err, ENOMEM, 0, "Resolving next hops");
        }
        return 0;
}

/* Plain routes: resolves the next hop of every route about to be written. Routes already
 * installed are not looked up again: the kernel checked their gateway when they were
 * added. */
static int resolve_routes(struct sync_state *st, podnet_error **err)
{
        size_t n = 0;
        int r;

        st->lookups = calloc(st->n_ops + 1, sizeof(*st->lookups));
        if (!st->lookups)
                return pn_error(err, ENOMEM, 0, "Resolving next hops");
        for (size_t i = 0; i < st->n_ops; i++) {
                const struct pn_rt *w = st->ops[i].want;
                if (st->ops[i].kind != PN_OP_ADD && st->ops[i].kind != PN_OP_REPLACE)
                        continue;
                st->lookups[n].family = w->family;
                memcpy(st->lookups[n].addr, w->gw, alen(w->family));
                n++;
        }
        r = lookup_all(st, n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < st->n_ops; i++) {
                const struct pn_rt *w = st->ops[i].want;
                const struct lookup *l;
                if (st->ops[i].kind != PN_OP_ADD && st->ops[i].kind != PN_OP_REPLACE)
                        continue;
                l = lookup_find(st->lookups, st->n_lookups, w->family, w->gw);
                st->why[i] = l ? l->why : NULL;
        }
        return 0;
}

/* Tells each wanted route which wanted nexthop (sorted by node, family) is its node's. */
static int route_slots(struct sync_state *st)
{
        size_t n_nodes = podnet_nodes_count(st->nodes);
        _cleanup_free_ uint32_t *slot = calloc(2 * n_nodes + 1, sizeof(*slot));

        if (!slot)
                return -ENOMEM;
        for (size_t k = 0; k < st->n_nhw; k++)
                slot[2 * st->nhw[k].node + (st->nhw[k].family == AF_INET6)] = (uint32_t)k + 1;
        for (size_t i = 0; i < st->n_want; i++) {
                st->want[i].nh_slot = slot[2 * st->want[i].node + (st->want[i].family == AF_INET6)];
                if (!st->want[i].nh_slot)
                        return -EIO; /* cannot be: every wanted route made its nexthop */
        }
        return 0;
}

/* Nexthop objects: one per peer node and family; decides which are kept, replaced (the
 * node's address changed), added or deleted; resolves the device of every one about to be
 * written (a gateway that is not directly reachable gets none, and its node's routes are
 * reported unreachable); then points every wanted route at its node's nexthop. */
static int plan_nexthops(struct sync_state *st, podnet_error **err)
{
        size_t n = 0;
        int r;

        st->nhw = calloc(st->n_want + 1, sizeof(*st->nhw));
        if (!st->nhw)
                return pn_error(err, ENOMEM, 0, "Planning next hops");
        for (size_t i = 0; st->nh_mode && i < st->n_want; i++) {
                struct pn_nh *w = &st->nhw[st->n_nhw++];
                w->family = st->want[i].family;
                w->node = st->want[i].node;
                w->name = podnet_nodes_name(st->nodes, w->node);
                memcpy(w->gw, st->want[i].gw, 16);
        }
        sort_if_needed(st->nhw, st->n_nhw, sizeof(*st->nhw), nh_node_compare);
        for (size_t k = 0; k < st->n_nhw; k++)
                if (n == 0 || nh_node_compare(&st->nhw[n - 1], &st->nhw[k]) != 0)
                        st->nhw[n++] = st->nhw[k];
        st->n_nhw = n;
        r = st->nh_mode ? route_slots(st) : 0;
        if (r < 0)
                return pn_error(err, -r, 0, "Planning next hops");
        r = pn_nexthop_plan(st->nhw, st->n_nhw, st->d.nh, st->d.n_nh, st->want, st->n_want,
                            st->d.rt, st->d.n_rt, pn_nh_base(st->cfg.protocol, st->cfg.table));
        if (r < 0)
                return pn_error(err, -r, 0, "Planning next hops");

        st->nh_why = calloc(st->n_nhw + 1, sizeof(*st->nh_why));
        st->nhw_err = calloc(st->n_nhw + 1, sizeof(*st->nhw_err));
        st->nhh_err = calloc(st->d.n_nh + 1, sizeof(*st->nhh_err));
        if (!st->nh_why || !st->nhw_err || !st->nhh_err)
                return pn_error(err, ENOMEM, 0, "Planning next hops");
        if (!st->nh_mode)
                return 0; /* plain routes: our nexthops only go */
        st->lookups = calloc(st->n_nhw + 1, sizeof(*st->lookups));
        if (!st->lookups)
                return pn_error(err, ENOMEM, 0, "Planning next hops");
        n = 0;
        for (size_t k = 0; k < st->n_nhw; k++) {
                if (st->nhw[k].kind == PN_OP_KEEP)
                        continue; /* installed and accepted by the kernel: nothing to resolve */
                st->lookups[n].family = st->nhw[k].family;
                memcpy(st->lookups[n].addr, st->nhw[k].gw, 16);
                n++;
        }
        r = lookup_all(st, n, err);
        if (r < 0)
                return r;
        for (size_t k = 0; k < st->n_nhw; k++) {
                struct pn_nh *w = &st->nhw[k];
                const struct lookup *l;
                if (w->kind == PN_OP_KEEP)
                        continue;
                l = lookup_find(st->lookups, st->n_lookups, w->family, w->gw);
                if (!l)
                        return pn_error(err, EIO, 0, "Resolving next hops");
                st->nh_why[k] = l->why;
                if (!l->why) {
                        w->oif = l->reply.oif;
                        continue;
                }
                /* unreachable: no nexthop; the one it was to take over is stale now */
                if (w->match != SIZE_MAX) {
                        struct pn_nh *h = &st->d.nh[w->match];
                        h->match = SIZE_MAX;
                        h->kind = h->ours ? PN_OP_DELETE : PN_OP_KEEP;
                        w->match = SIZE_MAX;
                }
                w->id = 0;
        }
        for (size_t i = 0; i < st->n_want; i++) {
                st->want[i].via_nh = true;
                st->want[i].nhid = st->nhw[st->want[i].nh_slot - 1].id;
        }
        return 0;
}

static struct pn_nh *nh_of_route(const struct sync_state *st, const struct pn_rt *want)
{
        if (!st->nh_mode || !want || !want->nh_slot)
                return NULL;
        return &st->nhw[want->nh_slot - 1];
}

/* The installed nexthop whose deletion takes this stale route with it, or NULL. */
static const struct pn_nh *implicit_nh(const struct sync_state *st, const struct pn_rt *have)
{
        const struct pn_nh *x;

        if (!st->implicit || !have->nhid)
                return NULL;
        x = nh_by_id(st->d.nh, st->d.n_nh, have->nhid);
        return x && x->kind == PN_OP_DELETE ? x : NULL;
}

/* Sends `n` requests and counts the answered ones as writes. */
static int write_batch(struct sync_state *st, struct nlreq *reqs, size_t n)
{
        int r = nl_batch(&st->sk, reqs, n, st->cfg.protocol, st->cfg.table);

        for (size_t k = 0; k < n; k++)
                if (reqs[k].answered)
                        st->writes++;
        return r;
}

/* The writes, in three pipelined batches: nexthop objects added or replaced; then routes
 * deleted, replaced, added (a route whose nexthop failed is not sent); then the nexthop
 * objects nothing uses any more. */
static int write_all(struct sync_state *st, podnet_error **err)
{
        static const enum pn_op_kind order[] = {PN_OP_DELETE, PN_OP_REPLACE, PN_OP_ADD};
        _cleanup_free_ struct nlreq *reqs = NULL;
        _cleanup_free_ size_t *idx = NULL;
        size_t cap = 0, n = 0;
        int r;

        for (size_t k = 0; k < st->n_nhw; k++)
                cap += st->nhw[k].kind != PN_OP_KEEP;
        for (size_t i = 0; i < st->n_ops; i++)
                cap += st->ops[i].kind != PN_OP_KEEP ? 2 : 0;
        for (size_t j = 0; j < st->d.n_nh; j++)
                cap += st->d.nh[j].kind == PN_OP_DELETE;
        if (cap == 0)
                return 0; /* in sync: no write */
        reqs = calloc(cap, sizeof(*reqs));
        idx = calloc(cap, sizeof(*idx));
        if (!reqs || !idx)
                return pn_error(err, ENOMEM, 0, "Planning route changes");

        for (size_t k = 0; k < st->n_nhw; k++) {
                const struct pn_nh *w = &st->nhw[k];
                if (w->kind == PN_OP_KEEP || !w->id)
                        continue;
                reqs[n].type = RTM_NEWNEXTHOP;
                reqs[n].flags = NLM_F_ACK | NLM_F_CREATE |
                                (w->kind == PN_OP_REPLACE ? NLM_F_REPLACE : NLM_F_EXCL);
                reqs[n].nh = w;
                idx[n++] = k;
        }
        r = write_batch(st, reqs, n);
        for (size_t q = 0; q < n; q++)
                st->nhw_err[idx[q]] = reqs[q].answered ? reqs[q].error : -EIO;
        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Writing next hops");

        memset(reqs, 0, n * sizeof(*reqs));
        n = 0;
        for (size_t o = 0; o < ELEMENTSOF(order); o++)
                for (size_t i = 0; i < st->n_ops; i++) {
                        const struct pn_op *op = &st->ops[i];
                        const struct pn_nh *w = nh_of_route(st, op->want);
                        bool unreachable = st->why[i] != NULL;

                        if (op->kind == PN_OP_KEEP)
                                continue;
                        /* an unreachable replacement still removes the stale route */
                        if (order[o] == PN_OP_DELETE &&
                            (op->kind == PN_OP_DELETE ||
                             (op->kind == PN_OP_REPLACE && unreachable))) {
                                if (implicit_nh(st, op->have))
                                        continue;
                                reqs[n].type = RTM_DELROUTE;
                                reqs[n].rt = op->have;
                        } else if (order[o] == op->kind && order[o] != PN_OP_DELETE &&
                                   !unreachable) {
                                if (w && st->nhw_err[w - st->nhw] < 0)
                                        continue; /* its nexthop failed */
                                reqs[n].type = RTM_NEWROUTE;
                                reqs[n].flags =
                                    NLM_F_CREATE |
                                    (op->kind == PN_OP_REPLACE ? NLM_F_REPLACE : NLM_F_EXCL);
                                reqs[n].rt = op->want;
                        } else {
                                continue;
                        }
                        reqs[n].flags |= NLM_F_ACK;
                        idx[n++] = i;
                }
        r = write_batch(st, reqs, n);
        for (size_t q = 0; q < n; q++) {
                int e = reqs[q].answered ? reqs[q].error : -EIO;
                if (reqs[q].type == RTM_DELROUTE)
                        st->err_del[idx[q]] = e;
                else
                        st->err_set[idx[q]] = e;
        }
        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Writing routes");

        memset(reqs, 0, n * sizeof(*reqs));
        n = 0;
        for (size_t j = 0; j < st->d.n_nh; j++) {
                if (st->d.nh[j].kind != PN_OP_DELETE)
                        continue;
                reqs[n].type = RTM_DELNEXTHOP;
                reqs[n].flags = NLM_F_ACK;
                reqs[n].nh = &st->d.nh[j];
                idx[n++] = j;
        }
        r = write_batch(st, reqs, n);
        for (size_t q = 0; q < n; q++)
                st->nhh_err[idx[q]] = reqs[q].answered ? reqs[q].error : -EIO;
        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Deleting next hops");
        return 0;
}

static bool gone(int e)
{
        return e == -ESRCH || e == -ENOENT;
}

/* Reports a route that was to be added or replaced, or whose nexthop was replaced: `e` is
 * the kernel's answer, `nh_failed` says it was about the node's nexthop. */
static int report_set(struct sync_state *st, podnet_sync_action action, const char *node,
                      const struct pn_rt *rt, int e, bool nh_failed, int *first_error,
                      podnet_error **err)
{
        char d[PODNET_CIDR_STRLEN + 8], g[INET6_ADDRSTRLEN];
        const char *verb = action == PODNET_SYNC_ADDED ? "Adding" : "Replacing";

        fmt_rt(rt, d, sizeof(d));
        fmt_addr(rt->family, rt->gw, g, sizeof(g));
        if (e == -ENETUNREACH || e == -EHOSTUNREACH)
                return pn_sync_report_add(st->report, PODNET_SYNC_UNREACHABLE, node, rt,
                                          "the kernel refused gateway %s: %s", g, strerror(-e));
        if (e == -EEXIST && !nh_failed) {
                if (!*first_error)
                        *first_error = pn_error_plain(err, EEXIST, PODNET_CNI_ERR_NETLINK,
                                                      "Adding route %s via %s: a route to %s "
                                                      "that podnet does not own exists",
                                                      d, g, d);
                return pn_sync_report_add(st->report, PODNET_SYNC_FAILED, node, rt,
                                          "a route to %s that podnet does not own exists", d);
        }
        if (e < 0) {
                if (!*first_error)
                        *first_error =
                            pn_error(err, -e, PODNET_CNI_ERR_NETLINK, "%s %s %s via %s", verb,
                                     nh_failed ? "the next hop of route" : "route", d, g);
                return pn_sync_report_add(st->report, PODNET_SYNC_FAILED, node, rt, "%s%s",
                                          nh_failed ? "next hop: " : "", strerror(-e));
        }
        return pn_sync_report_add(st->report, action, node, rt, NULL);
}

static int build_report(struct sync_state *st, podnet_error **err)
{
        int first_error = 0;
        int r = 0;

        for (size_t i = 0; i < st->n_ops && r >= 0; i++) {
                const struct pn_op *op = &st->ops[i];
                const struct pn_rt *rt = op->want ? op->want : op->have;
                const char *node = node_name_of(st, op->want);
                const struct pn_nh *w = nh_of_route(st, op->want);
                int nh_e = w ? st->nhw_err[w - st->nhw] : 0;
                int e;

                if (op->kind == PN_OP_KEEP) {
                        if (w && w->kind == PN_OP_REPLACE)
                                r = report_set(st, PODNET_SYNC_REPLACED, node, rt, nh_e, true,
                                               &first_error, err);
                        else
                                r = pn_sync_report_add(st->report, PODNET_SYNC_KEPT, node, rt,
                                                       NULL);
                        continue;
                }
                if (op->kind == PN_OP_DELETE || (op->kind == PN_OP_REPLACE && st->why[i])) {
                        const struct pn_nh *x = implicit_nh(st, op->have);
                        e = x ? st->nhh_err[x - st->d.nh] : st->err_del[i];
                        if (gone(e))
                                e = 0; /* already gone */
                        if (e < 0) {
                                char d[PODNET_CIDR_STRLEN + 8];
                                fmt_rt(op->have, d, sizeof(d));
                                if (!first_error)
                                        first_error = pn_error(err, -e, PODNET_CNI_ERR_NETLINK,
                                                               "Deleting route %s", d);
                                r = pn_sync_report_add(st->report, PODNET_SYNC_FAILED, node,
                                                       op->have, "deleting: %s", strerror(-e));
                        } else {
                                r = pn_sync_report_add(
                                    st->report, PODNET_SYNC_DELETED, node, op->have,
                                    op->kind == PN_OP_DELETE ? "stale" : "peer address changed");
                        }
                        if (r < 0 || op->kind == PN_OP_DELETE)
                                continue;
                }
                if (st->why[i]) {
                        r = pn_sync_report_add(st->report, PODNET_SYNC_UNREACHABLE, node, rt, "%s",
                                               st->why[i]);
                        continue;
                }
                r = report_set(st, op->kind == PN_OP_ADD ? PODNET_SYNC_ADDED : PODNET_SYNC_REPLACED,
                               node, rt, nh_e < 0 ? nh_e : st->err_set[i], nh_e < 0, &first_error,
                               err);
        }
        /* nexthops deleted that no reported route depended on */
        for (size_t j = 0; j < st->d.n_nh && r >= 0 && !first_error; j++)
                if (st->d.nh[j].kind == PN_OP_DELETE && st->nhh_err[j] < 0 && !gone(st->nhh_err[j]))
                        first_error = pn_error(err, -st->nhh_err[j], PODNET_CNI_ERR_NETLINK,
                                               "Deleting next hop %u", st->d.nh[j].id);
        if (r < 0)
                return pn_error(err, -r, 0, "Reporting");
        return first_error;
}

/* PODNET_NO_NEXTHOP=1 forces plain routes (what a kernel older than 5.3 gets): for tests
 * and for comparing both. */
static bool nexthops_disabled(void)
{
        const char *v = secure_getenv("PODNET_NO_NEXTHOP");

        return v && *v && strcmp(v, "0") != 0;
}

/* 0 means podnet's protocol; sync, flush and the monitor accept the same ones. */
static int check_protocol(unsigned *protocol, podnet_error **err)
{
        if (*protocol == 0)
                *protocol = PODNET_ROUTE_PROTOCOL;
        if (*protocol > 255)
                return pn_error_plain(err, EINVAL, 0, "Route protocol %u is not in 1..255",
                                      *protocol);
        return 0;
}

static int parse_proto_table(unsigned *protocol, unsigned *table, podnet_error **err)
{
        if (*table == 0)
                *table = RT_TABLE_MAIN;
        return check_protocol(protocol, err);
}

static int open_and_dump(struct nlsk *sk, struct dump *d, bool *nh_kernel, podnet_error **err)
{
        int r = nlsk_open(sk);

        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Opening a netlink route socket");
        r = dump_all(sk, d, nh_kernel);
        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_NETLINK,
                                "Dumping routes of protocol %u in table %u and next hops",
                                d->protocol, d->table);
        return 0;
}

/* A node list that holds no node, or that does not hold this node, is not a picture of
 * the cluster (an empty `kubectl` answer, a truncated file, a wrong --node-name): syncing
 * to it would delete every route, so it is refused. A node that leaves is absent from a
 * list that still holds this node; that one is synced. */
static int check_node_list(const podnet_nodes *nodes, const podnet_sync_config *cfg,
                           podnet_error **err)
{
        size_t n = podnet_nodes_count(nodes);

        if (n == 0)
                return pn_error_plain(err, ENODATA, 0,
                                      "The node list holds no node: refusing to change routes "
                                      "(it would delete every route of protocol %u)",
                                      cfg->protocol);
        if (!isempty(cfg->node_name) && podnet_nodes_find(nodes, cfg->node_name) < 0)
                return pn_error_plain(err, ENODATA, 0,
                                      "Node %s is not in the node list (%zu node%s): refusing to "
                                      "change routes",
                                      cfg->node_name, n, n == 1 ? "" : "s");
        return 0;
}

/* How many passes a sync makes at most when another writer changes podnet's routes or
 * nexthop objects between its dump and its writes. */
#define SYNC_PASSES 4

static bool race_error(int e)
{
        return e == -EEXIST || e == -ENOENT || e == -ESRCH;
}

/* Whether a failed pass can be explained by another writer: a dump it kept interrupting
 * (EAGAIN, after nl_dump()'s own retries), a nexthop id or a route that appeared since
 * the dump (EEXIST), a route to delete that went already (ESRCH), a nexthop object a
 * route was to use that went (EINVAL: "Nexthop id does not exist"; ENOENT). A route some
 * program keeps with another protocol fails the same way on every pass, and is reported
 * after the last. */
static bool raced(const struct sync_state *st, int r)
{
        if (r == -EAGAIN)
                return true;
        for (size_t k = 0; k < st->n_nhw; k++)
                if (race_error(st->nhw_err[k]))
                        return true;
        for (size_t i = 0; i < st->n_ops; i++) {
                const struct pn_rt *w = st->ops[i].want;
                if (race_error(st->err_set[i]) || (st->err_set[i] == -EINVAL && w && w->via_nh))
                        return true;
        }
        return false;
}

static int entry_dst_compare(const void *a, const void *b, void *arg)
{
        const struct report_entry *e = arg;

        return podnet_cidr_compare(&e[*(const size_t *)a].dst, &e[*(const size_t *)b].dst);
}

/* Carries what an earlier pass wrote into the report of the next: a route it added or
 * replaced that the next pass found in place is reported as added or replaced, and a
 * route it deleted (which the next pass no longer sees) as deleted. */
static int report_carry(podnet_sync_report *next, const podnet_sync_report *prev)
{
        _cleanup_free_ size_t *idx = calloc(next->n + 1, sizeof(size_t));
        size_t n = 0;

        if (!idx)
                return -ENOMEM;
        for (size_t j = 0; j < next->n; j++)
                if (next->e[j].has_dst)
                        idx[n++] = j;
        qsort_r(idx, n, sizeof(*idx), entry_dst_compare, next->e);
        for (size_t i = 0; i < prev->n; i++) {
                const struct report_entry *p = &prev->e[i];
                size_t lo = 0, hi = n;
                int r;

                if (!p->has_dst ||
                    (p->action != PODNET_SYNC_ADDED && p->action != PODNET_SYNC_REPLACED &&
                     p->action != PODNET_SYNC_DELETED))
                        continue;
                while (lo < hi) { /* the first entry of next >= p's destination */
                        size_t mid = lo + (hi - lo) / 2;
                        if (podnet_cidr_compare(&next->e[idx[mid]].dst, &p->dst) < 0)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                if (lo < n && podnet_cidr_compare(&next->e[idx[lo]].dst, &p->dst) == 0) {
                        struct report_entry *e = &next->e[idx[lo]];
                        if (e->action == PODNET_SYNC_KEPT && p->action != PODNET_SYNC_DELETED)
                                e->action = p->action;
                        continue;
                }
                if (p->action != PODNET_SYNC_DELETED)
                        continue;
                r = pn_sync_report_add(next, p->action, p->node, NULL, p->reason ? "%s" : NULL,
                                       p->reason);
                if (r < 0)
                        return r;
                next->e[next->n - 1].has_dst = true;
                next->e[next->n - 1].dst = p->dst;
                next->e[next->n - 1].has_via = p->has_via;
                next->e[next->n - 1].via = p->via;
        }
        return 0;
}

/* One pass: wanted routes, dump, plan, writes (unless a dry run), report. */
static int sync_pass(struct sync_state *st, podnet_error **err)
{
        struct timespec t0;
        size_t n_del = 0;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        st->d.protocol = st->cfg.protocol;
        st->d.table = st->cfg.table;
        st->d.facts = true;
        r = open_and_dump(&st->sk, &st->d, &st->nh_kernel, err);
        if (r < 0)
                return r;
        /* the node list is judged against what the dump says about this node; the report
         * exists from here on, so a caller that gets one knows the list was judged */
        st->report = pn_sync_report_new();
        if (!st->report)
                return pn_error(err, ENOMEM, 0, "Syncing routes");
        struct pn_underlay u = {
            .cluster = st->cfg.cluster_cidrs,
            .n_cluster = st->cfg.cluster_cidrs ? st->cfg.n_cluster_cidrs : 0,
            .local = st->d.local,
            .n_local = st->d.n_local,
            .onlink = st->d.onlink,
            .n_onlink = st->d.n_onlink,
            .foreign = st->d.foreign,
            .n_foreign = st->d.n_foreign,
            .gateway = st->d.gw,
            .n_gateway = st->d.n_gw,
        };
        r = pn_routes_desired(st->nodes, st->cfg.node_name, &u, st->report, &st->want, &st->n_want,
                              err);
        if (r < 0)
                return r;
        st->nh_mode = st->nh_kernel && !nexthops_disabled();
        pn_debug(st->ctx, "Route sync: %zu wanted, %zu installed, %zu next hops (%s) (%.2f ms)",
                 st->n_want, st->d.n_rt, st->d.n_nh,
                 st->nh_mode ? "routes via next hops" : "plain routes", ms_since(&t0));
        r = plan_nexthops(st, err);
        if (r < 0)
                return r;
        r = pn_route_diff(st->want, st->n_want, st->d.rt, st->d.n_rt, &st->ops, &st->n_ops);
        if (r < 0)
                return pn_error(err, -r, 0, "Comparing routes");
        st->why = calloc(st->n_ops + 1, sizeof(*st->why));
        st->err_del = calloc(st->n_ops + 1, sizeof(*st->err_del));
        st->err_set = calloc(st->n_ops + 1, sizeof(*st->err_set));
        if (!st->why || !st->err_del || !st->err_set)
                return pn_error(err, ENOMEM, 0, "Syncing routes");
        if (st->nh_mode) {
                for (size_t i = 0; i < st->n_ops; i++) {
                        const struct pn_nh *w = nh_of_route(st, st->ops[i].want);
                        if (w && (st->ops[i].kind == PN_OP_ADD || st->ops[i].kind == PN_OP_REPLACE))
                                st->why[i] = st->nh_why[w - st->nhw];
                }
        } else {
                r = resolve_routes(st, err);
                if (r < 0)
                        return r;
        }
        for (size_t j = 0; j < st->d.n_nh; j++)
                if (st->d.nh[j].kind == PN_OP_DELETE)
                        n_del++;
        st->implicit = n_del > 0 && n_del <= NH_IMPLICIT_MAX;
        pn_debug(st->ctx, "Route sync: diffed, %zu next hops resolved (%.2f ms)", st->n_lookups,
                 ms_since(&t0));
        if (!st->cfg.dry_run)
                r = write_all(st, err); /* on error the report still says what happened */
        st->report->writes = st->writes;
        pn_debug(st->ctx, "Route sync: %zu writes in chunks of %zu (%.2f ms)", st->writes,
                 st->sk.chunk, ms_since(&t0));
        {
                int r2 = build_report(st, r < 0 ? NULL : err);
                if (r >= 0)
                        r = r2;
        }
        return r;
}

PODNET_EXPORT int podnet_routes_sync(podnet_ctx *ctx, const podnet_nodes *nodes,
                                     const podnet_sync_config *config, podnet_sync_report **ret,
                                     podnet_error **err)
{
        podnet_sync_config cfg;
        podnet_error *invalid = NULL;
        podnet_sync_report *prev = NULL; /* the report of the pass before */
        size_t writes = 0;
        int r, r_invalid;

        if (!ctx || !nodes ||
            PODNET_OPTS_COPY(cfg, config,
                             offsetof(podnet_sync_config, dry_run) + sizeof(cfg.dry_run)) < 0)
                return pn_error_plain(err, EINVAL, 0, "Invalid route sync configuration");
        r = parse_proto_table(&cfg.protocol, &cfg.table, err);
        if (r < 0)
                return r;
        /* refused before anything is read; a dry run still reports (for `status`), then
         * fails the same way */
        r_invalid = check_node_list(nodes, &cfg, cfg.dry_run ? &invalid : err);
        if (r_invalid < 0 && !cfg.dry_run)
                return r_invalid;
        for (unsigned pass = 1;; pass++) {
                struct sync_state st = {.ctx = ctx, .nodes = nodes, .cfg = cfg, .sk = {.fd = -1}};
                podnet_error *e = NULL;

                r = sync_pass(&st, &e);
                writes += st.writes;
                if (prev && st.report && report_carry(st.report, prev) < 0 && r >= 0)
                        r = pn_error(&e, ENOMEM, 0, "Reporting");
                prev = podnet_sync_report_free(prev);
                if (r < 0 && !cfg.dry_run && pass < SYNC_PASSES && raced(&st, r)) {
                        pn_debug(ctx,
                                 "Route sync pass %u raced with another writer (%s): again "
                                 "from a fresh dump",
                                 pass, e ? podnet_error_message(e) : "?");
                        podnet_error_free(e);
                        prev = steal_pointer(&st.report);
                        sync_state_done(&st);
                        continue;
                }
                if (st.report)
                        st.report->writes = writes; /* every pass's */
                if (ret && st.report)
                        *ret = steal_pointer(&st.report);
                if (r_invalid < 0) {
                        podnet_error_free(e);
                        e = steal_pointer(&invalid);
                        r = r_invalid;
                }
                if (err && !*err)
                        *err = steal_pointer(&e);
                podnet_error_free(e);
                sync_state_done(&st);
                break;
        }
        podnet_error_free(invalid);
        return r < 0 ? r : 0;
}

PODNET_EXPORT int podnet_routes_flush(podnet_ctx *ctx, unsigned protocol, unsigned table,
                                      podnet_error **err)
{
        struct nlsk sk = {.fd = -1};
        struct dump d = {.protocol = protocol, .table = table};
        _cleanup_free_ struct nlreq *reqs = NULL;
        size_t n = 0, deleted = 0;
        bool nh_kernel;
        int r;

        if (!ctx)
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        r = parse_proto_table(&d.protocol, &d.table, err);
        if (r < 0)
                return r;
        r = open_and_dump(&sk, &d, &nh_kernel, err);
        if (r >= 0)
                r = pn_nexthop_plan(NULL, 0, d.nh, d.n_nh, NULL, 0, d.rt, d.n_rt, 0);
        if (r >= 0 && !(reqs = calloc(d.n_rt + d.n_nh + 1, sizeof(*reqs))))
                r = pn_error(err, ENOMEM, 0, "Flushing routes");
        if (r < 0)
                goto out;
        /* the routes first, then the nexthops nothing uses any more */
        for (size_t i = 0; i < d.n_rt; i++)
                reqs[n++] =
                    (struct nlreq){.type = RTM_DELROUTE, .flags = NLM_F_ACK, .rt = &d.rt[i]};
        for (size_t j = 0; j < d.n_nh; j++)
                if (d.nh[j].kind == PN_OP_DELETE)
                        reqs[n++] = (struct nlreq){
                            .type = RTM_DELNEXTHOP, .flags = NLM_F_ACK, .nh = &d.nh[j]};
        r = nl_batch(&sk, reqs, n, d.protocol, d.table);
        if (r < 0) {
                r = pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Deleting routes of protocol %u",
                             d.protocol);
                goto out;
        }
        for (size_t q = 0; q < n; q++) {
                char what[PODNET_CIDR_STRLEN + 32];
                if (reqs[q].answered && reqs[q].error == 0) {
                        deleted += reqs[q].rt != NULL;
                        continue;
                }
                if (reqs[q].answered && gone(reqs[q].error))
                        continue;
                if (reqs[q].rt) {
                        fmt_rt(reqs[q].rt, what, sizeof(what));
                        r = pn_error(err, reqs[q].answered ? -reqs[q].error : EIO,
                                     PODNET_CNI_ERR_NETLINK, "Deleting route %s", what);
                } else {
                        r = pn_error(err, reqs[q].answered ? -reqs[q].error : EIO,
                                     PODNET_CNI_ERR_NETLINK, "Deleting next hop %u",
                                     reqs[q].nh->id);
                }
                goto out;
        }
        r = (int)deleted;
out:
        nlsk_close(&sk);
        dump_done(&d);
        return r;
}

/* --- route monitor ------------------------------------------------------------------- */

struct podnet_route_monitor {
        podnet_ctx *ctx;
        int fd;
        unsigned protocol;
        char *buf;
};

PODNET_EXPORT podnet_route_monitor *podnet_route_monitor_free(podnet_route_monitor *m)
{
        if (!m)
                return NULL;
        if (m->fd >= 0)
                close(m->fd);
        free(m->buf);
        podnet_ctx_unref(m->ctx);
        free(m);
        return NULL;
}

PODNET_EXPORT int podnet_route_monitor_new(podnet_ctx *ctx, podnet_route_monitor **ret,
                                           unsigned protocol, podnet_error **err)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                                 .nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE};
        podnet_route_monitor *m;
        int size = NL_RCVBUF, group = RTNLGRP_NEXTHOP, r;

        if (!ctx || !ret)
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        r = check_protocol(&protocol, err);
        if (r < 0)
                return r;
        m = calloc(1, sizeof(*m));
        if (!m)
                return pn_error(err, ENOMEM, 0, "Creating a route monitor");
        m->protocol = protocol;
        m->buf = malloc(NL_DUMP_BUF);
        m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (!m->buf || m->fd < 0 || bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = m->buf ? errno : ENOMEM;
                podnet_route_monitor_free(m);
                return pn_error(err, e, PODNET_CNI_ERR_NETLINK,
                                "Subscribing to route change notifications");
        }
        if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        /* deleting a nexthop object silently takes its routes with it: watch nexthops too
         * (a kernel without them refuses the group; then there is nothing to watch) */
        (void)setsockopt(m->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group));
        m->ctx = podnet_ctx_ref(ctx);
        *ret = m;
        return 0;
}

PODNET_EXPORT int podnet_route_monitor_fd(const podnet_route_monitor *m)
{
        return m ? m->fd : -EINVAL;
}

PODNET_EXPORT int podnet_route_monitor_process(podnet_route_monitor *m, podnet_error **err)
{
        int events = 0;

        if (!m)
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        for (;;) {
                ssize_t k = recv(m->fd, m->buf, NL_DUMP_BUF, MSG_DONTWAIT);
                int len;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                if (k < 0 && errno == ENOBUFS) {
                        /* notifications were lost: the caller must resync */
                        events++;
                        continue;
                }
                if (k < 0)
                        return pn_error(err, errno, PODNET_CNI_ERR_NETLINK,
                                        "Reading route change notifications");
                len = (int)k;
                for (struct nlmsghdr *nlh = (struct nlmsghdr *)m->buf; NLMSG_OK(nlh, len);
                     nlh = NLMSG_NEXT(nlh, len)) {
                        if (nlh->nlmsg_type == RTM_NEWROUTE || nlh->nlmsg_type == RTM_DELROUTE) {
                                const struct rtmsg *rtm = NLMSG_DATA(nlh);
                                if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*rtm)) &&
                                    rtm->rtm_protocol == m->protocol)
                                        events++;
                        } else if (nlh->nlmsg_type == RTM_NEWNEXTHOP ||
                                   nlh->nlmsg_type == RTM_DELNEXTHOP) {
                                const struct nhmsg *nhm = NLMSG_DATA(nlh);
                                if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*nhm)) &&
                                    nhm->nh_protocol == m->protocol)
                                        events++;
                        }
                }
        }
        return events;
}

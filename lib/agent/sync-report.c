/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The route sync's report: one entry per route or node (what the sync did or refused, and
 * why), its public getters, and how a pass's report carries what earlier passes wrote.
 */
#include <stdarg.h>

#include "agent/routes.h"
#include "core/cidr.h"

struct report_entry {
        podnet_sync_action action;
        bool has_dst, has_via;
        const char *node; /* in the report's name pool */
        podnet_cidr dst, via; /* inline: a report of 5000 routes is 10000 mallocs fewer */
        char *reason;
};

/* A peer's path through an overlay mode's sync; path and reason are static strings. */
struct report_path {
        const char *node; /* in the report's name pool */
        const char *path, *reason;
};

struct podnet_sync_report {
        struct report_entry *e;
        size_t n, cap;
        size_t writes;
        struct report_path *p; /* sorted by node once pn_sync_report_sort_paths() ran */
        size_t n_p, cap_p;
        unsigned overlay_mtu;
        /* the node names of entries and paths, copied into blocks that never move: a
         * report of 5,000 routes and paths is 10,000 strdup() and free() calls fewer */
        char **blocks;
        size_t n_blocks, cap_blocks;
        char *pool;       /* free space of the last block */
        size_t pool_left; /* its bytes */
};

#define POOL_BLOCK (32 * 1024)

/* A copy of s in r's name pool, or NULL when out of memory. */
static const char *pool_strdup(podnet_sync_report *r, const char *s)
{
        size_t len = strlen(s) + 1;
        char *p;

        if (len > r->pool_left) {
                size_t size = len > POOL_BLOCK ? len : POOL_BLOCK;
                char *b;

                if (pn_grow((void **)&r->blocks, &r->cap_blocks, r->n_blocks + 1,
                            sizeof(*r->blocks)) < 0 ||
                    !(b = malloc(size)))
                        return NULL;
                r->blocks[r->n_blocks++] = b;
                r->pool = b;
                r->pool_left = size;
        }
        p = memcpy(r->pool, s, len);
        r->pool += len;
        r->pool_left -= len;
        return p;
}

PODNET_EXPORT podnet_sync_report *podnet_sync_report_free(podnet_sync_report *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n; i++)
                free(r->e[i].reason);
        free(r->e);
        free(r->p);
        for (size_t i = 0; i < r->n_blocks; i++)
                free(r->blocks[i]);
        free(r->blocks);
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
        if (node && !(e->node = pool_strdup(r, node)))
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

int pn_sync_report_add_path(podnet_sync_report *r, const char *node, const char *path,
                            const char *reason)
{
        const char *name = pool_strdup(r, node ? node : "");

        if (!name || pn_grow((void **)&r->p, &r->cap_p, r->n_p + 1, sizeof(*r->p)) < 0)
                return -ENOMEM;
        r->p[r->n_p++] = (struct report_path){.node = name, .path = path, .reason = reason};
        return 0;
}

static int path_compare(const void *a, const void *b)
{
        return strcmp(((const struct report_path *)a)->node, ((const struct report_path *)b)->node);
}

/* strcmp()'s order as far as the first 8 bytes of the name go */
static uint64_t path_key(const void *a)
{
        const char *node = ((const struct report_path *)a)->node;

        return pn_key_be((const uint8_t *)node, strnlen(node, 8));
}

void pn_sync_report_sort_paths(podnet_sync_report *r)
{
        pn_keysort(r->p, r->n_p, sizeof(*r->p), path_key, path_compare);
}

size_t pn_sync_report_n_paths(const podnet_sync_report *r)
{
        return r ? r->n_p : 0;
}

void pn_sync_report_path(const podnet_sync_report *r, size_t i, const char **node,
                         const char **path, const char **reason)
{
        *node = r->p[i].node;
        *path = r->p[i].path;
        *reason = r->p[i].reason;
}

bool pn_sync_report_path_of(const podnet_sync_report *r, const char *node, const char **path,
                            const char **reason)
{
        struct report_path key = {.node = node}, *p;

        if (!r || !node || r->n_p == 0)
                return false;
        p = bsearch(&key, r->p, r->n_p, sizeof(*r->p), path_compare);
        if (!p)
                return false;
        *path = p->path;
        *reason = p->reason;
        return true;
}

void pn_sync_report_set_overlay_mtu(podnet_sync_report *r, unsigned mtu)
{
        r->overlay_mtu = mtu;
}

unsigned pn_sync_report_overlay_mtu(const podnet_sync_report *r)
{
        return r ? r->overlay_mtu : 0;
}

void pn_sync_report_set_writes(podnet_sync_report *r, size_t writes)
{
        r->writes = writes;
}

static int entry_dst_compare(const void *a, const void *b, void *arg)
{
        const struct report_entry *e = arg;

        return podnet_cidr_compare(&e[*(const size_t *)a].dst, &e[*(const size_t *)b].dst);
}

int pn_sync_report_carry(podnet_sync_report *next, const podnet_sync_report *prev)
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sorting the arrays a sync builds by the thousand (dumped routes, neighbour and FDB
 * entries, wanted routes): a radix sort on a 64-bit key that orders like the element's
 * comparison function as far as it goes, the comparison only among elements whose keys
 * tie. qsort() paid ~1,000 instructions per element of a 5,000-entry dump (an indirect
 * call and a memcpy of the element per step); this pays ~100.
 */
#include "net/net.h"

struct keyed {
        uint64_t key;
        size_t idx;
};

struct tie_ctx {
        const char *base;
        size_t size;
        int (*cmp)(const void *, const void *);
};

static int tie_compare(const void *a, const void *b, void *userdata)
{
        const struct tie_ctx *t = userdata;
        const struct keyed *x = a, *y = b;

        return t->cmp(t->base + x->idx * t->size, t->base + y->idx * t->size);
}

/* LSD radix sort of v by key, 8 bits a pass; a pass whose byte is the same in every
 * key is skipped (the high bytes of most keys are). Stable. tmp has room for n. */
static void radix(struct keyed *v, struct keyed *tmp, size_t n)
{
        struct keyed *src = v, *dst = tmp;

        for (unsigned shift = 0; shift < 64; shift += 8) {
                size_t count[256] = {0}, pos = 0;

                for (size_t i = 0; i < n; i++)
                        count[(src[i].key >> shift) & 0xff]++;
                if (count[(src[0].key >> shift) & 0xff] == n)
                        continue;
                for (size_t b = 0; b < 256; b++) {
                        size_t c = count[b];
                        count[b] = pos;
                        pos += c;
                }
                for (size_t i = 0; i < n; i++)
                        dst[count[(src[i].key >> shift) & 0xff]++] = src[i];
                struct keyed *s = src;
                src = dst;
                dst = s;
        }
        if (src != v)
                memcpy(v, src, n * sizeof(*v));
}

/* Moves the elements into the order v says (v[i].idx: the element that goes to i), in
 * place, cycle by cycle: a sort needs no second copy of the array (fresh pages cost more
 * than the copying does). tmp holds one element. */
static void permute(char *p, size_t size, struct keyed *v, size_t n, void *tmp)
{
        for (size_t i = 0; i < n; i++) {
                size_t j = i;

                if (v[i].idx == i)
                        continue;
                memcpy(tmp, p + i * size, size);
                while (v[j].idx != i) {
                        size_t k = v[j].idx;

                        memcpy(p + j * size, p + k * size, size);
                        v[j].idx = j;
                        j = k;
                }
                memcpy(p + j * size, tmp, size);
                v[j].idx = j;
        }
}

void pn_keysort(void *base, size_t n, size_t size, uint64_t (*key)(const void *),
                int (*cmp)(const void *, const void *))
{
        struct tie_ctx t = {.base = base, .size = size, .cmp = cmp};
        struct keyed *v = NULL;
        _cleanup_free_ void *heap_tmp = NULL;
        unsigned char stack_tmp[256];
        void *tmp = stack_tmp;
        char *p = base;
        size_t i;

        for (i = 1; i < n; i++)
                if (cmp(p + (i - 1) * size, p + i * size) > 0)
                        break;
        if (i >= n)
                return; /* sorted already: what a dump in the kernel's order often is */
        v = pn_nl_scratch_take(PN_NL_SCRATCH_SORT, 2 * n * sizeof(*v));
        if (size > sizeof(stack_tmp))
                tmp = heap_tmp = malloc(size);
        if (!v || !tmp) {
                free(v);
                qsort(base, n, size, cmp); /* slower, but needs no memory */
                return;
        }
        for (i = 0; i < n; i++)
                v[i] = (struct keyed){.key = key(p + i * size), .idx = i};
        radix(v, v + n, n);
        for (i = 0; i < n;) {
                size_t end = i + 1;

                while (end < n && v[end].key == v[i].key)
                        end++;
                if (end - i > 1)
                        qsort_r(v + i, end - i, sizeof(*v), tie_compare, &t);
                i = end;
        }
        permute(p, size, v, n, tmp);
        pn_nl_scratch_give(PN_NL_SCRATCH_SORT, v, 2 * n * sizeof(*v)); /* for the next sort */
}

uint64_t pn_key_be(const uint8_t *b, size_t len)
{
        uint64_t k = 0;

        for (size_t i = 0; i < 8; i++)
                k = k << 8 | (i < len ? b[i] : 0);
        return k;
}

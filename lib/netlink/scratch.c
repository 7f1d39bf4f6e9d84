/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Buffers kept per thread from one request, or one sync, to the next: a route sync makes
 * a few dumps and batches, and a buffer allocated afresh each time costs glibc an mmap()
 * or heap growth and the kernel a page fault per 4 KiB inside recvmsg(); the arrays its
 * dumps parse into likewise. A buffer is taken for the time of one request or sync (a
 * request made inside another's callback gets its own) and freed when the thread ends.
 */
#include <pthread.h>

#include "netlink/transport.h"

struct scratch {
        void *buf[PN_NL_SCRATCH_KINDS];
        size_t size[PN_NL_SCRATCH_KINDS];
};

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool key_ok;

static void scratch_free(void *p)
{
        struct scratch *s = p;

        for (size_t i = 0; i < PN_NL_SCRATCH_KINDS; i++)
                free(s->buf[i]);
        free(s);
}

static void key_init(void)
{
        key_ok = pthread_key_create(&key, scratch_free) == 0;
}

static struct scratch *thread_scratch(void)
{
        struct scratch *s;

        (void)pthread_once(&once, key_init);
        if (!key_ok)
                return NULL;
        s = pthread_getspecific(key);
        if (!s && (s = calloc(1, sizeof(*s))) && pthread_setspecific(key, s) != 0) {
                free(s);
                s = NULL;
        }
        return s;
}

void *pn_nl_scratch_take(enum pn_nl_scratch_kind kind, size_t size)
{
        struct scratch *s = thread_scratch();
        void *p;

        if (s && s->buf[kind] && s->size[kind] >= size) {
                p = s->buf[kind];
                s->buf[kind] = NULL; /* in use */
                return p;
        }
        return malloc(size);
}

void *pn_nl_scratch_take_kept(enum pn_nl_scratch_kind kind, size_t *size)
{
        struct scratch *s = thread_scratch();
        void *p = s ? s->buf[kind] : NULL;

        *size = p ? s->size[kind] : 0;
        if (p)
                s->buf[kind] = NULL; /* in use */
        return p;
}

void pn_nl_scratch_give(enum pn_nl_scratch_kind kind, void *p, size_t size)
{
        struct scratch *s = p ? thread_scratch() : NULL;

        if (s && s->buf[kind] && s->size[kind] < size) {
                free(s->buf[kind]);
                s->buf[kind] = NULL;
        }
        if (s && !s->buf[kind]) {
                s->buf[kind] = p;
                s->size[kind] = size;
                return;
        }
        free(p);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For tests: a growing NUL-terminated string, built by appending (aborts when memory runs
 * out: a test has nothing better to do). The caller frees s. */
#ifndef PODNET_TESTS_STRBUF_H
#define PODNET_TESTS_STRBUF_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
        char *s;
        size_t len, cap;
};

__attribute__((unused)) static void sb_add(struct sbuf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->s = realloc(b->s, b->cap);
                if (!b->s)
                        abort();
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = 0;
}

__attribute__((unused)) static void sb_puts(struct sbuf *b, const char *s)
{
        sb_add(b, s, strlen(s));
}

__attribute__((unused, format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt,
                                                                    ...)
{
        char tmp[512];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (n > 0)
                sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

#endif

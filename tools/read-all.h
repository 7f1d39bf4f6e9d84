/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the tools: reading a whole input (a CNI configuration, a node list, a
 * command's output) into one NUL-terminated buffer, with a size limit.
 */
#ifndef PODNET_TOOLS_READ_ALL_H
#define PODNET_TOOLS_READ_ALL_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* Reads fd to its end. Returns a buffer the caller frees, NUL-terminated, its length
 * without the NUL in *len; NULL with errno set on failure (EFBIG beyond max bytes: an
 * input of max bytes is read, one of max + 1 is refused, and no more than max + 2 bytes
 * are ever allocated). */
static inline char *pn_read_all(int fd, size_t max, size_t *len)
{
        size_t cap = 4096, n = 0;
        char *buf = malloc(cap);

        if (!buf)
                return NULL;
        for (;;) {
                ssize_t k;

                if (n + 1 >= cap) {
                        size_t ncap = cap > (max + 2) / 2 ? max + 2 : cap * 2;
                        char *nb = realloc(buf, ncap);

                        if (!nb) {
                                free(buf);
                                return NULL;
                        }
                        buf = nb;
                        cap = ncap;
                }
                k = read(fd, buf + n, cap - n - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int e = errno;
                        free(buf);
                        errno = e;
                        return NULL;
                }
                if (k == 0)
                        break;
                n += (size_t)k;
                if (n > max) {
                        free(buf);
                        errno = EFBIG;
                        return NULL;
                }
        }
        buf[n] = '\0';
        *len = n;
        return buf;
}

#endif

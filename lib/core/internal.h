/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to libpodnet: the export mark, cleanup helpers, the context's layout, logging
 * and error-setting helpers shared by every module. Never installed.
 */
#ifndef PODNET_INTERNAL_H
#define PODNET_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "podnet/podnet.h"

#define PODNET_EXPORT __attribute__((visibility("default")))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

static inline void freep(void *p)
{
        free(*(void **)p);
}
static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Typed cleanups for the library's own objects. */
#define DEFINE_CLEANUP(type, fn)                                                                   \
        static inline void fn##p(type **p)                                                         \
        {                                                                                          \
                if (*p)                                                                            \
                        (void)fn(*p);                                                              \
        }
DEFINE_CLEANUP(podnet_cidr, podnet_cidr_free)
DEFINE_CLEANUP(podnet_error, podnet_error_free)
DEFINE_CLEANUP(podnet_netns, podnet_netns_unref)
DEFINE_CLEANUP(podnet_ipam, podnet_ipam_unref)
DEFINE_CLEANUP(podnet_cni_result, podnet_cni_result_free)
DEFINE_CLEANUP(podnet_cni_conf, podnet_cni_conf_free)
DEFINE_CLEANUP(podnet_cni_args, podnet_cni_args_free)
DEFINE_CLEANUP(podnet_nodes, podnet_nodes_free)
DEFINE_CLEANUP(podnet_sync_report, podnet_sync_report_free)
#define _cleanup_cidr_ _cleanup_(podnet_cidr_freep)
#define _cleanup_error_ _cleanup_(podnet_error_freep)
#define _cleanup_netns_ _cleanup_(podnet_netns_unrefp)
#define _cleanup_ipam_ _cleanup_(podnet_ipam_unrefp)
#define _cleanup_result_ _cleanup_(podnet_cni_result_freep)
#define _cleanup_conf_ _cleanup_(podnet_cni_conf_freep)
#define _cleanup_args_ _cleanup_(podnet_cni_args_freep)
#define _cleanup_nodes_ _cleanup_(podnet_nodes_freep)
#define _cleanup_report_ _cleanup_(podnet_sync_report_freep)

static inline void *steal_ptr(void *pp)
{
        void **p = pp;
        void *v = *p;
        *p = NULL;
        return v;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))steal_ptr(pp))

/* Makes room for `need` elements of `size` bytes in *v, which holds *cap: the capacity
 * doubles from 16, so n appends cost O(n). 0 or -ENOMEM (*v unchanged). */
static inline int pn_grow(void **v, size_t *cap, size_t need, size_t size)
{
        size_t n = *cap ? *cap : 16;
        void *w;

        if (need <= *cap)
                return 0;
        while (n < need) {
                if (n > SIZE_MAX / 2)
                        return -ENOMEM;
                n *= 2;
        }
        if (size && n > SIZE_MAX / size)
                return -ENOMEM;
        w = realloc(*v, n * size);
        if (!w)
                return -ENOMEM;
        *v = w;
        *cap = n;
        return 0;
}

static inline int steal_fd(int *fd)
{
        int v = *fd;
        *fd = -1;
        return v;
}

/* Writes all of buf to fd, retrying after EINTR and short writes. 0 or -errno. */
static inline int pn_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                len -= (size_t)k;
        }
        return 0;
}

/* Reads fd up to its end or size - 1 bytes into buf, NUL-terminated, retrying after
 * EINTR and short reads. The length read, or -errno. */
static inline ssize_t pn_read_full(int fd, char *buf, size_t size)
{
        size_t n = 0;

        while (n < size - 1) {
                ssize_t k = read(fd, buf + n, size - 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        buf[n] = '\0';
        return (ssize_t)n;
}

/* 0 if fd is a regular file; -EISDIR for a directory, -EINVAL for anything else (a
 * FIFO, a device, a socket), -errno if fstat(2) fails. Open with O_NONBLOCK what is
 * checked so: a FIFO is then refused here instead of blocking the open. */
static inline int pn_check_regular(int fd)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode))
                return 0;
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define streq(a, b) (strcmp((a), (b)) == 0)
#define isempty(s) (!(s) || !*(s))

/* Reads an options struct of which the caller may know an older (shorter) layout:
 * copies min(size, sizeof) bytes into a zeroed local. -EINVAL if size is smaller than
 * the first release's layout (min_size). */
#define PODNET_OPTS_COPY(dst, src, min_size)                                                       \
        ({                                                                                         \
                int _r = 0;                                                                        \
                memset(&(dst), 0, sizeof(dst));                                                    \
                if (!(src) || (src)->size < (min_size))                                            \
                        _r = -EINVAL;                                                              \
                else                                                                               \
                        memcpy(&(dst), (src),                                                      \
                               (src)->size < sizeof(dst) ? (src)->size : sizeof(dst));             \
                _r;                                                                                \
        })

struct nl_sock;

struct podnet_ctx {
        int n_ref;
        podnet_log_fn log_fn;
        void *log_userdata;
        int log_priority;
        /* NETLINK_ROUTE socket in the namespace the context was created in; opened on
         * first use by pn_ctx_nl(). */
        struct nl_sock *nl;
        /* Firewall settings, set through lib/firewall/backend.c: the backend (an index
         * into its table, 0 the default) and the xtables lock file (NULL: the default). */
        unsigned fw_backend;
        char *xtables_lock;
};

/* The context's route socket, opened lazily; NULL with errno set on failure. */
struct nl_sock *pn_ctx_nl(podnet_ctx *ctx);

void pn_log(podnet_ctx *ctx, int priority, const char *fmt, ...) _printf_(3, 4);
#define pn_debug(ctx, ...) pn_log(ctx, LOG_DEBUG, __VA_ARGS__)
#define pn_info(ctx, ...) pn_log(ctx, LOG_INFO, __VA_ARGS__)
#define pn_warn(ctx, ...) pn_log(ctx, LOG_WARNING, __VA_ARGS__)
#define pn_err(ctx, ...) pn_log(ctx, LOG_ERR, __VA_ARGS__)

struct podnet_error {
        int errnum;   /* positive errno */
        int cni_code; /* 0: derive from errnum */
        char *msg;
        char *details;
};

/* Sets *err (if err is non-NULL and *err is NULL) to a new error and returns -errnum,
 * so that `return pn_error(err, ENOENT, 0, "Opening %s", p);` reads naturally. The
 * message gets ": <strerror(errnum)>" appended. cni_code 0 maps errnum by
 * pn_errno_to_cni(). A later call never overwrites an earlier error. */
int pn_error(podnet_error **err, int errnum, int cni_code, const char *fmt, ...) _printf_(4, 5);
/* The same without the strerror suffix (for messages that already say it all). */
int pn_error_plain(podnet_error **err, int errnum, int cni_code, const char *fmt, ...)
    _printf_(4, 5);
/* Wraps an existing error with context: "<prefix>: <old message>". Returns -errnum. */
int pn_error_wrap(podnet_error **err, const char *fmt, ...) _printf_(2, 3);
/* Sets the details field of *err (no-op if err or *err is NULL). */
void pn_error_set_details(podnet_error **err, const char *details);
/* Gives *err the CNI code `cni_code` if it has none yet (a code chosen closer to the
 * failure wins) and returns r. Only lib/cni/ calls it: the layers below leave the code
 * 0 and describe a failure by its errno and message. */
int pn_error_set_code(podnet_error **err, int r, int cni_code);
int pn_errno_to_cni(int errnum);

/* libnl's NLE_* codes -> positive errno. The one place this mapping lives (error.c). */
int pn_nl_errno(int nle);
/* The same for a libnl socket set-up call (nl_connect(), nl_socket_set_fd()) that failed
 * with errno_after in errno, which the caller cleared before the call: a system call's
 * own error is more precise than its NLE_* code (libnl folds ENOBUFS into NLE_NOMEM). */
int pn_nl_sys_errno(int nle, int errno_after);

#endif

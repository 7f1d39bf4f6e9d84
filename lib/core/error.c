/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Error objects: message, details, errno and CNI code (chosen by lib/cni/ alone, see
 * pn_error_set_code()); the errno -> CNI code default mapping; and libnl's NLE_* ->
 * errno mapping, kept here and nowhere else.
 */
#include <netlink/errno.h>

#include "core/internal.h"

static int error_vset(podnet_error **err, int errnum, int cni_code, bool suffix, const char *fmt,
                      va_list ap)
{
        podnet_error *e;
        char *msg = NULL;

        if (errnum < 0)
                errnum = -errnum;
        if (errnum == 0)
                errnum = EINVAL;
        if (!err || *err)
                return -errnum;
        if (vasprintf(&msg, fmt, ap) < 0)
                return -errnum;
        if (suffix) {
                char *m2 = NULL;
                if (asprintf(&m2, "%s: %s", msg, strerror(errnum)) < 0) {
                        free(msg);
                        return -errnum;
                }
                free(msg);
                msg = m2;
        }
        e = calloc(1, sizeof(*e));
        if (!e) {
                free(msg);
                return -errnum;
        }
        e->errnum = errnum;
        e->cni_code = cni_code;
        e->msg = msg;
        *err = e;
        return -errnum;
}

int pn_error(podnet_error **err, int errnum, int cni_code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = error_vset(err, errnum, cni_code, true, fmt, ap);
        va_end(ap);
        return r;
}

int pn_error_plain(podnet_error **err, int errnum, int cni_code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = error_vset(err, errnum, cni_code, false, fmt, ap);
        va_end(ap);
        return r;
}

int pn_error_wrap(podnet_error **err, const char *fmt, ...)
{
        _cleanup_free_ char *prefix = NULL;
        char *msg = NULL;
        va_list ap;
        int r;

        if (!err || !*err)
                return -EINVAL;
        va_start(ap, fmt);
        r = vasprintf(&prefix, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -(*err)->errnum;
        if (asprintf(&msg, "%s: %s", prefix, (*err)->msg) < 0)
                return -(*err)->errnum;
        free((*err)->msg);
        (*err)->msg = msg;
        return -(*err)->errnum;
}

void pn_error_set_details(podnet_error **err, const char *details)
{
        if (!err || !*err || !details)
                return;
        free((*err)->details);
        (*err)->details = strdup(details);
}

int pn_error_set_code(podnet_error **err, int r, int cni_code)
{
        if (err && *err && (*err)->cni_code == 0)
                (*err)->cni_code = cni_code;
        return r;
}

/* Errors that say "not now" rather than "no": a resource momentarily short (ENOBUFS:
 * a netlink or socket buffer; ENFILE: the system's file table), something busy or
 * locked (EAGAIN, EBUSY), a wait interrupted or timed out (EINTR, ETIMEDOUT). The same
 * request may well succeed a moment later, which is what code 11 tells the runtime.
 * ENOMEM stays 999 (internal): it is what this library's own allocations fail with. */
static bool errno_transient(int errnum)
{
        switch (errnum < 0 ? -errnum : errnum) {
        case EAGAIN:
        case EBUSY:
        case EINTR:
        case ETIMEDOUT:
        case ENOBUFS:
        case ENFILE:
                return true;
        default:
                return false;
        }
}

/* Codes that only say which step failed (I/O, kernel, firewall, internal), not what
 * was wrong with the input: a transient errno says more, so it wins over them (an
 * error without a code gets its code from the errno anyway). */
static bool code_generic(int cni_code)
{
        return cni_code == PODNET_CNI_ERR_IO || cni_code == PODNET_CNI_ERR_NETLINK ||
               cni_code == PODNET_CNI_ERR_FIREWALL || cni_code == PODNET_CNI_ERR_INTERNAL;
}

int pn_errno_to_cni(int errnum)
{
        if (errno_transient(errnum))
                return PODNET_CNI_ERR_TRY_AGAIN;
        switch (errnum < 0 ? -errnum : errnum) {
        case EIO:
        case ENOSPC:
        case EROFS:
        case EDQUOT:
                return PODNET_CNI_ERR_IO;
        case EINVAL:
                return PODNET_CNI_ERR_INVALID_CONFIG;
        case ENOMEM:
                return PODNET_CNI_ERR_INTERNAL;
        default:
                return PODNET_CNI_ERR_NETLINK;
        }
}

PODNET_EXPORT int podnet_error_new(podnet_error **err, int errnum, int cni_code, const char *fmt,
                                   ...)
{
        va_list ap;
        int r;

        if (!err)
                return -EINVAL;
        *err = NULL;
        va_start(ap, fmt);
        r = error_vset(err, errnum, cni_code, false, fmt, ap);
        va_end(ap);
        return *err ? 0 : (r < 0 ? -ENOMEM : r);
}

PODNET_EXPORT const char *podnet_error_message(const podnet_error *err)
{
        return err ? err->msg : NULL;
}

PODNET_EXPORT const char *podnet_error_details(const podnet_error *err)
{
        return err ? err->details : NULL;
}

PODNET_EXPORT int podnet_error_errno(const podnet_error *err)
{
        return err ? err->errnum : 0;
}

PODNET_EXPORT int podnet_error_cni_code(const podnet_error *err)
{
        if (!err)
                return 0;
        if (errno_transient(err->errnum) && code_generic(err->cni_code))
                return PODNET_CNI_ERR_TRY_AGAIN;
        return err->cni_code ? err->cni_code : pn_errno_to_cni(err->errnum);
}

PODNET_EXPORT podnet_error *podnet_error_free(podnet_error *err)
{
        if (err) {
                free(err->msg);
                free(err->details);
                free(err);
        }
        return NULL;
}

int pn_nl_sys_errno(int nle, int errno_after)
{
        return errno_after > 0 ? errno_after : pn_nl_errno(nle);
}

int pn_nl_errno(int nle)
{
        switch (nle < 0 ? -nle : nle) {
        case NLE_SUCCESS:
                return 0;
        case NLE_INTR:
                return EINTR;
        case NLE_BAD_SOCK:
                return EBADF;
        case NLE_AGAIN:
                return EAGAIN;
        case NLE_NOMEM:
                return ENOMEM;
        case NLE_EXIST:
                return EEXIST;
        case NLE_INVAL:
                return EINVAL;
        case NLE_RANGE:
                return ERANGE;
        case NLE_MSGSIZE:
                return EMSGSIZE;
        case NLE_OPNOTSUPP:
                return EOPNOTSUPP;
        case NLE_AF_NOSUPPORT:
                return EAFNOSUPPORT;
        case NLE_OBJ_NOTFOUND:
                return ENOENT;
        case NLE_NOATTR:
                return ENODATA;
        case NLE_MISSING_ATTR:
                return EINVAL;
        case NLE_AF_MISMATCH:
                return EAFNOSUPPORT;
        case NLE_SEQ_MISMATCH:
                return EILSEQ;
        case NLE_MSG_OVERFLOW:
                return EOVERFLOW;
        case NLE_MSG_TRUNC:
                return EMSGSIZE;
        case NLE_NOADDR:
                return EADDRNOTAVAIL;
        case NLE_SRCRT_NOSUPPORT:
                return EOPNOTSUPP;
        case NLE_MSG_TOOSHORT:
                return EBADMSG;
        case NLE_MSGTYPE_NOSUPPORT:
                return EOPNOTSUPP;
        case NLE_OBJ_MISMATCH:
                return EINVAL;
        case NLE_NOCACHE:
                return ENOENT;
        case NLE_BUSY:
                return EBUSY;
        case NLE_PROTO_MISMATCH:
                return EPROTONOSUPPORT;
        case NLE_NOACCESS:
                return EACCES;
        case NLE_PERM:
                return EPERM;
        case NLE_PKTLOC_FILE:
                return ENOENT;
        case NLE_PARSE_ERR:
                return EBADMSG;
        case NLE_NODEV:
                return ENODEV;
        case NLE_IMMUTABLE:
                return EPERM;
        case NLE_DUMP_INTR:
                return EINTR;
        case NLE_ATTRSIZE:
                return EMSGSIZE;
        default:
                return EIO;
        }
}

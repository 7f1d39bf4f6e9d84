/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replacing a whole file atomically: temporary file in the same directory, fsync, rename,
 * fsync of the directory (see file.h).
 */
#include <fcntl.h>
#include <libgen.h>

#include "core/file.h"
#include "core/internal.h"

int pn_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        _cleanup_free_ char *tmp = NULL, *dircopy = NULL;
        _cleanup_close_ int fd = -1, dfd = -1;
        int r;

        if (isempty(path))
                return -EINVAL;
        dircopy = strdup(path);
        if (!dircopy || asprintf(&tmp, "%s.podnet-XXXXXX", path) < 0) {
                tmp = NULL;
                return -ENOMEM;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r >= 0)
                r = pn_write_all(fd, data, len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        /* make the rename durable */
        dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void)fsync(dfd);
        return 0;
}

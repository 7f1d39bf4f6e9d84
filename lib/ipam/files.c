/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store's file primitives: bounded reads of small files, writes through a temporary
 * file renamed into place (so a reader never sees half a file), directory creation.
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

/* Go's strings.TrimSpace for ASCII: returns the start, sets *len. */
const char *pn_ipam_trim(const char *s, size_t *len)
{
        size_t n = *len;

        while (n > 0 && isspace((unsigned char)*s))
                s++, n--;
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                n--;
        *len = n;
        return s;
}

/* Every open of the store goes through here, so that tests can check how many files
 * an operation touches (pn_ipam_files_opened). */
int pn_ipam_openat(podnet_ipam *ipam, int dir_fd, const char *name, int flags, mode_t mode)
{
        ipam->n_opened++;
        return openat(dir_fd, name, flags, mode);
}

/* Reads at most size-1 bytes of dir_fd/name into buf, NUL-terminated. Returns the
 * length, or -errno: -ELOOP for a symlink, -EISDIR for a directory, -EINVAL for
 * anything else that is not a regular file. O_NONBLOCK: opening a FIFO planted in the
 * store must not wait for a writer. */
ssize_t pn_ipam_read_small(podnet_ipam *ipam, int dir_fd, const char *name, char *buf, size_t size)
{
        _cleanup_close_ int fd = -1;
        int r;

        fd = pn_ipam_openat(ipam, dir_fd, name,
                            O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        r = pn_check_regular(fd);
        if (r < 0)
                return r;
        return pn_read_full(fd, buf, size);
}

/* pn_ipam_read_small() of a file of the store, trimmed: the content's start (its length in
 * *len, NUL-terminated there), or NULL if unreadable. */
const char *pn_ipam_read_trimmed(podnet_ipam *ipam, const char *name, char *buf, size_t size,
                                 size_t *len)
{
        ssize_t n = pn_ipam_read_small(ipam, ipam->dir_fd, name, buf, size);
        char *s;

        if (n < 0)
                return NULL;
        *len = (size_t)n;
        s = (char *)pn_ipam_trim(buf, len);
        s[*len] = '\0';
        return s;
}

/* Every file of the store is written as this temporary and then renamed into place,
 * so that a process killed at any point leaves either the old file, the new one, or
 * this temporary, never a partial file (a 0-byte lease would be held forever). One
 * name suffices: writes happen under the store's lock, each temporary is renamed
 * away before the next is made, and what a crash leaves is removed by the next DEL
 * or GC. It lives in the sidecar directory, whose files count_leases() and host-local's
 * GC never look at. No fsync (it would cost every ADD a disk flush): a killed process
 * loses nothing that reached write(2); after a power loss the node reboots, podnet's
 * leases are reclaimed by their sidecars' boot id and empty ones by their emptiness,
 * and only a lease that reached the disk without its sidecar waits for DEL or GC
 * (see podnet_ipam_open(3), CRASHES). */

/* Writes text into a fresh TMP_PATH (creating the sidecar directory if needed). */
static int write_tmp(podnet_ipam *ipam, const char *text)
{
        _cleanup_close_ int fd = -1;
        int r;

        for (int attempt = 0;; attempt++) {
                /* O_EXCL: a leftover (or anything planted there) is removed, never
                 * opened, so that a FIFO cannot block us nor a symlink redirect us. */
                fd = pn_ipam_openat(ipam, ipam->dir_fd, TMP_PATH,
                                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (fd >= 0)
                        break;
                if (attempt >= 2)
                        return -errno;
                if (errno == ENOENT) {
                        if (mkdirat(ipam->dir_fd, PN_IPAM_BOOT_DIR, 0755) < 0 && errno != EEXIST)
                                return -errno;
                } else if (errno == EEXIST) {
                        if (unlinkat(ipam->dir_fd, TMP_PATH, 0) < 0 && errno != ENOENT)
                                return -errno;
                } else {
                        return -errno;
                }
        }
        r = pn_write_all(fd, text, strlen(text));
        if (r >= 0 && close(steal_fd(&fd)) < 0)
                r = -errno;
        if (r < 0)
                (void)unlinkat(ipam->dir_fd, TMP_PATH, 0);
        return r;
}

/* Puts text as `name` (relative to the store) atomically: replacing what is there, or
 * with !replace only if nothing is (-EEXIST otherwise: host-local's O_CREAT|O_EXCL,
 * without ever showing a partial file). */
int pn_ipam_put_file(podnet_ipam *ipam, const char *name, const char *text, bool replace)
{
        int r = write_tmp(ipam, text);

        if (r < 0)
                return r;
        r = renameat2(ipam->dir_fd, TMP_PATH, ipam->dir_fd, name, replace ? 0 : RENAME_NOREPLACE);
        if (r == 0)
                return 0;
        r = -errno;
        if (!replace && (r == -EINVAL || r == -ENOSYS))
                /* A file system without RENAME_NOREPLACE: link(2) never replaces either. */
                r = linkat(ipam->dir_fd, TMP_PATH, ipam->dir_fd, name, 0) < 0 ? -errno : 0;
        (void)unlinkat(ipam->dir_fd, TMP_PATH, 0);
        return r;
}

int pn_ipam_replace_file(podnet_ipam *ipam, const char *name, const char *text)
{
        return pn_ipam_put_file(ipam, name, text, true);
}

/* Removes a temporary a killed write left behind. */
void pn_ipam_remove_tmp(podnet_ipam *ipam)
{
        (void)unlinkat(ipam->dir_fd, TMP_PATH, 0);
}

/* mkdir -p with mode 0755. */
int pn_ipam_mkdir_parents(const char *path)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = c;
                if (c == '\0')
                        break;
        }
        return 0;
}

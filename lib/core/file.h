/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to libpodnet: replacing a whole file atomically (the CNI conflist, a node list
 * written for a lab), so that a reader sees the old content or the new, never a part.
 */
#ifndef PODNET_CORE_FILE_H
#define PODNET_CORE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes data to a temporary file next to `path`, sets `mode`, fsyncs it, renames it over
 * `path` and fsyncs the directory. 0 or -errno; on failure the temporary is removed and
 * `path` is as it was. */
int pn_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node list written out as a NodeList file, atomically, for clusters and labs
 * without an API server (podnet-routes allocate --write-nodes): the next sync reads it.
 */
#include "core/file.h"
#include "core/internal.h"

PODNET_EXPORT int podnet_nodes_write_json(const podnet_nodes *nodes, const char *path,
                                          podnet_error **err)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (!nodes || isempty(path))
                return pn_error_plain(err, EINVAL, 0, "Writing a node list: invalid arguments");
        r = podnet_nodes_format_json(nodes, &text);
        if (r < 0)
                return pn_error(err, -r, 0, "Writing %s", path);
        /* a text file ends with a newline: the NUL becomes one (len + 1 bytes written) */
        len = strlen(text);
        text[len] = '\n';
        r = pn_file_write_atomic(path, text, len + 1, 0644);
        if (r < 0)
                return pn_error(err, -r, 0, "Writing %s", path);
        return 0;
}

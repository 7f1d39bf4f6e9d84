/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Forwarding sysctls: net.ipv4.ip_forward and net.ipv6.conf.all.forwarding. /proc/sys/net
 * shows the network namespace of the calling thread, which is the context's as long as
 * the caller has not moved it (the library never does).
 */
#include <fcntl.h>
#include <sys/socket.h>

#include "core/internal.h"

static int sysctl_read_bool(const char *path, bool *on)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        char buf[16];
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        *on = buf[0] == '1' && (buf[1] == '\n' || buf[1] == 0);
        return 0;
}

PODNET_EXPORT int podnet_sysctl_enable_forwarding(podnet_ctx *ctx, int family, podnet_error **err)
{
        _cleanup_close_ int fd = -1;
        const char *path;
        bool on = false;
        int r;

        if (!ctx)
                return pn_error_plain(err, EINVAL, 0, "Missing context");
        if (family == AF_INET)
                path = "/proc/sys/net/ipv4/ip_forward";
        else if (family == AF_INET6)
                path = "/proc/sys/net/ipv6/conf/all/forwarding";
        else
                return pn_error_plain(err, EAFNOSUPPORT, 0,
                                      "Enabling forwarding for address family %d: not IPv4 "
                                      "or IPv6",
                                      family);

        /* A write, even of the same value, makes the kernel walk every interface's
         * forwarding setting; skip it when already on (and without write access). */
        r = sysctl_read_bool(path, &on);
        if (r < 0)
                return pn_error(err, -r, 0, "Reading %s", path);
        if (on)
                return 0;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return pn_error(err, errno, 0, "Opening %s", path);
        if (write(fd, "1\n", 2) != 2)
                return pn_error(err, errno ? errno : EIO, 0, "Writing 1 to %s",
                                path);
        pn_debug(ctx, "Enabled forwarding: %s = 1", path);
        return 1;
}

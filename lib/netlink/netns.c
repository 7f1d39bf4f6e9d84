/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Network namespaces: opening one by path, its identity, and running a function inside
 * it on a helper thread (the caller's thread never moves; sock.c opens the namespace's
 * route socket that way).
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <netlink/socket.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "netlink/transport.h"

struct ns_call {
        int nsfd;
        int (*fn)(void *userdata);
        void *userdata;
        int ret;
};

static void *ns_call_main(void *p)
{
        struct ns_call *c = p;

        if (setns(c->nsfd, CLONE_NEWNET) < 0)
                c->ret = -errno;
        else
                c->ret = c->fn(c->userdata);
        return NULL;
}

/* Every signal is blocked in the thread: a process-directed signal must not land in it. */
int pn_ns_call(int nsfd, size_t stack, int (*fn)(void *), void *userdata)
{
        struct ns_call c = {.nsfd = nsfd, .fn = fn, .userdata = userdata, .ret = -EIO};
        pthread_attr_t attr;
        pthread_t tid;
        sigset_t all;
        int r;

        r = pthread_attr_init(&attr);
        if (r != 0)
                return -r;
        sigfillset(&all);
        r = pthread_attr_setsigmask_np(&attr, &all);
        if (r == 0 && stack)
                r = pthread_attr_setstacksize(&attr, stack);
        if (r == 0)
                r = pthread_create(&tid, &attr, ns_call_main, &c);
        pthread_attr_destroy(&attr);
        if (r != 0)
                return -r;
        r = pthread_join(tid, NULL);
        if (r != 0)
                return -r;
        return c.ret;
}

/* 0 if fd is a network namespace, -EINVAL if it is something else. The file system is
 * asked first: an ioctl means something else to every driver, and a path may name a
 * device. */
static int check_netns(int fd)
{
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        if (sfs.f_type != NSFS_MAGIC)
                return -EINVAL;
#ifdef NS_GET_NSTYPE
        int type = ioctl(fd, NS_GET_NSTYPE);

        if (type >= 0)
                return type == CLONE_NEWNET ? 0 : -EINVAL;
        if (errno != ENOTTY)
                return -errno;
#endif
        /* Kernels before 4.11 cannot tell the type: accept any namespace file. */
        return 0;
}

PODNET_EXPORT int podnet_netns_open(podnet_ctx *ctx _unused_, podnet_netns **ret, const char *path,
                                    podnet_error **err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *copy = NULL;
        podnet_netns *ns;
        struct stat st;
        int r;

        if (!ret || isempty(path))
                return pn_error_plain(err, EINVAL, 0, "Opening network namespace: no path given");
        /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below),
         * O_NOCTTY: nor may a terminal become ours. */
        fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return pn_error(err, errno, 0, "Opening network namespace %s", path);
        r = check_netns(fd);
        if (r == -EINVAL)
                return pn_error_plain(err, EINVAL, 0, "%s is not a network namespace", path);
        if (r < 0)
                return pn_error(err, -r, 0, "Opening network namespace %s", path);
        if (fstat(fd, &st) < 0)
                return pn_error(err, errno, 0, "Opening network namespace %s", path);
        copy = strdup(path);
        ns = calloc(1, sizeof(*ns));
        if (!copy || !ns) {
                free(ns);
                return pn_error(err, ENOMEM, 0, "Opening network namespace %s", path);
        }
        ns->n_ref = 1;
        ns->fd = steal_fd(&fd);
        ns->path = steal_pointer(&copy);
        ns->dev = st.st_dev;
        ns->ino = st.st_ino;
        *ret = ns;
        return 0;
}

PODNET_EXPORT podnet_netns *podnet_netns_unref(podnet_netns *ns)
{
        if (!ns || --ns->n_ref > 0)
                return NULL;
        if (ns->nl)
                nl_socket_free(ns->nl); /* closes the socket */
        if (ns->fd >= 0)
                close(ns->fd);
        free(ns->path);
        free(ns);
        return NULL;
}

PODNET_EXPORT int podnet_netns_fd(const podnet_netns *ns)
{
        return ns ? ns->fd : -EINVAL;
}

PODNET_EXPORT const char *podnet_netns_path(const podnet_netns *ns)
{
        return ns ? ns->path : NULL;
}

PODNET_EXPORT int podnet_netns_is_current(const podnet_netns *ns)
{
        struct stat st;

        if (!ns)
                return -EINVAL;
        if (stat("/proc/thread-self/ns/net", &st) < 0)
                return -errno;
        return st.st_dev == ns->dev && st.st_ino == ns->ino;
}

PODNET_EXPORT int podnet_netns_run(podnet_netns *ns, int (*fn)(void *userdata), void *userdata)
{
        if (!ns || !fn)
                return -EINVAL;
        return pn_ns_call(ns->fd, 0, fn, userdata);
}

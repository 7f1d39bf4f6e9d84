/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Network namespaces: opening one by path, a route socket living inside it that a
 * short-lived helper thread creates (the caller's thread never moves), running a
 * function inside it, and the request/reply helper every netlink call here goes through.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "netlink/net.h"

/* Enough for socket()+bind(); the socket helper thread needs nothing more. */
#define SOCKET_THREAD_STACK (64 * 1024)

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

/* Runs fn in a new thread that joined the namespace behind nsfd, with every signal
 * blocked (a process-directed signal must not land in it), and waits for it. */
static int ns_call(int nsfd, size_t stack, int (*fn)(void *), void *userdata)
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

static int open_route_socket(void *userdata _unused_)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        int fd, r;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        /* libnl's nl_socket_set_fd() wants a bound socket. */
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static struct nl_sock *netns_nl(podnet_netns *ns)
{
        struct nl_sock *sk;
        int fd, r;

        if (ns->nl)
                return ns->nl;
        fd = ns_call(ns->fd, SOCKET_THREAD_STACK, open_route_socket, NULL);
        if (fd < 0) {
                errno = -fd;
                return NULL;
        }
        sk = nl_socket_alloc();
        if (!sk) {
                close(fd);
                errno = ENOMEM;
                return NULL;
        }
        errno = 0;
        r = nl_socket_set_fd(sk, NETLINK_ROUTE, fd);
        if (r < 0) {
                int e = pn_nl_sys_errno(r, errno);

                close(fd);
                nl_socket_free(sk);
                errno = e;
                return NULL;
        }
        ns->nl = sk;
        return sk;
}

struct nl_sock *pn_net_sock(podnet_ctx *ctx, podnet_netns *ns)
{
        if (ns)
                return netns_nl(ns);
        if (!ctx) {
                errno = EINVAL;
                return NULL;
        }
        return pn_ctx_nl(ctx);
}

/* Replies are read straight into one buffer, without libnl's MSG_PEEK round: the kernel
 * never builds a dump chunk beyond 32 KiB, and our single replies are far smaller. */
#define REPLY_BUF_SIZE (64 * 1024)

/* Sequence numbers here only tell our replies from strays of an abandoned request.
 * They are not taken from libnl's counter: libnl expects every number it hands out to
 * come back through its own receive path, so the context's socket stays usable with
 * libnl's rtnl_* calls. */
static uint32_t request_seq(void)
{
        struct timespec ts;
        uint32_t seq;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        seq = (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 20);
        return seq ? seq : 1;
}

int pn_net_request(struct nl_sock *sk, struct nl_msg *msg, pn_net_reply_fn fn, void *userdata)
{
        struct nlmsghdr *req = nlmsg_hdr(msg);
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        _cleanup_free_ unsigned char *buf = NULL;
        int fd = nl_socket_get_fd(sk);
        uint32_t seq;
        int r, fn_r = 0;

        /* A request that expects data ends with that data (or NLMSG_DONE, or an error);
         * only changes need the ack. */
        req->nlmsg_flags |= NLM_F_REQUEST | (fn ? 0 : NLM_F_ACK);
        req->nlmsg_seq = seq = request_seq();
        req->nlmsg_pid = nl_socket_get_local_port(sk);
        /* Not libnl's nl_send(): it folds ENOBUFS (a full socket buffer, transient) into
         * NLE_NOMEM, which would read as "out of memory". */
        while (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
                if (errno != EINTR)
                        return -errno;
        buf = malloc(REPLY_BUF_SIZE);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                struct sockaddr_nl peer = {0};
                socklen_t peer_len = sizeof(peer);
                struct nlmsghdr *hdr;
                ssize_t got;
                int n;

                got = recvfrom(fd, buf, REPLY_BUF_SIZE, MSG_TRUNC, (struct sockaddr *)&peer,
                               &peer_len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return -errno;
                if (got > REPLY_BUF_SIZE)
                        return -EMSGSIZE;
                if (peer.nl_pid != 0)
                        continue;
                n = (int)got;
                for (hdr = (struct nlmsghdr *)buf; nlmsg_ok(hdr, n); hdr = nlmsg_next(hdr, &n)) {
                        if (hdr->nlmsg_seq != seq)
                                continue; /* a stray from an earlier, abandoned request */
                        if (hdr->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = nlmsg_data(hdr);

                                if (hdr->nlmsg_len < (uint32_t)nlmsg_size(sizeof(*e)))
                                        return -EBADMSG;
                                return e->error < 0 ? e->error : fn_r;
                        }
                        if (hdr->nlmsg_type == NLMSG_DONE) {
                                int dump_err = 0;

                                if (hdr->nlmsg_len >= (uint32_t)nlmsg_size(sizeof(int)))
                                        memcpy(&dump_err, nlmsg_data(hdr), sizeof(int));
                                return dump_err < 0 ? dump_err : fn_r;
                        }
                        if (hdr->nlmsg_type < NLMSG_MIN_TYPE)
                                continue;
                        if (fn && fn_r == 0) {
                                r = fn(hdr, userdata);
                                if (r < 0)
                                        fn_r = r;
                        }
                        if (!(hdr->nlmsg_flags & NLM_F_MULTI))
                                return fn_r; /* the one reply of a plain get */
                }
        }
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
        return ns_call(ns->fd, 0, fn, userdata);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's locks. podnet's writers on one node serialise on flock(2) locks in the
 * run directory (/run/podnet), named after the network namespace (its inode number, as
 * `stat -L -c %i /proc/self/ns/net` prints it): namespaces are the nodes (a lab runs
 * several in one mount namespace). "routes" is held by each writing pass (sync, each pass
 * of run, teardown); "routes-run" by a run agent for its whole life, so that a second one
 * refuses to start.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>

#include "agent/agent.h"

#define LOCK_WAIT_MS 60000

int pn_agent_lock_open(const char *run_dir, const char *kind, char *path, size_t size,
                       podnet_error **err)
{
        struct stat st;
        int fd;

        if (stat("/proc/self/ns/net", &st) < 0)
                return pn_error(err, errno, 0,
                                "Reading this network namespace's id (/proc/self/ns/net)");
        snprintf(path, size, "%s/%s-%llu.lock", run_dir, kind, (unsigned long long)st.st_ino);
        if (mkdir(run_dir, 0755) < 0 && errno != EEXIST)
                return pn_error(err, errno, 0, "Creating %s", run_dir);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return pn_error(err, errno, 0, "Opening lock %s", path);
        return fd;
}

int pn_agent_lock_writers(const char *run_dir, podnet_error **err)
{
        char path[PATH_MAX];
        int fd = pn_agent_lock_open(run_dir, "routes", path, sizeof(path), err);
        double deadline = pn_now_ms() + LOCK_WAIT_MS;

        if (fd < 0)
                return fd;
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                if ((e != EWOULDBLOCK && e != EINTR) || pn_now_ms() >= deadline) {
                        close(fd);
                        if (e == EWOULDBLOCK)
                                return pn_error_plain(err, EWOULDBLOCK, 0,
                                                      "Locking %s: another podnet-routes held "
                                                      "it for 60 s",
                                                      path);
                        return pn_error(err, e, 0, "Locking %s", path);
                }
                (void)poll(NULL, 0, 5);
        }
        return fd;
}

PODNET_EXPORT int podnet_agent_lock(podnet_agent *agent, podnet_error **err)
{
        if (!agent)
                return -EINVAL;
        return pn_agent_lock_writers(agent->run_dir, err);
}

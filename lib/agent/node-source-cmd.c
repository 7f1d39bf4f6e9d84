/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's command source: `sh -c CMD` (e.g. kubectl get nodes -o json) in a
 * process group of its own, its standard output read without blocking so that the agent
 * keeps answering route changes and signals meanwhile, and JSON decoded as it arrives (no
 * size limit: memory holds the nodes' routing facts). When it ends (finished, out of
 * time, or abandoned) the whole group is killed: nothing it started outlives it.
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "agent/node-source.h"

extern char **environ;

struct cmd_source {
        struct pn_node_source s;
        const char *cmd; /* borrowed */
        unsigned timeout_s;
        pid_t pid; /* 0: none running; not reaped before fetch_end(), so the group id
                    * cannot be reused while we may still kill it */
        int out;   /* read end of its standard output */
        int pidfd; /* readable when it exits; -1 where the kernel has no pidfd_open */
        bool eof, exited;
        int read_errno;
        struct pn_list_stream ls; /* what it printed so far, read as it comes */
        char *chunk;              /* read buffer */
        double deadline;
};

static void fetch_reset(struct cmd_source *c)
{
        if (c->out >= 0)
                close(c->out);
        if (c->pidfd >= 0)
                close(c->pidfd);
        pn_list_stream_done(&c->ls);
        c->pid = 0;
        c->out = c->pidfd = -1;
        c->eof = c->exited = false;
        c->read_errno = 0;
}

static int cmd_request(struct pn_node_source *s)
{
        struct cmd_source *c = (struct cmd_source *)s;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t empty, deflt;
        char *argv[] = {(char *)"sh", (char *)"-c", (char *)c->cmd, NULL};
        int pipefd[2], r;

        if (c->pid)
                return 0;
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                r = errno;
                pn_err(s->ctx, "Running node list command %s: %s", c->cmd, strerror(r));
                return -r;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        posix_spawnattr_init(&attr);
        /* the command gets the signals that end it back, whatever its caller blocked */
        sigemptyset(&empty);
        sigemptyset(&deflt);
        sigaddset(&deflt, SIGTERM);
        sigaddset(&deflt, SIGINT);
        sigaddset(&deflt, SIGHUP);
        sigaddset(&deflt, SIGPIPE);
        posix_spawnattr_setsigmask(&attr, &empty);
        posix_spawnattr_setsigdefault(&attr, &deflt);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETPGROUP);
        r = posix_spawn(&c->pid, "/bin/sh", &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(pipefd[1]);
        if (r != 0) {
                close(pipefd[0]);
                c->pid = 0;
                pn_err(s->ctx, "Running node list command %s: %s", c->cmd, strerror(r));
                return -r;
        }
        c->out = pipefd[0];
        (void)fcntl(c->out, F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
        c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
#endif
        c->deadline = pn_now_ms() + c->timeout_s * 1000.0;
        return 0;
}

static bool cmd_busy(const struct pn_node_source *s)
{
        return ((const struct cmd_source *)s)->pid != 0;
}

static nfds_t cmd_pollfds(const struct pn_node_source *s, struct pollfd *p)
{
        const struct cmd_source *c = (const struct cmd_source *)s;
        nfds_t n = 0;

        if (!c->pid)
                return 0;
        if (!c->eof)
                p[n++] = (struct pollfd){.fd = c->out, .events = POLLIN};
        if (!c->exited && c->pidfd >= 0)
                p[n++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
        return n;
}

static double cmd_wait_ms(const struct pn_node_source *s)
{
        const struct cmd_source *c = (const struct cmd_source *)s;
        double left = c->deadline - pn_now_ms();

        if (!c->pid)
                return -1;
        if (c->eof && !c->exited && c->pidfd < 0 && left > 20)
                left = 20; /* no pidfd: watch for the exit by polling */
        return left > 0 ? left : 0;
}

/* Reads what the command printed so far and notices its exit; true when the fetch is
 * over: output closed and command exited, output too large, or out of time. */
static bool fetch_over(struct cmd_source *c)
{
        while (!c->eof && c->ls.r >= 0) {
                ssize_t k;
                if (!c->chunk && !(c->chunk = malloc(65536))) {
                        c->read_errno = ENOMEM;
                        c->eof = true;
                        break;
                }
                k = read(c->out, c->chunk, 65536);
                if (k > 0) {
                        (void)pn_list_stream_feed(&c->ls, c->chunk, (size_t)k);
                } else if (k == 0) {
                        c->eof = true;
                } else if (errno != EINTR) {
                        if (errno != EAGAIN)
                                c->read_errno = errno, c->eof = true;
                        break;
                }
        }
        if (!c->exited) {
                siginfo_t si = {0};
                /* WNOWAIT: seen, not reaped */
                if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                    si.si_pid == c->pid)
                        c->exited = true;
        }
        return (c->eof && c->exited) || c->ls.r < 0 || pn_now_ms() >= c->deadline;
}

/* Ends the fetch: kills what is left of the command's process group, reaps the command.
 * Returns the list or NULL after a message (none when `abandoned`: its group is killed,
 * not waited for). */
static podnet_nodes *fetch_end(struct cmd_source *c, bool abandoned)
{
        podnet_ctx *ctx = c->s.ctx;
        bool done = c->eof && c->exited;
        podnet_nodes *nodes = NULL;
        int status = 0;

        (void)kill(-c->pid, SIGKILL);
        while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (abandoned)
                ;
        else if (c->ls.r == -EFBIG)
                pn_err(ctx, "Node list command %s printed more than %u MiB", c->cmd,
                       PN_MAX_NODE_LIST >> 20);
        else if (c->ls.r < 0)
                pn_err(ctx, "Reading the output of node list command %s: %s", c->cmd,
                       strerror(-c->ls.r));
        else if (!done)
                pn_err(ctx,
                       "Node list command %s timed out after %u s: killed it and its process "
                       "group",
                       c->cmd, c->timeout_s);
        else if (c->read_errno)
                pn_err(ctx, "Reading the output of node list command %s: %s", c->cmd,
                       strerror(c->read_errno));
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                pn_err(ctx, "Node list command %s failed (%s %d)", c->cmd,
                       WIFEXITED(status) ? "exit status" : "signal",
                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        else
                nodes = pn_list_stream_end(ctx, &c->ls, c->cmd);
        fetch_reset(c);
        return nodes;
}

static int cmd_step(struct pn_node_source *s, podnet_nodes **ret)
{
        struct cmd_source *c = (struct cmd_source *)s;

        if (!c->pid || !fetch_over(c))
                return 0;
        *ret = fetch_end(c, false);
        return 1;
}

static void cmd_cancel(struct pn_node_source *s)
{
        struct cmd_source *c = (struct cmd_source *)s;

        if (c->pid)
                podnet_nodes_free(fetch_end(c, true));
}

static void cmd_free(struct pn_node_source *s)
{
        cmd_cancel(s);
        free(((struct cmd_source *)s)->chunk);
        free(s);
}

static const struct pn_node_source_ops cmd_ops = {
    .request = cmd_request,
    .busy = cmd_busy,
    .pollfds = cmd_pollfds,
    .wait_ms = cmd_wait_ms,
    .step = cmd_step,
    .cancel = cmd_cancel,
    .free = cmd_free,
};

int pn_node_source_cmd_new(podnet_ctx *ctx, const char *cmd, unsigned timeout_s,
                           struct pn_node_source **ret)
{
        struct cmd_source *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->s = (struct pn_node_source){.ops = &cmd_ops, .ctx = ctx};
        c->cmd = cmd;
        c->timeout_s = timeout_s;
        c->out = c->pidfd = -1;
        *ret = &c->s;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The node agent's public API without a kernel: its configuration checks, the file and
 * command node sources (missing file, a command that fails, is killed, times out, prints
 * garbage or too much, is stopped from outside with its process group), the writers' and
 * run locks. What it logs is captured from the context's log function. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <time.h>

#include "core/internal.h"
#include "tap.h"

static char logbuf[8192];

static void capture(podnet_ctx *ctx, void *userdata, int prio, const char *msg)
{
        size_t n = strlen(logbuf);

        (void)ctx;
        (void)userdata;
        snprintf(logbuf + n, sizeof(logbuf) - n, "%d %s\n", prio, msg);
}

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char tmpdir[] = "/tmp/test-agent-XXXXXX";
static podnet_ctx *ctx;

/* An agent on node1 with the given source; NULL (and a failed test) if it cannot be had. */
static podnet_agent *agent_with(const char *file, const char *cmd, unsigned timeout)
{
        podnet_agent_config cfg = {.size = sizeof(cfg),
                                   .node_name = "node1",
                                   .nodes_file = file,
                                   .nodes_cmd = cmd,
                                   .nodes_timeout = timeout,
                                   .run_dir = tmpdir};
        podnet_agent *a = NULL;
        podnet_error *err = NULL;
        int r = podnet_agent_new(ctx, &cfg, &a, &err);

        if (r < 0)
                diag("podnet_agent_new: %s", err ? podnet_error_message(err) : strerror(-r));
        podnet_error_free(err);
        logbuf[0] = 0;
        return a;
}

/* Loads through a command and checks the failure and what was logged. */
static void cmd_fails(const char *cmd, unsigned timeout, const char *logged, const char *what)
{
        podnet_agent *a = agent_with(NULL, cmd, timeout);
        podnet_nodes *nodes = (podnet_nodes *)1;

        is_int(podnet_agent_load_nodes(a, -1, &nodes), -ENODATA, "%s: no list", what);
        ok(nodes == NULL, "%s: *ret NULL", what);
        ok(strstr(logbuf, logged) != NULL, "%s: logged \"%s\"", what, logged);
        if (!strstr(logbuf, logged))
                diag("log: %s", logbuf);
        podnet_agent_free(a);
}

static void test_config(void)
{
        podnet_agent_config cfg = {.size = sizeof(cfg), .node_name = "node1"};
        podnet_agent *a = (podnet_agent *)1;
        podnet_error *err = NULL;

        cfg.size = 8;
        is_int(podnet_agent_new(ctx, &cfg, &a, NULL), -EINVAL, "config size too small: EINVAL");
        cfg.size = sizeof(cfg);
        cfg.node_name = "";
        is_int(podnet_agent_new(ctx, &cfg, &a, &err), -EINVAL, "no node name: EINVAL");
        ok(err && strstr(podnet_error_message(err), "node's name"), "  and it says so");
        err = podnet_error_free(err);
        cfg.node_name = "node1";
        cfg.nodes_file = "/dev/null";
        cfg.nodes_cmd = "true";
        is_int(podnet_agent_new(ctx, &cfg, &a, &err), -EINVAL, "file and command: EINVAL");
        err = podnet_error_free(err);
        is_int(podnet_agent_new(NULL, &cfg, &a, NULL), -EINVAL, "no context: EINVAL");
        ok(podnet_agent_free(NULL) == NULL, "free(NULL)");

        a = agent_with(NULL, NULL, 0);
        podnet_nodes *nodes = NULL;
        is_int(podnet_agent_load_nodes(a, -1, &nodes), -EINVAL, "no source: load EINVAL");
        ok(strstr(logbuf, "No node source"), "  and it says so");
        is_int(podnet_agent_run(a, -1, &err), -EINVAL, "no source: run EINVAL");
        err = podnet_error_free(err);
        char *text = NULL;
        is_int(podnet_agent_status(a, NULL, 1u << 7, &text), -EINVAL, "status: unknown flag");
        is_int(podnet_agent_resync(NULL), -EINVAL, "resync(NULL)");
        podnet_agent_free(a);
}

static void test_file(void)
{
        char path[256];
        podnet_nodes *nodes = NULL;
        podnet_agent *a;
        FILE *f;

        snprintf(path, sizeof(path), "%s/nodes.txt", tmpdir);
        a = agent_with(path, NULL, 0);
        is_int(podnet_agent_load_nodes(a, -1, &nodes), -ENODATA, "missing file: no list");
        ok(strstr(logbuf, "Reading node list") && strstr(logbuf, "No such file"),
           "missing file: logged with its name and errno");
        ok(strncmp(logbuf, "3 ", 2) == 0, "  at LOG_ERR");

        f = fopen(path, "w");
        fputs("node1 10.1.1.0/24 192.168.1.11\nnode2 10.1.2.0/24 192.168.1.12\n", f);
        fclose(f);
        is_int(podnet_agent_load_nodes(a, -1, &nodes), 0, "static node file: loaded");
        is_int((int)podnet_nodes_count(nodes), 2, "  two nodes");
        nodes = podnet_nodes_free(nodes);
        /* read again on every load: a list that changed is seen */
        f = fopen(path, "w");
        fputs("{not json", f);
        fclose(f);
        logbuf[0] = 0;
        is_int(podnet_agent_load_nodes(a, -1, &nodes), -ENODATA, "garbage file: no list");
        ok(strstr(logbuf, "Node list from ") != NULL, "  the parser's refusal is logged");
        podnet_agent_free(a);
}

static void test_cmd(void)
{
        podnet_nodes *nodes = NULL;
        podnet_agent *a;
        double t0;

        a = agent_with(NULL, "printf 'node1 10.1.1.0/24 192.168.1.11\\n'", 5);
        is_int(podnet_agent_load_nodes(a, -1, &nodes), 0, "command: loaded");
        is_int((int)podnet_nodes_count(nodes), 1, "  one node");
        ok(logbuf[0] == 0, "  nothing logged");
        nodes = podnet_nodes_free(nodes);
        podnet_agent_free(a);

        cmd_fails("echo partial; exit 3", 5, "failed (exit status 3)", "exit 3");
        cmd_fails("kill -9 $$", 5, "failed (signal 9)", "killed by a signal");
        cmd_fails("echo '{\"kind\": \"NodeList\", \"items\": [garbage'", 5, "Node list from echo",
                  "garbage");
        cmd_fails("head -c 70000000 /dev/zero", 30, "printed more than 64 MiB", "too much output");
        t0 = now_ms();
        cmd_fails("sleep 30", 1, "timed out after 1 s", "hangs");
        ok(now_ms() - t0 < 3000, "  given up after the time limit (%.0f ms)", now_ms() - t0);
}

/* The stop fd ends a fetch at once, and the command's whole group goes with it. */
static void test_stop(void)
{
        char cmd[512], pidfile[256];
        podnet_nodes *nodes = NULL;
        podnet_agent *a;
        int p[2], r, alive = 1;
        double t0;
        FILE *f;
        pid_t bg = 0;

        snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", tmpdir);
        snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! > %s; wait", pidfile);
        a = agent_with(NULL, cmd, 60);
        if (pipe(p) < 0)
                return;
        if (fork() == 0) {
                usleep(300000);
                (void)!write(p[1], "x", 1);
                _exit(0);
        }
        t0 = now_ms();
        r = podnet_agent_load_nodes(a, p[0], &nodes);
        is_int(r, -ECANCELED, "stop fd readable: ECANCELED");
        ok(now_ms() - t0 < 2000, "  at once (%.0f ms)", now_ms() - t0);
        ok(logbuf[0] == 0, "  nothing logged");
        f = fopen(pidfile, "r");
        if (f && fscanf(f, "%d", &bg) != 1)
                bg = 0;
        if (f)
                fclose(f);
        ok(bg > 0, "the command's background child was started");
        /* killed with the group: gone (or a zombie for init to reap) within 2 s */
        for (int i = 0; bg > 0 && i < 200 && alive; i++) {
                char stat[64], buf[256] = "";
                snprintf(stat, sizeof(stat), "/proc/%d/stat", bg);
                f = fopen(stat, "r");
                alive = f && fgets(buf, sizeof(buf), f) && !strstr(buf, ") Z ");
                if (f)
                        fclose(f);
                if (alive)
                        usleep(10000);
        }
        ok(!alive, "  and killed with the command's process group");
        close(p[0]);
        close(p[1]);
        podnet_agent_free(a);
}

static void test_locks(void)
{
        char path[512];
        podnet_agent *a = agent_with("/dev/null", NULL, 0);
        podnet_error *err = NULL;
        struct stat st;
        int fd, held;

        fd = podnet_agent_lock(a, &err);
        ok(fd >= 0, "writers' lock taken");
        stat("/proc/self/ns/net", &st);
        snprintf(path, sizeof(path), "%s/routes-%llu.lock", tmpdir, (unsigned long long)st.st_ino);
        ok(access(path, F_OK) == 0, "  named after the network namespace in the run dir");
        if (fd >= 0)
                close(fd);

        /* someone holds the run lock: run refuses before doing anything */
        snprintf(path, sizeof(path), "%s/routes-run-%llu.lock", tmpdir,
                 (unsigned long long)st.st_ino);
        held = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        ok(held >= 0 && flock(held, LOCK_EX | LOCK_NB) == 0, "run lock held by another");
        is_int(podnet_agent_run(a, -1, &err), -EBUSY, "run: EBUSY");
        ok(err && strstr(podnet_error_message(err), "already running"), "  and it says why");
        err = podnet_error_free(err);
        if (held >= 0)
                close(held);
        podnet_agent_free(a);

        a = agent_with("/dev/null", NULL, 0);
        podnet_agent_config bad = {
            .size = sizeof(bad), .node_name = "n", .run_dir = "/proc/no/such/dir"};
        podnet_agent_free(a);
        is_int(podnet_agent_new(ctx, &bad, &a, NULL), 0, "agent with a run dir it cannot create");
        fd = podnet_agent_lock(a, &err);
        ok(fd < 0 && err && strstr(podnet_error_message(err), "/proc/no/such/dir"),
           "  lock fails naming the directory");
        podnet_error_free(err);
        podnet_agent_free(a);
}

int main(void)
{
        char cmd[300];

        signal(SIGPIPE, SIG_IGN);
        if (!mkdtemp(tmpdir) || podnet_ctx_new(&ctx) < 0)
                return 1;
        podnet_ctx_set_log_fn(ctx, capture, NULL);
        podnet_ctx_set_log_priority(ctx, LOG_WARNING);
        test_config();
        test_file();
        test_cmd();
        test_stop();
        test_locks();
        podnet_ctx_unref(ctx);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        (void)!system(cmd);
        return done_testing();
}

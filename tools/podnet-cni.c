/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * podnet-cni: the CNI plugin. Reads CNI_* from the environment and the network
 * configuration from stdin, calls libpodnet once per step, prints the result or a CNI
 * error object on stdout. Logs go to stderr only (PODNET_LOG=debug|info|warning).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <podnet/podnet.h>

#include "read-all.h"

#define FALLBACK_VERSION "1.1.0"
/* A network configuration is a few KiB; this only keeps a runaway writer from making
 * the plugin allocate without bound. */
#define MAX_CONFIG_MIB 16u
#define MAX_CONFIG (MAX_CONFIG_MIB << 20)

static void log_stderr(podnet_ctx *ctx, void *userdata, int prio, const char *msg)
{
        (void)ctx;
        (void)userdata;
        (void)prio;
        fprintf(stderr, "podnet-cni: %s\n", msg);
}

/* Prints the CNI error object for err (or for code/msg when err is NULL) and
 * returns the process exit status. */
static int fail(const char *version, podnet_error *err, int code, const char *msg)
{
        podnet_error *tmp = NULL;
        char *out = NULL;

        if (!err && podnet_error_new(&tmp, EINVAL, code, "%s", msg) == 0)
                err = tmp;
        if (err && podnet_cni_error_format(err, version, &out) == 0) {
                puts(out);
                free(out);
                fprintf(stderr, "podnet-cni: %s\n", podnet_error_message(err));
        } else {
                printf("{\"cniVersion\":\"%s\",\"code\":999,\"msg\":\"Out of memory\"}\n", version);
        }
        podnet_error_free(tmp);
        return 1;
}

/* Deleting a veth pair costs the kernel tens of milliseconds of RCU grace periods. The
 * pair is already down, parked and its pod end renamed away, and its address released,
 * so the runtime need not wait: a detached child finishes the job (an ADD for the same
 * attachment that meets the parked pair finishes it too). The child first waits a
 * little, so that the DELs of a drain or a burst park their pairs meanwhile and one
 * request deletes them all (podnet_veth_delete(3) deletes every parked pair together);
 * the children that come later find their pair gone. */
#define TEARDOWN_COALESCE_NS (5 * 1000 * 1000)

static void teardown_in_background(const char *container_id, const char *ifname)
{
        podnet_ctx *ctx = NULL;
        pid_t pid;
        int fd;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid != 0)
                return; /* parent, or fork failed: the pair stays down until the next ADD */
        setsid();
        /* Hold nothing of the parent's: no lock may outlive its owner's exit through
         * this child, which runs for tens of milliseconds more. */
        closefrom(STDERR_FILENO + 1);
        /* Let go of the runtime's pipes so it sees EOF now. */
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
                dup2(fd, STDIN_FILENO);
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                if (fd > STDERR_FILENO)
                        close(fd);
        }
        nanosleep(&(struct timespec){.tv_nsec = TEARDOWN_COALESCE_NS}, NULL);
        if (podnet_ctx_new(&ctx) == 0)
                (void)podnet_veth_delete(ctx, container_id, ifname, NULL);
        podnet_ctx_unref(ctx);
        _exit(0);
}

static void usage(FILE *f)
{
        fprintf(f, "Usage: podnet-cni [--help | --version]\n"
                   "\n"
                   "A CNI plugin (spec 0.1.0 - 1.1.0): a kubenet-style bridge with host-local\n"
                   "IPAM. Container runtimes run it with CNI_COMMAND (ADD, DEL, CHECK, GC,\n"
                   "STATUS, VERSION), CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS and\n"
                   "CNI_PATH in the environment and the network configuration on stdin.\n"
                   "Set PODNET_LOG=debug for a trace on stderr. See podnet-cni(8).\n");
}

int main(int argc, char **argv)
{
        podnet_cni_env env = {
            .size = sizeof(env),
            .command = getenv("CNI_COMMAND"),
            .container_id = getenv("CNI_CONTAINERID"),
            .netns = getenv("CNI_NETNS"),
            .ifname = getenv("CNI_IFNAME"),
            .args = getenv("CNI_ARGS"),
            .path = getenv("CNI_PATH"),
        };
        podnet_cni_conf *conf = NULL;
        podnet_cni_args *args = NULL;
        podnet_cni_result *res = NULL;
        podnet_error *err = NULL;
        podnet_ctx *ctx = NULL;
        const char *version = FALLBACK_VERSION, *loglevel;
        char *input = NULL, *out = NULL;
        size_t len = 0;
        int rc = 1, r;

        if (argc > 1) {
                if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                        usage(stdout);
                        return 0;
                }
                if (strcmp(argv[1], "--version") == 0) {
                        printf("podnet-cni %s\n", podnet_version());
                        return 0;
                }
                usage(stderr);
                return 2;
        }
        if (!env.command) {
                /* Like the reference plugins: a person ran us by hand. */
                if (isatty(STDIN_FILENO)) {
                        fprintf(stderr, "podnet-cni %s: a CNI plugin; see podnet-cni --help\n",
                                podnet_version());
                        return 1;
                }
                return fail(version, NULL, 4, "CNI_COMMAND is not set");
        }

        input = pn_read_all(STDIN_FILENO, MAX_CONFIG, &len);
        if (!input) {
                int e = errno;

                if (e == EFBIG)
                        r = podnet_error_new(&err, e, 7,
                                             "The network configuration on standard input is "
                                             "larger than %u MiB",
                                             MAX_CONFIG_MIB);
                else
                        r = podnet_error_new(&err, e, 0,
                                             "Reading the network configuration from standard "
                                             "input: %s",
                                             strerror(e));
                rc = fail(version, r == 0 ? err : NULL, 999, "Out of memory");
                podnet_error_free(err);
                return rc;
        }

        if (strcmp(env.command, "VERSION") == 0) {
                r = podnet_cni_version(input, len, &out, &err);
                if (r < 0) {
                        rc = fail(version, err, 0, NULL);
                        goto out;
                }
                puts(out);
                rc = 0;
                goto out;
        }

        r = podnet_cni_conf_parse(&conf, input, len, &err);
        if (r < 0) {
                rc = fail(version, err, 0, NULL);
                goto out;
        }
        version = podnet_cni_conf_version(conf);

        r = podnet_cni_args_new(&args, &env, &err);
        if (r < 0) {
                rc = fail(version, err, 0, NULL);
                goto out;
        }

        if (strcmp(env.command, "CHECK") == 0 && podnet_cni_version_compare(version, "0.4.0") < 0) {
                rc = fail(version, NULL, 1, "CHECK needs cniVersion 0.4.0 or later");
                goto out;
        }
        if ((strcmp(env.command, "GC") == 0 || strcmp(env.command, "STATUS") == 0) &&
            podnet_cni_version_compare(version, "1.1.0") < 0) {
                char msg[64];
                snprintf(msg, sizeof(msg), "%s needs cniVersion 1.1.0 or later", env.command);
                rc = fail(version, NULL, 1, msg);
                goto out;
        }

        r = podnet_ctx_new(&ctx);
        /* The lock file iptables(8) takes, where its own variable moves it. */
        if (r == 0)
                r = podnet_ctx_set_xtables_lock(ctx, secure_getenv("XTABLES_LOCKFILE"));
        if (r < 0) {
                rc = fail(version, NULL, 999, "Out of memory");
                goto out;
        }
        loglevel = getenv("PODNET_LOG");
        if (loglevel) {
                podnet_ctx_set_log_fn(ctx, log_stderr, NULL);
                podnet_ctx_set_log_priority(ctx, strcmp(loglevel, "debug") == 0  ? LOG_DEBUG
                                                 : strcmp(loglevel, "info") == 0 ? LOG_INFO
                                                                                 : LOG_WARNING);
        }

        if (strcmp(env.command, "ADD") == 0) {
                r = podnet_cni_add(ctx, conf, args, &res, &err);
                if (r == 0) {
                        r = podnet_cni_result_format(res, version, &out, &err);
                        if (r == 0 && (puts(out) < 0 || fflush(stdout) != 0)) {
                                int e = errno;

                                clearerr(stdout);
                                r = podnet_error_new(&err, e, 0, "Writing the result: %s",
                                                     strerror(e)) < 0
                                        ? -ENOMEM
                                        : -e;
                        }
                        /* A runtime that did not get the result never learns of the
                         * attachment: take it back. */
                        if (r < 0)
                                (void)podnet_cni_del(ctx, conf, args, NULL);
                }
        } else if (strcmp(env.command, "DEL") == 0) {
                if (getenv("PODNET_SYNC_DEL")) {
                        r = podnet_cni_del(ctx, conf, args, &err);
                } else {
                        r = podnet_cni_del_deferred(ctx, conf, args, &err);
                        if (r == 1)
                                teardown_in_background(env.container_id, env.ifname);
                }
        } else if (strcmp(env.command, "CHECK") == 0) {
                r = podnet_cni_check(ctx, conf, args, &err);
        } else if (strcmp(env.command, "GC") == 0) {
                r = podnet_cni_gc(ctx, conf, args, &err);
        } else if (strcmp(env.command, "STATUS") == 0) {
                r = podnet_cni_status(ctx, conf, args, &err);
        } else {
                /* podnet_cni_args_new rejects unknown commands; keep a guard anyway. */
                rc = fail(version, NULL, 4, "Unknown CNI_COMMAND");
                goto out;
        }
        if (r < 0) {
                if (err)
                        rc = fail(version, err, 0, NULL);
                else
                        rc = fail(version, NULL, 999, strerror(-r));
        } else {
                rc = 0;
        }
out:
        fflush(stdout);
        free(out);
        free(input);
        podnet_cni_result_free(res);
        podnet_cni_args_free(args);
        podnet_cni_conf_free(conf);
        podnet_error_free(err);
        podnet_ctx_unref(ctx);
        return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test helper: an IPAM-only CNI plugin over podnet_cni_ipam_*(): CNI_* from the
 * environment, configuration on stdin, result or error object on stdout. It also
 * fails (exit 98/99) if the call left a descriptor open or a child unreaped. */
#include <dirent.h>
#include <sys/wait.h>

#include "cni/cni.h"

static int count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        if (!d)
                return -1;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static char *read_all(FILE *f, size_t *len)
{
        size_t cap = 4096, n = 0;
        char *buf = malloc(cap);

        while (buf) {
                size_t got = fread(buf + n, 1, cap - n - 1, f);

                n += got;
                if (got == 0)
                        break;
                if (cap - n < 2) {
                        char *nb = realloc(buf, cap * 2);
                        if (!nb)
                                free(buf);
                        buf = nb;
                        cap *= 2;
                }
        }
        if (buf)
                buf[n] = '\0';
        *len = n;
        return buf;
}

static int fail(podnet_error *err, const char *version)
{
        char *text = NULL;

        if (podnet_cni_error_format(err, version, &text) == 0)
                printf("%s\n", text);
        free(text);
        podnet_error_free(err);
        return 1;
}

int main(void)
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
        const char *cmd;
        char *json, *text = NULL;
        size_t len;
        int r, fds_before, fds_after, status = 0, wstatus = 0;

        json = read_all(stdin, &len);
        if (!json || podnet_ctx_new(&ctx) < 0) {
                status = 2;
                goto out;
        }
        if (podnet_cni_args_new(&args, &env, &err) < 0) {
                status = fail(err, NULL);
                goto out;
        }
        if (podnet_cni_conf_parse(&conf, json, len, &err) < 0) {
                status = fail(err, NULL);
                goto out;
        }
        cmd = args->command;
        fds_before = count_fds();
        if (streq(cmd, "ADD"))
                r = podnet_cni_ipam_add(ctx, conf, args, &res, &err);
        else if (streq(cmd, "DEL"))
                r = podnet_cni_ipam_del(ctx, conf, args, &err);
        else if (streq(cmd, "CHECK"))
                r = podnet_cni_ipam_check(ctx, conf, args, &err);
        else if (streq(cmd, "GC"))
                r = podnet_cni_ipam_gc(ctx, conf, args, &err);
        else {
                status = 2;
                goto out;
        }
        fds_after = count_fds();
        if (fds_before != fds_after) {
                fprintf(stderr, "cni-ipam-run: %d descriptors before, %d after\n", fds_before,
                        fds_after);
                status = 98;
                goto out;
        }
        if (waitpid(-1, &wstatus, WNOHANG) != -1 || errno != ECHILD) {
                fprintf(stderr, "cni-ipam-run: a child process was left behind\n");
                status = 99;
                goto out;
        }
        if (r < 0) {
                status = fail(err, conf->cni_version);
                goto out;
        }
        if (res) {
                if (podnet_cni_result_format(res, conf->cni_version, &text, &err) < 0) {
                        status = fail(err, conf->cni_version);
                        goto out;
                }
                printf("%s\n", text);
        }
out:
        free(text);
        free(json);
        podnet_cni_result_free(res);
        podnet_cni_conf_free(conf);
        podnet_cni_args_free(args);
        podnet_ctx_unref(ctx);
        return status;
}

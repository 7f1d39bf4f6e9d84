/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/netns/kube-watch.sh's client through the public API only (podnet_kube_*):
 *   pn-kube-test KUBECONFIG get PATH          blocking request: "STATUS BYTES" then the body
 *   pn-kube-test KUBECONFIG watch PATH LINES  a call in this program's own poll loop, until
 *                                              LINES newline-ended lines came (the events):
 *                                              prints them and "chunks N"
 * Exit status 0, 1 with the library's message on stderr.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <podnet/podnet.h>

struct watch {
        unsigned want, lines, chunks;
};

static int on_data(void *userdata, const char *data, size_t len)
{
        struct watch *w = userdata;

        w->chunks++;
        fwrite(data, 1, len, stdout);
        for (size_t i = 0; i < len; i++)
                if (data[i] == '\n' && ++w->lines >= w->want)
                        return -ECANCELED; /* enough: ends the call */
        return 0;
}

static int fail(podnet_error *err, int r, const char *what)
{
        fprintf(stderr, "pn-kube-test: %s: %s\n", what,
                err ? podnet_error_message(err) : strerror(-r));
        podnet_error_free(err);
        return 1;
}

int main(int argc, char **argv)
{
        podnet_ctx *ctx = NULL;
        podnet_kube *kube = NULL;
        podnet_error *err = NULL;
        podnet_kube_config kc = {.size = sizeof(kc)};
        podnet_kube_request_config rq = {.size = sizeof(rq)};
        int r, rc = 0;

        if (argc < 4 || (strcmp(argv[2], "get") && strcmp(argv[2], "watch")) ||
            (!strcmp(argv[2], "watch") && argc < 5)) {
                fprintf(stderr, "usage: pn-kube-test KUBECONFIG get|watch PATH [LINES]\n");
                return 2;
        }
        kc.kubeconfig = argv[1];
        rq.path = argv[3];
        if (podnet_ctx_new(&ctx) < 0)
                return 1;
        r = podnet_kube_new(ctx, &kc, &kube, &err);
        if (r < 0) {
                podnet_ctx_unref(ctx);
                return fail(err, r, "podnet_kube_new");
        }
        if (!strcmp(argv[2], "get")) {
                char *body = NULL;
                size_t len = 0;

                r = podnet_kube_request(kube, &rq, &body, &len, &err);
                if (r < 0) {
                        rc = fail(err, r, "podnet_kube_request");
                } else {
                        printf("%d %zu\n%s\n", r, len, body ? body : "");
                        if (err) /* a status other than 2xx says what the server said */
                                fprintf(stderr, "pn-kube-test: %s\n", podnet_error_message(err));
                        podnet_error_free(err);
                }
                free(body);
        } else {
                struct watch w = {.want = (unsigned)atoi(argv[4])};
                podnet_kube_call *call = NULL;
                long status = 0;

                r = podnet_kube_call_start(kube, &rq, on_data, &w, &call, &err);
                if (r < 0) {
                        rc = fail(err, r, "podnet_kube_call_start");
                } else {
                        while (!podnet_kube_call_done(call)) {
                                struct pollfd p[16];
                                int n = podnet_kube_pollfds(kube, p, 16);
                                (void)poll(p, (nfds_t)n, podnet_kube_timeout(kube));
                                podnet_kube_step(kube);
                        }
                        r = podnet_kube_call_result(call, &status, &err);
                        printf("chunks %u status %ld\n", w.chunks, status);
                        if (r < 0 && !(r == -ECANCELED && w.lines >= w.want))
                                rc = fail(err, r, "the watch");
                        else
                                podnet_error_free(err);
                        podnet_kube_call_free(call);
                }
        }
        podnet_kube_free(kube);
        podnet_ctx_unref(ctx);
        return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libcurl or libyaml missing at run time (kube/dl.c loads them with dlopen): the client
 * refuses to start with an error naming the library, and nothing crashes. The sonames are
 * swapped for ones no system has, before the first load (a process loads each once). */
#include "core/internal.h"
#include "kube/dl.h"
#include "kube/kube.h"
#include "tap.h"

#define NO_CURL "libcurl-podnet-test-missing.so.4"
#define NO_YAML "libyaml-podnet-test-missing.so.2"

int main(void)
{
        char dir[] = "/tmp/test-kube-dl-XXXXXX", path[512];
        struct pn_kube_config *c = NULL;
        podnet_kube_config kc = {.size = sizeof(kc)};
        podnet_kube *k = NULL;
        podnet_error *err = NULL;
        podnet_ctx *ctx = NULL;
        FILE *f;

        pn_dl_test_sonames(NO_CURL, NO_YAML);
        if (!mkdtemp(dir) || podnet_ctx_new(&ctx) < 0)
                return 1;
        snprintf(path, sizeof(path), "%s/kc", dir);
        f = fopen(path, "w");
        fputs("apiVersion: v1\nkind: Config\n", f);
        fclose(f);
        ok(pn_kube_config_load(path, NULL, &c, &err) == -ELIBACC && !c && err &&
               strstr(podnet_error_message(err), "Loading " NO_YAML) &&
               strstr(podnet_error_message(err), "needed to talk to a Kubernetes API server"),
           "libyaml missing: a kubeconfig is refused, the library named");
        err = podnet_error_free(err);
        snprintf(path, sizeof(path), "%s/token", dir);
        f = fopen(path, "w");
        fputs("t\n", f);
        fclose(f);
        kc.service_account_dir = dir;
        kc.service_host = "10.96.0.1";
        kc.service_port = "443";
        ok(podnet_kube_new(ctx, &kc, &k, &err) == -ELIBACC && !k && err &&
               strstr(podnet_error_message(err), "Loading " NO_CURL),
           "libcurl missing: podnet_kube_new() refuses, the library named");
        err = podnet_error_free(err);
        ok(podnet_kube_new(ctx, &kc, &k, &err) == -ELIBACC && err &&
               strstr(podnet_error_message(err), NO_CURL),
           "  and again the same way (the failed load is remembered)");
        err = podnet_error_free(err);
        podnet_ctx_unref(ctx);
        unlink(path);
        snprintf(path, sizeof(path), "%s/kc", dir);
        unlink(path);
        rmdir(dir);
        return done_testing();
}

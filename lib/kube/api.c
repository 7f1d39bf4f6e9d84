/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public face of the Kubernetes client (podnet_kube_*, podnet_kube_new(3)): opaque
 * handles and size-prefixed option structs over the internal pn_kube_* calls that the
 * node agent uses directly, so that the internal API may change without breaking the ABI.
 */
#include "kube/kube.h"

struct podnet_kube {
        podnet_ctx *ctx; /* a reference */
        pn_kube *k;
};

struct podnet_kube_call {
        podnet_kube *kube;
        pn_kube_call *c;
        char *what; /* "GET https://server/path", for messages */
};

PODNET_EXPORT int podnet_kube_new(podnet_ctx *ctx, const podnet_kube_config *cfg, podnet_kube **ret,
                                  podnet_error **err)
{
        struct pn_kube_config *kc = NULL;
        podnet_kube_config c;
        podnet_kube *kube;
        int r;

        if (!ctx || !ret || PODNET_OPTS_COPY(c, cfg, offsetof(podnet_kube_config, context)) < 0)
                return -EINVAL;
        *ret = NULL;
        if (c.kubeconfig)
                r = pn_kube_config_load(c.kubeconfig, c.context, &kc, err);
        else
                r = pn_kube_config_in_cluster(c.service_account_dir, c.service_host, c.service_port,
                                              &kc, err);
        if (r < 0)
                return r;
        kube = calloc(1, sizeof(*kube));
        if (!kube) {
                pn_kube_config_free(kc);
                return -ENOMEM;
        }
        r = pn_kube_new(ctx, kc, &kube->k, err); /* (takes kc) */
        if (r < 0) {
                pn_kube_config_free(kc);
                free(kube);
                return r;
        }
        kube->ctx = podnet_ctx_ref(ctx);
        *ret = kube;
        return 0;
}

PODNET_EXPORT podnet_kube *podnet_kube_free(podnet_kube *kube)
{
        if (!kube)
                return NULL;
        pn_kube_free(kube->k);
        podnet_ctx_unref(kube->ctx);
        free(kube);
        return NULL;
}

PODNET_EXPORT const char *podnet_kube_server(const podnet_kube *kube)
{
        return kube ? pn_kube_server(kube->k) : NULL;
}

static int request_opts(const podnet_kube_request_config *req, podnet_kube_request_config *c,
                        struct pn_kube_call_opts *o)
{
        if (PODNET_OPTS_COPY(*c, req, offsetof(podnet_kube_request_config, content_type)) < 0 ||
            !c->path || c->path[0] != '/' || (c->body_len && !c->body))
                return -EINVAL;
        *o = (struct pn_kube_call_opts){
            .method = c->method,
            .content_type = c->content_type,
            .body = c->body,
            .body_len = c->body_len,
            .timeout_s = c->timeout_s,
        };
        return 0;
}

PODNET_EXPORT int podnet_kube_request(podnet_kube *kube, const podnet_kube_request_config *req,
                                      char **body, size_t *body_len, podnet_error **err)
{
        podnet_kube_request_config c;
        struct pn_kube_call_opts o;

        if (!kube || request_opts(req, &c, &o) < 0)
                return -EINVAL;
        if (body)
                *body = NULL;
        if (body_len)
                *body_len = 0;
        return pn_kube_request(kube->k, c.path, &o, body, body_len, err);
}

PODNET_EXPORT int podnet_kube_call_start(podnet_kube *kube, const podnet_kube_request_config *req,
                                         podnet_kube_data_fn fn, void *userdata,
                                         podnet_kube_call **ret, podnet_error **err)
{
        podnet_kube_request_config c;
        struct pn_kube_call_opts o;
        podnet_kube_call *call;
        int r;

        if (!kube || !ret || request_opts(req, &c, &o) < 0)
                return -EINVAL;
        *ret = NULL;
        call = calloc(1, sizeof(*call));
        if (!call)
                return -ENOMEM;
        if (asprintf(&call->what, "%s %s%s", c.method ? c.method : "GET", pn_kube_server(kube->k),
                     c.path) < 0) {
                free(call);
                return -ENOMEM;
        }
        call->kube = kube;
        /* the public callback has the internal one's signature */
        r = pn_kube_call_start(kube->k, c.path, &o, (pn_kube_data_fn)fn, userdata, &call->c, err);
        if (r < 0) {
                free(call->what);
                free(call);
                return r;
        }
        *ret = call;
        return 0;
}

PODNET_EXPORT podnet_kube_call *podnet_kube_call_free(podnet_kube_call *call)
{
        if (!call)
                return NULL;
        pn_kube_call_free(call->c);
        free(call->what);
        free(call);
        return NULL;
}

PODNET_EXPORT int podnet_kube_pollfds(const podnet_kube *kube, struct pollfd *fds, unsigned max)
{
        if (!kube || (!fds && max))
                return -EINVAL;
        return (int)pn_kube_pollfds(kube->k, fds, max);
}

PODNET_EXPORT int podnet_kube_timeout(const podnet_kube *kube)
{
        double w;

        if (!kube)
                return -1;
        w = pn_kube_wait_ms(kube->k);
        if (w < 0)
                return -1;
        /* rounded up: a poll that returns a little early would only spin */
        return w > 86400e3 ? 86400000 : (int)w + (w > (int)w);
}

PODNET_EXPORT void podnet_kube_step(podnet_kube *kube)
{
        if (kube)
                pn_kube_step(kube->k);
}

PODNET_EXPORT int podnet_kube_call_done(const podnet_kube_call *call)
{
        return call ? pn_kube_call_done(call->c) : -EINVAL;
}

PODNET_EXPORT int podnet_kube_call_result(const podnet_kube_call *call, long *status,
                                          podnet_error **err)
{
        const char *msg;
        long st = 0;
        int r;

        if (!call)
                return -EINVAL;
        r = pn_kube_call_result(call->c, &st, &msg);
        if (status)
                *status = st;
        if (r == -EINPROGRESS || r == 0)
                return r;
        if (st)
                return pn_error_plain(err, -r, 0, "%s: HTTP %ld: %s", call->what, st,
                                      msg ? msg : "no message");
        return pn_error_plain(err, -r, 0, "%s: %s", call->what, msg ? msg : strerror(-r));
}

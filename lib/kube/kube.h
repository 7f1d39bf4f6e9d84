/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to libpodnet: a Kubernetes API client. Where to connect and how to prove who we
 * are (config.c: in-cluster service account or a kubeconfig file), and HTTPS requests on
 * libcurl's multi interface (client.c) whose descriptors and timer the caller polls, so that
 * a long WATCH runs inside the node agent's poll loop with no thread. A request's body
 * arrives through a callback, chunk by chunk: nothing is buffered whole.
 */
#ifndef PODNET_KUBE_KUBE_H
#define PODNET_KUBE_KUBE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/internal.h"

/* A kubeconfig's exec credential plugin (users[].user.exec); strings owned, arrays
 * NULL-terminated. */
enum { PN_KUBE_EXEC_IF_AVAILABLE, PN_KUBE_EXEC_NEVER, PN_KUBE_EXEC_ALWAYS };
struct pn_kube_exec {
        char *command;
        char **args;
        char **env;        /* "NAME=value" */
        char *api_version; /* client.authentication.k8s.io/v1 or /v1beta1 */
        int interactive;   /* PN_KUBE_EXEC_*: podnet runs none interactively */
        bool cluster_info; /* provideClusterInfo */
        char *install_hint;
};
void pn_kube_exec_free(struct pn_kube_exec *x);

/* Where the API server is and the credentials; strings are owned. A *_data field holds
 * PEM bytes (decoded from a kubeconfig's base64); a file field a path. token_file is read
 * again before each request whose start finds it changed (a projected token rotates). */
struct pn_kube_config {
        char *server; /* https://host:port */
        char *ca_file, *ca_data;
        size_t ca_len;
        char *cert_file, *cert_data;
        size_t cert_len;
        char *key_file, *key_data;
        size_t key_len;
        char *token, *token_file;
        bool insecure; /* insecure-skip-tls-verify */
        struct pn_kube_exec *exec; /* NULL: none */
};

/* What an exec plugin answered: a token and/or a client certificate and key (PEM), valid
 * until `expires` (unix seconds; 0: no end given). */
struct pn_kube_cred {
        char *token;
        char *cert, *key;
        size_t cert_len, key_len;
        double expires;
};
void pn_kube_cred_done(struct pn_kube_cred *c);
/* Runs the plugin (exec.c says how) for cfg's cluster: 0 with *ret filled, or -errno with a
 * message naming the plugin (it could not run, failed with its stderr, answered no
 * usable ExecCredential). Blocks while it runs (at most 60 s). */
int pn_kube_exec_run(const struct pn_kube_exec *x, const struct pn_kube_config *cfg,
                     struct pn_kube_cred *ret, podnet_error **err);

struct pn_kube_config *pn_kube_config_free(struct pn_kube_config *c);

/* The in-cluster configuration: server https://host:port, CA dir/ca.crt, token file
 * dir/token (dir NULL: /var/run/secrets/kubernetes.io/serviceaccount). host and port are
 * what KUBERNETES_SERVICE_HOST and _PORT say (the caller reads the environment). */
int pn_kube_config_in_cluster(const char *dir, const char *host, const char *port,
                              struct pn_kube_config **ret, podnet_error **err);

/* A kubeconfig file's context (NULL: its current-context): cluster server and CA (file or
 * certificate-authority-data), user token, tokenFile, client certificate and key (files
 * or data). Relative paths are relative to the file's directory. */
int pn_kube_config_load(const char *path, const char *context, struct pn_kube_config **ret,
                        podnet_error **err);

/* Decodes base64 (RFC 4648, padding optional, whitespace ignored): 0 or -EINVAL/-ENOMEM;
 * *ret NUL-terminated, the caller's. */
int pn_base64_decode(const char *in, size_t len, char **ret, size_t *ret_len);
/* Encodes in[0..len) with padding into out (room for (len + 2) / 3 * 4 + 1). */
void pn_base64_encode(const char *in, size_t len, char *out);

/* CLOCK_MONOTONIC in milliseconds. */
double pn_kube_now_ms(void);
/* curl_global_init(), once per process (pn_kube_new() calls it). */
void pn_kube_global_init(void);

/* text percent-encoded for a URL query value (RFC 3986 unreserved kept); the caller's, or
 * NULL when out of memory. */
char *pn_kube_escape(const char *text);

typedef struct pn_kube pn_kube;
typedef struct pn_kube_call pn_kube_call;

/* A client; it takes cfg. 0 or -errno. */
int pn_kube_new(podnet_ctx *ctx, struct pn_kube_config *cfg, pn_kube **ret, podnet_error **err);
pn_kube *pn_kube_free(pn_kube *k);
const char *pn_kube_server(const pn_kube *k);

/* Receives a 2xx response's body as it arrives; a negative return aborts the call (its
 * error then is that value). */
typedef int (*pn_kube_data_fn)(void *userdata, const char *data, size_t len);

/* Call options: method (NULL: GET), a body with its content type (a PATCH's is
 * application/merge-patch+json, application/strategic-merge-patch+json or
 * application/json-patch+json), and a time limit for the whole call (0: none, for a
 * WATCH whose end the server's timeoutSeconds decides). */
struct pn_kube_call_opts {
        const char *method;
        const char *content_type;
        const char *body;
        size_t body_len;
        unsigned timeout_s;
};

/* Starts a call of path (with its query, e.g. /api/v1/nodes?watch=1); it runs as the
 * client is stepped. The call is the caller's (pn_kube_call_free() ends it). */
int pn_kube_call_start(pn_kube *k, const char *path, const struct pn_kube_call_opts *opts,
                       pn_kube_data_fn fn, void *userdata, pn_kube_call **ret, podnet_error **err);
pn_kube_call *pn_kube_call_free(pn_kube_call *c);

/* Fills p (room for max) with the client's descriptors to poll; returns how many. */
nfds_t pn_kube_pollfds(const pn_kube *k, struct pollfd *p, nfds_t max);
/* Milliseconds until pn_kube_step() is due without an event; < 0: none. */
double pn_kube_wait_ms(const pn_kube *k);
/* Moves every call forward without blocking. */
void pn_kube_step(pn_kube *k);

/* 1 when the call ended: *status its HTTP status (0 when none came), the return of
 * pn_kube_call_result() then is 0 for a 2xx status, else -errno with *msg saying what
 * went wrong (the server's Status message, a TLS or connection error); 0 while it runs. */
int pn_kube_call_done(const pn_kube_call *c);
int pn_kube_call_result(const pn_kube_call *c, long *status, const char **msg);
/* Bytes of body received so far. */
size_t pn_kube_call_bytes(const pn_kube_call *c);
/* The HTTP status as soon as the answer's headers came, while the call still runs (0:
 * none yet): a WATCH is established from its 200, before any event. */
long pn_kube_call_status(const pn_kube_call *c);

/* A blocking call for tools and controllers: runs it to its end (polling the client's
 * descriptors), the whole body NUL-terminated into *body (may be NULL: discarded; the
 * caller's). Returns the HTTP status (> 0), or -errno with *err saying why no answer came. */
int pn_kube_request(pn_kube *k, const char *path, const struct pn_kube_call_opts *opts, char **body,
                    size_t *body_len, podnet_error **err);

#endif

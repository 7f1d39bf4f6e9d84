/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Kubernetes client's HTTP side: one libcurl multi handle per client, driven through
 * its socket and timer callbacks (curl_multi_socket_action), so the descriptors to poll
 * and the next timeout are the caller's to wait on: the node agent polls them in its own
 * loop beside the route monitor, and no thread is needed. HTTP/2 where curl and the server
 * agree (a LIST and a WATCH then share one connection). The bearer token file is read again
 * when it changed, before each call: a projected service account token rotates.
 */
#define CURL_DISABLE_TYPECHECK /* its checks are macros over the names dl.h redefines */
#include <curl/curl.h>
#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "kube/dl.h"
#include "kube/kube.h"
#include "json/reader.h"

#define MAX_SOCKS 16
/* What an error response's body may hold that we keep for its message. */
#define ERR_BODY_MAX 16384

struct pn_kube {
        podnet_ctx *ctx;
        struct pn_kube_config *cfg;
        CURLM *multi;
        struct {
                curl_socket_t fd;
                int what;
        } socks[MAX_SOCKS];
        size_t n_socks;
        double timer_at; /* < 0: none */
        char *token;     /* from cfg->token or the token file as last read */
        struct stat token_st;
        bool token_read;
        /* an exec plugin's last answer; stale after its expiry or a 401 */
        struct pn_kube_cred cred;
        bool cred_valid;
};

struct pn_kube_call {
        pn_kube *k;
        CURL *easy;
        struct curl_slist *hdrs;
        char *url;
        pn_kube_data_fn fn;
        void *userdata;
        bool done;
        CURLcode cc;
        long status;
        int abort_r;
        size_t bytes;
        char *err_body;
        size_t err_len;
        char *msg;
        char errbuf[CURL_ERROR_SIZE];
};

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
        pn_kube *k = userp;
        size_t i;

        (void)e;
        (void)socketp;
        for (i = 0; i < k->n_socks && k->socks[i].fd != s; i++)
                ;
        if (what == CURL_POLL_REMOVE) {
                if (i < k->n_socks)
                        k->socks[i] = k->socks[--k->n_socks];
                return 0;
        }
        if (i == k->n_socks) {
                if (k->n_socks == MAX_SOCKS)
                        return -1;
                k->n_socks++;
        }
        k->socks[i].fd = s;
        k->socks[i].what = what;
        return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
        pn_kube *k = userp;

        (void)m;
        k->timer_at = timeout_ms < 0 ? -1 : pn_kube_now_ms() + (double)timeout_ms;
        return 0;
}

double pn_kube_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int pn_kube_new(podnet_ctx *ctx, struct pn_kube_config *cfg, pn_kube **ret, podnet_error **err)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pn_kube *k;
        int r;

        if (!cfg || !cfg->server)
                return pn_error_plain(err, EINVAL, 0, "Kubernetes client: no server");
        r = pn_dl_curl_load(err);
        if (r < 0)
                return r;
        /* curl_global_init() is not thread-safe before 7.84; once per process */
        pthread_once(&once, pn_kube_global_init);
        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->multi = curl_multi_init();
        if (!k->multi) {
                free(k);
                return -ENOMEM;
        }
        k->ctx = ctx;
        k->cfg = cfg;
        k->timer_at = -1;
        curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
        curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, k);
        curl_multi_setopt(k->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(k->multi, CURLMOPT_TIMERDATA, k);
        curl_multi_setopt(k->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
        *ret = k;
        return 0;
}

void pn_kube_global_init(void)
{
        (void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

pn_kube *pn_kube_free(pn_kube *k)
{
        if (!k)
                return NULL;
        curl_multi_cleanup(k->multi);
        pn_kube_config_free(k->cfg);
        pn_kube_cred_done(&k->cred);
        free(k->token);
        free(k);
        return NULL;
}

char *pn_kube_escape(const char *text)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = malloc(strlen(text) * 3 + 1), *o = out;

        if (!out)
                return NULL;
        for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
                if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
                        *o++ = (char)*p;
                } else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        }
        *o = '\0';
        return out;
}

const char *pn_kube_server(const pn_kube *k)
{
        return k->cfg->server;
}

static double now_unix(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The exec plugin's credential: run again when there is none yet, it expired, or the
 * server refused it (a 401). */
static int cred_refresh(pn_kube *k, podnet_error **err)
{
        struct pn_kube_cred c;
        char *tok = NULL;
        int r;

        if (k->cred_valid && (!k->cred.expires || now_unix() < k->cred.expires))
                return 0;
        r = pn_kube_exec_run(k->cfg->exec, k->cfg, &c, err);
        if (r < 0) {
                k->cred_valid = false;
                return r;
        }
        if (c.token && !(tok = strdup(c.token))) {
                pn_kube_cred_done(&c);
                return -ENOMEM;
        }
        pn_kube_cred_done(&k->cred);
        k->cred = c;
        k->cred_valid = true;
        if (k->token)
                explicit_bzero(k->token, strlen(k->token));
        free(k->token);
        k->token = tok;
        pn_info(k->ctx, "Exec credential plugin %s: a new %s%s", k->cfg->exec->command,
                c.token ? "token" : "client certificate",
                c.expires ? " (it states an expiry)" : "");
        return 0;
}

/* The token for the next call: the exec plugin's, the configured one, or the token
 * file's content when the file changed since it was last read. */
static int token_refresh(pn_kube *k, podnet_error **err)
{
        struct stat st;
        _cleanup_close_ int fd = -1;
        char buf[16384];
        ssize_t n;

        if (k->cfg->exec)
                return cred_refresh(k, err);
        if (!k->cfg->token_file) {
                if (!k->token && k->cfg->token && !(k->token = strdup(k->cfg->token)))
                        return -ENOMEM;
                return 0;
        }
        fd = open(k->cfg->token_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return pn_error(err, errno, 0, "Reading the API token %s", k->cfg->token_file);
        if (k->token_read && st.st_ino == k->token_st.st_ino && st.st_size == k->token_st.st_size &&
            st.st_mtim.tv_sec == k->token_st.st_mtim.tv_sec &&
            st.st_mtim.tv_nsec == k->token_st.st_mtim.tv_nsec)
                return 0;
        n = pn_read_full(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return pn_error(err, (int)-n, 0, "Reading the API token %s", k->cfg->token_file);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
                n--;
        buf[n] = '\0';
        free(k->token);
        k->token = strdup(buf);
        explicit_bzero(buf, sizeof(buf));
        if (!k->token)
                return -ENOMEM;
        if (k->token_read)
                pn_info(k->ctx, "API token %s changed: using the new one", k->cfg->token_file);
        k->token_st = st;
        k->token_read = true;
        return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
        pn_kube_call *c = userp;
        size_t len = size * nmemb;

        if (!c->status)
                curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
        c->bytes += len;
        if (c->status >= 200 && c->status < 300) {
                int r = c->fn ? c->fn(c->userdata, data, len) : 0;
                if (r < 0) {
                        c->abort_r = r;
                        return CURL_WRITEFUNC_ERROR;
                }
                return len;
        }
        if (c->err_len < ERR_BODY_MAX) {
                size_t take = len < ERR_BODY_MAX - c->err_len ? len : ERR_BODY_MAX - c->err_len;
                char *b = realloc(c->err_body, c->err_len + take + 1);
                if (b) {
                        memcpy(b + c->err_len, data, take);
                        c->err_len += take;
                        b[c->err_len] = '\0';
                        c->err_body = b;
                }
        }
        return len;
}

#define SET(opt, val)                                                                              \
        do {                                                                                       \
                if (curl_easy_setopt(c->easy, opt, val) != CURLE_OK)                               \
                        goto fail;                                                                 \
        } while (0)

static int blob_opt(CURL *e, CURLoption opt, char *data, size_t len)
{
        struct curl_blob b = {.data = data, .len = len, .flags = CURL_BLOB_COPY};

        return curl_easy_setopt(e, opt, &b) == CURLE_OK ? 0 : -EIO;
}

int pn_kube_call_start(pn_kube *k, const char *path, const struct pn_kube_call_opts *opts,
                       pn_kube_data_fn fn, void *userdata, pn_kube_call **ret, podnet_error **err)
{
        static const struct pn_kube_call_opts none = {0};
        const struct pn_kube_config *cfg = k->cfg;
        pn_kube_call *c;
        size_t slen = strlen(cfg->server);
        char *auth = NULL;
        int r;

        opts = opts ? opts : &none;
        r = token_refresh(k, err);
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->k = k;
        c->fn = fn;
        c->userdata = userdata;
        while (slen > 0 && cfg->server[slen - 1] == '/')
                slen--;
        if (asprintf(&c->url, "%.*s%s", (int)slen, cfg->server, path) < 0) {
                c->url = NULL;
                goto nomem;
        }
        c->easy = curl_easy_init();
        if (!c->easy)
                goto nomem;
        c->hdrs = curl_slist_append(NULL, "Accept: application/json");
        if (!c->hdrs)
                goto nomem;
        if (k->token) {
                struct curl_slist *h;
                if (asprintf(&auth, "Authorization: Bearer %s", k->token) < 0)
                        goto nomem;
                h = curl_slist_append(c->hdrs, auth);
                explicit_bzero(auth, strlen(auth));
                free(auth);
                if (!h)
                        goto nomem;
                c->hdrs = h;
        }
        if (opts->body) {
                struct curl_slist *h;
                char ct[128];
                snprintf(ct, sizeof(ct), "Content-Type: %s",
                         opts->content_type ? opts->content_type : "application/json");
                h = curl_slist_append(c->hdrs, ct);
                if (!h)
                        goto nomem;
                c->hdrs = h;
        }
        SET(CURLOPT_URL, c->url);
        SET(CURLOPT_PRIVATE, c);
        SET(CURLOPT_HTTPHEADER, c->hdrs);
        SET(CURLOPT_WRITEFUNCTION, write_cb);
        SET(CURLOPT_WRITEDATA, c);
        SET(CURLOPT_ERRORBUFFER, c->errbuf);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_PROTOCOLS_STR, "https,http");
        SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        SET(CURLOPT_ACCEPT_ENCODING, ""); /* gzip: a big LIST shrinks about tenfold */
        SET(CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        SET(CURLOPT_TCP_KEEPALIVE, 1L);
        SET(CURLOPT_USERAGENT, "podnet-routes/" PACKAGE_VERSION);
        if (opts->timeout_s)
                SET(CURLOPT_TIMEOUT, (long)opts->timeout_s);
        if (opts->method && !streq(opts->method, "GET"))
                SET(CURLOPT_CUSTOMREQUEST, opts->method);
        if (opts->body) {
                SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)opts->body_len);
                SET(CURLOPT_COPYPOSTFIELDS, opts->body);
        }
        if (cfg->insecure) {
                SET(CURLOPT_SSL_VERIFYPEER, 0L);
                SET(CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (cfg->ca_data && blob_opt(c->easy, CURLOPT_CAINFO_BLOB, cfg->ca_data, cfg->ca_len) < 0)
                goto fail;
        if (!cfg->ca_data && cfg->ca_file)
                SET(CURLOPT_CAINFO, cfg->ca_file);
        if (k->cred_valid && k->cred.cert) { /* an exec plugin's certificate comes first */
                if (blob_opt(c->easy, CURLOPT_SSLCERT_BLOB, k->cred.cert, k->cred.cert_len) < 0 ||
                    blob_opt(c->easy, CURLOPT_SSLKEY_BLOB, k->cred.key, k->cred.key_len) < 0)
                        goto fail;
        } else {
                if (cfg->cert_data &&
                    blob_opt(c->easy, CURLOPT_SSLCERT_BLOB, cfg->cert_data, cfg->cert_len) < 0)
                        goto fail;
                if (!cfg->cert_data && cfg->cert_file)
                        SET(CURLOPT_SSLCERT, cfg->cert_file);
                if (cfg->key_data &&
                    blob_opt(c->easy, CURLOPT_SSLKEY_BLOB, cfg->key_data, cfg->key_len) < 0)
                        goto fail;
                if (!cfg->key_data && cfg->key_file)
                        SET(CURLOPT_SSLKEY, cfg->key_file);
        }
        if (curl_multi_add_handle(k->multi, c->easy) != CURLM_OK)
                goto fail;
        *ret = c;
        return 0;
fail:
        pn_kube_call_free(c);
        return pn_error_plain(err, EIO, 0, "Kubernetes client: setting up a request to %s%s",
                              cfg->server, path);
nomem:
        pn_kube_call_free(c);
        return -ENOMEM;
}
#undef SET

pn_kube_call *pn_kube_call_free(pn_kube_call *c)
{
        if (!c)
                return NULL;
        if (c->easy) {
                if (!c->done)
                        curl_multi_remove_handle(c->k->multi, c->easy);
                curl_easy_cleanup(c->easy);
        }
        curl_slist_free_all(c->hdrs);
        free(c->url);
        free(c->err_body);
        free(c->msg);
        free(c);
        return NULL;
}

nfds_t pn_kube_pollfds(const pn_kube *k, struct pollfd *p, nfds_t max)
{
        nfds_t n = 0;

        for (size_t i = 0; i < k->n_socks && n < max; i++) {
                short ev = 0;
                if (k->socks[i].what & CURL_POLL_IN)
                        ev |= POLLIN;
                if (k->socks[i].what & CURL_POLL_OUT)
                        ev |= POLLOUT;
                p[n++] = (struct pollfd){.fd = k->socks[i].fd, .events = ev};
        }
        return n;
}

double pn_kube_wait_ms(const pn_kube *k)
{
        double left;

        if (k->timer_at < 0)
                return -1;
        left = k->timer_at - pn_kube_now_ms();
        return left > 0 ? left : 0;
}

/* The "message" of a Kubernetes Status object, else the body's start. */
static char *status_message(const char *body, size_t len)
{
        pn_jreader *jr = NULL;
        char *msg = NULL;
        int tok;

        if (!body || !len)
                return NULL;
        if (pn_jreader_new(&jr) == 0) {
                pn_jreader_set_buffer(jr, body, len);
                if (pn_jreader_next(jr) == PN_JTOK_BEGIN_OBJECT) {
                        while ((tok = pn_jreader_next(jr)) == PN_JTOK_KEY) {
                                size_t kl;
                                const char *key = pn_jreader_text(jr, &kl);
                                if (key && kl == 7 && memcmp(key, "message", 7) == 0 &&
                                    pn_jreader_next(jr) == PN_JTOK_STRING) {
                                        const char *t = pn_jreader_text(jr, &kl);
                                        msg = t ? strndup(t, kl) : NULL;
                                        break;
                                }
                                if (pn_jreader_skip(jr) < 0)
                                        break;
                        }
                }
                pn_jreader_free(jr);
        }
        if (!msg)
                msg = strndup(body, len > 200 ? 200 : len);
        return msg;
}

void pn_kube_step(pn_kube *k)
{
        struct pollfd p[MAX_SOCKS];
        nfds_t n = pn_kube_pollfds(k, p, MAX_SOCKS);
        int running;
        CURLMsg *m;

        if (n > 0 && poll(p, n, 0) > 0) {
                for (nfds_t i = 0; i < n; i++) {
                        int ev = 0;
                        if (!p[i].revents)
                                continue;
                        if (p[i].revents & POLLIN)
                                ev |= CURL_CSELECT_IN;
                        if (p[i].revents & POLLOUT)
                                ev |= CURL_CSELECT_OUT;
                        if (p[i].revents & (POLLERR | POLLHUP | POLLNVAL))
                                ev |= CURL_CSELECT_ERR;
                        curl_multi_socket_action(k->multi, p[i].fd, ev, &running);
                }
        }
        if (k->timer_at >= 0 && pn_kube_now_ms() >= k->timer_at) {
                k->timer_at = -1;
                curl_multi_socket_action(k->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        while ((m = curl_multi_info_read(k->multi, &running))) {
                pn_kube_call *c = NULL;
                if (m->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
                if (!c)
                        continue;
                c->cc = m->data.result;
                curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
                curl_multi_remove_handle(k->multi, c->easy);
                c->done = true;
                if (c->cc == CURLE_OK && (c->status < 200 || c->status >= 300))
                        c->msg = status_message(c->err_body, c->err_len);
                if (c->status == 401)
                        k->cred_valid = false; /* an exec plugin runs again */
        }
}

int pn_kube_call_done(const pn_kube_call *c)
{
        return c->done;
}

size_t pn_kube_call_bytes(const pn_kube_call *c)
{
        return c->bytes;
}

long pn_kube_call_status(const pn_kube_call *c)
{
        long status = 0;

        if (c->status || !c->easy)
                return c->status;
        (void)curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
        return status;
}

static int http_errno(long status)
{
        switch (status) {
        case 401:
                return EACCES;
        case 403:
                return EPERM;
        case 404:
                return ENOENT;
        case 409:
                return EEXIST;
        case 410:
                return ESTALE;
        case 429:
                return EAGAIN;
        default:
                return status >= 500 ? EREMOTEIO : EPROTO;
        }
}

int pn_kube_call_result(const pn_kube_call *c, long *status, const char **msg)
{
        *status = c->status;
        *msg = NULL;
        if (!c->done)
                return -EINPROGRESS;
        if (c->cc != CURLE_OK) {
                *msg = c->errbuf[0] ? c->errbuf : curl_easy_strerror(c->cc);
                if (c->abort_r < 0)
                        return c->abort_r;
                switch (c->cc) {
                case CURLE_COULDNT_CONNECT:
                        return -ECONNREFUSED;
                case CURLE_OPERATION_TIMEDOUT:
                        return -ETIMEDOUT;
                case CURLE_PEER_FAILED_VERIFICATION:
                case CURLE_SSL_CONNECT_ERROR:
                case CURLE_SSL_CERTPROBLEM:
                case CURLE_SSL_CACERT_BADFILE:
                        return -EKEYREJECTED;
                case CURLE_COULDNT_RESOLVE_HOST:
                        return -EHOSTUNREACH;
                default:
                        return -EIO;
                }
        }
        if (c->status >= 200 && c->status < 300)
                return 0;
        *msg = c->msg ? c->msg : "no message";
        return -http_errno(c->status);
}

struct body {
        char *buf;
        size_t len, cap;
};

static int body_append(void *userdata, const char *data, size_t len)
{
        struct body *b = userdata;

        if (pn_grow((void **)&b->buf, &b->cap, b->len + len + 1, 1) < 0)
                return -ENOMEM;
        memcpy(b->buf + b->len, data, len);
        b->len += len;
        b->buf[b->len] = '\0';
        return 0;
}

int pn_kube_request(pn_kube *k, const char *path, const struct pn_kube_call_opts *opts, char **body,
                    size_t *body_len, podnet_error **err)
{
        struct body b = {0};
        pn_kube_call *c = NULL;
        const char *msg;
        long status;
        int r;

        for (int attempt = 0;; attempt++) {
                r = pn_kube_call_start(k, path, opts, body ? body_append : NULL, &b, &c, err);
                if (r < 0)
                        return r;
                while (!c->done) {
                        struct pollfd p[MAX_SOCKS];
                        nfds_t n = pn_kube_pollfds(k, p, MAX_SOCKS);
                        double w = pn_kube_wait_ms(k);
                        (void)poll(p, n, w < 0 || w > 1000 ? 1000 : (int)w + 1);
                        pn_kube_step(k);
                }
                r = pn_kube_call_result(c, &status, &msg);
                /* a credential the plugin gave was refused: once more with a fresh one, as
                 * client-go does */
                if (status != 401 || !k->cfg->exec || attempt > 0)
                        break;
                pn_kube_call_free(c);
                c = NULL;
                b.len = 0;
        }
        if (r < 0 && status == 0) {
                r = pn_error_plain(err, -r, 0, "%s %s%s: %s",
                                   opts && opts->method ? opts->method : "GET", k->cfg->server,
                                   path, msg);
                free(b.buf);
        } else if (r < 0 && status >= 200 && status < 300) {
                /* a 2xx status whose body broke off (the connection dropped, the time
                 * limit, out of memory): half a body is no answer */
                r = pn_error_plain(err, -r, 0,
                                   "%s %s%s: HTTP %ld, but the body broke off after %zu bytes: %s",
                                   opts && opts->method ? opts->method : "GET", k->cfg->server,
                                   path, status, pn_kube_call_bytes(c), msg);
                free(b.buf);
        } else {
                r = (int)status;
                if (body) {
                        if (!b.buf && !(b.buf = calloc(1, 1)))
                                r = -ENOMEM;
                        *body = b.buf;
                        if (body_len)
                                *body_len = b.len;
                }
                if (status < 200 || status >= 300)
                        (void)pn_error_plain(err, http_errno(status), 0, "%s %s%s: HTTP %ld: %s",
                                             opts && opts->method ? opts->method : "GET",
                                             k->cfg->server, path, status, msg);
        }
        pn_kube_call_free(c);
        return r;
}

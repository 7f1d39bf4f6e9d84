/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does
 * it: a candidate takes the Lease over only when the record it read has not changed for
 * leaseDurationSeconds by its OWN clock (the holder's renewTime is another machine's
 * clock: never compared with ours); every write is a PUT carrying the resourceVersion
 * read, so of two candidates racing exactly one wins (the other gets 409 Conflict).
 */
#include <jansson.h>
#include <math.h>
#include <time.h>

#include "kube/lease.h"
#include "json/reader.h"

/* A call may take at most the renew deadline (whole seconds, at least 1): a leader
 * blocked longer has lost anyway. */
static unsigned call_timeout_s(const struct pn_lease *l)
{
        return l->renew_deadline_ms >= 2000 ? (unsigned)(l->renew_deadline_ms / 1000) : 1;
}

static bool name_ok(const char *s, size_t max)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n >= max)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
                      *s == '.'))
                        return false;
        return true;
}

/* The identity is written into JSON as it is: printable ASCII without quote or backslash. */
static bool identity_ok(const char *s, size_t max)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n >= max)
                return false;
        for (; *s; s++)
                if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
                        return false;
        return true;
}

int pn_lease_init(struct pn_lease *l, const struct pn_lease_opts *o, podnet_error **err)
{
        *l = (struct pn_lease){0};
        if (!name_ok(o->ns, sizeof(l->ns)) || !name_ok(o->name, sizeof(l->name)))
                return pn_error_plain(err, EINVAL, 0, "Lease %s/%s: not a valid namespace and name",
                                      o->ns ? o->ns : "", o->name ? o->name : "");
        if (!identity_ok(o->identity, sizeof(l->identity)))
                return pn_error_plain(err, EINVAL, 0,
                                      "Lease identity \"%s\": empty, too long, or not "
                                      "printable ASCII without quotes and backslashes",
                                      o->identity ? o->identity : "");
        if (!(o->retry_period_ms > 0 && o->renew_deadline_ms > o->retry_period_ms &&
              o->duration_ms > o->renew_deadline_ms))
                return pn_error_plain(err, EINVAL, 0,
                                      "Lease duration %.1f s, renew deadline %.1f s, retry "
                                      "period %.1f s: each must be longer than the next",
                                      o->duration_ms / 1000, o->renew_deadline_ms / 1000,
                                      o->retry_period_ms / 1000);
        snprintf(l->ns, sizeof(l->ns), "%s", o->ns);
        snprintf(l->name, sizeof(l->name), "%s", o->name);
        snprintf(l->identity, sizeof(l->identity), "%s", o->identity);
        l->duration_ms = o->duration_ms;
        l->renew_deadline_ms = o->renew_deadline_ms;
        l->retry_period_ms = o->retry_period_ms;
        return 0;
}

static bool record_eq(const struct pn_lease_record *a, const struct pn_lease_record *b)
{
        return streq(a->holder, b->holder) && a->duration_s == b->duration_s &&
               a->transitions == b->transitions && streq(a->acquire_time, b->acquire_time) &&
               streq(a->renew_time, b->renew_time);
}

enum pn_lease_verdict pn_lease_decide(struct pn_lease *l, const struct pn_lease_record *got,
                                      const char *rv, double now)
{
        if (!got) {
                l->have_observed = false;
                l->rv[0] = '\0';
                return PN_LEASE_CREATE;
        }
        if (!l->have_observed || !record_eq(&l->observed, got)) {
                l->observed = *got;
                l->observed_at = now;
                l->have_observed = true;
        }
        snprintf(l->rv, sizeof(l->rv), "%s", rv ? rv : "");
        if (streq(got->holder, l->identity))
                return PN_LEASE_RENEW;
        if (got->holder[0] && l->observed_at + (double)got->duration_s * 1000 > now)
                return PN_LEASE_WAIT;
        return PN_LEASE_TAKE;
}

void pn_lease_next(const struct pn_lease *l, enum pn_lease_verdict v, const char *wall_time,
                   struct pn_lease_record *out)
{
        *out = (struct pn_lease_record){
            .duration_s = (unsigned)ceil(l->duration_ms / 1000),
        };
        snprintf(out->holder, sizeof(out->holder), "%s", l->identity);
        snprintf(out->renew_time, sizeof(out->renew_time), "%s", wall_time);
        if (v == PN_LEASE_RENEW) {
                snprintf(out->acquire_time, sizeof(out->acquire_time), "%s",
                         l->observed.acquire_time);
                out->transitions = l->observed.transitions;
        } else {
                snprintf(out->acquire_time, sizeof(out->acquire_time), "%s", wall_time);
                out->transitions = v == PN_LEASE_TAKE ? l->observed.transitions + 1 : 0;
        }
}

void pn_lease_won(struct pn_lease *l, const struct pn_lease_record *rec, const char *rv,
                  double started)
{
        l->observed = *rec;
        l->have_observed = true;
        l->observed_at = started;
        snprintf(l->rv, sizeof(l->rv), "%s", rv ? rv : "");
        l->leading = true;
        l->renewed_at = started;
}

bool pn_lease_valid(const struct pn_lease *l, double now)
{
        return l->leading && now - l->renewed_at < l->renew_deadline_ms;
}

char *pn_lease_format(const struct pn_lease *l, const struct pn_lease_record *rec, const char *rv)
{
        /* built with jansson: the names and identities come from options, the
         * resourceVersion from the server, and any of them may hold a quote */
        json_t *meta = json_pack("{s:s, s:s}", "name", l->name, "namespace", l->ns);
        json_t *spec = json_pack("{s:s, s:I, s:I}", "holderIdentity", rec->holder,
                                 "leaseDurationSeconds", (json_int_t)rec->duration_s,
                                 "leaseTransitions", (json_int_t)rec->transitions);
        json_t *lease = NULL;
        char *out = NULL;

        if (!meta || !spec || (rv && json_object_set_new(meta, "resourceVersion",
                                                          json_string(rv)) < 0))
                goto out;
        if (rec->acquire_time[0] && rec->renew_time[0] &&
            (json_object_set_new(spec, "acquireTime", json_string(rec->acquire_time)) < 0 ||
             json_object_set_new(spec, "renewTime", json_string(rec->renew_time)) < 0))
                goto out;
        lease = json_pack("{s:s, s:s, s:O, s:O}", "apiVersion", "coordination.k8s.io/v1", "kind",
                          "Lease", "metadata", meta, "spec", spec);
        if (lease)
                out = json_dumps(lease, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
        json_decref(lease);
        json_decref(meta);
        json_decref(spec);
        return out;
}

/* The string or number value after a key, into buf; false for another type. */
static bool read_scalar(pn_jreader *jr, char *buf, size_t size)
{
        int tok = pn_jreader_next(jr);
        const char *t;
        size_t len;

        if (tok == PN_JTOK_NULL) {
                buf[0] = '\0';
                return true;
        }
        if (tok != PN_JTOK_STRING && tok != PN_JTOK_NUMBER)
                return false;
        t = pn_jreader_text(jr, &len);
        if (!t || len >= size)
                return false;
        memcpy(buf, t, len);
        buf[len] = '\0';
        return true;
}

static bool key_is(const char *key, size_t kl, const char *want)
{
        return kl == strlen(want) && memcmp(key, want, kl) == 0;
}

static int read_uint(pn_jreader *jr, unsigned *v)
{
        char buf[32], *end;
        unsigned long x;

        if (!read_scalar(jr, buf, sizeof(buf)))
                return -EBADMSG;
        if (!buf[0]) {
                *v = 0;
                return 0;
        }
        errno = 0;
        x = strtoul(buf, &end, 10);
        if (errno || *end || x > 0xffffffffUL)
                return -EBADMSG;
        *v = (unsigned)x;
        return 0;
}

int pn_lease_parse(const char *body, size_t len, struct pn_lease_record *rec, char *rv,
                   size_t rv_size)
{
        pn_jreader *jr = NULL;
        int tok, r = 0;

        *rec = (struct pn_lease_record){0};
        rv[0] = '\0';
        if (pn_jreader_new(&jr) < 0)
                return -ENOMEM;
        pn_jreader_set_buffer(jr, body, len);
        if (pn_jreader_next(jr) != PN_JTOK_BEGIN_OBJECT) {
                r = -EBADMSG;
                goto out;
        }
        while (r == 0 && (tok = pn_jreader_next(jr)) == PN_JTOK_KEY) {
                size_t kl;
                const char *key = pn_jreader_text(jr, &kl);
                bool meta = key && key_is(key, kl, "metadata"),
                     spec = key && key_is(key, kl, "spec");

                if (!meta && !spec) {
                        r = pn_jreader_skip(jr) < 0 ? -EBADMSG : 0;
                        continue;
                }
                if (pn_jreader_next(jr) != PN_JTOK_BEGIN_OBJECT) {
                        r = -EBADMSG;
                        break;
                }
                while (r == 0 && (tok = pn_jreader_next(jr)) == PN_JTOK_KEY) {
                        const char *k = pn_jreader_text(jr, &kl);
                        if (!k)
                                r = -EBADMSG;
                        else if (meta && key_is(k, kl, "resourceVersion"))
                                r = read_scalar(jr, rv, rv_size) ? 0 : -EBADMSG;
                        else if (spec && key_is(k, kl, "holderIdentity"))
                                r = read_scalar(jr, rec->holder, sizeof(rec->holder)) ? 0
                                                                                      : -EBADMSG;
                        else if (spec && key_is(k, kl, "leaseDurationSeconds"))
                                r = read_uint(jr, &rec->duration_s);
                        else if (spec && key_is(k, kl, "leaseTransitions"))
                                r = read_uint(jr, &rec->transitions);
                        else if (spec && key_is(k, kl, "acquireTime"))
                                r = read_scalar(jr, rec->acquire_time, sizeof(rec->acquire_time))
                                        ? 0
                                        : -EBADMSG;
                        else if (spec && key_is(k, kl, "renewTime"))
                                r = read_scalar(jr, rec->renew_time, sizeof(rec->renew_time))
                                        ? 0
                                        : -EBADMSG;
                        else
                                r = pn_jreader_skip(jr) < 0 ? -EBADMSG : 0;
                }
                if (r == 0 && tok != PN_JTOK_END_OBJECT)
                        r = -EBADMSG;
        }
        if (r == 0 && tok != PN_JTOK_END_OBJECT)
                r = -EBADMSG;
out:
        pn_jreader_free(jr);
        return r;
}

void pn_lease_wall_time(char *buf, size_t size)
{
        struct timespec ts;
        struct tm tm;
        char s[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%06ldZ", s, ts.tv_nsec / 1000);
}

/* PUT (rv given) or POST the record; 1 when written, 0 on 409 Conflict, -errno. */
static int write_record(struct pn_lease *l, pn_kube *k, const struct pn_lease_record *rec,
                        const char *rv, double started, podnet_error **err)
{
        _cleanup_free_ char *json = pn_lease_format(l, rec, rv), *body = NULL;
        char path[640];
        struct pn_kube_call_opts o = {.method = rv ? "PUT" : "POST",
                                      .content_type = "application/json",
                                      .timeout_s = call_timeout_s(l)};
        struct pn_lease_record back;
        char back_rv[64];
        size_t len = 0;
        int status;

        if (!json)
                return -ENOMEM;
        o.body = json;
        o.body_len = strlen(json);
        if (rv)
                snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s",
                         l->ns, l->name);
        else
                snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases",
                         l->ns);
        status = pn_kube_request(k, path, &o, &body, &len, err);
        if (status < 0)
                return status;
        if (status == 409) {
                if (err)
                        *err = podnet_error_free(*err);
                return 0;
        }
        if (status < 200 || status >= 300)
                return -EPROTO; /* (*err says it) */
        if (pn_lease_parse(body, len, &back, back_rv, sizeof(back_rv)) < 0)
                return pn_error_plain(err, EBADMSG, 0, "Lease %s/%s: the answer to %s is no Lease",
                                      l->ns, l->name, o.method);
        pn_lease_won(l, rec, back_rv, started);
        return 1;
}

int pn_lease_step(struct pn_lease *l, pn_kube *k, podnet_error **err)
{
        _cleanup_free_ char *body = NULL;
        double started = pn_kube_now_ms();
        struct pn_lease_record got, next;
        struct pn_kube_call_opts o = {.timeout_s = call_timeout_s(l)};
        enum pn_lease_verdict v;
        char path[640], rv[64], now[40];
        size_t len = 0;
        int status, r;

        snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", l->ns,
                 l->name);
        status = pn_kube_request(k, path, &o, &body, &len, err);
        if (status < 0)
                return status;
        if (status == 404) {
                if (err)
                        *err = podnet_error_free(*err);
                v = pn_lease_decide(l, NULL, NULL, started);
        } else if (status != 200) {
                return -EPROTO;
        } else if (pn_lease_parse(body, len, &got, rv, sizeof(rv)) < 0) {
                return pn_error_plain(err, EBADMSG, 0, "Lease %s/%s: the answer is no Lease", l->ns,
                                      l->name);
        } else {
                v = pn_lease_decide(l, &got, rv, started);
        }
        if (v == PN_LEASE_WAIT) {
                l->leading = false;
                return 0;
        }
        pn_lease_wall_time(now, sizeof(now));
        pn_lease_next(l, v, now, &next);
        r = write_record(l, k, &next, v == PN_LEASE_CREATE ? NULL : l->rv, started, err);
        if (r == 0)
                l->leading = false;
        return r;
}

int pn_lease_release(struct pn_lease *l, pn_kube *k, podnet_error **err)
{
        struct pn_lease_record rec;
        char now[40];
        int r;

        if (!l->leading)
                return 0;
        l->leading = false;
        pn_lease_wall_time(now, sizeof(now));
        rec = (struct pn_lease_record){.duration_s = 1, .transitions = l->observed.transitions};
        snprintf(rec.acquire_time, sizeof(rec.acquire_time), "%s", now);
        snprintf(rec.renew_time, sizeof(rec.renew_time), "%s", now);
        r = write_record(l, k, &rec, l->rv, pn_kube_now_ms(), err);
        l->leading = false;
        return r < 0 ? r : 0;
}

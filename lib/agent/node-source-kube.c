/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node agent's Kubernetes source: LIST the Nodes (paginated; the first list from the
 * API server's watch cache), then WATCH from the list's resourceVersion with bookmarks,
 * keeping a map of the nodes' routing facts (name, pod CIDRs, addresses) from the events.
 * Bodies are decoded as they arrive (agent/nodes.h's reader): memory holds the facts, not
 * the JSON. It runs in the agent's poll loop through the client's descriptors (no
 * thread). A change to a routing fact delivers a list (or, to a caller that holds the
 * previous delivery, the change set: the names whose facts changed) at once, or
 * PN_KUBE_COALESCE_MS after the previous delivery in a burst; status heartbeats (MODIFIED with the same facts)
 * deliver nothing. A watch that ends resumes from the last resourceVersion; a 410 Gone or
 * an ERROR event costs one relist; failures back off exponentially with jitter; while the
 * API server does not answer the last map stays in force: "no answer" is never "no nodes".
 */
#include <sys/random.h>

#include "agent/node-source.h"
#include "agent/nodes.h"
#include "kube/kube.h"

#define PAGE_LIMIT 500
#define BACKOFF_MIN_MS 500.0
#define BACKOFF_MAX_MS 30000.0
#define WATCH_TIMEOUT_S 300
/* How long past its timeoutSeconds a watch may stay open before the client ends it: a
 * server or proxy that hangs with the connection alive sends nothing, and TCP keepalive
 * alone would take minutes more to notice. */
#define WATCH_GRACE_S 30
/* A watch answered 200 and still open after this long is up, event or not (a shorter one
 * that ends with no event is a failure: watch_ended()). */
#define WATCH_UP_MS 1000.0

enum kstate { K_IDLE, K_LIST, K_WATCH, K_BACKOFF };

struct kube_source {
        struct pn_node_source s;
        pn_kube *k;
        enum kstate state;
        pn_kube_call *call;
        struct pn_nodes_reader *nr;
        podnet_nodes *listing; /* the nodes of the pages read so far */
        podnet_nodes *event;   /* the node of the event being read */
        size_t event_bytes;
        char *cont;
        char *rv;
        bool cache_list;   /* the next list may come from the watch cache */
        bool relist;       /* the watch must end in a relist */
        podnet_nodes *map; /* sorted by name */
        bool dirty, requested;
        /* names whose routing facts changed since the last delivery (repeats allowed);
         * `whole`: a list must go next (a relist, or too many changes for a set) */
        char **changed;
        size_t n_changed, cap_changed;
        bool whole;
        double deliver_at, last_delivery, retry_at, backoff;
        double listed_at;            /* when the last list completed */
        double watch_at;             /* when the current watch started */
        unsigned long watch_events0; /* st.events then */
        struct pn_kube_source_stats st;
};

static const struct pn_node_source_ops kube_ops;

/* --- the node map ----------------------------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
        return strcmp(((const struct pn_node *)a)->name, ((const struct pn_node *)b)->name);
}

static struct pn_node *map_find(podnet_nodes *m, const char *name, size_t *pos)
{
        size_t lo = 0, hi = m->n;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(m->nodes[mid].name, name);
                if (c == 0) {
                        *pos = mid;
                        return &m->nodes[mid];
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *pos = lo;
        return NULL;
}

static bool cidr_eq(const podnet_cidr *a, const podnet_cidr *b)
{
        if (!a || !b)
                return a == b;
        return podnet_cidr_compare(a, b) == 0;
}

static bool facts_eq(const struct pn_node *a, const struct pn_node *b)
{
        if (a->n_pod_cidrs != b->n_pod_cidrs || !cidr_eq(a->addr4, b->addr4) ||
            !cidr_eq(a->addr6, b->addr6) || a->type4 != b->type4 || a->type6 != b->type6)
                return false;
        for (size_t i = 0; i < a->n_pod_cidrs; i++)
                if (!cidr_eq(a->pod_cidrs[i], b->pod_cidrs[i]))
                        return false;
        return true;
}

static int node_copy(struct pn_node *to, const struct pn_node *from)
{
        *to = (struct pn_node){.type4 = from->type4, .type6 = from->type6, .origin = from->origin};
        to->name = strdup(from->name);
        to->pod_cidrs = calloc(from->n_pod_cidrs ? from->n_pod_cidrs : 1, sizeof(*to->pod_cidrs));
        if (!to->name || !to->pod_cidrs)
                return -ENOMEM;
        for (; to->n_pod_cidrs < from->n_pod_cidrs; to->n_pod_cidrs++)
                if (podnet_cidr_dup(&to->pod_cidrs[to->n_pod_cidrs],
                                    from->pod_cidrs[to->n_pod_cidrs]) < 0)
                        return -ENOMEM;
        if ((from->addr4 && podnet_cidr_dup(&to->addr4, from->addr4) < 0) ||
            (from->addr6 && podnet_cidr_dup(&to->addr6, from->addr6) < 0))
                return -ENOMEM;
        return 0;
}

/* Puts n (moved: *n is emptied) in the map; true when a routing fact changed. */
static int map_upsert(podnet_nodes *m, struct pn_node *n)
{
        size_t pos;
        struct pn_node *old = map_find(m, n->name, &pos);
        bool changed = !old || !facts_eq(old, n);

        if (old) {
                pn_node_done(old);
                *old = *n;
        } else {
                struct pn_node *slot;
                int r = pn_nodes_append(m, &slot);
                if (r < 0)
                        return r;
                memmove(&m->nodes[pos + 1], &m->nodes[pos], (m->n - 1 - pos) * sizeof(*slot));
                m->nodes[pos] = *n;
        }
        *n = (struct pn_node){0};
        return changed;
}

static bool map_remove(podnet_nodes *m, const char *name)
{
        size_t pos;
        struct pn_node *old = map_find(m, name, &pos);

        if (!old)
                return false;
        pn_node_done(old);
        memmove(old, old + 1, (m->n - pos - 1) * sizeof(*old));
        m->n--;
        return true;
}

static podnet_nodes *map_snapshot(const podnet_nodes *m)
{
        podnet_nodes *out = calloc(1, sizeof(*out));

        if (!out)
                return NULL;
        out->nodes = calloc(m->n ? m->n : 1, sizeof(*out->nodes));
        if (!out->nodes)
                return podnet_nodes_free(out);
        for (size_t i = 0; i < m->n; i++) {
                int r = node_copy(&out->nodes[out->n], &m->nodes[i]);
                out->n++;
                if (r < 0)
                        return podnet_nodes_free(out);
                out->nodes[i].origin = i;
        }
        return out;
}

static podnet_nodes *nodes_empty(void)
{
        return calloc(1, sizeof(podnet_nodes));
}

/* --- change sets ------------------------------------------------------------------------ */

static void changed_clear(struct kube_source *ks)
{
        for (size_t i = 0; i < ks->n_changed; i++)
                free(ks->changed[i]);
        ks->n_changed = 0;
        ks->whole = false;
}

/* Remembers that name's facts changed; past PN_KUBE_CHANGES_MAX (or out of memory) the
 * next delivery is a list. */
static void changed_add(struct kube_source *ks, const char *name)
{
        char *c;

        if (ks->whole)
                return;
        if (ks->n_changed >= PN_KUBE_CHANGES_MAX ||
            pn_grow((void **)&ks->changed, &ks->cap_changed, ks->n_changed + 1,
                    sizeof(*ks->changed)) < 0 ||
            !(c = strdup(name))) {
                changed_clear(ks);
                ks->whole = true;
                return;
        }
        ks->changed[ks->n_changed++] = c;
}

static int str_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The change set of the names remembered: each one's facts now, or its deletion. */
static struct pn_node_changes *changes_build(struct kube_source *ks)
{
        struct pn_node_changes *c = calloc(1, sizeof(*c));
        size_t pos, n = 0, i = 0;

        if (!c || !(c->set = nodes_empty()) ||
            !(c->gone = calloc(ks->n_changed + 1, sizeof(*c->gone)))) {
                pn_node_changes_free(c);
                return NULL;
        }
        qsort(ks->changed, ks->n_changed, sizeof(*ks->changed), str_cmp);
        for (; i < ks->n_changed; i++) {
                const struct pn_node *m;
                struct pn_node *slot;

                if (n > 0 && streq(ks->changed[n - 1], ks->changed[i])) {
                        free(ks->changed[i]);
                        continue;
                }
                ks->changed[n++] = ks->changed[i];
                m = map_find(ks->map, ks->changed[n - 1], &pos);
                if (!m) {
                        if (!(c->gone[c->n_gone] = strdup(ks->changed[n - 1])))
                                goto oom;
                        c->n_gone++;
                        continue;
                }
                if (pn_nodes_append(c->set, &slot) < 0)
                        goto oom;
                if (node_copy(slot, m) < 0)
                        goto oom;
        }
        ks->n_changed = n;
        return c;
oom:
        /* names 0..n are kept (freed by the caller's changed_clear()), those after i not */
        for (size_t j = i + 1; j < ks->n_changed; j++)
                free(ks->changed[j]);
        ks->n_changed = n;
        pn_node_changes_free(c);
        return NULL;
}

/* --- calls ------------------------------------------------------------------------------ */

static void set_rv(struct kube_source *ks, const char *rv)
{
        char *c;

        if (!rv || !*rv || !(c = strdup(rv)))
                return;
        free(ks->rv);
        ks->rv = c;
        snprintf(ks->st.resource_version, sizeof(ks->st.resource_version), "%s", rv);
}

static void set_watching(struct kube_source *ks, bool up)
{
        if (up && !ks->st.watching && ks->st.failures > 0)
                pn_info(ks->s.ctx,
                        "Kubernetes API %s answers again (watching from "
                        "resourceVersion %s after %.1f s)",
                        pn_kube_server(ks->k), ks->rv ? ks->rv : "",
                        (pn_now_ms() - ks->st.since_ms) / 1000);
        if (ks->st.watching != up) {
                ks->st.watching = up;
                ks->st.since_ms = pn_now_ms();
        }
}

static int list_data(void *userdata, const char *data, size_t len)
{
        struct kube_source *ks = userdata;
        int r = pn_nodes_reader_feed(ks->nr, data, len, false);

        return r < 0 ? -EBADMSG : 0;
}

static void handle_event(struct kube_source *ks);

static int watch_data(void *userdata, const char *data, size_t len)
{
        struct kube_source *ks = userdata;

        set_watching(ks, true);
        ks->backoff = 0;
        /* The API server writes one event per line (compact JSON holds no raw newline). */
        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t take = nl ? (size_t)(nl - data) : len;
                int r = 0;

                if (!ks->nr) {
                        podnet_nodes_free(ks->event);
                        ks->event = nodes_empty();
                        if (!ks->event || pn_nodes_reader_new(ks->event, true, &ks->nr) < 0)
                                return -ENOMEM;
                        ks->event_bytes = 0;
                }
                ks->event_bytes += take;
                if (take > 0 || (nl && ks->event_bytes > 0))
                        r = pn_nodes_reader_feed(ks->nr, data, take, nl != NULL);
                if (nl && ks->event_bytes > 0)
                        handle_event(ks);
                if (nl || r < 0)
                        ks->nr = pn_nodes_reader_free(ks->nr);
                if (ks->relist)
                        return -ESTALE; /* ends the watch */
                if (r < 0 && !nl) {
                        pn_err(ks->s.ctx, "Kubernetes watch: an event is not valid JSON");
                        ks->relist = true;
                        return -EBADMSG;
                }
                data += take + (nl ? 1 : 0);
                len -= take + (nl ? 1 : 0);
        }
        return 0;
}

static void handle_event(struct kube_source *ks)
{
        _cleanup_error_ podnet_error *err = NULL;
        const char *type = NULL, *rv = NULL, *msg = NULL;
        int r = pn_nodes_reader_end(ks->nr, &err);

        ks->st.events++;
        if (r >= 0)
                r = pn_nodes_reader_event(ks->nr, &type, &rv, &msg, &err);
        if (r < 0 && !type) {
                pn_err(ks->s.ctx, "Kubernetes watch: %s; listing again",
                       err ? podnet_error_message(err) : strerror(-r));
                ks->relist = true;
                return;
        }
        if (streq(type, "ERROR")) {
                pn_warn(ks->s.ctx, "Kubernetes watch: ERROR event: %s; listing again",
                        msg ? msg : "no message");
                ks->relist = true;
                return;
        }
        if (r < 0) /* a Node podnet cannot use: the rest of the map stays */
                pn_warn(ks->s.ctx, "Kubernetes watch: %s event ignored: %s", type,
                        err ? podnet_error_message(err) : strerror(-r));
        else if (streq(type, "DELETED") && ks->event->n == 1) {
                if (map_remove(ks->map, ks->event->nodes[0].name)) {
                        ks->dirty = true;
                        changed_add(ks, ks->event->nodes[0].name);
                }
        } else if ((streq(type, "ADDED") || streq(type, "MODIFIED")) && ks->event->n == 1) {
                _cleanup_free_ char *name = strdup(ks->event->nodes[0].name);
                r = map_upsert(ks->map, &ks->event->nodes[0]);
                if (r > 0) {
                        ks->dirty = true;
                        if (name)
                                changed_add(ks, name);
                        else
                                ks->whole = true;
                }
        }
        pn_debug(ks->s.ctx, "Kubernetes watch: %s event, resourceVersion %s%s", type,
                 rv ? rv : "none", ks->dirty ? ", a routing fact changed" : "");
        if (ks->dirty && ks->deliver_at <= 0) {
                double now = pn_now_ms(), at = ks->last_delivery + PN_KUBE_COALESCE_MS;
                ks->deliver_at = at > now ? at : now;
                ks->st.changes++;
        }
        set_rv(ks, rv);
}

static int start_call(struct kube_source *ks, const char *path, pn_kube_data_fn fn,
                      unsigned timeout_s)
{
        _cleanup_error_ podnet_error *err = NULL;
        struct pn_kube_call_opts o = {.timeout_s = timeout_s};
        int r = pn_kube_call_start(ks->k, path, &o, fn, ks, &ks->call, &err);

        if (r < 0)
                snprintf(ks->st.last_error, sizeof(ks->st.last_error), "%s",
                         err ? podnet_error_message(err) : strerror(-r));
        return r;
}

static void fail(struct kube_source *ks, const char *what, const char *msg);

static void start_list(struct kube_source *ks)
{
        char path[1024];
        int r;

        ks->nr = pn_nodes_reader_free(ks->nr);
        if (!ks->cont) {
                podnet_nodes_free(ks->listing);
                ks->listing = nodes_empty();
        }
        if (!ks->listing || pn_nodes_reader_new(ks->listing, false, &ks->nr) < 0) {
                fail(ks, "Listing nodes", "out of memory");
                return;
        }
        if (ks->cont) {
                _cleanup_free_ char *c = pn_kube_escape(ks->cont);
                if (!c || (size_t)snprintf(path, sizeof(path), "/api/v1/nodes?limit=%d&continue=%s",
                                           PAGE_LIMIT, c) >= sizeof(path)) {
                        fail(ks, "Listing nodes", c ? "continue token too long" : "out of memory");
                        return;
                }
        }
        else if (ks->cache_list)
                snprintf(
                    path, sizeof(path),
                    "/api/v1/nodes?limit=%d&resourceVersion=0&resourceVersionMatch=NotOlderThan",
                    PAGE_LIMIT);
        else
                snprintf(path, sizeof(path), "/api/v1/nodes?limit=%d", PAGE_LIMIT);
        ks->state = K_LIST;
        r = start_call(ks, path, list_data, 600);
        if (r < 0)
                fail(ks, "Listing nodes", ks->st.last_error);
}

static void start_watch(struct kube_source *ks)
{
        char path[512];
        unsigned jitter = 0, timeout_s;

        (void)getrandom(&jitter, sizeof(jitter), GRND_NONBLOCK);
        /* spread the servers' ends of the watches of many nodes over a minute */
        timeout_s = WATCH_TIMEOUT_S + jitter % 60;
        snprintf(path, sizeof(path),
                 "/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=%s"
                 "&timeoutSeconds=%u",
                 ks->rv ? ks->rv : "0", timeout_s);
        ks->relist = false;
        ks->state = K_WATCH;
        ks->watch_at = pn_now_ms();
        ks->watch_events0 = ks->st.events;
        if (start_call(ks, path, watch_data, timeout_s + WATCH_GRACE_S) < 0)
                fail(ks, "Watching nodes", ks->st.last_error);
}

static void fail(struct kube_source *ks, const char *what, const char *msg)
{
        /* (msg may be st.last_error itself, as start_call() left it) */
        _cleanup_free_ char *copy = strdup(msg);
        const char *why = copy ? copy : "out of memory";
        unsigned rnd = 0;
        double wait;

        ks->st.failures++;
        set_watching(ks, false);
        snprintf(ks->st.last_error, sizeof(ks->st.last_error), "%s: %s", what, why);
        ks->backoff = ks->backoff ? ks->backoff * 2 : BACKOFF_MIN_MS;
        if (ks->backoff > BACKOFF_MAX_MS)
                ks->backoff = BACKOFF_MAX_MS;
        (void)getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
        wait = ks->backoff * (0.5 + (rnd % 1000) / 1000.0); /* jitter: 0.5 to 1.5 times */
        ks->retry_at = pn_now_ms() + wait;
        ks->state = K_BACKOFF;
        if (ks->st.synced)
                pn_err(ks->s.ctx,
                       "Kubernetes API %s: %s: %s; retrying in %.1f s, keeping the %zu nodes "
                       "known",
                       pn_kube_server(ks->k), what, why, wait / 1000, ks->map->n);
        else
                pn_err(ks->s.ctx, "Kubernetes API %s: %s: %s; retrying in %.1f s",
                       pn_kube_server(ks->k), what, why, wait / 1000);
}

/* A LIST call ended: the next page, the map replaced and the watch, or a failure. */
static void list_ended(struct kube_source *ks, int r, long status, const char *msg)
{
        _cleanup_error_ podnet_error *err = NULL;
        const char *cont;

        if (r == 0 && pn_nodes_reader_feed(ks->nr, NULL, 0, true) >= 0 &&
            pn_nodes_reader_end(ks->nr, &err) >= 0 &&
            pn_nodes_check_unique(ks->listing, true, &err) >= 0) {
                ks->backoff = 0;
                cont = pn_nodes_reader_continue(ks->nr);
                free(ks->cont);
                ks->cont = cont && *cont ? strdup(cont) : NULL;
                if (ks->cont) {
                        start_list(ks);
                        return;
                }
                set_rv(ks, pn_nodes_reader_rv(ks->nr));
                ks->nr = pn_nodes_reader_free(ks->nr);
                qsort(ks->listing->nodes, ks->listing->n, sizeof(struct pn_node), name_cmp);
                podnet_nodes_free(ks->map);
                ks->map = steal_pointer(&ks->listing);
                ks->cache_list = false;
                ks->st.lists++;
                if (!ks->st.synced)
                        pn_info(ks->s.ctx, "Kubernetes API %s: %zu nodes listed",
                                pn_kube_server(ks->k), ks->map->n);
                ks->st.synced = true;
                ks->listed_at = pn_now_ms();
                ks->dirty = true;
                changed_clear(ks);
                ks->whole = true; /* the map was replaced: a list goes next */
                ks->deliver_at = pn_now_ms();
                start_watch(ks);
                return;
        }
        if (r == 0) /* the body is not a NodeList podnet can read */
                msg = err ? podnet_error_message(err) : "invalid node list";
        if (status == 410 && ks->cont) {
                /* the continue token expired: the pages read are of an older version */
                pn_info(ks->s.ctx, "Kubernetes API: the list's continue token expired; "
                                   "listing again");
                ks->cont = (free(ks->cont), NULL);
                ks->st.relists++;
                start_list(ks);
                return;
        }
        ks->cont = (free(ks->cont), NULL);
        fail(ks, "Listing nodes", msg);
}

static void watch_ended(struct kube_source *ks, int r, long status, const char *msg)
{
        ks->nr = pn_nodes_reader_free(ks->nr);
        if ((ks->relist || status == 410) && pn_now_ms() - ks->listed_at < 1000) {
                /* gone again at once: a server whose lists and watches disagree; no
                 * list after list without a pause */
                ks->relist = true;
                fail(ks, "Watching nodes", "the list's resourceVersion is already gone");
                return;
        }
        if (ks->relist || status == 410) {
                if (status == 410)
                        pn_info(ks->s.ctx,
                                "Kubernetes watch: resourceVersion %s is too old "
                                "(410 Gone); listing again",
                                ks->rv ? ks->rv : "");
                ks->st.relists++;
                set_watching(ks, false);
                start_list(ks);
                return;
        }
        ks->st.reconnects++;
        if (r == 0 && ks->st.events == ks->watch_events0 && pn_now_ms() - ks->watch_at < 1000) {
                /* as client-go's reflector: a watch that ends within a second with no event
                 * (an API server shutting down, a proxy) is started again after a backoff,
                 * not at once: a loop of them would hammer the server and, answered within
                 * one step, never give the agent's own loop back */
                fail(ks, "Watching nodes", "the server ended the watch at once, with no event");
                return;
        }
        if (r == 0) { /* the server's timeoutSeconds, or it closed the stream */
                start_watch(ks);
                return;
        }
        fail(ks, "Watching nodes", msg);
}

/* A quiet cluster sends no event, and an API server a bookmark about once a minute: the
 * watch is up from its 200 (once it has lasted WATCH_UP_MS), not from its first event, or
 * /healthz would fail a watch that works. */
static void watch_check_up(struct kube_source *ks)
{
        if (ks->state == K_WATCH && ks->call && !ks->st.watching && !pn_kube_call_done(ks->call) &&
            pn_now_ms() - ks->watch_at >= WATCH_UP_MS && pn_kube_call_status(ks->call) == 200)
                set_watching(ks, true);
}

static void advance(struct kube_source *ks)
{
        const char *msg;
        long status;
        int r;

        pn_kube_step(ks->k);
        /* A step that starts a call can also end it (the answer may be read at once, on a
         * kept-alive connection to a quick server): look again after every step, or the
         * ended call waits, unnoticed, for an event that never comes. */
        for (;;) {
                if (ks->call && pn_kube_call_done(ks->call)) {
                        enum kstate was = ks->state;
                        char text[512];

                        r = pn_kube_call_result(ks->call, &status, &msg);
                        ks->st.bytes += pn_kube_call_bytes(ks->call);
                        if (r == -ESTALE && was == K_WATCH)
                                r = 0, msg = NULL; /* an ERROR event ended it: relist is set */
                        if (r < 0 && status) {
                                snprintf(text, sizeof(text), "HTTP %ld: %s", status,
                                         msg ? msg : "error");
                                msg = text;
                        }
                        _cleanup_free_ char *keep = msg ? strdup(msg) : NULL;
                        ks->call = pn_kube_call_free(ks->call);
                        if (was == K_LIST)
                                list_ended(ks, r, status, keep ? keep : "");
                        else
                                watch_ended(ks, r, status, keep ? keep : "");
                        pn_kube_step(ks->k); /* (starts what was added) */
                        continue;
                }
                if (ks->state == K_BACKOFF && pn_now_ms() >= ks->retry_at) {
                        if (!ks->st.synced || ks->relist || !ks->rv)
                                start_list(ks);
                        else
                                start_watch(ks); /* resume from the last resourceVersion */
                        pn_kube_step(ks->k);
                        continue;
                }
                break;
        }
        watch_check_up(ks);
}

/* --- the source ------------------------------------------------------------------------- */

static int kube_request(struct pn_node_source *s)
{
        struct kube_source *ks = (struct kube_source *)s;

        ks->requested = true;
        if (ks->state == K_IDLE) {
                ks->cache_list = true;
                start_list(ks);
        }
        return 0;
}

static bool kube_busy(const struct pn_node_source *s)
{
        return ((const struct kube_source *)s)->requested;
}

static nfds_t kube_pollfds(const struct pn_node_source *s, struct pollfd *p)
{
        return pn_kube_pollfds(((const struct kube_source *)s)->k, p, PN_SOURCE_MAX_FDS);
}

static double kube_wait_ms(const struct pn_node_source *s)
{
        const struct kube_source *ks = (const struct kube_source *)s;
        double w = pn_kube_wait_ms(ks->k), now = pn_now_ms(), t;

        if (ks->state == K_BACKOFF) {
                t = ks->retry_at - now;
                if (w < 0 || t < w)
                        w = t < 0 ? 0 : t;
        }
        if (ks->state == K_WATCH && ks->call && !ks->st.watching &&
            (t = ks->watch_at + WATCH_UP_MS - now) > 0 && (w < 0 || t < w))
                w = t; /* (watch_check_up()) */
        if (ks->st.synced && (ks->dirty || ks->requested)) {
                t = ks->dirty && !ks->requested ? ks->deliver_at - now : 0;
                if (w < 0 || t < w)
                        w = t < 0 ? 0 : t;
        }
        return w;
}

/* A delivery is due: a list, or with `changes` (a caller that holds the previous one) a
 * change set where one will do. */
static int kube_deliver(struct kube_source *ks, podnet_nodes **ret,
                        struct pn_node_changes **changes)
{
        double now;

        advance(ks);
        now = pn_now_ms();
        if (ks->st.synced && (ks->requested || (ks->dirty && now >= ks->deliver_at))) {
                *ret = NULL;
                if (changes && !ks->requested && !ks->whole) {
                        *changes = changes_build(ks);
                        if (!*changes)
                                pn_err(ks->s.ctx, "Out of memory");
                } else {
                        *ret = map_snapshot(ks->map);
                        if (!*ret)
                                pn_err(ks->s.ctx, "Out of memory");
                }
                changed_clear(ks);
                ks->requested = ks->dirty = false;
                ks->deliver_at = 0;
                ks->last_delivery = now;
                return 1;
        }
        if (!ks->st.synced && ks->requested && ks->state == K_BACKOFF) {
                /* a caller waits (sync, status, the agent's first pass): nothing to give */
                ks->requested = false;
                *ret = NULL;
                return 1;
        }
        return 0;
}

static int kube_step(struct pn_node_source *s, podnet_nodes **ret)
{
        return kube_deliver((struct kube_source *)s, ret, NULL);
}

static int kube_step_changes(struct pn_node_source *s, podnet_nodes **ret,
                             struct pn_node_changes **changes)
{
        *changes = NULL;
        return kube_deliver((struct kube_source *)s, ret, changes);
}

static void kube_cancel(struct pn_node_source *s)
{
        ((struct kube_source *)s)->requested = false;
}

static void kube_free(struct pn_node_source *s)
{
        struct kube_source *ks = (struct kube_source *)s;

        pn_kube_call_free(ks->call);
        pn_nodes_reader_free(ks->nr);
        pn_kube_free(ks->k);
        podnet_nodes_free(ks->listing);
        podnet_nodes_free(ks->event);
        podnet_nodes_free(ks->map);
        changed_clear(ks);
        free(ks->changed);
        free(ks->cont);
        free(ks->rv);
        free(ks);
}

static const struct pn_node_source_ops kube_ops = {
    .request = kube_request,
    .busy = kube_busy,
    .pollfds = kube_pollfds,
    .wait_ms = kube_wait_ms,
    .step = kube_step,
    .step_changes = kube_step_changes,
    .cancel = kube_cancel,
    .free = kube_free,
};

int pn_node_source_kube_new(podnet_ctx *ctx, struct pn_kube_config *cfg,
                            struct pn_node_source **ret, podnet_error **err)
{
        struct kube_source *ks = calloc(1, sizeof(*ks));
        int r;

        if (!ks || !(ks->map = nodes_empty())) {
                free(ks);
                pn_kube_config_free(cfg);
                return -ENOMEM;
        }
        r = pn_kube_new(ctx, cfg, &ks->k, err);
        if (r < 0) {
                pn_kube_config_free(cfg);
                podnet_nodes_free(ks->map);
                free(ks);
                return r;
        }
        ks->s = (struct pn_node_source){.ops = &kube_ops, .ctx = ctx};
        ks->st.since_ms = pn_now_ms();
        *ret = &ks->s;
        return 0;
}

int pn_node_source_kube_stats(const struct pn_node_source *s, struct pn_kube_source_stats *ret)
{
        const struct kube_source *ks = (const struct kube_source *)s;

        if (!s || s->ops != &kube_ops)
                return -EINVAL;
        *ret = ks->st;
        ret->nodes = ks->map->n;
        ret->server = pn_kube_server(ks->k);
        switch (ks->state) {
        case K_LIST:
                ret->state = "listing";
                break;
        case K_WATCH: /* (a WATCH whose answer has not come yet is not watching) */
                ret->state = ks->st.watching ? "watching" : "connecting";
                break;
        case K_BACKOFF:
                ret->state = "backoff";
                break;
        default:
                ret->state = "idle";
        }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pod CIDR allocator controller (podnet_agent_allocate_watch(), `podnet-routes
 * allocate --watch`): the Nodes come from the agent's Kubernetes source (LIST+WATCH, its
 * node map), the leader is elected on a Lease (kube/lease.h), and only the leader patches
 * Nodes, each with a JSON patch that first tests that the Node still has no pod CIDR, so
 * that a Node given one by another writer meanwhile is never overwritten. A new leader
 * first reads every Node with a consistent LIST: its watch may lag behind the patches of
 * the leader before it, and those CIDRs are taken too.
 */
#include <math.h>

#include "agent/agent.h"
#include "agent/allocator.h"
#include "agent/nodes.h"
#include "kube/kube.h"
#include "kube/lease.h"

#define RETRY_MS 1000.0
#define CONFIRM_MS 30000.0
#define CALL_TIMEOUT_S 10
#define PAGE_LIMIT 500

struct allocator {
        podnet_agent *a;
        podnet_ctx *ctx;
        struct pn_node_source *src;
        pn_kube *k; /* the Lease's and the patches' client (the source has its own) */
        struct pn_lease lease;
        const podnet_cidr *const *cluster;
        const unsigned *masks;
        size_t n_cluster;
        struct pn_alloc_state st;
        podnet_nodes *nodes; /* the source's last list; NULL: none yet */
        bool dirty;          /* a list or a leadership came that no pass has served */
        bool leader;         /* we act as the leader (the Lease valid by our clock) */
        bool need_floor;     /* a new leader's consistent LIST is due */
        double next_lease;
        double pass_at;     /* a failed pass is tried again then (< 0: none) */
        size_t left_logged; /* nodes left without a CIDR when last said */
        char lease_err[256];
};

static const char *errmsg(podnet_error *err, int r)
{
        return err ? podnet_error_message(err) : strerror(r < 0 ? -r : r);
}

static int cidrs_text(podnet_cidr *const *cidrs, size_t n, char *buf, size_t size, bool json)
{
        size_t off = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                char c[PODNET_CIDR_STRLEN];
                int w;
                podnet_cidr_format(cidrs[i], c, sizeof(c));
                w = snprintf(buf + off, size - off, json ? "%s\"%s\"" : "%s%s", i ? "," : "", c);
                if (w < 0 || (size_t)w >= size - off)
                        return -ENAMETOOLONG;
                off += (size_t)w;
        }
        return 0;
}

/* --- the API calls ---------------------------------------------------------------------- */

/* GET one Node: 1 (*ret its facts, the caller's), 0 when it is gone, -errno. */
static int get_node(struct allocator *al, const char *name, podnet_nodes **ret)
{
        _cleanup_error_ podnet_error *err = NULL;
        _cleanup_free_ char *body = NULL;
        struct pn_kube_call_opts o = {.timeout_s = CALL_TIMEOUT_S};
        char path[512];
        size_t len = 0;
        int status;

        snprintf(path, sizeof(path), "/api/v1/nodes/%s", name);
        status = pn_kube_request(al->k, path, &o, &body, &len, &err);
        if (status == 404)
                return 0;
        if (status != 200) {
                pn_warn(al->ctx, "Reading node %s: %s", name,
                        errmsg(err, status < 0 ? status : -EPROTO));
                return status < 0 ? status : -EPROTO;
        }
        status = podnet_nodes_parse(ret, body, len, &err);
        if (status < 0 || podnet_nodes_count(*ret) != 1) {
                pn_warn(al->ctx, "Reading node %s: %s", name,
                        status < 0 ? errmsg(err, status) : "not one Node");
                *ret = podnet_nodes_free(*ret);
                return -EBADMSG;
        }
        return 1;
}

/* Gives node `name` its CIDRs; the outcome is recorded in the pending entries: ours when
 * the patch went through or its outcome is unknown (retried), another writer's when the
 * Node has pod CIDRs already, nothing when it is gone. */
static void patch_node(struct allocator *al, const char *name, podnet_cidr **cidrs, size_t n)
{
        _cleanup_error_ podnet_error *err = NULL;
        _cleanup_nodes_ podnet_nodes *now = NULL;
        _cleanup_free_ char *body = NULL;
        char list[512], first[PODNET_CIDR_STRLEN], text[512], path[512];
        struct pn_kube_call_opts o = {.method = "PATCH",
                                      .content_type = "application/json-patch+json",
                                      .timeout_s = CALL_TIMEOUT_S};
        const podnet_cidr *const *cc = (const podnet_cidr *const *)cidrs;
        int status, r;

        if (n == 0 || cidrs_text(cidrs, n, list, sizeof(list), true) < 0 ||
            cidrs_text(cidrs, n, text, sizeof(text), false) < 0)
                return;
        podnet_cidr_format(cidrs[0], first, sizeof(first));
        /* kube-controller-manager's range allocator sets both fields; the tests make the
         * patch fail (422) when another writer set them since our list */
        if (asprintf(&body,
                     "[{\"op\":\"test\",\"path\":\"/spec/podCIDRs\",\"value\":null},"
                     "{\"op\":\"test\",\"path\":\"/spec/podCIDR\",\"value\":null},"
                     "{\"op\":\"add\",\"path\":\"/spec/podCIDR\",\"value\":\"%s\"},"
                     "{\"op\":\"add\",\"path\":\"/spec/podCIDRs\",\"value\":[%s]}]",
                     first, list) < 0) {
                body = NULL;
                return;
        }
        o.body = body;
        o.body_len = strlen(body);
        snprintf(path, sizeof(path), "/api/v1/nodes/%s", name);
        status = pn_kube_request(al->k, path, &o, NULL, NULL, &err);
        if (status >= 200 && status < 300) {
                pn_info(al->ctx, "Node %s: pod CIDRs %s", name, text);
                /* sent again if no list shows it within CONFIRM_MS: a Node deleted and
                 * made again under its name meanwhile gets them then (the first one's
                 * patch fails the test and confirms them) */
                pn_alloc_pending_add(&al->st, name, cc, n, true, true, pn_now_ms() + CONFIRM_MS);
                return;
        }
        if (status == 404) {
                pn_info(al->ctx, "Node %s is gone: %s not given", name, text);
                pn_alloc_pending_drop(&al->st, name);
                return;
        }
        if (status == 409 || status == 422) {
                /* refused: someone else gave it pod CIDRs since our list; read them */
                r = get_node(al, name, &now);
                if (r == 0) {
                        pn_alloc_pending_drop(&al->st, name);
                        return;
                }
                if (r > 0 && podnet_nodes_n_pod_cidrs(now, 0) > 0) {
                        const struct pn_node *nd = &now->nodes[0];
                        char theirs[512] = "";
                        cidrs_text(nd->pod_cidrs, nd->n_pod_cidrs, theirs, sizeof(theirs), false);
                        pn_warn(al->ctx,
                                "Node %s was given pod CIDRs %s by another writer meanwhile: "
                                "left as it is (%s not given)",
                                name, theirs, text);
                        pn_alloc_pending_add(&al->st, name,
                                             (const podnet_cidr *const *)nd->pod_cidrs,
                                             nd->n_pod_cidrs, true, false, 0);
                        return;
                }
        }
        /* the outcome is not known: the CIDRs stay this node's, and the patch is sent
         * again (the test makes a second one harmless) */
        pn_warn(al->ctx, "Patching node %s with %s: %s; retrying", name, text,
                errmsg(err, status < 0 ? status : -EPROTO));
        pn_alloc_pending_add(&al->st, name, cc, n, true, true, pn_now_ms() + RETRY_MS);
}

struct floor_read {
        podnet_nodes *nodes;
        struct pn_nodes_reader *nr;
};

static int floor_data(void *userdata, const char *data, size_t len)
{
        struct floor_read *f = userdata;

        return pn_nodes_reader_feed(f->nr, data, len, false) < 0 ? -EBADMSG : 0;
}

/* One page of a consistent LIST (no resourceVersion: read from etcd, not the watch
 * cache), read as a stream into f->nodes; *cont the next page's token. 0 or -errno. */
static int list_page(struct allocator *al, struct floor_read *f, const char *cont_in, char **cont)
{
        _cleanup_free_ char *esc = cont_in ? pn_kube_escape(cont_in) : NULL;
        _cleanup_error_ podnet_error *err = NULL;
        struct pn_kube_call_opts o = {.timeout_s = 120};
        pn_kube_call *c = NULL;
        const char *msg, *ct;
        char path[2048];
        long status;
        int r;

        *cont = NULL;
        if (cont_in && !esc)
                return -ENOMEM;
        if ((size_t)snprintf(path, sizeof(path), "/api/v1/nodes?limit=%d%s%s", PAGE_LIMIT,
                             esc ? "&continue=" : "", esc ? esc : "") >= sizeof(path)) {
                /* a continue token cut short would list the wrong page */
                pn_warn(al->ctx, "Listing nodes: the continue token is too long (%zu bytes)",
                        strlen(cont_in));
                return -E2BIG;
        }
        r = pn_nodes_reader_new(f->nodes, false, &f->nr);
        if (r < 0)
                return r;
        r = pn_kube_call_start(al->k, path, &o, floor_data, f, &c, &err);
        if (r < 0) {
                pn_warn(al->ctx, "Listing nodes: %s", errmsg(err, r));
                goto out;
        }
        while (!pn_kube_call_done(c)) {
                struct pollfd p[16];
                nfds_t n = pn_kube_pollfds(al->k, p, 16);
                double w = pn_kube_wait_ms(al->k);
                (void)poll(p, n, w < 0 || w > 1000 ? 1000 : (int)w + 1);
                pn_kube_step(al->k);
        }
        r = pn_kube_call_result(c, &status, &msg);
        if (r == 0 && (pn_nodes_reader_feed(f->nr, NULL, 0, true) < 0 ||
                       pn_nodes_reader_end(f->nr, &err) < 0))
                r = -EBADMSG, msg = errmsg(err, -EBADMSG);
        if (r < 0) {
                pn_warn(al->ctx, "Listing nodes: %s%s%s", status ? "HTTP " : "",
                        status ? "error: " : "", msg ? msg : strerror(-r));
                goto out;
        }
        ct = pn_nodes_reader_continue(f->nr);
        if (ct && *ct && !(*cont = strdup(ct)))
                r = -ENOMEM;
out:
        pn_kube_call_free(c);
        f->nr = pn_nodes_reader_free(f->nr);
        return r;
}

/* A new leader's consistent LIST: the CIDRs of Nodes its source does not show with pod
 * CIDRs yet are taken (pending entries not yet listed). 0 or -errno (then retried). */
static int read_floor(struct allocator *al)
{
        struct floor_read f = {0};
        _cleanup_free_ char *cont = NULL;
        size_t added = 0;
        int r;

        f.nodes = calloc(1, sizeof(*f.nodes));
        if (!f.nodes)
                return -ENOMEM;
        do {
                char *next = NULL;
                r = list_page(al, &f, cont, &next);
                free(cont);
                cont = next;
        } while (r == 0 && cont);
        for (size_t i = 0; r == 0 && i < f.nodes->n; i++) {
                const struct pn_node *n = &f.nodes->nodes[i];
                bool known = false;
                if (n->n_pod_cidrs == 0 || pn_alloc_pending_find(&al->st, n->name))
                        continue;
                for (size_t j = 0; al->nodes && j < al->nodes->n; j++)
                        if (streq(al->nodes->nodes[j].name, n->name)) {
                                known = al->nodes->nodes[j].n_pod_cidrs > 0;
                                break;
                        }
                if (known)
                        continue;
                r = pn_alloc_pending_add(&al->st, n->name, (const podnet_cidr *const *)n->pod_cidrs,
                                         n->n_pod_cidrs, false, false, 0);
                added++;
        }
        pn_debug(al->ctx, "Allocator: %zu nodes listed, %zu CIDRs ahead of the watch", f.nodes->n,
                 added);
        podnet_nodes_free(f.nodes);
        return r;
}

/* --- leading ---------------------------------------------------------------------------- */

static void lease_tick(struct allocator *al)
{
        _cleanup_error_ podnet_error *err = NULL;
        int r = pn_lease_step(&al->lease, al->k, &err);
        double now = pn_now_ms();
        bool valid = pn_lease_valid(&al->lease, now);

        if (r < 0) {
                const char *m = errmsg(err, r);
                if (!streq(m, al->lease_err))
                        pn_warn(al->ctx, "Lease %s/%s: %s", al->lease.ns, al->lease.name, m);
                snprintf(al->lease_err, sizeof(al->lease_err), "%s", m);
        } else {
                al->lease_err[0] = '\0';
        }
        if (valid && !al->leader) {
                pn_info(al->ctx, "Lease %s/%s acquired as %s: allocating pod CIDRs", al->lease.ns,
                        al->lease.name, al->lease.identity);
                al->leader = true;
                al->need_floor = true;
                al->dirty = true;
        } else if (!valid && al->leader) {
                if (r == 0)
                        pn_warn(al->ctx, "Lease %s/%s is held by %s now: stopped allocating",
                                al->lease.ns, al->lease.name,
                                al->lease.observed.holder[0] ? al->lease.observed.holder
                                                             : "nobody");
                else
                        pn_err(al->ctx,
                               "Lease %s/%s not renewed within the renew deadline (%.1f s): "
                               "stopped allocating",
                               al->lease.ns, al->lease.name, al->lease.renew_deadline_ms / 1000);
                al->leader = false;
                al->lease.leading = false;
        }
        al->next_lease = now + al->lease.retry_period_ms;
}

/* Whether we still lead; says so once when the deadline passed without a renewal (a
 * process stopped for a while finds it so when it runs again). */
static bool still_leader(struct allocator *al)
{
        if (!al->leader)
                return false;
        if (pn_lease_valid(&al->lease, pn_now_ms()))
                return true;
        pn_err(al->ctx,
               "Lease %s/%s not renewed within the renew deadline (%.1f s): stopped allocating",
               al->lease.ns, al->lease.name, al->lease.renew_deadline_ms / 1000);
        al->leader = false;
        al->lease.leading = false;
        al->next_lease = pn_now_ms();
        return false;
}

/* Between two patches of a long pass: renews the Lease when it is due (a pass of
 * thousands of patches outlasts the renew deadline), then still_leader(). */
static bool leading_now(struct allocator *al)
{
        if (al->leader && pn_now_ms() >= al->next_lease)
                lease_tick(al);
        return still_leader(al);
}

static double next_retry(const struct allocator *al)
{
        double t = -1;

        for (size_t i = 0; i < al->st.n; i++)
                if (al->st.v[i].retry && (t < 0 || al->st.v[i].retry_at < t))
                        t = al->st.v[i].retry_at;
        return t;
}

static void allocate_pass(struct allocator *al)
{
        _cleanup_error_ podnet_error *err = NULL;
        struct pn_alloc_assign *as = NULL;
        size_t n_as = 0, left = 0;
        double now = pn_now_ms();
        int r;

        if (!al->nodes)
                return;
        al->dirty = false;
        al->pass_at = -1;
        if (al->need_floor) {
                if (read_floor(al) < 0) {
                        al->pass_at = now + RETRY_MS; /* (said why) */
                        return;
                }
                al->need_floor = false;
        }
        pn_alloc_reconcile(&al->st, al->nodes);
        /* patches whose outcome was not known, with the same CIDRs while they are free */
        for (size_t i = 0; i < al->st.n; i++) {
                struct pn_alloc_pending *p = &al->st.v[i];
                _cleanup_free_ char *name = NULL;
                const char *holder;
                if (!p->retry || p->retry_at > now)
                        continue;
                holder = pn_alloc_pending_holder(&al->st, al->nodes, p);
                if (holder) {
                        /* given meanwhile by the leader of another term (the floor LIST or
                         * the watch shows it) or another writer: planned again below */
                        char text[512] = "";
                        cidrs_text(p->cidrs, p->n_cidrs, text, sizeof(text), false);
                        pn_warn(al->ctx,
                                "Node %s: %s not sent again, node %s holds them now; "
                                "planned again",
                                p->name, text, holder);
                        pn_alloc_pending_drop(&al->st, p->name);
                        i = (size_t)-1;
                        continue;
                }
                if (!leading_now(al))
                        return;
                name = strdup(p->name);
                if (!name)
                        return;
                p->retry = false;
                {
                        /* patch_node() replaces the entry: give it a copy */
                        podnet_cidr **c = p->cidrs;
                        size_t n = p->n_cidrs;
                        p->cidrs = NULL;
                        p->n_cidrs = 0;
                        patch_node(al, name, c, n);
                        for (size_t j = 0; j < n; j++)
                                podnet_cidr_free(c[j]);
                        free(c);
                }
                i = (size_t)-1; /* the entries moved: look again from the start */
                now = pn_now_ms();
        }
        r = pn_alloc_plan(al->nodes, &al->st, al->cluster, al->masks, al->n_cluster, &as, &n_as,
                          &left, &err);
        if (r < 0) {
                pn_err(al->ctx, "Allocating pod CIDRs: %s", errmsg(err, r));
                al->pass_at = pn_now_ms() + RETRY_MS;
                return;
        }
        if (left > 0 && left != al->left_logged)
                pn_err(al->ctx, "%s: %zu node%s left without a pod CIDR until a node leaves",
                       errmsg(err, -ENOSPC), left, left == 1 ? "" : "s");
        else if (left == 0 && al->left_logged > 0)
                pn_info(al->ctx, "Every node has pod CIDRs again");
        al->left_logged = left;
        for (size_t i = 0; i < n_as; i++) {
                if (!leading_now(al))
                        break;
                patch_node(al, as[i].name, as[i].cidrs, as[i].n_cidrs);
        }
        pn_alloc_assign_free(as, n_as);
}

/* --- the loop --------------------------------------------------------------------------- */

static int check_config(podnet_agent *a, const podnet_allocator_config *cfg,
                        struct pn_lease_opts *lo, podnet_error **err)
{
        podnet_nodes none = {0};
        struct pn_kube_source_stats ks;

        if (!a->src || pn_node_source_kube_stats(a->src, &ks) < 0)
                return pn_error_plain(err, EINVAL, 0,
                                      "The allocator needs the Kubernetes API as the node source");
        if (a->cfg.n_cluster_cidrs == 0)
                return pn_error_plain(err, EINVAL, 0, "Allocating pod CIDRs needs cluster CIDRs");
        if (!cfg->mask_sizes)
                return pn_error_plain(err, EINVAL, 0, "Allocating pod CIDRs needs mask sizes");
        *lo = (struct pn_lease_opts){
            .ns = cfg->lease_namespace ? cfg->lease_namespace : "kube-system",
            .name = cfg->lease_name ? cfg->lease_name : "podnet-allocator",
            .identity = cfg->identity,
            .duration_ms = cfg->lease_duration_ms ? cfg->lease_duration_ms : 15000,
            .renew_deadline_ms = cfg->renew_deadline_ms ? cfg->renew_deadline_ms : 10000,
            .retry_period_ms = cfg->retry_period_ms ? cfg->retry_period_ms : 2000,
        };
        return podnet_nodes_allocate(&none, a->cfg.cluster_cidrs, cfg->mask_sizes,
                                     a->cfg.n_cluster_cidrs, err);
}

PODNET_EXPORT int podnet_agent_allocate_watch(podnet_agent *agent,
                                              const podnet_allocator_config *cfg, int stop_fd,
                                              podnet_error **err)
{
        podnet_allocator_config c;
        struct pn_kube_config *kc = NULL;
        struct pn_lease_opts lo;
        struct allocator al = {0};
        int r;

        if (!agent ||
            PODNET_OPTS_COPY(
                c, cfg, offsetof(podnet_allocator_config, retry_period_ms) + sizeof(unsigned)) < 0)
                return -EINVAL;
        r = check_config(agent, &c, &lo, err);
        if (r < 0)
                return r;
        al = (struct allocator){.a = agent,
                                .ctx = agent->ctx,
                                .src = agent->src,
                                .cluster = agent->cfg.cluster_cidrs,
                                .masks = c.mask_sizes,
                                .n_cluster = agent->cfg.n_cluster_cidrs,
                                .pass_at = -1};
        r = pn_lease_init(&al.lease, &lo, err);
        if (r < 0)
                return r;
        r = pn_agent_kube_config(agent, &kc, err);
        if (r < 0)
                return r;
        r = pn_kube_new(agent->ctx, kc, &al.k, err);
        if (r < 0) {
                pn_kube_config_free(kc);
                return r;
        }
        pn_info(al.ctx,
                "Allocator %s: candidate for Lease %s/%s (duration %.1f s, renew "
                "deadline %.1f s, retry period %.1f s)",
                al.lease.identity, al.lease.ns, al.lease.name, al.lease.duration_ms / 1000,
                al.lease.renew_deadline_ms / 1000, al.lease.retry_period_ms / 1000);
        (void)al.src->ops->request(al.src);
        for (;;) {
                struct pollfd p[1 + PN_SOURCE_MAX_FDS];
                nfds_t n = 0;
                double now = pn_now_ms(), w = al.src->ops->wait_ms(al.src), t;
                podnet_nodes *list = NULL;

                if (stop_fd >= 0)
                        p[n++] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
                n += al.src->ops->pollfds(al.src, p + n);
                t = al.next_lease - now;
                if (w < 0 || t < w)
                        w = t;
                if (al.leader && (t = next_retry(&al)) >= 0 && t - now < w)
                        w = t - now;
                if (al.leader && al.pass_at >= 0 && al.pass_at - now < w)
                        w = al.pass_at - now;
                if (al.leader && al.dirty && al.nodes)
                        w = 0;
                (void)poll(p, n, w <= 0 ? 0 : (int)ceil(w));
                if (stop_fd >= 0 && p[0].revents)
                        break;
                if (al.src->ops->step(al.src, &list) == 1 && list) {
                        podnet_nodes_free(al.nodes);
                        al.nodes = list;
                        al.dirty = true;
                }
                /* a leader past its renew deadline (a process stopped for a while) stops
                 * before it tries to renew: it leads again only as a new term */
                (void)still_leader(&al);
                if (pn_now_ms() >= al.next_lease)
                        lease_tick(&al);
                if (!still_leader(&al))
                        continue;
                t = next_retry(&al);
                if (al.pass_at >= 0 && al.pass_at <= pn_now_ms())
                        al.dirty = true;
                if (al.dirty || (t >= 0 && t <= pn_now_ms()))
                        allocate_pass(&al);
        }
        if (al.lease.leading) {
                _cleanup_error_ podnet_error *e = NULL;
                r = pn_lease_release(&al.lease, al.k, &e);
                if (r < 0)
                        pn_warn(al.ctx, "Releasing Lease %s/%s: %s", al.lease.ns, al.lease.name,
                                errmsg(e, r));
                else
                        pn_info(al.ctx, "Lease %s/%s released", al.lease.ns, al.lease.name);
        }
        pn_alloc_state_done(&al.st);
        podnet_nodes_free(al.nodes);
        pn_kube_free(al.k);
        return 0;
}

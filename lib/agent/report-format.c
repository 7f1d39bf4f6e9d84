/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the node agent prints, as data: the sync report, the status view (routes and
 * peers with their states) and a pod CIDR allocation. Each is built once as a jansson
 * document; the JSON encoder dumps it and the text encoder walks the same document, so
 * the two formats cannot drift apart.
 */
#include <jansson.h>
#include <stdio.h>
#include <sys/socket.h>

#include "agent/routes.h"
#include "core/internal.h"

/* --- building blocks ---------------------------------------------------------------- */

/* A JSON string, or null for NULL. Text that is not UTF-8 (a path, say) gets '?' for each
 * byte outside ASCII instead of failing the whole document. NULL only without memory. */
static json_t *jstr(const char *s)
{
        _cleanup_free_ char *ascii = NULL;
        json_t *v;

        if (!s)
                return json_null();
        v = json_string(s);
        if (v)
                return v;
        ascii = strdup(s);
        if (!ascii)
                return NULL;
        for (char *p = ascii; *p; p++)
                if ((unsigned char)*p >= 0x80)
                        *p = '?';
        return json_string(ascii);
}

static json_t *jcidr(const podnet_cidr *c)
{
        char buf[PODNET_CIDR_STRLEN];

        return jstr(c && podnet_cidr_format(c, buf, sizeof(buf)) >= 0 ? buf : NULL);
}

static json_t *jaddr(const podnet_cidr *c)
{
        char buf[PODNET_CIDR_STRLEN];

        return jstr(c && podnet_cidr_format_addr(c, buf, sizeof(buf)) >= 0 ? buf : NULL);
}

/* json_object_set_new() and json_array_append_new() take NULL values as failures, so
 * a chain of them reports an allocation that failed anywhere. */
static int set(json_t *obj, const char *key, json_t *v)
{
        return json_object_set_new(obj, key, v) < 0 ? -ENOMEM : 0;
}

static int append(json_t *arr, json_t *v)
{
        return json_array_append_new(arr, v) < 0 ? -ENOMEM : 0;
}

/* Compact, keys in insertion order; reals with 15 digits so that a time rounded to
 * microseconds prints as such (1.234, not 1.2339999999999999). Takes doc. */
static int dump(json_t *doc, char **ret)
{
        char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));

        json_decref(doc);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static const char *sget(const json_t *obj, const char *key)
{
        return json_string_value(json_object_get(obj, key));
}

/* Text from an open_memstream() stream: closes it; the text or -ENOMEM. */
static int memstream_done(FILE *f, char **buf, char **ret)
{
        bool bad = ferror(f);

        if (fclose(f) != 0 || bad) {
                free(*buf);
                *buf = NULL;
                return -ENOMEM;
        }
        *ret = steal_pointer(buf);
        return 0;
}

/* --- the sync report ---------------------------------------------------------------- */

static const podnet_sync_action summary_order[] = {
    PODNET_SYNC_ADDED,       PODNET_SYNC_REPLACED, PODNET_SYNC_DELETED, PODNET_SYNC_KEPT,
    PODNET_SYNC_UNREACHABLE, PODNET_SYNC_SKIPPED,  PODNET_SYNC_REFUSED, PODNET_SYNC_FAILED,
};

/* One route entry's fields as both formats print them: text, or NULL for none. */
struct entry {
        const char *action, *dst, *via, *node, *why;
        char dst_buf[PODNET_CIDR_STRLEN], via_buf[PODNET_CIDR_STRLEN];
};

static void entry_get(const podnet_sync_report *r, size_t i, struct entry *e)
{
        const podnet_cidr *dst = podnet_sync_report_dst(r, i), *via = podnet_sync_report_via(r, i);

        e->action = podnet_sync_action_name(podnet_sync_report_action(r, i));
        e->dst =
            dst && podnet_cidr_format(dst, e->dst_buf, sizeof(e->dst_buf)) >= 0 ? e->dst_buf : NULL;
        e->via = via && podnet_cidr_format_addr(via, e->via_buf, sizeof(e->via_buf)) >= 0
                     ? e->via_buf
                     : NULL;
        e->node = podnet_sync_report_node(r, i);
        e->why = podnet_sync_report_reason(r, i);
}

/* A JSON string value, or null. A string of printable ASCII without '"' or '\' needs no
 * escape and is written as it is, which is what jansson would write; any other goes
 * through jansson (jstr(): invalid UTF-8 becomes '?'). A report of 5,000 routes is
 * 25,000 strings: built as a jansson tree it cost 18,000 instructions a route. */
static int put_jstr(FILE *f, const char *s)
{
        const unsigned char *p;
        json_t *v;
        char *t;

        if (!s) {
                fputs("null", f);
                return 0;
        }
        for (p = (const unsigned char *)s; *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\'; p++)
                ;
        if (*p == '\0') {
                fputc('"', f);
                fwrite(s, 1, (size_t)(p - (const unsigned char *)s), f);
                fputc('"', f);
                return 0;
        }
        v = jstr(s);
        t = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
        json_decref(v);
        if (!t)
                return -ENOMEM;
        fputs(t, f);
        free(t);
        return 0;
}

/* Everything of the report but its routes: {"summary": ..., "firewallCommits": ...,
 * "cniConf": ...} (the last two with a caller's summary s_in). */
static json_t *summary_doc(const podnet_sync_report *r, const podnet_sync_summary *s_in,
                           const podnet_sync_summary *s)
{
        json_t *doc = json_object(), *sum = json_object();
        int k = 0;

        k |= set(doc, "summary", sum);
        for (size_t a = 0; k == 0 && a < ELEMENTSOF(summary_order); a++)
                k |= set(
                    sum, podnet_sync_action_name(summary_order[a]),
                    json_integer((json_int_t)podnet_sync_report_count_action(r, summary_order[a])));
        if (k == 0)
                k |= set(sum, "writes", json_integer((json_int_t)podnet_sync_report_writes(r)));
        if (k == 0 && pn_sync_report_n_paths(r)) {
                size_t n_vxlan = 0, n = pn_sync_report_n_paths(r);
                for (size_t i = 0; i < n; i++) {
                        const char *node, *path, *why;
                        pn_sync_report_path(r, i, &node, &path, &why);
                        n_vxlan += streq(path, "vxlan");
                }
                k |= set(sum, "direct", json_integer((json_int_t)(n - n_vxlan)));
                k |= set(sum, "vxlan", json_integer((json_int_t)n_vxlan));
        }
        if (k == 0 && s_in) {
                /* rounded to microseconds: more is noise */
                double ms = (double)(long long)(s->route_ms * 1000.0 + 0.5) / 1000.0;
                json_t *conf = json_object();

                k |= set(sum, "dryRun", json_boolean(s->dry_run));
                k |= set(sum, "routeSyncMs", json_real(ms));
                k |= set(doc, "firewallCommits",
                         s->fw_commits >= 0 ? json_integer(s->fw_commits) : json_null());
                k |= set(doc, "cniConf", conf);
                if (k == 0) {
                        k |= set(conf, "path", jstr(s->conf_path));
                        k |= set(conf, "written",
                                 s->conf_written >= 0 ? json_boolean(s->conf_written > 0)
                                                      : json_null());
                }
        }
        if (k) {
                json_decref(doc);
                return NULL;
        }
        return doc;
}

PODNET_EXPORT int podnet_sync_report_format_json(const podnet_sync_report *r,
                                                 const podnet_sync_summary *s, char **ret)
{
        _cleanup_free_ char *buf = NULL, *tail = NULL;
        podnet_sync_summary copy;
        size_t size = 0;
        json_t *doc;
        FILE *f;
        int k = 0;

        if (!r || !ret || (s && PODNET_OPTS_COPY(copy, s, sizeof(copy)) < 0))
                return -EINVAL;
        /* {"routes":[...], then the summary document without its opening brace */
        doc = summary_doc(r, s, &copy);
        if (!doc || dump(doc, &tail) < 0)
                return -ENOMEM;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("{\"routes\":[", f);
        for (size_t i = 0; i < podnet_sync_report_count(r); i++) {
                struct entry e;

                entry_get(r, i, &e);
                fputs(i ? ",{\"action\":" : "{\"action\":", f);
                k |= put_jstr(f, e.action);
                fputs(",\"dst\":", f);
                k |= put_jstr(f, e.dst);
                fputs(",\"via\":", f);
                k |= put_jstr(f, e.via);
                fputs(",\"node\":", f);
                k |= put_jstr(f, e.node);
                fputs(",\"reason\":", f);
                k |= put_jstr(f, e.why);
                fputc('}', f);
        }
        if (pn_sync_report_n_paths(r)) {
                fputs("],\"peers\":[", f);
                for (size_t i = 0; i < pn_sync_report_n_paths(r); i++) {
                        const char *node, *path, *why;

                        pn_sync_report_path(r, i, &node, &path, &why);
                        fputs(i ? ",{\"node\":" : "{\"node\":", f);
                        k |= put_jstr(f, node);
                        fputs(",\"path\":", f);
                        k |= put_jstr(f, path);
                        fputs(",\"reason\":", f);
                        k |= put_jstr(f, why);
                        fputc('}', f);
                }
        }
        fprintf(f, "],%s", tail + 1);
        if (k < 0) {
                fclose(f);
                return -ENOMEM;
        }
        return memstream_done(f, &buf, ret);
}

PODNET_EXPORT int podnet_sync_report_format_text(const podnet_sync_report *r,
                                                 const podnet_sync_summary *s, unsigned flags,
                                                 char **ret)
{
        _cleanup_free_ char *buf = NULL;
        podnet_sync_summary copy;
        size_t size = 0;
        json_t *doc, *sum, *v;
        FILE *f;

        if (!r || !ret || (s && PODNET_OPTS_COPY(copy, s, sizeof(copy)) < 0) ||
            (flags & ~(unsigned)PODNET_FORMAT_CHANGES))
                return -EINVAL;
        doc = summary_doc(r, s, &copy);
        f = doc ? open_memstream(&buf, &size) : NULL;
        if (!f) {
                json_decref(doc);
                return -ENOMEM;
        }
        for (size_t i = 0; i < podnet_sync_report_count(r); i++) {
                bool kept = podnet_sync_report_action(r, i) == PODNET_SYNC_KEPT;
                struct entry e;

                if (kept && (flags & PODNET_FORMAT_CHANGES))
                        continue;
                entry_get(r, i, &e);
                fprintf(f, "%-11s %s", e.action, e.dst ? e.dst : "-");
                if (e.via)
                        fprintf(f, " via %s", e.via);
                if (e.node)
                        fprintf(f, " (%s)", e.node);
                if (e.why && !kept)
                        fprintf(f, ": %s", e.why);
                fputc('\n', f);
        }
        for (size_t i = 0; i < pn_sync_report_n_paths(r); i++) {
                const char *node, *path, *why;

                pn_sync_report_path(r, i, &node, &path, &why);
                fprintf(f, "%-11s %s %s (%s)\n", "path", node, path, why);
        }
        sum = json_object_get(doc, "summary");
        if (s) {
                fprintf(f, "%s", json_is_true(json_object_get(sum, "dryRun")) ? "dry run: " : "");
                for (size_t a = 0; a < ELEMENTSOF(summary_order); a++) {
                        const char *name = podnet_sync_action_name(summary_order[a]);
                        fprintf(f, "%s%lld %s", a ? ", " : "",
                                (long long)json_integer_value(json_object_get(sum, name)), name);
                }
                fprintf(f, "; %lld route writes",
                        (long long)json_integer_value(json_object_get(sum, "writes")));
                if (json_object_get(sum, "vxlan"))
                        fprintf(f, ", peers %lld direct %lld vxlan",
                                (long long)json_integer_value(json_object_get(sum, "direct")),
                                (long long)json_integer_value(json_object_get(sum, "vxlan")));
                v = json_object_get(doc, "firewallCommits");
                if (json_is_integer(v))
                        fprintf(f, ", %lld firewall commits", (long long)json_integer_value(v));
                v = json_object_get(json_object_get(doc, "cniConf"), "written");
                if (json_is_boolean(v))
                        fprintf(f, ", CNI conf %s", json_is_true(v) ? "written" : "unchanged");
                fprintf(f, " (routes %.1f ms)\n",
                        json_real_value(json_object_get(sum, "routeSyncMs")));
        }
        json_decref(doc);
        return memstream_done(f, &buf, ret);
}

/* --- status ------------------------------------------------------------------------- */

static const char *state_name(podnet_sync_action a, bool have_nodes)
{
        switch (a) {
        case PODNET_SYNC_KEPT:
                return "ok";
        case PODNET_SYNC_ADDED:
                return "missing";
        case PODNET_SYNC_REPLACED:
                return "wrong-gateway";
        case PODNET_SYNC_DELETED:
                return have_nodes ? "stale" : "installed";
        case PODNET_SYNC_UNREACHABLE:
                return "unreachable";
        case PODNET_SYNC_SKIPPED:
                return "skipped";
        case PODNET_SYNC_REFUSED:
                return "refused";
        default:
                return "failed";
        }
}

/* How bad an entry is for its peer's state: the worst one names it. 0: not counted. */
static int badness(podnet_sync_action a)
{
        switch (a) {
        case PODNET_SYNC_REFUSED:
                return 7;
        case PODNET_SYNC_FAILED:
                return 6;
        case PODNET_SYNC_UNREACHABLE:
                return 5;
        case PODNET_SYNC_SKIPPED:
                return 4;
        case PODNET_SYNC_REPLACED:
                return 3;
        case PODNET_SYNC_ADDED:
                return 2;
        case PODNET_SYNC_KEPT:
                return 1;
        default:
                return 0;
        }
}

/* Report entries that name a node, sorted by (node, index): a peer's entries are one
 * run found by binary search, so the peer states of a large cluster cost n log n. */
struct by_node {
        const char *node;
        size_t i;
};

static int by_node_compare(const void *a, const void *b)
{
        const struct by_node *x = a, *y = b;
        int c = strcmp(x->node, y->node);

        return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* A peer's state: its worst entry's (the first such), with that entry's reason; "self"
 * for this node when nothing is reported on it, else "unknown". */
static const char *peer_state(const podnet_sync_report *r, const struct by_node *v, size_t n,
                              const char *name, bool self, const char **why)
{
        size_t lo = 0, hi = n, best = SIZE_MAX;
        int worst = 0;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(v[mid].node, name) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (; lo < n && streq(v[lo].node, name); lo++) {
                int b = badness(podnet_sync_report_action(r, v[lo].i));
                if (b > worst) {
                        worst = b;
                        best = v[lo].i;
                }
        }
        *why = NULL;
        if (best == SIZE_MAX)
                return self ? "self" : "unknown";
        *why = podnet_sync_report_reason(r, best);
        return state_name(podnet_sync_report_action(r, best), true);
}

static int status_peers(json_t *peers, const podnet_sync_report *r, const podnet_nodes *nodes,
                        const char *node_name)
{
        _cleanup_free_ struct by_node *v = calloc(podnet_sync_report_count(r) + 1, sizeof(*v));
        size_t n = 0;
        int k = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < podnet_sync_report_count(r); i++)
                if (podnet_sync_report_node(r, i))
                        v[n++] = (struct by_node){podnet_sync_report_node(r, i), i};
        qsort(v, n, sizeof(*v), by_node_compare);
        for (size_t i = 0; k == 0 && i < podnet_nodes_count(nodes); i++) {
                const char *name = podnet_nodes_name(nodes, i), *why, *state, *path, *path_why;
                json_t *p = json_object(), *cidrs = json_array(), *addrs = json_array();

                k |= append(peers, p);
                if (k) {
                        json_decref(cidrs);
                        json_decref(addrs);
                        break;
                }
                k |= set(p, "name", jstr(name));
                k |= set(p, "podCIDRs", cidrs);
                k |= set(p, "addresses", addrs);
                for (size_t j = 0; k == 0 && j < podnet_nodes_n_pod_cidrs(nodes, i); j++)
                        k |= append(cidrs, jcidr(podnet_nodes_pod_cidr(nodes, i, j)));
                for (int fam = AF_INET; k == 0 && fam; fam = fam == AF_INET ? AF_INET6 : 0)
                        if (podnet_nodes_address(nodes, i, fam))
                                k |= append(addrs, jaddr(podnet_nodes_address(nodes, i, fam)));
                state = peer_state(r, v, n, name, node_name && streq(name, node_name), &why);
                k |= set(p, "state", jstr(state));
                k |= set(p, "reason", jstr(why));
                if (k == 0 && pn_sync_report_path_of(r, name, &path, &path_why)) {
                        k |= set(p, "path", jstr(path));
                        k |= set(p, "pathReason", jstr(path_why));
                }
        }
        return k ? -ENOMEM : 0;
}

static json_t *status_doc(const podnet_sync_report *r, const podnet_status_config *cfg)
{
        json_t *doc = json_pack("{s:o,s:I,s:I,s:[],s:[]}", "node", jstr(cfg->node_name), "protocol",
                                (json_int_t)cfg->protocol, "table", (json_int_t)cfg->table,
                                "routes", "peers");
        json_t *routes = json_object_get(doc, "routes");
        int k = doc ? 0 : -ENOMEM;

        for (size_t i = 0; k == 0 && i < podnet_sync_report_count(r); i++) {
                podnet_sync_action a = podnet_sync_report_action(r, i);
                json_t *e;

                if (!podnet_sync_report_dst(r, i))
                        continue;
                e = json_object();
                k |= append(routes, e);
                if (k)
                        break;
                k |= set(e, "dst", jcidr(podnet_sync_report_dst(r, i)));
                k |= set(e, "via", jaddr(podnet_sync_report_via(r, i)));
                k |= set(e, "node", jstr(podnet_sync_report_node(r, i)));
                k |= set(e, "state", jstr(state_name(a, cfg->nodes != NULL)));
                k |= set(e, "reason", jstr(podnet_sync_report_reason(r, i)));
        }
        if (k == 0 && cfg->nodes)
                k |= status_peers(json_object_get(doc, "peers"), r, cfg->nodes, cfg->node_name);
        if (k == 0)
                k |= set(doc, "firewall", jstr(cfg->firewall_dump));
        if (k == 0)
                k |= set(doc, "firewallBackend", jstr(cfg->firewall_backend));
        if (k == 0)
                k |= set(doc, "firewallReason", jstr(cfg->firewall_reason));
        if (k) {
                json_decref(doc);
                return NULL;
        }
        return doc;
}

/* The caller's configuration, checked and copied whole whatever its size says. */
static int status_config(const podnet_status_config *in, podnet_status_config *out)
{
        return PODNET_OPTS_COPY(*out, in, offsetof(podnet_status_config, firewall_backend));
}

PODNET_EXPORT int podnet_status_format_json(const podnet_sync_report *r,
                                            const podnet_status_config *cfg, char **ret)
{
        podnet_status_config c;
        json_t *doc;

        if (!ret || status_config(cfg, &c) < 0)
                return -EINVAL;
        doc = status_doc(r, &c);
        return doc ? dump(doc, ret) : -ENOMEM;
}

PODNET_EXPORT int podnet_status_format_text(const podnet_sync_report *r,
                                            const podnet_status_config *cfg, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        podnet_status_config c;
        size_t size = 0, i;
        json_t *doc, *e;
        const char *fw;
        FILE *f;

        if (!ret || status_config(cfg, &c) < 0)
                return -EINVAL;
        doc = status_doc(r, &c);
        f = doc ? open_memstream(&buf, &size) : NULL;
        if (!f) {
                json_decref(doc);
                return -ENOMEM;
        }
        fprintf(f, "ROUTES (protocol %u, table %u)\n", c.protocol, c.table);
        fprintf(f, "%-24s %-26s %-20s %s\n", "DESTINATION", "VIA", "NODE", "STATE");
        json_array_foreach(json_object_get(doc, "routes"), i, e)
        {
                const char *via = sget(e, "via"), *node = sget(e, "node"),
                           *state = sget(e, "state"), *why = sget(e, "reason");

                fprintf(f, "%-24s %-26s %-20s %s", sget(e, "dst"), via ? via : "-",
                        node ? node : "-", state);
                if (why && (streq(state, "unreachable") || streq(state, "refused")))
                        fprintf(f, " (%s)", why);
                fputc('\n', f);
        }
        if (c.nodes) {
                fprintf(f, "\nPEERS\n%-20s %-34s %-26s %s\n", "NODE", "POD CIDRS", "ADDRESS",
                        "STATE");
                json_array_foreach(json_object_get(doc, "peers"), i, e)
                {
                        json_t *cidrs = json_object_get(e, "podCIDRs"), *cidr;
                        const char *addr = json_string_value(
                                       json_array_get(json_object_get(e, "addresses"), 0)),
                                   *state = sget(e, "state"), *why = sget(e, "reason");
                        size_t j;
                        int w = 0;

                        fprintf(f, "%-20s ", sget(e, "name"));
                        json_array_foreach(cidrs, j, cidr)
                        {
                                const char *t = json_string_value(cidr);
                                w += fprintf(f, "%s%s", j ? "," : "", t ? t : "?");
                        }
                        fprintf(f, "%-*s %-26s %s", w ? (w < 34 ? 34 - w : 0) : 34, w ? "" : "-",
                                addr ? addr : "-", state);
                        if (why && streq(state, "refused"))
                                fprintf(f, " (%s)", why);
                        if (sget(e, "path"))
                                fprintf(f, " path %s (%s)", sget(e, "path"), sget(e, "pathReason"));
                        fputc('\n', f);
                }
        }
        if (c.firewall) {
                fw = sget(doc, "firewall");
                fprintf(f, "\nFIREWALL\n");
                if (c.firewall_backend)
                        fprintf(f, "backend %s (%s)\n", c.firewall_backend,
                                c.firewall_reason ? c.firewall_reason : "no reason given");
                fprintf(f, "%s", fw && *fw ? fw : "(no podnet chains)\n");
        }
        json_decref(doc);
        return memstream_done(f, &buf, ret);
}

/* --- allocation --------------------------------------------------------------------- */

static json_t *allocation_doc(const podnet_nodes *nodes, const size_t *idx, size_t n)
{
        json_t *doc = json_pack("{s:[],s:I}", "allocated", "count", (json_int_t)n);
        json_t *list = json_object_get(doc, "allocated");
        int k = doc ? 0 : -ENOMEM;

        for (size_t a = 0; k == 0 && a < n; a++) {
                size_t i = idx[a];
                json_t *cidrs = json_array();

                if (i >= podnet_nodes_count(nodes)) {
                        json_decref(cidrs);
                        json_decref(doc);
                        return NULL;
                }
                k |= append(list, json_pack("{s:o,s:o}", "name", jstr(podnet_nodes_name(nodes, i)),
                                            "podCIDRs", cidrs));
                for (size_t j = 0; k == 0 && j < podnet_nodes_n_pod_cidrs(nodes, i); j++)
                        k |= append(cidrs, jcidr(podnet_nodes_pod_cidr(nodes, i, j)));
        }
        if (k) {
                json_decref(doc);
                return NULL;
        }
        return doc;
}

static int allocation_check(const podnet_nodes *nodes, const size_t *idx, size_t n)
{
        if (!nodes || (n > 0 && !idx))
                return -EINVAL;
        for (size_t a = 0; a < n; a++)
                if (idx[a] >= podnet_nodes_count(nodes))
                        return -EINVAL;
        return 0;
}

PODNET_EXPORT int podnet_nodes_format_allocation_json(const podnet_nodes *nodes, const size_t *idx,
                                                      size_t n, char **ret)
{
        json_t *doc;

        if (!ret || allocation_check(nodes, idx, n) < 0)
                return -EINVAL;
        doc = allocation_doc(nodes, idx, n);
        return doc ? dump(doc, ret) : -ENOMEM;
}

PODNET_EXPORT int podnet_nodes_format_allocation_text(const podnet_nodes *nodes, const size_t *idx,
                                                      size_t n, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, i;
        json_t *doc, *e;
        FILE *f;
        int r = 0;

        if (!ret || allocation_check(nodes, idx, n) < 0)
                return -EINVAL;
        doc = allocation_doc(nodes, idx, n);
        f = doc ? open_memstream(&buf, &size) : NULL;
        if (!f) {
                json_decref(doc);
                return -ENOMEM;
        }
        /* what kubectl needs to apply it: a merge patch of the Node's spec */
        json_array_foreach(json_object_get(doc, "allocated"), i, e)
        {
                json_t *cidrs = json_object_get(e, "podCIDRs");
                json_t *patch = json_pack("{s:{s:O?,s:O}}", "spec", "podCIDR",
                                          json_array_get(cidrs, 0), "podCIDRs", cidrs);
                char *p = patch ? json_dumps(patch, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

                json_decref(patch);
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                fprintf(f, "kubectl patch node %s --type merge -p '%s'\n", sget(e, "name"), p);
                free(p);
        }
        json_decref(doc);
        if (r < 0) {
                fclose(f);
                return r;
        }
        return memstream_done(f, &buf, ret);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node source's state as a running agent records it for `podnet-routes status`, a
 * separate process: run_dir/source-<netns inode> (one agent per namespace, like the
 * locks), "key value" lines, replaced atomically when the state or a count changes (the
 * resourceVersion alone: at most once a second). The record names the agent's pid and
 * its start time (/proc/PID/stat), so that a record left by an agent that died is
 * recognised as such rather than shown as the truth; a clean exit removes it.
 */
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <time.h>

#include "agent/agent.h"
#include "core/file.h"

#define RECORD_EVERY_MS 1000

/* This process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or
 * 0 if it cannot be read. */
static unsigned long long proc_start(long pid)
{
        char path[64], buf[1024], *p;
        unsigned long long start = 0;
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
        /* after ") ": state, then fields 4..21, then starttime */
        if (!p || sscanf(p + 2,
                         "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
                         "%*d %*d %*d %*d %llu",
                         &start) != 1)
                return 0;
        return start;
}

static int record_path(const podnet_agent *a, char *buf, size_t size)
{
        struct stat st;

        if (stat("/proc/self/ns/net", &st) < 0)
                return -errno;
        return (size_t)snprintf(buf, size, "%s/source-%llu", a->run_dir,
                                (unsigned long long)st.st_ino) < size
                   ? 0
                   : -ENAMETOOLONG;
}

/* A message on one line: the record is line-based. */
static void one_line(char *s)
{
        for (; *s; s++)
                if (*s == '\n' || *s == '\r')
                        *s = ' ';
}

void pn_agent_source_record(podnet_agent *a)
{
        struct pn_kube_source_stats ks;
        struct pn_stats_snap snap;
        char key[512], counts[192], text[1024], path[PATH_MAX], err[256] = "";
        const char *kind, *state, *server = "";
        double now = pn_now_ms();

        if (!a->src || a->cfg.dry_run)
                return;
        if (pn_node_source_kube_stats(a->src, &ks) == 0) {
                kind = "kube";
                state = ks.state;
                server = ks.server;
                snprintf(err, sizeof(err), "%s", ks.last_error);
                snprintf(counts, sizeof(counts), "resource_version %s\n",
                         ks.resource_version[0] ? ks.resource_version : "-");
                snprintf(key, sizeof(key),
                         "nodes %zu\nlists %lu\nrelists %lu\nreconnects %lu\nfailures %lu\n",
                         ks.nodes, ks.lists, ks.relists, ks.reconnects, ks.failures);
        } else {
                kind = a->cfg.nodes_cmd ? "cmd" : "file";
                pn_stats_snapshot(&a->stats, &snap);
                state = snap.source_down_since ? "failing" : "polling";
                counts[0] = '\0';
                snprintf(key, sizeof(key), "nodes %zu\nfailures %llu\n",
                         a->nodes ? podnet_nodes_count(a->nodes) : 0,
                         (unsigned long long)snap.source_failures);
        }
        one_line(err);
        if (!streq(state, a->src_state)) {
                snprintf(a->src_state, sizeof(a->src_state), "%s", state);
                a->src_since = pn_now_unix();
        }
        /* (the key part holds what must show at once; the resourceVersion alone, which
         * every event and bookmark moves, is written at most once a second, when the loop
         * runs anyway) */
        snprintf(text, sizeof(text), "kind %s\nserver %s\nstate %s\nsince %.3f\nerror %s\n%s", kind,
                 server, state, a->src_since, err, key);
        if (a->src_key && streq(a->src_key, text) &&
            (now - a->src_written_ms < RECORD_EVERY_MS || streq(a->src_counts, counts)))
                return;
        if (!a->src_start)
                a->src_start = proc_start((long)getpid());
        free(a->src_key);
        a->src_key = strdup(text);
        snprintf(a->src_counts, sizeof(a->src_counts), "%s", counts);
        a->src_written_ms = now;
        if (record_path(a, path, sizeof(path)) < 0)
                return;
        {
                _cleanup_free_ char *all = NULL;
                int n = asprintf(&all, "pid %ld\nstart %llu\n%s%s", (long)getpid(), a->src_start,
                                 text, counts);
                if (n < 0)
                        return;
                if (pn_file_write_atomic(path, all, (size_t)n, 0644) < 0 && !a->src_warned) {
                        a->src_warned = true;
                        pn_warn(a->ctx, "Recording the node source's state in %s: %s", path,
                                strerror(errno));
                }
        }
}

void pn_agent_source_forget(podnet_agent *a)
{
        char path[PATH_MAX];

        free(a->src_key);
        a->src_key = NULL;
        if (a->src_start && record_path(a, path, sizeof(path)) == 0)
                (void)unlink(path);
}

/* --- reading it, for status ----------------------------------------------------------- */

struct rec {
        long pid;
        unsigned long long start;
        char kind[8], server[256], state[16], error[256], rv[64];
        double since;
        long long nodes, lists, relists, reconnects, failures;
};

static void rec_parse(char *text, struct rec *r)
{
        *r =
            (struct rec){.nodes = -1, .lists = -1, .relists = -1, .reconnects = -1, .failures = -1};
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                char *v = strchr(line, ' ');
                if (!v)
                        continue;
                *v++ = '\0';
#define STR(k, f) else if (streq(line, k)) snprintf(r->f, sizeof(r->f), "%s", v)
#define NUM(k, f) else if (streq(line, k)) r->f = strtoll(v, NULL, 10)
                if (streq(line, "pid"))
                        r->pid = strtol(v, NULL, 10);
                else if (streq(line, "start"))
                        r->start = strtoull(v, NULL, 10);
                else if (streq(line, "since"))
                        r->since = strtod(v, NULL);
                STR("kind", kind);
                STR("server", server);
                STR("state", state);
                STR("error", error);
                STR("resource_version", rv);
                NUM("nodes", nodes);
                NUM("lists", lists);
                NUM("relists", relists);
                NUM("reconnects", reconnects);
                NUM("failures", failures);
#undef STR
#undef NUM
        }
}

static json_t *rec_json(const struct rec *r, bool running)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        json_object_set_new(o, "kind", json_string(r->kind));
        if (r->server[0])
                json_object_set_new(o, "server", json_string(r->server));
        json_object_set_new(o, "state", json_string(running ? r->state : "stale"));
        json_object_set_new(o, "agentRunning", json_boolean(running));
        json_object_set_new(o, "pid", json_integer(r->pid));
        if (!running)
                json_object_set_new(o, "lastState", json_string(r->state));
        json_object_set_new(o, "since", json_real(r->since));
        json_object_set_new(o, "lastError", r->error[0] ? json_string(r->error) : json_null());
#define N(k, f)                                                                                    \
        if (r->f >= 0)                                                                             \
                json_object_set_new(o, k, json_integer(r->f));
        N("nodes", nodes);
        N("lists", lists);
        N("relists", relists);
        N("reconnects", reconnects);
        N("failures", failures);
#undef N
        if (r->rv[0] && !streq(r->rv, "-"))
                json_object_set_new(o, "resourceVersion", json_string(r->rv));
        return o;
}

static void rec_text(FILE *f, const struct rec *r, bool running)
{
        char when[64];
        time_t t = (time_t)r->since;
        struct tm tm;
        double age = pn_now_unix() - r->since;

        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
        fprintf(f, "\nNODE SOURCE\n");
        if (!running)
                fprintf(f,
                        "%s%s%s: no agent running (the record of pid %ld is stale: it was "
                        "%s since %s)\n",
                        r->kind, r->server[0] ? " " : "", r->server, r->pid, r->state, when);
        else
                fprintf(f, "%s%s%s: %s since %s (%.0f s)\n", r->kind, r->server[0] ? " " : "",
                        r->server, r->state, when, age < 0 ? 0 : age);
        if (r->nodes >= 0)
                fprintf(f, "nodes %lld", r->nodes);
        if (r->rv[0] && !streq(r->rv, "-"))
                fprintf(f, ", resourceVersion %s", r->rv);
        if (r->lists >= 0)
                fprintf(f, ", lists %lld, relists %lld, reconnects %lld", r->lists, r->relists,
                        r->reconnects);
        if (r->failures >= 0)
                fprintf(f, ", failures %lld", r->failures);
        fputc('\n', f);
        if (r->error[0])
                fprintf(f, "last error: %s\n", r->error);
}

int pn_agent_source_status(podnet_agent *a, bool json, char **text)
{
        char path[PATH_MAX], buf[2048];
        _cleanup_close_ int fd = -1;
        struct rec r;
        bool running;
        ssize_t n;
        char *out = NULL;
        size_t size = 0;

        if (record_path(a, path, sizeof(path)) < 0)
                return 0;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0; /* no agent ran here (or it stopped cleanly) */
        n = pn_read_full(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        rec_parse(buf, &r);
        if (!r.pid || !r.kind[0])
                return 0;
        running = r.start && proc_start(r.pid) == r.start;
        if (json) {
                json_t *o = rec_json(&r, running);
                out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
                json_decref(o);
        } else {
                FILE *f = open_memstream(&out, &size);
                if (!f)
                        return -ENOMEM;
                rec_text(f, &r, running);
                if (fclose(f) != 0) {
                        free(out);
                        out = NULL;
                }
        }
        if (!out)
                return -ENOMEM;
        *text = out;
        return 1;
}

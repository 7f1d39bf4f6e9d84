/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iptables-legacy firewall backend: translates the rule plan into x_tables entries
 * and commits them through libiptc (libip4tc and libip6tc), serialised with iptables(8)
 * by the xtables lock. It decides nothing of the policy: the plan says which chains
 * hold which rules.
 *
 * libiptc keeps global state: every call stores the function it is in a file-static
 * pointer (iptc_fn) that iptc_strerror() reads to choose its text, and
 * iptc_create_chain() uses a static local. So calls are not thread-safe, and the error
 * text must be taken right after the failing call, before any other libiptc call; each
 * of libip4tc and libip6tc has its own copy. Handles are per call here: init, read or
 * modify, commit, free. No handle outlives a public function. Because of that global
 * state, one process-wide mutex (the only global of this file) serialises every
 * transaction, so that threads with separate contexts may call the firewall family.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_comment.h>

#include "firewall/backend.h"

#define XT_TARGET_MASQUERADE "MASQUERADE"
#define XT_INV_SRC IPT_INV_SRCIP /* the same bits as IP6T_INV_SRCIP/DSTIP */
#define XT_INV_DST IPT_INV_DSTIP
#define XT_NAME_MAX 32
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

/* One rule as podnet models it. Anything else a rule may carry (other matches, a
 * goto, target options) marks it foreign: it never equals one of podnet's. */
struct xt_rule {
        uint8_t src[16], smsk[16], dst[16], dmsk[16];
        uint8_t invflags;
        uint16_t proto;
        char iniface[IFNAMSIZ], outiface[IFNAMSIZ];
        bool foreign;
        char comment[XT_MAX_COMMENT_LEN];
        char target[XT_NAME_MAX];
        char other_matches[64]; /* " -m x -m y" of matches podnet does not write */
};

/* What differs between libip4tc and libip6tc. The entry-typed calls need wrappers;
 * the others share their prototypes. */
struct xt_family {
        int family;
        const char *cmd;        /* "iptables" */
        const char *names_path; /* tables loaded in this namespace */
        size_t addr_len;
        size_t entry_size;
        size_t masq_size;
        struct xtc_handle *(*init)(const char *table);
        void (*free)(struct xtc_handle *h);
        int (*commit)(struct xtc_handle *h);
        int (*is_chain)(const char *chain, struct xtc_handle *const h);
        int (*create_chain)(const char *chain, struct xtc_handle *h);
        int (*flush_entries)(const char *chain, struct xtc_handle *h);
        int (*delete_chain)(const char *chain, struct xtc_handle *h);
        int (*delete_num_entry)(const char *chain, unsigned rulenum, struct xtc_handle *h);
        const char *(*strerror)(int err);
        const void *(*first_rule)(const char *chain, struct xtc_handle *h);
        const void *(*next_rule)(const void *prev, struct xtc_handle *h);
        const char *(*get_target)(const void *e, struct xtc_handle *h);
        int (*insert_entry)(const char *chain, const void *e, unsigned rulenum,
                            struct xtc_handle *h);
        int (*append_entry)(const char *chain, const void *e, struct xtc_handle *h);
        /* Writes addresses, flags and offsets of r into the entry header at e. */
        void (*fill_header)(void *e, const struct xt_rule *r, size_t target_offset,
                            size_t next_offset);
        /* Reads them back, with the interfaces, protocol and flags; returns the target
         * offset. */
        size_t (*read_header)(const void *e, struct xt_rule *r, uint8_t *flags);
        void (*fill_masq)(void *data);
};

#define XT_WRAPPERS(tag, pfx)                                                                      \
        static const void *tag##_first_rule(const char *chain, struct xtc_handle *h)               \
        {                                                                                          \
                return pfx##_first_rule(chain, h);                                                 \
        }                                                                                          \
        static const void *tag##_next_rule(const void *prev, struct xtc_handle *h)                 \
        {                                                                                          \
                return pfx##_next_rule(prev, h);                                                   \
        }                                                                                          \
        static const char *tag##_get_target(const void *e, struct xtc_handle *h)                   \
        {                                                                                          \
                return pfx##_get_target(e, h);                                                     \
        }                                                                                          \
        static int tag##_insert_entry(const char *chain, const void *e, unsigned n,                \
                                      struct xtc_handle *h)                                        \
        {                                                                                          \
                return pfx##_insert_entry(chain, e, n, h);                                         \
        }                                                                                          \
        static int tag##_append_entry(const char *chain, const void *e, struct xtc_handle *h)      \
        {                                                                                          \
                return pfx##_append_entry(chain, e, h);                                            \
        }
XT_WRAPPERS(xt4, iptc)
XT_WRAPPERS(xt6, ip6tc)

static void xt4_fill_header(void *p, const struct xt_rule *r, size_t target_offset,
                            size_t next_offset)
{
        struct ipt_entry *e = p;

        memcpy(&e->ip.src, r->src, 4);
        memcpy(&e->ip.smsk, r->smsk, 4);
        memcpy(&e->ip.dst, r->dst, 4);
        memcpy(&e->ip.dmsk, r->dmsk, 4);
        e->ip.invflags = r->invflags;
        e->target_offset = target_offset;
        e->next_offset = next_offset;
}

static size_t xt4_read_header(const void *p, struct xt_rule *r, uint8_t *flags)
{
        const struct ipt_entry *e = p;

        memcpy(r->src, &e->ip.src, 4);
        memcpy(r->smsk, &e->ip.smsk, 4);
        memcpy(r->dst, &e->ip.dst, 4);
        memcpy(r->dmsk, &e->ip.dmsk, 4);
        r->invflags = e->ip.invflags;
        r->proto = e->ip.proto;
        memcpy(r->iniface, e->ip.iniface, IFNAMSIZ);
        memcpy(r->outiface, e->ip.outiface, IFNAMSIZ);
        *flags = e->ip.flags;
        return e->target_offset;
}

static void xt4_fill_masq(void *data)
{
        struct nf_nat_ipv4_multi_range_compat *mr = data;

        mr->rangesize = 1;
}

static void xt6_fill_header(void *p, const struct xt_rule *r, size_t target_offset,
                            size_t next_offset)
{
        struct ip6t_entry *e = p;

        memcpy(&e->ipv6.src, r->src, 16);
        memcpy(&e->ipv6.smsk, r->smsk, 16);
        memcpy(&e->ipv6.dst, r->dst, 16);
        memcpy(&e->ipv6.dmsk, r->dmsk, 16);
        e->ipv6.invflags = r->invflags;
        e->target_offset = target_offset;
        e->next_offset = next_offset;
}

static size_t xt6_read_header(const void *p, struct xt_rule *r, uint8_t *flags)
{
        const struct ip6t_entry *e = p;

        memcpy(r->src, &e->ipv6.src, 16);
        memcpy(r->smsk, &e->ipv6.smsk, 16);
        memcpy(r->dst, &e->ipv6.dst, 16);
        memcpy(r->dmsk, &e->ipv6.dmsk, 16);
        r->invflags = e->ipv6.invflags;
        r->proto = e->ipv6.proto;
        memcpy(r->iniface, e->ipv6.iniface, IFNAMSIZ);
        memcpy(r->outiface, e->ipv6.outiface, IFNAMSIZ);
        *flags = e->ipv6.flags;
        return e->target_offset;
}

static void xt6_fill_masq(void *data)
{
        /* ip6t_MASQUERADE revision 0 takes a struct nf_nat_range; all zero: no options. */
        (void)data;
}

/* xt_rule_parse compares a MASQUERADE target's data in a buffer of the larger size. */
_Static_assert(sizeof(struct nf_nat_ipv4_multi_range_compat) <= sizeof(struct nf_nat_range),
               "MASQUERADE data sizes");

static const struct xt_family xt_families[] = {
    {
        .family = AF_INET,
        .cmd = "iptables",
        .names_path = "/proc/net/ip_tables_names",
        .addr_len = 4,
        .entry_size = sizeof(struct ipt_entry),
        .masq_size = sizeof(struct nf_nat_ipv4_multi_range_compat),
        .init = iptc_init,
        .free = iptc_free,
        .commit = iptc_commit,
        .is_chain = iptc_is_chain,
        .create_chain = iptc_create_chain,
        .flush_entries = iptc_flush_entries,
        .delete_chain = iptc_delete_chain,
        .delete_num_entry = iptc_delete_num_entry,
        .strerror = iptc_strerror,
        .first_rule = xt4_first_rule,
        .next_rule = xt4_next_rule,
        .get_target = xt4_get_target,
        .insert_entry = xt4_insert_entry,
        .append_entry = xt4_append_entry,
        .fill_header = xt4_fill_header,
        .read_header = xt4_read_header,
        .fill_masq = xt4_fill_masq,
    },
    {
        .family = AF_INET6,
        .cmd = "ip6tables",
        .names_path = "/proc/net/ip6_tables_names",
        .addr_len = 16,
        .entry_size = sizeof(struct ip6t_entry),
        .masq_size = sizeof(struct nf_nat_range),
        .init = ip6tc_init,
        .free = ip6tc_free,
        .commit = ip6tc_commit,
        .is_chain = ip6tc_is_chain,
        .create_chain = ip6tc_create_chain,
        .flush_entries = ip6tc_flush_entries,
        .delete_chain = ip6tc_delete_chain,
        .delete_num_entry = ip6tc_delete_num_entry,
        .strerror = ip6tc_strerror,
        .first_rule = xt6_first_rule,
        .next_rule = xt6_next_rule,
        .get_target = xt6_get_target,
        .insert_entry = xt6_insert_entry,
        .append_entry = xt6_append_entry,
        .fill_header = xt6_fill_header,
        .read_header = xt6_read_header,
        .fill_masq = xt6_fill_masq,
    },
};

static const struct xt_family *xt_family_get(int family)
{
        return family == AF_INET6 ? &xt_families[1] : &xt_families[0];
}

/* ---- rules: build, parse, compare, print ---- */

static void xt_prefix(const struct xt_family *f, const podnet_cidr *c, uint8_t *addr, uint8_t *mask)
{
        const uint8_t *a = podnet_cidr_addr(c);
        unsigned plen = podnet_cidr_prefixlen(c);

        memset(mask, 0, 16);
        memset(addr, 0, 16);
        for (size_t i = 0; i < f->addr_len; i++) {
                unsigned bits = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * i : 0;
                mask[i] = bits ? (uint8_t)(0xff << (8 - bits)) : 0;
                addr[i] = a[i] & mask[i];
        }
}

static void xt_rule_init(struct xt_rule *r, const char *target, const char *comment)
{
        memset(r, 0, sizeof(*r));
        snprintf(r->target, sizeof(r->target), "%s", target);
        if (comment)
                snprintf(r->comment, sizeof(r->comment), "%s", comment);
}

static bool xt_rule_eq(const struct xt_rule *a, const struct xt_rule *b)
{
        return !a->foreign && !b->foreign && memcmp(a->src, b->src, 16) == 0 &&
               memcmp(a->smsk, b->smsk, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0 &&
               memcmp(a->dmsk, b->dmsk, 16) == 0 && a->invflags == b->invflags &&
               streq(a->comment, b->comment) && streq(a->target, b->target);
}

static bool xt_is_standard(const char *target)
{
        return !streq(target, XT_TARGET_MASQUERADE);
}

/* A libiptc entry for r (the caller frees it). Standard verdicts and jumps are given
 * by name; libiptc maps them to verdicts and chain offsets. */
static void *xt_rule_build(const struct xt_family *f, const struct xt_rule *r)
{
        size_t msize = 0, tsize, toff;
        struct xt_entry_target *t;
        uint8_t *e;

        if (r->comment[0])
                msize = XT_ALIGN(sizeof(struct xt_entry_match) + sizeof(struct xt_comment_info));
        if (xt_is_standard(r->target))
                tsize = XT_ALIGN(sizeof(struct xt_standard_target));
        else
                tsize = XT_ALIGN(sizeof(struct xt_entry_target) + f->masq_size);
        toff = f->entry_size + msize;
        e = calloc(1, toff + tsize);
        if (!e)
                return NULL;
        f->fill_header(e, r, toff, toff + tsize);
        if (msize) {
                struct xt_entry_match *m = (void *)(e + f->entry_size);
                struct xt_comment_info *ci = (void *)m->data;

                m->u.user.match_size = msize;
                snprintf(m->u.user.name, sizeof(m->u.user.name), "comment");
                snprintf(ci->comment, sizeof(ci->comment), "%s", r->comment);
        }
        t = (void *)(e + toff);
        t->u.user.target_size = tsize;
        /* Names podnet writes are short; a chain name could take all 31 bytes. */
        memcpy(t->u.user.name, r->target, MIN(strlen(r->target), sizeof(t->u.user.name) - 1));
        if (!xt_is_standard(r->target))
                f->fill_masq(t->data);
        return e;
}

/* Parses entry e of handle h into r. */
static void xt_rule_parse(const struct xt_family *f, struct xtc_handle *h, const void *e,
                          struct xt_rule *r)
{
        const uint8_t *base = e;
        size_t off, toff;
        const char *target;
        int n_comments = 0;
        uint8_t flags;

        memset(r, 0, sizeof(*r));
        toff = f->read_header(e, r, &flags);
        r->iniface[IFNAMSIZ - 1] = r->outiface[IFNAMSIZ - 1] = 0;
        if (flags != 0 || r->proto != 0 || r->iniface[0] || r->outiface[0] ||
            (r->invflags & ~(XT_INV_SRC | XT_INV_DST)))
                r->foreign = true;
        for (off = f->entry_size; off + sizeof(struct xt_entry_match) <= toff;) {
                const struct xt_entry_match *m = (const void *)(base + off);
                size_t msize = m->u.match_size;

                if (msize < sizeof(*m))
                        break;
                if (streq(m->u.user.name, "comment") &&
                    msize >= sizeof(*m) + sizeof(struct xt_comment_info) && n_comments++ == 0) {
                        const struct xt_comment_info *ci = (const void *)m->data;
                        snprintf(r->comment, sizeof(r->comment), "%.*s", (int)sizeof(ci->comment),
                                 ci->comment);
                } else {
                        size_t len = strlen(r->other_matches);
                        snprintf(r->other_matches + len, sizeof(r->other_matches) - len, " -m %.*s",
                                 (int)sizeof(m->u.user.name), m->u.user.name);
                        r->foreign = true;
                }
                off += msize;
        }
        target = f->get_target(e, h);
        snprintf(r->target, sizeof(r->target), "%s", target ? target : "");
        if (streq(r->target, XT_TARGET_MASQUERADE)) {
                /* Ours carries no options: compare with what we would write. */
                const struct xt_entry_target *t = (const void *)(base + toff);
                uint8_t want[sizeof(struct nf_nat_range)] = {0};

                f->fill_masq(want);
                if (t->u.target_size < sizeof(*t) + f->masq_size ||
                    memcmp(t->data, want, f->masq_size) != 0)
                        r->foreign = true;
        }
}

static unsigned xt_mask_len(const struct xt_family *f, const uint8_t *mask, bool *contiguous)
{
        unsigned n = 0;
        bool ones = true;

        *contiguous = true;
        for (size_t i = 0; i < f->addr_len; i++)
                for (int b = 7; b >= 0; b--) {
                        bool bit = mask[i] & (1u << b);
                        if (bit && !ones)
                                *contiguous = false;
                        if (!bit)
                                ones = false;
                        else
                                n++;
                }
        return n;
}

static void xt_print_addr(FILE *out, const struct xt_family *f, const char *opt,
                          const uint8_t *addr, const uint8_t *mask, bool inv)
{
        char a[INET6_ADDRSTRLEN], m[INET6_ADDRSTRLEN];
        bool contiguous;
        unsigned len = xt_mask_len(f, mask, &contiguous);

        if (len == 0 && !inv)
                return;
        inet_ntop(f->family, addr, a, sizeof(a));
        if (contiguous) {
                fprintf(out, "%s %s %s/%u", inv ? " !" : "", opt, a, len);
        } else {
                inet_ntop(f->family, mask, m, sizeof(m));
                fprintf(out, "%s %s %s/%s", inv ? " !" : "", opt, a, m);
        }
}

/* Quoted as iptables -S (1.8) quotes comments. */
static void xt_print_string(FILE *out, const char *s)
{
        fputc('"', out);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fputc('\\', out);
                fputc(*s, out);
        }
        fputc('"', out);
}

static void xt_rule_print(FILE *out, const struct xt_family *f, const char *chain,
                          const struct xt_rule *r)
{
        fprintf(out, "-A %s", chain);
        xt_print_addr(out, f, "-s", r->src, r->smsk, r->invflags & XT_INV_SRC);
        xt_print_addr(out, f, "-d", r->dst, r->dmsk, r->invflags & XT_INV_DST);
        if (r->iniface[0])
                fprintf(out, " -i %s", r->iniface);
        if (r->outiface[0])
                fprintf(out, " -o %s", r->outiface);
        if (r->proto)
                fprintf(out, " -p %u", r->proto);
        fputs(r->other_matches, out);
        if (r->comment[0]) {
                fputs(" -m comment --comment ", out);
                xt_print_string(out, r->comment);
        }
        if (r->target[0])
                fprintf(out, " -j %s", r->target);
        fputc('\n', out);
}

/* ---- the xtables lock ---- */

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes the lock iptables(8) takes (xshared.c: flock(LOCK_EX) on XTABLES_LOCKFILE or
 * /run/xtables.lock, created 0600; the context names the file), polling without signals
 * for at most the timeout. Returns the locked fd. */
static int xt_lock(podnet_ctx *ctx, const struct pn_fw_opts *opts, podnet_error **err)
{
        const char *path = pn_fw_xtables_lock(ctx);
        _cleanup_close_ int fd = -1;
        int64_t deadline;
        long delay_us = 1000;

        fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return pn_error(err, errno, 0, "Opening the xtables lock %s", path);
        deadline = now_ms() + opts->lock_timeout_ms;
        for (;;) {
                struct timespec ts;

                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        return steal_fd(&fd);
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return pn_error(err, errno, 0, "Locking the xtables lock %s", path);
                if (now_ms() >= deadline)
                        return pn_error_plain(err, EAGAIN, 0,
                                              "Waiting for the xtables lock %s: another "
                                              "program held it for %u ms",
                                              path, opts->lock_timeout_ms);
                if (delay_us == 1000)
                        pn_debug(ctx, "Waiting for the xtables lock %s", path);
                ts.tv_sec = 0;
                ts.tv_nsec = delay_us * 1000;
                nanosleep(&ts, NULL);
                if (delay_us < 50000)
                        delay_us *= 2;
        }
}

/* ---- transactions: one table, one handle, the lock held when writing ---- */

struct xt_txn {
        const struct xt_family *f;
        const char *table;
        struct xtc_handle *h;
        int lock_fd;
        bool changed;
        bool mutex_held;
};

static pthread_mutex_t xt_iptc_mutex = PTHREAD_MUTEX_INITIALIZER;

static void xt_txn_done(struct xt_txn *t)
{
        if (t->h)
                t->f->free(t->h);
        t->h = NULL;
        closep(&t->lock_fd);
        t->lock_fd = -1;
        if (t->mutex_held)
                pthread_mutex_unlock(&xt_iptc_mutex);
        t->mutex_held = false;
}
#define _cleanup_txn_ _cleanup_(xt_txn_done)

/* Sets *err from the libiptc errno; call right after the failing libiptc call (its
 * text depends on libiptc's last-function global). */
static int xt_fail(const struct xt_txn *t, podnet_error **err, const char *what, const char *chain)
{
        int e = errno;

        /* EAGAIN from a commit: a writer that ignores the lock replaced the table since
         * we read it; the caller may simply retry. */
        return pn_error_plain(err, e ? e : EPROTO, 0, "%s %s in %s table %s: %s", what, chain,
                              t->f->cmd, t->table, t->f->strerror(e));
}

/* 1 if `table` is registered in this namespace; reading a table that is not would load
 * its module, which removal and listing must not do. */
static int xt_table_loaded(const struct xt_family *f, const char *table)
{
        _cleanup_fclose_ FILE *in = fopen(f->names_path, "re");
        char line[64];

        if (!in)
                return 0;
        while (fgets(line, sizeof(line), in)) {
                line[strcspn(line, "\n")] = 0;
                if (streq(line, table))
                        return 1;
        }
        return 0;
}

/* lock_opts NULL: read only, without the lock (libiptc retries its snapshot when a
 * writer replaces the table meanwhile). */
static int xt_txn_begin(podnet_ctx *ctx, struct xt_txn *t, const struct xt_family *f,
                        const char *table, const struct pn_fw_opts *lock_opts, podnet_error **err)
{
        *t = (struct xt_txn){.f = f, .table = table, .lock_fd = -1};
        pthread_mutex_lock(&xt_iptc_mutex);
        t->mutex_held = true;
        if (lock_opts) {
                t->lock_fd = xt_lock(ctx, lock_opts, err);
                if (t->lock_fd < 0)
                        return t->lock_fd;
        }
        t->h = f->init(table);
        if (!t->h) {
                int e = errno;
                int r = pn_error_plain(err, e ? e : EPROTO, 0, "Opening %s table %s: %s", f->cmd,
                                       table, f->strerror(e));
                xt_txn_done(t);
                return r;
        }
        return 0;
}

/* Returns 1 if it committed, 0 if nothing had changed. */
static int xt_txn_commit(podnet_ctx *ctx, struct xt_txn *t, podnet_error **err)
{
        if (!t->changed)
                return 0;
        if (!t->f->commit(t->h))
                return xt_fail(t, err, "Committing", "the rules");
        pn_debug(ctx, "Committed %s table %s", t->f->cmd, t->table);
        return 1;
}

struct xt_rules {
        struct xt_rule *v;
        size_t n;
};

static void xt_rules_done(struct xt_rules *rs)
{
        free(rs->v);
        rs->v = NULL;
        rs->n = 0;
}
#define _cleanup_rules_ _cleanup_(xt_rules_done)

/* All rules of chain (none if it does not exist). */
static int xt_chain_read(struct xt_txn *t, const char *chain, struct xt_rules *rs,
                         podnet_error **err)
{
        size_t cap = 0;

        *rs = (struct xt_rules){0};
        if (!t->f->is_chain(chain, t->h))
                return 0;
        for (const void *e = t->f->first_rule(chain, t->h); e; e = t->f->next_rule(e, t->h)) {
                if (rs->n == cap) {
                        struct xt_rule *v;
                        cap = cap ? cap * 2 : 16;
                        v = reallocarray(rs->v, cap, sizeof(*v));
                        if (!v) {
                                xt_rules_done(rs);
                                return pn_error(err, ENOMEM, 0, "Reading chain %s", chain);
                        }
                        rs->v = v;
                }
                xt_rule_parse(t->f, t->h, e, &rs->v[rs->n++]);
        }
        return 0;
}

static int xt_add(struct xt_txn *t, const char *chain, const struct xt_rule *r, bool first,
                  podnet_error **err)
{
        _cleanup_free_ void *e = xt_rule_build(t->f, r);
        int ok;

        if (!e)
                return pn_error(err, ENOMEM, 0, "Building a rule for %s", chain);
        /* libiptc numbers rules from 0 here (iptables -I N passes N - 1). */
        ok = first ? t->f->insert_entry(chain, e, 0, t->h) : t->f->append_entry(chain, e, t->h);
        if (!ok)
                return xt_fail(t, err, "Adding a rule to chain", chain);
        t->changed = true;
        return 0;
}

static int xt_delete_num(struct xt_txn *t, const char *chain, size_t i, podnet_error **err)
{
        if (!t->f->delete_num_entry(chain, (unsigned)i, t->h))
                return xt_fail(t, err, "Deleting a rule from chain", chain);
        t->changed = true;
        return 0;
}

static int xt_create_chain(struct xt_txn *t, const char *chain, podnet_error **err)
{
        if (t->f->is_chain(chain, t->h))
                return 0;
        if (!t->f->create_chain(chain, t->h))
                return xt_fail(t, err, "Creating chain", chain);
        t->changed = true;
        return 0;
}

/* true if `jump` is the only rule of the builtin chain `rs` that jumps to jump->target,
 * and the chain's first rule if `first`. */
static bool xt_jump_ok(const struct xt_rules *rs, const struct xt_rule *jump, bool first)
{
        size_t n_jumps = 0, pos = 0;

        for (size_t i = 0; i < rs->n; i++)
                if (streq(rs->v[i].target, jump->target) && n_jumps++ == 0)
                        pos = i;
        return n_jumps == 1 && xt_rule_eq(&rs->v[pos], jump) && (!first || pos == 0);
}

/* Makes `jump` the only rule of builtin chain `builtin` that jumps to jump->target,
 * first in the chain if `first` (ahead of e.g. Docker's DROP rules). */
static int xt_jump_ensure(struct xt_txn *t, const char *builtin, const struct xt_rule *jump,
                          bool first, podnet_error **err)
{
        _cleanup_rules_ struct xt_rules rs = {0};
        int r;

        r = xt_chain_read(t, builtin, &rs, err);
        if (r < 0)
                return r;
        if (xt_jump_ok(&rs, jump, first))
                return 0;
        for (size_t i = rs.n; i-- > 0;)
                if (streq(rs.v[i].target, jump->target)) {
                        r = xt_delete_num(t, builtin, i, err);
                        if (r < 0)
                                return r;
                }
        return xt_add(t, builtin, jump, first, err);
}

/* Deletes every rule of `builtin` jumping to `chain`, then the chain itself. */
static int xt_chain_remove(struct xt_txn *t, const char *builtin, const char *chain,
                           podnet_error **err)
{
        _cleanup_rules_ struct xt_rules rs = {0};
        int r;

        r = xt_chain_read(t, builtin, &rs, err);
        if (r < 0)
                return r;
        for (size_t i = rs.n; i-- > 0;)
                if (streq(rs.v[i].target, chain)) {
                        r = xt_delete_num(t, builtin, i, err);
                        if (r < 0)
                                return r;
                }
        if (!t->f->is_chain(chain, t->h))
                return 0;
        if (!t->f->flush_entries(chain, t->h))
                return xt_fail(t, err, "Flushing chain", chain);
        if (!t->f->delete_chain(chain, t->h))
                return xt_fail(t, err, "Deleting chain", chain);
        t->changed = true;
        return 0;
}

/* Makes chain hold exactly `want`, in order; flush and re-add go out in one commit. */
static int xt_chain_sync(struct xt_txn *t, const char *chain, const struct xt_rule *want,
                         size_t n_want, podnet_error **err)
{
        _cleanup_rules_ struct xt_rules rs = {0};
        bool same;
        int r;

        if (t->f->is_chain(chain, t->h)) {
                r = xt_chain_read(t, chain, &rs, err);
                if (r < 0)
                        return r;
                same = rs.n == n_want;
                for (size_t i = 0; same && i < n_want; i++)
                        same = xt_rule_eq(&rs.v[i], &want[i]);
                if (same)
                        return 0;
                if (!t->f->flush_entries(chain, t->h))
                        return xt_fail(t, err, "Flushing chain", chain);
                t->changed = true;
        } else {
                r = xt_create_chain(t, chain, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_want; i++) {
                r = xt_add(t, chain, &want[i], false, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- translation of the plan ---- */

/* Where the plan's hooks are in x_tables: a table and its builtin chain. */
static const char *const xt_hook_table[] = {
    [PN_FW_HOOK_FORWARD] = "filter",
    [PN_FW_HOOK_POSTROUTING] = "nat",
};
static const char *const xt_hook_builtin[] = {
    [PN_FW_HOOK_FORWARD] = "FORWARD",
    [PN_FW_HOOK_POSTROUTING] = "POSTROUTING",
};

static void xt_rule_from_plan(const struct xt_family *f, const struct pn_fw_rule *p,
                              struct xt_rule *r)
{
        static const char *const targets[] = {
            [PN_FW_ACCEPT] = IPTC_LABEL_ACCEPT,
            [PN_FW_RETURN] = IPTC_LABEL_RETURN,
            [PN_FW_MASQUERADE] = XT_TARGET_MASQUERADE,
        };

        xt_rule_init(r, targets[p->verdict], p->comment);
        if (p->src.family)
                xt_prefix(f, &p->src, r->src, r->smsk);
        if (p->dst.family)
                xt_prefix(f, &p->dst, r->dst, r->dmsk);
        if (p->dst_outside)
                r->invflags = XT_INV_DST;
}

/* ---- entries of a shared chain (the per-network masquerade rules) ---- */

/* An entry, translated: the rule, the jump to its chain, and where they live. */
struct xt_shared {
        const struct xt_family *f;
        const char *table, *builtin, *chain;
        struct xt_rule want, jump;
};

static void xt_shared_init(struct xt_shared *s, const struct pn_fw_entry *e)
{
        s->f = xt_family_get(e->family);
        s->table = xt_hook_table[e->chain->hook];
        s->builtin = xt_hook_builtin[e->chain->hook];
        s->chain = e->chain->name;
        xt_rule_from_plan(s->f, &e->rule, &s->want);
        xt_rule_init(&s->jump, e->chain->name, e->chain->jump_comment);
}

/* Opens the entry's table (locked with lock_opts, see xt_txn_begin) and reads its chain
 * into rs, counting the copies of the entry there. */
static int xt_shared_begin(podnet_ctx *ctx, struct xt_txn *t, const struct xt_shared *s,
                           const struct pn_fw_opts *lock_opts, struct xt_rules *rs, size_t *found,
                           podnet_error **err)
{
        int r;

        r = xt_txn_begin(ctx, t, s->f, s->table, lock_opts, err);
        if (r < 0)
                return r;
        r = xt_chain_read(t, s->chain, rs, err);
        if (r < 0)
                return r;
        *found = 0;
        for (size_t i = 0; i < rs->n; i++)
                *found += xt_rule_eq(&rs->v[i], &s->want);
        return 0;
}

/* How many copies of the entry its chain holds and, if jump_ok is non-NULL, whether the
 * builtin chain's jump is in place. Read without the xtables lock: libiptc's snapshot
 * is consistent by itself, and nothing is written. */
static int xt_shared_look(podnet_ctx *ctx, const struct xt_shared *s, size_t *found, bool *jump_ok,
                          podnet_error **err)
{
        _cleanup_txn_ struct xt_txn t = {.lock_fd = -1};
        _cleanup_rules_ struct xt_rules rs = {0}, jumps = {0};
        int r;

        r = xt_shared_begin(ctx, &t, s, NULL, &rs, found, err);
        if (r < 0 || !jump_ok)
                return r;
        r = xt_chain_read(&t, s->builtin, &jumps, err);
        if (r < 0)
                return r;
        *jump_ok = xt_jump_ok(&jumps, &s->jump, false);
        return 0;
}

/* Adds (add) or removes the entry under the xtables lock, from a fresh read. */
static int xt_shared_write(podnet_ctx *ctx, const struct pn_fw_opts *opts,
                           const struct xt_shared *s, bool add, podnet_error **err)
{
        _cleanup_txn_ struct xt_txn t = {.lock_fd = -1};
        _cleanup_rules_ struct xt_rules rs = {0};
        size_t found;
        int r;

        r = xt_shared_begin(ctx, &t, s, opts, &rs, &found, err);
        if (r < 0)
                return r;
        if (add) {
                r = xt_create_chain(&t, s->chain, err);
                if (r < 0)
                        return r;
                r = xt_jump_ensure(&t, s->builtin, &s->jump, false, err);
                if (r < 0)
                        return r;
                /* Duplicates (from older tools or races without the lock) go, the first
                 * stays. */
                for (size_t i = rs.n; found > 1 && i-- > 0;)
                        if (xt_rule_eq(&rs.v[i], &s->want)) {
                                r = xt_delete_num(&t, s->chain, i, err);
                                if (r < 0)
                                        return r;
                                found--;
                        }
                if (found == 0) {
                        r = xt_add(&t, s->chain, &s->want, false, err);
                        if (r < 0)
                                return r;
                }
                r = xt_txn_commit(ctx, &t, err);
                return r < 0 ? r : found == 0;
        }

        for (size_t i = rs.n; i-- > 0;)
                if (xt_rule_eq(&rs.v[i], &s->want)) {
                        r = xt_delete_num(&t, s->chain, i, err);
                        if (r < 0)
                                return r;
                }
        if (t.f->is_chain(s->chain, t.h) && rs.n == found) {
                r = xt_chain_remove(&t, s->builtin, s->chain, err);
                if (r < 0)
                        return r;
        }
        r = xt_txn_commit(ctx, &t, err);
        return r < 0 ? r : found > 0;
}

static int ipt_add(podnet_ctx *ctx, const struct pn_fw_opts *opts, const struct pn_fw_entry *e,
                   podnet_error **err)
{
        struct xt_shared s;
        bool jump_ok = false;
        size_t found = 0;
        int r;

        xt_shared_init(&s, e);
        /* An add runs on every pod start and nearly always finds everything in place:
         * then it need not wait for the xtables lock, which kube-proxy or Docker may be
         * holding for seconds. Anything to change is decided again under the lock. */
        r = xt_shared_look(ctx, &s, &found, &jump_ok, err);
        if (r < 0)
                return r;
        if (found == 1 && jump_ok)
                return 0;
        return xt_shared_write(ctx, opts, &s, true, err);
}

static int ipt_remove(podnet_ctx *ctx, const struct pn_fw_opts *opts, const struct pn_fw_entry *e,
                      podnet_error **err)
{
        struct xt_shared s;

        xt_shared_init(&s, e);
        if (!xt_table_loaded(s.f, s.table))
                return 0;
        return xt_shared_write(ctx, opts, &s, false, err);
}

static int ipt_check(podnet_ctx *ctx, const struct pn_fw_entry *e, podnet_error **err)
{
        struct xt_shared s;
        size_t found = 0;
        int r;

        xt_shared_init(&s, e);
        if (!xt_table_loaded(s.f, s.table))
                return 0;
        r = xt_shared_look(ctx, &s, &found, NULL, err);
        return r < 0 ? r : found > 0;
}

static int ipt_entries(podnet_ctx *ctx, int family, pn_fw_entry_fn fn, void *data,
                       podnet_error **err)
{
        const struct xt_family *f = xt_family_get(family);
        const char *table = xt_hook_table[pn_fw_chain_masq.hook];
        const size_t prefix = strlen(PN_FW_COMMENT_NETWORK_PREFIX);
        _cleanup_txn_ struct xt_txn t = {.lock_fd = -1};
        _cleanup_rules_ struct xt_rules rs = {0};
        int r;

        if (!xt_table_loaded(f, table))
                return 0;
        r = xt_txn_begin(ctx, &t, f, table, NULL, err);
        if (r >= 0)
                r = xt_chain_read(&t, pn_fw_chain_masq.name, &rs, err);
        for (size_t i = 0; r >= 0 && i < rs.n; i++) {
                const struct xt_rule *x = &rs.v[i];
                podnet_cidr c = {.family = f->family};
                bool contiguous;

                /* the shape pn_fw_entry_masq() plans: -s S ! -d S -j MASQUERADE */
                if (x->foreign || !streq(x->target, XT_TARGET_MASQUERADE) ||
                    x->invflags != XT_INV_DST || memcmp(x->src, x->dst, 16) != 0 ||
                    memcmp(x->smsk, x->dmsk, 16) != 0 ||
                    strncmp(x->comment, PN_FW_COMMENT_NETWORK_PREFIX, prefix) != 0 ||
                    !x->comment[prefix])
                        continue;
                c.prefixlen = xt_mask_len(f, x->smsk, &contiguous);
                if (!contiguous)
                        continue;
                memcpy(c.addr.b, x->src, f->addr_len);
                r = fn(f->family, x->comment + prefix, &c, data);
        }
        return r < 0 ? r : 0;
}

/* ---- the node's chains ---- */

/* Makes the chain's table hold the chain with exactly `want` and the jump to it
 * (`remove`: neither). Returns 1 if it committed. The first pass reads the table without
 * the xtables lock and commits nothing: when everything is in place (as `podnet-routes
 * run`, which checks every second, nearly always finds) that is all, and kube-proxy or
 * Docker holding the lock for seconds delays nothing. Otherwise the changes are decided
 * again under the lock, from a fresh read. */
static int xt_chain_apply(podnet_ctx *ctx, const struct pn_fw_opts *opts, const struct xt_family *f,
                          const struct pn_fw_chain *c, const struct xt_rule *want, size_t n_want,
                          bool remove, podnet_error **err)
{
        const char *builtin = xt_hook_builtin[c->hook];
        struct xt_rule jump;

        xt_rule_init(&jump, c->name, c->jump_comment);
        for (int locked = 0; locked < 2; locked++) {
                _cleanup_txn_ struct xt_txn t = {.lock_fd = -1};
                int r = xt_txn_begin(ctx, &t, f, xt_hook_table[c->hook], locked ? opts : NULL, err);

                if (r >= 0 && remove)
                        r = xt_chain_remove(&t, builtin, c->name, err);
                if (r >= 0 && !remove)
                        r = xt_chain_sync(&t, c->name, want, n_want, err);
                if (r >= 0 && !remove)
                        r = xt_jump_ensure(&t, builtin, &jump, c->jump_first, err);
                if (r < 0)
                        return r;
                if (locked)
                        return xt_txn_commit(ctx, &t, err);
                if (!t.changed)
                        return 0;
        }
        return 0;
}

/* One chain of the plan; returns 1 if it committed. Removal does not read a table that
 * is not loaded (that would load its module). */
static int xt_chain_plan(podnet_ctx *ctx, const struct pn_fw_opts *opts, const struct xt_family *f,
                         const struct pn_fw_chain_plan *cp, podnet_error **err)
{
        _cleanup_free_ struct xt_rule *want = NULL;

        if (!cp->present) {
                if (!xt_table_loaded(f, xt_hook_table[cp->chain->hook]))
                        return 0;
                return xt_chain_apply(ctx, opts, f, cp->chain, NULL, 0, true, err);
        }
        want = calloc(cp->n_rules ? cp->n_rules : 1, sizeof(*want));
        if (!want)
                return pn_error(err, ENOMEM, 0, "Building %s rules", f->cmd);
        for (size_t i = 0; i < cp->n_rules; i++)
                xt_rule_from_plan(f, &cp->rules[i], &want[i]);
        return xt_chain_apply(ctx, opts, f, cp->chain, want, cp->n_rules, false, err);
}

static int ipt_apply(podnet_ctx *ctx, const struct pn_fw_opts *opts, const struct pn_fw_plan *plan,
                     podnet_error **err)
{
        int commits = 0;

        for (size_t i = 0; i < plan->n_families; i++) {
                const struct pn_fw_family_plan *fp = &plan->families[i];

                for (size_t j = 0; j < PN_FW_PLAN_CHAINS; j++) {
                        int r = xt_chain_plan(ctx, opts, xt_family_get(fp->family), &fp->chains[j],
                                              err);
                        if (r < 0)
                                return r;
                        commits += r;
                }
        }
        return commits;
}

/* ---- listing ---- */

/* "# iptables -t nat" before a table's first line. */
static void xt_dump_header(FILE *out, const struct xt_family *f, const char *table, bool *done)
{
        if (!*done)
                fprintf(out, "# %s -t %s\n", f->cmd, table);
        *done = true;
}

static int xt_dump_table(podnet_ctx *ctx, FILE *out, const struct xt_family *f, const char *table,
                         const char *builtin, const char *const *chains, size_t n_chains,
                         podnet_error **err)
{
        _cleanup_txn_ struct xt_txn t = {.lock_fd = -1};
        _cleanup_rules_ struct xt_rules jumps = {0};
        bool header = false;
        int r;

        if (!xt_table_loaded(f, table))
                return 0;
        r = xt_txn_begin(ctx, &t, f, table, NULL, err);
        if (r < 0)
                return r;
        r = xt_chain_read(&t, builtin, &jumps, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_chains; i++)
                if (f->is_chain(chains[i], t.h)) {
                        xt_dump_header(out, f, table, &header);
                        fprintf(out, "-N %s\n", chains[i]);
                }
        for (size_t i = 0; i < jumps.n; i++)
                for (size_t j = 0; j < n_chains; j++)
                        if (streq(jumps.v[i].target, chains[j])) {
                                xt_dump_header(out, f, table, &header);
                                xt_rule_print(out, f, builtin, &jumps.v[i]);
                        }
        for (size_t i = 0; i < n_chains; i++) {
                _cleanup_rules_ struct xt_rules rs = {0};

                r = xt_chain_read(&t, chains[i], &rs, err);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < rs.n; j++)
                        xt_rule_print(out, f, chains[i], &rs.v[j]);
        }
        return 0;
}

/* Per family, per hook (filter's FORWARD, then nat's POSTROUTING), podnet's chains
 * jumped to from there. */
static int ipt_list(podnet_ctx *ctx, FILE *out, podnet_error **err)
{
        static const enum pn_fw_hook hooks[] = {PN_FW_HOOK_FORWARD, PN_FW_HOOK_POSTROUTING};

        for (size_t i = 0; i < ELEMENTSOF(xt_families); i++)
                for (size_t h = 0; h < ELEMENTSOF(hooks); h++) {
                        const char *chains[ELEMENTSOF(pn_fw_chains)];
                        size_t n = 0;
                        int r;

                        for (size_t c = 0; c < ELEMENTSOF(pn_fw_chains); c++)
                                if (pn_fw_chains[c]->hook == hooks[h])
                                        chains[n++] = pn_fw_chains[c]->name;
                        r = xt_dump_table(ctx, out, &xt_families[i], xt_hook_table[hooks[h]],
                                          xt_hook_builtin[hooks[h]], chains, n, err);
                        if (r < 0)
                                return r;
                }
        return 0;
}

const struct pn_fw_backend pn_fw_backend_iptables_legacy = {
    .name = "iptables-legacy",
    .comment_max = XT_MAX_COMMENT_LEN - 1,
    .ipv6 = true,
    .apply = ipt_apply,
    .add = ipt_add,
    .remove = ipt_remove,
    .check = ipt_check,
    .list = ipt_list,
    .entries = ipt_entries,
};

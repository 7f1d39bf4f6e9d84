/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which firewall backend the host's other firewall users (Docker, kube-proxy, kubelet,
 * firewalld's iptables mode) write to: the legacy x_tables or nf_tables through
 * iptables-nft. A packet must pass both, so podnet's accepts belong where their DROP is.
 * The question is kube-proxy's iptables-wrapper's, answered its way: kubelet's hint
 * chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY in the mangle table) first; else the
 * side with more rules; else nf_tables if the kernel has it. podnet's own chains and the
 * jumps to them are not counted, so that the answer does not follow podnet's earlier
 * choice.
 *
 * Legacy tables are read with the kernel's getsockopt interface (IPT_SO_GET_INFO and
 * _ENTRIES, what libiptc uses), only those already registered in this namespace
 * (/proc/net/ip_tables_names): reading another would load its module. nf_tables is read
 * with one rule dump per iptables table, and only as far as the decision needs: no dump
 * when a hint chain decides, and none past the legacy count (a kube-proxy host's 20,000
 * rules cost whole seconds to read and parse).
 */
/* Ahead of the kernel's headers, which then yield to glibc's definitions. */
#include <netinet/in.h>

#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <sys/socket.h>

#include "firewall/backend.h"
#include "firewall/nft-txn.h"

#define PODNET_CHAIN_PREFIX "PODNET-"

static const char *const detect_hint_chains[] = {"KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY"};
static const char *const detect_tables[] = {"filter", "nat", "mangle", "raw", "security"};

struct detect_side {
        size_t rules;     /* other programs' rules */
        const char *hint; /* a kubelet hint chain found, or NULL */
        int hint_family;
        /* nf_tables: the count that decides (the legacy count, at least 1); counting
         * stops there, so that a host with 20,000 rules is not read whole */
        size_t enough;
        bool stopped; /* counting stopped at `enough` */
};

static bool detect_is_podnet(const char *chain)
{
        return chain && strncmp(chain, PODNET_CHAIN_PREFIX, strlen(PODNET_CHAIN_PREFIX)) == 0;
}

static const char *detect_hint(const char *chain)
{
        for (size_t i = 0; i < ELEMENTSOF(detect_hint_chains); i++)
                if (streq(chain, detect_hint_chains[i]))
                        return detect_hint_chains[i];
        return NULL;
}

/* ---- legacy x_tables ---- */

/* ipt_ and ip6t_ getinfo and get_entries share their layout; entries differ. */
_Static_assert(sizeof(struct ipt_getinfo) == sizeof(struct ip6t_getinfo), "getinfo layouts");
_Static_assert(sizeof(struct ipt_get_entries) == sizeof(struct ip6t_get_entries),
               "get_entries layouts");

struct legacy_family {
        int family, level, so_info, so_entries;
        const char *names_path;
        size_t toff, noff; /* offsets of target_offset and next_offset in an entry */
};

static const struct legacy_family legacy_families[] = {
    {AF_INET, IPPROTO_IP, IPT_SO_GET_INFO, IPT_SO_GET_ENTRIES, "/proc/net/ip_tables_names",
     offsetof(struct ipt_entry, target_offset), offsetof(struct ipt_entry, next_offset)},
    {AF_INET6, IPPROTO_IPV6, IP6T_SO_GET_INFO, IP6T_SO_GET_ENTRIES, "/proc/net/ip6_tables_names",
     offsetof(struct ip6t_entry, target_offset), offsetof(struct ip6t_entry, next_offset)},
};

static uint16_t legacy_u16(const uint8_t *p)
{
        uint16_t v;

        memcpy(&v, p, sizeof(v));
        return v;
}

/* A user chain of the table: where its first rule is, and its name. */
struct legacy_chain {
        size_t first;
        const char *name;
};

/* Counts the table's rules that are not podnet's (nor jumps to podnet's chains), and
 * notes kubelet's hint chains. */
static int legacy_count_table(const struct legacy_family *f, int fd, const char *table,
                              struct detect_side *side)
{
        _cleanup_free_ struct ipt_get_entries *ge = NULL;
        _cleanup_free_ struct legacy_chain *chains = NULL;
        struct ipt_getinfo info = {0};
        socklen_t len = sizeof(info);
        size_t n_chains = 0, cap = 0, size;
        const uint8_t *base;
        bool podnet = false, user = false, prev_user_counted = false;

        if (strlen(table) >= sizeof(info.name))
                return 0; /* no such table name in x_tables */
        memcpy(info.name, table, strlen(table) + 1);
        if (getsockopt(fd, f->level, f->so_info, &info, &len) < 0)
                return errno == ENOENT ? 0 : -errno;
        size = sizeof(*ge) + info.size;
        ge = calloc(1, size);
        if (!ge)
                return -ENOMEM;
        memcpy(ge->name, info.name, sizeof(ge->name));
        ge->size = info.size;
        len = (socklen_t)size;
        /* EAGAIN: replaced since the info; the caller may ask again. */
        if (getsockopt(fd, f->level, f->so_entries, ge, &len) < 0)
                return -errno;
        base = (const uint8_t *)ge->entrytable;

        for (size_t off = 0; off + f->noff + 2 <= info.size;) {
                const uint8_t *e = base + off;
                const struct xt_entry_target *t = (const void *)(e + legacy_u16(e + f->toff));
                size_t next = legacy_u16(e + f->noff);

                if (next == 0)
                        return -EPROTO;
                if (streq(t->u.user.name, XT_ERROR_TARGET) &&
                    !streq((const char *)t->data, XT_ERROR_TARGET)) {
                        if (pn_grow((void **)&chains, &cap, n_chains + 1, sizeof(*chains)) < 0)
                                return -ENOMEM;
                        chains[n_chains++] =
                            (struct legacy_chain){off + next, (const char *)t->data};
                }
                off += next;
        }
        for (size_t off = 0; off + f->noff + 2 <= info.size;) {
                const uint8_t *e = base + off;
                const struct xt_entry_target *t = (const void *)(e + legacy_u16(e + f->toff));
                size_t next = legacy_u16(e + f->noff);
                bool policy = false, to_podnet = false, counted;

                for (unsigned h = 0; h < NF_INET_NUMHOOKS; h++)
                        if (info.valid_hooks & (1u << h)) {
                                if (off == info.hook_entry[h])
                                        podnet = user = false;
                                policy |= off == info.underflow[h];
                        }
                off += next;
                if (streq(t->u.user.name, XT_ERROR_TARGET)) {
                        /* The entry before a chain's head was the previous user
                         * chain's RETURN tail, not a rule. */
                        side->rules -= prev_user_counted;
                        prev_user_counted = false;
                        podnet = detect_is_podnet((const char *)t->data);
                        user = true;
                        if (streq(table, "mangle") && detect_hint((const char *)t->data) &&
                            !side->hint) {
                                side->hint = detect_hint((const char *)t->data);
                                side->hint_family = f->family;
                        }
                        continue;
                }
                if (policy) {
                        prev_user_counted = false;
                        continue;
                }
                if (t->u.user.name[0] == 0) {
                        int verdict = ((const struct xt_standard_target *)t)->verdict;
                        for (size_t i = 0; verdict >= 0 && i < n_chains; i++)
                                to_podnet |= chains[i].first == (size_t)verdict &&
                                             detect_is_podnet(chains[i].name);
                }
                counted = !podnet && !to_podnet;
                side->rules += counted;
                prev_user_counted = user && counted;
        }
        return 0;
}

static int legacy_count(struct detect_side *side, podnet_error **err)
{
        for (size_t i = 0; i < ELEMENTSOF(legacy_families); i++) {
                const struct legacy_family *f = &legacy_families[i];
                _cleanup_fclose_ FILE *in = fopen(f->names_path, "re");
                _cleanup_close_ int fd = -1;
                char line[64];

                if (!in)
                        continue; /* x_tables of this family not loaded: no rules */
                fd = socket(f->family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
                if (fd < 0)
                        return pn_error(err, errno, 0,
                                        "Opening a socket to read the legacy x_tables");
                while (fgets(line, sizeof(line), in)) {
                        int r = -EAGAIN;

                        line[strcspn(line, "\n")] = 0;
                        for (int attempt = 0; r == -EAGAIN && attempt < 5; attempt++) {
                                struct detect_side s = *side;
                                r = legacy_count_table(f, fd, line, &s);
                                if (r == 0)
                                        *side = s;
                        }
                        if (r < 0)
                                return pn_error(err, -r, 0, "Reading legacy %s table %s",
                                                f->family == AF_INET6 ? "ip6tables" : "iptables",
                                                line);
                }
        }
        return 0;
}

/* ---- nf_tables ---- */

static int nft_count_rule(const char *chain, const struct nft_rule_m *m, void *data)
{
        struct detect_side *side = data;

        side->rules += !detect_is_podnet(chain) && !detect_is_podnet(m->target);
        return side->rules >= side->enough ? -ECANCELED : 0;
}

/* arg: the nf_tables side, with `enough` set; `legacy_hint`: counts decide nothing. */
struct nft_detect_arg {
        struct detect_side *side;
        bool legacy_hint;
};

static int nft_detect_plan(struct nft_txn *t, const void *arg, int *result, podnet_error **err)
{
        static const int families[] = {AF_INET, AF_INET6};
        const struct nft_detect_arg *a = arg;
        struct detect_side *side = a->side;

        *side = (struct detect_side){.enough = side->enough};
        *result = 0;
        for (size_t i = 0; i < ELEMENTSOF(families); i++)
                for (size_t h = 0; h < ELEMENTSOF(detect_hint_chains) && !side->hint; h++) {
                        struct nft_chain_info ci;
                        int r = nft_read_chain(t, families[i], "mangle", detect_hint_chains[h], &ci,
                                               NULL);

                        if (r < 0)
                                return r == -EINTR ? r : pn_error(err, -r, 0, "Reading nf_tables");
                        if (ci.exists) {
                                side->hint = detect_hint_chains[h];
                                side->hint_family = families[i];
                        }
                }
        /* a hint on either side decides: no rule needs counting */
        if (side->hint || a->legacy_hint)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                for (size_t j = 0; j < ELEMENTSOF(detect_tables); j++) {
                        int r = nft_dump_rules(t, families[i], detect_tables[j], NULL,
                                               nft_count_rule, side);

                        if (r == -ENOENT)
                                continue;
                        if (r == -ECANCELED) {
                                /* (the rest of the dump goes with the socket) */
                                side->stopped = true;
                                return 0;
                        }
                        if (r < 0)
                                return r == -EINTR ? r
                                                   : pn_error(err, -r, 0, "Reading %s table %s",
                                                              nft_family_name(families[i]),
                                                              detect_tables[j]);
                }
        }
        return 0;
}

/* ---- the decision ---- */

static const char *detect_family_name(int family)
{
        return family == AF_INET6 ? "ip6" : "ip";
}

int pn_fw_detect(podnet_ctx *ctx, const struct pn_fw_backend **ret, char **reason,
                 podnet_error **err)
{
        struct detect_side legacy = {0}, nft = {0};
        _cleanup_error_ podnet_error *nft_err = NULL;
        bool have_nft;
        int r;

        if (!ctx || !ret || !reason)
                return pn_error_plain(err, EINVAL, 0, "Missing context or result pointer");
        *reason = NULL;
        r = legacy_count(&legacy, err);
        if (r < 0)
                return r;
        /* A kernel without nf_tables answers the first request with an error. */
        nft.enough = legacy.rules > 0 ? legacy.rules : 1;
        have_nft =
            nft_run(ctx, nft_detect_plan, &(struct nft_detect_arg){&nft, legacy.hint != NULL},
                    "the backend detection", &nft_err) >= 0;

        if (have_nft && nft.hint) {
                *ret = &pn_fw_backend_iptables_nft;
                r = asprintf(reason, "kubelet's chain %s is in nf_tables (%s table mangle)",
                             nft.hint, detect_family_name(nft.hint_family));
        } else if (legacy.hint) {
                *ret = &pn_fw_backend_iptables_legacy;
                r = asprintf(reason,
                             "kubelet's chain %s is in the legacy x_tables (%s table mangle)",
                             legacy.hint, detect_family_name(legacy.hint_family));
        } else if (legacy.rules > nft.rules || (!have_nft && legacy.rules > 0)) {
                *ret = &pn_fw_backend_iptables_legacy;
                r = asprintf(reason,
                             "other programs' rules: %zu in the legacy x_tables, %zu in nf_tables",
                             legacy.rules, nft.rules);
        } else if (nft.rules > 0) {
                *ret = &pn_fw_backend_iptables_nft;
                r = asprintf(reason,
                             "other programs' rules: %s%zu in nf_tables, %zu in the legacy "
                             "x_tables",
                             nft.stopped ? "at least " : "", nft.rules, legacy.rules);
        } else if (have_nft) {
                *ret = &pn_fw_backend_iptables_nft;
                r = asprintf(reason, "no other program's rules; the kernel has nf_tables");
        } else {
                *ret = &pn_fw_backend_iptables_legacy;
                r = asprintf(reason, "no other program's rules; nf_tables unavailable: %s",
                             podnet_error_message(nft_err));
        }
        if (r < 0) {
                *reason = NULL;
                return pn_error(err, ENOMEM, 0, "Explaining the firewall backend choice");
        }
        return 0;
}

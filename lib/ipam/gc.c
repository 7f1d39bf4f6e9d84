/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Garbage collection (CNI GC): the leases of attachments not in the valid list, and the
 * index entries and sidecars nobody needs any more.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "core/cidr.h"
#include "core/internal.h"
#include "core/names.h"
#include "ipam/ipam.h"
#include "ipam/store.h"

struct gc_filter {
        const podnet_attachment *valid;
        size_t n;
};

/* Picks the leases no valid attachment holds (old-format leases: by id alone). */
static enum lease_match filter_gc(const podnet_cidr *ip, const char *content, size_t len,
                                  void *userdata)
{
        struct gc_filter *f = userdata;
        bool old = !memmem(content, len, PN_IPAM_LINE_BREAK, 2);

        (void)ip;
        for (size_t i = 0; i < f->n; i++) {
                enum lease_match m = pn_ipam_lease_matches(content, len, f->valid[i].container_id,
                                                           f->valid[i].ifname);
                if (m == MATCH_NEW || (m == MATCH_OLD && old))
                        return MATCH_NONE;
        }
        return MATCH_NEW;
}

struct chain {
        uint64_t hash;
        unsigned max_slot;
};

/* Hash and slot of an index entry's file name. */
static bool parse_index_name(const char *name, uint64_t *hash, unsigned *slot)
{
        const char *h = name + strlen(INDEX_PREFIX);
        char *end;

        if (strncmp(name, INDEX_PREFIX, strlen(INDEX_PREFIX)) != 0 ||
            strspn(h, "0123456789abcdef") != 16)
                return false;
        *hash = strtoull(h, NULL, 16);
        *slot = 0;
        if (h[16] == '\0')
                return true;
        if (h[16] != '-' || h[17] < '1' || h[17] > '9')
                return false;
        errno = 0;
        unsigned long k = strtoul(h + 17, &end, 10);
        if (errno || *end || k >= UINT_MAX)
                return false;
        *slot = (unsigned)k;
        return true;
}

static int chain_cmp(const void *a, const void *b)
{
        const struct chain *x = a, *y = b;

        return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* Keeps the entries of a chain whose attachment is valid and still holds a listed
 * lease (pruned to those), moved down to slots 0, 1, ...; removes the others. */
static void gc_chain(podnet_ipam *ipam, const struct chain *c, const podnet_attachment *valid,
                     size_t n_valid)
{
        _cleanup_free_ char *text = malloc(INDEX_READ_MAX);
        char name[INDEX_NAME_MAX], to[INDEX_NAME_MAX], id[PN_IPAM_ID_MAX + 1], ifname[32];
        unsigned kept = 0;

        if (!text)
                return;
        for (unsigned k = 0; k <= c->max_slot; k++) {
                struct lease_list l = {0};
                struct index_ref ref = {.hash = c->hash, .slot = kept, .found = true};
                bool keep = false;
                ssize_t n;

                pn_ipam_index_name(c->hash, k, name);
                n = pn_ipam_read_small(ipam, ipam->dir_fd, name, text, INDEX_READ_MAX);
                if (n == -ENOENT)
                        continue;
                /* Unreadable, or not a regular file (a FIFO planted there): not kept. */
                if (n >= 0 && pn_ipam_index_parse(text, id, ifname))
                        for (size_t i = 0; i < n_valid && !keep; i++)
                                keep = streq(valid[i].container_id, id) &&
                                       streq(valid[i].ifname, ifname);
                if (keep &&
                    pn_ipam_index_verify(ipam, text, id, ifname, &l, NULL, &ref.n_listed) < 0)
                        l.n = 0;
                if (!keep || l.n == 0) {
                        pn_debug(ipam->ctx, "Removing stale lease index %s/%s", ipam->dir, name);
                        (void)unlinkat(ipam->dir_fd, name, 0);
                        free(l.v);
                        continue;
                }
                pn_ipam_index_name(c->hash, kept, to);
                if (k != kept && renameat(ipam->dir_fd, name, ipam->dir_fd, to) < 0) {
                        pn_warn(ipam->ctx, "Moving %s/%s to %s: %s", ipam->dir, name, to,
                                strerror(errno));
                        ref.slot = kept = k;
                }
                if (l.n < ref.n_listed)
                        (void)pn_ipam_index_store(ipam, &ref, id, ifname, &l);
                kept++;
                free(l.v);
        }
}

/* The sidecar directory: sidecars whose lease is gone (released by host-local, which
 * knows nothing of them), index entries of attachments that are not valid or hold
 * nothing any more, and a temporary file left by a crash. */
static void gc_boot_dir(podnet_ipam *ipam, const podnet_attachment *valid, size_t n_valid)
{
        _cleanup_free_ struct chain *chains = NULL;
        size_t n = 0, cap = 0, m = 0;
        struct dirent *de;
        DIR *d;
        int fd;

        fd = pn_ipam_openat(ipam, ipam->dir_fd, PN_IPAM_BOOT_DIR,
                            O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        (void)unlinkat(dirfd(d), TMP_NAME, 0);
        (void)unlinkat(dirfd(d), OLD_INDEX_TMP_NAME, 0);
        while ((de = readdir(d))) {
                podnet_cidr ip;
                uint64_t hash;
                unsigned slot;

                if (pn_ipam_parse_lease_name(de->d_name, &ip)) {
                        if (faccessat(ipam->dir_fd, de->d_name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
                            errno == ENOENT)
                                (void)unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (strncmp(de->d_name, INDEX_PREFIX, strlen(INDEX_PREFIX)) != 0)
                        continue;
                if (!parse_index_name(de->d_name, &hash, &slot)) {
                        /* Named like an entry but never looked up: nothing should be there. */
                        (void)unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        struct chain *nc = realloc(chains, ncap * sizeof(*nc));
                        if (!nc)
                                break;
                        chains = nc;
                        cap = ncap;
                }
                chains[n++] = (struct chain){hash, slot};
        }
        closedir(d);
        if (n == 0)
                return;
        qsort(chains, n, sizeof(*chains), chain_cmp);
        for (size_t i = 1; i < n; i++) {
                if (chains[i].hash != chains[m].hash)
                        chains[++m] = chains[i];
                else if (chains[i].max_slot > chains[m].max_slot)
                        chains[m].max_slot = chains[i].max_slot;
        }
        for (size_t i = 0; i <= m; i++)
                gc_chain(ipam, &chains[i], valid, n_valid);
}

PODNET_EXPORT int podnet_ipam_gc(podnet_ipam *ipam, const podnet_attachment *valid, size_t n_valid,
                                 podnet_error **err)
{
        struct gc_filter f = {valid, n_valid};
        struct lease_list l = {0};
        int taken, r;

        if (!ipam || (n_valid > 0 && !valid))
                return -EINVAL;
        for (size_t i = 0; i < n_valid; i++)
                if (!valid[i].container_id || !valid[i].ifname)
                        return pn_error_plain(err, EINVAL, 0,
                                              "Valid attachment %zu lacks a container id or "
                                              "interface name",
                                              i);
        taken = pn_ipam_begin_op(ipam, false, err);
        if (taken == -ENOENT)
                return 0;
        if (taken < 0)
                return taken;
        r = pn_ipam_scan_leases(ipam, filter_gc, &f, &l, err);
        if (r >= 0)
                r = pn_ipam_remove_leases(ipam, &l, MATCH_NONE, err);
        gc_boot_dir(ipam, valid, n_valid);
        pn_ipam_end_op(ipam, taken);
        free(l.v);
        return r;
}

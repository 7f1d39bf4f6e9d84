/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host-local compatible allocator object: open and unref, the store's directory and
 * its lock, and the verbs that read or drop an attachment's leases (release, lookup).
 * Allocation is allocate.c; garbage collection gc.c.
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

/* libcni's rules for CNI_CONTAINERID and CNI_IFNAME, with this API's own messages and a
 * bound on the id's length. */
int pn_ipam_check_attachment(const char *id, const char *ifname, podnet_error **err)
{
        if (!pn_id_valid(id) || strlen(id) > PN_IPAM_ID_MAX)
                return pn_error_plain(err, EINVAL, 0,
                                      "Invalid container id '%s': must match "
                                      "^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$",
                                      id ? id : "(null)");
        if (!pn_ifname_valid(ifname))
                return pn_error_plain(err, EINVAL, 0, "Invalid interface name '%s'",
                                      ifname ? ifname : "(null)");
        return 0;
}

/* Opens `<dataDir>/<network>`, creating it if `create`. -ENOENT (no message) when it
 * does not exist and !create. */
static int open_dir(podnet_ipam *ipam, bool create, podnet_error **err)
{
        int r;

        if (ipam->dir_fd >= 0)
                return 0;
        ipam->dir_fd =
            pn_ipam_openat(ipam, AT_FDCWD, ipam->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (ipam->dir_fd >= 0)
                return 0;
        if (errno != ENOENT)
                return pn_error(err, errno, 0, "Opening %s", ipam->dir);
        if (!create)
                return -ENOENT;
        r = pn_ipam_mkdir_parents(ipam->dir);
        if (r < 0)
                return pn_error(err, -r, 0, "Creating %s", ipam->dir);
        ipam->dir_fd =
            pn_ipam_openat(ipam, AT_FDCWD, ipam->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (ipam->dir_fd < 0)
                return pn_error(err, errno, 0, "Opening %s", ipam->dir);
        return 0;
}

static int take_lock(podnet_ipam *ipam, bool create, podnet_error **err)
{
        int r;

        r = open_dir(ipam, create, err);
        if (r < 0)
                return r;
        if (ipam->lock_fd < 0) {
                /* host-local (go-filemutex) opens `lock` with O_CREAT|O_RDONLY and flocks it.
                 * O_NONBLOCK: a FIFO planted as `lock` must not block the open. */
                ipam->lock_fd =
                    pn_ipam_openat(ipam, ipam->dir_fd, PN_IPAM_LOCK_FILE,
                                   O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
                if (ipam->lock_fd < 0)
                        return pn_error(err, errno, 0, "Opening %s/%s", ipam->dir,
                                        PN_IPAM_LOCK_FILE);
                /* (A directory already failed the open with EISDIR.) */
                r = pn_check_regular(ipam->lock_fd);
                if (r < 0) {
                        close(ipam->lock_fd);
                        ipam->lock_fd = -1;
                        return pn_error(err, -r, 0, "Opening %s/%s%s", ipam->dir, PN_IPAM_LOCK_FILE,
                                        r == -EINVAL ? " (not a regular file)" : "");
                }
        }
        while (flock(ipam->lock_fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return pn_error(err, errno, 0, "Locking %s/%s", ipam->dir,
                                        PN_IPAM_LOCK_FILE);
        return 0;
}

static void drop_lock(podnet_ipam *ipam)
{
        if (ipam->lock_fd >= 0)
                (void)flock(ipam->lock_fd, LOCK_UN);
}

/* Takes the lock unless the caller holds it. Returns 1 if taken here (release with
 * end_op), 0 if the caller holds it, -ENOENT if the store does not exist and !create. */
int pn_ipam_begin_op(podnet_ipam *ipam, bool create, podnet_error **err)
{
        int r;

        if (ipam->user_locked)
                return 0;
        r = take_lock(ipam, create, err);
        return r < 0 ? r : 1;
}

void pn_ipam_end_op(podnet_ipam *ipam, int taken)
{
        if (taken > 0)
                drop_lock(ipam);
}

PODNET_EXPORT int podnet_ipam_lock(podnet_ipam *ipam, podnet_error **err)
{
        int r;

        if (!ipam)
                return -EINVAL;
        if (ipam->user_locked)
                return 0;
        r = take_lock(ipam, true, err);
        if (r < 0)
                return r;
        ipam->user_locked = true;
        return 0;
}

PODNET_EXPORT void podnet_ipam_unlock(podnet_ipam *ipam)
{
        if (!ipam || !ipam->user_locked)
                return;
        ipam->user_locked = false;
        drop_lock(ipam);
}

PODNET_EXPORT int podnet_ipam_open(podnet_ctx *ctx, podnet_ipam **ret, const char *data_dir,
                                   const char *network, podnet_error **err)
{
        _cleanup_ipam_ podnet_ipam *ipam = NULL;

        if (!ret)
                return -EINVAL;
        if (!pn_id_valid(network) || strlen(network) > 255)
                return pn_error_plain(err, EINVAL, 0,
                                      "Invalid network name '%s': must match "
                                      "^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$",
                                      network ? network : "(null)");
        if (isempty(data_dir))
                data_dir = PN_IPAM_DEFAULT_DATA_DIR;

        ipam = calloc(1, sizeof(*ipam));
        if (!ipam)
                return -ENOMEM;
        ipam->n_ref = 1;
        ipam->dir_fd = ipam->lock_fd = -1;
        ipam->ctx = podnet_ctx_ref(ctx);
        ipam->data_dir = strdup(data_dir);
        ipam->network = strdup(network);
        if (!ipam->data_dir || !ipam->network ||
            asprintf(&ipam->dir, "%s%s%s", data_dir,
                     data_dir[strlen(data_dir) - 1] == '/' ? "" : "/", network) < 0) {
                ipam->dir = NULL;
                return -ENOMEM;
        }
        *ret = steal_pointer(&ipam);
        return 0;
}

PODNET_EXPORT podnet_ipam *podnet_ipam_unref(podnet_ipam *ipam)
{
        if (!ipam || --ipam->n_ref > 0)
                return NULL;
        if (ipam->lock_fd >= 0)
                close(ipam->lock_fd);
        if (ipam->dir_fd >= 0)
                close(ipam->dir_fd);
        for (unsigned i = 0; i < ipam->n_sets; i++)
                free(ipam->sets[i].ranges);
        free(ipam->sets);
        free(ipam->boot_id_path);
        free(ipam->data_dir);
        free(ipam->network);
        free(ipam->dir);
        podnet_ctx_unref(ipam->ctx);
        free(ipam);
        return NULL;
}

PODNET_EXPORT unsigned podnet_ipam_n_sets(const podnet_ipam *ipam)
{
        return ipam ? ipam->n_sets : 0;
}

/* Validates the arguments, then pn_ipam_begin_op() without creating the store (-ENOENT,
 * without a message, if it does not exist). */
static int begin_attachment_op(podnet_ipam *ipam, const char *id, const char *ifname,
                               podnet_error **err)
{
        int r;

        if (!ipam)
                return -EINVAL;
        r = pn_ipam_check_attachment(id, ifname, err);
        return r < 0 ? r : pn_ipam_begin_op(ipam, false, err);
}

int pn_ipam_held(podnet_ipam *ipam, const char *container_id, const char *ifname,
                 podnet_error **err)
{
        struct lease_list held = {0};
        struct index_ref ref;
        int taken, r;

        taken = begin_attachment_op(ipam, container_id, ifname, err);
        if (taken < 0)
                return taken == -ENOENT ? 0 : taken;
        r = pn_ipam_index_find(ipam, container_id, ifname, &ref, &held, NULL);
        pn_ipam_end_op(ipam, taken);
        free(held.v);
        if (r < 0)
                return pn_error(err, -r, 0, "Reading the lease index of %s %s in %s", container_id,
                                ifname, ipam->dir);
        return (int)held.n;
}

PODNET_EXPORT int podnet_ipam_release(podnet_ipam *ipam, const char *container_id,
                                      const char *ifname, podnet_error **err)
{
        struct lease_list l = {0}, unheld = {0};
        struct index_ref ref;
        bool any_new = false;
        int taken, r, k;

        taken = begin_attachment_op(ipam, container_id, ifname, err);
        if (taken < 0)
                return taken == -ENOENT ? 0 : taken;
        /* In the reverse order of ADD's writes, the entry last: a DEL killed at any
         * point leaves the entry, through which the next DEL finds the rest. */
        r = pn_ipam_find_attachment(ipam, container_id, ifname, &ref, &l, &unheld, err);
        if (r >= 0) {
                /* Like host-local: leases of the old format (id alone) are released only
                 * when none of the current format matched. */
                for (size_t i = 0; i < l.n; i++)
                        any_new |= l.v[i].match == MATCH_NEW;
                r = pn_ipam_remove_leases(ipam, &l, any_new ? MATCH_NEW : MATCH_OLD, err);
        }
        /* Sidecars of addresses the entry lists but whose lease is gone or never came:
         * a killed ADD or DEL left them. */
        for (size_t i = 0; i < unheld.n; i++)
                pn_ipam_remove_sidecar_of(ipam, unheld.v[i].name, container_id, ifname);
        pn_ipam_remove_tmp(ipam);
        if (r >= 0 && ref.found) {
                k = pn_ipam_index_remove(ipam, ref.hash, ref.slot);
                if (k < 0)
                        r = pn_error(err, -k, 0, "Removing the lease index of %s %s in %s/%s",
                                     container_id, ifname, ipam->dir, PN_IPAM_BOOT_DIR);
        }
        pn_ipam_end_op(ipam, taken);
        free(l.v);
        free(unheld.v);
        return r;
}

PODNET_EXPORT int podnet_ipam_lookup(podnet_ipam *ipam, const char *container_id,
                                     const char *ifname, podnet_cidr ***ret, podnet_error **err)
{
        struct lease_list l = {0};
        struct index_ref ref;
        podnet_cidr **v = NULL;
        int taken, r;

        if (!ret)
                return -EINVAL;
        taken = begin_attachment_op(ipam, container_id, ifname, err);
        if (taken < 0 && taken != -ENOENT)
                return taken;
        if (taken != -ENOENT) {
                r = pn_ipam_find_attachment(ipam, container_id, ifname, &ref, &l, NULL, err);
                pn_ipam_end_op(ipam, taken);
                if (r < 0)
                        goto out;
        }

        /* In range-set order, then by address: stable output for callers and tests. */
        for (size_t i = 1; i < l.n; i++)
                for (size_t j = i; j > 0; j--) {
                        struct lease *x = &l.v[j - 1], *y = &l.v[j], t;
                        unsigned ox = pn_ipam_lease_order(ipam, &x->ip),
                                 oy = pn_ipam_lease_order(ipam, &y->ip);
                        if (ox < oy || (ox == oy && podnet_cidr_compare(&x->ip, &y->ip) <= 0))
                                break;
                        t = *x, *x = *y, *y = t;
                }

        v = calloc(l.n + 1, sizeof(*v));
        if (!v) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < l.n; i++) {
                podnet_cidr c = l.v[i].ip;
                const struct ipam_range *rg;
                unsigned set;

                rg = pn_ipam_subnet_of(ipam, &c, &set);
                if (rg)
                        c.prefixlen = rg->subnet.prefixlen;
                r = podnet_cidr_dup(&v[i], &c);
                if (r < 0) {
                        podnet_cidr_array_free(v);
                        goto out;
                }
        }
        *ret = v;
        r = (int)l.n;
out:
        free(l.v);
        return r;
}

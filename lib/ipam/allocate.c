/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Allocation: the address an attachment gets (the one it holds again, the requested one,
 * or the next free one round-robin), reserved in an order that leaves a killed ADD
 * nothing a retried ADD or a DEL cannot find.
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

/* The attachment an allocation is for, and its index entry. */
struct alloc_ctx {
        const char *id, *ifname;
        struct index_ref *ref;
        struct lease_list *held; /* the attachment's leases before this allocation */
        bool listed;             /* the entry was rewritten to list a new address */
};

/* Lists `name` in the attachment's entry with the leases it holds, before the lease
 * is written (see THE ATTACHMENT INDEX). */
static int index_intent(podnet_ipam *ipam, struct alloc_ctx *a, const char *name,
                        const podnet_cidr *ip)
{
        int r = pn_ipam_lease_list_add(a->held, name, ip, MATCH_NEW);

        if (r < 0)
                return r;
        r = pn_ipam_index_store(ipam, a->ref, a->id, a->ifname, a->held);
        a->held->n--;
        if (r >= 0)
                a->ref->found = a->listed = true;
        return r;
}

/* host-local's Store.Reserve: 1 if `ip` is now leased to the attachment, 0 if taken.
 * Writes, each atomically and in this order, so that a kill at any point leaves
 * nothing a retried ADD or a DEL cannot find: the index entry listing `ip`, the
 * sidecar, the lease, last_reserved_ip. On failure the lease and sidecar are taken
 * back; the entry is restored by the caller. */
static int reserve(podnet_ipam *ipam, unsigned set, const podnet_cidr *ip, struct alloc_ctx *a,
                   podnet_error **err)
{
        char name[PN_ADDR_STRLEN], last[sizeof(PN_IPAM_LAST_IP_PREFIX) + 12];
        _cleanup_free_ char *content = NULL;
        const char *what = "Creating lease";
        struct stat st;
        int r;

        pn_ipam_lease_name(ip, name);
        /* Under the lock nobody creates it between this check and our create. */
        if (fstatat(ipam->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        if (errno != ENOENT)
                return pn_error(err, errno, 0, "Checking lease %s/%s", ipam->dir, name);
        if (asprintf(&content, "%s%s%s", a->id, PN_IPAM_LINE_BREAK, a->ifname) < 0)
                return -ENOMEM;
        r = index_intent(ipam, a, name, ip);
        if (r < 0)
                return pn_error(err, -r, 0, "Writing the lease index of %s %s in %s/%s", a->id,
                                a->ifname, ipam->dir, PN_IPAM_BOOT_DIR);
        r = pn_ipam_write_sidecar(ipam, name, a->id, a->ifname);
        if (r < 0) {
                pn_ipam_remove_sidecar(ipam, name);
                return pn_error(err, -r, 0, "Writing %s/%s/%s", ipam->dir, PN_IPAM_BOOT_DIR, name);
        }
        r = pn_ipam_put_file(ipam, name, content, false);
        if (r == -EEXIST) {
                /* A writer that ignores the lock; the sidecar we wrote is not its. */
                pn_ipam_remove_sidecar(ipam, name);
                return 0;
        }
        if (r >= 0) {
                snprintf(last, sizeof(last), "%s%u", PN_IPAM_LAST_IP_PREFIX, set);
                r = pn_ipam_replace_file(ipam, last, name);
                if (r >= 0)
                        return 1;
                (void)unlinkat(ipam->dir_fd, name, 0);
                what = "Writing last_reserved_ip for";
        }
        pn_ipam_remove_sidecar(ipam, name);
        return pn_error(err, -r, 0, "%s %s/%s", what, ipam->dir, name);
}

/* reserve(), reclaiming a lease whose holder is provably gone if `ip` is taken. */
static int reserve_or_reclaim(podnet_ipam *ipam, unsigned set, const podnet_cidr *ip,
                              struct alloc_ctx *a, podnet_error **err)
{
        char name[PN_ADDR_STRLEN], holder[128];
        int r;

        r = reserve(ipam, set, ip, a, err);
        if (r != 0)
                return r;
        pn_ipam_lease_name(ip, name);
        if (!pn_ipam_lease_is_stale(ipam, name, holder, sizeof(holder)))
                return 0;
        if (*holder)
                pn_info(ipam->ctx, "Reclaiming %s/%s, leased to '%s' in a previous boot", ipam->dir,
                        name, holder);
        else
                pn_info(ipam->ctx, "Reclaiming %s/%s, an empty lease file", ipam->dir, name);
        if (unlinkat(ipam->dir_fd, name, 0) < 0 && errno != ENOENT)
                return pn_error(err, errno, 0, "Removing stale lease %s/%s", ipam->dir, name);
        pn_ipam_remove_sidecar(ipam, name);
        return reserve(ipam, set, ip, a, err);
}

int pn_ipam_allocate(podnet_ipam *ipam, unsigned set, const char *container_id, const char *ifname,
                     const podnet_cidr *requested, podnet_cidr **ret_addr, podnet_cidr **ret_gw,
                     int *n_held, podnet_error **err)
{
        _cleanup_free_ podnet_cidr *addr = NULL, *gw = NULL;
        char a[PN_ADDR_STRLEN], setbuf[512];
        struct lease_list held = {0}, unheld = {0};
        const struct ipam_range *range = NULL;
        const struct ipam_set *s;
        struct index_ref ref;
        struct alloc_ctx actx = {container_id, ifname, &ref, &held, false};
        podnet_cidr ip = {0};
        int taken, r;

        if (!ipam || !ret_addr)
                return -EINVAL;
        if (set >= ipam->n_sets)
                return pn_error_plain(err, EINVAL, 0, "No range set %u in network %s", set,
                                      ipam->network);
        r = pn_ipam_check_attachment(container_id, ifname, err);
        if (r < 0)
                return r;
        s = &ipam->sets[set];
        pn_ipam_set_string(s, setbuf, sizeof(setbuf));
        if (requested) {
                podnet_cidr_format_addr(requested, a, sizeof(a));
                range = pn_ipam_set_range_for(s, requested);
                if (!range || pn_ipam_iter_skip(range, pn_cidr_a128(requested))) {
                        if (range && pn_cidr_addr_eq(requested, &range->gw))
                                return pn_error_plain(err, EEXIST, 0,
                                                      "Requested IP address %s is the gateway "
                                                      "of range set %s",
                                                      a, setbuf);
                        return pn_error_plain(err, ERANGE, 0,
                                              "Requested IP address %s is not in range set %s", a,
                                              setbuf);
                }
        }
        addr = malloc(sizeof(*addr));
        gw = malloc(sizeof(*gw));
        if (!addr || !gw)
                return -ENOMEM;

        taken = pn_ipam_begin_op(ipam, true, err);
        if (taken < 0)
                return taken;

        /* An attachment that already holds an address of this set gets it again, so
         * that a repeated ADD is idempotent (host-local fails it instead). Only the
         * attachment's index entry and the leases it lists are read: no directory scan,
         * so the cost does not grow with the number of pods. */
        r = pn_ipam_index_find(ipam, container_id, ifname, &ref, &held, &unheld);
        if (r < 0) {
                r = pn_error(err, -r, 0, "Reading the lease index of %s %s in %s", container_id,
                             ifname, ipam->dir);
                goto out;
        }
        /* Addresses an earlier, killed attempt listed but never leased: their lines go
         * with the next write of the entry, their sidecars now. */
        for (size_t i = 0; i < unheld.n; i++)
                pn_ipam_remove_sidecar_of(ipam, unheld.v[i].name, container_id, ifname);
        if (n_held)
                *n_held = (int)held.n;
        for (size_t i = 0; i < held.n; i++) {
                const struct ipam_range *hr = pn_ipam_set_range_for(s, &held.v[i].ip);

                if (!hr)
                        continue;
                ip = held.v[i].ip;
                range = hr;
                if (requested && !pn_cidr_addr_eq(requested, &ip)) {
                        char h[PN_ADDR_STRLEN];
                        podnet_cidr_format_addr(&ip, h, sizeof(h));
                        r = pn_error_plain(err, EEXIST, 0,
                                           "Container %s %s already holds %s in range set %s, "
                                           "not the requested %s",
                                           container_id, ifname, h, setbuf, a);
                        goto out;
                }
                pn_debug(ipam->ctx, "%s %s already holds %s/%s", container_id, ifname, ipam->dir,
                         held.v[i].name);
                /* Drop what the entry lists but no longer holds. */
                r = held.n < ref.n_listed
                        ? pn_ipam_index_store(ipam, &ref, container_id, ifname, &held)
                        : 0;
                if (r < 0)
                        pn_warn(ipam->ctx, "Updating the lease index of %s %s in %s: %s",
                                container_id, ifname, ipam->dir, strerror(-r));
                r = 0;
                goto out;
        }

        if (requested) {
                ip = *requested;
                r = reserve_or_reclaim(ipam, set, &ip, &actx, err);
                if (r == 0)
                        r = pn_error_plain(err, EEXIST, 0,
                                           "Requested IP address %s is not available in range "
                                           "set %s",
                                           a, setbuf);
        } else {
                struct range_iter it;
                pn_ipam_iter_init(&it, ipam, set);
                r = 0;
                while (pn_ipam_iter_next(&it, &ip, &range)) {
                        r = reserve_or_reclaim(ipam, set, &ip, &actx, err);
                        if (r != 0)
                                break;
                }
                if (r == 0)
                        r = pn_error_plain(err, ENOSPC, 0,
                                           "No IP addresses available in range set %s", setbuf);
        }
        if (r < 0 && actx.listed) {
                /* Take back the address the entry was made to list (none held: the
                 * entry goes). A failure here leaves a hint a later write drops. */
                int k = pn_ipam_index_store(ipam, &ref, container_id, ifname, &held);
                if (k < 0)
                        pn_warn(ipam->ctx, "Restoring the lease index of %s %s in %s: %s",
                                container_id, ifname, ipam->dir, strerror(-k));
        }
        if (r > 0)
                r = 0;
out:
        pn_ipam_end_op(ipam, taken);
        free(held.v);
        free(unheld.v);
        if (r < 0)
                return r;
        *addr = ip;
        addr->prefixlen = range->subnet.prefixlen;
        *ret_addr = steal_pointer(&addr);
        if (ret_gw) {
                *gw = range->gw;
                *ret_gw = steal_pointer(&gw);
        }
        return 0;
}

PODNET_EXPORT int podnet_ipam_allocate(podnet_ipam *ipam, unsigned set, const char *container_id,
                                       const char *ifname, const podnet_cidr *requested,
                                       podnet_cidr **ret_addr, podnet_cidr **ret_gw,
                                       podnet_error **err)
{
        return pn_ipam_allocate(ipam, set, container_id, ifname, requested, ret_addr, ret_gw, NULL,
                                err);
}

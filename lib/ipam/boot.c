/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The boot-id record of a lease: the sidecar `.podnet-boot/<ip>` saying in which boot
 * (kernel boot id) and for which attachment the lease was made, and the one test that
 * lets a lease of a previous boot be reclaimed.
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

static const char *boot_id(podnet_ipam *ipam)
{
        char buf[128];
        const char *s;
        ssize_t n;
        size_t len;

        if (ipam->boot_id_loaded)
                return ipam->boot_id;
        ipam->boot_id_loaded = true;
        ipam->boot_id[0] = '\0';
        n = pn_ipam_read_small(ipam, AT_FDCWD,
                               ipam->boot_id_path ? ipam->boot_id_path : PN_IPAM_BOOT_ID_FILE, buf,
                               sizeof(buf));
        if (n <= 0) {
                pn_debug(ipam->ctx, "Reading the boot id: %s", strerror(n < 0 ? (int)-n : EIO));
                return ipam->boot_id;
        }
        len = (size_t)n;
        s = pn_ipam_trim(buf, &len);
        if (len < sizeof(ipam->boot_id) && !memchr(s, '\n', len)) {
                memcpy(ipam->boot_id, s, len);
                ipam->boot_id[len] = '\0';
        }
        return ipam->boot_id;
}

int pn_ipam_set_boot_source(podnet_ipam *ipam, const char *boot_id_path)
{
        char *p = NULL;

        if (!ipam)
                return -EINVAL;
        if (boot_id_path && !(p = strdup(boot_id_path)))
                return -ENOMEM;
        free(ipam->boot_id_path);
        ipam->boot_id_path = p;
        ipam->boot_id_loaded = false;
        return 0;
}

/* Sidecar path of a lease. */
static void sidecar_name(const char *lease, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s", PN_IPAM_BOOT_DIR, lease);
}

void pn_ipam_remove_sidecar(podnet_ipam *ipam, const char *lease)
{
        char path[sizeof(PN_IPAM_BOOT_DIR) + PN_ADDR_STRLEN + 1];

        sidecar_name(lease, path, sizeof(path));
        (void)unlinkat(ipam->dir_fd, path, 0);
}

/* Records the current boot and the holder beside the lease `lease`, BEFORE the lease
 * is written: every lease podnet writes can then be judged after a reboot (a lease
 * without its sidecar never can, and is kept forever). A failure fails the
 * allocation. Without a boot id there is nothing to record and nothing can ever be
 * proven about the lease. The content can never equal what host-local's directory
 * walks match ("<id>\r\n<ifname>" or a bare container id): it has '=' and no "\r\n". */
int pn_ipam_write_sidecar(podnet_ipam *ipam, const char *lease, const char *id, const char *ifname)
{
        char path[sizeof(PN_IPAM_BOOT_DIR) + PN_ADDR_STRLEN + 1];
        _cleanup_free_ char *text = NULL;
        const char *boot = boot_id(ipam);

        if (!*boot)
                return 0;
        if (asprintf(&text, "boot_id=%s\ncontainer_id=%s\nifname=%s\n", boot, id, ifname) < 0)
                return -ENOMEM;
        sidecar_name(lease, path, sizeof(path));
        return pn_ipam_replace_file(ipam, path, text);
}

/* Value of `key=` in a sidecar's text, copied into buf; false if absent. */
bool pn_ipam_sidecar_field(const char *text, const char *key, char *buf, size_t size)
{
        size_t kl = strlen(key);

        for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                if (strncmp(l, key, kl) != 0 || l[kl] != '=')
                        continue;
                const char *v = l + kl + 1, *e = strchrnul(v, '\n');
                if ((size_t)(e - v) >= size)
                        return false;
                memcpy(buf, v, (size_t)(e - v));
                buf[e - v] = '\0';
                return true;
        }
        return false;
}

/* Removes the sidecar of `lease` if it names (id, ifname): what an ADD killed before
 * writing the lease, or a DEL killed after removing it, leaves. Another holder's
 * sidecar is left alone. */
void pn_ipam_remove_sidecar_of(podnet_ipam *ipam, const char *lease, const char *id,
                               const char *ifname)
{
        char path[sizeof(PN_IPAM_BOOT_DIR) + PN_ADDR_STRLEN + 1];
        char text[LEASE_READ_MAX + 128], sid[PN_IPAM_ID_MAX + 1], sif[32];

        sidecar_name(lease, path, sizeof(path));
        if (pn_ipam_read_small(ipam, ipam->dir_fd, path, text, sizeof(text)) > 0 &&
            pn_ipam_sidecar_field(text, "container_id", sid, sizeof(sid)) &&
            pn_ipam_sidecar_field(text, "ifname", sif, sizeof(sif)) && streq(sid, id) &&
            streq(sif, ifname))
                (void)unlinkat(ipam->dir_fd, path, 0);
}

/* Whether the holder of lease `name` is provably gone, the only case in which it is
 * reclaimed (see podnet_ipam_open(3), LEASES OF A PREVIOUS BOOT):
 *  - its sidecar names the lease's holder and a boot other than the running one: the
 *    holder's network namespace died with that boot (boot ids are unique per boot
 *    and do not depend on the clock);
 *  - the lease names no holder: every writer (podnet, host-local) fills a lease under
 *    the lock we hold, so an empty one is what a writer killed mid-write left, and no
 *    ADD ever returned its address.
 * Nothing else proves anything: not the lease's age, which the wall clock decides
 * (a clock stepped forward makes every lease look older than the boot), nor a
 * missing sidecar (host-local's leases, or podnet 0.1.0's whose best-effort sidecar
 * write failed). Such leases are kept until DEL or GC releases them. *holder gets the
 * content for logging. */
bool pn_ipam_lease_is_stale(podnet_ipam *ipam, const char *name, char *holder, size_t holder_size)
{
        char path[sizeof(PN_IPAM_BOOT_DIR) + PN_ADDR_STRLEN + 1];
        char content[LEASE_READ_MAX], side[LEASE_READ_MAX + 128];
        char sboot[64], sid[PN_IPAM_ID_MAX + 1], sif[32];
        const char *c, *boot;
        size_t len;

        holder[0] = '\0';
        c = pn_ipam_read_trimmed(ipam, name, content, sizeof(content), &len);
        if (!c)
                return false;
        if (len == 0)
                return true;
        snprintf(holder, holder_size, "%.*s", (int)len, c);
        for (char *p = holder; *p; p++)
                if (*p == '\r' || *p == '\n')
                        *p = ' ';

        boot = boot_id(ipam);
        sidecar_name(name, path, sizeof(path));
        return *boot && pn_ipam_read_small(ipam, ipam->dir_fd, path, side, sizeof(side)) > 0 &&
               pn_ipam_sidecar_field(side, "boot_id", sboot, sizeof(sboot)) && *sboot &&
               pn_ipam_sidecar_field(side, "container_id", sid, sizeof(sid)) &&
               pn_ipam_sidecar_field(side, "ifname", sif, sizeof(sif)) &&
               pn_ipam_lease_matches(c, len, sid, sif) == MATCH_NEW && !streq(sboot, boot);
}

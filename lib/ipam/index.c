/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The attachment index: `.podnet-boot/attach-<hash>` entries that list each
 * attachment's leases, so that ADD, DEL, lookup and CHECK read a few files instead of
 * every lease of the network.
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

/* `.podnet-boot/attach-<hash>[-<k>]` lists the leases of one attachment, so that ADD,
 * DEL, lookup and CHECK read a few files instead of every lease of the network:
 *
 *   podnet-index 1
 *   container_id=<id>
 *   ifname=<ifname>
 *   ip=<lease name>        (one line per lease)
 *
 * <hash> is the 64-bit FNV-1a of "<id>\n<ifname>" in 16 hex digits. Attachments whose
 * hashes collide share a chain: slot 0 is attach-<hash>, slot k attach-<hash>-<k>;
 * readers walk it up to the first missing slot and pick the entry naming their id and
 * ifname, and removal moves the chain's last entry into the freed slot, so chains
 * never have holes. Entries are written like every file (TMP_PATH renamed into
 * place) under the store's lock. An allocation lists the address it is about to lease
 * BEFORE writing the lease: whatever point an ADD is killed at, a retried ADD or a DEL
 * finds everything it wrote through the entry. An entry is a hint, never the truth:
 * every listed lease is read and counts only while its content still names the
 * attachment (it may never have been written, host-local may have released it, or we
 * may have reclaimed it for someone else after a reboot: such entries are left alone
 * and dropped by the next write, DEL or GC). The content starts
 * with "podnet-index" and has '=' and no "\r\n", so host-local's recursive FindByID /
 * ReleaseByID never take it for a lease. */

uint64_t pn_ipam_index_hash(const char *id, const char *ifname)
{
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        const uint64_t prime = UINT64_C(0x100000001b3);

        for (const char *p = id; *p; p++)
                h = (h ^ (unsigned char)*p) * prime;
        h = (h ^ (unsigned char)'\n') * prime;
        for (const char *p = ifname; *p; p++)
                h = (h ^ (unsigned char)*p) * prime;
        return h;
}

int pn_ipam_set_index_hash(podnet_ipam *ipam, bool force, uint64_t hash)
{
        if (!ipam)
                return -EINVAL;
        ipam->force_hash = force;
        ipam->forced_hash = hash;
        return 0;
}

unsigned long pn_ipam_files_opened(const podnet_ipam *ipam)
{
        return ipam ? ipam->n_opened : 0;
}

void pn_ipam_index_name(uint64_t hash, unsigned slot, char buf[INDEX_NAME_MAX])
{
        if (slot == 0)
                snprintf(buf, INDEX_NAME_MAX, "%s/%s%016" PRIx64, PN_IPAM_BOOT_DIR, INDEX_PREFIX,
                         hash);
        else
                snprintf(buf, INDEX_NAME_MAX, "%s/%s%016" PRIx64 "-%u", PN_IPAM_BOOT_DIR,
                         INDEX_PREFIX, hash, slot);
}

/* The (id, ifname) an entry's text names; false if it is not an entry. */
bool pn_ipam_index_parse(const char *text, char id[PN_IPAM_ID_MAX + 1], char ifname[32])
{
        return strncmp(text, INDEX_MAGIC "\n", sizeof(INDEX_MAGIC)) == 0 &&
               pn_ipam_sidecar_field(text, "container_id", id, PN_IPAM_ID_MAX + 1) &&
               pn_ipam_sidecar_field(text, "ifname", ifname, 32);
}

/* Whether lease `name` holds "<id>\r\n<ifname>". */
static bool lease_held_by(podnet_ipam *ipam, const char *name, const char *id, const char *ifname)
{
        char buf[LEASE_READ_MAX];
        const char *c;
        size_t len;

        c = pn_ipam_read_trimmed(ipam, name, buf, sizeof(buf), &len);
        return c && pn_ipam_lease_matches(c, len, id, ifname) == MATCH_NEW;
}

/* Appends to *out the leases an entry lists that still hold (id, ifname), and to
 * *unheld (if not NULL) the others; counts the listed ones in *n_listed. Reads only
 * those lease files. */
int pn_ipam_index_verify(podnet_ipam *ipam, const char *text, const char *id, const char *ifname,
                         struct lease_list *out, struct lease_list *unheld, size_t *n_listed)
{
        for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                char name[PN_ADDR_STRLEN];
                const char *v, *e;
                podnet_cidr ip;
                bool dup = false;
                int r;

                if (strncmp(l, "ip=", 3) != 0)
                        continue;
                v = l + 3;
                e = strchrnul(v, '\n');
                if ((size_t)(e - v) >= sizeof(name))
                        continue;
                memcpy(name, v, (size_t)(e - v));
                name[e - v] = '\0';
                if (!pn_ipam_parse_lease_name(name, &ip))
                        continue;
                (*n_listed)++;
                pn_ipam_lease_name(&ip, name);
                for (size_t i = 0; i < out->n && !dup; i++)
                        dup = streq(out->v[i].name, name);
                if (dup)
                        continue;
                if (!lease_held_by(ipam, name, id, ifname)) {
                        r = unheld ? pn_ipam_lease_list_add(unheld, name, &ip, MATCH_NONE) : 0;
                        if (r < 0)
                                return r;
                        continue;
                }
                r = pn_ipam_lease_list_add(out, name, &ip, MATCH_NEW);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Looks the attachment up in the index: 1 if it has an entry (its verified leases
 * appended to *held, the other listed ones to *unheld if not NULL), 0 if not, -errno
 * if the index cannot be read. */
int pn_ipam_index_find(podnet_ipam *ipam, const char *id, const char *ifname, struct index_ref *ref,
                       struct lease_list *held, struct lease_list *unheld)
{
        _cleanup_free_ char *text = malloc(INDEX_READ_MAX);
        char name[INDEX_NAME_MAX], eid[PN_IPAM_ID_MAX + 1], eif[32];

        *ref = (struct index_ref){
            .hash = ipam->force_hash ? ipam->forced_hash : pn_ipam_index_hash(id, ifname),
        };
        if (!text)
                return -ENOMEM;
        for (unsigned k = 0; k < UINT_MAX; k++) {
                ssize_t n;
                int r;

                pn_ipam_index_name(ref->hash, k, name);
                n = pn_ipam_read_small(ipam, ipam->dir_fd, name, text, INDEX_READ_MAX);
                if (n == -ENOENT) {
                        ref->slot = k;
                        return 0;
                }
                /* Something that is not a file (ELOOP, EISDIR, EINVAL: a symlink, a
                 * directory, a FIFO...) is not our entry; skip it. */
                if (n < 0 && n != -ELOOP && n != -EISDIR && n != -EINVAL)
                        return (int)n;
                if (n < 0 || !pn_ipam_index_parse(text, eid, eif) || !streq(eid, id) ||
                    !streq(eif, ifname))
                        continue; /* another attachment of this hash */
                ref->slot = k;
                ref->found = true;
                r = pn_ipam_index_verify(ipam, text, id, ifname, held, unheld, &ref->n_listed);
                return r < 0 ? r : 1;
        }
        return -EOVERFLOW;
}

/* Removes slot `slot` of a chain, moving the chain's last entry into it. */
int pn_ipam_index_remove(podnet_ipam *ipam, uint64_t hash, unsigned slot)
{
        char name[INDEX_NAME_MAX], last[INDEX_NAME_MAX];
        struct stat st;
        unsigned k = slot;

        for (;; k++) {
                pn_ipam_index_name(hash, k + 1, last);
                if (fstatat(ipam->dir_fd, last, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        break;
        }
        pn_ipam_index_name(hash, slot, name);
        if (k > slot) {
                pn_ipam_index_name(hash, k, last);
                return renameat(ipam->dir_fd, last, ipam->dir_fd, name) < 0 ? -errno : 0;
        }
        return unlinkat(ipam->dir_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

/* Makes the entry at ref->slot list exactly `leases` (none: removes it), atomically. */
int pn_ipam_index_store(podnet_ipam *ipam, const struct index_ref *ref, const char *id,
                        const char *ifname, const struct lease_list *leases)
{
        _cleanup_free_ char *text = NULL;
        char name[INDEX_NAME_MAX];
        size_t size = 0;
        FILE *f;

        if (leases->n == 0)
                return ref->found ? pn_ipam_index_remove(ipam, ref->hash, ref->slot) : 0;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s\ncontainer_id=%s\nifname=%s\n", INDEX_MAGIC, id, ifname);
        for (size_t i = 0; i < leases->n; i++)
                fprintf(f, "ip=%s\n", leases->v[i].name);
        if (fclose(f) != 0 || !text)
                return -ENOMEM;
        pn_ipam_index_name(ref->hash, ref->slot, name);
        return pn_ipam_replace_file(ipam, name, text);
}

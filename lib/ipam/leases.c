/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lease files, `<dataDir>/<network>/<ip>` holding "<id>\r\n<ifname>" as host-local writes
 * them: their names, whether one belongs to an attachment, scanning and removing them.
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

/* Name of the lease file of `ip`: its text as Go's net.IP.String() writes it. */
void pn_ipam_lease_name(const podnet_cidr *ip, char buf[PN_ADDR_STRLEN])
{
        if (pn_addr_format(ip, buf, PN_ADDR_STRLEN) < 0)
                buf[0] = '\0';
}

/* The address a directory entry names, if it names one. */
bool pn_ipam_parse_lease_name(const char *name, podnet_cidr *ip)
{
        return !strchr(name, '/') && pn_cidr_parse_into(ip, name) == 0;
}

/* How a lease's trimmed content relates to (id, ifname). */
enum lease_match pn_ipam_lease_matches(const char *content, size_t len, const char *id,
                                       const char *ifname)
{
        size_t idl = strlen(id), ifl = strlen(ifname);

        if (len == idl && memcmp(content, id, idl) == 0)
                return MATCH_OLD;
        if (len == idl + 2 + ifl && memcmp(content, id, idl) == 0 &&
            memcmp(content + idl, PN_IPAM_LINE_BREAK, 2) == 0 &&
            memcmp(content + idl + 2, ifname, ifl) == 0)
                return MATCH_NEW;
        return MATCH_NONE;
}

int pn_ipam_lease_list_add(struct lease_list *l, const char *name, const podnet_cidr *ip,
                           enum lease_match m)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 8;
                struct lease *v = realloc(l->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        size_t len = strnlen(name, sizeof(l->v[l->n].name));
        if (len >= sizeof(l->v[l->n].name))
                return -ENAMETOOLONG;
        memcpy(l->v[l->n].name, name, len + 1);
        l->v[l->n].ip = *ip;
        l->v[l->n].match = m;
        l->n++;
        return 0;
}

/* Reads every lease (a file named by an address) of the store and collects those the
 * filter picks. Unreadable files are skipped, as host-local does. */
int pn_ipam_scan_leases(podnet_ipam *ipam, lease_filter filter, void *userdata,
                        struct lease_list *out, podnet_error **err)
{
        char buf[LEASE_READ_MAX];
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        fd = pn_ipam_openat(ipam, ipam->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0)
                return pn_error(err, errno, 0, "Reading %s", ipam->dir);
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return pn_error(err, errno, 0, "Reading %s", ipam->dir);
        }
        while ((de = readdir(d))) {
                podnet_cidr ip;
                enum lease_match m;
                const char *s;
                size_t len;

                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;
                if (!pn_ipam_parse_lease_name(de->d_name, &ip))
                        continue;
                s = pn_ipam_read_trimmed(ipam, de->d_name, buf, sizeof(buf), &len);
                if (!s)
                        continue;
                m = filter(&ip, s, len, userdata);
                if (m == MATCH_NONE)
                        continue;
                r = pn_ipam_lease_list_add(out, de->d_name, &ip, m);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

struct attachment_filter {
        const char *id, *ifname;
};

static enum lease_match filter_attachment(const podnet_cidr *ip, const char *content, size_t len,
                                          void *userdata)
{
        struct attachment_filter *f = userdata;

        (void)ip;
        return pn_ipam_lease_matches(content, len, f->id, f->ifname);
}

/* Removes the collected leases (and their sidecars); returns how many, or the
 * first error after trying them all. */
int pn_ipam_remove_leases(podnet_ipam *ipam, const struct lease_list *l, enum lease_match only,
                          podnet_error **err)
{
        int count = 0, r = 0;

        for (size_t i = 0; i < l->n; i++) {
                if (only != MATCH_NONE && l->v[i].match != only)
                        continue;
                if (unlinkat(ipam->dir_fd, l->v[i].name, 0) < 0) {
                        if (errno == ENOENT)
                                continue;
                        if (r == 0)
                                r = pn_error(err, errno, 0, "Removing lease %s/%s", ipam->dir,
                                             l->v[i].name);
                        continue;
                }
                pn_ipam_remove_sidecar(ipam, l->v[i].name);
                pn_debug(ipam->ctx, "Released %s/%s", ipam->dir, l->v[i].name);
                count++;
        }
        return r < 0 ? r : count;
}

/* The attachment's leases from its index entry (1) or, when it has no entry, an
 * unreadable one or one whose leases all went elsewhere, from a scan of the whole
 * directory (0): that finds leases host-local wrote and those of old versions. The
 * addresses the entry lists that the attachment does not hold go to *unheld (if not
 * NULL). */
int pn_ipam_find_attachment(podnet_ipam *ipam, const char *id, const char *ifname,
                            struct index_ref *ref, struct lease_list *l, struct lease_list *unheld,
                            podnet_error **err)
{
        struct attachment_filter f = {id, ifname};
        int r;

        r = pn_ipam_index_find(ipam, id, ifname, ref, l, unheld);
        if (r > 0 && l->n > 0)
                return 1;
        if (r < 0)
                pn_debug(ipam->ctx, "Reading the lease index of %s %s in %s: %s", id, ifname,
                         ipam->dir, strerror(-r));
        l->n = 0;
        r = pn_ipam_scan_leases(ipam, filter_attachment, &f, l, err);
        return r < 0 ? r : 0;
}

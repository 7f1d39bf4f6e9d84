/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host-local compatible IPAM: range sets, round-robin allocation and the on-disk store
 * `<dataDir>/<network>/{<ip>,last_reserved_ip.<set>,lock}` shared with host-local, plus in
 * `.podnet-boot/` boot-id sidecars and a per-attachment lease index ("attachment index").
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

/* A lease file holds "<id>\r\n<ifname>" (or "<id>" from old host-local versions);
 * this bounds what is worth reading. */
#define LEASE_READ_MAX (PN_IPAM_ID_MAX + 64)

struct ipam_range {
        podnet_cidr subnet; /* network address */
        podnet_cidr start, end, gw;
};

struct ipam_set {
        struct ipam_range *ranges;
        size_t n;
};

struct podnet_ipam {
        int n_ref;
        podnet_ctx *ctx;
        char *data_dir;
        char *network;
        char *dir; /* data_dir/network */
        int dir_fd;
        int lock_fd;
        bool user_locked;
        struct ipam_set *sets;
        unsigned n_sets;

        char *boot_id_path; /* NULL: the kernel's */
        bool boot_id_loaded;
        char boot_id[64]; /* "" if unknown */

        unsigned long n_opened; /* files this object tried to open (pn_ipam_files_opened) */
        bool force_hash;        /* tests: every attachment hashes to forced_hash */
        uint64_t forced_hash;
};

/* ---- validation ---------------------------------------------------------- */

/* libcni's rules for CNI_CONTAINERID and CNI_IFNAME, with this API's own messages and a
 * bound on the id's length. */
static int check_attachment(const char *id, const char *ifname, podnet_error **err)
{
        if (!pn_id_valid(id) || strlen(id) > PN_IPAM_ID_MAX)
                return pn_error_plain(err, EINVAL, 0,
                                      "Invalid container id '%s': must match "
                                      "^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$",
                                      id ? id : "(null)");
        if (!pn_ifname_valid(ifname))
                return pn_error_plain(err, EINVAL, 0,
                                      "Invalid interface name '%s'", ifname ? ifname : "(null)");
        return 0;
}

/* ---- small file helpers -------------------------------------------------- */

/* Go's strings.TrimSpace for ASCII: returns the start, sets *len. */
static const char *trim(const char *s, size_t *len)
{
        size_t n = *len;

        while (n > 0 && isspace((unsigned char)*s))
                s++, n--;
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                n--;
        *len = n;
        return s;
}

/* Every open of the store goes through here, so that tests can check how many files
 * an operation touches (pn_ipam_files_opened). */
static int ipam_openat(podnet_ipam *ipam, int dir_fd, const char *name, int flags, mode_t mode)
{
        ipam->n_opened++;
        return openat(dir_fd, name, flags, mode);
}

/* Reads at most size-1 bytes of dir_fd/name into buf, NUL-terminated. Returns the
 * length, or -errno: -ELOOP for a symlink, -EISDIR for a directory, -EINVAL for
 * anything else that is not a regular file. O_NONBLOCK: opening a FIFO planted in the
 * store must not wait for a writer. */
static ssize_t read_small(podnet_ipam *ipam, int dir_fd, const char *name, char *buf, size_t size)
{
        _cleanup_close_ int fd = -1;
        int r;

        fd = ipam_openat(ipam, dir_fd, name,
                         O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        r = pn_check_regular(fd);
        if (r < 0)
                return r;
        return pn_read_full(fd, buf, size);
}

/* read_small() of a file of the store, trimmed: the content's start (its length in
 * *len, NUL-terminated there), or NULL if unreadable. */
static const char *read_trimmed(podnet_ipam *ipam, const char *name, char *buf, size_t size,
                                size_t *len)
{
        ssize_t n = read_small(ipam, ipam->dir_fd, name, buf, size);
        char *s;

        if (n < 0)
                return NULL;
        *len = (size_t)n;
        s = (char *)trim(buf, len);
        s[*len] = '\0';
        return s;
}

/* Every file of the store is written as this temporary and then renamed into place,
 * so that a process killed at any point leaves either the old file, the new one, or
 * this temporary, never a partial file (a 0-byte lease would be held forever). One
 * name suffices: writes happen under the store's lock, each temporary is renamed
 * away before the next is made, and what a crash leaves is removed by the next DEL
 * or GC. It lives in the sidecar directory, whose files count_leases() and host-local's
 * GC never look at. No fsync (it would cost every ADD a disk flush): a killed process
 * loses nothing that reached write(2); after a power loss the node reboots, podnet's
 * leases are reclaimed by their sidecars' boot id and empty ones by their emptiness,
 * and only a lease that reached the disk without its sidecar waits for DEL or GC
 * (see podnet_ipam_open(3), CRASHES). */
#define TMP_NAME "write.tmp"
#define TMP_PATH PN_IPAM_BOOT_DIR "/" TMP_NAME
#define OLD_INDEX_TMP_NAME "index.tmp" /* what podnet 0.1.0 used for index entries */

/* Writes text into a fresh TMP_PATH (creating the sidecar directory if needed). */
static int write_tmp(podnet_ipam *ipam, const char *text)
{
        _cleanup_close_ int fd = -1;
        int r;

        for (int attempt = 0;; attempt++) {
                /* O_EXCL: a leftover (or anything planted there) is removed, never
                 * opened, so that a FIFO cannot block us nor a symlink redirect us. */
                fd = ipam_openat(ipam, ipam->dir_fd, TMP_PATH,
                                 O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (fd >= 0)
                        break;
                if (attempt >= 2)
                        return -errno;
                if (errno == ENOENT) {
                        if (mkdirat(ipam->dir_fd, PN_IPAM_BOOT_DIR, 0755) < 0 && errno != EEXIST)
                                return -errno;
                } else if (errno == EEXIST) {
                        if (unlinkat(ipam->dir_fd, TMP_PATH, 0) < 0 && errno != ENOENT)
                                return -errno;
                } else {
                        return -errno;
                }
        }
        r = pn_write_all(fd, text, strlen(text));
        if (r >= 0 && close(steal_fd(&fd)) < 0)
                r = -errno;
        if (r < 0)
                (void)unlinkat(ipam->dir_fd, TMP_PATH, 0);
        return r;
}

/* Puts text as `name` (relative to the store) atomically: replacing what is there, or
 * with !replace only if nothing is (-EEXIST otherwise: host-local's O_CREAT|O_EXCL,
 * without ever showing a partial file). */
static int put_file(podnet_ipam *ipam, const char *name, const char *text, bool replace)
{
        int r = write_tmp(ipam, text);

        if (r < 0)
                return r;
        r = renameat2(ipam->dir_fd, TMP_PATH, ipam->dir_fd, name, replace ? 0 : RENAME_NOREPLACE);
        if (r == 0)
                return 0;
        r = -errno;
        if (!replace && (r == -EINVAL || r == -ENOSYS))
                /* A file system without RENAME_NOREPLACE: link(2) never replaces either. */
                r = linkat(ipam->dir_fd, TMP_PATH, ipam->dir_fd, name, 0) < 0 ? -errno : 0;
        (void)unlinkat(ipam->dir_fd, TMP_PATH, 0);
        return r;
}

static int replace_file(podnet_ipam *ipam, const char *name, const char *text)
{
        return put_file(ipam, name, text, true);
}

/* Removes a temporary a killed write left behind. */
static void remove_tmp(podnet_ipam *ipam)
{
        (void)unlinkat(ipam->dir_fd, TMP_PATH, 0);
}

/* mkdir -p with mode 0755. */
static int mkdir_parents(const char *path)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = c;
                if (c == '\0')
                        break;
        }
        return 0;
}

/* Name of the lease file of `ip`: its text as Go's net.IP.String() writes it. */
static void lease_name(const podnet_cidr *ip, char buf[PN_ADDR_STRLEN])
{
        if (pn_addr_format(ip, buf, PN_ADDR_STRLEN) < 0)
                buf[0] = '\0';
}

/* The address a directory entry names, if it names one. */
static bool parse_lease_name(const char *name, podnet_cidr *ip)
{
        return !strchr(name, '/') && pn_cidr_parse_into(ip, name) == 0;
}

/* ---- boot identity ------------------------------------------------------- */

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
        n = read_small(ipam, AT_FDCWD,
                       ipam->boot_id_path ? ipam->boot_id_path : PN_IPAM_BOOT_ID_FILE, buf,
                       sizeof(buf));
        if (n <= 0) {
                pn_debug(ipam->ctx, "Reading the boot id: %s", strerror(n < 0 ? (int)-n : EIO));
                return ipam->boot_id;
        }
        len = (size_t)n;
        s = trim(buf, &len);
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

/* ---- the lock and the directory ----------------------------------------- */

/* Opens `<dataDir>/<network>`, creating it if `create`. -ENOENT (no message) when it
 * does not exist and !create. */
static int open_dir(podnet_ipam *ipam, bool create, podnet_error **err)
{
        int r;

        if (ipam->dir_fd >= 0)
                return 0;
        ipam->dir_fd =
            ipam_openat(ipam, AT_FDCWD, ipam->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (ipam->dir_fd >= 0)
                return 0;
        if (errno != ENOENT)
                return pn_error(err, errno, 0, "Opening %s", ipam->dir);
        if (!create)
                return -ENOENT;
        r = mkdir_parents(ipam->dir);
        if (r < 0)
                return pn_error(err, -r, 0, "Creating %s", ipam->dir);
        ipam->dir_fd =
            ipam_openat(ipam, AT_FDCWD, ipam->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
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
                    ipam_openat(ipam, ipam->dir_fd, PN_IPAM_LOCK_FILE,
                                O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
                if (ipam->lock_fd < 0)
                        return pn_error(err, errno, 0, "Opening %s/%s", ipam->dir,
                                        PN_IPAM_LOCK_FILE);
                /* (A directory already failed the open with EISDIR.) */
                r = pn_check_regular(ipam->lock_fd);
                if (r < 0) {
                        close(ipam->lock_fd);
                        ipam->lock_fd = -1;
                        return pn_error(err, -r, 0, "Opening %s/%s%s", ipam->dir,
                                        PN_IPAM_LOCK_FILE,
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
static int begin_op(podnet_ipam *ipam, bool create, podnet_error **err)
{
        int r;

        if (ipam->user_locked)
                return 0;
        r = take_lock(ipam, create, err);
        return r < 0 ? r : 1;
}

static void end_op(podnet_ipam *ipam, int taken)
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

/* ---- object -------------------------------------------------------------- */

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

/* ---- ranges -------------------------------------------------------------- */

static bool range_contains(const struct ipam_range *r, const podnet_cidr *ip)
{
        return ip->family == r->start.family && pn_cidr_addr_cmp(ip, &r->start) >= 0 &&
               pn_cidr_addr_cmp(ip, &r->end) <= 0;
}

/* host-local's RangeSet.RangeFor: the range whose [start, end] holds ip. */
static const struct ipam_range *set_range_for(const struct ipam_set *s, const podnet_cidr *ip)
{
        for (size_t i = 0; i < s->n; i++)
                if (range_contains(&s->ranges[i], ip))
                        return &s->ranges[i];
        return NULL;
}

static bool ranges_overlap(const struct ipam_range *a, const struct ipam_range *b)
{
        return a->start.family == b->start.family && pn_cidr_addr_cmp(&a->start, &b->end) <= 0 &&
               pn_cidr_addr_cmp(&b->start, &a->end) <= 0;
}

/* "10.1.1.0/24,10.1.2.0/24" into buf (truncated if it has to be). */
static const char *set_string(const struct ipam_set *s, char *buf, size_t size)
{
        size_t pos = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < s->n && pos + PODNET_CIDR_STRLEN + 1 < size; i++) {
                if (i > 0)
                        buf[pos++] = ',';
                int r = podnet_cidr_format(&s->ranges[i].subnet, buf + pos, size - pos);
                if (r < 0)
                        break;
                pos += (size_t)r;
        }
        return buf;
}

static int range_bound(const char *what, const podnet_cidr *in, const podnet_cidr *subnet,
                       podnet_cidr *out, podnet_error **err)
{
        char a[PODNET_CIDR_STRLEN], n[PODNET_CIDR_STRLEN];

        if (!in)
                return 0;
        if (!pn_cidr_contains_addr(subnet, in)) {
                podnet_cidr_format_addr(in, a, sizeof(a));
                podnet_cidr_format(subnet, n, sizeof(n));
                return pn_error_plain(err, EINVAL, 0,
                                      "%s %s not in network %s", what, a, n);
        }
        *out = *in;
        out->prefixlen = subnet->prefixlen;
        return 0;
}

PODNET_EXPORT int podnet_ipam_add_range(podnet_ipam *ipam, unsigned set, const podnet_cidr *subnet,
                                        const podnet_cidr *range_start,
                                        const podnet_cidr *range_end, const podnet_cidr *gateway,
                                        podnet_error **err)
{
        char a[PODNET_CIDR_STRLEN], b[PODNET_CIDR_STRLEN];
        struct ipam_range r = {0};
        struct ipam_set *s;
        int k;

        if (!ipam || !subnet)
                return -EINVAL;
        if (set > ipam->n_sets)
                return pn_error_plain(err, EINVAL, 0,
                                      "Range set %u added before range set %u", set, ipam->n_sets);
        podnet_cidr_format(subnet, a, sizeof(a));
        /* Like host-local: a /31, /32, /127 or /128 leaves nothing to allocate. */
        if (subnet->prefixlen + 2 > pn_cidr_bits(subnet))
                return pn_error_plain(err, EINVAL, 0,
                                      "Network %s too small to allocate from", a);
        r.subnet = *subnet;
        pn_cidr_mask(&r.subnet);
        podnet_cidr_format(&r.subnet, a, sizeof(a));

        /* Defaults: gateway and start network+1, end the last address (IPv4: before
         * the broadcast). */
        r.gw = r.subnet;
        pn_cidr_set_a128(&r.gw, pn_a128_add(pn_cidr_a128(&r.subnet), pn_a128_make(0, 1), NULL));
        r.start = r.gw;
        r.end = r.subnet;
        pn_cidr_fill(&r.end);
        if (r.end.family == AF_INET)
                pn_cidr_set_a128(&r.end,
                                 pn_a128_sub(pn_cidr_a128(&r.end), pn_a128_make(0, 1), NULL));
        k = range_bound("Gateway", gateway, &r.subnet, &r.gw, err);
        if (k >= 0)
                k = range_bound("Range start", range_start, &r.subnet, &r.start, err);
        if (k >= 0)
                k = range_bound("Range end", range_end, &r.subnet, &r.end, err);
        if (k < 0)
                return k;
        if (pn_cidr_addr_cmp(&r.start, &r.end) > 0) {
                podnet_cidr_format_addr(&r.start, a, sizeof(a));
                podnet_cidr_format_addr(&r.end, b, sizeof(b));
                return pn_error_plain(err, EINVAL, 0,
                                      "Range start %s is after range end %s", a, b);
        }

        for (unsigned i = 0; i < ipam->n_sets; i++)
                for (size_t j = 0; j < ipam->sets[i].n; j++) {
                        const struct ipam_range *o = &ipam->sets[i].ranges[j];
                        if (i == set && o->subnet.family != r.subnet.family)
                                return pn_error_plain(err, EINVAL, 0,
                                                      "Range set %u mixes address families", set);
                        if (!ranges_overlap(o, &r))
                                continue;
                        podnet_cidr_format(&o->subnet, b, sizeof(b));
                        return pn_error_plain(err, EINVAL, 0,
                                              "Subnets %s and %s overlap", b, a);
                }

        if (set == ipam->n_sets) {
                s = realloc(ipam->sets, (ipam->n_sets + 1) * sizeof(*s));
                if (!s)
                        return -ENOMEM;
                ipam->sets = s;
                ipam->sets[ipam->n_sets++] = (struct ipam_set){0};
        }
        s = &ipam->sets[set];
        struct ipam_range *nr = realloc(s->ranges, (s->n + 1) * sizeof(*nr));
        if (!nr)
                return -ENOMEM;
        s->ranges = nr;
        s->ranges[s->n++] = r;
        return 0;
}

/* ---- leases -------------------------------------------------------------- */

enum lease_match {
        MATCH_NONE,
        MATCH_OLD, /* content is the container id alone (host-local before CNI 0.7) */
        MATCH_NEW, /* "<id>\r\n<ifname>" */
};

/* How a lease's trimmed content relates to (id, ifname). */
static enum lease_match lease_matches(const char *content, size_t len, const char *id,
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

struct lease {
        char name[PN_ADDR_STRLEN];
        podnet_cidr ip;
        enum lease_match match;
};

struct lease_list {
        struct lease *v;
        size_t n, cap;
};

static int lease_list_add(struct lease_list *l, const char *name, const podnet_cidr *ip,
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

/* Called for each lease file with its trimmed content; returns a match kind to
 * collect it, MATCH_NONE to skip. */
typedef enum lease_match (*lease_filter)(const podnet_cidr *ip, const char *content, size_t len,
                                         void *userdata);

/* Reads every lease (a file named by an address) of the store and collects those the
 * filter picks. Unreadable files are skipped, as host-local does. */
static int scan_leases(podnet_ipam *ipam, lease_filter filter, void *userdata,
                       struct lease_list *out, podnet_error **err)
{
        char buf[LEASE_READ_MAX];
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        fd = ipam_openat(ipam, ipam->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
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
                if (!parse_lease_name(de->d_name, &ip))
                        continue;
                s = read_trimmed(ipam, de->d_name, buf, sizeof(buf), &len);
                if (!s)
                        continue;
                m = filter(&ip, s, len, userdata);
                if (m == MATCH_NONE)
                        continue;
                r = lease_list_add(out, de->d_name, &ip, m);
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
        return lease_matches(content, len, f->id, f->ifname);
}

/* Sidecar path of a lease. */
static void sidecar_name(const char *lease, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s", PN_IPAM_BOOT_DIR, lease);
}

static void remove_sidecar(podnet_ipam *ipam, const char *lease)
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
static int write_sidecar(podnet_ipam *ipam, const char *lease, const char *id, const char *ifname)
{
        char path[sizeof(PN_IPAM_BOOT_DIR) + PN_ADDR_STRLEN + 1];
        _cleanup_free_ char *text = NULL;
        const char *boot = boot_id(ipam);

        if (!*boot)
                return 0;
        if (asprintf(&text, "boot_id=%s\ncontainer_id=%s\nifname=%s\n", boot, id, ifname) < 0)
                return -ENOMEM;
        sidecar_name(lease, path, sizeof(path));
        return replace_file(ipam, path, text);
}

/* Value of `key=` in a sidecar's text, copied into buf; false if absent. */
static bool sidecar_field(const char *text, const char *key, char *buf, size_t size)
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
static void remove_sidecar_of(podnet_ipam *ipam, const char *lease, const char *id,
                              const char *ifname)
{
        char path[sizeof(PN_IPAM_BOOT_DIR) + PN_ADDR_STRLEN + 1];
        char text[LEASE_READ_MAX + 128], sid[PN_IPAM_ID_MAX + 1], sif[32];

        sidecar_name(lease, path, sizeof(path));
        if (read_small(ipam, ipam->dir_fd, path, text, sizeof(text)) > 0 &&
            sidecar_field(text, "container_id", sid, sizeof(sid)) &&
            sidecar_field(text, "ifname", sif, sizeof(sif)) && streq(sid, id) && streq(sif, ifname))
                (void)unlinkat(ipam->dir_fd, path, 0);
}

/* ---- attachment index -------------------------------------------------- */

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
#define INDEX_MAGIC "podnet-index 1"
#define INDEX_PREFIX "attach-"
#define INDEX_READ_MAX 8192
#define INDEX_NAME_MAX (sizeof(PN_IPAM_BOOT_DIR) + sizeof(INDEX_PREFIX) + 16 + 16)

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

static void index_name(uint64_t hash, unsigned slot, char buf[INDEX_NAME_MAX])
{
        if (slot == 0)
                snprintf(buf, INDEX_NAME_MAX, "%s/%s%016" PRIx64, PN_IPAM_BOOT_DIR, INDEX_PREFIX,
                         hash);
        else
                snprintf(buf, INDEX_NAME_MAX, "%s/%s%016" PRIx64 "-%u", PN_IPAM_BOOT_DIR,
                         INDEX_PREFIX, hash, slot);
}

/* The (id, ifname) an entry's text names; false if it is not an entry. */
static bool index_parse(const char *text, char id[PN_IPAM_ID_MAX + 1], char ifname[32])
{
        return strncmp(text, INDEX_MAGIC "\n", sizeof(INDEX_MAGIC)) == 0 &&
               sidecar_field(text, "container_id", id, PN_IPAM_ID_MAX + 1) &&
               sidecar_field(text, "ifname", ifname, 32);
}

/* Whether lease `name` holds "<id>\r\n<ifname>". */
static bool lease_held_by(podnet_ipam *ipam, const char *name, const char *id, const char *ifname)
{
        char buf[LEASE_READ_MAX];
        const char *c;
        size_t len;

        c = read_trimmed(ipam, name, buf, sizeof(buf), &len);
        return c && lease_matches(c, len, id, ifname) == MATCH_NEW;
}

/* Appends to *out the leases an entry lists that still hold (id, ifname), and to
 * *unheld (if not NULL) the others; counts the listed ones in *n_listed. Reads only
 * those lease files. */
static int index_verify(podnet_ipam *ipam, const char *text, const char *id, const char *ifname,
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
                if (!parse_lease_name(name, &ip))
                        continue;
                (*n_listed)++;
                lease_name(&ip, name);
                for (size_t i = 0; i < out->n && !dup; i++)
                        dup = streq(out->v[i].name, name);
                if (dup)
                        continue;
                if (!lease_held_by(ipam, name, id, ifname)) {
                        r = unheld ? lease_list_add(unheld, name, &ip, MATCH_NONE) : 0;
                        if (r < 0)
                                return r;
                        continue;
                }
                r = lease_list_add(out, name, &ip, MATCH_NEW);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Where an attachment's entry is (found) or would go (the free slot ending its chain). */
struct index_ref {
        uint64_t hash;
        unsigned slot;
        bool found;
        size_t n_listed;
};

/* Looks the attachment up in the index: 1 if it has an entry (its verified leases
 * appended to *held, the other listed ones to *unheld if not NULL), 0 if not, -errno
 * if the index cannot be read. */
static int index_find(podnet_ipam *ipam, const char *id, const char *ifname, struct index_ref *ref,
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

                index_name(ref->hash, k, name);
                n = read_small(ipam, ipam->dir_fd, name, text, INDEX_READ_MAX);
                if (n == -ENOENT) {
                        ref->slot = k;
                        return 0;
                }
                /* Something that is not a file (ELOOP, EISDIR, EINVAL: a symlink, a
                 * directory, a FIFO...) is not our entry; skip it. */
                if (n < 0 && n != -ELOOP && n != -EISDIR && n != -EINVAL)
                        return (int)n;
                if (n < 0 || !index_parse(text, eid, eif) || !streq(eid, id) || !streq(eif, ifname))
                        continue; /* another attachment of this hash */
                ref->slot = k;
                ref->found = true;
                r = index_verify(ipam, text, id, ifname, held, unheld, &ref->n_listed);
                return r < 0 ? r : 1;
        }
        return -EOVERFLOW;
}

/* Removes slot `slot` of a chain, moving the chain's last entry into it. */
static int index_remove(podnet_ipam *ipam, uint64_t hash, unsigned slot)
{
        char name[INDEX_NAME_MAX], last[INDEX_NAME_MAX];
        struct stat st;
        unsigned k = slot;

        for (;; k++) {
                index_name(hash, k + 1, last);
                if (fstatat(ipam->dir_fd, last, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        break;
        }
        index_name(hash, slot, name);
        if (k > slot) {
                index_name(hash, k, last);
                return renameat(ipam->dir_fd, last, ipam->dir_fd, name) < 0 ? -errno : 0;
        }
        return unlinkat(ipam->dir_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

/* Makes the entry at ref->slot list exactly `leases` (none: removes it), atomically. */
static int index_store(podnet_ipam *ipam, const struct index_ref *ref, const char *id,
                       const char *ifname, const struct lease_list *leases)
{
        _cleanup_free_ char *text = NULL;
        char name[INDEX_NAME_MAX];
        size_t size = 0;
        FILE *f;

        if (leases->n == 0)
                return ref->found ? index_remove(ipam, ref->hash, ref->slot) : 0;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s\ncontainer_id=%s\nifname=%s\n", INDEX_MAGIC, id, ifname);
        for (size_t i = 0; i < leases->n; i++)
                fprintf(f, "ip=%s\n", leases->v[i].name);
        if (fclose(f) != 0 || !text)
                return -ENOMEM;
        index_name(ref->hash, ref->slot, name);
        return replace_file(ipam, name, text);
}

/* Validates the arguments, then begin_op() without creating the store (-ENOENT,
 * without a message, if it does not exist). */
static int begin_attachment_op(podnet_ipam *ipam, const char *id, const char *ifname,
                               podnet_error **err)
{
        int r;

        if (!ipam)
                return -EINVAL;
        r = check_attachment(id, ifname, err);
        return r < 0 ? r : begin_op(ipam, false, err);
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
        r = index_find(ipam, container_id, ifname, &ref, &held, NULL);
        end_op(ipam, taken);
        free(held.v);
        if (r < 0)
                return pn_error(err, -r, 0,
                                "Reading the lease index of %s %s in %s", container_id, ifname,
                                ipam->dir);
        return (int)held.n;
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
static bool lease_is_stale(podnet_ipam *ipam, const char *name, char *holder, size_t holder_size)
{
        char path[sizeof(PN_IPAM_BOOT_DIR) + PN_ADDR_STRLEN + 1];
        char content[LEASE_READ_MAX], side[LEASE_READ_MAX + 128];
        char sboot[64], sid[PN_IPAM_ID_MAX + 1], sif[32];
        const char *c, *boot;
        size_t len;

        holder[0] = '\0';
        c = read_trimmed(ipam, name, content, sizeof(content), &len);
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
        return *boot && read_small(ipam, ipam->dir_fd, path, side, sizeof(side)) > 0 &&
               sidecar_field(side, "boot_id", sboot, sizeof(sboot)) && *sboot &&
               sidecar_field(side, "container_id", sid, sizeof(sid)) &&
               sidecar_field(side, "ifname", sif, sizeof(sif)) &&
               lease_matches(c, len, sid, sif) == MATCH_NEW && !streq(sboot, boot);
}

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
        int r = lease_list_add(a->held, name, ip, MATCH_NEW);

        if (r < 0)
                return r;
        r = index_store(ipam, a->ref, a->id, a->ifname, a->held);
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

        lease_name(ip, name);
        /* Under the lock nobody creates it between this check and our create. */
        if (fstatat(ipam->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        if (errno != ENOENT)
                return pn_error(err, errno, 0, "Checking lease %s/%s", ipam->dir,
                                name);
        if (asprintf(&content, "%s%s%s", a->id, PN_IPAM_LINE_BREAK, a->ifname) < 0)
                return -ENOMEM;
        r = index_intent(ipam, a, name, ip);
        if (r < 0)
                return pn_error(err, -r, 0,
                                "Writing the lease index of %s %s in %s/%s", a->id, a->ifname,
                                ipam->dir, PN_IPAM_BOOT_DIR);
        r = write_sidecar(ipam, name, a->id, a->ifname);
        if (r < 0) {
                remove_sidecar(ipam, name);
                return pn_error(err, -r, 0, "Writing %s/%s/%s", ipam->dir,
                                PN_IPAM_BOOT_DIR, name);
        }
        r = put_file(ipam, name, content, false);
        if (r == -EEXIST) {
                /* A writer that ignores the lock; the sidecar we wrote is not its. */
                remove_sidecar(ipam, name);
                return 0;
        }
        if (r >= 0) {
                snprintf(last, sizeof(last), "%s%u", PN_IPAM_LAST_IP_PREFIX, set);
                r = replace_file(ipam, last, name);
                if (r >= 0)
                        return 1;
                (void)unlinkat(ipam->dir_fd, name, 0);
                what = "Writing last_reserved_ip for";
        }
        remove_sidecar(ipam, name);
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
        lease_name(ip, name);
        if (!lease_is_stale(ipam, name, holder, sizeof(holder)))
                return 0;
        if (*holder)
                pn_info(ipam->ctx, "Reclaiming %s/%s, leased to '%s' in a previous boot", ipam->dir,
                        name, holder);
        else
                pn_info(ipam->ctx, "Reclaiming %s/%s, an empty lease file", ipam->dir, name);
        if (unlinkat(ipam->dir_fd, name, 0) < 0 && errno != ENOENT)
                return pn_error(err, errno, 0, "Removing stale lease %s/%s",
                                ipam->dir, name);
        remove_sidecar(ipam, name);
        return reserve(ipam, set, ip, a, err);
}

/* host-local's RangeIter: round-robin from last_reserved_ip.<set> + 1 through the
 * set's ranges in order, back to where it started. */
struct range_iter {
        const struct ipam_set *set;
        size_t idx;
        pn_addr128 cur, start;
        bool has_cur, has_start;
};

static void iter_init(struct range_iter *it, podnet_ipam *ipam, unsigned set)
{
        char buf[PN_ADDR_STRLEN + 16], name[sizeof(PN_IPAM_LAST_IP_PREFIX) + 12];
        const struct ipam_set *s = &ipam->sets[set];
        const struct ipam_range *r;
        podnet_cidr last;
        const char *t;
        size_t len;

        *it = (struct range_iter){.set = s};
        snprintf(name, sizeof(name), "%s%u", PN_IPAM_LAST_IP_PREFIX, set);
        t = read_trimmed(ipam, name, buf, sizeof(buf), &len);
        r = t && parse_lease_name(t, &last) ? set_range_for(s, &last) : NULL;
        if (r) {
                it->idx = (size_t)(r - s->ranges);
                it->cur = pn_cidr_a128(&last);
                it->has_cur = true;
                return;
        }
        it->start = pn_cidr_a128(&s->ranges[0].start);
        it->has_start = true;
}

/* Neither the gateway, nor the network address, nor IPv4's broadcast address. */
static bool iter_skip(const struct ipam_range *r, pn_addr128 v)
{
        podnet_cidr bcast = r->subnet;

        if (pn_a128_eq(v, pn_cidr_a128(&r->gw)) || pn_a128_eq(v, pn_cidr_a128(&r->subnet)))
                return true;
        pn_cidr_fill(&bcast);
        return r->subnet.family == AF_INET && pn_a128_eq(v, pn_cidr_a128(&bcast));
}

/* The next candidate into *ip, false when the set is exhausted. */
static bool iter_next(struct range_iter *it, podnet_cidr *ip, const struct ipam_range **range)
{
        const struct ipam_set *s = it->set;

        for (;;) {
                const struct ipam_range *r = &s->ranges[it->idx];

                if (!it->has_cur) {
                        it->cur = pn_cidr_a128(&r->start);
                        it->start = it->cur;
                        it->has_cur = it->has_start = true;
                } else {
                        if (pn_a128_eq(it->cur, pn_cidr_a128(&r->end))) {
                                it->idx = (it->idx + 1) % s->n;
                                r = &s->ranges[it->idx];
                                it->cur = pn_cidr_a128(&r->start);
                        } else {
                                it->cur = pn_a128_add(it->cur, pn_a128_make(0, 1), NULL);
                        }
                        if (!it->has_start) {
                                it->start = it->cur;
                                it->has_start = true;
                        } else if (pn_a128_eq(it->cur, it->start)) {
                                return false;
                        }
                }
                if (iter_skip(r, it->cur))
                        continue;
                *ip = r->subnet;
                pn_cidr_set_a128(ip, it->cur);
                *range = r;
                return true;
        }
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
                return pn_error_plain(err, EINVAL, 0,
                                      "No range set %u in network %s", set, ipam->network);
        r = check_attachment(container_id, ifname, err);
        if (r < 0)
                return r;
        s = &ipam->sets[set];
        set_string(s, setbuf, sizeof(setbuf));
        if (requested) {
                podnet_cidr_format_addr(requested, a, sizeof(a));
                range = set_range_for(s, requested);
                if (!range || iter_skip(range, pn_cidr_a128(requested))) {
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

        taken = begin_op(ipam, true, err);
        if (taken < 0)
                return taken;

        /* An attachment that already holds an address of this set gets it again, so
         * that a repeated ADD is idempotent (host-local fails it instead). Only the
         * attachment's index entry and the leases it lists are read: no directory scan,
         * so the cost does not grow with the number of pods. */
        r = index_find(ipam, container_id, ifname, &ref, &held, &unheld);
        if (r < 0) {
                r = pn_error(err, -r, 0, "Reading the lease index of %s %s in %s",
                             container_id, ifname, ipam->dir);
                goto out;
        }
        /* Addresses an earlier, killed attempt listed but never leased: their lines go
         * with the next write of the entry, their sidecars now. */
        for (size_t i = 0; i < unheld.n; i++)
                remove_sidecar_of(ipam, unheld.v[i].name, container_id, ifname);
        if (n_held)
                *n_held = (int)held.n;
        for (size_t i = 0; i < held.n; i++) {
                const struct ipam_range *hr = set_range_for(s, &held.v[i].ip);

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
                r = held.n < ref.n_listed ? index_store(ipam, &ref, container_id, ifname, &held)
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
                iter_init(&it, ipam, set);
                r = 0;
                while (iter_next(&it, &ip, &range)) {
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
                int k = index_store(ipam, &ref, container_id, ifname, &held);
                if (k < 0)
                        pn_warn(ipam->ctx, "Restoring the lease index of %s %s in %s: %s",
                                container_id, ifname, ipam->dir, strerror(-k));
        }
        if (r > 0)
                r = 0;
out:
        end_op(ipam, taken);
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

/* Removes the collected leases (and their sidecars); returns how many, or the
 * first error after trying them all. */
static int remove_leases(podnet_ipam *ipam, const struct lease_list *l, enum lease_match only,
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
                                r = pn_error(err, errno, 0, "Removing lease %s/%s",
                                             ipam->dir, l->v[i].name);
                        continue;
                }
                remove_sidecar(ipam, l->v[i].name);
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
static int find_attachment(podnet_ipam *ipam, const char *id, const char *ifname,
                           struct index_ref *ref, struct lease_list *l, struct lease_list *unheld,
                           podnet_error **err)
{
        struct attachment_filter f = {id, ifname};
        int r;

        r = index_find(ipam, id, ifname, ref, l, unheld);
        if (r > 0 && l->n > 0)
                return 1;
        if (r < 0)
                pn_debug(ipam->ctx, "Reading the lease index of %s %s in %s: %s", id, ifname,
                         ipam->dir, strerror(-r));
        l->n = 0;
        r = scan_leases(ipam, filter_attachment, &f, l, err);
        return r < 0 ? r : 0;
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
        r = find_attachment(ipam, container_id, ifname, &ref, &l, &unheld, err);
        if (r >= 0) {
                /* Like host-local: leases of the old format (id alone) are released only
                 * when none of the current format matched. */
                for (size_t i = 0; i < l.n; i++)
                        any_new |= l.v[i].match == MATCH_NEW;
                r = remove_leases(ipam, &l, any_new ? MATCH_NEW : MATCH_OLD, err);
        }
        /* Sidecars of addresses the entry lists but whose lease is gone or never came:
         * a killed ADD or DEL left them. */
        for (size_t i = 0; i < unheld.n; i++)
                remove_sidecar_of(ipam, unheld.v[i].name, container_id, ifname);
        remove_tmp(ipam);
        if (r >= 0 && ref.found) {
                k = index_remove(ipam, ref.hash, ref.slot);
                if (k < 0)
                        r = pn_error(err, -k, 0,
                                     "Removing the lease index of %s %s in %s/%s", container_id,
                                     ifname, ipam->dir, PN_IPAM_BOOT_DIR);
        }
        end_op(ipam, taken);
        free(l.v);
        free(unheld.v);
        return r;
}

/* The first range (in set order) whose subnet holds ip, its set in *set; NULL and
 * n_sets if none. */
static const struct ipam_range *subnet_of(const podnet_ipam *ipam, const podnet_cidr *ip,
                                          unsigned *set)
{
        for (unsigned i = 0; i < ipam->n_sets; i++)
                for (size_t j = 0; j < ipam->sets[i].n; j++)
                        if (pn_cidr_contains_addr(&ipam->sets[i].ranges[j].subnet, ip)) {
                                *set = i;
                                return &ipam->sets[i].ranges[j];
                        }
        *set = ipam->n_sets;
        return NULL;
}

static unsigned lease_order(const podnet_ipam *ipam, const podnet_cidr *ip)
{
        unsigned set;

        (void)subnet_of(ipam, ip, &set);
        return set;
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
                r = find_attachment(ipam, container_id, ifname, &ref, &l, NULL, err);
                end_op(ipam, taken);
                if (r < 0)
                        goto out;
        }

        /* In range-set order, then by address: stable output for callers and tests. */
        for (size_t i = 1; i < l.n; i++)
                for (size_t j = i; j > 0; j--) {
                        struct lease *x = &l.v[j - 1], *y = &l.v[j], t;
                        unsigned ox = lease_order(ipam, &x->ip), oy = lease_order(ipam, &y->ip);
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

                rg = subnet_of(ipam, &c, &set);
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
                enum lease_match m =
                    lease_matches(content, len, f->valid[i].container_id, f->valid[i].ifname);
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

                index_name(c->hash, k, name);
                n = read_small(ipam, ipam->dir_fd, name, text, INDEX_READ_MAX);
                if (n == -ENOENT)
                        continue;
                /* Unreadable, or not a regular file (a FIFO planted there): not kept. */
                if (n >= 0 && index_parse(text, id, ifname))
                        for (size_t i = 0; i < n_valid && !keep; i++)
                                keep = streq(valid[i].container_id, id) &&
                                       streq(valid[i].ifname, ifname);
                if (keep && index_verify(ipam, text, id, ifname, &l, NULL, &ref.n_listed) < 0)
                        l.n = 0;
                if (!keep || l.n == 0) {
                        pn_debug(ipam->ctx, "Removing stale lease index %s/%s", ipam->dir, name);
                        (void)unlinkat(ipam->dir_fd, name, 0);
                        free(l.v);
                        continue;
                }
                index_name(c->hash, kept, to);
                if (k != kept && renameat(ipam->dir_fd, name, ipam->dir_fd, to) < 0) {
                        pn_warn(ipam->ctx, "Moving %s/%s to %s: %s", ipam->dir, name, to,
                                strerror(errno));
                        ref.slot = kept = k;
                }
                if (l.n < ref.n_listed)
                        (void)index_store(ipam, &ref, id, ifname, &l);
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

        fd = ipam_openat(ipam, ipam->dir_fd, PN_IPAM_BOOT_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                         0);
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

                if (parse_lease_name(de->d_name, &ip)) {
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
        taken = begin_op(ipam, false, err);
        if (taken == -ENOENT)
                return 0;
        if (taken < 0)
                return taken;
        r = scan_leases(ipam, filter_gc, &f, &l, err);
        if (r >= 0)
                r = remove_leases(ipam, &l, MATCH_NONE, err);
        gc_boot_dir(ipam, valid, n_valid);
        end_op(ipam, taken);
        free(l.v);
        return r;
}

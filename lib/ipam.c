/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host-local compatible IPAM: range sets, round-robin allocation and the on-disk store
 * `<dataDir>/<network>/{<ip>,last_reserved_ip.<set>,lock}` shared with the reference
 * host-local plugin, plus boot-id sidecars that make leases of a previous boot reclaimable.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "cidr.h"
#include "internal.h"
#include "ipam.h"

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
        int64_t btime_override;
        bool boot_id_loaded, btime_loaded;
        char boot_id[64]; /* "" if unknown */
        int64_t btime;    /* < 0 if unknown */
};

/* ---- validation ---------------------------------------------------------- */

bool pn_ipam_valid_name(const char *s, size_t max)
{
        size_t n;

        if (isempty(s) || !isalnum((unsigned char)s[0]))
                return false;
        for (n = 1; s[n]; n++)
                if (!isalnum((unsigned char)s[n]) && !strchr("_.-", s[n]))
                        return false;
        return n <= max;
}

bool pn_ipam_valid_ifname(const char *s)
{
        size_t n;

        if (isempty(s) || streq(s, ".") || streq(s, ".."))
                return false;
        for (n = 0; s[n]; n++)
                if (s[n] == '/' || s[n] == ':' || isspace((unsigned char)s[n]))
                        return false;
        return n <= 15;
}

static int check_attachment(const char *id, const char *ifname, podnet_error **err)
{
        if (!pn_ipam_valid_name(id, PN_IPAM_ID_MAX))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_ENV,
                                      "Invalid container id '%s': must match "
                                      "^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$",
                                      id ? id : "(null)");
        if (!pn_ipam_valid_ifname(ifname))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_ENV,
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

/* Reads at most size-1 bytes of dir_fd/name into buf, NUL-terminated. Returns the
 * length, or -errno. */
static ssize_t read_small(int dir_fd, const char *name, char *buf, size_t size)
{
        _cleanup_close_ int fd = -1;
        size_t n = 0;

        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        while (n < size - 1) {
                ssize_t k = read(fd, buf + n, size - 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        buf[n] = '\0';
        return (ssize_t)n;
}

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t k = write(fd, buf, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += k;
                len -= (size_t)k;
        }
        return 0;
}

/* Replaces dir_fd/name with text (os.WriteFile's semantics: create or truncate). */
static int write_file(int dir_fd, const char *name, const char *text)
{
        _cleanup_close_ int fd = -1;
        int r;

        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        r = write_all(fd, text, strlen(text));
        if (r < 0)
                return r;
        if (close(steal_fd(&fd)) < 0)
                return -errno;
        return 0;
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
        n = read_small(AT_FDCWD, ipam->boot_id_path ? ipam->boot_id_path : PN_IPAM_BOOT_ID_FILE,
                       buf, sizeof(buf));
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

static int64_t boot_time(podnet_ipam *ipam)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        long long v;

        if (ipam->btime_loaded)
                return ipam->btime;
        ipam->btime_loaded = true;
        ipam->btime = -1;
        if (ipam->btime_override >= 0)
                return ipam->btime = ipam->btime_override;
        f = fopen("/proc/stat", "re");
        if (!f)
                return -1;
        while (getline(&line, &size, f) > 0)
                if (sscanf(line, "btime %lld", &v) == 1) {
                        ipam->btime = v;
                        break;
                }
        return ipam->btime;
}

int pn_ipam_set_boot_source(podnet_ipam *ipam, const char *boot_id_path, int64_t btime)
{
        char *p = NULL;

        if (!ipam)
                return -EINVAL;
        if (boot_id_path && !(p = strdup(boot_id_path)))
                return -ENOMEM;
        free(ipam->boot_id_path);
        ipam->boot_id_path = p;
        ipam->btime_override = btime < 0 ? -1 : btime;
        ipam->boot_id_loaded = ipam->btime_loaded = false;
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
        ipam->dir_fd = open(ipam->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ipam->dir_fd >= 0)
                return 0;
        if (errno != ENOENT)
                return pn_error(err, errno, PODNET_CNI_ERR_IO, "Opening %s", ipam->dir);
        if (!create)
                return -ENOENT;
        r = mkdir_parents(ipam->dir);
        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_IO, "Creating %s", ipam->dir);
        ipam->dir_fd = open(ipam->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ipam->dir_fd < 0)
                return pn_error(err, errno, PODNET_CNI_ERR_IO, "Opening %s", ipam->dir);
        return 0;
}

static int take_lock(podnet_ipam *ipam, bool create, podnet_error **err)
{
        int r;

        r = open_dir(ipam, create, err);
        if (r < 0)
                return r;
        if (ipam->lock_fd < 0) {
                /* host-local (go-filemutex) opens `lock` with O_CREAT|O_RDONLY and flocks it. */
                ipam->lock_fd = openat(ipam->dir_fd, PN_IPAM_LOCK_FILE,
                                       O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (ipam->lock_fd < 0)
                        return pn_error(err, errno, PODNET_CNI_ERR_IO, "Opening %s/%s", ipam->dir,
                                        PN_IPAM_LOCK_FILE);
        }
        while (flock(ipam->lock_fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return pn_error(err, errno, PODNET_CNI_ERR_IO, "Locking %s/%s", ipam->dir,
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
        if (!pn_ipam_valid_name(network, 255))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
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
        ipam->btime_override = -1;
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
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
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
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Range set %u added before range set %u", set, ipam->n_sets);
        podnet_cidr_format(subnet, a, sizeof(a));
        /* Like host-local: a /31, /32, /127 or /128 leaves nothing to allocate. */
        if (subnet->prefixlen + 2 > pn_cidr_bits(subnet))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
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
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Range start %s is after range end %s", a, b);
        }

        for (unsigned i = 0; i < ipam->n_sets; i++)
                for (size_t j = 0; j < ipam->sets[i].n; j++) {
                        const struct ipam_range *o = &ipam->sets[i].ranges[j];
                        if (i == set && o->subnet.family != r.subnet.family)
                                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                                      "Range set %u mixes address families", set);
                        if (!ranges_overlap(o, &r))
                                continue;
                        podnet_cidr_format(&o->subnet, b, sizeof(b));
                        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
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

        fd = openat(ipam->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return pn_error(err, errno, PODNET_CNI_ERR_IO, "Reading %s", ipam->dir);
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return pn_error(err, errno, PODNET_CNI_ERR_IO, "Reading %s", ipam->dir);
        }
        while ((de = readdir(d))) {
                podnet_cidr ip;
                enum lease_match m;
                const char *s;
                ssize_t n;
                size_t len;

                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;
                if (!parse_lease_name(de->d_name, &ip))
                        continue;
                n = read_small(ipam->dir_fd, de->d_name, buf, sizeof(buf));
                if (n < 0)
                        continue;
                len = (size_t)n;
                s = trim(buf, &len);
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

/* Records the current boot beside a lease we just wrote. Best effort: without it the
 * lease's mtime against the boot time decides. The content can never equal what
 * host-local's directory walks match ("<id>\r\n<ifname>" or a bare container id):
 * it has '=' and no "\r\n". */
static void write_sidecar(podnet_ipam *ipam, const char *lease, const char *id, const char *ifname)
{
        char path[sizeof(PN_IPAM_BOOT_DIR) + PN_ADDR_STRLEN + 1];
        _cleanup_free_ char *text = NULL;
        const char *boot = boot_id(ipam);
        int r;

        if (!*boot)
                return;
        if (asprintf(&text, "boot_id=%s\ncontainer_id=%s\nifname=%s\n", boot, id, ifname) < 0)
                return;
        sidecar_name(lease, path, sizeof(path));
        r = write_file(ipam->dir_fd, path, text);
        if (r == -ENOENT) {
                if (mkdirat(ipam->dir_fd, PN_IPAM_BOOT_DIR, 0755) < 0 && errno != EEXIST)
                        r = -errno;
                else
                        r = write_file(ipam->dir_fd, path, text);
        }
        if (r < 0)
                pn_warn(ipam->ctx, "Writing %s/%s: %s", ipam->dir, path, strerror(-r));
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

static bool ts_le(const struct timespec *a, const struct timespec *b)
{
        return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/* Whether the lease `name` was made in a previous boot. Our own leases carry a
 * sidecar naming the boot; it counts only if it describes this very lease (same
 * holder, not older than the lease file). Otherwise (host-local's leases, or a
 * sidecar left from an earlier holder) a lease file last written before this boot
 * started is from a previous boot. *holder gets the lease's content for logging. */
static bool lease_is_stale(podnet_ipam *ipam, const char *name, char *holder, size_t holder_size)
{
        char path[sizeof(PN_IPAM_BOOT_DIR) + PN_ADDR_STRLEN + 1];
        char content[LEASE_READ_MAX], side[LEASE_READ_MAX + 128];
        char sboot[64], sid[PN_IPAM_ID_MAX + 1], sif[32];
        struct stat lst, sst;
        const char *c;
        size_t len;
        ssize_t n;
        int64_t bt;

        holder[0] = '\0';
        if (fstatat(ipam->dir_fd, name, &lst, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(lst.st_mode))
                return false;
        n = read_small(ipam->dir_fd, name, content, sizeof(content));
        if (n < 0)
                return false;
        len = (size_t)n;
        c = trim(content, &len);
        snprintf(holder, holder_size, "%.*s", (int)len, c);
        for (char *p = holder; *p; p++)
                if (*p == '\r' || *p == '\n')
                        *p = ' ';

        sidecar_name(name, path, sizeof(path));
        if (*boot_id(ipam) && fstatat(ipam->dir_fd, path, &sst, AT_SYMLINK_NOFOLLOW) == 0 &&
            ts_le(&lst.st_mtim, &sst.st_mtim) &&
            read_small(ipam->dir_fd, path, side, sizeof(side)) > 0 &&
            sidecar_field(side, "boot_id", sboot, sizeof(sboot)) &&
            sidecar_field(side, "container_id", sid, sizeof(sid)) &&
            sidecar_field(side, "ifname", sif, sizeof(sif)) &&
            lease_matches(c, len, sid, sif) == MATCH_NEW)
                return !streq(sboot, boot_id(ipam));

        bt = boot_time(ipam);
        return bt >= 0 && (int64_t)lst.st_mtim.tv_sec < bt;
}

/* host-local's Store.Reserve: 1 if `ip` is now leased to (id, ifname), 0 if taken. */
static int reserve(podnet_ipam *ipam, unsigned set, const podnet_cidr *ip, const char *id,
                   const char *ifname, podnet_error **err)
{
        char name[PN_ADDR_STRLEN], last[sizeof(PN_IPAM_LAST_IP_PREFIX) + 12];
        _cleanup_free_ char *content = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        lease_name(ip, name);
        if (asprintf(&content, "%s%s%s", id, PN_IPAM_LINE_BREAK, ifname) < 0)
                return -ENOMEM;
        fd = openat(ipam->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
                if (errno == EEXIST)
                        return 0;
                return pn_error(err, errno, PODNET_CNI_ERR_IO, "Creating lease %s/%s", ipam->dir,
                                name);
        }
        r = write_all(fd, content, strlen(content));
        if (r >= 0 && close(steal_fd(&fd)) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(ipam->dir_fd, name, 0);
                return pn_error(err, -r, PODNET_CNI_ERR_IO, "Writing lease %s/%s", ipam->dir, name);
        }
        snprintf(last, sizeof(last), "%s%u", PN_IPAM_LAST_IP_PREFIX, set);
        r = write_file(ipam->dir_fd, last, name);
        if (r < 0) {
                (void)unlinkat(ipam->dir_fd, name, 0);
                return pn_error(err, -r, PODNET_CNI_ERR_IO, "Writing %s/%s", ipam->dir, last);
        }
        write_sidecar(ipam, name, id, ifname);
        return 1;
}

/* reserve(), reclaiming a lease of a previous boot that holds `ip`. */
static int reserve_or_reclaim(podnet_ipam *ipam, unsigned set, const podnet_cidr *ip,
                              const char *id, const char *ifname, podnet_error **err)
{
        char name[PN_ADDR_STRLEN], holder[128];
        int r;

        r = reserve(ipam, set, ip, id, ifname, err);
        if (r != 0)
                return r;
        lease_name(ip, name);
        if (!lease_is_stale(ipam, name, holder, sizeof(holder)))
                return 0;
        pn_info(ipam->ctx, "Reclaiming %s/%s, leased to '%s' in a previous boot", ipam->dir, name,
                holder);
        if (unlinkat(ipam->dir_fd, name, 0) < 0 && errno != ENOENT)
                return pn_error(err, errno, PODNET_CNI_ERR_IO, "Removing stale lease %s/%s",
                                ipam->dir, name);
        remove_sidecar(ipam, name);
        return reserve(ipam, set, ip, id, ifname, err);
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
        podnet_cidr last;
        const char *t;
        ssize_t n;
        size_t len;

        *it = (struct range_iter){.set = s};
        snprintf(name, sizeof(name), "%s%u", PN_IPAM_LAST_IP_PREFIX, set);
        n = read_small(ipam->dir_fd, name, buf, sizeof(buf));
        if (n > 0) {
                len = (size_t)n;
                t = trim(buf, &len);
                ((char *)t)[len] = '\0';
                if (parse_lease_name(t, &last))
                        for (size_t i = 0; i < s->n; i++)
                                if (range_contains(&s->ranges[i], &last)) {
                                        it->idx = i;
                                        it->cur = pn_cidr_a128(&last);
                                        it->has_cur = true;
                                        return;
                                }
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

struct set_filter {
        const struct ipam_set *set;
        const char *id, *ifname;
};

static enum lease_match filter_set_attachment(const podnet_cidr *ip, const char *content,
                                              size_t len, void *userdata)
{
        struct set_filter *f = userdata;

        if (!set_range_for(f->set, ip))
                return MATCH_NONE;
        return lease_matches(content, len, f->id, f->ifname);
}

PODNET_EXPORT int podnet_ipam_allocate(podnet_ipam *ipam, unsigned set, const char *container_id,
                                       const char *ifname, const podnet_cidr *requested,
                                       podnet_cidr **ret_addr, podnet_cidr **ret_gw,
                                       podnet_error **err)
{
        _cleanup_free_ podnet_cidr *addr = NULL, *gw = NULL;
        char a[PN_ADDR_STRLEN], setbuf[512];
        struct lease_list held = {0};
        const struct ipam_range *range = NULL;
        const struct ipam_set *s;
        struct set_filter f;
        podnet_cidr ip = {0};
        int taken, r;

        if (!ipam || !ret_addr)
                return -EINVAL;
        if (set >= ipam->n_sets)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
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
                                return pn_error_plain(err, EEXIST, PODNET_CNI_ERR_IPAM_EXHAUSTED,
                                                      "Requested IP address %s is the gateway "
                                                      "of range set %s",
                                                      a, setbuf);
                        return pn_error_plain(err, ERANGE, PODNET_CNI_ERR_INVALID_CONFIG,
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
         * that a repeated ADD is idempotent (host-local fails it instead). */
        f = (struct set_filter){s, container_id, ifname};
        r = scan_leases(ipam, filter_set_attachment, &f, &held, err);
        if (r < 0)
                goto out;
        if (held.n > 0) {
                ip = held.v[0].ip;
                range = set_range_for(s, &ip);
                if (requested && !pn_cidr_addr_eq(requested, &ip)) {
                        char h[PN_ADDR_STRLEN];
                        podnet_cidr_format_addr(&ip, h, sizeof(h));
                        r = pn_error_plain(err, EEXIST, PODNET_CNI_ERR_IPAM_EXHAUSTED,
                                           "Container %s %s already holds %s in range set %s, "
                                           "not the requested %s",
                                           container_id, ifname, h, setbuf, a);
                        goto out;
                }
                pn_debug(ipam->ctx, "%s %s already holds %s/%s", container_id, ifname, ipam->dir,
                         held.v[0].name);
                r = 0;
                goto out;
        }

        if (requested) {
                ip = *requested;
                r = reserve_or_reclaim(ipam, set, &ip, container_id, ifname, err);
                if (r == 0)
                        r = pn_error_plain(err, EEXIST, PODNET_CNI_ERR_IPAM_EXHAUSTED,
                                           "Requested IP address %s is not available in range "
                                           "set %s",
                                           a, setbuf);
                if (r > 0)
                        r = 0;
                goto out;
        }

        struct range_iter it;
        iter_init(&it, ipam, set);
        r = 0;
        while (iter_next(&it, &ip, &range)) {
                r = reserve_or_reclaim(ipam, set, &ip, container_id, ifname, err);
                if (r != 0)
                        break;
        }
        if (r == 0)
                r = pn_error_plain(err, ENOSPC, PODNET_CNI_ERR_IPAM_EXHAUSTED,
                                   "No IP addresses available in range set %s", setbuf);
        if (r > 0)
                r = 0;
out:
        end_op(ipam, taken);
        free(held.v);
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
                                r = pn_error(err, errno, PODNET_CNI_ERR_IO, "Removing lease %s/%s",
                                             ipam->dir, l->v[i].name);
                        continue;
                }
                remove_sidecar(ipam, l->v[i].name);
                pn_debug(ipam->ctx, "Released %s/%s", ipam->dir, l->v[i].name);
                count++;
        }
        return r < 0 ? r : count;
}

PODNET_EXPORT int podnet_ipam_release(podnet_ipam *ipam, const char *container_id,
                                      const char *ifname, podnet_error **err)
{
        struct attachment_filter f = {container_id, ifname};
        struct lease_list l = {0};
        bool any_new = false;
        int taken, r;

        if (!ipam)
                return -EINVAL;
        r = check_attachment(container_id, ifname, err);
        if (r < 0)
                return r;
        taken = begin_op(ipam, false, err);
        if (taken == -ENOENT)
                return 0;
        if (taken < 0)
                return taken;
        r = scan_leases(ipam, filter_attachment, &f, &l, err);
        if (r >= 0) {
                /* Like host-local: leases of the old format (id alone) are released only
                 * when none of the current format matched. */
                for (size_t i = 0; i < l.n; i++)
                        any_new |= l.v[i].match == MATCH_NEW;
                r = remove_leases(ipam, &l, any_new ? MATCH_NEW : MATCH_OLD, err);
        }
        end_op(ipam, taken);
        free(l.v);
        return r;
}

static int lease_order(const podnet_ipam *ipam, const podnet_cidr *ip)
{
        for (unsigned i = 0; i < ipam->n_sets; i++)
                for (size_t j = 0; j < ipam->sets[i].n; j++)
                        if (pn_cidr_contains_addr(&ipam->sets[i].ranges[j].subnet, ip))
                                return (int)i;
        return (int)ipam->n_sets;
}

PODNET_EXPORT int podnet_ipam_lookup(podnet_ipam *ipam, const char *container_id,
                                     const char *ifname, podnet_cidr ***ret, podnet_error **err)
{
        struct attachment_filter f = {container_id, ifname};
        struct lease_list l = {0};
        podnet_cidr **v = NULL;
        int taken, r;

        if (!ipam || !ret)
                return -EINVAL;
        r = check_attachment(container_id, ifname, err);
        if (r < 0)
                return r;
        taken = begin_op(ipam, false, err);
        if (taken < 0 && taken != -ENOENT)
                return taken;
        if (taken != -ENOENT) {
                r = scan_leases(ipam, filter_attachment, &f, &l, err);
                end_op(ipam, taken);
                if (r < 0)
                        goto out;
        }

        /* In range-set order, then by address: stable output for callers and tests. */
        for (size_t i = 1; i < l.n; i++)
                for (size_t j = i; j > 0; j--) {
                        struct lease *x = &l.v[j - 1], *y = &l.v[j], t;
                        int ox = lease_order(ipam, &x->ip), oy = lease_order(ipam, &y->ip);
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
                int o = lease_order(ipam, &c);
                if (o < (int)ipam->n_sets)
                        for (size_t j = 0; j < ipam->sets[o].n; j++)
                                if (pn_cidr_contains_addr(&ipam->sets[o].ranges[j].subnet, &c)) {
                                        c.prefixlen = ipam->sets[o].ranges[j].subnet.prefixlen;
                                        break;
                                }
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

/* Sidecars whose lease is gone (released by host-local, which knows nothing of
 * them). */
static void gc_sidecars(podnet_ipam *ipam)
{
        struct dirent *de;
        DIR *d;
        int fd;

        fd = openat(ipam->dir_fd, PN_IPAM_BOOT_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        while ((de = readdir(d))) {
                podnet_cidr ip;
                if (!parse_lease_name(de->d_name, &ip))
                        continue;
                if (faccessat(ipam->dir_fd, de->d_name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
                    errno == ENOENT)
                        (void)unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
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
                        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
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
        gc_sidecars(ipam);
        end_op(ipam, taken);
        free(l.v);
        return r;
}

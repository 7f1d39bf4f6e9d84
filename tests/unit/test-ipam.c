/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host-local compatible IPAM store in a scratch directory: allocation order,
 * on-disk format, requested addresses, exhaustion, dual-stack, release, lookup, GC,
 * validation, reclaiming leases of a previous boot, and the attachment index. */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "core/cidr.h"
#include "core/internal.h"
#include "ipam/ipam.h"
#include "tap.h"

static char tmp[] = "/tmp/test-ipam.XXXXXX";
static char got[PODNET_CIDR_STRLEN];

static char *path_of(const char *net, const char *name)
{
        static char p[512];
        snprintf(p, sizeof(p), "%s/%s/%s", tmp, net, name);
        return p;
}

/* The file's content ("<missing>" if absent). */
static const char *slurp(const char *path)
{
        static char buf[512];
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return "<missing>";
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n < 0 ? 0 : n] = '\0';
        return buf;
}

static void spit(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
                diag("writing %s failed", path);
        if (fd >= 0)
                close(fd);
}

static bool exists(const char *path)
{
        return access(path, F_OK) == 0;
}

static podnet_ipam *open_net(const char *net)
{
        podnet_ipam *ipam = NULL;
        if (podnet_ipam_open(NULL, &ipam, tmp, net, NULL) < 0)
                diag("open %s failed", net);
        return ipam;
}

static int add(podnet_ipam *ipam, unsigned set, const char *subnet, const char *start,
               const char *end, const char *gw)
{
        _cleanup_cidr_ podnet_cidr *s = NULL, *a = NULL, *b = NULL, *g = NULL;

        if (podnet_cidr_parse(&s, subnet) < 0 || (start && podnet_cidr_parse(&a, start) < 0) ||
            (end && podnet_cidr_parse(&b, end) < 0) || (gw && podnet_cidr_parse(&g, gw) < 0))
                return -999;
        return podnet_ipam_add_range(ipam, set, s, a, b, g, NULL);
}

/* The CNI code the store chose itself: none (0), the CNI verbs choose (cni-ipam.c). */
static int last_code;
static char last_msg[256];

/* Allocates and returns the address text, or "E<errno name>" on failure. */
static const char *alloc_req(podnet_ipam *ipam, unsigned set, const char *id, const char *ifname,
                             const char *requested, char *gw_out)
{
        _cleanup_cidr_ podnet_cidr *req = NULL, *addr = NULL, *gw = NULL;
        _cleanup_error_ podnet_error *err = NULL;
        int r;

        if (requested && podnet_cidr_parse(&req, requested) < 0)
                return "bad test input";
        r = podnet_ipam_allocate(ipam, set, id, ifname, req, &addr, &gw, &err);
        last_code = err ? err->cni_code : -1;
        snprintf(last_msg, sizeof(last_msg), "%s", err ? podnet_error_message(err) : "");
        if (r < 0) {
                snprintf(got, sizeof(got), "E%s",
                         r == -ENOSPC   ? "NOSPC"
                         : r == -EEXIST ? "EXIST"
                         : r == -ERANGE ? "RANGE"
                         : r == -EINVAL ? "INVAL"
                                        : "OTHER");
                return got;
        }
        if (gw_out)
                podnet_cidr_format(gw, gw_out, PODNET_CIDR_STRLEN);
        podnet_cidr_format(addr, got, sizeof(got));
        return got;
}

static const char *alloc(podnet_ipam *ipam, unsigned set, const char *id)
{
        return alloc_req(ipam, set, id, "eth0", NULL, NULL);
}

/* Number of lease files (names that parse as addresses) in the network's directory. */
static int n_leases(const char *net)
{
        char cmd[600];
        FILE *f;
        int n = -1;

        snprintf(cmd, sizeof(cmd), "ls -1 '%s/%s' 2>/dev/null | grep -cE '^[0-9a-f:.]+$' || true",
                 tmp, net);
        f = popen(cmd, "r");
        if (!f)
                return -1;
        if (fscanf(f, "%d", &n) != 1)
                n = -1;
        pclose(f);
        return n;
}

static void set_mtime(const char *path, time_t t)
{
        struct timespec ts[2] = {{t, 0}, {t, 0}};
        if (utimensat(AT_FDCWD, path, ts, 0) < 0)
                diag("utimensat %s failed", path);
}

/* Path (relative to the network's directory) of the index entry of (id, ifname). */
static const char *index_path(const char *id, const char *ifname, unsigned slot)
{
        static char p[128];
        uint64_t h = pn_ipam_index_hash(id, ifname);

        if (slot == 0)
                snprintf(p, sizeof(p), ".podnet-boot/attach-%016" PRIx64, h);
        else
                snprintf(p, sizeof(p), ".podnet-boot/attach-%016" PRIx64 "-%u", h, slot);
        return p;
}

/* Same, for the forced hash of the collision tests. */
static const char *forced_path(uint64_t h, unsigned slot)
{
        static char p[128];

        if (slot == 0)
                snprintf(p, sizeof(p), ".podnet-boot/attach-%016" PRIx64, h);
        else
                snprintf(p, sizeof(p), ".podnet-boot/attach-%016" PRIx64 "-%u", h, slot);
        return p;
}

/* The one address lookup returns ("" for none, "many" for more). */
static const char *lookup1(podnet_ipam *ipam, const char *id)
{
        podnet_cidr **list = NULL;
        int n = podnet_ipam_lookup(ipam, id, "eth0", &list, NULL);

        if (n == 0)
                snprintf(got, sizeof(got), "%s", "");
        else if (n == 1)
                podnet_cidr_format(list[0], got, sizeof(got));
        else
                snprintf(got, sizeof(got), "%s %d", n < 0 ? "error" : "many", n);
        podnet_cidr_array_free(list);
        return got;
}

static void test_validation(void)
{
        static const char *const bad[] = {"",   ".",       "..",  "a/b",   "../x",
                                          "-x", ".hidden", "a b", "net\n", "x:y"};
        podnet_ipam *ipam = NULL;
        podnet_error *err = NULL;
        _cleanup_cidr_ podnet_cidr *addr = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                is_int(podnet_ipam_open(NULL, &ipam, tmp, bad[i], &err), -EINVAL,
                       "network name '%s' rejected", bad[i]);
                is_int(err ? err->cni_code : -1, 0, "with no CNI code of its own");
                err = podnet_error_free(err);
        }
        is_int(podnet_ipam_open(NULL, &ipam, tmp, NULL, NULL), -EINVAL, "NULL network");
        is_int(podnet_ipam_open(NULL, &ipam, tmp, "Net-1.a_b", NULL), 0, "valid name accepted");
        ok(!exists(path_of("Net-1.a_b", "")), "open does not create the directory");
        is_int(podnet_ipam_release(ipam, "c1", "eth0", NULL), 0, "release on a missing store is 0");
        ok(!exists(path_of("Net-1.a_b", "")), "release does not create the directory");

        /* ranges */
        is_int(add(ipam, 1, "10.9.0.0/24", NULL, NULL, NULL), -EINVAL, "set 1 before set 0");
        is_int(add(ipam, 0, "10.9.0.0/31", NULL, NULL, NULL), -EINVAL, "/31 too small");
        is_int(add(ipam, 0, "fd00::/127", NULL, NULL, NULL), -EINVAL, "/127 too small");
        is_int(add(ipam, 0, "10.9.0.0/24", NULL, NULL, "10.9.1.1"), -EINVAL, "gateway outside");
        is_int(add(ipam, 0, "10.9.0.0/24", "10.9.0.9", "10.9.0.5", NULL), -EINVAL,
               "start after end");
        is_int(add(ipam, 0, "10.9.0.0/24", "10.8.0.9", NULL, NULL), -EINVAL, "start outside");
        is_int(add(ipam, 0, "10.9.0.0/24", NULL, NULL, NULL), 0, "valid range");
        is_int(add(ipam, 0, "10.9.0.0/25", NULL, NULL, NULL), -EINVAL, "overlapping range");
        is_int(add(ipam, 1, "10.9.0.128/25", NULL, NULL, NULL), -EINVAL, "overlap across sets");
        is_int(add(ipam, 0, "fd00::/64", NULL, NULL, NULL), -EINVAL, "mixed families in a set");
        is_int(podnet_ipam_n_sets(ipam), 1, "one set");

        /* attachments */
        is_str(alloc_req(ipam, 0, "../etc", "eth0", NULL, NULL), "EINVAL", "bad container id");
        is_int(last_code, 0, "container id: the store chooses no CNI code");
        is_str(alloc_req(ipam, 0, "", "eth0", NULL, NULL), "EINVAL", "empty container id");
        is_str(alloc_req(ipam, 0, "c1", "", NULL, NULL), "EINVAL", "empty ifname");
        is_str(alloc_req(ipam, 0, "c1", "eth0/x", NULL, NULL), "EINVAL", "ifname with /");
        is_str(alloc_req(ipam, 0, "c1", "eth:0", NULL, NULL), "EINVAL", "ifname with :");
        is_str(alloc_req(ipam, 0, "c1", "eth 0", NULL, NULL), "EINVAL", "ifname with space");
        is_str(alloc_req(ipam, 0, "c1", "..", NULL, NULL), "EINVAL", "ifname ..");
        is_str(alloc_req(ipam, 0, "c1", "abcdefghijklmnop", NULL, NULL), "EINVAL",
               "ifname of 16 bytes");
        is_str(alloc_req(ipam, 0, "c1", "abcdefghijklmno", NULL, NULL), "10.9.0.2/24",
               "ifname of 15 bytes");
        is_str(alloc_req(ipam, 1, "c1", "eth0", NULL, NULL), "EINVAL", "no such set");
        is_int(podnet_ipam_allocate(ipam, 0, "c1", "eth0", NULL, NULL, NULL, NULL), -EINVAL,
               "NULL ret_addr");
        is_int(podnet_ipam_allocate(NULL, 0, "c1", "eth0", NULL, &addr, NULL, NULL), -EINVAL,
               "NULL ipam");
        ok(podnet_ipam_unref(ipam) == NULL, "unref returns NULL");
        ok(podnet_ipam_unref(NULL) == NULL, "unref accepts NULL");
}

static void test_basic(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("net1");
        _cleanup_error_ podnet_error *err = NULL;
        podnet_cidr **list = NULL;
        char gw[PODNET_CIDR_STRLEN] = "";
        struct stat st;

        is_int(add(ipam, 0, "10.1.1.0/24", NULL, NULL, NULL), 0, "range 10.1.1.0/24");
        is_str(alloc_req(ipam, 0, "c1", "eth0", NULL, gw), "10.1.1.2/24",
               "first allocation skips the gateway");
        is_str(gw, "10.1.1.1/24", "default gateway with the subnet's prefix");
        is_str(slurp(path_of("net1", "10.1.1.2")), "c1\r\neth0", "lease content id\\r\\nifname");
        ok(stat(path_of("net1", "10.1.1.2"), &st) == 0 && (st.st_mode & 07777) == 0644,
           "lease mode 0644");
        is_str(slurp(path_of("net1", "last_reserved_ip.0")), "10.1.1.2", "last_reserved_ip.0");
        ok(exists(path_of("net1", "lock")), "lock file exists");
        ok(strstr(slurp(path_of("net1", ".podnet-boot/10.1.1.2")), "container_id=c1\n") != NULL,
           "boot sidecar written");

        is_str(alloc(ipam, 0, "c1"), "10.1.1.2/24", "same attachment gets the same address");
        is_int(n_leases("net1"), 1, "no second lease");
        is_str(alloc_req(ipam, 0, "c1", "eth1", NULL, NULL), "10.1.1.3/24",
               "another interface of the same container is another attachment");
        is_str(alloc(ipam, 0, "c2"), "10.1.1.4/24", "next address");
        is_int(podnet_ipam_release(ipam, "c2", "eth0", NULL), 1, "release returns 1");
        ok(!exists(path_of("net1", "10.1.1.4")), "lease removed");
        ok(!exists(path_of("net1", ".podnet-boot/10.1.1.4")), "sidecar removed");
        is_int(podnet_ipam_release(ipam, "c2", "eth0", NULL), 0, "second release returns 0");
        is_str(alloc(ipam, 0, "c3"), "10.1.1.5/24", "round-robin: not the released address");

        /* requested addresses */
        is_str(alloc_req(ipam, 0, "r1", "eth0", "10.1.1.50", NULL), "10.1.1.50/24",
               "requested free address");
        is_str(slurp(path_of("net1", "last_reserved_ip.0")), "10.1.1.50",
               "requested address becomes last_reserved_ip");
        is_str(alloc_req(ipam, 0, "r2", "eth0", "10.1.1.50", NULL), "EEXIST",
               "requested address taken");
        ok(strstr(last_msg, "10.1.1.50") != NULL, "message names the address: %s", last_msg);
        is_str(alloc_req(ipam, 0, "r2", "eth0", "10.2.0.1", NULL), "ERANGE",
               "requested address outside");
        is_str(alloc_req(ipam, 0, "r2", "eth0", "fd00::1", NULL), "ERANGE",
               "requested address of the other family");
        is_str(alloc_req(ipam, 0, "r2", "eth0", "10.1.1.255", NULL), "ERANGE",
               "broadcast cannot be requested");
        is_str(alloc_req(ipam, 0, "r2", "eth0", "10.1.1.1", NULL), "EEXIST",
               "gateway cannot be requested");
        is_str(alloc_req(ipam, 0, "r1", "eth0", "10.1.1.50", NULL), "10.1.1.50/24",
               "requesting what one holds is idempotent");
        is_str(alloc_req(ipam, 0, "r1", "eth0", "10.1.1.51", NULL), "EEXIST",
               "requesting another address while holding one");
        is_str(alloc(ipam, 0, "c4"), "10.1.1.51/24", "round-robin continues after requested");

        /* lookup */
        is_int(podnet_ipam_lookup(ipam, "c1", "eth0", &list, NULL), 1, "lookup finds one");
        podnet_cidr_format(list[0], got, sizeof(got));
        is_str(got, "10.1.1.2/24", "lookup address with prefix");
        ok(list[1] == NULL, "NULL-terminated");
        list = podnet_cidr_array_free(list);
        is_int(podnet_ipam_lookup(ipam, "nope", "eth0", &list, NULL), 0, "lookup of none");
        ok(list && !list[0], "empty array");
        list = podnet_cidr_array_free(list);

        /* old-format lease (container id alone) written by old host-local */
        spit(path_of("net1", "10.1.1.77"), "oldid\n");
        is_int(podnet_ipam_lookup(ipam, "oldid", "eth0", &list, NULL), 1, "lookup old format");
        list = podnet_cidr_array_free(list);
        is_int(podnet_ipam_release(ipam, "oldid", "eth0", &err), 1, "release old format");
        ok(!exists(path_of("net1", "10.1.1.77")), "old-format lease removed");

        /* explicit lock */
        is_int(podnet_ipam_lock(ipam, NULL), 0, "lock");
        is_int(podnet_ipam_lock(ipam, NULL), 0, "lock again is a no-op");
        is_str(alloc(ipam, 0, "c5"), "10.1.1.52/24", "allocate while the caller holds the lock");
        podnet_ipam_unlock(ipam);
        podnet_ipam_unlock(ipam);
        is_str(alloc(ipam, 0, "c6"), "10.1.1.53/24", "allocate after unlock");
}

static void test_ranges(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("net2");
        _cleanup_ipam_ podnet_ipam *small = open_net("net3");
        _cleanup_ipam_ podnet_ipam *v6 = open_net("net4");
        _cleanup_ipam_ podnet_ipam *multi = open_net("net5");

        is_int(add(ipam, 0, "10.2.0.0/24", "10.2.0.10", "10.2.0.11", NULL), 0, "rangeStart/End");
        is_str(alloc(ipam, 0, "a"), "10.2.0.10/24", "starts at rangeStart");
        is_str(alloc(ipam, 0, "b"), "10.2.0.11/24", "ends at rangeEnd");
        is_str(alloc(ipam, 0, "c"), "ENOSPC", "exhausted");
        is_int(last_code, 0, "exhausted: the store chooses no CNI code");
        is_str(last_msg, "No IP addresses available in range set 10.2.0.0/24", "message");
        is_int(podnet_ipam_release(ipam, "a", "eth0", NULL), 1, "release a");
        is_str(alloc(ipam, 0, "c"), "10.2.0.10/24", "wraps around to the freed address");

        is_int(add(small, 0, "10.3.0.0/30", NULL, NULL, NULL), 0, "a /30");
        is_str(alloc(small, 0, "a"), "10.3.0.2/30", "the one usable address of a /30");
        is_str(alloc(small, 0, "b"), "ENOSPC", "/30 exhausted (gateway, network, broadcast)");

        is_int(add(v6, 0, "fd00:4::/126", NULL, NULL, NULL), 0, "IPv6 /126");
        is_str(alloc(v6, 0, "a"), "fd00:4::2/126", "IPv6 first");
        ok(exists(path_of("net4", "fd00:4::2")), "IPv6 lease named like Go's net.IP.String()");
        is_str(alloc(v6, 0, "b"), "fd00:4::3/126", "IPv6 has no broadcast to skip");
        is_str(alloc(v6, 0, "c"), "ENOSPC", "IPv6 exhausted");

        /* several ranges in one set: round-robin moves on to the next range */
        is_int(add(multi, 0, "10.5.0.0/24", "10.5.0.2", "10.5.0.3", NULL), 0, "range A");
        is_int(add(multi, 0, "10.6.0.0/24", "10.6.0.2", "10.6.0.2", NULL), 0, "range B");
        is_int(add(multi, 1, "fd00:5::/64", NULL, NULL, "fd00:5::ff"), 0, "IPv6 set");
        is_int(podnet_ipam_n_sets(multi), 2, "two sets");
        is_str(alloc(multi, 0, "a"), "10.5.0.2/24", "range A first");
        is_str(alloc(multi, 0, "b"), "10.5.0.3/24", "range A second");
        is_str(alloc(multi, 0, "c"), "10.6.0.2/24", "then range B");
        is_str(alloc(multi, 0, "d"), "ENOSPC", "set exhausted");
        ok(strstr(last_msg, "10.5.0.0/24,10.6.0.0/24") != NULL, "message lists the set: %s",
           last_msg);
        char gw[PODNET_CIDR_STRLEN] = "";
        is_str(alloc_req(multi, 1, "a", "eth0", NULL, gw), "fd00:5::1/64",
               "IPv6 set: ::1 when the gateway is elsewhere");
        is_str(gw, "fd00:5::ff/64", "explicit gateway");
        is_str(slurp(path_of("net5", "last_reserved_ip.1")), "fd00:5::1", "last_reserved_ip.1");
        podnet_cidr **list = NULL;
        is_int(podnet_ipam_lookup(multi, "a", "eth0", &list, NULL), 2, "dual-stack lookup");
        podnet_cidr_format(list[0], got, sizeof(got));
        is_str(got, "10.5.0.2/24", "IPv4 first (set 0)");
        podnet_cidr_format(list[1], got, sizeof(got));
        is_str(got, "fd00:5::1/64", "IPv6 second (set 1)");
        podnet_cidr_array_free(list);
        is_int(podnet_ipam_release(multi, "a", "eth0", NULL), 2, "dual-stack release");
        /* last_reserved_ip outside the set (ranges changed): start from rangeStart */
        spit(path_of("net5", "last_reserved_ip.0"), "192.168.0.1");
        is_str(alloc(multi, 0, "e"), "10.5.0.2/24", "stale last_reserved_ip ignored");
}

static void test_gc(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("gc");
        podnet_attachment valid[] = {{"keep", "eth0"}, {"legacy", "eth0"}};

        is_int(add(ipam, 0, "10.7.0.0/24", NULL, NULL, NULL), 0, "range");
        is_str(alloc(ipam, 0, "keep"), "10.7.0.2/24", "keep");
        is_str(alloc_req(ipam, 0, "keep", "eth1", NULL, NULL), "10.7.0.3/24", "keep eth1");
        is_str(alloc(ipam, 0, "gone"), "10.7.0.4/24", "gone");
        spit(path_of("gc", "10.7.0.90"), "legacy");
        spit(path_of("gc", "10.7.0.91"), "stale-legacy");
        spit(path_of("gc", ".podnet-boot/10.7.0.99"), "boot_id=x\ncontainer_id=y\nifname=z\n");
        is_int(podnet_ipam_gc(ipam, valid, ELEMENTSOF(valid), NULL), 3, "gc releases three");
        ok(exists(path_of("gc", "10.7.0.2")), "valid attachment kept");
        ok(!exists(path_of("gc", "10.7.0.3")), "same container, other ifname released");
        ok(!exists(path_of("gc", "10.7.0.4")), "stale attachment released");
        ok(exists(path_of("gc", "10.7.0.90")), "old-format lease of a valid id kept");
        ok(!exists(path_of("gc", "10.7.0.91")), "old-format stale lease released");
        ok(!exists(path_of("gc", ".podnet-boot/10.7.0.4")), "its sidecar removed");
        ok(!exists(path_of("gc", ".podnet-boot/10.7.0.99")), "orphan sidecar removed");
        ok(exists(path_of("gc", ".podnet-boot/10.7.0.2")), "live sidecar kept");
        ok(exists(path_of("gc", "lock")) && exists(path_of("gc", "last_reserved_ip.0")),
           "lock and last_reserved_ip kept");
        is_int(podnet_ipam_gc(ipam, NULL, 0, NULL), 2, "gc with nothing valid releases all");
        is_int(n_leases("gc"), 0, "no lease left");
        is_int(podnet_ipam_gc(ipam, NULL, 1, NULL), -EINVAL, "NULL list with a count");
}

static void test_reboot(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("boot");
        char bootfile[256];
        time_t now = time(NULL);

        snprintf(bootfile, sizeof(bootfile), "%s/boot_id", tmp);
        spit(bootfile, "11111111-aaaa-4bbb-8ccc-000000000001\n");
        is_int(pn_ipam_set_boot_source(ipam, bootfile), 0, "fake boot A");
        is_int(add(ipam, 0, "10.8.0.0/24", "10.8.0.2", "10.8.0.2", NULL), 0, "one address");
        is_str(alloc(ipam, 0, "old"), "10.8.0.2/24", "leased in boot A");
        ok(strstr(slurp(path_of("boot", ".podnet-boot/10.8.0.2")),
                  "boot_id=11111111-aaaa-4bbb-8ccc-000000000001\n") != NULL,
           "sidecar records boot A");
        is_str(alloc(ipam, 0, "new"), "ENOSPC", "same boot: not reclaimable");

        spit(bootfile, "22222222-aaaa-4bbb-8ccc-000000000002\n");
        is_int(pn_ipam_set_boot_source(ipam, bootfile), 0, "fake boot B");
        is_str(alloc(ipam, 0, "new"), "10.8.0.2/24", "lease of boot A reclaimed in boot B");
        is_str(slurp(path_of("boot", "10.8.0.2")), "new\r\neth0", "lease now held by new");
        ok(strstr(slurp(path_of("boot", ".podnet-boot/10.8.0.2")), "000000000002") != NULL,
           "sidecar records boot B");
        is_int(podnet_ipam_release(ipam, "old", "eth0", NULL), 0,
               "DEL of the old holder is a no-op");
        is_int(podnet_ipam_release(ipam, "new", "eth0", NULL), 1, "release new");

        /* A lease without sidecar (host-local's) is never judged: see
         * test_reclaim_proof. A sidecar left over from an earlier holder does not
         * describe a new lease that host-local wrote over it. */
        spit(path_of("boot", ".podnet-boot/10.8.0.2"),
             "boot_id=11111111-aaaa-4bbb-8ccc-000000000001\ncontainer_id=x\nifname=eth0\n");
        spit(path_of("boot", "10.8.0.2"), "hostlocal\r\neth0");
        set_mtime(path_of("boot", "10.8.0.2"), now - 7200);
        is_str(alloc(ipam, 0, "new3"), "ENOSPC", "stale sidecar does not make a live lease stale");

        /* A requested address held in a previous boot is reclaimed too. */
        spit(path_of("boot", ".podnet-boot/10.8.0.2"),
             "boot_id=11111111-aaaa-4bbb-8ccc-000000000001\ncontainer_id=hostlocal\n"
             "ifname=eth0\n");
        is_str(alloc_req(ipam, 0, "req", "eth0", "10.8.0.2", NULL), "10.8.0.2/24",
               "requested address of a previous boot reclaimed");
}

static void test_index(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("idx");
        _cleanup_ipam_ podnet_ipam *dual = open_net("idx2");
        char want[256], addr2[PODNET_CIDR_STRLEN];
        unsigned long before;

        is_int(add(ipam, 0, "10.10.0.0/24", NULL, NULL, NULL), 0, "range");
        is_str(alloc(ipam, 0, "c1"), "10.10.0.2/24", "allocate c1");
        is_str(slurp(path_of("idx", index_path("c1", "eth0", 0))),
               "podnet-index 1\ncontainer_id=c1\nifname=eth0\nip=10.10.0.2\n",
               "allocate writes the index entry attach-<FNV-1a of id\\nifname>");
        ok(strstr(index_path("c1", "eth0", 0), "attach-") &&
               strlen(index_path("c1", "eth0", 0)) == strlen(".podnet-boot/attach-") + 16,
           "entry named by 16 hex digits: %s", index_path("c1", "eth0", 0));
        ok(pn_ipam_index_hash("c1", "eth0") != pn_ipam_index_hash("c1", "eth1") &&
               pn_ipam_index_hash("c1", "eth0") != pn_ipam_index_hash("c1e", "th0"),
           "the hash separates id and ifname");
        ok(!exists(path_of("idx", ".podnet-boot/write.tmp")), "no temporary file left");

        before = pn_ipam_files_opened(ipam);
        is_str(lookup1(ipam, "c1"), "10.10.0.2/24", "lookup through the index");
        is_int((int)(pn_ipam_files_opened(ipam) - before), 2,
               "lookup read the entry and the one lease it lists");
        is_int(pn_ipam_held(ipam, "c1", "eth0", NULL), 1, "held: one lease");
        is_int(pn_ipam_held(ipam, "c2", "eth0", NULL), 0, "held: none for an unknown attachment");
        is_str(alloc(ipam, 0, "c1"), "10.10.0.2/24", "repeated allocate finds it in the index");

        before = pn_ipam_files_opened(ipam);
        is_int(podnet_ipam_release(ipam, "c1", "eth0", NULL), 1, "release through the index");
        ok(pn_ipam_files_opened(ipam) - before <= 3, "release opened %lu files",
           pn_ipam_files_opened(ipam) - before);
        ok(!exists(path_of("idx", "10.10.0.2")), "lease removed");
        ok(!exists(path_of("idx", index_path("c1", "eth0", 0))), "index entry removed");
        is_int(podnet_ipam_release(ipam, "c1", "eth0", NULL), 0, "second release: nothing");

        /* A lease host-local wrote (no index entry): lookup and release scan for it. */
        spit(path_of("idx", "10.10.0.50"), "hl1\r\neth0");
        is_str(lookup1(ipam, "hl1"), "10.10.0.50/24", "lookup without an entry scans");
        is_int(pn_ipam_held(ipam, "hl1", "eth0", NULL), 0, "held does not scan");
        is_int(podnet_ipam_release(ipam, "hl1", "eth0", NULL), 1, "release without an entry scans");
        ok(!exists(path_of("idx", "10.10.0.50")), "host-local's lease removed");

        /* The documented limit: ADD no longer scans, so it does not see host-local's
         * lease of the same attachment; DEL releases ours, a second DEL (no entry any
         * more) host-local's. */
        spit(path_of("idx", "10.10.0.60"), "hl2\r\neth0");
        is_str(alloc(ipam, 0, "hl2"), "10.10.0.3/24", "ADD does not see host-local's lease");
        is_str(lookup1(ipam, "hl2"), "10.10.0.3/24", "lookup: the entry's lease");
        is_int(podnet_ipam_release(ipam, "hl2", "eth0", NULL), 1, "DEL releases the entry's lease");
        ok(exists(path_of("idx", "10.10.0.60")), "host-local's lease is left");
        is_int(podnet_ipam_release(ipam, "hl2", "eth0", NULL), 1, "next DEL scans and releases it");

        /* A stale entry: its lease now holds another attachment (reclaimed after a reboot,
         * or released and reused by host-local). Never trusted. */
        is_str(alloc(ipam, 0, "s1"), "10.10.0.4/24", "allocate s1");
        spit(path_of("idx", "10.10.0.4"), "other\r\neth0");
        is_str(lookup1(ipam, "s1"), "", "lookup: a stale entry is not trusted (scan finds none)");
        is_int(pn_ipam_held(ipam, "s1", "eth0", NULL), 0, "held: stale lease not counted");
        is_str(alloc(ipam, 0, "s1"), "10.10.0.5/24", "allocate: a new address, not other's");
        is_str(slurp(path_of("idx", index_path("s1", "eth0", 0))),
               "podnet-index 1\ncontainer_id=s1\nifname=eth0\nip=10.10.0.5\n",
               "the rewritten entry drops the stale address");
        is_int(podnet_ipam_release(ipam, "s1", "eth0", NULL), 1, "release s1");
        is_str(slurp(path_of("idx", "10.10.0.4")), "other\r\neth0", "other's lease untouched");
        is_int(podnet_ipam_release(ipam, "other", "eth0", NULL), 1, "release other (scan)");
        /* An entry whose lease is gone: release scans, finds nothing, drops the entry. */
        is_str(alloc(ipam, 0, "s2"), "10.10.0.6/24", "allocate s2");
        unlink(path_of("idx", "10.10.0.6"));
        is_int(podnet_ipam_release(ipam, "s2", "eth0", NULL), 0, "release of a gone lease: 0");
        ok(!exists(path_of("idx", index_path("s2", "eth0", 0))), "its stale entry removed");

        /* Dual-stack: one entry lists both sets' leases. */
        is_int(add(dual, 0, "10.12.0.0/24", NULL, NULL, NULL), 0, "IPv4 set");
        is_int(add(dual, 1, "fd00:12::/64", NULL, NULL, NULL), 0, "IPv6 set");
        is_str(alloc(dual, 0, "d1"), "10.12.0.2/24", "d1 IPv4");
        is_str(alloc(dual, 1, "d1"), "fd00:12::2/64", "d1 IPv6");
        is_str(slurp(path_of("idx2", index_path("d1", "eth0", 0))),
               "podnet-index 1\ncontainer_id=d1\nifname=eth0\nip=10.12.0.2\nip=fd00:12::2\n",
               "one entry, both addresses");
        is_str(alloc(dual, 1, "d1"), "fd00:12::2/64", "repeated IPv6 allocate from the index");
        snprintf(addr2, sizeof(addr2), "%s", alloc(dual, 0, "d1"));
        is_str(addr2, "10.12.0.2/24", "repeated IPv4 allocate from the index");
        is_int(pn_ipam_held(dual, "d1", "eth0", NULL), 2, "held: two");
        is_int(podnet_ipam_release(dual, "d1", "eth0", NULL), 2, "release both");
        is_int(n_leases("idx2"), 0, "no lease left");

        /* The entry can never be taken for a lease by host-local's walks. */
        is_str(alloc(ipam, 0, "w1"), "10.10.0.7/24", "allocate w1");
        snprintf(want, sizeof(want), "%s", slurp(path_of("idx", index_path("w1", "eth0", 0))));
        ok(strncmp(want, "podnet-index", 12) == 0 && !strstr(want, "\r\n") && strchr(want, '='),
           "entry starts with podnet-index, has '=' and no CRLF");
        is_int(podnet_ipam_release(ipam, "w1", "eth0", NULL), 1, "release w1");
}

static void test_index_gc(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("idxgc");
        podnet_attachment valid[] = {{"g1", "eth0"}, {"g3", "eth0"}};

        is_int(add(ipam, 0, "10.13.0.0/24", NULL, NULL, NULL), 0, "range");
        is_str(alloc(ipam, 0, "g1"), "10.13.0.2/24", "g1");
        is_str(alloc(ipam, 0, "g2"), "10.13.0.3/24", "g2");
        is_str(alloc(ipam, 0, "g3"), "10.13.0.4/24", "g3");
        /* g3 is valid, but its lease was released behind our back (host-local DEL). */
        unlink(path_of("idxgc", "10.13.0.4"));
        spit(path_of("idxgc", ".podnet-boot/index.tmp"), "podnet-index 1\n");
        spit(path_of("idxgc", ".podnet-boot/attach-junk"), "x");
        is_int(podnet_ipam_gc(ipam, valid, ELEMENTSOF(valid), NULL), 1, "gc releases g2's lease");
        ok(exists(path_of("idxgc", index_path("g1", "eth0", 0))), "valid entry kept");
        ok(!exists(path_of("idxgc", index_path("g2", "eth0", 0))),
           "invalid attachment's entry removed");
        ok(!exists(path_of("idxgc", index_path("g3", "eth0", 0))),
           "entry whose lease is gone removed");
        ok(!exists(path_of("idxgc", ".podnet-boot/index.tmp")), "leftover index.tmp removed");
        ok(!exists(path_of("idxgc", ".podnet-boot/attach-junk")), "malformed entry name removed");
        is_str(lookup1(ipam, "g1"), "10.13.0.2/24", "g1 still found");
        is_int(podnet_ipam_gc(ipam, NULL, 0, NULL), 1, "gc with nothing valid");
        ok(!exists(path_of("idxgc", index_path("g1", "eth0", 0))), "and its entry removed");
}

static void test_index_collisions(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("coll");
        const uint64_t h = UINT64_C(0x00000000000000c0);
        podnet_attachment valid[] = {{"e", "eth0"}, {"g", "eth0"}};
        char p[128];

        is_int(add(ipam, 0, "10.14.0.0/24", NULL, NULL, NULL), 0, "range");
        is_int(pn_ipam_set_index_hash(ipam, true, h), 0, "every attachment hashes alike");
        is_str(alloc(ipam, 0, "a"), "10.14.0.2/24", "a");
        is_str(alloc(ipam, 0, "b"), "10.14.0.3/24", "b");
        is_str(alloc(ipam, 0, "c"), "10.14.0.4/24", "c");
        ok(strstr(slurp(path_of("coll", forced_path(h, 0))), "container_id=a\n") != NULL,
           "a in slot 0");
        ok(strstr(slurp(path_of("coll", forced_path(h, 1))), "container_id=b\n") != NULL,
           "b in slot 1 (attach-<hash>-1)");
        ok(strstr(slurp(path_of("coll", forced_path(h, 2))), "container_id=c\n") != NULL,
           "c in slot 2");
        is_str(lookup1(ipam, "b"), "10.14.0.3/24", "lookup b past a's entry");
        is_str(lookup1(ipam, "c"), "10.14.0.4/24", "lookup c");
        is_str(alloc(ipam, 0, "c"), "10.14.0.4/24", "repeated allocate of c");
        is_int(pn_ipam_held(ipam, "d", "eth0", NULL), 0,
               "an attachment not in the chain holds none");

        is_int(podnet_ipam_release(ipam, "b", "eth0", NULL), 1, "release b");
        ok(strstr(slurp(path_of("coll", forced_path(h, 1))), "container_id=c\n") != NULL,
           "the chain's last entry moved into the freed slot");
        ok(!exists(path_of("coll", forced_path(h, 2))), "no hole, no slot 2");
        is_str(lookup1(ipam, "c"), "10.14.0.4/24", "c still found through the index");
        is_int(pn_ipam_held(ipam, "c", "eth0", NULL), 1, "held: c");
        is_int(podnet_ipam_release(ipam, "a", "eth0", NULL), 1, "release a (slot 0)");
        ok(strstr(slurp(path_of("coll", forced_path(h, 0))), "container_id=c\n") != NULL,
           "c moved to slot 0");
        is_int(podnet_ipam_release(ipam, "c", "eth0", NULL), 1, "release c");
        ok(!exists(path_of("coll", forced_path(h, 0))), "chain empty");

        /* GC compacts a chain. */
        is_str(alloc(ipam, 0, "e"), "10.14.0.5/24", "e");
        is_str(alloc(ipam, 0, "f"), "10.14.0.6/24", "f");
        is_str(alloc(ipam, 0, "g"), "10.14.0.7/24", "g");
        is_int(podnet_ipam_gc(ipam, valid, ELEMENTSOF(valid), NULL), 1, "gc releases f");
        ok(strstr(slurp(path_of("coll", forced_path(h, 0))), "container_id=e\n") != NULL,
           "e kept in slot 0");
        ok(strstr(slurp(path_of("coll", forced_path(h, 1))), "container_id=g\n") != NULL,
           "g moved down to slot 1");
        ok(!exists(path_of("coll", forced_path(h, 2))), "slot 2 gone");
        is_str(lookup1(ipam, "g"), "10.14.0.7/24", "g found after gc");
        snprintf(p, sizeof(p), "%s", index_path("g", "eth0", 0));
        ok(!exists(path_of("coll", p)), "nothing under the real hash while the hook is on");
        is_int(podnet_ipam_gc(ipam, NULL, 0, NULL), 2, "gc all");
        ok(!exists(path_of("coll", forced_path(h, 0))), "no entry left");
}

/* Files one operation opens (lock, directory and boot id included, on a fresh object as
 * in a CNI process), in a network of `n` leases. */
static void count_opens(const char *net, int n, unsigned long out[4])
{
        _cleanup_ipam_ podnet_ipam *fill = open_net(net);
        char id[32];

        if (add(fill, 0, "10.15.0.0/16", NULL, NULL, NULL) < 0)
                diag("range failed");
        for (int i = 0; i < n; i++) {
                snprintf(id, sizeof(id), "fill%d", i);
                if (alloc(fill, 0, id)[0] == 'E')
                        diag("filling %s failed at %d: %s", net, i, got);
        }
        for (int op = 0; op < 4; op++) {
                _cleanup_ipam_ podnet_ipam *ipam = open_net(net);
                podnet_cidr **list = NULL;

                add(ipam, 0, "10.15.0.0/16", NULL, NULL, NULL);
                if (op == 0 || op == 1)
                        alloc(ipam, 0, "probe"); /* new, then already held */
                else if (op == 2)
                        podnet_cidr_array_free(
                            (podnet_ipam_lookup(ipam, "probe", "eth0", &list, NULL), list));
                else
                        podnet_ipam_release(ipam, "probe", "eth0", NULL);
                out[op] = pn_ipam_files_opened(ipam);
        }
}

static void test_index_scaling(void)
{
        unsigned long small[4], big[4];
        static const char *const what[] = {"allocate (new)", "allocate (held)", "lookup",
                                           "release"};

        count_opens("scale5", 5, small);
        count_opens("scale500", 500, big);
        is_int(n_leases("scale500"), 500, "500 leases in the network");
        for (int i = 0; i < 4; i++) {
                ok(big[i] <= 10, "%s opens %lu files with 500 leases", what[i], big[i]);
                is_int((int)big[i], (int)small[i], "%s: same count as with 5 leases", what[i]);
        }
}

/* Issue 6, item 9: a lease is reclaimed only on proof that its holder is gone. The
 * wall clock proves nothing: a clock stepped forward after the lease was written (btime
 * then lies after the lease's mtime) must not make a live lease look like a previous
 * boot's. */
static void test_reclaim_proof(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("proof");
        char bootfile[256], blocker[600];
        /* Before this machine's btime whatever its uptime: as if the clock had been
         * stepped forward since the lease was written. */
        const time_t long_ago = 86400;

        snprintf(bootfile, sizeof(bootfile), "%s/boot_id.proof", tmp);
        spit(bootfile, "33333333-aaaa-4bbb-8ccc-000000000003\n");
        is_int(pn_ipam_set_boot_source(ipam, bootfile), 0, "fake boot C");
        is_int(add(ipam, 0, "10.16.0.0/24", "10.16.0.2", "10.16.0.3", NULL), 0, "two addresses");

        /* Podnet leases of this boot, their files dated before btime. */
        is_str(alloc(ipam, 0, "live1"), "10.16.0.2/24", "live1 leased");
        set_mtime(path_of("proof", "10.16.0.2"), long_ago);
        set_mtime(path_of("proof", ".podnet-boot/10.16.0.2"), long_ago);
        is_str(alloc(ipam, 0, "live2"), "10.16.0.3/24", "live2 leased");
        set_mtime(path_of("proof", "10.16.0.3"), long_ago);
        set_mtime(path_of("proof", ".podnet-boot/10.16.0.3"), long_ago);
        is_str(alloc(ipam, 0, "new"), "ENOSPC", "clock step, same boot id: nothing reclaimed");

        /* The sidecar is gone (written by a version that failed it, or removed). */
        unlink(path_of("proof", ".podnet-boot/10.16.0.2"));
        is_str(alloc(ipam, 0, "new"), "ENOSPC", "lease without sidecar is kept");
        is_str(slurp(path_of("proof", "10.16.0.2")), "live1\r\neth0", "live1 still holds it");

        /* host-local's lease: no sidecar at all, older than btime. */
        spit(path_of("proof", "10.16.0.2"), "hostlocal\r\neth0");
        set_mtime(path_of("proof", "10.16.0.2"), long_ago);
        is_str(alloc(ipam, 0, "new"), "ENOSPC", "host-local lease is never reclaimed");
        is_str(slurp(path_of("proof", "10.16.0.2")), "hostlocal\r\neth0", "host-local keeps it");

        /* A sidecar that names another holder does not judge the lease. */
        spit(path_of("proof", ".podnet-boot/10.16.0.2"),
             "boot_id=00000000-aaaa-4bbb-8ccc-000000000000\ncontainer_id=other\nifname=eth0\n");
        is_str(alloc(ipam, 0, "new"), "ENOSPC", "sidecar of another holder proves nothing");

        /* A recorded boot id that differs from the current one is the proof. */
        spit(path_of("proof", ".podnet-boot/10.16.0.2"),
             "boot_id=00000000-aaaa-4bbb-8ccc-000000000000\ncontainer_id=hostlocal\n"
             "ifname=eth0\n");
        is_str(alloc(ipam, 0, "new"), "10.16.0.2/24", "lease of a recorded earlier boot reclaimed");
        is_str(slurp(path_of("proof", "10.16.0.2")), "new\r\neth0", "new holds it");
        ok(strstr(slurp(path_of("proof", ".podnet-boot/10.16.0.2")),
                  "boot_id=33333333-aaaa-4bbb-8ccc-000000000003\ncontainer_id=new\n") != NULL,
           "its sidecar records this boot and the new holder");
        is_int(podnet_ipam_release(ipam, "new", "eth0", NULL), 1, "release new");

        /* A 0-byte lease names no holder: every writer fills it under the lock we hold,
         * so it is what a writer killed mid-write left. */
        spit(path_of("proof", "10.16.0.2"), "");
        is_str(alloc(ipam, 0, "new"), "10.16.0.2/24", "empty lease file reclaimed");
        is_int(podnet_ipam_release(ipam, "new", "eth0", NULL), 1, "release new again");

        /* The sidecar cannot be written: the allocation fails and leaves nothing, so
         * that no podnet lease exists that cannot be judged later. */
        snprintf(blocker, sizeof(blocker), "%s/x", path_of("proof", ".podnet-boot/10.16.0.2"));
        mkdir(path_of("proof", ".podnet-boot/10.16.0.2"), 0755);
        spit(blocker, "x");
        is_str(alloc(ipam, 0, "nosc"), "EOTHER", "sidecar write failure fails the allocation");
        ok(!exists(path_of("proof", "10.16.0.2")), "no lease written without its sidecar");
        ok(!exists(path_of("proof", index_path("nosc", "eth0", 0))), "no index entry left");
        ok(!exists(path_of("proof", ".podnet-boot/write.tmp")), "no temporary left");
        unlink(blocker);
        rmdir(path_of("proof", ".podnet-boot/10.16.0.2"));
        is_str(alloc(ipam, 0, "nosc"), "10.16.0.2/24", "allocates once the sidecar can be written");

        /* No boot id: nothing can be proven, nothing is reclaimed. */
        snprintf(bootfile, sizeof(bootfile), "%s/no-such-file", tmp);
        pn_ipam_set_boot_source(ipam, bootfile);
        spit(path_of("proof", ".podnet-boot/10.16.0.2"),
             "boot_id=00000000-aaaa-4bbb-8ccc-000000000000\ncontainer_id=nosc\nifname=eth0\n");
        is_str(alloc(ipam, 0, "x"), "ENOSPC", "no boot id: nothing reclaimed");
}

/* Issue 6, items 10 and 11: the states a killed ADD or DEL can leave (every write is
 * a temporary renamed into place; ADD writes the index entry, then the sidecar, then
 * the lease). A retried ADD gets the address recorded for it; DEL removes everything
 * of the attachment whatever it finds. */
static void test_crash_states(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("crash");

        is_int(add(ipam, 0, "10.17.0.0/24", NULL, NULL, NULL), 0, "range");
        is_str(alloc(ipam, 0, "a"), "10.17.0.2/24", "a");

        /* Killed after the lease was renamed into place, before anything else. */
        is_str(alloc(ipam, 0, "a"), "10.17.0.2/24", "retried ADD: same address");
        is_int(n_leases("crash"), 1, "one lease");

        /* ADD killed after the index entry and sidecar, before the lease. */
        unlink(path_of("crash", "10.17.0.2"));
        is_str(alloc(ipam, 0, "b"), "10.17.0.3/24", "b meanwhile gets another address");
        is_str(alloc(ipam, 0, "a"), "10.17.0.4/24", "retried ADD gets an address");
        is_int(n_leases("crash"), 2, "a and b: two leases");
        is_int(podnet_ipam_release(ipam, "a", "eth0", NULL), 1, "DEL a");
        ok(!exists(path_of("crash", ".podnet-boot/10.17.0.2")),
           "orphan sidecar of the address a's entry listed removed");
        ok(!exists(path_of("crash", ".podnet-boot/10.17.0.4")), "a's sidecar removed");
        ok(!exists(path_of("crash", index_path("a", "eth0", 0))), "a's entry removed");

        /* DEL killed after the lease's unlink: the sidecar and the entry are left. */
        is_str(alloc(ipam, 0, "c"), "10.17.0.5/24", "c");
        unlink(path_of("crash", "10.17.0.5"));
        is_int(podnet_ipam_release(ipam, "c", "eth0", NULL), 0, "DEL again: no lease left");
        ok(!exists(path_of("crash", ".podnet-boot/10.17.0.5")), "c's orphan sidecar removed");
        ok(!exists(path_of("crash", index_path("c", "eth0", 0))), "c's entry removed");

        /* A temporary left by a killed write: the next write is not disturbed by it,
         * DEL and GC remove it, and it is never counted as a lease. */
        spit(path_of("crash", ".podnet-boot/write.tmp"), "d\r\neth0");
        is_str(alloc(ipam, 0, "d"), "10.17.0.6/24", "ADD with a leftover temporary");
        spit(path_of("crash", ".podnet-boot/write.tmp"), "");
        is_int(podnet_ipam_release(ipam, "d", "eth0", NULL), 1, "DEL d");
        ok(!exists(path_of("crash", ".podnet-boot/write.tmp")), "DEL removed the temporary");
        spit(path_of("crash", ".podnet-boot/write.tmp"), "");
        is_int(podnet_ipam_gc(ipam, NULL, 0, NULL), 1, "GC releases b");
        ok(!exists(path_of("crash", ".podnet-boot/write.tmp")), "GC removed the temporary");
        is_int(n_leases("crash"), 0, "no lease left");
}

/* Runs fn in a child that is killed after 5 s: returns its exit status, or -1 if it
 * hung (or died of a signal). */
static int bounded(void (*fn)(void))
{
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                alarm(5);
                fn();
                _exit(0);
        }
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
                return -2;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Exits 0 if an ADD of `id` into the "fifo" network gets `want`. */
static void fifo_alloc_exit(const char *id, const char *want)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("fifo");

        add(ipam, 0, "10.18.0.0/24", NULL, NULL, NULL);
        _exit(strcmp(alloc(ipam, 0, id), want) == 0 ? 0 : 1);
}

static void fifo_last_reserved(void)
{
        fifo_alloc_exit("f1", "10.18.0.2/24");
}

static void fifo_lease_scan(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("fifo");

        add(ipam, 0, "10.18.0.0/24", NULL, NULL, NULL);
        /* No entry for f9: DEL scans every lease, the FIFO among them. */
        _exit(podnet_ipam_release(ipam, "f9", "eth0", NULL) == 0 ? 0 : 1);
}

static void fifo_index(void)
{
        fifo_alloc_exit("f2", "10.18.0.4/24");
}

static void fifo_gc(void)
{
        _cleanup_ipam_ podnet_ipam *ipam = open_net("fifo");
        podnet_attachment valid[] = {{"f1", "eth0"}, {"f2", "eth0"}};

        add(ipam, 0, "10.18.0.0/24", NULL, NULL, NULL);
        /* Releases nothing: the FIFO lease is skipped, not read. */
        _exit(podnet_ipam_gc(ipam, valid, ELEMENTSOF(valid), NULL) == 0 ? 0 : 1);
}

/* Issue 6, item 14: a FIFO planted as a file the store reads neither hangs an
 * operation nor is read. */
static void test_nonregular(void)
{
        struct stat st;

        mkdir(path_of("fifo", ""), 0755);
        mkfifo(path_of("fifo", "last_reserved_ip.0"), 0644);
        is_int(bounded(fifo_last_reserved), 0, "FIFO as last_reserved_ip.0: no hang, allocates");
        ok(exists(path_of("fifo", "10.18.0.2")), "lease written");
        mkfifo(path_of("fifo", "10.18.0.3"), 0644);
        is_int(bounded(fifo_lease_scan), 0, "FIFO as a lease: a scanning DEL does not hang");
        mkdir(path_of("fifo", ".podnet-boot"), 0755);
        mkfifo(path_of("fifo", index_path("f2", "eth0", 0)), 0644);
        is_int(bounded(fifo_index), 0, "FIFO as an index entry and a lease: ADD skips both");
        is_int(bounded(fifo_gc), 0, "GC does not hang on them");
        ok(lstat(path_of("fifo", index_path("f2", "eth0", 0)), &st) == 0 && S_ISREG(st.st_mode) &&
               strstr(slurp(path_of("fifo", index_path("f2", "eth0", 0))), "container_id=f2\n"),
           "GC replaced the FIFO entry by f2's own");
}

int main(void)
{
        char cmd[128];

        umask(022);
        if (!mkdtemp(tmp)) {
                printf("Bail out! mkdtemp failed\n");
                return 1;
        }
        test_validation();
        test_basic();
        test_ranges();
        test_gc();
        test_reboot();
        test_index();
        test_index_gc();
        test_index_collisions();
        test_index_scaling();
        test_reclaim_proof();
        test_crash_states();
        test_nonregular();
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
                diag("cleaning %s failed", tmp);
        return done_testing();
}

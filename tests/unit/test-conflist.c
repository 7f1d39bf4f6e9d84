/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The node's CNI conflist: exact rendering (compared as JSON), atomic write that leaves an
 * unchanged file alone, mode 0644, and removal only of podnet's own file. */
#include <jansson.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "tap.h"

static int json_same(const char *got, const char *want)
{
        json_t *a = json_loads(got ? got : "", 0, NULL), *b = json_loads(want, 0, NULL);
        int r = a && b && json_equal(a, b);

        if (!r)
                diag("got: %s", got ? got : "(null)");
        json_decref(a);
        json_decref(b);
        return r;
}

static void test_render(void)
{
        _cleanup_cidr_ podnet_cidr *v4 = NULL, *v6 = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL;
        _cleanup_error_ podnet_error *err = NULL;

        podnet_cidr_parse(&v4, "10.1.2.0/24");
        podnet_cidr_parse(&v6, "fd00:10:244:2::/64");
        const podnet_cidr *one[] = {v4}, *two[] = {v4, v6};
        podnet_conflist_config cfg = {.size = sizeof(cfg),
                                      .network = "podnet",
                                      .bridge = "cbr0",
                                      .pod_cidrs = one,
                                      .n_pod_cidrs = 1,
                                      .ip_masq = true};

        is_int(podnet_conflist_render(&cfg, &a, &err), 0, "render IPv4");
        ok(json_same(a, "{\"cniVersion\":\"1.0.0\",\"name\":\"podnet\",\"plugins\":[{\"type\":"
                        "\"podnet-cni\",\"bridge\":\"cbr0\",\"isGateway\":true,"
                        "\"isDefaultGateway\":true,\"hairpinMode\":true,\"ipMasq\":true,"
                        "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":"
                        "\"10.1.2.0/24\"}]]}}]}"),
           "IPv4 conflist exact");
        ok(a && a[strlen(a) - 1] == '\n', "ends with a newline");
        ok(a && strstr(a, "\"cniVersion\": \"1.0.0\"") == strstr(a, "\""),
           "cniVersion is the first key");

        cfg.pod_cidrs = two;
        cfg.n_pod_cidrs = 2;
        cfg.mtu = 1450;
        cfg.ip_masq = false;
        cfg.network = "k8s-pod-network";
        cfg.bridge = "br-pods";
        cfg.data_dir = "/run/podnet/ipam";
        is_int(podnet_conflist_render(&cfg, &b, NULL), 0, "render dual-stack");
        ok(json_same(b, "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\",\"plugins\":[{"
                        "\"type\":\"podnet-cni\",\"bridge\":\"br-pods\",\"isGateway\":true,"
                        "\"isDefaultGateway\":true,\"hairpinMode\":true,\"ipMasq\":false,"
                        "\"mtu\":1450,\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{"
                        "\"subnet\":\"10.1.2.0/24\"}],[{\"subnet\":\"fd00:10:244:2::/64\"}]],"
                        "\"dataDir\":\"/run/podnet/ipam\"}}]}"),
           "dual-stack conflist with mtu and dataDir exact");

        free(b);
        b = NULL;
        cfg.fw_backend = "iptables-nft";
        is_int(podnet_conflist_render(&cfg, &b, NULL), 0, "render with a backend, no ipMasq");
        ok(b && !strstr(b, "firewallBackend"), "no ipMasq: no firewallBackend");
        free(b);
        b = NULL;
        cfg.ip_masq = true;
        is_int(podnet_conflist_render(&cfg, &b, NULL), 0, "render with a backend and ipMasq");
        ok(b && strstr(b, "\"firewallBackend\": \"iptables-nft\""), "ipMasq: firewallBackend");
        free(b);
        b = NULL;
        cfg.fw_backend = "nftables";
        is_int(podnet_conflist_render(&cfg, &b, NULL), -EINVAL, "unknown backend refused");
        cfg.fw_backend = NULL;
        cfg.n_pod_cidrs = 0;
        is_int(podnet_conflist_render(&cfg, &b, &err), -EINVAL, "no pod CIDR refused");
        cfg.n_pod_cidrs = 1;
        cfg.network = "../etc";
        is_int(podnet_conflist_render(&cfg, &b, NULL), -EINVAL, "network name with / refused");
        cfg.network = "podnet";
        cfg.bridge = "a-very-long-bridge-name";
        is_int(podnet_conflist_render(&cfg, &b, NULL), -EINVAL, "bridge name > 15 refused");
        cfg.size = 4;
        is_int(podnet_conflist_render(&cfg, &b, NULL), -EINVAL, "short size refused");
}

static void test_write(void)
{
        _cleanup_cidr_ podnet_cidr *v4 = NULL, *v4b = NULL;
        char dir[] = "/tmp/podnet-conflist-XXXXXX", path[256], other[256];
        struct stat st1, st2;
        FILE *f;

        if (!ok(mkdtemp(dir), "temporary directory"))
                return;
        snprintf(path, sizeof(path), "%s/10-podnet.conflist", dir);
        podnet_cidr_parse(&v4, "10.1.2.0/24");
        podnet_cidr_parse(&v4b, "10.1.3.0/24");
        const podnet_cidr *one[] = {v4}, *other_cidr[] = {v4b};
        podnet_conflist_config cfg = {.size = sizeof(cfg), .pod_cidrs = one, .n_pod_cidrs = 1};

        umask(077);
        is_int(podnet_conflist_write(&cfg, path, NULL), 1, "first write: written");
        ok(stat(path, &st1) == 0, "file exists");
        is_int(st1.st_mode & 07777, 0644, "mode 0644 despite umask 077");
        is_int(podnet_conflist_write(&cfg, path, NULL), 0, "same content: unchanged");
        ok(stat(path, &st2) == 0 && st2.st_ino == st1.st_ino &&
               st2.st_mtim.tv_nsec == st1.st_mtim.tv_nsec &&
               st2.st_mtim.tv_sec == st1.st_mtim.tv_sec,
           "not rewritten (same inode and mtime)");
        cfg.pod_cidrs = other_cidr;
        is_int(podnet_conflist_write(&cfg, path, NULL), 1, "new CIDR: written");
        ok(stat(path, &st2) == 0 && st2.st_ino != st1.st_ino, "replaced by rename (new inode)");
        {
                _cleanup_free_ char *want = NULL;
                char got[4096] = {0};
                podnet_conflist_render(&cfg, &want, NULL);
                f = fopen(path, "re");
                if (f) {
                        size_t n = fread(got, 1, sizeof(got) - 1, f);
                        got[n] = 0;
                        fclose(f);
                }
                is_str(got, want, "file holds the rendered text");
        }
        /* no temporary file left behind */
        snprintf(other, sizeof(other), "ls -A %s | grep -v '^10-podnet.conflist$' | grep -q .",
                 dir);
        ok(system(other) != 0, "no temporary file left in the directory");

        is_int(podnet_conflist_write(&cfg, "/nonexistent-dir/x.conflist", NULL), -ENOENT,
               "missing directory: -ENOENT");

        is_int(podnet_conflist_remove(path, NULL), 1, "remove podnet's conflist");
        ok(access(path, F_OK) < 0, "gone");
        is_int(podnet_conflist_remove(path, NULL), 0, "absent: 0");
        snprintf(other, sizeof(other), "%s/20-other.conflist", dir);
        f = fopen(other, "we");
        if (f) {
                fputs("{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[{\"type\":"
                      "\"bridge\"}]}\n",
                      f);
                fclose(f);
        }
        is_int(podnet_conflist_remove(other, NULL), -EEXIST, "someone else's: -EEXIST");
        ok(access(other, F_OK) == 0, "someone else's file left in place");
        unlink(other);
        rmdir(dir);
}

int main(void)
{
        test_render();
        test_write();
        return done_testing();
}

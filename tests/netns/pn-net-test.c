/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test driver for the netns, link, addr and route families: one API call per invocation
 * (driven by tests/netns/net.sh), plus a veth create/delete timing loop. Every run checks
 * that the calling thread ends in the network namespace it started in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <podnet/podnet.h>

#define MAX_ADDRS 8

struct opts {
        const char *ns, *bridge, *mac, *via, *dev;
        unsigned mtu, advmss, metric, table, proto;
        int scope;
        bool promisc, force, nodad, hairpin, replace;
        const char *addrs[MAX_ADDRS];
        size_t n_addrs;
        const char *pos[8];
        size_t n_pos;
};

static void usage(void)
{
        fprintf(stderr,
                "usage: pn-net-test COMMAND [ARGS] [OPTIONS]\n"
                "  bridge-ensure NAME [--mtu N] [--promisc] [--addr CIDR]... [--force] [--nodad]\n"
                "  bridge-delete NAME\n"
                "  veth-name CONTAINER IFNAME\n"
                "  veth-create CONTAINER IFNAME NETNS [--bridge BR] [--mtu N] [--mac MAC] "
                "[--hairpin]\n"
                "  veth-delete CONTAINER IFNAME\n"
                "  veth-bench N NETNS BRIDGE | attach-bench N NETNS-PATH-PREFIX BRIDGE\n"
                "  link-get IFNAME | link-up IFNAME | default-mtu 4|6\n"
                "  addr-add|addr-del|addr-has IFNAME CIDR [--nodad] [--replace]\n"
                "  route-add|route-del|route-has DST [--via GW] [--dev IF] [--mtu N] "
                "[--advmss N]\n"
                "        [--metric N] [--table N] [--scope N] [--proto N] [--replace]\n"
                "  netns-open PATH | netns-run PATH\n"
                "  cni-del-deferred CONTAINER NETNS IFNAME CONF-FILE: podnet_cni_del_deferred()\n"
                "        alone, as a DEL whose deferred teardown has not run yet leaves it\n"
                "  --ns PATH runs link/addr/route commands inside that namespace\n");
        exit(2);
}

static unsigned num(const char *s)
{
        char *end;
        unsigned long v = strtoul(s, &end, 0);

        if (!*s || *end)
                usage();
        return (unsigned)v;
}

static void parse(struct opts *o, int argc, char **argv)
{
        memset(o, 0, sizeof(*o));
        o->scope = -1;
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                bool takes = true;

                if (strncmp(a, "--", 2) != 0) {
                        if (o->n_pos == 8)
                                usage();
                        o->pos[o->n_pos++] = a;
                        continue;
                }
                if (!strcmp(a, "--promisc"))
                        o->promisc = true, takes = false;
                else if (!strcmp(a, "--force"))
                        o->force = true, takes = false;
                else if (!strcmp(a, "--nodad"))
                        o->nodad = true, takes = false;
                else if (!strcmp(a, "--hairpin"))
                        o->hairpin = true, takes = false;
                else if (!strcmp(a, "--replace"))
                        o->replace = true, takes = false;
                else if (!v)
                        usage();
                else if (!strcmp(a, "--ns"))
                        o->ns = v;
                else if (!strcmp(a, "--bridge"))
                        o->bridge = v;
                else if (!strcmp(a, "--mac"))
                        o->mac = v;
                else if (!strcmp(a, "--via"))
                        o->via = v;
                else if (!strcmp(a, "--dev"))
                        o->dev = v;
                else if (!strcmp(a, "--mtu"))
                        o->mtu = num(v);
                else if (!strcmp(a, "--advmss"))
                        o->advmss = num(v);
                else if (!strcmp(a, "--metric"))
                        o->metric = num(v);
                else if (!strcmp(a, "--table"))
                        o->table = num(v);
                else if (!strcmp(a, "--proto"))
                        o->proto = num(v);
                else if (!strcmp(a, "--scope"))
                        o->scope = (int)num(v);
                else if (!strcmp(a, "--addr") && o->n_addrs < MAX_ADDRS)
                        o->addrs[o->n_addrs++] = v;
                else
                        usage();
                if (takes)
                        i++;
        }
}

static int fail(int r, podnet_error *err, const char *what)
{
        fprintf(stderr, "pn-net-test: %s: %s (errno %d)\n", what,
                err ? podnet_error_message(err) : strerror(-r), -r);
        if (err)
                fprintf(stderr, "pn-net-test: cni code %d\n", podnet_error_cni_code(err));
        podnet_error_free(err);
        return 1;
}

static podnet_cidr *cidr(const char *text)
{
        podnet_cidr *c = NULL;

        if (podnet_cidr_parse(&c, text) < 0) {
                fprintf(stderr, "pn-net-test: bad CIDR %s\n", text);
                exit(2);
        }
        return c;
}

static int thread_ns_inode(ino_t *ino)
{
        struct stat st;

        if (stat("/proc/thread-self/ns/net", &st) < 0)
                return -errno;
        *ino = st.st_ino;
        return 0;
}

static int report_inode(void *userdata)
{
        ino_t *ino = userdata;

        return thread_ns_inode(ino) < 0 ? -1 : 42;
}

static double now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int run(podnet_ctx *ctx, const char *cmd, struct opts *o)
{
        podnet_error *err = NULL;
        podnet_netns *ns = NULL;
        int r = 0;

        if (o->ns) {
                r = podnet_netns_open(ctx, &ns, o->ns, &err);
                if (r < 0)
                        return fail(r, err, "podnet_netns_open");
        }

        if (!strcmp(cmd, "bridge-ensure") && o->n_pos == 1) {
                podnet_cidr *addrs[MAX_ADDRS];
                podnet_bridge_config bc = {
                    .size = sizeof(bc),
                    .name = o->pos[0],
                    .mtu = o->mtu,
                    .promisc = o->promisc,
                    .addrs = (const podnet_cidr *const *)addrs,
                    .n_addrs = o->n_addrs,
                    .force_address = o->force,
                    .ipv6_nodad = o->nodad,
                };
                for (size_t i = 0; i < o->n_addrs; i++)
                        addrs[i] = cidr(o->addrs[i]);
                r = podnet_bridge_ensure(ctx, ns, &bc, &err);
                for (size_t i = 0; i < o->n_addrs; i++)
                        podnet_cidr_free(addrs[i]);
                if (r < 0)
                        return fail(r, err, "podnet_bridge_ensure");
                printf("ifindex=%d\n", r);
        } else if (!strcmp(cmd, "bridge-delete") && o->n_pos == 1) {
                r = podnet_bridge_delete(ctx, ns, o->pos[0], &err);
                if (r < 0)
                        return fail(r, err, "podnet_bridge_delete");
        } else if (!strcmp(cmd, "veth-name") && o->n_pos == 2) {
                char name[16];

                r = podnet_veth_host_name(o->pos[0], o->pos[1], name);
                if (r < 0)
                        return fail(r, NULL, "podnet_veth_host_name");
                printf("%s\n", name);
        } else if (!strcmp(cmd, "veth-create") && o->n_pos == 3) {
                podnet_netns *pod = NULL;
                podnet_veth_info info = {.size = sizeof(info)};
                podnet_veth_config vc = {
                    .size = sizeof(vc),
                    .container_id = o->pos[0],
                    .ifname = o->pos[1],
                    .bridge = o->bridge,
                    .mtu = o->mtu,
                    .mac = o->mac,
                    .hairpin = o->hairpin,
                };

                r = podnet_netns_open(ctx, &pod, o->pos[2], &err);
                if (r < 0)
                        return fail(r, err, "podnet_netns_open");
                vc.netns = pod;
                r = podnet_veth_create(ctx, &vc, &info, &err);
                podnet_netns_unref(pod);
                if (r < 0)
                        return fail(r, err, "podnet_veth_create");
                printf("host_ifname=%s\nhost_mac=%s\nhost_ifindex=%d\n"
                       "pod_ifname=%s\npod_mac=%s\npod_ifindex=%d\n",
                       info.host_ifname, info.host_mac, info.host_ifindex, info.pod_ifname,
                       info.pod_mac, info.pod_ifindex);
        } else if (!strcmp(cmd, "veth-delete") && o->n_pos == 2) {
                r = podnet_veth_delete(ctx, o->pos[0], o->pos[1], &err);
                if (r < 0)
                        return fail(r, err, "podnet_veth_delete");
        } else if (!strcmp(cmd, "veth-bench") && o->n_pos == 3) {
                /* N pairs into one namespace (eth0..ethN-1), then N deletions: creation is
                 * timed apart from the kernel's slow, RCU-bound unregistering. */
                unsigned n = num(o->pos[0]);
                double t0, t1, t2;
                podnet_netns *pod = NULL;

                if (n == 0 || n > 10000)
                        usage();
                r = podnet_netns_open(ctx, &pod, o->pos[1], &err);
                if (r < 0)
                        return fail(r, err, "podnet_netns_open");
                t0 = now_us();
                for (unsigned i = 0; i < n && r >= 0; i++) {
                        char ifname[16];
                        podnet_veth_info info = {.size = sizeof(info)};
                        podnet_veth_config vc = {
                            .size = sizeof(vc),
                            .container_id = "bench",
                            .ifname = ifname,
                            .netns = pod,
                            .bridge = o->pos[2],
                            .mtu = 1400,
                            .hairpin = true,
                        };

                        snprintf(ifname, sizeof(ifname), "eth%u", i);
                        r = podnet_veth_create(ctx, &vc, &info, &err);
                }
                t1 = now_us();
                for (unsigned i = 0; i < n && r >= 0; i++) {
                        char ifname[16];

                        snprintf(ifname, sizeof(ifname), "eth%u", i);
                        r = podnet_veth_delete(ctx, "bench", ifname, &err);
                }
                t2 = now_us();
                podnet_netns_unref(pod);
                if (r < 0)
                        return fail(r, err, "veth-bench");
                printf("veth_create_us=%.1f veth_delete_us=%.1f n=%u\n", (t1 - t0) / n,
                       (t2 - t1) / n, n);
        } else if (!strcmp(cmd, "attach-bench") && o->n_pos == 3) {
                /* What podnet-cni's ADD asks of this family, per pod namespace
                 * PREFIX0..PREFIX<N-1>: open it, ensure the bridge, create the veth, add
                 * the address and the default route. */
                unsigned n = num(o->pos[0]);
                podnet_cidr *gw = cidr("10.1.0.1/16"), *gw_host = cidr("10.1.0.1"),
                            *any = cidr("0.0.0.0/0");
                const podnet_cidr *addrs[] = {gw};
                podnet_bridge_config bc = {
                    .size = sizeof(bc), .name = o->pos[2], .addrs = addrs, .n_addrs = 1};
                podnet_route_config rc = {
                    .size = sizeof(rc), .dst = any, .gw = gw_host, .scope = -1};
                double t0 = now_us(), t1;

                if (n == 0 || n > 60000)
                        usage();
                for (unsigned i = 0; i < n && r >= 0; i++) {
                        char path[256], id[32];
                        unsigned char ip[4] = {10, 1, (unsigned char)((i + 2) >> 8),
                                               (unsigned char)(i + 2)};
                        podnet_cidr *addr = NULL;
                        podnet_netns *pod = NULL;
                        podnet_veth_info info = {.size = sizeof(info)};
                        podnet_veth_config vc = {.size = sizeof(vc),
                                                 .container_id = id,
                                                 .ifname = "eth0",
                                                 .bridge = o->pos[2],
                                                 .mtu = 1400,
                                                 .hairpin = true};

                        snprintf(path, sizeof(path), "%s%u", o->pos[1], i);
                        snprintf(id, sizeof(id), "attach%u", i);
                        r = podnet_cidr_new(&addr, AF_INET, ip, 16);
                        if (r >= 0)
                                r = podnet_netns_open(ctx, &pod, path, &err);
                        vc.netns = pod;
                        if (r >= 0)
                                r = podnet_bridge_ensure(ctx, NULL, &bc, &err);
                        if (r >= 0)
                                r = podnet_veth_create(ctx, &vc, &info, &err);
                        if (r >= 0)
                                r = podnet_addr_add(ctx, pod, "eth0", addr, 0, &err);
                        if (r >= 0)
                                r = podnet_route_add(ctx, pod, &rc, &err);
                        podnet_netns_unref(pod);
                        podnet_cidr_free(addr);
                }
                t1 = now_us();
                podnet_cidr_free(gw);
                podnet_cidr_free(gw_host);
                podnet_cidr_free(any);
                if (r < 0)
                        return fail(r, err, "attach-bench");
                printf("attach_us=%.1f n=%u\n", (t1 - t0) / n, n);
        } else if (!strcmp(cmd, "link-get") && o->n_pos == 1) {
                podnet_link_info li = {.size = sizeof(li)};

                r = podnet_link_get(ctx, ns, o->pos[0], &li, &err);
                if (r < 0)
                        return fail(r, err, "podnet_link_get");
                printf("ifindex=%d\nifname=%s\nmac=%s\nmtu=%u\nup=%d\nkind=%s\nmaster=%d\n"
                       "hairpin=%d\npromisc=%d\n",
                       li.ifindex, li.ifname, li.mac, li.mtu, li.up, li.kind, li.master_ifindex,
                       li.hairpin, li.promisc);
        } else if (!strcmp(cmd, "link-up") && o->n_pos == 1) {
                r = podnet_link_set_up(ctx, ns, o->pos[0], &err);
                if (r < 0)
                        return fail(r, err, "podnet_link_set_up");
        } else if (!strcmp(cmd, "default-mtu") && o->n_pos == 1) {
                unsigned mtu = 0;

                r = podnet_default_route_mtu(ctx, num(o->pos[0]) == 6 ? AF_INET6 : AF_INET, &mtu);
                if (r < 0)
                        return fail(r, NULL, "podnet_default_route_mtu");
                printf("%u\n", mtu);
        } else if (!strncmp(cmd, "addr-", 5) && o->n_pos == 2) {
                podnet_cidr *a = cidr(o->pos[1]);
                unsigned flags =
                    (o->nodad ? PODNET_ADDR_NODAD : 0) | (o->replace ? PODNET_ADDR_REPLACE : 0);

                if (!strcmp(cmd, "addr-add"))
                        r = podnet_addr_add(ctx, ns, o->pos[0], a, flags, &err);
                else if (!strcmp(cmd, "addr-del"))
                        r = podnet_addr_del(ctx, ns, o->pos[0], a, &err);
                else if (!strcmp(cmd, "addr-has"))
                        r = podnet_addr_has(ctx, ns, o->pos[0], a, &err);
                else
                        usage();
                podnet_cidr_free(a);
                if (r < 0)
                        return fail(r, err, cmd);
                if (!strcmp(cmd, "addr-has"))
                        printf("%d\n", r);
        } else if (!strncmp(cmd, "route-", 6) && o->n_pos == 1) {
                podnet_cidr *dst = cidr(o->pos[0]), *gw = o->via ? cidr(o->via) : NULL;
                podnet_route_config rc = {
                    .size = sizeof(rc),
                    .dst = dst,
                    .gw = gw,
                    .ifname = o->dev,
                    .mtu = o->mtu,
                    .advmss = o->advmss,
                    .priority = o->metric,
                    .table = o->table,
                    .scope = o->scope,
                    .protocol = o->proto,
                    .replace = o->replace,
                };

                if (!strcmp(cmd, "route-add"))
                        r = podnet_route_add(ctx, ns, &rc, &err);
                else if (!strcmp(cmd, "route-del"))
                        r = podnet_route_del(ctx, ns, &rc, &err);
                else if (!strcmp(cmd, "route-has"))
                        r = podnet_route_has(ctx, ns, &rc, &err);
                else
                        usage();
                podnet_cidr_free(dst);
                podnet_cidr_free(gw);
                if (r < 0)
                        return fail(r, err, cmd);
                if (!strcmp(cmd, "route-has"))
                        printf("%d\n", r);
        } else if (!strcmp(cmd, "netns-open") && o->n_pos == 1) {
                podnet_netns *x = NULL;

                r = podnet_netns_open(ctx, &x, o->pos[0], &err);
                if (r < 0)
                        return fail(r, err, "podnet_netns_open");
                printf("fd=%d path=%s current=%d\n", podnet_netns_fd(x) >= 0, podnet_netns_path(x),
                       podnet_netns_is_current(x));
                podnet_netns_unref(x);
        } else if (!strcmp(cmd, "netns-run") && o->n_pos == 1) {
                podnet_netns *x = NULL;
                struct stat st;
                ino_t ino = 0;

                r = podnet_netns_open(ctx, &x, o->pos[0], &err);
                if (r < 0)
                        return fail(r, err, "podnet_netns_open");
                r = podnet_netns_run(x, report_inode, &ino);
                podnet_netns_unref(x);
                if (stat(o->pos[0], &st) < 0)
                        return fail(-errno, NULL, "stat");
                /* The helper thread saw the namespace's inode; fn's value came back. */
                printf("ret=%d inside=%d\n", r, ino == st.st_ino);
        } else if (!strcmp(cmd, "cni-del-deferred") && o->n_pos == 4) {
                podnet_cni_env env = {
                    .size = sizeof(env),
                    .command = "DEL",
                    .container_id = o->pos[0],
                    .netns = o->pos[1],
                    .ifname = o->pos[2],
                    .path = "/usr/lib/cni",
                };
                podnet_cni_conf *conf = NULL;
                podnet_cni_args *args = NULL;
                char buf[8192];
                FILE *f = fopen(o->pos[3], "re");
                size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0;

                if (f)
                        fclose(f);
                if (len == 0 || len == sizeof(buf))
                        return fail(-EINVAL, NULL, "reading the configuration");
                r = podnet_cni_conf_parse(&conf, buf, len, &err);
                if (r >= 0)
                        r = podnet_cni_args_new(&args, &env, &err);
                if (r >= 0)
                        r = podnet_cni_del_deferred(ctx, conf, args, &err);
                podnet_cni_args_free(args);
                podnet_cni_conf_free(conf);
                if (r < 0)
                        return fail(r, err, "podnet_cni_del_deferred");
                printf("left=%d\n", r);
        } else {
                usage();
        }
        podnet_netns_unref(ns);
        return 0;
}

int main(int argc, char **argv)
{
        podnet_ctx *ctx = NULL;
        ino_t before, after;
        struct opts o;
        int r;

        if (argc < 2)
                usage();
        parse(&o, argc - 2, argv + 2);
        if (thread_ns_inode(&before) < 0 || podnet_ctx_new(&ctx) < 0)
                return 1;
        r = run(ctx, argv[1], &o);
        podnet_ctx_unref(ctx);
        if (thread_ns_inode(&after) < 0 || after != before) {
                fprintf(stderr, "pn-net-test: the calling thread changed network namespace\n");
                return 3;
        }
        return r;
}

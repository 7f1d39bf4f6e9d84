/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CNI plugin's verbs on parsed input: ADD, DEL, CHECK, GC, STATUS. Each is a
 * sequence of calls into the link, address, route, IPAM and firewall modules, and
 * chooses the CNI code of their failures (they report an errno and a message); ADD
 * undoes what it did when a later step fails, DEL is idempotent and best effort.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "cni/cni.h"
#include "core/internal.h"
#include "core/names.h"
#include "firewall/fw.h"
#include "ipam/ipam.h"
#include "net/net.h"

#define DEFAULT_MTU 1500

/* Microseconds since *t0, for the debug-level stage timings of ADD. */
static long usec_since(const struct timespec *t0)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (t.tv_sec - t0->tv_sec) * 1000000L + (t.tv_nsec - t0->tv_nsec) / 1000;
}
#define stage(ctx, t0, what) pn_debug(ctx, "ADD: %s (%ld us)", what, usec_since(t0))

static unsigned pick_mtu(podnet_ctx *ctx, const podnet_cni_conf *conf)
{
        unsigned mtu = 0;

        if (conf->mtu)
                return conf->mtu;
        /* kubenet used the MTU of the interface holding the default route. */
        if (podnet_default_route_mtu(ctx, AF_INET, &mtu) == 0 && mtu > 0)
                return mtu;
        if (podnet_default_route_mtu(ctx, AF_INET6, &mtu) == 0 && mtu > 0)
                return mtu;
        return DEFAULT_MTU;
}

static const char *pick_mac(const podnet_cni_conf *conf, const podnet_cni_args *args)
{
        /* CNI_ARGS is the oldest channel; runtimeConfig (capabilities) wins over it. */
        if (conf->req_mac)
                return conf->req_mac;
        return args->req_mac;
}

static int open_pod_netns(podnet_ctx *ctx, const podnet_cni_args *args, podnet_netns **ret,
                          podnet_error **err)
{
        _cleanup_netns_ podnet_netns *ns = NULL;
        int r;

        if (isempty(args->netns))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_ENV,
                                      "CNI_NETNS is required for %s", args->command);
        r = podnet_netns_open(ctx, &ns, args->netns, err);
        if (r == -ENOENT) {
                if (err && *err)
                        (*err)->cni_code = PODNET_CNI_ERR_UNKNOWN_CONTAINER;
                return r;
        }
        if (r < 0) {
                if (err && *err && r == -EINVAL)
                        (*err)->cni_code = PODNET_CNI_ERR_INVALID_NETNS;
                return r;
        }
        /* Never configure the plugin's own namespace: "eth0" there is a host interface. */
        if (podnet_netns_is_current(ns) == 1)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_NETNS,
                                      "CNI_NETNS %s is the plugin's own network namespace",
                                      args->netns);
        *ret = steal_pointer(&ns);
        return 0;
}

static int ensure_bridge(podnet_ctx *ctx, const podnet_cni_conf *conf,
                         const podnet_cni_result *ipres, unsigned mtu, podnet_error **err)
{
        podnet_cidr *gw_addrs[8];
        size_t n_gw = 0;
        podnet_bridge_config bc = {
            .size = sizeof(bc),
            .name = conf->bridge,
            .mtu = mtu,
            .promisc = conf->promisc_mode,
            .force_address = conf->force_address,
            .ipv6_nodad = !conf->enable_dad,
        };
        int r = 0;

        if (conf->is_gateway && ipres) {
                for (size_t i = 0;
                     i < podnet_cni_result_n_ips(ipres) && n_gw < ELEMENTSOF(gw_addrs); i++) {
                        const podnet_cidr *a = podnet_cni_result_ip_addr(ipres, i);
                        const podnet_cidr *gw = podnet_cni_result_ip_gateway(ipres, i);
                        bool dup = false;

                        if (!a || !gw)
                                continue;
                        /* The bridge holds the gateway with the pod subnet's prefix. */
                        r = podnet_cidr_new(&gw_addrs[n_gw], podnet_cidr_family(gw),
                                            podnet_cidr_addr(gw), podnet_cidr_prefixlen(a));
                        if (r < 0)
                                goto out;
                        for (size_t j = 0; j < n_gw; j++)
                                if (podnet_cidr_compare(gw_addrs[j], gw_addrs[n_gw]) == 0)
                                        dup = true;
                        if (dup)
                                podnet_cidr_free(gw_addrs[n_gw]);
                        else
                                n_gw++;
                }
        }
        bc.addrs = (const podnet_cidr *const *)gw_addrs;
        bc.n_addrs = n_gw;
        /* A concurrent ADD creating the same bridge is handled by podnet_bridge_ensure. */
        r = podnet_bridge_ensure(ctx, NULL, &bc, err);
        if (r == -EEXIST) {
                /* Either the name belongs to a link of another kind, or the bridge has
                 * an address where the gateway should be (a kernel refusal). */
                podnet_link_info li = {.size = sizeof(li)};

                if (podnet_link_get(ctx, NULL, conf->bridge, &li, NULL) == 0 &&
                    !streq(li.kind, "bridge"))
                        r = pn_error_set_code(err, r, PODNET_CNI_ERR_IFACE_EXISTS);
        }
out:
        for (size_t i = 0; i < n_gw; i++)
                podnet_cidr_free(gw_addrs[i]);
        return r;
}

static int configure_pod(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                         podnet_netns *ns, podnet_cni_result *res, podnet_error **err)
{
        bool have_default[2] = {false, false};
        size_t n_ips = podnet_cni_result_n_ips(res);
        size_t n_routes = podnet_cni_result_n_routes(res);
        int r;

        for (size_t i = 0; i < n_ips; i++) {
                const podnet_cidr *a = podnet_cni_result_ip_addr(res, i);
                unsigned flags = 0;

                if (podnet_cidr_family(a) == AF_INET6 && !conf->enable_dad)
                        flags |= PODNET_ADDR_NODAD;
                r = podnet_addr_add(ctx, ns, args->ifname, a, flags, err);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < n_routes; i++) {
                const podnet_cidr *dst = podnet_cni_result_route_dst(res, i);
                const podnet_cidr *gw = podnet_cni_result_route_gw(res, i);
                podnet_route_config rc = {
                    .size = sizeof(rc),
                    .dst = dst,
                    .gw = gw,
                    .ifname = args->ifname,
                    .scope = -1,
                };

                if (!gw) {
                        /* host-local semantics: a route without gw goes via the
                         * gateway of the first address of its family. */
                        for (size_t j = 0; j < n_ips; j++) {
                                const podnet_cidr *g = podnet_cni_result_ip_gateway(res, j);
                                if (g && podnet_cidr_family(g) == podnet_cidr_family(dst)) {
                                        rc.gw = g;
                                        break;
                                }
                        }
                }
                if (podnet_cidr_prefixlen(dst) == 0)
                        have_default[podnet_cidr_family(dst) == AF_INET6] = true;
                r = podnet_route_add(ctx, ns, &rc, err);
                if (r < 0)
                        return r;
        }

        if (conf->is_default_gateway) {
                for (size_t i = 0; i < n_ips; i++) {
                        const podnet_cidr *gw = podnet_cni_result_ip_gateway(res, i);
                        _cleanup_cidr_ podnet_cidr *any = NULL;
                        int fam;
                        podnet_route_config rc = {
                            .size = sizeof(rc),
                            .gw = gw,
                            .ifname = args->ifname,
                            .scope = -1,
                        };

                        if (!gw)
                                continue;
                        fam = podnet_cidr_family(gw);
                        if (have_default[fam == AF_INET6])
                                continue;
                        r = podnet_cidr_parse(&any, fam == AF_INET ? "0.0.0.0/0" : "::/0");
                        if (r < 0)
                                return r;
                        rc.dst = any;
                        r = podnet_route_add(ctx, ns, &rc, err);
                        if (r < 0)
                                return r;
                        r = podnet_cni_result_add_route(res, any, gw);
                        if (r < 0)
                                return pn_error(err, -r, PODNET_CNI_ERR_INTERNAL,
                                                "Recording the default route");
                        have_default[fam == AF_INET6] = true;
                }
        }
        return 0;
}

#define MASQ_LOCK_DIR "/run/podnet"

/* The network's masquerade rule goes with its last lease: DEL counts leases and removes
 * the rule, ADD (after allocating) ensures it. Without one lock around both, a DEL
 * that counted zero could remove the rule just after a concurrent ADD ensured it. The
 * lock lives outside the IPAM directory, whose top level host-local's GC may clean. */
static int masq_lock(const podnet_cni_conf *conf, podnet_error **err)
{
        _cleanup_free_ char *path = NULL;
        int fd;

        if (mkdir(MASQ_LOCK_DIR, 0755) < 0 && errno != EEXIST)
                return pn_error(err, errno, PODNET_CNI_ERR_IO, "Creating %s", MASQ_LOCK_DIR);
        if (asprintf(&path, MASQ_LOCK_DIR "/masq-%s.lock", conf->name) < 0)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return pn_error(err, errno, PODNET_CNI_ERR_IO, "Opening %s", path);
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        int e = errno;
                        close(fd);
                        return pn_error(err, e, PODNET_CNI_ERR_IO, "Locking %s", path);
                }
        return fd;
}

static int release_masq(podnet_ctx *ctx, const podnet_cni_conf *conf, podnet_error **err);

/* Hands the firewall family's error e (which carries no CNI code) on to *err with the
 * code a verb reports: out of memory is internal (999), anything else the firewall's
 * (103; a transient errno, such as the xtables lock's EAGAIN, makes it 11). The
 * arguments cannot be what the firewall refuses: the network name passed the
 * configuration's checks and the masquerade lock's file name, the subnets come from
 * addresses. Returns r. */
static int masq_failed(int r, podnet_error *e, podnet_error **err)
{
        if (!e)
                return r;
        if (e->cni_code == 0)
                e->cni_code =
                    e->errnum == ENOMEM ? PODNET_CNI_ERR_INTERNAL : PODNET_CNI_ERR_FIREWALL;
        if (err && !*err)
                *err = e;
        else
                podnet_error_free(e);
        return r;
}

/* The firewall backend of the network's masquerade rules: the one firewallBackend
 * names; for "auto" (the default) the one podnet-routes recorded on this node, so that
 * its chains and these rules are in the same one, at the cost of one small read; only
 * where it recorded none, the detection's. */
static int masq_opts(podnet_ctx *ctx, const podnet_cni_conf *conf, struct pn_fw_opts *o,
                     podnet_error **err)
{
        const struct pn_fw_backend *b;
        _cleanup_free_ char *reason = NULL;
        podnet_error *e = NULL;
        int r;

        r = pn_fw_choose(ctx, conf->fw_backend, MASQ_LOCK_DIR "/" PN_FW_STATE_FILE, &b, &reason,
                         &e);
        if (r < 0)
                return masq_failed(r, e, err);
        pn_debug(ctx, "ipMasq's firewall backend: %s (%s)", b->name, reason);
        *o = pn_fw_opts_with(b);
        return 0;
}

static bool conf_fw_auto(const podnet_cni_conf *conf)
{
        return !conf->fw_backend || streq(conf->fw_backend, PN_FW_AUTO);
}

static int ensure_masq(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_result *res,
                       podnet_error **err)
{
        _cleanup_close_ int lock = masq_lock(conf, err);
        struct pn_fw_opts o;
        int r;

        if (lock < 0)
                return lock;
        r = masq_opts(ctx, conf, &o, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < podnet_cni_result_n_ips(res); i++) {
                _cleanup_cidr_ podnet_cidr *subnet = NULL;
                r = podnet_cidr_network(&subnet, podnet_cni_result_ip_addr(res, i));
                if (r < 0)
                        return r;
                podnet_error *e = NULL;
                r = pn_fw_masq(ctx, &o, PN_FW_MASQ_ENSURE, conf->name, subnet, &e);
                if (r < 0)
                        return masq_failed(r, e, err);
        }
        return 0;
}

PODNET_EXPORT int podnet_cni_add(podnet_ctx *ctx, const podnet_cni_conf *conf,
                                 const podnet_cni_args *args, podnet_cni_result **ret,
                                 podnet_error **err)
{
        _cleanup_netns_ podnet_netns *ns = NULL;
        _cleanup_result_ podnet_cni_result *res = NULL;
        podnet_veth_info info = {.size = sizeof(info)};
        bool ipam_done = false, veth_done = false, masq_tried = false;
        podnet_link_info br = {.size = sizeof(br)}, info_probe = {.size = sizeof(info_probe)};
        char host_name[16];
        unsigned mtu;
        int r, br_idx, veth_idx, pod_idx;
        struct timespec t0;

        if (!ctx || !conf || !args || !ret)
                return -EINVAL;
        clock_gettime(CLOCK_MONOTONIC, &t0);

        r = open_pod_netns(ctx, args, &ns, err);
        if (r < 0)
                return r;

        /* A host veth of this (container, ifname) that is down is the leftover of a DEL
         * whose teardown is still running (podnet_cni_del_deferred()) or was cut
         * short: finish it. One that is up belongs to an attached pod: an ADD repeated
         * for it must fail without touching its lease (IPAM would hand back the same
         * address and our rollback would free it). */
        r = podnet_veth_host_name(args->container_id, args->ifname, host_name);
        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_INTERNAL, "Deriving the host veth name");
        r = podnet_link_get(ctx, NULL, host_name, &info_probe, NULL);
        if (r == 0 && !info_probe.up) {
                r = podnet_veth_delete(ctx, args->container_id, args->ifname, err);
                if (r < 0)
                        return r;
        } else if (r == 0) {
                return pn_error_plain(err, EEXIST, PODNET_CNI_ERR_IFACE_EXISTS,
                                      "Host interface %s for container %s/%s already exists",
                                      host_name, args->container_id, args->ifname);
        } else if (r != -ENODEV) {
                /* Not knowing is not absence: the lease of an attached pod is at stake. */
                return pn_error(err, -r, 0, "Looking up host interface %s", host_name);
        }
        r = podnet_link_get(ctx, ns, args->ifname, &info_probe, NULL);
        if (r == 0 && pn_veth_reap_parked(ctx) >= 0)
                /* The name is taken: it may be an earlier attachment in this namespace
                 * whose DEL has returned before its teardown ran. Parked pairs are
                 * doomed; deleting them (one request for all) finishes that teardown, and
                 * this ADD pays for it only when it meets such a name. Look again even
                 * when none was left to delete: the DEL's own teardown may have deleted
                 * the pair between the first look and ours. */
                r = podnet_link_get(ctx, ns, args->ifname, &info_probe, NULL);
        if (r == 0)
                return pn_error_plain(err, EEXIST, PODNET_CNI_ERR_IFACE_EXISTS,
                                      "Interface %s already exists in %s", args->ifname,
                                      args->netns);
        if (r != -ENODEV)
                return pn_error(err, -r, 0, "Looking up interface %s in %s", args->ifname,
                                args->netns);

        stage(ctx, &t0, "existing interfaces checked");
        /* IPAM first: in-process it costs microseconds, and the bridge needs the
         * gateway it hands out. */
        r = podnet_cni_ipam_add(ctx, conf, args, &res, err);
        if (r < 0)
                return r;
        ipam_done = true;
        if (podnet_cni_result_n_ips(res) == 0) {
                r = pn_error_plain(err, EINVAL, PODNET_CNI_ERR_IPAM_PLUGIN,
                                   "IPAM plugin %s returned no IP address", conf->ipam_type);
                goto fail;
        }

        stage(ctx, &t0, "addresses allocated");
        mtu = pick_mtu(ctx, conf);
        stage(ctx, &t0, "MTU chosen");
        r = ensure_bridge(ctx, conf, res, mtu, err);
        if (r < 0)
                goto fail;
        stage(ctx, &t0, "bridge ensured");

        podnet_veth_config vc = {
            .size = sizeof(vc),
            .container_id = args->container_id,
            .ifname = args->ifname,
            .netns = ns,
            .bridge = conf->bridge,
            .mtu = mtu,
            .mac = pick_mac(conf, args),
            .hairpin = conf->hairpin_mode,
        };
        r = podnet_veth_create(ctx, &vc, &info, err);
        if (r == -EEXIST) /* one end's name is taken (the message says which) */
                r = pn_error_set_code(err, r, PODNET_CNI_ERR_IFACE_EXISTS);
        else if (r == -EINVAL && (isempty(args->container_id) || !pn_ifname_valid(args->ifname)))
                r = pn_error_set_code(err, r, PODNET_CNI_ERR_INVALID_ENV);
        if (r < 0)
                goto fail;
        veth_done = true;
        stage(ctx, &t0, "veth created");

        r = configure_pod(ctx, conf, args, ns, res, err);
        if (r < 0)
                goto fail;
        stage(ctx, &t0, "pod addresses and routes set");

        if (conf->is_gateway) {
                r = podnet_sysctl_enable_forwarding(ctx, AF_INET, err);
                for (size_t i = 0; r >= 0 && i < podnet_cni_result_n_ips(res); i++)
                        if (podnet_cidr_family(podnet_cni_result_ip_addr(res, i)) == AF_INET6) {
                                r = podnet_sysctl_enable_forwarding(ctx, AF_INET6, err);
                                break;
                        }
                if (r < 0) {
                        /* Reading or writing /proc/sys (the families are ours). */
                        r = pn_error_set_code(err, r, PODNET_CNI_ERR_IO);
                        goto fail;
                }
        }

        if (conf->ip_masq) {
                masq_tried = true; /* a failed commit may still have changed the table */
                r = ensure_masq(ctx, conf, res, err);
                if (r < 0)
                        goto fail;
        }

        stage(ctx, &t0, "forwarding and masquerade done");
        /* The result lists every interface touched: bridge, host veth, pod end. */
        r = podnet_link_get(ctx, NULL, conf->bridge, &br, err);
        if (r < 0)
                goto fail;
        br_idx = podnet_cni_result_add_interface(res, conf->bridge, br.mac, 0, NULL);
        veth_idx = podnet_cni_result_add_interface(res, info.host_ifname, info.host_mac, 0, NULL);
        pod_idx =
            podnet_cni_result_add_interface(res, args->ifname, info.pod_mac, mtu, args->netns);
        if (br_idx < 0 || veth_idx < 0 || pod_idx < 0) {
                r = pn_error(err, ENOMEM, PODNET_CNI_ERR_INTERNAL, "Building the result");
                goto fail;
        }
        for (size_t i = 0; i < podnet_cni_result_n_ips(res); i++) {
                r = pn_cni_result_set_ip_interface(res, i, pod_idx);
                if (r < 0) {
                        r = pn_error(err, -r, PODNET_CNI_ERR_INTERNAL, "Building the result");
                        goto fail;
                }
        }

        stage(ctx, &t0, "result built");
        *ret = steal_pointer(&res);
        return 0;

fail:
        /* Nothing half-configured: undo in reverse order, keeping the first error. The
         * bridge stays (other pods share it, and the reference plugin keeps it too), and
         * so does forwarding, a node-wide setting. */
        if (veth_done)
                (void)podnet_veth_delete(ctx, args->container_id, args->ifname, NULL);
        if (ipam_done)
                (void)podnet_cni_ipam_del(ctx, conf, args, NULL);
        /* With the lease gone, the masquerade rule goes too unless another lease needs
         * it: the same decision, under the same lock, as DEL's. */
        if (masq_tried)
                (void)release_masq(ctx, conf, NULL);
        return r;
}

/* Number of leases in the in-process IPAM's directory (regular files named by an
 * address), 0 if the directory does not exist. The on-disk format is host-local's, a
 * public contract, so reading it here does not reach into the IPAM module's
 * internals. The IPAM's temporary files live in a subdirectory, never counted. */
static int count_leases(const podnet_cni_conf *conf)
{
        _cleanup_free_ char *dir = NULL;
        struct dirent *de;
        DIR *d;
        int n = 0;

        if (asprintf(&dir, "%s/%s",
                     conf->ipam.data_dir ? conf->ipam.data_dir : PN_IPAM_DEFAULT_DATA_DIR,
                     conf->name) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                unsigned char buf[16];
                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;
                if (inet_pton(AF_INET, de->d_name, buf) == 1 ||
                    inet_pton(AF_INET6, de->d_name, buf) == 1)
                        n++;
        }
        closedir(d);
        return n;
}

/* Removes the network's masquerade rules once its last pod is gone. */
static int release_masq(podnet_ctx *ctx, const podnet_cni_conf *conf, podnet_error **err)
{
        _cleanup_close_ int lock = -1;
        struct pn_fw_opts o;
        int r = 0;

        if (!conf->ip_masq || !conf->ipam_in_process)
                return 0;
        lock = masq_lock(conf, err);
        if (lock < 0)
                return lock;
        if (count_leases(conf) != 0)
                return 0;
        r = masq_opts(ctx, conf, &o, err);
        if (r < 0)
                return r;
        for (size_t s = 0; s < conf->ipam.n_sets; s++)
                for (size_t i = 0; i < conf->ipam.sets[s].n_ranges; i++) {
                        const podnet_cidr *subnet = conf->ipam.sets[s].ranges[i].subnet;
                        const struct pn_fw_backend *b;
                        podnet_error *e = NULL;
                        int q = pn_fw_masq(ctx, &o, PN_FW_MASQ_REMOVE, conf->name, subnet, &e);

                        q = masq_failed(q, e, err);
                        if (q < 0 && r == 0)
                                r = q;
                        /* "auto" follows podnet-routes, whose choice may have moved since
                         * the rule was added: it goes from the other backends too (where
                         * one is missing from the kernel there is nothing to remove). */
                        for (size_t k = 0; conf_fw_auto(conf) && (b = pn_fw_backend_nth(k)); k++) {
                                struct pn_fw_opts other = pn_fw_opts_with(b);

                                if (b != o.backend)
                                        (void)pn_fw_masq(ctx, &other, PN_FW_MASQ_REMOVE, conf->name,
                                                         subnet, NULL);
                        }
                }
        return r;
}

static int cni_del(podnet_ctx *ctx, const podnet_cni_conf *conf, const podnet_cni_args *args,
                   bool defer, podnet_error **err)
{
        int r, first = 0, left = 0;

        if (!ctx || !conf || !args)
                return -EINVAL;

        /* Best effort: every step runs even if an earlier one failed, and the first
         * failure is what we report. A missing namespace, lease or link is success. */
        r = podnet_cni_ipam_del(ctx, conf, args, err);
        if (r < 0 && !first)
                first = r;
        if (defer) {
                /* The pod end keeps its name until the teardown: an ADD into the same
                 * namespace that meets it finishes the teardown first. */
                r = pn_veth_park(ctx, args->container_id, args->ifname, first ? NULL : err);
                if (r > 0)
                        left = 1;
        } else {
                r = podnet_veth_delete(ctx, args->container_id, args->ifname, first ? NULL : err);
        }
        if (r < 0 && !first)
                first = r;
        r = release_masq(ctx, conf, first ? NULL : err);
        if (r < 0 && !first)
                first = r;
        return first < 0 ? first : left;
}

PODNET_EXPORT int podnet_cni_del(podnet_ctx *ctx, const podnet_cni_conf *conf,
                                 const podnet_cni_args *args, podnet_error **err)
{
        return cni_del(ctx, conf, args, false, err);
}

PODNET_EXPORT int podnet_cni_del_deferred(podnet_ctx *ctx, const podnet_cni_conf *conf,
                                          const podnet_cni_args *args, podnet_error **err)
{
        return cni_del(ctx, conf, args, true, err);
}

static int check_fail(podnet_error **err, const char *fmt, ...) _printf_(2, 3);
static int check_fail(podnet_error **err, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return pn_error_plain(err, ENOENT, PODNET_CNI_ERR_CHECK_FAILED, "%s", msg);
}

PODNET_EXPORT int podnet_cni_check(podnet_ctx *ctx, const podnet_cni_conf *conf,
                                   const podnet_cni_args *args, podnet_error **err)
{
        _cleanup_netns_ podnet_netns *ns = NULL;
        const podnet_cni_result *prev = conf ? conf->prev_result : NULL;
        podnet_link_info pod = {.size = sizeof(pod)}, host = {.size = sizeof(host)},
                         br = {.size = sizeof(br)};
        char host_name[16], buf[PODNET_CIDR_STRLEN], buf2[PODNET_CIDR_STRLEN];
        bool found_pod_iface = false;
        struct pn_fw_opts masq = {0};
        unsigned mtu;
        int r;

        if (!ctx || !conf || !args)
                return -EINVAL;
        if (!prev)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "CHECK needs prevResult in the configuration");

        r = open_pod_netns(ctx, args, &ns, err);
        if (r < 0)
                return r;

        /* The pod interface. */
        r = podnet_link_get(ctx, ns, args->ifname, &pod, NULL);
        if (r < 0)
                return check_fail(err, "Interface %s is missing in %s", args->ifname, args->netns);
        if (!pod.up)
                return check_fail(err, "Interface %s in %s is down", args->ifname, args->netns);
        for (size_t i = 0; i < podnet_cni_result_n_interfaces(prev); i++) {
                const char *name = podnet_cni_result_interface_name(prev, i);
                const char *sb = podnet_cni_result_interface_sandbox(prev, i);
                const char *mac = podnet_cni_result_interface_mac(prev, i);
                if (!name || !sb || !streq(name, args->ifname))
                        continue;
                found_pod_iface = true;
                if (mac && *mac && strcasecmp(mac, pod.mac) != 0)
                        return check_fail(err, "Interface %s in %s has MAC %s, prevResult says %s",
                                          args->ifname, args->netns, pod.mac, mac);
        }
        if (!found_pod_iface)
                return check_fail(err, "prevResult lists no interface %s in a sandbox",
                                  args->ifname);

        /* MTU: the configured one, else what ADD would pick now. */
        mtu = pick_mtu(ctx, conf);
        if (pod.mtu != mtu)
                return check_fail(err, "Interface %s in %s has MTU %u, expected %u", args->ifname,
                                  args->netns, pod.mtu, mtu);

        /* Host side: veth enslaved to the bridge. */
        r = podnet_veth_host_name(args->container_id, args->ifname, host_name);
        if (r < 0)
                return pn_error(err, -r, 0, "Deriving the host interface name");
        if (podnet_link_get(ctx, NULL, host_name, &host, NULL) < 0)
                return check_fail(err, "Host interface %s is missing", host_name);
        if (podnet_link_get(ctx, NULL, conf->bridge, &br, NULL) < 0)
                return check_fail(err, "Bridge %s is missing", conf->bridge);
        if (host.master_ifindex != br.ifindex)
                return check_fail(err, "Host interface %s is not attached to bridge %s", host_name,
                                  conf->bridge);
        if (conf->hairpin_mode && !host.hairpin)
                return check_fail(err, "Hairpin mode is off on %s", host_name);

        /* Addresses. */
        for (size_t i = 0; i < podnet_cni_result_n_ips(prev); i++) {
                const podnet_cidr *a = podnet_cni_result_ip_addr(prev, i);
                podnet_cidr_format(a, buf, sizeof(buf));
                r = podnet_addr_has(ctx, ns, args->ifname, a, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        return check_fail(err, "Address %s is missing on %s in %s", buf,
                                          args->ifname, args->netns);
        }

        /* Routes: every route of prevResult must exist; later plugins may have added
         * more, which is fine. */
        for (size_t i = 0; i < podnet_cni_result_n_routes(prev); i++) {
                const podnet_cidr *dst = podnet_cni_result_route_dst(prev, i);
                const podnet_cidr *gw = podnet_cni_result_route_gw(prev, i);
                podnet_route_config rc = {.size = sizeof(rc), .dst = dst, .gw = gw, .scope = -1};

                r = podnet_route_has(ctx, ns, &rc, err);
                if (r < 0)
                        return r;
                if (r == 0) {
                        podnet_cidr_format(dst, buf, sizeof(buf));
                        if (gw)
                                podnet_cidr_format_addr(gw, buf2, sizeof(buf2));
                        return check_fail(err, "Route %s%s%s is missing in %s", buf,
                                          gw ? " via " : "", gw ? buf2 : "", args->netns);
                }
        }

        /* Lease. */
        r = podnet_cni_ipam_check(ctx, conf, args, err);
        if (r < 0)
                return r;

        /* Masquerade. */
        if (conf->ip_masq && podnet_cni_result_n_ips(prev) > 0 &&
            (r = masq_opts(ctx, conf, &masq, err)) < 0)
                return r;
        if (conf->ip_masq)
                for (size_t i = 0; i < podnet_cni_result_n_ips(prev); i++) {
                        _cleanup_cidr_ podnet_cidr *subnet = NULL;
                        r = podnet_cidr_network(&subnet, podnet_cni_result_ip_addr(prev, i));
                        if (r < 0)
                                return r;
                        podnet_error *e = NULL;
                        r = pn_fw_masq(ctx, &masq, PN_FW_MASQ_HAS, conf->name, subnet, &e);
                        if (r < 0)
                                return masq_failed(r, e, err);
                        if (r == 0) {
                                podnet_cidr_format(subnet, buf, sizeof(buf));
                                return check_fail(err,
                                                  "Masquerade rule for network %s (%s) is missing",
                                                  conf->name, buf);
                        }
                }
        return 0;
}

PODNET_EXPORT int podnet_cni_gc(podnet_ctx *ctx, const podnet_cni_conf *conf,
                                const podnet_cni_args *args, podnet_error **err)
{
        int r, first = 0;

        if (!ctx || !conf || !args)
                return -EINVAL;
        /* Leases of attachments the runtime no longer knows; their namespaces are
         * gone, and with them the veth pairs (the kernel destroys a veth pair when
         * either end's namespace goes away). */
        r = podnet_cni_ipam_gc(ctx, conf, args, err);
        if (r < 0)
                first = r;
        r = release_masq(ctx, conf, first ? NULL : err);
        if (r < 0 && !first)
                first = r;
        /* Pairs a DEL parked whose deferred teardown never ran (killed, or the node
         * went down mid-way): they are doomed whichever network they were on. */
        r = pn_veth_reap_parked(ctx);
        if (r < 0 && !first)
                first = pn_error(err, -r, 0, "Deleting parked veth pairs");
        return first;
}

static int writable_dir(const char *path)
{
        _cleanup_free_ char *p = strdup(path);
        char *slash;

        if (!p)
                return -ENOMEM;
        /* The data directory is created on first ADD: check the deepest existing
         * ancestor. */
        for (;;) {
                if (access(p, F_OK) == 0)
                        return access(p, W_OK) == 0 ? 0 : -errno;
                slash = strrchr(p, '/');
                if (!slash || slash == p)
                        return access("/", W_OK) == 0 ? 0 : -errno;
                *slash = '\0';
        }
}

PODNET_EXPORT int podnet_cni_status(podnet_ctx *ctx, const podnet_cni_conf *conf,
                                    const podnet_cni_args *args, podnet_error **err)
{
        int r;

        if (!ctx || !conf || !args)
                return -EINVAL;
        if (conf->ipam_in_process) {
                const char *dd =
                    conf->ipam.data_dir ? conf->ipam.data_dir : PN_IPAM_DEFAULT_DATA_DIR;
                r = writable_dir(dd);
                if (r < 0)
                        return pn_error(err, -r, PODNET_CNI_ERR_NOT_AVAILABLE,
                                        "IPAM data directory %s is not writable", dd);
        }
        if (conf->ip_masq) {
                podnet_error *e = NULL;
                _cleanup_cidr_ podnet_cidr *probe = NULL;

                struct pn_fw_opts o;

                r = podnet_cidr_parse(&probe, "10.0.0.0/8");
                if (r < 0)
                        return r;
                r = masq_opts(ctx, conf, &o, &e);
                if (r >= 0)
                        r = pn_fw_masq(ctx, &o, PN_FW_MASQ_HAS, conf->name, probe, &e);
                if (r < 0) {
                        r = pn_error_plain(err, -r, PODNET_CNI_ERR_NOT_AVAILABLE,
                                           "Firewall unavailable for ipMasq: %s",
                                           podnet_error_message(e));
                        podnet_error_free(e);
                        return r;
                }
        }
        return 0;
}

PODNET_EXPORT int podnet_cni_version(const char *json, size_t len, char **ret, podnet_error **err)
{
        json_error_t jerr;
        json_t *root = NULL, *v;
        const char *version = "1.1.0";
        int r;

        if (!ret)
                return -EINVAL;
        /* Skip all-blank input: some runtimes send nothing for VERSION. */
        for (size_t i = 0; json && i < len; i++)
                if (!strchr(" \t\r\n", json[i])) {
                        root = json_loadb(json, len, 0, &jerr);
                        if (!root)
                                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_DECODE,
                                                      "Decoding the VERSION request: %s at line %d "
                                                      "column %d",
                                                      jerr.text, jerr.line, jerr.column);
                        break;
                }
        v = root ? json_object_get(root, "cniVersion") : NULL;
        if (v && json_is_string(v) && *json_string_value(v))
                version = json_string_value(v);
        r = podnet_cni_version_format(version, ret);
        json_decref(root);
        return r;
}

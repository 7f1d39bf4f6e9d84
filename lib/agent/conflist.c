/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node's CNI network configuration list for podnet-cni: rendering, atomic write that
 * leaves an unchanged file alone, and removal of a file only when podnet wrote it.
 */
#include <fcntl.h>
#include <jansson.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "agent/routes.h"
#include "core/file.h"
#include "firewall/fw.h"

/* Anything bigger is not a conflist podnet wrote. */
#define CONFLIST_MAX (1024 * 1024)

static bool network_name_valid(const char *s)
{
        if (isempty(s) || strlen(s) > 253 || streq(s, ".") || streq(s, ".."))
                return false;
        for (; *s; s++)
                if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
                    !(*s >= '0' && *s <= '9') && !strchr("-_.", *s))
                        return false;
        return true;
}

PODNET_EXPORT int podnet_conflist_render(const podnet_conflist_config *config, char **ret,
                                         podnet_error **err)
{
        podnet_conflist_config cfg;
        json_t *root = NULL, *plugin = NULL, *ipam, *ranges;
        char *s;
        int r;

        r = PODNET_OPTS_COPY(cfg, config,
                             offsetof(podnet_conflist_config, data_dir) + sizeof(cfg.data_dir));
        if (r < 0 || !ret)
                return pn_error_plain(err, EINVAL, 0,
                                      "Invalid conflist configuration");
        if (!cfg.network)
                cfg.network = "podnet";
        if (!cfg.bridge)
                cfg.bridge = "cbr0";
        if (!network_name_valid(cfg.network))
                return pn_error_plain(err, EINVAL, 0,
                                      "Invalid network name \"%s\"", cfg.network);
        if (strlen(cfg.bridge) == 0 || strlen(cfg.bridge) > 15 || strchr(cfg.bridge, '/'))
                return pn_error_plain(err, EINVAL, 0,
                                      "Invalid bridge name \"%s\"", cfg.bridge);
        if (cfg.fw_backend && !streq(cfg.fw_backend, PN_FW_AUTO) &&
            !pn_fw_backend_by_name(cfg.fw_backend))
                return pn_error_plain(err, EINVAL, 0, "Unknown firewall backend \"%s\"",
                                      cfg.fw_backend);
        if (cfg.n_pod_cidrs == 0 || !cfg.pod_cidrs)
                return pn_error_plain(err, EINVAL, 0,
                                      "No pod CIDR for the CNI configuration");

        ranges = json_array();
        for (size_t i = 0; ranges && i < cfg.n_pod_cidrs; i++) {
                _cleanup_cidr_ podnet_cidr *net = NULL;
                char buf[PODNET_CIDR_STRLEN];

                if (!cfg.pod_cidrs[i]) {
                        json_decref(ranges);
                        return pn_error_plain(err, EINVAL, 0,
                                              "Invalid conflist configuration");
                }
                if (podnet_cidr_network(&net, cfg.pod_cidrs[i]) < 0 ||
                    podnet_cidr_format(net, buf, sizeof(buf)) < 0 ||
                    json_array_append_new(ranges, json_pack("[{s:s}]", "subnet", buf)) < 0) {
                        json_decref(ranges);
                        ranges = NULL;
                }
        }
        if (!ranges)
                return pn_error(err, ENOMEM, 0, "Rendering the CNI configuration");
        ipam = json_pack("{s:s,s:o}", "type", "host-local", "ranges", ranges);
        if (ipam && cfg.data_dir &&
            json_object_set_new(ipam, "dataDir", json_string(cfg.data_dir)) < 0)
                goto oom_plugin;
        /* isDefaultGateway makes podnet-cni add the default route: no "routes" needed */
        plugin = json_pack("{s:s,s:s,s:b,s:b,s:b,s:b}", "type", "podnet-cni", "bridge", cfg.bridge,
                           "isGateway", 1, "isDefaultGateway", 1, "hairpinMode", 1, "ipMasq",
                           cfg.ip_masq ? 1 : 0);
        if (!plugin || !ipam)
                goto oom_plugin;
        if (cfg.mtu > 0 && json_object_set_new(plugin, "mtu", json_integer(cfg.mtu)) < 0)
                goto oom_plugin;
        /* the backend of ipMasq's rules; podnet-cni reads it (cni-conf.c) */
        if (cfg.ip_masq && cfg.fw_backend &&
            json_object_set_new(plugin, "firewallBackend", json_string(cfg.fw_backend)) < 0)
                goto oom_plugin;
        if (json_object_set_new(plugin, "ipam", ipam) < 0) {
                ipam = NULL;
                goto oom_plugin;
        }
        root = json_pack("{s:s,s:s,s:[o]}", "cniVersion", "1.0.0", "name", cfg.network, "plugins",
                         plugin);
        if (!root)
                goto oom;
        s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!s)
                goto oom;
        /* a text file ends with a newline */
        *ret = realloc(s, strlen(s) + 2);
        if (!*ret) {
                free(s);
                goto oom;
        }
        strcat(*ret, "\n");
        return 0;
oom_plugin:
        json_decref(plugin);
        json_decref(ipam);
oom:
        return pn_error(err, ENOMEM, 0, "Rendering the CNI configuration");
}

/* Reads a whole regular file of at most CONFLIST_MAX bytes; -ENOENT if absent. */
static int read_small_file(const char *path, char **ret, size_t *len)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EISDIR;
        if (st.st_size > CONFLIST_MAX)
                return -EFBIG;
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (n < (size_t)st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        buf[n] = 0;
        *len = n;
        *ret = steal_pointer(&buf);
        return 0;
}

PODNET_EXPORT int podnet_conflist_write(const podnet_conflist_config *cfg, const char *path,
                                        podnet_error **err)
{
        _cleanup_free_ char *text = NULL, *old = NULL;
        size_t old_len = 0, len;
        int r;

        if (isempty(path))
                return pn_error_plain(err, EINVAL, 0, "No path for the CNI configuration");
        r = podnet_conflist_render(cfg, &text, err);
        if (r < 0)
                return r;
        len = strlen(text);
        r = read_small_file(path, &old, &old_len);
        if (r >= 0 && old_len == len && memcmp(old, text, len) == 0)
                return 0;
        r = pn_file_write_atomic(path, text, len, 0644);
        if (r < 0)
                return pn_error(err, -r, 0, "Writing %s", path);
        return 1;
}

static bool conflist_is_podnets(const char *text, size_t len)
{
        json_t *root = json_loadb(text, len, 0, NULL), *plugins, *p;
        bool found = false;
        size_t i;

        plugins = json_object_get(root, "plugins");
        json_array_foreach(plugins, i, p)
        {
                const char *type = json_string_value(json_object_get(p, "type"));
                if (type && streq(type, "podnet-cni"))
                        found = true;
        }
        if (!plugins && json_is_object(root)) {
                const char *type = json_string_value(json_object_get(root, "type"));
                found = type && streq(type, "podnet-cni");
        }
        json_decref(root);
        return found;
}

PODNET_EXPORT int podnet_conflist_remove(const char *path, podnet_error **err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if (isempty(path))
                return pn_error_plain(err, EINVAL, 0, "No path for the CNI configuration");
        r = read_small_file(path, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return pn_error(err, -r, 0, "Reading %s", path);
        if (!conflist_is_podnets(text, len))
                return pn_error_plain(err, EEXIST, 0,
                                      "%s is not a podnet-cni configuration: left in place", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return pn_error(err, errno, 0, "Removing %s", path);
        return 1;
}

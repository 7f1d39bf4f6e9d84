/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CNI_* environment: required variables per command, container ids, interface and
 * network names checked with the CNI code each failure carries (the rules themselves
 * are core/names.c's), and CNI_ARGS ("K=V;K=V") with IP=, MAC=, IgnoreUnknown=.
 */
#include <ctype.h>
#include <strings.h>

#include "cni/cni.h"
#include "core/names.h"

#define ENV_CODE PODNET_CNI_ERR_INVALID_ENV

int pn_cni_validate_container_id(const char *id, podnet_error **err)
{
        if (isempty(id))
                return pn_error_plain(err, EINVAL, ENV_CODE,
                                      "Missing container ID (CNI_CONTAINERID)");
        if (!pn_id_valid(id))
                return pn_error_plain(err, EINVAL, ENV_CODE,
                                      "Invalid container ID \"%s\": it must start with a letter or "
                                      "digit and hold only letters, digits, '_', '.' and '-'",
                                      id);
        return 0;
}

int pn_cni_validate_network_name(const char *name, podnet_error **err)
{
        if (!pn_id_valid(name))
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INVALID_CONFIG,
                                      "Invalid network name \"%s\": it must start with a letter "
                                      "or digit and hold only letters, digits, '_', '.' and '-'",
                                      name ? name : "");
        return 0;
}

int pn_cni_validate_name_as_ifname(const char *name, const char *what, int code, podnet_error **err)
{
        const char *why = pn_ifname_invalid(name);

        if (why)
                return pn_error_plain(err, EINVAL, code, "Invalid %s \"%s\": %s", what,
                                      name ? name : "", why);
        return 0;
}

int pn_cni_validate_ifname(const char *ifname, podnet_error **err)
{
        return pn_cni_validate_name_as_ifname(ifname, "interface name", ENV_CODE, err);
}

bool pn_cni_mac_valid(const char *mac)
{
        if (!mac || strlen(mac) != 17)
                return false;
        for (size_t i = 0; i < 17; i++) {
                if (i % 3 == 2) {
                        if (mac[i] != mac[2] || (mac[i] != ':' && mac[i] != '-'))
                                return false;
                } else if (!isxdigit((unsigned char)mac[i])) {
                        return false;
                }
        }
        return true;
}

PODNET_EXPORT podnet_cni_args *podnet_cni_args_free(podnet_cni_args *args)
{
        if (!args)
                return NULL;
        free(args->command);
        free(args->container_id);
        free(args->netns);
        free(args->ifname);
        free(args->path);
        free(args->args);
        for (size_t i = 0; i < args->n_args; i++) {
                free(args->keys[i]);
                free(args->values[i]);
        }
        free(args->keys);
        free(args->values);
        for (size_t i = 0; i < args->n_req_ips; i++)
                podnet_cidr_free(args->req_ips[i]);
        free(args->req_ips);
        free(args->req_mac);
        free(args);
        return NULL;
}

PODNET_EXPORT const char *podnet_cni_args_get(const podnet_cni_args *args, const char *key)
{
        if (!args || !key)
                return NULL;
        /* The last occurrence wins, as when libcni loads CNI_ARGS into a struct. */
        for (size_t i = args->n_args; i-- > 0;)
                if (streq(args->keys[i], key))
                        return args->values[i];
        return NULL;
}

static int oom(podnet_error **err)
{
        return pn_error_plain(err, ENOMEM, PODNET_CNI_ERR_INTERNAL,
                              "Parsing the CNI environment: out of memory");
}

/* "1"/"true" or "0"/"false", any case (libcni's UnmarshallableBool). */
static int parse_bool(const char *s)
{
        if (streq(s, "1") || strcasecmp(s, "true") == 0)
                return 1;
        if (streq(s, "0") || strcasecmp(s, "false") == 0)
                return 0;
        return -EINVAL;
}

static int parse_ip_list(podnet_cni_args *a, const char *value, podnet_error **err)
{
        _cleanup_free_ char *copy = strdup(value);
        char *save = NULL;

        if (!copy)
                return oom(err);
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                int r;

                while (isspace((unsigned char)*tok))
                        tok++;
                if (!*tok)
                        continue;
                r = pn_cidr_list_append(&a->req_ips, &a->n_req_ips, tok, "CNI_ARGS IP", ENV_CODE,
                                        err);
                if (r < 0)
                        return r == -ENOMEM ? oom(err) : r;
        }
        return 0;
}

static bool key_known(const char *k)
{
        static const char *const known[] = {
            "IP",
            "MAC",
            "IgnoreUnknown",
            "K8S_POD_NAMESPACE",
            "K8S_POD_NAME",
            "K8S_POD_INFRA_CONTAINER_ID",
            "K8S_POD_UID",
        };

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq(known[i], k))
                        return true;
        return false;
}

static int split_pairs(podnet_cni_args *a, podnet_error **err)
{
        _cleanup_free_ char *copy = strdup(a->args);
        char *save = NULL;

        if (!copy)
                return oom(err);
        for (char *pair = strtok_r(copy, ";", &save); pair; pair = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(pair, '='), **k, **v;

                if (!eq || eq == pair || strchr(eq + 1, '='))
                        return pn_error_plain(err, EINVAL, ENV_CODE,
                                              "Invalid pair \"%s\" in CNI_ARGS (want KEY=VALUE)",
                                              pair);
                *eq = '\0';
                k = reallocarray(a->keys, a->n_args + 1, sizeof(*k));
                if (k)
                        a->keys = k;
                v = reallocarray(a->values, a->n_args + 1, sizeof(*v));
                if (v)
                        a->values = v;
                if (!k || !v)
                        return oom(err);
                a->keys[a->n_args] = strdup(pair);
                a->values[a->n_args] = strdup(eq + 1);
                a->n_args++;
                if (!a->keys[a->n_args - 1] || !a->values[a->n_args - 1])
                        return oom(err);
        }
        return 0;
}

static int parse_cni_args(podnet_cni_args *a, podnet_error **err)
{
        const char *v;
        int r;

        if (isempty(a->args))
                return 0;
        r = split_pairs(a, err);
        if (r < 0)
                return r;
        v = podnet_cni_args_get(a, "IgnoreUnknown");
        if (v) {
                r = parse_bool(v);
                if (r < 0)
                        return pn_error_plain(err, EINVAL, ENV_CODE,
                                              "Invalid value \"%s\" of IgnoreUnknown in CNI_ARGS "
                                              "(want true, false, 1 or 0)",
                                              v);
                a->ignore_unknown = r;
        }
        for (size_t i = 0; i < a->n_args && !a->ignore_unknown; i++)
                if (!key_known(a->keys[i]))
                        return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_UNSUPPORTED_FIELD,
                                              "Unsupported field \"%s\" (value \"%s\") in CNI_ARGS",
                                              a->keys[i], a->values[i]);
        v = podnet_cni_args_get(a, "IP");
        if (v && (r = parse_ip_list(a, v, err)) < 0)
                return r;
        v = podnet_cni_args_get(a, "MAC");
        if (!isempty(v)) {
                if (!pn_cni_mac_valid(v))
                        return pn_error_plain(err, EINVAL, ENV_CODE,
                                              "Invalid MAC address \"%s\" in CNI_ARGS", v);
                if (pn_strdup_replace(&a->req_mac, v) < 0)
                        return oom(err);
        }
        return 0;
}

static const struct {
        const char *name;
        bool id, netns, ifname;
} commands[] = {
    {"ADD", true, true, true},   {"CHECK", true, true, true},     {"DEL", true, false, true},
    {"GC", false, false, false}, {"STATUS", false, false, false}, {"VERSION", false, false, false},
};

PODNET_EXPORT int podnet_cni_args_new(podnet_cni_args **ret, const podnet_cni_env *env,
                                      podnet_error **err)
{
        _cleanup_args_ podnet_cni_args *a = NULL;
        podnet_cni_env e;
        char missing[96] = "";
        size_t c, n_missing = 0;
        int r;

        if (!ret || PODNET_OPTS_COPY(e, env, sizeof(podnet_cni_env)) < 0)
                return pn_error_plain(err, EINVAL, PODNET_CNI_ERR_INTERNAL,
                                      "Parsing the CNI environment: invalid argument");
        *ret = NULL;
        if (isempty(e.command))
                return pn_error_plain(err, EINVAL, ENV_CODE,
                                      "Missing environment variable CNI_COMMAND");
        for (c = 0; c < ELEMENTSOF(commands); c++)
                if (streq(commands[c].name, e.command))
                        break;
        if (c == ELEMENTSOF(commands))
                return pn_error_plain(err, EINVAL, ENV_CODE,
                                      "Unknown CNI_COMMAND \"%s\" (want ADD, DEL, CHECK, GC, "
                                      "STATUS or VERSION)",
                                      e.command);
        const struct {
                bool need;
                const char *value, *name;
        } vars[] = {
            {commands[c].id, e.container_id, "CNI_CONTAINERID"},
            {commands[c].netns, e.netns, "CNI_NETNS"},
            {commands[c].ifname, e.ifname, "CNI_IFNAME"},
        };
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                if (vars[i].need && isempty(vars[i].value)) {
                        strcat(missing, n_missing ? ", " : "");
                        strcat(missing, vars[i].name);
                        n_missing++;
                }
        if (n_missing)
                return pn_error_plain(err, EINVAL, ENV_CODE,
                                      "Missing environment variable%s %s for CNI_COMMAND %s",
                                      n_missing > 1 ? "s" : "", missing, e.command);
        if (!isempty(e.container_id) && (r = pn_cni_validate_container_id(e.container_id, err)) < 0)
                return r;
        if (!isempty(e.ifname) && (r = pn_cni_validate_ifname(e.ifname, err)) < 0)
                return r;

        a = calloc(1, sizeof(*a));
        if (!a)
                return oom(err);
        const struct {
                char **dst;
                const char *src;
        } strs[] = {
            {&a->command, e.command}, {&a->container_id, e.container_id},
            {&a->netns, e.netns},     {&a->ifname, e.ifname},
            {&a->path, e.path},       {&a->args, e.args},
        };
        for (size_t i = 0; i < ELEMENTSOF(strs); i++)
                if (!isempty(strs[i].src) && pn_strdup_replace(strs[i].dst, strs[i].src) < 0)
                        return oom(err);
        r = parse_cni_args(a, err);
        if (r < 0)
                return r;
        *ret = steal_pointer(&a);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CNI versions: the supported list, numeric comparison, and the two small JSON answers
 * that do not need a result: the VERSION reply and the error object.
 */
#include <jansson.h>
#include <limits.h>

#include "cni/cni.h"

static const char *const supported_versions[] = {
    "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", NULL,
};

#define LATEST_VERSION "1.1.0"

PODNET_EXPORT const char *const *podnet_cni_supported_versions(void)
{
        return supported_versions;
}

int pn_cni_version_index(const char *version)
{
        if (!version)
                return -1;
        for (size_t i = 0; supported_versions[i]; i++)
                if (streq(supported_versions[i], version))
                        return (int)i;
        return -1;
}

PODNET_EXPORT int podnet_cni_version_supported(const char *version)
{
        return pn_cni_version_index(version) >= 0;
}

/* "1", "1.2" or "1.2.3" with decimal components; 0 on success. */
static int version_split(const char *v, unsigned long out[3])
{
        out[0] = out[1] = out[2] = 0;
        if (isempty(v))
                return -EINVAL;
        for (int i = 0; i < 3; i++) {
                char *end;

                if (*v < '0' || *v > '9')
                        return -EINVAL;
                errno = 0;
                out[i] = strtoul(v, &end, 10);
                if (errno || out[i] > INT_MAX)
                        return -EINVAL;
                if (*end == '\0')
                        return 0;
                if (*end != '.')
                        return -EINVAL;
                v = end + 1;
        }
        return -EINVAL;
}

PODNET_EXPORT int podnet_cni_version_compare(const char *a, const char *b)
{
        unsigned long va[3], vb[3];
        bool ok_a = version_split(a, va) == 0, ok_b = version_split(b, vb) == 0;

        if (!ok_a || !ok_b) {
                if (ok_a != ok_b)
                        return ok_a ? 1 : -1;
                if (!a || !b)
                        return (a != NULL) - (b != NULL);
                return strcmp(a, b) < 0 ? -1 : strcmp(a, b) > 0;
        }
        for (int i = 0; i < 3; i++)
                if (va[i] != vb[i])
                        return va[i] < vb[i] ? -1 : 1;
        return 0;
}

PODNET_EXPORT int podnet_cni_version_format(const char *version, char **ret)
{
        json_t *root, *list;

        if (!ret)
                return -EINVAL;
        *ret = NULL;
        root = json_object();
        list = json_array();
        if (!root || !list)
                goto oom;
        if (json_object_set_new(root, "cniVersion",
                                pn_json_string_new(version ? version : LATEST_VERSION)))
                goto oom;
        for (size_t i = 0; supported_versions[i]; i++)
                if (json_array_append_new(list, json_string(supported_versions[i])))
                        goto oom;
        if (json_object_set_new(root, "supportedVersions", list)) {
                list = NULL;
                goto oom;
        }
        return pn_json_dump(root, ret);
oom:
        json_decref(list);
        json_decref(root);
        return -ENOMEM;
}

PODNET_EXPORT int podnet_cni_error_format(const podnet_error *error, const char *version,
                                          char **ret)
{
        const char *msg, *details;
        json_t *root;

        if (!ret || !error)
                return -EINVAL;
        *ret = NULL;
        msg = podnet_error_message(error);
        details = podnet_error_details(error);
        root = json_object();
        if (!root)
                return -ENOMEM;
        if (json_object_set_new(root, "cniVersion",
                                pn_json_string_new(version ? version : LATEST_VERSION)) ||
            json_object_set_new(root, "code", json_integer(podnet_error_cni_code(error))) ||
            json_object_set_new(root, "msg", pn_json_string_new(msg ? msg : "")) ||
            (details && json_object_set_new(root, "details", pn_json_string_new(details)))) {
                json_decref(root);
                return -ENOMEM;
        }
        return pn_json_dump(root, ret);
}

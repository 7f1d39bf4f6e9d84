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

int pn_json_dump(json_t *root, char **ret)
{
        char *text;

        if (!root)
                return -ENOMEM;
        text = json_dumps(root, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!text)
                return -ENOMEM;
        *ret = text;
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

/* JSON helpers shared by the configuration and result parsers. */

char *pn_json_path(const char *path, const char *key, size_t index)
{
        char *p = NULL;
        int r;

        if (!key)
                r = asprintf(&p, "%s[%zu]", path ? path : "", index);
        else if (isempty(path))
                r = asprintf(&p, "%s", key);
        else
                r = asprintf(&p, "%s.%s", path, key);
        return r < 0 ? NULL : p;
}

static const char *kind_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "object";
        case JSON_ARRAY:
                return "array";
        case JSON_STRING:
                return "string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "boolean";
        default:
                return "null";
        }
}

static const char *kinds_name(int kinds)
{
        switch (kinds) {
        case PN_JSON_STRING:
                return "a string";
        case PN_JSON_NUMBER:
                return "a number";
        case PN_JSON_BOOL:
                return "a boolean";
        case PN_JSON_OBJECT:
                return "an object";
        case PN_JSON_ARRAY:
                return "an array";
        default:
                return "of another type";
        }
}

static bool kind_matches(const json_t *v, int kinds)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return kinds & PN_JSON_OBJECT;
        case JSON_ARRAY:
                return kinds & PN_JSON_ARRAY;
        case JSON_STRING:
                return kinds & PN_JSON_STRING;
        case JSON_INTEGER:
        case JSON_REAL:
                return kinds & PN_JSON_NUMBER;
        case JSON_TRUE:
        case JSON_FALSE:
                return kinds & PN_JSON_BOOL;
        default:
                return false;
        }
}

int pn_json_member(json_t *obj, const char *path, const char *key, int kinds, json_t **ret,
                   int code, podnet_error **err)
{
        _cleanup_free_ char *p = NULL;
        json_t *v = json_object_get(obj, key);

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!kind_matches(v, kinds)) {
                p = pn_json_path(path, key, 0);
                return pn_error_plain(err, EINVAL, code, "Key \"%s\" must be %s, got %s",
                                      p ? p : key, kinds_name(kinds), kind_name(v));
        }
        *ret = v;
        return 1;
}

int pn_json_string(json_t *obj, const char *path, const char *key, const char **ret, int code,
                   podnet_error **err)
{
        json_t *v;
        int r = pn_json_member(obj, path, key, PN_JSON_STRING, &v, code, err);

        *ret = r > 0 ? json_string_value(v) : NULL;
        return r;
}

int pn_json_bool(json_t *obj, const char *path, const char *key, bool *ret, int code,
                 podnet_error **err)
{
        json_t *v;
        int r = pn_json_member(obj, path, key, PN_JSON_BOOL, &v, code, err);

        if (r > 0)
                *ret = json_is_true(v);
        return r;
}

int pn_json_uint(json_t *obj, const char *path, const char *key, unsigned max, unsigned *ret,
                 int code, podnet_error **err)
{
        _cleanup_free_ char *p = NULL;
        json_t *v;
        int r = pn_json_member(obj, path, key, PN_JSON_NUMBER, &v, code, err);

        if (r <= 0)
                return r;
        p = pn_json_path(path, key, 0);
        if (!json_is_integer(v))
                return pn_error_plain(err, EINVAL, code, "Key \"%s\" must be an integer, got %g",
                                      p ? p : key, json_real_value(v));
        if (json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)max)
                return pn_error_plain(
                    err, ERANGE, code,
                    "Key \"%s\" must be between 0 and %u, got %" JSON_INTEGER_FORMAT, p ? p : key,
                    max, json_integer_value(v));
        *ret = (unsigned)json_integer_value(v);
        return 1;
}

int pn_cidr_parse_checked(podnet_cidr **ret, const char *text, bool want_prefix, const char *where,
                          int code, podnet_error **err)
{
        const char *what = want_prefix ? "CIDR" : "address";
        bool has_slash = strchr(text, '/') != NULL;

        *ret = NULL;
        if (has_slash != want_prefix || podnet_cidr_parse(ret, text) < 0)
                return pn_error_plain(err, EINVAL, code, "Invalid %s \"%s\" in %s", what, text,
                                      where);
        return 0;
}

int pn_cidr_list_append(podnet_cidr ***v, size_t *n, const char *text, const char *where, int code,
                        podnet_error **err)
{
        podnet_cidr **nv, *c;
        int r;

        r = pn_cidr_parse_checked(&c, text, strchr(text, '/') != NULL, where, code, err);
        if (r < 0)
                return r;
        nv = reallocarray(*v, *n + 1, sizeof(*nv));
        if (!nv) {
                podnet_cidr_free(c);
                return -ENOMEM;
        }
        nv[(*n)++] = c;
        *v = nv;
        return 0;
}

int pn_json_cidr(json_t *obj, const char *path, const char *key, bool want_prefix,
                 podnet_cidr **ret, int code, podnet_error **err)
{
        _cleanup_free_ char *p = NULL;
        const char *s;
        int r;

        *ret = NULL;
        r = pn_json_string(obj, path, key, &s, code, err);
        if (r <= 0)
                return r;
        p = pn_json_path(path, key, 0);
        r = pn_cidr_parse_checked(ret, s, want_prefix, p ? p : key, code, err);
        return r < 0 ? r : 1;
}

/* Length of the valid UTF-8 sequence at s, 0 if invalid. */
static size_t utf8_seq(const unsigned char *s)
{
        size_t n;
        unsigned cp;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0)
                n = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                n = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

json_t *pn_json_string_new(const char *s)
{
        _cleanup_free_ char *copy = NULL;
        size_t len, i, n;

        if (!s)
                return NULL;
        len = strlen(s);
        /* Valid text (nearly always) goes to jansson as it is; only a bad byte costs a copy. */
        for (i = 0; i < len && (n = utf8_seq((const unsigned char *)s + i)) > 0; i += n)
                ;
        if (i == len)
                return json_stringn(s, len);
        copy = strdup(s);
        if (!copy)
                return NULL;
        while (i < len) {
                n = utf8_seq((const unsigned char *)copy + i);
                if (n == 0)
                        copy[i++] = '?';
                else
                        i += n;
        }
        return json_stringn(copy, len);
}

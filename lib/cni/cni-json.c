/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CNI side's JSON helpers (over jansson): typed member access with messages that name
 * the member's path and carry the caller's CNI code, CIDR members, and the text of an
 * answer (valid UTF-8, indented, keys in insertion order).
 */
#include <jansson.h>

#include "core/utf8.h"
#include "cni/cni.h"

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

/* CIDRs and addresses in members and arguments: one message for a bad one. */

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

json_t *pn_json_string_new(const char *s)
{
        _cleanup_free_ char *copy = NULL;
        size_t len, valid;

        if (!s)
                return NULL;
        len = strlen(s);
        /* Valid text (nearly always) goes to jansson as it is; only a bad byte costs a copy. */
        valid = pn_utf8_valid_prefix(s, len);
        if (valid == len)
                return json_stringn(s, len);
        copy = strdup(s);
        if (!copy)
                return NULL;
        pn_utf8_sanitize(copy + valid, len - valid);
        return json_stringn(copy, len);
}

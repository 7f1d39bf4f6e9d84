/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcurl and libyaml loaded on first use with dlopen() (see dl.h for why), by their
 * stable sonames, each once per process; their functions are then called through tables.
 * The headers still come from the -dev packages at build time, so the prototypes are
 * checked against the library's own; only the linking is late.
 */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <yaml.h>

#include "kube/dl.h"

struct pn_dl_curl pn_dl_curl;
struct pn_dl_yaml pn_dl_yaml;

struct dl_lib {
        const char *soname;
        const char *const *names; /* in the order of the table's members */
        void **table;
        size_t n;
        pthread_once_t once;
        char error[256]; /* "" once loaded */
};

static const char *const curl_names[] = {
    "curl_global_init",     "curl_easy_init",          "curl_easy_cleanup",
    "curl_easy_setopt",     "curl_easy_getinfo",       "curl_easy_strerror",
    "curl_multi_init",      "curl_multi_cleanup",      "curl_multi_setopt",
    "curl_multi_add_handle", "curl_multi_remove_handle", "curl_multi_socket_action",
    "curl_multi_info_read", "curl_slist_append",       "curl_slist_free_all",
};
static const char *const yaml_names[] = {
    "yaml_parser_initialize", "yaml_parser_delete",        "yaml_parser_set_input_file",
    "yaml_parser_load",       "yaml_document_delete",      "yaml_document_get_node",
    "yaml_document_get_root_node",
};
_Static_assert(sizeof(curl_names) / sizeof(*curl_names) * sizeof(void *) == sizeof(pn_dl_curl),
               "one name per libcurl function of the table");
_Static_assert(sizeof(yaml_names) / sizeof(*yaml_names) * sizeof(void *) == sizeof(pn_dl_yaml),
               "one name per libyaml function of the table");

static struct dl_lib curl_lib = {"libcurl.so.4", curl_names, (void **)&pn_dl_curl,
                                 sizeof(curl_names) / sizeof(*curl_names), PTHREAD_ONCE_INIT, ""};
static struct dl_lib yaml_lib = {"libyaml-0.so.2", yaml_names, (void **)&pn_dl_yaml,
                                 sizeof(yaml_names) / sizeof(*yaml_names), PTHREAD_ONCE_INIT, ""};

static void dl_load(struct dl_lib *l)
{
        /* never closed: the process may use it until it ends */
        void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
        const char *e;

        if (!h) {
                e = dlerror();
                snprintf(l->error, sizeof(l->error), "%s", e ? e : "dlopen failed");
                return;
        }
        for (size_t i = 0; i < l->n; i++) {
                void *f = dlsym(h, l->names[i]);
                if (!f) {
                        e = dlerror();
                        snprintf(l->error, sizeof(l->error), "%s: %s", l->names[i],
                                 e ? e : "not found");
                        memset(l->table, 0, l->n * sizeof(void *));
                        return;
                }
                l->table[i] = f;
        }
}

static void curl_once(void)
{
        dl_load(&curl_lib);
}

static void yaml_once(void)
{
        dl_load(&yaml_lib);
}

static int dl_result(const struct dl_lib *l, podnet_error **err)
{
        if (!l->error[0])
                return 0;
        return pn_error_plain(err, ELIBACC, 0, "Loading %s (needed to talk to a Kubernetes API "
                              "server): %s", l->soname, l->error);
}

void pn_dl_test_sonames(const char *curl, const char *yaml)
{
        if (curl)
                curl_lib.soname = curl;
        if (yaml)
                yaml_lib.soname = yaml;
}

int pn_dl_curl_load(podnet_error **err)
{
        pthread_once(&curl_lib.once, curl_once);
        return dl_result(&curl_lib, err);
}

int pn_dl_yaml_load(podnet_error **err)
{
        pthread_once(&yaml_lib.once, yaml_once);
        return dl_result(&yaml_lib, err);
}

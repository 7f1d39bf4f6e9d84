/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to the Kubernetes client: libcurl and libyaml are loaded on first use (dl.c), so
 * that every other program linking libpodnet, and every podnet-routes command but the ones
 * that talk to an API server, does not load them and the thirty libraries libcurl brings
 * (OpenSSL, nghttp2, libssh2, LDAP, Kerberos...): 12 to 15 ms and 6 MB more per exec,
 * measured. Include after <curl/curl.h> (with CURL_DISABLE_TYPECHECK defined: its checks
 * are macros over the names redefined here) or <yaml.h>; calls then go through the table.
 */
#ifndef PODNET_KUBE_DL_H
#define PODNET_KUBE_DL_H

#include "core/internal.h"

#ifdef CURLINC_CURL_H
struct pn_dl_curl {
        CURLcode (*global_init)(long);
        CURL *(*easy_init)(void);
        void (*easy_cleanup)(CURL *);
        CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
        CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
        const char *(*easy_strerror)(CURLcode);
        CURLM *(*multi_init)(void);
        CURLMcode (*multi_cleanup)(CURLM *);
        CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
        CURLMcode (*multi_add_handle)(CURLM *, CURL *);
        CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
        CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
        CURLMsg *(*multi_info_read)(CURLM *, int *);
        struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
        void (*slist_free_all)(struct curl_slist *);
};
extern struct pn_dl_curl pn_dl_curl;
/* curl.h makes these three function-like macros that only check the argument count */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init pn_dl_curl.global_init
#define curl_easy_init pn_dl_curl.easy_init
#define curl_easy_cleanup pn_dl_curl.easy_cleanup
#define curl_easy_setopt pn_dl_curl.easy_setopt
#define curl_easy_getinfo pn_dl_curl.easy_getinfo
#define curl_easy_strerror pn_dl_curl.easy_strerror
#define curl_multi_init pn_dl_curl.multi_init
#define curl_multi_cleanup pn_dl_curl.multi_cleanup
#define curl_multi_setopt pn_dl_curl.multi_setopt
#define curl_multi_add_handle pn_dl_curl.multi_add_handle
#define curl_multi_remove_handle pn_dl_curl.multi_remove_handle
#define curl_multi_socket_action pn_dl_curl.multi_socket_action
#define curl_multi_info_read pn_dl_curl.multi_info_read
#define curl_slist_append pn_dl_curl.slist_append
#define curl_slist_free_all pn_dl_curl.slist_free_all
#endif

#ifdef YAML_H
struct pn_dl_yaml {
        int (*parser_initialize)(yaml_parser_t *);
        void (*parser_delete)(yaml_parser_t *);
        void (*parser_set_input_file)(yaml_parser_t *, FILE *);
        int (*parser_load)(yaml_parser_t *, yaml_document_t *);
        void (*document_delete)(yaml_document_t *);
        yaml_node_t *(*document_get_node)(yaml_document_t *, int);
        yaml_node_t *(*document_get_root_node)(yaml_document_t *);
};
extern struct pn_dl_yaml pn_dl_yaml;
#define yaml_parser_initialize pn_dl_yaml.parser_initialize
#define yaml_parser_delete pn_dl_yaml.parser_delete
#define yaml_parser_set_input_file pn_dl_yaml.parser_set_input_file
#define yaml_parser_load pn_dl_yaml.parser_load
#define yaml_document_delete pn_dl_yaml.document_delete
#define yaml_document_get_node pn_dl_yaml.document_get_node
#define yaml_document_get_root_node pn_dl_yaml.document_get_root_node
#endif

/* Loads libcurl (libcurl.so.4) or libyaml (libyaml-0.so.2) once per process and fills its
 * table. 0, or -ELIBACC with a message naming the library and dlerror()'s reason. */
int pn_dl_curl_load(podnet_error **err);
int pn_dl_yaml_load(podnet_error **err);
/* For tests only, before the first load: other sonames to load instead (NULL: keep), so
 * that a missing library's error can be provoked. */
void pn_dl_test_sonames(const char *curl, const char *yaml);

#endif

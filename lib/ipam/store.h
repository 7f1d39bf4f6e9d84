/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to lib/ipam/: the allocator object's layout, the types and names its files
 * share, and the functions one file of the store offers the others.
 */
#ifndef PODNET_IPAM_STORE_H
#define PODNET_IPAM_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/cidr.h"
#include "ipam/ipam.h"

/* A lease file holds "<id>\r\n<ifname>" (or "<id>" from old host-local versions);
 * this bounds what is worth reading. */
#define LEASE_READ_MAX (PN_IPAM_ID_MAX + 64)

struct ipam_range {
        podnet_cidr subnet; /* network address */
        podnet_cidr start, end, gw;
};

struct ipam_set {
        struct ipam_range *ranges;
        size_t n;
};

struct podnet_ipam {
        int n_ref;
        podnet_ctx *ctx;
        char *data_dir;
        char *network;
        char *dir; /* data_dir/network */
        int dir_fd;
        int lock_fd;
        bool user_locked;
        struct ipam_set *sets;
        unsigned n_sets;

        char *boot_id_path; /* NULL: the kernel's */
        bool boot_id_loaded;
        char boot_id[64]; /* "" if unknown */

        unsigned long n_opened; /* files this object tried to open (pn_ipam_files_opened) */
        bool force_hash;        /* tests: every attachment hashes to forced_hash */
        uint64_t forced_hash;
};

#define TMP_NAME "write.tmp"
#define TMP_PATH PN_IPAM_BOOT_DIR "/" TMP_NAME
#define OLD_INDEX_TMP_NAME "index.tmp" /* what podnet 0.1.0 used for index entries */
#define INDEX_MAGIC "podnet-index 1"
#define INDEX_PREFIX "attach-"
#define INDEX_READ_MAX 8192
#define INDEX_NAME_MAX (sizeof(PN_IPAM_BOOT_DIR) + sizeof(INDEX_PREFIX) + 16 + 16)

enum lease_match {
        MATCH_NONE,
        MATCH_OLD, /* content is the container id alone (host-local before CNI 0.7) */
        MATCH_NEW, /* "<id>\r\n<ifname>" */
};

struct lease {
        char name[PN_ADDR_STRLEN];
        podnet_cidr ip;
        enum lease_match match;
};

struct lease_list {
        struct lease *v;
        size_t n, cap;
};

/* Where an attachment's entry is (found) or would go (the free slot ending its chain). */
struct index_ref {
        uint64_t hash;
        unsigned slot;
        bool found;
        size_t n_listed;
};

/* host-local's RangeIter: round-robin from last_reserved_ip.<set> + 1 through the
 * set's ranges in order, back to where it started. */
struct range_iter {
        const struct ipam_set *set;
        size_t idx;
        pn_addr128 cur, start;
        bool has_cur, has_start;
};

/* Called for each lease file with its trimmed content; returns a match kind to
 * collect it, MATCH_NONE to skip. */
typedef enum lease_match (*lease_filter)(const podnet_cidr *ip, const char *content, size_t len,
                                         void *userdata);

/* file primitives (files.c) */
const char *pn_ipam_trim(const char *s, size_t *len);
int pn_ipam_openat(podnet_ipam *ipam, int dir_fd, const char *name, int flags, mode_t mode);
ssize_t pn_ipam_read_small(podnet_ipam *ipam, int dir_fd, const char *name, char *buf, size_t size);
const char *pn_ipam_read_trimmed(podnet_ipam *ipam, const char *name, char *buf, size_t size,
                                 size_t *len);
int pn_ipam_put_file(podnet_ipam *ipam, const char *name, const char *text, bool replace);
int pn_ipam_replace_file(podnet_ipam *ipam, const char *name, const char *text);
void pn_ipam_remove_tmp(podnet_ipam *ipam);
int pn_ipam_mkdir_parents(const char *path);

/* lease files (leases.c) */
void pn_ipam_lease_name(const podnet_cidr *ip, char buf[PN_ADDR_STRLEN]);
bool pn_ipam_parse_lease_name(const char *name, podnet_cidr *ip);
enum lease_match pn_ipam_lease_matches(const char *content, size_t len, const char *id,
                                       const char *ifname);
int pn_ipam_lease_list_add(struct lease_list *l, const char *name, const podnet_cidr *ip,
                           enum lease_match m);
int pn_ipam_scan_leases(podnet_ipam *ipam, lease_filter filter, void *userdata,
                        struct lease_list *out, podnet_error **err);
int pn_ipam_remove_leases(podnet_ipam *ipam, const struct lease_list *l, enum lease_match only,
                          podnet_error **err);
int pn_ipam_find_attachment(podnet_ipam *ipam, const char *id, const char *ifname,
                            struct index_ref *ref, struct lease_list *l, struct lease_list *unheld,
                            podnet_error **err);

/* boot-id records (boot.c) */
void pn_ipam_remove_sidecar(podnet_ipam *ipam, const char *lease);
int pn_ipam_write_sidecar(podnet_ipam *ipam, const char *lease, const char *id, const char *ifname);
bool pn_ipam_sidecar_field(const char *text, const char *key, char *buf, size_t size);
void pn_ipam_remove_sidecar_of(podnet_ipam *ipam, const char *lease, const char *id,
                               const char *ifname);
bool pn_ipam_lease_is_stale(podnet_ipam *ipam, const char *name, char *holder, size_t holder_size);

/* range sets (ranges.c) */
const struct ipam_range *pn_ipam_set_range_for(const struct ipam_set *s, const podnet_cidr *ip);
const char *pn_ipam_set_string(const struct ipam_set *s, char *buf, size_t size);
void pn_ipam_iter_init(struct range_iter *it, podnet_ipam *ipam, unsigned set);
bool pn_ipam_iter_skip(const struct ipam_range *r, pn_addr128 v);
bool pn_ipam_iter_next(struct range_iter *it, podnet_cidr *ip, const struct ipam_range **range);
const struct ipam_range *pn_ipam_subnet_of(const podnet_ipam *ipam, const podnet_cidr *ip,
                                           unsigned *set);
unsigned pn_ipam_lease_order(const podnet_ipam *ipam, const podnet_cidr *ip);

/* the attachment index (index.c) */
void pn_ipam_index_name(uint64_t hash, unsigned slot, char buf[INDEX_NAME_MAX]);
bool pn_ipam_index_parse(const char *text, char id[PN_IPAM_ID_MAX + 1], char ifname[32]);
int pn_ipam_index_verify(podnet_ipam *ipam, const char *text, const char *id, const char *ifname,
                         struct lease_list *out, struct lease_list *unheld, size_t *n_listed);
int pn_ipam_index_find(podnet_ipam *ipam, const char *id, const char *ifname, struct index_ref *ref,
                       struct lease_list *held, struct lease_list *unheld);
int pn_ipam_index_remove(podnet_ipam *ipam, uint64_t hash, unsigned slot);
int pn_ipam_index_store(podnet_ipam *ipam, const struct index_ref *ref, const char *id,
                        const char *ifname, const struct lease_list *leases);

/* the store object and its lock (store.c) */
int pn_ipam_check_attachment(const char *id, const char *ifname, podnet_error **err);
int pn_ipam_begin_op(podnet_ipam *ipam, bool create, podnet_error **err);
void pn_ipam_end_op(podnet_ipam *ipam, int taken);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to libpodnet: what lib/cni/ and the tests use of the IPAM family beyond the
 * public API: the host-local compatible store's on-disk names, the allocation ADD uses
 * (it reports what the attachment held before), and test hooks.
 */
#ifndef PODNET_IPAM_H
#define PODNET_IPAM_H

#include <stdbool.h>
#include <stdint.h>

#include "podnet/podnet.h"

#define PN_IPAM_DEFAULT_DATA_DIR "/var/lib/cni/networks"
#define PN_IPAM_LOCK_FILE "lock"
#define PN_IPAM_LAST_IP_PREFIX "last_reserved_ip."
#define PN_IPAM_LINE_BREAK "\r\n"
/* Sidecar directory inside `<dataDir>/<network>/`: one file per lease, same name,
 * recording the boot the lease was made in (see podnet_ipam_open(3)). */
#define PN_IPAM_BOOT_DIR ".podnet-boot"
#define PN_IPAM_BOOT_ID_FILE "/proc/sys/kernel/random/boot_id"

/* Longest container id accepted (bytes). */
#define PN_IPAM_ID_MAX 1024

/* podnet_ipam_allocate(), also setting *n_held (if not NULL) to what pn_ipam_held()
 * would have returned just before: ADD learns whether the attachment held anything
 * from the one index read the allocation makes anyway. *n_held is left alone when the
 * call fails before reading the index. */
int pn_ipam_allocate(podnet_ipam *ipam, unsigned set, const char *container_id, const char *ifname,
                     const podnet_cidr *requested, podnet_cidr **ret_addr, podnet_cidr **ret_gw,
                     int *n_held, podnet_error **err);

/* For tests: the number of leases the attachment's index entry lists and that still
 * hold it, found without scanning the directory (so leases host-local wrote for the
 * attachment are not counted). */
int pn_ipam_held(podnet_ipam *ipam, const char *container_id, const char *ifname,
                 podnet_error **err);

/* FNV-1a (64 bit) of "<id>\n<ifname>": the index entry is
 * `.podnet-boot/attach-<16 hex digits>` (see podnet_ipam_open(3)). */
uint64_t pn_ipam_index_hash(const char *id, const char *ifname);

/* For tests: make every attachment hash to `hash` (force) to exercise collisions. */
int pn_ipam_set_index_hash(podnet_ipam *ipam, bool force, uint64_t hash);

/* For tests: how many files (or directories) this object has tried to open. */
unsigned long pn_ipam_files_opened(const podnet_ipam *ipam);

/* For tests: read the boot id from `boot_id_path` (NULL: the kernel's). Forgets
 * what was read before. */
int pn_ipam_set_boot_source(podnet_ipam *ipam, const char *boot_id_path);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private: what the CNI verbs need from the result module beyond the public API.
 */
#ifndef PODNET_CNI_PLUGIN_H
#define PODNET_CNI_PLUGIN_H

#include "core/internal.h"

/* Points IP i of res at interface index iface (IPAM results carry none). */
int pn_cni_result_set_ip_interface(podnet_cni_result *res, size_t i, int iface);

#endif

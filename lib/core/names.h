/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names from input, checked once for every layer: interface names (the kernel's rules
 * plus what a caller must not pass) and the identifiers libcni allows for container
 * ids and network names. The checks say why a name is refused; callers word the error.
 */
#ifndef PODNET_NAMES_H
#define PODNET_NAMES_H

#include <stdbool.h>

/* NULL if name may name a network interface: 1..15 bytes, not "." or "..", no '/',
 * ':', '%' or white space. Else why not, e.g. "it is longer than 15 bytes". */
const char *pn_ifname_invalid(const char *name);

static inline bool pn_ifname_valid(const char *name)
{
        return !pn_ifname_invalid(name);
}

/* libcni's ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ (container ids, network names). */
bool pn_id_valid(const char *s);

#endif

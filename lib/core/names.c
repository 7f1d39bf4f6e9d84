/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Name checks shared by every layer: interface names and libcni's identifiers (see
 * names.h). The only copy of these rules; the CNI layer adds its error codes on top.
 */
#include <net/if.h>

#include "core/internal.h"
#include "core/names.h"

const char *pn_ifname_invalid(const char *name)
{
        if (isempty(name))
                return "it is empty";
        if (strlen(name) >= IFNAMSIZ)
                return "it is longer than 15 bytes";
        if (streq(name, ".") || streq(name, ".."))
                return "it is . or ..";
        for (const char *p = name; *p; p++) {
                if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r'))
                        return "it holds '/', ':' or white space";
                /* The kernel takes "%d" for a template and picks a free name: a new link
                 * per call, never the one named. */
                if (*p == '%')
                        return "it holds '%', which the kernel reads as a name template";
        }
        return NULL;
}

static bool id_char(char c, bool first)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return !first && (c == '_' || c == '.' || c == '-');
}

bool pn_id_valid(const char *s)
{
        if (isempty(s))
                return false;
        for (size_t i = 0; s[i]; i++)
                if (!id_char(s[i], i == 0))
                        return false;
        return true;
}

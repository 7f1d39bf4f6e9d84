/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UTF-8 validation (RFC 3629), shared by the JSON reader (strings of a node list) and the
 * CNI side (text it puts into JSON answers).
 */
#include "core/utf8.h"

size_t pn_utf8_char(const unsigned char *p, const unsigned char *end)
{
        unsigned c = p[0], lo = 0x80, hi = 0xbf;
        size_t n;

        if (c < 0x80)
                return 1;
        if (c < 0xc2 || c > 0xf4) /* continuation bytes, overlong 2-byte leads, past U+10FFFF */
                return 0;
        n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if ((size_t)(end - p) < n)
                return 0;
        if (c == 0xe0)
                lo = 0xa0; /* overlong */
        else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        else if (c == 0xf0)
                lo = 0x90; /* overlong */
        else if (c == 0xf4)
                hi = 0x8f; /* above U+10FFFF */
        if (p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                        return 0;
        return n;
}

size_t pn_utf8_valid_prefix(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s, *end = p + len;
        size_t n;

        while (p < end && (n = pn_utf8_char(p, end)) > 0)
                p += n;
        return (size_t)(p - (const unsigned char *)s);
}

void pn_utf8_sanitize(char *s, size_t len)
{
        unsigned char *p = (unsigned char *)s, *end = p + len;

        while (p < end) {
                size_t n = pn_utf8_char(p, end);
                if (n == 0)
                        *p++ = '?';
                else
                        p += n;
        }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UTF-8 validation: the one definition of well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) that the JSON reader and the CNI JSON writer share.
 */
#ifndef PODNET_CORE_UTF8_H
#define PODNET_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the well-formed character at p (p < end): 1 for an ASCII byte, 2 to 4 for a
 * multi-byte sequence that fits before end, 0 if the bytes at p are not one. */
size_t pn_utf8_char(const unsigned char *p, const unsigned char *end);

/* Offset of the first byte of s[0..len) that does not start a well-formed character; len
 * if the whole text is valid. */
size_t pn_utf8_valid_prefix(const char *s, size_t len);

/* Replaces each byte that does not start a well-formed character with '?', in place. */
void pn_utf8_sanitize(char *s, size_t len);

#endif

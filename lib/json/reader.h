/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The streaming JSON reader: a pull API that hands out one token at a time (begin/end of an
 * object or array, key, string, number, true, false, null) from a whole buffer or from
 * input fed in chunks, checking the document as strictly as jansson's json_loadb() with
 * JSON_REJECT_DUPLICATES. See lib/json/README.md for the design and the measurements.
 */
#ifndef PODNET_JSON_READER_H
#define PODNET_JSON_READER_H

#include <stdbool.h>
#include <stddef.h>

/* jansson's JSON_PARSER_MAX_DEPTH: every value counts a level, scalars included. */
#define PN_JSON_MAX_DEPTH 2048

enum pn_jtok {
        PN_JTOK_END = 0, /* the document is complete (nothing but whitespace follows) */
        PN_JTOK_BEGIN_OBJECT,
        PN_JTOK_END_OBJECT,
        PN_JTOK_BEGIN_ARRAY,
        PN_JTOK_END_ARRAY,
        PN_JTOK_KEY, /* an object member's key; its value is the next token */
        PN_JTOK_STRING,
        PN_JTOK_NUMBER,
        PN_JTOK_TRUE,
        PN_JTOK_FALSE,
        PN_JTOK_NULL,
};

typedef struct pn_jreader pn_jreader;

/* A reader with no input yet. 0 or -ENOMEM. */
int pn_jreader_new(pn_jreader **ret);
pn_jreader *pn_jreader_free(pn_jreader *jr);

/* Buffer mode: the whole document is text[0..len); the reader reads it in place (no copy)
 * and text must outlive the reader's use of it. Equivalent to one pn_jreader_feed() with
 * last set, without the copy. Call once, before the first pn_jreader_next(). */
void pn_jreader_set_buffer(pn_jreader *jr, const char *text, size_t len);

/* Stream mode: appends a chunk (copied); `last` says no more input follows. A token cut by
 * the end of a chunk is read again from its start once more input arrives: while more may
 * come, pn_jreader_next() and pn_jreader_skip() return -EAGAIN instead of a partial token.
 * Returns 0, -ENOMEM, or -EINVAL after last was given. */
int pn_jreader_feed(pn_jreader *jr, const char *chunk, size_t len, bool last);

/* The next token (> 0), PN_JTOK_END once the document is complete, -EAGAIN if the input
 * fed so far ends inside a token (stream mode), -EINVAL if the document is not valid JSON
 * (pn_jreader_error() says why and where; every later call fails the same way), or
 * -ENOMEM. */
int pn_jreader_next(pn_jreader *jr);

/* The text of the last token: the decoded text of a KEY or STRING (no NUL inside: \u0000
 * is rejected), the text of a NUMBER as written. Not NUL-terminated; valid until the next
 * call on the reader. NULL (and *len 0) for other tokens, or -ENOMEM while decoding. */
const char *pn_jreader_text(pn_jreader *jr, size_t *len);

/* Whether the last KEY or STRING token holds escapes (its text then costs a decode). */
bool pn_jreader_escaped(const pn_jreader *jr);

/* Passes over the value the last token began: after BEGIN_OBJECT or BEGIN_ARRAY, everything
 * up to and including the matching END; after a KEY, the member's value; after a scalar,
 * nothing. The skipped part is checked as strictly as the rest. 0, or -EAGAIN (call again
 * after feeding more; until the skip ends pn_jreader_next() returns -EBUSY), -EINVAL,
 * -ENOMEM. */
int pn_jreader_skip(pn_jreader *jr);

/* Containers open around the next token (0 at the top level). */
size_t pn_jreader_depth(const pn_jreader *jr);

/* The path of the last token, such as `items[3].metadata.name` (keys as decoded, written
 * with '.' before each and [i] for array elements); *buf is NUL-terminated and truncated to
 * size. Returns the length the full path has, like snprintf. */
size_t pn_jreader_path(const pn_jreader *jr, char *buf, size_t size);

/* After -EINVAL: what is wrong ("invalid escape", "premature end of input", ...) and the
 * byte offset from the start of the document where it was found. NULL if no error. */
const char *pn_jreader_error(const pn_jreader *jr, size_t *offset);

#endif

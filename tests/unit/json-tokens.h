/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For the JSON reader's tests: a document's tokens as one line of text ("{ k:a n:1 }", or
 * "... ERR:msg@offset"), read from a buffer or fed in chunks, so that two ways of reading
 * can be compared with one strcmp. */
#ifndef PODNET_TESTS_JSON_TOKENS_H
#define PODNET_TESTS_JSON_TOKENS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/reader.h"
#include "strbuf.h"

/* Appends the last token (r from pn_jreader_next). */
static void tb_token(struct sbuf *b, pn_jreader *jr, int r)
{
        static const char *const names[] = {
            [PN_JTOK_BEGIN_OBJECT] = "{", [PN_JTOK_END_OBJECT] = "}", [PN_JTOK_BEGIN_ARRAY] = "[",
            [PN_JTOK_END_ARRAY] = "]",    [PN_JTOK_KEY] = "k:",       [PN_JTOK_STRING] = "s:",
            [PN_JTOK_NUMBER] = "n:",      [PN_JTOK_TRUE] = "t",       [PN_JTOK_FALSE] = "f",
            [PN_JTOK_NULL] = "z",
        };
        const char *text;
        size_t len;

        if (b->len)
                sb_puts(b, " ");
        sb_puts(b, names[r]);
        text = pn_jreader_text(jr, &len);
        if (text)
                sb_add(b, text, len);
}

static void tb_error(struct sbuf *b, pn_jreader *jr, int r)
{
        char e[128];
        size_t off = 0;
        const char *msg = pn_jreader_error(jr, &off);

        snprintf(e, sizeof(e), "%sERR:%s@%zu", b->len ? " " : "", msg ? msg : strerror(-r), off);
        sb_puts(b, e);
}

/* The tokens of text[0..len) fed in chunks of `chunk` bytes (0: set as one buffer); with
 * skip_objects, the values of keys named "skip" are skipped, not listed. The caller frees. */
static char *read_tokens(const char *text, size_t len, size_t chunk, bool skip_objects)
{
        struct sbuf b = {0};
        size_t fed = 0;
        pn_jreader *jr;
        int r;

        if (pn_jreader_new(&jr) < 0)
                abort();
        if (!chunk)
                pn_jreader_set_buffer(jr, text, len);
        sb_puts(&b, "");
        for (;;) {
                bool skipping = false;

                r = pn_jreader_next(jr);
                if (r == PN_JTOK_KEY && skip_objects) {
                        size_t klen;
                        const char *k = pn_jreader_text(jr, &klen);
                        skipping = klen == 4 && memcmp(k, "skip", 4) == 0;
                }
                if (skipping) {
                        tb_token(&b, jr, r);
                        sb_puts(&b, " ~");
                        while ((r = pn_jreader_skip(jr)) == -EAGAIN) {
                                size_t n = len - fed < chunk ? len - fed : chunk;
                                if (pn_jreader_feed(jr, text + fed, n, fed + n == len) < 0)
                                        abort();
                                fed += n;
                        }
                        if (r < 0)
                                break;
                        continue;
                }
                if (r == -EAGAIN && chunk) {
                        size_t n = len - fed < chunk ? len - fed : chunk;
                        if (pn_jreader_feed(jr, text + fed, n, fed + n == len) < 0)
                                abort();
                        fed += n;
                        continue;
                }
                if (r <= 0)
                        break;
                tb_token(&b, jr, r);
        }
        if (r < 0)
                tb_error(&b, jr, r);
        pn_jreader_free(jr);
        return b.s;
}

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JSON reader fuzzed on its own, deterministically (a fixed seed): random documents
 * (nesting, escapes, surrogates, Unicode, big and odd numbers, repeated keys) and thousands
 * of mutations of them must be accepted or refused as jansson's json_loadb() with
 * JSON_REJECT_DUPLICATES does; a valid one must give the values jansson builds; and every
 * document must read the same (tokens, or error message and offset) from a buffer, fed in
 * random chunks, and with values skipped. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "json-tokens.h"
#include "tap.h"
#include "json/reader.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

static unsigned pick(unsigned n)
{
        return (unsigned)(rnd() % n);
}

static void ws(struct sbuf *b)
{
        static const char *const spaces[] = {"", "", "", " ", "\n", "\t", "\r\n", "        "};

        sb_puts(b, spaces[pick(8)]);
}

static void random_string(struct sbuf *b)
{
        static const char *const pieces[] = {
            "a",
            "metadata",
            "name",
            "skip",
            "k",
            "\\n",
            "\\\"",
            "\\\\",
            "\\/",
            "\\u0041",
            "\\u00e9",
            "\\u20ac",
            "\\ud83d\\ude00",
            "\\uDBFF\\uDFFF",
            "\xc3\xa9",
            "\xe2\x82\xac",
            "\xf0\x9f\x98\x80",
            " ",
            "0123456789abcdef",
            "\\t\\b\\f\\r",
        };
        unsigned n = pick(4);

        sb_puts(b, "\"");
        for (unsigned i = 0; i < n; i++)
                sb_puts(b, pieces[pick(sizeof(pieces) / sizeof(pieces[0]))]);
        sb_puts(b, "\"");
}

static void random_value(struct sbuf *b, int depth)
{
        static const char *const scalars[] = {
            "0",
            "-0",
            "1",
            "-17",
            "3.25",
            "-1.5e-3",
            "6.02E23",
            "1e308",
            "1e-400",
            "9223372036854775807",
            "-9223372036854775808",
            "true",
            "false",
            "null",
            "12345678901234567",
            "0.000001",
        };
        unsigned k = depth > 6 ? pick(2) : pick(6);

        ws(b);
        if (k == 0) {
                sb_puts(b, scalars[pick(sizeof(scalars) / sizeof(scalars[0]))]);
        } else if (k == 1) {
                random_string(b);
        } else if (k < 4) {
                unsigned n = pick(5);
                sb_puts(b, "[");
                for (unsigned i = 0; i < n; i++) {
                        if (i)
                                sb_puts(b, ",");
                        random_value(b, depth + 1);
                }
                ws(b);
                sb_puts(b, "]");
        } else {
                unsigned n = pick(6);
                sb_puts(b, "{");
                for (unsigned i = 0; i < n; i++) {
                        if (i)
                                sb_puts(b, ",");
                        ws(b);
                        random_string(b); /* keys repeat now and then: a duplicate */
                        ws(b);
                        sb_puts(b, ":");
                        random_value(b, depth + 1);
                }
                ws(b);
                sb_puts(b, "}");
        }
        ws(b);
}

static const char *const snippets[] = {
    "{",        "}",        "[",
    "]",        ",",        ":",
    "\"",       "\\",       "\\u",
    "\\ud800",  "\\udc00",  "\\u0000",
    "1e999",    "-",        ".",
    "e",        "tru",      "nul",
    "\xff",     "\xc3",     "\xed\xa0\x80",
    "\x01",     "\n",       "99999999999999999999",
    "\"k\":1,", ",\"k\":2",
};

/* The document with one random change: a byte deleted, replaced or a snippet inserted. */
static char *mutate(const char *doc, size_t len, size_t *out_len)
{
        struct sbuf b = {0};
        size_t at = len ? pick((unsigned)len) : 0;
        unsigned how = pick(3);

        sb_add(&b, doc, at);
        sb_puts(&b, "");
        if (how == 0 && at < len) {
                at++;
        } else if (how == 1 && at < len) {
                char c = (char)pick(256);
                sb_add(&b, c ? &c : " ", 1);
                at++;
        } else {
                sb_puts(&b, snippets[pick(sizeof(snippets) / sizeof(snippets[0]))]);
        }
        sb_add(&b, doc + at, len - at);
        *out_len = b.len;
        return b.s;
}

/* --- our values as a jansson tree, to compare with jansson's own ------------------------- */

static json_t *build(pn_jreader *jr, int tok)
{
        const char *text;
        size_t len;
        json_t *v;
        int r;

        switch (tok) {
        case PN_JTOK_BEGIN_OBJECT:
                v = json_object();
                while ((r = pn_jreader_next(jr)) == PN_JTOK_KEY) {
                        char *key;
                        text = pn_jreader_text(jr, &len);
                        key = strndup(text, len);
                        json_object_set_new(v, key, build(jr, pn_jreader_next(jr)));
                        free(key);
                }
                return v;
        case PN_JTOK_BEGIN_ARRAY:
                v = json_array();
                while ((r = pn_jreader_next(jr)) > 0 && r != PN_JTOK_END_ARRAY)
                        json_array_append_new(v, build(jr, r));
                return v;
        case PN_JTOK_STRING:
                text = pn_jreader_text(jr, &len);
                return json_stringn(text, len);
        case PN_JTOK_NUMBER: {
                char *s;
                text = pn_jreader_text(jr, &len);
                s = strndup(text, len);
                v = strpbrk(s, ".eE") ? json_real(strtod(s, NULL))
                                      : json_integer(strtoll(s, NULL, 10));
                free(s);
                return v;
        }
        case PN_JTOK_TRUE:
                return json_true();
        case PN_JTOK_FALSE:
                return json_false();
        case PN_JTOK_NULL:
                return json_null();
        default:
                return NULL;
        }
}

struct tally {
        unsigned docs, valid, mismatches;
};

static void check(struct tally *t, const char *doc, size_t len)
{
        json_error_t jerr;
        json_t *ref = json_loadb(doc, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        char *whole = read_tokens(doc, len, 0, false);
        char *chunked = read_tokens(doc, len, 1 + pick(40), false);
        char *skipped = read_tokens(doc, len, pick(2) ? 0 : 1 + pick(40), true);
        bool ours_ok = !strstr(whole, "ERR:"), same = true;
        char why[160] = "";

        t->docs++;
        if (ours_ok != (ref != NULL)) {
                snprintf(why, sizeof(why), "jansson %s (%.80s), ours %s",
                         ref ? "accepts" : "refuses", ref ? "" : jerr.text,
                         ours_ok ? "accepts" : "refuses");
                same = false;
        } else if (strcmp(whole, chunked) != 0) {
                snprintf(why, sizeof(why), "buffer and chunks differ");
                same = false;
        } else if (ours_ok != !strstr(skipped, "ERR:")) {
                snprintf(why, sizeof(why), "reading with skips %s", ours_ok ? "fails" : "passes");
                same = false;
        } else if (ref) {
                pn_jreader *jr;
                json_t *mine;

                pn_jreader_new(&jr);
                pn_jreader_set_buffer(jr, doc, len);
                mine = build(jr, pn_jreader_next(jr));
                if (!json_equal(mine, ref)) {
                        snprintf(why, sizeof(why), "values differ from jansson's");
                        same = false;
                }
                json_decref(mine);
                pn_jreader_free(jr);
                t->valid++;
        }
        if (!same && t->mismatches++ < 5)
                diag("%s: %.*s", why, (int)(len < 200 ? len : 200), doc);
        json_decref(ref);
        free(whole);
        free(chunked);
        free(skipped);
}

int main(void)
{
        struct tally gen = {0}, mut = {0};

        for (unsigned i = 0; i < 3000; i++) {
                struct sbuf b = {0};

                sb_puts(&b, "");
                random_value(&b, 0);
                check(&gen, b.s, b.len);
                for (unsigned m = 0; m < 4; m++) {
                        size_t len;
                        char *bad = mutate(b.s, b.len, &len);
                        check(&mut, bad, len);
                        free(bad);
                }
                free(b.s);
        }
        ok(gen.mismatches == 0, "%u generated documents (%u valid): %u differ", gen.docs, gen.valid,
           gen.mismatches);
        ok(gen.valid > gen.docs / 2, "most generated documents are valid (%u)", gen.valid);
        ok(mut.mismatches == 0, "%u mutated documents (%u still valid): %u differ", mut.docs,
           mut.valid, mut.mismatches);
        ok(mut.docs - mut.valid > mut.docs / 4, "many mutations are invalid (%u)",
           mut.docs - mut.valid);
        return done_testing();
}

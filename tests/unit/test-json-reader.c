/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JSON reader's pull API: tokens of valid documents, the errors of invalid ones (with
 * their byte offsets), escapes and surrogate pairs, big numbers, the nesting limit, skip,
 * paths, and the stream mode giving the same answers as the buffer mode at every chunk
 * size. */
#include <stdbool.h>

#include "json-tokens.h"
#include "tap.h"
#include "json/reader.h"

/* Reads doc as a buffer and fed in chunks of 1, 2, 3, 7 and 64 bytes: all must list want. */
static void expect(const char *doc, const char *want, const char *what)
{
        static const size_t chunks[] = {0, 1, 2, 3, 7, 64};
        bool same = true;

        for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
                char *got = read_tokens(doc, strlen(doc), chunks[i], false);
                if (strcmp(got, want) != 0) {
                        diag("%s: chunk %zu: got '%s'", what, chunks[i], got);
                        same = false;
                }
                free(got);
        }
        ok(same, "%s", what);
}

static void test_valid(void)
{
        expect("{\"a\": [1, -2.5e3, true, false, null, \"x\"], \"b\": {}, \"c\": []}",
               "{ k:a [ n:1 n:-2.5e3 t f z s:x ] k:b { } k:c [ ] }", "object with every kind");
        expect(" \t\r\n[ ] \n", "[ ]", "whitespace around the root");
        expect("\"top\"", "s:top", "a string at the top");
        expect("0", "n:0", "a number at the top");
        expect("-0.0e+0", "n:-0.0e+0", "a number with every part");
        expect("[[[[]]]]", "[ [ [ [ ] ] ] ]", "nested arrays");
        expect("{\"a\":{\"a\":{\"a\":1}}}", "{ k:a { k:a { k:a n:1 } } }",
               "one key in nested objects is no duplicate");
        expect("[{\"a\":1},{\"a\":2}]", "[ { k:a n:1 } { k:a n:2 } ]",
               "one key in sibling objects is no duplicate");
}

static void test_escapes(void)
{
        expect("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[ s:\"\\/\b\f\n\r\t ]", "short escapes");
        expect("[\"\\u0041\\u00e9\\u20AC\"]", "[ s:A\xc3\xa9\xe2\x82\xac ]",
               "\\u escapes of 1, 2 and 3 UTF-8 bytes");
        expect("[\"\\ud83d\\ude00\"]", "[ s:\xf0\x9f\x98\x80 ]", "a surrogate pair");
        expect("[\"\\uDBFF\\uDFFF\"]", "[ s:\xf4\x8f\xbf\xbf ]", "the last surrogate pair");
        expect("{\"\\u006b\":1}", "{ k:k n:1 }", "an escaped key is decoded");
        expect("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]",
               "[ s:\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ]", "raw UTF-8 of 2, 3 and 4 bytes");
        expect("[\"\\u0000\"]", "[ ERR:\\u0000 is not allowed@2", "\\u0000 is refused");
        expect("[\"\\ud800\"]", "[ ERR:invalid Unicode: lone high surrogate@2",
               "lone high surrogate");
        expect("[\"\\udc00\"]", "[ ERR:invalid Unicode: lone low surrogate@2",
               "lone low surrogate");
        expect("[\"\\ud800\\u0041\"]", "[ ERR:invalid Unicode: lone high surrogate@2",
               "high surrogate before a non-surrogate");
        expect("[\"\\u12G4\"]", "[ ERR:invalid escape@2", "bad hex digit");
        expect("[\"\\a\"]", "[ ERR:invalid escape@2", "unknown escape");
        expect("[\"a\tb\"]", "[ ERR:control character@3", "raw control character");
        expect("[\"\xc0\x80\"]", "[ ERR:invalid UTF-8@2", "overlong UTF-8");
        expect("[\"\xed\xa0\x80\"]", "[ ERR:invalid UTF-8@2", "UTF-8 of a surrogate");
        expect("[\"\xf4\x90\x80\x80\"]", "[ ERR:invalid UTF-8@2", "UTF-8 above U+10FFFF");
        expect("[\"\xe2\x82\"]", "[ ERR:invalid UTF-8@2", "truncated UTF-8");
}

static void test_numbers(void)
{
        expect("[9223372036854775807]", "[ n:9223372036854775807 ]", "largest integer");
        expect("[-9223372036854775808]", "[ n:-9223372036854775808 ]", "smallest integer");
        expect("[9223372036854775808]", "[ ERR:too big integer@1", "integer above long long");
        expect("[-9223372036854775809]", "[ ERR:too big integer@1", "integer below long long");
        expect("[123456789012345678901234567890]", "[ ERR:too big integer@1", "30-digit integer");
        expect("[1e308]", "[ n:1e308 ]", "a real near the limit");
        expect("[1.7976931348623157e308]", "[ n:1.7976931348623157e308 ]", "the largest double");
        expect("[1e309]", "[ ERR:real number overflow@1", "a real above the largest double");
        expect("[-1e400]", "[ ERR:real number overflow@1", "a negative real overflowing");
        expect("[1e-400]", "[ n:1e-400 ]", "an underflowing real is accepted");
        expect("[01]", "[ ERR:invalid token@1", "leading zero");
        expect("[1.]", "[ ERR:invalid token@1", "no digit after the point");
        expect("[1e]", "[ ERR:invalid token@1", "no digit in the exponent");
        expect("[-]", "[ ERR:invalid token@1", "a lone minus");
        expect("[+1]", "[ ERR:invalid token@1", "a plus sign");
}

static void test_invalid(void)
{
        expect("", "ERR:premature end of input@0", "empty input");
        expect("{\"a\":1} x", "{ k:a n:1 } ERR:end of file expected@8", "text after the root");
        expect("{\"a\" 1}", "{ k:a ERR:':' expected@5", "missing colon");
        expect("{\"a\":1,}", "{ k:a n:1 ERR:string expected@7", "comma before '}'");
        expect("[1,]", "[ n:1 ERR:invalid token@3", "comma before ']'");
        expect("[1 2]", "[ n:1 ERR:']' expected@3", "missing comma");
        expect("{1:2}", "{ ERR:string or '}' expected@1", "a number as key");
        expect("[tru]", "[ ERR:invalid token@1", "a cut literal");
        expect("[nul", "[ ERR:invalid token@1", "a literal cut by the end");
        expect("[\"abc", "[ ERR:premature end of input@5", "unterminated string");
        expect("{\"a\":[1,2", "{ k:a [ n:1 n:2 ERR:premature end of input@9", "unterminated array");
        expect("{\"a\":1,\"a\":2}", "{ k:a n:1 ERR:duplicate object key@7", "duplicate key");
        expect("{\"a\":1,\"\\u0061\":2}", "{ k:a n:1 ERR:duplicate object key@7",
               "duplicate key spelt with an escape");
        expect("\f[]", "ERR:invalid token@0", "form feed is not JSON whitespace");
}

/* A duplicate among many keys: found by the hash table objects switch to. */
static void test_many_keys(void)
{
        struct sbuf doc = {0};
        char key[32], *got;

        sb_puts(&doc, "{");
        for (int i = 0; i < 1000; i++) {
                snprintf(key, sizeof(key), "%s\"k%d\":%d", i ? "," : "", i, i);
                sb_puts(&doc, key);
        }
        sb_puts(&doc, "}");
        got = read_tokens(doc.s, doc.len, 0, false);
        ok(!strstr(got, "ERR"), "1000 distinct keys");
        free(got);
        doc.s[--doc.len] = 0;
        sb_puts(&doc, ",\"k\\u0037\\u00377\":0}");
        got = read_tokens(doc.s, doc.len, 0, false);
        ok(strstr(got, "ERR:duplicate object key") != NULL, "a duplicate of the 778th key of 1000");
        free(got);
        free(doc.s);
}

static char *nested(unsigned levels, const char *inner)
{
        struct sbuf b = {0};

        for (unsigned i = 0; i < levels; i++)
                sb_puts(&b, "[");
        sb_puts(&b, inner);
        for (unsigned i = 0; i < levels; i++)
                sb_puts(&b, "]");
        return b.s;
}

/* Every value counts a level, as in jansson: PN_JSON_MAX_DEPTH containers, or one less
 * around a scalar. */
static void test_depth(void)
{
        struct {
                unsigned levels;
                const char *inner;
                bool valid;
        } cases[] = {
            {PN_JSON_MAX_DEPTH, "", true},
            {PN_JSON_MAX_DEPTH + 1, "", false},
            {PN_JSON_MAX_DEPTH - 1, "1", true},
            {PN_JSON_MAX_DEPTH, "1", false},
            {100000, "", false},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *doc = nested(cases[i].levels, cases[i].inner);
                char *got = read_tokens(doc, strlen(doc), i == 1 ? 5 : 0, false);
                bool failed = strstr(got, "ERR:maximum parsing depth reached") != NULL;
                ok(failed == !cases[i].valid, "%u arrays around '%s': %s", cases[i].levels,
                   cases[i].inner, cases[i].valid ? "accepted" : "refused");
                free(got);
                free(doc);
        }
}

static void test_skip(void)
{
        static const char doc[] =
            "{\"a\":1,\"skip\":{\"x\":[1,{\"y\":\"\\u00e9\"}],\"z\":null},\"b\":[\"skip\"],"
            "\"c\":{\"skip\":[[]],\"d\":{\"skip\":7}}}";
        static const size_t chunks[] = {0, 1, 4, 1000};
        bool same = true;

        for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
                char *got = read_tokens(doc, strlen(doc), chunks[i], true);
                if (strcmp(
                        got,
                        "{ k:a n:1 k:skip ~ k:b [ s:skip ] k:c { k:skip ~ k:d { k:skip ~ } } }")) {
                        diag("chunk %zu: %s", chunks[i], got);
                        same = false;
                }
                free(got);
        }
        ok(same, "skip passes over a member's value, whole, in both modes");

        /* a skipped value is checked like the rest */
        {
                char *got = read_tokens("{\"skip\":{\"a\":1,\"a\":2}}", 22, 0, true);
                ok(strstr(got, "ERR:duplicate object key@15") != NULL,
                   "a duplicate key inside a skipped value is found");
                free(got);
        }

        /* after BEGIN_OBJECT: the rest of the object */
        {
                pn_jreader *jr;
                const char *text = "[{\"a\":[1,2],\"b\":{}},3]";
                size_t len;

                pn_jreader_new(&jr);
                pn_jreader_set_buffer(jr, text, strlen(text));
                is_int(pn_jreader_next(jr), PN_JTOK_BEGIN_ARRAY, "[");
                is_int(pn_jreader_next(jr), PN_JTOK_BEGIN_OBJECT, "{");
                is_int(pn_jreader_skip(jr), 0, "skip the object");
                is_int(pn_jreader_depth(jr), 1, "back inside the array");
                is_int(pn_jreader_next(jr), PN_JTOK_NUMBER, "the element after it");
                ok(memcmp(pn_jreader_text(jr, &len), "3", 1) == 0 && len == 1, "is 3");
                is_int(pn_jreader_skip(jr), 0, "skip after a scalar does nothing");
                is_int(pn_jreader_next(jr), PN_JTOK_END_ARRAY, "]");
                is_int(pn_jreader_next(jr), PN_JTOK_END, "end");
                is_int(pn_jreader_next(jr), PN_JTOK_END, "end again");
                pn_jreader_free(jr);
        }
}

static void test_path(void)
{
        const char *text = "{\"items\":[{\"a\":1},{\"metadata\":{\"name\":\"n\"}}]}";
        char path[64];
        pn_jreader *jr;
        int r;

        pn_jreader_new(&jr);
        pn_jreader_set_buffer(jr, text, strlen(text));
        while ((r = pn_jreader_next(jr)) > 0 && r != PN_JTOK_STRING)
                ;
        is_int(r, PN_JTOK_STRING, "reached the string");
        pn_jreader_path(jr, path, sizeof(path));
        is_str(path, "items[1].metadata.name", "its path");
        is_int(pn_jreader_depth(jr), 4, "four containers around it");
        is_int(pn_jreader_path(jr, path, 8), strlen("items[1].metadata.name"),
               "the full length when truncated");
        is_str(path, "items[1", "truncated path");
        pn_jreader_free(jr);
}

static void test_stream_api(void)
{
        pn_jreader *jr;
        size_t off;

        pn_jreader_new(&jr);
        is_int(pn_jreader_next(jr), -EAGAIN, "nothing fed: wait");
        is_int(pn_jreader_feed(jr, "{\"ke", 4, false), 0, "feed a cut key");
        is_int(pn_jreader_next(jr), PN_JTOK_BEGIN_OBJECT, "{");
        is_int(pn_jreader_next(jr), -EAGAIN, "the key is not whole yet");
        is_int(pn_jreader_feed(jr, "y\":12", 5, false), 0, "feed the rest of the key");
        is_int(pn_jreader_next(jr), PN_JTOK_KEY, "the key");
        is_int(pn_jreader_next(jr), -EAGAIN, "12 may go on");
        is_int(pn_jreader_feed(jr, "3}", 2, true), 0, "feed the last chunk");
        is_int(pn_jreader_next(jr), PN_JTOK_NUMBER, "the number");
        {
                size_t len;
                const char *t = pn_jreader_text(jr, &len);
                ok(len == 3 && memcmp(t, "123", 3) == 0, "is 123 across chunks");
        }
        is_int(pn_jreader_next(jr), PN_JTOK_END_OBJECT, "}");
        is_int(pn_jreader_next(jr), PN_JTOK_END, "end");
        is_int(pn_jreader_feed(jr, "x", 1, false), -EINVAL, "no feed after the last chunk");
        pn_jreader_free(jr);

        pn_jreader_new(&jr);
        pn_jreader_feed(jr, "[1,\n  ", 6, false);
        pn_jreader_next(jr);
        pn_jreader_next(jr);
        pn_jreader_feed(jr, "x]", 2, true);
        is_int(pn_jreader_next(jr), -EINVAL, "an error in a later chunk");
        ok(!strcmp(pn_jreader_error(jr, &off), "invalid token") && off == 6,
           "offset counts from the document's start (%zu)", off);
        is_int(pn_jreader_next(jr), -EINVAL, "and stays");
        pn_jreader_free(jr);
}

int main(void)
{
        test_valid();
        test_escapes();
        test_numbers();
        test_invalid();
        test_many_keys();
        test_depth();
        test_skip();
        test_path();
        test_stream_api();
        return done_testing();
}

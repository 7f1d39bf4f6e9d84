/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The streaming JSON reader (pull API, see reader.h): a state machine over the input that
 * hands out one token per call and keeps only what a strict check needs (the open
 * containers, and the keys of each open object for the duplicate check), never a tree.
 *
 * Checks, as json_loadb(..., JSON_REJECT_DUPLICATES) does: RFC 8259 syntax, UTF-8, \u
 * escapes and surrogate pairs, no \u0000, integers that fit in long long, finite reals,
 * nesting depth PN_JSON_MAX_DEPTH, no key twice in an object.
 *
 * One code path for both modes: every scanner stops at the end of the input it has; with
 * the last chunk that is "premature end of input", before it the call returns -EAGAIN and
 * the token is scanned again from its start once more input is fed.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "core/internal.h"
#include "json/reader.h"

#define LINEAR_KEYS 16 /* objects with more keys get a hash table for the duplicate check */

enum state {
        ST_VALUE,        /* a value: at the top, after ':' */
        ST_VALUE_OR_END, /* after '[' */
        ST_KEY_OR_END,   /* after '{' */
        ST_COLON,        /* after a key */
        ST_AFTER,        /* after a value: ',' or the container's end (at the top: the end) */
        ST_DONE,
        ST_ERROR,
};

struct key {
        uint64_t hash;   /* of the decoded key */
        size_t off, len; /* the decoded key: in arena, or (in_input) at s + off */
        bool in_input;
};

struct frame {
        bool array;
        size_t key_base;   /* the object's first key in keys */
        size_t arena_base; /* and where its keys' text starts in arena */
        size_t *table;     /* index + 1 into keys, 0: empty; NULL while small */
        size_t mask;
        size_t count; /* members or elements begun */
};

struct pn_jreader {
        const char *s, *p, *end; /* the input held; p: the next byte to read */
        size_t base_off;         /* offset in the document of s[0] */
        bool last;               /* no input follows what is held */
        bool fed;                /* stream mode: s is own */
        char *own;
        size_t own_cap;
        enum state st;
        struct frame *frames;
        size_t depth, cap_frames;
        struct key *keys;
        size_t n_keys, cap_keys;
        char *arena;
        size_t arena_len, arena_cap;
        /* the last token */
        int tok;
        const char *raw; /* its text in the input: between the quotes for a string */
        size_t raw_len;
        bool esc;
        char *scratch;
        size_t scratch_cap;
        /* a skip under way (it may span several feeds) */
        bool skipping;
        size_t skip_to;
        const char *err_msg;
        size_t err_off;
};

int pn_jreader_new(pn_jreader **ret)
{
        pn_jreader *jr = calloc(1, sizeof(*jr));

        if (!jr)
                return -ENOMEM;
        jr->s = jr->p = jr->end = "";
        *ret = jr;
        return 0;
}

pn_jreader *pn_jreader_free(pn_jreader *jr)
{
        if (!jr)
                return NULL;
        for (size_t i = 0; i < jr->depth; i++)
                free(jr->frames[i].table);
        free(jr->frames);
        free(jr->keys);
        free(jr->arena);
        free(jr->scratch);
        free(jr->own);
        free(jr);
        return NULL;
}

void pn_jreader_set_buffer(pn_jreader *jr, const char *text, size_t len)
{
        jr->s = jr->p = text ? text : "";
        jr->end = jr->s + len;
        jr->last = true;
}

int pn_jreader_feed(pn_jreader *jr, const char *chunk, size_t len, bool last)
{
        size_t keep = (size_t)(jr->end - jr->p);
        int r;

        if (jr->last)
                return -EINVAL;
        /* what was read is dropped: keys live in the arena, the last token's text is only
         * valid until this call */
        if (jr->fed && keep && jr->p != jr->own)
                memmove(jr->own, jr->p, keep);
        jr->base_off += (size_t)(jr->p - jr->s);
        r = pn_grow((void **)&jr->own, &jr->own_cap, keep + len + 1, 1);
        if (r < 0)
                return r;
        if (len)
                memcpy(jr->own + keep, chunk, len);
        jr->fed = true;
        jr->s = jr->p = jr->own;
        jr->end = jr->own + keep + len;
        jr->raw = NULL;
        jr->last = last;
        return 0;
}

static int fail(pn_jreader *jr, const char *at, const char *msg)
{
        if (jr->st != ST_ERROR) {
                jr->st = ST_ERROR;
                jr->err_msg = msg;
                jr->err_off = jr->base_off + (size_t)(at - jr->s);
        }
        return -EINVAL;
}

/* The input ends at `at` inside a token: an error for the last chunk, else wait. */
static int short_input(pn_jreader *jr, const char *at, const char *msg)
{
        return jr->last ? fail(jr, at, msg) : -EAGAIN;
}

const char *pn_jreader_error(const pn_jreader *jr, size_t *offset)
{
        if (jr->st != ST_ERROR)
                return NULL;
        if (offset)
                *offset = jr->err_off;
        return jr->err_msg;
}

static inline const char *skip_ws(const char *p, const char *end)
{
        const uint64_t spaces = 0x2020202020202020ULL; /* kubectl indents: long runs */
        uint64_t x;

        for (;;) {
                while (end - p >= 8 && (memcpy(&x, p, sizeof(x)), x == spaces))
                        p += 8;
                if (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
                        p++;
                else
                        return p;
        }
}

static int hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* The value of the \uXXXX escape at p (at the backslash); -1 if it is not one, -2 if the
 * input ends before it could be. */
static long u_escape(const unsigned char *p, const unsigned char *end)
{
        long v = 0;

        for (int i = 0; i < 6; i++) {
                if (p + i >= end)
                        return -2;
                if (i == 0 ? p[0] != '\\' : i == 1 ? p[1] != 'u' : hexval(p[i]) < 0)
                        return -1;
                if (i >= 2)
                        v = v << 4 | hexval(p[i]);
        }
        return v;
}

/* 1 for the bytes a string holds as they are: printable ASCII but '"' and '\\'. */
static const uint8_t str_plain[256] = {
    [0x20 ... 0x21] = 1, /* 0x22 '"' */
    [0x23 ... 0x5b] = 1, /* 0x5c '\\' */
    [0x5d ... 0x7f] = 1,
};

/* Whether all 8 bytes at p are str_plain ones (exact "has a byte below/equal" tests). */
static inline bool plain8(const unsigned char *p)
{
        const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        uint64_t x, q, b;

        memcpy(&x, p, sizeof(x));
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        return !((x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high);
}

/* Checks the string whose opening quote is at *pp and moves *pp past its closing quote;
 * the token's raw text is what lies between the quotes. */
static inline __attribute__((always_inline)) int scan_string(pn_jreader *jr, const char **pp)
{
        const unsigned char *p = (const unsigned char *)*pp + 1;
        const unsigned char *end = (const unsigned char *)jr->end;
        const unsigned char *start = p;
        bool e = false;

        for (;;) {
                unsigned c;

                while (end - p >= 8 && plain8(p))
                        p += 8;
                while (p < end && str_plain[*p])
                        p++;
                if (p >= end)
                        return short_input(jr, (const char *)p, "premature end of input");
                c = *p;
                if (c == '"')
                        break;
                if (c == '\\') {
                        e = true;
                        if (p + 1 >= end)
                                return short_input(jr, (const char *)p, "premature end of input");
                        c = p[1];
                        if (c == 'u') {
                                long v = u_escape(p, end), v2;
                                if (v == -2)
                                        return short_input(jr, (const char *)p, "invalid escape");
                                if (v < 0)
                                        return fail(jr, (const char *)p, "invalid escape");
                                if (v == 0)
                                        return fail(jr, (const char *)p, "\\u0000 is not allowed");
                                p += 6;
                                if (v >= 0xdc00 && v <= 0xdfff)
                                        return fail(jr, (const char *)p - 6,
                                                    "invalid Unicode: lone low surrogate");
                                if (v >= 0xd800 && v <= 0xdbff) {
                                        v2 = u_escape(p, end);
                                        if (v2 == -2)
                                                return short_input(jr, (const char *)p - 6,
                                                                   "invalid Unicode: lone high "
                                                                   "surrogate");
                                        if (v2 < 0xdc00 || v2 > 0xdfff)
                                                return fail(jr, (const char *)p - 6,
                                                            "invalid Unicode: lone high "
                                                            "surrogate");
                                        p += 6;
                                }
                        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' ||
                                   c == 'n' || c == 'r' || c == 't') {
                                p += 2;
                        } else {
                                return fail(jr, (const char *)p, "invalid escape");
                        }
                } else if (c < 0x20) {
                        return fail(jr, (const char *)p,
                                    c == '\n' ? "unexpected newline" : "control character");
                } else {
                        size_t n = pn_utf8_char(p, end);
                        /* a sequence cut by the end of a chunk may be whole with the next */
                        if (!n && !jr->last && (size_t)(end - p) < 4)
                                return -EAGAIN;
                        if (!n)
                                return fail(jr, (const char *)p, "invalid UTF-8");
                        p += n;
                }
        }
        jr->raw = (const char *)start;
        jr->raw_len = (size_t)(p - start);
        jr->esc = e;
        *pp = (const char *)p + 1;
        return 0;
}

/* Decodes a string scan_string accepted into dst (room for len bytes); returns its length. */
static size_t str_decode(const char *raw, size_t len, char *dst)
{
        const unsigned char *p = (const unsigned char *)raw, *end = p + len;
        char *d = dst;

        while (p < end) {
                const unsigned char *bs = memchr(p, '\\', (size_t)(end - p));
                size_t n = bs ? (size_t)(bs - p) : (size_t)(end - p);

                memcpy(d, p, n);
                d += n;
                p += n;
                if (!bs)
                        break;
                switch (p[1]) {
                case 'b':
                        *d++ = '\b';
                        break;
                case 'f':
                        *d++ = '\f';
                        break;
                case 'n':
                        *d++ = '\n';
                        break;
                case 'r':
                        *d++ = '\r';
                        break;
                case 't':
                        *d++ = '\t';
                        break;
                case 'u': {
                        long v = u_escape(p, end);
                        if (v >= 0xd800 && v <= 0xdbff) {
                                v = ((v - 0xd800) << 10) + (u_escape(p + 6, end) - 0xdc00) +
                                    0x10000;
                                p += 6;
                        }
                        if (v < 0x80) {
                                *d++ = (char)v;
                        } else if (v < 0x800) {
                                *d++ = (char)(0xc0 | v >> 6);
                                *d++ = (char)(0x80 | (v & 0x3f));
                        } else if (v < 0x10000) {
                                *d++ = (char)(0xe0 | v >> 12);
                                *d++ = (char)(0x80 | (v >> 6 & 0x3f));
                                *d++ = (char)(0x80 | (v & 0x3f));
                        } else {
                                *d++ = (char)(0xf0 | v >> 18);
                                *d++ = (char)(0x80 | (v >> 12 & 0x3f));
                                *d++ = (char)(0x80 | (v >> 6 & 0x3f));
                                *d++ = (char)(0x80 | (v & 0x3f));
                        }
                        p += 6;
                        continue;
                }
                default: /* '"', '\\', '/' */
                        *d++ = (char)p[1];
                        break;
                }
                p += 2;
        }
        return (size_t)(d - dst);
}

/* Whether a real with this text overflows a double (jansson rejects those). */
static bool real_overflows(const char *s, size_t len)
{
        const char *p = s, *end = s + len;
        long long ip = 0, lz = 0, e = 0, e10;
        bool nonzero = false, eneg = false;

        if (*p == '-')
                p++;
        for (; p < end && *p >= '0' && *p <= '9'; p++, ip++) {
                if (!nonzero && *p == '0')
                        lz++;
                else
                        nonzero = true;
        }
        if (p < end && *p == '.') {
                for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
                        if (!nonzero && *p == '0')
                                lz++;
                        else
                                nonzero = true;
                }
        }
        if (!nonzero)
                return false;
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                if (*p == '+' || *p == '-')
                        eneg = *p++ == '-';
                for (; p < end && *p >= '0' && *p <= '9'; p++)
                        if (e < 1000000000)
                                e = e * 10 + (*p - '0');
        }
        e10 = ip - lz - 1 + (eneg ? -e : e); /* the value is in [10^e10, 10^(e10 + 1)) */
        if (e10 < 308)
                return false;
        if (e10 > 308)
                return true;
        {
                char *copy = strndup(s, len);
                locale_t c_locale;
                double d;

                if (!copy)
                        return false;
                c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
                if (!c_locale) {
                        free(copy);
                        return false;
                }
                errno = 0;
                d = strtod_l(copy, NULL, c_locale);
                freelocale(c_locale);
                free(copy);
                return errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
        }
}

static inline bool is_digit(const char *p, const char *end)
{
        return p < end && *p >= '0' && *p <= '9';
}

/* The one or more digits a fraction or an exponent must have, from *pp on: *pp moves past
 * them. A number cut by the end of a chunk waits for more input; no digit is an error. */
static int digit_run(pn_jreader *jr, const char *start, const char **pp)
{
        const char *p = *pp;

        if (p >= jr->end)
                return short_input(jr, start, "invalid token");
        if (!is_digit(p, jr->end))
                return fail(jr, start, "invalid token");
        while (is_digit(p, jr->end))
                p++;
        *pp = p;
        return 0;
}

static int scan_number(pn_jreader *jr, const char **pp)
{
        const char *p = *pp, *start = p, *end = jr->end, *digits;
        bool real = false;
        int r;

        if (p < end && *p == '-')
                p++;
        digits = p;
        if (p >= end)
                return short_input(jr, start, "invalid token");
        if (*p == '0') {
                p++;
        } else if (*p >= '1' && *p <= '9') {
                while (is_digit(p, end))
                        p++;
        } else {
                return fail(jr, start, "invalid token");
        }
        if (is_digit(p, end))
                return fail(jr, start, "invalid token");
        if (p < end && *p == '.') {
                p++;
                real = true;
                r = digit_run(jr, start, &p);
                if (r < 0)
                        return r;
        }
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                real = true;
                if (p < end && (*p == '+' || *p == '-'))
                        p++;
                r = digit_run(jr, start, &p);
                if (r < 0)
                        return r;
        }
        if (p >= end && !jr->last)
                return -EAGAIN; /* more digits may follow */
        if (real) {
                if (real_overflows(start, (size_t)(p - start)))
                        return fail(jr, start, "real number overflow");
        } else if (p - digits > 19 ||
                   (p - digits == 19 &&
                    memcmp(digits, *start == '-' ? "9223372036854775808" : "9223372036854775807",
                           19) > 0)) {
                return fail(jr, start, "too big integer");
        }
        jr->raw = start;
        jr->raw_len = (size_t)(p - start);
        *pp = p;
        return 0;
}

static int scan_literal(pn_jreader *jr, const char **pp, const char *word, size_t n)
{
        size_t have = (size_t)(jr->end - *pp);

        if (memcmp(*pp, word, have < n ? have : n) != 0)
                return fail(jr, *pp, "invalid token");
        if (have < n)
                return short_input(jr, *pp, "invalid token");
        *pp += n;
        return 0;
}

/* Of the decoded key; eight bytes a step. */
static uint64_t key_hash(const char *k, size_t len)
{
        const uint64_t mul = 0x9e3779b97f4a7c15ULL;
        uint64_t h = len * mul, x;

        for (; len >= 8; k += 8, len -= 8) {
                memcpy(&x, k, sizeof(x));
                h = (h ^ x) * mul;
                h ^= h >> 29;
        }
        if (len) {
                x = 0;
                memcpy(&x, k, len);
                h = (h ^ x) * mul;
                h ^= h >> 29;
        }
        return h;
}

static void table_insert(struct frame *o, const struct key *keys, size_t i)
{
        size_t slot = keys[i].hash & o->mask;

        while (o->table[slot])
                slot = (slot + 1) & o->mask;
        o->table[slot] = i + 1;
}

static int table_build(pn_jreader *jr, struct frame *o, size_t n)
{
        size_t size = 64;

        while (size < 2 * n)
                size *= 2;
        free(o->table);
        o->table = calloc(size, sizeof(*o->table));
        if (!o->table)
                return -ENOMEM;
        o->mask = size - 1;
        for (size_t i = o->key_base; i < jr->n_keys; i++)
                table_insert(o, jr->keys, i);
        return 0;
}

static inline const char *key_text(const pn_jreader *jr, const struct key *e)
{
        return (e->in_input ? jr->s : jr->arena) + e->off;
}

static inline bool key_equal(const pn_jreader *jr, size_t i, uint64_t h, const char *k, size_t klen)
{
        const struct key *e = &jr->keys[i];

        return e->hash == h && e->len == klen && memcmp(key_text(jr, e), k, klen) == 0;
}

/* Records the key just scanned (at `at`) in the innermost object; a repeat is an error.
 * A key without escapes read from a buffer stays where it is: a buffer never moves; keys
 * of a stream are copied, as what was read is dropped when more is fed. */
static int key_add(pn_jreader *jr, const char *at)
{
        struct frame *o = &jr->frames[jr->depth - 1];
        size_t n = jr->n_keys - o->key_base, klen;
        bool in_input = !jr->esc && !jr->fed;
        const char *k;
        uint64_t h;
        int r;

        if (in_input) {
                k = jr->raw;
                klen = jr->raw_len;
        } else {
                if (jr->arena_len + jr->raw_len > jr->arena_cap) {
                        r = pn_grow((void **)&jr->arena, &jr->arena_cap, jr->arena_len + jr->raw_len,
                                 1);
                        if (r < 0)
                                return r;
                }
                if (jr->esc) {
                        klen = str_decode(jr->raw, jr->raw_len, jr->arena + jr->arena_len);
                } else {
                        memcpy(jr->arena + jr->arena_len, jr->raw, jr->raw_len);
                        klen = jr->raw_len;
                }
                k = jr->arena + jr->arena_len;
        }
        h = key_hash(k, klen);
        if (!o->table) {
                for (size_t i = o->key_base; i < jr->n_keys; i++)
                        if (key_equal(jr, i, h, k, klen))
                                return fail(jr, at, "duplicate object key");
        } else {
                for (size_t slot = h & o->mask; o->table[slot]; slot = (slot + 1) & o->mask)
                        if (key_equal(jr, o->table[slot] - 1, h, k, klen))
                                return fail(jr, at, "duplicate object key");
        }
        if (jr->n_keys + 1 > jr->cap_keys) {
                r = pn_grow((void **)&jr->keys, &jr->cap_keys, jr->n_keys + 1, sizeof(*jr->keys));
                if (r < 0)
                        return r;
        }
        jr->keys[jr->n_keys++] = (struct key){
            .hash = h,
            .off = in_input ? (size_t)(k - jr->s) : jr->arena_len,
            .len = klen,
            .in_input = in_input,
        };
        if (!in_input)
                jr->arena_len += klen;
        n++;
        if (n == LINEAR_KEYS || (o->table && 2 * n > o->mask + 1))
                return table_build(jr, o, n);
        if (o->table)
                table_insert(o, jr->keys, jr->n_keys - 1);
        return 0;
}

static inline int push(pn_jreader *jr, bool array)
{
        int r = pn_grow((void **)&jr->frames, &jr->cap_frames, jr->depth + 1, sizeof(*jr->frames));

        if (r < 0)
                return r;
        jr->frames[jr->depth++] =
            (struct frame){.array = array, .key_base = jr->n_keys, .arena_base = jr->arena_len};
        return 0;
}

static void pop(pn_jreader *jr)
{
        struct frame *f = &jr->frames[--jr->depth];

        if (!f->array) {
                jr->n_keys = f->key_base;
                jr->arena_len = f->arena_base;
                free(f->table);
        }
}

/* The value starting at p (whitespace passed). */
static inline __attribute__((always_inline)) int read_value(pn_jreader *jr, const char *p)
{
        int r, tok;

        if (p >= jr->end)
                return short_input(jr, p, "premature end of input");
        if (jr->depth + 1 > PN_JSON_MAX_DEPTH)
                return fail(jr, p, "maximum parsing depth reached");
        switch (*p) {
        case '{':
        case '[':
                r = push(jr, *p == '[');
                if (r < 0)
                        return r;
                jr->st = *p == '[' ? ST_VALUE_OR_END : ST_KEY_OR_END;
                jr->p = p + 1;
                return jr->tok = *p == '[' ? PN_JTOK_BEGIN_ARRAY : PN_JTOK_BEGIN_OBJECT;
        case '"':
                r = scan_string(jr, &p);
                tok = PN_JTOK_STRING;
                break;
        case '-':
        case '0' ... '9':
                r = scan_number(jr, &p);
                tok = PN_JTOK_NUMBER;
                break;
        case 't':
                r = scan_literal(jr, &p, "true", 4);
                tok = PN_JTOK_TRUE;
                break;
        case 'f':
                r = scan_literal(jr, &p, "false", 5);
                tok = PN_JTOK_FALSE;
                break;
        case 'n':
                r = scan_literal(jr, &p, "null", 4);
                tok = PN_JTOK_NULL;
                break;
        default:
                return fail(jr, p, "invalid token");
        }
        if (r < 0)
                return r;
        jr->st = ST_AFTER;
        jr->p = p;
        return jr->tok = tok;
}

static inline __attribute__((always_inline)) int read_key(pn_jreader *jr, const char *p,
                                                          const char *expected)
{
        int r;

        if (p >= jr->end)
                return short_input(jr, p, "premature end of input");
        if (*p != '"')
                return fail(jr, p, expected);
        r = scan_string(jr, &p);
        if (r < 0)
                return r;
        r = key_add(jr, jr->raw - 1);
        if (r < 0)
                return r;
        jr->frames[jr->depth - 1].count++;
        jr->st = ST_COLON;
        jr->p = p;
        return jr->tok = PN_JTOK_KEY;
}

static inline __attribute__((always_inline)) int element(pn_jreader *jr, const char *p)
{
        size_t parent = jr->depth - 1;
        int r = read_value(jr, p);

        /* counted once the element is read: a retry after -EAGAIN does not count twice */
        if (r > 0)
                jr->frames[parent].count++;
        return r;
}

static inline __attribute__((always_inline)) int close_container(pn_jreader *jr, const char *p)
{
        bool array = jr->frames[jr->depth - 1].array;

        pop(jr);
        jr->st = ST_AFTER;
        jr->p = p + 1;
        return jr->tok = array ? PN_JTOK_END_ARRAY : PN_JTOK_END_OBJECT;
}

static inline __attribute__((always_inline)) int step(pn_jreader *jr)
{
        const char *p = skip_ws(jr->p, jr->end), *end = jr->end;
        struct frame *f;

        switch (jr->st) {
        case ST_VALUE:
                return jr->depth ? element(jr, p) : read_value(jr, p);
        case ST_VALUE_OR_END:
                if (p < end && *p == ']')
                        return close_container(jr, p);
                return element(jr, p);
        case ST_KEY_OR_END:
                if (p < end && *p == '}')
                        return close_container(jr, p);
                return read_key(jr, p, "string or '}' expected");
        case ST_COLON:
                if (p >= end)
                        return short_input(jr, p, "premature end of input");
                if (*p != ':')
                        return fail(jr, p, "':' expected");
                return read_value(jr, skip_ws(p + 1, end));
        case ST_AFTER:
                f = jr->depth ? &jr->frames[jr->depth - 1] : NULL;
                if (!f) {
                        if (p < end)
                                return fail(jr, p, "end of file expected");
                        if (!jr->last)
                                return -EAGAIN;
                        jr->st = ST_DONE;
                        return jr->tok = PN_JTOK_END;
                }
                if (p >= end)
                        return short_input(jr, p, "premature end of input");
                if (*p == ',') {
                        p = skip_ws(p + 1, end);
                        return f->array ? element(jr, p) : read_key(jr, p, "string expected");
                }
                if (*p == (f->array ? ']' : '}'))
                        return close_container(jr, p);
                return fail(jr, p, f->array ? "']' expected" : "'}' expected");
        case ST_DONE:
                return jr->tok = PN_JTOK_END;
        case ST_ERROR:
        default:
                return -EINVAL;
        }
}

int pn_jreader_next(pn_jreader *jr)
{
        if (jr->skipping)
                return -EBUSY;
        return step(jr);
}

const char *pn_jreader_text(pn_jreader *jr, size_t *len)
{
        *len = 0;
        if (jr->st == ST_ERROR || (!jr->raw && jr->tok != PN_JTOK_KEY))
                return NULL;
        if (jr->tok == PN_JTOK_KEY) {
                const struct key *k = &jr->keys[jr->n_keys - 1];
                *len = k->len;
                return key_text(jr, k);
        }
        if (jr->tok == PN_JTOK_STRING && jr->esc) {
                if (pn_grow((void **)&jr->scratch, &jr->scratch_cap, jr->raw_len + 1, 1) < 0)
                        return NULL;
                *len = str_decode(jr->raw, jr->raw_len, jr->scratch);
                return jr->scratch;
        }
        if (jr->tok != PN_JTOK_STRING && jr->tok != PN_JTOK_NUMBER)
                return NULL;
        *len = jr->raw_len;
        return jr->raw;
}

bool pn_jreader_escaped(const pn_jreader *jr)
{
        return (jr->tok == PN_JTOK_STRING || jr->tok == PN_JTOK_KEY) && jr->esc;
}

int pn_jreader_skip(pn_jreader *jr)
{
        int r;

        if (!jr->skipping) {
                switch (jr->tok) {
                case PN_JTOK_BEGIN_OBJECT:
                case PN_JTOK_BEGIN_ARRAY:
                        if (jr->st == ST_ERROR)
                                return -EINVAL;
                        jr->skip_to = jr->depth - 1;
                        break;
                case PN_JTOK_KEY:
                        jr->skip_to = jr->depth;
                        break;
                default:
                        return jr->st == ST_ERROR ? -EINVAL : 0;
                }
                jr->skipping = true;
        }
        /* done once the reader is back at skip_to, after a value */
        do {
                r = step(jr);
                if (r < 0) {
                        if (r != -EAGAIN)
                                jr->skipping = false;
                        return r;
                }
        } while (jr->depth != jr->skip_to || jr->st != ST_AFTER);
        jr->skipping = false;
        return 0;
}

size_t pn_jreader_depth(const pn_jreader *jr)
{
        return jr->depth;
}

size_t pn_jreader_path(const pn_jreader *jr, char *buf, size_t size)
{
        size_t len = 0, key;

#define PUT(...)                                                                                   \
        do {                                                                                       \
                int n_ = snprintf(buf ? buf + (len < size ? len : size) : NULL,                    \
                                  len < size ? size - len : 0, __VA_ARGS__);                       \
                len += n_ > 0 ? (size_t)n_ : 0;                                                    \
        } while (0)
        if (size)
                buf[0] = 0;
        for (size_t d = 0; d < jr->depth; d++) {
                const struct frame *f = &jr->frames[d];
                /* the frame's current key: the last one it holds */
                size_t next_base = d + 1 < jr->depth ? jr->frames[d + 1].key_base : jr->n_keys;

                if (f->count == 0)
                        break;
                if (f->array) {
                        PUT("[%zu]", f->count - 1);
                        continue;
                }
                if (next_base == f->key_base)
                        break;
                key = next_base - 1;
                PUT("%s%.*s", len ? "." : "", (int)jr->keys[key].len, key_text(jr, &jr->keys[key]));
        }
#undef PUT
        return len;
}

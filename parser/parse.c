/*
 * parse.c - events from tokens: the line grammar of text 0.0.4 and
 * OpenMetrics 1.0, value conversion, and the validator (the family state
 * machine and the series-level checks).
 *
 * Every call of prex_next() parses one whole line: first the syntax (which
 * fills the event and the label slots, with slices into the buffer), then
 * the validation of that line against the state left by earlier lines.
 * Only when both pass is the line consumed and the event returned, so an
 * incomplete last line is simply parsed again after a refill.
 */
#include <assert.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* MARK: state constants */

enum { ST_OK = 0, ST_ERROR, ST_SAWEOF, ST_DONE, ST_SKIPLINE };

/* Family flags, kept in _fammeta and in the families set. */
#define FM_HELP    0x1u
#define FM_TYPE    0x2u
#define FM_UNIT    0x4u
#define FM_SAMPLES 0x8u

/* Metric-point flags (_mflags). */
#define MF_BUCKET  0x01u
#define MF_INF     0x02u
#define MF_COUNT   0x04u
#define MF_SUM     0x08u
#define MF_NEGB    0x10u /* a bucket with a negative le */
#define MF_Q       0x20u /* a quantile sample */
#define MF_STATE1  0x40u
#define MF_BROKEN  0x80u /* a line of the point failed: no end checks */

/* Keys of the families set: family names and sample names are hashed
 * with different seeds so both kinds live in one set. */
#define SEED_FAMILY 0x9e3779b97f4a7c15ull
#define SEED_SAMPLE 0xc2b2ae3d27d4eb4full
#define SEED_LABEL  0x165667b19e3779f9ull

#define DEFAULT_MAX_LINE        (1u << 20)
#define DEFAULT_MAX_LABEL_VALUE (1u << 16)

/* MARK: hashing */

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/*
 * The slice hash: 8-byte words folded with a multiply and an xorshift
 * (each step is a bijection of the state, so inputs of one length that
 * differ in one word never collide), the length mixed in at the end, and
 * a full avalanche (mix64) last.
 */
static uint64_t hword(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
}

/* Folds b[0..n) into a seed, without the final avalanche (fold_slice()
 * callers mix the result themselves). The words are read at positions
 * that depend only on n, overlapping at the end, so that the branches
 * depend on n's range rather than on its exact value: 9 to 16 bytes are
 * two words, 17 to 32 four, longer slices 16 bytes per step and the last
 * 16 to 32 as four words. */
static PREX_INLINE uint64_t fold_bytes(const unsigned char *b, size_t n, uint64_t seed)
{
    uint64_t h = seed, w, w1;

    if (n > 16) {
        const unsigned char *e = b + n;

        while (e - b > 32) {
            memcpy(&w, b, 8);
            memcpy(&w1, b + 8, 8);
            h = hword(hword(h, w), w1);
            b += 16;
        }
        memcpy(&w, b, 8);
        memcpy(&w1, b + 8, 8);
        h = hword(hword(h, w), w1);
        memcpy(&w, e - 16, 8);
        memcpy(&w1, e - 8, 8);
        h = hword(hword(h, w), w1);
    } else if (n >= 8) {
        memcpy(&w, b, 8);
        memcpy(&w1, b + n - 8, 8);
        h = hword(hword(h, w), w1);
    } else if (n >= 4) {
        /* two 4-byte loads that overlap: every byte is in w once or
         * twice, at positions fixed by n, so w differs when the bytes
         * differ (short label values are the common case) */
        uint32_t lo, hi;
        memcpy(&lo, b, 4);
        memcpy(&hi, b + n - 4, 4);
        h = hword(h, lo | (uint64_t)hi << 32);
    } else if (n) {
        h = hword(h, b[0] | (uint64_t)b[n / 2] << 8 | (uint64_t)b[n - 1] << 16);
    }
    return h ^ n;
}

/*
 * Folds the decoded bytes of a raw slice (no final avalanche). A slice
 * with escapes decodes to bytes holding a backslash, a quote or a
 * newline, which a slice without escapes never holds, so the two kinds
 * never need to hash alike: the escaped (rare) kind is decoded chunk by
 * chunk and folded word by word.
 */
static PREX_NOINLINE uint64_t fold_escaped(prex_slice sl, uint64_t seed)
{
    unsigned char out[256 + 8];
    uint64_t h = seed ^ 0x5bd1e9955bd1e995ull, w;
    size_t i = 0, o = 0, total = 0;

    while (i < sl.len) {
        char c = sl.ptr[i++];
        if (c == '\\' && i < sl.len) {
            char n = sl.ptr[i];
            if (n == '\\' || n == '"') {
                c = n;
                i++;
            } else if (n == 'n') {
                c = '\n';
                i++;
            }
        }
        out[o++] = (unsigned char)c;
        if (o == 256) {
            size_t k;
            for (k = 0; k < o; k += 8) {
                memcpy(&w, out + k, 8);
                h = hword(h, w);
            }
            total += o;
            o = 0;
        }
    }
    total += o;
    memset(out + o, 0, 8);
    for (i = 0; i < o; i += 8) {
        memcpy(&w, out + i, 8);
        h = hword(h, w);
    }
    return h ^ total;
}

/* The common case (no escapes) inline; the escaped kind out of line, so
 * callers do not pay for its buffer. */
static PREX_INLINE uint64_t fold_slice(prex_slice sl, int esc, uint64_t seed)
{
    if (!esc)
        return fold_bytes((const unsigned char *)sl.ptr, sl.len, seed);
    return fold_escaped(sl, seed);
}

/* The hash of a raw slice's decoded bytes: fold_slice() and a full
 * avalanche. */
static uint64_t hash_slice(prex_slice sl, int esc, uint64_t seed)
{
    return mix64(fold_slice(sl, esc, seed));
}

/* One label's term in the order-independent label-set hash, from namehash,
 * fold_slice(name, SEED_LABEL), and the fold of the value's decoded bytes:
 * the two folds are mixed once, here. */
static PREX_INLINE uint64_t term_of(uint64_t namehash, uint64_t valuefold)
{
    return mix64(namehash * 31 ^ valuefold);
}

/* The term of a label (0 for an empty value: an absent label). */
static PREX_INLINE uint64_t label_term(const prex_label *l, uint64_t namehash)
{
    if (l->value.len == 0)
        return 0;
    return term_of(namehash, fold_slice(l->value, l->value_esc, SEED_SAMPLE));
}

/* MARK: small helpers */

static int slice_eq(prex_slice a, const char *b, size_t blen)
{
    return a.len == blen && memcmp(a.ptr, b, blen) == 0;
}

#define SLICE_EQ_LIT(s, lit) slice_eq((s), (lit), sizeof(lit) - 1)

/* Compares two raw slices by their decoded bytes. A slice with escapes
 * never equals one without (see hash_slice); two escaped slices are
 * compared through the hash of their decoded bytes, since OpenMetrics
 * lets "\\z" and "\z" both mean backslash-z. */
static int raw_eq(prex_slice a, int aesc, prex_slice b, int besc)
{
    if (aesc != besc)
        return 0;
    if (!aesc)
        return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
    return hash_slice(a, 1, 0) == hash_slice(b, 1, 0);
}

/* Writes a short, printable rendering of bytes into out (for details). */
static void render(char *out, size_t outsz, const char *s, size_t n)
{
    size_t o = 0, i;

    for (i = 0; i < n && o + 5 < outsz; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 40) {
            out[o++] = '.';
            out[o++] = '.';
            out[o++] = '.';
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02X", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
}

/* MARK: string scanning */

/* Nonzero when [p, e) holds no byte >= 0x80 (8 bytes per step). */
static int ascii_only(const char *p, const char *e)
{
    uint64_t acc = 0, w;

    while (e - p >= 8) {
        memcpy(&w, p, 8);
        acc |= w;
        p += 8;
    }
    while (p < e)
        acc |= (unsigned char)*p++;
    return (acc & 0x8080808080808080ull) == 0;
}

/*
 * Finds the first byte in [p, lim) that can end the plain part of a
 * quoted string: '"', '\\', any byte from NUL to '\n', or any byte >= 0x80
 * (the lexer then checks tabs, newlines and UTF-8). Returns lim if there
 * is none. Never reads at or past lim.
 *
 * The SSE2 variant tests 16 bytes per step; the scalar twin, a table
 * lookup per byte, is compiled with -DPREX_NO_SIMD (the sanitizer build
 * uses it, so every test runs on both).
 */
#ifdef PREX_SIMD_SSE2
static PREX_INLINE const char *scan_plain(const char *p, const char *lim)
{
    const __m128i quote = _mm_set1_epi8('"'), bsl = _mm_set1_epi8('\\');
    const __m128i low = _mm_set1_epi8(0x0b);

    while (lim - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* a signed compare: bytes 0x00-0x0a and >= 0x80 in one step */
        __m128i hit = _mm_or_si128(_mm_cmplt_epi8(v, low),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bsl)));
        int mask = _mm_movemask_epi8(hit);
        if (mask)
            return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
    while (p < lim) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\' || ch <= 0x0a || ch >= 0x80)
            return p;
        p++;
    }
    return lim;
}
#else
static PREX_INLINE const char *scan_plain(const char *p, const char *lim)
{
    static const unsigned char stop[256] = {
        [0] = 1, [1] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1, [6] = 1, [7] = 1,
        [8] = 1, [9] = 1, ['\n'] = 1, ['"'] = 1, ['\\'] = 1,
#define S8(x) [x] = 1, [x + 1] = 1, [x + 2] = 1, [x + 3] = 1, [x + 4] = 1, [x + 5] = 1, [x + 6] = 1, [x + 7] = 1
        S8(0x80), S8(0x88), S8(0x90), S8(0x98), S8(0xa0), S8(0xa8), S8(0xb0), S8(0xb8),
        S8(0xc0), S8(0xc8), S8(0xd0), S8(0xd8), S8(0xe0), S8(0xe8), S8(0xf0), S8(0xf8),
#undef S8
    };
    while (p < lim && !stop[(unsigned char)*p])
        p++;
    return p;
}
#endif

/* MARK: line context */

typedef struct lctx {
    prex_parser *p;
    prex__lexer lx;
    const char *start;   /* first byte of the line */
    int om;
    int qname;           /* the metric name was a quoted element in braces */
    const char *at_exemplar; /* the '#' of the exemplar, if any */
    uint64_t nhash[PREX_MAX_LABELS]; /* folds of the sample's label names */
    uint64_t term[PREX_MAX_LABELS];  /* their labels' terms (label_term()) */
    prex_event *ev;
} lctx;

/* Records an error at byte at of the current line. Returns PREX_ERROR. */
static int fail(lctx *c, const char *at, int code, const char *fmt, ...)
{
    prex_parser *p = c->p;
    va_list ap;

    p->_err.code = code;
    p->_err.offset = p->_base + (uint64_t)(at - p->_buf);
    p->_err.line = p->_line;
    p->_err.column = (uint64_t)(at - c->start) + 1;
    p->_err.msg = prex_strerror(code);
    p->_detail[0] = 0;
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(p->_detail, sizeof p->_detail, fmt, ap);
        va_end(ap);
    }
    p->_err.detail = p->_detail;
    return PREX_ERROR;
}

/* Records an error at a position remembered from an earlier line. */
static int fail_at(prex_parser *p, uint64_t off, uint64_t line, uint64_t col,
                   int code, const char *detail)
{
    p->_err.code = code;
    p->_err.offset = off;
    p->_err.line = line;
    p->_err.column = col;
    p->_err.msg = prex_strerror(code);
    snprintf(p->_detail, sizeof p->_detail, "%s", detail ? detail : "");
    p->_err.detail = p->_detail;
    return PREX_ERROR;
}

/* Describes the token [tok, cur) for "found ..." in a detail message. */
static const char *found(lctx *c, int tok, char *buf, size_t n)
{
    switch (tok) {
    case PREX__T_END: return "end of input";
    case PREX__T_NL: return "end of line";
    case PREX__T_CRNL: return "\"\\r\\n\"";
    case PREX__T_NUL: return "NUL byte";
    default: break;
    }
    buf[0] = '\'';
    render(buf + 1, n - 2, c->lx.tok, (size_t)(c->lx.cur - c->lx.tok));
    strcat(buf, "'");
    return buf;
}

static int lex(lctx *c, int cond)
{
    return prex__lex(&c->lx, cond);
}

static int peek(lctx *c)
{
    return (unsigned char)*c->lx.cur;
}

/* Fails with "expected WHAT, found <tok>". */
static int expected(lctx *c, int tok, int code, const char *what)
{
    char b[64];
    if (tok == PREX__T_NUL)
        code = PREX_E_NUL;
    else if (tok == PREX__T_CRNL)
        code = PREX_E_CR;
    return fail(c, c->lx.tok, code, "expected %s, found %s", what, found(c, tok, b, sizeof b));
}

/* MARK: numbers */

static const double pow10tab[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 prex_u128;

/*
 * m * 10^e10 correctly rounded (to nearest, ties to even), for a mantissa
 * m of at least 2^53 (too wide for Clinger's fast path) and below 2^64,
 * and |e10| <= 22, so that 5^|e10| < 2^52 and the arithmetic below is
 * exact in 128 bits: m * 5^e10 for e10 >= 0, else the quotient of
 * m * 2^64 by 5^-e10 (at least 65 bits) and whether a remainder was
 * left. The 54 leading bits of that exact value and the sticky bit of the
 * rest give the one rounding; the powers of two are exact.
 */
static double exact_wide(uint64_t m, int e10)
{
    uint64_t p5 = 1, mant, hi;
    prex_u128 x;
    int e2, bits, shift, sticky = 0, k;

    for (k = e10 < 0 ? -e10 : e10; k > 0; k--)
        p5 *= 5;
    if (e10 >= 0) {
        x = (prex_u128)m * p5;
        e2 = e10;
    } else {
        prex_u128 num = (prex_u128)m << 64;
        x = num / p5;
        sticky = num % p5 != 0;
        e2 = e10 - 64;
    }
    hi = (uint64_t)(x >> 64);
    bits = hi ? 128 - __builtin_clzll(hi) : 64 - __builtin_clzll((uint64_t)x);
    shift = bits - 54; /* >= 0: x >= m >= 2^53 */
    if (shift > 0 && (x & (((prex_u128)1 << shift) - 1)) != 0)
        sticky = 1;
    mant = (uint64_t)(x >> shift); /* 54 bits: 53 and the rounding bit */
    if ((mant & 1) && (sticky || (mant & 2)))
        mant += 2;
    mant >>= 1;
    if (mant >> 53) { /* rounded up to the next power of two */
        mant >>= 1;
        shift++;
    }
    return ldexp((double)mant, e2 + shift + 1);
}
#endif

static int ieq(const char *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char a = s[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != lit[i] || !lit[i])
            return 0;
    }
    return lit[n] == 0;
}

/*
 * Converts a token already known to match the float grammar.
 * Returns 0, -1 on overflow (|v| would be infinite), or -2 when the C
 * library could not read it (only with an unusual LC_NUMERIC). Exact for
 * the common cases (Clinger's fast path, and up to 19 significant digits
 * with a power of ten up to 1e22 in 128-bit integers); strtod for the
 * rest.
 */
static int to_double(const char *s, size_t n, double *out)
{
    const char *p = s, *e = s + n;
    int neg = 0;
    uint64_t m = 0;
    int digits = 0, exp10 = 0, exact = 1;

    if (p < e && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    if (p < e && ((*p | 0x20) == 'i' || (*p | 0x20) == 'n')) {
        if ((*p | 0x20) == 'n')
            *out = NAN;
        else
            *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
        if (digits < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            if (m)
                digits++;
        } else {
            exact = 0;
        }
    }
    if (p < e && *p == '.') {
        for (p++; p < e && *p >= '0' && *p <= '9'; p++) {
            if (digits < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                if (m)
                    digits++;
                exp10--;
            } else {
                exact = 0;
            }
        }
    }
    if (p < e) { /* the exponent: [eE] sign? digits (the lexer checked) */
        int eneg = 0, x = 0;

        p++;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        for (; p < e && x < 10000; p++)
            x = x * 10 + (*p - '0');
        if (p < e)
            exact = 0;
        exp10 += eneg ? -x : x;
    }
    /* Clinger's fast path: a mantissa below 2^53 and a power of ten up to
     * 1e22 are exact doubles, and one multiplication or division of them
     * is correctly rounded */
    if (exact && m < (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 < 0 ? v / pow10tab[-exp10] : v * pow10tab[exp10];
        *out = neg ? -v : v;
        return 0;
    }
#ifdef __SIZEOF_INT128__
    /* 17 to 19 significant digits, as the shortest form of many doubles
     * is written: exact in 128-bit integers */
    if (exact && exp10 >= -22 && exp10 <= 22) {
        double v = exact_wide(m, exp10);
        *out = neg ? -v : v;
        return 0;
    }
#endif
    {
        /* The token in the buffer is always followed by a blank, a line
         * end or the sentinel NUL, all of which stop strtod, so it can
         * read the buffer in place. Only a locale whose decimal point is
         * not '.' needs a copy with the point replaced. */
        char tmp[512];
        const char *src = s;
        char *end;
        double v;
        const struct lconv *lc = localeconv();
        if (lc && lc->decimal_point && lc->decimal_point[0] != '.' &&
            memchr(s, '.', n)) {
            size_t i;
            if (n >= sizeof tmp)
                return -2;
            for (i = 0; i < n; i++)
                tmp[i] = s[i] == '.' ? lc->decimal_point[0] : s[i];
            tmp[n] = 0;
            src = tmp;
        }
        errno = 0;
        v = strtod(src, &end);
        if (end != src + n)
            return -2;
        if (errno == ERANGE && isinf(v))
            return -1;
        *out = v;
        return 0;
    }
}

/* Parses [+-]?[0-9]+ as int64. Returns 0, or -1 on overflow. */
static int to_int64(const char *s, size_t n, int64_t *out)
{
    const char *p = s, *e = s + n;
    int neg = 0;
    uint64_t v = 0, lim;

    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < e; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Parses the value token just lexed (tok) into *v. */
static int value_token(lctx *c, int tok, const char *what, double *v, prex_slice *raw)
{
    const char *s = c->lx.tok;
    size_t n = (size_t)(c->lx.cur - s);
    char b[64];
    int r;

    if (tok != PREX__T_INT && tok != PREX__T_FLOAT) {
        if (tok == PREX__T_WORD || tok == PREX__T_BAD || tok == PREX__T_HASH)
            return fail(c, s, PREX_E_VALUE, "expected %s, found %s", what,
                        found(c, tok, b, sizeof b));
        return expected(c, tok, PREX_E_VALUE, what);
    }
    r = to_double(s, n, v);
    if (r == -1)
        return fail(c, s, PREX_E_VALUE_RANGE, "%s %s does not fit a float64", what,
                    found(c, tok, b, sizeof b));
    if (r < 0)
        return fail(c, s, PREX_E_VALUE, "cannot convert %s %s", what, found(c, tok, b, sizeof b));
    raw->ptr = s;
    raw->len = n;
    return 0;
}

/* Parses a timestamp token just lexed: text int64 ms, or OpenMetrics
 * float seconds converted to int64(seconds * 1000). */
static int timestamp_token(lctx *c, int tok, int64_t *ms, prex_slice *raw)
{
    const char *s = c->lx.tok;
    size_t n = (size_t)(c->lx.cur - s);
    char b[64];

    raw->ptr = s;
    raw->len = n;
    if (!c->om) {
        if (tok != PREX__T_INT)
            return fail(c, s, PREX_E_TIMESTAMP, "expected integer milliseconds as timestamp, found %s",
                        found(c, tok, b, sizeof b));
        if (to_int64(s, n, ms) < 0)
            return fail(c, s, PREX_E_TIMESTAMP_RANGE, "timestamp %s does not fit int64",
                        found(c, tok, b, sizeof b));
        return 0;
    }
    {
        double v, msd;
        if (tok != PREX__T_INT && tok != PREX__T_FLOAT)
            return fail(c, s, PREX_E_TIMESTAMP, "expected timestamp in seconds, found %s",
                        found(c, tok, b, sizeof b));
        if (to_double(s, n, &v) < 0 || isnan(v) || isinf(v))
            return fail(c, s, PREX_E_TIMESTAMP, "timestamp must be a finite number, found %s",
                        found(c, tok, b, sizeof b));
        msd = v * 1000.0;
        if (!(msd > -9223372036854775808.0 && msd < 9223372036854775808.0))
            return fail(c, s, PREX_E_TIMESTAMP_RANGE, "timestamp %s does not fit int64 milliseconds",
                        found(c, tok, b, sizeof b));
        *ms = (int64_t)msd;
        return 0;
    }
}

/* MARK: line ends and blanks */

/*
 * Consumes the end of the line after its last token. tok is the token
 * already lexed there (a blank, a line end or the limit). Handles strict
 * and lenient trailing blanks, CRLF, and the final line without "\n".
 * Returns 0 when the line is complete.
 */
static int end_of_line(lctx *c, int tok, int cond)
{
    prex_parser *p = c->p;
    const char *blank = NULL;

    if (tok == PREX__T_BLANK) {
        blank = c->lx.tok;
        tok = lex(c, cond);
    }
    if (tok == PREX__T_CRNL) {
        if (!(p->_flags & PREX_LENIENT_CRLF))
            return fail(c, c->lx.tok, PREX_E_CR, "lines end with \"\\n\" only (--lenient crlf accepts \"\\r\\n\")");
        tok = PREX__T_NL;
    }
    if (tok == PREX__T_END) {
        if (!p->_finished || !(p->_flags & PREX_LENIENT_MISSING_NEWLINE) || c->om)
            return fail(c, c->lx.tok, PREX_E_TRUNCATED, "expected \"\\n\" at end of line, found end of input");
        tok = PREX__T_NL;
    }
    if (tok != PREX__T_NL) {
        char b[64];
        if (blank) {
            /* something after a blank: not a trailing blank, a stray token */
            return fail(c, c->lx.tok, PREX_E_TRAILING, "expected end of line, found %s",
                        found(c, tok, b, sizeof b));
        }
        return expected(c, tok, PREX_E_TRAILING, "end of line");
    }
    if (blank && !(p->_flags & PREX_LENIENT_TRAILING_SPACE))
        return fail(c, blank, PREX_E_TRAILING_BLANK,
                    "expected end of line, found blank (--lenient trailing-space accepts it)");
    return 0;
}

/* Lexes a token in GEN, skipping blanks (text format only). */
static int lex_skip(lctx *c)
{
    int tok = lex(c, PREX__C_GEN);
    if (tok == PREX__T_BLANK && !c->om)
        tok = lex(c, PREX__C_GEN);
    return tok;
}

/*
 * Fast paths for the tokens of a label set, each giving exactly what the
 * lexer would: a one-byte punctuation token, or a label name that no ':'
 * follows. Anything else (blanks, quotes, other bytes) goes to the lexer.
 */
static int lex_punct(lctx *c)
{
    const char *s = c->lx.cur;
    int tok = *s == ',' ? PREX__T_COMMA : *s == '}' ? PREX__T_RBRACE : *s == '=' ? PREX__T_EQ : 0;

    if (!tok)
        return lex_skip(c);
    c->lx.tok = s;
    c->lx.cur = s + 1;
    return tok;
}

static int lex_label_name(lctx *c)
{
    const unsigned char *s = (const unsigned char *)c->lx.cur, *e = s;

    if (prex__namech[*e] != 1)
        return lex_skip(c);
    while (prex__namech[*++e] & 3)
        ;
    /* the sentinel NUL stops the loop at the limit at the latest */
    if (*e == ':')
        return lex_skip(c);
    c->lx.tok = (const char *)s;
    c->lx.cur = (const char *)e;
    return PREX__T_LNAME;
}

/* Lexes the first token of a line: a metric name (with ':' an IDENT,
 * without an LNAME, exactly as the lexer's maximal munch would) without a
 * lexer call, anything else through the lexer. */
static int lex_line_start(lctx *c)
{
    const unsigned char *s = (const unsigned char *)c->lx.cur, *e;
    int colons;

    if (!(prex__namech[*s] & 5))
        return lex(c, PREX__C_GEN);
    e = prex__scan_name(s, (const unsigned char *)c->lx.lim, &colons);
    c->lx.tok = (const char *)s;
    c->lx.cur = (const char *)e;
    return colons ? PREX__T_IDENT : PREX__T_LNAME;
}

/* Takes the '{' at the cursor (the caller saw it) as a token. */
static int take_lbrace(lctx *c)
{
    c->lx.tok = c->lx.cur++;
    return PREX__T_LBRACE;
}

/* Lexes the next token where a quoted string is expected: a plain string
 * (no escapes, ASCII only) is found by scan_plain(); anything else goes
 * through the lexer. */
static int lex_string(lctx *c)
{
    const char *s = c->lx.cur;

    if (*s == '"') {
        const char *e = scan_plain(s + 1, c->lx.lim);
        if (e < c->lx.lim && *e == '"') {
            c->lx.tok = s;
            c->lx.cur = e + 1;
            return PREX__T_QSTR;
        }
    }
    return lex_skip(c);
}

/*
 * Fast paths for the tokens after a sample's labels, each giving exactly
 * what the lexer would in VAL, or calling it:
 *   lex_value: a number of plain digits with an optional fraction that a
 *   space or line end follows (INT or FLOAT; anything longer, signed or
 *   special goes to the lexer, whose maximal munch may make it a WORD);
 *   it converts the number as it scans it when to_double() would take
 *   Clinger's fast path with every digit (*v set, *conv = 1: at most 19
 *   digits, a mantissa below 2^53, at most 22 after the point), so the
 *   common value is read once;
 *   lex_val_next: a line end or a single space not followed by a blank.
 */
static PREX_INLINE int lex_value(lctx *c, double *v, int *conv)
{
    const char *s = c->lx.cur, *e = s, *f;
    uint64_t m = 0;
    unsigned d;
    size_t frac = 0;
    int tok = PREX__T_INT;

    while ((d = (unsigned)(*e - '0')) < 10) {
        m = m * 10 + d; /* wraps past 20 digits; unused then */
        e++;
    }
    if (e == s)
        return lex(c, PREX__C_VAL);
    if (*e == '.') {
        tok = PREX__T_FLOAT;
        f = ++e;
        while ((d = (unsigned)(*e - '0')) < 10) {
            m = m * 10 + d;
            e++;
        }
        frac = (size_t)(e - f);
    }
    /* the sentinel at the limit is neither */
    if (*e != ' ' && *e != '\n')
        return lex(c, PREX__C_VAL);
    c->lx.tok = s;
    c->lx.cur = e;
    if ((size_t)(e - s) - (tok == PREX__T_FLOAT) <= 19 && m < (1ull << 53) && frac <= 22) {
        *v = frac ? (double)m / pow10tab[frac] : (double)m;
        *conv = 1;
    }
    return tok;
}

static PREX_INLINE int lex_val_next(lctx *c)
{
    const char *s = c->lx.cur;

    if (*s == '\n' && s < c->lx.lim) {
        c->lx.tok = s;
        c->lx.cur = s + 1;
        return PREX__T_NL;
    }
    if (*s == ' ' && s[1] != ' ' && s[1] != '\t' && s < c->lx.lim) {
        c->lx.tok = s;
        c->lx.cur = s + 1;
        return PREX__T_BLANK;
    }
    return lex(c, PREX__C_VAL);
}

/* OpenMetrics: the token must be exactly one space. */
static int om_space(lctx *c, int tok, const char *what)
{
    if (tok == PREX__T_BLANK && c->lx.cur - c->lx.tok == 1 && *c->lx.tok == ' ')
        return 0;
    if (tok == PREX__T_BLANK) /* point at the first byte past one legal space */
        return fail(c, c->lx.tok + (*c->lx.tok == ' '), PREX_E_SYNTAX,
                    "expected a single space before %s", what);
    return expected(c, tok, PREX_E_SYNTAX, what);
}

/* MARK: quoted strings and names */

/*
 * Checks a quoted-string token for use as a name or value and returns its
 * content slice (between the quotes) and escape flag. kind names the
 * thing for messages; code is the error for a non-string token.
 */
static int qstring(lctx *c, int tok, int code, const char *kind,
                   prex_slice *out, unsigned char *esc)
{
    const char *s = c->lx.tok;
    size_t n = (size_t)(c->lx.cur - s);

    switch (tok) {
    case PREX__T_QSTR:
        *esc = 0;
        break;
    case PREX__T_QSTR_ESC:
        *esc = 1;
        break;
    case PREX__T_QSTR_XESC:
        if (!c->om) {
            const char *q = s + 1;
            while ((q = memchr(q, '\\', (size_t)(s + n - 1 - q))) != NULL) {
                if (q[1] != '\\' && q[1] != '"' && q[1] != 'n')
                    return fail(c, q, PREX_E_ESCAPE,
                                "invalid escape sequence '\\%c' in %s (only \\\\, \\\" and \\n)",
                                q[1] >= 0x20 && q[1] < 0x7f ? q[1] : '?', kind);
                q += 2;
            }
        }
        *esc = 1;
        break;
    case PREX__T_QSTR_UTF8: {
        const char *q;
        for (q = s + 1; q < s + n - 1 && (unsigned char)*q < 0x80; q++)
            ;
        return fail(c, q, PREX_E_UTF8, "%s is not valid UTF-8", kind);
    }
    case PREX__T_QSTR_OPEN:
        return fail(c, s, PREX_E_NEWLINE_IN_STRING,
                    "%s starts here but has no closing '\"' on this line", kind);
    default:
        return expected(c, tok, code, kind);
    }
    out->ptr = s + 1;
    out->len = n - 2;
    return 0;
}

/* Checks a decoded name against the name rules (legacy flag, empty). */
static int check_quoted_name(lctx *c, prex_slice name, unsigned char esc,
                             int metric, const char *at)
{
    if (name.len == 0)
        return fail(c, at, metric ? PREX_E_NAME : PREX_E_LABEL_NAME,
                    metric ? "metric name is empty" : "label name is empty");
    if (c->p->_flags & PREX_LEGACY_NAMES) {
        int ok = !esc && (metric ? prex_is_legacy_metric_name(name)
                                 : prex_is_legacy_label_name(name));
        if (!ok) {
            char b[64];
            render(b, sizeof b, name.ptr, name.len);
            return fail(c, at, metric ? PREX_E_NAME : PREX_E_LABEL_NAME,
                        "\"%s\" is not a legacy %s name (legacy name validation)", b,
                        metric ? "metric" : "label");
        }
    }
    return 0;
}

/* Reads a metric name in a HELP/TYPE/UNIT line: identifier or quoted. */
static int meta_name(lctx *c, int tok, prex_event *ev)
{
    if (tok == PREX__T_IDENT || tok == PREX__T_LNAME) {
        ev->name.ptr = c->lx.tok;
        ev->name.len = (size_t)(c->lx.cur - c->lx.tok);
        ev->name_esc = 0;
        return 0;
    }
    if (tok >= PREX__T_QSTR && tok <= PREX__T_QSTR_OPEN) {
        const char *at = c->lx.tok;
        if (qstring(c, tok, PREX_E_NAME, "metric name", &ev->name, &ev->name_esc) < 0)
            return PREX_ERROR;
        return check_quoted_name(c, ev->name, ev->name_esc, 1, at);
    }
    return expected(c, tok, PREX_E_NAME, "metric name");
}

/* MARK: labels */

/* Two label names equal? (raw slices, escapes respected) */
static int label_name_eq(const prex_label *a, const prex_label *b)
{
    return raw_eq(a->name, a->name_esc, b->name, b->name_esc);
}

/*
 * The common run of a sample's label set, from label n on, in a loop of
 * its own: each label's name the one seen at its position before
 * (matched from _lnames with its '='), its value a plain string within
 * the limit, its name's hash bit not yet seen on the line, and a ',' or
 * the '}' after it. Takes labels while all of that holds, and stops
 * before the first one it cannot take whole, which labels() then reads
 * (and fails on, if it must) as it would have. Returns the label count,
 * the labels taken in slots, nhash and c->term (each label's hash term,
 * computed here while its value is at hand) and their bits added to
 * *seen; *closed when the '}' was taken.
 */
static PREX_INLINE size_t labels_run(lctx *c, prex_label *slots, uint64_t *nhash, size_t n,
                                     size_t ncached, const char *safe, uint64_t *seen,
                                     int *closed)
{
    const prex_parser *p = c->p;
    const char *cur = c->lx.cur, *lim = c->lx.lim;
    size_t maxn = p->_lim.max_labels < ncached ? p->_lim.max_labels : ncached;
    size_t maxv = p->_lim.max_label_value;
    uint64_t bits = *seen;

    while (n < maxn && cur < safe) {
        const struct prex__lname *k = &p->_lnames[n];
        const char *v, *e;
        uint64_t w0, w1, bit;

        memcpy(&w0, cur, 8);
        memcpy(&w1, cur + 8, 8);
        if (!k->len || (((w0 ^ k->w[0]) & k->m[0]) | ((w1 ^ k->w[1]) & k->m[1])) != 0 ||
            cur[k->len] != '=' || cur[k->len + 1] != '"')
            break;
        v = cur + k->len + 2;
        e = scan_plain(v, lim);
        bit = 1ull << (k->hash >> 58);
        if (e >= lim || *e != '"' || (size_t)(e - v) > maxv || (bits & bit) ||
            (e[1] != ',' && e[1] != '}'))
            break;
        slots[n].name.ptr = cur;
        slots[n].name.len = k->len;
        slots[n].name_esc = 0;
        slots[n].value.ptr = v;
        slots[n].value.len = (size_t)(e - v);
        slots[n].value_esc = 0;
        c->term[n] = e > v ? term_of(k->hash, fold_bytes((const unsigned char *)v,
                                                          (size_t)(e - v), SEED_SAMPLE))
                           : 0;
        nhash[n++] = k->hash;
        bits |= bit;
        cur = e + 2;
        if (e[1] == '}') {
            c->lx.tok = e + 1;
            *closed = 1;
            break;
        }
    }
    c->lx.cur = cur;
    *seen = bits;
    return n;
}

/*
 * Parses a label set after its "{" (already consumed) into p->_labels or
 * p->_exlabels. For a sample label set (exemplar == 0), a bare quoted
 * string is the metric name; *name must then be empty and is set.
 * On success *nlabels is the count and the "}" is consumed.
 */
static int labels(lctx *c, int exemplar, prex_event *ev, size_t *nlabels)
{
    prex_parser *p = c->p;
    prex_label *slots = exemplar ? p->_exlabels : p->_labels;
    uint64_t exhash[PREX_MAX_LABELS];
    uint64_t *nhash = exemplar ? exhash : c->nhash;
    size_t maxl = p->_lim.max_labels, n = 0;
    /* names are matched against _lnames for sample labels only, with 17
     * bytes left before the limit */
    size_t ncached = exemplar || c->lx.lim - c->lx.cur <= 16 ? 0 : 16;
    const char *safe = ncached ? c->lx.lim - 16 : c->lx.cur;
    uint64_t seen = 0;
    int tok, need_elem = 0;

    if (ncached) {
        int closed = 0;

        n = labels_run(c, slots, nhash, 0, ncached, safe, &seen, &closed);
        if (closed) {
            *nlabels = n;
            return 0;
        }
        need_elem = n > 0; /* each label taken was followed by a ',' */
    }
    for (;;) {
        const char *at;
        prex_slice nm;
        unsigned char nesc = 0;
        int quoted;
        uint64_t h;

        if (n < ncached && c->lx.cur < safe && p->_lnames[n].len) {
            /* the name seen at this position before, and its '=' */
            const struct prex__lname *k = &p->_lnames[n];
            uint64_t w0, w1;

            at = c->lx.cur;
            memcpy(&w0, at, 8);
            memcpy(&w1, at + 8, 8);
            if (((w0 ^ k->w[0]) & k->m[0]) == 0 && ((w1 ^ k->w[1]) & k->m[1]) == 0 &&
                at[k->len] == '=') {
                nm.ptr = at;
                nm.len = k->len;
                h = k->hash;
                c->lx.cur = at + k->len + 1;
                goto named;
            }
        }
        tok = lex_label_name(c);
        if (tok == PREX__T_RBRACE) {
            if (need_elem && c->om)
                return fail(c, c->lx.tok, PREX_E_SYNTAX,
                            c->om ? "expected label name after ',' (no trailing comma in OpenMetrics)"
                                  : "expected label name after ','");
            break;
        }
        at = c->lx.tok;
        if (tok == PREX__T_IDENT) {
            return fail(c, at, PREX_E_LABEL_NAME, "label names cannot contain ':'");
        } else if (tok == PREX__T_LNAME) {
            nm.ptr = at;
            nm.len = (size_t)(c->lx.cur - at);
            quoted = 0;
        } else if (tok >= PREX__T_QSTR && tok <= PREX__T_QSTR_OPEN) {
            if (qstring(c, tok, PREX_E_LABEL_NAME, "label name", &nm, &nesc) < 0)
                return PREX_ERROR;
            quoted = 1;
        } else if (tok == PREX__T_COMMA && need_elem) {
            return fail(c, at, PREX_E_SYNTAX, "expected label name, found ','");
        } else {
            return expected(c, tok, PREX_E_LABEL_NAME, n || need_elem ? "label name" : "label name or '}'");
        }

        /* a name followed by "=" is a label; a bare quoted string is the
         * metric name */
        tok = lex_punct(c);
        if (tok != PREX__T_EQ) {
            if (quoted && !exemplar && (tok == PREX__T_COMMA || tok == PREX__T_RBRACE)) {
                if (c->qname)
                    return fail(c, at, PREX_E_NAME,
                                "metric name given twice (only one quoted name is allowed)");
                if (ev->name.ptr)
                    return fail(c, at, PREX_E_NAME,
                                "metric name given both before '{' and inside it");
                if (check_quoted_name(c, nm, nesc, 1, at) < 0)
                    return PREX_ERROR;
                ev->name = nm;
                ev->name_esc = nesc;
                c->qname = 1;
                if (tok == PREX__T_RBRACE)
                    break;
                need_elem = 1;
                continue;
            }
            if (quoted && exemplar && (tok == PREX__T_COMMA || tok == PREX__T_RBRACE))
                return fail(c, at, PREX_E_EXEMPLAR, "an exemplar label set cannot name a metric");
            return expected(c, tok, PREX_E_SYNTAX, "'=' after label name");
        }
        if (quoted) {
            if (check_quoted_name(c, nm, nesc, 0, at) < 0)
                return PREX_ERROR;
        }
        if (nm.len == 8 && !nesc && memcmp(nm.ptr, "__name__", 8) == 0 && !exemplar)
            return fail(c, at, PREX_E_RESERVED_LABEL, "label name \"__name__\" is reserved");
        h = fold_slice(nm, nesc, SEED_LABEL); /* label_term() mixes */
        if (!quoted && !exemplar && n < 16 && nm.len <= 16) {
            struct prex__lname *k = &p->_lnames[n];
            unsigned char b[16] = { 0 };

            memcpy(b, nm.ptr, nm.len);
            memcpy(&k->w[0], b, 8);
            memcpy(&k->w[1], b + 8, 8);
            memset(b, 0, sizeof b);
            memset(b, 0xff, nm.len);
            memcpy(&k->m[0], b, 8);
            memcpy(&k->m[1], b + 8, 8);
            k->hash = h;
            k->len = nm.len;
        }
named:
        if (n >= maxl)
            return fail(c, at, PREX_E_LIMIT_LABELS, "more than %zu labels", maxl);
        slots[n].name = nm;
        slots[n].name_esc = nesc;
        {
            size_t i;
            uint64_t bit = 1ull << (h >> 58); /* top bits: the fold mixes upward */
            nhash[n] = h;
            /* seen: one bit per name seen on the line; the names are
             * compared only when the bit was already set */
            for (i = (seen & bit) ? 0 : n; i < n; i++) {
                if (nhash[i] == h && label_name_eq(&slots[i], &slots[n])) {
                    char b[64];
                    render(b, sizeof b, nm.ptr, nm.len);
                    return fail(c, at, PREX_E_DUP_LABEL, "label \"%s\" appears twice", b);
                }
            }
            seen |= bit;
        }
        tok = lex_string(c);
        if (tok == PREX__T_QSTR) {
            slots[n].value.ptr = c->lx.tok + 1;
            slots[n].value.len = (size_t)(c->lx.cur - c->lx.tok) - 2;
            slots[n].value_esc = 0;
        } else if (qstring(c, tok, PREX_E_LABEL_VALUE, "label value", &slots[n].value,
                           &slots[n].value_esc) < 0) {
            return PREX_ERROR;
        }
        if (slots[n].value.len > p->_lim.max_label_value)
            return fail(c, c->lx.tok, PREX_E_LIMIT_LABEL_VALUE,
                        "label value of %zu bytes exceeds the limit of %zu",
                        slots[n].value.len, p->_lim.max_label_value);
        if (!exemplar)
            c->term[n] = label_term(&slots[n], h);
        n++;
        tok = lex_punct(c);
        if (tok == PREX__T_RBRACE)
            break;
        if (tok != PREX__T_COMMA)
            return expected(c, tok, PREX_E_SYNTAX, "',' or '}'");
        /* text allows one trailing comma; ",," and "{,}" fail above */
        need_elem = 1;
        if (n < ncached) {
            /* back to the run after a label it could not take */
            int closed = 0;

            n = labels_run(c, slots, nhash, n, ncached, safe, &seen, &closed);
            if (closed)
                break;
        }
    }
    *nlabels = n;
    return 0;
}

/* MARK: validator */

/* Copies a family name into the parser (it must outlive its line). */
static int set_family(lctx *c, prex_slice name, int esc, const char *at, uint64_t fkey)
{
    prex_parser *p = c->p;

    if (name.len > sizeof p->_fam)
        return fail(c, at, PREX_E_LIMIT_NAME, "metric name of %zu bytes exceeds %zu",
                    name.len, sizeof p->_fam);
    memcpy(p->_fam, name.ptr, name.len);
    p->_famlen = name.len;
    p->_famesc = esc;
    p->_famhash = fkey; /* hash_slice(name, esc, SEED_FAMILY) */
    p->_snknown = 0;
    p->_famtype = PREX_TYPE_UNTYPED;
    p->_fammeta = 0;
    p->_famopen = 1;
    return 0;
}

static prex_slice fam_slice(const prex_parser *p)
{
    prex_slice s = { p->_fam, p->_famlen };
    return s;
}

static int is_hist(int t)
{
    return t == PREX_TYPE_HISTOGRAM || t == PREX_TYPE_GAUGEHISTOGRAM;
}

/* Checks done when a metric point ends (a new point, metric or family
 * begins, or the input ends). Errors point at the metric's first line. */
static int point_end(prex_parser *p)
{
    unsigned f = p->_mflags;
    int om = p->_format == PREX_FORMAT_OPENMETRICS;

    if (!p->_mopen)
        return 0;
    if (is_hist(p->_famtype) && !(f & MF_BROKEN) && (f & (MF_BUCKET | MF_COUNT | MF_SUM))) {
        if (!(f & MF_INF))
            return fail_at(p, p->_moff, p->_mline, p->_mcol, PREX_E_INF_BUCKET,
                           "a histogram needs a bucket with le=\"+Inf\"");
        if (om && !(f & MF_SUM) != !(f & MF_COUNT))
            return fail_at(p, p->_moff, p->_mline, p->_mcol, PREX_E_SUM_COUNT,
                           p->_famtype == PREX_TYPE_HISTOGRAM ? "_sum and _count must both be present or both absent"
                                                              : "_gsum and _gcount must both be present or both absent");
        if (om && (f & MF_SUM) && (f & MF_NEGB) && p->_famtype == PREX_TYPE_HISTOGRAM)
            return fail_at(p, p->_moff, p->_mline, p->_mcol, PREX_E_SUM_COUNT,
                           "a histogram with negative buckets cannot have _sum");
        if (om && (f & MF_SUM) && p->_msum < 0 && !(f & MF_NEGB))
            return fail_at(p, p->_moff, p->_mline, p->_mcol, PREX_E_NEGATIVE,
                           "the sum is negative but no bucket has a negative le");
    }
    p->_mflags = 0;
    return 0;
}

/* Ends the current family: its last metric point is checked. */
static int family_end(prex_parser *p)
{
    int r = point_end(p);
    p->_mopen = 0;
    if (p->_alc) {
        prex__set_clear(&p->_metrics, p->_alc);
        prex__set_clear(&p->_series, p->_alc);
    }
    return r;
}

static int nomem(lctx *c)
{
    return fail(c, c->start, PREX_E_NO_MEMORY, "while growing the validator's tables");
}

static const struct suffix_def {
    prex_suffix s;
    const char *str;
    size_t len;
} suffixes[] = {
    { PREX_SUFFIX_TOTAL, "_total", 6 },   { PREX_SUFFIX_CREATED, "_created", 8 },
    { PREX_SUFFIX_BUCKET, "_bucket", 7 }, { PREX_SUFFIX_SUM, "_sum", 4 },
    { PREX_SUFFIX_COUNT, "_count", 6 },   { PREX_SUFFIX_GSUM, "_gsum", 5 },
    { PREX_SUFFIX_GCOUNT, "_gcount", 7 }, { PREX_SUFFIX_INFO, "_info", 5 },
};
#define NSUFFIXES (sizeof suffixes / sizeof suffixes[0])
#define BIT(x) (1u << (x))

/* The suffixes a family of type t has in format om (bit per prex_suffix). */
static unsigned suffix_mask(int t, int om)
{
    switch (t) {
    case PREX_TYPE_COUNTER:
        return om ? BIT(PREX_SUFFIX_TOTAL) | BIT(PREX_SUFFIX_CREATED) : 0;
    case PREX_TYPE_SUMMARY:
        return BIT(PREX_SUFFIX_SUM) | BIT(PREX_SUFFIX_COUNT) | (om ? BIT(PREX_SUFFIX_CREATED) : 0);
    case PREX_TYPE_HISTOGRAM:
        return BIT(PREX_SUFFIX_BUCKET) | BIT(PREX_SUFFIX_SUM) | BIT(PREX_SUFFIX_COUNT) |
               (om ? BIT(PREX_SUFFIX_CREATED) : 0);
    case PREX_TYPE_GAUGEHISTOGRAM:
        return BIT(PREX_SUFFIX_BUCKET) | (om ? BIT(PREX_SUFFIX_GSUM) | BIT(PREX_SUFFIX_GCOUNT)
                                             : BIT(PREX_SUFFIX_SUM) | BIT(PREX_SUFFIX_COUNT));
    case PREX_TYPE_INFO:
        return BIT(PREX_SUFFIX_INFO);
    default:
        return 0;
    }
}

/* Which known suffix does name end with (after a non-empty base)? */
static const struct suffix_def *suffix_of(prex_slice name)
{
    /* the candidates by last byte, in the order of suffixes[] (indexes
     * + 1, 0 ends): most names end in none of them */
    static const unsigned char by_last[6][4] = {
        { 0 }, { 1 }, { 2 }, { 3, 5, 7 }, { 4, 6 }, { 8 },
    };
    const unsigned char *k;

    if (!name.len)
        return NULL;
    switch (name.ptr[name.len - 1]) {
    case 'l': k = by_last[1]; break; /* _total */
    case 'd': k = by_last[2]; break; /* _created */
    case 't': k = by_last[3]; break; /* _bucket, _count, _gcount */
    case 'm': k = by_last[4]; break; /* _sum, _gsum */
    case 'o': k = by_last[5]; break; /* _info */
    default: return NULL;
    }
    for (; *k; k++) {
        const struct suffix_def *sd = &suffixes[*k - 1];
        size_t n = sd->len;

        if (name.len > n && name.ptr[name.len - n] == '_' &&
            memcmp(name.ptr + name.len - n, sd->str, n) == 0)
            return sd;
    }
    return NULL;
}

/* Hash of a family name with a suffix appended (for clash checks). */
static uint64_t hash_with_suffix(prex_slice name, int esc, const struct suffix_def *sd)
{
    char tmp[PREX_MAX_NAME + 16];
    prex_slice t = { tmp, name.len + sd->len };

    if (name.len > PREX_MAX_NAME)
        return 0;
    memcpy(tmp, name.ptr, name.len);
    memcpy(tmp + name.len, sd->str, sd->len);
    return hash_slice(t, esc, SEED_FAMILY);
}

/*
 * Fails when a family named name (its suffix sd, the hash of its base
 * basekey, the hash of name as a sample name snkey) would clash with an
 * earlier family: name was one of its sample names, or is one that its
 * type implies.
 */
static int family_clash(lctx *c, prex_slice name, const char *at, const struct suffix_def *sd,
                        uint64_t basekey, uint64_t snkey)
{
    prex_parser *p = c->p;
    char b[64];
    uint32_t v;

    if (prex__set_get(&p->_families, snkey, &v) && v != p->_famid)
        return render(b, sizeof b, name.ptr, name.len), fail(c, at, PREX_E_NAME_CLASH,
                    "family \"%s\" has the name of a sample of an earlier family", b);
    if (sd && prex__set_get(&p->_families, basekey, &v) && (v >> 4) != p->_famid &&
        (suffix_mask((int)(v & 15), c->om) & BIT(sd->s)))
        return render(b, sizeof b, name.ptr, name.len), fail(c, at, PREX_E_NAME_CLASH,
                    "family \"%s\" clashes with the samples of an earlier family", b);
    return 0;
}

/*
 * Opens family name (from a metadata line, or from a sample that belongs
 * to no open family: implicit). Fails when the name was a family or a
 * sample name earlier (families are contiguous, sample names unique), or
 * when an earlier family's type makes this name one of its sample names.
 *
 * OpenMetrics only: families without metadata whose names share a base
 * ("foo_total", "foo_created") form one group that may alternate, as the
 * reference parsers accept.
 */
static int family_begin(lctx *c, prex_slice name, int esc, const char *at, int implicit)
{
    prex_parser *p = c->p;
    char b[64];
    uint64_t fkey = hash_slice(name, esc, SEED_FAMILY);
    /* name as a sample name: for the clash checks, and for the family's
     * first sample, which is named like it */
    uint64_t snkey = p->_alc ? hash_slice(name, esc, SEED_SAMPLE) : 0;
    /* the group base: the name without a suffix (OpenMetrics groups
     * implicit families by it) */
    const struct suffix_def *sd = suffix_of(name);
    uint64_t basekey = fkey;
    /* a name joining the open implicit group of its base: the group
     * stays (no family end, the same family id) */
    int join;
    uint32_t v;

    if (sd) {
        prex_slice base = { name.ptr, name.len - sd->len };
        basekey = hash_slice(base, esc, SEED_FAMILY);
    }
    join = implicit && c->om && p->_famopen && p->_famimplicit && esc == p->_famesc &&
           basekey == p->_grpbase;
    if (!join) {
        if (family_end(p) < 0)
            return PREX_ERROR;
        p->_famid++;
        p->_lastsn = 0;
    }
    if (p->_alc) {
        int r;
        /* the first family: room at once for the family and sample names
         * the buffer may hold (one per 64 bytes, at most 2048), instead of
         * doubling the set from 64 slots as they come */
        if (!p->_families._cap &&
            prex__set_reserve(&p->_families, p->_alc,
                              p->_len / 64 < 2048 ? p->_len / 64 : 2048) < 0)
            return nomem(c);
        v = p->_famid << 4;
        r = prex__set_get_or_put(&p->_families, p->_alc, fkey, &v);
        if (r < 0)
            return nomem(c);
        /* seen before: only a name of the joined group may come again */
        if (r == 1 && (v >> 4) != p->_famid)
            return render(b, sizeof b, name.ptr, name.len), fail(c, at, PREX_E_NOT_CONTIGUOUS,
                        "family \"%s\" already appeared earlier; all lines of a family must be together", b);
        /* a name joining a group gets the checks a family of its own
         * does: "a_gsum" after a gauge histogram "a" is one of its sample
         * names */
        if (family_clash(c, name, at, sd, basekey, snkey) < 0)
            return PREX_ERROR;
    }
    if (set_family(c, name, esc, at, fkey) < 0)
        return PREX_ERROR;
    if (!join) {
        p->_famimplicit = implicit;
        p->_grpbase = basekey;
    }
    if (p->_alc) {
        p->_snhash[PREX_SUFFIX_NONE] = snkey;
        p->_snknown = BIT(PREX_SUFFIX_NONE);
    }
    return 0;
}

/* Records the family's type and checks that none of the sample names the
 * type implies is the name of an earlier family. */
static int family_type(lctx *c, int type, const char *at)
{
    prex_parser *p = c->p;
    prex_slice f = fam_slice(p);
    unsigned mask = suffix_mask(type, c->om);
    uint32_t v;

    p->_famtype = type;
    if (!p->_alc)
        return 0;
    prex__set_update(&p->_families, p->_famhash, (p->_famid << 4) | (uint32_t)type);
    /* only the suffixes the type has (none for a gauge); suffixes[] is
     * in prex_suffix order from PREX_SUFFIX_TOTAL (1) */
    for (; mask; mask &= mask - 1) {
        const struct suffix_def *sd = &suffixes[__builtin_ctz(mask) - 1];

        if (prex__set_get(&p->_families, hash_with_suffix(f, p->_famesc, sd), &v)) {
            char b[64];
            render(b, sizeof b, f.ptr, f.len);
            return fail(c, at, PREX_E_NAME_CLASH,
                        "the %s family \"%s\" would have samples named like an earlier family (%s)",
                        prex_type_name((prex_type)type, (prex_format)p->_format), b, sd->str);
        }
    }
    return 0;
}

/* Does a sample named name belong to the open family, and as what? */
static int belongs(const prex_parser *p, prex_slice name, int esc, prex_suffix *sfx)
{
    unsigned allowed;
    size_t i;

    if (!p->_famopen || esc != p->_famesc)
        return 0;
    if (name.len == p->_famlen && memcmp(name.ptr, p->_fam, name.len) == 0) {
        *sfx = PREX_SUFFIX_NONE;
        return 1;
    }
    if (name.len <= p->_famlen || memcmp(name.ptr, p->_fam, p->_famlen) != 0)
        return 0;
    allowed = suffix_mask(p->_famtype, p->_format == PREX_FORMAT_OPENMETRICS);
    for (i = 0; i < NSUFFIXES; i++) {
        if ((allowed & BIT(suffixes[i].s)) && name.len == p->_famlen + suffixes[i].len &&
            memcmp(name.ptr + p->_famlen, suffixes[i].str, suffixes[i].len) == 0) {
            *sfx = suffixes[i].s;
            return 1;
        }
    }
    return 0;
}

/* Finds a label by name; NULL if absent. */
static const prex_label *find_label(const prex_event *ev, const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < ev->nlabels; i++)
        if (!ev->labels[i].name_esc && ev->labels[i].name.len == len &&
            memcmp(ev->labels[i].name.ptr, name, len) == 0)
            return &ev->labels[i];
    return NULL;
}

/* Parses a label value that must hold a float (le, quantile). */
static int label_float(const prex_label *l, int om, double *v)
{
    (void)om;
    if (l->value_esc)
        return -1;
    return prex__number(l->value.ptr, l->value.len, v);
}

/*
 * Reads s[0..n) as a whole sample-value token (the float grammar, no
 * overflow), the way the parser reads le and quantile values. Returns 0,
 * or -1 when it is not one.
 */
int prex__number(const char *s, size_t n, double *v)
{
    prex__lexer lx;
    int tok;
    char tmp[128];

    if (n == 0 || n >= sizeof tmp)
        return -1;
    /* lex a NUL-terminated copy so the token cannot run into the quote */
    memcpy(tmp, s, n);
    tmp[n] = 0;
    lx.cur = tmp;
    lx.lim = tmp + n;
    lx.tok = tmp;
    tok = prex__lex(&lx, PREX__C_VAL);
    if ((tok != PREX__T_INT && tok != PREX__T_FLOAT) || lx.cur != tmp + n)
        return -1;
    return to_double(tmp, n, v) != 0 ? -1 : 0;
}

/* Order-independent hash of a label set (a sum of the per-label terms
 * labels() computed as it read each label), and *skipterm, the term of
 * label skip (0 when skip is NULL). */
static uint64_t labels_hash(const lctx *c, const prex_event *ev, const prex_label *skip,
                            uint64_t *skipterm)
{
    uint64_t h = 0;
    size_t i;

    for (i = 0; i < ev->nlabels; i++)
        h += c->term[i];
    *skipterm = skip ? c->term[skip - ev->labels] : 0;
    return h;
}

/*
 * The series key the validator uses for duplicate series: the sample name
 * and the labels with non-empty values, in any order. For library code
 * that must tell two samples of one series apart from two series.
 */
uint64_t prex__series_key(const prex_event *ev)
{
    uint64_t h = 0;
    size_t i;

    for (i = 0; i < ev->nlabels; i++)
        h += label_term(&ev->labels[i], fold_slice(ev->labels[i].name,
                                                   ev->labels[i].name_esc, SEED_LABEL));
    return mix64(h ^ hash_slice(ev->name, ev->name_esc, SEED_SAMPLE));
}

static int is_integer(double v)
{
    return isfinite(v) && floor(v) == v;
}

/*
 * Validates a parsed sample against the family state and updates it.
 * at_name/at_value point at the name and value tokens for error positions.
 */
static int validate_sample(lctx *c, prex_event *ev, const char *at_name, const char *at_value)
{
    prex_parser *p = c->p;
    prex_suffix sfx = PREX_SUFFIX_NONE;
    const prex_label *le = NULL, *q = NULL, *skip = NULL;
    int om = c->om, t;
    uint64_t mkey, skey, namehash;
    char b[64];
    int member = belongs(p, ev->name, ev->name_esc, &sfx);

    if (!member) {
        if (family_begin(c, ev->name, ev->name_esc, at_name, 1) < 0)
            return PREX_ERROR;
        sfx = PREX_SUFFIX_NONE;
    }
    t = p->_famtype;
    ev->type = (prex_type)t;
    ev->suffix = sfx;
    ev->family.ptr = ev->name.ptr;
    ev->family.len = ev->name.len - prex_suffix_len(sfx);
    p->_fammeta |= FM_SAMPLES;

    /* sample names are unique to one family; a sample's name is the
     * family's bytes and its suffix (a sample that opened its family has
     * the family's name), so its hash is kept per suffix */
    if (p->_snknown & BIT(sfx)) {
        namehash = p->_snhash[sfx];
    } else {
        namehash = hash_slice(ev->name, ev->name_esc, SEED_SAMPLE);
        p->_snhash[sfx] = namehash;
        p->_snknown |= BIT(sfx);
    }
    if (p->_alc) {
        uint64_t h = namehash;
        if (h != p->_lastsn) {
            uint32_t v = p->_famid;
            int r = prex__set_get_or_put(&p->_families, p->_alc, h, &v);
            if (r < 0)
                return nomem(c);
            if ((r == 1 && v != p->_famid) ||
                (sfx != PREX_SUFFIX_NONE &&
                 prex__set_get(&p->_families, hash_slice(ev->name, ev->name_esc, SEED_FAMILY), &v))) {
                render(b, sizeof b, ev->name.ptr, ev->name.len);
                return fail(c, at_name, PREX_E_NAME_CLASH,
                            "sample name \"%s\" clashes with another family", b);
            }
            p->_lastsn = h;
        }
    }

    /* per-type rules */
    switch (t) {
    case PREX_TYPE_COUNTER:
        if (om && sfx == PREX_SUFFIX_NONE)
            return fail(c, at_name, PREX_E_SUFFIX,
                        "an OpenMetrics counter's samples are named <family>_total or <family>_created");
        if (om && sfx == PREX_SUFFIX_TOTAL) {
            if (isnan(ev->value))
                return fail(c, at_value, PREX_E_NAN_VALUE, "a counter cannot be NaN");
            if (ev->value < 0)
                return fail(c, at_value, PREX_E_NEGATIVE, "a counter cannot be negative");
        }
        break;
    case PREX_TYPE_SUMMARY:
        q = find_label(ev, "quantile", 8);
        if (sfx == PREX_SUFFIX_NONE) {
            double qv;
            if (!q)
                return fail(c, at_name, PREX_E_QUANTILE, "summary sample without a quantile label");
            if (label_float(q, om, &qv) < 0) {
                render(b, sizeof b, q->value.ptr, q->value.len);
                return fail(c, q->value.ptr, PREX_E_QUANTILE, "quantile \"%s\" is not a number", b);
            }
            if (om && (isnan(qv) || qv < 0 || qv > 1))
                return fail(c, q->value.ptr, PREX_E_QUANTILE, "quantile must be between 0 and 1");
            if (om && (isnan(ev->value) ? 0 : ev->value < 0))
                return fail(c, at_value, PREX_E_NEGATIVE, "a quantile value cannot be negative");
            skip = q;
        } else {
            if (q)
                return fail(c, q->name.ptr, PREX_E_RESERVED_FOR_TYPE,
                            "label \"quantile\" is only for the summary's quantile samples");
            if (om && (sfx == PREX_SUFFIX_SUM || sfx == PREX_SUFFIX_COUNT)) {
                if (isnan(ev->value))
                    return fail(c, at_value, PREX_E_NAN_VALUE, "summary _sum and _count cannot be NaN");
                if (ev->value < 0)
                    return fail(c, at_value, PREX_E_NEGATIVE, "summary _sum and _count cannot be negative");
            }
            if (om && sfx == PREX_SUFFIX_COUNT && !is_integer(ev->value))
                return fail(c, at_value, PREX_E_COUNT_VALUE, "summary _count must be an integer");
        }
        break;
    case PREX_TYPE_HISTOGRAM:
    case PREX_TYPE_GAUGEHISTOGRAM:
        le = find_label(ev, "le", 2);
        if (sfx == PREX_SUFFIX_NONE)
            return fail(c, at_name, PREX_E_SUFFIX,
                        "histogram samples are named <family>_bucket, _sum or _count");
        if (sfx != PREX_SUFFIX_BUCKET && le)
            return fail(c, le->name.ptr, PREX_E_RESERVED_FOR_TYPE,
                        "label \"le\" is only for the histogram's _bucket samples");
        skip = le;
        break;
    case PREX_TYPE_INFO:
        if (sfx != PREX_SUFFIX_INFO)
            return fail(c, at_name, PREX_E_SUFFIX, "info samples are named <family>_info");
        if (ev->value != 1)
            return fail(c, at_value, PREX_E_INFO, "an info sample's value must be 1");
        break;
    case PREX_TYPE_STATESET: {
        size_t i;
        if (!(ev->value == 0 || ev->value == 1))
            return fail(c, at_value, PREX_E_STATESET, "a stateset sample's value must be 0 or 1");
        for (i = 0; i < ev->nlabels; i++)
            if (raw_eq(ev->labels[i].name, ev->labels[i].name_esc, fam_slice(p), p->_famesc))
                skip = &ev->labels[i];
        if (!skip)
            return fail(c, at_name, PREX_E_STATESET, "a stateset sample needs a label named after its family");
        break;
    }
    default:
        break;
    }

    /* exemplars */
    if (ev->has_exemplar) {
        if (!((t == PREX_TYPE_COUNTER && sfx == PREX_SUFFIX_TOTAL) ||
              (is_hist(t) && sfx == PREX_SUFFIX_BUCKET)))
            return fail(c, c->at_exemplar, PREX_E_EXEMPLAR_PLACE,
                        "exemplars are allowed only on counter _total and histogram _bucket samples");
        if (prex__exemplar_chars(&ev->exemplar) > 128)
            return fail(c, c->at_exemplar, PREX_E_EXEMPLAR_LENGTH,
                        "exemplar label names and values exceed 128 characters");
    }

    /* metric points: grouping, duplicates, timestamps */
    {
        uint64_t skipterm, all = labels_hash(c, ev, skip, &skipterm);
        mkey = mix64((all - skipterm) + p->_famhash);
        skey = mix64(all ^ namehash);
    }
    if (!p->_mopen || mkey != p->_mhash) {
        if (point_end(p) < 0)
            return PREX_ERROR;
        if (p->_alc) {
            uint32_t v = 1;
            int r = prex__set_get_or_put(&p->_metrics, p->_alc, mkey, &v);
            if (r < 0)
                return nomem(c);
            if (r == 1) {
                if (skey == p->_lastskey || t <= PREX_TYPE_GAUGE || t == PREX_TYPE_INFO)
                    return fail(c, at_name, PREX_E_DUP_SERIES,
                                "this series appeared earlier in the family");
                return fail(c, at_name, PREX_E_INTERLEAVED,
                            "the lines of one metric (same labels) must be together");
            }
            prex__set_clear(&p->_series, p->_alc);
        }
        p->_mopen = 1;
        p->_mhash = mkey;
        p->_mflags = 0;
        p->_mhas_ts = 0;
        p->_moff = p->_base + (uint64_t)(at_name - p->_buf);
        p->_mline = p->_line;
        p->_mcol = (uint64_t)(at_name - c->start) + 1;
        /* the point's first series stays in _lastskey: _series is filled
         * only when a second one joins it (most points hold one) */
    } else if (p->_alc) {
        uint32_t v = 0;
        int r;

        if (p->_series._count == 0 && skey == p->_lastskey) {
            r = 1;
        } else {
            if (p->_series._count == 0 &&
                prex__set_get_or_put(&p->_series, p->_alc, p->_lastskey, &v) < 0)
                return nomem(c);
            r = prex__set_get_or_put(&p->_series, p->_alc, skey, &v);
        }
        if (r < 0)
            return nomem(c);
        if (r == 1) {
            /* the same series again: a new point of this metric, allowed
             * only with timestamps that do not go backwards */
            if (!ev->has_timestamp || !p->_mhas_ts)
                return fail(c, at_name, PREX_E_DUP_SERIES, "this series appeared earlier in the family");
            if (ev->timestamp_ms < p->_mts)
                return fail(c, ev->timestamp_raw.ptr, PREX_E_TS_ORDER, "timestamp is older than the metric's previous point");
            if (point_end(p) < 0)
                return PREX_ERROR;
            prex__set_clear(&p->_series, p->_alc);
        }
    }
    p->_lastskey = skey;
    if (ev->has_timestamp) {
        if (p->_mhas_ts && ev->timestamp_ms < p->_mts && om)
            return fail(c, ev->timestamp_raw.ptr, PREX_E_TS_ORDER, "timestamp is older than the metric's previous point");
        p->_mts = ev->timestamp_ms;
        p->_mhas_ts = 1;
    }

    /* histogram state of the point */
    if (is_hist(t)) {
        double v = ev->value;
        if (sfx == PREX_SUFFIX_BUCKET) {
            double lev;
            if (!le)
                return fail(c, at_name, PREX_E_LE, "histogram bucket without an le label");
            if (label_float(le, om, &lev) < 0 ||
                (om && isinf(lev) && lev > 0 && !slice_eq(le->value, "+Inf", 4))) {
                render(b, sizeof b, le->value.ptr, le->value.len);
                return fail(c, le->value.ptr, PREX_E_LE, "le=\"%s\" is not a valid bucket bound", b);
            }
            if (isnan(lev))
                return fail(c, le->value.ptr, PREX_E_LE, "le cannot be NaN");
            if (isnan(v))
                return fail(c, at_value, PREX_E_BUCKET_VALUE, "a bucket count cannot be NaN");
            if (v < 0)
                return fail(c, at_value, PREX_E_NEGATIVE, "a bucket count cannot be negative");
            if (om && !is_integer(v))
                return fail(c, at_value, PREX_E_BUCKET_VALUE, "a bucket count must be an integer");
            if (p->_mflags & MF_BUCKET) {
                if (!(lev > p->_mlast_le))
                    return fail(c, le->value.ptr, PREX_E_LE_ORDER,
                                "buckets must be in increasing order of le");
                if (v < p->_mlast_bucket)
                    return fail(c, at_value, PREX_E_BUCKET_VALUE,
                                "bucket counts must not decrease (they are cumulative)");
            }
            if (lev < 0)
                p->_mflags |= MF_NEGB;
            p->_mflags |= MF_BUCKET;
            p->_mlast_le = lev;
            p->_mlast_bucket = v;
            if (isinf(lev)) {
                p->_mflags |= MF_INF;
                p->_minf = v;
                if ((p->_mflags & MF_COUNT) && p->_mcount != v)
                    return fail(c, at_value, PREX_E_COUNT_MISMATCH,
                                "the +Inf bucket must equal the histogram's count");
            }
        } else if (sfx == PREX_SUFFIX_COUNT || sfx == PREX_SUFFIX_GCOUNT) {
            if (isnan(v) && om)
                return fail(c, at_value, PREX_E_NAN_VALUE, "a histogram count cannot be NaN");
            if (v < 0)
                return fail(c, at_value, PREX_E_NEGATIVE, "a histogram count cannot be negative");
            if (om && !is_integer(v))
                return fail(c, at_value, PREX_E_COUNT_VALUE, "a histogram count must be an integer");
            if ((p->_mflags & MF_INF) && p->_minf != v)
                return fail(c, at_value, PREX_E_COUNT_MISMATCH,
                            "the count must equal the +Inf bucket");
            p->_mflags |= MF_COUNT;
            p->_mcount = v;
        } else if (sfx == PREX_SUFFIX_SUM || sfx == PREX_SUFFIX_GSUM) {
            if (isnan(v) && om)
                return fail(c, at_value, PREX_E_NAN_VALUE, "a histogram sum cannot be NaN");
            p->_mflags |= MF_SUM;
            p->_msum = v;
        }
    }
    return 0;
}

/* MARK: sample lines */

/*
 * Parses the rest of an exemplar after " # " (OpenMetrics):
 * "{labels} value [timestamp]" up to the line end.
 */
static int exemplar_body(lctx *c, prex_event *ev)
{
    prex_exemplar *ex = &ev->exemplar;
    prex_event tmp;
    int tok = lex(c, PREX__C_GEN);

    if (tok != PREX__T_LBRACE)
        return expected(c, tok, PREX_E_EXEMPLAR, "'{' to start the exemplar's labels");
    memset(&tmp, 0, sizeof tmp);
    if (labels(c, 1, &tmp, &ex->nlabels) < 0)
        return PREX_ERROR;
    ex->labels = c->p->_exlabels;
    tok = lex(c, PREX__C_VAL);
    if (om_space(c, tok, "the exemplar value") < 0)
        return PREX_ERROR;
    tok = lex(c, PREX__C_VAL);
    if (value_token(c, tok, "exemplar value", &ex->value, &ex->value_raw) < 0)
        return PREX_ERROR;
    tok = lex(c, PREX__C_VAL);
    if (tok == PREX__T_BLANK && c->lx.cur - c->lx.tok == 1 && *c->lx.tok == ' ') {
        const char *sp = c->lx.tok;
        tok = lex(c, PREX__C_VAL);
        if (tok == PREX__T_INT || tok == PREX__T_FLOAT || tok == PREX__T_WORD) {
            if (timestamp_token(c, tok, &ex->timestamp_ms, &ex->timestamp_raw) < 0)
                return PREX_ERROR;
            ex->has_timestamp = 1;
            tok = lex(c, PREX__C_VAL);
        } else {
            c->lx.cur = sp;
            tok = lex(c, PREX__C_VAL);
        }
    }
    ev->has_exemplar = 1;
    return end_of_line(c, tok, PREX__C_VAL);
}

/* Parses an exemplar; a syntax error inside it is reported as EXEMPLAR. */
static int exemplar(lctx *c, prex_event *ev)
{
    if (exemplar_body(c, ev) == 0)
        return 0;
    if (c->p->_err.code == PREX_E_SYNTAX || c->p->_err.code == PREX_E_VALUE)
        c->p->_err.code = PREX_E_EXEMPLAR, c->p->_err.msg = prex_strerror(PREX_E_EXEMPLAR);
    return PREX_ERROR;
}

/*
 * Parses a sample line whose first token tok (an identifier or "{") was
 * just lexed, then validates it. Fills ev.
 */
static int sample_line(lctx *c, int tok, prex_event *ev)
{
    const char *at_name = c->lx.tok, *at_value;
    int om = c->om, conv = 0;

    ev->kind = PREX_EV_SAMPLE;
    ev->labels = c->p->_labels;
    if (tok == PREX__T_IDENT || tok == PREX__T_LNAME) {
        ev->name.ptr = c->lx.tok;
        ev->name.len = (size_t)(c->lx.cur - c->lx.tok);
        if (peek(c) == '{') {
            tok = take_lbrace(c);
        } else {
            tok = lex(c, PREX__C_GEN);
            if (tok != PREX__T_BLANK)
                return expected(c, tok, PREX_E_NAME, "' ' or '{' after the metric name");
            if (om && om_space(c, tok, "the value") < 0)
                return PREX_ERROR;
            if (!om && peek(c) == '{')
                tok = take_lbrace(c);
        }
    }
    if (tok == PREX__T_LBRACE) {
        if (labels(c, 0, ev, &ev->nlabels) < 0)
            return PREX_ERROR;
        if (!ev->name.ptr)
            return fail(c, at_name, PREX_E_NAME, "no metric name: write it before '{' or quoted inside");
        if (om) {
            tok = lex_val_next(c);
            if (om_space(c, tok, "the value") < 0)
                return PREX_ERROR;
        } else if (peek(c) == ' ' || peek(c) == '\t') {
            lex_val_next(c);
        }
    }

    tok = lex_value(c, &ev->value, &conv);
    at_value = c->lx.tok;
    if (conv) {
        ev->value_raw.ptr = at_value;
        ev->value_raw.len = (size_t)(c->lx.cur - at_value);
    } else if (value_token(c, tok, "sample value", &ev->value, &ev->value_raw) < 0) {
        return PREX_ERROR;
    }

    tok = lex_val_next(c);
    if (tok == PREX__T_BLANK) {
        const char *blank = c->lx.tok;
        int single = c->lx.cur - blank == 1 && *blank == ' ';
        tok = lex(c, PREX__C_VAL);
        if (tok == PREX__T_INT || tok == PREX__T_FLOAT || tok == PREX__T_WORD) {
            if (om && !single)
                return fail(c, blank + (*blank == ' '), PREX_E_SYNTAX,
                            "expected a single space before the timestamp");
            if (timestamp_token(c, tok, &ev->timestamp_ms, &ev->timestamp_raw) < 0)
                return PREX_ERROR;
            ev->has_timestamp = 1;
            tok = lex(c, PREX__C_VAL);
            if (tok == PREX__T_BLANK) {
                blank = c->lx.tok;
                single = c->lx.cur - blank == 1 && *blank == ' ';
                tok = lex(c, PREX__C_VAL);
                if (tok == PREX__T_HASH && om && single) {
                    c->at_exemplar = c->lx.tok;
                    tok = lex(c, PREX__C_GEN);
                    if (om_space(c, tok, "the exemplar") < 0)
                        return PREX_ERROR;
                    if (exemplar(c, ev) < 0)
                        return PREX_ERROR;
                    goto validate;
                }
                c->lx.cur = blank;
                tok = lex(c, PREX__C_VAL);
            }
        } else if (tok == PREX__T_HASH && om && single) {
            c->at_exemplar = c->lx.tok;
            tok = lex(c, PREX__C_GEN);
            if (om_space(c, tok, "the exemplar") < 0)
                return PREX_ERROR;
            if (exemplar(c, ev) < 0)
                return PREX_ERROR;
            goto validate;
        } else if (tok == PREX__T_HASH && !om) {
            return fail(c, c->lx.tok, PREX_E_TIMESTAMP,
                        "expected integer milliseconds as timestamp, found '#' (comments and exemplars are not allowed after a sample in the text format)");
        } else {
            c->lx.cur = blank;
            tok = lex(c, PREX__C_VAL);
        }
    }
    /* a plain line end needs none of end_of_line()'s checks */
    if (tok != PREX__T_NL && end_of_line(c, tok, PREX__C_VAL) < 0)
        return PREX_ERROR;
validate:
    return validate_sample(c, ev, at_name, at_value);
}

/* MARK: metadata and comment lines */

/* Case-insensitive (text) or exact (OpenMetrics) type token lookup. */
static int type_from_token(const char *s, size_t n, int om)
{
    static const struct {
        const char *name; int type; int in_text; int in_om;
    } types[] = {
        { "counter", PREX_TYPE_COUNTER, 1, 1 },
        { "gauge", PREX_TYPE_GAUGE, 1, 1 },
        { "histogram", PREX_TYPE_HISTOGRAM, 1, 1 },
        { "summary", PREX_TYPE_SUMMARY, 1, 1 },
        { "untyped", PREX_TYPE_UNTYPED, 1, 0 },
        { "unknown", PREX_TYPE_UNTYPED, 0, 1 },
        { "gaugehistogram", PREX_TYPE_GAUGEHISTOGRAM, 1, 1 },
        { "gauge_histogram", PREX_TYPE_GAUGEHISTOGRAM, 1, 0 },
        { "info", PREX_TYPE_INFO, 0, 1 },
        { "stateset", PREX_TYPE_STATESET, 0, 1 },
    };
    size_t i;

    /* the one candidate of this length (and first letters, case folded
     * with 0x20 only to choose: the compare below decides); its name has
     * n bytes */
    switch (n) {
    case 4: i = 8; break;
    case 5: i = 1; break;
    case 7:
        i = (s[0] | 0x20) == 'c' ? 0 : (s[0] | 0x20) == 's' ? 3 : (s[2] | 0x20) == 't' ? 4 : 5;
        break;
    case 8: i = 9; break;
    case 9: i = 2; break;
    case 14: i = 6; break;
    case 15: i = 7; break;
    default: return -1;
    }
    if (om ? !types[i].in_om : !types[i].in_text)
        return -1;
    if (memcmp(types[i].name, s, n) == 0 || (!om && ieq(s, n, types[i].name)))
        return types[i].type;
    return -1;
}

/* Checks the escapes of HELP text: text format allows \\ \n \" only. */
static int help_escapes(lctx *c, prex_slice t, unsigned char *esc)
{
    const char *q = t.ptr, *e = t.ptr + t.len;

    *esc = 0;
    while ((q = memchr(q, '\\', (size_t)(e - q))) != NULL) {
        *esc = 1;
        if (q + 1 == e)
            return c->om ? 0 : fail(c, q, PREX_E_ESCAPE, "HELP text ends with a lone backslash");
        if (!c->om && q[1] != '\\' && q[1] != 'n' && q[1] != '"')
            return fail(c, q, PREX_E_ESCAPE,
                        "invalid escape sequence '\\%c' in HELP text (only \\\\, \\n and \\\")",
                        q[1] >= 0x20 && q[1] < 0x7f ? q[1] : '?');
        q += 2;
    }
    return 0;
}

/* Reads the rest of the line as text (TEXT condition) into *t, then the
 * line end. Strips one "\r" before "\n" under PREX_LENIENT_CRLF. */
static int rest_of_line(lctx *c, prex_slice *t, int need_utf8)
{
    const char *s = c->lx.cur;
    const char *nl = memchr(s, '\n', (size_t)(c->lx.lim - s));
    int tok;

    if (nl && (!need_utf8 || ascii_only(s, nl))) {
        /* the text needs no UTF-8 check (text format), or is ASCII: no
         * need to walk the lexer's UTF-8 automaton over it */
        t->ptr = s;
        t->len = (size_t)(nl - s);
        c->lx.tok = nl;
        c->lx.cur = nl + 1;
        tok = PREX__T_NL;
        goto line_end;
    }
    tok = lex(c, PREX__C_TEXT);

    t->ptr = c->lx.tok;
    t->len = 0;
    if (tok == PREX__T_TEXT || tok == PREX__T_TEXT_RAW) {
        if (tok == PREX__T_TEXT_RAW && need_utf8) {
            const char *q = c->lx.tok;
            while ((unsigned char)*q < 0x80)
                q++;
            return fail(c, q, PREX_E_UTF8, "text is not valid UTF-8");
        }
        t->len = (size_t)(c->lx.cur - c->lx.tok);
        tok = lex(c, PREX__C_TEXT);
    }
line_end:
    if (t->len && t->ptr[t->len - 1] == '\r' && tok == PREX__T_NL) {
        if (!(c->p->_flags & PREX_LENIENT_CRLF))
            return fail(c, t->ptr + t->len - 1, PREX_E_CR,
                        "lines end with \"\\n\" only (--lenient crlf accepts \"\\r\\n\")");
        t->len--;
    }
    return end_of_line(c, tok, PREX__C_VAL);
}

/* Applies a HELP/TYPE/UNIT line to the family state. */
static int validate_meta(lctx *c, prex_event *ev, const char *at_name)
{
    prex_parser *p = c->p;
    unsigned bit = ev->kind == PREX_EV_HELP ? FM_HELP : ev->kind == PREX_EV_TYPE ? FM_TYPE : FM_UNIT;
    static const char *what[] = { "", "HELP", "TYPE", "UNIT" };

    if (!p->_famopen || !raw_eq(ev->name, ev->name_esc, fam_slice(p), p->_famesc)) {
        if (family_begin(c, ev->name, ev->name_esc, at_name, 0) < 0)
            return PREX_ERROR;
    } else {
        if (p->_fammeta & bit)
            return fail(c, at_name, ev->kind == PREX_EV_HELP ? PREX_E_DUP_HELP
                                  : ev->kind == PREX_EV_TYPE ? PREX_E_DUP_TYPE : PREX_E_DUP_UNIT,
                        "second %s line for this family", what[ev->kind]);
        /* text: a HELP after the samples is accepted, as expfmt does */
        if ((p->_fammeta & FM_SAMPLES) && (c->om || ev->kind != PREX_EV_HELP))
            return fail(c, at_name, PREX_E_META_AFTER_SAMPLES,
                        "%s must come before the family's first sample", what[ev->kind]);
    }
    p->_fammeta |= bit;
    if (ev->kind == PREX_EV_TYPE) {
        if (family_type(c, ev->type, at_name) < 0)
            return PREX_ERROR;
        if ((p->_fammeta & 0x10u) &&
            (ev->type == PREX_TYPE_INFO || ev->type == PREX_TYPE_STATESET))
            return fail(c, at_name, PREX_E_UNIT, "info and stateset families cannot have a unit");
    }
    if (ev->kind == PREX_EV_UNIT && ev->text.len) {
        prex_slice f = fam_slice(p);
        if (p->_famtype == PREX_TYPE_INFO || p->_famtype == PREX_TYPE_STATESET)
            return fail(c, ev->text.ptr, PREX_E_UNIT, "info and stateset families cannot have a unit");
        if (!(f.len > ev->text.len + 1 && f.ptr[f.len - ev->text.len - 1] == '_' &&
              memcmp(f.ptr + f.len - ev->text.len, ev->text.ptr, ev->text.len) == 0))
            return fail(c, ev->text.ptr, PREX_E_UNIT_SUFFIX,
                        "the family name must end with \"_\" and its unit");
        p->_fammeta |= 0x10u;
    }
    return 0;
}

/*
 * Makes the line a plain comment (text format): the event keeps its offset
 * and line, and its text is everything after the '#' at after_hash.
 */
static int as_comment(lctx *c, prex_event *ev, const char *after_hash)
{
    uint64_t off = ev->offset, line = ev->line;

    c->lx.cur = after_hash;
    memset(ev, 0, sizeof *ev);
    ev->offset = off;
    ev->line = line;
    ev->kind = PREX_EV_COMMENT;
    return rest_of_line(c, &ev->text, 0);
}

/*
 * Parses a line that starts with '#' (just lexed). Text format: HELP and
 * TYPE lines, anything else is a comment. OpenMetrics: HELP, TYPE, UNIT
 * and EOF only.
 */
static int hash_line(lctx *c, prex_event *ev)
{
    prex_parser *p = c->p;
    const char *after_hash = c->lx.cur, *at_name;
    int tok, kind = 0, om = c->om;

    /* the common form, "# HELP name text" or "# TYPE name type" (OpenMetrics
     * also "# UNIT"): one space each, a plain name, without the lexer; it
     * gives what the tokens below would, anything else goes to them */
    if (c->lx.lim - after_hash >= 7 && after_hash[0] == ' ' && after_hash[5] == ' ' &&
        (prex__namech[(unsigned char)after_hash[6]] & 5)) {
        const char *s = after_hash + 1;

        kind = memcmp(s, "HELP", 4) == 0   ? PREX_EV_HELP
               : memcmp(s, "TYPE", 4) == 0 ? PREX_EV_TYPE
               : om && memcmp(s, "UNIT", 4) == 0 ? PREX_EV_UNIT : 0;
        if (kind) {
            int colons;
            const char *n = after_hash + 6;
            const char *e = (const char *)prex__scan_name((const unsigned char *)n,
                                                          (const unsigned char *)c->lx.lim,
                                                          &colons);

            /* text: one space, not the start of a longer blank (the
             * sentinel NUL at the limit is neither) */
            if (*e == ' ' && (om || (e[1] != ' ' && e[1] != '\t'))) {
                at_name = n;
                ev->kind = kind;
                ev->name.ptr = n;
                ev->name.len = (size_t)(e - n);
                ev->name_esc = 0;
                c->lx.tok = e;
                c->lx.cur = e + 1;
                goto text;
            }
            kind = 0;
        }
    }
    tok = lex(c, PREX__C_GEN);
    if (om) {
        if (!(tok == PREX__T_BLANK && c->lx.cur - c->lx.tok == 1 && *c->lx.tok == ' '))
            return fail(c, after_hash - 1, PREX_E_COMMENT,
                        "expected '# HELP', '# TYPE', '# UNIT' or '# EOF' (OpenMetrics has no comments)");
        tok = lex(c, PREX__C_GEN);
    } else if (tok == PREX__T_BLANK) {
        tok = lex(c, PREX__C_GEN);
    }
    if (tok == PREX__T_LNAME) {
        prex_slice kw = { c->lx.tok, (size_t)(c->lx.cur - c->lx.tok) };
        if (SLICE_EQ_LIT(kw, "HELP"))
            kind = PREX_EV_HELP;
        else if (SLICE_EQ_LIT(kw, "TYPE"))
            kind = PREX_EV_TYPE;
        else if (om && SLICE_EQ_LIT(kw, "UNIT"))
            kind = PREX_EV_UNIT;
        else if (om && SLICE_EQ_LIT(kw, "EOF")) {
            tok = lex(c, PREX__C_GEN);
            if (tok == PREX__T_END && p->_finished) {
                ev->kind = PREX_EV_EOF;
                return 0;
            }
            if (end_of_line(c, tok, PREX__C_GEN) < 0)
                return PREX_ERROR;
            ev->kind = PREX_EV_EOF;
            return 0;
        }
    }
    if (kind) {
        tok = lex(c, PREX__C_GEN);
        if (om) {
            if (om_space(c, tok, "the metric name") < 0)
                return PREX_ERROR;
            tok = lex(c, PREX__C_GEN);
        } else if (tok == PREX__T_BLANK) {
            tok = lex(c, PREX__C_GEN);
        } else {
            kind = 0; /* "# HELPx", "# HELP" alone: a comment */
        }
    }
    if (kind && !om && !(tok == PREX__T_IDENT || tok == PREX__T_LNAME || (tok >= PREX__T_QSTR && tok <= PREX__T_QSTR_OPEN))) {
        /* "# HELP " with no name is a plain comment; anything else where
         * the name belongs is an invalid name, as in expfmt */
        if (tok != PREX__T_NL && tok != PREX__T_CRNL && tok != PREX__T_END)
            return expected(c, tok, PREX_E_NAME, "metric name after HELP or TYPE");
        kind = 0;
    }
    if (!kind) {
        if (om)
            return fail(c, after_hash - 1, PREX_E_COMMENT,
                        "expected '# HELP', '# TYPE', '# UNIT' or '# EOF' (OpenMetrics has no comments)");
        return as_comment(c, ev, after_hash);
    }

    at_name = c->lx.tok;
    ev->kind = kind;
    if (meta_name(c, tok, ev) < 0)
        return PREX_ERROR;
    if (om && peek(c) == ' ') {
        /* exactly one space; the text after it may begin with blanks */
        c->lx.cur++;
    } else if (om) {
        tok = lex(c, PREX__C_GEN);
        if (om_space(c, tok, kind == PREX_EV_TYPE ? "the type" : kind == PREX_EV_UNIT ? "the unit" : "the text") < 0) {
            int code = kind == PREX_EV_HELP ? PREX_E_HELP : kind == PREX_EV_TYPE ? PREX_E_TYPE : PREX_E_UNIT;
            p->_err.code = code;
            p->_err.msg = prex_strerror(code);
            return PREX_ERROR;
        }
    } else if ((tok = lex(c, PREX__C_GEN)) != PREX__T_BLANK) {
        /* "# HELP name" or "# TYPE name" with nothing after: ignored */
        if (tok != PREX__T_NL && tok != PREX__T_CRNL && tok != PREX__T_END)
            return expected(c, tok, PREX_E_NAME, "blank after the metric name");
        return as_comment(c, ev, after_hash);
    }
text:
    if (rest_of_line(c, &ev->text, om || kind != PREX_EV_HELP) < 0)
        return PREX_ERROR;
    if (!om && ev->text.len == 0) {
        /* "# HELP name " or "# TYPE name " with blanks and nothing
         * after: ignored like the same line without the blanks, as
         * expfmt does */
        return as_comment(c, ev, after_hash);
    }

    if (kind == PREX_EV_HELP) {
        if (help_escapes(c, ev->text, &ev->text_esc) < 0)
            return PREX_ERROR;
    } else if (kind == PREX_EV_TYPE) {
        prex_slice t = ev->text;
        int type;
        if (!om && (p->_flags & PREX_LENIENT_TRAILING_SPACE))
            while (t.len && (t.ptr[t.len - 1] == ' ' || t.ptr[t.len - 1] == '\t'))
                t.len--;
        ev->text = t;
        type = type_from_token(t.ptr, t.len, om);
        if (type < 0) {
            char b[64];
            size_t tl = t.len;
            while (tl && (t.ptr[tl - 1] == ' ' || t.ptr[tl - 1] == '\t'))
                tl--;
            if (!om && tl < t.len && type_from_token(t.ptr, tl, om) >= 0)
                return fail(c, t.ptr + tl, PREX_E_TRAILING_BLANK,
                            "expected end of line, found blank (--lenient trailing-space accepts it)");
            render(b, sizeof b, t.ptr, t.len);
            return fail(c, t.ptr, PREX_E_TYPE, om
                        ? "unknown type '%s' (expected counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown)"
                        : "unknown type '%s' (expected counter, gauge, histogram, summary or untyped)", b);
        }
        ev->type = (prex_type)type;
    } else {
        size_t i;
        for (i = 0; i < ev->text.len; i++) {
            unsigned char ch = (unsigned char)ev->text.ptr[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == ':'))
                return fail(c, ev->text.ptr + i, PREX_E_UNIT, "a unit may contain only [a-zA-Z0-9_:]");
        }
    }
    return validate_meta(c, ev, at_name);
}

/* MARK: the pull API */

void prex_parser_init(prex_parser *p, const char *buf, size_t len,
                      prex_format format, unsigned flags)
{
    assert(buf && buf[len] == '\0');
    memset(p, 0, offsetof(prex_parser, _fam));
    p->_buf = buf;
    p->_len = len;
    p->_line = 1;
    p->_format = format;
    p->_flags = flags;
    p->_alc = &prex_alloc_libc;
    p->_lim.max_line = DEFAULT_MAX_LINE;
    p->_lim.max_labels = PREX_MAX_LABELS;
    p->_lim.max_label_value = DEFAULT_MAX_LABEL_VALUE;
    p->_err.msg = prex_strerror(PREX_E_OK);
    p->_err.detail = "";
}

void prex_parser_set_limits(prex_parser *p, const prex_limits *lim)
{
    p->_lineok = 0; /* known for the old max_line only */
    p->_lim.max_line = lim->max_line ? lim->max_line : (size_t)-1;
    p->_lim.max_labels = lim->max_labels && lim->max_labels < PREX_MAX_LABELS
                             ? lim->max_labels : PREX_MAX_LABELS;
    p->_lim.max_label_value = lim->max_label_value ? lim->max_label_value : (size_t)-1;
    p->_lim.max_bytes = lim->max_bytes;
}

void prex_parser_set_alloc(prex_parser *p, const prex_alloc *alc)
{
    p->_alc = alc;
}

void prex_finish(prex_parser *p)
{
    p->_finished = 1;
}

size_t prex_parser_consumed(const prex_parser *p)
{
    return p->_pos;
}

void prex_parser_refill(prex_parser *p, const char *buf, size_t len)
{
    assert(buf && buf[len] == '\0');
    p->_base += p->_pos;
    p->_buf = buf;
    p->_len = len;
    p->_pos = 0;
}

const prex_error *prex_parser_error(const prex_parser *p)
{
    return &p->_err;
}

void prex_parser_free(prex_parser *p)
{
    prex__set_free(&p->_families, p->_alc);
    prex__set_free(&p->_series, p->_alc);
    prex__set_free(&p->_metrics, p->_alc);
}

/* Zeroes an event at the start of each line. With SSE2, in 16-byte
 * stores: the compiler makes a constant-size memset a string instruction,
 * whose start-up costs more cycles than the stores it replaces. */
static PREX_INLINE void clear_event(prex_event *ev)
{
#ifdef PREX_SIMD_SSE2
    char *b = (char *)ev;
    const __m128i z = _mm_setzero_si128();
    size_t i;

#pragma GCC unroll 16
    for (i = 0; i + 16 <= sizeof *ev; i += 16)
        _mm_storeu_si128((__m128i *)(void *)(b + i), z);
    if (sizeof *ev % 16) /* the tail: 16 bytes overlapping the last store */
        _mm_storeu_si128((__m128i *)(void *)(b + sizeof *ev - 16), z);
#else
    memset(ev, 0, sizeof *ev);
#endif
}

/* Sets the sticky error state and returns PREX_ERROR. */
static int sticky(prex_parser *p)
{
    p->_state = ST_ERROR;
    return PREX_ERROR;
}

/* End of input: check what must hold there, then report EOF. */
static int at_end(prex_parser *p, prex_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (p->_state != ST_DONE) {
        if (p->_format == PREX_FORMAT_OPENMETRICS && p->_state != ST_SAWEOF) {
            fail_at(p, p->_base + p->_len, p->_line, p->_base + p->_len - p->_lsoff + 1,
                    PREX_E_NO_EOF,
                    "expected '# EOF' as the last line");
            return sticky(p);
        }
        if (family_end(p) < 0)
            return sticky(p);
        p->_state = ST_DONE;
    }
    ev->kind = PREX_EV_EOF;
    ev->offset = p->_eofoff;
    ev->line = p->_eofline;
    return PREX_EV_EOF;
}

int prex_next(prex_parser *p, prex_event *ev)
{
    lctx c;
    const char *lim = p->_buf + p->_len;
    int tok, r;

    if (p->_state == ST_ERROR)
        return PREX_ERROR;
    if (p->_state == ST_DONE)
        return at_end(p, ev);
    if (p->_lim.max_bytes && p->_base + p->_len > p->_lim.max_bytes) {
        /* the position of byte max_bytes, counted from the current line */
        uint64_t off = p->_lim.max_bytes, line = p->_line, ls = p->_lsoff;
        size_t at = off < p->_base + p->_pos ? p->_pos : (size_t)(off - p->_base);
        const char *q = p->_buf + p->_pos, *nl;
        while ((nl = memchr(q, '\n', (size_t)(p->_buf + at - q))) != NULL) {
            line++;
            ls = p->_base + (uint64_t)(nl + 1 - p->_buf);
            q = nl + 1;
        }
        fail_at(p, off, line, off >= ls ? off - ls + 1 : 1, PREX_E_LIMIT_BYTES, "");
        snprintf(p->_detail, sizeof p->_detail, "input exceeds %llu bytes",
                 (unsigned long long)p->_lim.max_bytes);
        return sticky(p);
    }

    if (p->_state == ST_SKIPLINE) {
        /* the rest of an overlong line that recover() gave up on */
        const char *from = p->_buf + p->_pos;
        const char *nl = memchr(from, '\n', (size_t)(lim - from));
        if (!nl) {
            p->_pos = p->_len;
            if (!p->_finished)
                return PREX_NEED_MORE;
        } else {
            p->_pos = (size_t)(nl + 1 - p->_buf);
            p->_line++;
            p->_lsoff = p->_base + p->_pos;
        }
        p->_state = ST_OK;
    }

    for (;;) {
        const char *start = p->_buf + p->_pos;

        c.p = p;
        c.start = start;
        c.om = p->_format == PREX_FORMAT_OPENMETRICS;
        c.qname = 0;
        c.at_exemplar = NULL;
        c.ev = ev;
        c.lx.cur = start;
        c.lx.lim = lim;
        c.lx.tok = start;
        clear_event(ev);
        ev->offset = p->_base + p->_pos;
        ev->line = p->_line;

        if (start == lim) {
            if (p->_state != ST_SAWEOF) {
                /* text: the EOF event sits at the end of the input;
                 * OpenMetrics: at the "# EOF" line, recorded below */
                p->_eofoff = p->_base + p->_len;
                p->_eofline = p->_line;
            }
            if (!p->_finished)
                return PREX_NEED_MORE;
            return at_end(p, ev);
        }
        if (p->_state == ST_SAWEOF) {
            fail(&c, start, PREX_E_AFTER_EOF, "nothing may follow '# EOF'");
            return sticky(p);
        }
        if (p->_lim.max_line < (size_t)(lim - start) &&
            p->_base + (uint64_t)(start - p->_buf) >= p->_lineok) {
            /* the length first: an over-long line fails the same way
             * however it was cut into chunks, and leaves no trace. The
             * last newline of the max_line + 1 bytes from here ends a
             * line, and every line that starts before it is shorter than
             * the window: one search covers all of them. */
            size_t max = p->_lim.max_line;
            const char *nl = start + max + 1;

            while (nl > start && nl[-1] != '\n')
                nl--;
            if (nl == start) {
                fail(&c, start + max, PREX_E_LIMIT_LINE, "line longer than %zu bytes", max);
                return sticky(p);
            }
            p->_lineok = p->_base + (uint64_t)(nl - p->_buf);
        }

        tok = lex_line_start(&c);
        if (tok == PREX__T_BLANK && !c.om) {
            tok = lex(&c, PREX__C_GEN);
            if (tok == PREX__T_END && p->_finished) {
                /* a last line of blanks */
                p->_pos = p->_len;
                continue;
            }
        }
        switch (tok) {
        case PREX__T_NL:
        case PREX__T_CRNL:
            if (c.om)
                r = fail(&c, start, PREX_E_BLANK_LINE, "OpenMetrics does not allow empty lines");
            else if (tok == PREX__T_CRNL && !(p->_flags & PREX_LENIENT_CRLF))
                r = fail(&c, c.lx.tok, PREX_E_CR, "lines end with \"\\n\" only (--lenient crlf accepts \"\\r\\n\")");
            else
                r = 1; /* empty line: no event */
            break;
        case PREX__T_HASH:
            r = hash_line(&c, ev);
            break;
        case PREX__T_IDENT:
        case PREX__T_LNAME:
        case PREX__T_LBRACE:
            r = sample_line(&c, tok, ev);
            break;
        case PREX__T_END:
            r = fail(&c, c.lx.tok, PREX_E_TRUNCATED, "input ends inside a line");
            break;
        case PREX__T_BLANK:
            r = fail(&c, c.lx.tok, PREX_E_SYNTAX, "OpenMetrics lines cannot start with a blank");
            break;
        default:
            r = expected(&c, tok, PREX_E_NAME, "metric name, '{' or '#'");
            break;
        }

        if (r == PREX_ERROR) {
            /* An error on a line whose end is not in the buffer may only
             * be the cut: wait for more input, or call it truncated. */
            const char *nl = memchr(start, '\n', (size_t)(lim - start));
            if (!nl) {
                if (!p->_finished && p->_err.code != PREX_E_NO_MEMORY) {
                    p->_err.code = PREX_E_OK;
                    return PREX_NEED_MORE;
                }
                if (c.lx.cur >= lim && p->_err.code != PREX_E_TRUNCATED &&
                    p->_err.offset >= p->_base + (uint64_t)(c.lx.tok - p->_buf) &&
                    (p->_err.code <= PREX_E_TRAILING || p->_err.code == PREX_E_SYNTAX))
                    fail(&c, lim, PREX_E_TRUNCATED, "input ends inside a line");
            }
            return sticky(p);
        }

        /* the line is complete and valid: consume it */
        p->_pos = (size_t)(c.lx.cur - p->_buf);
        if (c.lx.cur[-1] == '\n') {
            p->_line++;
            p->_lsoff = p->_base + p->_pos;
        }
        if (r == 1)
            continue;
        if (ev->kind == PREX_EV_EOF) {
            p->_state = ST_SAWEOF;
            p->_eofoff = ev->offset;
            p->_eofline = ev->line;
            continue;
        }
        return ev->kind;
    }
}

/* Clears the error after recovery and goes on in state. The metric point
 * stays open, so that its next lines are not reported as interleaved with
 * it, but it is not checked when it ends: the line that failed may be the
 * one the checks look for. Returns 0. */
static int recovered(prex_parser *p, int state)
{
    p->_state = state;
    p->_err.code = PREX_E_OK;
    p->_err.msg = prex_strerror(PREX_E_OK);
    p->_detail[0] = 0;
    p->_mflags |= MF_BROKEN;
    p->_lastsn = 0;
    return 0;
}

int prex_parser_recover(prex_parser *p)
{
    const char *start, *lim, *nl;

    if (p->_state != ST_ERROR)
        return 0;
    switch (p->_err.code) {
    case PREX_E_NO_MEMORY:
    case PREX_E_LIMIT_BYTES:
    case PREX_E_AFTER_EOF:
    case PREX_E_NO_EOF:
    case PREX_E_TRUNCATED:
        return PREX_ERROR;
    default:
        break;
    }
    start = p->_buf + p->_pos;
    lim = p->_buf + p->_len;
    nl = memchr(start, '\n', (size_t)(lim - start));
    if (!nl) {
        if (p->_err.code == PREX_E_LIMIT_LINE && !p->_finished) {
            /* the line will never fit the caller's buffer: drop what is
             * here and skip the rest of the line as it arrives */
            p->_pos = p->_len;
            return recovered(p, ST_SKIPLINE);
        }
        if (!p->_finished)
            return PREX_NEED_MORE;
        p->_pos = p->_len;
    } else {
        p->_pos = (size_t)(nl + 1 - p->_buf);
        p->_line++;
        p->_lsoff = p->_base + p->_pos;
    }
    return recovered(p, ST_OK);
}

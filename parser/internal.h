/*
 * internal.h - declarations shared between the parser's files (lexer,
 * parser, hash sets, helpers) and the relay's modules that read what the
 * parser reads the same way; not part of the public API.
 */
#ifndef PREX_INTERNAL_H
#define PREX_INTERNAL_H

#include "prex.h"

#if defined(__GNUC__)
#define PREX_NOINLINE __attribute__((noinline))
#define PREX_INLINE inline __attribute__((always_inline))
#else
#define PREX_INLINE inline
#define PREX_NOINLINE
#endif

#if defined(__SSE2__) && !defined(PREX_NO_SIMD)
#include <emmintrin.h>
#define PREX_SIMD_SSE2 1
#endif

/* Character classes of names: 1 = [a-zA-Z_], 2 = [0-9], 4 = ':'. */
static const unsigned char prex__namech[256] = {
    ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2, ['6'] = 2,
    ['7'] = 2, ['8'] = 2, ['9'] = 2, [':'] = 4, ['_'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
};

#ifdef PREX_SIMD_SSE2
/* Classifies the 16 bytes of v, one bit per byte: returns those in
 * [A-Za-z0-9_] (letters by range after folding case, digits by range, '_'
 * by equality); *digits gets the digits, *colons the ':'. */
static inline unsigned prex__name_class16(__m128i v, unsigned *digits, unsigned *colons)
{
    const __m128i case_bit = _mm_set1_epi8(0x20), us = _mm_set1_epi8('_');
    /* x + (0x80 - lo) < -128 + width, signed: lo <= x < lo + width */
    const __m128i abias = _mm_set1_epi8((char)(0x80 - 'a')), alim = _mm_set1_epi8(-128 + 26);
    const __m128i dbias = _mm_set1_epi8((char)(0x80 - '0')), dlim = _mm_set1_epi8(-128 + 10);
    __m128i alpha = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(v, case_bit), abias), alim);
    __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(v, dbias), dlim);

    *digits = (unsigned)_mm_movemask_epi8(digit);
    *colons = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(':')));
    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(alpha, digit), _mm_cmpeq_epi8(v, us)));
}
#endif

/*
 * Finds the first byte in [p, lim) that is not a metric-name byte
 * [A-Za-z0-9_:]. Returns lim when there is none; reads nothing at or past
 * lim. The SSE2 variant classifies 16 bytes per step (letters by range
 * after folding case, digits by range, '_' and ':' by equality); the
 * scalar twin looks each byte up in prex__namech[]. *colons: whether a
 * ':' was among them. The parser scans line-start metric names this way
 * (20 to 40 bytes is common; label names are short and lexed), util.c's
 * legacy name checks whole names; the writer classifies short label names
 * with prex__name_class16().
 */
#ifdef PREX_SIMD_SSE2
static inline const unsigned char *prex__scan_name(const unsigned char *p,
                                                  const unsigned char *lim, int *colons)
{
    unsigned seen = 0;

    while (lim - p >= 16) {
        unsigned digits, cm;
        unsigned mask = prex__name_class16(_mm_loadu_si128((const __m128i *)(const void *)p),
                                           &digits, &cm) | cm;

        if (mask != 0xffff) {
            unsigned stop = (unsigned)__builtin_ctz(~mask);
            *colons = (seen | (cm & ((1u << stop) - 1))) != 0;
            return p + stop;
        }
        seen |= cm;
        p += 16;
    }
    while (p < lim && prex__namech[*p])
        seen |= prex__namech[*p++] & 4;
    *colons = seen != 0;
    return p;
}
#else
static inline const unsigned char *prex__scan_name(const unsigned char *p,
                                                  const unsigned char *lim, int *colons)
{
    unsigned seen = 0;

    while (p < lim && prex__namech[*p])
        seen |= prex__namech[*p++] & 4;
    *colons = seen != 0;
    return p;
}
#endif


/* Lexer start conditions: which token set the next token comes from. */
enum {
    PREX__C_GEN = 0, /* names, quoted strings, punctuation, blanks */
    PREX__C_VAL,     /* numbers: a value, timestamp or exemplar value */
    PREX__C_TEXT     /* the rest of the line (HELP text, comment, TYPE token) */
};

/* Tokens. Each spans [tok, cur) of the input. */
enum {
    PREX__T_END = 0,    /* the limit (buf + len) was reached */
    PREX__T_NL,         /* "\n" */
    PREX__T_CRNL,       /* "\r\n" */
    PREX__T_BLANK,      /* run of spaces and tabs */
    PREX__T_HASH,       /* "#" */
    PREX__T_IDENT,      /* [a-zA-Z_:][a-zA-Z0-9_:]* with a ':' (not a label name) */
    PREX__T_LNAME,      /* [a-zA-Z_][a-zA-Z0-9_]*: a metric or label name */
    PREX__T_LBRACE,     /* "{" */
    PREX__T_RBRACE,     /* "}" */
    PREX__T_COMMA,      /* "," */
    PREX__T_EQ,         /* "=" */
    PREX__T_QSTR,       /* "..." UTF-8, no escapes */
    PREX__T_QSTR_ESC,   /* "..." UTF-8, only the escapes \\ \" \n */
    PREX__T_QSTR_XESC,  /* "..." UTF-8, with some other backslash pair */
    PREX__T_QSTR_UTF8,  /* "..." closed, but not valid UTF-8 */
    PREX__T_QSTR_OPEN,  /* '"' with no closing quote on the line */
    PREX__T_INT,        /* [+-]?[0-9]+ */
    PREX__T_FLOAT,      /* any other Go ParseFloat number (no hex, no '_') */
    PREX__T_WORD,       /* any other run of non-blank bytes (value context) */
    PREX__T_TEXT,       /* rest of line, valid UTF-8 */
    PREX__T_TEXT_RAW,   /* rest of line, not valid UTF-8 */
    PREX__T_NUL,        /* a NUL byte before the limit */
    PREX__T_BAD         /* any other byte */
};

typedef struct prex__lexer {
    const char *cur;  /* next byte to read */
    const char *lim;  /* buf + len; *lim == '\0' */
    const char *tok;  /* start of the last token */
} prex__lexer;

/* Scans one token in condition cond; sets l->tok and advances l->cur. */
int prex__lex(prex__lexer *l, int cond);

/* A whole value token s[0..n) as the parser reads le and quantile values:
 * 0 and *v, or -1 (parse.c). */
int prex__number(const char *s, size_t n, double *v);

/* Decodes one UTF-8 sequence at s (before e) the strict way (no
 * overlongs, surrogates or code points above U+10FFFF) into *cp. Returns
 * its length, or 0 when the bytes are not valid UTF-8 (util.c). */
size_t prex__utf8_next(const unsigned char *s, const unsigned char *e, uint32_t *cp);

/* Copies name p[0..n) into a message buffer out (outsz bytes): at most
 * max bytes of it, control bytes as '?', "..." when cut (util.c). */
void prex__show_name(char *out, size_t outsz, const char *p, size_t n, size_t max);

/* The characters (code points) of an exemplar's label names and values
 * as OpenMetrics counts them against its 128 limit: raw slices, where
 * \\ \" and \n count as one (util.c). */
size_t prex__exemplar_chars(const prex_exemplar *ex);

/* FNV-1a, 64 bits, of p[0..n): the name tables of the merge table and the
 * writer (util.c). */
uint64_t prex__fnv1a(const char *p, size_t n);

/* The validator's duplicate-series key of a sample event (parse.c). */
uint64_t prex__series_key(const prex_event *ev);

/* Hash sets (set.c). */
int prex__set_get_or_put(prex__set *s, const prex_alloc *alc, uint64_t key,
                         uint32_t *val);
int prex__set_get(const prex__set *s, uint64_t key, uint32_t *val);
int prex__set_reserve(prex__set *s, const prex_alloc *alc, size_t n);
void prex__set_update(prex__set *s, uint64_t key, uint32_t val);
void prex__set_clear(prex__set *s, const prex_alloc *alc);
void prex__set_free(prex__set *s, const prex_alloc *alc);

#endif /* PREX_INTERNAL_H */

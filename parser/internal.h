/*
 * internal.h - declarations shared between the parser's files (lexer,
 * parser, hash sets) and not part of the public API.
 */
#ifndef PREX_INTERNAL_H
#define PREX_INTERNAL_H

#include "prex.h"

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
void prex__set_update(prex__set *s, uint64_t key, uint32_t val);
void prex__set_clear(prex__set *s, const prex_alloc *alc);
void prex__set_free(prex__set *s, const prex_alloc *alc);

#endif /* PREX_INTERNAL_H */

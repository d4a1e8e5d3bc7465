/*
 * test_lexer.c - the generated lexer's byte-level behaviour: UTF-8
 * acceptance inside quoted strings and OpenMetrics text, checked against
 * an independent validator over every 1- and 2-byte sequence and a dense
 * sample of 3- and 4-byte ones, and every byte value in every token
 * position (the lexer must always advance and never read past the end),
 * and the parser's own fast paths for names and values against the
 * lexer's tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "internal.h"
#include "prex.h"
#include "testlib.h"

/* RFC 3629 validity of s[0..n), written from the table in section 4. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t len, k;
        unsigned char lo = 0x80, hi = 0xbf;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4;
        else
            return 0;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
        else if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
        if (i + len > n)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return 0;
        i += len;
    }
    return 1;
}

/* A NUL-terminated heap copy of in[0..n) of exactly n + 1 bytes, so that
 * the sanitizer build sees any read past it. */
static char *exact_copy(const char *in, size_t n)
{
    char *buf = malloc(n + 1);

    CU_ASSERT_FATAL(buf != NULL);
    memcpy(buf, in, n);
    buf[n] = 0;
    return buf;
}

/* Parses in[0..n) to the end; returns the last result and the error code
 * through *code. */
static int parse_all(const char *in, size_t n, prex_format fmt, int *code)
{
    char *buf = exact_copy(in, n);
    prex_parser p;
    prex_event ev;
    int rc;

    prex_parser_init(&p, buf, n, fmt, 0);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF)
        ;
    *code = prex_parser_error(&p)->code;
    prex_parser_free(&p);
    free(buf);
    return rc;
}

/* Does a label value holding seq parse (text) or the HELP text (OM)? */
static int accepts_seq(const unsigned char *seq, size_t n, int where, int *code)
{
    char in[64];
    size_t o = 0;
    prex_format fmt = PREX_FORMAT_TEXT;

    if (where == 0) {
        memcpy(in, "a{b=\"", 5);
        o = 5;
        memcpy(in + o, seq, n);
        o += n;
        memcpy(in + o, "\"} 1\n", 5);
        o += 5;
    } else {
        memcpy(in, "# HELP a ", 9);
        o = 9;
        memcpy(in + o, seq, n);
        o += n;
        memcpy(in + o, "\n# EOF\n", 7);
        o += 7;
        fmt = PREX_FORMAT_OPENMETRICS;
    }
    return parse_all(in, o, fmt, code) == PREX_EV_EOF;
}

/* A byte that ends or escapes a string, or ends a line (a CR before the
 * line's LF is a CRLF line end), changes the grammar around it; sequences
 * holding one are not UTF-8 checks. */
static int special(unsigned char c, int where)
{
    return c == '\n' || (where == 0 && (c == '"' || c == '\\')) ||
           (where == 1 && (c == '\\' || c == '\r'));
}

static void check_seq(const unsigned char *seq, size_t n, int where, unsigned *bad)
{
    int code, want = utf8_valid(seq, n), got = accepts_seq(seq, n, where, &code);
    size_t i;

    for (i = 0; i < n; i++)
        if (special(seq[i], where))
            return;
    if (got != want || (!got && code != PREX_E_UTF8)) {
        if ((*bad)++ < 5) {
            char hex[32] = {0};
            for (i = 0; i < n; i++)
                snprintf(hex + 3 * i, 4, "%02X ", seq[i]);
            fprintf(stderr, "\n  %s: %s-> parser %s (%s), UTF-8 says %s", where ? "OM HELP" : "label value",
                    hex, got ? "accepts" : "rejects", prex_errname(code), want ? "valid" : "invalid");
        }
    }
}

/* Continuation-position bytes that cover every boundary of the table. */
static const unsigned char probes[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
                                       0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0,
                                       0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};

static void test_utf8_strings(void)
{
    unsigned bad = 0;
    int where;

    for (where = 0; where < 2; where++) {
        unsigned a, b, c, d;
        unsigned char s[4];
        for (a = 0; a < 256; a++) {
            s[0] = (unsigned char)a;
            check_seq(s, 1, where, &bad);
            for (b = 0; b < 256; b++) {
                s[1] = (unsigned char)b;
                check_seq(s, 2, where, &bad);
            }
            if (a < 0xe0)
                continue;
            for (b = 0; b < sizeof probes; b++)
                for (c = 0; c < sizeof probes; c++) {
                    s[1] = probes[b];
                    s[2] = probes[c];
                    check_seq(s, 3, where, &bad);
                    if (a < 0xf0)
                        continue;
                    for (d = 0; d < sizeof probes; d++) {
                        s[3] = probes[d];
                        check_seq(s, 4, where, &bad);
                    }
                }
        }
    }
    CU_ASSERT(bad == 0);
}

/*
 * Every byte value in every position of a sample line and of a comment:
 * whatever it is, parsing ends in EOF or in an error with a code from the
 * table (never a crash, never a read past the end: the ASan build runs
 * this too).
 */
static void test_every_byte(void)
{
    static const char *const tmpl[] = {
        "@ 1\n", "a@ 1\n", "a @\n", "a 1 @\n", "a{@=\"x\"} 1\n", "a{b@\"x\"} 1\n",
        "a{b=@} 1\n", "a{b=\"x\"@ 1\n", "#@\n", "# HELP a @\n", "# TYPE a @\n",
        "{\"@\"} 1\n", "a{\"@\"=\"x\"} 1\n",
    };
    size_t t, at;
    unsigned v;
    int f, bad = 0;

    for (f = 0; f < 2; f++) {
        for (t = 0; t < sizeof tmpl / sizeof tmpl[0]; t++) {
            char in[64];
            size_t n = strlen(tmpl[t]);
            at = (size_t)(strchr(tmpl[t], '@') - tmpl[t]);
            memcpy(in, tmpl[t], n);
            if (f)
                memcpy(in + n, "# EOF\n", 6);
            for (v = 0; v < 256; v++) {
                int code, rc;
                in[at] = (char)v;
                rc = parse_all(in, n + (f ? 6 : 0), f ? PREX_FORMAT_OPENMETRICS : PREX_FORMAT_TEXT, &code);
                if (rc != PREX_EV_EOF && rc != PREX_ERROR)
                    bad++;
                if (rc == PREX_ERROR && (code <= PREX_E_OK || code >= PREX_E__COUNT))
                    bad++;
            }
        }
    }
    CU_ASSERT(bad == 0);
}

/* The lexer's token at buf[at..) in condition cond: its kind, *len its
 * length. buf is NUL-terminated at n. */
static int lex_at(const char *buf, size_t n, size_t at, int cond, size_t *len)
{
    prex__lexer lx;
    int tok;

    lx.cur = buf + at;
    lx.lim = buf + n;
    lx.tok = lx.cur;
    tok = prex__lex(&lx, cond);
    *len = (size_t)(lx.cur - lx.tok);
    return tok;
}

/* Parses one sample line (text); returns the rc and the event's name and
 * value token lengths when it parsed, the error's code and column when it
 * did not. */
static int parse_sample(const char *in, size_t n, size_t *name_len, size_t *value_len,
                        int *code, size_t *column)
{
    char *buf = exact_copy(in, n);
    prex_parser p;
    prex_event ev;
    int rc;

    prex_parser_init(&p, buf, n, PREX_FORMAT_TEXT, 0);
    prex_finish(&p);
    rc = prex_next(&p, &ev);
    if (rc == PREX_EV_SAMPLE) {
        *name_len = ev.name.len;
        *value_len = ev.value_raw.len;
    } else {
        *code = prex_parser_error(&p)->code;
        *column = (size_t)prex_parser_error(&p)->column;
    }
    prex_parser_free(&p);
    free(buf);
    return rc;
}

/*
 * The parser reads a line's metric name (16 bytes at a time where SIMD is
 * compiled in, a byte at a time in the scalar twin) and plain values
 * without the lexer; whatever follows, it must take exactly the lexer's
 * token: names of 1 to 40 bytes, with or without a ':', then every byte
 * value; values of several shapes, then every byte value.
 */
static void test_fast_paths(void)
{
    static const char *const values[] = { "0", "7", "12", "1.5", "1.", "007", "123456789012",
                                          "3.25", "10.000001" };
    static const char pad[] = "padding_padding_padding_padding_padding 2\n";
    char in[128], name[48];
    size_t len, i, k, lexlen, pname, pvalue, col;
    unsigned b;
    int tok, rc, code, bad = 0;

    for (len = 1; len <= 40; len++) {
        for (k = 0; k <= len; k++) { /* k == len: no ':' */
            for (i = 0; i < len; i++)
                name[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"
                    [(len * 7 + i * 13) % (i ? 63 : 53)];
            if (k < len)
                name[k] = ':';
            for (b = 0; b < 256; b++) {
                size_t n = len + 4 + sizeof pad - 1;

                /* a next line, so that 16-byte steps reach the name's end */
                memcpy(in, name, len);
                in[len] = (char)b;
                memcpy(in + len + 1, " 1\n", 3);
                memcpy(in + len + 4, pad, sizeof pad);
                tok = lex_at(in, n, 0, PREX__C_GEN, &lexlen);
                rc = parse_sample(in, n, &pname, &pvalue, &code, &col);
                if (rc != PREX_EV_SAMPLE && rc != PREX_ERROR)
                    bad++;
                /* an error comes after the name the lexer sees */
                if (rc == PREX_ERROR && col <= lexlen) {
                    if (bad++ < 5)
                        fprintf(stderr, "name of %zu bytes then 0x%02x: error at column %zu\n",
                                len, b, col);
                }
                if (rc == PREX_EV_SAMPLE &&
                    ((tok != PREX__T_IDENT && tok != PREX__T_LNAME) || pname != lexlen)) {
                    if (bad++ < 5)
                        fprintf(stderr, "name of %zu bytes then 0x%02x: parser %zu, lexer %zu\n",
                                len, b, pname, lexlen);
                }
            }
        }
    }
    for (k = 0; k < sizeof values / sizeof values[0]; k++) {
        size_t vl = strlen(values[k]);

        for (b = 0; b < 256; b++) {
            size_t n = 2 + vl + 2 + sizeof pad - 1;

            memcpy(in, "a ", 2);
            memcpy(in + 2, values[k], vl);
            in[2 + vl] = (char)b;
            in[3 + vl] = '\n';
            memcpy(in + 4 + vl, pad, sizeof pad);
            tok = lex_at(in, n, 2, PREX__C_VAL, &lexlen);
            rc = parse_sample(in, n, &pname, &pvalue, &code, &col);
            if (rc != PREX_EV_SAMPLE && rc != PREX_ERROR)
                bad++;
            /* a value the lexer does not read as a number is a VALUE
             * error at the value; any other error comes after it */
            if ((tok == PREX__T_INT || tok == PREX__T_FLOAT)
                    ? rc == PREX_ERROR && col <= 2 + lexlen
                    : rc != PREX_ERROR || code != PREX_E_VALUE || col != 3) {
                if (bad++ < 5)
                    fprintf(stderr, "value '%s' then 0x%02x: rc %d, %s at column %zu (token %d)\n",
                            values[k], b, rc, rc == PREX_ERROR ? prex_errname(code) : "-", col,
                            tok);
            }
            if (rc == PREX_EV_SAMPLE &&
                ((tok != PREX__T_INT && tok != PREX__T_FLOAT) || pvalue != lexlen)) {
                if (bad++ < 5)
                    fprintf(stderr, "value '%s' then 0x%02x: parser %zu, lexer %zu (token %d)\n",
                            values[k], b, pvalue, lexlen, tok);
            }
        }
    }
    CU_ASSERT(bad == 0);
}

/*
 * Parses "x{l=\"first\"} 1\n" then "x{l=\"VALUE\"} 1\n" (text): the second
 * line's value is read by the cached-names run, the first's through
 * lex_string(); with one = 1 only the line with VALUE, through
 * lex_string(). padded adds a line after it, so that 16-byte steps can
 * reach past the value's end. Returns the rc of the line with VALUE and, when it parsed,
 * *vlen the raw length of its label value.
 */
static int parse_label_value(const char *value, size_t vl, int one, int padded, size_t *vlen)
{
    static const char first[] = "x{l=\"first\"} 1\n";
    static const char pad[] = "padding_padding_padding_padding_padding 2\n";
    char in[256], *buf;
    size_t n = 0;
    prex_parser p;
    prex_event ev;
    int rc;

    if (!one) {
        memcpy(in, first, sizeof first - 1);
        n = sizeof first - 1;
    }
    memcpy(in + n, "x{l=\"", 5);
    memcpy(in + n + 5, value, vl);
    memcpy(in + n + 5 + vl, "\"} 1\n", 5);
    n += 10 + vl;
    if (padded) { /* room for 16-byte steps; else the line ends the input */
        memcpy(in + n, pad, sizeof pad - 1);
        n += sizeof pad - 1;
    }
    buf = exact_copy(in, n);
    prex_parser_init(&p, buf, n, PREX_FORMAT_TEXT, 0);
    prex_finish(&p);
    rc = prex_next(&p, &ev);
    if (!one && rc == PREX_EV_TYPE) /* not expected: no metadata */
        rc = PREX_ERROR;
    if (!one && rc == PREX_EV_SAMPLE)
        rc = prex_next(&p, &ev);
    if (rc == PREX_EV_SAMPLE)
        *vlen = ev.nlabels == 1 ? ev.labels[0].value.len : (size_t)-1;
    prex_parser_free(&p);
    free(buf);
    return rc;
}

/*
 * The parser finds the end of a plain label value (no escapes, ASCII, no
 * control bytes) with its own scan (16 bytes at a time where SIMD is
 * compiled in) and hands anything else to the lexer: a value of 0 to 40
 * bytes with every byte value at the start, the middle, the end and
 * around the 16-byte boundaries must parse exactly when the lexer reads
 * the quoted string to its closing quote, on a family's first line and on
 * a line whose label names repeat the previous line's, with and without
 * a line after it (the end of the input stops 16-byte steps early).
 */
static void test_fast_strings(void)
{
    char value[48], in[64];
    size_t len, j, lexlen, vlen;
    unsigned b;
    int one, padded, rc, bad = 0;

    for (len = 1; len <= 40; len++) {
        size_t at[6] = { 0, len / 2, len - 1, 15, 16, 17 };

        for (j = 0; j < 6; j++) {
            if (at[j] >= len)
                continue;
            for (b = 0; b < 256; b++) {
                int ok;

                memset(value, 'v', len);
                value[at[j]] = (char)b;
                in[0] = '"';
                memcpy(in + 1, value, len);
                memcpy(in + 1 + len, "\"} 1\n", 5);
                ok = lex_at(in, len + 6, 0, PREX__C_GEN, &lexlen) == PREX__T_QSTR &&
                     lexlen == len + 2;
                for (one = 0; one < 2; one++) {
                    for (padded = 0; padded < 2; padded++) {
                        vlen = 0;
                        rc = parse_label_value(value, len, one, padded, &vlen);
                        if (ok ? rc != PREX_EV_SAMPLE || vlen != len : rc != PREX_ERROR) {
                            if (bad++ < 5)
                                fprintf(stderr, "value of %zu bytes, 0x%02x at %zu (%s line%s): "
                                        "rc %d, value %zu bytes, lexer %s\n", len, b, at[j],
                                        one ? "first" : "second", padded ? ", padded" : "", rc,
                                        vlen, ok ? "takes it" : "does not");
                        }
                    }
                }
            }
        }
    }
    CU_ASSERT(bad == 0);
}

static CU_TestInfo lexer_tests[] = {
    {"utf8_strings", test_utf8_strings},
    {"every_byte", test_every_byte},
    {"fast_paths", test_fast_paths},
    {"fast_strings", test_fast_strings},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo prex_lexer_suites[] = {
    {.pName = "lexer", .pTests = lexer_tests},
    CU_SUITE_INFO_NULL,
};

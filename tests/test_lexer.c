/*
 * test_lexer.c - the generated lexer's byte-level behaviour: UTF-8
 * acceptance inside quoted strings and OpenMetrics text, checked against
 * an independent validator over every 1- and 2-byte sequence and a dense
 * sample of 3- and 4-byte ones, and every byte value in every token
 * position (the lexer must always advance and never read past the end).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

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

/* Parses buf (NUL-terminated copy made here) to the end; returns the last
 * result and the error code through *code. */
static int parse_all(const char *in, size_t n, prex_format fmt, int *code)
{
    char *buf = malloc(n + 1);
    prex_parser p;
    prex_event ev;
    int rc;

    memcpy(buf, in, n);
    buf[n] = 0;
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

static CU_TestInfo lexer_tests[] = {
    {"utf8_strings", test_utf8_strings},
    {"every_byte", test_every_byte},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo prex_lexer_suites[] = {
    {.pName = "lexer", .pTests = lexer_tests},
    CU_SUITE_INFO_NULL,
};

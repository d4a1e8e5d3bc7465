/*
 * bench_parse.c - the parser's benchmark bodies: the lexer alone, the
 * parser with values but without the set-based checks, and the parser
 * with full validation.
 *
 *   lex          prex__lex() over every token of every line, in the start
 *                condition the parser uses there (see lex_run()); no
 *                events, no numbers converted.
 *   parse_values prex_next() to PREX_EV_EOF with prex_parser_set_alloc(NULL):
 *                every line tokenised and checked, names, labels, values
 *                and timestamps converted, per-line and per-family checks
 *                done, but no hash sets (no duplicate-series,
 *                contiguity or interleaving checks) and no allocation.
 *   parse_full   the same with the default allocator: every check of the
 *                format rules, as prex-relay --check does.
 * The parser bodies read every sample's value, so nothing they convert is
 * dead code.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "internal.h"

/* MARK: lexer only */

typedef struct lex_state {
    const prex_bench_input *in; /* first: see prex_bench_input_bytes() */
    uint64_t tokens;            /* tokens of one pass, found by setup */
    uint64_t lines;
    volatile uint64_t sink;
} lex_state;

/*
 * Scans the whole input as the parser would, token by token, switching
 * start conditions where the parser does:
 *   - a line starts in GEN; a '#' there switches to TEXT, whose token runs
 *     to the line end (HELP, TYPE, UNIT, EOF and comment lines alike);
 *   - in GEN, a blank after the metric name (outside braces, and not
 *     followed by the label set's '{') or the '}' closing a label set
 *     switches to VAL (value, timestamp);
 *   - in VAL, a '#' starts an exemplar: back to GEN for its label set,
 *     whose '}' switches to VAL again;
 *   - a line end goes back to GEN.
 *   tokens, lines: OUT: tokens (the end included) and line ends seen.
 *   bad:           OUT: tokens a valid input never has in these places
 *                  (a bad byte, a non-number in VAL, an open quote, a NUL).
 */
static void lex_run(const prex_bench_input *in, uint64_t *tokens, uint64_t *lines,
                    uint64_t *bad)
{
    prex__lexer l;
    int cond = PREX__C_GEN;
    int at_start = 1, in_braces = 0, exemplar = 0;
    uint64_t ntok = 0, nl = 0, nbad = 0;

    l.cur = in->data;
    l.lim = in->data + in->len;
    l.tok = in->data;
    for (;;) {
        int t = prex__lex(&l, cond);

        ntok++;
        switch (t) {
        case PREX__T_END:
            *tokens = ntok;
            *lines = nl;
            *bad = nbad;
            return;
        case PREX__T_NL:
        case PREX__T_CRNL:
            nl++;
            cond = PREX__C_GEN;
            at_start = 1;
            in_braces = 0;
            exemplar = 0;
            continue;
        case PREX__T_HASH:
            cond = at_start ? PREX__C_TEXT : PREX__C_GEN;
            exemplar = !at_start;
            break;
        case PREX__T_LBRACE:
            in_braces = 1;
            break;
        case PREX__T_RBRACE:
            in_braces = 0;
            cond = PREX__C_VAL;
            break;
        case PREX__T_BLANK:
            if (cond == PREX__C_GEN && !in_braces && !at_start && !exemplar && *l.cur != '{')
                cond = PREX__C_VAL;
            break;
        case PREX__T_BAD:
        case PREX__T_WORD:
        case PREX__T_QSTR_OPEN:
        case PREX__T_NUL:
            nbad++;
            break;
        default:
            break;
        }
        at_start = 0;
    }
}

static int lex_setup(const prex_bench_input *in, void **state, char *err, size_t errlen)
{
    lex_state *s = calloc(1, sizeof *s);
    uint64_t bad;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->in = in;
    lex_run(in, &s->tokens, &s->lines, &bad);
    if (bad) {
        snprintf(err, errlen, "%s: %llu tokens do not lex as in a valid input", in->name,
                 (unsigned long long)bad);
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int lex_once(void *state)
{
    lex_state *s = state;
    uint64_t tokens, lines, bad;

    lex_run(s->in, &tokens, &lines, &bad);
    s->sink = tokens;
    return tokens == s->tokens && lines == s->lines && bad == 0 ? 0 : -1;
}

/* MARK: parser */

typedef struct parse_state {
    const prex_bench_input *in; /* first: see prex_bench_input_bytes() */
    int validate;               /* the default allocator, or none */
    prex_parser parser;
    volatile double sink;
} parse_state;

/* Starts a parse_state; validate selects the default allocator (all
 * checks) over no allocator (no set-based checks). */
static int parse_setup(const prex_bench_input *in, void **state, int validate, char *err,
                       size_t errlen)
{
    parse_state *s = calloc(1, sizeof *s);

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->in = in;
    s->validate = validate;
    *state = s;
    return 0;
}

static int parse_values_setup(const prex_bench_input *in, void **state, char *err,
                              size_t errlen)
{
    return parse_setup(in, state, 0, err, errlen);
}

static int parse_full_setup(const prex_bench_input *in, void **state, char *err,
                            size_t errlen)
{
    return parse_setup(in, state, 1, err, errlen);
}

/*
 * Parses the whole input once, one-shot, and sums the sample values.
 * Returns 0 when it ends at PREX_EV_EOF with the input's sample count,
 * else -1.
 */
static int parse_once(void *state)
{
    parse_state *s = state;
    prex_parser *p = &s->parser;
    prex_event ev;
    uint64_t samples = 0;
    double sum = 0;
    int rc;

    prex_parser_init(p, s->in->data, s->in->len, s->in->format, 0);
    if (!s->validate)
        prex_parser_set_alloc(p, NULL);
    prex_finish(p);
    while ((rc = prex_next(p, &ev)) > 0 && rc != PREX_EV_EOF) {
        if (rc == PREX_EV_SAMPLE) {
            samples++;
            sum += ev.value;
        }
    }
    prex_parser_free(p);
    s->sink = sum;
    return rc == PREX_EV_EOF && samples == s->in->samples ? 0 : -1;
}

static void free_state(void *state)
{
    free(state);
}

const prex_bench prex_bench_parse_table[] = {
    { "lex", lex_setup, lex_once, free_state, prex_bench_input_bytes,
      prex_bench_input_samples },
    { "parse_values", parse_values_setup, parse_once, free_state, prex_bench_input_bytes,
      prex_bench_input_samples },
    { "parse_full", parse_full_setup, parse_once, free_state, prex_bench_input_bytes,
      prex_bench_input_samples },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

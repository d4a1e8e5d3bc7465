/*
 * fuzz_roundtrip.c - fuzz target: parse, write, parse again. The writer's
 * output of a valid input must itself be valid, must carry the same
 * samples when the format is unchanged, and must be a fixed point: writing
 * it a second time gives the same bytes.
 *
 * Input layout:
 *     byte 0   configuration byte of the first parse (fuzz/fuzzlib.h); a
 *              failure budget is treated as the plain checking allocator
 *     byte 1   bit 0: output format (0 text, 1 OpenMetrics)
 *              bit 1: PREX_WRITE_STRIP_TIMESTAMPS
 *     rest     the exposition text
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "write.h"

#define HEADER 2

/* Appends "<n>:" and the n bytes of a slice with its escapes decoded (the
 * canonical sample form compares decoded names and values, which the
 * writer may escape differently; the length makes every field
 * unambiguous). */
static void put_decoded(prex_fuzz_str *s, prex_slice sl, int esc)
{
    char *tmp;
    size_t n;

    if (!esc) {
        prex_fuzz_str_printf(s, "%zu:", sl.len);
        prex_fuzz_str_append(s, sl.ptr, sl.len);
        return;
    }
    tmp = malloc(sl.len ? sl.len : 1);
    if (!tmp)
        prex_fuzz_die("out of memory");
    n = prex_unescape(sl, tmp);
    prex_fuzz_str_printf(s, "%zu:", n);
    prex_fuzz_str_append(s, tmp, n);
    free(tmp);
}

/* Appends " {n=v,...}" with decoded names and values. */
static void put_label_set(prex_fuzz_str *s, const prex_label *l, size_t n)
{
    size_t i;

    prex_fuzz_str_append(s, " {", 2);
    for (i = 0; i < n; i++) {
        put_decoded(s, l[i].name, l[i].name_esc);
        prex_fuzz_str_append(s, "=", 1);
        put_decoded(s, l[i].value, l[i].value_esc);
        prex_fuzz_str_append(s, ",", 1);
    }
    prex_fuzz_str_append(s, "}", 1);
}

/* Appends the canonical form of a sample: type, decoded name and labels,
 * value, timestamp (unless stripped) and exemplar. to_text: the output is
 * text, where a gauge histogram is written as gauges (docs/cli.md). */
static void put_sample(prex_fuzz_str *s, const prex_event *ev, int strip_ts,
                       int to_text)
{
    int type = (int)ev->type;

    if (to_text && type == PREX_TYPE_GAUGEHISTOGRAM)
        type = PREX_TYPE_GAUGE;
    prex_fuzz_str_printf(s, "type=%d ", type);
    put_decoded(s, ev->name, ev->name_esc);
    put_label_set(s, ev->labels, ev->nlabels);
    prex_fuzz_str_append(s, " ", 1);
    prex_fuzz_put_double(s, ev->value);
    if (ev->has_timestamp && !strip_ts)
        prex_fuzz_str_printf(s, " ts=%lld", (long long)ev->timestamp_ms);
    if (ev->has_exemplar) {
        prex_fuzz_str_append(s, " #", 2);
        put_label_set(s, ev->exemplar.labels, ev->exemplar.nlabels);
        prex_fuzz_str_append(s, " ", 1);
        prex_fuzz_put_double(s, ev->exemplar.value);
        if (ev->exemplar.has_timestamp)
            prex_fuzz_str_printf(s, " ts=%lld", (long long)ev->exemplar.timestamp_ms);
    }
    prex_fuzz_str_append(s, "\n", 1);
}

/* The result of one parse-and-write pass. */
typedef struct pass {
    int parse_rc;         /* PREX_EV_EOF or PREX_ERROR */
    int parse_err;        /* the parse error's PREX_E_* code */
    int has_gaugehist;    /* a sample of a gauge histogram was seen */
    int write_rc;         /* 0 or the writer's PREX_E_* code */
    prex_buf out;         /* the writer's output */
    prex_fuzz_str log;    /* the parse's event log */
    prex_fuzz_str samples;/* canonical samples */
} pass;

/*
 * Parses buf[0..len) one-shot in format fmt and writes every event with a
 * writer of format ofmt and options opts, stopping at the first parse or
 * write error. a is the allocator for the parser (NULL: set checks off).
 */
static void run_pass(pass *r, const char *buf, size_t len, prex_format fmt,
                     unsigned flags, const prex_limits *lim, const prex_alloc *a,
                     prex_format ofmt, unsigned opts)
{
    prex_parser p;
    prex_writer w;
    prex_event ev;
    int rc;

    memset(&r->log, 0, sizeof r->log);
    memset(&r->samples, 0, sizeof r->samples);
    prex_buf_init(&r->out, NULL);
    prex_writer_init(&w, &r->out, ofmt, opts);
    prex_parser_init(&p, buf, len, fmt, flags);
    if (lim)
        prex_parser_set_limits(&p, lim);
    prex_parser_set_alloc(&p, a);
    prex_finish(&p);
    r->write_rc = 0;
    r->parse_err = PREX_E_OK;
    r->has_gaugehist = 0;
    for (;;) {
        rc = prex_next(&p, &ev);
        if (rc <= 0)
            break;
        prex_fuzz_log_event(&r->log, &ev);
        if (rc == PREX_EV_SAMPLE) {
            put_sample(&r->samples, &ev, (opts & PREX_WRITE_STRIP_TIMESTAMPS) != 0,
                       ofmt == PREX_FORMAT_TEXT);
            if (ev.type == PREX_TYPE_GAUGEHISTOGRAM)
                r->has_gaugehist = 1;
        }
        r->write_rc = prex_write_event(&w, &ev, fmt);
        if (r->write_rc != 0 || rc == PREX_EV_EOF)
            break;
    }
    if (rc == PREX_ERROR) {
        prex_fuzz_log_error(&r->log, &p);
        r->parse_err = prex_parser_error(&p)->code;
    }
    else if (rc == PREX_NEED_MORE)
        prex_fuzz_die("PREX_NEED_MORE after prex_finish()");
    r->parse_rc = rc;
    if (rc == PREX_EV_EOF && r->write_rc == 0)
        r->write_rc = prex_writer_finish(&w);
    prex_writer_free(&w);
    prex_parser_free(&p);
}

static void pass_free(pass *r)
{
    prex_buf_free(&r->out);
    prex_fuzz_str_free(&r->log);
    prex_fuzz_str_free(&r->samples);
}

/* One line of a sample list, without its "\n". */
typedef struct line {
    const char *p;
    size_t n;
} line;

/* qsort comparator for lines: bytewise, shorter first on a tie. */
static int cmp_lines(const void *a, const void *b)
{
    const line *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Splits a sample list into its lines, sorted. Returns a malloc'd array
 * of *n lines pointing into s. */
static line *sorted_lines(const prex_fuzz_str *s, size_t *n)
{
    line *v;
    size_t i, count = 0, at = 0;

    for (i = 0; i < s->len; i++)
        count += s->ptr[i] == '\n';
    v = malloc((count ? count : 1) * sizeof *v);
    if (!v)
        prex_fuzz_die("out of memory");
    for (i = 0; i < count; i++) {
        const char *nl = memchr(s->ptr + at, '\n', s->len - at);

        v[i].p = s->ptr + at;
        v[i].n = (size_t)(nl - v[i].p);
        at += v[i].n + 1;
    }
    qsort(v, count, sizeof *v, cmp_lines);
    *n = count;
    return v;
}

/* Whether two sample lists hold the same lines; in the same order unless
 * any_order. */
static int same_samples(const prex_fuzz_str *a, const prex_fuzz_str *b, int any_order)
{
    line *va, *vb;
    size_t na, nb, i;
    int eq;

    if (a->len != b->len)
        return 0;
    if (!any_order)
        return a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0;
    va = sorted_lines(a, &na);
    vb = sorted_lines(b, &nb);
    eq = na == nb;
    for (i = 0; eq && i < na; i++)
        eq = cmp_lines(&va[i], &vb[i]) == 0;
    free(va);
    free(vb);
    return eq;
}


/* Prints the three stages and aborts. */
static void fail(const char *what, const char *in, size_t inlen,
                 const pass *first, const pass *second)
{
    prex_fuzz_str s = { 0 };

    prex_fuzz_str_append(&s, in, inlen);
    prex_fuzz_dump("input", &s);
    prex_fuzz_dump("input log", &first->log);
    s.len = 0;
    prex_fuzz_str_append(&s, first->out.ptr, first->out.len);
    prex_fuzz_dump("written", &s);
    if (second) {
        prex_fuzz_dump("written, parsed", &second->log);
        s.len = 0;
        prex_fuzz_str_append(&s, second->out.ptr, second->out.len);
        prex_fuzz_dump("written twice", &s);
    }
    prex_fuzz_str_free(&s);
    prex_fuzz_die("%s", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prex_fuzz_config cfg;
    prex_fuzz_alloc fa;
    const prex_alloc *alc;
    prex_limits small;
    prex_format ofmt;
    unsigned opts, oflags;
    pass first, second;
    char *buf;
    size_t len;

    if (size < HEADER)
        return 0;
    cfg = prex_fuzz_config_decode(data[0]);
    ofmt = (data[1] & 1) ? PREX_FORMAT_OPENMETRICS : PREX_FORMAT_TEXT;
    opts = (data[1] & 2) ? PREX_WRITE_STRIP_TIMESTAMPS : 0;
    len = size - HEADER;
    buf = prex_fuzz_copy(data + HEADER, len);
    if (!buf)
        return 0;

    prex_fuzz_alloc_init(&fa, (size_t)-1);
    switch (cfg.alloc_mode) {
    case PREX_FUZZ_ALLOC_NONE: alc = NULL; break;
    case PREX_FUZZ_ALLOC_LIBC: alc = &prex_alloc_libc; break;
    default: alc = &fa.alc; break;
    }
    small.max_line = PREX_FUZZ_SMALL_LINE;
    small.max_labels = PREX_FUZZ_SMALL_LABELS;
    small.max_label_value = PREX_FUZZ_SMALL_LABEL_VALUE;
    small.max_bytes = PREX_FUZZ_SMALL_BYTES;

    run_pass(&first, buf, len, cfg.format, cfg.flags,
             cfg.small_limits ? &small : NULL, alc, ofmt, opts);
    if (first.parse_rc != PREX_EV_EOF)
        goto done;
    if (first.write_rc != 0) {
        int c = first.write_rc;

        /* documented refusals: stripping the timestamps of several points
         * of one series (write.h), and a text timestamp that OpenMetrics
         * seconds cannot carry (docs/cli.md) */
        int refusal = (c == PREX_E_DUP_SERIES && (opts & PREX_WRITE_STRIP_TIMESTAMPS)) ||
                      (c == PREX_E_TIMESTAMP_RANGE && cfg.format == PREX_FORMAT_TEXT &&
                       ofmt == PREX_FORMAT_OPENMETRICS);

        /* with the set checks on, a valid input is grouped, so only a
         * conversion can make two output families share a name */
        if (alc && !refusal && (ofmt == cfg.format || c != PREX_E_NAME_CLASH))
            fail("the writer rejected a valid input", buf, len, &first, NULL);
        if (!refusal && c != PREX_E_NOT_CONTIGUOUS && c != PREX_E_NAME_CLASH &&
            c != PREX_E_META_AFTER_SAMPLES)
            fail("the writer failed with an undocumented code", buf, len, &first, NULL);
        goto done;
    }

    /* the output: strict, in the output format, legacy names if the input
     * had to use them, default limits, the same set checks */
    oflags = cfg.flags & PREX_LEGACY_NAMES;
    run_pass(&second, first.out.ptr, first.out.len, ofmt, oflags, NULL, alc, ofmt, opts);
    if (second.parse_rc != PREX_EV_EOF) {
        /* the canonical escapes can make a quoted name (an OpenMetrics
         * "\z" becomes "\\z") longer than PREX_MAX_NAME raw bytes */
        if (second.parse_err != PREX_E_LIMIT_NAME &&
            !(cfg.format == PREX_FORMAT_TEXT && ofmt == PREX_FORMAT_OPENMETRICS &&
              prex_fuzz_om_only_rule(second.parse_err)))
            fail("the written output does not parse", buf, len, &first, &second);
        pass_free(&second);
        goto done;
    }
    if (second.write_rc != 0)
        fail("the writer rejected its own output", buf, len, &first, &second);
    if (ofmt == cfg.format && !same_samples(&first.samples, &second.samples,
                                            first.has_gaugehist)) {
        prex_fuzz_dump("input samples", &first.samples);
        prex_fuzz_dump("output samples", &second.samples);
        fail("the written output carries other samples", buf, len, &first, &second);
    }
    if (first.out.len != second.out.len ||
        memcmp(first.out.ptr, second.out.ptr, first.out.len) != 0)
        fail("writing the output again changes it", buf, len, &first, &second);
    pass_free(&second);
done:
    pass_free(&first);
    prex_fuzz_alloc_check_empty(&fa);
    free(buf);
    return 0;
}

/*
 * test_conformance.c - runs prex over the 387 cases of
 * $PREX_SHARED/conformance and checks its verdicts against theirs (with a
 * table of documented deviations) and its samples and metadata against
 * expected.txt and expected-meta.txt, rendered in the canonical format of
 * conformance/README.md.
 *
 * The cases are read at test time, never copied into this repository.
 * Run this suite alone with `./out/rel/prex-tests -s conformance`.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "prex.h"
#include "testlib.h"

/* MARK: deviations */

/*
 * The cases where prex deliberately gives another verdict than the case's
 * `verdict` (or `verdict-legacy` under PREX_LEGACY_NAMES). Each entry must
 * really disagree, and prex's answer must then be the answer of at least
 * one reference parser in the case's reference-verdicts. modes says in
 * which runs the entry applies: DEV_UTF8 (default flags), DEV_LEGACY
 * (PREX_LEGACY_NAMES), or 0 for both.
 */
enum { DEV_UTF8 = 1, DEV_LEGACY = 2 };

typedef struct deviation {
    const char *dir;    /* case directory name */
    const char *reason; /* why prex differs, for the reader of a failure */
    unsigned modes;     /* DEV_UTF8, DEV_LEGACY, or 0 (both) */
} deviation;

static const deviation deviations[] = {
    {"004-expfmt-the-evil-summary-mixed-with-other-types",
     "split family: a family's lines must be contiguous", 0},
    {"008-expfmt-metric-family-with-dots-in-name-no-label",
     "duplicate series: the Pushgateway rejects it", DEV_UTF8},
    {"014-expfmt-a-float-histogram-where-only-the-count-i",
     "histogram without a +Inf bucket", 0},
    {"065-prom-big-mixed-exposition",
     "split family (expfmt rejects the input for a missing comma)", 0},
    {"066-prom-utf8-quoted-names",
     "duplicate series (expfmt rejects the input for its missing final newline)", 0},
    {"083-prom-nul-null-byte-metric-a-abcnul-1",
     "missing final newline (accepted with --lenient missing-newline)", 0},
    {"091-promom-big-mixed-exposition",
     "interleaved families, which OpenMetrics forbids", 0},
    {"092-promom-utf8-quoted-names",
     "duplicate series without timestamps", 0},
    {"383-omsuite-timestamps",
     "timestamp does not fit int64 milliseconds", 0},
    {NULL, NULL, 0} /* end of table */
};

/* The table entry for case dir in mode (DEV_UTF8 or DEV_LEGACY). */
static const deviation *find_deviation(const char *dir, unsigned mode)
{
    const deviation *d;

    for (d = deviations; d->dir; d++)
        if (strcmp(d->dir, dir) == 0 && (d->modes == 0 || (d->modes & mode)))
            return d;
    return NULL;
}

/* MARK: case cache */

/* The cases, read once by the suite's first test and freed by the suite's
 * cleanup function. */
static prex_test_case *g_cases;
static size_t g_ncases;
static char *g_load_error;
static int g_loaded;

/* Loads the cases on first use. Returns nonzero when they are there;
 * otherwise records a failure naming the folder. */
static int have_cases(void)
{
    if (!g_loaded) {
        g_loaded = 1;
        g_cases = prex_test_load_cases(&g_ncases, &g_load_error);
    }
    if (!g_cases || g_ncases == 0)
        return prex_test_fail(__FILE__, __LINE__, "no conformance cases: %s",
                              g_load_error ? g_load_error : "empty folder");
    return 1;
}

static int suite_cleanup(void)
{
    prex_test_free_cases(g_cases, g_ncases);
    free(g_load_error);
    g_cases = NULL;
    g_ncases = 0;
    g_load_error = NULL;
    g_loaded = 0;
    return 0;
}

/* MARK: Go float formatting */

/*
 * The shortest decimal digits that read back (with strtod) as v > 0.
 *   digits: OUT: at least 18 bytes; the digits, no leading or trailing
 *           zeros, NUL-terminated.
 *   dp:     OUT: decimal point position: v == 0.<digits> * 10^dp.
 * For each precision from 1 to 17 it takes the correctly rounded
 * candidate from "%.*e"; where that fails to round-trip, its neighbours
 * one unit in the last place away are tried too, because next to a power
 * of two the interval of values that read back as v is lopsided and the
 * nearest candidate can miss it while a neighbour hits it.
 */
static void shortest_digits(double v, char *digits, int *dp)
{
    char buf[64];
    int prec;

    for (prec = 1; prec <= 17; prec++) {
        char mant[32];
        int exp10, n = 0, i, k, delta;
        unsigned long long m;

        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        /* buf is d[.ddd]e[+-]XX: collect the digits and the exponent */
        for (i = 0; buf[i] && buf[i] != 'e'; i++)
            if (buf[i] >= '0' && buf[i] <= '9')
                mant[n++] = buf[i];
        mant[n] = '\0';
        exp10 = atoi(buf + i + 1);
        m = strtoull(mant, NULL, 10);
        for (k = 0; k < 3; k++) {
            char cand[64], ds[32];
            unsigned long long mm;
            int len;
            delta = k == 0 ? 0 : (k == 1 ? -1 : 1);
            if (delta < 0 && m <= 1)
                continue;
            mm = m + (unsigned long long)(long long)delta;
            len = snprintf(ds, sizeof ds, "%llu", mm);
            if (len > prec)
                continue; /* carried into another digit: not this precision */
            /* value = mm * 10^(exp10 - prec + 1) */
            snprintf(cand, sizeof cand, "%se%d", ds, exp10 - prec + 1);
            if (strtod(cand, NULL) != v)
                continue;
            /* mm * 10^(exp10 - prec + 1) == 0.<ds> * 10^(len + exp10 - prec + 1) */
            *dp = len + exp10 - prec + 1;
            while (len > 1 && ds[len - 1] == '0')
                ds[--len] = '\0';
            memcpy(digits, ds, (size_t)len + 1);
            return;
        }
    }
    /* %.17e always round-trips; not reached for finite v */
    snprintf(digits, 18, "0");
    *dp = 1;
}

/*
 * Appends v as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it: the
 * shortest round-trip digits, in exponent form when the decimal exponent
 * is < -4 or >= 6 (Go decides with precision 6 in shortest mode), with at
 * least two exponent digits ("1e+06", "4.9351e-05"); otherwise in plain
 * form with as many decimals as the digits need ("100000", "0.0001").
 * Special values are "NaN", "+Inf" and "-Inf"; zero is "0" or "-0".
 */
static void go_format_float(prex_test_str *out, double v)
{
    char digits[32];
    int dp, nd, exp10, i;

    if (isnan(v)) {
        prex_test_str_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        prex_test_str_puts(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (signbit(v))
        prex_test_str_putc(out, '-');
    if (v == 0) {
        prex_test_str_putc(out, '0');
        return;
    }
    shortest_digits(fabs(v), digits, &dp);
    nd = (int)strlen(digits);
    exp10 = dp - 1;
    if (exp10 < -4 || exp10 >= 6) {
        prex_test_str_putc(out, digits[0]);
        if (nd > 1) {
            prex_test_str_putc(out, '.');
            prex_test_str_append(out, digits + 1, (size_t)nd - 1);
        }
        prex_test_str_printf(out, "e%c%02d", exp10 < 0 ? '-' : '+',
                             exp10 < 0 ? -exp10 : exp10);
        return;
    }
    if (dp <= 0) {
        prex_test_str_puts(out, "0.");
        for (i = 0; i < -dp; i++)
            prex_test_str_putc(out, '0');
        prex_test_str_append(out, digits, (size_t)nd);
    } else if (dp >= nd) {
        prex_test_str_append(out, digits, (size_t)nd);
        for (i = nd; i < dp; i++)
            prex_test_str_putc(out, '0');
    } else {
        prex_test_str_append(out, digits, (size_t)dp);
        prex_test_str_putc(out, '.');
        prex_test_str_append(out, digits + dp, (size_t)(nd - dp));
    }
}

/* MARK: canonical rendering (conformance/README.md) */

/* Appends p[0..n) double-quoted with the escapes \\, \" and \n; every
 * other byte raw. */
static void put_go_quoted(prex_test_str *out, const char *p, size_t n)
{
    size_t i;

    prex_test_str_putc(out, '"');
    for (i = 0; i < n; i++) {
        if (p[i] == '\\')
            prex_test_str_puts(out, "\\\\");
        else if (p[i] == '"')
            prex_test_str_puts(out, "\\\"");
        else if (p[i] == '\n')
            prex_test_str_puts(out, "\\n");
        else
            prex_test_str_putc(out, p[i]);
    }
    prex_test_str_putc(out, '"');
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (colon_ok) or [a-zA-Z_][a-zA-Z0-9_]*, written
 * here rather than taken from the library under test. */
static int legacy_name(const char *p, size_t n, int colon_ok)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon_ok && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* A decoded string: ptr[0..len), in owned (malloc'd) or in the input. */
typedef struct decoded {
    const char *ptr;
    size_t len;
    char *owned;
} decoded;

/* Decodes s with prex_unescape() when esc is set, else refers to it. */
static decoded decode(prex_slice s, int esc)
{
    decoded d = {s.ptr, s.len, NULL};

    if (esc && s.len) {
        d.owned = malloc(s.len);
        PREX_ASSERT_FATAL(d.owned != NULL);
        d.len = prex_unescape(s, d.owned);
        d.ptr = d.owned;
    }
    if (!d.ptr)
        d.ptr = "";
    return d;
}

/* A label with its decoded name and value, for sorting. */
typedef struct dlabel {
    decoded name;
    decoded value;
} dlabel;

/* Bytewise order of the decoded names, as Go compares strings. */
static int dlabel_before(const dlabel *a, const dlabel *b)
{
    size_t n = a->name.len < b->name.len ? a->name.len : b->name.len;
    int c = n ? memcmp(a->name.ptr, b->name.ptr, n) : 0;
    return c < 0 || (c == 0 && a->name.len < b->name.len);
}

/* Decodes labels[0..n) and sorts them by name with a stable insertion
 * sort (duplicate names keep their input order). Returns a malloc'd
 * array; free with free_dlabels(). */
static dlabel *sorted_labels(const prex_label *labels, size_t n)
{
    dlabel *d = malloc((n ? n : 1) * sizeof *d);
    size_t i, j;

    PREX_ASSERT_FATAL(d != NULL);
    for (i = 0; i < n; i++) {
        dlabel x;
        x.name = decode(labels[i].name, labels[i].name_esc);
        x.value = decode(labels[i].value, labels[i].value_esc);
        for (j = i; j > 0 && dlabel_before(&x, &d[j - 1]); j--)
            d[j] = d[j - 1];
        d[j] = x;
    }
    return d;
}

static void free_dlabels(dlabel *d, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(d[i].name.owned);
        free(d[i].value.owned);
    }
    free(d);
}

/* Appends one label: name (quoted when not a legacy label name) "="
 * quoted value. */
static void put_label(prex_test_str *out, const dlabel *l)
{
    if (legacy_name(l->name.ptr, l->name.len, 0))
        prex_test_str_append(out, l->name.ptr, l->name.len);
    else
        put_go_quoted(out, l->name.ptr, l->name.len);
    prex_test_str_putc(out, '=');
    put_go_quoted(out, l->value.ptr, l->value.len);
}

/* Appends " <ms>" or " -". */
static void put_ts(prex_test_str *out, int has, int64_t ms)
{
    if (has)
        prex_test_str_printf(out, " %" PRId64, ms);
    else
        prex_test_str_puts(out, " -");
}

/*
 * Appends the expected.txt line of a SAMPLE event:
 *     <series> <value> <timestamp>[ # {<labels>} <value> <timestamp>]
 * The series is name{labels} with labels sorted by decoded name, or
 * {"name",labels} when the decoded name is not a legacy metric name.
 */
static void render_sample(prex_test_str *out, const prex_event *ev)
{
    decoded name = decode(ev->name, ev->name_esc);
    dlabel *ls = sorted_labels(ev->labels, ev->nlabels);
    int open = 0;
    size_t i;

    if (legacy_name(name.ptr, name.len, 1)) {
        prex_test_str_append(out, name.ptr, name.len);
    } else {
        prex_test_str_putc(out, '{');
        put_go_quoted(out, name.ptr, name.len);
        open = 1;
    }
    for (i = 0; i < ev->nlabels; i++) {
        prex_test_str_putc(out, open ? ',' : '{');
        open = 1;
        put_label(out, &ls[i]);
    }
    if (open)
        prex_test_str_putc(out, '}');
    prex_test_str_putc(out, ' ');
    go_format_float(out, ev->value);
    put_ts(out, ev->has_timestamp, ev->timestamp_ms);
    free_dlabels(ls, ev->nlabels);
    free(name.owned);

    if (ev->has_exemplar) {
        const prex_exemplar *ex = &ev->exemplar;
        dlabel *el = sorted_labels(ex->labels, ex->nlabels);
        prex_test_str_puts(out, " # {");
        for (i = 0; i < ex->nlabels; i++) {
            if (i)
                prex_test_str_putc(out, ',');
            put_label(out, &el[i]);
        }
        prex_test_str_puts(out, "} ");
        go_format_float(out, ex->value);
        put_ts(out, ex->has_timestamp, ex->timestamp_ms);
        free_dlabels(el, ex->nlabels);
    }
    prex_test_str_putc(out, '\n');
}

/* PromParser's HELP decoding: \\ and \n only; every other pair, \"
 * included, stays as written. Returns the length written to out (which
 * holds n bytes). */
static size_t prom_help_unescape(const char *p, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        if (p[i] == '\\' && i + 1 < n && (p[i + 1] == '\\' || p[i + 1] == 'n')) {
            out[o++] = p[i + 1] == 'n' ? '\n' : '\\';
            i += 2;
        } else {
            out[o++] = p[i++];
        }
    }
    return o;
}

/*
 * The HELP text the reference parser reports for a text-format HELP event,
 * before decoding. PromParser drops exactly one byte after the name and
 * keeps every further blank, where prex (like expfmt) starts the text at
 * the first non-blank byte; both keep the text up to the line end. So the
 * text is rebuilt as the bytes from one past the name's end (past the
 * closing quote of a quoted name) to the end of prex's text slice; they
 * must all lie in the input. Falls back to prex's own text when its slice
 * does not fit that shape, so that the comparison then fails visibly.
 */
static prex_slice prom_help_text(const prex_event *ev, const char *in, size_t len)
{
    uintptr_t lo = (uintptr_t)in, hi = (uintptr_t)(in + len);
    uintptr_t name = (uintptr_t)ev->name.ptr, text = (uintptr_t)ev->text.ptr;
    uintptr_t start, end;
    prex_slice r;

    if (!ev->name.ptr || name < lo || name > hi)
        return ev->text;
    start = name + ev->name.len;
    if (name > lo && in[name - lo - 1] == '"' && start < hi && in[start - lo] == '"')
        start++;
    if (start < hi && in[start - lo] != '\n')
        start++;
    if (ev->text.len == 0 || !ev->text.ptr)
        end = start;
    else if (text >= start && text + ev->text.len <= hi)
        end = text + ev->text.len;
    else
        return ev->text;
    r.ptr = in + (start - lo);
    r.len = (size_t)(end - start);
    return r;
}

/*
 * Appends the expected-meta.txt line of a HELP, TYPE or UNIT event:
 *     HELP "<name>" "<text>"   TYPE "<name>" <type>   UNIT "<name>" "<unit>"
 * The reference parser reports the name as written (escapes not decoded)
 * and untyped as "unknown". HELP text is decoded as that parser does:
 * PromParser (text) decodes \\ and \n, the OpenMetrics parser also \".
 */
static void render_meta(prex_test_str *out, const prex_event *ev,
                        const prex_test_case *c)
{
    prex_slice t;
    char *buf;
    size_t n;

    switch (ev->kind) {
    case PREX_EV_HELP:
        prex_test_str_puts(out, "HELP ");
        put_go_quoted(out, ev->name.ptr, ev->name.len);
        prex_test_str_putc(out, ' ');
        t = c->format == PREX_FORMAT_TEXT
                ? prom_help_text(ev, c->input, c->input_len)
                : ev->text;
        buf = malloc(t.len ? t.len : 1);
        PREX_ASSERT_FATAL(buf != NULL);
        n = c->format == PREX_FORMAT_TEXT ? prom_help_unescape(t.ptr, t.len, buf)
                                          : prex_unescape(t, buf);
        put_go_quoted(out, buf, n);
        free(buf);
        break;
    case PREX_EV_TYPE:
        prex_test_str_puts(out, "TYPE ");
        put_go_quoted(out, ev->name.ptr, ev->name.len);
        prex_test_str_printf(out, " %s", ev->type == PREX_TYPE_UNTYPED
                                             ? "unknown"
                                             : prex_test_type_name((int)ev->type));
        break;
    case PREX_EV_UNIT:
        prex_test_str_puts(out, "UNIT ");
        put_go_quoted(out, ev->name.ptr, ev->name.len);
        prex_test_str_putc(out, ' ');
        put_go_quoted(out, ev->text.ptr, ev->text.len);
        break;
    default:
        return;
    }
    prex_test_str_putc(out, '\n');
}

/* MARK: running a case */

/* What one parse of a case gave. */
typedef struct outcome {
    int rc;                          /* last prex_next() result */
    prex_error err;                  /* copy of the error (code OK if none) */
    char detail[PREX_DETAIL_MAX + 1];
} outcome;

/*
 * Parses case c one-shot (prex_finish() first) with flags, recording the
 * outcome and, when the buffers are given, the rendered samples and
 * metadata. The case input stays alive, so slices need no copying; label
 * arrays are rendered before the next prex_next().
 */
static void run_case(const prex_test_case *c, unsigned flags, outcome *o,
                     prex_test_str *samples, prex_test_str *meta)
{
    prex_parser p;
    prex_event ev;
    size_t nev = 0;

    memset(o, 0, sizeof *o);
    prex_parser_init(&p, c->input, c->input_len, c->format, flags);
    prex_finish(&p);
    for (;;) {
        o->rc = prex_next(&p, &ev);
        if (o->rc == PREX_EV_SAMPLE && samples)
            render_sample(samples, &ev);
        else if ((o->rc == PREX_EV_HELP || o->rc == PREX_EV_TYPE ||
                  o->rc == PREX_EV_UNIT) && meta)
            render_meta(meta, &ev, c);
        if (o->rc < PREX_EV_HELP || o->rc >= PREX_EV_EOF)
            break;
        if (++nev > c->input_len + 2)
            break; /* no progress: reported as a parser fault */
    }
    o->err = *prex_parser_error(&p);
    if (o->err.detail) {
        snprintf(o->detail, sizeof o->detail, "%s", o->err.detail);
        o->err.detail = o->detail;
    } else {
        o->err.detail = "";
    }
    prex_parser_free(&p);
}

/* Appends "valid" or "invalid (NAME at L:C: detail)" for an outcome. */
static void describe(prex_test_str *s, const outcome *o)
{
    if (o->rc == PREX_EV_EOF)
        prex_test_str_puts(s, "valid");
    else if (o->rc == PREX_ERROR)
        prex_test_str_printf(s, "invalid (%s at %" PRIu64 ":%" PRIu64 "%s%s)",
                             prex_errname(o->err.code), o->err.line,
                             o->err.column, *o->err.detail ? ": " : "",
                             o->err.detail);
    else
        prex_test_str_printf(s, "no verdict (prex_next() returned %d)", o->rc);
}

/* MARK: tests */

/* Formatting samples from conformance/README.md, plus values that probe
 * the shortest-digit search and the exponent switch points. */
static void test_go_float(void)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {1e6, "1e+06"},
        {100000, "100000"},
        {1.7560473e+06, "1.7560473e+06"},
        {4.9351e-05, "4.9351e-05"},
        {0.0001, "0.0001"},
        {1.520872607123e+09, "1.520872607123e+09"},
        {-0.0, "-0"},
        {0.0, "0"},
        {7.424100000000001e-05, "7.424100000000001e-05"},
        {0.23, "0.23"},
        {123.7, "123.7"},
        {999999, "999999"},
        {1234567, "1.234567e+06"},
        {1e-5, "1e-05"},
        {-2.5e-7, "-2.5e-07"},
        {1e100, "1e+100"},
        {1e23, "1e+23"},
        {0.1 + 0.2, "0.30000000000000004"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {9007199254740993.0, "9.007199254740992e+15"},
        {-1, "-1"},
        {17, "17"},
        {324789.3, "324789.3"},
    };
    prex_test_str s = {0};
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        prex_test_str_clear(&s);
        go_format_float(&s, cases[i].v);
        PREX_CHECK(strcmp(s.ptr, cases[i].want) == 0,
                   "go_format_float(%.17g): got %s, want %s", cases[i].v, s.ptr,
                   cases[i].want);
    }
    prex_test_str_clear(&s);
    go_format_float(&s, NAN);
    PREX_CHECK(strcmp(s.ptr, "NaN") == 0, "NaN: got %s", s.ptr);
    prex_test_str_clear(&s);
    go_format_float(&s, INFINITY);
    PREX_CHECK(strcmp(s.ptr, "+Inf") == 0, "+Inf: got %s", s.ptr);
    prex_test_str_clear(&s);
    go_format_float(&s, -INFINITY);
    PREX_CHECK(strcmp(s.ptr, "-Inf") == 0, "-Inf: got %s", s.ptr);
    prex_test_str_free(&s);
}

/* The canonical series rendering on hand-made events: sorting by decoded
 * name, quoting of non-legacy names, the quoted metric name inside the
 * braces, escapes re-encoded, exemplars and timestamps. */
static void test_render(void)
{
    static const char in[] = "a.b\\\"c zz a_b \\\\x\\n q\\\"";
    prex_label labels[3], exl[1];
    prex_event ev;
    prex_test_str s = {0};

    memset(&ev, 0, sizeof ev);
    memset(labels, 0, sizeof labels);
    ev.kind = PREX_EV_SAMPLE;
    ev.name.ptr = in;          /* a.b\"c */
    ev.name.len = 6;
    ev.name_esc = 1;
    labels[0].name.ptr = in + 7; /* zz */
    labels[0].name.len = 2;
    labels[0].value.ptr = in + 10; /* a_b */
    labels[0].value.len = 3;
    labels[1].name.ptr = in + 20; /* q\" */
    labels[1].name.len = 3;
    labels[1].name_esc = 1;
    labels[1].value.ptr = in + 14; /* \\x\n */
    labels[1].value.len = 5;
    labels[1].value_esc = 1;
    labels[2].name.ptr = in + 10; /* a_b */
    labels[2].name.len = 3;
    labels[2].value.ptr = in + 7;
    labels[2].value.len = 0;
    ev.labels = labels;
    ev.nlabels = 3;
    ev.value = 1e6;
    ev.has_timestamp = 1;
    ev.timestamp_ms = -1000;
    render_sample(&s, &ev);
    PREX_CHECK(strcmp(s.ptr, "{\"a.b\\\"c\",a_b=\"\",\"q\\\"\"=\"\\\\x\\n\",zz=\"a_b\"} "
                             "1e+06 -1000\n") == 0,
               "render: got %s", s.ptr);

    prex_test_str_clear(&s);
    ev.name.ptr = in + 10; /* a_b */
    ev.name.len = 3;
    ev.name_esc = 0;
    ev.nlabels = 0;
    ev.value = -0.0;
    ev.has_timestamp = 0;
    memset(exl, 0, sizeof exl);
    exl[0].name = labels[0].name;
    exl[0].value = labels[0].value;
    ev.has_exemplar = 1;
    ev.exemplar.labels = exl;
    ev.exemplar.nlabels = 1;
    ev.exemplar.value = 0.5;
    ev.exemplar.has_timestamp = 1;
    ev.exemplar.timestamp_ms = 123000;
    render_sample(&s, &ev);
    PREX_CHECK(strcmp(s.ptr, "a_b -0 - # {zz=\"a_b\"} 0.5 123000\n") == 0,
               "render: got %s", s.ptr);
    prex_test_str_free(&s);
}

/* Compares two line lists and reports the first difference for case c.
 * Returns nonzero when equal. */
static int compare_lines(const prex_test_case *c, const char *file,
                         const prex_test_str *got, const char *want, size_t want_len)
{
    size_t gp = 0, wp = 0, ln = 1;
    prex_test_str msg = {0};

    if (got->len == want_len && (want_len == 0 || memcmp(got->ptr, want, want_len) == 0))
        return prex_test_pass(__FILE__, __LINE__);
    for (;; ln++) {
        const char *g = got->ptr + gp, *w = want + wp;
        const char *gn = gp < got->len ? memchr(g, '\n', got->len - gp) : NULL;
        const char *wn = wp < want_len ? memchr(w, '\n', want_len - wp) : NULL;
        size_t gl = gp < got->len ? (gn ? (size_t)(gn - g) : got->len - gp) : 0;
        size_t wl = wp < want_len ? (wn ? (size_t)(wn - w) : want_len - wp) : 0;
        int gend = gp >= got->len, wend = wp >= want_len;
        if (gend != wend || gl != wl || memcmp(g, w, gl) != 0 || (gend && wend)) {
            prex_test_str_printf(&msg, "%s: %s line %zu differs\n      prex:     ",
                                 c->name, file, ln);
            prex_test_str_put_visible(&msg, gend ? "<no more lines>" : g,
                                      gend ? 15 : gl);
            prex_test_str_puts(&msg, "\n      expected: ");
            prex_test_str_put_visible(&msg, wend ? "<no more lines>" : w,
                                      wend ? 15 : wl);
            break;
        }
        gp += gl + 1;
        wp += wl + 1;
    }
    prex_test_fail(__FILE__, __LINE__, "%s", msg.ptr);
    prex_test_str_free(&msg);
    return 0;
}

/*
 * The verdict rules, for every case and in both name modes:
 *   (a) a case not in the deviation table agrees with its verdict;
 *   (b) a case in the table disagrees, and some reference parser gives
 *       prex's answer;
 *   (c) text cases: what expfmt rejects (UTF-8 validation; legacy
 *       validation under PREX_LEGACY_NAMES), prex rejects.
 * Prints one summary line; "unsound" counts the cases that break any rule
 * in either mode.
 */
static void test_verdicts(void)
{
    size_t i, agree = 0, documented = 0, unsound = 0, lagree = 0;
    prex_test_str msg = {0};
    unsigned mode;

    if (!have_cases())
        return;
    for (i = 0; i < g_ncases; i++) {
        const prex_test_case *c = &g_cases[i];
        int bad = 0;
        for (mode = DEV_UTF8; mode <= DEV_LEGACY; mode <<= 1) {
            unsigned flags = mode == DEV_LEGACY ? PREX_LEGACY_NAMES : 0;
            int want = mode == DEV_LEGACY ? c->legacy_valid : c->valid;
            const char *tag = mode == DEV_LEGACY ? " [PREX_LEGACY_NAMES]" : "";
            const deviation *d = find_deviation(c->name, mode);
            outcome o;
            int got;

            run_case(c, flags, &o, NULL, NULL);
            got = o.rc == PREX_EV_EOF;
            prex_test_str_clear(&msg);
            describe(&msg, &o);
            if (got == want) {
                if (mode == DEV_UTF8)
                    agree++;
                else
                    lagree++;
            }
            if (!d) {
                bad |= !PREX_CHECK(got == want, "%s%s: verdict %s, prex %s",
                                   c->name, tag, want ? "valid" : "invalid", msg.ptr);
            } else if (got == want) {
                bad |= !prex_test_fail(__FILE__, __LINE__,
                                       "%s%s: in the deviation table (%s), but prex "
                                       "agrees with the verdict: %s",
                                       c->name, tag, d->reason, msg.ptr);
            } else if (!prex_test_ref_any(c, got)) {
                bad |= !prex_test_fail(__FILE__, __LINE__,
                                       "%s%s: deviation (%s): prex %s, but no "
                                       "reference parser says %s",
                                       c->name, tag, d->reason, msg.ptr,
                                       got ? "valid" : "invalid");
            } else if (mode == DEV_UTF8) {
                documented++;
            }
            if (c->format == PREX_FORMAT_TEXT) {
                const char *ref = mode == DEV_LEGACY
                                      ? "expfmt.TextParser(LegacyValidation)"
                                      : "expfmt.TextParser(UTF8Validation)";
                bad |= !PREX_CHECK(!(prex_test_ref_verdict(c, ref) == 0 && got),
                                   "%s%s: %s rejects it, but prex accepts it",
                                   c->name, tag, ref);
            }
        }
        unsound += bad != 0;
    }
    printf("\nconformance: %zu/%zu agree with verdict, %zu documented deviations, "
           "%zu unsound (with PREX_LEGACY_NAMES: %zu/%zu agree)\n",
           agree, g_ncases, documented, unsound, lagree, g_ncases);
    prex_test_str_free(&msg);
}

/* For every valid case that prex accepts: its samples, rendered
 * canonically, equal expected.txt line for line. */
static void test_samples(void)
{
    size_t i, checked = 0, same = 0;
    prex_test_str out = {0};

    if (!have_cases())
        return;
    for (i = 0; i < g_ncases; i++) {
        const prex_test_case *c = &g_cases[i];
        outcome o;

        if (!c->valid)
            continue;
        prex_test_str_clear(&out);
        prex_test_str_reserve(&out, 0);
        run_case(c, 0, &o, &out, NULL);
        if (o.rc != PREX_EV_EOF)
            continue; /* a verdict disagreement, reported by test_verdicts */
        checked++;
        if (!PREX_CHECK(c->expected != NULL, "%s: valid case without expected.txt",
                        c->name))
            continue;
        same += compare_lines(c, "expected.txt", &out, c->expected, c->expected_len);
    }
    printf("\nconformance: expected.txt matches for %zu/%zu valid cases prex accepts\n",
           same, checked);
    prex_test_str_free(&out);
}

/* For every valid case that prex accepts and that has expected-meta.txt:
 * its HELP, TYPE and UNIT events, rendered as the reference parser
 * reports them, equal that file line for line. */
static void test_meta(void)
{
    size_t i, checked = 0, same = 0;
    prex_test_str out = {0};

    if (!have_cases())
        return;
    for (i = 0; i < g_ncases; i++) {
        const prex_test_case *c = &g_cases[i];
        outcome o;

        if (!c->valid || !c->meta)
            continue;
        prex_test_str_clear(&out);
        prex_test_str_reserve(&out, 0);
        run_case(c, 0, &o, NULL, &out);
        if (o.rc != PREX_EV_EOF)
            continue;
        checked++;
        same += compare_lines(c, "expected-meta.txt", &out, c->meta, c->meta_len);
    }
    printf("\nconformance: expected-meta.txt matches for %zu/%zu valid cases prex "
           "accepts\n", same, checked);
    prex_test_str_free(&out);
}

/* Every deviation entry names an existing case, once per mode, with a
 * reason. */
static void test_deviation_table(void)
{
    const deviation *d, *e;
    size_t i;

    if (!have_cases())
        return;
    for (d = deviations; d->dir; d++) {
        int found = 0;
        for (i = 0; i < g_ncases && !found; i++)
            found = strcmp(g_cases[i].name, d->dir) == 0;
        PREX_CHECK(found, "deviation table: no case dir %s", d->dir);
        PREX_CHECK(d->reason && *d->reason, "deviation table: %s has no reason",
                   d->dir);
        PREX_CHECK(d->modes <= (DEV_UTF8 | DEV_LEGACY),
                   "deviation table: %s has bad modes %u", d->dir, d->modes);
        for (e = deviations; e != d; e++) {
            unsigned dm = d->modes ? d->modes : DEV_UTF8 | DEV_LEGACY;
            unsigned em = e->modes ? e->modes : DEV_UTF8 | DEV_LEGACY;
            PREX_CHECK(strcmp(e->dir, d->dir) != 0 || !(dm & em),
                       "deviation table: %s listed twice", d->dir);
        }
    }
}

static CU_TestInfo conformance_tests[] = {
    {"go_float", test_go_float},
    {"render", test_render},
    {"deviation_table", test_deviation_table},
    {"verdicts", test_verdicts},
    {"samples", test_samples},
    {"meta", test_meta},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo prex_conformance_suites[] = {
    {.pName = "conformance", .pCleanupFunc = suite_cleanup,
     .pTests = conformance_tests},
    CU_SUITE_INFO_NULL,
};

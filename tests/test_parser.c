/*
 * test_parser.c - unit tests of the parse API in prex.h: the fields of
 * each event kind, streaming with PREX_NEED_MORE and prex_parser_refill(),
 * prex_finish(), the lenient flags one at a time, the limits, error codes
 * and positions, prex_parser_recover(), the allocator hook, and the
 * stateless utilities (prex_locate, prex_unescape, prex_detect_format, the
 * legacy name checks, the error and type names).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "internal.h"
#include "prex.h"
#include "testlib.h"

#define TEXT PREX_FORMAT_TEXT
#define OM PREX_FORMAT_OPENMETRICS

/* A string literal or char array and its length, NUL bytes inside it
 * included (the terminating NUL is the parser's sentinel). */
#define LIT(s) (s), (sizeof(s) - 1)

/* MARK: test utilities */

/* Starts a one-shot parse of a literal (string literals end in the NUL
 * sentinel the parser needs). */
static void start(prex_parser *p, const char *buf, size_t len, prex_format fmt,
                  unsigned flags)
{
    prex_parser_init(p, buf, len, fmt, flags);
    prex_finish(p);
}

/* Fetches the next event and checks its kind. Returns nonzero if it
 * matched; on mismatch the message shows the error if there was one. */
static int next_is(prex_parser *p, prex_event *ev, int kind, unsigned line)
{
    int rc = prex_next(p, ev);

    if (rc == kind)
        return prex_test_pass(__FILE__, line);
    if (rc == PREX_ERROR) {
        const prex_error *e = prex_parser_error(p);
        return prex_test_fail(__FILE__, line,
                              "prex_next: want kind %d, got PREX_ERROR %s at "
                              "%llu:%llu (%s)",
                              kind, prex_errname(e->code),
                              (unsigned long long)e->line,
                              (unsigned long long)e->column, e->detail);
    }
    return prex_test_fail(__FILE__, line, "prex_next: want kind %d, got %d", kind, rc);
}
#define NEXT_IS(p, ev, kind) next_is((p), (ev), (kind), __LINE__)

/*
 * Parses buf one-shot and checks that it ends in PREX_ERROR with code at
 * line:column, and that the error's offset locates to that line and
 * column in buf. lim may be NULL. The message carries the event log.
 */
static void expect_error(const char *buf, size_t len, prex_format fmt,
                         unsigned flags, const prex_limits *lim, int code,
                         uint64_t line, uint64_t col, unsigned at)
{
    prex_parser p;
    prex_event ev;
    prex_test_str log = {0};
    int rc;
    size_t n = 0;

    prex_parser_init(&p, buf, len, fmt, flags);
    if (lim)
        prex_parser_set_limits(&p, lim);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF && n++ <= len)
        prex_test_evlog_event(&log, &ev);
    if (rc != PREX_ERROR) {
        prex_test_fail(__FILE__, at, "want %s at %llu:%llu, got rc %d; log:\n%s",
                       prex_errname(code), (unsigned long long)line,
                       (unsigned long long)col, rc, log.ptr ? log.ptr : "");
    } else {
        const prex_error *e = prex_parser_error(&p);
        uint64_t ll = 0, lc = 0;
        int lr = e->offset <= len ? prex_locate(buf, len, (size_t)e->offset, &ll, &lc)
                                  : -1;
        if (e->code != code || e->line != line || e->column != col)
            prex_test_fail(__FILE__, at,
                           "want %s at %llu:%llu, got %s at %llu:%llu (offset %llu, "
                           "%s); log:\n%s",
                           prex_errname(code), (unsigned long long)line,
                           (unsigned long long)col, prex_errname(e->code),
                           (unsigned long long)e->line, (unsigned long long)e->column,
                           (unsigned long long)e->offset, e->detail,
                           log.ptr ? log.ptr : "");
        else
            prex_test_pass(__FILE__, at);
        PREX_CHECK(lr == 0 && ll == e->line && lc == e->column,
                   "error offset %llu locates to %llu:%llu, error says %llu:%llu",
                   (unsigned long long)e->offset, (unsigned long long)ll,
                   (unsigned long long)lc, (unsigned long long)e->line,
                   (unsigned long long)e->column);
        PREX_CHECK(e->msg && strcmp(e->msg, prex_strerror(e->code)) == 0,
                   "error msg is not prex_strerror(code)");
        PREX_CHECK(e->detail != NULL, "error detail is NULL");
        /* sticky */
        PREX_CHECK(prex_next(&p, &ev) == PREX_ERROR, "error is not sticky");
    }
    prex_parser_free(&p);
    prex_test_str_free(&log);
}
#define EXPECT_ERROR(lit, fmt, flags, code, line, col)                         \
    expect_error(LIT(lit), (fmt), (flags), NULL, PREX_E_##code, (line), (col), \
                 __LINE__)

/* Parses buf one-shot and checks that it reaches PREX_EV_EOF. */
static int accepts(const char *buf, size_t len, prex_format fmt, unsigned flags,
                   const prex_limits *lim, unsigned at)
{
    prex_parser p;
    prex_event ev;
    int rc;
    size_t n = 0;

    prex_parser_init(&p, buf, len, fmt, flags);
    if (lim)
        prex_parser_set_limits(&p, lim);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF && n++ <= len)
        ;
    if (rc == PREX_EV_EOF) {
        prex_parser_free(&p);
        return prex_test_pass(__FILE__, at);
    }
    if (rc == PREX_ERROR) {
        const prex_error *e = prex_parser_error(&p);
        prex_test_fail(__FILE__, at, "want acceptance, got %s at %llu:%llu (%s)",
                       prex_errname(e->code), (unsigned long long)e->line,
                       (unsigned long long)e->column, e->detail);
    } else {
        prex_test_fail(__FILE__, at, "want acceptance, got rc %d", rc);
    }
    prex_parser_free(&p);
    return 0;
}
#define ACCEPTS(lit, fmt, flags) accepts(LIT(lit), (fmt), (flags), NULL, __LINE__)

/* The fields a non-SAMPLE event must have zeroed. */
static void check_no_sample_fields(const prex_event *ev, unsigned at)
{
    if (!(ev->family.len == 0 && ev->suffix == PREX_SUFFIX_NONE &&
          ev->nlabels == 0 && ev->value_raw.len == 0 && ev->value == 0 &&
          !ev->has_timestamp && ev->timestamp_ms == 0 &&
          ev->timestamp_raw.len == 0 && !ev->has_exemplar))
        prex_test_fail(__FILE__, at, "event kind %d has sample fields set", ev->kind);
    else
        prex_test_pass(__FILE__, at);
}

/* family is a prefix of name, and name == family + suffix. */
static void check_family(const prex_event *ev, unsigned at)
{
    size_t sl = prex_suffix_len(ev->suffix);
    int ok = ev->family.ptr == ev->name.ptr && ev->family.len + sl == ev->name.len;
    if (!ok)
        prex_test_fail(__FILE__, at, "family is not name minus its suffix");
    else
        prex_test_pass(__FILE__, at);
}

/* MARK: events */

static void test_event_help(void)
{
    prex_parser p;
    prex_event ev;
    static const char in[] = "# HELP a Some \\\\ help\\n text.\n"
                             "# HELP \"b.c\"   spaced  \n"
                             "{\"b.c\"} 1\n";

    start(&p, LIT(in), TEXT, 0);
    if (NEXT_IS(&p, &ev, PREX_EV_HELP)) {
        PREX_ASSERT_SLICE_STR(ev.name, "a");
        PREX_ASSERT_SLICE_STR(ev.text, "Some \\\\ help\\n text.");
        CU_ASSERT(ev.text_esc != 0);
        CU_ASSERT(ev.name_esc == 0);
        CU_ASSERT(ev.offset == 0);
        CU_ASSERT(ev.line == 1);
        CU_ASSERT(ev.type == PREX_TYPE_UNTYPED);
        check_no_sample_fields(&ev, __LINE__);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_HELP)) {
        /* text starts after all blanks; trailing blanks belong to it */
        PREX_ASSERT_SLICE_STR(ev.name, "b.c");
        PREX_ASSERT_SLICE_STR(ev.text, "spaced  ");
        CU_ASSERT(ev.text_esc == 0);
        CU_ASSERT(ev.offset == 30);
        CU_ASSERT(ev.line == 2);
    }
    NEXT_IS(&p, &ev, PREX_EV_SAMPLE);
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);
}

/* Metadata lines in the forms the parser reads without its lexer (one
 * space each, a plain name) and next to them, each with what the lexer's
 * path gives: the event, its name and text, a comment or the error. */
static void test_event_meta_forms(void)
{
    static const struct {
        prex_format fmt;
        const char *in;
        int kind;          /* event kind, or 0 for an error */
        const char *name;  /* or the error's name */
        const char *text;
    } cases[] = {
        {TEXT, "# HELP a x\n", PREX_EV_HELP, "a", "x"},
        {TEXT, "# HELP a  x\n", PREX_EV_HELP, "a", "x"},
        {TEXT, "# HELP a \tx\n", PREX_EV_HELP, "a", "x"},
        {TEXT, "# HELP a\tx\n", PREX_EV_HELP, "a", "x"},
        {TEXT, "#  HELP a x\n", PREX_EV_HELP, "a", "x"},
        {TEXT, "# HELP  a x\n", PREX_EV_HELP, "a", "x"},
        {TEXT, "# HELP a:b_c x y \n", PREX_EV_HELP, "a:b_c", "x y "},
        {TEXT, "# HELP abcdefghijklmnopqrstuvwxyz_0123:x x\n", PREX_EV_HELP,
         "abcdefghijklmnopqrstuvwxyz_0123:x", "x"},
        {TEXT, "# HELP _a \"q\"\n", PREX_EV_HELP, "_a", "\"q\""},
        {TEXT, "# HELP a \n", PREX_EV_COMMENT, NULL, " HELP a "},
        {TEXT, "# HELP a\n", PREX_EV_COMMENT, NULL, " HELP a"},
        {TEXT, "# HELPa x\n", PREX_EV_COMMENT, NULL, " HELPa x"},
        {TEXT, "# UNIT a s\n", PREX_EV_COMMENT, NULL, " UNIT a s"},
        {TEXT, "# help a x\n", PREX_EV_COMMENT, NULL, " help a x"},
        {TEXT, "# TYPE a gauge\n", PREX_EV_TYPE, "a", "gauge"},
        {TEXT, "# TYPE a  gauge\n", PREX_EV_TYPE, "a", "gauge"},
        {TEXT, "# TYPE a:b counter\n", PREX_EV_TYPE, "a:b", "counter"},
        {TEXT, "# HELP 0a x\n", 0, "NAME", NULL},
        {TEXT, "# HELP a{ x\n", 0, "NAME", NULL},
        {TEXT, "# TYPE a gauge", 0, "TRUNCATED", NULL},
        {OM, "# HELP a x\n# EOF\n", PREX_EV_HELP, "a", "x"},
        {OM, "# HELP a  x\n# EOF\n", PREX_EV_HELP, "a", " x"},
        {OM, "# UNIT a_s s\n# EOF\n", PREX_EV_UNIT, "a_s", "s"},
        {OM, "# TYPE a gauge\n# EOF\n", PREX_EV_TYPE, "a", "gauge"},
        {OM, "# HELP a\tx\n# EOF\n", 0, "HELP", NULL},
        {OM, "#  HELP a x\n# EOF\n", 0, "COMMENT", NULL},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        prex_parser p;
        prex_event ev;
        int rc;

        prex_parser_init(&p, cases[i].in, strlen(cases[i].in), cases[i].fmt, 0);
        prex_finish(&p);
        rc = prex_next(&p, &ev);
        if (cases[i].kind == 0) {
            PREX_CHECK(rc == PREX_ERROR && strcmp(prex_errname(prex_parser_error(&p)->code),
                                                  cases[i].name) == 0,
                       "case %zu: rc %d, error %s, want %s", i, rc,
                       prex_errname(prex_parser_error(&p)->code), cases[i].name);
        } else if (PREX_CHECK(rc == cases[i].kind, "case %zu: rc %d, want %d", i, rc,
                              cases[i].kind)) {
            if (cases[i].name)
                PREX_CHECK(ev.name.len == strlen(cases[i].name) &&
                               memcmp(ev.name.ptr, cases[i].name, ev.name.len) == 0,
                           "case %zu: name %.*s", i, (int)ev.name.len, ev.name.ptr);
            PREX_CHECK(ev.text.len == strlen(cases[i].text) &&
                           memcmp(ev.text.ptr, cases[i].text, ev.text.len) == 0,
                       "case %zu: text '%.*s'", i, (int)ev.text.len, ev.text.ptr);
        }
        prex_parser_free(&p);
    }
}

static void test_event_type(void)
{
    static const struct {
        const char *token;
        prex_type type;
    } text_types[] = {
        {"counter", PREX_TYPE_COUNTER},     {"gauge", PREX_TYPE_GAUGE},
        {"histogram", PREX_TYPE_HISTOGRAM}, {"summary", PREX_TYPE_SUMMARY},
        {"untyped", PREX_TYPE_UNTYPED},     {"gaugehistogram", PREX_TYPE_GAUGEHISTOGRAM},
        {"gauge_histogram", PREX_TYPE_GAUGEHISTOGRAM},
    }, om_types[] = {
        {"counter", PREX_TYPE_COUNTER},     {"gauge", PREX_TYPE_GAUGE},
        {"histogram", PREX_TYPE_HISTOGRAM}, {"summary", PREX_TYPE_SUMMARY},
        {"unknown", PREX_TYPE_UNTYPED},     {"gaugehistogram", PREX_TYPE_GAUGEHISTOGRAM},
        {"info", PREX_TYPE_INFO},           {"stateset", PREX_TYPE_STATESET},
    };
    prex_test_str in = {0};
    prex_parser p;
    prex_event ev;
    size_t i;

    for (i = 0; i < sizeof text_types / sizeof text_types[0]; i++) {
        prex_test_str_clear(&in);
        prex_test_str_printf(&in, "# TYPE x  %s\n", text_types[i].token);
        start(&p, in.ptr, in.len, TEXT, 0);
        if (NEXT_IS(&p, &ev, PREX_EV_TYPE)) {
            PREX_ASSERT_SLICE_STR(ev.name, "x");
            PREX_ASSERT_SLICE_EQ(ev.text, text_types[i].token,
                                 strlen(text_types[i].token));
            PREX_CHECK(ev.type == text_types[i].type, "text %s: type %d",
                       text_types[i].token, (int)ev.type);
            check_no_sample_fields(&ev, __LINE__);
        }
        NEXT_IS(&p, &ev, PREX_EV_EOF);
        prex_parser_free(&p);
    }
    for (i = 0; i < sizeof om_types / sizeof om_types[0]; i++) {
        prex_test_str_clear(&in);
        prex_test_str_printf(&in, "# TYPE x %s\n# EOF\n", om_types[i].token);
        start(&p, in.ptr, in.len, OM, 0);
        if (NEXT_IS(&p, &ev, PREX_EV_TYPE)) {
            PREX_ASSERT_SLICE_STR(ev.name, "x");
            PREX_ASSERT_SLICE_EQ(ev.text, om_types[i].token, strlen(om_types[i].token));
            PREX_CHECK(ev.type == om_types[i].type, "OM %s: type %d",
                       om_types[i].token, (int)ev.type);
        }
        NEXT_IS(&p, &ev, PREX_EV_EOF);
        prex_parser_free(&p);
    }
    prex_test_str_free(&in);
}

static void test_event_unit(void)
{
    prex_parser p;
    prex_event ev;
    static const char in[] = "# TYPE a_seconds gauge\n"
                             "# UNIT a_seconds seconds\n"
                             "a_seconds 1\n"
                             "# EOF\n";

    start(&p, LIT(in), OM, 0);
    NEXT_IS(&p, &ev, PREX_EV_TYPE);
    if (NEXT_IS(&p, &ev, PREX_EV_UNIT)) {
        PREX_ASSERT_SLICE_STR(ev.name, "a_seconds");
        PREX_ASSERT_SLICE_STR(ev.text, "seconds");
        CU_ASSERT(ev.offset == 23);
        CU_ASSERT(ev.line == 2);
        check_no_sample_fields(&ev, __LINE__);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        CU_ASSERT(ev.type == PREX_TYPE_GAUGE);
        CU_ASSERT(ev.suffix == PREX_SUFFIX_NONE);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_EOF)) {
        CU_ASSERT(ev.offset == 60);
        CU_ASSERT(ev.line == 4);
    }
    prex_parser_free(&p);
}

static void test_event_comment(void)
{
    prex_parser p;
    prex_event ev;
    static const char in[] = "# a comment\n#\n  # HELPless\n";

    start(&p, LIT(in), TEXT, 0);
    if (NEXT_IS(&p, &ev, PREX_EV_COMMENT)) {
        PREX_ASSERT_SLICE_STR(ev.text, " a comment");
        CU_ASSERT(ev.name.len == 0);
        check_no_sample_fields(&ev, __LINE__);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_COMMENT)) {
        CU_ASSERT(ev.text.len == 0);
        CU_ASSERT(ev.offset == 12);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_COMMENT)) {
        PREX_ASSERT_SLICE_STR(ev.text, " HELPless");
        CU_ASSERT(ev.line == 3);
    }
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);

    /* HELP or TYPE with a name and blanks but no text is a comment, as
     * without the blanks (expfmt ignores both), so the real ones after
     * it are not second HELP/TYPE lines */
    start(&p, LIT("# HELP a \t\n# TYPE a \n# HELP a Real.\n# TYPE a gauge\na 1\n"), TEXT, 0);
    if (NEXT_IS(&p, &ev, PREX_EV_COMMENT)) {
        PREX_ASSERT_SLICE_STR(ev.text, " HELP a \t");
        CU_ASSERT(ev.offset == 0 && ev.line == 1);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_COMMENT)) {
        PREX_ASSERT_SLICE_STR(ev.text, " TYPE a ");
        CU_ASSERT(ev.offset == 11 && ev.line == 2);
    }
    NEXT_IS(&p, &ev, PREX_EV_HELP);
    NEXT_IS(&p, &ev, PREX_EV_TYPE);
    NEXT_IS(&p, &ev, PREX_EV_SAMPLE);
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);
}

static void test_event_sample(void)
{
    prex_parser p;
    prex_event ev;
    static const char in[] = "# TYPE h histogram\n"
                             "h_bucket{le=\"1\",a=\"x\\\"y\"} 3 1000\n"
                             "h_bucket{a=\"x\\\"y\",le=\"+Inf\"} 4\n"
                             "h_sum{a=\"x\\\"y\"} 2.5\n"
                             "h_count{a=\"x\\\"y\"} 4\n";

    start(&p, LIT(in), TEXT, 0);
    NEXT_IS(&p, &ev, PREX_EV_TYPE);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        PREX_ASSERT_SLICE_STR(ev.name, "h_bucket");
        PREX_ASSERT_SLICE_STR(ev.family, "h");
        check_family(&ev, __LINE__);
        CU_ASSERT(ev.suffix == PREX_SUFFIX_BUCKET);
        CU_ASSERT(ev.type == PREX_TYPE_HISTOGRAM);
        CU_ASSERT(ev.offset == 19);
        CU_ASSERT(ev.line == 2);
        if (PREX_CHECK(ev.nlabels == 2, "nlabels %zu", ev.nlabels)) {
            PREX_ASSERT_SLICE_STR(ev.labels[0].name, "le");
            PREX_ASSERT_SLICE_STR(ev.labels[0].value, "1");
            CU_ASSERT(ev.labels[0].value_esc == 0);
            PREX_ASSERT_SLICE_STR(ev.labels[1].name, "a");
            PREX_ASSERT_SLICE_STR(ev.labels[1].value, "x\\\"y");
            CU_ASSERT(ev.labels[1].value_esc != 0);
            CU_ASSERT(ev.labels[1].name_esc == 0);
        }
        PREX_ASSERT_SLICE_STR(ev.value_raw, "3");
        CU_ASSERT(ev.value == 3.0);
        CU_ASSERT(ev.has_timestamp);
        CU_ASSERT(ev.timestamp_ms == 1000);
        PREX_ASSERT_SLICE_STR(ev.timestamp_raw, "1000");
        CU_ASSERT(!ev.has_exemplar);
        CU_ASSERT(ev.text.len == 0);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        CU_ASSERT(ev.suffix == PREX_SUFFIX_BUCKET);
        CU_ASSERT(!ev.has_timestamp);
        CU_ASSERT(ev.timestamp_raw.len == 0);
        CU_ASSERT(ev.nlabels == 2);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        PREX_ASSERT_SLICE_STR(ev.name, "h_sum");
        CU_ASSERT(ev.suffix == PREX_SUFFIX_SUM);
        check_family(&ev, __LINE__);
        CU_ASSERT(ev.value == 2.5);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        CU_ASSERT(ev.suffix == PREX_SUFFIX_COUNT);
        CU_ASSERT(ev.type == PREX_TYPE_HISTOGRAM);
        check_family(&ev, __LINE__);
    }
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);
}

/* The quoted metric name inside the braces is the name, not a label. */
static void test_event_quoted_name(void)
{
    prex_parser p;
    prex_event ev;
    static const char in[] = "{\"my.metric\",\"la\\nb\"=\"v\"} 1\n"
                             "{a=\"b\",\"my\\\"x\"} 2\n";

    start(&p, LIT(in), TEXT, 0);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        PREX_ASSERT_SLICE_STR(ev.name, "my.metric");
        PREX_ASSERT_SLICE_STR(ev.family, "my.metric");
        CU_ASSERT(ev.name_esc == 0);
        if (PREX_CHECK(ev.nlabels == 1, "nlabels %zu", ev.nlabels)) {
            PREX_ASSERT_SLICE_STR(ev.labels[0].name, "la\\nb");
            CU_ASSERT(ev.labels[0].name_esc != 0);
            PREX_ASSERT_SLICE_STR(ev.labels[0].value, "v");
        }
    }
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        PREX_ASSERT_SLICE_STR(ev.name, "my\\\"x");
        CU_ASSERT(ev.name_esc != 0);
        CU_ASSERT(ev.nlabels == 1);
    }
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);
}

/* Suffix resolution: per type, and none without a TYPE. */
static void test_event_suffixes(void)
{
    static const char text[] = "x_sum 1\nx_count 2\n"
                               "# TYPE s summary\n"
                               "s{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n";
    static const char om[] = "# TYPE c counter\nc_total 1\nc_created 1.5e9\n"
                             "# TYPE i info\ni_info{v=\"1\"} 1\n"
                             "# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 1\n"
                             "g_gcount 1\ng_gsum 1\n"
                             "a_total 3\n"
                             "# EOF\n";
    static const struct {
        const char *name, *family;
        prex_suffix sfx;
        prex_type type;
    } want_text[] = {
        {"x_sum", "x_sum", PREX_SUFFIX_NONE, PREX_TYPE_UNTYPED},
        {"x_count", "x_count", PREX_SUFFIX_NONE, PREX_TYPE_UNTYPED},
        {"s", "s", PREX_SUFFIX_NONE, PREX_TYPE_SUMMARY},
        {"s_sum", "s", PREX_SUFFIX_SUM, PREX_TYPE_SUMMARY},
        {"s_count", "s", PREX_SUFFIX_COUNT, PREX_TYPE_SUMMARY},
    }, want_om[] = {
        {"c_total", "c", PREX_SUFFIX_TOTAL, PREX_TYPE_COUNTER},
        {"c_created", "c", PREX_SUFFIX_CREATED, PREX_TYPE_COUNTER},
        {"i_info", "i", PREX_SUFFIX_INFO, PREX_TYPE_INFO},
        {"g_bucket", "g", PREX_SUFFIX_BUCKET, PREX_TYPE_GAUGEHISTOGRAM},
        {"g_gcount", "g", PREX_SUFFIX_GCOUNT, PREX_TYPE_GAUGEHISTOGRAM},
        {"g_gsum", "g", PREX_SUFFIX_GSUM, PREX_TYPE_GAUGEHISTOGRAM},
        {"a_total", "a_total", PREX_SUFFIX_NONE, PREX_TYPE_UNTYPED},
    };
    prex_parser p;
    prex_event ev;
    size_t i;
    int rc;

    /* walk both inputs, matching samples in order */
    for (i = 0; i < 2; i++) {
        const char *in = i ? om : text;
        size_t len = i ? sizeof om - 1 : sizeof text - 1;
        size_t j = 0, nwant = i ? sizeof want_om / sizeof want_om[0]
                                : sizeof want_text / sizeof want_text[0];
        start(&p, in, len, i ? OM : TEXT, 0);
        while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF) {
            const char *wn, *wf;
            if (rc != PREX_EV_SAMPLE)
                continue;
            if (!PREX_CHECK(j < nwant, "more samples than expected"))
                break;
            wn = i ? want_om[j].name : want_text[j].name;
            wf = i ? want_om[j].family : want_text[j].family;
            PREX_ASSERT_SLICE_EQ(ev.name, wn, strlen(wn));
            PREX_ASSERT_SLICE_EQ(ev.family, wf, strlen(wf));
            PREX_CHECK(ev.suffix == (i ? want_om[j].sfx : want_text[j].sfx),
                       "%s: suffix %d", wn, (int)ev.suffix);
            PREX_CHECK(ev.type == (i ? want_om[j].type : want_text[j].type),
                       "%s: type %d", wn, (int)ev.type);
            check_family(&ev, __LINE__);
            j++;
        }
        PREX_CHECK(rc == PREX_EV_EOF && j == nwant, "%s input: rc %d after %zu samples",
                   i ? "OM" : "text", rc, j);
        prex_parser_free(&p);
    }
}

static void test_event_exemplar(void)
{
    prex_parser p;
    prex_event ev;
    static const char in[] = "# TYPE c counter\n"
                             "c_total 1 -1.5 # {id=\"x\",\"q.r\"=\"y\"} 0.5 1.0009\n"
                             "c_total{a=\"b\"} 2 # {} 7\n"
                             "# EOF\n";

    start(&p, LIT(in), OM, 0);
    NEXT_IS(&p, &ev, PREX_EV_TYPE);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        CU_ASSERT(ev.suffix == PREX_SUFFIX_TOTAL);
        CU_ASSERT(ev.has_timestamp);
        CU_ASSERT(ev.timestamp_ms == -1500);
        PREX_ASSERT_SLICE_STR(ev.timestamp_raw, "-1.5");
        if (PREX_CHECK(ev.has_exemplar, "no exemplar")) {
            const prex_exemplar *x = &ev.exemplar;
            if (PREX_CHECK(x->nlabels == 2, "exemplar nlabels %zu", x->nlabels)) {
                PREX_ASSERT_SLICE_STR(x->labels[0].name, "id");
                PREX_ASSERT_SLICE_STR(x->labels[0].value, "x");
                PREX_ASSERT_SLICE_STR(x->labels[1].name, "q.r");
                PREX_ASSERT_SLICE_STR(x->labels[1].value, "y");
            }
            PREX_ASSERT_SLICE_STR(x->value_raw, "0.5");
            CU_ASSERT(x->value == 0.5);
            CU_ASSERT(x->has_timestamp);
            CU_ASSERT(x->timestamp_ms == 1000);
            PREX_ASSERT_SLICE_STR(x->timestamp_raw, "1.0009");
        }
        CU_ASSERT(ev.nlabels == 0);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        CU_ASSERT(ev.nlabels == 1);
        if (PREX_CHECK(ev.has_exemplar, "no exemplar")) {
            CU_ASSERT(ev.exemplar.nlabels == 0);
            CU_ASSERT(ev.exemplar.value == 7);
            CU_ASSERT(!ev.exemplar.has_timestamp);
        }
    }
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);
}

/* Values and timestamps converted as the formats say. */
static void test_event_values(void)
{
    static const struct {
        const char *in;
        double v;
    } vals[] = {
        {"1e3", 1000},  {".5", 0.5},     {"5.", 5},      {"+5", 5},
        {"0042", 42},   {"1E5", 1e5},    {"1e-400", 0},  {"-1.25", -1.25},
    };
    static const char *const infs[] = {"+Inf", "Inf", "inf", "-Inf", "-inf",
                                       "+Infinity", "-infinity"};
    prex_test_str in = {0};
    prex_parser p;
    prex_event ev;
    size_t i;

    for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        prex_test_str_clear(&in);
        prex_test_str_printf(&in, "a %s\n", vals[i].in);
        start(&p, in.ptr, in.len, TEXT, 0);
        if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
            PREX_CHECK(ev.value == vals[i].v, "%s -> %.17g", vals[i].in, ev.value);
            PREX_ASSERT_SLICE_EQ(ev.value_raw, vals[i].in, strlen(vals[i].in));
        }
        prex_parser_free(&p);
    }
    for (i = 0; i < sizeof infs / sizeof infs[0]; i++) {
        prex_test_str_clear(&in);
        prex_test_str_printf(&in, "a %s\n", infs[i]);
        start(&p, in.ptr, in.len, TEXT, 0);
        if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
            PREX_CHECK(isinf(ev.value) && (ev.value < 0) == (infs[i][0] == '-'),
                       "%s -> %.17g", infs[i], ev.value);
        prex_parser_free(&p);
    }
    start(&p, LIT("a NaN\nb nan\nc -0\nd 1 -5\ne 1 +7\n"), TEXT, 0);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(isnan(ev.value));
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(isnan(ev.value));
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(ev.value == 0 && signbit(ev.value));
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(ev.has_timestamp && ev.timestamp_ms == -5);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(ev.has_timestamp && ev.timestamp_ms == 7);
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);

    /* OpenMetrics timestamps are seconds: int64(seconds * 1000), truncated */
    start(&p, LIT("a 1 1520879607.789\nb 1 -1\nc 1 1.5e3\nd 1 0.0019\n# EOF\n"), OM, 0);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(ev.timestamp_ms == 1520879607789);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(ev.timestamp_ms == -1000);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(ev.timestamp_ms == 1500000);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(ev.timestamp_ms == 1);
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);
    prex_test_str_free(&in);
}

/* EOF is returned again on every later call. */
static void test_eof_sticky(void)
{
    prex_parser p;
    prex_event ev;

    start(&p, LIT("a 1\n"), TEXT, 0);
    NEXT_IS(&p, &ev, PREX_EV_SAMPLE);
    if (NEXT_IS(&p, &ev, PREX_EV_EOF)) {
        CU_ASSERT(ev.offset == 4);
        CU_ASSERT(ev.line == 2);
    }
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);

    start(&p, LIT(""), TEXT, 0);
    if (NEXT_IS(&p, &ev, PREX_EV_EOF))
        CU_ASSERT(ev.offset == 0 && ev.line == 1);
    prex_parser_free(&p);
}

/* MARK: streaming */

/* NEED_MORE, then refill with the tail moved to the front, as a
 * streaming caller does; offsets and lines continue. */
static void test_need_more_refill(void)
{
    prex_parser p;
    prex_event ev;
    char buf1[] = "# TYPE a gauge\na 1\nb 2";
    char buf2[] = "b 2";
    char buf3[] = "b 2\nc 3\n";

    prex_parser_init(&p, buf1, sizeof buf1 - 1, TEXT, 0);
    NEXT_IS(&p, &ev, PREX_EV_TYPE);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(ev.offset == 15 && ev.line == 2);
    CU_ASSERT(prex_next(&p, &ev) == PREX_NEED_MORE);
    CU_ASSERT(prex_next(&p, &ev) == PREX_NEED_MORE);
    CU_ASSERT(prex_parser_consumed(&p) == 19);

    /* a refill that still lacks the newline */
    prex_parser_refill(&p, buf2, sizeof buf2 - 1);
    CU_ASSERT(prex_next(&p, &ev) == PREX_NEED_MORE);
    CU_ASSERT(prex_parser_consumed(&p) == 0);

    prex_parser_refill(&p, buf3, sizeof buf3 - 1);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        PREX_ASSERT_SLICE_STR(ev.name, "b");
        CU_ASSERT(ev.name.ptr == buf3);
        CU_ASSERT(ev.offset == 19);
        CU_ASSERT(ev.line == 3);
        CU_ASSERT(ev.type == PREX_TYPE_UNTYPED);
    }
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE))
        CU_ASSERT(ev.offset == 23 && ev.line == 4);
    CU_ASSERT(prex_next(&p, &ev) == PREX_NEED_MORE);
    CU_ASSERT(prex_parser_consumed(&p) == sizeof buf3 - 1);
    prex_finish(&p);
    if (NEXT_IS(&p, &ev, PREX_EV_EOF))
        CU_ASSERT(ev.offset == 27 && ev.line == 5);
    prex_parser_free(&p);

    /* an empty buffer */
    prex_parser_init(&p, "", 0, TEXT, 0);
    CU_ASSERT(prex_next(&p, &ev) == PREX_NEED_MORE);
    prex_finish(&p);
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);
}

/* prex_finish(): what the last, incomplete line becomes. */
static void test_finish(void)
{
    prex_parser p;
    prex_event ev;
    const prex_error *e;

    /* text: truncated, unless the flag allows it */
    prex_parser_init(&p, LIT("a 1\nb 2"), TEXT, 0);
    NEXT_IS(&p, &ev, PREX_EV_SAMPLE);
    CU_ASSERT(prex_next(&p, &ev) == PREX_NEED_MORE);
    prex_finish(&p);
    if (NEXT_IS(&p, &ev, PREX_ERROR)) {
        e = prex_parser_error(&p);
        CU_ASSERT(e->code == PREX_E_TRUNCATED);
        CU_ASSERT(e->line == 2);
    }
    prex_parser_free(&p);

    prex_parser_init(&p, LIT("a 1\nb 2"), TEXT, PREX_LENIENT_MISSING_NEWLINE);
    NEXT_IS(&p, &ev, PREX_EV_SAMPLE);
    CU_ASSERT(prex_next(&p, &ev) == PREX_NEED_MORE);
    prex_finish(&p);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        PREX_ASSERT_SLICE_STR(ev.name, "b");
        PREX_ASSERT_SLICE_STR(ev.value_raw, "2");
    }
    if (NEXT_IS(&p, &ev, PREX_EV_EOF))
        CU_ASSERT(ev.offset == 7);
    prex_parser_free(&p);

    /* OpenMetrics: "# EOF" may lack its newline, but only at the end */
    prex_parser_init(&p, LIT("a 1\n# EOF"), OM, 0);
    NEXT_IS(&p, &ev, PREX_EV_SAMPLE);
    CU_ASSERT(prex_next(&p, &ev) == PREX_NEED_MORE);
    prex_finish(&p);
    if (NEXT_IS(&p, &ev, PREX_EV_EOF))
        CU_ASSERT(ev.offset == 4 && ev.line == 2);
    prex_parser_free(&p);

    /* OpenMetrics without "# EOF" */
    prex_parser_init(&p, LIT("a 1\n"), OM, 0);
    NEXT_IS(&p, &ev, PREX_EV_SAMPLE);
    CU_ASSERT(prex_next(&p, &ev) == PREX_NEED_MORE);
    prex_finish(&p);
    if (NEXT_IS(&p, &ev, PREX_ERROR))
        CU_ASSERT(prex_parser_error(&p)->code == PREX_E_NO_EOF);
    prex_parser_free(&p);
}

/* MARK: lenient flags */

/* Each deviation fails strictly, fails with each of the other flags, and
 * passes with its own flag. */
static void test_lenient_flags(void)
{
    static const struct {
        const char *in;
        unsigned flag;
        int code;
    } cases[] = {
        {"a 1 \n", PREX_LENIENT_TRAILING_SPACE, PREX_E_TRAILING_BLANK},
        {"a{b=\"c\"} 1 2\t\n", PREX_LENIENT_TRAILING_SPACE, PREX_E_TRAILING_BLANK},
        {"a 1\r\n", PREX_LENIENT_CRLF, PREX_E_CR},
        {"# TYPE a counter\r\na 1\r\n", PREX_LENIENT_CRLF, PREX_E_CR},
        {"a 1\nb 2", PREX_LENIENT_MISSING_NEWLINE, PREX_E_TRUNCATED},
    };
    static const unsigned flags[] = {PREX_LENIENT_TRAILING_SPACE, PREX_LENIENT_CRLF,
                                     PREX_LENIENT_MISSING_NEWLINE};
    size_t i, j;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *in = cases[i].in;
        size_t len = strlen(in);
        prex_parser p;
        prex_event ev;
        int rc;

        for (j = 0; j <= sizeof flags / sizeof flags[0]; j++) {
            unsigned f = j ? flags[j - 1] : 0;
            int want_ok = f == cases[i].flag;
            size_t n = 0;

            start(&p, in, len, TEXT, f);
            while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF && n++ <= len) {
                if (rc == PREX_EV_SAMPLE && want_ok) {
                    /* the deviation is not part of any token */
                    PREX_CHECK(ev.value_raw.len == 1 && (ev.has_timestamp
                                   ? ev.timestamp_raw.len == 1 : 1),
                               "case %zu: value/timestamp token includes the "
                               "deviation", i);
                }
                if (rc == PREX_EV_TYPE && want_ok)
                    PREX_ASSERT_SLICE_STR(ev.text, "counter");
            }
            if (want_ok) {
                PREX_CHECK(rc == PREX_EV_EOF, "case %zu with its flag: rc %d (%s)", i,
                           rc, rc == PREX_ERROR
                                   ? prex_errname(prex_parser_error(&p)->code) : "");
            } else {
                PREX_CHECK(rc == PREX_ERROR &&
                               prex_parser_error(&p)->code == cases[i].code,
                           "case %zu with flags %#x: want %s, got rc %d (%s)", i, f,
                           prex_errname(cases[i].code), rc,
                           rc == PREX_ERROR ? prex_errname(prex_parser_error(&p)->code)
                                            : "");
            }
            prex_parser_free(&p);
        }
        /* all of them at once */
        start(&p, in, len, TEXT, PREX_LENIENT_ALL);
        while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF)
            ;
        PREX_CHECK(rc == PREX_EV_EOF, "case %zu with PREX_LENIENT_ALL: rc %d", i, rc);
        prex_parser_free(&p);
    }
}

/* MARK: limits */

/*
 * The parser matches a label name that repeats at the same position of
 * the previous samples with two word compares. Names one byte off at
 * every position, one byte longer or shorter, or followed by a blank,
 * at the first and the second position, must come out as written (a
 * third line follows, as the match needs 17 bytes after the name's
 * start).
 */
static void test_label_name_cache(void)
{
    static const char base[] = "bcdefghijklmnopqrs"; /* 18 bytes */
    char in[256], n1[32], n2[32];
    size_t len, kind;
    int bad = 0;

    for (len = 1; len <= 17; len++) {
        for (kind = 0; kind < len + 3; kind++) {
            size_t l2 = len, pos2;
            int blank = 0, k, want;
            prex_parser p;
            prex_event ev;

            memcpy(n1, base, len);
            memcpy(n2, base, len);
            if (kind < len)
                n2[kind] = 'z';            /* one byte off */
            else if (kind == len)
                n2[l2++] = 'z';            /* one longer */
            else if (kind == len + 1 && len > 1)
                l2--;                      /* one shorter */
            else
                blank = 1;                 /* the same, then a blank */
            for (pos2 = 0; pos2 < 2; pos2++) {
                /* the same value: the series differ by the name only, so
                 * a name matched with the wrong fold is a duplicate */
                int o = snprintf(in, sizeof in,
                                 "m{%s%.*s=\"v\"} 1\nm{%s%.*s%s=\"%s\"} 2\npadding_padding_padding 3\n",
                                 pos2 ? "a=\"1\"," : "", (int)len, n1, pos2 ? "a=\"1\"," : "",
                                 (int)l2, n2, blank ? " " : "", blank ? "w" : "v");
                start(&p, in, (size_t)o, TEXT, 0);
                want = 2;
                for (k = 0; k < want; k++) {
                    if (prex_next(&p, &ev) != PREX_EV_SAMPLE) {
                        if (bad++ < 5)
                            fprintf(stderr, "label name cache: %s: %s\n", in,
                                    prex_parser_error(&p)->detail);
                        break;
                    }
                }
                if (k == want) {
                    const prex_slice *nm = &ev.labels[pos2].name;
                    if (ev.nlabels != pos2 + 1 || nm->len != l2 || memcmp(nm->ptr, n2, l2) != 0) {
                        if (bad++ < 5)
                            fprintf(stderr, "label name cache: %s", in);
                    }
                }
                prex_parser_free(&p);
            }
        }
    }
    CU_ASSERT(bad == 0);
    /* what a repeated name must still fail */
    EXPECT_ERROR("m{b=\"1\",c=\"2\"} 1\nm{b=\"1\",b=\"2\"} 1\n", TEXT, 0, DUP_LABEL, 2, 9);
    EXPECT_ERROR("m{b=\"1\"} 1\nm{b=\"1\",c=\"2\",b=\"3\"} 1\n", TEXT, 0, DUP_LABEL, 2, 15);
    EXPECT_ERROR("m{b=\"1\"} 1\nm{b=\"\\x\"} 1\n", TEXT, 0, ESCAPE, 2, 6);
}

/*
 * Values are converted without strtod when a mantissa below 2^53 meets a
 * power of ten up to 1e22 (exponent written or not); the result must be
 * strtod's, bit for bit, on both sides of every bound.
 */
/* The next value of a small deterministic generator. */
static unsigned next_rand(unsigned *r)
{
    return *r = *r * 1103515245u + 12345u;
}

static void test_value_conversion(void)
{
    static const char *const mant[] = {
        "0", "1", "7", "12.5", "0.001", "3.14159", "9007199254740991", "9007199254740992",
        "9007199254740993", "123456789012345678", "1.7976931348623157", "2.2250738585072014",
        "4.9406564584124654", "00012", "1.", ".5",
        "18446744073709551616", "1844674407370955161.7", /* 2^64: a 64-bit mantissa wraps to 0 */
        /* halfway between two doubles: ties go to the even mantissa */
        "9007199254740995", "18014398509481986", "18014398509481990", "36028797018963970",
        "9223372036854775807", "9999999999999999999",
        /* just above halfway, known only from the division's remainder
         * (m * 2^64 / 5^22 ends in a 1 and eleven 0 bits) */
        "0.0000009007199254745694", "0.0000009007199254747621", "0.0000009007199254749548",
    };
    static const char *const sep[] = { "", "e", "E", "e+", "e-", "E-" };
    char line[96], tok[64];
    size_t i, j;
    int x, bad = 0;
    unsigned r = 12345;

    for (i = 0; i < sizeof mant / sizeof mant[0]; i++) {
        for (j = 0; j < sizeof sep / sizeof sep[0]; j++) {
            for (x = 0; x <= 30; x++) {
                prex_parser p;
                prex_event ev;
                double want;
                int o;

                if (!sep[j][0] && x > 0)
                    break;
                if (sep[j][0])
                    snprintf(tok, sizeof tok, "%s%s%d", mant[i], sep[j], x);
                else
                    snprintf(tok, sizeof tok, "%s", mant[i]);
                if (++r % 3 == 0 && tok[0] != '.') {
                    memmove(tok + 1, tok, strlen(tok) + 1);
                    tok[0] = '-';
                }
                o = snprintf(line, sizeof line, "a %s\n", tok);
                want = strtod(tok, NULL);
                start(&p, line, (size_t)o, TEXT, 0);
                if (prex_next(&p, &ev) != PREX_EV_SAMPLE ||
                    memcmp(&ev.value, &want, sizeof want) != 0) {
                    if (bad++ < 5)
                        fprintf(stderr, "value %s: parser %.17g, strtod %.17g\n", tok, ev.value,
                                want);
                }
                prex_parser_free(&p);
            }
        }
    }
    /* plain values (digits, an optional fraction), which the parser
     * converts as it scans them when every digit fits Clinger's fast
     * path and otherwise hands to the general conversion: 0 to 21 digits
     * before the point, none or 0 to 25 after, random digits, then a
     * line end or a timestamp */
    for (i = 0; i <= 21; i++) {
        for (j = 0; j <= 27; j++) { /* j == 0: no point; j == 1: "1." */
            for (x = 0; x < 8; x++) {
                prex_parser p;
                prex_event ev;
                double want;
                size_t k, n = 0, fd = j ? j - 1 : 0;
                int o;

                for (k = 0; k < i; k++)
                    tok[n++] = (char)('0' + next_rand(&r) % 10);
                if (i == 0)
                    tok[n++] = '0';
                if (j)
                    tok[n++] = '.';
                for (k = 0; k < fd; k++)
                    tok[n++] = (char)('0' + next_rand(&r) % 10);
                tok[n] = 0;
                o = snprintf(line, sizeof line, x & 1 ? "a %s 1234\n" : "a %s\n", tok);
                want = strtod(tok, NULL);
                start(&p, line, (size_t)o, TEXT, 0);
                if (prex_next(&p, &ev) != PREX_EV_SAMPLE ||
                    memcmp(&ev.value, &want, sizeof want) != 0 ||
                    ev.value_raw.len != n || memcmp(ev.value_raw.ptr, tok, n) != 0) {
                    if (bad++ < 5)
                        fprintf(stderr, "value %s: parser %.17g, strtod %.17g\n", tok, ev.value,
                                want);
                }
                prex_parser_free(&p);
            }
        }
    }
    /* mantissas of 16 to 20 significant digits (17-19 take the 128-bit
     * exact path when the power of ten is within 1e22), the point
     * anywhere, with or without an exponent, a sign now and then, and
     * doubles' shortest forms printed with %.17g: bit for bit what strtod
     * gives */
    for (i = 0; i < 60000; i++) {
        prex_parser p;
        prex_event ev;
        double want;
        size_t k, n = 0, nd = 16 + next_rand(&r) % 5, point;
        int o;

        if (i % 3 == 0) {
            uint64_t bitsv = ((uint64_t)next_rand(&r) << 32) ^
                             next_rand(&r);
            double d;

            bitsv = (bitsv & 0x800fffffffffffffull) |
                    ((uint64_t)(1023 - 80 + next_rand(&r) % 160) << 52);
            memcpy(&d, &bitsv, sizeof d);
            n = (size_t)snprintf(tok, sizeof tok, "%.17g", d);
        } else {
            if (r % 7 == 0)
                tok[n++] = '-';
            tok[n++] = (char)('1' + next_rand(&r) % 9);
            point = next_rand(&r) % (nd + 1);
            for (k = 1; k < nd; k++) {
                if (k == point)
                    tok[n++] = '.';
                tok[n++] = (char)('0' + next_rand(&r) % 10);
            }
            if (i % 3 == 2)
                n += (size_t)snprintf(tok + n, sizeof tok - n, "e%d",
                                      (int)(next_rand(&r) % 61) - 30);
            tok[n] = 0;
        }
        o = snprintf(line, sizeof line, "a %s\n", tok);
        want = strtod(tok, NULL);
        start(&p, line, (size_t)o, TEXT, 0);
        if (prex_next(&p, &ev) != PREX_EV_SAMPLE || memcmp(&ev.value, &want, sizeof want) != 0) {
            if (bad++ < 5)
                fprintf(stderr, "value %s: parser %.17g, strtod %.17g\n", tok, ev.value, want);
        }
        prex_parser_free(&p);
    }
    CU_ASSERT(bad == 0);
}

static void test_limits(void)
{
    prex_limits lim;
    prex_parser p;
    prex_event ev;
    char big[2100];

    /* max_line: bytes per line, newline excluded */
    memset(&lim, 0, sizeof lim);
    lim.max_line = 14;
    accepts(LIT("a{b=\"cccc\"} 1\n"), TEXT, 0, &lim, __LINE__); /* 13 bytes */
    accepts(LIT("a{b=\"ccccc\"} 1\n"), TEXT, 0, &lim, __LINE__); /* 14 bytes */
    expect_error(LIT("x 1\na{b=\"cccccc\"} 1\n"), TEXT, 0, &lim, PREX_E_LIMIT_LINE,
                 2, 15, __LINE__);
    /* one search covers the lines of a window of max_line + 1 bytes: the
     * first line after the window's last newline is searched again, long
     * lines anywhere are caught, a line of exactly max_line passes */
    expect_error(LIT("a 1\nb 1\nc 1\nd 1\na{b=\"cccccc\"} 1\n"), TEXT, 0, &lim,
                 PREX_E_LIMIT_LINE, 5, 15, __LINE__);
    expect_error(LIT("a 1\nb 1\nc{x=\"1234567\"} 1\n"), TEXT, 0, &lim,
                 PREX_E_LIMIT_LINE, 3, 15, __LINE__);
    accepts(LIT("a 1\nb 1\nh{b=\"ccccc\"} 1\nc 1\nd{e=\"fffff\"} 1\ng 1\n"), TEXT, 0, &lim,
            __LINE__);

    /* a full buffer without a newline is an error, not PREX_NEED_MORE */
    prex_parser_init(&p, LIT("a{b=\"ccccccccccccccccccccccccc"), TEXT, 0);
    prex_parser_set_limits(&p, &lim);
    if (NEXT_IS(&p, &ev, PREX_ERROR)) {
        CU_ASSERT(prex_parser_error(&p)->code == PREX_E_LIMIT_LINE);
        /* the line can never fit: recover drops the buffer and goes on
         * skipping the line's rest, which has not arrived yet */
        CU_ASSERT(prex_parser_recover(&p) == 0);
        CU_ASSERT(prex_parser_consumed(&p) == sizeof "a{b=\"ccccccccccccccccccccccccc" - 1);
        CU_ASSERT(prex_next(&p, &ev) == PREX_NEED_MORE);
    }
    prex_parser_free(&p);

    /* max_labels */
    memset(&lim, 0, sizeof lim);
    lim.max_labels = 2;
    accepts(LIT("a{x=\"1\",y=\"2\"} 1\n"), TEXT, 0, &lim, __LINE__);
    expect_error(LIT("a{x=\"1\",y=\"2\",z=\"3\"} 1\n"), TEXT, 0, &lim,
                 PREX_E_LIMIT_LABELS, 1, 15, __LINE__);
    /* the same on a second line, whose names come from the name cache */
    expect_error(LIT("a{x=\"1\",y=\"2\"} 1\na{x=\"1\",y=\"2\",z=\"3\"} 2\n"), TEXT, 0, &lim,
                 PREX_E_LIMIT_LABELS, 2, 15, __LINE__);
    /* and again after a recovery, when the failed line left its third
     * name in the cache */
    {
        static const char in[] = "a{x=\"1\",y=\"2\",z=\"3\"} 1\n"
                                 "b{x=\"1\",y=\"2\",z=\"3\"} 2\n"
                                 "# more than 16 bytes after the labels\n";
        int k;

        prex_parser_init(&p, LIT(in), TEXT, 0);
        prex_parser_set_limits(&p, &lim);
        prex_finish(&p);
        for (k = 1; k <= 2; k++) {
            PREX_CHECK(prex_next(&p, &ev) == PREX_ERROR &&
                           prex_parser_error(&p)->code == PREX_E_LIMIT_LABELS &&
                           prex_parser_error(&p)->line == (uint64_t)k,
                       "line %d: code %d", k, prex_parser_error(&p)->code);
            prex_parser_recover(&p);
        }
        prex_parser_free(&p);
    }

    /* max_label_value: raw bytes */
    memset(&lim, 0, sizeof lim);
    lim.max_label_value = 4;
    accepts(LIT("a{x=\"abcd\"} 1\n"), TEXT, 0, &lim, __LINE__);
    accepts(LIT("a{x=\"a\\\\d\"} 1\n"), TEXT, 0, &lim, __LINE__);
    expect_error(LIT("a{x=\"abcde\"} 1\n"), TEXT, 0, &lim,
                 PREX_E_LIMIT_LABEL_VALUE, 1, 5, __LINE__); /* its opening quote */
    expect_error(LIT("a{x=\"abcd\"} 1\na{x=\"abcde\",y=\"1\"} 2\n"), TEXT, 0, &lim,
                 PREX_E_LIMIT_LABEL_VALUE, 2, 5, __LINE__); /* x from the name cache */

    /* max_bytes: total input */
    memset(&lim, 0, sizeof lim);
    lim.max_bytes = 8;
    accepts(LIT("a 1\nb 2\n"), TEXT, 0, &lim, __LINE__);
    prex_parser_init(&p, LIT("a 1\nb 2\nc 3\n"), TEXT, 0);
    prex_parser_set_limits(&p, &lim);
    prex_finish(&p);
    {
        int rc;
        size_t n = 0;
        while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF && n++ < 10)
            ;
        PREX_CHECK(rc == PREX_ERROR &&
                       prex_parser_error(&p)->code == PREX_E_LIMIT_BYTES,
                   "max_bytes: rc %d (%s)", rc,
                   rc == PREX_ERROR ? prex_errname(prex_parser_error(&p)->code) : "");
    }
    prex_parser_free(&p);

    /* the compile-time name limit */
    memset(big, 'n', sizeof big);
    memcpy(big + 2000, " 1\n", 4);
    expect_error(big, 2003, TEXT, 0, NULL, PREX_E_LIMIT_NAME, 1, 1, __LINE__);
    memcpy(big + 1000, " 1\n", 4);
    accepts(big, 1003, TEXT, 0, NULL, __LINE__);
}

/* MARK: errors */

/* Codes and positions (line:column of the offending byte) of a set of
 * representative broken inputs. */
static void test_error_positions(void)
{
    /* unquoted label value: at the value */
    EXPECT_ERROR("a{b=1} 2\n", TEXT, 0, LABEL_VALUE, 1, 5);
    /* bad value: the first byte of the value token */
    EXPECT_ERROR("x 1\ny{a=\"b\"} 12z\n", TEXT, 0, VALUE, 2, 10);
    EXPECT_ERROR("a -1e309\n", TEXT, 0, VALUE_RANGE, 1, 3);
    /* duplicate label: the second occurrence's name */
    EXPECT_ERROR("a{b=\"1\",c=\"2\",b=\"3\"} 1\n", TEXT, 0, DUP_LABEL, 1, 15);
    /* a third token */
    EXPECT_ERROR("# TYPE a gauge\na{b=\"c\"} 1 -5 junk\n", TEXT, 0, TRAILING, 2, 15);
    /* non-integer timestamp */
    EXPECT_ERROR("a{b=\"c\"}   7 12e3\n", TEXT, 0, TIMESTAMP, 1, 14);
    /* bad escape: the backslash */
    EXPECT_ERROR("a{b=\"ok\\q\"} 1\n", TEXT, 0, ESCAPE, 1, 8);
    /* names */
    EXPECT_ERROR("9a 1\n", TEXT, 0, NAME, 1, 1);
    EXPECT_ERROR("a{1b=\"c\"} 1\n", TEXT, 0, LABEL_NAME, 1, 3);
    /* invalid UTF-8 in a quoted name: the bad byte */
    EXPECT_ERROR("{\"a\xff\"} 1\n", TEXT, 0, UTF8, 1, 4);
    /* NUL between tokens */
    EXPECT_ERROR("a 1\n\0b 2\n", TEXT, 0, NUL, 2, 1);
    /* an unterminated string: at its opening quote, where the token starts */
    EXPECT_ERROR("# HELP a x\na{b=\"unterminated} 1\n", TEXT, 0, NEWLINE_IN_STRING,
                 2, 5);
    /* unknown type: the type token */
    EXPECT_ERROR("# TYPE a summary\n# TYPE b gauges\n", TEXT, 0, TYPE, 2, 10);
    /* a second HELP: its name */
    EXPECT_ERROR("# HELP a x\na 1\n# HELP b y\n# HELP   b z\n", TEXT, 0, DUP_HELP, 4,
                 10);
    /* CR before the newline */
    EXPECT_ERROR("a{b=\"c\"} 1\r\n", TEXT, 0, CR, 1, 11);
    /* truncated: at the end of the input */
    EXPECT_ERROR("# TYPE a gauge\na 1", TEXT, 0, TRUNCATED, 2, 4);
    /* OpenMetrics: data after # EOF, blank line, plain comment */
    EXPECT_ERROR("# TYPE a gauge\na 1\n# EOF\n\n", OM, 0, AFTER_EOF, 4, 1);
    EXPECT_ERROR("a 1\n\n# EOF\n", OM, 0, BLANK_LINE, 2, 1);
    EXPECT_ERROR("a 1\n# hi\n# EOF\n", OM, 0, COMMENT, 2, 1);
    EXPECT_ERROR("a 1\n", OM, 0, NO_EOF, 2, 1);
    /* OpenMetrics: a negative counter value */
    EXPECT_ERROR("# TYPE c counter\nc_total{x=\"y\"} -2\n# EOF\n", OM, 0, NEGATIVE,
                 2, 16);
    /* OpenMetrics: counts are integers; text takes any float */
    EXPECT_ERROR("# TYPE s summary\ns_sum 6\ns_count 0.5\n# EOF\n", OM, 0, COUNT_VALUE, 3, 9);
    EXPECT_ERROR("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 6\nh_count 2.5\n# EOF\n",
                 OM, 0, COUNT_VALUE, 4, 9);
    accepts(LIT("# TYPE s summary\ns_sum 6\ns_count 0.5\n"), TEXT, 0, NULL, __LINE__);
    /* checks made when a metric point ends point at its first sample's
     * name, leading blanks included (offset and column must agree) */
    EXPECT_ERROR("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n", TEXT, 0,
                 INF_BUCKET, 2, 1);
    EXPECT_ERROR("# TYPE h histogram\n  h_bucket{le=\"1\"} 1\n h_count 1\n", TEXT, 0,
                 INF_BUCKET, 2, 3);
    EXPECT_ERROR("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n# EOF\n", OM, 0,
                 SUM_COUNT, 2, 1);
}

/* Legacy names: quoted names must still match the legacy character set. */
static void test_legacy_names(void)
{
    ACCEPTS("{\"a.b\"} 1\n", TEXT, 0);
    EXPECT_ERROR("{\"a.b\"} 1\n", TEXT, PREX_LEGACY_NAMES, NAME, 1, 2);
    ACCEPTS("{\"ab\"} 1\n", TEXT, PREX_LEGACY_NAMES);
    ACCEPTS("a{\"b\"=\"c\"} 1\n", TEXT, PREX_LEGACY_NAMES);
    EXPECT_ERROR("a{\"b.c\"=\"d\"} 1\n", TEXT, PREX_LEGACY_NAMES, LABEL_NAME, 1, 3);
    EXPECT_ERROR("# HELP \"a.b\" x\n", TEXT, PREX_LEGACY_NAMES, NAME, 1, 8);
}

/* recover(): skip the failed line, report the next error, go on. */
static void test_recover(void)
{
    static const char in[] = "a{b=\"1\",b=\"2\"} 1\n"
                             "c 1\n"
                             "d{b=\"x\" 1\n"
                             "e 1\n";
    prex_parser p;
    prex_event ev;
    const prex_error *e;

    start(&p, LIT(in), TEXT, 0);
    if (NEXT_IS(&p, &ev, PREX_ERROR)) {
        e = prex_parser_error(&p);
        CU_ASSERT(e->code == PREX_E_DUP_LABEL && e->line == 1);
    }
    CU_ASSERT(prex_parser_recover(&p) == 0);
    CU_ASSERT(prex_parser_error(&p)->code == PREX_E_OK);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        PREX_ASSERT_SLICE_STR(ev.name, "c");
        CU_ASSERT(ev.line == 2 && ev.offset == 17);
    }
    if (NEXT_IS(&p, &ev, PREX_ERROR)) {
        e = prex_parser_error(&p);
        CU_ASSERT(e->code != PREX_E_OK && e->line == 3);
    }
    CU_ASSERT(prex_parser_recover(&p) == 0);
    if (NEXT_IS(&p, &ev, PREX_EV_SAMPLE)) {
        PREX_ASSERT_SLICE_STR(ev.name, "e");
        CU_ASSERT(ev.line == 4);
    }
    NEXT_IS(&p, &ev, PREX_EV_EOF);
    prex_parser_free(&p);

    /* unrecoverable: data after # EOF, and the end of the input */
    start(&p, LIT("# EOF\nx 1\n"), OM, 0);
    if (NEXT_IS(&p, &ev, PREX_ERROR)) {
        CU_ASSERT(prex_parser_error(&p)->code == PREX_E_AFTER_EOF);
        CU_ASSERT(prex_parser_recover(&p) == PREX_ERROR);
    }
    prex_parser_free(&p);
    start(&p, LIT("a 1\nb"), TEXT, 0);
    NEXT_IS(&p, &ev, PREX_EV_SAMPLE);
    if (NEXT_IS(&p, &ev, PREX_ERROR)) {
        CU_ASSERT(prex_parser_error(&p)->code == PREX_E_TRUNCATED);
        CU_ASSERT(prex_parser_recover(&p) == PREX_ERROR);
    }
    prex_parser_free(&p);
}

/*
 * Parses buf to the end with recovery and checks that the errors are
 * exactly want[0..n) (code and line): a failed line must not make the
 * metric's next lines look interleaved, nor its end checks fail for what
 * the failed line held.
 */
static void expect_errors(const char *buf, size_t len, const int *codes, const uint64_t *lines,
                          size_t n, unsigned at)
{
    prex_parser p;
    prex_event ev;
    size_t got = 0, steps = 0;
    int rc;

    start(&p, buf, len, TEXT, 0);
    while ((rc = prex_next(&p, &ev)) != PREX_EV_EOF && steps++ <= len) {
        if (rc == PREX_ERROR) {
            const prex_error *e = prex_parser_error(&p);

            if (got >= n || e->code != codes[got] || e->line != lines[got])
                prex_test_fail(__FILE__, at, "error %zu: got %s at line %llu (%s)", got,
                               prex_errname(e->code), (unsigned long long)e->line, e->detail);
            got++;
            if (prex_parser_recover(&p) != 0)
                break;
        }
    }
    PREX_CHECK(got == n, "line %u: %zu errors, want %zu", at, got, n);
    prex_parser_free(&p);
}

static void test_recover_no_cascade(void)
{
    static const char nonmono[] = "# TYPE h histogram\n"
                                  "h_bucket{le=\"1\"} 5\n"
                                  "h_bucket{le=\"+Inf\"} 3\n"
                                  "h_count 3\n"
                                  "h_sum 0\n";
    static const int c1[] = {PREX_E_BUCKET_VALUE};
    static const uint64_t l1[] = {3};
    static const char neg[] = "# TYPE h histogram\n"
                              "h_bucket{le=\"1\"} -1\n"
                              "h_bucket{le=\"+Inf\"} 1\n"
                              "h_count 1\n"
                              "h_sum 0\n";
    static const int c2[] = {PREX_E_NEGATIVE};
    static const uint64_t l2[] = {2};
    /* the +Inf line itself fails: no second error for a missing +Inf */
    static const char badinf[] = "# TYPE h histogram\n"
                                 "h_bucket{le=\"1\"} 1\n"
                                 "h_bucket{le=\"+Inf\" 1\n"
                                 "h_count 1\n"
                                 "# TYPE g gauge\n"
                                 "g 1\n"
                                 "g 2\n";
    static const int c3[] = {PREX_E_SYNTAX, PREX_E_DUP_SERIES};
    static const uint64_t l3[] = {3, 7};

    expect_errors(LIT(nonmono), c1, l1, 1, __LINE__);
    expect_errors(LIT(neg), c2, l2, 1, __LINE__);
    expect_errors(LIT(badinf), c3, l3, 2, __LINE__);
}

/* MARK: allocator */

/* Counts calls and live blocks; fails every call when ctx->fail. */
typedef struct count_alloc {
    int fail;
    size_t mallocs, reallocs, frees, live;
} count_alloc;

static void *ca_malloc(void *ctx, size_t size)
{
    count_alloc *c = ctx;
    void *p;
    c->mallocs++;
    if (c->fail)
        return NULL;
    p = malloc(size);
    if (p)
        c->live++;
    return p;
}

static void *ca_realloc(void *ctx, void *ptr, size_t old_size, size_t size)
{
    count_alloc *c = ctx;
    void *p;
    (void)old_size;
    c->reallocs++;
    if (c->fail)
        return NULL;
    p = realloc(ptr, size);
    if (p && !ptr)
        c->live++;
    return p;
}

static void ca_free(void *ctx, void *ptr)
{
    count_alloc *c = ctx;
    c->frees++;
    if (ptr)
        c->live--;
    free(ptr);
}

static void test_allocator(void)
{
    static const char dup[] = "a{x=\"1\"} 1\na{x=\"1\"} 2\n";
    static const char noncontig[] = "a 1\nb 1\na 2\n";
    count_alloc ctx = {0};
    prex_alloc alc = {ca_malloc, ca_realloc, ca_free, &ctx};
    prex_parser p;
    prex_event ev;
    int rc;

    /* the hook is used, and everything it gave is given back */
    prex_parser_init(&p, LIT(dup), TEXT, 0);
    prex_parser_set_alloc(&p, &alc);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF)
        ;
    PREX_CHECK(rc == PREX_ERROR && prex_parser_error(&p)->code == PREX_E_DUP_SERIES,
               "duplicate series: rc %d", rc);
    prex_parser_free(&p);
    CU_ASSERT(ctx.mallocs + ctx.reallocs > 0);
    PREX_CHECK(ctx.live == 0, "%zu blocks not freed", ctx.live);

    /* NULL turns the set-based checks off */
    prex_parser_init(&p, LIT(dup), TEXT, 0);
    prex_parser_set_alloc(&p, NULL);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF)
        ;
    CU_ASSERT(rc == PREX_EV_EOF);
    prex_parser_free(&p);

    /* a failing allocator: NO_MEMORY, which cannot be recovered from */
    memset(&ctx, 0, sizeof ctx);
    ctx.fail = 1;
    prex_parser_init(&p, LIT(noncontig), TEXT, 0);
    prex_parser_set_alloc(&p, &alc);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF)
        ;
    if (PREX_CHECK(rc == PREX_ERROR &&
                       prex_parser_error(&p)->code == PREX_E_NO_MEMORY,
                   "failing allocator: rc %d (%s)", rc,
                   rc == PREX_ERROR ? prex_errname(prex_parser_error(&p)->code) : ""))
        CU_ASSERT(prex_parser_recover(&p) == PREX_ERROR);
    prex_parser_free(&p);
    CU_ASSERT(ctx.live == 0);
}

/* MARK: utility functions of the API */

static void test_locate(void)
{
    static const char buf[] = "ab\ncd\n\nx";
    static const struct {
        size_t off;
        uint64_t line, col;
    } cases[] = {
        {0, 1, 1}, {2, 1, 3}, {3, 2, 1}, {5, 2, 3}, {6, 3, 1}, {7, 4, 1}, {8, 4, 2},
    };
    uint64_t line, col;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        line = col = 0;
        CU_ASSERT(prex_locate(buf, sizeof buf - 1, cases[i].off, &line, &col) == 0);
        PREX_CHECK(line == cases[i].line && col == cases[i].col,
                   "offset %zu: got %llu:%llu", cases[i].off,
                   (unsigned long long)line, (unsigned long long)col);
    }
    CU_ASSERT(prex_locate(buf, sizeof buf - 1, 9, &line, &col) == -1);
    CU_ASSERT(prex_locate("", 0, 0, &line, &col) == 0 && line == 1 && col == 1);
}

static void test_unescape(void)
{
    static const char in[] = "a\\\\b\\\"c\\nd\\te\\";
    char out[sizeof in];
    prex_slice s = {in, sizeof in - 1};
    prex_slice r;
    prex_test_guard g;

    r.ptr = out;
    r.len = prex_unescape(s, out);
    PREX_ASSERT_SLICE_STR(r, "a\\b\"c\nd\\te\\");
    s.len = 0;
    CU_ASSERT(prex_unescape(s, out) == 0);

    /* a lone backslash flush against a PROT_NONE page */
    prex_test_guard_init(&g, "ab", 2);
    g.buf[2] = '\\';
    s.ptr = g.buf;
    s.len = 3;
    r.len = prex_unescape(s, out);
    PREX_ASSERT_SLICE_STR(r, "ab\\");
    prex_test_guard_free(&g);
}

static void test_detect_format(void)
{
    static const struct {
        const char *in;
        prex_format want;
    } cases[] = {
        {"# EOF\n", OM},     {"# EOF", OM},           {"a 1\n# EOF\n", OM},
        {"a 1\n# EOF", OM},  {"a 1\n# EOF\n\n", TEXT}, {"a 1\n", TEXT},
        {"", TEXT},          {"x# EOF", TEXT},        {"a 1\n# EOF \n", TEXT},
        {"# EOF\na 1\n", TEXT},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        PREX_CHECK(prex_detect_format(cases[i].in, strlen(cases[i].in)) == cases[i].want,
                   "prex_detect_format(\"%s\")", cases[i].in);
}

static void test_legacy_checks(void)
{
    static const char *const metric_yes[] = {"a", "_a:b9", ":x", "A_Z:0"};
    static const char *const metric_no[] = {"", "9a", "a.b", "a-b", "\xc3\xbc", "a b"};
    static const char *const label_yes[] = {"a_1", "_", "Abc"};
    static const char *const label_no[] = {"", ":a", "a:b", "1a", "a.b"};
    size_t i;
    prex_slice s;

    for (i = 0; i < sizeof metric_yes / sizeof *metric_yes; i++) {
        s.ptr = metric_yes[i];
        s.len = strlen(s.ptr);
        PREX_CHECK(prex_is_legacy_metric_name(s), "metric name %s", s.ptr);
    }
    for (i = 0; i < sizeof metric_no / sizeof *metric_no; i++) {
        s.ptr = metric_no[i];
        s.len = strlen(s.ptr);
        PREX_CHECK(!prex_is_legacy_metric_name(s), "not a metric name: %s", s.ptr);
    }
    for (i = 0; i < sizeof label_yes / sizeof *label_yes; i++) {
        s.ptr = label_yes[i];
        s.len = strlen(s.ptr);
        PREX_CHECK(prex_is_legacy_label_name(s), "label name %s", s.ptr);
    }
    for (i = 0; i < sizeof label_no / sizeof *label_no; i++) {
        s.ptr = label_no[i];
        s.len = strlen(s.ptr);
        PREX_CHECK(!prex_is_legacy_label_name(s), "not a label name: %s", s.ptr);
    }
    /* the slice length counts, not a NUL */
    s.ptr = "ab.c";
    s.len = 2;
    CU_ASSERT(prex_is_legacy_metric_name(s));
    CU_ASSERT(prex_is_legacy_label_name(s));

    /* every byte value at every position of names of 1 to 40 bytes
     * (names from 16 bytes on are scanned 16 bytes per step with SSE2),
     * against the character classes; a byte that would fail follows the
     * slice, so a read past it shows */
    {
        char b[48];
        size_t len, k;
        unsigned v;
        int bad = 0;

        for (len = 1; len <= 40; len++) {
            for (k = 0; k < len; k++) {
                for (v = 1; v < 256; v++) {
                    int alpha = (v >= 'a' && v <= 'z') || (v >= 'A' && v <= 'Z') || v == '_';
                    int digit = v >= '0' && v <= '9';
                    int want_m = alpha || v == ':' || (k > 0 && digit);
                    int want_l = alpha || (k > 0 && digit);

                    memset(b, 'x', len);
                    b[k] = (char)v;
                    b[len] = '-';
                    s.ptr = b;
                    s.len = len;
                    if (prex_is_legacy_metric_name(s) != want_m ||
                        prex_is_legacy_label_name(s) != want_l) {
                        if (bad++ < 5)
                            PREX_CHECK(0, "length %zu, byte 0x%02x at %zu: metric %d label %d",
                                       len, v, k, prex_is_legacy_metric_name(s),
                                       prex_is_legacy_label_name(s));
                    }
                }
            }
        }
        CU_ASSERT_EQUAL(bad, 0);
    }
}

/* Every code has its name and description from the table; unknown codes
 * still give strings. */
static void test_error_names(void)
{
    static const struct {
        int code;
        const char *name, *desc;
    } table[] = {
#define PREX_X_ROW(name, num, desc) {num, #name, desc},
        PREX_ERRORS(PREX_X_ROW)
#undef PREX_X_ROW
    };
    size_t i, j;

    CU_ASSERT(sizeof table / sizeof table[0] == PREX_E__COUNT);
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char *n = prex_errname(table[i].code);
        const char *d = prex_strerror(table[i].code);
        CU_ASSERT(table[i].code == (int)i);
        PREX_CHECK(n && strcmp(n, table[i].name) == 0, "prex_errname(%d) = %s",
                   table[i].code, n ? n : "(null)");
        PREX_CHECK(d && strcmp(d, table[i].desc) == 0, "prex_strerror(%d) = %s",
                   table[i].code, d ? d : "(null)");
        for (j = 0; j < i; j++)
            CU_ASSERT(strcmp(table[j].name, table[i].name) != 0);
    }
    CU_ASSERT(prex_errname(-1) != NULL && prex_strerror(-1) != NULL);
    CU_ASSERT(prex_errname(PREX_E__COUNT) != NULL);
    CU_ASSERT(prex_strerror(PREX_E__COUNT) != NULL);
    CU_ASSERT(prex_errname(100000) != NULL && prex_strerror(100000) != NULL);
}

static void test_type_names(void)
{
    CU_ASSERT(strcmp(prex_type_name(PREX_TYPE_UNTYPED, TEXT), "untyped") == 0);
    CU_ASSERT(strcmp(prex_type_name(PREX_TYPE_UNTYPED, OM), "unknown") == 0);
    CU_ASSERT(strcmp(prex_type_name(PREX_TYPE_GAUGEHISTOGRAM, TEXT),
                     "gaugehistogram") == 0);
    CU_ASSERT(strcmp(prex_type_name(PREX_TYPE_STATESET, OM), "stateset") == 0);
    CU_ASSERT(prex_suffix_len(PREX_SUFFIX_NONE) == 0);
    CU_ASSERT(prex_suffix_len(PREX_SUFFIX_TOTAL) == 6);
    CU_ASSERT(prex_suffix_len(PREX_SUFFIX_CREATED) == 8);
    CU_ASSERT(prex_suffix_len(PREX_SUFFIX_BUCKET) == 7);
    CU_ASSERT(prex_suffix_len(PREX_SUFFIX_SUM) == 4);
    CU_ASSERT(prex_suffix_len(PREX_SUFFIX_COUNT) == 6);
    CU_ASSERT(prex_suffix_len(PREX_SUFFIX_GSUM) == 5);
    CU_ASSERT(prex_suffix_len(PREX_SUFFIX_GCOUNT) == 7);
    CU_ASSERT(prex_suffix_len(PREX_SUFFIX_INFO) == 5);
}

/* The test library's own pieces that the other suites rely on. */
static void test_testlib(void)
{
    prex_test_str s = {0};
    prex_test_guard g;
    prex_slice sl;
    char big[10000];
    size_t i;

    prex_test_str_put_visible(&s, "a\0\x1f\x7f\"\\\xff", 7);
    PREX_CHECK(s.len == 16 && memcmp(s.ptr, "a\\x00\\x1F\\x7F\"\\\xff", 16) == 0,
               "put_visible: %s", s.ptr);
    prex_test_str_clear(&s);
    for (i = 0; i < 1000; i++)
        prex_test_str_printf(&s, "%04zu", i);
    CU_ASSERT(s.len == 4000 && s.ptr[4000] == '\0' && memcmp(s.ptr + 3996, "0999", 4) == 0);
    prex_test_str_free(&s);

    memset(big, 'x', sizeof big);
    for (i = 0; i < 3; i++) {
        size_t n = i == 0 ? 0 : (i == 1 ? 4095 : sizeof big);
        prex_test_guard_init(&g, big, n);
        CU_ASSERT(g.len == n && g.buf[n] == '\0');
        sl.ptr = g.buf;
        sl.len = n;
        PREX_ASSERT_SLICE_EQ(sl, big, n);
        prex_test_guard_free(&g);
    }
}

/*
 * A line longer than max_line, read through a fixed 24-byte window: the
 * caller can never hold the whole line, so recover() must drop it and skip
 * the rest of it over later refills, keeping line numbers right.
 */
static void test_recover_long_line(void)
{
    static const char in[] = "a 1\n"
                             "b{x=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 1\n"
                             "c 2\n"
                             "d{ 3\n"
                             "e 4\n";
    const size_t n = sizeof in - 1, win = 24;
    char buf[25];
    size_t have, fed, c;
    prex_parser p;
    prex_event ev;
    prex_limits lim = {16, 0, 0, 0};
    char seen[8] = {0};
    size_t nseen = 0, errors = 0, guard = 0;
    int rc;

    have = fed = win;
    memcpy(buf, in, have);
    buf[have] = 0;
    prex_parser_init(&p, buf, have, TEXT, 0);
    prex_parser_set_limits(&p, &lim);
    while (guard++ < 100) {
        rc = prex_next(&p, &ev);
        if (rc == PREX_ERROR) {
            const prex_error *e = prex_parser_error(&p);
            if (errors == 0)
                CU_ASSERT(e->code == PREX_E_LIMIT_LINE && e->line == 2 && e->column == 17);
            if (errors == 1)
                CU_ASSERT(e->code == PREX_E_LABEL_NAME && e->line == 4);
            errors++;
            rc = prex_parser_recover(&p);
            CU_ASSERT_FATAL(rc != PREX_ERROR);
            if (rc == 0)
                continue;
        }
        if (rc == PREX_NEED_MORE) {
            size_t take;
            c = prex_parser_consumed(&p);
            memmove(buf, buf + c, have - c);
            have -= c;
            take = n - fed < win - have ? n - fed : win - have;
            memcpy(buf + have, in + fed, take);
            have += take;
            fed += take;
            buf[have] = 0;
            prex_parser_refill(&p, buf, have);
            if (fed == n)
                prex_finish(&p);
            continue;
        }
        if (rc == PREX_EV_EOF)
            break;
        CU_ASSERT(rc == PREX_EV_SAMPLE);
        if (rc == PREX_EV_SAMPLE && nseen < sizeof seen - 1) {
            seen[nseen++] = ev.name.ptr[0];
            CU_ASSERT(ev.line == (seen[nseen - 1] == 'a' ? 1u : seen[nseen - 1] == 'c' ? 3u : 5u));
        }
    }
    CU_ASSERT(rc == PREX_EV_EOF);
    CU_ASSERT(errors == 2);
    CU_ASSERT_STRING_EQUAL(seen, "ace");
    prex_parser_free(&p);
}

/*
 * Every byte of a label value, a label name and a metric name counts in
 * the series key: two samples whose value (or name) differs in one byte
 * are two series, and the same bytes twice are a duplicate. Lengths 1 to
 * 72 cross every range the word fold reads differently (1-3, 4-7, 8-16,
 * 17-32, then 16 bytes per step); the value is read by the general label
 * loop on the first line and by the cached-names run on the second.
 */
static void test_series_key_bytes(void)
{
    char in[512], v1[80], v2[80];
    size_t len, i, o;
    int bad = 0, what;

    for (what = 0; what < 3; what++) { /* label value, label name, metric name */
        for (len = 1; len <= 72; len++) {
            for (i = 0; i <= len; i++) { /* i == len: the same bytes twice */
                prex_parser p;
                prex_event ev;
                int rc, want;

                for (o = 0; o < len; o++)
                    v1[o] = (char)('a' + (o * 7 + len) % 26);
                memcpy(v2, v1, len);
                if (i < len)
                    v2[i] = v2[i] == 'z' ? 'y' : (char)(v2[i] + 1);
                v1[len] = v2[len] = 0;
                if (what == 0)
                    o = (size_t)snprintf(in, sizeof in, "# TYPE m gauge\nm{a=\"%s\",b=\"x\"} 1\n"
                                         "m{a=\"%s\",b=\"x\"} 2\n", v1, v2);
                else if (what == 1)
                    o = (size_t)snprintf(in, sizeof in, "# TYPE m gauge\nm{%s=\"x\"} 1\n"
                                         "m{%s=\"x\"} 2\n", v1, v2);
                else
                    o = (size_t)snprintf(in, sizeof in, "m_%s{a=\"x\"} 1\nm_%s{a=\"x\"} 2\n", v1, v2);
                prex_parser_init(&p, in, o, TEXT, 0);
                prex_finish(&p);
                while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF)
                    ;
                /* the same metric name twice is one family; a different
                 * one is a second family, valid either way */
                want = i == len ? PREX_ERROR : PREX_EV_EOF;
                if (rc != want ||
                    (rc == PREX_ERROR && prex_parser_error(&p)->code != PREX_E_DUP_SERIES)) {
                    if (bad++ < 5)
                        fprintf(stderr, "%s of %zu bytes, %s: rc %d (%s)\n",
                                what == 0 ? "label value" : what == 1 ? "label name" : "metric name",
                                len, i == len ? "the same twice" : "one byte apart", rc,
                                rc == PREX_ERROR ? prex_errname(prex_parser_error(&p)->code) : "-");
                }
                prex_parser_free(&p);
            }
        }
    }
    CU_ASSERT(bad == 0);
}

/*
 * The validator's hash set: prex__set_reserve() makes room at once (a
 * power of two of at least twice the keys asked for), keeps the keys
 * already in, never shrinks, and the keys it was sized for go in without
 * growing it.
 */
static void test_set_reserve(void)
{
    prex__set s;
    size_t i, cap;
    uint32_t v;
    int bad = 0;

    memset(&s, 0, sizeof s);
    for (i = 1; i <= 40; i++) {
        v = (uint32_t)i;
        CU_ASSERT(prex__set_get_or_put(&s, &prex_alloc_libc, i * 0x9e3779b97f4a7c15ull, &v) == 0);
    }
    CU_ASSERT(s._cap == 128);
    CU_ASSERT(prex__set_reserve(&s, &prex_alloc_libc, 1000) == 0);
    CU_ASSERT(s._cap == 2048);
    CU_ASSERT(prex__set_reserve(&s, &prex_alloc_libc, 10) == 0);
    CU_ASSERT(s._cap == 2048); /* never shrinks */
    cap = s._cap;
    for (i = 1; i <= 1000; i++) {
        v = (uint32_t)i;
        if (prex__set_get_or_put(&s, &prex_alloc_libc, i * 0x9e3779b97f4a7c15ull, &v) !=
                (i <= 40 ? 1 : 0) || v != (uint32_t)i)
            bad++;
    }
    CU_ASSERT(s._cap == cap);
    CU_ASSERT(s._count == 1000);
    for (i = 1; i <= 1000; i++)
        if (!prex__set_get(&s, i * 0x9e3779b97f4a7c15ull, &v) || v != (uint32_t)i)
            bad++;
    CU_ASSERT(bad == 0);
    prex__set_free(&s, &prex_alloc_libc);
}

/*
 * Every sample name a type implies, in both formats and both orders: a
 * family named like one of an earlier family's samples fails, and so does
 * a type whose samples would be named like an earlier family; a type
 * without that suffix accepts the same two families.
 */
static void test_family_clash_by_suffix(void)
{
    static const struct {
        prex_format fmt;
        const char *type;
        const char *has;  /* suffixes the type implies, space-separated */
    } types[] = {
        { TEXT, "counter", "" },
        { TEXT, "gauge", "" },
        { TEXT, "untyped", "" },
        { TEXT, "summary", "_sum _count" },
        { TEXT, "histogram", "_bucket _sum _count" },
        { TEXT, "gaugehistogram", "_bucket _sum _count" },
        { OM, "counter", "_total _created" },
        { OM, "gauge", "" },
        { OM, "unknown", "" },
        { OM, "summary", "_sum _count _created" },
        { OM, "histogram", "_bucket _sum _count _created" },
        { OM, "gaugehistogram", "_bucket _gsum _gcount" },
        { OM, "info", "_info" },
        { OM, "stateset", "" },
    };
    static const char *const sfx[] = { "_total", "_created", "_bucket", "_sum",
                                       "_count", "_gsum", "_gcount", "_info" };
    prex_test_str in = {0}, has = {0};
    size_t i, j;

    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        const char *eof = types[i].fmt == OM ? "# EOF\n" : "";

        for (j = 0; j < sizeof sfx / sizeof sfx[0]; j++) {
            int clash;

            prex_test_str_clear(&has);
            prex_test_str_printf(&has, " %s ", types[i].has);
            prex_test_str_clear(&in);
            prex_test_str_printf(&in, " %s ", sfx[j]);
            clash = strstr(has.ptr, in.ptr) != NULL;

            /* the type first, then a family named like its sample */
            prex_test_str_clear(&in);
            prex_test_str_printf(&in, "# TYPE x %s\n# TYPE x%s gauge\n%s", types[i].type,
                                 sfx[j], eof);
            if (clash)
                expect_error(in.ptr, in.len, types[i].fmt, 0, NULL, PREX_E_NAME_CLASH, 2, 8,
                             __LINE__);
            else
                PREX_CHECK(accepts(in.ptr, in.len, types[i].fmt, 0, NULL, __LINE__),
                           "%s: %s then x%s", in.ptr, types[i].type, sfx[j]);

            /* the family first, then a type that implies its name */
            prex_test_str_clear(&in);
            prex_test_str_printf(&in, "# TYPE x%s gauge\n# TYPE x %s\n%s", sfx[j],
                                 types[i].type, eof);
            if (clash)
                expect_error(in.ptr, in.len, types[i].fmt, 0, NULL, PREX_E_NAME_CLASH, 2, 8,
                             __LINE__);
            else
                PREX_CHECK(accepts(in.ptr, in.len, types[i].fmt, 0, NULL, __LINE__),
                           "%s: x%s then %s", in.ptr, sfx[j], types[i].type);
        }
    }
    prex_test_str_free(&in);
    prex_test_str_free(&has);
}

static CU_TestInfo parser_tests[] = {
    {"event_help", test_event_help},
    {"event_meta_forms", test_event_meta_forms},
    {"event_type", test_event_type},
    {"event_unit", test_event_unit},
    {"event_comment", test_event_comment},
    {"event_sample", test_event_sample},
    {"event_quoted_name", test_event_quoted_name},
    {"event_suffixes", test_event_suffixes},
    {"event_exemplar", test_event_exemplar},
    {"event_values", test_event_values},
    {"eof_sticky", test_eof_sticky},
    {"need_more_refill", test_need_more_refill},
    {"finish", test_finish},
    {"lenient_flags", test_lenient_flags},
    {"limits", test_limits},
    {"value_conversion", test_value_conversion},
    {"series_key_bytes", test_series_key_bytes},
    {"set_reserve", test_set_reserve},
    {"label_name_cache", test_label_name_cache},
    {"error_positions", test_error_positions},
    {"legacy_names", test_legacy_names},
    {"recover", test_recover},
    {"recover_no_cascade", test_recover_no_cascade},
    {"recover_long_line", test_recover_long_line},
    {"allocator", test_allocator},
    {"locate", test_locate},
    {"unescape", test_unescape},
    {"detect_format", test_detect_format},
    {"legacy_checks", test_legacy_checks},
    {"error_names", test_error_names},
    {"type_names", test_type_names},
    {"family_clash_by_suffix", test_family_clash_by_suffix},
    {"testlib", test_testlib},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo prex_parser_suites[] = {
    {.pName = "parser", .pTests = parser_tests},
    CU_SUITE_INFO_NULL,
};

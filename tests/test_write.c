/*
 * test_write.c - tests of the relay's buffer (relay/buf.c) and of the
 * writer (relay/write.c): buffer invariants, round trips (parse -> write
 * -> parse gives the same samples, and writing is idempotent), every
 * conversion between text 0.0.4 and OpenMetrics, escaping, the
 * normalisation of leniently parsed input, and the writer's errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <CUnit/CUnit.h>

#include "buf.h"
#include "prex.h"
#include "testlib.h"
#include "write.h"

#define TEXT PREX_FORMAT_TEXT
#define OM PREX_FORMAT_OPENMETRICS

/* MARK: a failing allocator */

/* Counts allocations and fails every one after the first `budget`
 * (budget < 0: never fails). */
typedef struct fail_alloc {
    long budget;
    long calls;
} fail_alloc;

static void *fa_malloc(void *ctx, size_t size)
{
    fail_alloc *f = ctx;

    if (f->budget >= 0 && f->calls++ >= f->budget)
        return NULL;
    return malloc(size);
}

static void *fa_realloc(void *ctx, void *ptr, size_t old_size, size_t size)
{
    fail_alloc *f = ctx;

    (void)old_size;
    if (f->budget >= 0 && f->calls++ >= f->budget)
        return NULL;
    return realloc(ptr, size);
}

static void fa_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

/* MARK: helpers */

/* Checks that buffer b (a prex_buf) holds exactly bytes[0..n), or the
 * NUL-terminated test string z; prints both on failure. */
#define CHECK_BUF(b, bytes, n)                                                 \
    prex_test_slice_eq(__FILE__, __LINE__, #b, (b).ptr, (b).len, (bytes), (n), 0)
#define CHECK_BUF_STR(b, z) CHECK_BUF(b, (z), strlen(z))

/* Nonzero when the buffer keeps its sentinel and its bounds. */
static int buf_ok(const prex_buf *b)
{
    return b->ptr != NULL && b->len <= b->cap && b->ptr[b->len] == '\0';
}

/*
 * Parses in[0..len) one-shot in format infmt (flags: PREX_LENIENT_* and
 * others) and hands every event to a writer for outfmt with options.
 *   out:   OUT: the written text (initialised here; caller frees).
 *   stats: OUT (may be NULL): the writer's statistics.
 * Returns 0 on success, -1 when the input does not parse (the parser's
 * error is recorded as a failed assert unless quiet), or the writer's
 * error code.
 */
static int convert(const char *in, size_t len, prex_format infmt, unsigned flags,
                   prex_format outfmt, unsigned options, prex_buf *out,
                   prex_write_stats *stats, int quiet)
{
    char *copy = malloc(len + 1);
    prex_parser p;
    prex_event ev;
    prex_writer w;
    int rc, wrc = 0;

    PREX_ASSERT_FATAL(copy != NULL);
    memcpy(copy, in, len);
    copy[len] = '\0';
    prex_buf_init(out, NULL);
    prex_writer_init(&w, out, outfmt, options);
    prex_parser_init(&p, copy, len, infmt, flags);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0) {
        wrc = prex_write_event(&w, &ev, infmt);
        if (wrc != 0 || rc == PREX_EV_EOF)
            break;
    }
    if (rc == PREX_ERROR) {
        const prex_error *e = prex_parser_error(&p);

        if (!quiet)
            PREX_CHECK(0, "input does not parse: %s at %llu:%llu (%s)", prex_errname(e->code),
                       (unsigned long long)e->line, (unsigned long long)e->column, e->detail);
        wrc = -1;
    } else if (wrc == 0) {
        wrc = prex_writer_finish(&w);
    }
    if (stats)
        *stats = w.stats;
    prex_writer_free(&w);
    prex_parser_free(&p);
    free(copy);
    return wrc;
}

/* Appends a decoded slice, bytes < 0x20 shown as \xHH. */
static void put_decoded(prex_test_str *s, prex_slice raw, int esc)
{
    char *tmp = malloc(raw.len + 1);
    size_t n;

    PREX_ASSERT_FATAL(tmp != NULL);
    n = esc ? prex_unescape(raw, tmp) : raw.len;
    if (!esc && raw.len)
        memcpy(tmp, raw.ptr, raw.len);
    prex_test_str_put_visible(s, tmp, n);
    free(tmp);
}

static void put_labels(prex_test_str *s, const prex_label *l, size_t n)
{
    size_t i;

    prex_test_str_putc(s, '{');
    for (i = 0; i < n; i++) {
        if (i)
            prex_test_str_putc(s, ',');
        put_decoded(s, l[i].name, l[i].name_esc);
        prex_test_str_puts(s, "=\"");
        put_decoded(s, l[i].value, l[i].value_esc);
        prex_test_str_putc(s, '"');
    }
    prex_test_str_putc(s, '}');
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the lines of meta (each ending in "\n") to out, sorted. */
static void append_sorted(prex_test_str *out, prex_test_str *meta)
{
    char **lines;
    size_t n = 0, i;
    char *p;

    if (meta->len == 0)
        return;
    for (i = 0; i < meta->len; i++)
        n += meta->ptr[i] == '\n';
    lines = malloc(n * sizeof *lines);
    PREX_ASSERT_FATAL(lines != NULL);
    for (p = meta->ptr, i = 0; i < n; i++) {
        char *nl = strchr(p, '\n');

        *nl = '\0';
        lines[i] = p;
        p = nl + 1;
    }
    qsort(lines, n, sizeof *lines, cmp_lines);
    for (i = 0; i < n; i++) {
        prex_test_str_puts(out, lines[i]);
        prex_test_str_putc(out, '\n');
    }
    free(lines);
}

/*
 * The samples of an input, decoded and independent of spelling: one line
 * per sample "name{labels} value ts [# {labels} value ts]" (values as
 * %.17g, timestamps in ms), in input order. With with_meta, the families'
 * metadata follow, sorted (the writer may reorder it within a family):
 * "TYPE family type" for typed families and "HELP family text" for
 * non-empty help. Returns the last prex_next() result.
 */
static int sample_log(const char *buf, size_t len, prex_format fmt, unsigned flags,
                      int with_meta, prex_test_str *out)
{
    char *copy = malloc(len + 1);
    prex_test_str meta = {0};
    prex_parser p;
    prex_event ev;
    int rc;

    PREX_ASSERT_FATAL(copy != NULL);
    memcpy(copy, buf, len);
    copy[len] = '\0';
    prex_parser_init(&p, copy, len, fmt, flags);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF) {
        if (rc == PREX_EV_SAMPLE) {
            put_decoded(out, ev.name, ev.name_esc);
            put_labels(out, ev.labels, ev.nlabels);
            prex_test_str_putc(out, ' ');
            prex_test_str_put_double(out, ev.value);
            if (ev.has_timestamp)
                prex_test_str_printf(out, " %lld", (long long)ev.timestamp_ms);
            else
                prex_test_str_puts(out, " -");
            if (ev.has_exemplar) {
                prex_test_str_puts(out, " # ");
                put_labels(out, ev.exemplar.labels, ev.exemplar.nlabels);
                prex_test_str_putc(out, ' ');
                prex_test_str_put_double(out, ev.exemplar.value);
                if (ev.exemplar.has_timestamp)
                    prex_test_str_printf(out, " %lld", (long long)ev.exemplar.timestamp_ms);
            }
            prex_test_str_putc(out, '\n');
        } else if (with_meta && rc == PREX_EV_TYPE && ev.type != PREX_TYPE_UNTYPED) {
            prex_test_str_puts(&meta, "TYPE ");
            put_decoded(&meta, ev.name, ev.name_esc);
            prex_test_str_printf(&meta, " %s\n", prex_test_type_name(ev.type));
        } else if (with_meta && rc == PREX_EV_HELP && ev.text.len > 0) {
            prex_test_str_puts(&meta, "HELP ");
            put_decoded(&meta, ev.name, ev.name_esc);
            prex_test_str_putc(&meta, ' ');
            put_decoded(&meta, ev.text, ev.text_esc);
            prex_test_str_putc(&meta, '\n');
        }
    }
    if (rc == PREX_ERROR) {
        const prex_error *e = prex_parser_error(&p);

        prex_test_str_printf(out, "ERROR %s %llu:%llu\n", prex_errname(e->code),
                             (unsigned long long)e->line, (unsigned long long)e->column);
    }
    append_sorted(out, &meta);
    prex_test_str_free(&meta);
    prex_parser_free(&p);
    free(copy);
    return rc;
}

/* Converts in (a C string) and checks the output equals want exactly. */
#define CHECK_CONVERT(in, infmt, flags, outfmt, opts, want)                       \
    do {                                                                           \
        prex_buf out_;                                                             \
        int rc_ = convert((in), strlen(in), (infmt), (flags), (outfmt), (opts),    \
                          &out_, NULL, 0);                                         \
        PREX_CHECK(rc_ == 0, "convert failed: %d", rc_);                           \
        CHECK_BUF(out_, (want), strlen(want));                 \
        prex_buf_free(&out_);                                                      \
    } while (0)

/*
 * Round trip of one input in its own format: the written output parses
 * (strictly), has the same samples and (with_meta) metadata, and writing
 * it again gives the same bytes. what names the input in messages.
 */
static void check_roundtrip(const char *what, const char *in, size_t len, prex_format fmt,
                            unsigned flags, int with_meta)
{
    prex_buf out1, out2;
    prex_test_str want = {0}, got = {0};
    int rc;

    rc = convert(in, len, fmt, flags, fmt, 0, &out1, NULL, 0);
    PREX_CHECK(rc == 0, "%s: writing failed (%d: %s)", what, rc, prex_errname(rc));
    if (rc == 0) {
        sample_log(in, len, fmt, flags, with_meta, &want);
        sample_log(out1.ptr, out1.len, fmt, 0, with_meta, &got);
        PREX_ASSERT_LOG_EQ(what, &got, &want);
        rc = convert(out1.ptr, out1.len, fmt, 0, fmt, 0, &out2, NULL, 0);
        PREX_CHECK(rc == 0, "%s: rewriting failed (%d)", what, rc);
        prex_test_slice_eq(__FILE__, __LINE__, what, out2.ptr, out2.len, out1.ptr, out1.len,
                           0);
        prex_buf_free(&out2);
    }
    prex_buf_free(&out1);
    prex_test_str_free(&want);
    prex_test_str_free(&got);
}

/* An event built by hand, for driving the writer without a parser. */
static prex_event mk_event(int kind, const char *name, size_t famlen, prex_type type,
                           uint64_t line)
{
    prex_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.line = line;
    ev.name.ptr = name;
    ev.name.len = strlen(name);
    ev.family.ptr = name;
    ev.family.len = famlen ? famlen : ev.name.len;
    ev.type = type;
    if (kind == PREX_EV_SAMPLE) {
        ev.value_raw.ptr = "1";
        ev.value_raw.len = 1;
        ev.value = 1;
    } else if (kind == PREX_EV_TYPE) {
        ev.text.ptr = prex_type_name(type, PREX_FORMAT_TEXT);
        ev.text.len = strlen(ev.text.ptr);
    }
    return ev;
}

/* MARK: buffer tests */

static void test_buf_init_sentinel(void)
{
    prex_buf b;

    prex_buf_init(&b, NULL);
    CU_ASSERT_PTR_NOT_NULL(b.ptr);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_EQUAL(b.cap, 0);
    CU_ASSERT_EQUAL(b.ptr[0], '\0');
    CU_ASSERT_PTR_EQUAL(b.alc, &prex_alloc_libc);
    prex_buf_clear(&b);
    prex_buf_consume(&b, 0);
    CU_ASSERT_EQUAL(b.ptr[0], '\0');
    prex_buf_free(&b);
    CU_ASSERT_EQUAL(b.cap, 0);
    CU_ASSERT_EQUAL(b.ptr[0], '\0');
}

static void test_buf_append(void)
{
    prex_buf b;
    size_t i;

    prex_buf_init(&b, NULL);
    CU_ASSERT_EQUAL(prex_buf_append(&b, "ab\0c", 4), 0);
    CU_ASSERT(buf_ok(&b));
    CHECK_BUF(b, "ab\0c", 4);
    CU_ASSERT_EQUAL(prex_buf_putc(&b, 'x'), 0);
    CU_ASSERT_EQUAL(prex_buf_puts(&b, "yz"), 0);
    CU_ASSERT_EQUAL(prex_buf_append(&b, "ignored", 0), 0);
    CHECK_BUF(b, "ab\0cxyz", 7);
    CU_ASSERT(buf_ok(&b));
    /* growth across many reallocations keeps data and sentinel */
    for (i = 0; i < 100000; i++) {
        if (prex_buf_putc(&b, (char)('a' + i % 26)) != 0)
            break;
        if (b.ptr[b.len] != '\0')
            break;
    }
    CU_ASSERT_EQUAL(i, 100000);
    CU_ASSERT_EQUAL(b.len, 100007);
    CU_ASSERT(b.cap >= b.len);
    CU_ASSERT_EQUAL(b.ptr[7], 'a');
    CU_ASSERT_EQUAL(b.ptr[b.len - 1], (char)('a' + 99999 % 26));
    prex_buf_truncate(&b, 3);
    CHECK_BUF(b, "ab\0", 3);
    CU_ASSERT(buf_ok(&b));
    prex_buf_clear(&b);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT(buf_ok(&b));
    prex_buf_free(&b);
}

static void test_buf_make_room(void)
{
    prex_buf b;
    size_t cap;

    prex_buf_init(&b, NULL);
    CU_ASSERT_EQUAL(prex_buf_make_room(&b, 10), 0);
    CU_ASSERT(b.cap >= 10);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT(buf_ok(&b));
    CU_ASSERT_EQUAL(prex_buf_avail(&b), b.cap);
    memcpy(prex_buf_space(&b), "hello", 5);
    CU_ASSERT_EQUAL(b.len, 0); /* not data until incr_len */
    prex_buf_incr_len(&b, 5);
    CHECK_BUF_STR(b, "hello");
    CU_ASSERT(buf_ok(&b));
    cap = b.cap;
    CU_ASSERT_EQUAL(prex_buf_make_room(&b, b.cap - b.len), 0);
    CU_ASSERT_EQUAL(b.cap, cap); /* already fits: no growth */
    CU_ASSERT_EQUAL(prex_buf_make_room(&b, cap), 0);
    CU_ASSERT(b.cap >= 5 + cap);
    CHECK_BUF_STR(b, "hello");
    CU_ASSERT(buf_ok(&b));
    /* an impossible size fails and leaves the buffer as it was */
    cap = b.cap;
    CU_ASSERT_EQUAL(prex_buf_make_room(&b, (size_t)-1), -1);
    CU_ASSERT_EQUAL(b.cap, cap);
    CHECK_BUF_STR(b, "hello");
    prex_buf_free(&b);
}

static void test_buf_consume(void)
{
    prex_buf b;
    size_t cap;

    prex_buf_init(&b, NULL);
    prex_buf_puts(&b, "line one\nline tw");
    cap = b.cap;
    prex_buf_consume(&b, 9);
    CHECK_BUF_STR(b, "line tw");
    CU_ASSERT(buf_ok(&b));
    CU_ASSERT_EQUAL(b.cap, cap); /* consuming never shrinks */
    prex_buf_puts(&b, "o\n");
    CHECK_BUF_STR(b, "line two\n");
    prex_buf_consume(&b, 0);
    CHECK_BUF_STR(b, "line two\n");
    prex_buf_consume(&b, b.len);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT(buf_ok(&b));
    prex_buf_free(&b);
}

static void test_buf_read(void)
{
    prex_buf b;
    int fds[2];
    ssize_t n;
    const char msg[] = "# TYPE a gauge\na 1\n";

    PREX_ASSERT_FATAL(pipe(fds) == 0);
    PREX_ASSERT_FATAL(write(fds[1], msg, sizeof msg - 1) == (ssize_t)(sizeof msg - 1));
    close(fds[1]);
    prex_buf_init(&b, NULL);
    n = prex_buf_read(&b, fds[0], 4);
    CU_ASSERT_EQUAL(n, 4);
    CHECK_BUF_STR(b, "# TY");
    CU_ASSERT(buf_ok(&b));
    prex_buf_consume(&b, 2);
    n = prex_buf_read(&b, fds[0], 1000);
    CU_ASSERT_EQUAL(n, (ssize_t)(sizeof msg - 1 - 4));
    CHECK_BUF_STR(b, "TYPE a gauge\na 1\n");
    CU_ASSERT(buf_ok(&b));
    CU_ASSERT_EQUAL(prex_buf_read(&b, fds[0], 1000), 0); /* end of file */
    CU_ASSERT_EQUAL(b.len, sizeof msg - 1 - 2);
    CU_ASSERT(buf_ok(&b));
    close(fds[0]);
    CU_ASSERT_EQUAL(prex_buf_read(&b, fds[0], 10), -1); /* closed descriptor */
    CU_ASSERT(buf_ok(&b));
    prex_buf_free(&b);
}

/* The buffer's own parse loop: feeding a parser chunk by chunk through a
 * prex_buf gives the same events as parsing the whole input at once. */
static void test_buf_streams_parser(void)
{
    const char in[] = "# HELP a The a.\n# TYPE a counter\na{x=\"1\"} 3\n"
                      "a{x=\"2\"} 4 1500\n# TYPE b gauge\nb 1\n";
    size_t chunk;

    for (chunk = 1; chunk <= sizeof in; chunk++) {
        prex_buf b;
        prex_parser p;
        prex_event ev;
        prex_test_str got = {0}, want = {0};
        size_t fed = 0;
        int rc, eof = 0;

        prex_test_evlog(in, sizeof in - 1, TEXT, 0, &want);
        prex_buf_init(&b, NULL);
        prex_parser_init(&p, b.ptr, b.len, TEXT, 0);
        for (;;) {
            rc = prex_next(&p, &ev);
            if (rc > 0) {
                prex_test_evlog_event(&got, &ev);
                if (rc == PREX_EV_EOF)
                    break;
                continue;
            }
            if (rc != PREX_NEED_MORE || eof) {
                prex_test_evlog_error(&got, &p);
                break;
            }
            prex_buf_consume(&b, prex_parser_consumed(&p));
            if (fed < sizeof in - 1) {
                size_t n = sizeof in - 1 - fed < chunk ? sizeof in - 1 - fed : chunk;
                prex_buf_append(&b, in + fed, n);
                fed += n;
            } else {
                eof = 1;
            }
            CU_ASSERT(buf_ok(&b));
            prex_parser_refill(&p, b.ptr, b.len);
            if (eof)
                prex_finish(&p);
        }
        PREX_ASSERT_LOG_EQ("chunked through prex_buf", &got, &want);
        prex_parser_free(&p);
        prex_buf_free(&b);
        prex_test_str_free(&got);
        prex_test_str_free(&want);
    }
}

static void test_buf_alloc_failure(void)
{
    fail_alloc f = { 1, 0 };
    prex_alloc a = { fa_malloc, fa_realloc, fa_free, &f };
    prex_buf b;
    size_t cap;

    prex_buf_init(&b, &a);
    CU_ASSERT_EQUAL(prex_buf_append(&b, "abc", 3), 0);
    cap = b.cap;
    /* the next growth fails: buffer unchanged, sentinel intact */
    CU_ASSERT_EQUAL(prex_buf_make_room(&b, cap + 1), -1);
    CU_ASSERT_EQUAL(b.cap, cap);
    CHECK_BUF_STR(b, "abc");
    CU_ASSERT(buf_ok(&b));
    CU_ASSERT_EQUAL(prex_buf_read(&b, 0, cap + 1), -1);
    CHECK_BUF_STR(b, "abc");
    prex_buf_free(&b);
    CU_ASSERT_EQUAL(f.calls, 3);
}

/* MARK: round trips */

static const char *const text_inputs[] = {
    "",
    "a 1\n",
    "# HELP a The a.\n# TYPE a counter\na{x=\"1\"} 3\na{x=\"2\"} 4 1500\n",
    "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3.5\nh_count 2\n",
    "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n",
    "# TYPE g gauge\ng{a=\"x\\\\y\",b=\"q\\\"q\",c=\"n\\nn\"} -2.5e-3 -1000\n",
    "{\"my.metric\",\"label.name\"=\"v\",a=\"b\"} 1\n",
    ("# HELP \"my.metric\" help with \"quotes\" and a \\\\ and \\n\n"
     "# TYPE \"my.metric\" gauge\n{\"my.metric\"} NaN\n"),
    "# TYPE u untyped\nu +Inf\nv -Inf\nw NaN\n",
    "m{a=\"\xc3\xa9t\xc3\xa9\"} 007 +5\n",
};

static const char *const om_inputs[] = {
    "# EOF\n",
    ("# HELP a help\n# TYPE a counter\na_total 0 123 # {a=\"b\"} 0.5\n"
     "a_created 123.5\n# EOF\n"),
    "# TYPE a_seconds counter\n# UNIT a_seconds seconds\na_seconds_total 1.0 1.5\n# EOF\n",
    "# TYPE i info\ni_info{v=\"1\"} 1\n# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n# EOF\n",
    ("# TYPE g gaugehistogram\ng_bucket{le=\"1.0\"} 0\ng_bucket{le=\"+Inf\"} 3\ng_gcount 3\n"
     "g_gsum 2\n# EOF\n"),
    "# HELP e esc \\\" \\\\ \\n \\z\n# TYPE e gauge\ne{l=\"\\z\\\"\"} 1 -1.25\n# EOF",
    "u 1\n# EOF\n",
};

static void test_roundtrip_text(void)
{
    size_t i;
    char what[64];

    for (i = 0; i < sizeof text_inputs / sizeof text_inputs[0]; i++) {
        snprintf(what, sizeof what, "text input %zu", i);
        check_roundtrip(what, text_inputs[i], strlen(text_inputs[i]), TEXT, 0, 1);
    }
}

static void test_roundtrip_openmetrics(void)
{
    size_t i;
    char what[64];

    for (i = 0; i < sizeof om_inputs / sizeof om_inputs[0]; i++) {
        snprintf(what, sizeof what, "openmetrics input %zu", i);
        check_roundtrip(what, om_inputs[i], strlen(om_inputs[i]), OM, 0, 1);
    }
}

/* Reads a small file of a conformance case; NULL if absent. */
static char *case_file(const char *dir, const char *name, const char *file, size_t *len)
{
    prex_test_str path = {0};
    char *data;

    prex_test_str_printf(&path, "%s/%s/%s", dir, name, file);
    data = prex_test_read_file(path.ptr, len);
    prex_test_str_free(&path);
    return data;
}

/*
 * Every conformance input that the parser accepts: round trip in its own
 * format, and a conversion to the other format whose output, when the
 * writer produced one, parses as that format (OpenMetrics -> text must
 * always work, unless the input is not grouped).
 */
static void test_roundtrip_conformance(void)
{
    prex_test_str dir = {0};
    char **names;
    size_t n, i, tried = 0;

    prex_test_str_printf(&dir, "%s/conformance", prex_test_shared_dir());
    names = prex_test_list_dir(dir.ptr, &n);
    if (!names) {
        PREX_CHECK(0, "cannot list %s", dir.ptr);
        prex_test_str_free(&dir);
        return;
    }
    for (i = 0; i < n; i++) {
        size_t len, flen;
        char *in, *fmtname;
        prex_format fmt;
        prex_test_str probe = {0};
        char what[300];

        fmtname = case_file(dir.ptr, names[i], "format", &flen);
        in = case_file(dir.ptr, names[i], "input.txt", &len);
        if (!fmtname || !in) {
            free(fmtname);
            free(in);
            continue;
        }
        fmt = (flen >= 4 && memcmp(fmtname, "open", 4) == 0) ? OM : TEXT;
        if (sample_log(in, len, fmt, 0, 1, &probe) == PREX_EV_EOF) {
            prex_buf out;
            int rc;

            tried++;
            snprintf(what, sizeof what, "conformance %s", names[i]);
            rc = convert(in, len, fmt, 0, fmt, 0, &out, NULL, 1);
            prex_buf_free(&out);
            /* a text gauge histogram is written as gauges: same samples,
             * other metadata */
            if (rc != PREX_E_NOT_CONTIGUOUS)
                check_roundtrip(what, in, len, fmt, 0,
                                fmt == OM || strstr(probe.ptr ? probe.ptr : "",
                                                    " gaugehistogram\n") == NULL);
            rc = convert(in, len, fmt, 0, fmt == OM ? TEXT : OM, 0, &out, NULL, 1);
            if (rc == 0) {
                prex_test_str conv = {0};

                PREX_CHECK(sample_log(out.ptr, out.len, fmt == OM ? TEXT : OM, 0, 0, &conv) ==
                                   PREX_EV_EOF ||
                               fmt == TEXT,
                           "%s: converted to text does not parse: %s", what,
                           conv.ptr ? conv.ptr : "");
                prex_test_str_free(&conv);
            } else {
                PREX_CHECK(fmt == TEXT || rc == PREX_E_NOT_CONTIGUOUS,
                           "%s: openmetrics -> text failed: %s", what, prex_errname(rc));
            }
            prex_buf_free(&out);
        }
        prex_test_str_free(&probe);
        free(fmtname);
        free(in);
    }
    PREX_CHECK(tried >= 50, "only %zu conformance inputs parsed", tried);
    prex_test_free_list(names);
    prex_test_str_free(&dir);
}

/* MARK: conversions, OpenMetrics -> text */

static void test_om_to_text_counter(void)
{
    prex_buf out;
    prex_write_stats st;
    const char in[] = "# TYPE c counter\n# HELP c Requests.\n# UNIT c \n"
                      "c_total{a=\"1\"} 5 1.5 # {trace=\"x\"} 1 1.25\n"
                      "c_created{a=\"1\"} 1.7e9\n# EOF\n";
    const char want[] = "# HELP c_total Requests.\n# TYPE c_total counter\n"
                        "c_total{a=\"1\"} 5 1500\n";

    CU_ASSERT_EQUAL(convert(in, sizeof in - 1, OM, 0, TEXT, 0, &out, &st, 0), 0);
    CHECK_BUF_STR(out, want);
    CU_ASSERT_EQUAL(st.dropped_exemplars, 1);
    CU_ASSERT_EQUAL(st.dropped_created, 1);
    CU_ASSERT_EQUAL(st.families, 1);
    CU_ASSERT_EQUAL(st.samples, 1);
    prex_buf_free(&out);
}

static void test_om_to_text_types(void)
{
    /* info -> gauge x_info, stateset -> gauge, unknown -> untyped, UNIT dropped */
    CHECK_CONVERT("# TYPE build info\nbuild_info{version=\"1.2\"} 1\n"
                  "# TYPE st stateset\n# HELP st States.\nst{st=\"a\"} 1\nst{st=\"b\"} 0\n"
                  "# TYPE u unknown\nu 3\nv 4\n"
                  "# TYPE t_seconds gauge\n# UNIT t_seconds seconds\nt_seconds 2\n# EOF\n",
                  OM, 0, TEXT, 0,
                  "# TYPE build_info gauge\nbuild_info{version=\"1.2\"} 1\n"
                  "# HELP st States.\n# TYPE st gauge\nst{st=\"a\"} 1\nst{st=\"b\"} 0\n"
                  "# TYPE u untyped\nu 3\n# TYPE v untyped\nv 4\n"
                  "# TYPE t_seconds gauge\nt_seconds 2\n");
    /* histogram and summary keep their names; _created is dropped */
    CHECK_CONVERT("# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                  "h_count 2\nh_sum 1.5\nh_created 12\n"
                  "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\ns_created 4\n# EOF\n",
                  OM, 0, TEXT, 0,
                  "# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                  "h_count 2\nh_sum 1.5\n"
                  "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n");
}

/* A gauge histogram becomes three gauge families in text: the buckets
 * streamed, then _gsum and _gcount (held back until the family ends). */
static void test_om_to_text_gaugehistogram(void)
{
    prex_buf out;
    prex_test_str got = {0};
    const char in[] = "# HELP g Queue wait.\n# TYPE g gaugehistogram\n"
                      "g_bucket{q=\"a\",le=\"1.0\"} 1\ng_bucket{q=\"a\",le=\"+Inf\"} 2\n"
                      "g_gcount{q=\"a\"} 2\ng_gsum{q=\"a\"} 0.5\n"
                      "g_bucket{q=\"b\",le=\"+Inf\"} 4\ng_gcount{q=\"b\"} 4\ng_gsum{q=\"b\"} 9\n"
                      "# TYPE z gauge\nz 1\n# EOF\n";
    const char want[] = "# HELP g_bucket Queue wait.\n# TYPE g_bucket gauge\n"
                        "g_bucket{q=\"a\",le=\"1.0\"} 1\ng_bucket{q=\"a\",le=\"+Inf\"} 2\n"
                        "g_bucket{q=\"b\",le=\"+Inf\"} 4\n"
                        "# HELP g_gsum Queue wait.\n# TYPE g_gsum gauge\n"
                        "g_gsum{q=\"a\"} 0.5\ng_gsum{q=\"b\"} 9\n"
                        "# HELP g_gcount Queue wait.\n# TYPE g_gcount gauge\n"
                        "g_gcount{q=\"a\"} 2\ng_gcount{q=\"b\"} 4\n"
                        "# TYPE z gauge\nz 1\n";

    CU_ASSERT_EQUAL(convert(in, sizeof in - 1, OM, 0, TEXT, 0, &out, NULL, 0), 0);
    CHECK_BUF_STR(out, want);
    CU_ASSERT_EQUAL(sample_log(out.ptr, out.len, TEXT, 0, 0, &got), PREX_EV_EOF);
    prex_test_str_free(&got);
    prex_buf_free(&out);
}

static void test_om_to_text_timestamps(void)
{
    CHECK_CONVERT("a 1 1.5\na 2 2\na 3 1520879607.789\n# EOF\n", OM, 0, TEXT, 0,
                  "# TYPE a untyped\na 1 1500\na 2 2000\na 3 1520879607789\n");
    CHECK_CONVERT("a 1 -1\n# EOF\n", OM, 0, TEXT, 0, "# TYPE a untyped\na 1 -1000\n");
    /* OpenMetrics -> OpenMetrics keeps the timestamp as written */
    CHECK_CONVERT("a 1 1.50\na 2 1e1\n# EOF\n", OM, 0, OM, 0,
                  "# TYPE a unknown\na 1 1.50\na 2 1e1\n# EOF\n");
}

/* MARK: conversions, text -> OpenMetrics */

static void test_text_to_om_counter(void)
{
    /* x_total: the family loses the suffix; x: the sample gains it */
    CHECK_CONVERT("# HELP x_total Xs.\n# TYPE x_total counter\nx_total{a=\"b\"} 1\n"
                  "# TYPE y counter\ny 2\n",
                  TEXT, 0, OM, 0,
                  "# HELP x Xs.\n# TYPE x counter\nx_total{a=\"b\"} 1\n"
                  "# TYPE y counter\ny_total 2\n# EOF\n");
    /* a quoted counter name gains the suffix inside the quotes */
    CHECK_CONVERT("# TYPE \"c.d\" counter\n{\"c.d\"} 1\n", TEXT, 0, OM, 0,
                  "# TYPE \"c.d\" counter\n{\"c.d_total\"} 1\n# EOF\n");
}

/* A counter x_total whose OpenMetrics name x is taken (Go exporters: the
 * gauge go_memstats_alloc_bytes, then the counter
 * go_memstats_alloc_bytes_total) is written as unknown x_total. */
static void test_text_to_om_counter_name_taken(void)
{
    prex_buf out;
    prex_write_stats st;
    prex_test_str got = {0};
    const char in[] = "# TYPE m_bytes gauge\nm_bytes 1\n"
                      "# HELP m_bytes_total Bytes.\n# TYPE m_bytes_total counter\nm_bytes_total 2\n";

    CU_ASSERT_EQUAL(convert(in, sizeof in - 1, TEXT, 0, OM, 0, &out, &st, 0), 0);
    CHECK_BUF_STR(out, "# TYPE m_bytes gauge\nm_bytes 1\n# HELP m_bytes_total Bytes.\n"
                       "# TYPE m_bytes_total unknown\nm_bytes_total 2\n# EOF\n");
    CU_ASSERT_EQUAL(st.untyped_counters, 1);
    CU_ASSERT_EQUAL(sample_log(out.ptr, out.len, OM, 0, 0, &got), PREX_EV_EOF);
    prex_test_str_free(&got);
    prex_buf_free(&out);
}

static void test_text_to_om_types(void)
{
    CHECK_CONVERT("# A comment.\nu 1\n# TYPE v untyped\nv 2\n# TYPE g gauge\ng 3\n"
                  "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
                  TEXT, 0, OM, 0,
                  "# TYPE u unknown\nu 1\n# TYPE v unknown\nv 2\n# TYPE g gauge\ng 3\n"
                  "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n# EOF\n");
    /* text gauge histogram: _sum/_count become _gsum/_gcount */
    CHECK_CONVERT("# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 2\ng_sum 1\ng_count 2\n",
                  TEXT, 0, OM, 0,
                  "# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 2\ng_gsum 1\ng_gcount 2\n"
                  "# EOF\n");
    /* ... and three gauges when written as text */
    CHECK_CONVERT("# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 2\ng_sum 1\ng_count 2\n",
                  TEXT, 0, TEXT, 0,
                  "# TYPE g_bucket gauge\ng_bucket{le=\"+Inf\"} 2\n# TYPE g_sum gauge\ng_sum 1\n"
                  "# TYPE g_count gauge\ng_count 2\n");
}

static void test_text_to_om_timestamps(void)
{
    CHECK_CONVERT("a 1 1500\na 2 1520879607789\nb 1 -1000\nc 1 0\nd 1 -1\ne 1 10\n", TEXT, 0,
                  OM, 0,
                  "# TYPE a unknown\na 1 1.5\na 2 1520879607.789\n# TYPE b unknown\nb 1 -1\n"
                  "# TYPE c unknown\nc 1 0\n# TYPE d unknown\nd 1 -0.001\n"
                  "# TYPE e unknown\ne 1 0.01\n# EOF\n");
}

/* A HELP after its family's samples: written where it is in text, which
 * allows it; dropped (and counted) for OpenMetrics, which does not. */
static void test_late_help(void)
{
    prex_buf out;
    prex_write_stats st;
    const char in[] = "# TYPE a gauge\na 1\n# HELP a Late.\n# TYPE b gauge\nb 2\n";

    CHECK_CONVERT(in, TEXT, 0, TEXT, 0,
                  "# TYPE a gauge\na 1\n# HELP a Late.\n# TYPE b gauge\nb 2\n");
    CU_ASSERT_EQUAL(convert(in, sizeof in - 1, TEXT, 0, OM, 0, &out, &st, 0), 0);
    CHECK_BUF_STR(out, "# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n# EOF\n");
    CU_ASSERT_EQUAL(st.dropped_help, 1);
    prex_buf_free(&out);
}

/* MARK: escaping */

static void test_escaping_help(void)
{
    /* text HELP: \\ and \n escaped, '"' raw (expfmt rejects \" in HELP) */
    CHECK_CONVERT("# HELP a Say \\\"hi\\\" \"there\" a\\\\b c\\nd\n# TYPE a gauge\na 1\n", TEXT, 0,
                  TEXT, 0,
                  "# HELP a Say \"hi\" \"there\" a\\\\b c\\nd\n# TYPE a gauge\na 1\n");
    /* OpenMetrics HELP: \\ \" \n */
    CHECK_CONVERT("# HELP a Say \"hi\" a\\\\b c\\nd\n# TYPE a gauge\na 1\n", TEXT, 0, OM, 0,
                  "# HELP a Say \\\"hi\\\" a\\\\b c\\nd\n# TYPE a gauge\na 1\n# EOF\n");
    CHECK_CONVERT("# HELP a Say \\\"hi\\\"\n# TYPE a gauge\na 1\n# EOF\n", OM, 0, TEXT, 0,
                  "# HELP a Say \"hi\"\n# TYPE a gauge\na 1\n");
    /* an OpenMetrics "\z" is a backslash and a z: written as \\z */
    CHECK_CONVERT("# HELP a x\\zy\n# TYPE a gauge\na{b=\"\\z\"} 1\n# EOF\n", OM, 0, OM, 0,
                  "# HELP a x\\\\zy\n# TYPE a gauge\na{b=\"\\\\z\"} 1\n# EOF\n");
    /* empty HELP (and trailing blanks) are not written */
    CHECK_CONVERT("# HELP a \n# TYPE a gauge\na 1\n# EOF\n", OM, 0, OM, 0,
                  "# TYPE a gauge\na 1\n# EOF\n");
}

static void test_escaping_labels_and_names(void)
{
    CHECK_CONVERT("a{b=\"q\\\"\\\\\\n\",c=\"tab\there\"} 1\n", TEXT, 0, TEXT, 0,
                  "# TYPE a untyped\na{b=\"q\\\"\\\\\\n\",c=\"tab\there\"} 1\n");
    /* non-legacy names are quoted, the metric name first in the braces */
    CHECK_CONVERT("{a=\"b\",\"my.metric\",\"x-y\"=\"1\"} 1\n", TEXT, 0, TEXT, 0,
                  "# TYPE \"my.metric\" untyped\n{\"my.metric\",a=\"b\",\"x-y\"=\"1\"} 1\n");
    /* quoted legacy names are written bare */
    CHECK_CONVERT("{\"plain\",\"lab\"=\"v\"} 1\n", TEXT, 0, TEXT, 0,
                  "# TYPE plain untyped\nplain{lab=\"v\"} 1\n");
    /* escapes inside quoted names are decoded and written again */
    CHECK_CONVERT("{\"a\\\"b\",\"c\\nd\"=\"e\"} 1\n", TEXT, 0, TEXT, 0,
                  "# TYPE \"a\\\"b\" untyped\n{\"a\\\"b\",\"c\\nd\"=\"e\"} 1\n");
}

/* Every escape at every position of values from 1 to 40 bytes, alone and
 * next to a second one: the writer skips unescaped bytes 16 at a time
 * with SSE2 (the tail in one overlapping load), 8 at a time without, so
 * each offset within a step and each tail length is its own case. */
static void test_escaping_every_position(void)
{
    static const char *const esc[] = {"\\\\", "\\n", "\\\""};
    size_t len, k, e, e2;

    for (len = 1; len <= 40; len++) {
        for (k = 0; k < len; k++) {
            for (e = 0; e < 3; e++) {
                for (e2 = 0; e2 < 4; e2++) { /* e2 == 3: one escape only */
                    char val[128], in[192], want[224];
                    size_t i, o = 0;

                    for (i = 0; i < len; i++) {
                        if (i == k) {
                            memcpy(val + o, esc[e], 2);
                            o += 2;
                        } else if (i == k + 1 && e2 < 3) {
                            memcpy(val + o, esc[e2], 2);
                            o += 2;
                        } else {
                            val[o++] = (char)('a' + (char)(i % 26));
                        }
                    }
                    val[o] = '\0';
                    snprintf(in, sizeof in, "a{b=\"%s\"} 1\n", val);
                    snprintf(want, sizeof want, "# TYPE a untyped\n%s", in);
                    CHECK_CONVERT(in, TEXT, 0, TEXT, 0, want);
                }
            }
        }
    }
    /* text HELP: a quote stays raw wherever it is, also before an escape */
    for (len = 1; len <= 40; len++) {
        for (k = 0; k < len; k++) {
            char help[48], in[112];

            memset(help, 'h', len);
            help[len] = '\0';
            help[k] = '"';
            if (k + 2 < len)
                memcpy(help + k + 1, "\\n", 2);
            snprintf(in, sizeof in, "# HELP a %s\n# TYPE a gauge\na 1\n", help);
            CHECK_CONVERT(in, TEXT, 0, TEXT, 0, in);
        }
    }
}

/* The expected text of label bytes: bare, or quoted with \\, \" and \n. */
static size_t expect_escaped(char *out, const char *p, size_t n, int quote)
{
    size_t i, o = 0;

    if (quote)
        out[o++] = '"';
    for (i = 0; i < n; i++) {
        if (p[i] == '\\' || p[i] == '"' || p[i] == '\n') {
            out[o++] = '\\';
            out[o++] = p[i] == '\n' ? 'n' : p[i];
        } else {
            out[o++] = p[i];
        }
    }
    if (quote)
        out[o++] = '"';
    return o;
}

/* Writes one sample of family "a" with one label into out and checks the
 * line it adds. */
static void check_one_label(prex_writer *w, prex_buf *out, prex_slice name, prex_slice value)
{
    prex_event ev = mk_event(PREX_EV_SAMPLE, "a", 0, PREX_TYPE_UNTYPED, 1);
    prex_label l;
    char want[256];
    size_t before = out->len, o = 0;

    memset(&l, 0, sizeof l);
    l.name = name;
    l.value = value;
    ev.labels = &l;
    ev.nlabels = 1;
    memcpy(want, "a{", 2);
    o = 2;
    o += expect_escaped(want + o, name.ptr, name.len, !prex_is_legacy_label_name(name));
    want[o++] = '=';
    o += expect_escaped(want + o, value.ptr, value.len, 1);
    memcpy(want + o, "} 1\n", 4);
    o += 4;
    CU_ASSERT_EQUAL_FATAL(prex_write_event(w, &ev, TEXT), 0);
    CU_ASSERT_EQUAL(out->len - before, o);
    if (out->len - before == o)
        CU_ASSERT_EQUAL(memcmp(out->ptr + before, want, o), 0);
}

/* Label names and values ending where a page ends, the next page
 * inaccessible, and at the offsets just before: with SSE2 the writer
 * reads names of up to 16 bytes and plain values in 16-byte words where
 * those stay in the page (a read past it would fault here). Every byte
 * value at every position of names of 1 to 18 bytes is quoted exactly
 * when the library says the name is not a legacy label name; values of 1
 * to 40 bytes, plain or with one byte to escape at any position, are
 * written escaped. */
static void test_label_bytes_at_page_end(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    int fd = open("/dev/zero", O_RDWR);
    char *map = fd < 0 ? MAP_FAILED
                       : mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    static const char special[] = {'\\', '"', '\n'};
    prex_slice v = {"v", 1}, nm = {"n", 1};
    prex_event ev;
    prex_writer w;
    prex_buf out;
    size_t len, k, sh;
    int c;

    if (fd >= 0)
        close(fd);
    CU_ASSERT_FATAL(map != MAP_FAILED);
    CU_ASSERT_EQUAL_FATAL(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);
    prex_buf_init(&out, NULL);
    prex_writer_init(&w, &out, TEXT, 0);
    ev = mk_event(PREX_EV_SAMPLE, "a", 0, PREX_TYPE_UNTYPED, 1); /* the TYPE line first */
    CU_ASSERT_EQUAL_FATAL(prex_write_event(&w, &ev, TEXT), 0);
    for (sh = 0; sh < 3; sh++) {
        char *end = map + pg - sh;

        for (len = 1; len <= 18; len++) {
            prex_slice name = {end - len, len};

            for (k = 0; k < len; k++) {
                for (c = 0; c < 256; c++) {
                    memset(end - len, 'b', len);
                    end[(ptrdiff_t)k - (ptrdiff_t)len] = (char)c;
                    check_one_label(&w, &out, name, v);
                }
            }
        }
        for (len = 1; len <= 40; len++) {
            prex_slice value = {end - len, len};

            memset(end - len, 'x', len);
            check_one_label(&w, &out, nm, value);
            for (k = 0; k < len; k++) {
                for (c = 0; c < 3; c++) {
                    memset(end - len, 'x', len);
                    end[(ptrdiff_t)k - (ptrdiff_t)len] = special[c];
                    check_one_label(&w, &out, nm, value);
                }
            }
        }
    }
    CU_ASSERT_EQUAL(prex_writer_finish(&w), 0);
    prex_writer_free(&w);
    prex_buf_free(&out);
    munmap(map, (size_t)pg * 2);
}

/* MARK: normalisation */

static void test_normalise_lenient(void)
{
    /* trailing blanks, CRLF, missing final newline, tabs, extra blanks,
     * a trailing comma and leading blanks all disappear */
    CHECK_CONVERT(" # TYPE  a\tgauge\r\n  a { b = \"1\" , }  2 \t\r\na{b=\"2\"}3 5  \r\n"
                  "# HELP a Help.  \r\na{b=\"3\"} 4",
                  TEXT, PREX_LENIENT_ALL, TEXT, 0,
                  "# TYPE a gauge\na{b=\"1\"} 2\na{b=\"2\"} 3 5\n# HELP a Help.\na{b=\"3\"} 4\n");
}

static void test_normalise_values(void)
{
    CHECK_CONVERT("a{x=\"1\"} inf\na{x=\"2\"} -Infinity\na{x=\"3\"} nan\na{x=\"4\"} +inf\n"
                  "a{x=\"5\"} 1E3\na{x=\"6\"} 007\na{x=\"7\"} -0\na{x=\"8\"} .5\n",
                  TEXT, 0, TEXT, 0,
                  "# TYPE a untyped\na{x=\"1\"} +Inf\na{x=\"2\"} -Inf\na{x=\"3\"} NaN\n"
                  "a{x=\"4\"} +Inf\na{x=\"5\"} 1E3\na{x=\"6\"} 007\na{x=\"7\"} -0\n"
                  "a{x=\"8\"} .5\n");
    CHECK_CONVERT("a 1 +5\nb 2 0007\n", TEXT, 0, TEXT, 0,
                  "# TYPE a untyped\na 1 5\n# TYPE b untyped\nb 2 7\n");
    CHECK_CONVERT("# TYPE a counter\na_total +Inf # {} Infinity\n# EOF\n", OM, 0, OM, 0,
                  "# TYPE a counter\na_total +Inf # {} +Inf\n# EOF\n");
}

static void test_strip_timestamps(void)
{
    prex_buf out;
    prex_write_stats st;
    const char in[] = "# TYPE a gauge\na{x=\"1\"} 1 1000\na{x=\"2\"} 2\na{x=\"3\"} 3 3000\n";

    CU_ASSERT_EQUAL(convert(in, sizeof in - 1, TEXT, 0, TEXT, PREX_WRITE_STRIP_TIMESTAMPS, &out,
                            &st, 0), 0);
    CHECK_BUF_STR(out, "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 2\na{x=\"3\"} 3\n");
    CU_ASSERT_EQUAL(st.stripped_timestamps, 2);
    prex_buf_free(&out);
}

/* MARK: writer errors */

static void test_error_not_contiguous(void)
{
    prex_buf out;
    prex_writer w;
    prex_event ev;
    const prex_write_error *e;

    prex_buf_init(&out, NULL);
    prex_writer_init(&w, &out, TEXT, 0);
    ev = mk_event(PREX_EV_SAMPLE, "a", 0, PREX_TYPE_UNTYPED, 1);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, TEXT), 0);
    ev = mk_event(PREX_EV_SAMPLE, "b", 0, PREX_TYPE_UNTYPED, 2);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, TEXT), 0);
    ev = mk_event(PREX_EV_SAMPLE, "a", 0, PREX_TYPE_UNTYPED, 3);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, TEXT), PREX_E_NOT_CONTIGUOUS);
    e = prex_writer_error(&w);
    CU_ASSERT_EQUAL(e->code, PREX_E_NOT_CONTIGUOUS);
    CU_ASSERT_EQUAL(e->line, 3);
    CU_ASSERT_EQUAL(e->prev_line, 1);
    CU_ASSERT_STRING_EQUAL(e->name, "a");
    CU_ASSERT_PTR_NOT_NULL(strstr(e->detail, "\"a\""));
    /* sticky */
    ev = mk_event(PREX_EV_SAMPLE, "c", 0, PREX_TYPE_UNTYPED, 4);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, TEXT), PREX_E_NOT_CONTIGUOUS);
    CU_ASSERT_EQUAL(prex_writer_finish(&w), PREX_E_NOT_CONTIGUOUS);
    prex_writer_free(&w);
    prex_buf_free(&out);
}

static void test_error_sources_clash(void)
{
    prex_buf out;
    prex_writer w;
    prex_event ev;
    const prex_write_error *e;

    prex_buf_init(&out, NULL);
    prex_writer_init(&w, &out, TEXT, 0);
    prex_writer_set_source(&w, 0);
    ev = mk_event(PREX_EV_SAMPLE, "up", 0, PREX_TYPE_GAUGE, 7);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, TEXT), 0);
    ev = mk_event(PREX_EV_EOF, "", 0, PREX_TYPE_UNTYPED, 8);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, TEXT), 0);
    prex_writer_set_source(&w, 1);
    ev = mk_event(PREX_EV_TYPE, "up", 0, PREX_TYPE_GAUGE, 2);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, TEXT), 0);
    ev = mk_event(PREX_EV_SAMPLE, "up", 0, PREX_TYPE_GAUGE, 3);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, TEXT), PREX_E_NAME_CLASH);
    e = prex_writer_error(&w);
    CU_ASSERT_EQUAL(e->source, 1);
    CU_ASSERT_EQUAL(e->prev_source, 0);
    CU_ASSERT_EQUAL(e->prev_line, 7);
    CU_ASSERT_EQUAL(e->line, 2);
    prex_writer_free(&w);
    prex_buf_free(&out);
}

/* Two text families that meet in one OpenMetrics name: counter x_total
 * (written as family x) and, after it, gauge x. */
static void test_error_rename_clash(void)
{
    const char in[] = "# TYPE x_total counter\nx_total 2\n# TYPE x gauge\nx 1\n";
    prex_buf out;

    CU_ASSERT_EQUAL(convert(in, sizeof in - 1, TEXT, 0, OM, 0, &out, NULL, 0),
                    PREX_E_NAME_CLASH);
    prex_buf_free(&out);
    CU_ASSERT_EQUAL(convert(in, sizeof in - 1, TEXT, 0, TEXT, 0, &out, NULL, 0), 0);
    prex_buf_free(&out);
}

static void test_error_usage(void)
{
    prex_buf out;
    prex_writer w;
    prex_event ev;

    prex_buf_init(&out, NULL);
    prex_writer_init(&w, &out, OM, 0);
    ev = mk_event(PREX_EV_SAMPLE, "a", 0, PREX_TYPE_GAUGE, 1);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, OM), 0);
    ev = mk_event(PREX_EV_TYPE, "a", 0, PREX_TYPE_GAUGE, 2);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, OM), PREX_E_META_AFTER_SAMPLES);
    prex_writer_free(&w);
    prex_buf_free(&out);

    prex_buf_init(&out, NULL);
    prex_writer_init(&w, &out, OM, 0);
    CU_ASSERT_EQUAL(prex_writer_finish(&w), 0);
    CHECK_BUF_STR(out, "# EOF\n");
    CU_ASSERT_EQUAL(prex_writer_finish(&w), PREX_E_USAGE);
    prex_writer_free(&w);
    prex_buf_free(&out);

    prex_buf_init(&out, NULL);
    prex_writer_init(&w, &out, TEXT, 0);
    ev = mk_event(99, "a", 0, PREX_TYPE_GAUGE, 1);
    CU_ASSERT_EQUAL(prex_write_event(&w, &ev, TEXT), PREX_E_USAGE);
    prex_writer_free(&w);
    prex_buf_free(&out);
}

/* Every allocation of a conversion failing in turn: the writer reports
 * PREX_E_NO_MEMORY (never crashes), and with enough memory it succeeds. */
static void test_error_no_memory(void)
{
    const char in[] = "# HELP g Queue wait.\n# TYPE g gaugehistogram\n"
                      "g_bucket{q=\"a\",le=\"+Inf\"} 2\ng_gcount{q=\"a\"} 2\ng_gsum{q=\"a\"} 0.5\n"
                      "# TYPE \"x.y\" counter\n{\"x.y\",\"l\\\"\"=\"v\\n\"} 1\n# EOF\n";
    long budget;
    int succeeded = 0;

    for (budget = 0; budget < 200 && !succeeded; budget++) {
        fail_alloc f = { budget, 0 };
        prex_alloc a = { fa_malloc, fa_realloc, fa_free, &f };
        char *copy = malloc(sizeof in);
        prex_parser p;
        prex_event ev;
        prex_buf out;
        prex_writer w;
        int rc, wrc = 0;

        PREX_ASSERT_FATAL(copy != NULL);
        memcpy(copy, in, sizeof in);
        prex_buf_init(&out, &a);
        prex_writer_init(&w, &out, TEXT, 0);
        prex_parser_init(&p, copy, sizeof in - 1, OM, 0);
        prex_finish(&p);
        while ((rc = prex_next(&p, &ev)) > 0) {
            wrc = prex_write_event(&w, &ev, OM);
            if (wrc != 0 || rc == PREX_EV_EOF)
                break;
        }
        if (wrc == 0)
            wrc = prex_writer_finish(&w);
        PREX_CHECK(wrc == 0 || wrc == PREX_E_NO_MEMORY, "budget %ld: %s", budget,
                   prex_errname(wrc));
        if (wrc == 0)
            succeeded = 1;
        CU_ASSERT(buf_ok(&out));
        prex_writer_free(&w);
        prex_parser_free(&p);
        prex_buf_free(&out);
        free(copy);
    }
    CU_ASSERT(succeeded);
    CU_ASSERT(budget > 3);
}

/* MARK: suite table */

static CU_TestInfo buf_tests[] = {
    {"init_sentinel", test_buf_init_sentinel},
    {"append", test_buf_append},
    {"make_room", test_buf_make_room},
    {"consume", test_buf_consume},
    {"read", test_buf_read},
    {"streams_parser", test_buf_streams_parser},
    {"alloc_failure", test_buf_alloc_failure},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo write_tests[] = {
    {"roundtrip_text", test_roundtrip_text},
    {"roundtrip_openmetrics", test_roundtrip_openmetrics},
    {"roundtrip_conformance", test_roundtrip_conformance},
    {"om_to_text_counter", test_om_to_text_counter},
    {"om_to_text_types", test_om_to_text_types},
    {"om_to_text_gaugehistogram", test_om_to_text_gaugehistogram},
    {"om_to_text_timestamps", test_om_to_text_timestamps},
    {"text_to_om_counter", test_text_to_om_counter},
    {"text_to_om_counter_name_taken", test_text_to_om_counter_name_taken},
    {"text_to_om_types", test_text_to_om_types},
    {"text_to_om_timestamps", test_text_to_om_timestamps},
    {"late_help", test_late_help},
    {"escaping_help", test_escaping_help},
    {"escaping_labels_and_names", test_escaping_labels_and_names},
    {"escaping_every_position", test_escaping_every_position},
    {"label_bytes_at_page_end", test_label_bytes_at_page_end},
    {"normalise_lenient", test_normalise_lenient},
    {"normalise_values", test_normalise_values},
    {"strip_timestamps", test_strip_timestamps},
    {"error_not_contiguous", test_error_not_contiguous},
    {"error_sources_clash", test_error_sources_clash},
    {"error_rename_clash", test_error_rename_clash},
    {"error_usage", test_error_usage},
    {"error_no_memory", test_error_no_memory},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo prex_write_suites[] = {
    {.pName = "buf",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = buf_tests},
    {.pName = "write",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = write_tests},
    CU_SUITE_INFO_NULL,
};

/*
 * test_merge.c - tests of the merge table (relay/merge.c) and of the
 * relay's own families (relay/selfmetrics.c): grouping by output name,
 * HELP and TYPE, conflicts between sources under both policies, suffix
 * clashes, duplicates, label normalisation, the -s and -l labels,
 * histograms across sources and after renames, OpenMetrics input,
 * sorting and its independence of arrival order, re-parsing of every
 * output, memory and zero copy on a generated input, and failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "arena.h"
#include "buf.h"
#include "merge.h"
#include "prex.h"
#include "selfmetrics.h"
#include "testlib.h"
#include "write.h"

#define TEXT PREX_FORMAT_TEXT
#define OM PREX_FORMAT_OPENMETRICS
#define MAXSRC 8

/* MARK: counting and failing allocator */

/* Tracks live and peak bytes, and fails every allocation after the first
 * `budget` (budget < 0: never fails). */
typedef struct count_alloc {
    long budget;
    long calls;
    size_t live;
    size_t peak;
} count_alloc;

#define HDR (sizeof(max_align_t))

static void *ca_malloc(void *ctx, size_t size)
{
    count_alloc *c = ctx;
    char *p;

    if (c->budget >= 0 && c->calls++ >= c->budget)
        return NULL;
    p = malloc(HDR + size);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    c->live += size;
    if (c->live > c->peak)
        c->peak = c->live;
    return p + HDR;
}

static void *ca_realloc(void *ctx, void *ptr, size_t old_size, size_t size)
{
    count_alloc *c = ctx;
    size_t old;
    char *p;

    (void)old_size;
    if (!ptr)
        return ca_malloc(ctx, size);
    if (c->budget >= 0 && c->calls++ >= c->budget)
        return NULL;
    memcpy(&old, (char *)ptr - HDR, sizeof old);
    p = realloc((char *)ptr - HDR, HDR + size);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    c->live = c->live - old + size;
    if (c->live > c->peak)
        c->peak = c->live;
    return p + HDR;
}

static void ca_free(void *ctx, void *ptr)
{
    count_alloc *c = ctx;
    size_t old;

    if (!ptr)
        return;
    memcpy(&old, (char *)ptr - HDR, sizeof old);
    c->live -= old;
    free((char *)ptr - HDR);
}

/* MARK: fixture */

/* Nonzero when slice s holds exactly the bytes of the string z. */
static int slice_eq_z(prex_slice s, const char *z)
{
    size_t n = strlen(z);

    return s.len == n && (n == 0 || memcmp(s.ptr, z, n) == 0);
}

/* A merge table, its sources' buffers (kept alive, as the table needs),
 * an arena for decoded label values, and the written output. */
typedef struct fixture {
    prex_merge m;
    unsigned ids[MAXSRC];
    size_t nsrc;
    char *bufs[32];
    size_t nbufs;
    prex_arena arena;
    prex_buf out;
    prex_write_stats wstats;
} fixture;

/* Starts a table with flags and sources named by the NULL-terminated
 * list names. */
static void fx_init(fixture *f, const prex_alloc *alc, unsigned flags, const char *const *names)
{
    size_t i;

    memset(f, 0, sizeof *f);
    prex_merge_init(&f->m, alc, flags);
    prex_arena_init(&f->arena, NULL, 0);
    prex_buf_init(&f->out, NULL);
    for (i = 0; names && names[i]; i++) {
        int rc = prex_merge_add_source(&f->m, names[i], strlen(names[i]), 0, &f->ids[i]);

        PREX_ASSERT_FATAL(rc == 0 && f->ids[i] == i);
    }
    f->nsrc = i;
}

static void fx_free(fixture *f)
{
    size_t i;

    prex_merge_free(&f->m);
    for (i = 0; i < f->nbufs; i++)
        free(f->bufs[i]);
    prex_arena_free(&f->arena);
    prex_buf_free(&f->out);
}

/* A heap copy of text with the parser's sentinel, kept until fx_free. */
static char *fx_keep(fixture *f, const char *text, size_t len)
{
    char *b = malloc(len + 1);

    PREX_ASSERT_FATAL(b != NULL && f->nbufs < sizeof f->bufs / sizeof f->bufs[0]);
    memcpy(b, text, len);
    b[len] = '\0';
    f->bufs[f->nbufs++] = b;
    return b;
}

/* A rename and label edits applied to every series, standing in for
 * relabel rules: names equal to from become to; label add_name=add_value
 * is set (an empty value removes it); a NULL field does nothing. */
typedef struct edit {
    const char *from, *to;
    const char *add_name, *add_value;
} edit;

/*
 * Turns a SAMPLE event into the label set relabeling hands over: decoded
 * pairs (values with escapes copied into the fixture's arena), plus
 * "__name__", with the edit applied. Returns the number of pairs.
 */
static size_t fx_pairs(fixture *f, const prex_event *ev, const edit *e, prex_pair *pairs,
                       size_t cap)
{
    size_t n = 0, i;
    prex_slice name;

    PREX_ASSERT_FATAL(ev->nlabels + 2 <= cap);
    for (i = 0; i < ev->nlabels; i++) {
        const prex_label *l = &ev->labels[i];

        pairs[n].name = l->name;
        pairs[n].value = l->value;
        if (l->value_esc) {
            char *d = prex_arena_alloc_bytes(&f->arena, l->value.len + 1);

            PREX_ASSERT_FATAL(d != NULL);
            pairs[n].value.ptr = d;
            pairs[n].value.len = prex_unescape(l->value, d);
        }
        if (e && e->add_name && slice_eq_z(pairs[n].name, e->add_name))
            continue;
        n++;
    }
    name = ev->name;
    if (e && e->from && name.len == strlen(e->from) && memcmp(name.ptr, e->from, name.len) == 0) {
        name.ptr = e->to;
        name.len = strlen(e->to);
    }
    pairs[n].name.ptr = "__name__";
    pairs[n].name.len = 8;
    pairs[n].value = name;
    n++;
    if (e && e->add_name && e->add_value && e->add_value[0]) {
        pairs[n].name.ptr = e->add_name;
        pairs[n].name.len = strlen(e->add_name);
        pairs[n].value.ptr = e->add_value;
        pairs[n].value.len = strlen(e->add_value);
        n++;
    }
    return n;
}

/* Hands one event of source i to the table: metadata, the sample as it
 * is (e NULL) or its edited label set. */
static void fx_event(fixture *f, size_t i, const prex_event *ev, const edit *e)
{
    prex_pair pairs[PREX_MAX_LABELS + 2];
    int rc;

    if (ev->kind != PREX_EV_SAMPLE)
        rc = prex_merge_meta(&f->m, f->ids[i], ev);
    else if (!e)
        rc = prex_merge_add_event(&f->m, f->ids[i], ev);
    else
        rc = prex_merge_add_pairs(&f->m, f->ids[i], ev, pairs,
                                  fx_pairs(f, ev, e, pairs, PREX_MAX_LABELS + 2));
    if (rc != 0)
        PREX_CHECK(0, "merge add failed: %s", prex_merge_errname(rc));
}

/* Parses text (format detected) as source i and adds every event. */
static void fx_feed_edit(fixture *f, size_t i, const char *text, const edit *e)
{
    size_t len = strlen(text);
    char *b = fx_keep(f, text, len);
    prex_parser p;
    prex_event ev;
    int rc;

    prex_parser_init(&p, b, len, prex_detect_format(b, len), 0);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF)
        fx_event(f, i, &ev, e);
    PREX_CHECK(rc == PREX_EV_EOF, "source %zu does not parse: %s", i,
               prex_parser_error(&p)->detail);
    prex_parser_free(&p);
}

static void fx_feed(fixture *f, size_t i, const char *text)
{
    fx_feed_edit(f, i, text, NULL);
}

/* Parses two sources at once and adds their events alternately, one
 * from each, the way concurrently read sources arrive. */
static void fx_feed_interleaved(fixture *f, size_t i, const char *ti, size_t j, const char *tj)
{
    const char *texts[2] = { ti, tj };
    size_t which[2] = { i, j };
    prex_parser p[2];
    int done[2] = { 0, 0 }, k;

    for (k = 0; k < 2; k++) {
        size_t len = strlen(texts[k]);
        char *b = fx_keep(f, texts[k], len);

        prex_parser_init(&p[k], b, len, prex_detect_format(b, len), 0);
        prex_finish(&p[k]);
    }
    while (!done[0] || !done[1]) {
        for (k = 0; k < 2; k++) {
            prex_event ev;
            int rc;

            if (done[k])
                continue;
            rc = prex_next(&p[k], &ev);
            if (rc <= 0 || rc == PREX_EV_EOF) {
                PREX_CHECK(rc == PREX_EV_EOF, "interleaved source does not parse");
                done[k] = 1;
                continue;
            }
            fx_event(f, which[k], &ev, NULL);
        }
    }
    prex_parser_free(&p[0]);
    prex_parser_free(&p[1]);
}

/*
 * Renders the finished table again piece by piece (prex_merge_write_some()
 * with small and large pieces, restarted once) and checks that the bytes
 * equal f->out, prex_merge_write()'s body in format fmt.
 */
static void fx_check_pieces(fixture *f, prex_format fmt)
{
    static const size_t wants[] = {1, 64, 4096, (size_t)-1};
    size_t k;

    for (k = 0; k < sizeof wants / sizeof wants[0]; k++) {
        prex_writer w;
        prex_buf piece, all;
        int rc, pass;

        prex_buf_init(&piece, NULL);
        prex_buf_init(&all, NULL);
        for (pass = 0; pass < 2; pass++) { /* the second pass restarts */
            prex_buf_clear(&all);
            prex_buf_clear(&piece);
            prex_writer_init(&w, &piece, fmt, 0);
            rc = prex_merge_write_begin(&f->m);
            while (rc == 0 && (rc = prex_merge_write_some(&f->m, &w, &piece, wants[k])) == 1) {
                PREX_CHECK(piece.len >= wants[k], "a piece of %zu bytes, want %zu", piece.len,
                           wants[k]);
                prex_buf_append(&all, piece.ptr, piece.len);
                prex_buf_clear(&piece);
                rc = 0;
            }
            if (rc == 0)
                rc = prex_writer_finish(&w);
            prex_buf_append(&all, piece.ptr, piece.len);
            prex_writer_free(&w);
            PREX_CHECK(rc == 0, "piecewise write failed: %d", rc);
            prex_test_slice_eq(__FILE__, __LINE__, "piecewise body", all.ptr, all.len,
                               f->out.ptr, f->out.len, 0);
        }
        prex_buf_free(&piece);
        prex_buf_free(&all);
    }
}

/*
 * Writes the finished table in format fmt into f->out and checks that the
 * output parses strictly in that format (the table's promise). Returns
 * prex_merge_write()'s result, or the writer's finish error.
 */
static int fx_write(fixture *f, prex_format fmt)
{
    prex_writer w;
    prex_parser p;
    prex_event ev;
    int rc, prc;

    prex_buf_clear(&f->out);
    prex_writer_init(&w, &f->out, fmt, 0);
    rc = prex_merge_write(&f->m, &w);
    if (rc == 0)
        rc = prex_writer_finish(&w);
    f->wstats = w.stats;
    prex_writer_free(&w);
    if (rc != 0)
        return rc;
    fx_check_pieces(f, fmt);
    prex_parser_init(&p, f->out.ptr, f->out.len, fmt, 0);
    prex_finish(&p);
    while ((prc = prex_next(&p, &ev)) > 0 && prc != PREX_EV_EOF)
        ;
    if (prc == PREX_ERROR) {
        const prex_error *e = prex_parser_error(&p);

        PREX_CHECK(0, "merged output does not re-parse: %s at %llu:%llu (%s)\n%s",
                   prex_errname(e->code), (unsigned long long)e->line,
                   (unsigned long long)e->column, e->detail, f->out.ptr);
    } else {
        PREX_CHECK(prc == PREX_EV_EOF, "re-parse ended with %d", prc);
    }
    prex_parser_free(&p);
    return 0;
}

/* Finishes (expecting rc), writes text, and compares with want. */
static void fx_expect(fixture *f, int want_rc, const char *want)
{
    int rc = prex_merge_finish(&f->m);

    PREX_CHECK(rc == want_rc, "finish returned %s, expected %s", prex_merge_errname(rc),
               prex_merge_errname(want_rc));
    if (rc != 0)
        return;
    rc = fx_write(f, TEXT);
    PREX_CHECK(rc == 0, "write failed: %d", rc);
    prex_test_slice_eq(__FILE__, __LINE__, "merged output", f->out.ptr, f->out.len, want,
                       strlen(want), 0);
}

/* The first issue with code, or NULL. */
static const prex_merge_issue *fx_issue(const fixture *f, int code)
{
    size_t i;

    for (i = 0; i < prex_merge_issue_count(&f->m); i++)
        if (prex_merge_issue_at(&f->m, i)->code == code)
            return prex_merge_issue_at(&f->m, i);
    return NULL;
}

static size_t fx_count_issues(const fixture *f, int code)
{
    size_t i, n = 0;

    for (i = 0; i < prex_merge_issue_count(&f->m); i++)
        n += prex_merge_issue_at(&f->m, i)->code == code;
    return n;
}

/* Checks that an issue exists with the given code, severity, sources,
 * and a message mentioning every NULL-terminated string in words. */
static void check_issue(const fixture *f, int code, int severity, unsigned src, unsigned osrc,
                        const char *const *words)
{
    const prex_merge_issue *is = fx_issue(f, code);
    size_t i;

    if (!PREX_CHECK(is != NULL, "no %s issue", prex_merge_errname(code)))
        return;
    PREX_CHECK(is->severity == severity, "%s: severity %d, expected %d", is->message,
               is->severity, severity);
    PREX_CHECK(is->source == src, "%s: source %u, expected %u", is->message, is->source, src);
    PREX_CHECK(is->other_source == osrc, "%s: other source %u, expected %u", is->message,
               is->other_source, osrc);
    for (i = 0; words && words[i]; i++)
        PREX_CHECK(strstr(is->message, words[i]) != NULL, "message \"%s\" lacks \"%s\"",
                   is->message, words[i]);
}

/* Number of lines of out that start with prefix. */
static size_t count_lines(const prex_buf *out, const char *prefix)
{
    size_t n = 0, k = strlen(prefix);
    const char *p = out->ptr, *end = out->ptr + out->len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        if (!nl)
            nl = end;
        if ((size_t)(nl - p) >= k && memcmp(p, prefix, k) == 0)
            n++;
        p = nl + 1;
    }
    return n;
}

static const char *const AB[] = { "a", "b", NULL };
static const char *const ABC[] = { "a", "b", "c", NULL };

/* MARK: families and HELP */

static void test_same_family_one_block(void)
{
    fixture f;

    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, "# HELP things Things.\n# TYPE things gauge\nthings{a=\"1\"} 1\n"
                   "# TYPE other_total counter\nother_total 3\n");
    fx_feed(&f, 1, "# HELP things Things.\n# TYPE things gauge\nthings{a=\"2\"} 2\n");
    fx_expect(&f, 0,
              "# TYPE other_total counter\nother_total 3\n"
              "# HELP things Things.\n# TYPE things gauge\n"
              "things{a=\"1\"} 1\nthings{a=\"2\"} 2\n");
    CU_ASSERT_EQUAL(prex_merge_issue_count(&f.m), 0);
    CU_ASSERT_EQUAL(f.m.stats.series_in, 3);
    CU_ASSERT_EQUAL(f.m.stats.series_out, 3);
    CU_ASSERT_EQUAL(f.m.stats.families_out, 2);
    fx_free(&f);
}

static void test_help_first_wins(void)
{
    static const char *const words[] = { "source \"a\" (line 3)", "source \"b\" (line 3)",
                                         "First help.", "Second help.", NULL };
    fixture f;

    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, "# HELP x First help.\n# TYPE x gauge\nx{s=\"a\"} 1\n");
    fx_feed(&f, 1, "# TYPE x gauge\n# HELP x Second help.\nx{s=\"b\"} 2\n");
    fx_expect(&f, 0, "# HELP x First help.\n# TYPE x gauge\nx{s=\"a\"} 1\nx{s=\"b\"} 2\n");
    check_issue(&f, PREX_MERGE_E_HELP_DIFFERS, PREX_MERGE_WARNING, 0, 1, words);
    CU_ASSERT_EQUAL(count_lines(&f.out, "# HELP"), 1);
    fx_free(&f);

    /* no HELP in the first source: the second's is used, silently; a
     * HELP that differs only in trailing blanks or escapes is the same */
    fx_init(&f, NULL, 0, ABC);
    fx_feed(&f, 0, "# TYPE x gauge\nx{s=\"a\"} 1\n");
    fx_feed(&f, 1, "# HELP x Line\\none.\n# TYPE x gauge\nx{s=\"b\"} 2\n");
    fx_feed(&f, 2, "# HELP x Line\\none.  \n# TYPE x gauge\nx{s=\"c\"} 3\n");
    fx_expect(&f, 0, "# HELP x Line\\none.\n# TYPE x gauge\nx{s=\"a\"} 1\nx{s=\"b\"} 2\n"
                     "x{s=\"c\"} 3\n");
    CU_ASSERT_EQUAL(prex_merge_issue_count(&f.m), 0);
    fx_free(&f);
}

/* MARK: conflicts */

static void test_type_conflict_error(void)
{
    static const char *const words[] = { "\"requests_total\"", "counter", "gauge",
                                         "source \"a\" (line 2)", "source \"b\" (line 3)", NULL };
    fixture f;
    const prex_merge_issue *is;
    prex_writer w;

    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, "# TYPE requests_total counter\nrequests_total 10\n");
    fx_feed(&f, 1, "# HELP requests_total In flight.\n# TYPE requests_total gauge\n"
                   "requests_total{x=\"1\"} 5\n");
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), PREX_MERGE_E_TYPE_CONFLICT);
    check_issue(&f, PREX_MERGE_E_TYPE_CONFLICT, PREX_MERGE_ERROR, 0, 1, words);
    is = fx_issue(&f, PREX_MERGE_E_TYPE_CONFLICT);
    if (is) {
        CU_ASSERT_EQUAL(is->line, 2);
        CU_ASSERT_EQUAL(is->other_line, 3);
        CU_ASSERT_STRING_EQUAL(is->family, "requests_total");
    }
    /* nothing may be written after an error */
    prex_writer_init(&w, &f.out, TEXT, 0);
    CU_ASSERT_EQUAL(prex_merge_write(&f.m, &w), -1);
    CU_ASSERT_EQUAL(f.out.len, 0);
    prex_writer_free(&w);
    fx_free(&f);
}

static void test_type_conflict_first(void)
{
    static const char *const words[] = { "keeping the first", NULL };
    fixture f;

    fx_init(&f, NULL, PREX_MERGE_FIRST, ABC);
    fx_feed(&f, 0, "# TYPE r counter\nr 10\n");
    fx_feed(&f, 1, "# TYPE r gauge\nr{x=\"1\"} 5\nr{x=\"2\"} 6\n");
    fx_feed(&f, 2, "# TYPE r histogram\nr_bucket{le=\"+Inf\"} 1\nr_count 1\nr_sum 1\n");
    fx_expect(&f, 0, "# TYPE r counter\nr 10\n");
    CU_ASSERT_EQUAL(fx_count_issues(&f, PREX_MERGE_E_TYPE_CONFLICT), 2);
    check_issue(&f, PREX_MERGE_E_TYPE_CONFLICT, PREX_MERGE_WARNING, 0, 1, words);
    CU_ASSERT_EQUAL(f.m.stats.dropped_conflict, 5);
    fx_free(&f);
}

static void test_untyped_merges(void)
{
    static const char *const words[] = { "untyped", "source \"a\"", "counter", "source \"b\"",
                                         NULL };
    fixture f;

    /* untyped first, typed later: the family takes the counter type */
    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, "jobs{k=\"1\"} 3\n");
    fx_feed(&f, 1, "# HELP jobs Jobs.\n# TYPE jobs counter\njobs{k=\"2\"} 4\n");
    fx_expect(&f, 0, "# HELP jobs Jobs.\n# TYPE jobs counter\njobs{k=\"1\"} 3\njobs{k=\"2\"} 4\n");
    check_issue(&f, PREX_MERGE_E_UNTYPED_MERGED, PREX_MERGE_WARNING, 0, 1, words);
    CU_ASSERT_EQUAL(f.m.stats.untyped_merged, 1);
    fx_free(&f);

    /* untyped next to a histogram is a type conflict; the first stays */
    fx_init(&f, NULL, PREX_MERGE_FIRST, AB);
    fx_feed(&f, 0, "lat 3\n");
    fx_feed(&f, 1, "# TYPE lat histogram\nlat_bucket{le=\"+Inf\"} 1\nlat_sum 2\nlat_count 1\n");
    fx_expect(&f, 0, "# TYPE lat untyped\nlat 3\n");
    check_issue(&f, PREX_MERGE_E_TYPE_CONFLICT, PREX_MERGE_WARNING, 0, 1, NULL);
    fx_free(&f);
}

static void test_suffix_clash(void)
{
    static const char *const words[] = { "\"x_count\"", "histogram \"x\"", "source \"a\"",
                                         "source \"b\"", NULL };
    static const char *hist = "# TYPE x histogram\nx_bucket{le=\"1\"} 1\nx_bucket{le=\"+Inf\"} 2\n"
                              "x_sum 3\nx_count 2\n";
    static const char *gauge = "# TYPE x_count gauge\nx_count{pool=\"p\"} 7\n";
    fixture f;

    /* error: names both sources */
    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, hist);
    fx_feed(&f, 1, gauge);
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), PREX_MERGE_E_SUFFIX_CLASH);
    check_issue(&f, PREX_MERGE_E_SUFFIX_CLASH, PREX_MERGE_ERROR, 0, 1, words);
    fx_free(&f);

    /* first: the histogram came first and stays */
    fx_init(&f, NULL, PREX_MERGE_FIRST, AB);
    fx_feed(&f, 0, hist);
    fx_feed(&f, 1, gauge);
    fx_expect(&f, 0, "# TYPE x histogram\nx_bucket{le=\"1\"} 1\nx_bucket{le=\"+Inf\"} 2\n"
                     "x_sum 3\nx_count 2\n");
    CU_ASSERT_EQUAL(f.m.stats.dropped_conflict, 1);
    fx_free(&f);

    /* first: the gauge came first and stays, the summary goes */
    fx_init(&f, NULL, PREX_MERGE_FIRST, AB);
    fx_feed(&f, 0, "# TYPE q_sum gauge\nq_sum 1\n");
    fx_feed(&f, 1, "# TYPE q summary\nq{quantile=\"0.5\"} 1\nq_sum 4\nq_count 2\n");
    fx_expect(&f, 0, "# TYPE q_sum gauge\nq_sum 1\n");
    check_issue(&f, PREX_MERGE_E_SUFFIX_CLASH, PREX_MERGE_WARNING, 0, 1, NULL);
    CU_ASSERT_EQUAL(f.m.stats.dropped_conflict, 3);
    fx_free(&f);
}

static void test_duplicate_series(void)
{
    static const char *const words[] = { "up{job=\"n\"}", "source \"a\" (line 2)",
                                         "source \"b\" (line 3)", NULL };
    static const char *const first[] = { "keeping the first", NULL };
    fixture f;

    /* an empty label is an absent label, also for the duplicate check */
    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, "# TYPE up gauge\nup{job=\"n\"} 1\n");
    fx_feed(&f, 1, "# TYPE up gauge\nup{x=\"1\"} 0\nup{job=\"n\",zone=\"\"} 0\n");
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), PREX_MERGE_E_DUP_SERIES);
    check_issue(&f, PREX_MERGE_E_DUP_SERIES, PREX_MERGE_ERROR, 0, 1, words);
    fx_free(&f);

    fx_init(&f, NULL, PREX_MERGE_FIRST, AB);
    fx_feed(&f, 0, "# TYPE up gauge\nup{job=\"n\"} 1\n");
    fx_feed(&f, 1, "# TYPE up gauge\nup{x=\"1\"} 0\nup{job=\"n\",zone=\"\"} 0\n");
    fx_expect(&f, 0, "# TYPE up gauge\nup{job=\"n\"} 1\nup{x=\"1\"} 0\n");
    check_issue(&f, PREX_MERGE_E_DUP_SERIES, PREX_MERGE_WARNING, 0, 1, first);
    CU_ASSERT_EQUAL(f.m.stats.dropped_duplicates, 1);
    CU_ASSERT_EQUAL(f.m.stats.empty_labels, 1);
    fx_free(&f);
}

/* "First" is the source order, not the order series arrive in. */
static void test_first_is_source_order(void)
{
    static const char *a = "# HELP g From a.\n# TYPE g gauge\ng 1\n# TYPE h counter\nh 1\n";
    static const char *b = "# HELP g From b.\n# TYPE g gauge\ng 2\n# TYPE h gauge\nh 2\n";
    static const char *want = "# HELP g From a.\n# TYPE g gauge\ng 1\n# TYPE h counter\nh 1\n";
    fixture f;

    fx_init(&f, NULL, PREX_MERGE_FIRST, AB);
    fx_feed(&f, 1, b);
    fx_feed(&f, 0, a);
    fx_expect(&f, 0, want);
    check_issue(&f, PREX_MERGE_E_DUP_SERIES, PREX_MERGE_WARNING, 0, 1, NULL);
    check_issue(&f, PREX_MERGE_E_TYPE_CONFLICT, PREX_MERGE_WARNING, 0, 1, NULL);
    check_issue(&f, PREX_MERGE_E_HELP_DIFFERS, PREX_MERGE_WARNING, 0, 1, NULL);
    fx_free(&f);

    fx_init(&f, NULL, PREX_MERGE_FIRST, AB);
    fx_feed_interleaved(&f, 1, b, 0, a);
    fx_expect(&f, 0, want);
    fx_free(&f);
}

/* MARK: labels */

static void test_label_cleanup(void)
{
    static const edit tmp = { NULL, NULL, "__tmp_src", "x" };
    fixture f;

    fx_init(&f, NULL, 0, AB);
    fx_feed_edit(&f, 0, "# TYPE m gauge\nm{a=\"\",b=\"2\"} 1\nm{a=\"1\"} 2\n", &tmp);
    fx_feed(&f, 1, "# TYPE m gauge\nm{c=\"\"} 3\n");
    fx_expect(&f, 0, "# TYPE m gauge\nm 3\nm{a=\"1\"} 2\nm{b=\"2\"} 1\n");
    CU_ASSERT_EQUAL(f.m.stats.empty_labels, 2);
    CU_ASSERT_EQUAL(f.m.stats.reserved_labels, 2);
    check_issue(&f, PREX_MERGE_E_RESERVED_LABEL, PREX_MERGE_WARNING, 0, PREX_MERGE_NONE, NULL);
    if (fx_issue(&f, PREX_MERGE_E_RESERVED_LABEL))
        CU_ASSERT_EQUAL(fx_issue(&f, PREX_MERGE_E_RESERVED_LABEL)->count, 2);
    CU_ASSERT_EQUAL(fx_count_issues(&f, PREX_MERGE_E_RESERVED_LABEL), 1);
    fx_free(&f);
}

static void test_no_valid_name(void)
{
    static const edit noname = { "gone", "", NULL, NULL };
    static const edit badname = { "bad", "1bad", NULL, NULL };
    fixture f;

    fx_init(&f, NULL, PREX_MERGE_LEGACY_NAMES, ABC);
    fx_feed_edit(&f, 0, "# TYPE gone gauge\ngone 1\n# TYPE kept gauge\nkept 1\n", &noname);
    fx_feed_edit(&f, 1, "# TYPE bad gauge\nbad 2\nbad{x=\"1\"} 2\n", &badname);
    fx_feed_edit(&f, 2, "# TYPE ok gauge\nok{\"dotted.name\"=\"v\"} 1\nok 2\n", &noname);
    fx_expect(&f, 0, "# TYPE kept gauge\nkept 1\n# TYPE ok gauge\nok 2\n");
    CU_ASSERT_EQUAL(f.m.stats.dropped_no_name, 3);
    CU_ASSERT_EQUAL(f.m.stats.dropped_bad_label, 1);
    CU_ASSERT_EQUAL(fx_count_issues(&f, PREX_MERGE_E_NO_NAME), 2);
    check_issue(&f, PREX_MERGE_E_BAD_LABEL, PREX_MERGE_WARNING, 2, PREX_MERGE_NONE, NULL);
    fx_free(&f);
}

/* prex_escape_name() against the escaping schemes' rules. */
static void test_escape_name_vectors(void)
{
    static const struct {
        const char *in;
        int label;
        prex_name_escaping scheme;
        const char *want;
    } v[] = {
        /* legacy names are never changed */
        {"http_requests_total", 0, PREX_ESCAPE_UNDERSCORES, "http_requests_total"},
        {"job:rate5m", 0, PREX_ESCAPE_VALUES, "job:rate5m"},
        {"a_b", 1, PREX_ESCAPE_VALUES, "a_b"},
        /* underscores: one '_' per character, multi-byte ones included */
        {"my.metric", 0, PREX_ESCAPE_UNDERSCORES, "my_metric"},
        {"metric.name/with/slashes", 0, PREX_ESCAPE_UNDERSCORES, "metric_name_with_slashes"},
        {"1st", 0, PREX_ESCAPE_UNDERSCORES, "_st"},
        {"caf\xc3\xa9", 0, PREX_ESCAPE_UNDERSCORES, "caf_"},
        {"a:b.c", 0, PREX_ESCAPE_UNDERSCORES, "a:b_c"},
        {"a:b", 1, PREX_ESCAPE_UNDERSCORES, "a_b"}, /* ':' is no label character */
        /* values: U__, '_' doubled, code points in lower-case hex */
        {"metric.name", 0, PREX_ESCAPE_VALUES, "U__metric_2e_name"},
        {"my_metric.x", 0, PREX_ESCAPE_VALUES, "U__my__metric_2e_x"},
        {"1st", 0, PREX_ESCAPE_VALUES, "U___31_st"},
        {"\xe2\x82\xac", 0, PREX_ESCAPE_VALUES, "U___20ac_"},
        {"\xf0\x9f\x98\x80x", 0, PREX_ESCAPE_VALUES, "U___1f600_x"},
        {"a:b", 1, PREX_ESCAPE_VALUES, "U__a_3a_b"},
        /* NONE copies */
        {"my.metric", 0, PREX_ESCAPE_NONE, "my.metric"},
    };
    prex_buf out;
    size_t i;

    prex_buf_init(&out, NULL);
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        prex_slice in = {v[i].in, strlen(v[i].in)}, got;

        PREX_CHECK(prex_escape_name(in, v[i].label, v[i].scheme, &out) == 0, "case %zu", i);
        got.ptr = out.ptr;
        got.len = out.len;
        PREX_CHECK(got.len == strlen(v[i].want) && memcmp(got.ptr, v[i].want, got.len) == 0,
                   "case %zu: \"%s\" -> \"%s\", want \"%s\"", i, v[i].in, out.ptr, v[i].want);
        if (v[i].scheme != PREX_ESCAPE_NONE)
            PREX_CHECK(v[i].label ? prex_is_legacy_label_name(got)
                                  : prex_is_legacy_metric_name(got),
                       "case %zu: \"%s\" is not a legacy name", i, out.ptr);
    }
    prex_buf_free(&out);
}

/* With escaping, names that are not legacy names are escaped as series
 * come in: a family escapes to the name of another and they merge (a
 * duplicate series between them is caught), a histogram keeps its
 * suffixes, and two labels of one series that escape alike drop it. */
static void test_escaping_merges(void)
{
    fixture f;

    fx_init(&f, NULL, PREX_MERGE_LEGACY_NAMES, AB);
    prex_merge_set_escaping(&f.m, PREX_ESCAPE_UNDERSCORES);
    fx_feed(&f, 0, "# TYPE \"req.count\" counter\n{\"req.count\",\"http.method\"=\"GET\"} 1\n"
                   "# TYPE \"lat.s\" histogram\n{\"lat.s_bucket\",le=\"+Inf\"} 2\n"
                   "{\"lat.s_count\"} 2\n{\"lat.s_sum\"} 0.5\n"
                   "# TYPE g gauge\ng{\"a.b\"=\"1\",a_b=\"2\"} 7\n");
    fx_feed(&f, 1, "# TYPE req_count counter\nreq_count{http_method=\"PUT\"} 3\n");
    fx_expect(&f, 0, "# TYPE lat_s histogram\nlat_s_bucket{le=\"+Inf\"} 2\nlat_s_sum 0.5\n"
                     "lat_s_count 2\n# TYPE req_count counter\n"
                     "req_count{http_method=\"GET\"} 1\nreq_count{http_method=\"PUT\"} 3\n");
    CU_ASSERT_EQUAL(f.m.stats.dropped_bad_label, 1);
    CU_ASSERT(f.m.stats.escaped_names >= 5);
    fx_free(&f);

    /* a collision after escaping is a duplicate series; values escaping
     * keeps the two apart */
    fx_init(&f, NULL, PREX_MERGE_LEGACY_NAMES, AB);
    prex_merge_set_escaping(&f.m, PREX_ESCAPE_UNDERSCORES);
    fx_feed(&f, 0, "{\"x.y\"} 1\n");
    fx_feed(&f, 1, "x_y 2\n");
    CU_ASSERT_NOT_EQUAL(prex_merge_finish(&f.m), 0);
    CU_ASSERT_EQUAL(fx_count_issues(&f, PREX_MERGE_E_DUP_SERIES), 1);
    fx_free(&f);
    fx_init(&f, NULL, PREX_MERGE_LEGACY_NAMES, AB);
    prex_merge_set_escaping(&f.m, PREX_ESCAPE_VALUES);
    fx_feed(&f, 0, "{\"x.y\",\"k.1\"=\"v\"} 1\n");
    fx_feed(&f, 1, "x_y 2\n");
    fx_expect(&f, 0, "# TYPE U__x_2e_y untyped\nU__x_2e_y{U__k_2e_1=\"v\"} 1\n"
                     "# TYPE x_y untyped\nx_y 2\n");
    fx_free(&f);
}

/* Exemplar label names follow the series' names: escaped with them, or
 * the exemplar (not the series) dropped when they cannot be written. */
static void test_escaping_exemplars(void)
{
    static const char *om =
        "# TYPE a counter\na_total 1 # {\"k.1\"=\"x\",ok=\"y\"} 1\n"
        "# TYPE b counter\nb_total 2 # {\"k.1\"=\"x\",k_1=\"y\"} 1\n"
        "# TYPE c counter\nc_total 3 # {\"k\\\"q\"=\"x\"} 1\n"
        "# EOF\n";
    static const char *const schemes[] = { "underscores", "values", "drop" };
    static const char *const want[] = {
        "a_total 1 # {k_1=\"x\",ok=\"y\"} 1\n",
        "a_total 1 # {U__k_2e_1=\"x\",ok=\"y\"} 1\n",
        "a_total 1\n",
    };
    static const char *const want_c[] = {
        "c_total 3 # {k_q=\"x\"} 1\n",
        "c_total 3 # {U__k_22_q=\"x\"} 1\n",
        "c_total 3\n",
    };
    /* the dropped exemplars of each scheme: b's names escape alike under
     * underscores; every non-legacy name drops under drop */
    static const size_t dropped[] = { 1, 0, 3 };
    prex_name_escaping esc[] = { PREX_ESCAPE_UNDERSCORES, PREX_ESCAPE_VALUES, PREX_ESCAPE_NONE };
    size_t i;
    char long_ex[400];
    fixture f;

    for (i = 0; i < 3; i++) {
        fx_init(&f, NULL, PREX_MERGE_LEGACY_NAMES | PREX_MERGE_EXEMPLARS, AB);
        prex_merge_set_escaping(&f.m, esc[i]);
        fx_feed(&f, 0, om);
        fx_feed(&f, 1, "# TYPE d gauge\nd 1\n");
        CU_ASSERT_EQUAL(prex_merge_finish(&f.m), 0);
        CU_ASSERT_EQUAL(fx_write(&f, OM), 0);
        PREX_CHECK(strstr(f.out.ptr, want[i]) != NULL, "%s: no '%s' in\n%s", schemes[i], want[i],
                   f.out.ptr);
        PREX_CHECK(strstr(f.out.ptr, want_c[i]) != NULL, "%s: no '%s' in\n%s", schemes[i],
                   want_c[i], f.out.ptr);
        CU_ASSERT_PTR_NOT_NULL(strstr(f.out.ptr, "b_total 2"));
        PREX_CHECK(f.m.stats.dropped_exemplars == dropped[i], "%s: %llu exemplars dropped",
                   schemes[i], (unsigned long long)f.m.stats.dropped_exemplars);
        CU_ASSERT_EQUAL(prex_merge_issue_count(&f.m), 0);
        fx_free(&f);
    }

    /* values escaping that takes the set past 128 characters drops it */
    snprintf(long_ex, sizeof long_ex,
             "# TYPE a counter\na_total 1 # {\"%s\"=\"%s\"} 1\n# EOF\n",
             "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t", /* 39 characters */
             "0123456789012345678901234567890123456789012345678901234567890123456789");
    fx_init(&f, NULL, PREX_MERGE_LEGACY_NAMES | PREX_MERGE_EXEMPLARS, AB);
    prex_merge_set_escaping(&f.m, PREX_ESCAPE_VALUES);
    fx_feed(&f, 0, long_ex);
    fx_feed(&f, 1, "# TYPE d gauge\nd 1\n");
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), 0);
    CU_ASSERT_EQUAL(fx_write(&f, OM), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.out.ptr, "a_total 1\n"));
    CU_ASSERT_EQUAL(f.m.stats.dropped_exemplars, 1);
    fx_free(&f);
}

static void test_source_label(void)
{
    fixture f;
    unsigned self;

    fx_init(&f, NULL, 0, AB);
    CU_ASSERT_EQUAL(prex_merge_set_source_label(&f.m, "src", 3), 0);
    CU_ASSERT_EQUAL(prex_merge_set_source_label(&f.m, "other", 5), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_source(&f.m, "mine", 4, PREX_MERGE_SOURCE_NO_LABEL, &self), 0);
    f.ids[2] = self;
    fx_feed(&f, 0, "# TYPE go_goroutines gauge\ngo_goroutines 5\n");
    fx_feed(&f, 1, "# TYPE go_goroutines gauge\ngo_goroutines 7\ngo_goroutines{src=\"own\"} 8\n");
    fx_feed(&f, 2, "# TYPE go_goroutines gauge\ngo_goroutines{k=\"v\"} 9\n");
    /* identical series from two sources are no longer duplicates; the
     * series' own src label wins over the added one */
    fx_expect(&f, 0, "# TYPE go_goroutines gauge\ngo_goroutines{k=\"v\"} 9\n"
                     "go_goroutines{src=\"a\"} 5\ngo_goroutines{src=\"b\"} 7\n"
                     "go_goroutines{src=\"own\"} 8\n");
    CU_ASSERT_EQUAL(f.m.stats.labels_kept, 1);
    CU_ASSERT_EQUAL(prex_merge_issue_count(&f.m), 0);
    fx_free(&f);
}

static void test_constant_labels(void)
{
    fixture f;

    fx_init(&f, NULL, 0, AB);
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "env", 3, "prod", 4), 0);
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "dc", 2, "", 0), 0);
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "env", 3, "x", 1), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "__x", 3, "x", 1), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "le", 2, "1", 1), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "quantile", 8, "1", 1), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "", 0, "1", 1), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "v", 1, "\xff", 1), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_set_source_label(&f.m, "env", 3), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_set_source_label(&f.m, "source", 6), 0);
    fx_feed(&f, 0, "# TYPE t gauge\nt{a=\"1\"} 1\nt{env=\"dev\"} 2\n");
    fx_feed(&f, 1, "# TYPE t gauge\nt{z=\"9\"} 3\n");
    /* configuration is closed once data came in */
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "late", 4, "1", 1), PREX_MERGE_E_USAGE);
    fx_expect(&f, 0, "# TYPE t gauge\nt{a=\"1\",env=\"prod\",source=\"a\"} 1\n"
                     "t{env=\"dev\",source=\"a\"} 2\n"
                     "t{env=\"prod\",source=\"b\",z=\"9\"} 3\n");
    CU_ASSERT_EQUAL(f.m.stats.labels_kept, 1);
    fx_free(&f);
}

/* MARK: histograms and summaries */

static void test_histogram_across_sources(void)
{
    static const char *h1 = "# HELP rt Request time.\n# TYPE rt histogram\n"
                            "rt_bucket{path=\"/b\",le=\"0.5\"} 1\nrt_bucket{path=\"/b\",le=\"+Inf\"} 2\n"
                            "rt_sum{path=\"/b\"} 1.5\nrt_count{path=\"/b\"} 2\n"
                            "rt_bucket{path=\"/a\",le=\"0.1\"} 0\nrt_bucket{path=\"/a\",le=\"10\"} 4\n"
                            "rt_bucket{path=\"/a\",le=\"+Inf\"} 5\nrt_sum{path=\"/a\"} 20\n"
                            "rt_count{path=\"/a\"} 5\n";
    static const char *h2 = "# TYPE rt histogram\n"
                            "rt_bucket{path=\"/a\",le=\"1e-2\"} 0\nrt_bucket{path=\"/a\",le=\"2\"} 3\n"
                            "rt_bucket{path=\"/a\",le=\"+Inf\"} 3\nrt_sum{path=\"/a\"} 2\n"
                            "rt_count{path=\"/a\"} 3\n";
    fixture f;

    fx_init(&f, NULL, 0, AB);
    CU_ASSERT_EQUAL(prex_merge_set_source_label(&f.m, "instance", 8), 0);
    fx_feed(&f, 0, h1);
    fx_feed(&f, 1, h2);
    fx_expect(&f, 0,
              "# HELP rt Request time.\n# TYPE rt histogram\n"
              "rt_bucket{instance=\"a\",path=\"/a\",le=\"0.1\"} 0\n"
              "rt_bucket{instance=\"a\",path=\"/a\",le=\"10\"} 4\n"
              "rt_bucket{instance=\"a\",path=\"/a\",le=\"+Inf\"} 5\n"
              "rt_sum{instance=\"a\",path=\"/a\"} 20\nrt_count{instance=\"a\",path=\"/a\"} 5\n"
              "rt_bucket{instance=\"a\",path=\"/b\",le=\"0.5\"} 1\n"
              "rt_bucket{instance=\"a\",path=\"/b\",le=\"+Inf\"} 2\n"
              "rt_sum{instance=\"a\",path=\"/b\"} 1.5\nrt_count{instance=\"a\",path=\"/b\"} 2\n"
              "rt_bucket{instance=\"b\",path=\"/a\",le=\"1e-2\"} 0\n"
              "rt_bucket{instance=\"b\",path=\"/a\",le=\"2\"} 3\n"
              "rt_bucket{instance=\"b\",path=\"/a\",le=\"+Inf\"} 3\n"
              "rt_sum{instance=\"b\",path=\"/a\"} 2\nrt_count{instance=\"b\",path=\"/a\"} 3\n");
    CU_ASSERT_EQUAL(count_lines(&f.out, "# TYPE"), 1);
    fx_free(&f);

    /* without a source label the same histogram twice is a duplicate */
    fx_init(&f, NULL, PREX_MERGE_FIRST, AB);
    fx_feed(&f, 0, h2);
    fx_feed(&f, 1, h2);
    fx_expect(&f, 0, h2);
    if (fx_issue(&f, PREX_MERGE_E_DUP_SERIES))
        CU_ASSERT_EQUAL(fx_issue(&f, PREX_MERGE_E_DUP_SERIES)->count, 5);
    fx_free(&f);
}

static void test_summary_quantile_order(void)
{
    fixture f;

    fx_init(&f, NULL, 0, AB);
    CU_ASSERT_EQUAL(prex_merge_set_source_label(&f.m, "s", 1), 0);
    fx_feed(&f, 0, "# TYPE gc summary\ngc{quantile=\"0.5\"} 2\ngc{quantile=\"0.05\"} 1\n"
                   "gc{quantile=\"1\"} 9\ngc_sum 30\ngc_count 10\n");
    fx_feed(&f, 1, "# TYPE gc summary\ngc_sum 3\ngc_count 1\n");
    fx_expect(&f, 0, "# TYPE gc summary\ngc{s=\"a\",quantile=\"0.05\"} 1\n"
                     "gc{s=\"a\",quantile=\"0.5\"} 2\ngc{s=\"a\",quantile=\"1\"} 9\n"
                     "gc_sum{s=\"a\"} 30\ngc_count{s=\"a\"} 10\n"
                     "gc_sum{s=\"b\"} 3\ngc_count{s=\"b\"} 1\n");
    fx_free(&f);
}

static void test_histogram_rename(void)
{
    static const char *h = "# HELP x Latency.\n# TYPE x histogram\nx_bucket{le=\"1\"} 1\n"
                           "x_bucket{le=\"+Inf\"} 2\nx_sum 3\nx_count 2\n";
    static const edit bucket_to_y = { "x_bucket", "y_bucket", NULL, NULL };
    static const char *const words[] = { "histogram \"x\"", "no le=\"+Inf\" bucket",
                                         "\"x_sum\"", "\"x_count\"", NULL };
    fixture f;

    /* y_bucket is a bucket of histogram y; x lost its buckets and is no
     * longer a histogram: its _sum and _count are written as untyped */
    fx_init(&f, NULL, 0, AB);
    fx_feed_edit(&f, 0, h, &bucket_to_y);
    fx_expect(&f, 0, "# HELP x_count Latency.\n# TYPE x_count untyped\nx_count 2\n"
                     "# HELP x_sum Latency.\n# TYPE x_sum untyped\nx_sum 3\n"
                     "# HELP y Latency.\n# TYPE y histogram\ny_bucket{le=\"1\"} 1\n"
                     "y_bucket{le=\"+Inf\"} 2\n");
    check_issue(&f, PREX_MERGE_E_BROKEN_FAMILY, PREX_MERGE_WARNING, 0, PREX_MERGE_NONE, words);
    CU_ASSERT_EQUAL(f.m.stats.untyped_broken, 2);
    fx_free(&f);

    /* the untyped name is taken by another source: those series go */
    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, "# TYPE x_sum gauge\nx_sum{pool=\"a\"} 5\n");
    fx_feed_edit(&f, 1, h, &bucket_to_y);
    fx_expect(&f, 0, "# HELP x_count Latency.\n# TYPE x_count untyped\nx_count 2\n"
                     "# TYPE x_sum gauge\nx_sum{pool=\"a\"} 5\n"
                     "# HELP y Latency.\n# TYPE y histogram\ny_bucket{le=\"1\"} 1\n"
                     "y_bucket{le=\"+Inf\"} 2\n");
    CU_ASSERT_EQUAL(f.m.stats.dropped_broken, 1);
    fx_free(&f);
}

static void test_histogram_left_family(void)
{
    static const edit out = { "x_bucket", "buckets", NULL, NULL };
    static const edit bad_le = { NULL, NULL, "le", "abc" };
    fixture f;

    /* a bucket renamed without its suffix leaves the histogram */
    fx_init(&f, NULL, 0, AB);
    fx_feed_edit(&f, 0, "# TYPE x histogram\nx_bucket{le=\"+Inf\"} 2\n", &out);
    fx_expect(&f, 0, "# TYPE buckets untyped\nbuckets{le=\"+Inf\"} 2\n");
    check_issue(&f, PREX_MERGE_E_LEFT_FAMILY, PREX_MERGE_WARNING, 0, PREX_MERGE_NONE, NULL);
    CU_ASSERT_EQUAL(f.m.stats.left_family, 1);
    fx_free(&f);

    /* relabeling set le to something that is not a number */
    fx_init(&f, NULL, 0, AB);
    fx_feed_edit(&f, 0, "# TYPE x histogram\nx_bucket{le=\"+Inf\"} 2\nx_count 2\n", &bad_le);
    fx_expect(&f, 0, "# TYPE x_bucket untyped\nx_bucket{le=\"abc\"} 2\n"
                     "# TYPE x_count untyped\nx_count{le=\"abc\"} 2\n");
    check_issue(&f, PREX_MERGE_E_BROKEN_FAMILY, PREX_MERGE_WARNING, 0, PREX_MERGE_NONE, NULL);
    fx_free(&f);
}

/* MARK: formats */

static void test_openmetrics_input(void)
{
    static const char *om =
        "# TYPE req counter\n# HELP req Requests.\n"
        "req_total{code=\"200\"} 5 # {trace_id=\"t1\"} 1 1700000000.5\n"
        "req_created{code=\"200\"} 1700000000\n"
        "# TYPE build info\nbuild_info{version=\"1.2\"} 1\n"
        "# TYPE mode stateset\nmode{mode=\"a\"} 1\nmode{mode=\"b\"} 0\n"
        "# TYPE q gaugehistogram\nq_bucket{le=\"+Inf\"} 3\nq_gcount 3\nq_gsum 9\n"
        "# TYPE t_seconds gauge\n# UNIT t_seconds seconds\nt_seconds 1 1700000000.250\n"
        "# EOF\n";
    static const char *text = "# TYPE req_total counter\nreq_total{code=\"500\"} 1\n";
    fixture f;

    fx_init(&f, NULL, PREX_MERGE_STRIP_TIMESTAMPS, AB);
    fx_feed(&f, 0, om);
    fx_feed(&f, 1, text);
    fx_expect(&f, 0,
              "# TYPE build_info gauge\nbuild_info{version=\"1.2\"} 1\n"
              "# TYPE mode gauge\nmode{mode=\"a\"} 1\nmode{mode=\"b\"} 0\n"
              "# TYPE q_bucket gauge\nq_bucket{le=\"+Inf\"} 3\n"
              "# TYPE q_gcount gauge\nq_gcount 3\n"
              "# TYPE q_gsum gauge\nq_gsum 9\n"
              "# HELP req_total Requests.\n# TYPE req_total counter\n"
              "req_total{code=\"200\"} 5\nreq_total{code=\"500\"} 1\n"
              "# TYPE t_seconds gauge\nt_seconds 1\n");
    CU_ASSERT_EQUAL(f.m.stats.dropped_created, 1);
    CU_ASSERT_EQUAL(f.m.stats.dropped_exemplars, 1);
    CU_ASSERT_EQUAL(f.m.stats.stripped_timestamps, 1);
    CU_ASSERT_EQUAL(prex_merge_issue_count(&f.m), 0);
    fx_free(&f);

    /* kept exemplars and timestamps, written back as OpenMetrics */
    fx_init(&f, NULL, PREX_MERGE_EXEMPLARS, AB);
    fx_feed(&f, 0, om);
    fx_feed(&f, 1, text);
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), 0);
    CU_ASSERT_EQUAL(fx_write(&f, OM), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.out.ptr, "# TYPE req counter\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(f.out.ptr,
                                  "req_total{code=\"200\"} 5 # {trace_id=\"t1\"} 1 1700000000.5\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(f.out.ptr, "t_seconds 1 1700000000.25\n"));
    CU_ASSERT_EQUAL(count_lines(&f.out, "# EOF"), 1);
    fx_free(&f);
}

static void test_timestamps(void)
{
    static const char *in = "# TYPE m gauge\nm{a=\"1\"} 1 1000\nm{a=\"1\"} 2 2000\n";
    fixture f;

    /* kept: the two points of one series of one source stay, in order */
    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, in);
    fx_feed(&f, 1, "# TYPE m gauge\nm{a=\"1\"} 3 1500\n");
    fx_expect(&f, PREX_MERGE_E_DUP_SERIES, NULL);
    fx_free(&f);

    fx_init(&f, NULL, PREX_MERGE_FIRST, AB);
    fx_feed(&f, 0, in);
    fx_feed(&f, 1, "# TYPE m gauge\nm{a=\"1\"} 3 1500\n");
    fx_expect(&f, 0, "# TYPE m gauge\nm{a=\"1\"} 1 1000\nm{a=\"1\"} 2 2000\n");
    fx_free(&f);

    /* equal timestamps are still two points of the series (the parser
     * accepts them; OpenMetrics allows them) */
    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, "# TYPE m gauge\nm 1 1000\nm 2 1000\n");
    fx_expect(&f, 0, "# TYPE m gauge\nm 1 1000\nm 2 1000\n");
    fx_free(&f);

    /* stripped: the second point is a duplicate */
    fx_init(&f, NULL, PREX_MERGE_FIRST | PREX_MERGE_STRIP_TIMESTAMPS, AB);
    fx_feed(&f, 0, in);
    fx_expect(&f, 0, "# TYPE m gauge\nm{a=\"1\"} 1\n");
    CU_ASSERT_EQUAL(f.m.stats.stripped_timestamps, 2);
    CU_ASSERT_EQUAL(f.m.stats.dropped_duplicates, 1);
    fx_free(&f);
}

/* MARK: order */

static void test_sorting_reproducible(void)
{
    static const char *a = "# TYPE zz gauge\nzz{b=\"2\",a=\"1\"} 1\nzz{a=\"1\"} 2\nzz 3\n"
                           "# TYPE aa counter\naa{x=\"y\"} 1\n";
    static const char *b = "# TYPE mm gauge\nmm{q=\"10\"} 1\nmm{q=\"9\"} 2\n"
                           "# TYPE zz gauge\nzz{a=\"0\",c=\"3\"} 4\n";
    static const char *want = "# TYPE aa counter\naa{x=\"y\"} 1\n"
                              "# TYPE mm gauge\nmm{q=\"10\"} 1\nmm{q=\"9\"} 2\n"
                              "# TYPE zz gauge\nzz 3\nzz{a=\"0\",c=\"3\"} 4\nzz{a=\"1\"} 2\n"
                              "zz{a=\"1\",b=\"2\"} 1\n";
    fixture f;
    prex_buf first;

    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, a);
    fx_feed(&f, 1, b);
    fx_expect(&f, 0, want);
    prex_buf_init(&first, NULL);
    prex_buf_append(&first, f.out.ptr, f.out.len);
    fx_free(&f);

    fx_init(&f, NULL, 0, AB);
    fx_feed_interleaved(&f, 1, b, 0, a);
    fx_expect(&f, 0, want);
    fx_free(&f);

    /* the table's own reading API sees the same order */
    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 1, b);
    fx_feed(&f, 0, a);
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), 0);
    CU_ASSERT_EQUAL(prex_merge_family_count(&f.m), 3);
    {
        prex_merge_family_info fi;
        prex_merge_series_info si;
        prex_pair l[4];

        CU_ASSERT_EQUAL(prex_merge_family_at(&f.m, 2, &fi), 0);
        PREX_ASSERT_SLICE_STR(fi.name, "zz");
        CU_ASSERT_EQUAL(fi.type, PREX_TYPE_GAUGE);
        CU_ASSERT_EQUAL(fi.nseries, 4);
        CU_ASSERT_EQUAL(fi.source, 0);
        CU_ASSERT_EQUAL(prex_merge_series_at(&f.m, 2, 3, &si, l, 4), 0);
        CU_ASSERT_EQUAL(si.nlabels, 2);
        PREX_ASSERT_SLICE_STR(l[0].name, "a");
        PREX_ASSERT_SLICE_STR(l[1].name, "b");
        PREX_ASSERT_SLICE_STR(l[1].value, "2");
        PREX_ASSERT_SLICE_STR(si.value_raw, "1");
        CU_ASSERT_EQUAL(si.source, 0);
        CU_ASSERT_EQUAL(si.line, 2);
        CU_ASSERT_EQUAL(prex_merge_series_at(&f.m, 2, 4, &si, l, 4), -1);
        CU_ASSERT_EQUAL(prex_merge_family_at(&f.m, 3, &fi), -1);
    }
    CU_ASSERT_EQUAL(fx_write(&f, TEXT), 0);
    prex_test_slice_eq(__FILE__, __LINE__, "same bytes", f.out.ptr, f.out.len, first.ptr,
                       first.len, 0);
    prex_buf_free(&first);
    fx_free(&f);
}

/* Label names at the same position of consecutive series that differ in
 * one byte anywhere, for names of 1 to 20 bytes: the table's check that a
 * position still has the name it had (compared in words, the last one
 * overlapping) must see each difference. */
static void test_label_name_every_position(void)
{
    size_t len, k;

    for (len = 1; len <= 20; len++) {
        for (k = 0; k < len; k++) {
            char n1[24], n2[24], in[160];
            fixture f;

            memset(n1, 'n', len);
            n1[len] = 0;
            memcpy(n2, n1, len + 1);
            n2[k] = 'o';
            /* already in order: the body is the input */
            snprintf(in, sizeof in, "# TYPE x gauge\nx{%s=\"1\"} 1\nx{%s=\"2\"} 2\n", n1, n2);
            fx_init(&f, NULL, 0, AB);
            fx_feed(&f, 0, in);
            fx_expect(&f, 0, in);
            fx_free(&f);
        }
    }
}

/* Reference order of two label values: bytewise, a prefix first. */
static int ref_value_cmp(const void *pa, const void *pb)
{
    const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
    size_t an = strlen(a), bn = strlen(b);
    int r = memcmp(a, b, an < bn ? an : bn);

    return r ? r : an < bn ? -1 : an > bn;
}

/* Values of 1 to 24 bytes that differ from each other at every position,
 * by a lower, a higher or a non-ASCII byte, or by length, after a label
 * every series shares: the table orders them bytewise (it compares 8
 * bytes at a time, the last word overlapping, shorter ones byte by byte)
 * whatever order they arrive in, with and without a source label (two
 * comparison paths). */
static void test_value_order_every_position(void)
{
    enum { MAXV = 24 * 24 * 3 + 24 };
    static const char *const subst[] = {"a", "z", "\xc3\xa9"};
    static char vals[MAXV][32];
    const char *sorted[MAXV];
    size_t nv = 0, len, k, e, i, pass;
    prex_buf in, want;

    for (len = 1; len <= 24; len++) {
        memset(vals[nv], 'm', len);
        vals[nv][len] = 0;
        nv++;
        for (k = 0; k < len; k++) {
            for (e = 0; e < 3; e++) {
                memset(vals[nv], 'm', len);
                vals[nv][len] = 0;
                memcpy(vals[nv] + k, subst[e], strlen(subst[e]));
                if (e == 2)
                    memset(vals[nv] + k + 2, 'm', len - k), vals[nv][len + 1] = 0;
                nv++;
            }
        }
    }
    for (i = 0; i < nv; i++)
        sorted[i] = vals[i];
    qsort(sorted, nv, sizeof *sorted, ref_value_cmp);
    for (pass = 0; pass < 2; pass++) {
        fixture f;

        prex_buf_init(&in, NULL);
        prex_buf_init(&want, NULL);
        prex_buf_append(&in, "# TYPE x gauge\n", 15);
        prex_buf_append(&want, "# TYPE x gauge\n", 15);
        for (i = 0; i < nv; i++) {
            /* arrival order: a stride through the values */
            char line[96];
            int n = snprintf(line, sizeof line, "x{a=\"same\",v=\"%s\"} 1\n",
                             vals[(i * 37) % nv]);

            prex_buf_append(&in, line, (size_t)n);
            n = snprintf(line, sizeof line, "x{a=\"same\",%sv=\"%s\"} 1\n",
                         pass ? "src=\"a\"," : "", sorted[i]);
            prex_buf_append(&want, line, (size_t)n);
        }
        fx_init(&f, NULL, 0, AB);
        if (pass)
            CU_ASSERT_EQUAL(prex_merge_set_source_label(&f.m, "src", 3), 0);
        fx_feed(&f, 0, in.ptr);
        fx_expect(&f, 0, want.ptr);
        fx_free(&f);
        prex_buf_free(&in);
        prex_buf_free(&want);
    }
}

static void test_escapes_roundtrip(void)
{
    fixture f;

    fx_init(&f, NULL, 0, AB);
    fx_feed(&f, 0, "# HELP e Back\\\\slash and \\n newline.\n# TYPE e gauge\n"
                   "e{p=\"C:\\\\dir\",q=\"say \\\"hi\\\"\\n\"} 1\n");
    fx_feed(&f, 1, "# TYPE e gauge\ne{p=\"plain\"} +Inf\ne{p=\"z\"} nan\n");
    fx_expect(&f, 0, "# HELP e Back\\\\slash and \\n newline.\n# TYPE e gauge\n"
                     "e{p=\"C:\\\\dir\",q=\"say \\\"hi\\\"\\n\"} 1\ne{p=\"plain\"} +Inf\n"
                     "e{p=\"z\"} NaN\n");
    fx_free(&f);
}

/* MARK: the relay's own families */

static void test_selfmetrics(void)
{
    fixture f;
    unsigned self;
    prex_source_status st[2] = {
        { .source = 0, .up = 1, .samples = 12345678901ull, .duration_seconds = 0.25 },
        { .source = 1, .up = 0, .samples = 0, .duration_seconds = 1.5 },
    };

    fx_init(&f, NULL, 0, AB);
    CU_ASSERT_EQUAL(prex_merge_set_source_label(&f.m, "source", 6), 0);
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "relay", 5, "r1", 2), 0);
    CU_ASSERT_EQUAL(prex_selfmetrics_source(&f.m, &self), 0);
    CU_ASSERT_EQUAL(self, 2);
    fx_feed(&f, 0, "# TYPE up gauge\nup 1\n");
    CU_ASSERT_EQUAL(prex_selfmetrics_add(&f.m, self, st, 2, 1700000000.5), 0);
    fx_expect(&f, 0,
              "# HELP prex_last_success_timestamp_seconds Unix time of the relay's last "
              "successful run, 0 if none yet.\n"
              "# TYPE prex_last_success_timestamp_seconds gauge\n"
              "prex_last_success_timestamp_seconds{relay=\"r1\"} 1700000000.5\n"
              "# HELP prex_source_samples Samples read from the source in this run.\n"
              "# TYPE prex_source_samples gauge\n"
              "prex_source_samples{relay=\"r1\",source=\"a\"} 12345678901\n"
              "prex_source_samples{relay=\"r1\",source=\"b\"} 0\n"
              "# HELP prex_source_scrape_duration_seconds Time spent reading and parsing the "
              "source in this run.\n"
              "# TYPE prex_source_scrape_duration_seconds gauge\n"
              "prex_source_scrape_duration_seconds{relay=\"r1\",source=\"a\"} 0.25\n"
              "prex_source_scrape_duration_seconds{relay=\"r1\",source=\"b\"} 1.5\n"
              "# HELP prex_source_up 1 if the source was read and parsed without error in "
              "this run, else 0.\n"
              "# TYPE prex_source_up gauge\n"
              "prex_source_up{relay=\"r1\",source=\"a\"} 1\n"
              "prex_source_up{relay=\"r1\",source=\"b\"} 0\n"
              "# TYPE up gauge\nup{relay=\"r1\",source=\"a\"} 1\n");
    fx_free(&f);

    fx_init(&f, NULL, 0, AB);
    CU_ASSERT_EQUAL(prex_selfmetrics_source(&f.m, &self), 0);
    st[0].source = 7;
    CU_ASSERT_EQUAL(prex_selfmetrics_add(&f.m, self, st, 1, 0), PREX_MERGE_E_USAGE);
    fx_free(&f);
}

/* MARK: memory and zero copy */

/* Appends a kube-state-metrics-like source (the shape of prex-gen's
 * output: about 250 bytes and 9 labels per series, a histogram, an
 * escaped value now and then). Deterministic. */
static void gen_source(prex_test_str *s, unsigned seed, size_t series)
{
    static const char *const ns[] = { "default", "kube-system", "monitoring", "payments" };
    static const char *const app[] = { "redis", "grafana", "coredns", "worker" };
    unsigned x = seed * 2654435761u + 1;
    size_t i, k;

    for (k = 0; k < 4; k++) {
        prex_test_str_printf(s, "# HELP kube_obj%zu_info Information about object kind %zu.\n"
                                "# TYPE kube_obj%zu_info gauge\n", k, k, k);
        for (i = 0; i < series; i++) {
            x = x * 1103515245u + 12345u;
            prex_test_str_printf(s,
                                 "kube_obj%zu_info{namespace=\"%s\",pod=\"%s-%u-%zu\","
                                 "uid=\"%08x-4c05-b438-%012u\","
                                 "node=\"ip-10-0-%u-%u.eu-west-1.compute.internal\","
                                 "created_by_kind=\"%s\",created_by_name=\"%s-d8729\","
                                 "phase=\"%s\",team=\"%s\","
                                 "image=\"registry.example.com/%s/%s:v1.%u.%u\"} %u\n",
                                 k, ns[x % 4], app[(x >> 3) % 4], seed, i, x, x % 1000000u,
                                 (x >> 8) % 16, (x >> 12) % 250,
                                 (x >> 6) & 1 ? "ReplicaSet" : "StatefulSet", app[(x >> 3) % 4],
                                 (x >> 4) & 1 ? "Running" : "Pending",
                                 (x >> 5) % 16 ? "sre" : "a\\\"b", ns[(x >> 7) % 4],
                                 app[(x >> 3) % 4], (x >> 9) % 30, (x >> 14) % 10,
                                 (x >> 16) % 100);
        }
    }
    prex_test_str_printf(s, "# TYPE lat_seconds histogram\n");
    for (i = 0; i < series / 4; i++) {
        prex_test_str_printf(s, "lat_seconds_bucket{handler=\"/h%zu\",le=\"0.1\"} 1\n"
                                "lat_seconds_bucket{handler=\"/h%zu\",le=\"1\"} 2\n"
                                "lat_seconds_bucket{handler=\"/h%zu\",le=\"+Inf\"} 3\n"
                                "lat_seconds_sum{handler=\"/h%zu\"} 4.5\n"
                                "lat_seconds_count{handler=\"/h%zu\"} 3\n",
                             i, i, i, i, i);
    }
}

static int inside(const char *p, const char *buf, size_t len)
{
    return (uintptr_t)p >= (uintptr_t)buf && (uintptr_t)p <= (uintptr_t)buf + len;
}

static void test_memory_bound(void)
{
    count_alloc ca = { -1, 0, 0, 0 };
    prex_alloc alc = { ca_malloc, ca_realloc, ca_free, &ca };
    prex_test_str src[3] = { {0}, {0}, {0} };
    fixture f;
    size_t total = 0, i, j, nfam, nseries = 0, nlabels = 0, outside = 0, lens[3];
    int k;

    for (k = 0; k < 3; k++) {
        gen_source(&src[k], (unsigned)k + 1, 2000);
        total += src[k].len;
    }
    fx_init(&f, &alc, 0, ABC);
    CU_ASSERT_EQUAL(prex_merge_set_source_label(&f.m, "source", 6), 0);
    for (k = 0; k < 3; k++)
        fx_feed(&f, (size_t)k, src[k].ptr);
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), 0);
    CU_ASSERT_EQUAL(f.m.stats.series_out, 3 * (4 * 2000 + 500 * 5));

    /* zero copy: every value and every label value without escapes points
     * into its source's buffer (the fixture keeps them as bufs[0..2]) */
    for (k = 0; k < 3; k++)
        lens[k] = src[k].len;
    nfam = prex_merge_family_count(&f.m);
    for (i = 0; i < nfam; i++) {
        prex_merge_family_info fi;

        CU_ASSERT_EQUAL(prex_merge_family_at(&f.m, i, &fi), 0);
        for (j = 0; j < fi.nseries; j++) {
            prex_merge_series_info si;
            prex_pair l[10];
            size_t n;

            if (prex_merge_series_at(&f.m, i, j, &si, l, 10) != 0) {
                outside++;
                continue;
            }
            nseries++;
            nlabels += si.nlabels;
            if (!inside(si.value_raw.ptr, f.bufs[si.source], lens[si.source]))
                outside++;
            for (n = 0; n < si.nlabels && n < 10; n++)
                if (!memchr(l[n].value.ptr, '"', l[n].value.len) &&
                    !inside(l[n].value.ptr, f.bufs[si.source], lens[si.source]))
                    outside++;
        }
    }
    CU_ASSERT_EQUAL(nseries, f.m.stats.series_out);
    CU_ASSERT_EQUAL(outside, 0);

    /* the table's size is structural: per series a 40-byte record and 8
     * index bytes, per label 8 bytes, plus block-sized slack; the bytes
     * themselves stay in the sources. For kube-like series that is about
     * half the input (prex-gen's 50M: 0.42), so the inputs plus the table
     * stay within 1.5 times the inputs */
    PREX_CHECK(ca.peak <= 48 * nseries + 8 * nlabels + (1u << 20),
               "table peak %zu bytes for %zu series with %zu labels", ca.peak, nseries, nlabels);
    PREX_CHECK(ca.peak * 20 <= total * 11, "table peak %zu bytes for %zu input bytes (%.2fx)",
               ca.peak, total, (double)ca.peak / (double)total);
    CU_ASSERT_EQUAL(fx_write(&f, TEXT), 0);
    fx_free(&f);
    CU_ASSERT_EQUAL(ca.live, 0);
    for (k = 0; k < 3; k++)
        prex_test_str_free(&src[k]);
}

/* MARK: lifetime and failures */

static void test_reset_reuse(void)
{
    static const char *in = "# TYPE r gauge\nr{x=\"1\"} 1\n# TYPE h histogram\n"
                            "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n";
    fixture f;
    prex_buf first;

    fx_init(&f, NULL, 0, AB);
    CU_ASSERT_EQUAL(prex_merge_set_source_label(&f.m, "src", 3), 0);
    CU_ASSERT_EQUAL(prex_merge_add_label(&f.m, "env", 3, "p", 1), 0);
    fx_feed(&f, 0, in);
    fx_feed(&f, 1, "# TYPE r counter\nr 1\n");
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), PREX_MERGE_E_TYPE_CONFLICT);
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_event(&f.m, 0, NULL), PREX_MERGE_E_USAGE);

    prex_merge_reset(&f.m);
    CU_ASSERT_EQUAL(prex_merge_issue_count(&f.m), 0);
    CU_ASSERT_EQUAL(prex_merge_family_count(&f.m), 0);
    fx_feed(&f, 0, in);
    fx_feed(&f, 1, in);
    fx_expect(&f, 0, "# TYPE h histogram\nh_bucket{env=\"p\",src=\"a\",le=\"+Inf\"} 1\n"
                     "h_sum{env=\"p\",src=\"a\"} 1\nh_count{env=\"p\",src=\"a\"} 1\n"
                     "h_bucket{env=\"p\",src=\"b\",le=\"+Inf\"} 1\n"
                     "h_sum{env=\"p\",src=\"b\"} 1\nh_count{env=\"p\",src=\"b\"} 1\n"
                     "# TYPE r gauge\nr{env=\"p\",src=\"a\",x=\"1\"} 1\n"
                     "r{env=\"p\",src=\"b\",x=\"1\"} 1\n");
    prex_buf_init(&first, NULL);
    prex_buf_append(&first, f.out.ptr, f.out.len);

    prex_merge_reset(&f.m);
    fx_feed(&f, 1, in);
    fx_feed(&f, 0, in);
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), 0);
    CU_ASSERT_EQUAL(fx_write(&f, TEXT), 0);
    prex_test_slice_eq(__FILE__, __LINE__, "after reset", f.out.ptr, f.out.len, first.ptr,
                       first.len, 0);
    prex_buf_free(&first);
    fx_free(&f);
}

static void test_usage(void)
{
    fixture f;
    prex_event ev;
    unsigned id;
    prex_writer w;

    fx_init(&f, NULL, 0, AB);
    memset(&ev, 0, sizeof ev);
    ev.kind = PREX_EV_HELP;
    CU_ASSERT_EQUAL(prex_merge_meta(&f.m, 5, &ev), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_event(&f.m, 0, &ev), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_pairs(&f.m, 0, &ev, NULL, 0), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_source(&f.m, "", 0, 0, &id), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_source(&f.m, "\xc3\x28", 2, 0, &id), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_add_source(&f.m, "b", 1, 0, &id), PREX_MERGE_E_USAGE);
    CU_ASSERT_EQUAL(prex_merge_source_name(&f.m, 9).len, 0);
    PREX_ASSERT_SLICE_STR(prex_merge_source_name(&f.m, 1), "b");
    prex_writer_init(&w, &f.out, TEXT, 0);
    CU_ASSERT_EQUAL(prex_merge_write(&f.m, &w), -1);
    prex_writer_free(&w);
    CU_ASSERT_STRING_EQUAL(prex_merge_errname(PREX_MERGE_E_DUP_SERIES), "DUP_SERIES");
    CU_ASSERT_STRING_EQUAL(prex_merge_errname(99), "UNKNOWN");
    CU_ASSERT_PTR_NOT_NULL(prex_merge_strerror(PREX_MERGE_E_SUFFIX_CLASH));
    CU_ASSERT_EQUAL(prex_merge_finish(&f.m), 0);
    CU_ASSERT_EQUAL(prex_merge_add_source(&f.m, "late", 4, 0, &id), PREX_MERGE_E_USAGE);
    fx_free(&f);
}

/*
 * Runs a whole merge with an allocator that fails after budget calls.
 * Returns 1 when every call succeeded, 0 when one reported
 * PREX_MERGE_E_NO_MEMORY (any other failure is an assert).
 */
static int run_with_budget(long budget)
{
    count_alloc ca = { budget, 0, 0, 0 };
    prex_alloc alc = { ca_malloc, ca_realloc, ca_free, &ca };
    static const char *const names[] = { "a", "b", NULL };
    static const char *in[2] = {
        "# HELP x X.\n# TYPE x histogram\nx_bucket{le=\"1\"} 1\nx_bucket{le=\"+Inf\"} 2\n"
        "x_sum 3\nx_count 2\n# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"\\\"\"} 2\n",
        "# HELP x Other.\n# TYPE x histogram\nx_bucket{le=\"+Inf\"} 2\nx_count 2\n"
        "# TYPE g counter\ng 1\n# TYPE x_sum gauge\nx_sum 1\n",
    };
    prex_merge m;
    prex_buf out;
    prex_writer w;
    char *bufs[2];
    unsigned ids[2], self;
    int ok = 1, k, rc;
    prex_source_status st = { .source = 0, .up = 1, .samples = 5, .duration_seconds = 0.5 };

    prex_merge_init(&m, &alc, PREX_MERGE_FIRST);
    rc = prex_merge_set_source_label(&m, "s", 1);
    ok = ok && rc == 0;
    for (k = 0; k < 2 && ok; k++) {
        rc = prex_merge_add_source(&m, names[k], 1, 0, &ids[k]);
        ok = rc == 0;
    }
    if (ok)
        ok = prex_selfmetrics_source(&m, &self) == 0;
    for (k = 0; k < 2; k++) {
        size_t len = strlen(in[k]);
        prex_parser p;
        prex_event ev;

        bufs[k] = malloc(len + 1);
        PREX_ASSERT_FATAL(bufs[k] != NULL);
        memcpy(bufs[k], in[k], len + 1);
        if (!ok)
            continue;
        prex_parser_init(&p, bufs[k], len, TEXT, 0);
        prex_finish(&p);
        while (ok && (rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF) {
            rc = ev.kind == PREX_EV_SAMPLE ? prex_merge_add_event(&m, ids[k], &ev)
                                           : prex_merge_meta(&m, ids[k], &ev);
            PREX_CHECK(rc == 0 || rc == PREX_MERGE_E_NO_MEMORY, "add: %d", rc);
            ok = rc == 0;
        }
        prex_parser_free(&p);
    }
    if (ok) {
        rc = prex_selfmetrics_add(&m, self, &st, 1, 1);
        PREX_CHECK(rc == 0 || rc == PREX_MERGE_E_NO_MEMORY, "self: %d", rc);
        ok = rc == 0;
    }
    if (ok) {
        rc = prex_merge_finish(&m);
        PREX_CHECK(rc == 0 || rc == PREX_MERGE_E_NO_MEMORY, "finish: %d", rc);
        ok = rc == 0;
    }
    prex_buf_init(&out, NULL);
    prex_writer_init(&w, &out, TEXT, 0);
    if (ok) {
        rc = prex_merge_write(&m, &w);
        PREX_CHECK(rc == 0 || rc == PREX_E_NO_MEMORY, "write: %d", rc);
        ok = rc == 0;
    } else {
        PREX_CHECK(prex_merge_write(&m, &w) == -1, "write after a failure must refuse");
    }
    prex_writer_free(&w);
    prex_buf_free(&out);
    prex_merge_free(&m);
    free(bufs[0]);
    free(bufs[1]);
    PREX_CHECK(ca.live == 0, "budget %ld: %zu bytes leaked", budget, ca.live);
    return ok;
}

static void test_no_memory(void)
{
    long budget;
    int done = 0;

    for (budget = 0; budget < 400 && !done; budget++)
        done = run_with_budget(budget);
    PREX_CHECK(done, "the merge never succeeded within 400 allocations");
}

/* MARK: suite */

static CU_TestInfo merge_tests[] = {
    {"same_family_one_block", test_same_family_one_block},
    {"help_first_wins", test_help_first_wins},
    {"type_conflict_error", test_type_conflict_error},
    {"type_conflict_first", test_type_conflict_first},
    {"untyped_merges", test_untyped_merges},
    {"suffix_clash", test_suffix_clash},
    {"duplicate_series", test_duplicate_series},
    {"first_is_source_order", test_first_is_source_order},
    {"value_order_every_position", test_value_order_every_position},
    {"label_name_every_position", test_label_name_every_position},
    {"label_cleanup", test_label_cleanup},
    {"escape_name_vectors", test_escape_name_vectors},
    {"escaping_merges", test_escaping_merges},
    {"escaping_exemplars", test_escaping_exemplars},
    {"no_valid_name", test_no_valid_name},
    {"source_label", test_source_label},
    {"constant_labels", test_constant_labels},
    {"histogram_across_sources", test_histogram_across_sources},
    {"summary_quantile_order", test_summary_quantile_order},
    {"histogram_rename", test_histogram_rename},
    {"histogram_left_family", test_histogram_left_family},
    {"openmetrics_input", test_openmetrics_input},
    {"timestamps", test_timestamps},
    {"sorting_reproducible", test_sorting_reproducible},
    {"escapes_roundtrip", test_escapes_roundtrip},
    {"selfmetrics", test_selfmetrics},
    {"memory_bound", test_memory_bound},
    {"reset_reuse", test_reset_reuse},
    {"usage", test_usage},
    {"no_memory", test_no_memory},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo prex_merge_suites[] = {
    {.pName = "merge",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = merge_tests},
    CU_SUITE_INFO_NULL,
};

/*
 * test_split.c - the partial-input discipline: every input prex accepts
 * (conformance cases, corpus/y_* and any other corpus file it accepts)
 * must give the same event log when fed in two or three pieces, must give
 * only events and then PREX_NEED_MORE on each of its proper prefixes, and
 * must parse identically pressed against a PROT_NONE guard page. Inputs
 * prex rejects must fail the same way whole, split in two, and against
 * the guard page.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "prex.h"
#include "testlib.h"

/* Inputs up to this size are split in two at every byte and checked on
 * every prefix; larger ones at SPLIT_SAMPLES points spread over the input.
 * Each such check re-parses the whole input, so the cost is quadratic:
 * 16 KiB keeps the suite within seconds even under the sanitizers. Every
 * input, whatever its size, is also fed one byte at a time, which puts a
 * piece boundary at every offset in a single parse. */
#define SPLIT_EVERY_MAX (16 * 1024)
#define SPLIT_SAMPLES 512
/* Inputs up to this size are also split in three at every pair of cuts. */
#define SPLIT3_MAX 64

/* The corpus folder, relative to the repository root. */
#define CORPUS_DIR "corpus"

/* MARK: cut points */

/* cut_count(len) cut points are used for an input of len bytes, and
 * cut_at(len, n) is the n-th: every offset 1..len-1, or a deterministic
 * spread of SPLIT_SAMPLES offsets with a pseudo-random jitter so that the
 * cuts do not all fall at the same place within lines. */
static size_t cut_count(size_t len)
{
    if (len < 2)
        return 0;
    return len <= SPLIT_EVERY_MAX ? len - 1 : SPLIT_SAMPLES;
}

static size_t cut_at(size_t len, size_t n)
{
    uint64_t stride, jitter;

    if (len <= SPLIT_EVERY_MAX)
        return n + 1;
    stride = (uint64_t)(len - 1) / SPLIT_SAMPLES;
    jitter = (n * 6364136223846793005ull + 1442695040888963407ull) >> 33;
    return 1 + (size_t)(n * stride + (stride ? jitter % stride : 0));
}

/* Proper prefix lengths checked: 0..len-1 for small inputs, else 0 and
 * the cut points. */
static size_t prefix_count(size_t len)
{
    return len ? 1 + cut_count(len) : 0;
}

static size_t prefix_at(size_t len, size_t n)
{
    return n == 0 ? 0 : cut_at(len, n - 1);
}

/* MARK: checks */

/* A heap copy of buf[0..len) with its NUL and nothing more, so that the
 * sanitizer sees any read past the sentinel. */
static char *exact_copy(const char *buf, size_t len)
{
    char *p = malloc(len + 1);
    PREX_ASSERT_FATAL(p != NULL);
    if (len)
        memcpy(p, buf, len);
    p[len] = '\0';
    return p;
}

/* Compares the guard-page parse of an input with its one-shot log. */
static void check_guard(const char *name, const char *buf, size_t len,
                        prex_format fmt, const prex_test_str *whole)
{
    prex_test_guard g;
    prex_test_str log = {0};
    prex_test_str what = {0};

    prex_test_guard_init(&g, buf, len);
    prex_test_evlog(g.buf, g.len, fmt, 0, &log);
    prex_test_str_printf(&what, "%s: guard page vs one-shot", name);
    PREX_ASSERT_LOG_EQ(what.ptr, &log, whole);
    prex_test_guard_free(&g);
    prex_test_str_free(&log);
    prex_test_str_free(&what);
}

/* Splits the input in two at each cut point; reports the first cut whose
 * log differs from the one-shot log. */
static void check_split2(const char *name, const char *buf, size_t len,
                         prex_format fmt, const prex_test_str *whole)
{
    prex_test_str log = {0};
    size_t i, n = cut_count(len);

    for (i = 0; i < n; i++) {
        size_t cut = cut_at(len, i);
        prex_test_str_clear(&log);
        prex_test_evlog_chunked(buf, len, fmt, 0, &cut, 1, &log);
        if (log.len != whole->len || memcmp(log.ptr, whole->ptr, log.len) != 0) {
            prex_test_str what = {0};
            prex_test_str_printf(&what, "%s: split at %zu vs one-shot", name, cut);
            PREX_ASSERT_LOG_EQ(what.ptr, &log, whole);
            prex_test_str_free(&what);
            break;
        }
    }
    prex_test_str_free(&log);
}

/* Feeds the input one byte at a time (a refill at every offset) and
 * compares the log with the one-shot log. */
static void check_bytewise(const char *name, const char *buf, size_t len,
                           prex_format fmt, const prex_test_str *whole)
{
    prex_test_str log = {0};
    prex_test_str what = {0};
    size_t *cuts, i;

    if (len < 2)
        return;
    cuts = malloc((len - 1) * sizeof *cuts);
    PREX_ASSERT_FATAL(cuts != NULL);
    for (i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    prex_test_evlog_chunked(buf, len, fmt, 0, cuts, len - 1, &log);
    prex_test_str_printf(&what, "%s: fed one byte at a time vs one-shot", name);
    PREX_ASSERT_LOG_EQ(what.ptr, &log, whole);
    free(cuts);
    prex_test_str_free(&log);
    prex_test_str_free(&what);
}

/* Splits a short input in three at every pair of cuts. */
static void check_split3(const char *name, const char *buf, size_t len,
                         prex_format fmt, const prex_test_str *whole)
{
    prex_test_str log = {0};
    size_t cuts[2];
    int failed = 0;

    if (len > SPLIT3_MAX)
        return;
    for (cuts[0] = 1; cuts[0] + 1 < len && !failed; cuts[0]++) {
        for (cuts[1] = cuts[0] + 1; cuts[1] < len && !failed; cuts[1]++) {
            prex_test_str_clear(&log);
            prex_test_evlog_chunked(buf, len, fmt, 0, cuts, 2, &log);
            if (log.len != whole->len || memcmp(log.ptr, whole->ptr, log.len) != 0) {
                prex_test_str what = {0};
                prex_test_str_printf(&what, "%s: split at %zu and %zu vs one-shot",
                                     name, cuts[0], cuts[1]);
                PREX_ASSERT_LOG_EQ(what.ptr, &log, whole);
                prex_test_str_free(&what);
                failed = 1;
            }
        }
    }
    prex_test_str_free(&log);
}

/* Parses each checked proper prefix without prex_finish(): it must give
 * events only, then PREX_NEED_MORE, and those events must begin the
 * one-shot log. Reports the first prefix that does not. */
static void check_prefixes(const char *name, const char *buf, size_t len,
                           prex_format fmt, const prex_test_str *whole)
{
    prex_test_str log = {0};
    size_t i, n = prefix_count(len);

    for (i = 0; i < n; i++) {
        size_t k = prefix_at(len, i);
        char *copy = exact_copy(buf, k);
        int rc;

        prex_test_str_clear(&log);
        rc = prex_test_evlog_unfinished(copy, k, fmt, 0, &log);
        free(copy);
        if (rc != PREX_NEED_MORE) {
            prex_test_fail(__FILE__, __LINE__,
                           "%s: prefix of %zu bytes without prex_finish() returned "
                           "%d, want PREX_NEED_MORE; its log:\n%s",
                           name, k, rc, log.ptr ? log.ptr : "");
            break;
        }
        if (log.len > whole->len ||
            (log.len && memcmp(log.ptr, whole->ptr, log.len) != 0)) {
            prex_test_fail(__FILE__, __LINE__,
                           "%s: events of the %zu-byte prefix are not the start of "
                           "the one-shot log:\n%s",
                           name, k, log.ptr);
            break;
        }
    }
    prex_test_str_free(&log);
}

/*
 * Runs every check that fits the input. Returns the one-shot result
 * (PREX_EV_EOF when prex accepts it). Accepted inputs get the guard page,
 * the byte-at-a-time feed, 2-way splits, the prefixes and (when short)
 * 3-way splits; rejected ones the guard page, the byte-at-a-time feed and
 * 2-way splits (the error must not depend on where the input was cut).
 */
static int check_input(const char *name, const char *buf, size_t len,
                       prex_format fmt)
{
    prex_test_str whole = {0};
    char *copy = exact_copy(buf, len);
    int rc = prex_test_evlog(copy, len, fmt, 0, &whole);

    free(copy);
    prex_test_str_reserve(&whole, 0);
    check_guard(name, buf, len, fmt, &whole);
    check_bytewise(name, buf, len, fmt, &whole);
    check_split2(name, buf, len, fmt, &whole);
    if (rc == PREX_EV_EOF) {
        check_prefixes(name, buf, len, fmt, &whole);
        check_split3(name, buf, len, fmt, &whole);
    }
    prex_test_str_free(&whole);
    return rc;
}

/* MARK: conformance inputs */

/* Runs check_input over the conformance cases whose one-shot outcome is
 * acceptance (accepted != 0) or rejection. */
static void run_conformance(int accepted)
{
    prex_test_case *cases;
    size_t n = 0, i, ran = 0;
    char *why = NULL;

    cases = prex_test_load_cases(&n, &why);
    if (!PREX_CHECK(cases != NULL && n > 0, "no conformance cases: %s",
                    why ? why : "empty folder")) {
        free(why);
        return;
    }
    for (i = 0; i < n; i++) {
        prex_test_str log = {0};
        int rc = prex_test_evlog(cases[i].input, cases[i].input_len,
                                 cases[i].format, 0, &log);
        prex_test_str_free(&log);
        if ((rc == PREX_EV_EOF) != (accepted != 0))
            continue;
        check_input(cases[i].name, cases[i].input, cases[i].input_len,
                    cases[i].format);
        ran++;
    }
    PREX_CHECK(ran > 0, "no conformance case is %s by prex",
               accepted ? "accepted" : "rejected");
    prex_test_free_cases(cases, n);
}

static void test_conformance_accepted(void)
{
    run_conformance(1);
}

static void test_conformance_rejected(void)
{
    run_conformance(0);
}

/* MARK: corpus inputs */

/* Nonzero when name ends with suffix. */
static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && memcmp(name + n - s, suffix, s) == 0;
}

/* Runs check_input over corpus/<prefix>*.prom and *.om (.om is
 * OpenMetrics). y_ files must be accepted. Skips quietly when the corpus
 * folder does not exist. */
static void run_corpus(const char *prefix)
{
    size_t i, n = 0;
    char **names = prex_test_list_dir(CORPUS_DIR, &n);

    if (!names)
        return;
    for (i = 0; i < n; i++) {
        const char *nm = names[i];
        prex_format fmt;
        prex_test_str path = {0};
        char *buf;
        size_t len;
        int rc;

        if (strncmp(nm, prefix, strlen(prefix)) != 0)
            continue;
        if (ends_with(nm, ".om"))
            fmt = PREX_FORMAT_OPENMETRICS;
        else if (ends_with(nm, ".prom"))
            fmt = PREX_FORMAT_TEXT;
        else
            continue;
        prex_test_str_printf(&path, "%s/%s", CORPUS_DIR, nm);
        buf = prex_test_read_file(path.ptr, &len);
        if (PREX_CHECK(buf != NULL, "cannot read %s", path.ptr)) {
            rc = check_input(path.ptr, buf, len, fmt);
            if (prefix[0] == 'y')
                PREX_CHECK(rc == PREX_EV_EOF, "%s: a y_ case, but prex rejects it",
                           path.ptr);
        }
        free(buf);
        prex_test_str_free(&path);
    }
    prex_test_free_list(names);
}

static void test_corpus_valid(void)
{
    run_corpus("y_");
}

static void test_corpus_other(void)
{
    run_corpus("n_");
    run_corpus("i_");
}

/* MARK: the harness itself */

/* The chunked driver on a hand-made input: every cut of a three-line
 * text gives the one-shot log, and a log of the expected shape. */
static void test_chunked_driver(void)
{
    static const char in[] = "# TYPE a counter\na{b=\"c\"} 1 2\na 3\n";
    size_t len = sizeof in - 1;
    prex_test_str whole = {0}, log = {0};
    size_t cuts[3] = {5, 20, 31};
    int rc;

    rc = prex_test_evlog(in, len, PREX_FORMAT_TEXT, 0, &whole);
    PREX_CHECK(rc == PREX_EV_EOF, "one-shot parse returned %d", rc);
    PREX_CHECK(whole.ptr != NULL &&
                   strcmp(whole.ptr,
                          "@0 TYPE \"a\" counter\n"
                          "@17 SAMPLE \"a\" fam=\"a\" sfx=none type=counter "
                          "{\"b\"=\"c\"} 1=1 ts=2\n"
                          "@30 SAMPLE \"a\" fam=\"a\" sfx=none type=counter "
                          "{} 3=3 ts=-\n"
                          "@34 EOF\n") == 0,
               "one-shot log:\n%s", whole.ptr ? whole.ptr : "");
    rc = prex_test_evlog_chunked(in, len, PREX_FORMAT_TEXT, 0, cuts, 3, &log);
    PREX_CHECK(rc == PREX_EV_EOF, "chunked parse returned %d", rc);
    PREX_ASSERT_LOG_EQ("chunked 5/20/31", &log, &whole);
    prex_test_str_free(&whole);
    prex_test_str_free(&log);
}

static CU_TestInfo split_tests[] = {
    {"chunked_driver", test_chunked_driver},
    {"conformance_accepted", test_conformance_accepted},
    {"conformance_rejected", test_conformance_rejected},
    {"corpus_valid", test_corpus_valid},
    {"corpus_other", test_corpus_other},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo prex_split_suites[] = {
    {.pName = "split", .pTests = split_tests},
    CU_SUITE_INFO_NULL,
};

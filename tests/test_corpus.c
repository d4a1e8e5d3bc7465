/*
 * test_corpus.c - runs the shared case collection corpus/ through the
 * parser: y_ cases must reach EOF, n_ cases must end in an error, i_ cases
 * may do either, and whenever a case has a hand-written <case>.events file
 * beside it the produced event log must equal it byte for byte.
 *
 * The file name says everything about a case (corpus/README.md):
 * <y|n|i>_<topic>.prom is text format, <y|n|i>_<topic>.om is OpenMetrics,
 * both parsed strictly (flags 0). The tests run from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "prex.h"
#include "testlib.h"

#define CORPUS_DIR "corpus"

/* What a file name in corpus/ is. */
typedef enum entry_kind {
    ENTRY_OTHER = 0, /* not part of the scheme */
    ENTRY_CASE,      /* an input: <v>_<topic>.prom or .om */
    ENTRY_EVENTS,    /* an expected log: <input name>.events */
    ENTRY_README     /* README.md */
} entry_kind;

/* MARK: names */

/* Nonzero when the NUL-terminated s ends with the NUL-terminated suffix. */
static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/*
 * Classifies one directory entry by its name.
 *   name:    the entry's file name (our own listing, NUL-terminated).
 *   verdict: OUT: 'y', 'n' or 'i' for a case or an events file, else 0.
 *   fmt:     OUT: the input's format (case and events file), else TEXT.
 * A case name needs a verdict prefix, a non-empty topic and an extension;
 * an events file is a case name followed by ".events".
 */
static entry_kind classify(const char *name, char *verdict, prex_format *fmt)
{
    size_t n = strlen(name), base;
    entry_kind kind = ENTRY_CASE;

    *verdict = 0;
    *fmt = PREX_FORMAT_TEXT;
    if (strcmp(name, "README.md") == 0)
        return ENTRY_README;
    if (ends_with(name, ".events")) {
        kind = ENTRY_EVENTS;
        n -= sizeof ".events" - 1;
    }
    if (n >= 5 && memcmp(name + n - 5, ".prom", 5) == 0) {
        base = n - 5;
    } else if (n >= 3 && memcmp(name + n - 3, ".om", 3) == 0) {
        base = n - 3;
        *fmt = PREX_FORMAT_OPENMETRICS;
    } else {
        return ENTRY_OTHER;
    }
    if (base < 3 || name[1] != '_' ||
        (name[0] != 'y' && name[0] != 'n' && name[0] != 'i'))
        return ENTRY_OTHER;
    *verdict = name[0];
    return kind;
}

/* Builds "corpus/<name>" (suffix appended when not NULL) into *out. */
static void corpus_path(prex_test_str *out, const char *name, const char *suffix)
{
    prex_test_str_clear(out);
    prex_test_str_puts(out, CORPUS_DIR "/");
    prex_test_str_puts(out, name);
    if (suffix)
        prex_test_str_puts(out, suffix);
}

/* Nonzero when name is one of the n names of the sorted listing. */
static int listed(char **list, size_t n, const char *name)
{
    size_t lo = 0, hi = n, mid;
    int c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = strcmp(list[mid], name);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/*
 * Returns the last line of a log (without its "\n") as a slice into it, or
 * an empty slice for an empty log.
 */
static prex_slice last_line(const prex_test_str *log)
{
    prex_slice s = {0};
    size_t end, start;

    if (!log->ptr || log->len == 0)
        return s;
    end = log->len;
    if (log->ptr[end - 1] == '\n')
        end--;
    start = end;
    while (start > 0 && log->ptr[start - 1] != '\n')
        start--;
    s.ptr = log->ptr + start;
    s.len = end - start;
    return s;
}

/* Nonzero when the slice s contains the NUL-terminated needle. */
static int slice_contains(prex_slice s, const char *needle)
{
    size_t m = strlen(needle), i;

    for (i = 0; i + m <= s.len; i++)
        if (memcmp(s.ptr + i, needle, m) == 0)
            return 1;
    return 0;
}

/* MARK: expected logs */

/*
 * Checks that an expected log is written in the event-log shape: every
 * line starts with '@' and a decimal offset followed by a blank, ends in
 * "\n", and the last line is the EOF line ('y') or an ERROR line ('n');
 * for 'i' it must be one of the two. Records a failure naming the file and
 * the problem; returns nonzero if well formed.
 */
static int check_events_shape(const char *name, const prex_test_str *ev,
                              char verdict)
{
    size_t pos = 0, ln = 1, j;
    prex_slice last;
    int is_eof, is_error;

    if (!PREX_CHECK(ev->len > 0 && ev->ptr[ev->len - 1] == '\n',
                    "%s: empty or not ending in a newline", name))
        return 0;
    while (pos < ev->len) {
        j = pos;
        if (ev->ptr[j] == '@')
            for (j++; j < ev->len && ev->ptr[j] >= '0' && ev->ptr[j] <= '9'; j++)
                ;
        if (!PREX_CHECK(j > pos + 1 && j < ev->len && ev->ptr[j] == ' ',
                        "%s:%zu: a line must start with @<offset> and a blank",
                        name, ln))
            return 0;
        while (pos < ev->len && ev->ptr[pos] != '\n')
            pos++;
        pos++;
        ln++;
    }
    last = last_line(ev);
    is_eof = last.len >= 4 && memcmp(last.ptr + last.len - 4, " EOF", 4) == 0;
    is_error = slice_contains(last, " ERROR ");
    if (verdict == 'y')
        return PREX_CHECK(is_eof, "%s: a y_ log must end with the EOF line", name);
    if (verdict == 'n')
        return PREX_CHECK(is_error, "%s: an n_ log must end with an ERROR line",
                          name);
    return PREX_CHECK(is_eof || is_error,
                      "%s: the log must end with an EOF or ERROR line", name);
}

/* MARK: tests */

/*
 * The collection itself: the folder exists, every entry follows the naming
 * scheme, every .events file has its input beside it and is well formed,
 * and each verdict class has cases.
 */
static void test_layout(void)
{
    size_t n = 0, i, counts[3] = {0, 0, 0};
    char **list = prex_test_list_dir(CORPUS_DIR, &n);
    prex_test_str path = {0}, input = {0};
    char verdict, *buf;
    prex_format fmt;
    entry_kind kind;
    size_t len;

    if (!PREX_CHECK(list != NULL, "cannot list " CORPUS_DIR "/ (run from the "
                                  "repository root)"))
        return;
    for (i = 0; i < n; i++) {
        kind = classify(list[i], &verdict, &fmt);
        PREX_CHECK(kind != ENTRY_OTHER,
                   "%s: name outside the scheme <y|n|i>_<topic>.<prom|om>"
                   "[.events]", list[i]);
        if (kind == ENTRY_CASE)
            counts[verdict == 'y' ? 0 : verdict == 'n' ? 1 : 2]++;
        if (kind != ENTRY_EVENTS)
            continue;
        prex_test_str_clear(&input);
        prex_test_str_append(&input, list[i],
                             strlen(list[i]) - (sizeof ".events" - 1));
        PREX_CHECK(listed(list, n, input.ptr), "%s: no input %s beside it",
                   list[i], input.ptr);
        corpus_path(&path, list[i], NULL);
        buf = prex_test_read_file(path.ptr, &len);
        if (PREX_CHECK(buf != NULL, "%s: cannot read", path.ptr)) {
            prex_test_str ev = {buf, len, len + 1};
            check_events_shape(list[i], &ev, verdict);
        }
        free(buf);
    }
    PREX_CHECK(counts[0] > 0, "no y_ cases in " CORPUS_DIR "/");
    PREX_CHECK(counts[1] > 0, "no n_ cases in " CORPUS_DIR "/");
    prex_test_str_free(&path);
    prex_test_str_free(&input);
    prex_test_free_list(list);
}

/*
 * Parses one case and checks it against its verdict and, if present, its
 * expected log.
 *   name:    the case's file name; verdict and fmt as classify() gave them.
 * Failures are recorded with the case name; the case never aborts the run.
 */
static void run_case(const char *name, char verdict, prex_format fmt)
{
    prex_test_str path = {0}, log = {0}, what = {0};
    char *buf, *expected;
    size_t len, elen;
    prex_slice last;
    int rc;

    corpus_path(&path, name, NULL);
    buf = prex_test_read_file(path.ptr, &len);
    if (!PREX_CHECK(buf != NULL, "%s: cannot read", path.ptr)) {
        prex_test_str_free(&path);
        return;
    }
    rc = prex_test_evlog(buf, len, fmt, 0, &log);
    last = last_line(&log);
    if (verdict == 'y')
        PREX_CHECK(rc == PREX_EV_EOF, "%s: must parse, but the log ends with: %.*s",
                   name, (int)last.len, last.ptr ? last.ptr : "");
    else if (verdict == 'n')
        PREX_CHECK(rc == PREX_ERROR, "%s: must be rejected, but the log ends "
                   "with: %.*s", name, (int)last.len, last.ptr ? last.ptr : "");
    else
        PREX_CHECK(rc == PREX_EV_EOF || rc == PREX_ERROR,
                   "%s: parse ended with %d, neither EOF nor an error; the log "
                   "ends with: %.*s", name, rc, (int)last.len,
                   last.ptr ? last.ptr : "");

    corpus_path(&path, name, ".events");
    expected = prex_test_read_file(path.ptr, &elen);
    if (expected) {
        prex_test_str want = {expected, elen, elen + 1};
        prex_test_str_printf(&what, "%s (expected %s)", name, path.ptr);
        PREX_ASSERT_LOG_EQ(what.ptr, &log, &want);
        free(expected);
    }
    free(buf);
    prex_test_str_free(&path);
    prex_test_str_free(&log);
    prex_test_str_free(&what);
}

/* Runs every case of one verdict class ('y', 'n' or 'i'). */
static void run_class(char want)
{
    size_t n = 0, i, ran = 0;
    char **list = prex_test_list_dir(CORPUS_DIR, &n);
    char verdict;
    prex_format fmt;

    if (!PREX_CHECK(list != NULL, "cannot list " CORPUS_DIR "/"))
        return;
    for (i = 0; i < n; i++) {
        if (classify(list[i], &verdict, &fmt) != ENTRY_CASE || verdict != want)
            continue;
        run_case(list[i], verdict, fmt);
        ran++;
    }
    if (want != 'i')
        PREX_CHECK(ran > 0, "no %c_ cases ran", want);
    prex_test_free_list(list);
}

static void test_valid(void)
{
    run_class('y');
}

static void test_invalid(void)
{
    run_class('n');
}

static void test_either(void)
{
    run_class('i');
}

static CU_TestInfo corpus_tests[] = {
    {"layout", test_layout},
    {"valid", test_valid},
    {"invalid", test_invalid},
    {"implementation_defined", test_either},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo prex_corpus_suites[] = {
    {.pName = "corpus",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = corpus_tests},
    CU_SUITE_INFO_NULL,
};

/*
 * testlib.h - shared support for the CUnit suites: a growable string, file
 * reading, the event-log writer (one-shot and chunked), slice and message
 * asserts, guard-page buffers, and the location of the shared spec folder.
 *
 * The event log is the common currency of the parser tests: one line per
 * event returned by prex_next(), in the format that corpus/<case>.events
 * files are written in by hand, so every line here is part of a contract:
 *
 *     @<offset> HELP <name> <text>
 *     @<offset> TYPE <name> <typename>
 *     @<offset> UNIT <name> <text>
 *     @<offset> COMMENT <text>
 *     @<offset> SAMPLE <name> fam=<family> sfx=<suffix> type=<typename>
 *               {<lname>=<lvalue>,...} <value_raw>=<%.17g> ts=<ms or ->
 *               [ # {<labels>} <value_raw>=<%.17g> ts=<ms or ->]
 *     @<offset> EOF
 *     @<offset> ERROR <ERRNAME> <line>:<column>      (last line on error)
 *
 * (a SAMPLE is one line; it is wrapped above for reading). Names, texts,
 * label names and values are the raw slice bytes in double quotes, with
 * bytes < 0x20 and 0x7f written \xHH (upper-case hex).
 */
#ifndef PREX_TESTLIB_H
#define PREX_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "prex.h"

/* MARK: suite tables */

/* Each tests/test_<module>.c exports one NULL-terminated suite table
 * (ending in CU_SUITE_INFO_NULL); tests/main.c registers them all. */
extern CU_SuiteInfo prex_conformance_suites[];
extern CU_SuiteInfo prex_split_suites[];
extern CU_SuiteInfo prex_parser_suites[];
extern CU_SuiteInfo prex_corpus_suites[];
extern CU_SuiteInfo prex_write_suites[];
extern CU_SuiteInfo prex_merge_suites[];
extern CU_SuiteInfo prex_lexer_suites[];
extern CU_SuiteInfo prex_relabel_suites[];
extern CU_SuiteInfo prex_push_suites[];

/* MARK: growable string */

/* A heap string: ptr[0..len) plus a NUL at ptr[len] whenever ptr != NULL.
 * Zero-initialised ({0}) is a valid empty string. */
typedef struct prex_test_str {
    char *ptr;
    size_t len;
    size_t cap;
} prex_test_str;

/* Makes room for n more bytes (plus the NUL); aborts when out of memory. */
void prex_test_str_reserve(prex_test_str *s, size_t n);
/* Appends p[0..n). p may contain NUL bytes. */
void prex_test_str_append(prex_test_str *s, const char *p, size_t n);
/* Appends the NUL-terminated string z (a literal or our own text). */
void prex_test_str_puts(prex_test_str *s, const char *z);
/* Appends one byte. */
void prex_test_str_putc(prex_test_str *s, char c);
/* Appends printf-style formatted text. */
void prex_test_str_printf(prex_test_str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Empties the string, keeping its memory. */
void prex_test_str_clear(prex_test_str *s);
/* Releases the memory; the string is empty ({0}) afterwards. */
void prex_test_str_free(prex_test_str *s);
/* Appends p[0..n) with bytes < 0x20 and 0x7f as \xHH, others as they are
 * (the event-log quoting, without the surrounding quotes). */
void prex_test_str_put_visible(prex_test_str *s, const char *p, size_t n);
/* Appends a double as the event logs write it: %.17g, NaN, +Inf, -Inf. */
void prex_test_str_put_double(prex_test_str *s, double v);

/* MARK: files and places */

/*
 * Reads the whole file at path.
 *   len: OUT: its size in bytes (may be NULL).
 * Returns a malloc'd buffer of *len + 1 bytes whose last byte is '\0' (the
 * parser's sentinel), or NULL if the file cannot be read (errno is set).
 * The caller frees it.
 */
char *prex_test_read_file(const char *path, size_t *len);

/* The shared folder holding spec/ and conformance/: $PREX_SHARED if set
 * and non-empty, else "../shared" (relative to the current directory; the
 * tests run from the repository root). Static string, never NULL. */
const char *prex_test_shared_dir(void);

/* Nonzero when path names an existing directory. */
int prex_test_is_dir(const char *path);

/*
 * Lists the entries of directory dir (without "." and ".."), sorted
 * bytewise. Returns a malloc'd array of malloc'd names, terminated by
 * NULL, and sets *n to their number; NULL if the directory cannot be
 * opened. Free with prex_test_free_list().
 */
char **prex_test_list_dir(const char *dir, size_t *n);
void prex_test_free_list(char **list);

/* MARK: conformance cases */

/* One case directory of $PREX_SHARED/conformance, read whole. Every
 * buffer is malloc'd with a trailing NUL; absent files are NULL. */
typedef struct prex_test_case {
    char *name;           /* directory name, e.g. "003-expfmt-counters-..." */
    char *path;           /* the directory's path */
    prex_format format;   /* from "format" */
    int valid;            /* "verdict" is "valid" */
    int legacy_valid;     /* "verdict-legacy" if present, else valid */
    int has_legacy;       /* "verdict-legacy" exists */
    char *input;          /* "input.txt" */
    size_t input_len;
    char *refs;           /* "reference-verdicts" */
    size_t refs_len;
    char *expected;       /* "expected.txt" */
    size_t expected_len;
    char *meta;           /* "expected-meta.txt" */
    size_t meta_len;
} prex_test_case;

/*
 * Reads every case directory under <shared>/conformance, sorted by name.
 *   n:   OUT: the number of cases.
 *   why: OUT: on failure, a malloc'd message the caller frees.
 * Returns a malloc'd array, or NULL when the folder is missing or a case
 * lacks a readable format, verdict or input.txt. Free the array with
 * prex_test_free_cases().
 */
prex_test_case *prex_test_load_cases(size_t *n, char **why);
void prex_test_free_cases(prex_test_case *cases, size_t n);

/* The answer of reference parser `parser` (e.g.
 * "expfmt.TextParser(UTF8Validation)") in the case's reference-verdicts:
 * 1 valid, 0 invalid, -1 not listed. */
int prex_test_ref_verdict(const prex_test_case *c, const char *parser);

/* Nonzero when at least one reference parser gives answer valid (1/0). */
int prex_test_ref_any(const prex_test_case *c, int valid);

/* MARK: event log */

/* Appends the log line (with its "\n") of one event ev as returned by
 * prex_next(). */
void prex_test_evlog_event(prex_test_str *out, const prex_event *ev);

/* Appends the final "@<offset> ERROR <NAME> <line>:<column>\n" line for the
 * parser's current error. */
void prex_test_evlog_error(prex_test_str *out, const prex_parser *p);

/*
 * Parses buf[0..len) (buf[len] must be '\0') one-shot with prex_finish()
 * called first, appending the log to *out. Returns the last prex_next()
 * result (PREX_EV_EOF or PREX_ERROR).
 */
int prex_test_evlog(const char *buf, size_t len, prex_format fmt, unsigned flags,
                    prex_test_str *out);

/*
 * Same parse, but fed in pieces the way a streaming caller does it:
 *   buf, len:  the whole input (buf[len] need not be '\0').
 *   cuts:      ncuts offsets, strictly increasing, each in (0, len); the
 *              pieces are [0,cuts[0]), [cuts[0],cuts[1]), ..., [cuts[n-1],len).
 *   out:       OUT: the log is appended here.
 * The parser first sees a fresh heap copy of the first piece. Each time it
 * returns PREX_NEED_MORE, the unconsumed tail (from prex_parser_consumed())
 * and the next piece are copied into a fresh heap buffer (the old one is
 * freed), and prex_parser_refill() is called; prex_finish() follows the
 * refill that hands over the last piece. The log must equal the one-shot
 * log byte for byte. Returns the last prex_next() result; a PREX_NEED_MORE
 * after prex_finish() (which would be a parser bug) ends the parse and is
 * returned as it is.
 */
int prex_test_evlog_chunked(const char *buf, size_t len, prex_format fmt,
                            unsigned flags, const size_t *cuts, size_t ncuts,
                            prex_test_str *out);

/*
 * Parses buf[0..len) (buf[len] == '\0') WITHOUT prex_finish(), logging the
 * events to *out until the first return value that is not an event kind.
 * Returns that value: a valid proper prefix of an input must give
 * PREX_NEED_MORE (PREX_ERROR or PREX_EV_EOF would be wrong).
 */
int prex_test_evlog_unfinished(const char *buf, size_t len, prex_format fmt,
                               unsigned flags, prex_test_str *out);

/* Names used in the log: typename by prex_type, suffix by prex_suffix
 * ("?" when out of range). */
const char *prex_test_type_name(int type);
const char *prex_test_suffix_name(int suffix);

/* MARK: guard pages */

/*
 * A copy of an input placed so that its sentinel NUL is the very last byte
 * before a PROT_NONE page (and a PROT_NONE page precedes the mapping's
 * data pages too): any read past buf[len] or before the pages faults.
 */
typedef struct prex_test_guard {
    char *buf;     /* the copy: buf[0..len) then '\0' */
    size_t len;
    void *map;     /* the whole mapping */
    size_t maplen;
} prex_test_guard;

/* Maps the guard pages and copies in[0..len) in. Aborts if mmap or
 * mprotect fails (the test cannot run without them). */
void prex_test_guard_init(prex_test_guard *g, const char *in, size_t len);
/* Unmaps the copy. */
void prex_test_guard_free(prex_test_guard *g);

/* MARK: asserts */

/* Records a failed CUnit assert with a printf-formatted message (CUnit
 * copies it). Returns 0 so it can end a check. */
int prex_test_fail(const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a passed CUnit assert (keeps the assert counts honest).
 * Returns 1. */
int prex_test_pass(const char *file, unsigned line);

/* Checks cond; on failure records the formatted message. Evaluates to
 * cond's truth value. */
#define PREX_CHECK(cond, ...)                                                  \
    ((cond) ? prex_test_pass(__FILE__, __LINE__)                               \
            : prex_test_fail(__FILE__, __LINE__, __VA_ARGS__))

/* Compares two byte ranges (length, then memcmp). On failure records a
 * message naming both, quoted as in the event log. Returns nonzero if
 * equal. what names the comparison in the message. */
int prex_test_slice_eq(const char *file, unsigned line, const char *what,
                       const char *got, size_t got_len,
                       const char *want, size_t want_len, int fatal);

/* The slice assert: slice is a prex_slice, (want, want_len) the expected
 * bytes. */
#define PREX_ASSERT_SLICE_EQ(slice, want, want_len)                            \
    prex_test_slice_eq(__FILE__, __LINE__, #slice, (slice).ptr, (slice).len,   \
                       (want), (want_len), 0)

/* Same with a string literal as the expected value. */
#define PREX_ASSERT_SLICE_STR(slice, lit)                                      \
    PREX_ASSERT_SLICE_EQ(slice, "" lit, sizeof(lit) - 1)

/* Fatal variant: prints both values to stderr and calls abort(). */
#define PREX_ASSERT_SLICE_EQ_FATAL(slice, want, want_len)                      \
    prex_test_slice_eq(__FILE__, __LINE__, #slice, (slice).ptr, (slice).len,   \
                       (want), (want_len), 1)

/* Fatal condition assert: prints and calls abort() (CUnit's
 * own fatal assert leaves through longjmp and skips cleanup). */
#define PREX_ASSERT_FATAL(cond)                                                \
    do {                                                                       \
        if (!(cond))                                                           \
            prex_test_abort(__FILE__, __LINE__, #cond);                        \
    } while (0)

void prex_test_abort(const char *file, unsigned line, const char *what)
    __attribute__((noreturn));

/* Compares two logs; on failure records a message with the first
 * differing line of each. Returns nonzero if equal. */
int prex_test_log_eq(const char *file, unsigned line, const char *what,
                     const prex_test_str *got, const prex_test_str *want);

#define PREX_ASSERT_LOG_EQ(what, got, want)                                    \
    prex_test_log_eq(__FILE__, __LINE__, (what), (got), (want))

#endif /* PREX_TESTLIB_H */

/*
 * fuzzlib.h - support shared by the fuzz targets: the configuration byte at
 * the front of every input, a checking (and optionally failing) allocator,
 * the event log, and the invariants every event and error must satisfy.
 *
 * Every check failure prints what went wrong to stderr and calls abort(),
 * which libFuzzer (and the standalone replay driver) reports as a crash.
 *
 * The configuration byte (byte 0 of every fuzz input):
 *
 *     bit 0     format: 0 text 0.0.4, 1 OpenMetrics 1.0
 *     bit 1     PREX_LENIENT_TRAILING_SPACE
 *     bit 2     PREX_LENIENT_CRLF
 *     bit 3     PREX_LENIENT_MISSING_NEWLINE
 *     bit 4     PREX_LEGACY_NAMES
 *     bits 5-6  allocator: 0 checking, 1 none (NULL: set checks off),
 *               2 checking with a failure budget, 3 prex_alloc_libc
 *     bit 7     small limits (PREX_FUZZ_SMALL_* below)
 */
#ifndef PREX_FUZZLIB_H
#define PREX_FUZZLIB_H

#include <stddef.h>
#include <stdint.h>

#include "prex.h"

/* The small limits selected by bit 7 of the configuration byte. They are
 * low enough for short fuzz inputs to cross each one. */
#define PREX_FUZZ_SMALL_LINE        80
#define PREX_FUZZ_SMALL_LABELS      3
#define PREX_FUZZ_SMALL_LABEL_VALUE 8
#define PREX_FUZZ_SMALL_BYTES       512

/* How many times a target calls prex_parser_recover() per input. */
#define PREX_FUZZ_MAX_RECOVER 32

enum {
    PREX_FUZZ_ALLOC_CHECKING = 0,
    PREX_FUZZ_ALLOC_NONE = 1,
    PREX_FUZZ_ALLOC_FAILING = 2,
    PREX_FUZZ_ALLOC_LIBC = 3
};

/* The decoded configuration byte. */
typedef struct prex_fuzz_config {
    prex_format format;
    unsigned flags;      /* PREX_LENIENT_* | PREX_LEGACY_NAMES */
    int alloc_mode;      /* PREX_FUZZ_ALLOC_* */
    int small_limits;
} prex_fuzz_config;

/* Decodes a configuration byte. */
prex_fuzz_config prex_fuzz_config_decode(unsigned char byte);

/*
 * An allocator behind the prex_alloc interface that checks how the library
 * uses it: every block carries its size, so a realloc() or free() of a
 * pointer it did not hand out, or a realloc() whose old_size is not the
 * block's size, aborts. With a budget, the allocation that would exceed
 * it fails (returns NULL) instead, and so does every later one.
 */
typedef struct prex_fuzz_alloc {
    prex_alloc alc;       /* the interface; ctx points back here */
    size_t live;          /* blocks handed out and not freed */
    size_t calls;         /* successful malloc/realloc calls */
    size_t budget;        /* calls allowed; (size_t)-1 for no limit */
    size_t refused;       /* calls refused because of the budget */
} prex_fuzz_alloc;

/* Starts a checking allocator allowing budget successful calls. */
void prex_fuzz_alloc_init(prex_fuzz_alloc *a, size_t budget);

/* Aborts unless every block was freed. */
void prex_fuzz_alloc_check_empty(const prex_fuzz_alloc *a);

/*
 * Applies a configuration to a freshly initialised parser: limits and the
 * allocator. a is the checking allocator to use for the modes that need
 * one (it must outlive the parser). with_max_bytes: whether the small
 * limits include PREX_FUZZ_SMALL_BYTES (a streamed input reaches that
 * limit at a different event than a one-shot one, so the split target
 * leaves it out).
 */
void prex_fuzz_setup(prex_parser *p, const prex_fuzz_config *cfg,
                     prex_fuzz_alloc *a, int with_max_bytes);

/* MARK: growable string */

/* A heap string; zero-initialised ({0}) is a valid empty string. Aborts
 * when out of memory. ptr[len] is '\0' whenever ptr is not NULL. */
typedef struct prex_fuzz_str {
    char *ptr;
    size_t len;
    size_t cap;
} prex_fuzz_str;

/* An exact-size heap copy of p[0..n) with the NUL sentinel the parser
 * needs at n, so that ASan sees any read past it; NULL when memory runs
 * out. */
char *prex_fuzz_copy(const uint8_t *p, size_t n);

void prex_fuzz_str_append(prex_fuzz_str *s, const char *p, size_t n);
void prex_fuzz_str_printf(prex_fuzz_str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends a double: %.17g, or NaN, +Inf, -Inf (equal values print equal). */
void prex_fuzz_put_double(prex_fuzz_str *s, double v);
void prex_fuzz_str_free(prex_fuzz_str *s);

/* MARK: event log */

/* Appends the event-log line of one event (corpus/README.md gives the
 * format: names, texts and values as raw bytes in quotes, control bytes
 * as \xHH). */
void prex_fuzz_log_event(prex_fuzz_str *out, const prex_event *ev);

/* Appends "@<offset> ERROR <NAME> <line>:<column>\n" for the parser's
 * current error. */
void prex_fuzz_log_error(prex_fuzz_str *out, const prex_parser *p);

/* MARK: invariants */

/* What the checker remembers between the events of one parse. */
typedef struct prex_fuzz_track {
    uint64_t total;       /* length of the whole input (stream bytes) */
    int have_prev;
    uint64_t prev_offset; /* offset and line of the last event */
    uint64_t prev_line;
    prex_format format;
    size_t max_labels;    /* the label limit in force */
} prex_fuzz_track;

/* Starts tracking a parse of total bytes in format fmt under cfg. */
void prex_fuzz_track_init(prex_fuzz_track *t, uint64_t total,
                          const prex_fuzz_config *cfg);

/*
 * Checks one event returned by prex_next().
 *   buf, len: the buffer the parser holds now (buf[len] == '\0').
 *   base:     the stream offset of buf[0].
 * Checks that the kind, type and suffix are in range; that every slice of
 * the event lies inside its own line of buf; that a sample's family is a
 * prefix of its name and the suffix makes up the rest; that offsets and
 * line numbers strictly increase; and that the helpers (prex_unescape,
 * prex_type_name, prex_suffix_len) behave on the event's slices.
 */
void prex_fuzz_check_event(prex_fuzz_track *t, const char *buf, size_t len,
                           uint64_t base, const prex_event *ev);

/*
 * Checks the parser's current error after PREX_ERROR: a known code other
 * than PREX_E_OK, non-NULL message and detail, an offset inside the
 * input, 1-based line and column. When whole is not NULL it is the whole
 * input (one-shot parse) and line:column must be where prex_locate()
 * puts the offset.
 */
void prex_fuzz_check_error(const prex_fuzz_track *t, const prex_parser *p,
                           const char *whole);

/* Prints "prex fuzz: <message>" to stderr and aborts. */
void prex_fuzz_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Prints a log to stderr under a heading. */
void prex_fuzz_dump(const char *heading, const prex_fuzz_str *log);

/* Whether an OpenMetrics body written from text input may fail its own
 * parse with code: a rule OpenMetrics has and text 0.0.4 has not
 * (docs/cli.md); any other code is a writer bug. */
int prex_fuzz_om_only_rule(int code);

/* The libFuzzer entry point every target defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* PREX_FUZZLIB_H */

/*
 * prex.h - public API of libprex's parser.
 *
 * A zero-copy pull parser and validator for the Prometheus text exposition
 * format (0.0.4, with the UTF-8 quoted-name extension) and OpenMetrics 1.0
 * text. The parser reads a caller-owned buffer, hands out events whose
 * slices point into that buffer, and never copies label values.
 *
 * Usage recipe (whole input in memory):
 *
 *     prex_parser p;
 *     prex_event ev;
 *     int rc;
 *     prex_parser_init(&p, buf, len, PREX_FORMAT_TEXT, 0);  // buf[len] == '\0'
 *     prex_finish(&p);                                      // nothing more comes
 *     while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF)
 *         use(&ev);
 *     if (rc == PREX_ERROR) report(prex_parser_error(&p));
 *     prex_parser_free(&p);
 *
 * Usage recipe (streaming): read a chunk, call prex_next() until it returns
 * PREX_NEED_MORE, move the unconsumed tail (from prex_parser_consumed()) to the
 * front of the buffer, append the next chunk, keep buf[len] == '\0', and call
 * prex_parser_refill(). At end of input call prex_finish() and drain.
 *
 * SLICE LIFETIME: every slice and pointer in a prex_event stays valid until
 * the next call of prex_next(), prex_parser_refill() or prex_parser_free()
 * on the same parser, or until the caller moves or frees the buffer.
 */
#ifndef PREX_H
#define PREX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MARK: compile-time options */

/* Label slots kept inside prex_parser (for the sample and for its
 * exemplar). Each slot costs 40 bytes of parser state. The runtime limit
 * (prex_limits.max_labels) can only lower it. */
#ifndef PREX_MAX_LABELS
#define PREX_MAX_LABELS 128
#endif

/* Longest metric family name the validator remembers across lines (it is
 * copied, because the line that named it may be compacted away). Costs its
 * size in parser state; longer names fail with PREX_E_LIMIT_NAME. */
#ifndef PREX_MAX_NAME
#define PREX_MAX_NAME 1024
#endif

/* Size of the "expected X, found Y" detail buffer in the parser. */
#ifndef PREX_DETAIL_MAX
#define PREX_DETAIL_MAX 200
#endif

#define PREX_VERSION "0.1.0"

/* MARK: basic types */

/* A slice of bytes. Never assumed to be NUL-terminated. */
typedef struct prex_slice {
    const char *ptr;
    size_t len;
} prex_slice;

typedef enum prex_format {
    PREX_FORMAT_TEXT = 0,        /* text 0.0.4 and the UTF-8 quoted-name text 1.0.0 */
    PREX_FORMAT_OPENMETRICS = 1  /* OpenMetrics 1.0 text */
} prex_format;

/* Parser flags. Strict by default: each PREX_LENIENT_* flag tolerates one
 * documented real-world deviation (docs/format.md says exactly what each
 * accepts); the writer normalises it away on output. */
#define PREX_LENIENT_TRAILING_SPACE  (1u << 0) /* blanks before a line end are ignored */
#define PREX_LENIENT_CRLF            (1u << 1) /* "\r\n" ends a line like "\n" */
#define PREX_LENIENT_MISSING_NEWLINE (1u << 2) /* last line may lack its "\n" (text) */
#define PREX_LENIENT_ALL             (PREX_LENIENT_TRAILING_SPACE | PREX_LENIENT_CRLF | \
                                      PREX_LENIENT_MISSING_NEWLINE)
/* Names must match the legacy character sets even when quoted, as the
 * Pushgateway requires unless started with --push.enable-utf8-names. */
#define PREX_LEGACY_NAMES            (1u << 8)

/* Metric types. PREX_TYPE_UNTYPED is "untyped" in text and "unknown" in
 * OpenMetrics; a family without a TYPE line has it. */
typedef enum prex_type {
    PREX_TYPE_UNTYPED = 0,
    PREX_TYPE_COUNTER,
    PREX_TYPE_GAUGE,
    PREX_TYPE_HISTOGRAM,
    PREX_TYPE_GAUGEHISTOGRAM,
    PREX_TYPE_SUMMARY,
    PREX_TYPE_INFO,
    PREX_TYPE_STATESET
} prex_type;

/* The role of a sample inside its family: which suffix its name carries
 * relative to the family name. */
typedef enum prex_suffix {
    PREX_SUFFIX_NONE = 0, /* name == family name */
    PREX_SUFFIX_TOTAL,    /* _total   (OpenMetrics counter) */
    PREX_SUFFIX_CREATED,  /* _created (OpenMetrics counter, histogram, summary) */
    PREX_SUFFIX_BUCKET,   /* _bucket  (histogram, gauge histogram) */
    PREX_SUFFIX_SUM,      /* _sum     (histogram, summary; gauge histogram in text) */
    PREX_SUFFIX_COUNT,    /* _count   (histogram, summary; gauge histogram in text) */
    PREX_SUFFIX_GSUM,     /* _gsum    (OpenMetrics gauge histogram) */
    PREX_SUFFIX_GCOUNT,   /* _gcount  (OpenMetrics gauge histogram) */
    PREX_SUFFIX_INFO      /* _info    (OpenMetrics info) */
} prex_suffix;

/* Event kinds returned by prex_next() (all > 0). */
enum {
    PREX_EV_HELP = 1, /* name, text (raw help text, escapes not decoded) */
    PREX_EV_TYPE,     /* name, type, text (the type token as written) */
    PREX_EV_UNIT,     /* name, text (the unit) */
    PREX_EV_SAMPLE,   /* name, family, suffix, type, labels, value, timestamp, exemplar */
    PREX_EV_COMMENT,  /* text: the bytes after '#' (text format only) */
    PREX_EV_EOF       /* end of input; returned again on every later call */
};

/* Other return values of prex_next(). */
#define PREX_ERROR     (-1) /* see prex_parser_error(); sticky until prex_parser_recover() */
#define PREX_NEED_MORE (-2) /* only an incomplete line remains; refill or finish */

/* A label pair. name and value are the raw bytes (for a quoted name, the
 * bytes between the quotes); *_esc is nonzero when they contain backslash
 * escapes, which prex_unescape() decodes. */
typedef struct prex_label {
    prex_slice name;
    prex_slice value;
    unsigned char name_esc;
    unsigned char value_esc;
} prex_label;

/* An OpenMetrics exemplar: " # {labels} value [timestamp]". */
typedef struct prex_exemplar {
    const prex_label *labels;
    size_t nlabels;
    prex_slice value_raw;
    double value;
    int has_timestamp;
    int64_t timestamp_ms;      /* int64(seconds * 1000), truncated */
    prex_slice timestamp_raw;  /* as written (float seconds) */
} prex_exemplar;

/* One event: one line of input. Fields not listed for a kind are zeroed. */
typedef struct prex_event {
    int kind;                /* PREX_EV_* */
    uint64_t offset;         /* stream offset of the first byte of the line */
    uint64_t line;           /* 1-based line number */

    prex_slice name;         /* HELP/TYPE/UNIT: family name; SAMPLE: metric name (raw) */
    unsigned char name_esc;  /* the quoted name contains escapes */
    prex_slice text;         /* HELP text / UNIT / TYPE token / COMMENT text, raw */
    unsigned char text_esc;  /* text contains backslash escapes (HELP) */

    prex_type type;          /* TYPE: the declared type; SAMPLE: its family's type */
    prex_slice family;       /* SAMPLE: the family name, a prefix of name */
    prex_suffix suffix;      /* SAMPLE: name == family + suffix */

    const prex_label *labels; /* SAMPLE: labels in input order (no metric name) */
    size_t nlabels;

    prex_slice value_raw;    /* SAMPLE: value token as written */
    double value;            /* SAMPLE: value converted */
    int has_timestamp;
    int64_t timestamp_ms;    /* text: as written; OpenMetrics: int64(seconds * 1000) */
    prex_slice timestamp_raw;

    int has_exemplar;
    prex_exemplar exemplar;
} prex_event;

/* MARK: errors */

/*
 * The error table: name, fixed number, description. APPEND-ONLY: numbers
 * are part of the ABI and never reused. Truncated input (PREX_E_TRUNCATED,
 * PREX_E_NO_EOF) is kept apart from invalid input.
 */
#define PREX_ERRORS(X) \
    X(OK,                  0, "no error") \
    X(TRUNCATED,           1, "input ends inside a line (missing final newline)") \
    X(NO_EOF,              2, "OpenMetrics input does not end with # EOF") \
    X(AFTER_EOF,           3, "data after # EOF") \
    X(SYNTAX,              4, "syntax error") \
    X(NAME,                5, "invalid metric name") \
    X(LABEL_NAME,          6, "invalid label name") \
    X(LABEL_VALUE,         7, "invalid label value") \
    X(ESCAPE,              8, "invalid escape sequence") \
    X(UTF8,                9, "invalid UTF-8") \
    X(NEWLINE_IN_STRING,  10, "unterminated quoted string") \
    X(DUP_LABEL,          11, "duplicate label name") \
    X(RESERVED_LABEL,     12, "reserved label name") \
    X(VALUE,              13, "invalid sample value") \
    X(VALUE_RANGE,        14, "sample value out of range") \
    X(TIMESTAMP,          15, "invalid timestamp") \
    X(TIMESTAMP_RANGE,    16, "timestamp out of range") \
    X(TRAILING,           17, "unexpected text at end of line") \
    X(TRAILING_BLANK,     18, "trailing whitespace") \
    X(CR,                 19, "carriage return in line end (CRLF)") \
    X(NUL,                20, "NUL byte outside a quoted string") \
    X(TYPE,               21, "unknown metric type") \
    X(HELP,               22, "invalid HELP line") \
    X(UNIT,               23, "invalid UNIT line") \
    X(COMMENT,            24, "comment not allowed") \
    X(BLANK_LINE,         25, "blank line not allowed") \
    X(DUP_HELP,           26, "second HELP line for metric family") \
    X(DUP_TYPE,           27, "second TYPE line for metric family") \
    X(DUP_UNIT,           28, "second UNIT line for metric family") \
    X(META_AFTER_SAMPLES, 29, "metadata after the family's samples") \
    X(NOT_CONTIGUOUS,     30, "metric family is not contiguous") \
    X(DUP_SERIES,         31, "duplicate series") \
    X(INTERLEAVED,        32, "metric points interleaved with another metric") \
    X(TS_ORDER,           33, "timestamps of a metric go backwards") \
    X(SUFFIX,             34, "sample name not allowed for the family's type") \
    X(NAME_CLASH,         35, "sample name clashes with another family") \
    X(LE,                 36, "invalid or missing le label") \
    X(LE_ORDER,           37, "histogram buckets out of order") \
    X(INF_BUCKET,         38, "histogram without a +Inf bucket") \
    X(BUCKET_VALUE,       39, "invalid histogram bucket value") \
    X(COUNT_MISMATCH,     40, "_count differs from the +Inf bucket") \
    X(QUANTILE,           41, "invalid or missing quantile label") \
    X(NEGATIVE,           42, "negative value not allowed here") \
    X(NAN_VALUE,          43, "NaN not allowed here") \
    X(RESERVED_FOR_TYPE,  44, "label name reserved for this metric type") \
    X(STATESET,           45, "invalid stateset sample") \
    X(INFO,               46, "invalid info sample") \
    X(UNIT_SUFFIX,        47, "family name does not end with its unit") \
    X(EXEMPLAR,           48, "invalid exemplar") \
    X(EXEMPLAR_PLACE,     49, "exemplar not allowed on this sample") \
    X(EXEMPLAR_LENGTH,    50, "exemplar labels longer than 128 characters") \
    X(SUM_COUNT,          51, "histogram _sum and _count must come together") \
    X(LIMIT_LINE,         52, "line longer than the limit") \
    X(LIMIT_LABELS,       53, "more labels than the limit") \
    X(LIMIT_LABEL_VALUE,  54, "label value longer than the limit") \
    X(LIMIT_BYTES,        55, "input larger than the limit") \
    X(LIMIT_NAME,         56, "metric name longer than the limit") \
    X(NO_MEMORY,          57, "out of memory") \
    X(USAGE,              58, "API misuse") \
    X(COUNT_VALUE,        59, "_count value is not an integer")

typedef enum prex_errcode {
#define PREX_X_ENUM(name, num, desc) PREX_E_##name = num,
    PREX_ERRORS(PREX_X_ENUM)
#undef PREX_X_ENUM
    PREX_E__COUNT
} prex_errcode;

/* Details of the last error. offset, line and column point at the
 * offending byte (stream offset; 1-based line; 1-based byte column). */
typedef struct prex_error {
    int code;            /* PREX_E_* */
    uint64_t offset;
    uint64_t line;
    uint64_t column;
    const char *msg;     /* static: prex_strerror(code) */
    const char *detail;  /* "expected X, found Y"; owned by the parser; may be "" */
} prex_error;

/* Name ("DUP_LABEL") and description of an error code; never NULL. */
const char *prex_errname(int code);
const char *prex_strerror(int code);

/* MARK: allocator and limits */

/* The one allocator interface of libprex. The parser uses it only for two
 * growable hash sets (the family names seen so far, and the series of the
 * current family) that cross-line checks need: family contiguity, a second
 * HELP/TYPE, duplicate series and OpenMetrics metric interleaving. */
typedef struct prex_alloc {
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t old_size, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *ctx;
} prex_alloc;

/* malloc/realloc/free from libc. */
extern const prex_alloc prex_alloc_libc;

/* Resource limits. 0 means "no limit" (max_labels: PREX_MAX_LABELS). Each
 * exceeded limit is an error with its own code; nothing is truncated. */
typedef struct prex_limits {
    size_t max_line;         /* bytes per line, newline excluded (default 1 MiB) */
    size_t max_labels;       /* labels per series (default and cap PREX_MAX_LABELS) */
    size_t max_label_value;  /* raw bytes per label value (default 64 KiB) */
    uint64_t max_bytes;      /* total input bytes (default 0: unlimited) */
} prex_limits;

/* MARK: parser state */

/* A growable open-addressing set of 64-bit hashes (private). */
typedef struct prex__set {
    uint64_t *_slots;
    uint32_t *_vals;
    size_t _cap;
    size_t _count;
} prex__set;

/* Parser state. Transparent so it can live on the stack; every field is
 * private. prex_parser_init() is mandatory. */
typedef struct prex_parser {
    /* input */
    const char *_buf;
    size_t _len;
    size_t _pos;          /* bytes of _buf consumed (whole lines) */
    uint64_t _base;       /* stream offset of _buf[0] */
    uint64_t _line;       /* line number at _pos */
    uint64_t _lsoff;      /* stream offset of that line's first byte */
    uint64_t _lineok;     /* lines starting below this stream offset are
                           * known to be within max_line */
    int _format;
    unsigned _flags;
    int _finished;
    int _state;           /* private state machine */
    prex_limits _lim;
    const prex_alloc *_alc;

    /* errors */
    prex_error _err;
    char _detail[PREX_DETAIL_MAX];

    /* validator: the current family */
    size_t _famlen;
    int _famesc;
    uint64_t _famhash;    /* hash of the family name */
    uint64_t _snhash[PREX_SUFFIX_INFO + 1]; /* its sample names' hashes, by suffix */
    unsigned _snknown;    /* bit s: _snhash[s] is known */
    int _famopen;
    int _famimplicit;     /* opened by a sample, without metadata */
    uint64_t _grpbase;    /* hash of the family name without its suffix */
    int _famtype;
    unsigned _fammeta;    /* HELP/TYPE/UNIT seen, samples seen */
    uint32_t _famid;
    uint64_t _lastsn;     /* hash of the last sample name checked */
    /* validator: the current metric point (label set without le/quantile) */
    uint64_t _mhash;
    uint64_t _lastskey;
    int _mopen;
    unsigned _mflags;
    double _mlast_le, _mlast_bucket, _minf, _mcount, _msum;
    int64_t _mts;
    int _mhas_ts;
    uint64_t _moff, _mline, _mcol; /* where the metric began */
    uint64_t _eofoff, _eofline;    /* where the input (or # EOF) ended */
    prex__set _families;  /* family names and sample names seen */
    prex__set _series;    /* series of the current metric point, once it has two
                           * (with one, that is _lastskey) */
    prex__set _metrics;   /* metrics of the current family */
    /* the label names last seen at the first positions of a sample's
     * label set (names of at most 16 bytes): their bytes, masks and fold,
     * so that a repeated name is matched with two word compares */
    struct prex__lname {
        uint64_t w[2], m[2], hash;
        size_t len;
    } _lnames[16];

    /* large buffers last: prex_parser_init() zeroes everything before them */
    char _fam[PREX_MAX_NAME];
    prex_label _labels[PREX_MAX_LABELS];
    prex_label _exlabels[PREX_MAX_LABELS];
} prex_parser;

/* MARK: functions, in call order */

/*
 * Starts a parser over buf[0..len). Requires buf[len] == '\0' (asserted).
 * format: PREX_FORMAT_TEXT or PREX_FORMAT_OPENMETRICS. flags: PREX_LENIENT_*
 * and PREX_LEGACY_NAMES. The allocator defaults to prex_alloc_libc and the
 * limits to their defaults. Never fails; never allocates.
 */
void prex_parser_init(prex_parser *p, const char *buf, size_t len,
                      prex_format format, unsigned flags);

/* Replaces the limits (call before the first prex_next()). */
void prex_parser_set_limits(prex_parser *p, const prex_limits *lim);

/* Replaces the allocator (call before the first prex_next()). NULL turns
 * the set-based checks off: the parser then allocates nothing and does not
 * detect non-contiguous families, repeated HELP/TYPE across families,
 * duplicate series or interleaved metrics. */
void prex_parser_set_alloc(prex_parser *p, const prex_alloc *alc);

/*
 * Produces the next event.
 *   p:  the parser.
 *   ev: OUT: the event, valid until the next call (see SLICE LIFETIME).
 * Returns a PREX_EV_* kind (> 0), PREX_NEED_MORE when only an incomplete
 * line remains and prex_finish() was not called, or PREX_ERROR. After
 * PREX_ERROR every call returns PREX_ERROR until prex_parser_recover().
 */
int prex_next(prex_parser *p, prex_event *ev);

/* Declares that the buffer holds the end of the input: the last line may
 * now be parsed (or reported truncated), and PREX_EV_EOF can be returned. */
void prex_finish(prex_parser *p);

/* Bytes of the current buffer consumed so far: always whole lines. */
size_t prex_parser_consumed(const prex_parser *p);

/*
 * Hands the parser the next buffer after PREX_NEED_MORE. buf[0] must be the
 * first unconsumed byte (the caller moved the tail there), buf[len] == '\0'.
 * Validation state carries over; offsets and line numbers continue.
 */
void prex_parser_refill(prex_parser *p, const char *buf, size_t len);

/* The last error (code PREX_E_OK if none). */
const prex_error *prex_parser_error(const prex_parser *p);

/*
 * Skips the rest of the line that failed and clears the error, so that a
 * validator can report further errors. Returns 0 when parsing may go on,
 * PREX_NEED_MORE when the failed line's end is not in the buffer yet (refill
 * and call again), or PREX_ERROR when the error cannot be recovered from
 * (end of input, out of memory, data after # EOF). After PREX_E_LIMIT_LINE
 * the whole buffer counts as consumed and the rest of the line is skipped
 * as later refills bring it, so a bounded buffer always makes progress.
 */
int prex_parser_recover(prex_parser *p);

/* Releases the hash sets. The parser may be re-initialised afterwards. */
void prex_parser_free(prex_parser *p);

/* MARK: helpers */

/*
 * Computes the 1-based line and byte column of offset off in buf[0..len).
 * Returns 0, or -1 if off > len.
 */
int prex_locate(const char *buf, size_t len, size_t off,
                uint64_t *line, uint64_t *column);

/*
 * Decodes the escapes \\, \" and \n of a raw slice; any other backslash
 * pair is copied as it is. out must hold in.len bytes. Returns the length
 * written. Never reads past in.ptr + in.len.
 */
size_t prex_unescape(prex_slice in, char *out);

/* "counter", "gauge", "histogram", "gaugehistogram", "summary", "info",
 * "stateset", and "untyped" (or "unknown" for OpenMetrics). */
const char *prex_type_name(prex_type type, prex_format format);

/* Length of a suffix ("_total" is 6); 0 for PREX_SUFFIX_NONE. */
size_t prex_suffix_len(prex_suffix suffix);

/*
 * Guesses the format of a complete input: OpenMetrics when its last line
 * (ignoring one final "\n") is exactly "# EOF", text otherwise.
 */
prex_format prex_detect_format(const char *buf, size_t len);

/* Nonzero when a name matches [a-zA-Z_:][a-zA-Z0-9_:]* (metric) or
 * [a-zA-Z_][a-zA-Z0-9_]* (label), i.e. may be written unquoted. */
int prex_is_legacy_metric_name(prex_slice name);
int prex_is_legacy_label_name(prex_slice name);

#ifdef __cplusplus
}
#endif

#endif /* PREX_H */

/*
 * write.h - the writer: turns parser events back into text 0.0.4 or
 * OpenMetrics 1.0 text, appended to a prex_buf.
 *
 * The writer is streaming: it keeps the state of the current family (its
 * name, type, HELP and UNIT) and the set of family names already written,
 * never the input. It therefore needs an input that is already grouped
 * (each family contiguous, as a validated input is) and reports a family
 * that comes back, or an output name that two families would share, as an
 * error instead of writing an invalid exposition.
 *
 * What it writes, whatever the input looked like:
 *   - one block per family: "# HELP" (when the family has a non-empty
 *     help), "# TYPE" (always, "untyped"/"unknown" included), "# UNIT"
 *     (OpenMetrics), then the samples;
 *   - single spaces between tokens, "\n" after every line, no blanks at
 *     line ends, no "\r"; label values and quoted names escaped as \\ \"
 *     \n; HELP text as \\ \n in text 0.0.4 (a '"' stays raw) and as
 *     \\ \" \n in OpenMetrics; names that are not legacy names quoted, a
 *     quoted metric name first inside the braces;
 *   - values as written, except the special values, which are always
 *     "+Inf", "-Inf" and "NaN";
 *   - timestamps as integer milliseconds (text) or seconds (OpenMetrics;
 *     an OpenMetrics input's timestamp is kept as written);
 *   - comments are dropped.
 * Conversions between the formats are listed in docs/cli.md.
 *
 * Usage recipe:
 *
 *     prex_buf out;
 *     prex_writer w;
 *     prex_buf_init(&out, NULL);
 *     prex_writer_init(&w, &out, PREX_FORMAT_TEXT, 0);
 *     while ((rc = prex_next(&p, &ev)) > 0) {
 *         if (prex_write_event(&w, &ev, PREX_FORMAT_OPENMETRICS) != 0)
 *             break;                        // see prex_writer_error(&w)
 *         if (rc == PREX_EV_EOF)
 *             break;
 *     }
 *     prex_writer_finish(&w);               // "# EOF\n" for OpenMetrics
 *     use(out.ptr, out.len);
 *     prex_writer_free(&w);
 *     prex_buf_free(&out);
 */
#ifndef PREX_WRITE_H
#define PREX_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "prex.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writer options (prex_writer_init()). */
/* Leave out every sample timestamp (the Pushgateway rejects timestamps and
 * node_exporter's textfile collector skips a file that has any); each one
 * left out is counted in stats.stripped_timestamps. Several timestamped
 * points of one series would then be duplicate series: the writer fails
 * with PREX_E_DUP_SERIES instead (the merge table can keep one). */
#define PREX_WRITE_STRIP_TIMESTAMPS (1u << 0)

/* What the writer wrote and what it left out on purpose. */
typedef struct prex_write_stats {
    uint64_t families;            /* family blocks written */
    uint64_t samples;             /* sample lines written */
    uint64_t stripped_timestamps; /* PREX_WRITE_STRIP_TIMESTAMPS */
    uint64_t dropped_exemplars;   /* exemplars, when writing text */
    uint64_t dropped_created;     /* _created samples, OpenMetrics -> text */
    uint64_t dropped_units;       /* UNIT lines, when writing text */
    uint64_t dropped_comments;    /* comment lines */
    uint64_t dropped_help;        /* a HELP after its family's samples
                                   * (text input), when writing OpenMetrics */
    uint64_t untyped_counters;    /* text counters x_total written as unknown
                                   * OpenMetrics families: x was taken */
} prex_write_stats;

/* The writer's error (code PREX_E_OK if none). Errors are sticky. */
typedef struct prex_write_error {
    int code;             /* PREX_E_NOT_CONTIGUOUS, PREX_E_NAME_CLASH,
                           * PREX_E_META_AFTER_SAMPLES, PREX_E_NO_MEMORY,
                           * PREX_E_USAGE */
    uint64_t line;        /* input line of the family or event that failed */
    unsigned source;      /* the source (prex_writer_set_source()) it came from */
    unsigned prev_source; /* NOT_CONTIGUOUS, NAME_CLASH: the source, and */
    uint64_t prev_line;   /* input line, of the family written first */
    const char *name;     /* the output family name concerned ("" if none),
                           * control bytes shown as '?', cut at 64 bytes */
    const char *detail;   /* what happened, names included */
} prex_write_error;      /* strings owned by the writer */

/* One output family name already written (private). */
typedef struct prex__write_name {
    uint64_t _hash;
    size_t _off;          /* the name is _names.ptr[_off .. _off + _len) */
    size_t _len;
    uint64_t _line;
    unsigned _source;
    unsigned char _used;
    unsigned char _renamed; /* output name differs from the input family's */
} prex__write_name;

/* Writer state. Transparent so it can live on the stack; all fields but
 * stats are private. prex_writer_init() is mandatory. */
typedef struct prex_writer {
    prex_buf *_out;
    int _format;          /* output format */
    unsigned _opts;
    unsigned _source;
    int _finished;
    int _oom;
    prex_write_error _err;
    char _detail[320];
    char _errname[72];

    /* the current family */
    int _open;
    int _infmt;           /* its input format */
    int _type;            /* prex_type */
    int _planned;         /* _type, _split and _outfam are final */
    int _split;           /* gauge histogram written as three gauges (text) */
    int _header;          /* the main block's HELP/TYPE are written */
    int _has_help;
    int _has_unit;
    uint64_t _line;       /* input line of its first event */
    uint64_t _nsamples;   /* samples seen (written or dropped) */
    prex_buf _fam;        /* its name, decoded */
    prex_buf _outfam;     /* the main block's output name */
    prex_buf _help;       /* decoded help text */
    prex_buf _unit;       /* unit as written */
    prex_buf _side[2];    /* split: rendered _sum/_gsum and _count/_gcount lines */
    prex_buf _tmp;        /* scratch for decoding */
    prex_buf _tmp2;       /* scratch for building names */

    /* output family names written so far */
    prex__write_name *_tab;
    size_t _tabcap;
    size_t _tabcount;
    prex_buf _names;

    /* series written with a stripped timestamp (PREX_WRITE_STRIP_TIMESTAMPS) */
    prex__set _stripped;

    prex_write_stats stats;
} prex_writer;

/*
 * Starts a writer.
 *   w:       the writer.
 *   out:     the buffer output is appended to; it must outlive the writer,
 *            and its allocator is used for the writer's own state.
 *   format:  the output format.
 *   options: PREX_WRITE_* flags.
 * Never fails; allocates nothing until the first event.
 */
void prex_writer_init(prex_writer *w, prex_buf *out, prex_format format,
                      unsigned options);

/* Tags the events that follow with a source number (default 0), so that
 * an output family that two sources share is reported with both numbers.
 * Call it between sources, after the previous source's PREX_EV_EOF. */
void prex_writer_set_source(prex_writer *w, unsigned source);

/*
 * Writes one event.
 *   w:            the writer.
 *   ev:           an event as returned by prex_next() (its slices are only
 *                 read during the call; what the writer needs later is
 *                 copied). PREX_EV_EOF ends the current family; it does
 *                 not write "# EOF" (prex_writer_finish() does).
 *   input_format: the format ev was parsed in.
 * Returns 0 or a PREX_E_* code (also in prex_writer_error()); after an
 * error every call returns it again.
 */
int prex_write_event(prex_writer *w, const prex_event *ev, prex_format input_format);

/* Ends the output: closes the current family and writes "# EOF\n" for
 * OpenMetrics. Returns 0 or a PREX_E_* code. Later events are a
 * PREX_E_USAGE error. */
int prex_writer_finish(prex_writer *w);

/* The last error (code PREX_E_OK if none); valid until prex_writer_free(). */
const prex_write_error *prex_writer_error(const prex_writer *w);

/* Releases the writer's own memory (not the output buffer). */
void prex_writer_free(prex_writer *w);

/* The type a family of type t has in text 0.0.4: counter, gauge,
 * histogram and summary stay; info, stateset and gauge histogram are
 * written as gauges; anything else is untyped. The merge table (merge.h)
 * types its families with it, so both agree on every conversion. */
prex_type prex_write_text_type(prex_type t);

#ifdef __cplusplus
}
#endif

#endif /* PREX_WRITE_H */

/*
 * merge.h - the merge table: the series of several sources (after
 * relabeling) grouped into one set of metric families, checked for the
 * conflicts that make a Pushgateway reject a push or Prometheus lose
 * samples, and written as one body through the writer (write.h).
 *
 * What the table guarantees for the body it writes (docs/merge.md has the
 * rules with examples):
 *   - families are keyed by their OUTPUT name: a series is placed by its
 *     final metric name (after relabeling) and the role it had in its
 *     source family (a histogram's _bucket, _sum, _count; a summary's
 *     quantile, _sum, _count). A series whose new name no longer ends in
 *     its role's suffix leaves its histogram or summary and becomes an
 *     untyped series of its own name;
 *   - the families are text 0.0.4 families, the Pushgateway's model:
 *     OpenMetrics sources are mapped into it on entry the way the writer
 *     converts OpenMetrics to text (a counter is named after its _total
 *     sample; info, stateset and gauge histogram series become gauges
 *     named after their samples; _created samples are dropped). Written
 *     as OpenMetrics, the writer converts the families back;
 *   - one contiguous block per family, families sorted by name, series by
 *     their label set, a histogram's or summary's lines per label set
 *     together in bucket (le) or quantile order, then _sum, then _count;
 *   - exactly one HELP per family (the first source's; a differing HELP
 *     is reported), and a TYPE for every family;
 *   - empty-valued labels and labels whose name starts with "__" are
 *     removed; the -s source label and -l constant labels are added;
 *   - one family name has one type; no family is named like a histogram's
 *     or summary's samples; every series (metric name and label set, empty
 *     labels left out) appears once, except that the timestamped points
 *     of one series from one source stay when timestamps are kept. A
 *     violation is an issue naming both sources (and lines): an error, or
 *     under PREX_MERGE_FIRST a warning after which the first source's data
 *     is kept;
 *   - histograms and summaries are valid (what the parser checks: le and
 *     quantile labels, a +Inf bucket equal to _count, increasing le,
 *     cumulative counts). One that relabeling broke is written as untyped
 *     families, one per sample name, when those names are free, and
 *     dropped otherwise; either way with a warning.
 *
 * "First" means the lowest source number (the order prex_merge_add_source()
 * was called in, which should be the configuration order), then the
 * earliest line; never the order in which series arrived, so sources may
 * be fed interleaved (as concurrent scrapes finish chunks) and the result
 * is the same.
 *
 * ZERO COPY: the table keeps pointers to the label values, sample values,
 * HELP texts and family names of the events it is given. The caller keeps
 * the source buffers (and the relabel arena, and any pair arrays' bytes)
 * unchanged and alive until prex_merge_write() returned and the table was
 * reset or freed. Only label arrays, label names (interned once), family
 * names and label values with escapes are stored by the table itself.
 *
 * Usage recipe (one push):
 *
 *     prex_merge m;
 *     prex_merge_init(&m, NULL, PREX_MERGE_STRIP_TIMESTAMPS);
 *     prex_merge_set_source_label(&m, "source", 6);       // -s source
 *     prex_merge_add_label(&m, "env", 3, "prod", 4);      // -l env=prod
 *     prex_merge_add_source(&m, "node", 4, 0, &id_node);  // config order
 *     prex_merge_add_source(&m, "app", 3, 0, &id_app);
 *     for (each event ev of source id, buffer kept alive) {
 *         if (ev.kind != PREX_EV_SAMPLE)
 *             rc = prex_merge_meta(&m, id, &ev);           // HELP, TYPE
 *         else if (no relabel rules)
 *             rc = prex_merge_add_event(&m, id, &ev);
 *         else if (prex_relabel_apply(&st, &ls) == PREX_RELABEL_KEEP)
 *             rc = prex_merge_add_pairs(&m, id, &ev, ls.pairs, ls.n);
 *         if (rc != 0) fatal(rc);                          // memory, usage
 *     }
 *     prex_selfmetrics_add(&m, ...);                       // selfmetrics.h
 *     rc = prex_merge_finish(&m);
 *     for (i = 0; i < prex_merge_issue_count(&m); i++)
 *         log(prex_merge_issue_at(&m, i));                 // errors, warnings
 *     if (rc == 0) {
 *         prex_writer_init(&w, &body, PREX_FORMAT_TEXT, 0);
 *         rc = prex_merge_write(&m, &w);
 *         if (rc == 0) rc = prex_writer_finish(&w);
 *     }
 *     prex_merge_free(&m);     // or prex_merge_reset() for the next push
 */
#ifndef PREX_MERGE_H
#define PREX_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "prex.h"
#include "relabel.h"
#include "write.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MARK: options */

/* Table flags (prex_merge_init()). */
/* Conflict policy "first": a type conflict, a suffix clash or a duplicate
 * series keeps the first source's data and is a warning. Without it they
 * are errors and prex_merge_finish() fails (--conflict error). */
#define PREX_MERGE_FIRST            (1u << 0)
/* Leave out sample timestamps (the Pushgateway rejects them, node_exporter's
 * textfile collector skips a file with any); counted in
 * stats.stripped_timestamps. */
#define PREX_MERGE_STRIP_TIMESTAMPS (1u << 1)
/* Metric and label names must be legacy names, as the Pushgateway 1.5.1
 * requires: other names are escaped (prex_merge_set_escaping()) or, by
 * default, their series is dropped with a warning. */
#define PREX_MERGE_LEGACY_NAMES     (1u << 2)
/* Keep exemplars of counters and histogram buckets (for OpenMetrics
 * output; text has none). Without it they are counted and dropped. */
#define PREX_MERGE_EXEMPLARS        (1u << 3)

/* How names that are not legacy names reach a receiver that takes only
 * legacy names (PREX_MERGE_LEGACY_NAMES), as Prometheus's escaping
 * schemes of the same names do it. */
typedef enum prex_name_escaping {
    PREX_ESCAPE_NONE = 0,        /* not escaped: the series is dropped with
                                  * a warning */
    PREX_ESCAPE_UNDERSCORES,     /* "underscores": each character a legacy
                                  * name may not hold there becomes '_' */
    PREX_ESCAPE_VALUES           /* "values": "U__", then '_' doubled, a
                                  * legacy character as it is, any other as
                                  * its code point in lower-case hex between
                                  * underscores ("a.b" -> "U__a_2e_b") */
} prex_name_escaping;

/*
 * Writes name escaped per scheme into out (cleared first): a legacy name
 * (a legacy label name when label is nonzero) unchanged, else escaped.
 * For a label name ':' counts as a character to escape, so that the
 * result is always a legacy label name. Bytes that are not UTF-8 count as
 * U+FFFD each. Returns 0, or -1 when memory runs out.
 */
int prex_escape_name(prex_slice name, int label, prex_name_escaping scheme, prex_buf *out);

/* Source flags (prex_merge_add_source()). */
/* The source label (-s) is not added to this source's series: for the
 * relay's own families, which carry their own source="..." label. */
#define PREX_MERGE_SOURCE_NO_LABEL  (1u << 0)

/* Longest source name, label name or label value the configuration calls
 * take (bytes). */
#define PREX_MERGE_MAX_CONFIG 4096

/* MARK: issues */

/*
 * What the table reports. APPEND-ONLY: numbers never change. Codes 1-3
 * are conflicts (errors, or warnings under PREX_MERGE_FIRST); 4-10 are
 * always warnings; 11-12 are failures of a call.
 */
#define PREX_MERGE_ISSUES(X) \
    X(OK,              0, "no issue") \
    X(TYPE_CONFLICT,   1, "one family name with two different types") \
    X(SUFFIX_CLASH,    2, "a family is named like the samples of a histogram or summary") \
    X(DUP_SERIES,      3, "the same series more than once") \
    X(HELP_DIFFERS,    4, "different HELP texts for one family; the first is kept") \
    X(UNTYPED_MERGED,  5, "untyped series merged into a counter or gauge family") \
    X(BROKEN_FAMILY,   6, "histogram or summary no longer valid after relabeling") \
    X(NO_NAME,         7, "series without a valid metric name dropped") \
    X(RESERVED_LABEL,  8, "label whose name starts with __ removed") \
    X(BAD_LABEL,       9, "series with an invalid or repeated label name dropped") \
    X(LEFT_FAMILY,    10, "series renamed out of its histogram or summary") \
    X(NO_MEMORY,      11, "out of memory") \
    X(USAGE,          12, "API misuse")

typedef enum prex_merge_code {
#define PREX_X_ENUM(name, num, desc) PREX_MERGE_E_##name = num,
    PREX_MERGE_ISSUES(PREX_X_ENUM)
#undef PREX_X_ENUM
    PREX_MERGE_E__COUNT
} prex_merge_code;

/* Name ("TYPE_CONFLICT") and description of a code; never NULL. */
const char *prex_merge_errname(int code);
const char *prex_merge_strerror(int code);

/* Severity of an issue. */
#define PREX_MERGE_WARNING 1
#define PREX_MERGE_ERROR   2

/* No source / no line. */
#define PREX_MERGE_NONE ((unsigned)-1)

/*
 * One reported issue. Conflicts name two places: source and line are the
 * data kept (or met first), other_source and other_line the data that
 * conflicts with it (dropped under PREX_MERGE_FIRST). Warnings about
 * single series are reported once per code and source, with the first
 * occurrence's family and line and the number of series concerned.
 * Strings are owned by the table and stay valid until it is reset or
 * freed.
 */
typedef struct prex_merge_issue {
    int code;               /* PREX_MERGE_E_* */
    int severity;           /* PREX_MERGE_WARNING or PREX_MERGE_ERROR */
    const char *family;     /* output family name ("" if none); NUL-terminated,
                             * control bytes shown as '?' */
    unsigned source;        /* source number, or PREX_MERGE_NONE */
    uint64_t line;          /* its line (0: unknown) */
    unsigned other_source;  /* the second source, or PREX_MERGE_NONE */
    uint64_t other_line;
    uint64_t count;         /* series concerned (1 for most conflicts) */
    const char *message;    /* complete sentence naming the sources by name */
} prex_merge_issue;

/* What the table did. */
typedef struct prex_merge_stats {
    uint64_t series_in;           /* series offered (add calls) */
    uint64_t series_out;          /* series written / to write */
    uint64_t families_out;        /* family blocks written / to write */
    uint64_t empty_labels;        /* empty-valued labels removed */
    uint64_t reserved_labels;     /* "__" labels removed (not __name__) */
    uint64_t labels_kept;         /* -s/-l labels not added: the series had
                                   * its own label of that name */
    uint64_t stripped_timestamps; /* PREX_MERGE_STRIP_TIMESTAMPS */
    uint64_t dropped_exemplars;   /* exemplars without PREX_MERGE_EXEMPLARS
                                   * or on other samples */
    uint64_t dropped_created;     /* OpenMetrics _created samples */
    uint64_t dropped_no_name;     /* NO_NAME */
    uint64_t escaped_names;       /* family and label names escaped (per
                                   * series: prex_merge_set_escaping()) */
    uint64_t dropped_bad_label;   /* BAD_LABEL */
    uint64_t dropped_conflict;    /* series of the losing side of a type
                                   * conflict or suffix clash */
    uint64_t dropped_duplicates;  /* DUP_SERIES */
    uint64_t dropped_broken;      /* broken histogram/summary series whose
                                   * untyped names were taken */
    uint64_t untyped_broken;      /* broken histogram/summary series written
                                   * as untyped */
    uint64_t left_family;         /* LEFT_FAMILY */
    uint64_t untyped_merged;      /* UNTYPED_MERGED series */
} prex_merge_stats;

/* MARK: table state */

struct prex__merge_source;
struct prex__merge_name;
struct prex__merge_sfam;
struct prex__merge_part;
struct prex__merge_family;
struct prex__merge_series;

/* A label pair the table adds (private). */
typedef struct prex__merge_extra {
    uint32_t _name;       /* interned name */
    prex_slice _value;    /* bytes in the table's arena */
} prex__merge_extra;

/* The merge table. Transparent so it can live on the stack; all fields
 * but stats are private. prex_merge_init() is mandatory. */
typedef struct prex_merge {
    const prex_alloc *_alc;
    unsigned _flags;
    prex_name_escaping _escaping; /* with PREX_MERGE_LEGACY_NAMES */
    int _finished;        /* prex_merge_finish() ran */
    int _errors;          /* error issues recorded */
    int _oom;             /* an allocation failed: every call fails */
    int _result;          /* what prex_merge_finish() returned */
    prex_arena _carena;   /* configuration: source names, -s and -l */
    prex_arena _arena;    /* per push: label arrays, names, copies, issues */

    struct prex__merge_source *_src;
    size_t _nsrc, _srccap;

    /* interned label names */
    struct prex__merge_name *_names;
    size_t _nnames, _namescap;
    uint32_t *_nametab;   /* open addressing: name index + 1, 0 empty */
    size_t _nametabcap;
    uint32_t _le, _quantile; /* indexes of "le" and "quantile" */

    /* -s and -l */
    uint32_t _srclabel;   /* interned name, or UINT32_MAX */
    prex__merge_extra *_consts;
    size_t _nconsts, _constscap;

    /* source families, parts, families */
    struct prex__merge_sfam *_sfams;
    size_t _nsfams, _sfamscap;
    struct prex__merge_part *_parts;
    size_t _nparts, _partscap;
    struct prex__merge_family *_fams;
    size_t _nfams, _famscap;
    uint32_t *_famtab;    /* open addressing: family index + 1, 0 empty */
    size_t _famtabcap;

    /* series, in chunks that never move */
    struct prex__merge_series **_chunks;
    size_t _nchunks, _chunkscap;
    size_t _nseries;

    /* after prex_merge_finish(): series indexes grouped by family and
     * sorted; families sorted by name */
    uint32_t *_order;
    uint32_t *_famorder;
    size_t _nfamorder;

    /* where prex_merge_write_some() goes on: family, then series (or
     * SIZE_MAX before the family's HELP and TYPE) */
    size_t _wfam, _wser;

    prex_merge_issue *_issues;
    size_t _nissues, _issuescap;

    /* scratch */
    prex_buf _tmp;        /* decoded names, sample names */
    prex_buf _tmp2;       /* HELP comparisons */
    prex_pair *_pairs;    /* an event's labels, decoded */
    size_t _pairscap;
    void *_mlab;          /* a series' labels while it is added */
    size_t _mlabcap;
    uint32_t _labcache[16]; /* the name number each of the first label
                             * positions had last (checked by its bytes) */
    prex_label *_lab;     /* labels handed to the writer */
    size_t _labcap;

    prex_merge_stats stats;
} prex_merge;

/* MARK: configuration */

/*
 * Starts an empty table.
 *   m:     the table.
 *   alc:   allocator for everything the table holds (NULL: libc); it must
 *          outlive the table.
 *   flags: PREX_MERGE_* table flags.
 * Allocates nothing; never fails.
 */
void prex_merge_init(prex_merge *m, const prex_alloc *alc, unsigned flags);

/*
 * -s NAME: adds NAME="<source name>" to every series of every source
 * without PREX_MERGE_SOURCE_NO_LABEL. The caller keeps NAME out of the
 * Pushgateway grouping key (the Pushgateway would overwrite it with the
 * URL's value and the sources would collide again). Call before adding
 * series. Returns 0, PREX_MERGE_E_USAGE (invalid name, a name starting
 * with "__", "le" or "quantile", or called twice) or PREX_MERGE_E_NO_MEMORY.
 */
int prex_merge_set_source_label(prex_merge *m, const char *name, size_t len);

/*
 * With PREX_MERGE_LEGACY_NAMES: escapes names that are not legacy names
 * (prex_escape_name()) instead of dropping their series. Escaping happens
 * as series are added, so names that escape alike meet as one family or
 * one label, and the usual conflict and duplicate checks apply to them
 * (two labels of one series that escape alike drop the series with a
 * warning). Call before adding series.
 */
void prex_merge_set_escaping(prex_merge *m, prex_name_escaping scheme);

/*
 * -l NAME=VALUE: adds a constant label to every series. An empty VALUE
 * adds nothing (an empty label is an absent label). Same rules for NAME
 * as prex_merge_set_source_label(); a name given twice is a usage error.
 *
 * Precedence (both -s and -l): a label the series already has after
 * relabeling wins, as with Prometheus's honor_labels: true and its
 * external_labels; the added label is then left out and counted in
 * stats.labels_kept. Relabel rules therefore see and may set the label
 * themselves.
 */
int prex_merge_add_label(prex_merge *m, const char *name, size_t name_len,
                         const char *value, size_t value_len);

/*
 * Registers a source and returns its number in *id (0, 1, ... in call
 * order: this order decides "first"). name: shown in issues and used as
 * the -s label's value; valid UTF-8, non-empty, at most
 * PREX_MERGE_MAX_CONFIG bytes (copied), unlike every other source's name.
 * flags: PREX_MERGE_SOURCE_*.
 * Returns 0, PREX_MERGE_E_USAGE or PREX_MERGE_E_NO_MEMORY.
 */
int prex_merge_add_source(prex_merge *m, const char *name, size_t len,
                          unsigned flags, unsigned *id);

/* The name of source id (as registered), or an empty slice. */
prex_slice prex_merge_source_name(const prex_merge *m, unsigned id);

/* MARK: adding data */

/*
 * Records a metadata event of source src: HELP (the text, used when this
 * source is the family's first), TYPE and UNIT; other kinds are ignored.
 * A HELP after the family's samples (text input) still applies to them.
 *   ev: as returned by prex_next(); its slices must stay valid (ZERO COPY).
 * Returns 0, PREX_MERGE_E_USAGE (unknown source, after finish) or
 * PREX_MERGE_E_NO_MEMORY.
 */
int prex_merge_meta(prex_merge *m, unsigned src, const prex_event *ev);

/*
 * Adds one SAMPLE event of source src as it is (no relabeling): its
 * name, labels (escapes decoded into the table when present), value,
 * timestamp and exemplar. The sample's source family, type and suffix
 * come from the event. Returns 0, PREX_MERGE_E_USAGE (not a sample,
 * unknown source, after finish) or PREX_MERGE_E_NO_MEMORY; a series the
 * table drops (no valid name, bad label) is a warning issue, not an
 * error.
 */
int prex_merge_add_event(prex_merge *m, unsigned src, const prex_event *ev);

/*
 * Adds one SAMPLE event of source src with the label set relabeling made
 * of it:
 *   ev:    the original event (source family, type, suffix, value,
 *          timestamp, exemplar, line); its name and labels are ignored.
 *   pairs: the relabeled labels, decoded, unique names, any order;
 *          "__name__" is the metric name. Their bytes must stay valid
 *          (ZERO COPY); the array itself is copied.
 * Returns as prex_merge_add_event().
 */
int prex_merge_add_pairs(prex_merge *m, unsigned src, const prex_event *ev,
                         const prex_pair *pairs, size_t n);

/*
 * Copies len bytes into the table's memory (valid until reset or free),
 * for values a caller makes up (the relay's own metrics). Returns the
 * copy, or an empty slice with a NULL ptr when out of memory.
 */
prex_slice prex_merge_copy(prex_merge *m, const char *p, size_t len);

/* MARK: resolving and writing */

/*
 * Resolves the table: types per family, HELP, suffix clashes, sorting,
 * duplicates, histogram and summary validity. Issues are recorded (see
 * prex_merge_issue_at()). Returns 0 when there is no error issue,
 * PREX_MERGE_E_TYPE_CONFLICT, _SUFFIX_CLASH or _DUP_SERIES (the first
 * error) otherwise, or PREX_MERGE_E_NO_MEMORY. Adding is not possible
 * afterwards.
 */
int prex_merge_finish(prex_merge *m);

/* Issues recorded so far, in the order found. */
size_t prex_merge_issue_count(const prex_merge *m);
const prex_merge_issue *prex_merge_issue_at(const prex_merge *m, size_t i);

/*
 * Writes the resolved table to w: per family (sorted by name) its HELP,
 * TYPE and series, as text-format events. The writer does the escaping,
 * the special values, and (for an OpenMetrics writer) the conversion of
 * the families to OpenMetrics. Call prex_writer_finish() afterwards.
 * Requires a successful prex_merge_finish(). Returns 0, the writer's
 * PREX_E_* error code, or -1 (no successful finish: nothing written).
 */
int prex_merge_write(prex_merge *m, prex_writer *w);

/*
 * The same body in pieces, for a sink that takes it chunk by chunk
 * (standard output, a file, an upload) so that it never has to be in
 * memory whole: prex_merge_write_begin() starts (or restarts) at the first
 * family; each prex_merge_write_some() writes whole events to w until the
 * writer's buffer holds at least want bytes or the table is done. The
 * caller takes the buffer's bytes and clears it between calls (the writer
 * only appends to it). The bytes are the same as prex_merge_write()'s,
 * whatever want is, so a body can be rendered twice: once to check it,
 * once to send it.
 * Returns 1 when more is to come, 0 when the table is written (call
 * prex_writer_finish()), or an error as prex_merge_write().
 */
int prex_merge_write_begin(prex_merge *m);
int prex_merge_write_some(prex_merge *m, prex_writer *w, prex_buf *out, size_t want);

/* MARK: reading the resolved table */

/* One family of the resolved table. */
typedef struct prex_merge_family_info {
    prex_slice name;        /* text 0.0.4 family name (decoded) */
    prex_type type;         /* untyped, counter, gauge, histogram, summary */
    prex_slice help;        /* the chosen HELP text, raw (escapes as in the
                             * source), empty if none */
    int help_esc;
    unsigned source;        /* source of the first part */
    size_t nseries;
} prex_merge_family_info;

/* One series of a family, as stored: its own labels (without the -s/-l
 * labels), pointing where the table's input pointed. */
typedef struct prex_merge_series_info {
    prex_suffix role;       /* NONE, BUCKET, SUM or COUNT */
    unsigned source;
    uint64_t line;
    prex_slice value_raw;
    double value;
    int has_timestamp;
    int64_t timestamp_ms;
    size_t nlabels;
} prex_merge_series_info;

/* Number of families in the resolved table (0 before a finish). */
size_t prex_merge_family_count(const prex_merge *m);

/* Family i (< prex_merge_family_count()) in output order. Returns 0, or -1
 * if out of range. */
int prex_merge_family_at(const prex_merge *m, size_t i, prex_merge_family_info *out);

/*
 * Series j of family i, in output order.
 *   labels: OUT (may be NULL): the series' own labels (at most cap are
 *           written), decoded, sorted by name; name and value slices.
 * Returns 0, or -1 if out of range.
 */
int prex_merge_series_at(const prex_merge *m, size_t i, size_t j,
                         prex_merge_series_info *out, prex_pair *labels, size_t cap);

/* MARK: lifetime */

/* Empties the table for the next push: series, families, issues and
 * stats go; sources, the source label and constant labels stay. Memory
 * is kept for reuse. */
void prex_merge_reset(prex_merge *m);

/* Releases everything the table holds. */
void prex_merge_free(prex_merge *m);

#ifdef __cplusplus
}
#endif

#endif /* PREX_MERGE_H */

/*
 * relabel.h - the label-rewriting engine: Prometheus relabel_config rules
 * (as written under metric_relabel_configs), compiled once from YAML and
 * applied to one label set at a time.
 *
 * Semantics are those of Prometheus 3.x (docs/relabel.md lists every
 * known difference): all eleven actions, the defaults of every field,
 * "omitted" kept apart from "explicitly empty", regexes fully anchored
 * with dot-all, Go's regexp.Expand rules for $-templates, hashmod
 * bit-exact, Unicode-aware lowercase/uppercase, and an empty value meaning
 * an absent label.
 *
 * Usage recipe:
 *
 *     prex_relabel_rules *rs;
 *     prex_relabel_error err;
 *     if (prex_relabel_load_file(&rs, "rules.yml", 0, NULL, &err) != 0) {
 *         fprintf(stderr, "%s\n", err.text);    // FILE:LINE:COLUMN: error: ...
 *         exit(2);
 *     }
 *     prex_arena arena;                          // one per batch
 *     prex_relabel_state st;                     // one per thread
 *     prex_arena_init(&arena, NULL, 0);
 *     prex_relabel_state_init(&st, rs, &arena);
 *     for (each series) {
 *         prex_pair pairs[32];                   // __name__ is a label here
 *         prex_labelset ls = { pairs, n, 32 };   // values unescaped
 *         switch (prex_relabel_apply(&st, &ls)) {
 *         case PREX_RELABEL_KEEP:  use(ls.pairs, ls.n); break; // sorted
 *         case PREX_RELABEL_DROP:  break;
 *         default: report(prex_relabel_state_error(&st)->text);
 *         }
 *     }
 *     prex_arena_reset(&arena);                  // after the batch is written
 *     prex_relabel_state_free(&st);
 *     prex_arena_free(&arena);
 *     prex_relabel_free(rs);
 *
 * SLICE LIFETIME: after prex_relabel_apply() a label's name and value
 * point either where the caller's slices pointed, into the arena, or into
 * the rule set (literal target labels and replacements). They stay valid
 * until the arena is reset or restored past them, the rule set is freed,
 * or the caller's own bytes go away, whichever comes first.
 *
 * Threads: a compiled rule set is immutable and may be shared; a state
 * (regex match data, JIT stack, scratch buffers) belongs to one thread.
 */
#ifndef PREX_RELABEL_H
#define PREX_RELABEL_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "prex.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MARK: compile-time options */

/* PCRE2 match limit for one regex match (backtracking steps). A match
 * that exceeds it fails the series with PREX_RELABEL_E_MATCH_LIMIT
 * instead of running for seconds: Go's RE2 engine is linear-time, PCRE2
 * is not. Raising it costs CPU time only on pathological patterns. */
#ifndef PREX_RELABEL_MATCH_LIMIT
#define PREX_RELABEL_MATCH_LIMIT 10000000u
#endif

/* Largest JIT stack one state may grow (bytes). It is allocated on the
 * first match that needs more than PCRE2's 32 KiB machine stack. */
#ifndef PREX_RELABEL_JIT_STACK
#define PREX_RELABEL_JIT_STACK (1024u * 1024u)
#endif

/* MARK: label sets */

/* One label: name and value, unescaped bytes. An empty value is an
 * absent label. */
typedef struct prex_pair {
    prex_slice name;
    prex_slice value;
} prex_pair;

/* A label set: pairs[0..n) in an array of cap elements. The metric name
 * is the label "__name__". prex_relabel_apply() may replace pairs with a
 * larger array from the arena when rules add labels past cap; it never
 * frees the caller's array. */
typedef struct prex_labelset {
    prex_pair *pairs;
    size_t n;
    size_t cap;
} prex_labelset;

/* The value of label name in ls (any order), or an empty slice with a
 * NULL ptr when it is absent. */
prex_slice prex_labelset_get(const prex_labelset *ls, const char *name, size_t len);

/* MARK: flags and actions */

/* Load flags. Without any, rules behave as in Prometheus 3.x. */
/* Label names (source_labels, target_label, the expanded target of a
 * replace) must be legacy names [a-zA-Z_][a-zA-Z0-9_]*, as in Prometheus
 * 2.x and as the Pushgateway requires. Otherwise any non-empty UTF-8
 * string is a valid name (Prometheus 3.x). A metric_name_validation_scheme
 * key in the file overrides this flag. */
#define PREX_RELABEL_LEGACY_NAMES (1u << 0)
/* Regexes are compiled as ^(?:re)$ (Prometheus 2.x: '.' does not match a
 * newline) instead of ^(?s:re)$ (Prometheus 3.x). */
#define PREX_RELABEL_NO_DOTALL    (1u << 1)

/* The actions, in the order of Prometheus's documentation. */
typedef enum prex_relabel_action {
    PREX_RELABEL_ACT_REPLACE = 0,
    PREX_RELABEL_ACT_LOWERCASE,
    PREX_RELABEL_ACT_UPPERCASE,
    PREX_RELABEL_ACT_KEEP,
    PREX_RELABEL_ACT_DROP,
    PREX_RELABEL_ACT_KEEPEQUAL,
    PREX_RELABEL_ACT_DROPEQUAL,
    PREX_RELABEL_ACT_HASHMOD,
    PREX_RELABEL_ACT_LABELMAP,
    PREX_RELABEL_ACT_LABELDROP,
    PREX_RELABEL_ACT_LABELKEEP
} prex_relabel_action;

/* The YAML spelling of an action ("replace", "labelmap", ...); "?" when
 * out of range. */
const char *prex_relabel_action_name(prex_relabel_action action);

/* MARK: errors */

/* Error codes, load time and run time. Append-only. */
#define PREX_RELABEL_ERRORS(X) \
    X(OK,          0, "no error") \
    X(IO,          1, "cannot read the rules file") \
    X(YAML,        2, "YAML syntax error") \
    X(CONFIG,      3, "invalid relabel configuration") \
    X(REGEX,       4, "invalid or unsupported regex") \
    X(NO_MEMORY,   5, "out of memory") \
    X(MATCH_LIMIT, 6, "regex match limit exceeded") \
    X(UTF8,        7, "label name or value is not valid UTF-8") \
    X(DUP_LABEL,   8, "duplicate label name in the input label set") \
    X(MATCH,       9, "regex match failed")

typedef enum prex_relabel_errcode {
#define PREX_X_ENUM(name, num, desc) PREX_RELABEL_E_##name = num,
    PREX_RELABEL_ERRORS(PREX_X_ENUM)
#undef PREX_X_ENUM
    PREX_RELABEL_E__COUNT
} prex_relabel_errcode;

/* Name ("MATCH_LIMIT") and description of a code; never NULL. */
const char *prex_relabel_errname(int code);
const char *prex_relabel_strerror(int code);

/* A load or run-time error. At load time line and column locate the YAML
 * node at fault; at run time they locate the rule that failed. */
typedef struct prex_relabel_error {
    int code;              /* PREX_RELABEL_E_* */
    uint64_t line;         /* 1-based; 0 when there is no position */
    uint64_t column;       /* 1-based, in characters (libyaml's count) */
    size_t rule;           /* run time: index of the failing rule */
    char message[400];     /* what went wrong, without position */
    char text[720];        /* "NAME:LINE:COLUMN: error: MESSAGE" */
} prex_relabel_error;

/* MARK: loading */

/* A compiled rule set (opaque, immutable). */
typedef struct prex_relabel_rules prex_relabel_rules;

/*
 * Compiles rules from YAML in memory.
 *   out:   OUT: the rule set, or NULL on error.
 *   name:  what messages call the input (usually the file name).
 *   buf:   YAML, buf[0..len) (no NUL needed).
 *   flags: PREX_RELABEL_* load flags.
 *   alc:   allocator for the rule set and its regexes (NULL: libc); it
 *          must outlive the rule set.
 *   err:   OUT: the error (may be NULL).
 * The YAML is either a list of relabel_config rules or a mapping that has
 * metric_relabel_configs: (a pasted scrape_config; docs/relabel.md says
 * which other keys are accepted). An empty document is an empty rule set.
 * Returns 0, or a PREX_RELABEL_E_* code with err filled in.
 */
int prex_relabel_load(prex_relabel_rules **out, const char *name,
                      const char *buf, size_t len, unsigned flags,
                      const prex_alloc *alc, prex_relabel_error *err);

/* Same, reading the file at path (named path in messages). */
int prex_relabel_load_file(prex_relabel_rules **out, const char *path,
                           unsigned flags, const prex_alloc *alc,
                           prex_relabel_error *err);

/* Number of rules. */
size_t prex_relabel_count(const prex_relabel_rules *rs);

/* One compiled rule, as loaded: every field with its default applied.
 * Slices point into the rule set. */
typedef struct prex_relabel_rule_info {
    prex_relabel_action action;
    size_t nsource;                 /* source_labels */
    const prex_slice *source;
    prex_slice separator;
    prex_slice regex;               /* as written, without the anchors */
    int regex_set;                  /* the regex key was present */
    uint64_t modulus;
    prex_slice target;
    prex_slice replacement;
    uint64_t line, column;          /* where the rule starts */
} prex_relabel_rule_info;

/* Describes rule i (< prex_relabel_count()). Returns 0, or -1 if out of
 * range. */
int prex_relabel_rule(const prex_relabel_rules *rs, size_t i,
                      prex_relabel_rule_info *info);

/* Releases a rule set (NULL is fine). States using it must be freed
 * first; label slices pointing into it become invalid. */
void prex_relabel_free(prex_relabel_rules *rs);

/* MARK: applying */

/* A growable scratch buffer (private). */
typedef struct prex__relabel_buf {
    char *_ptr;
    size_t _len;
    size_t _cap;
} prex__relabel_buf;

/* Per-thread state for applying one rule set. Transparent so it can live
 * on the stack; every field is private. prex_relabel_state_init() is
 * mandatory. */
typedef struct prex_relabel_state {
    const prex_relabel_rules *_rs;
    prex_arena *_arena;
    void *_md;             /* pcre2_match_data_8 */
    void *_mctx;           /* pcre2_match_context_8 */
    void *_jit;            /* pcre2_jit_stack_8 */
    prex__relabel_buf _join;   /* the joined source value */
    prex__relabel_buf _tgt;    /* an expanded target label */
    prex__relabel_buf _val;    /* an expanded replacement */
    uint32_t *_seq;        /* labelmap order: 0 = unchanged input label */
    size_t _seqcap;
    uint32_t _seqnext;
    int _track;            /* _seq is maintained in this call */
    prex_pair *_snap;      /* labelmap snapshot */
    size_t _snapcap;
    uint32_t *_snapseq;
    size_t _snapseqcap;
    prex_relabel_error _err;
} prex_relabel_state;

/*
 * Prepares a state for applying rs.
 *   st:    the state.
 *   rs:    the rule set; it must outlive the state.
 *   arena: where created label bytes and grown label arrays go; it must
 *          outlive the state, and the caller resets it between batches.
 * Allocates nothing (buffers come on first use); never fails.
 */
void prex_relabel_state_init(prex_relabel_state *st,
                             const prex_relabel_rules *rs, prex_arena *arena);

/* Result of prex_relabel_apply(). */
#define PREX_RELABEL_KEEP  0
#define PREX_RELABEL_DROP  1
#define PREX_RELABEL_ERROR (-1)

/*
 * Runs every rule, in order, on one label set.
 *   st: the state.
 *   ls: IN: pairs[0..n) with unique names, in any order; an empty value
 *       means the label is absent. OUT (KEEP): the relabeled set, sorted
 *       bytewise by name, without empty values; pairs may now point to an
 *       arena array (see prex_labelset). On DROP and ERROR the contents
 *       are unspecified.
 * Only labels a rule creates or changes get new bytes, from the arena; a
 * rule that changes nothing allocates nothing. Bytes allocated in a call
 * that ends in DROP or ERROR are given back to the arena.
 * Returns PREX_RELABEL_KEEP, PREX_RELABEL_DROP (a keep/drop/keepequal/
 * dropequal rule rejected the series), or PREX_RELABEL_ERROR (see
 * prex_relabel_state_error(): out of memory, match limit, invalid UTF-8,
 * duplicate input names).
 */
int prex_relabel_apply(prex_relabel_state *st, prex_labelset *ls);

/* The error of the last prex_relabel_apply() that returned
 * PREX_RELABEL_ERROR. Valid until the next call. */
const prex_relabel_error *prex_relabel_state_error(const prex_relabel_state *st);

/* Releases the state's buffers and regex match data. */
void prex_relabel_state_free(prex_relabel_state *st);

#ifdef __cplusplus
}
#endif

#endif /* PREX_RELABEL_H */

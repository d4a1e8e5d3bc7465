/*
 * relabel_int.h - what the relabel engine's files share and nothing else
 * sees: the compiled rule and template layout, the regex compiler, the
 * error helpers, and the entry point the YAML loader feeds.
 *
 * relabel.c owns rules (validation, compiling, applying),
 * relabel_regex.c owns regexes (Go RE2 syntax translated to PCRE2),
 * relabel_yaml.c owns the YAML structure.
 */
#ifndef PREX_RELABEL_INT_H
#define PREX_RELABEL_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdarg.h>

#include "relabel.h"

/* MARK: regexes */

/* How a compiled regex can be matched without PCRE2. */
enum {
    PREX__RE_PCRE = 0,   /* run PCRE2 */
    PREX__RE_ALL,        /* matches every subject: "(.*)" or ".*" with dot-all */
    PREX__RE_NO_NL       /* "(.*)" or ".*" without dot-all: matches unless
                          * the subject contains '\n' */
};

/* A compiled, anchored regex. */
typedef struct prex__regex {
    pcre2_code *code;
    uint32_t ncap;       /* capture groups */
    int fast;            /* PREX__RE_* */
} prex__regex;

/*
 * Compiles a user regex written in Go's RE2 syntax, as Prometheus does:
 * wrapped in ^(?s: ... )$ (or ^(?: ... )$ without dot-all), translated
 * to an equivalent PCRE2 pattern (constructs Go refuses are refused here),
 * compiled with UTF and DOLLAR_ENDONLY, and JIT-compiled when possible.
 *   re:     OUT: the regex.
 *   src:    the user regex, src[0..len).
 *   dotall: nonzero for Prometheus 3.x semantics.
 *   alc:    allocator for the temporary translation buffers.
 *   cctx:   PCRE2 compile context (its general context's memory functions
 *           allocate the code).
 *   msg:    OUT: the reason on failure (NUL-terminated, msgsz bytes).
 * Returns 0, PREX_RELABEL_E_REGEX or PREX_RELABEL_E_NO_MEMORY.
 */
int prex__regex_compile(prex__regex *re, const char *src, size_t len, int dotall,
                        const prex_alloc *alc, pcre2_compile_context *cctx,
                        char *msg, size_t msgsz);

/*
 * Finds the capture groups called name[0..len) in re. Writes up to max
 * group numbers, ascending, to out and returns how many groups have that
 * name (which may exceed max).
 */
size_t prex__regex_groups_named(const prex__regex *re, const char *name,
                                size_t len, uint32_t *out, size_t max);

/* Releases re's code (NULL code is fine). */
void prex__regex_free(prex__regex *re);

/* MARK: templates */

/* One step of an expanded template. */
enum {
    PREX__OP_LIT = 0,    /* text[a .. a+b) of the template */
    PREX__OP_GROUP,      /* capture group a */
    PREX__OP_NAME        /* the first set group of groups[0 .. b) */
};

typedef struct prex__tmpl_op {
    uint32_t kind;
    uint32_t a;
    uint32_t b;
    const uint32_t *groups;   /* PREX__OP_NAME: group numbers, ascending */
} prex__tmpl_op;

/* A $-template (target_label of replace, replacement of replace and
 * labelmap) compiled against its rule's regex: references to groups that
 * do not exist are gone (they expand to ""), names are resolved. */
typedef struct prex__tmpl {
    prex_slice text;          /* as written (in the rule set) */
    int has_dollar;           /* text contains '$' */
    const prex__tmpl_op *ops;
    size_t nops;
} prex__tmpl;

/* MARK: rules */

typedef struct prex__rule {
    prex_relabel_action action;
    const prex_slice *source;
    size_t nsource;
    prex_slice separator;
    prex_slice regex_text;
    int regex_set;
    uint64_t modulus;
    prex_slice target;
    prex_slice replacement;
    prex__tmpl ttarget;       /* replace */
    prex__tmpl trepl;         /* replace, labelmap */
    prex__regex re;           /* code is NULL for actions without a regex */
    uint64_t line, column;
} prex__rule;

struct prex_relabel_rules {
    prex_alloc alc;           /* copy of the caller's allocator */
    prex_arena mem;           /* rules, strings, template ops */
    pcre2_general_context *gctx;
    pcre2_compile_context *cctx;
    prex__rule *rules;
    size_t n;
    size_t cap;
    unsigned flags;           /* effective PREX_RELABEL_* flags */
    uint32_t maxcap;          /* most capture groups of any regex */
    int need_seq;             /* a labelmap follows another rule */
    char *name;               /* input name for messages (in mem) */
};

/* A position in the YAML input (1-based; 0 = unknown). */
typedef struct prex__pos {
    uint64_t line;
    uint64_t column;
} prex__pos;

/* A rule as the YAML said it: which keys were present, their values
 * (slices valid during prex__relabel_add()), and where they were. A key
 * whose value was YAML null is present with an empty value, except
 * source_labels, which null leaves absent (as Prometheus's nil list). */
typedef struct prex__raw_rule {
    prex__pos at;             /* the rule's mapping */
    int has_action, has_source, has_separator, has_regex, has_modulus,
        has_target, has_replacement;
    prex_slice action, separator, regex, target, replacement;
    uint64_t modulus;
    const prex_slice *source;
    const prex__pos *source_at;
    size_t nsource;
    prex__pos action_at, source_key_at, separator_at, regex_at, modulus_at,
        target_at, replacement_at;
} prex__raw_rule;

/*
 * Creates an empty rule set named name (copied).
 * Returns NULL when out of memory.
 */
prex_relabel_rules *prex__relabel_new(const char *name, unsigned flags,
                                      const prex_alloc *alc);

/*
 * Validates one rule with Prometheus's rules, compiles its regex and
 * templates, and appends it. Strings are copied into the rule set.
 * Returns 0 or a PREX_RELABEL_E_* code with err filled in.
 */
int prex__relabel_add(prex_relabel_rules *rs, const prex__raw_rule *raw,
                      prex_relabel_error *err);

/* Nonzero when name is a valid label name under rs's name scheme. */
int prex__relabel_valid_name(const prex_relabel_rules *rs, const char *p, size_t n);

/* MARK: errors */

/*
 * Fills err (NULL is fine): code, position, message (printf-style) and
 * text = "NAME:LINE:COLUMN: error: MESSAGE" (without ":LINE:COLUMN" when
 * line is 0). Returns code.
 */
int prex__relabel_fail(prex_relabel_error *err, int code, const char *name,
                       uint64_t line, uint64_t column, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/*
 * Writes p[0..n) to out (outsz bytes, always NUL-terminated) quoted the
 * way Go's %q does for readable text: in double quotes, with \" \\ \n \t
 * \r and \xHH for other control bytes; cut with "..." when too long.
 * Returns out.
 */
char *prex__relabel_quote(char *out, size_t outsz, const char *p, size_t n);

#endif /* PREX_RELABEL_INT_H */

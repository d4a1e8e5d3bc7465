/*
 * relabel.c - the relabel engine: validates and compiles rules (with
 * Prometheus's own checks and messages), compiles $-templates to Go's
 * regexp.Expand rules, and applies a rule set to one label set.
 *
 * The working label set is the caller's array, kept sorted by name, so a
 * lookup is a binary search and the output needs no final sort. Values
 * that rules compute are built in per-state scratch buffers and copied to
 * the arena only when they differ from what the label already holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/md5.h>
#include <unicase.h>
#include <unictype.h>
#include <unistr.h>

#include "relabel_int.h"

/* MARK: names and errors */

static const char *const action_names[] = {
    [PREX_RELABEL_ACT_REPLACE] = "replace",
    [PREX_RELABEL_ACT_LOWERCASE] = "lowercase",
    [PREX_RELABEL_ACT_UPPERCASE] = "uppercase",
    [PREX_RELABEL_ACT_KEEP] = "keep",
    [PREX_RELABEL_ACT_DROP] = "drop",
    [PREX_RELABEL_ACT_KEEPEQUAL] = "keepequal",
    [PREX_RELABEL_ACT_DROPEQUAL] = "dropequal",
    [PREX_RELABEL_ACT_HASHMOD] = "hashmod",
    [PREX_RELABEL_ACT_LABELMAP] = "labelmap",
    [PREX_RELABEL_ACT_LABELDROP] = "labeldrop",
    [PREX_RELABEL_ACT_LABELKEEP] = "labelkeep",
};

#define NACTIONS (sizeof action_names / sizeof *action_names)

const char *prex_relabel_action_name(prex_relabel_action action)
{
    if ((unsigned)action >= NACTIONS)
        return "?";
    return action_names[action];
}

const char *prex_relabel_errname(int code)
{
    switch (code) {
#define PREX_X_NAME(name, num, desc) case num: return #name;
        PREX_RELABEL_ERRORS(PREX_X_NAME)
#undef PREX_X_NAME
    default:
        return "UNKNOWN";
    }
}

const char *prex_relabel_strerror(int code)
{
    switch (code) {
#define PREX_X_DESC(name, num, desc) case num: return desc;
        PREX_RELABEL_ERRORS(PREX_X_DESC)
#undef PREX_X_DESC
    default:
        return "unknown error";
    }
}

int prex__relabel_fail(prex_relabel_error *err, int code, const char *name,
                       uint64_t line, uint64_t column, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    err->line = line;
    err->column = column;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(err->text, sizeof err->text, "%s:%llu:%llu: error: %s", name,
                 (unsigned long long)line, (unsigned long long)column, err->message);
    else
        snprintf(err->text, sizeof err->text, "%s: error: %s", name, err->message);
    return code;
}

char *prex__relabel_quote(char *out, size_t outsz, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;
    unsigned char c;

    if (outsz < 8) {
        if (outsz)
            out[0] = '\0';
        return out;
    }
    out[o++] = '"';
    for (i = 0; i < n; i++) {
        if (o + 8 >= outsz) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        c = (unsigned char)p[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c == '\t') {
            out[o++] = '\\';
            out[o++] = 't';
        } else if (c == '\r') {
            out[o++] = '\\';
            out[o++] = 'r';
        } else if (c < 0x20 || c == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* MARK: name checks */

static int is_word(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_';
}

int prex__relabel_valid_name(const prex_relabel_rules *rs, const char *p, size_t n)
{
    prex_slice s;

    if (n == 0)
        return 0;
    if (rs->flags & PREX_RELABEL_LEGACY_NAMES) {
        s.ptr = p;
        s.len = n;
        return prex_is_legacy_label_name(s);
    }
    return u8_check((const uint8_t *)p, n) == NULL;
}

/* A $-variable of the legacy template pattern at p[*i] == '$':
 * \$(?:\{\w+\}|\w+). Moves *i past it; returns 0 if there is none. */
static int legacy_var(const char *p, size_t n, size_t *i)
{
    size_t k = *i + 1, s;

    if (k < n && p[k] == '{') {
        s = ++k;
        while (k < n && is_word((unsigned char)p[k]))
            k++;
        if (k == s || k >= n || p[k] != '}')
            return 0;
        *i = k + 1;
        return 1;
    }
    s = k;
    while (k < n && is_word((unsigned char)p[k]))
        k++;
    if (k == s)
        return 0;
    *i = k;
    return 1;
}

/*
 * Nonzero when p[0..n) may serve as a label name that contains
 * $-variables: in legacy mode it must match Prometheus's pattern
 * ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$, in UTF-8 mode be non-empty
 * valid UTF-8.
 */
static int valid_template_name(const prex_relabel_rules *rs, const char *p, size_t n)
{
    size_t i = 0;
    int c;

    if (n == 0)
        return 0;
    if (!(rs->flags & PREX_RELABEL_LEGACY_NAMES))
        return u8_check((const uint8_t *)p, n) == NULL;
    c = (unsigned char)p[0];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        i = 1;
    else if (c != '$' || !legacy_var(p, n, &i))
        return 0;
    while (i < n) {
        if (is_word((unsigned char)p[i]))
            i++;
        else if (p[i] != '$' || !legacy_var(p, n, &i))
            return 0;
    }
    return 1;
}

/* MARK: rule sets */

static void *pc_malloc(PCRE2_SIZE size, void *data)
{
    const prex_alloc *a = data;

    return a->malloc(a->ctx, size);
}

static void pc_free(void *p, void *data)
{
    const prex_alloc *a = data;

    if (p)
        a->free(a->ctx, p);
}

/*
 * Allocates an empty rule set: a copy of the allocator (PCRE2 keeps a
 * pointer to it), the arena for rule memory, the PCRE2 general and
 * compile contexts (newline is LF), and a copy of name.
 */
prex_relabel_rules *prex__relabel_new(const char *name, unsigned flags,
                                      const prex_alloc *alc)
{
    prex_relabel_rules *rs;
    size_t nlen = strlen(name);

    if (!alc)
        alc = &prex_alloc_libc;
    rs = alc->malloc(alc->ctx, sizeof *rs);
    if (!rs)
        return NULL;
    memset(rs, 0, sizeof *rs);
    rs->alc = *alc;
    rs->flags = flags;
    prex_arena_init(&rs->mem, &rs->alc, 4096);
    rs->name = prex_arena_alloc_bytes(&rs->mem, nlen + 1);
    rs->gctx = pcre2_general_context_create(pc_malloc, pc_free, &rs->alc);
    rs->cctx = rs->gctx ? pcre2_compile_context_create(rs->gctx) : NULL;
    if (!rs->name || !rs->cctx) {
        prex_relabel_free(rs);
        return NULL;
    }
    memcpy(rs->name, name, nlen + 1);
    pcre2_set_newline(rs->cctx, PCRE2_NEWLINE_LF);
    return rs;
}

size_t prex_relabel_count(const prex_relabel_rules *rs)
{
    return rs->n;
}

int prex_relabel_rule(const prex_relabel_rules *rs, size_t i,
                      prex_relabel_rule_info *info)
{
    const prex__rule *r;

    if (i >= rs->n)
        return -1;
    r = &rs->rules[i];
    info->action = r->action;
    info->nsource = r->nsource;
    info->source = r->source;
    info->separator = r->separator;
    info->regex = r->regex_text;
    info->regex_set = r->regex_set;
    info->modulus = r->modulus;
    info->target = r->target;
    info->replacement = r->replacement;
    info->line = r->line;
    info->column = r->column;
    return 0;
}

/* Frees the regex codes, the rule array, the PCRE2 contexts, the rule
 * arena and the set itself, in that order (the contexts use rs->alc). */
void prex_relabel_free(prex_relabel_rules *rs)
{
    prex_alloc alc;
    size_t i;

    if (!rs)
        return;
    for (i = 0; i < rs->n; i++)
        prex__regex_free(&rs->rules[i].re);
    if (rs->rules)
        rs->alc.free(rs->alc.ctx, rs->rules);
    if (rs->cctx)
        pcre2_compile_context_free(rs->cctx);
    if (rs->gctx)
        pcre2_general_context_free(rs->gctx);
    prex_arena_free(&rs->mem);
    alc = rs->alc;
    alc.free(alc.ctx, rs);
}

/* MARK: compiling rules */

/* Copies s into the rule set; NULL ptr only when out of memory. An
 * empty slice gets a non-NULL pointer too. */
static prex_slice keep_slice(prex_relabel_rules *rs, prex_slice s)
{
    prex_slice d;

    d.ptr = prex_arena_copy(&rs->mem, s.ptr, s.len);
    d.len = s.len;
    return d;
}

static int slice_is(prex_slice s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* Nonzero when code point c may be part of a $name: Go's
 * unicode.IsLetter, unicode.IsDigit or '_'. */
static int name_rune(ucs4_t c)
{
    if (c < 0x80)
        return is_word((int)c);
    return uc_is_general_category(c, UC_CATEGORY_L) ||
           uc_is_general_category(c, UC_CATEGORY_Nd);
}

/* Appends a literal text[a..a+len) to ops, merging with a literal that
 * ends where it starts. */
static void add_lit(prex__tmpl_op *ops, size_t *nops, size_t a, size_t len)
{
    if (len == 0)
        return;
    if (*nops > 0 && ops[*nops - 1].kind == PREX__OP_LIT &&
        ops[*nops - 1].a + ops[*nops - 1].b == a) {
        ops[*nops - 1].b += (uint32_t)len;
        return;
    }
    ops[*nops].kind = PREX__OP_LIT;
    ops[*nops].a = (uint32_t)a;
    ops[*nops].b = (uint32_t)len;
    ops[*nops].groups = NULL;
    (*nops)++;
}

/*
 * Compiles template text (already in the rule set) against re, following
 * Go's regexp.Expand: "$$" is "$"; "$name" takes the longest run of
 * letters, digits and '_'; "${name}" is braced; a '$' without a valid name
 * stays literal; a name of at most nine ASCII digits without a leading
 * zero (or "0") is a group number, anything else a group name; groups
 * that do not exist are dropped, since they always expand to "".
 * Returns 0 or PREX_RELABEL_E_NO_MEMORY.
 */
static int compile_tmpl(prex_relabel_rules *rs, prex__tmpl *tp, prex_slice text,
                        const prex__regex *re)
{
    const char *s = text.ptr;
    size_t n = text.len, i = 0, lit = 0, ndollar = 0, nops = 0, j, k, end, cnt, d;
    prex__tmpl_op *ops;
    uint32_t *groups;
    ucs4_t uc;
    int w, brace;
    long num;

    memset(tp, 0, sizeof *tp);
    tp->text = text;
    for (k = 0; k < n; k++)
        ndollar += s[k] == '$';
    tp->has_dollar = ndollar > 0;
    if (!ndollar)
        return 0;
    ops = prex_arena_alloc(&rs->mem, (2 * ndollar + 1) * sizeof *ops);
    if (!ops)
        return PREX_RELABEL_E_NO_MEMORY;
    while (i < n) {
        if (s[i] != '$') {
            i++;
            continue;
        }
        if (i + 1 < n && s[i + 1] == '$') {
            add_lit(ops, &nops, lit, i - lit);
            add_lit(ops, &nops, i + 1, 1);
            i += 2;
            lit = i;
            continue;
        }
        brace = i + 1 < n && s[i + 1] == '{';
        j = i + 1 + (size_t)brace;
        k = j;
        while (k < n) {
            w = u8_mbtoucr(&uc, (const uint8_t *)s + k, n - k);
            if (w <= 0 || !name_rune(uc))
                break;
            k += (size_t)w;
        }
        if (k == j || (brace && (k >= n || s[k] != '}'))) {
            i++; /* malformed: the '$' stays in the literal run */
            continue;
        }
        end = brace ? k + 1 : k;
        add_lit(ops, &nops, lit, i - lit);
        num = 0;
        for (d = j; d < k; d++) {
            if (s[d] < '0' || s[d] > '9' || num >= 100000000L) {
                num = -1;
                break;
            }
            num = num * 10 + (s[d] - '0');
        }
        if (s[j] == '0' && k - j > 1)
            num = -1;
        if (num >= 0) {
            if ((uint32_t)num <= re->ncap) {
                ops[nops].kind = PREX__OP_GROUP;
                ops[nops].a = (uint32_t)num;
                ops[nops].b = 0;
                ops[nops].groups = NULL;
                nops++;
            }
        } else {
            cnt = prex__regex_groups_named(re, s + j, k - j, NULL, 0);
            if (cnt > 0) {
                groups = prex_arena_alloc(&rs->mem, cnt * sizeof *groups);
                if (!groups)
                    return PREX_RELABEL_E_NO_MEMORY;
                prex__regex_groups_named(re, s + j, k - j, groups, cnt);
                ops[nops].kind = PREX__OP_NAME;
                ops[nops].a = 0;
                ops[nops].b = (uint32_t)cnt;
                ops[nops].groups = groups;
                nops++;
            }
        }
        i = end;
        lit = i;
    }
    add_lit(ops, &nops, lit, n - lit);
    tp->ops = ops;
    tp->nops = nops;
    return 0;
}

/* Case-insensitive comparison of a slice with a lower-case ASCII word. */
static int eq_fold(prex_slice s, const char *lit)
{
    size_t i, n = strlen(lit);
    int c;

    if (s.len != n)
        return 0;
    for (i = 0; i < n; i++) {
        c = (unsigned char)s.ptr[i];
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c != lit[i])
            return 0;
    }
    return 1;
}

/*
 * Prometheus's Config.Validate, in its order and with its messages, for
 * the rule r built from raw. Returns 0 or PREX_RELABEL_E_CONFIG.
 */
static int validate(prex_relabel_rules *rs, const prex__raw_rule *raw,
                    const prex__rule *r, prex_relabel_error *err)
{
    prex_relabel_action a = r->action;
    const char *an = action_names[a];
    int needs_target = a == PREX_RELABEL_ACT_REPLACE || a == PREX_RELABEL_ACT_HASHMOD ||
                       a == PREX_RELABEL_ACT_LOWERCASE || a == PREX_RELABEL_ACT_UPPERCASE ||
                       a == PREX_RELABEL_ACT_KEEPEQUAL || a == PREX_RELABEL_ACT_DROPEQUAL;
    int case_or_eq = a == PREX_RELABEL_ACT_LOWERCASE || a == PREX_RELABEL_ACT_UPPERCASE ||
                     a == PREX_RELABEL_ACT_KEEPEQUAL || a == PREX_RELABEL_ACT_DROPEQUAL;
    int has_dollar = memchr(r->target.ptr, '$', r->target.len) != NULL;
    prex__pos tat = raw->has_target ? raw->target_at : raw->at;
    prex__pos rat = raw->has_replacement ? raw->replacement_at : raw->at;
    prex__pos at;
    char q[160];

    if (a == PREX_RELABEL_ACT_HASHMOD && r->modulus == 0) {
        at = raw->has_modulus ? raw->modulus_at : raw->at;
        return prex__relabel_fail(err, PREX_RELABEL_E_CONFIG, rs->name, at.line, at.column,
                                  "relabel configuration for hashmod requires non-zero modulus");
    }
    if (needs_target && r->target.len == 0)
        return prex__relabel_fail(err, PREX_RELABEL_E_CONFIG, rs->name, tat.line, tat.column,
                                  "relabel configuration for %s action requires "
                                  "'target_label' value", an);
    if (a == PREX_RELABEL_ACT_REPLACE &&
        (has_dollar ? !valid_template_name(rs, r->target.ptr, r->target.len)
                    : !prex__relabel_valid_name(rs, r->target.ptr, r->target.len)))
        goto bad_target;
    if (case_or_eq && !prex__relabel_valid_name(rs, r->target.ptr, r->target.len))
        goto bad_target;
    if (case_or_eq && !slice_is(r->replacement, "$1"))
        return prex__relabel_fail(err, PREX_RELABEL_E_CONFIG, rs->name, rat.line, rat.column,
                                  "'replacement' can not be set for %s action", an);
    if (a == PREX_RELABEL_ACT_LABELMAP &&
        !valid_template_name(rs, r->replacement.ptr, r->replacement.len))
        return prex__relabel_fail(err, PREX_RELABEL_E_CONFIG, rs->name, rat.line, rat.column,
                                  "%s is invalid 'replacement' for %s action",
                                  prex__relabel_quote(q, sizeof q, r->replacement.ptr,
                                                      r->replacement.len), an);
    if (a == PREX_RELABEL_ACT_HASHMOD &&
        !prex__relabel_valid_name(rs, r->target.ptr, r->target.len))
        goto bad_target;
    if (a == PREX_RELABEL_ACT_KEEPEQUAL || a == PREX_RELABEL_ACT_DROPEQUAL) {
        if (r->regex_set)
            at = raw->regex_at;
        else if (r->modulus != 0)
            at = raw->modulus_at;
        else if (!slice_is(r->separator, ";"))
            at = raw->separator_at;
        else if (!slice_is(r->replacement, "$1"))
            at = raw->replacement_at;
        else
            return 0;
        return prex__relabel_fail(err, PREX_RELABEL_E_CONFIG, rs->name, at.line, at.column,
                                  "%s action requires only 'source_labels' and "
                                  "`target_label`, and no other fields", an);
    }
    if (a == PREX_RELABEL_ACT_LABELDROP || a == PREX_RELABEL_ACT_LABELKEEP) {
        if (raw->has_source)
            at = raw->source_key_at;
        else if (r->target.len != 0)
            at = raw->target_at;
        else if (r->modulus != 0)
            at = raw->modulus_at;
        else if (!slice_is(r->separator, ";"))
            at = raw->separator_at;
        else if (!slice_is(r->replacement, "$1"))
            at = raw->replacement_at;
        else
            return 0;
        return prex__relabel_fail(err, PREX_RELABEL_E_CONFIG, rs->name, at.line, at.column,
                                  "%s action requires only 'regex', and no other fields", an);
    }
    return 0;

bad_target:
    return prex__relabel_fail(err, PREX_RELABEL_E_CONFIG, rs->name, tat.line, tat.column,
                              "%s is invalid 'target_label' for %s action",
                              prex__relabel_quote(q, sizeof q, r->target.ptr, r->target.len),
                              an);
}

/* Nonzero for the actions that use their regex when applied. */
static int uses_regex(prex_relabel_action a)
{
    return a == PREX_RELABEL_ACT_REPLACE || a == PREX_RELABEL_ACT_KEEP ||
           a == PREX_RELABEL_ACT_DROP || a == PREX_RELABEL_ACT_LABELMAP ||
           a == PREX_RELABEL_ACT_LABELDROP || a == PREX_RELABEL_ACT_LABELKEEP;
}

/*
 * In the order Prometheus reports problems: the action name, the source
 * label names, the regex (compiled whenever given), then Config.Validate.
 * Then the templates are compiled against the regex and the rule is
 * appended. On error nothing is appended; strings already copied stay in
 * the rule arena until the set is freed.
 */
int prex__relabel_add(prex_relabel_rules *rs, const prex__raw_rule *raw,
                      prex_relabel_error *err)
{
    static const prex_slice def_sep = { ";", 1 }, def_regex = { "(.*)", 4 },
                            def_repl = { "$1", 2 }, empty = { "", 0 };
    prex__rule r, *nr;
    prex_slice *src = NULL;
    char q[160], why[300];
    size_t i, ncap;
    unsigned k;
    int rc;

    memset(&r, 0, sizeof r);
    r.line = raw->at.line;
    r.column = raw->at.column;

    /* action: matched case-insensitively, as Action.UnmarshalYAML does */
    r.action = PREX_RELABEL_ACT_REPLACE;
    if (raw->has_action) {
        if (raw->action.len == 0)
            return prex__relabel_fail(err, PREX_RELABEL_E_CONFIG, rs->name,
                                      raw->action_at.line, raw->action_at.column,
                                      "relabel action cannot be empty");
        for (k = 0; k < NACTIONS; k++)
            if (eq_fold(raw->action, action_names[k]))
                break;
        if (k == NACTIONS)
            return prex__relabel_fail(err, PREX_RELABEL_E_CONFIG, rs->name,
                                      raw->action_at.line, raw->action_at.column,
                                      "unknown relabel action %s (expected replace, lowercase, "
                                      "uppercase, keep, drop, keepequal, dropequal, hashmod, "
                                      "labelmap, labeldrop or labelkeep)",
                                      prex__relabel_quote(q, sizeof q, raw->action.ptr,
                                                          raw->action.len));
        r.action = (prex_relabel_action)k;
    }

    /* source_labels: every name must be valid (LabelName.UnmarshalYAML) */
    if (raw->nsource) {
        src = prex_arena_alloc(&rs->mem, raw->nsource * sizeof *src);
        if (!src)
            goto oom;
    }
    for (i = 0; i < raw->nsource; i++) {
        if (!prex__relabel_valid_name(rs, raw->source[i].ptr, raw->source[i].len))
            return prex__relabel_fail(err, PREX_RELABEL_E_CONFIG, rs->name,
                                      raw->source_at[i].line, raw->source_at[i].column,
                                      "%s is not a valid label name",
                                      prex__relabel_quote(q, sizeof q, raw->source[i].ptr,
                                                          raw->source[i].len));
        src[i] = keep_slice(rs, raw->source[i]);
        if (!src[i].ptr)
            goto oom;
    }
    r.source = src;
    r.nsource = raw->nsource;

    r.separator = keep_slice(rs, raw->has_separator ? raw->separator : def_sep);
    r.regex_text = keep_slice(rs, raw->has_regex ? raw->regex : def_regex);
    r.regex_set = raw->has_regex;
    r.modulus = raw->has_modulus ? raw->modulus : 0;
    r.target = keep_slice(rs, raw->has_target ? raw->target : empty);
    r.replacement = keep_slice(rs, raw->has_replacement ? raw->replacement : def_repl);
    if (!r.separator.ptr || !r.regex_text.ptr || !r.target.ptr || !r.replacement.ptr)
        goto oom;

    /* The regex is compiled whenever it is given (Prometheus compiles it
     * while reading the YAML), and kept when the action needs it. */
    if (raw->has_regex || uses_regex(r.action)) {
        rc = prex__regex_compile(&r.re, r.regex_text.ptr, r.regex_text.len,
                                 !(rs->flags & PREX_RELABEL_NO_DOTALL), &rs->alc,
                                 rs->cctx, why, sizeof why);
        if (rc == PREX_RELABEL_E_NO_MEMORY)
            goto oom;
        if (rc != 0)
            return prex__relabel_fail(err, rc, rs->name, raw->regex_at.line,
                                      raw->regex_at.column, "invalid regex %s: %s",
                                      prex__relabel_quote(q, sizeof q, r.regex_text.ptr,
                                                          r.regex_text.len),
                                      why);
    }

    if ((rc = validate(rs, raw, &r, err)) != 0) {
        prex__regex_free(&r.re);
        return rc;
    }
    if (!uses_regex(r.action))
        prex__regex_free(&r.re);

    if (r.action == PREX_RELABEL_ACT_REPLACE &&
        compile_tmpl(rs, &r.ttarget, r.target, &r.re) != 0)
        goto oom_re;
    if ((r.action == PREX_RELABEL_ACT_REPLACE || r.action == PREX_RELABEL_ACT_LABELMAP) &&
        compile_tmpl(rs, &r.trepl, r.replacement, &r.re) != 0)
        goto oom_re;

    if (rs->n == rs->cap) {
        ncap = rs->cap ? rs->cap * 2 : 8;
        nr = rs->rules ? rs->alc.realloc(rs->alc.ctx, rs->rules, rs->cap * sizeof *nr,
                                         ncap * sizeof *nr)
                       : rs->alc.malloc(rs->alc.ctx, ncap * sizeof *nr);
        if (!nr)
            goto oom_re;
        rs->rules = nr;
        rs->cap = ncap;
    }
    if (r.re.ncap > rs->maxcap)
        rs->maxcap = r.re.ncap;
    if (r.action == PREX_RELABEL_ACT_LABELMAP && rs->n > 0)
        rs->need_seq = 1;
    rs->rules[rs->n++] = r;
    return 0;

oom_re:
    prex__regex_free(&r.re);
oom:
    return prex__relabel_fail(err, PREX_RELABEL_E_NO_MEMORY, rs->name, raw->at.line,
                              raw->at.column, "out of memory");
}

/* MARK: state */

void prex_relabel_state_init(prex_relabel_state *st,
                             const prex_relabel_rules *rs, prex_arena *arena)
{
    memset(st, 0, sizeof *st);
    st->_rs = rs;
    st->_arena = arena;
}

/* Frees what the state allocated through the rule set's allocator and
 * PCRE2 contexts. A state that never ran frees nothing. */
void prex_relabel_state_free(prex_relabel_state *st)
{
    const prex_alloc *a;

    if (!st->_rs)
        return;
    a = &st->_rs->alc;
    if (st->_md)
        pcre2_match_data_free(st->_md);
    if (st->_mctx)
        pcre2_match_context_free(st->_mctx);
    if (st->_jit)
        pcre2_jit_stack_free(st->_jit);
    if (st->_join._ptr)
        a->free(a->ctx, st->_join._ptr);
    if (st->_tgt._ptr)
        a->free(a->ctx, st->_tgt._ptr);
    if (st->_val._ptr)
        a->free(a->ctx, st->_val._ptr);
    if (st->_seq)
        a->free(a->ctx, st->_seq);
    if (st->_snap)
        a->free(a->ctx, st->_snap);
    if (st->_snapseq)
        a->free(a->ctx, st->_snapseq);
    memset(st, 0, sizeof *st);
}

const prex_relabel_error *prex_relabel_state_error(const prex_relabel_state *st)
{
    return &st->_err;
}

/* Records a run-time error of rule ri (index into the rule set; SIZE_MAX
 * for an error in the input itself). Returns PREX_RELABEL_ERROR. */
static int run_fail(prex_relabel_state *st, size_t ri, int code, const char *what)
{
    const prex__rule *r = ri < st->_rs->n ? &st->_rs->rules[ri] : NULL;

    if (r)
        prex__relabel_fail(&st->_err, code, st->_rs->name, r->line, r->column,
                           "rule %zu (%s): %s", ri + 1, action_names[r->action], what);
    else
        prex__relabel_fail(&st->_err, code, st->_rs->name, 0, 0, "%s", what);
    st->_err.rule = ri;
    return PREX_RELABEL_ERROR;
}

/* Grows a state array of elem-byte elements to hold at least want.
 * Returns 0 or -1. */
static int grow_array(const prex_alloc *a, void **p, size_t *cap, size_t want, size_t elem)
{
    size_t ncap = *cap ? *cap : 16;
    void *np;

    if (want <= *cap)
        return 0;
    while (ncap < want) {
        if (ncap > SIZE_MAX / 2 / elem)
            return -1;
        ncap *= 2;
    }
    np = *p ? a->realloc(a->ctx, *p, *cap * elem, ncap * elem) : a->malloc(a->ctx, ncap * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

/* Makes room for add more bytes in b. Returns 0 or -1. */
static int buf_room(const prex_alloc *a, prex__relabel_buf *b, size_t add)
{
    void *p = b->_ptr;
    int rc;

    if (add > SIZE_MAX - b->_len)
        return -1;
    rc = grow_array(a, &p, &b->_cap, b->_len + add, 1);
    b->_ptr = p;
    return rc;
}

static void buf_put(prex__relabel_buf *b, const char *p, size_t n)
{
    if (n)
        memcpy(b->_ptr + b->_len, p, n);
    b->_len += n;
}

/* MARK: label set operations */

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;

    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static int slice_eq(prex_slice a, prex_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

prex_slice prex_labelset_get(const prex_labelset *ls, const char *name, size_t len)
{
    prex_slice none = { NULL, 0 };
    size_t i;

    for (i = 0; i < ls->n; i++)
        if (ls->pairs[i].name.len == len &&
            (len == 0 || memcmp(ls->pairs[i].name.ptr, name, len) == 0))
            return ls->pairs[i].value;
    return none;
}

/* Binary search in the sorted set: the index of name, or where it would
 * go; *found tells which. */
static size_t find(const prex_labelset *ls, const char *p, size_t n, int *found)
{
    size_t lo = 0, hi = ls->n, mid;
    int c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = cmp_bytes(ls->pairs[mid].name.ptr, ls->pairs[mid].name.len, p, n);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* The value of a label in the sorted set; "" when absent. */
static prex_slice get(const prex_labelset *ls, prex_slice name)
{
    prex_slice none = { "", 0 };
    int found;
    size_t i = find(ls, name.ptr, name.len, &found);

    return found ? ls->pairs[i].value : none;
}

/* Removes label i. */
static void remove_at(prex_relabel_state *st, prex_labelset *ls, size_t i)
{
    memmove(ls->pairs + i, ls->pairs + i + 1, (ls->n - i - 1) * sizeof *ls->pairs);
    if (st->_track)
        memmove(st->_seq + i, st->_seq + i + 1, (ls->n - i - 1) * sizeof *st->_seq);
    ls->n--;
}

static void del(prex_relabel_state *st, prex_labelset *ls, prex_slice name)
{
    int found;
    size_t i = find(ls, name.ptr, name.len, &found);

    if (found)
        remove_at(st, ls, i);
}

/*
 * Sets label name to value (empty value: deletes it), keeping the set
 * sorted. name_tmp / value_tmp say that the bytes live in a scratch
 * buffer and must be copied to the arena if they are kept; a value equal
 * to the current one is not copied. Returns 0 or -1 (out of memory).
 */
static int set(prex_relabel_state *st, prex_labelset *ls, prex_slice name, int name_tmp,
               prex_slice value, int value_tmp)
{
    const prex_alloc *a = &st->_rs->alc;
    prex_pair *np;
    size_t i, ncap;
    int found;
    void *sp;

    if (value.len == 0) {
        del(st, ls, name);
        return 0;
    }
    i = find(ls, name.ptr, name.len, &found);
    if (found) {
        if (!slice_eq(ls->pairs[i].value, value)) {
            if (value_tmp && !(value.ptr = prex_arena_copy(st->_arena, value.ptr, value.len)))
                return -1;
            ls->pairs[i].value = value;
        }
        /* Prometheus's Builder.Set moves an input label to the list of
         * added labels, which labelmap visits last. */
        if (st->_track && st->_seq[i] == 0)
            st->_seq[i] = st->_seqnext++;
        return 0;
    }
    if (name_tmp && !(name.ptr = prex_arena_copy(st->_arena, name.ptr, name.len)))
        return -1;
    if (value_tmp && !(value.ptr = prex_arena_copy(st->_arena, value.ptr, value.len)))
        return -1;
    if (ls->n == ls->cap) {
        ncap = ls->cap < 8 ? 16 : ls->cap * 2;
        np = prex_arena_alloc(st->_arena, ncap * sizeof *np);
        if (!np)
            return -1;
        if (ls->n)
            memcpy(np, ls->pairs, ls->n * sizeof *np);
        ls->pairs = np;
        ls->cap = ncap;
    }
    if (st->_track) {
        sp = st->_seq;
        if (grow_array(a, &sp, &st->_seqcap, ls->n + 1, sizeof *st->_seq) != 0)
            return -1;
        st->_seq = sp;
        memmove(st->_seq + i + 1, st->_seq + i, (ls->n - i) * sizeof *st->_seq);
        st->_seq[i] = st->_seqnext++;
    }
    memmove(ls->pairs + i + 1, ls->pairs + i, (ls->n - i) * sizeof *ls->pairs);
    ls->pairs[i].name = name;
    ls->pairs[i].value = value;
    ls->n++;
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    const prex_pair *x = a, *y = b;

    return cmp_bytes(x->name.ptr, x->name.len, y->name.ptr, y->name.len);
}

/*
 * Prepares the input: drops empty values, sorts by name (insertion sort
 * for the usual small, nearly sorted sets) and rejects duplicate names.
 * Returns 0 or -1 (duplicate).
 */
static int normalize(prex_labelset *ls)
{
    size_t i, j, o = 0;
    int sorted = 1;
    prex_pair t;

    for (i = 0; i < ls->n; i++) {
        if (ls->pairs[i].value.len == 0)
            continue;
        if (o != i)
            ls->pairs[o] = ls->pairs[i];
        if (o > 0 && cmp_pair(&ls->pairs[o - 1], &ls->pairs[o]) >= 0)
            sorted = 0;
        o++;
    }
    ls->n = o;
    if (!sorted) {
        if (ls->n > 64) {
            qsort(ls->pairs, ls->n, sizeof *ls->pairs, cmp_pair);
        } else {
            for (i = 1; i < ls->n; i++) {
                t = ls->pairs[i];
                for (j = i; j > 0 && cmp_pair(&ls->pairs[j - 1], &t) > 0; j--)
                    ls->pairs[j] = ls->pairs[j - 1];
                ls->pairs[j] = t;
            }
        }
        for (i = 1; i < ls->n; i++)
            if (cmp_pair(&ls->pairs[i - 1], &ls->pairs[i]) == 0)
                return -1;
    }
    return 0;
}

/* MARK: matching and expansion */

/* Where an expansion result lives. */
enum { IN_RULES, IN_SUBJECT, IN_SCRATCH };

/*
 * Matches rule ri's regex against s[0..n) (anchored by construction).
 * ov and nset: OUT: the offsets (pairs) and how many pairs are set.
 * fake: room for the two pairs of a match found without PCRE2.
 * Returns 1 (match), 0 (no match) or PREX_RELABEL_ERROR.
 */
static int match(prex_relabel_state *st, size_t ri, const char *s, size_t n,
                 const size_t **ov, uint32_t *nset, size_t fake[4])
{
    const prex__rule *r = &st->_rs->rules[ri];
    PCRE2_UCHAR pmsg[160];
    char what[240];
    int rc;

    if (r->re.fast == PREX__RE_ALL ||
        (r->re.fast == PREX__RE_NO_NL && (n == 0 || !memchr(s, '\n', n)))) {
        fake[0] = fake[2] = 0;
        fake[1] = fake[3] = n;
        *ov = fake;
        *nset = r->re.ncap + 1;
        return 1;
    }
    if (r->re.fast == PREX__RE_NO_NL)
        return 0;
    if (!st->_mctx) {
        st->_mctx = pcre2_match_context_create(st->_rs->gctx);
        if (!st->_mctx)
            return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
        pcre2_set_match_limit(st->_mctx, PREX_RELABEL_MATCH_LIMIT);
    }
    if (!st->_md) {
        st->_md = pcre2_match_data_create(st->_rs->maxcap + 1, st->_rs->gctx);
        if (!st->_md)
            return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
    }
    for (;;) {
        rc = pcre2_match(r->re.code, (PCRE2_SPTR)(n ? s : ""), n, 0, 0, st->_md, st->_mctx);
        if (rc != PCRE2_ERROR_JIT_STACKLIMIT || st->_jit)
            break;
        st->_jit = pcre2_jit_stack_create(32 * 1024, PREX_RELABEL_JIT_STACK, st->_rs->gctx);
        if (!st->_jit)
            return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
        pcre2_jit_stack_assign(st->_mctx, NULL, st->_jit);
    }
    if (rc > 0) {
        *ov = pcre2_get_ovector_pointer(st->_md);
        *nset = (uint32_t)rc;
        return 1;
    }
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
        rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
        return run_fail(st, ri, PREX_RELABEL_E_MATCH_LIMIT,
                        "regex match limit exceeded (a pattern that backtracks too much)");
    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)
        return run_fail(st, ri, PREX_RELABEL_E_UTF8,
                        "a label name or value that the regex must match is not valid UTF-8");
    if (rc == PCRE2_ERROR_NOMEMORY)
        return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
    pcre2_get_error_message(rc, pmsg, sizeof pmsg);
    snprintf(what, sizeof what, "regex match failed: %s", (const char *)pmsg);
    return run_fail(st, ri, PREX_RELABEL_E_MATCH, what);
}

/* Text of group g of a match, or NULL ptr when it did not take part. s
 * may be NULL for an empty subject (an empty joined value has no bytes);
 * a group that took part then is "" (no offset is added to NULL). */
static prex_slice group(const char *s, const size_t *ov, uint32_t nset, uint32_t g)
{
    prex_slice t = { NULL, 0 };

    if (g < nset && ov[2 * g] != PCRE2_UNSET) {
        t.ptr = s ? s + ov[2 * g] : "";
        t.len = ov[2 * g + 1] - ov[2 * g];
    }
    return t;
}

/* The text an op stands for (a NULL ptr for an unset group). */
static prex_slice op_text(const prex__tmpl *tp, const prex__tmpl_op *op, const char *s,
                          const size_t *ov, uint32_t nset)
{
    prex_slice t = { NULL, 0 };
    uint32_t k;

    switch (op->kind) {
    case PREX__OP_LIT:
        t.ptr = tp->text.ptr + op->a;
        t.len = op->b;
        return t;
    case PREX__OP_GROUP:
        return group(s, ov, nset, op->a);
    default:
        for (k = 0; k < op->b; k++) {
            t = group(s, ov, nset, op->groups[k]);
            if (t.ptr)
                return t;
        }
        return t;
    }
}

/*
 * Expands template tp for a match of s (ov, nset). The result goes to
 * *out and *where says whether it points into the rule set, into s, or
 * into scratch buffer b. Returns 0 or -1 (out of memory).
 */
static int expand(prex_relabel_state *st, prex__relabel_buf *b, const prex__tmpl *tp,
                  const char *s, const size_t *ov, uint32_t nset, prex_slice *out,
                  int *where)
{
    prex_slice t;
    size_t k, total = 0;

    if (!tp->has_dollar) {
        *out = tp->text;
        *where = IN_RULES;
        return 0;
    }
    if (tp->nops == 0) {
        out->ptr = "";
        out->len = 0;
        *where = IN_RULES;
        return 0;
    }
    if (tp->nops == 1) {
        t = op_text(tp, &tp->ops[0], s, ov, nset);
        *where = tp->ops[0].kind == PREX__OP_LIT ? IN_RULES : IN_SUBJECT;
        if (!t.ptr)
            t.ptr = "";
        *out = t;
        return 0;
    }
    for (k = 0; k < tp->nops; k++)
        total += op_text(tp, &tp->ops[k], s, ov, nset).len;
    b->_len = 0;
    if (buf_room(&st->_rs->alc, b, total) != 0)
        return -1;
    for (k = 0; k < tp->nops; k++) {
        t = op_text(tp, &tp->ops[k], s, ov, nset);
        buf_put(b, t.ptr, t.len);
    }
    out->ptr = b->_ptr;
    out->len = b->_len;
    *where = IN_SCRATCH;
    return 0;
}

/* MARK: actions */

/*
 * The source value: the values of the rule's source labels joined with
 * its separator (a missing label contributes ""). *tmp: the result lives
 * in the state's join buffer. Returns 0 or -1 (out of memory).
 */
static int join(prex_relabel_state *st, const prex__rule *r, const prex_labelset *ls,
                prex_slice *val, int *tmp)
{
    prex__relabel_buf *b = &st->_join;
    prex_slice v;
    size_t i, total;

    *tmp = 0;
    if (r->nsource == 0) {
        val->ptr = "";
        val->len = 0;
        return 0;
    }
    if (r->nsource == 1) {
        *val = get(ls, r->source[0]);
        return 0;
    }
    total = r->separator.len * (r->nsource - 1);
    for (i = 0; i < r->nsource; i++)
        total += get(ls, r->source[i]).len;
    b->_len = 0;
    if (buf_room(&st->_rs->alc, b, total) != 0)
        return -1;
    for (i = 0; i < r->nsource; i++) {
        if (i)
            buf_put(b, r->separator.ptr, r->separator.len);
        v = get(ls, r->source[i]);
        buf_put(b, v.ptr, v.len);
    }
    val->ptr = b->_ptr;
    val->len = b->_len;
    *tmp = 1;
    return 0;
}

/* Nonzero when name is valid for the target of a replace at run time. */
static int valid_target(const prex_relabel_rules *rs, prex_slice name)
{
    return prex__relabel_valid_name(rs, name.ptr, name.len);
}

/*
 * Go's strings.ToLower / strings.ToUpper: simple (one-to-one) Unicode
 * case mapping per code point, an invalid byte becoming U+FFFD. The
 * result is s itself when nothing changes (*tmp = 0), else the state's
 * value buffer (*tmp = 1). Returns 0 or -1 (out of memory).
 */
static int casemap(prex_relabel_state *st, prex_slice s, int upper, prex_slice *out, int *tmp)
{
    prex__relabel_buf *b = &st->_val;
    const uint8_t *p = (const uint8_t *)s.ptr;
    size_t i, need = 0;
    int ascii = 1, change = 0, w;
    ucs4_t uc, m;
    uint8_t c;

    for (i = 0; i < s.len; i++) {
        c = p[i];
        if (c >= 0x80) {
            ascii = 0;
            break;
        }
        if (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'))
            change = 1;
    }
    *out = s;
    *tmp = 0;
    if (ascii) {
        if (!change)
            return 0;
        b->_len = 0;
        if (buf_room(&st->_rs->alc, b, s.len) != 0)
            return -1;
        for (i = 0; i < s.len; i++) {
            c = p[i];
            if (upper && c >= 'a' && c <= 'z')
                c = (uint8_t)(c - 'a' + 'A');
            else if (!upper && c >= 'A' && c <= 'Z')
                c = (uint8_t)(c - 'A' + 'a');
            b->_ptr[i] = (char)c;
        }
        b->_len = s.len;
    } else {
        /* Each code point maps to at most 4 bytes; an invalid byte (1)
         * becomes U+FFFD (3). */
        if (s.len > SIZE_MAX / 4)
            return -1;
        need = s.len * 4;
        b->_len = 0;
        if (buf_room(&st->_rs->alc, b, need) != 0)
            return -1;
        for (i = 0; i < s.len;) {
            w = u8_mbtoucr(&uc, p + i, s.len - i);
            if (w <= 0) {
                uc = 0xfffd;
                w = 1;
                change = 1;
            }
            m = upper ? uc_toupper(uc) : uc_tolower(uc);
            if (m != uc)
                change = 1;
            b->_len += (size_t)u8_uctomb((uint8_t *)b->_ptr + b->_len, m, 4);
            i += (size_t)w;
        }
        if (!change)
            return 0;
    }
    out->ptr = b->_ptr;
    out->len = b->_len;
    *tmp = 1;
    return 0;
}

/* hashmod: MD5 of v, its last 8 bytes as a big-endian integer, modulo m,
 * in decimal into out (at least 21 bytes). Returns the length. */
static size_t hashmod(prex_slice v, uint64_t m, char *out)
{
    struct md5_ctx ctx;
    uint8_t d[MD5_DIGEST_SIZE];
    uint64_t x = 0;
    int k;

    md5_init(&ctx);
    md5_update(&ctx, v.len, (const uint8_t *)v.ptr);
    md5_digest(&ctx, sizeof d, d);
    for (k = 8; k < 16; k++)
        x = (x << 8) | d[k];
    return (size_t)snprintf(out, 21, "%llu", (unsigned long long)(x % m));
}

/* The label-name actions labeldrop and labelkeep: delete every label
 * whose name matches (labeldrop) or does not (labelkeep). */
static int label_filter(prex_relabel_state *st, size_t ri, prex_labelset *ls, int keep)
{
    const size_t *ov;
    size_t fake[4], i, o = 0;
    uint32_t nset;
    int m;

    for (i = 0; i < ls->n; i++) {
        m = match(st, ri, ls->pairs[i].name.ptr, ls->pairs[i].name.len, &ov, &nset, fake);
        if (m < 0)
            return m;
        if (m != keep)
            continue;
        if (o != i) {
            ls->pairs[o] = ls->pairs[i];
            if (st->_track)
                st->_seq[o] = st->_seq[i];
        }
        o++;
    }
    ls->n = o;
    return PREX_RELABEL_KEEP;
}

/*
 * labelmap: for every label of a snapshot of the set, in Prometheus's
 * visiting order (unchanged input labels by name, then labels set by
 * earlier rules in the order they were first set), a name that matches
 * gives a label expand(replacement) with the same value.
 */
static int labelmap(prex_relabel_state *st, size_t ri, prex_labelset *ls)
{
    const prex__rule *r = &st->_rs->rules[ri];
    const prex_alloc *a = &st->_rs->alc;
    const size_t *ov;
    size_t fake[4], i, j, n, nz;
    uint32_t nset, ts;
    prex_pair tp;
    prex_slice res;
    void *p;
    int m, where;

    for (i = 0; i < ls->n; i++) {
        m = match(st, ri, ls->pairs[i].name.ptr, ls->pairs[i].name.len, &ov, &nset, fake);
        if (m < 0)
            return m;
        if (m)
            break;
    }
    if (i == ls->n)
        return PREX_RELABEL_KEEP;

    n = ls->n;
    p = st->_snap;
    if (grow_array(a, &p, &st->_snapcap, n, sizeof *st->_snap) != 0)
        return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
    st->_snap = p;
    p = st->_snapseq;
    if (grow_array(a, &p, &st->_snapseqcap, n, sizeof *st->_snapseq) != 0)
        return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
    st->_snapseq = p;
    memcpy(st->_snap, ls->pairs, n * sizeof *st->_snap);
    if (st->_track) {
        /* unchanged labels first (already by name), then by first set */
        nz = 0;
        for (i = 0; i < n; i++)
            if (st->_seq[i] == 0)
                st->_snap[nz++] = ls->pairs[i];
        j = nz;
        for (i = 0; i < n; i++) {
            if (st->_seq[i] == 0)
                continue;
            st->_snap[j] = ls->pairs[i];
            st->_snapseq[j] = st->_seq[i];
            j++;
        }
        for (i = nz + 1; i < n; i++) {
            tp = st->_snap[i];
            ts = st->_snapseq[i];
            for (j = i; j > nz && st->_snapseq[j - 1] > ts; j--) {
                st->_snap[j] = st->_snap[j - 1];
                st->_snapseq[j] = st->_snapseq[j - 1];
            }
            st->_snap[j] = tp;
            st->_snapseq[j] = ts;
        }
    }
    for (i = 0; i < n; i++) {
        tp = st->_snap[i];
        m = match(st, ri, tp.name.ptr, tp.name.len, &ov, &nset, fake);
        if (m < 0)
            return m;
        if (!m)
            continue;
        if (expand(st, &st->_tgt, &r->trepl, tp.name.ptr, ov, nset, &res, &where) != 0 ||
            set(st, ls, res, where == IN_SCRATCH, tp.value, 0) != 0)
            return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
    }
    return PREX_RELABEL_KEEP;
}

/* replace: the anchored match of the joined value decides; the expanded
 * target must be a valid name; an empty replacement deletes it. */
static int replace(prex_relabel_state *st, size_t ri, prex_labelset *ls)
{
    const prex__rule *r = &st->_rs->rules[ri];
    prex_slice val, tgt, res;
    const size_t *ov;
    size_t fake[4];
    uint32_t nset;
    int vtmp, m, wt, wr;

    if (join(st, r, ls, &val, &vtmp) != 0)
        return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
    m = match(st, ri, val.ptr, val.len, &ov, &nset, fake);
    if (m <= 0)
        return m < 0 ? m : PREX_RELABEL_KEEP;
    if (expand(st, &st->_tgt, &r->ttarget, val.ptr, ov, nset, &tgt, &wt) != 0)
        return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
    if (!valid_target(st->_rs, tgt))
        return PREX_RELABEL_KEEP;
    if (expand(st, &st->_val, &r->trepl, val.ptr, ov, nset, &res, &wr) != 0)
        return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
    if (set(st, ls, tgt, wt == IN_SCRATCH || (wt == IN_SUBJECT && vtmp), res,
            wr == IN_SCRATCH || (wr == IN_SUBJECT && vtmp)) != 0)
        return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
    return PREX_RELABEL_KEEP;
}

/* Runs rule ri. Returns KEEP (go on), DROP or ERROR. */
static int run_rule(prex_relabel_state *st, size_t ri, prex_labelset *ls)
{
    const prex__rule *r = &st->_rs->rules[ri];
    prex_slice val, res;
    const size_t *ov;
    size_t fake[4];
    uint32_t nset;
    char num[24];
    int tmp, rtmp, m;

    switch (r->action) {
    case PREX_RELABEL_ACT_REPLACE:
        return replace(st, ri, ls);
    case PREX_RELABEL_ACT_LABELMAP:
        return labelmap(st, ri, ls);
    case PREX_RELABEL_ACT_LABELDROP:
        return label_filter(st, ri, ls, 0);
    case PREX_RELABEL_ACT_LABELKEEP:
        return label_filter(st, ri, ls, 1);
    default:
        break;
    }
    if (join(st, r, ls, &val, &tmp) != 0)
        return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
    switch (r->action) {
    case PREX_RELABEL_ACT_KEEP:
    case PREX_RELABEL_ACT_DROP:
        m = match(st, ri, val.ptr, val.len, &ov, &nset, fake);
        if (m < 0)
            return m;
        return m == (r->action == PREX_RELABEL_ACT_KEEP) ? PREX_RELABEL_KEEP
                                                           : PREX_RELABEL_DROP;
    case PREX_RELABEL_ACT_KEEPEQUAL:
    case PREX_RELABEL_ACT_DROPEQUAL:
        m = slice_eq(val, get(ls, r->target));
        return m == (r->action == PREX_RELABEL_ACT_KEEPEQUAL) ? PREX_RELABEL_KEEP
                                                                : PREX_RELABEL_DROP;
    case PREX_RELABEL_ACT_HASHMOD:
        res.ptr = num;
        res.len = hashmod(val, r->modulus, num);
        if (set(st, ls, r->target, 0, res, 1) != 0)
            return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
        return PREX_RELABEL_KEEP;
    case PREX_RELABEL_ACT_LOWERCASE:
    case PREX_RELABEL_ACT_UPPERCASE:
        if (casemap(st, val, r->action == PREX_RELABEL_ACT_UPPERCASE, &res, &rtmp) != 0 ||
            set(st, ls, r->target, 0, res, rtmp || tmp) != 0)
            return run_fail(st, ri, PREX_RELABEL_E_NO_MEMORY, "out of memory");
        return PREX_RELABEL_KEEP;
    default:
        return PREX_RELABEL_KEEP;
    }
}

/*
 * Normalises the input (no empty values, sorted, unique), starts the
 * labelmap order tracking when the rule set needs it, and runs the rules.
 * A DROP or ERROR gives back what the call took from the arena.
 */
int prex_relabel_apply(prex_relabel_state *st, prex_labelset *ls)
{
    const prex_relabel_rules *rs = st->_rs;
    prex_arena_mark mark = prex_arena_save(st->_arena);
    size_t ri;
    void *sp;
    int rc;

    st->_err.code = PREX_RELABEL_E_OK;
    if (normalize(ls) != 0)
        return run_fail(st, SIZE_MAX, PREX_RELABEL_E_DUP_LABEL,
                        "duplicate label name in the input label set");
    st->_track = rs->need_seq;
    if (st->_track) {
        sp = st->_seq;
        if (grow_array(&rs->alc, &sp, &st->_seqcap, ls->n + 1, sizeof *st->_seq) != 0)
            return run_fail(st, SIZE_MAX, PREX_RELABEL_E_NO_MEMORY, "out of memory");
        st->_seq = sp;
        memset(st->_seq, 0, ls->n * sizeof *st->_seq);
        st->_seqnext = 1;
    }
    for (ri = 0; ri < rs->n; ri++) {
        rc = run_rule(st, ri, ls);
        if (rc != PREX_RELABEL_KEEP) {
            prex_arena_restore(st->_arena, mark);
            return rc;
        }
    }
    return PREX_RELABEL_KEEP;
}

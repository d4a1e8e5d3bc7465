/*
 * relabel_yaml.c - reads relabel rules from YAML with libyaml: the shape
 * of the document (a list of rules, or a scrape config mapping with
 * metric_relabel_configs), the keys and value types of each rule, YAML
 * null versus empty versus omitted, and positions for every message.
 * What the values mean is checked by prex__relabel_add() in relabel.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "relabel_int.h"

/* MARK: loader state */

typedef struct loader {
    yaml_document_t *doc;
    prex_relabel_rules *rs;
    prex_relabel_error *err;
    const char *name;
    const char *buf;          /* the YAML text, for reader error positions */
    size_t len;
    const prex_alloc *alc;
    prex_slice *src;          /* source_labels of the current rule */
    prex__pos *src_at;
    size_t srccap;
    unsigned seen;            /* rule_keys set in the current rule */
    unsigned merges;          /* << merge values visited (aliases can
                               * make a small file fan out) */
} loader;

static prex__pos pos_of(const yaml_node_t *n)
{
    prex__pos p;

    p.line = (uint64_t)n->start_mark.line + 1;
    p.column = (uint64_t)n->start_mark.column + 1;
    return p;
}

/* Records a configuration error at node n. Returns the code. */
static int fail_at(loader *L, const yaml_node_t *n, int code, const char *fmt, const char *a,
                   const char *b)
{
    prex__pos p = pos_of(n);
    char msg[360];

    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return prex__relabel_fail(L->err, code, L->name, p.line, p.column, "%s", msg);
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "a scalar";
    }
}

/* Nonzero when scalar node n is YAML null: an explicit !!null tag, or a
 * plain "", "~", "null", "Null" or "NULL" (the YAML 1.1 resolver that
 * Prometheus's YAML library uses). */
static int is_null(const yaml_node_t *n)
{
    const char *v;
    size_t len;

    if (n->type != YAML_SCALAR_NODE)
        return 0;
    if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
        return 1;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    v = (const char *)n->data.scalar.value;
    len = n->data.scalar.length;
    return len == 0 || (len == 1 && v[0] == '~') ||
           (len == 4 && (memcmp(v, "null", 4) == 0 || memcmp(v, "Null", 4) == 0 ||
                         memcmp(v, "NULL", 4) == 0));
}

static prex_slice scalar(const yaml_node_t *n)
{
    prex_slice s;

    s.ptr = (const char *)n->data.scalar.value;
    s.len = n->data.scalar.length;
    return s;
}

/* Nonzero when scalar node n is exactly the text z. */
static int scalar_is(const yaml_node_t *n, const char *z)
{
    size_t len = strlen(z);

    return n->type == YAML_SCALAR_NODE && n->data.scalar.length == len &&
           memcmp(n->data.scalar.value, z, len) == 0;
}

/* The quoted text of a scalar key for messages (into q). */
static const char *quoted_key(const yaml_node_t *k, char *q, size_t qsz)
{
    if (k->type != YAML_SCALAR_NODE) {
        snprintf(q, qsz, "(%s)", kind_name(k));
        return q;
    }
    return prex__relabel_quote(q, qsz, (const char *)k->data.scalar.value,
                               k->data.scalar.length);
}

/* MARK: rule fields */

#define COUNT(a) (sizeof(a) / sizeof *(a))

/* Keys of a relabel rule, in the order of the K_* indexes. */
static const char *const rule_keys[] = {
    "action", "source_labels", "separator", "regex", "modulus", "target_label",
    "replacement",
};

enum { K_ACTION, K_SOURCE, K_SEPARATOR, K_REGEX, K_MODULUS, K_TARGET, K_REPLACEMENT };

/*
 * A string field: any scalar is taken as its text (as Prometheus's YAML
 * library does for a string), YAML null as "". Lists and mappings are
 * errors.
 */
static int get_string(loader *L, const char *key, const yaml_node_t *v, prex_slice *out)
{
    if (v->type != YAML_SCALAR_NODE)
        return fail_at(L, v, PREX_RELABEL_E_CONFIG, "%s must be a string, not %s", key,
                       kind_name(v));
    if (is_null(v)) {
        out->ptr = "";
        out->len = 0;
    } else {
        *out = scalar(v);
    }
    return 0;
}

/*
 * modulus: a plain YAML 1.1 integer (decimal, 0x hex, 0o or leading-0
 * octal, 0b binary, '_' separators, optional '+') that fits in 64 bits;
 * null is 0.
 */
static int get_modulus(loader *L, const yaml_node_t *v, uint64_t *out)
{
    const char *s;
    size_t n, i = 0;
    unsigned base = 10, d, digits = 0;
    uint64_t x = 0;
    char q[80];
    int c;

    if (v->type != YAML_SCALAR_NODE)
        return fail_at(L, v, PREX_RELABEL_E_CONFIG, "modulus must be an unsigned integer, not %s",
                       kind_name(v), NULL);
    if (is_null(v)) {
        *out = 0;
        return 0;
    }
    s = (const char *)v->data.scalar.value;
    n = v->data.scalar.length;
    prex__relabel_quote(q, sizeof q, s, n);
    if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return fail_at(L, v, PREX_RELABEL_E_CONFIG,
                       "modulus must be an unsigned integer, not the string %s", q, NULL);
    if (i < n && s[i] == '+')
        i++;
    if (i < n && s[i] == '-')
        return fail_at(L, v, PREX_RELABEL_E_CONFIG, "modulus %s must not be negative", q, NULL);
    if (i + 1 < n && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    } else if (i + 1 < n && s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'O')) {
        base = 8;
        i += 2;
    } else if (i + 1 < n && s[i] == '0' && (s[i + 1] == 'b' || s[i + 1] == 'B')) {
        base = 2;
        i += 2;
    } else if (i + 1 < n && s[i] == '0') {
        base = 8;
        i++;
    }
    for (; i < n; i++) {
        c = (unsigned char)s[i];
        if (c == '_')
            continue;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            d = 99;
        if (d >= base)
            return fail_at(L, v, PREX_RELABEL_E_CONFIG,
                           "modulus %s is not an unsigned integer", q, NULL);
        if (x > (UINT64_MAX - d) / base)
            return fail_at(L, v, PREX_RELABEL_E_CONFIG,
                           "modulus %s does not fit in 64 bits", q, NULL);
        x = x * base + d;
        digits++;
    }
    if (digits == 0 && !(base == 8 && n > 0))
        return fail_at(L, v, PREX_RELABEL_E_CONFIG, "modulus %s is not an unsigned integer", q,
                       NULL);
    *out = x;
    return 0;
}

/* source_labels: a list of scalars (a null item is the empty name, which
 * is then refused as a name); null leaves the field absent. */
static int get_sources(loader *L, const yaml_node_t *v, prex__raw_rule *raw)
{
    const yaml_node_item_t *it;
    const yaml_node_t *item;
    size_t n, i;
    void *p;

    if (is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return fail_at(L, v, PREX_RELABEL_E_CONFIG,
                       "source_labels must be a list of label names, not %s", kind_name(v),
                       NULL);
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > L->srccap) {
        p = L->src ? L->alc->realloc(L->alc->ctx, L->src, L->srccap * sizeof *L->src,
                                     n * sizeof *L->src)
                   : L->alc->malloc(L->alc->ctx, n * sizeof *L->src);
        if (!p)
            return fail_at(L, v, PREX_RELABEL_E_NO_MEMORY, "out of memory%s%s", NULL, NULL);
        L->src = p;
        p = L->src_at ? L->alc->realloc(L->alc->ctx, L->src_at, L->srccap * sizeof *L->src_at,
                                        n * sizeof *L->src_at)
                      : L->alc->malloc(L->alc->ctx, n * sizeof *L->src_at);
        if (!p)
            return fail_at(L, v, PREX_RELABEL_E_NO_MEMORY, "out of memory%s%s", NULL, NULL);
        L->src_at = p;
        L->srccap = n;
    }
    for (i = 0, it = v->data.sequence.items.start; i < n; i++, it++) {
        item = yaml_document_get_node(L->doc, *it);
        if (item->type != YAML_SCALAR_NODE)
            return fail_at(L, item, PREX_RELABEL_E_CONFIG,
                           "source_labels must be a list of label names, not of %s",
                           kind_name(item) + 2, NULL);
        if (is_null(item)) {
            L->src[i].ptr = "";
            L->src[i].len = 0;
        } else {
            L->src[i] = scalar(item);
        }
        L->src_at[i] = pos_of(item);
    }
    raw->has_source = 1;
    raw->source = L->src;
    raw->source_at = L->src_at;
    raw->nsource = n;
    return 0;
}

/*
 * Sets one field of raw from key k and value v. explicit: the key is
 * written in this rule (a duplicate is an error); otherwise it comes
 * from a << merge and only fills a field this rule does not set. A key
 * whose value is null counts as set (it overrides a merged value).
 */
static int set_field(loader *L, prex__raw_rule *raw, const yaml_node_t *k,
                     const yaml_node_t *v, int explicit)
{
    prex__pos p = pos_of(v);
    char q[120];
    size_t i;
    int rc;

    for (i = 0; i < COUNT(rule_keys); i++)
        if (scalar_is(k, rule_keys[i]))
            break;
    if (i == COUNT(rule_keys))
        return fail_at(L, k, PREX_RELABEL_E_CONFIG,
                       "unknown key %s in relabel rule (expected action, source_labels, "
                       "separator, regex, modulus, target_label or replacement)%s",
                       quoted_key(k, q, sizeof q), NULL);
    if (L->seen & (1u << i)) {
        if (explicit)
            return fail_at(L, k, PREX_RELABEL_E_CONFIG, "duplicate key %s in relabel rule%s",
                           quoted_key(k, q, sizeof q), NULL);
        return 0;
    }
    L->seen |= 1u << i;
    switch (i) {
    case K_ACTION:
        rc = get_string(L, "action", v, &raw->action);
        raw->has_action = 1;
        raw->action_at = p;
        return rc;
    case K_SOURCE:
        /* Only a non-null list counts as present: labeldrop and labelkeep
         * refuse source_labels that are not nil. */
        raw->source_key_at = pos_of(k);
        return get_sources(L, v, raw);
    case K_SEPARATOR:
        rc = get_string(L, "separator", v, &raw->separator);
        raw->has_separator = 1;
        raw->separator_at = p;
        return rc;
    case K_REGEX:
        rc = get_string(L, "regex", v, &raw->regex);
        raw->has_regex = 1;
        raw->regex_at = p;
        return rc;
    case K_MODULUS:
        rc = get_modulus(L, v, &raw->modulus);
        raw->has_modulus = 1;
        raw->modulus_at = p;
        return rc;
    case K_TARGET:
        rc = get_string(L, "target_label", v, &raw->target);
        raw->has_target = 1;
        raw->target_at = p;
        return rc;
    default:
        rc = get_string(L, "replacement", v, &raw->replacement);
        raw->has_replacement = 1;
        raw->replacement_at = p;
        return rc;
    }
}

/* Applies the keys of a << merge value (a mapping, or a list of
 * mappings where earlier ones win) to fields still unset. */
static int merge(loader *L, prex__raw_rule *raw, const yaml_node_t *v, int depth)
{
    const yaml_node_pair_t *pr;
    const yaml_node_item_t *it;
    const yaml_node_t *k;
    int rc;

    if (depth > 8 || ++L->merges > 10000)
        return fail_at(L, v, PREX_RELABEL_E_CONFIG, "<< merges nested too deeply%s%s", NULL,
                       NULL);
    if (v->type == YAML_SEQUENCE_NODE) {
        for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
            if ((rc = merge(L, raw, yaml_document_get_node(L->doc, *it), depth + 1)) != 0)
                return rc;
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return fail_at(L, v, PREX_RELABEL_E_CONFIG,
                       "a << merge needs a mapping or a list of mappings, not %s",
                       kind_name(v), NULL);
    /* keys of this mapping first, then its own merges */
    for (pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
        k = yaml_document_get_node(L->doc, pr->key);
        if (scalar_is(k, "<<"))
            continue;
        if ((rc = set_field(L, raw, k, yaml_document_get_node(L->doc, pr->value), 0)) != 0)
            return rc;
    }
    for (pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
        k = yaml_document_get_node(L->doc, pr->key);
        if (scalar_is(k, "<<") &&
            (rc = merge(L, raw, yaml_document_get_node(L->doc, pr->value), depth + 1)) != 0)
            return rc;
    }
    return 0;
}

/* Reads one rule mapping and hands it to prex__relabel_add(). */
static int read_rule(loader *L, const yaml_node_t *m)
{
    const yaml_node_pair_t *pr;
    const yaml_node_t *k;
    prex__raw_rule raw;
    int rc;

    memset(&raw, 0, sizeof raw);
    raw.at = pos_of(m);
    L->seen = 0;
    if (is_null(m))
        return fail_at(L, m, PREX_RELABEL_E_CONFIG, "empty or null relabel rule%s%s", NULL,
                       NULL);
    if (m->type != YAML_MAPPING_NODE)
        return fail_at(L, m, PREX_RELABEL_E_CONFIG,
                       "a relabel rule must be a mapping (key: value), not %s", kind_name(m),
                       NULL);
    for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        k = yaml_document_get_node(L->doc, pr->key);
        if (scalar_is(k, "<<"))
            continue;
        if ((rc = set_field(L, &raw, k, yaml_document_get_node(L->doc, pr->value), 1)) != 0)
            return rc;
    }
    for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        k = yaml_document_get_node(L->doc, pr->key);
        if (scalar_is(k, "<<") &&
            (rc = merge(L, &raw, yaml_document_get_node(L->doc, pr->value), 1)) != 0)
            return rc;
    }
    return prex__relabel_add(L->rs, &raw, L->err);
}

/* Reads a list of rules (null: none). */
static int read_rules(loader *L, const yaml_node_t *seq, const char *what)
{
    const yaml_node_item_t *it;
    int rc;

    if (is_null(seq))
        return 0;
    if (seq->type != YAML_SEQUENCE_NODE)
        return fail_at(L, seq, PREX_RELABEL_E_CONFIG, "%s must be a list of relabel rules, not %s",
                       what, kind_name(seq));
    for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++)
        if ((rc = read_rule(L, yaml_document_get_node(L->doc, *it))) != 0)
            return rc;
    return 0;
}

/* MARK: the document */

/* Keys of a Prometheus scrape_config other than metric_relabel_configs:
 * accepted in a pasted section and ignored (they configure scraping,
 * which the relay does its own way). Any "*_sd_configs" key too. */
static const char *const scrape_keys[] = {
    "job_name", "honor_labels", "honor_timestamps", "track_timestamps_staleness",
    "params", "scrape_interval", "scrape_timeout", "scrape_protocols",
    "fallback_scrape_protocol", "scrape_classic_histograms",
    "always_scrape_classic_histograms", "convert_classic_histograms_to_nhcb",
    "scrape_native_histograms", "scrape_failure_log_file", "metrics_path", "scheme",
    "enable_compression", "body_size_limit", "sample_limit", "target_limit",
    "label_limit", "label_name_length_limit", "label_value_length_limit",
    "native_histogram_bucket_limit", "native_histogram_min_bucket_factor",
    "keep_dropped_targets", "metric_name_escaping_scheme", "relabel_configs",
    "static_configs", "basic_auth", "authorization", "oauth2", "bearer_token",
    "bearer_token_file", "tls_config", "proxy_url", "no_proxy",
    "proxy_from_environment", "proxy_connect_header", "follow_redirects",
    "enable_http2", "http_headers",
};

/* Keys of a whole Prometheus configuration file. */
static const char *const top_keys[] = {
    "global", "scrape_configs", "scrape_config_files", "rule_files", "alerting",
    "remote_write", "remote_read", "storage", "tracing", "otlp", "runtime",
};

static int key_in(const yaml_node_t *k, const char *const *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (scalar_is(k, list[i]))
            return 1;
    return 0;
}

/*
 * Reads a scrape config mapping: finds metric_relabel_configs, applies
 * metric_name_validation_scheme, ignores the other scrape_config keys and
 * refuses anything else.
 */
static int read_mapping(loader *L, const yaml_node_t *m, unsigned *flags,
                        const yaml_node_t **rules)
{
    const yaml_node_pair_t *pr, *pr2;
    const yaml_node_t *k, *v, *k2;
    size_t klen;
    char q[120];

    *rules = NULL;
    for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        k = yaml_document_get_node(L->doc, pr->key);
        v = yaml_document_get_node(L->doc, pr->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail_at(L, k, PREX_RELABEL_E_CONFIG, "mapping keys must be scalars, not %s",
                           kind_name(k), NULL);
        for (pr2 = m->data.mapping.pairs.start; pr2 < pr; pr2++) {
            k2 = yaml_document_get_node(L->doc, pr2->key);
            if (k2->type == YAML_SCALAR_NODE &&
                k2->data.scalar.length == k->data.scalar.length &&
                memcmp(k2->data.scalar.value, k->data.scalar.value, k->data.scalar.length) == 0)
                return fail_at(L, k, PREX_RELABEL_E_CONFIG, "duplicate key %s%s",
                               quoted_key(k, q, sizeof q), NULL);
        }
        klen = k->data.scalar.length;
        if (scalar_is(k, "metric_relabel_configs")) {
            *rules = v;
        } else if (scalar_is(k, "metric_name_validation_scheme")) {
            if (is_null(v) || scalar_is(v, ""))
                continue;
            if (scalar_is(v, "legacy"))
                *flags |= PREX_RELABEL_LEGACY_NAMES;
            else if (scalar_is(v, "utf8"))
                *flags &= ~PREX_RELABEL_LEGACY_NAMES;
            else
                return fail_at(L, v, PREX_RELABEL_E_CONFIG,
                               "unknown metric_name_validation_scheme %s (expected \"utf8\" "
                               "or \"legacy\")%s",
                               v->type == YAML_SCALAR_NODE ? quoted_key(v, q, sizeof q)
                                                           : kind_name(v),
                               NULL);
        } else if (key_in(k, scrape_keys, COUNT(scrape_keys)) ||
                   (klen >= 11 &&
                    memcmp(k->data.scalar.value + klen - 11, "_sd_configs", 11) == 0)) {
            continue;
        } else if (key_in(k, top_keys, COUNT(top_keys))) {
            return fail_at(L, k, PREX_RELABEL_E_CONFIG,
                           "key %s belongs to a whole Prometheus configuration; give one "
                           "scrape_config (a mapping with metric_relabel_configs) or a list "
                           "of relabel rules%s",
                           quoted_key(k, q, sizeof q), NULL);
        } else if (key_in(k, rule_keys, COUNT(rule_keys))) {
            return fail_at(L, m, PREX_RELABEL_E_CONFIG,
                           "this is a single relabel rule; write the rules as a list "
                           "(\"- %s: ...\")%s",
                           (const char *)k->data.scalar.value, NULL);
        } else {
            return fail_at(L, k, PREX_RELABEL_E_CONFIG,
                           "unknown key %s (expected metric_relabel_configs, or another "
                           "scrape_config key)%s",
                           quoted_key(k, q, sizeof q), NULL);
        }
    }
    if (!*rules)
        return fail_at(L, m, PREX_RELABEL_E_CONFIG,
                       "no metric_relabel_configs key in this mapping (expected a list of "
                       "relabel rules, or a scrape config with metric_relabel_configs:)%s%s",
                       NULL, NULL);
    return 0;
}

/* Fills err from a libyaml parser error. */
static int yaml_fail(loader *L, const yaml_parser_t *p)
{
    uint64_t line = 0, col = 0;
    const char *problem = p->problem ? p->problem : "invalid YAML";

    if (p->error == YAML_MEMORY_ERROR)
        return prex__relabel_fail(L->err, PREX_RELABEL_E_NO_MEMORY, L->name, 0, 0,
                                  "out of memory");
    if (p->error == YAML_READER_ERROR) {
        /* libyaml gives a reader error (bad encoding, control byte) only a
         * byte offset: count lines and characters up to it */
        size_t i, end = p->problem_offset < L->len ? p->problem_offset : L->len;

        line = 1;
        col = 1;
        for (i = 0; i < end; i++) {
            unsigned char c = (unsigned char)L->buf[i];

            if (c == '\n') {
                line++;
                col = 1;
            }
            else if ((c & 0xc0) != 0x80)
                col++;
        }
        return prex__relabel_fail(L->err, PREX_RELABEL_E_YAML, L->name, line, col,
                                  "YAML: %s (byte offset %zu)", problem, p->problem_offset);
    }
    line = (uint64_t)p->problem_mark.line + 1;
    col = (uint64_t)p->problem_mark.column + 1;
    if (p->context)
        return prex__relabel_fail(L->err, PREX_RELABEL_E_YAML, L->name, line, col,
                                  "YAML: %s (%s that starts at line %zu)", problem,
                                  p->context, p->context_mark.line + 1);
    return prex__relabel_fail(L->err, PREX_RELABEL_E_YAML, L->name, line, col, "YAML: %s",
                              problem);
}

/*
 * Parses the whole input into a libyaml document, refuses a second
 * document, reads the top level (list, scrape config mapping or nothing)
 * and feeds every rule to prex__relabel_add(). The document is freed
 * before returning; the rule set owns copies of everything it keeps.
 */
int prex_relabel_load(prex_relabel_rules **out, const char *name,
                      const char *buf, size_t len, unsigned flags,
                      const prex_alloc *alc, prex_relabel_error *err)
{
    yaml_parser_t parser;
    yaml_document_t doc, doc2;
    const yaml_node_t *root, *rules = NULL;
    loader L;
    int rc = 0, have_doc = 0;

    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    memset(&L, 0, sizeof L);
    L.doc = &doc;
    L.err = err;
    L.name = name;
    L.buf = buf;
    L.len = len;
    L.alc = alc ? alc : &prex_alloc_libc;

    if (!yaml_parser_initialize(&parser))
        return prex__relabel_fail(err, PREX_RELABEL_E_NO_MEMORY, name, 0, 0, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_fail(&L, &parser);
        goto done;
    }
    have_doc = 1;
    root = yaml_document_get_root_node(&doc);
    if (root) {
        if (!yaml_parser_load(&parser, &doc2)) {
            rc = yaml_fail(&L, &parser);
            goto done;
        }
        if (yaml_document_get_root_node(&doc2)) {
            rc = fail_at(&L, yaml_document_get_root_node(&doc2), PREX_RELABEL_E_CONFIG,
                         "a second YAML document; the rules must be in one%s%s", NULL, NULL);
            yaml_document_delete(&doc2);
            goto done;
        }
        yaml_document_delete(&doc2);
        if (root->type == YAML_MAPPING_NODE) {
            if ((rc = read_mapping(&L, root, &flags, &rules)) != 0)
                goto done;
        } else if (root->type == YAML_SEQUENCE_NODE || is_null(root)) {
            rules = root;
        } else {
            rc = fail_at(&L, root, PREX_RELABEL_E_CONFIG,
                         "expected a list of relabel rules, or a scrape config mapping with "
                         "metric_relabel_configs, not %s%s",
                         kind_name(root), NULL);
            goto done;
        }
    }
    L.rs = prex__relabel_new(name, flags, alc);
    if (!L.rs) {
        rc = prex__relabel_fail(err, PREX_RELABEL_E_NO_MEMORY, name, 0, 0, "out of memory");
        goto done;
    }
    if (rules && (rc = read_rules(&L, rules, "metric_relabel_configs")) != 0)
        goto done;
    *out = L.rs;
    L.rs = NULL;

done:
    prex_relabel_free(L.rs);
    if (L.src)
        L.alc->free(L.alc->ctx, L.src);
    if (L.src_at)
        L.alc->free(L.alc->ctx, L.src_at);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* Reads the file whole (through the caller's allocator) and loads it. */
int prex_relabel_load_file(prex_relabel_rules **out, const char *path,
                           unsigned flags, const prex_alloc *alc,
                           prex_relabel_error *err)
{
    const prex_alloc *a = alc ? alc : &prex_alloc_libc;
    FILE *f;
    char *buf = NULL, *nb;
    size_t len = 0, cap = 0, got;
    int rc, e;

    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    f = fopen(path, "rb");
    if (!f)
        return prex__relabel_fail(err, PREX_RELABEL_E_IO, path, 0, 0, "cannot open: %s",
                                  strerror(errno));
    for (;;) {
        if (cap - len < 4096) {
            nb = buf ? a->realloc(a->ctx, buf, cap, cap ? cap * 2 : 8192)
                     : a->malloc(a->ctx, 8192);
            if (!nb) {
                fclose(f);
                if (buf)
                    a->free(a->ctx, buf);
                return prex__relabel_fail(err, PREX_RELABEL_E_NO_MEMORY, path, 0, 0,
                                          "out of memory");
            }
            buf = nb;
            cap = cap ? cap * 2 : 8192;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        e = errno;
        fclose(f);
        a->free(a->ctx, buf);
        return prex__relabel_fail(err, PREX_RELABEL_E_IO, path, 0, 0, "cannot read: %s",
                                  strerror(e));
    }
    fclose(f);
    rc = prex_relabel_load(out, path, buf, len, flags, alc, err);
    a->free(a->ctx, buf);
    return rc;
}

/*
 * fuzz_relabel.c - fuzz target: the samples of an exposition run through a
 * relabel rule set (relay/relabel.h). Every kept label set must be sorted
 * by name, free of duplicate names and of empty values, and the same rules
 * applied a second time to the same input must give the same answer. A
 * kept set without a metric name, or with an empty label name, must be
 * dropped (and counted) by the merge table, where the relay sends it.
 *
 * Input layout:
 *     byte 0   the rule set: below GENERATED, one of the fixed
 *              configurations in configs[] (byte % their count); from
 *              GENERATED up, a configuration built from the next bytes:
 *              (byte & 3) + 1 rules of RULE_BYTES bytes each, fields drawn
 *              from the small tables below
 *     rest     the exposition text (text format 0.0.4)
 *
 * Everything is allocated through the checking allocator, which must be
 * empty once the rule set, state, arena and table are freed.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fuzzlib.h"
#include "merge.h"
#include "relabel.h"

/* byte 0 values from here up select a generated configuration */
#define GENERATED 0xc0
#define RULE_BYTES 4

/* realistic metric_relabel_configs, one per rule set */
static const char *const configs[] = {
    /* drop by name regex */
    "- source_labels: [__name__]\n"
    "  regex: 'go_.*|process_.*'\n"
    "  action: drop\n",
    /* keep by two labels */
    "- source_labels: [job, instance]\n"
    "  separator: ';'\n"
    "  regex: 'node;.*:9100'\n"
    "  action: keep\n",
    /* rename a label */
    "- source_labels: [instance]\n"
    "  target_label: host\n"
    "- regex: instance\n"
    "  action: labeldrop\n",
    /* rename a metric */
    "- source_labels: [__name__]\n"
    "  regex: 'node_(.*)'\n"
    "  target_label: __name__\n"
    "  replacement: 'host_${1}'\n",
    /* hashmod sharding, then keep one shard */
    "- source_labels: [__name__, instance]\n"
    "  modulus: 4\n"
    "  target_label: __tmp_shard\n"
    "  action: hashmod\n"
    "- source_labels: [__tmp_shard]\n"
    "  regex: '1'\n"
    "  action: keep\n",
    /* labelmap */
    "- regex: '__meta_(.+)'\n"
    "  action: labelmap\n"
    "- regex: '(.)(.*)'\n"
    "  replacement: 'l_$1$2'\n"
    "  action: labelmap\n",
    /* lowercase and uppercase */
    "- source_labels: [__name__]\n"
    "  target_label: __name__\n"
    "  action: lowercase\n"
    "- source_labels: [mode, job]\n"
    "  target_label: MODE\n"
    "  action: uppercase\n",
    /* keepequal and dropequal */
    "- source_labels: [instance]\n"
    "  target_label: host\n"
    "  action: keepequal\n",
    "- source_labels: [le]\n"
    "  target_label: quantile\n"
    "  action: dropequal\n",
    /* labeldrop and labelkeep */
    "- regex: 'pod|container|le_.*'\n"
    "  action: labeldrop\n"
    "- regex: '__name__|job|instance|le|quantile|code'\n"
    "  action: labelkeep\n",
    /* a pasted scrape_config that removes the metric name */
    "metric_relabel_configs:\n"
    "  - source_labels: [code]\n"
    "    regex: '5..'\n"
    "    target_label: __name__\n"
    "    replacement: ''\n"
    "  - regex: '(code)'\n"
    "    replacement: 'status_$1'\n"
    "    action: labelmap\n",
    /* replace with defaults, a template that names no group, and a
     * target made from the match */
    "- source_labels: [job]\n"
    "  regex: '(.*)'\n"
    "  target_label: '${1}_job'\n"
    "  replacement: '$1'\n"
    "- target_label: env\n"
    "  replacement: prod\n"
    "- source_labels: [env, missing]\n"
    "  regex: 'prod;'\n"
    "  target_label: env\n"
    "  replacement: '$0x'\n",
};

#define NCONFIGS (sizeof configs / sizeof configs[0])

static const char *const actions[] = {
    "replace", "lowercase", "uppercase", "keep", "drop", "keepequal",
    "dropequal", "hashmod", "labelmap", "labeldrop", "labelkeep"
};
static const char *const regexes[] = {
    "'(.*)'", "'.+'", "''", "'a|b'", "'(.)(.)?'", "'job|instance'",
    "'[a-z]+_(total|count)'", "'x{2,}'", "'(?i)NODE.*'", "'\\d+'",
    "'.*;.*'", "'__(.*)'", "'(é|ü)'", "'\\n'", "'[^_]*'", "'(a)|(b)'"
};
static const char *const labels[] = {
    "__name__", "job", "instance", "le", "quantile", "a", "new", "__tmp"
};
static const char *const replacements[] = {
    "'$1'", "''", "'x'", "'${1}_${2}'", "'$$'", "'$0'", "'é'", "'$1$1$1$1'"
};

#define COUNT(t) (sizeof t / sizeof t[0])

/*
 * Appends one rule made from four bytes b[0..3] to y: the action, then the
 * fields that action takes (source labels, separator, regex, target,
 * replacement, modulus), drawn from the tables.
 */
static void gen_rule(prex_fuzz_str *y, const uint8_t *b)
{
    unsigned act = b[0] % COUNT(actions);
    unsigned nsrc = (b[0] >> 4) & 3;
    unsigned i;

    prex_fuzz_str_printf(y, "- action: %s\n", actions[act]);
    if (nsrc && act != PREX_RELABEL_ACT_LABELMAP && act != PREX_RELABEL_ACT_LABELDROP &&
        act != PREX_RELABEL_ACT_LABELKEEP) {
        prex_fuzz_str_append(y, "  source_labels: [", 18);
        for (i = 0; i < nsrc; i++)
            prex_fuzz_str_printf(y, "%s%s", i ? ", " : "",
                                 labels[(b[1] >> (2 * i)) % COUNT(labels)]);
        prex_fuzz_str_append(y, "]\n", 2);
        if (b[0] & 0x40)
            prex_fuzz_str_append(y, "  separator: ''\n", 16);
    }
    if (act != PREX_RELABEL_ACT_KEEPEQUAL && act != PREX_RELABEL_ACT_DROPEQUAL &&
        act != PREX_RELABEL_ACT_HASHMOD && act != PREX_RELABEL_ACT_LOWERCASE &&
        act != PREX_RELABEL_ACT_UPPERCASE && (act != PREX_RELABEL_ACT_REPLACE || (b[2] & 0x80)))
        prex_fuzz_str_printf(y, "  regex: %s\n", regexes[b[2] % COUNT(regexes)]);
    if (act == PREX_RELABEL_ACT_REPLACE || act == PREX_RELABEL_ACT_LOWERCASE ||
        act == PREX_RELABEL_ACT_UPPERCASE || act == PREX_RELABEL_ACT_KEEPEQUAL ||
        act == PREX_RELABEL_ACT_DROPEQUAL || act == PREX_RELABEL_ACT_HASHMOD)
        prex_fuzz_str_printf(y, "  target_label: %s\n",
                             (b[3] & 0x80) && act == PREX_RELABEL_ACT_REPLACE ?
                             "'${1}x'" : labels[(b[3] >> 4) % COUNT(labels)]);
    if (act == PREX_RELABEL_ACT_REPLACE || act == PREX_RELABEL_ACT_LABELMAP)
        prex_fuzz_str_printf(y, "  replacement: %s\n",
                             replacements[b[3] % COUNT(replacements)]);
    if (act == PREX_RELABEL_ACT_HASHMOD)
        prex_fuzz_str_printf(y, "  modulus: %u\n", (unsigned)(b[3] & 7) + 1);
}

/* Decodes a slice into arena memory when it has escapes. */
static prex_slice decoded(prex_arena *ar, prex_slice s, int esc)
{
    prex_slice out;
    char *p;

    if (!esc)
        return s;
    p = prex_arena_alloc_bytes(ar, s.len ? s.len : 1);
    if (!p)
        prex_fuzz_die("out of memory decoding a label");
    out.ptr = p;
    out.len = prex_unescape(s, p);
    return out;
}

/* Whether a and b name the same bytes. */
static int same(prex_slice a, prex_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Bytewise order of two names, shorter first on a tie. */
static int cmp_names(prex_slice a, prex_slice b)
{
    int c = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);

    return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* Checks a kept label set: names sorted and unique, no empty values. An
 * empty name can be made by labelmap, which checks no names (as in
 * Prometheus, docs/relabel.md); the merge table must then drop the set. */
static void check_kept(const prex_labelset *ls)
{
    size_t i;

    for (i = 0; i < ls->n; i++) {
        if (ls->pairs[i].value.len == 0)
            prex_fuzz_die("kept set: label '%.*s' has an empty value",
                          (int)ls->pairs[i].name.len, ls->pairs[i].name.ptr);
        if (i && cmp_names(ls->pairs[i - 1].name, ls->pairs[i].name) >= 0)
            prex_fuzz_die("kept set: labels '%.*s' and '%.*s' out of order or repeated",
                          (int)ls->pairs[i - 1].name.len, ls->pairs[i - 1].name.ptr,
                          (int)ls->pairs[i].name.len, ls->pairs[i].name.ptr);
    }
}

/* Builds the input label set of a sample ("__name__" first, then its
 * labels, escapes decoded into ar) in pairs (cap elements). */
static size_t input_set(prex_arena *ar, const prex_event *ev, prex_pair *pairs)
{
    size_t i;

    pairs[0].name.ptr = "__name__";
    pairs[0].name.len = 8;
    pairs[0].value = decoded(ar, ev->name, ev->name_esc);
    for (i = 0; i < ev->nlabels; i++) {
        pairs[i + 1].name = decoded(ar, ev->labels[i].name, ev->labels[i].name_esc);
        pairs[i + 1].value = decoded(ar, ev->labels[i].value, ev->labels[i].value_esc);
    }
    return ev->nlabels + 1;
}

/* Whether an apply error is one the input can cause. */
static int input_error(int code)
{
    return code == PREX_RELABEL_E_UTF8 || code == PREX_RELABEL_E_DUP_LABEL ||
           code == PREX_RELABEL_E_MATCH_LIMIT;
}

/*
 * Runs one sample through the rules twice (each time on a fresh copy of
 * its input set) and checks both results; a kept set goes into the merge
 * table m as source src. pairs/copy: arrays of ev->nlabels + 1 elements.
 */
static void run_sample(prex_relabel_state *st, prex_arena *ar, prex_merge *m,
                       unsigned src, const prex_event *ev, prex_pair *pairs,
                       prex_pair *copy)
{
    prex_labelset a, b;
    size_t n = input_set(ar, ev, pairs), i;
    int ra, rb, code = 0;

    memcpy(copy, pairs, n * sizeof *pairs);
    a.pairs = pairs;
    a.n = n;
    a.cap = n;
    ra = prex_relabel_apply(st, &a);
    if (ra == PREX_RELABEL_ERROR) {
        code = prex_relabel_state_error(st)->code;
        if (!input_error(code))
            prex_fuzz_die("apply failed: %s", prex_relabel_state_error(st)->text);
    }
    else if (ra != PREX_RELABEL_KEEP && ra != PREX_RELABEL_DROP)
        prex_fuzz_die("apply returned %d", ra);
    b.pairs = copy;
    b.n = n;
    b.cap = n;
    rb = prex_relabel_apply(st, &b);
    if (ra != rb || (rb == PREX_RELABEL_ERROR && prex_relabel_state_error(st)->code != code))
        prex_fuzz_die("the same input gave %d, then %d", ra, rb);
    if (ra != PREX_RELABEL_KEEP)
        return;
    check_kept(&a);
    if (a.n != b.n)
        prex_fuzz_die("the same input kept %zu labels, then %zu", a.n, b.n);
    for (i = 0; i < a.n; i++)
        if (!same(a.pairs[i].name, b.pairs[i].name) ||
            !same(a.pairs[i].value, b.pairs[i].value))
            prex_fuzz_die("the same input gave label %zu '%.*s' then '%.*s'", i,
                          (int)a.pairs[i].name.len, a.pairs[i].name.ptr,
                          (int)b.pairs[i].name.len, b.pairs[i].name.ptr);

    {
        prex_slice name = prex_labelset_get(&a, "__name__", 8);
        uint64_t before = m->stats.dropped_no_name + m->stats.dropped_bad_label;

        if (prex_merge_add_pairs(m, src, ev, a.pairs, a.n) != 0)
            prex_fuzz_die("prex_merge_add_pairs failed");
        if ((name.len == 0 || (a.n && a.pairs[0].name.len == 0)) &&
            m->stats.dropped_no_name + m->stats.dropped_bad_label != before + 1)
            prex_fuzz_die("a kept set without __name__ or with an empty label name "
                          "was not dropped");
    }
}

/* Builds the rule set the input selects, relabels every sample of its
 * text (run_sample()), and frees everything through the checking
 * allocator, which must then be empty. A generated rule set that does not
 * load is skipped; a fixed one must load. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prex_fuzz_alloc fa;
    prex_fuzz_str yaml = { 0 };
    prex_relabel_rules *rs = NULL;
    prex_relabel_error err;
    prex_relabel_state st;
    prex_arena ar;
    prex_merge m;
    prex_parser p;
    prex_event ev;
    prex_pair *pairs = NULL, *copy = NULL;
    size_t at = 1, len, cap = 0;
    unsigned src;
    char *buf;
    int rc;

    if (size < 1)
        return 0;
    if (data[0] < GENERATED) {
        const char *c = configs[data[0] % NCONFIGS];

        prex_fuzz_str_append(&yaml, c, strlen(c));
    }
    else {
        unsigned i, nrules = (data[0] & 3) + 1;

        if (size < 1 + nrules * RULE_BYTES)
            return 0;
        for (i = 0; i < nrules; i++)
            gen_rule(&yaml, data + 1 + i * RULE_BYTES);
        at += nrules * RULE_BYTES;
    }
    len = size - at;
    buf = prex_fuzz_copy(data + at, len);
    if (!buf)
        prex_fuzz_die("out of memory");

    prex_fuzz_alloc_init(&fa, (size_t)-1);
    rc = prex_relabel_load(&rs, "fuzz.yml", yaml.ptr, yaml.len, 0, &fa.alc, &err);
    if (rc != 0) {
        /* a generated rule may be invalid (a regex group past the
         * template's use is not); a fixed one never is */
        if (data[0] < GENERATED || err.line < 1)
            prex_fuzz_die("rules do not load: %s\n%s", err.text, yaml.ptr);
        prex_fuzz_alloc_check_empty(&fa);
        goto out;
    }
    prex_arena_init(&ar, &fa.alc, 0);
    prex_relabel_state_init(&st, rs, &ar);
    prex_merge_init(&m, &fa.alc, 0);
    if (prex_merge_add_source(&m, "fuzz", 4, 0, &src) != 0)
        prex_fuzz_die("prex_merge_add_source failed");

    prex_parser_init(&p, buf, len, PREX_FORMAT_TEXT, 0);
    prex_parser_set_alloc(&p, &fa.alc);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF) {
        if (rc != PREX_EV_SAMPLE) {
            if (prex_merge_meta(&m, src, &ev) != 0)
                prex_fuzz_die("prex_merge_meta failed");
            continue;
        }
        if (ev.nlabels + 1 > cap) {
            cap = ev.nlabels + 1;
            free(pairs);
            free(copy);
            pairs = malloc(cap * sizeof *pairs);
            copy = malloc(cap * sizeof *copy);
            if (!pairs || !copy)
                prex_fuzz_die("out of memory");
        }
        run_sample(&st, &ar, &m, src, &ev, pairs, copy);
    }
    prex_merge_finish(&m);

    prex_parser_free(&p);
    prex_merge_free(&m);
    prex_relabel_state_free(&st);
    prex_arena_free(&ar);
    prex_relabel_free(rs);
    prex_fuzz_alloc_check_empty(&fa);
out:
    free(pairs);
    free(copy);
    free(buf);
    prex_fuzz_str_free(&yaml);
    return 0;
}

/*
 * bench_relabel.c - the relabel engine's benchmark bodies: parse with full
 * validation, turn every sample into a label set (the metric name as
 * __name__, escaped values decoded into the arena) and apply a rule set,
 * as prex-relay does with --relabel. Three typical rule sets:
 *
 *   relabel_drop     drop series by metric name with a regex alternation;
 *   relabel_rename   rename a label (replace into a new name, labeldrop
 *                    the old one);
 *   relabel_hashmod  shard by hashmod of namespace and pod (so that a
 *                    histogram's lines stay together) and keep half of
 *                    the shards, dropping the temporary label.
 *
 * The parse is included, so a body's cost minus parse_full's on the same
 * input is the cost of building label sets and relabeling. The arena is
 * reset once per pass, as the relay resets it once per batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "bench.h"
#include "relabel.h"

static const char rules_drop[] =
    "- source_labels: [__name__]\n"
    "  regex: '(go|process|kube_pod|node_network|prometheus_tsdb)_.+'\n"
    "  action: drop\n";

static const char rules_rename[] =
    "- source_labels: [namespace]\n"
    "  regex: '(.+)'\n"
    "  target_label: k8s_namespace\n"
    "  replacement: '$1'\n"
    "- action: labeldrop\n"
    "  regex: namespace\n";

static const char rules_hashmod[] =
    "- source_labels: [namespace, pod]\n"
    "  modulus: 8\n"
    "  target_label: __tmp_shard\n"
    "  action: hashmod\n"
    "- source_labels: [__tmp_shard]\n"
    "  regex: '[0-3]'\n"
    "  action: keep\n"
    "- action: labeldrop\n"
    "  regex: __tmp_shard\n";

typedef struct relabel_state {
    const prex_bench_input *in; /* first: see prex_bench_input_bytes() */
    prex_relabel_rules *rules;
    prex_relabel_state st;
    prex_arena arena;
    prex_parser parser;
    prex_pair pairs[PREX_MAX_LABELS + 1];
    uint64_t kept;              /* series kept by the first pass */
    volatile size_t sink;
} relabel_state;

/* Returns s as it is, or decoded into the arena when esc is set; a slice
 * with a NULL ptr when the arena is out of memory. */
static prex_slice decoded(prex_arena *a, prex_slice s, int esc)
{
    prex_slice d = { NULL, 0 };
    char *out;

    if (!esc)
        return s;
    out = prex_arena_alloc_bytes(a, s.len ? s.len : 1);
    if (!out)
        return d;
    d.ptr = out;
    d.len = prex_unescape(s, out);
    return d;
}

/*
 * One pass: parses the input, relabels every sample, resets the arena.
 *   kept: OUT: series the rules kept.
 * Returns 0, or -1 when the parse fails or a rule reports an error.
 */
static int relabel_pass(relabel_state *s, uint64_t *kept)
{
    prex_parser *p = &s->parser;
    prex_event ev;
    uint64_t nkept = 0;
    int rc = 0, failed = 0;
    size_t i;

    prex_parser_init(p, s->in->data, s->in->len, s->in->format, 0);
    prex_finish(p);
    while (!failed && (rc = prex_next(p, &ev)) > 0 && rc != PREX_EV_EOF) {
        prex_labelset ls;
        int r;

        if (rc != PREX_EV_SAMPLE)
            continue;
        s->pairs[0].name.ptr = "__name__";
        s->pairs[0].name.len = 8;
        s->pairs[0].value = decoded(&s->arena, ev.name, ev.name_esc);
        for (i = 0; i < ev.nlabels; i++) {
            s->pairs[i + 1].name = decoded(&s->arena, ev.labels[i].name, ev.labels[i].name_esc);
            s->pairs[i + 1].value =
                decoded(&s->arena, ev.labels[i].value, ev.labels[i].value_esc);
        }
        for (i = 0; i <= ev.nlabels; i++)
            if (!s->pairs[i].name.ptr || !s->pairs[i].value.ptr)
                failed = 1; /* out of memory */
        ls.pairs = s->pairs;
        ls.n = ev.nlabels + 1;
        ls.cap = sizeof s->pairs / sizeof s->pairs[0];
        r = failed ? PREX_RELABEL_ERROR : prex_relabel_apply(&s->st, &ls);
        if (r == PREX_RELABEL_KEEP) {
            nkept++;
            s->sink = ls.n;
        } else if (r != PREX_RELABEL_DROP) {
            failed = 1;
        }
    }
    prex_parser_free(p);
    prex_arena_reset(&s->arena);
    *kept = nkept;
    return !failed && rc == PREX_EV_EOF ? 0 : -1;
}

static void relabel_teardown(void *state)
{
    relabel_state *s = state;

    prex_relabel_state_free(&s->st);
    prex_relabel_free(s->rules);
    prex_arena_free(&s->arena);
    free(s);
}

/* Compiles yaml, makes the state and runs a first pass whose number of
 * kept series every timed pass must match. */
static int relabel_setup(const prex_bench_input *in, void **state, const char *yaml,
                         size_t len, char *err, size_t errlen)
{
    relabel_state *s = calloc(1, sizeof *s);
    prex_relabel_error rerr;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->in = in;
    prex_arena_init(&s->arena, NULL, 0);
    if (prex_relabel_load(&s->rules, "bench rules", yaml, len, 0, NULL, &rerr) != 0) {
        snprintf(err, errlen, "%s", rerr.text);
        prex_arena_free(&s->arena);
        free(s);
        return -1;
    }
    prex_relabel_state_init(&s->st, s->rules, &s->arena);
    if (relabel_pass(s, &s->kept) != 0) {
        snprintf(err, errlen, "%s: relabeling fails: %s", in->name,
                 prex_relabel_state_error(&s->st)->text);
        relabel_teardown(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int relabel_drop_setup(const prex_bench_input *in, void **state, char *err,
                              size_t errlen)
{
    return relabel_setup(in, state, rules_drop, sizeof rules_drop - 1, err, errlen);
}

static int relabel_rename_setup(const prex_bench_input *in, void **state, char *err,
                                size_t errlen)
{
    return relabel_setup(in, state, rules_rename, sizeof rules_rename - 1, err, errlen);
}

static int relabel_hashmod_setup(const prex_bench_input *in, void **state, char *err,
                                 size_t errlen)
{
    return relabel_setup(in, state, rules_hashmod, sizeof rules_hashmod - 1, err, errlen);
}

static int relabel_once(void *state)
{
    relabel_state *s = state;
    uint64_t kept;

    if (relabel_pass(s, &kept) != 0)
        return -1;
    return kept == s->kept ? 0 : -1;
}

const prex_bench prex_bench_relabel_table[] = {
    { "relabel_drop", relabel_drop_setup, relabel_once, relabel_teardown,
      prex_bench_input_bytes, prex_bench_input_samples },
    { "relabel_rename", relabel_rename_setup, relabel_once, relabel_teardown,
      prex_bench_input_bytes, prex_bench_input_samples },
    { "relabel_hashmod", relabel_hashmod_setup, relabel_once, relabel_teardown,
      prex_bench_input_bytes, prex_bench_input_samples },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

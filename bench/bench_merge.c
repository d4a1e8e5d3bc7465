/*
 * bench_merge.c - the merge table's benchmark bodies: N sources parsed
 * with full validation, added to one merge table with a source label,
 * resolved and written as one text 0.0.4 body, which is what prex-relay
 * does for one push of several sources.
 *
 *   merge_1   the input as the only source;
 *   merge_4   the input as four sources (source="s0" .. "s3", so that
 *             their series differ), 4 x the bytes and samples per pass.
 *
 * Every source parses the same in-memory input (the table keeps pointers
 * into it, so it stays put). The table is reset after each pass and keeps
 * its memory, as the relay's table does from one push to the next; the
 * output buffer keeps its memory too.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "merge.h"
#include "write.h"

#define MAX_SOURCES 4

typedef struct merge_state {
    const prex_bench_input *in; /* first: see prex_bench_input_bytes() */
    unsigned nsources;
    unsigned ids[MAX_SOURCES];
    prex_merge table;
    prex_parser parser;
    prex_buf out;
    size_t out_len;             /* output size of the first pass */
    uint64_t series_out;        /* series written by the first pass */
    volatile size_t sink;
} merge_state;

/*
 * Feeds the input to the table as source id: HELP, TYPE and UNIT events
 * through prex_merge_meta(), samples through prex_merge_add_event().
 * Returns 0, or -1 when the parse or the table fails.
 */
static int add_source(merge_state *s, unsigned id)
{
    prex_parser *p = &s->parser;
    prex_event ev;
    int rc = 0, r = 0;

    prex_parser_init(p, s->in->data, s->in->len, s->in->format, 0);
    prex_finish(p);
    while (r == 0 && (rc = prex_next(p, &ev)) > 0 && rc != PREX_EV_EOF) {
        if (rc == PREX_EV_SAMPLE)
            r = prex_merge_add_event(&s->table, id, &ev);
        else
            r = prex_merge_meta(&s->table, id, &ev);
    }
    prex_parser_free(p);
    return r == 0 && rc == PREX_EV_EOF ? 0 : -1;
}

/*
 * One pass: every source added, the table resolved and written into
 * s->out (emptied first), then reset. Returns 0, or -1 when a source
 * fails, the table reports an error issue or the writer fails.
 */
static int merge_pass(merge_state *s)
{
    prex_writer w;
    unsigned i;
    int rc = 0;

    for (i = 0; i < s->nsources && rc == 0; i++)
        rc = add_source(s, s->ids[i]);
    if (rc == 0)
        rc = prex_merge_finish(&s->table);
    if (rc == 0) {
        prex_buf_clear(&s->out);
        prex_writer_init(&w, &s->out, PREX_FORMAT_TEXT, 0);
        rc = prex_merge_write(&s->table, &w);
        if (rc == 0)
            rc = prex_writer_finish(&w);
        prex_writer_free(&w);
    }
    s->sink = (size_t)s->table.stats.series_out;
    return rc == 0 ? 0 : -1;
}

static void merge_teardown(void *state)
{
    merge_state *s = state;

    prex_merge_free(&s->table);
    prex_buf_free(&s->out);
    free(s);
}

/* Makes the table with n sources and runs a first pass, whose output size
 * and series count every timed pass must match. */
static int merge_setup(const prex_bench_input *in, void **state, unsigned n, char *err,
                       size_t errlen)
{
    merge_state *s = calloc(1, sizeof *s);
    unsigned i;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->in = in;
    s->nsources = n;
    prex_merge_init(&s->table, NULL, 0);
    prex_buf_init(&s->out, NULL);
    if (prex_merge_set_source_label(&s->table, "source", 6) != 0) {
        snprintf(err, errlen, "prex_merge_set_source_label failed");
        merge_teardown(s);
        return -1;
    }
    for (i = 0; i < n; i++) {
        char name[8] = { 's', (char)('0' + i), 0 };

        if (prex_merge_add_source(&s->table, name, 2, 0, &s->ids[i]) != 0) {
            snprintf(err, errlen, "prex_merge_add_source failed");
            merge_teardown(s);
            return -1;
        }
    }
    if (merge_pass(s) != 0) {
        const prex_merge_issue *is = prex_merge_issue_count(&s->table) > 0
                                         ? prex_merge_issue_at(&s->table, 0)
                                         : NULL;

        snprintf(err, errlen, "%s: the merge fails%s%s", in->name, is ? ": " : "",
                 is ? is->message : "");
        merge_teardown(s);
        return -1;
    }
    s->out_len = s->out.len;
    s->series_out = s->table.stats.series_out;
    prex_merge_reset(&s->table);
    *state = s;
    return 0;
}

static int merge_1_setup(const prex_bench_input *in, void **state, char *err, size_t errlen)
{
    return merge_setup(in, state, 1, err, errlen);
}

static int merge_4_setup(const prex_bench_input *in, void **state, char *err, size_t errlen)
{
    return merge_setup(in, state, 4, err, errlen);
}

static int merge_once(void *state)
{
    merge_state *s = state;
    int rc = merge_pass(s);
    int same = s->out.len == s->out_len && s->table.stats.series_out == s->series_out;

    prex_merge_reset(&s->table);
    return rc == 0 && same ? 0 : -1;
}

/* Bytes and samples of one pass: the input once per source. */
static uint64_t merge_bytes(const void *state)
{
    const merge_state *s = state;

    return (uint64_t)s->in->len * s->nsources;
}

static uint64_t merge_samples(const void *state)
{
    const merge_state *s = state;

    return s->in->samples * s->nsources;
}

const prex_bench prex_bench_merge_table[] = {
    { "merge_1", merge_1_setup, merge_once, merge_teardown, merge_bytes, merge_samples },
    { "merge_4", merge_4_setup, merge_once, merge_teardown, merge_bytes, merge_samples },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

/*
 * bench_write.c - the writer's benchmark body: parse with full validation
 * and write every event back as text 0.0.4 into a memory buffer, which is
 * what prex-relay does to a source without relabeling.
 *
 *   write_text   prex_next() with all checks, prex_write_event() of every
 *                event into a prex_buf (its memory kept from one iteration
 *                to the next, as a relay's output buffer is), then
 *                prex_writer_finish(). An OpenMetrics input is converted.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "write.h"

typedef struct write_state {
    const prex_bench_input *in; /* first: see prex_bench_input_bytes() */
    prex_format out_format;
    prex_parser parser;
    prex_buf out;
    size_t out_len;             /* output size of the first run */
    volatile size_t sink;
} write_state;

/*
 * Parses and writes the input once into s->out (emptied first).
 * Returns 0 when the parse reaches PREX_EV_EOF and the writer accepts
 * every event, else -1.
 */
static int write_pass(write_state *s)
{
    prex_parser *p = &s->parser;
    prex_writer w;
    prex_event ev;
    int rc, wrc = 0;

    prex_buf_clear(&s->out);
    prex_writer_init(&w, &s->out, s->out_format, 0);
    prex_parser_init(p, s->in->data, s->in->len, s->in->format, 0);
    prex_finish(p);
    while ((rc = prex_next(p, &ev)) > 0) {
        wrc = prex_write_event(&w, &ev, s->in->format);
        if (wrc != 0 || rc == PREX_EV_EOF)
            break;
    }
    if (wrc == 0 && rc == PREX_EV_EOF)
        wrc = prex_writer_finish(&w);
    prex_writer_free(&w);
    prex_parser_free(p);
    return rc == PREX_EV_EOF && wrc == 0 ? 0 : -1;
}

static int write_text_setup(const prex_bench_input *in, void **state, char *err,
                            size_t errlen)
{
    write_state *s = calloc(1, sizeof *s);

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->in = in;
    s->out_format = PREX_FORMAT_TEXT;
    prex_buf_init(&s->out, NULL);
    if (write_pass(s) != 0) {
        snprintf(err, errlen, "%s: the writer refuses this input", in->name);
        prex_buf_free(&s->out);
        free(s);
        return -1;
    }
    s->out_len = s->out.len;
    *state = s;
    return 0;
}

/* One iteration: the output must have the size of the first run's. */
static int write_once(void *state)
{
    write_state *s = state;

    if (write_pass(s) != 0)
        return -1;
    s->sink = s->out.len;
    return s->out.len == s->out_len ? 0 : -1;
}

static void write_teardown(void *state)
{
    write_state *s = state;

    prex_buf_free(&s->out);
    free(s);
}

const prex_bench prex_bench_write_table[] = {
    { "write_text", write_text_setup, write_once, write_teardown, prex_bench_input_bytes,
      prex_bench_input_samples },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

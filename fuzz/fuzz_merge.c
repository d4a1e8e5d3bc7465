/*
 * fuzz_merge.c - fuzz target: two or three expositions merged by the merge
 * table (relay/merge.h), each as its own source. When the table resolves
 * without an error, its body written as text 0.0.4 and as OpenMetrics 1.0
 * must parse again without any error; the parser's duplicate-series and
 * grouping checks are on, so a series or family written twice fails.
 *
 * Input layout:
 *     byte 0   bit 0: PREX_MERGE_FIRST (--conflict first)
 *              bit 1: a source label "source" (-s source)
 *              bit 2: PREX_MERGE_STRIP_TIMESTAMPS
 *              bit 3: PREX_MERGE_EXEMPLARS
 *              bit 4: a constant label env="fuzz" (-l env=fuzz)
 *              bits 5-6: names: 0 as they are; 1, 2, 3 legacy names only
 *              (PREX_MERGE_LEGACY_NAMES) with the series dropped,
 *              escaped with underscores, escaped with values; the bodies
 *              must then parse with PREX_LEGACY_NAMES
 *     rest     two or three parts separated by DELIM (anything after a
 *              third separator belongs to the third part); each part is
 *              one source: its first byte is a configuration byte of which
 *              bits 0-3 count (format and lenient flags, fuzz/fuzzlib.h),
 *              then its text.
 *
 * A source whose parse fails keeps what it added before the error, as a
 * truncated scrape would. Such a source no longer promises OpenMetrics'
 * own rules: the parser checks some of them only when a metric point ends
 * (_sum with _count, a negative _sum), after the point's samples were
 * given, so an error after x_sum leaves a histogram without its _count.
 * Its OpenMetrics body is then held to the text rules only, as a text
 * source's is (the relay never merges a source that failed).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "merge.h"
#include "write.h"

#define DELIM "\n--\xff--\n"
#define DELIM_LEN 7
#define MAX_PARTS 3

/* One source: its text in an exact-size heap copy. */
typedef struct part {
    char *buf;
    size_t len;
    prex_format format;
    unsigned flags;
} part;

/* Splits data[0..size) into at most MAX_PARTS parts at DELIM. Returns the
 * number of parts. */
static size_t split_parts(const uint8_t *data, size_t size, part *parts)
{
    size_t n = 0, at = 0;

    while (n < MAX_PARTS) {
        size_t end = size, i;

        if (n + 1 < MAX_PARTS)
            for (i = at; i + DELIM_LEN <= size; i++)
                if (memcmp(data + i, DELIM, DELIM_LEN) == 0) {
                    end = i;
                    break;
                }
        if (end > at) {
            prex_fuzz_config c = prex_fuzz_config_decode(data[at]);
            size_t len = end - at - 1;

            parts[n].format = c.format;
            parts[n].flags = c.flags & ~(unsigned)PREX_LEGACY_NAMES;
            parts[n].len = len;
            parts[n].buf = prex_fuzz_copy(data + at + 1, len);
            if (!parts[n].buf)
                prex_fuzz_die("out of memory");
            n++;
        }
        if (end == size)
            break;
        at = end + DELIM_LEN;
    }
    return n;
}

/* Feeds one part to the table as source src through the parser p, until
 * its EOF or its first parse error. The caller frees p once the table is
 * written, as the relay keeps every source until the push is done.
 * Returns 1 when the part ended at a parse error, else 0. */
static int feed(prex_merge *m, unsigned src, const part *pt, prex_parser *p,
                prex_fuzz_alloc *fa)
{
    prex_event ev;
    int rc;

    prex_parser_init(p, pt->buf, pt->len, pt->format, pt->flags);
    prex_parser_set_alloc(p, &fa->alc);
    prex_finish(p);
    while ((rc = prex_next(p, &ev)) > 0 && rc != PREX_EV_EOF) {
        if (rc == PREX_EV_SAMPLE)
            rc = prex_merge_add_event(m, src, &ev);
        else
            rc = prex_merge_meta(m, src, &ev);
        if (rc != 0)
            prex_fuzz_die("adding an event of source %u failed: %s", src,
                          prex_merge_errname(rc));
    }
    return rc == PREX_ERROR;
}


/* Prints the parts and a body, then aborts with what. */
static void fail(const char *what, const part *parts, size_t n, const prex_buf *body)
{
    prex_fuzz_str s = { 0 };
    size_t i;

    for (i = 0; i < n; i++) {
        s.len = 0;
        prex_fuzz_str_append(&s, parts[i].buf, parts[i].len);
        prex_fuzz_dump(parts[i].format == PREX_FORMAT_TEXT ? "text source" :
                       "OpenMetrics source", &s);
    }
    if (body) {
        s.len = 0;
        prex_fuzz_str_append(&s, body->ptr, body->len);
        prex_fuzz_dump("merged body", &s);
    }
    prex_fuzz_str_free(&s);
    prex_fuzz_die("%s", what);
}

/*
 * Writes the resolved table in format fmt and parses the body strictly
 * (same format, default limits, the checking allocator). text_rules: some
 * source was text or failed to parse, so an OpenMetrics body is held to
 * the text rules only and may break the ones only OpenMetrics has.
 */
static void write_and_parse(prex_merge *m, prex_format fmt, int text_rules, unsigned pflags,
                            const part *parts, size_t n, prex_fuzz_alloc *fa)
{
    prex_buf body;
    prex_writer w;
    prex_parser p;
    prex_event ev;
    int rc;

    prex_buf_init(&body, &fa->alc);
    prex_writer_init(&w, &body, fmt, 0);
    rc = prex_merge_write(m, &w);
    if (rc == 0)
        rc = prex_writer_finish(&w);
    if (rc != 0) {
        /* documented refusals when writing OpenMetrics: a text counter
         * x_total next to a family x has no OpenMetrics name of its own,
         * and a text timestamp may not fit OpenMetrics seconds that read
         * back within int64 milliseconds (docs/cli.md); anything else is
         * a table bug */
        if (!(fmt == PREX_FORMAT_OPENMETRICS &&
              (rc == PREX_E_NAME_CLASH || (text_rules && rc == PREX_E_TIMESTAMP_RANGE))))
            fail(prex_writer_error(&w)->detail, parts, n, &body);
        prex_writer_free(&w);
        prex_buf_free(&body);
        return;
    }
    prex_writer_free(&w);

    prex_parser_init(&p, body.ptr, body.len, fmt, pflags);
    prex_parser_set_alloc(&p, &fa->alc);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF)
        ;
    if (rc == PREX_ERROR) {
        int code = prex_parser_error(&p)->code;

        if (!(fmt == PREX_FORMAT_OPENMETRICS && text_rules && prex_fuzz_om_only_rule(code)) &&
            code != PREX_E_LIMIT_NAME) {
            prex_fuzz_str msg = { 0 };

            prex_fuzz_str_printf(&msg, "the merged %s body does not parse: %s: %s",
                                 fmt == PREX_FORMAT_TEXT ? "text" : "OpenMetrics",
                                 prex_errname(code), prex_parser_error(&p)->detail);
            prex_parser_free(&p);
            fail(msg.ptr, parts, n, &body);
        }
    }
    prex_parser_free(&p);
    prex_buf_free(&body);
}

/* Splits the input into its sources, merges them, and when the table
 * resolves writes and re-parses both bodies (write_and_parse()). Every
 * source's text and parser stay alive until the table is freed (the
 * table keeps pointers into them). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prex_fuzz_alloc fa;
    prex_merge m;
    part parts[MAX_PARTS];
    prex_parser *ps;
    unsigned flags = 0, id, names;
    size_t n, i;
    int text_rules = 0, rc;
    char name[8];

    if (size < 2)
        return 0;
    if (data[0] & 1)
        flags |= PREX_MERGE_FIRST;
    if (data[0] & 4)
        flags |= PREX_MERGE_STRIP_TIMESTAMPS;
    if (data[0] & 8)
        flags |= PREX_MERGE_EXEMPLARS;
    names = (data[0] >> 5) & 3;
    if (names)
        flags |= PREX_MERGE_LEGACY_NAMES;
    n = split_parts(data + 1, size - 1, parts);
    if (n < 2)
        goto out;

    ps = malloc(n * sizeof *ps);
    if (!ps)
        prex_fuzz_die("out of memory");
    prex_fuzz_alloc_init(&fa, (size_t)-1);
    prex_merge_init(&m, &fa.alc, flags);
    prex_merge_set_escaping(&m, names == 2   ? PREX_ESCAPE_UNDERSCORES
                                : names == 3 ? PREX_ESCAPE_VALUES
                                             : PREX_ESCAPE_NONE);
    if ((data[0] & 2) && prex_merge_set_source_label(&m, "source", 6) != 0)
        prex_fuzz_die("prex_merge_set_source_label failed");
    if ((data[0] & 16) && prex_merge_add_label(&m, "env", 3, "fuzz", 4) != 0)
        prex_fuzz_die("prex_merge_add_label failed");
    for (i = 0; i < n; i++) {
        memcpy(name, "source", 6);
        name[6] = (char)('0' + i);
        if (prex_merge_add_source(&m, name, 7, 0, &id) != 0 || id != i)
            prex_fuzz_die("prex_merge_add_source failed");
        text_rules |= parts[i].format == PREX_FORMAT_TEXT;
        text_rules |= feed(&m, id, &parts[i], &ps[i], &fa);
    }
    rc = prex_merge_finish(&m);
    if (rc == PREX_MERGE_E_NO_MEMORY)
        fail("prex_merge_finish ran out of memory", parts, n, NULL);
    if (rc == 0) {
        unsigned pflags = names ? PREX_LEGACY_NAMES : 0;

        write_and_parse(&m, PREX_FORMAT_TEXT, text_rules, pflags, parts, n, &fa);
        write_and_parse(&m, PREX_FORMAT_OPENMETRICS, text_rules, pflags, parts, n, &fa);
    }
    else if (flags & PREX_MERGE_FIRST)
        fail("prex_merge_finish failed under PREX_MERGE_FIRST", parts, n, NULL);
    prex_merge_free(&m);
    for (i = 0; i < n; i++)
        prex_parser_free(&ps[i]);
    free(ps);
    prex_fuzz_alloc_check_empty(&fa);
out:
    for (i = 0; i < n; i++)
        free(parts[i].buf);
    return 0;
}

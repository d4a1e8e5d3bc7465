/*
 * example.c - validates one exposition with libprex's streaming API and
 * prints compiler-style diagnostics: a complete program of the kind a
 * gateway or agent links libprex for.
 *
 * Build it against an installed libprex:
 *
 *     cc -std=c11 example.c $(pkg-config --cflags --libs prex) -o prex-example
 *
 * Run it on a file or on stdin (the default, or "-"):
 *
 *     prex-example [--openmetrics] [FILE]
 *
 * The input is read in chunks; the parser consumes whole lines and the
 * unconsumed tail is moved to the front of the buffer before the next chunk
 * is appended. Every error is printed as FILE:LINE:COLUMN: error: MESSAGE
 * and parsing goes on after it, so one run reports every bad line. At the
 * end a summary line gives the number of metric families and samples.
 *
 * Exit status: 0 valid, 1 invalid, 2 usage, I/O or memory error.
 */
#include <prex/prex.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes read per chunk. */
#define CHUNK_SIZE ((size_t)64 * 1024)

/* The line limit this program sets (the parser's default, 1 MiB). The
 * buffer never needs to grow beyond one such line, its line end ("\r\n" at
 * most) and the sentinel byte: a longer line is PREX_E_LIMIT_LINE. */
#define MAX_LINE ((size_t)1024 * 1024)
#define MAX_BUFFER (MAX_LINE + 3)

/* The input: a stream and the buffer the parser reads. */
typedef struct input {
    FILE *fp;
    const char *name; /* for diagnostics: the file name, or "stdin" */
    char *buf;        /* buf[len] == '\0' always (the parser's sentinel) */
    size_t len;       /* bytes held */
    size_t cap;       /* bytes allocated, the sentinel included */
    int eof;          /* the stream has ended */
} input;

/* Counts of what the input held. */
typedef struct counts {
    unsigned long families;
    unsigned long samples;
    unsigned long errors;
    char last[PREX_MAX_NAME]; /* the current family's name (copied) */
    size_t lastlen;
    int have_last;
} counts;

/*
 * Drops the first `consumed` bytes of in->buf (lines the parser is done
 * with), then appends the next chunk of the stream, growing the buffer when
 * the kept tail fills it. Sets in->eof when the stream ends. Keeps
 * buf[len] == '\0'. Returns 0, or -1 after printing why it failed (read
 * error, out of memory, a line longer than MAX_BUFFER allows).
 */
static int fill(input *in, size_t consumed)
{
    size_t want, got;

    memmove(in->buf, in->buf + consumed, in->len - consumed);
    in->len -= consumed;

    if (in->cap - 1 - in->len < CHUNK_SIZE && in->cap < MAX_BUFFER) {
        size_t cap = in->cap * 2;
        char *buf;

        if (cap > MAX_BUFFER)
            cap = MAX_BUFFER;
        buf = realloc(in->buf, cap);
        if (buf == NULL) {
            fprintf(stderr, "%s: out of memory\n", in->name);
            return -1;
        }
        in->buf = buf;
        in->cap = cap;
    }
    want = in->cap - 1 - in->len;
    if (want == 0) {
        fprintf(stderr, "%s: a line is longer than %zu bytes\n", in->name, MAX_LINE);
        return -1;
    }

    got = fread(in->buf + in->len, 1, want, in->fp);
    if (got < want) {
        if (ferror(in->fp)) {
            fprintf(stderr, "%s: read error\n", in->name);
            return -1;
        }
        in->eof = 1;
    }
    in->len += got;
    in->buf[in->len] = '\0';
    return 0;
}

/*
 * Answers PREX_NEED_MORE: reads the next chunk and hands the parser the
 * compacted buffer; at the end of the stream also declares the end of
 * input. Returns 0, or -1 on an error fill() reported.
 */
static int more(input *in, prex_parser *p)
{
    if (in->eof) {
        fprintf(stderr, "%s: parser asked for more input after the end\n", in->name);
        return -1;
    }
    if (fill(in, prex_parser_consumed(p)) != 0)
        return -1;
    prex_parser_refill(p, in->buf, in->len);
    if (in->eof)
        prex_finish(p);
    return 0;
}

/*
 * Prints one diagnostic, FILE:LINE:COLUMN: error: MESSAGE, where MESSAGE is
 * the error's description followed by its detail when it has one.
 */
static void report(const input *in, const prex_error *err)
{
    const char *detail = err->detail != NULL ? err->detail : "";

    fprintf(stderr, "%s:%" PRIu64 ":%" PRIu64 ": error: %s%s%s\n", in->name,
            err->line, err->column, prex_strerror(err->code),
            detail[0] != '\0' ? ": " : "", detail);
}

/*
 * Counts one event: a sample, and a family each time an event names a
 * family other than the previous event's. The family name is copied,
 * because the event's slices die at the next prex_next().
 */
static void count(counts *c, const prex_event *ev)
{
    prex_slice fam;

    switch (ev->kind) {
    case PREX_EV_SAMPLE:
        c->samples++;
        fam = ev->family;
        break;
    case PREX_EV_HELP:
    case PREX_EV_TYPE:
    case PREX_EV_UNIT:
        fam = ev->name;
        break;
    default:
        return;
    }
    if (c->have_last && fam.len == c->lastlen && fam.len <= sizeof c->last &&
        memcmp(fam.ptr, c->last, fam.len) == 0)
        return;
    c->families++;
    c->have_last = fam.len <= sizeof c->last;
    if (c->have_last) {
        memcpy(c->last, fam.ptr, fam.len);
        c->lastlen = fam.len;
    }
}

/*
 * Parses the whole input, printing a diagnostic for every error and
 * recovering after each. Returns 0 when the input is valid, 1 when it is not, 2 when
 * reading failed.
 */
static int validate(input *in, prex_format format, counts *c)
{
    static const prex_limits limits = {
        .max_line = MAX_LINE,                 /* as the buffer assumes */
        .max_labels = 0,                      /* PREX_MAX_LABELS */
        .max_label_value = (size_t)64 * 1024, /* the parser's default */
        .max_bytes = 0,                       /* no limit on the stream */
    };
    prex_parser p;
    prex_event ev;
    int rc, status = 0;

    if (fill(in, 0) != 0)
        return 2;
    prex_parser_init(&p, in->buf, in->len, format, 0);
    prex_parser_set_limits(&p, &limits);
    if (in->eof)
        prex_finish(&p);

    for (;;) {
        rc = prex_next(&p, &ev);
        if (rc == PREX_NEED_MORE) {
            if (more(in, &p) != 0) {
                status = 2;
                break;
            }
            continue;
        }
        if (rc == PREX_ERROR) {
            const prex_error *err = prex_parser_error(&p);

            report(in, err);
            c->errors++;
            status = 1;
            /* Recovering skips to the end of the failed line, reading on
             * when it is not in the buffer yet (an over-long line is
             * skipped as it arrives). */
            while ((rc = prex_parser_recover(&p)) == PREX_NEED_MORE) {
                if (more(in, &p) != 0)
                    break;
            }
            if (rc != 0) {
                if (rc == PREX_NEED_MORE)
                    status = 2;
                break;
            }
            continue;
        }
        if (rc == PREX_EV_EOF)
            break;
        count(c, &ev);
    }
    prex_parser_free(&p);
    return status;
}

int main(int argc, char **argv)
{
    input in = {NULL, "stdin", NULL, 0, 0, 0};
    counts c;
    prex_format format = PREX_FORMAT_TEXT;
    const char *path = NULL;
    int i, status;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--openmetrics") == 0) {
            format = PREX_FORMAT_OPENMETRICS;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "usage: %s [--openmetrics] [FILE]\n", argv[0]);
            return 2;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            fprintf(stderr, "usage: %s [--openmetrics] [FILE]\n", argv[0]);
            return 2;
        }
    }

    if (path == NULL || strcmp(path, "-") == 0) {
        in.fp = stdin;
    } else {
        in.fp = fopen(path, "rb");
        in.name = path;
        if (in.fp == NULL) {
            perror(path);
            return 2;
        }
    }
    in.cap = CHUNK_SIZE + 1;
    in.buf = malloc(in.cap);
    if (in.buf == NULL) {
        fprintf(stderr, "%s: out of memory\n", in.name);
        return 2;
    }
    in.buf[0] = '\0';
    memset(&c, 0, sizeof c);

    status = validate(&in, format, &c);
    if (status != 2)
        printf("%s: %s, %lu families, %lu samples, %lu errors\n", in.name,
               status == 0 ? "valid" : "invalid", c.families, c.samples, c.errors);

    free(in.buf);
    if (in.fp != stdin)
        fclose(in.fp);
    return status;
}

/*
 * bench_input.c - loads the benchmark inputs: reads a whole file into
 * memory with the parser's NUL sentinel, detects its format and counts its
 * samples, refusing a file that is not a valid exposition.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Copies s[0..n) into a new NUL-terminated string; NULL when out of memory. */
static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/*
 * Reads the file at path into a new buffer with a NUL after the data.
 *   data, len: OUT: the buffer (caller frees) and the file's size.
 * Returns 0, or -1 with a message in err.
 */
static int read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        size_t got;

        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
            char *nb = realloc(buf, ncap + 1);

            if (!nb) {
                snprintf(err, errlen, "%s: out of memory", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/*
 * Parses in->data once with full validation and stores its number of
 * samples in in->samples. Returns 0, or -1 with the parser's error (code,
 * line and column) in err when the input is not valid.
 */
static int count_samples(prex_bench_input *in, char *err, size_t errlen)
{
    prex_parser *p = malloc(sizeof *p);
    prex_event ev;
    uint64_t samples = 0;
    int rc;

    if (!p) {
        snprintf(err, errlen, "%s: out of memory", in->path);
        return -1;
    }
    prex_parser_init(p, in->data, in->len, in->format, 0);
    prex_finish(p);
    while ((rc = prex_next(p, &ev)) > 0 && rc != PREX_EV_EOF)
        if (rc == PREX_EV_SAMPLE)
            samples++;
    if (rc != PREX_EV_EOF) {
        const prex_error *e = prex_parser_error(p);

        snprintf(err, errlen, "%s:%llu:%llu: not a valid %s exposition: %s (%s)", in->path,
                 (unsigned long long)e->line, (unsigned long long)e->column,
                 in->format == PREX_FORMAT_OPENMETRICS ? "OpenMetrics" : "text",
                 prex_errname(e->code), e->msg);
        prex_parser_free(p);
        free(p);
        return -1;
    }
    prex_parser_free(p);
    free(p);
    in->samples = samples;
    return 0;
}

int prex_bench_input_load(prex_bench_input *in, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    const char *path = eq ? eq + 1 : arg;
    const char *base, *dot;

    memset(in, 0, sizeof *in);
    if (eq) {
        in->name = dup_bytes(arg, (size_t)(eq - arg));
    } else {
        base = strrchr(path, '/');
        base = base ? base + 1 : path;
        dot = strrchr(base, '.');
        in->name = dup_bytes(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
    }
    in->path = dup_bytes(path, strlen(path));
    if (!in->name || !in->path) {
        snprintf(err, errlen, "%s: out of memory", arg);
        prex_bench_input_free(in);
        return -1;
    }
    if (in->name[0] == '\0' || in->path[0] == '\0') {
        snprintf(err, errlen, "'%s': expected NAME=PATH or PATH", arg);
        prex_bench_input_free(in);
        return -1;
    }
    if (read_file(in->path, &in->data, &in->len, err, errlen) != 0) {
        prex_bench_input_free(in);
        return -1;
    }
    in->format = prex_detect_format(in->data, in->len);
    if (count_samples(in, err, errlen) != 0) {
        prex_bench_input_free(in);
        return -1;
    }
    return 0;
}

void prex_bench_input_free(prex_bench_input *in)
{
    free(in->name);
    free(in->path);
    free(in->data);
    memset(in, 0, sizeof *in);
}

uint64_t prex_bench_input_bytes(const void *state)
{
    const prex_bench_input *const *in = state;

    return (*in)->len;
}

uint64_t prex_bench_input_samples(const void *state)
{
    const prex_bench_input *const *in = state;

    return (*in)->samples;
}

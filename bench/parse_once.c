/*
 * parse_once.c - prex-parse-once: runs one benchmark body once on one
 * input, for instruction counting under valgrind --tool=callgrind.
 *
 *     prex-parse-once BODY [NAME=]FILE
 *     valgrind --tool=callgrind --collect-atstart=no \
 *         --toggle-collect=prex_bench_measured prex-parse-once parse_full FILE
 *
 * Loading the file, counting its samples and the body's setup happen
 * outside prex_bench_measured(), so the collected instructions (Ir) are
 * those of exactly one run_once() over the input; Ir divided by the input's
 * bytes is the instructions-per-byte figure of docs/performance.md. The
 * count does not depend on the machine's load, so it is the stable figure
 * where wall-clock throughput is noisy. Prints "BODY INPUT BYTES SAMPLES".
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* The tables whose bodies can be run, as in the shim. */
static const prex_bench *const tables[] = {
    prex_bench_parse_table,
    prex_bench_write_table,
    prex_bench_relabel_table,
    prex_bench_merge_table,
};

/* The one function callgrind collects: one iteration of body b. Kept out
 * of line and external so that --toggle-collect finds it by name. */
int prex_bench_measured(const prex_bench *b, void *state);

__attribute__((noinline)) int prex_bench_measured(const prex_bench *b, void *state)
{
    return b->run_once(state);
}

/* Finds the body named name (a NUL-terminated argument); NULL if none. */
static const prex_bench *find_body(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        const prex_bench *b;

        for (b = tables[i]; b->name; b++)
            if (strcmp(b->name, name) == 0)
                return b;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const prex_bench *b;
    prex_bench_input in;
    void *state = NULL;
    char err[512];
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: prex-parse-once BODY [NAME=]FILE\n");
        return 2;
    }
    b = find_body(argv[1]);
    if (!b) {
        fprintf(stderr, "prex-parse-once: no benchmark body named '%s'\n", argv[1]);
        return 2;
    }
    if (prex_bench_input_load(&in, argv[2], err, sizeof err) != 0) {
        fprintf(stderr, "prex-parse-once: %s\n", err);
        return 2;
    }
    if (b->setup(&in, &state, err, sizeof err) != 0) {
        fprintf(stderr, "prex-parse-once: %s: %s\n", b->name, err);
        prex_bench_input_free(&in);
        return 1;
    }
    rc = prex_bench_measured(b, state);
    if (rc != 0)
        fprintf(stderr, "prex-parse-once: %s/%s: wrong result\n", b->name, in.name);
    else
        printf("%s %s %zu %llu\n", b->name, in.name, in.len, (unsigned long long)in.samples);
    b->teardown(state);
    prex_bench_input_free(&in);
    return rc != 0;
}

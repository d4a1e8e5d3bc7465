/*
 * bench.h - the C side of the benchmark suite: the inputs benchmarks run
 * on, and the table type of benchmark bodies that bench/gbench_shim.cc
 * registers with Google Benchmark.
 *
 * Each bench/bench_<module>.c exports one table (a const array ended by a
 * record whose name is NULL). The shim registers every record once per
 * input it accepts, as "<record name>/<input name>", and reports
 * bytes_per_iter and items_per_iter as bytes/s and items/s. The C code
 * never sees Google Benchmark's types.
 *
 * Definitions shared by every body and by the peer harnesses:
 *   - one iteration processes the whole input once;
 *   - bytes per iteration is the input's size (times the number of
 *     sources, for a body that feeds the input as several sources);
 *   - items per iteration is the input's number of samples (likewise):
 *     the sample lines of the exposition (PREX_EV_SAMPLE events of a full
 *     parse), whatever the body does with them.
 */
#ifndef PREX_BENCH_H
#define PREX_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "prex.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One input: a whole file in memory. data[len] == '\0' always holds, so
 * it can be handed to the parser as it is. */
typedef struct prex_bench_input {
    char *name;           /* short name used in benchmark names */
    char *path;           /* the file it was read from */
    char *data;           /* owned; data[len] == '\0' */
    size_t len;
    prex_format format;   /* from prex_detect_format() */
    uint64_t samples;     /* sample lines, counted by a full parse */
} prex_bench_input;

/* One benchmark body. Every function pointer is set. */
typedef struct prex_bench {
    const char *name;     /* "parse_full"; NULL ends a table */
    /*
     * Prepares a run over in (which outlives the state).
     *   in:     the input.
     *   state:  OUT: the body's state, handed to the other functions.
     *   err:    OUT: a message of at most errlen bytes when it fails.
     * Returns 0, or -1 when the body cannot run on this input (the shim
     * then reports the benchmark as skipped with err).
     */
    int (*setup)(const prex_bench_input *in, void **state, char *err, size_t errlen);
    /* Processes the whole input once. Returns 0, or -1 when the result
     * differs from what setup() established (a broken run, not a slow one). */
    int (*run_once)(void *state);
    /* Releases the state. */
    void (*teardown)(void *state);
    /* Bytes and items (samples) one run_once() processes. */
    uint64_t (*bytes_per_iter)(const void *state);
    uint64_t (*items_per_iter)(const void *state);
} prex_bench;

/* The tables, one per bench/bench_<module>.c. */
extern const prex_bench prex_bench_parse_table[];
extern const prex_bench prex_bench_write_table[];
extern const prex_bench prex_bench_relabel_table[];
extern const prex_bench prex_bench_merge_table[];

/* MARK: inputs (bench_input.c) */

/*
 * Loads an input from a command-line argument, "NAME=PATH" or "PATH" (the
 * name is then the file name without its directory and extension), reads
 * the whole file, detects its format and counts its samples with a full
 * parse. An input that does not parse cleanly is refused: every benchmark
 * assumes a valid exposition.
 *   in:     OUT: the input; free it with prex_bench_input_free().
 *   arg:    the argument (a NUL-terminated command-line string).
 *   err:    OUT: a message of at most errlen bytes on failure.
 * Returns 0 or -1.
 */
int prex_bench_input_load(prex_bench_input *in, const char *arg, char *err, size_t errlen);

/* Releases what prex_bench_input_load() allocated. */
void prex_bench_input_free(prex_bench_input *in);

/* The bytes_per_iter and items_per_iter functions of a body whose state
 * begins with a pointer to its input (every body in this directory). */
uint64_t prex_bench_input_bytes(const void *state);
uint64_t prex_bench_input_samples(const void *state);

#ifdef __cplusplus
}
#endif

#endif /* PREX_BENCH_H */

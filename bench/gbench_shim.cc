// gbench_shim.cc - prex-bench's main and its only C++: registers every
// record of the C benchmark tables (bench.h) once per input with Google
// Benchmark, and reports each record's bytes and samples per iteration as
// bytes/s and items/s.
//
//     prex-bench [--benchmark_* options] [NAME=]FILE...
//
// Every FILE is loaded whole (bench_input.c) and must be a valid
// exposition; a benchmark is named "<record>/<input name>". Times are wall
// clock (UseRealTime), so they compare with the peer harnesses, which time
// wall clock too.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench.h"

namespace {

// Set when a benchmark failed (setup refused its input, or a wrong result).
bool any_failed = false;

// The tables of the C bodies, one per bench/bench_<module>.c.
const prex_bench *const tables[] = {
    prex_bench_parse_table,
    prex_bench_write_table,
    prex_bench_relabel_table,
    prex_bench_merge_table,
};

// Runs body b on input in: setup, the timed loop of run_once() calls,
// teardown. A setup that refuses the input, or an iteration whose result
// is wrong, reports the benchmark as failed with a message instead of a
// time.
void run_body(benchmark::State &state, const prex_bench *b, const prex_bench_input *in)
{
    char err[256] = "";
    void *st = nullptr;

    if (b->setup(in, &st, err, sizeof err) != 0) {
        any_failed = true;
        state.SkipWithError(err);
        return;
    }
    for (auto _ : state) {
        if (b->run_once(st) != 0) {
            std::snprintf(err, sizeof err, "%s/%s: an iteration gave a wrong result", b->name,
                          in->name);
            any_failed = true;
            state.SkipWithError(err);
            break;
        }
    }
    const uint64_t bytes = b->bytes_per_iter(st);
    const uint64_t items = b->items_per_iter(st);
    state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
    state.SetItemsProcessed(static_cast<int64_t>(items) * state.iterations());
    state.counters["bytes_per_iter"] = static_cast<double>(bytes);
    state.counters["samples_per_iter"] = static_cast<double>(items);
    b->teardown(st);
}

}  // namespace

// Parses Google Benchmark's options, loads the inputs named by the other
// arguments and runs every benchmark. Exits 2 on a usage error or an input
// that cannot be loaded, 1 when a benchmark failed, else 0.
int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);

    std::vector<char *> unknown{argv[0]};
    std::vector<prex_bench_input> inputs;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            unknown.push_back(argv[i]);
            continue;
        }
        char err[512];
        prex_bench_input in;
        if (prex_bench_input_load(&in, argv[i], err, sizeof err) != 0) {
            std::fprintf(stderr, "prex-bench: %s\n", err);
            return 2;
        }
        inputs.push_back(in);
    }
    if (benchmark::ReportUnrecognizedArguments(static_cast<int>(unknown.size()),
                                               unknown.data()))
        return 2;
    if (inputs.empty()) {
        std::fprintf(stderr, "usage: prex-bench [--benchmark_* options] [NAME=]FILE...\n");
        return 2;
    }

    for (const prex_bench *table : tables) {
        for (const prex_bench *b = table; b->name; b++) {
            for (const prex_bench_input &in : inputs) {
                const std::string name = std::string(b->name) + "/" + in.name;
                benchmark::RegisterBenchmark(name.c_str(), run_body, b, &in)
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
            }
        }
    }

    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();

    for (prex_bench_input &in : inputs)
        prex_bench_input_free(&in);
    return any_failed ? 1 : 0;
}

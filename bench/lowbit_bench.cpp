// The kernel micro-benchmarks as a Google Benchmark binary: all its flags work
// (--benchmark_filter, --benchmark_repetitions, --benchmark_out=FILE --benchmark_out_format=json).
#include <benchmark/benchmark.h>

#include "kernel_benchmarks.hpp"

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    lowbit::bench::register_kernel_benchmarks({});
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

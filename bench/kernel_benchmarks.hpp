// The kernel micro-benchmarks of ../shared/spec/benchmarks.md, registered with Google
// Benchmark under names op/type/isa/size. Shared by bench/lowbit_bench (the Google Benchmark
// binary) and `lowbit bench kernels`.
#pragma once

namespace lowbit::bench {

struct KernelBenchOptions {
    bool large_gemv = true;  // the GEMV over weights larger than the L3 cache (2 threads)
};

void register_kernel_benchmarks(const KernelBenchOptions& options);

}  // namespace lowbit::bench

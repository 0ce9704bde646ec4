#include "memory_bandwidth.hpp"

#include <benchmark/benchmark.h>
#if defined(__x86_64__)
#include "../src/kernels/x86_intrinsics.hpp"  // <immintrin.h> with the GCC 12 warning workaround
#endif

#include <cstdlib>
#include <cstring>
#include <string>

#include "lowbit/isa.hpp"
#include "lowbit/thread_pool.hpp"

namespace lowbit::bench {
namespace {

#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t read_avx512(const uint8_t* p, std::size_t n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    std::size_t i = 0;
    for (; i + 256 <= n; i += 256) {
        a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i));
        a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + i + 64));
        a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + i + 128));
        a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + i + 192));
    }
    const __m512i x = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
    return static_cast<uint64_t>(_mm512_reduce_add_epi64(x));
}
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, std::size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    std::size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        a0 = _mm256_xor_si256(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
        a1 = _mm256_xor_si256(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
        a2 = _mm256_xor_si256(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
        a3 = _mm256_xor_si256(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
    }
    const __m256i x = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    uint64_t lanes[4];
    std::memcpy(lanes, &x, sizeof lanes);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

uint64_t read_portable(const uint8_t* p, std::size_t n) {
    uint64_t acc = 0;
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v;
        std::memcpy(&v, p + i, 8);
        acc ^= v;
    }
    return acc;
}

}  // namespace

uint64_t read_memory(const uint8_t* data, std::size_t bytes) {
#if defined(__x86_64__)
    if (isa_supported_by_cpu(Isa::avx512)) return read_avx512(data, bytes);
    if (isa_supported_by_cpu(Isa::avx2)) return read_avx2(data, bytes);
#endif
    return read_portable(data, bytes);
}

void register_memory_bandwidth_benchmarks() {
    constexpr std::size_t kBytes = std::size_t{1} << 30;  // 1 GiB: ten times the largest L3 here
    for (int threads : {1, 2}) {
        const std::string name = "membw/read/1GiB/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), [threads](benchmark::State& state) {
            static uint8_t* buffer = nullptr;
            if (buffer == nullptr) {
                buffer = static_cast<uint8_t*>(std::aligned_alloc(4096, kBytes));
                std::memset(buffer, 1, kBytes);  // touch every page
            }
            ThreadPool pool(threads);
            for (auto _ : state) {
                pool.parallel_for(static_cast<int64_t>(kBytes), 4096, [](int64_t begin, int64_t end) {
                    benchmark::DoNotOptimize(read_memory(buffer + begin, static_cast<std::size_t>(end - begin)));
                });
            }
            state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kBytes));
        })->UseRealTime()->Unit(benchmark::kMillisecond);
    }
}

}  // namespace lowbit::bench

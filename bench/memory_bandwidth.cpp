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

// Each reader takes its range as four quarters read in step: four streams keep more cache-line
// fills in flight than one (on this kind of machine one stream per thread read about 20% less,
// and the GEMVs, which read four rows at a time, beat it). A tail shorter than four lines per
// quarter is read by the plain loop.
constexpr std::size_t kStreams = 4;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t read_avx512(const uint8_t* p, std::size_t n) {
    const std::size_t quarter = n / kStreams / 256 * 256;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t i = 0; i < quarter; i += 64) {
        a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i));
        a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + quarter + i));
        a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + 2 * quarter + i));
        a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + 3 * quarter + i));
    }
    for (std::size_t i = kStreams * quarter; i + 64 <= n; i += 64) a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i));
    const __m512i x = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
    return static_cast<uint64_t>(_mm512_reduce_add_epi64(x));
}
__attribute__((target("avx2"))) inline __m256i load_avx2(const uint8_t* p) {
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
}
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, std::size_t n) {
    const std::size_t quarter = n / kStreams / 256 * 256;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t i = 0; i < quarter; i += 32) {
        a0 = _mm256_xor_si256(a0, load_avx2(p + i));
        a1 = _mm256_xor_si256(a1, load_avx2(p + quarter + i));
        a2 = _mm256_xor_si256(a2, load_avx2(p + 2 * quarter + i));
        a3 = _mm256_xor_si256(a3, load_avx2(p + 3 * quarter + i));
    }
    for (std::size_t i = kStreams * quarter; i + 32 <= n; i += 32) a0 = _mm256_xor_si256(a0, load_avx2(p + i));
    const __m256i x = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    uint64_t lanes[4];
    std::memcpy(lanes, &x, sizeof lanes);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

uint64_t read_portable(const uint8_t* p, std::size_t n) {
    const std::size_t quarter = n / kStreams / 8 * 8;
    uint64_t acc[kStreams] = {};
    for (std::size_t i = 0; i < quarter; i += 8) {
        for (std::size_t s = 0; s < kStreams; ++s) {
            uint64_t v;
            std::memcpy(&v, p + s * quarter + i, 8);
            acc[s] ^= v;
        }
    }
    for (std::size_t i = kStreams * quarter; i + 8 <= n; i += 8) {
        uint64_t v;
        std::memcpy(&v, p + i, 8);
        acc[0] ^= v;
    }
    return acc[0] ^ acc[1] ^ acc[2] ^ acc[3];
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

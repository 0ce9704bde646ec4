// The machine's read bandwidth, measured in the same sitting as what it is compared with.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "lowbit/error.hpp"
#include "lowbit/thread_pool.hpp"
#include "memory_bandwidth.hpp"

namespace lowbit::cli {

// The machine's read bandwidth with the pool's threads over a 1 GiB buffer (best of 3 passes).
// Measured right after each tg repetition, so that each run is compared with the bandwidth of
// its own moment: on a shared machine the bandwidth drifts by tens of percent within a minute.
class ReadBandwidth {
public:
    static constexpr std::size_t kBytes = std::size_t{1} << 30;
    explicit ReadBandwidth(ThreadPool& pool) : pool_(pool) {
        buffer_ = static_cast<uint8_t*>(std::aligned_alloc(4096, kBytes));
        if (buffer_ == nullptr) fail("bench: cannot allocate 1 GiB to measure the read bandwidth");
        pool_.parallel_for(static_cast<int64_t>(kBytes), 1 << 20, [&](int64_t b, int64_t e) {
            std::memset(buffer_ + b, 1, static_cast<std::size_t>(e - b));
        });
    }
    ~ReadBandwidth() { std::free(buffer_); }
    ReadBandwidth(const ReadBandwidth&) = delete;
    ReadBandwidth& operator=(const ReadBandwidth&) = delete;

    double measure() {
        double best = 0;
        for (int pass = 0; pass < 3; ++pass) {
            const auto start = std::chrono::steady_clock::now();
            pool_.parallel_for(static_cast<int64_t>(kBytes), 4096, [&](int64_t b, int64_t e) {
                benchmark::DoNotOptimize(bench::read_memory(buffer_ + b, static_cast<std::size_t>(e - b)));
            });
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            best = std::max(best, static_cast<double>(kBytes) / s);
        }
        return best;
    }

private:
    ThreadPool& pool_;
    uint8_t* buffer_ = nullptr;
};

}  // namespace lowbit::cli

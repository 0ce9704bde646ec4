// membw/read: the machine's sustained read bandwidth, measured in the same binary as the
// kernels so that a GEMV over large weights can be reported as a fraction of it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lowbit::bench {

// Sums `bytes` of memory with the widest loads this CPU has (the work of reading it).
uint64_t read_memory(const uint8_t* data, std::size_t bytes);

void register_memory_bandwidth_benchmarks();

}  // namespace lowbit::bench

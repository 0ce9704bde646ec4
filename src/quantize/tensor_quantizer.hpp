// One tensor of a model: decoded chunk by chunk, checked for NaN/infinity, encoded as the first
// type of its chain that can hold its shape and (with a threshold) keeps its cosine
// similarity, and measured against the original. Rows go out in fixed chunks over the pool,
// so the bytes and the figures do not depend on the thread count.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "lowbit/quantize.hpp"
#include "lowbit/thread_pool.hpp"
#include "tensor_source.hpp"

namespace lowbit::quantize {

struct EncodedTensor {
    const WeightType* type = nullptr;
    std::vector<uint8_t> bytes;  // empty when they went to a sink
    uint64_t size = 0;           // the encoding's bytes
    double cosine = 1;
    double relative_mse = 0;
    double max_abs_error = 0;
    std::string fallback;  // why a type of the chain was passed over ("" when the first fit)
    int64_t zeroed = 0;
    bool ternarized = false;
};

// Whether `type` can hold a rows x cols tensor; if not, `why` says why.
bool can_store(const WeightType& type, int64_t rows, int64_t cols, std::string& why);

// Where an encoding goes as it is made: write(offset in the tensor, bytes), from any thread. Only
// for a first candidate that is final (no quality threshold): then no tensor-sized buffer is
// held for the block and INTn types, whose row chunks go out as they are encoded.
using ChunkSink = std::function<void(uint64_t, std::span<const uint8_t>)>;

EncodedTensor encode_tensor(const SourceTensor& source, const std::vector<const WeightType*>& candidates,
                            const Options& options, ThreadPool& pool, const ChunkSink* sink = nullptr);

// The spec's entropy hint: the Shannon entropy of a 256-bin histogram of the tensor's values
// over [min, max], over 8 bits (0..1); and the INTn bits it suggests (< 0.5: 8, < 0.7: 4, else 2).
// Non-finite values are left out of it.
double entropy_hint(const SourceTensor& source, const Options& options, ThreadPool& pool);
int bits_for_entropy(double entropy);

// What encoding `source` with these candidates holds in memory at most, with `threads` threads:
// a chunk of rows per thread, the encoding of the widest candidate unless it goes `direct` to its
// place in the output (chunk by chunk), the whole tensor as floats for the types that reduce over
// it, and the source's mapped pages while they are read.
uint64_t work_item_bytes(const SourceTensor& source, const std::vector<const WeightType*>& candidates, int threads,
                         const Options& options, bool direct);

}  // namespace lowbit::quantize

// One tensor of a model: decoded chunk by chunk, checked for NaN/infinity, encoded as the first
// type of its chain that can hold its shape and (with a threshold) keeps its cosine
// similarity, and measured against the original. Rows go out in fixed chunks over the pool,
// so the bytes and the figures do not depend on the thread count.
#pragma once

#include <string>
#include <vector>

#include "lowbit/quantize.hpp"
#include "lowbit/tensor_weight.hpp"
#include "lowbit/thread_pool.hpp"

namespace lowbit::quantize {

struct EncodedTensor {
    const WeightType* type = nullptr;
    std::vector<uint8_t> bytes;
    double cosine = 1;
    double relative_mse = 0;
    double max_abs_error = 0;
    std::string fallback;  // why a type of the chain was passed over ("" when the first fit)
    int64_t zeroed = 0;
};

// Whether `type` can hold a rows x cols tensor; if not, `why` says why.
bool can_store(const WeightType& type, int64_t rows, int64_t cols, std::string& why);

// `where` names the tensor in messages ("FILE: tensor 'NAME'").
EncodedTensor encode_tensor(const std::string& where, const TensorWeight& source,
                            const std::vector<const WeightType*>& candidates, const Options& options, ThreadPool& pool);

}  // namespace lowbit::quantize

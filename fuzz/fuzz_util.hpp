// What every fuzz target does with a parsed model: touch every value and tensor the way a
// caller would, so views and getters are exercised too. Only lowbit::Error may escape the
// library; anything else (another exception, a crash, UB, a leak) is a finding.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/error.hpp"
#include "lowbit/gemv.hpp"
#include "lowbit/tensor_weight.hpp"

namespace lowbit::fuzz {

// Sums the bytes (reads every byte of the view) and dequantizes small tensors (bounded in
// rows and cols, so a 0 x 2^50 tensor does not spin through empty rows).
inline void touch(std::span<const uint8_t> bytes, const TensorWeight* weight) {
    volatile uint32_t sum = 0;
    for (uint8_t b : bytes) sum = sum + b;
    const WeightView* v = weight != nullptr ? &weight->view : nullptr;
    if (v != nullptr && v->rows <= (1 << 16) && v->cols <= (1 << 16) && v->rows * v->cols <= (1 << 16)) {
        std::vector<float> out(static_cast<std::size_t>(weight->view.rows * weight->view.cols));
        dequantize_reference(*weight->type, weight->view, out);
    }
}

}  // namespace lowbit::fuzz

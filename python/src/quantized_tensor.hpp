// A weight matrix in one of lowbit's types, in memory that C++ owns: what lowbit.quantize()
// returns. Its NumPy views (.data, .codes, .scales, ...) point into `bytes` and keep the
// Python object, and so the memory, alive.
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/weight_type.hpp"

namespace lowbit::python {

struct QuantizedTensor {
    const WeightType* type = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;
    bool vector = false;  // quantized from a 1-D array: dequantizes to one
    std::vector<uint8_t> bytes;
    double cosine = 1;  // against the values it was quantized from
    double relative_mse = 0;
    double max_abs_error = 0;

    WeightView view() const { return {bytes.data(), rows, cols}; }
};

}  // namespace lowbit::python

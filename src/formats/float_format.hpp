// The generic half of a plain floating-point array type (F32, F16, BF16). A policy supplies
// kName, kId, kBytes (per element), kLayout, encode(float) -> bits, decode(const uint8_t*).
// Storing refuses NaN and infinity (like every quantizer) and values that overflow the type.
#pragma once

#include "common.hpp"

namespace lowbit::formats {

template <class F>
std::size_t float_row_bytes(int64_t cols) {
    return static_cast<std::size_t>(cols) * F::kBytes;
}

template <class F>
std::size_t float_row_sections(int64_t cols, std::size_t* per_row) {
    per_row[0] = float_row_bytes<F>(cols);
    return 1;
}

template <class F>
std::size_t float_tensor_bytes(int64_t rows, int64_t cols) {
    check_shape(F::kName, rows, cols, 1);
    return checked_mul(static_cast<std::size_t>(rows), float_row_bytes<F>(cols), F::kName);
}

template <class F>
void float_quantize(const float* src, int64_t rows, int64_t cols, uint8_t* dst) {
    check_shape(F::kName, rows, cols, 1);
    check_finite(F::kName, src, rows, cols);
    for (int64_t i = 0; i < rows * cols; ++i) {
        F::encode(src[i], dst + i * F::kBytes);
        if (!std::isfinite(F::decode(dst + i * F::kBytes))) {
            fail(F::kName, ": value ", src[i], " at element ", i, " (row ", i / cols, ", column ", i % cols,
                 ") overflows the type");
        }
    }
}

template <class F>
void float_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const uint8_t* src = w.data + row_begin * w.cols * F::kBytes;
    for (int64_t i = 0; i < (row_end - row_begin) * w.cols; ++i) {
        dst[i] = F::decode(src + i * F::kBytes);
    }
}

// Float weights against int8 activations: accumulated in double, then divided by the scale.
template <class F>
void float_gemv_i8(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationRowI8& x,
                   float* y) {
    for (int64_t r = row_begin; r < row_end; ++r) {
        const uint8_t* row = w.data + r * w.cols * F::kBytes;
        double acc = 0.0;
        for (int64_t c = 0; c < w.cols; ++c) {
            acc += static_cast<double>(F::decode(row + c * F::kBytes)) * x.q[c];
        }
        y[r - row_begin] = static_cast<float>(acc) / x.scale;
    }
}

template <class F>
WeightType make_float_type() {
    WeightType t = plain_row(F::kId, F::kName, 1, F::kBytes, 8.0 * F::kBytes, F::kLayout);
    t.tensor_bytes = &float_tensor_bytes<F>;
    t.row_bytes = &float_row_bytes<F>;
    t.row_sections = &float_row_sections<F>;
    t.reference = reference_kernels<&float_quantize<F>, &float_dequantize<F>, &float_gemv_i8<F>>();
    return t;
}

}  // namespace lowbit::formats

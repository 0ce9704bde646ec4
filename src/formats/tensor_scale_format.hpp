// The generic half of a ternary format with one f32 scale per tensor (I2_S, TL1, TL2): rows of
// packed codes (row_bytes(cols) each), then a 32-byte tail holding the f32 scale and 28 zero
// bytes. Quantization follows bitnet.cpp's quantize_i2_s for all three: scale = max|w| (in
// double), and each weight becomes its sign, or 0 where |w| < 1e-6. It expects weights that
// are already ternary times one scale (absmean_ternarize_inplace gives that).
//
// A format supplies a policy with kName, kId, kBits, kElems/kBytes (a nominal block),
// kColMultiple, kLayout, row_bytes(cols), encode_row(const int8_t* t, cols, uint8_t* row) and
// decode_row(const uint8_t* row, cols, int8_t* t) (t: integer weights, one per column).
#pragma once

#include <vector>

#include "common.hpp"

namespace lowbit::formats {

template <class F>
std::size_t tensor_scale_bytes(int64_t rows, int64_t cols) {
    check_shape(F::kName, rows, cols, F::kColMultiple);
    const std::size_t codes = checked_mul(static_cast<std::size_t>(rows), F::row_bytes(cols), F::kName);
    return checked_add(codes, kTensorTailBytes, F::kName);
}

template <class F>
float tensor_scale_of(const WeightView& w) {
    return load_f32(w.data + static_cast<std::size_t>(w.rows) * F::row_bytes(w.cols));
}

template <class F>
void tensor_scale_quantize(const float* src, int64_t rows, int64_t cols, uint8_t* dst) {
    check_shape(F::kName, rows, cols, F::kColMultiple);
    check_finite(F::kName, src, rows, cols);
    const double scale = abs_max_double(src, rows * cols);
    const std::size_t stride = F::row_bytes(cols);
    std::vector<int8_t> t(static_cast<std::size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            t[c] = static_cast<int8_t>(ternary_sign(src[r * cols + c]));
        }
        F::encode_row(t.data(), cols, dst + r * stride);
    }
    uint8_t* tail = dst + rows * stride;
    std::memset(tail, 0, kTensorTailBytes);
    store_f32(tail, static_cast<float>(scale));
}

template <class F>
void tensor_scale_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const float scale = tensor_scale_of<F>(w);
    const std::size_t stride = F::row_bytes(w.cols);
    std::vector<int8_t> t(static_cast<std::size_t>(w.cols));
    for (int64_t r = row_begin; r < row_end; ++r) {
        F::decode_row(w.data + r * stride, w.cols, t.data());
        for (int64_t c = 0; c < w.cols; ++c) {
            *dst++ = static_cast<float>(t[c]) * scale;
        }
    }
}

// y = (float)(sum_k t_k q_k) / activation scale * weight scale, as bitnet.cpp.
template <class F>
void tensor_scale_gemv_i8(const WeightView& w, int64_t row_begin, int64_t row_end,
                          const ActivationRowI8& x, float* y) {
    const float scale = tensor_scale_of<F>(w);
    const std::size_t stride = F::row_bytes(w.cols);
    std::vector<int8_t> t(static_cast<std::size_t>(w.cols));
    for (int64_t r = row_begin; r < row_end; ++r) {
        F::decode_row(w.data + r * stride, w.cols, t.data());
        int64_t sum = 0;
        for (int64_t c = 0; c < w.cols; ++c) {
            sum += t[c] * x.q[c];
        }
        y[r - row_begin] = static_cast<float>(sum) / x.scale * scale;
    }
}

template <class F>
WeightType make_tensor_scale_type() {
    WeightType t = plain_row(F::kId, F::kName, F::kElems, F::kBytes, F::kBits, F::kLayout);
    t.ternary = true;
    t.col_multiple = F::kColMultiple;
    t.tensor_bytes = &tensor_scale_bytes<F>;
    t.row_bytes = &F::row_bytes;
    t.reference =
        reference_kernels<&tensor_scale_quantize<F>, &tensor_scale_dequantize<F>, &tensor_scale_gemv_i8<F>>();
    return t;
}

}  // namespace lowbit::formats

// The generic half of a self-contained block format (ggml style: each block carries its own
// scale, a row is a whole number of blocks). A format supplies a policy with
//   kName, kId, kElems, kBytes, kBits, kLayout, kTernary
//   quantize_block(const float* x, uint8_t* block)
//   dequantize_block(const uint8_t* block, float* y)
//   dot_block_i8(const uint8_t* block, const int8_t* q) -> float   (this block's share of
//       sum_k w_k q_k: an exact integer sum times the block's scales)
// and gets the registry row from make_block_type<Policy>().
#pragma once

#include "common.hpp"

namespace lowbit::formats {

template <class F>
std::size_t block_row_bytes(int64_t cols) {
    return static_cast<std::size_t>(cols / F::kElems) * F::kBytes;
}

template <class F>
std::size_t block_row_sections(int64_t cols, std::size_t* per_row) {
    per_row[0] = block_row_bytes<F>(cols);
    return 1;
}

template <class F>
std::size_t block_tensor_bytes(int64_t rows, int64_t cols) {
    check_shape(F::kName, rows, cols, F::kElems);
    return checked_mul(static_cast<std::size_t>(rows), block_row_bytes<F>(cols), F::kName);
}

template <class F>
void block_quantize(const float* src, int64_t rows, int64_t cols, uint8_t* dst) {
    check_shape(F::kName, rows, cols, F::kElems);
    check_finite(F::kName, src, rows, cols);
    const int64_t blocks_per_row = cols / F::kElems;
    const int64_t blocks = rows * blocks_per_row;
    int64_t b = 0;
    try {
        for (; b < blocks; ++b) {
            F::quantize_block(src + b * F::kElems, dst + b * F::kBytes);
        }
    } catch (const Error& e) {
        fail(F::kName, ": row ", b / blocks_per_row, ", block ", b % blocks_per_row, ": ", e.what());
    }
}

template <class F>
void block_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t blocks_per_row = w.cols / F::kElems;
    const uint8_t* src = w.data + row_begin * blocks_per_row * F::kBytes;
    const int64_t blocks = (row_end - row_begin) * blocks_per_row;
    for (int64_t b = 0; b < blocks; ++b) {
        F::dequantize_block(src + b * F::kBytes, dst + b * F::kElems);
    }
}

template <class F>
void block_gemv_i8(const WeightView& w, int64_t row_begin, int64_t row_end,
                   const ActivationRowI8& x, float* y) {
    const int64_t blocks_per_row = w.cols / F::kElems;
    for (int64_t r = row_begin; r < row_end; ++r) {
        const uint8_t* row = w.data + r * blocks_per_row * F::kBytes;
        float acc = 0.0f;
        for (int64_t b = 0; b < blocks_per_row; ++b) {
            acc += F::dot_block_i8(row + b * F::kBytes, x.q + b * F::kElems);
        }
        y[r - row_begin] = acc / x.scale;
    }
}

template <class F>
WeightType make_block_type() {
    WeightType t = plain_row(F::kId, F::kName, F::kElems, F::kBytes, F::kBits, F::kLayout);
    t.ternary = F::kTernary;
    t.col_multiple = F::kElems;
    t.tensor_bytes = &block_tensor_bytes<F>;
    t.row_bytes = &block_row_bytes<F>;
    t.row_sections = &block_row_sections<F>;
    t.reference = reference_kernels<&block_quantize<F>, &block_dequantize<F>, &block_gemv_i8<F>>();
    return t;
}

}  // namespace lowbit::formats

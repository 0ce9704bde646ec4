// An independent decoder for every lowbit weight type, written from the documents only
// (../shared/spec/formats.md and docs/FORMATS.md), not from src/. Tests use it as an oracle:
// the library's reference dequantize and int8 GEMV must agree with it bit for bit.
//
// The code is deliberately plain: one element at a time, every byte offset and bit shift
// computed from the layout text, no tables shared with the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "lowbit/weight_type.hpp"

namespace lowbit::test {

struct DecodedBlock {
    int64_t first = 0;            // first column of the block within the row
    std::vector<int32_t> w;       // integer weight of each column of the block
    float d = 0;                  // multiplies the block's integer sum  sum_k w_k * a_k
    float m = 0;                  // Q4_1 only: multiplies the block's activation sum sum_k a_k
};

enum class Combine { blocks, tensor_scale, float_weights };

struct DecodedRow {
    Combine combine{};
    // For blocks and tensor_scale (tensor_scale: one block covering the row, d = tensor scale).
    std::vector<DecodedBlock> blocks;
    // Every type: the dequantized value of each column, computed with the spec's float
    // formula and evaluation order.
    std::vector<float> values;
};

// Decodes row `row` of a rows x cols tensor of type `id` from its bytes (the whole tensor).
// Throws std::invalid_argument for a shape the type cannot store or an unknown id, and
// std::out_of_range when `tensor` is too short for the layout.
DecodedRow decode_row(TypeId id, std::span<const uint8_t> tensor, int64_t rows, int64_t cols,
                      int64_t row);

// The expected int8 GEMV output for that row, computed from the decoded integers with int64
// sums:
//   blocks:        acc (float) starts at 0; per block in order: acc += d * (float)isum
//                  (Q4_1: acc += d*(float)isum + m*(float)asum, evaluated as written, no FMA);
//                  y = acc / scale
//   tensor_scale:  y = (float)isum / scale * d
//   float_weights: acc (double) += (double)value_k * q_k; y = (float)acc / scale
// q must hold row.values.size() activations.
float expected_gemv_i8(const DecodedRow& row, const int8_t* q, float scale);

// Extras for tests (also written from the documents):

// Total bytes of a rows x cols tensor, from the documented layout.
std::size_t spec_tensor_bytes(TypeId id, int64_t rows, int64_t cols);

// The byte ranges [begin, end) of the tensor that hold integer codes (packed weights, Q6_K's
// int8 sub-block scales), i.e. everything except float scales, zero points and tails.
// Overwriting them with arbitrary bytes leaves a tensor every decoder must still read.
// Empty for F32/F16/BF16 (they have no integer codes).
std::vector<std::pair<std::size_t, std::size_t>> spec_code_byte_ranges(TypeId id, int64_t rows,
                                                                       int64_t cols);

}  // namespace lowbit::test

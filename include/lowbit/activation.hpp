// int8 activation quantization: the input side of every integer GEMV/GEMM.
#pragma once

#include <cstdint>
#include <span>

#include "lowbit/weight_type.hpp"

namespace lowbit {

// Per row (token), bitnet.cpp's quantize_row_i8_s: amax = max(1e-5, max|x|) in double,
// scale = (float)(127 / amax), q = clamp(round_half_even(x * scale), -128, 127).
// Returns a view of q with the scale and sum(q). q.size() must equal x.size().
ActivationRowI8 quantize_activation_row(std::span<const float> x, std::span<int8_t> q);

// llama.cpp's quantize_row_q8_K: per 256 elements, max = the x with the largest |x| (sign
// kept), iscale = -127 / max, q = min(127, round_half_even(iscale * x)), d = 1 / iscale, and
// the sums of each 16 codes. An all-zero block gives d = 0 and zero codes.
inline constexpr int64_t kQ8KBlock = 256;
struct BlockQ8K {
    float d;
    int8_t qs[kQ8KBlock];
    int16_t bsums[kQ8KBlock / 16];
};
static_assert(sizeof(BlockQ8K) == 292, "llama.cpp's block_q8_K is 292 bytes");

// x.size() must be a multiple of 256 and out.size() == x.size() / 256.
void quantize_activation_q8k(std::span<const float> x, std::span<BlockQ8K> out);

}  // namespace lowbit

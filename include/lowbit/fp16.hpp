// IEEE half (f16) and bfloat16 conversions, bit-exact with ggml's reference conversions:
// f32 -> f16 and f32 -> bf16 round to nearest, ties to even; NaN stays NaN (quiet).
#pragma once

#include <cstdint>
#include <cstring>

namespace lowbit {

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

inline uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

inline float f32_from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

}  // namespace lowbit

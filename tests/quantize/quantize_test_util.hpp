// What the quantizer tests share: sample weights, and ggml's reference Q8_0/Q4_0 encoders written
// from their published rules (quantize_row_q8_0_ref, quantize_row_q4_0_ref), the oracle for the
// bytes lowbit writes in llama.cpp's types.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "lowbit/fp16.hpp"

namespace lowbit::test {

inline std::vector<float> normal(std::size_t n, uint32_t seed, bool heavy_tails = false) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::student_t_distribution<float> t(1.5f);
    std::vector<float> v(n);
    for (float& x : v) x = heavy_tails ? t(rng) : d(rng);
    return v;
}

// ggml's quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d).
inline std::vector<uint8_t> ggml_q8_0(const std::vector<float>& x) {
    std::vector<uint8_t> out;
    for (std::size_t b = 0; b < x.size(); b += 32) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b + j]));
        const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        const uint16_t h = f32_to_f16(d);
        out.push_back(static_cast<uint8_t>(h & 0xff));
        out.push_back(static_cast<uint8_t>(h >> 8));
        for (int j = 0; j < 32; ++j)
            out.push_back(static_cast<uint8_t>(static_cast<int8_t>(std::roundf(x[b + j] * id))));
    }
    return out;
}

// ggml's quantize_row_q4_0_ref: d = (the value of largest magnitude) / -8, codes
// min(15, (int8)(x / d + 8.5)), element j in the low nibble of byte j and j + 16 in its high one.
inline std::vector<uint8_t> ggml_q4_0(const std::vector<float>& x) {
    std::vector<uint8_t> out;
    for (std::size_t b = 0; b < x.size(); b += 32) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; ++j) {
            if (amax < std::fabs(x[b + j])) {
                amax = std::fabs(x[b + j]);
                max = x[b + j];
            }
        }
        const float d = max / -8.0f, id = d != 0 ? 1.0f / d : 0.0f;
        const uint16_t h = f32_to_f16(d);
        out.push_back(static_cast<uint8_t>(h & 0xff));
        out.push_back(static_cast<uint8_t>(h >> 8));
        for (int j = 0; j < 16; ++j) {
            const int lo = std::min(15, static_cast<int>(static_cast<int8_t>(x[b + j] * id + 8.5f)));
            const int hi = std::min(15, static_cast<int>(static_cast<int8_t>(x[b + 16 + j] * id + 8.5f)));
            out.push_back(static_cast<uint8_t>(lo | (hi << 4)));
        }
    }
    return out;
}

}  // namespace lowbit::test

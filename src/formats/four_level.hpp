// The two-bit four-level code shared by QK256 and I2S32: codes 0, 1, 2, 3 mean -2, -1, +1, +2
// (times the block scale d = max|x| / 2), packed LSB-first and sequentially (element k of a
// block in byte k/4 at shift 2*(k%4)).
#pragma once

#include <cstdint>

namespace lowbit::formats {

inline constexpr int kFourLevelValue[4] = {-2, -1, 1, 2};

// Sign decides the half (x < 0 negative, else positive); |x| >= 1.5 d (compared exactly, in
// double) takes magnitude 2.
inline int four_level_code(float x, float d) {
    const bool big = static_cast<double>(x < 0 ? -x : x) >= 1.5 * static_cast<double>(d);
    if (x < 0) {
        return big ? 0 : 1;
    }
    return big ? 3 : 2;
}

inline int four_level_code_at(const uint8_t* codes, int64_t k) {
    return (codes[k / 4] >> (2 * (k % 4))) & 3;
}

}  // namespace lowbit::formats

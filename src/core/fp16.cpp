#include "lowbit/fp16.hpp"

namespace lowbit {

float f16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) {  // inf / NaN
        return f32_from_bits(sign | 0x7f800000u | (mantissa << 13));
    }
    if (exponent != 0) {
        return f32_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    }
    if (mantissa == 0) {
        return f32_from_bits(sign);
    }
    // Subnormal half: mantissa * 2^-24, exact in f32.
    uint32_t e = 113;
    while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --e;
    }
    return f32_from_bits(sign | (e << 23) | ((mantissa & 0x3ffu) << 13));
}

uint16_t f32_to_f16(float f) {
    const uint32_t x = f32_bits(f);
    const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) {
        return sign | 0x7e00u;  // NaN -> quiet NaN, as ggml's software path
    }
    if (ax >= 0x477ff000u) {
        return sign | 0x7c00u;  // >= 65520 rounds to infinity (65504 + half an ulp ties to even)
    }
    const uint32_t exponent = ax >> 23;
    if (exponent < 113) {  // below 2^-14: a subnormal half (or zero)
        if (exponent < 102) {
            return sign;  // below 2^-25: rounds to zero
        }
        const uint32_t mantissa = (ax & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126 - exponent;  // value = mantissa * 2^-shift in units of 2^-24
        uint32_t q = mantissa >> shift;
        const uint32_t rest = mantissa & ((1u << shift) - 1);
        const uint32_t half = 1u << (shift - 1);
        if (rest > half || (rest == half && (q & 1u))) {
            ++q;
        }
        return static_cast<uint16_t>(sign | q);
    }
    uint32_t h = ((exponent - 112) << 10) | ((ax >> 13) & 0x3ffu);
    const uint32_t rest = ax & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) {
        ++h;  // a carry into the exponent is the correctly rounded result
    }
    return static_cast<uint16_t>(sign | h);
}

float bf16_to_f32(uint16_t h) { return f32_from_bits(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_bf16(float f) {
    const uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) {
        return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN: force quiet, as ggml
    }
    return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace lowbit

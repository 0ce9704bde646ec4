// The vector vocabulary of the generic kernels for AArch64 Advanced SIMD, with the dot-product
// extension (sdot) when LOWBIT_VNNI is 1. Same names as src/kernels/avx512/simd.hpp.
#pragma once

#include <arm_neon.h>

#include <cstdint>

namespace {
namespace simd {

constexpr int kW = 16;  // bytes per vector
constexpr int kF = 4;   // int32 / float lanes per vector
using B = uint8x16_t;
using I = int32x4_t;
using F = float32x4_t;
// sdot multiplies signed bytes: dot_i is exact for u <= 127 only.
constexpr bool kDotAnyU = false;

// ---- bytes ----
inline B load_b(const void* p) { return vld1q_u8(static_cast<const uint8_t*>(p)); }
// kW bytes from 32-byte pieces `stride` bytes apart (codes of consecutive blocks): part of one here.
inline B load_b_32s(const uint8_t* p, int64_t) { return load_b(p); }
// Q4_0-style nibbles: a block's 16 bytes at p; this vector is half `half` of the block's 32
// elements: the low nibbles (elements 0..15) or the high ones (16..31).
inline B load_nibbles_b(const uint8_t* p, int64_t, int half) {
    const uint8x16_t bytes = vld1q_u8(p);
    return half == 0 ? vandq_u8(bytes, vdupq_n_u8(15)) : vshrq_n_u8(bytes, 4);
}
inline B load_b_partial(const void* p, int n) {
    uint8_t buf[16] = {};
    __builtin_memcpy(buf, p, static_cast<unsigned>(n < 16 ? n : 16));
    return vld1q_u8(buf);
}
inline void store_b(void* p, B v) { vst1q_u8(static_cast<uint8_t*>(p), v); }
inline B splat_b(int v) { return vdupq_n_u8(static_cast<uint8_t>(v)); }
inline B and_b(B a, B b) { return vandq_u8(a, b); }
inline B xor_b(B a, B b) { return veorq_u8(a, b); }
inline B add_b(B a, B b) { return vaddq_u8(a, b); }
template <int N>
inline B srl_b(B v) {
    if constexpr (N == 0) {
        return v;
    } else {
        return vshrq_n_u8(v, N);
    }
}
inline B table_b(const uint8_t* t16) { return vld1q_u8(t16); }
inline B lut_b(B table16, B idx) { return vqtbl1q_u8(table16, idx); }
inline B gt_u8_b(B v, int k) { return vandq_u8(vcgtq_u8(v, vdupq_n_u8(static_cast<uint8_t>(k))), vdupq_n_u8(1)); }
inline B mullo_b(B v, int k) { return vmulq_u8(v, vdupq_n_u8(static_cast<uint8_t>(k))); }
// Lane i takes if_set where bit i of `bits` is 1 (the low 16 bits are used).
inline B select_b(uint64_t bits, B if_set, B if_clear) {
    const uint8x8_t lo = vdup_n_u8(static_cast<uint8_t>(bits));
    const uint8x8_t hi = vdup_n_u8(static_cast<uint8_t>(bits >> 8));
    static constexpr uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t set = vtstq_u8(vcombine_u8(lo, hi), vld1q_u8(kBit));
    return vbslq_u8(set, if_set, if_clear);
}
// Q6_K's high bits, shifted into place (bits 4-5) for the kW elements [first, first + kW) of a
// 128-element half block (first a multiple of kW): element j takes bits 2*(j/32).. of qh[j % 32].
inline B q6_k_high_bits_b(const uint8_t* qh, int first) {
    const uint8x16_t v = vld1q_u8(qh + first % 32);
    const int left = 4 - 2 * (first / 32);  // vshlq shifts right for a negative count
    return vandq_u8(vshlq_u8(v, vdupq_n_s8(static_cast<int8_t>(left))), vdupq_n_u8(0x30));
}

// ---- int32 ----
inline I zero_i() { return vdupq_n_s32(0); }
inline I splat_i(int32_t v) { return vdupq_n_s32(v); }
inline I load_i(const int32_t* p) { return vld1q_s32(p); }
inline I add_i(I a, I b) { return vaddq_s32(a, b); }
inline I sub_i(I a, I b) { return vsubq_s32(a, b); }
inline I and_i(I a, I b) { return vandq_s32(a, b); }
inline I mullo_i(I a, I b) { return vmulq_s32(a, b); }
inline I min_i(I a, I b) { return vminq_s32(a, b); }
inline I max_i(I a, I b) { return vmaxq_s32(a, b); }
template <int N>
inline I srai_i(I v) {
    if constexpr (N == 0) {
        return v;
    } else {
        return vshrq_n_s32(v, N);
    }
}
template <int N>
inline I srl_i(I v) {
    if constexpr (N == 0) {
        return v;
    } else {
        return vreinterpretq_s32_u32(vshrq_n_u32(vreinterpretq_u32_s32(v), N));
    }
}
inline I set_lane0_i(int32_t v) { return vsetq_lane_s32(v, vdupq_n_s32(0), 0); }
inline int32_t hsum_i(I v) { return vaddvq_s32(v); }
// The four horizontal sums of a, b, c, d into out[0..3] (one reduction tree for four rows).
inline void hsum4_i(I a, I b, I c, I d, int32_t* out) { vst1q_s32(out, vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d))); }
// acc + per lane the sum of 4 products s8(a) * s8(b), lane j: bytes 4j..4j+3. Exact for any input.
inline I dot_ss_i(I acc, B a, B b) {
    const int8x16_t sa = vreinterpretq_s8_u8(a), sb = vreinterpretq_s8_u8(b);
#if LOWBIT_VNNI
    return vdotq_s32(acc, sa, sb);
#else
    const int16x8_t lo = vmull_s8(vget_low_s8(sa), vget_low_s8(sb));
    const int16x8_t hi = vmull_high_s8(sa, sb);
    return vaddq_s32(acc, vpaddq_s32(vpaddlq_s16(lo), vpaddlq_s16(hi)));
#endif
}
// u8 * s8 with u <= 127: the same signed product.
inline I dot_i(I acc, B u, B s) { return dot_ss_i(acc, u, s); }
// The AVX2 vocabulary's int16 pair sums are not used at this level (sdot, or its emulation,
// already sums in int32): the same names over int32 lanes, so that generic code compiles.
constexpr bool kPairSums = false;
using W = I;
inline W zero_w() { return zero_i(); }
inline W add_small_w(W acc, B u, B s) { return dot_i(acc, u, s); }
inline I widen_add_i(I acc, W w) { return add_i(acc, w); }
// Q6_K: a block's 16 scales (one per 16 elements), for dot_q6_k_i.
struct Q6kScales {
    const int8_t* p;
};
inline Q6kScales load_q6_k_scales(const int8_t* sc) { return {sc}; }
// acc + per int32 lane the sum of its 4 products times the scale of their 16 elements (here
// one scale: kW = 16), for the kW elements of the block starting at `first`. Exact (u <= 63).
inline I dot_q6_k_i(I acc, B u, B s, Q6kScales sc, int first) {
    return vmlaq_n_s32(acc, dot_i(vdupq_n_s32(0), u, s), sc.p[first / 16]);
}
inline I load_u8_as_i32(const uint8_t* p) {
    uint32_t word;
    __builtin_memcpy(&word, p, 4);
    return vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vcreate_u8(word)))));
}
inline I load_s8_as_i32(const uint8_t* p) {
    uint32_t word;
    __builtin_memcpy(&word, p, 4);
    return vmovl_s16(vget_low_s16(vmovl_s8(vcreate_s8(word))));
}
inline I unpack2_seq(const uint8_t* p) {
    static constexpr int32_t kShifts[4] = {0, -2, -4, -6};
    const uint32x4_t v = vshlq_u32(vdupq_n_u32(*p), vld1q_s32(kShifts));
    return vreinterpretq_s32_u32(vandq_u32(v, vdupq_n_u32(3)));
}
// kF lanes stored as their low bytes (truncation).
inline void store_i32_as_u8(uint8_t* out, I v) {
    const uint16x4_t h = vmovn_u32(vreinterpretq_u32_s32(v));
    const uint8x8_t b = vmovn_u16(vcombine_u16(h, h));
    const uint32_t word = vget_lane_u32(vreinterpret_u32_u8(b), 0);
    __builtin_memcpy(out, &word, 4);
}

// ---- float ----
inline F zero_f() { return vdupq_n_f32(0.0f); }
// One f16 value as f32 (exact), in hardware: block scales are converted once per block.
inline float f16_scalar_f(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }
// Lane l takes d[l / 8]: the scale of the 32-byte block this vector of codes is part of.
inline F splat_per8_f(const float* d) { return vdupq_n_f32(d[0]); }
inline F splat_f(float v) { return vdupq_n_f32(v); }
inline F load_f(const float* p) { return vld1q_f32(p); }
inline F load_f_lanes(const float* p) { return vld1q_f32(p); }
inline void store_f(float* p, F v) { vst1q_f32(p, v); }
inline F add_f(F a, F b) { return vaddq_f32(a, b); }
inline F mul_f(F a, F b) { return vmulq_f32(a, b); }
inline F div_f(F a, F b) { return vdivq_f32(a, b); }
inline F fma_f(F a, F b, F c) { return vfmaq_f32(c, a, b); }
inline F abs_f(F v) { return vabsq_f32(v); }
// max_f(a, b) ignores a NaN in a (maxNum), as fmax.
inline F min_f(F a, F b) { return vminnmq_f32(a, b); }
inline F max_f(F a, F b) { return vmaxnmq_f32(a, b); }
inline float hsum_f(F v) { return vaddvq_f32(v); }
inline float hmax_f(F v) { return vmaxnmvq_f32(v); }
inline float hmin_f(F v) { return vminnmvq_f32(v); }
inline F cvt_f(I v) { return vcvtq_f32_s32(v); }
inline I cvt_rne_i(F v) { return vcvtnq_s32_f32(v); }
inline I cvt_trunc_i(F v) { return vcvtq_s32_f32(v); }
inline F scaled_f(I v, float d) { return vmulq_f32(vcvtq_f32_s32(v), vdupq_n_f32(d)); }
inline F load_s8_as_f32(const int8_t* p) { return vcvtq_f32_s32(load_s8_as_i32(reinterpret_cast<const uint8_t*>(p))); }
inline F load_f16_as_f32(const uint8_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)))); }
inline F load_bf16_as_f32(const uint8_t* p) {
    return vreinterpretq_f32_u32(vshlq_n_u32(vmovl_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))), 16));
}
inline void store_f32_as_f16(uint16_t* out, F v) { vst1_u16(out, vreinterpret_u16_f16(vcvt_f16_f32(v))); }
inline F table_f(const float* t) { return vld1q_f32(t); }
// Lane i <- table[idx[i]]: byte indices 4 idx + 0..3 into the table's 16 bytes.
inline F lookup_f(I idx, F table) {
    const uint8x16_t base = vreinterpretq_u8_u32(vmulq_n_u32(vreinterpretq_u32_s32(idx), 0x04040404u));
    static constexpr uint8_t kByte[16] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    return vreinterpretq_f32_u8(vqtbl1q_u8(vreinterpretq_u8_f32(table), vaddq_u8(base, vld1q_u8(kByte))));
}
inline bool any_nonfinite(F v) {
    const F z = vmulq_f32(v, vdupq_n_f32(0.0f));  // NaN exactly for NaN and infinity
    return vminvq_u32(vceqq_f32(z, z)) == 0;
}
inline bool near_half(F v, float eps) {
    const F frac = vsubq_f32(v, vrndmq_f32(v));
    const F dist = vabsq_f32(vsubq_f32(frac, vdupq_n_f32(0.5f)));
    return vmaxvq_u32(vcltq_f32(dist, vdupq_n_f32(eps))) != 0;
}
inline I round_half_away_i(F v) { return vcvtaq_s32_f32(v); }
// clamp(v, lo, hi), with NaN -> 0 (the references' clamp_to).
inline F clamp_f(F v, float lo, float hi) {
    const F c = vmaxq_f32(vdupq_n_f32(lo), vminq_f32(vdupq_n_f32(hi), v));
    return vbslq_f32(vceqq_f32(v, v), c, vdupq_n_f32(0.0f));
}
inline I store_f32_as_i8_rne(int8_t* out, F v) {
    const I i = vcvtnq_s32_f32(vbslq_f32(vceqq_f32(v, v), v, vdupq_n_f32(0.0f)));
    const int16x4_t h = vqmovn_s32(i);
    const int8x8_t b = vqmovn_s16(vcombine_s16(h, h));
    const uint32_t word = vget_lane_u32(vreinterpret_u32_s8(b), 0);
    __builtin_memcpy(out, &word, 4);
    return vmaxq_s32(vminq_s32(i, vdupq_n_s32(127)), vdupq_n_s32(-128));
}
inline void store_f32_as_i8_rne_clamp1(int8_t* out, F v) { store_f32_as_i8_rne(out, clamp_f(v, -1.0f, 1.0f)); }

struct AbsPartials16 {
    float64x2_t acc[8] = {vdupq_n_f64(0), vdupq_n_f64(0), vdupq_n_f64(0), vdupq_n_f64(0),
                          vdupq_n_f64(0), vdupq_n_f64(0), vdupq_n_f64(0), vdupq_n_f64(0)};
    void add(const float* w16) {
        for (int k = 0; k < 4; ++k) {
            const float32x4_t a = vabsq_f32(vld1q_f32(w16 + 4 * k));
            acc[2 * k] = vaddq_f64(acc[2 * k], vcvt_f64_f32(vget_low_f32(a)));
            acc[2 * k + 1] = vaddq_f64(acc[2 * k + 1], vcvt_high_f64_f32(a));
        }
    }
    void store(double* out16) const {
        for (int k = 0; k < 8; ++k) vst1q_f64(out16 + 2 * k, acc[k]);
    }
};

}  // namespace simd
}  // namespace

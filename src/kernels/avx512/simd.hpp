// The vector vocabulary the generic kernels (src/kernels/generic/) are written in, for
// AVX-512 (F/BW/VL/DQ), with VNNI's vpdpbusd when LOWBIT_VNNI is 1. Everything has internal
// linkage: nothing compiled with these flags can leak into code that runs on other CPUs.
// src/kernels/avx2/simd.hpp and src/kernels/neon/simd.hpp provide the same names.
#pragma once

#include "../x86_intrinsics.hpp"

#include <cstdint>

namespace {
namespace simd {

constexpr int kW = 64;  // bytes per vector
constexpr int kF = 16;  // int32 / float lanes per vector
using B = __m512i;      // 64 x u8/s8
using I = __m512i;      // 16 x s32
using F = __m512;       // 16 x f32
// dot_i is exact for any u8 (VNNI), not only for u <= 127 (the maddubs emulation).
constexpr bool kDotAnyU = LOWBIT_VNNI;

// ---- bytes ----
inline B load_b(const void* p) { return _mm512_loadu_si512(p); }
// kW bytes from 32-byte pieces `stride` bytes apart (codes of consecutive blocks).
inline B load_b_32s(const uint8_t* p, int64_t stride) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + stride)), 1);
}
// Q4_0-style nibbles: each 32-byte piece i of the vector is block i's 16 bytes at
// p + i * stride, low nibbles then high nibbles (its elements 0..15, 16..31). `half` is unused
// when a vector holds whole blocks.
inline B load_nibbles_b(const uint8_t* p, int64_t stride, int) {
    const __m256i two = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + stride)), 1);  // block 0 | block 1
    const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(two), _mm256_srli_epi16(two, 4), 1);
    // lanes: [b0 low, b1 low, b0 high, b1 high] -> [b0 low, b0 high, b1 low, b1 high]
    const __m512i ordered = _mm512_shuffle_i64x2(both, both, _MM_SHUFFLE(3, 1, 2, 0));
    return _mm512_and_si512(ordered, _mm512_set1_epi8(15));
}
inline B load_b_partial(const void* p, int n) {
    return _mm512_maskz_loadu_epi8(n >= 64 ? ~__mmask64{0} : ((__mmask64{1} << n) - 1), p);
}
inline void store_b(void* p, B v) { _mm512_storeu_si512(p, v); }
inline B splat_b(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
inline B and_b(B a, B b) { return _mm512_and_si512(a, b); }
inline B xor_b(B a, B b) { return _mm512_xor_si512(a, b); }
inline B add_b(B a, B b) { return _mm512_add_epi8(a, b); }
// Per-byte logical shift right (a 16-bit shift, then mask off what crossed from the neighbour).
template <int N>
inline B srl_b(B v) {
    return _mm512_and_si512(_mm512_srli_epi16(v, N), _mm512_set1_epi8(static_cast<char>(0xFF >> N)));
}
// A 16-byte table in every 128-bit lane; idx bytes in 0..15.
inline B table_b(const uint8_t* t16) { return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t16))); }
inline B lut_b(B table16, B idx) { return _mm512_shuffle_epi8(table16, idx); }
// Bytes > k (unsigned) -> 1, else 0.
inline B gt_u8_b(B v, int k) {
    return _mm512_maskz_set1_epi8(_mm512_cmpgt_epu8_mask(v, _mm512_set1_epi8(static_cast<char>(k))), 1);
}
// (uint8_t)(b * k) per byte.
inline B mullo_b(B v, int k) {
    const __m512i kk = _mm512_set1_epi16(static_cast<short>(k));
    const __m512i low_bytes = _mm512_set1_epi16(0x00FF);
    const __m512i even = _mm512_and_si512(_mm512_mullo_epi16(v, kk), low_bytes);
    const __m512i odd = _mm512_mullo_epi16(_mm512_andnot_si512(low_bytes, v), kk);
    return _mm512_or_si512(even, _mm512_andnot_si512(low_bytes, odd));
}
// Lane i takes if_set where bit i of `bits` is 1, else if_clear.
inline B select_b(uint64_t bits, B if_set, B if_clear) { return _mm512_mask_blend_epi8(bits, if_clear, if_set); }
// Q6_K's high bits, shifted into place (bits 4-5) for the kW elements [first, first + kW) of a
// 128-element half block (first a multiple of kW): element j takes bits 2*(j/32).. of qh[j % 32].
// Here first is 0 or 64: the 32 qh bytes go to both 256-bit halves, each with its own shift.
inline B q6_k_high_bits_b(const uint8_t* qh, int first) {
    const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh)));
    const __m512i shifted = first == 0 ? _mm512_sllv_epi16(v, _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1))
                                       : _mm512_srlv_epi16(v, _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1));
    return _mm512_and_si512(shifted, _mm512_set1_epi8(0x30));
}

// ---- int32 ----
inline I zero_i() { return _mm512_setzero_si512(); }
inline I splat_i(int32_t v) { return _mm512_set1_epi32(v); }
inline I load_i(const int32_t* p) { return _mm512_loadu_si512(p); }
inline I add_i(I a, I b) { return _mm512_add_epi32(a, b); }
inline I sub_i(I a, I b) { return _mm512_sub_epi32(a, b); }
inline I and_i(I a, I b) { return _mm512_and_si512(a, b); }
inline I mullo_i(I a, I b) { return _mm512_mullo_epi32(a, b); }
inline I min_i(I a, I b) { return _mm512_min_epi32(a, b); }
inline I max_i(I a, I b) { return _mm512_max_epi32(a, b); }
template <int N>
inline I srai_i(I v) {
    return _mm512_srai_epi32(v, N);
}
template <int N>
inline I srl_i(I v) {
    return _mm512_srli_epi32(v, N);
}
inline I set_lane0_i(int32_t v) { return _mm512_maskz_set1_epi32(1, v); }
inline int32_t hsum_i(I v) { return _mm512_reduce_add_epi32(v); }
// The four horizontal sums of a, b, c, d into out[0..3] (one reduction tree for four rows).
inline void hsum4_i(I a, I b, I c, I d, int32_t* out) {
    const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));  // a b a b per 128
    const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    const __m512i abcd = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));  // a b c d
    const __m256i half = _mm256_add_epi32(_mm512_castsi512_si256(abcd), _mm512_extracti64x4_epi64(abcd, 1));
    const __m128i quarter = _mm_add_epi32(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), quarter);
}
// acc + per 32-bit lane the sum of 4 products u8(u) * s8(s). Exact when u <= 127 (the
// emulation's 16-bit pair sums cannot saturate then); with VNNI exact for any u.
inline I dot_i(I acc, B u, B s) {
#if LOWBIT_VNNI
    return _mm512_dpbusd_epi32(acc, u, s);
#else
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
#endif
}
// The AVX2 vocabulary's int16 pair sums are not used at this level (its planar kernels keep
// dot_i; the level without VNNI might gain from them too, unmeasured): the same names over
// int32 lanes, so that generic code compiles.
constexpr bool kPairSums = false;
using W = I;
inline W zero_w() { return zero_i(); }
inline W add_small_w(W acc, B u, B s) { return dot_i(acc, u, s); }
inline I widen_add_i(I acc, W w) { return add_i(acc, w); }
// acc + per lane the sum of 4 products s8 * s8 (lane j: bytes 4j..4j+3), exact for any input.
inline I dot_ss_i(I acc, B a, B b) {
    const __m512i plo = _mm512_madd_epi16(_mm512_cvtepi8_epi16(_mm512_castsi512_si256(a)),
                                          _mm512_cvtepi8_epi16(_mm512_castsi512_si256(b)));  // byte pairs 0..31
    const __m512i phi = _mm512_madd_epi16(_mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(a, 1)),
                                          _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(b, 1)));  // 32..63
    const __m512i even = _mm512_permutex2var_epi32(
        plo, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), phi);
    const __m512i odd = _mm512_permutex2var_epi32(
        plo, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), phi);
    return _mm512_add_epi32(acc, _mm512_add_epi32(even, odd));
}
// Q6_K: a block's 16 scales (one per 16 elements) as int16 lanes 0..15, for dot_q6_k_i.
using Q6kScales = __m512i;
inline Q6kScales load_q6_k_scales(const int8_t* sc) {
    return _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc))));
}
// acc + per int32 lane the sum of its 4 products u8(u) * s8(s) times the scale of their 16
// elements, for the kW elements of the block starting at `first`: the products summed in
// int16 pairs (u <= 63: |pair| <= 16128, no saturation), then pairs times scales into int32.
// Exact, as dot_i then mullo_i by the repeated scales.
inline I dot_q6_k_i(I acc, B u, B s, Q6kScales sc, int first) {
    const __m512i lane_scale = _mm512_add_epi16(  // int16 lane k (elements 2k, 2k + 1): scale first / 16 + k / 8
        _mm512_set1_epi16(static_cast<short>(first / 16)),
        _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0));
    const __m512i scales = _mm512_permutexvar_epi16(lane_scale, sc);
    const __m512i pairs = _mm512_maddubs_epi16(u, s);
#if LOWBIT_VNNI
    return _mm512_dpwssd_epi32(acc, pairs, scales);
#else
    return _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, scales));
#endif
}
// kF bytes at p, widened.
inline I load_u8_as_i32(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline I load_s8_as_i32(const uint8_t* p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
// kF 2-bit codes stored LSB-first and sequentially in kF / 4 bytes at p.
inline I unpack2_seq(const uint8_t* p) {
    uint32_t word;
    __builtin_memcpy(&word, p, 4);
    const __m512i shifts = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_and_si512(_mm512_srlv_epi32(_mm512_set1_epi32(static_cast<int>(word)), shifts), _mm512_set1_epi32(3));
}
// kF lanes stored as their low bytes (truncation).
inline void store_i32_as_u8(uint8_t* out, I v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtepi32_epi8(v)); }

// ---- float ----
inline F zero_f() { return _mm512_setzero_ps(); }
// One f16 value as f32 (exact), in hardware: block scales are converted once per block.
inline float f16_scalar_f(uint16_t h) { return _cvtsh_ss(h); }
// Lane l takes d[l / 8]: the scales of the two 32-byte blocks one vector of codes covers.
inline F splat_per8_f(const float* d) { return _mm512_insertf32x8(_mm512_set1_ps(d[0]), _mm256_set1_ps(d[1]), 1); }
inline F splat_f(float v) { return _mm512_set1_ps(v); }
inline F load_f(const float* p) { return _mm512_loadu_ps(p); }
inline F load_f_lanes(const float* p) { return _mm512_loadu_ps(p); }
inline void store_f(float* p, F v) { _mm512_storeu_ps(p, v); }
inline F add_f(F a, F b) { return _mm512_add_ps(a, b); }
inline F mul_f(F a, F b) { return _mm512_mul_ps(a, b); }
inline F div_f(F a, F b) { return _mm512_div_ps(a, b); }
inline F fma_f(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
inline F abs_f(F v) { return _mm512_abs_ps(v); }
// max_f(a, b) ignores a NaN in a (used to take maxima that skip NaN, as fmax).
inline F min_f(F a, F b) { return _mm512_min_ps(a, b); }
inline F max_f(F a, F b) { return _mm512_max_ps(a, b); }
inline float hsum_f(F v) { return _mm512_reduce_add_ps(v); }
inline float hmax_f(F v) { return _mm512_reduce_max_ps(v); }
inline float hmin_f(F v) { return _mm512_reduce_min_ps(v); }
inline F cvt_f(I v) { return _mm512_cvtepi32_ps(v); }
inline I cvt_rne_i(F v) { return _mm512_cvtps_epi32(v); }  // MXCSR default: nearest even
inline I cvt_trunc_i(F v) { return _mm512_cvttps_epi32(v); }
// (float)v * d per lane: one conversion and one multiply, as the scalar reference.
inline F scaled_f(I v, float d) { return _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(d)); }
inline F load_s8_as_f32(const int8_t* p) { return _mm512_cvtepi32_ps(load_s8_as_i32(reinterpret_cast<const uint8_t*>(p))); }
inline F load_f16_as_f32(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
inline F load_bf16_as_f32(const uint8_t* p) {
    const __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(h, 16));
}
// kF floats to f16 (round to nearest even), stored at out.
inline void store_f32_as_f16(uint16_t* out, F v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
// A table of up to kF floats; lookup by lane index (0 <= idx < kF).
inline F table_f(const float* t) { return _mm512_loadu_ps(t); }
inline F lookup_f(I idx, F table) { return _mm512_permutexvar_ps(idx, table); }
// Any lane NaN or infinite.
inline bool any_nonfinite(F v) { return _mm512_fpclass_ps_mask(v, 0x99) != 0; }
// True if some lane lies within eps of n + 0.5 for an integer n.
inline bool near_half(F v, float eps) {
    const F frac = _mm512_sub_ps(v, _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
    const F dist = _mm512_abs_ps(_mm512_sub_ps(frac, _mm512_set1_ps(0.5f)));
    return _mm512_cmp_ps_mask(dist, _mm512_set1_ps(eps), _CMP_LT_OQ) != 0;
}
// roundf (ties away from zero), exactly: truncate, then step away when the rest is >= 0.5.
// A NaN lane gives INT32_MIN.
inline I round_half_away_i(F v) {
    const F t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const I ti = _mm512_cvttps_epi32(t);
    const I step = _mm512_mask_blend_epi32(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ),
                                           _mm512_set1_epi32(1), _mm512_set1_epi32(-1));
    return _mm512_mask_add_epi32(ti, up, ti, step);
}
// Round to nearest even, NaN -> 0, saturate to int8, store kF bytes; returns the stored values.
inline I store_f32_as_i8_rne(int8_t* out, F v) {
    const __mmask16 ordered = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
    const __m512i i = _mm512_maskz_cvtps_epi32(ordered, v);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtsepi32_epi8(i));
    return _mm512_max_epi32(_mm512_min_epi32(i, _mm512_set1_epi32(127)), _mm512_set1_epi32(-128));
}
// clamp(v, lo, hi), with NaN -> 0 (the references' clamp_to).
inline F clamp_f(F v, float lo, float hi) {
    const F c = _mm512_max_ps(_mm512_set1_ps(lo), _mm512_min_ps(_mm512_set1_ps(hi), v));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), c);
}
inline void store_f32_as_i8_rne_clamp1(int8_t* out, F v) { store_f32_as_i8_rne(out, clamp_f(v, -1.0f, 1.0f)); }

// 16 interleaved double partial sums of |w|: partial j gets elements j, j + 16, ... in order.
struct AbsPartials16 {
    __m512d lo = _mm512_setzero_pd();
    __m512d hi = _mm512_setzero_pd();
    void add(const float* w16) {
        const __m512 a = _mm512_abs_ps(_mm512_loadu_ps(w16));
        lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(a)));
        hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1))));
    }
    void store(double* out16) const {
        _mm512_storeu_pd(out16, lo);
        _mm512_storeu_pd(out16 + 8, hi);
    }
};

}  // namespace simd
}  // namespace

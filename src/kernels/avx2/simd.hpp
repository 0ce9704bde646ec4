// The vector vocabulary of the generic kernels for AVX2 (+ FMA, F16C), with AVX-VNNI's
// 256-bit vpdpbusd when LOWBIT_VNNI is 1. Same names as src/kernels/avx512/simd.hpp.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace {
namespace simd {

constexpr int kW = 32;  // bytes per vector
constexpr int kF = 8;   // int32 / float lanes per vector
using B = __m256i;
using I = __m256i;
using F = __m256;
// dot_i is exact for any u8 (AVX-VNNI), not only for u <= 127 (the maddubs emulation).
constexpr bool kDotAnyU = LOWBIT_VNNI;

// ---- bytes ----
inline B load_b(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
// kW bytes from 32-byte pieces `stride` bytes apart (codes of consecutive blocks): one piece here.
inline B load_b_32s(const uint8_t* p, int64_t) { return load_b(p); }
// Q4_0-style nibbles: each 32-byte piece i of the vector is block i's 16 bytes at
// p + i * stride, low nibbles then high nibbles (its elements 0..15, 16..31). `half` is unused
// when a vector holds whole blocks.
inline B load_nibbles_b(const uint8_t* p, int64_t, int) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(bytes), _mm_srli_epi16(bytes, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(15));
}
inline B load_b_partial(const void* p, int n) {
    alignas(32) uint8_t buf[32] = {};
    __builtin_memcpy(buf, p, static_cast<unsigned>(n < 32 ? n : 32));
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(buf));
}
inline void store_b(void* p, B v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
inline B splat_b(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
inline B and_b(B a, B b) { return _mm256_and_si256(a, b); }
inline B xor_b(B a, B b) { return _mm256_xor_si256(a, b); }
inline B add_b(B a, B b) { return _mm256_add_epi8(a, b); }
template <int N>
inline B srl_b(B v) {
    return _mm256_and_si256(_mm256_srli_epi16(v, N), _mm256_set1_epi8(static_cast<char>(0xFF >> N)));
}
inline B table_b(const uint8_t* t16) { return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t16))); }
inline B lut_b(B table16, B idx) { return _mm256_shuffle_epi8(table16, idx); }
// Bytes > k (unsigned) -> 1, else 0: v >= k + 1 exactly when max(v, k + 1) == v.
inline B gt_u8_b(B v, int k) {
    const __m256i ge = _mm256_cmpeq_epi8(_mm256_max_epu8(v, _mm256_set1_epi8(static_cast<char>(k + 1))), v);
    return _mm256_and_si256(ge, _mm256_set1_epi8(1));
}
inline B mullo_b(B v, int k) {
    const __m256i kk = _mm256_set1_epi16(static_cast<short>(k));
    const __m256i low_bytes = _mm256_set1_epi16(0x00FF);
    const __m256i even = _mm256_and_si256(_mm256_mullo_epi16(v, kk), low_bytes);
    const __m256i odd = _mm256_mullo_epi16(_mm256_andnot_si256(low_bytes, v), kk);
    return _mm256_or_si256(even, _mm256_andnot_si256(low_bytes, odd));
}
// Lane i takes if_set where bit i of `bits` is 1 (the low 32 bits are used).
inline B select_b(uint64_t bits, B if_set, B if_clear) {
    // byte i <- byte i / 8 of the 32-bit mask, then test its bit i % 8
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(bits))),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_blendv_epi8(if_clear, if_set, set);
}
// Q6_K's high bits, shifted into place (bits 4-5) for the kW elements [first, first + kW) of a
// 128-element half block (first a multiple of kW): element j takes bits 2*(j/32).. of qh[j % 32].
inline B q6_k_high_bits_b(const uint8_t* qh, int first) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
    __m256i shifted;
    switch (first / 32) {  // net shift left by 4 - 2 * (first / 32)
        case 0: shifted = _mm256_slli_epi16(v, 4); break;
        case 1: shifted = _mm256_slli_epi16(v, 2); break;
        case 2: shifted = v; break;
        default: shifted = _mm256_srli_epi16(v, 2); break;
    }
    return _mm256_and_si256(shifted, _mm256_set1_epi8(0x30));
}

// ---- int32 ----
inline I zero_i() { return _mm256_setzero_si256(); }
inline I splat_i(int32_t v) { return _mm256_set1_epi32(v); }
inline I load_i(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline I add_i(I a, I b) { return _mm256_add_epi32(a, b); }
inline I sub_i(I a, I b) { return _mm256_sub_epi32(a, b); }
inline I and_i(I a, I b) { return _mm256_and_si256(a, b); }
inline I mullo_i(I a, I b) { return _mm256_mullo_epi32(a, b); }
inline I min_i(I a, I b) { return _mm256_min_epi32(a, b); }
inline I max_i(I a, I b) { return _mm256_max_epi32(a, b); }
template <int N>
inline I srai_i(I v) {
    return _mm256_srai_epi32(v, N);
}
template <int N>
inline I srl_i(I v) {
    return _mm256_srli_epi32(v, N);
}
inline I set_lane0_i(int32_t v) { return _mm256_setr_epi32(v, 0, 0, 0, 0, 0, 0, 0); }
inline int32_t hsum_i(I v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}
// The four horizontal sums of a, b, c, d into out[0..3] (one reduction tree for four rows).
inline void hsum4_i(I a, I b, I c, I d, int32_t* out) {
    const __m256i ab = _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));  // a b a b per 128
    const __m256i cd = _mm256_add_epi32(_mm256_unpacklo_epi32(c, d), _mm256_unpackhi_epi32(c, d));
    const __m256i abcd = _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));  // a b c d
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                     _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1)));
}
inline I dot_i(I acc, B u, B s) {
#if LOWBIT_VNNI
    return _mm256_dpbusd_avx_epi32(acc, u, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}
// Sums of products of small codes (u <= 4) by activations kept in int16 lanes (byte pairs) and
// widened to int32 only now and then: without VNNI, dot_i widens at every step. Exact while a
// lane's sum fits int16 (each add_small_w adds at most 2 * 4 * 128 = 1024 to it).
constexpr bool kPairSums = !LOWBIT_VNNI;
using W = __m256i;
inline W zero_w() { return _mm256_setzero_si256(); }
inline W add_small_w(W acc, B u, B s) { return _mm256_add_epi16(acc, _mm256_maddubs_epi16(u, s)); }
inline I widen_add_i(I acc, W w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w, _mm256_set1_epi16(1))); }
inline I dot_ss_i(I acc, B a, B b) {
    const __m256i plo = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(a)),
                                          _mm256_cvtepi8_epi16(_mm256_castsi256_si128(b)));  // pairs of bytes 0..15
    const __m256i phi = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(a, 1)),
                                          _mm256_cvtepi8_epi16(_mm256_extracti128_si256(b, 1)));  // 16..31
    // hadd within 128-bit lanes gives lanes (0 1 4 5 | 2 3 6 7) of the wanted order
    const __m256i sums = _mm256_hadd_epi32(plo, phi);
    return _mm256_add_epi32(acc, _mm256_permute4x64_epi64(sums, _MM_SHUFFLE(3, 1, 2, 0)));
}
// Q6_K: a block's 16 scales (one per 16 elements), as bytes, for dot_q6_k_i.
using Q6kScales = __m128i;
inline Q6kScales load_q6_k_scales(const int8_t* sc) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)); }
// acc + per int32 lane the sum of its 4 products u8(u) * s8(s) times the scale of their 16
// elements, for the kW elements of the block starting at `first`: the products summed in
// int16 pairs (u <= 63: no saturation), then pairs times scales into int32. Exact.
inline I dot_q6_k_i(I acc, B u, B s, Q6kScales sc, int first) {
    const __m128i pick = _mm_add_epi8(_mm_set1_epi8(static_cast<char>(first / 16)),
                                      _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    const __m256i scales = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, pick));  // lanes 0-7, 8-15
    const __m256i pairs = _mm256_maddubs_epi16(u, s);
#if LOWBIT_VNNI
    return _mm256_dpwssd_avx_epi32(acc, pairs, scales);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, scales));
#endif
}
inline I load_u8_as_i32(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
inline I load_s8_as_i32(const uint8_t* p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
inline I unpack2_seq(const uint8_t* p) {
    uint16_t word;
    __builtin_memcpy(&word, p, 2);
    const __m256i shifts = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(word), shifts), _mm256_set1_epi32(3));
}
// kF lanes stored as their low bytes (truncation, like vpmovdb).
inline void store_i32_as_u8(uint8_t* out, I v) {
    const __m256i low = _mm256_shuffle_epi8(v, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                                                0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
    const __m128i both = _mm_unpacklo_epi32(_mm256_castsi256_si128(low), _mm256_extracti128_si256(low, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), both);
}

// ---- float ----
inline F zero_f() { return _mm256_setzero_ps(); }
// One f16 value as f32 (exact), in hardware: block scales are converted once per block.
inline float f16_scalar_f(uint16_t h) { return _cvtsh_ss(h); }
// Lane l takes d[l / 8]: the scale of the 32-byte block one vector of codes covers.
inline F splat_per8_f(const float* d) { return _mm256_set1_ps(d[0]); }
inline F splat_f(float v) { return _mm256_set1_ps(v); }
inline F load_f(const float* p) { return _mm256_loadu_ps(p); }
inline F load_f_lanes(const float* p) { return _mm256_loadu_ps(p); }
inline void store_f(float* p, F v) { _mm256_storeu_ps(p, v); }
inline F add_f(F a, F b) { return _mm256_add_ps(a, b); }
inline F mul_f(F a, F b) { return _mm256_mul_ps(a, b); }
inline F div_f(F a, F b) { return _mm256_div_ps(a, b); }
inline F fma_f(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
inline F abs_f(F v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
inline F min_f(F a, F b) { return _mm256_min_ps(a, b); }
inline F max_f(F a, F b) { return _mm256_max_ps(a, b); }
inline float hsum_f(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
inline float hmax_f(F v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
inline float hmin_f(F v) {
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
inline F cvt_f(I v) { return _mm256_cvtepi32_ps(v); }
inline I cvt_rne_i(F v) { return _mm256_cvtps_epi32(v); }
inline I cvt_trunc_i(F v) { return _mm256_cvttps_epi32(v); }
inline F scaled_f(I v, float d) { return _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(d)); }
inline F load_s8_as_f32(const int8_t* p) { return _mm256_cvtepi32_ps(load_s8_as_i32(reinterpret_cast<const uint8_t*>(p))); }
inline F load_f16_as_f32(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline F load_bf16_as_f32(const uint8_t* p) {
    const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
}
inline void store_f32_as_f16(uint16_t* out, F v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
inline F table_f(const float* t) { return _mm256_loadu_ps(t); }
inline F lookup_f(I idx, F table) { return _mm256_permutevar8x32_ps(table, idx); }
// NaN or infinity: v * 0 is NaN exactly then.
inline bool any_nonfinite(F v) {
    const F z = _mm256_mul_ps(v, _mm256_setzero_ps());
    return _mm256_movemask_ps(_mm256_cmp_ps(z, z, _CMP_UNORD_Q)) != 0;
}
inline bool near_half(F v, float eps) {
    const F frac = _mm256_sub_ps(v, _mm256_round_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
    const F dist = abs_f(_mm256_sub_ps(frac, _mm256_set1_ps(0.5f)));
    return _mm256_movemask_ps(_mm256_cmp_ps(dist, _mm256_set1_ps(eps), _CMP_LT_OQ)) != 0;
}
inline I round_half_away_i(F v) {
    const F t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256i up = _mm256_castps_si256(_mm256_cmp_ps(abs_f(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ));
    const __m256i negative = _mm256_castps_si256(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ));
    // step = +1 or -1 where up, else 0: (up & 1) - (up & negative & 2)
    const __m256i step = _mm256_sub_epi32(_mm256_and_si256(up, _mm256_set1_epi32(1)),
                                          _mm256_and_si256(_mm256_and_si256(up, negative), _mm256_set1_epi32(2)));
    return _mm256_add_epi32(_mm256_cvttps_epi32(t), step);
}
inline I store_f32_as_i8_rne(int8_t* out, F v) {
    const __m256i ordered = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_ORD_Q));
    const __m256i i = _mm256_and_si256(_mm256_cvtps_epi32(v), ordered);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packs_epi16(w, w));
    return _mm256_max_epi32(_mm256_min_epi32(i, _mm256_set1_epi32(127)), _mm256_set1_epi32(-128));
}
// clamp(v, lo, hi), with NaN -> 0 (the references' clamp_to).
inline F clamp_f(F v, float lo, float hi) {
    const F c = _mm256_max_ps(_mm256_set1_ps(lo), _mm256_min_ps(_mm256_set1_ps(hi), v));
    return _mm256_and_ps(c, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
}
inline void store_f32_as_i8_rne_clamp1(int8_t* out, F v) { store_f32_as_i8_rne(out, clamp_f(v, -1.0f, 1.0f)); }

struct AbsPartials16 {
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    void add(const float* w16) {
        const __m256 a = abs_f(_mm256_loadu_ps(w16));
        const __m256 b = abs_f(_mm256_loadu_ps(w16 + 8));
        acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(a)));
        acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)));
        acc[2] = _mm256_add_pd(acc[2], _mm256_cvtps_pd(_mm256_castps256_ps128(b)));
        acc[3] = _mm256_add_pd(acc[3], _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)));
    }
    void store(double* out16) const {
        for (int i = 0; i < 4; ++i) _mm256_storeu_pd(out16 + 4 * i, acc[i]);
    }
};

}  // namespace simd
}  // namespace

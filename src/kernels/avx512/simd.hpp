// The vector vocabulary the generic kernels (src/kernels/generic/) are written in, for
// AVX-512 (F/BW/VL/DQ), with VNNI's vpdpbusd when LOWBIT_VNNI is 1. Everything here has
// internal linkage: nothing compiled with these flags can leak into code that runs elsewhere.
#pragma once

// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_* values (GCC
// bug 105593, fixed in GCC 13); the warning is located in the header, so silence it there.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <cstring>

namespace {
namespace simd {

constexpr int kW = 64;  // bytes per vector
using B = __m512i;      // 64 x u8/s8
using I = __m512i;      // 16 x s32
using F = __m512;       // 16 x f32

inline B load_b(const void* p) { return _mm512_loadu_si512(p); }
inline B load_b_partial(const void* p, int n) {
    return _mm512_maskz_loadu_epi8(n >= 64 ? ~__mmask64{0} : ((__mmask64{1} << n) - 1), p);
}
inline void store_b(void* p, B v) { _mm512_storeu_si512(p, v); }
inline B splat_b(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
inline B zero_b() { return _mm512_setzero_si512(); }
inline B and_b(B a, B b) { return _mm512_and_si512(a, b); }
inline B or_b(B a, B b) { return _mm512_or_si512(a, b); }
inline B add_b(B a, B b) { return _mm512_add_epi8(a, b); }
inline B sub_b(B a, B b) { return _mm512_sub_epi8(a, b); }
// Per-byte logical shifts (16-bit shift, then mask off what crossed from the neighbour).
template <int N>
inline B srl_b(B v) {
    return _mm512_and_si512(_mm512_srli_epi16(v, N), _mm512_set1_epi8(static_cast<char>(0xFF >> N)));
}
// table16 holds a 16-byte table in each 128-bit lane; idx bytes in 0..15.
inline B lut_b(B table16, B idx) { return _mm512_shuffle_epi8(table16, idx); }
inline B table_b(const uint8_t* t16) { return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t16))); }
// Bytes b > k (unsigned) -> 1, else 0.
inline B gt_u8_b(B v, int k) {
    return _mm512_maskz_set1_epi8(_mm512_cmpgt_epu8_mask(v, _mm512_set1_epi8(static_cast<char>(k))), 1);
}
// (uint8_t)(b * k) per byte.
inline B mullo_b(B v, int k) {
    const __m512i kk = _mm512_set1_epi16(static_cast<short>(k));
    const __m512i even = _mm512_and_si512(_mm512_mullo_epi16(v, kk), _mm512_set1_epi16(0x00FF));
    const __m512i odd = _mm512_mullo_epi16(_mm512_and_si512(v, _mm512_set1_epi16(static_cast<short>(0xFF00))), kk);
    return _mm512_or_si512(even, _mm512_and_si512(odd, _mm512_set1_epi16(static_cast<short>(0xFF00))));
}
// Lanes where the bit of `bits` is set become 2 - v (a ternary code's negation).
inline B negate_codes_where(B codes, uint64_t bits) {
    return _mm512_mask_sub_epi8(codes, bits, _mm512_set1_epi8(2), codes);
}

inline I zero_i() { return _mm512_setzero_si512(); }
inline I add_i(I a, I b) { return _mm512_add_epi32(a, b); }
inline I sub_i(I a, I b) { return _mm512_sub_epi32(a, b); }
inline I mullo_i(I a, I b) { return _mm512_mullo_epi32(a, b); }
template <int N>
inline I srai_i(I v) {
    return _mm512_srai_epi32(v, N);
}
inline I load_i(const int32_t* p) { return _mm512_loadu_si512(p); }
inline void store_i(int32_t* p, I v) { _mm512_storeu_si512(p, v); }
inline I splat_i(int32_t v) { return _mm512_set1_epi32(v); }
// acc + per 32-bit lane the sum of 4 products u8(u) * s8(s). Exact when u <= 127 (the
// emulation's 16-bit pair sums cannot saturate then); with VNNI exact for any u.
inline I dot_i(I acc, B u, B s) {
#if LOWBIT_VNNI
    return _mm512_dpbusd_epi32(acc, u, s);
#else
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
#endif
}
// acc + per lane the sum of 4 products s8 * s8, exact for every input.
inline I dot_ss_i(I acc, B a, B b) {
    const __m512i alo = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(a));
    const __m512i ahi = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(a, 1));
    const __m512i blo = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(b));
    const __m512i bhi = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(b, 1));
    // madd pairs (2k, 2k+1) of each half; then fold so lane j sums bytes 4j..4j+3 of the input.
    const __m512i plo = _mm512_madd_epi16(alo, blo);  // lanes: pairs of bytes 0..31
    const __m512i phi = _mm512_madd_epi16(ahi, bhi);  // lanes: pairs of bytes 32..63
    const __m512i idx_even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i idx_odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512i even = _mm512_permutex2var_epi32(plo, idx_even, phi);
    const __m512i odd = _mm512_permutex2var_epi32(plo, idx_odd, phi);
    return _mm512_add_epi32(acc, _mm512_add_epi32(even, odd));
}
inline int32_t hsum_i(I v) { return _mm512_reduce_add_epi32(v); }

inline F zero_f() { return _mm512_setzero_ps(); }
inline F splat_f(float v) { return _mm512_set1_ps(v); }
inline F load_f(const float* p) { return _mm512_loadu_ps(p); }
inline void store_f(float* p, F v) { _mm512_storeu_ps(p, v); }
inline F add_f(F a, F b) { return _mm512_add_ps(a, b); }
inline F mul_f(F a, F b) { return _mm512_mul_ps(a, b); }
inline F div_f(F a, F b) { return _mm512_div_ps(a, b); }
inline F fma_f(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
inline F cvt_f(I v) { return _mm512_cvtepi32_ps(v); }
inline float hsum_f(F v) { return _mm512_reduce_add_ps(v); }
inline F abs_f(F v) { return _mm512_abs_ps(v); }
inline F max_f(F a, F b) { return _mm512_max_ps(a, b); }
inline float hmax_f(F v) { return _mm512_reduce_max_ps(v); }

// 16 int8 lanes [16P, 16P + 16) of v as floats, times d (one IEEE multiply each, as the
// scalar reference), stored at out[0..16).
template <int P>
inline void store_i8_piece_scaled(float* out, B v, float d) {
    const __m128i piece = _mm512_extracti32x4_epi32(v, P);
    _mm512_storeu_ps(out, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(piece)), _mm512_set1_ps(d)));
}

}  // namespace simd
}  // namespace

namespace {
namespace simd {

constexpr int kF = 16;  // floats per vector

// Round to nearest even (MXCSR default), NaN -> 0, saturate to int8, store kF bytes; returns
// the lanes as int32 (for sums).
inline I store_f32_as_i8_rne(int8_t* out, F v) {
    const __mmask16 ordered = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
    const __m512i i = _mm512_maskz_cvtps_epi32(ordered, v);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtsepi32_epi8(i));
    return _mm512_max_epi32(_mm512_min_epi32(i, _mm512_set1_epi32(127)), _mm512_set1_epi32(-128));
}

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

// Four planes whose lane i holds element 4i + l -> kW bytes each of natural order
// (out[k] = elements [kW k, kW (k + 1))).
inline void interleave4_b(B p0, B p1, B p2, B p3, B* out) {
    // Within each 128-bit lane: 16 elements of each plane -> 64 natural elements.
    const __m512i a = _mm512_unpacklo_epi8(p0, p1);  // per lane: e(4i), e(4i+1) for i = 0..7
    const __m512i b = _mm512_unpackhi_epi8(p0, p1);  // i = 8..15
    const __m512i c = _mm512_unpacklo_epi8(p2, p3);
    const __m512i d = _mm512_unpackhi_epi8(p2, p3);
    const __m512i r0 = _mm512_unpacklo_epi16(a, c);  // per lane: elements 0..15 of that lane's 64
    const __m512i r1 = _mm512_unpackhi_epi16(a, c);  // 16..31
    const __m512i r2 = _mm512_unpacklo_epi16(b, d);  // 32..47
    const __m512i r3 = _mm512_unpackhi_epi16(b, d);  // 48..63
    // Lane L of r_k holds natural elements 64 L + 16 k ..; gather them in order.
    const __m512i i0 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);   // r0.L0 r1.L0 r0.L1 r1.L1
    const __m512i i1 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);  // r0.L2 r1.L2 r0.L3 r1.L3
    const __m512i lo01 = _mm512_permutex2var_epi64(r0, i0, r1);
    const __m512i hi01 = _mm512_permutex2var_epi64(r0, i1, r1);
    const __m512i lo23 = _mm512_permutex2var_epi64(r2, i0, r3);
    const __m512i hi23 = _mm512_permutex2var_epi64(r2, i1, r3);
    // lo01 = [L0: 0..15, 16..31 | L1: 64.., 80..]; lo23 = [L0: 32.., 48.. | L1: 96.., 112..]
    const __m512i j0 = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11);
    const __m512i j1 = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
    out[0] = _mm512_permutex2var_epi64(lo01, j0, lo23);
    out[1] = _mm512_permutex2var_epi64(lo01, j1, lo23);
    out[2] = _mm512_permutex2var_epi64(hi01, j0, hi23);
    out[3] = _mm512_permutex2var_epi64(hi01, j1, hi23);
}

// Two planes whose lane i holds element 2i + l -> natural order (out[k] = elements
// [kW k, kW (k + 1))).
inline void interleave2_b(B p0, B p1, B* out) {
    const __m512i a = _mm512_unpacklo_epi8(p0, p1);  // per lane L: elements 32 L + 0..15
    const __m512i b = _mm512_unpackhi_epi8(p0, p1);  // per lane L: elements 32 L + 16..31
    out[0] = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), b);
    out[1] = _mm512_permutex2var_epi64(a, _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15), b);
}

// 16 int32 lanes as floats, affine: v * d + m (two roundings, no FMA, as the reference).
inline void store_i32_affine(float* out, I v, float d, float m) {
    _mm512_storeu_ps(out, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(d)), _mm512_set1_ps(m)));
}
// 16 uint8 lanes [16P, 16P + 16) widened to int32.
template <int P>
inline I widen_u8_piece(B v) {
    return _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, P));
}
template <int P>
inline I widen_s8_piece(B v) {
    return _mm512_cvtepi8_epi32(_mm512_extracti32x4_epi32(v, P));
}

}  // namespace simd
}  // namespace

namespace {
namespace simd {
// Like store_f32_as_i8_rne, clamping to [-1, 1] first.
inline void store_f32_as_i8_rne_clamp1(int8_t* out, F v) {
    // operand order keeps a NaN (min/max return the second operand when one is NaN)
    const F c = _mm512_max_ps(_mm512_set1_ps(-1.0f), _mm512_min_ps(_mm512_set1_ps(1.0f), v));
    store_f32_as_i8_rne(out, c);
}
}  // namespace simd
}  // namespace

namespace {
namespace simd {
// ---- dequantization helpers: kF codes as int32 lanes, mapped to floats ----
inline I and_i(I a, I b) { return _mm512_and_si512(a, b); }
template <int N>
inline I srl_i(I v) {
    return _mm512_srli_epi32(v, N);
}
// kF bytes at p, zero-extended.
inline I load_u8_as_i32(const uint8_t* p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline I load_s8_as_i32(const uint8_t* p) {
    return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
// kF 2-bit codes stored LSB-first and sequentially in kF / 4 bytes at p.
inline I unpack2_seq(const uint8_t* p) {
    uint32_t word;
    __builtin_memcpy(&word, p, 4);
    const __m512i shifts = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_and_si512(_mm512_srlv_epi32(_mm512_set1_epi32(static_cast<int>(word)), shifts), _mm512_set1_epi32(3));
}
// kF 4-bit codes stored LSB-first and sequentially in kF / 2 bytes at p.
inline I unpack4_seq(const uint8_t* p) {
    uint64_t word;
    __builtin_memcpy(&word, p, 8);
    const __m512i shifts = _mm512_setr_epi64(0, 4, 8, 12, 16, 20, 24, 28);
    const __m512i lo = _mm512_srlv_epi64(_mm512_set1_epi64(static_cast<long long>(word)), shifts);
    const __m512i hi = _mm512_srlv_epi64(_mm512_set1_epi64(static_cast<long long>(word >> 32)), shifts);
    // 64-bit lanes k hold nibble k in bits 0-3: pack the low dwords of lo then hi.
    const __m512i both = _mm512_permutex2var_epi32(
        lo, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), hi);
    return _mm512_and_si512(both, _mm512_set1_epi32(15));
}
// A table of up to kF floats; lookup by lane index (0 <= idx < kF).
inline F table_f(const float* t) { return _mm512_loadu_ps(t); }
inline F lookup_f(I idx, F table) { return _mm512_permutexvar_ps(idx, table); }
// (float)v * d for each lane: one conversion and one multiply, as the scalar reference.
inline F scaled_f(I v, float d) { return _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(d)); }
inline I sub_i_const(I v, int k) { return _mm512_sub_epi32(v, _mm512_set1_epi32(k)); }
}  // namespace simd
}  // namespace

namespace {
namespace simd {
inline I set_lane0_i(int32_t v) { return _mm512_maskz_set1_epi32(1, v); }
}  // namespace simd
}  // namespace

namespace {
namespace simd {
// Lane i takes if_set where bit i of `bits` is 1, else if_clear.
inline B select_b(uint64_t bits, B if_set, B if_clear) { return _mm512_mask_blend_epi8(bits, if_clear, if_set); }
}  // namespace simd
}  // namespace

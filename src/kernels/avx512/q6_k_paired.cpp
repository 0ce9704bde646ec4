// Q6_K, variant "paired_halves", AVX-512 levels: blocks decoded in an element order where vector
// m (0..3) holds elements 32 m + i in lanes i < 32 and 128 + 32 m + i in lanes 32 + i. In that
// order the codes come from three 64-byte loads with immediate shifts (lanes i and 32 + i share
// the position of their ql and qh bytes in the two halves); the activations are permuted to it
// once, when packed. Four rows are read in step, one from each stream. The integer sums are
// exact and each row's float sum takes its blocks in order: the bits of the generic Q6_K kernels
// (q6_k.inl). Kernel benchmark 12% faster, Q6_K-head generation about 5% faster than the generic
// order at avx512_vnni (docs/BENCHMARKS.md), so it is the level's preferred Q6_K product.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../level_table.hpp"
#include "lowbit/fp16.hpp"
#include "simd.hpp"

namespace lowbit::kernels::LOWBIT_LEVEL_NS {

#include "../generic/common.inl"
#include "../generic/q6_k_blocks.inl"

namespace q6_k_paired {

using namespace simd;

// acc plus the scaled products of one block, as dot_q6_k_i over the block in element order.
inline I block_lanes(I acc, const uint8_t* blk, const int8_t* paired_a, Q6kScales sc) {
    const __m512i ql_lo = _mm512_loadu_si512(blk), ql_hi = _mm512_loadu_si512(blk + 64);
    const __m512i qh = _mm512_loadu_si512(blk + 128);
    const __m512i s0 = _mm512_shuffle_i64x2(ql_lo, ql_hi, _MM_SHUFFLE(1, 0, 1, 0));  // ql 0..31, 64..95
    const __m512i s1 = _mm512_shuffle_i64x2(ql_lo, ql_hi, _MM_SHUFFLE(3, 2, 3, 2));  // ql 32..63, 96..127
    const __m512i low_nibble = _mm512_set1_epi8(0x0F), high_field = _mm512_set1_epi8(0x30);
    // code = low nibble | (2 high bits << 4): ternary logic 0xE4 takes bits 0-3 of the first
    // operand and bits 4-7 of the second (whose bits 6-7 are masked off)
    const __m512i u[4] = {
        _mm512_ternarylogic_epi32(s0, _mm512_and_si512(_mm512_slli_epi16(qh, 4), high_field), low_nibble, 0xE4),
        _mm512_ternarylogic_epi32(s1, _mm512_and_si512(_mm512_slli_epi16(qh, 2), high_field), low_nibble, 0xE4),
        _mm512_ternarylogic_epi32(_mm512_srli_epi16(s0, 4), _mm512_and_si512(qh, high_field), low_nibble, 0xE4),
        _mm512_ternarylogic_epi32(_mm512_srli_epi16(s1, 4), _mm512_and_si512(_mm512_srli_epi16(qh, 2), high_field),
                                  low_nibble, 0xE4),
    };
    for (int m = 0; m < 4; ++m) {
        // int16 lane k (elements of lanes 2k, 2k + 1): scale 2 m + (k / 8) % 2, plus 8 for k >= 16
        const __m512i index = _mm512_add_epi16(_mm512_set1_epi16(static_cast<short>(2 * m)),
                                               _mm512_set_epi16(9, 9, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8, 8, 1, 1, 1,
                                                                1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0));
        const __m512i pairs = _mm512_maddubs_epi16(u[m], _mm512_loadu_si512(paired_a + 64 * m));  // u <= 63: exact
#if LOWBIT_VNNI
        acc = _mm512_dpwssd_epi32(acc, pairs, _mm512_permutexvar_epi16(index, sc));
#else
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_permutexvar_epi16(index, sc)));
#endif
    }
    return acc;
}

// Packed token: q6_k's offset sums, then the activations in paired order (cols bytes).
inline int64_t sums_bytes(int64_t cols) { return cols / 16 * 4; }

std::size_t pack_bytes(int64_t cols, int64_t tokens) {
    return static_cast<std::size_t>(q6_k::token_bytes(cols, cols) * tokens);
}

void pack(const ActivationsI8& x, int64_t token_begin, int64_t token_end, uint8_t* out) {
    for (int64_t t = token_begin; t < token_end; ++t) {
        uint8_t* dst = out + t * q6_k::token_bytes(x.cols, x.cols);
        const int8_t* a = x.q + t * x.stride;
        q6_k::offset_sums(a, x.cols, reinterpret_cast<int32_t*>(dst));
        int8_t* paired = reinterpret_cast<int8_t*>(dst + sums_bytes(x.cols));
        for (int64_t b = 0; b < x.cols; b += q6_k::kBlock) {
            for (int m = 0; m < 4; ++m) {
                __builtin_memcpy(paired + b + 64 * m, a + b + 32 * m, 32);
                __builtin_memcpy(paired + b + 64 * m + 32, a + b + 128 + 32 * m, 32);
            }
        }
    }
}

void gemm_packed(const WeightView& w, int64_t row_begin, int64_t row_end, const PackedActivationsI8& p, float* y,
                 int64_t y_stride) {
    using q6_k::kBlock;
    using q6_k::kBlockBytes;
    const int64_t blocks = w.cols / kBlock;
    // block b of a row against token t: the term the row's float sum adds
    const auto term = [&](const uint8_t* row, int64_t b, int64_t t) {
        const int32_t* sums32 = q6_k::sums_of(p, t, w.cols);
        const auto* paired = reinterpret_cast<const int8_t*>(sums32) + sums_bytes(w.cols);
        const uint8_t* blk = row + kBlockBytes * b;
        const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
        const int32_t isum = q6_k::minus_offsets_sum(
            block_lanes(zero_i(), blk, paired + kBlock * b, load_q6_k_scales(sc)), sc, sums32 + 16 * b);
        return q6_k::block_term(blk, isum);
    };
    // Four rows in step, one from each stream (with this decode they read faster from memory
    // than one row at a time); each row's float sum still takes its blocks in order.
    const auto four = [&](int64_t first, int64_t step) {
        const uint8_t* rows[4];
        for (int k = 0; k < 4; ++k) rows[k] = w.data + (first + k * step) * blocks * kBlockBytes;
        for (int64_t t = 0; t < p.x.rows; ++t) {
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (int64_t b = 0; b < blocks; ++b) {
                for (int k = 0; k < 4; ++k) acc[k] += term(rows[k], b, t);
            }
            for (int k = 0; k < 4; ++k) y[t * y_stride + (first + k * step - row_begin)] = acc[k] / p.x.scale[t];
        }
    };
    const auto one = [&](int64_t r) {
        const uint8_t* row = w.data + r * blocks * kBlockBytes;
        for (int64_t t = 0; t < p.x.rows; ++t) {
            float acc = 0.0f;
            for (int64_t b = 0; b < blocks; ++b) acc += term(row, b, t);
            y[t * y_stride + (r - row_begin)] = acc / p.x.scale[t];
        }
    };
    for_rows_as_four_streams(row_begin, row_end, blocks * kBlockBytes, four, one);
}

void gemv(const WeightView& w, int64_t r0, int64_t r1, const ActivationRowI8& x, float* y) {
    gemv_via_pack<&pack_bytes, &pack, &gemm_packed>(w, r0, r1, x, y);
}
void gemm(const WeightView& w, int64_t r0, int64_t r1, const ActivationsI8& x, float* y, int64_t s) {
    gemm_via_pack<&pack_bytes, &pack, &gemm_packed>(w, r0, r1, x, y, s);
}

constexpr Kernels variant_kernels() {
    Kernels k;
    k.gemv_i8 = &gemv;
    k.gemm_i8 = &gemm;
    k.pack_bytes = &pack_bytes;
    k.pack = &pack;
    k.gemm_packed = &gemm_packed;
    return k;
}

constexpr TypeKernels kTypes[] = {{TypeId::Q6_K, variant_kernels()}};

}  // namespace q6_k_paired
}  // namespace lowbit::kernels::LOWBIT_LEVEL_NS

namespace lowbit::kernels {
extern const VariantTable LOWBIT_VARIANT_TABLE(Q6kPairedHalves);
const VariantTable LOWBIT_VARIANT_TABLE(Q6kPairedHalves) = {
    "paired_halves", LOWBIT_LEVEL_NS::q6_k_paired::kTypes,
    sizeof(LOWBIT_LEVEL_NS::q6_k_paired::kTypes) / sizeof(LOWBIT_LEVEL_NS::q6_k_paired::kTypes[0]), true};
}  // namespace lowbit::kernels

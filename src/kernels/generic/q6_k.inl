// Q6_K against int8 activations, straight from the blocks (the "natural" engine's
// decode-to-bytes pass made these 3-4x slower; Q6_K is the usual LM head, the largest tensor).
//
// In a 128-element half block the low nibbles of ql[0..63] are elements 0..63 in order and the
// high nibbles elements 64..127, so kW elements at a time come from one ql load plus their
// high bits (q6_k_high_bits_b). Per block, with a the activations and s its 16-element sums:
//   sum_k sc[k/16] (u_k - 32) a_k = sum_k sc[k/16] u_k a_k - 32 sum_s sc[s] s_s
// exactly in int32 (|.| < 2^28); the block then contributes d * float(that), in block order:
// the scalar reference's arithmetic, so the result equals it bit for bit.
//
// The AVX-512 levels' GEMV (LOWBIT_Q6_K_PAIRED_HALVES) decodes in another element order, where
// the codes come from three loads and immediate shifts (q6_k_dot_paired), and permutes the
// activations to that order once per call; it reads four rows in step, one per stream. Kernel
// benchmark 12% faster, Q6_K-head generation about 5% faster (docs/BENCHMARKS.md).

namespace q6_k {

constexpr int64_t kBlock = 256;
constexpr int64_t kBlockBytes = 210;

// 32 * the sum of each 16 activations (the offset term's factor).
inline void offset_sums(const int8_t* a, int64_t cols, int32_t* out) {
    for (int64_t s = 0; s < cols / 16; ++s) out[s] = 32 * sum_i8(a + 16 * s, 16);
}

// The block's integer dot product: its lanes minus 32 sum_s sc[s] s_s (sums32 holds 32 s_s).
inline int32_t minus_offsets_sum(simd::I acc, const int8_t* sc, const int32_t* sums32) {
    using namespace simd;
    for (int s = 0; s < 16; s += kF) {
        acc = sub_i(acc, mullo_i(load_s8_as_i32(reinterpret_cast<const uint8_t*>(sc + s)), load_i(sums32 + s)));
    }
    return hsum_i(acc);
}

inline int32_t block_dot(const uint8_t* blk, const int8_t* a, const int32_t* sums32) {
    using namespace simd;
    const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
    const Q6kScales scales = load_q6_k_scales(sc);
    I acc = zero_i();
    for (int h = 0; h < 2; ++h) {
        const uint8_t* ql = blk + 64 * h;
        const uint8_t* qh = blk + 128 + 32 * h;
        for (int e = 0; e < 128; e += kW) {
            const B bytes = load_b(ql + e % 64);
            const B low = e < 64 ? and_b(bytes, splat_b(15)) : srl_b<4>(bytes);
            const B u = add_b(low, q6_k_high_bits_b(qh, e));  // disjoint bits: add is or
            acc = dot_q6_k_i(acc, u, load_b(a + 128 * h + e), scales, 128 * h + e);  // u <= 63: exact
        }
    }
    return minus_offsets_sum(acc, sc, sums32);
}

#if defined(LOWBIT_Q6_K_PAIRED_HALVES)
// The activations in the order of q6_k_dot_paired: per block, vector m = elements
// 32 m .. 32 m + 31, then 128 + 32 m .. 128 + 32 m + 31.
inline void pair_halves(const int8_t* a, int64_t cols, int8_t* out) {
    for (int64_t b = 0; b < cols; b += kBlock) {
        for (int m = 0; m < 4; ++m) {
            __builtin_memcpy(out + b + 64 * m, a + b + 32 * m, 32);
            __builtin_memcpy(out + b + 64 * m + 32, a + b + 128 + 32 * m, 32);
        }
    }
}

inline int32_t block_dot_paired(const uint8_t* blk, const int8_t* paired_a, const int32_t* sums32) {
    using namespace simd;
    const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
    return minus_offsets_sum(q6_k_dot_paired(zero_i(), blk, paired_a, load_q6_k_scales(sc)), sc, sums32);
}
#endif

inline float row_dot(const uint8_t* row, int64_t blocks, const int8_t* a, const int32_t* sums32) {
    float acc = 0.0f;
    for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* blk = row + kBlockBytes * b;
        acc += load_f16_scale(blk + 208) * static_cast<float>(block_dot(blk, a + kBlock * b, sums32 + 16 * b));
    }
    return acc;
}

inline void gemv(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationRowI8& x, float* y) {
    const int64_t blocks = w.cols / kBlock;
    Scratch scratch(static_cast<std::size_t>(w.cols / 16) * sizeof(int32_t));
    auto* sums32 = reinterpret_cast<int32_t*>(scratch.data());
    offset_sums(x.q, w.cols, sums32);
#if defined(LOWBIT_Q6_K_PAIRED_HALVES)
    Scratch paired_scratch(static_cast<std::size_t>(w.cols));
    pair_halves(x.q, w.cols, paired_scratch.data());
    const int8_t* paired = paired_scratch.data();
    // block b of a row: d * float(its integer dot product), the term the row's float sum adds
    const auto term = [&](const uint8_t* row, int64_t b) {
        const uint8_t* blk = row + kBlockBytes * b;
        return load_f16_scale(blk + 208) * static_cast<float>(block_dot_paired(blk, paired + kBlock * b, sums32 + 16 * b));
    };
    // Four rows in step, one from each stream (with this decode they read faster from memory
    // than one row at a time); each row's float sum still takes its blocks in order.
    const auto four = [&](int64_t first, int64_t step) {
        const uint8_t* rows[4];
        float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int k = 0; k < 4; ++k) rows[k] = w.data + (first + k * step) * blocks * kBlockBytes;
        for (int64_t b = 0; b < blocks; ++b) {
            for (int k = 0; k < 4; ++k) acc[k] += term(rows[k], b);
        }
        for (int k = 0; k < 4; ++k) y[first + k * step - row_begin] = acc[k] / x.scale;
    };
    const auto one = [&](int64_t r) {
        const uint8_t* row = w.data + r * blocks * kBlockBytes;
        float acc = 0.0f;
        for (int64_t b = 0; b < blocks; ++b) acc += term(row, b);
        y[r - row_begin] = acc / x.scale;
    };
    for_rows_as_four_streams(row_begin, row_end, blocks * kBlockBytes, four, one);
#else
    const auto one = [&](int64_t r) {
        y[r - row_begin] = row_dot(w.data + r * blocks * kBlockBytes, blocks, x.q, sums32) / x.scale;
    };
    // one row at a time, taken from four streams in turn (four adjacent rows in step were slower
    // from memory with this decode, measured before the four-stream order)
    for_rows_as_four_streams(row_begin, row_end, blocks * kBlockBytes, one);
#endif
}

inline void gemm(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationsI8& x, float* y,
                 int64_t y_stride) {
    const int64_t blocks = w.cols / kBlock;
    const int64_t per_token = w.cols / 16;
    Scratch scratch(static_cast<std::size_t>(per_token * x.rows) * sizeof(int32_t));
    auto* sums32 = reinterpret_cast<int32_t*>(scratch.data());
    for (int64_t t = 0; t < x.rows; ++t) offset_sums(x.q + t * x.stride, w.cols, sums32 + t * per_token);
    for (int64_t r = row_begin; r < row_end; ++r) {
        const uint8_t* row = w.data + r * blocks * kBlockBytes;  // stays in L1 across the tokens
        for (int64_t t = 0; t < x.rows; ++t) {
            y[t * y_stride + (r - row_begin)] =
                row_dot(row, blocks, x.q + t * x.stride, sums32 + t * per_token) / x.scale[t];
        }
    }
}

}  // namespace q6_k

void q6_k_gemv(const WeightView& w, int64_t r0, int64_t r1, const ActivationRowI8& x, float* y) {
    q6_k::gemv(w, r0, r1, x, y);
}
void q6_k_gemm(const WeightView& w, int64_t r0, int64_t r1, const ActivationsI8& x, float* y, int64_t s) {
    q6_k::gemm(w, r0, r1, x, y, s);
}

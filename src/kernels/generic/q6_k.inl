// Q6_K against int8 activations, straight from the blocks (the "natural" engine's
// decode-to-bytes pass made these 3-4x slower; Q6_K is the usual LM head, the largest tensor).
// The block arithmetic is in q6_k_blocks.inl; rows are read as four streams, one row at a time
// (four adjacent rows in step were slower from memory with this decode, measured before the
// four-stream order), each row once for every token. The AVX-512 levels prefer a variant with
// another element order (avx512/q6_k_paired.cpp).

#include "q6_k_blocks.inl"

namespace q6_k {

inline std::size_t pack_bytes(int64_t cols, int64_t tokens) { return static_cast<std::size_t>(token_bytes(cols, 0) * tokens); }

inline void pack(const ActivationsI8& x, int64_t token_begin, int64_t token_end, uint8_t* out) {
    for (int64_t t = token_begin; t < token_end; ++t) {
        offset_sums(x.q + t * x.stride, x.cols, reinterpret_cast<int32_t*>(out + t * token_bytes(x.cols, 0)));
    }
}

inline void gemm_packed(const WeightView& w, int64_t row_begin, int64_t row_end, const PackedActivationsI8& p, float* y,
                        int64_t y_stride) {
    const int64_t blocks = w.cols / kBlock;
    const auto one = [&](int64_t r) {
        const uint8_t* row = w.data + r * blocks * kBlockBytes;  // stays in L1 across the tokens
        for (int64_t t = 0; t < p.x.rows; ++t) {
            y[t * y_stride + (r - row_begin)] = row_dot(row, blocks, p.x.q + t * p.x.stride, sums_of(p, t, 0)) / p.x.scale[t];
        }
    };
    for_rows_as_four_streams(row_begin, row_end, blocks * kBlockBytes, one);
}

}  // namespace q6_k

std::size_t q6_k_pack_bytes(int64_t cols, int64_t tokens) { return q6_k::pack_bytes(cols, tokens); }
void q6_k_pack(const ActivationsI8& x, int64_t t0, int64_t t1, uint8_t* out) { q6_k::pack(x, t0, t1, out); }
void q6_k_gemm_packed(const WeightView& w, int64_t r0, int64_t r1, const PackedActivationsI8& x, float* y, int64_t s) {
    q6_k::gemm_packed(w, r0, r1, x, y, s);
}
LOWBIT_PACKED_ENTRY_POINTS(q6_k)

// Q8_0 against int8 activations, straight from the blocks (the "natural" engine's decode pass
// ran at a quarter of this; Q8_0 is a near-lossless re-quantized head, --head-type q8_0).
// Per vector: the exact integer sums of 4 products per lane (VNNI: (s + 128) a minus 128 a,
// the latter computed once per call), then scale * that added in float lanes, the scale being
// each lane's block's d. Not the reference's order of float additions: within the tolerance.

namespace q8_0 {

constexpr int64_t kBlockBytes = 34;
constexpr int64_t kBlocksPerVector = simd::kW >= 32 ? simd::kW / 32 : 1;
constexpr int64_t kVectorsPerBlock = simd::kW >= 32 ? 1 : 32 / simd::kW;

// 128 * (sum of each 4 activations), the VNNI offset's correction.
inline void offset_lanes(const int8_t* a, int64_t cols, int32_t* out) {
    for (int64_t l = 0; l < cols / 4; ++l) out[l] = 128 * (a[4 * l] + a[4 * l + 1] + a[4 * l + 2] + a[4 * l + 3]);
}

inline float row_dot(const uint8_t* row, int64_t blocks, const int8_t* a, const int32_t* offsets) {
    using namespace simd;
    F acc = zero_f();
    int64_t b = 0;
    for (; b + kBlocksPerVector <= blocks; b += kBlocksPerVector) {
        float d[2] = {};
        for (int64_t i = 0; i < kBlocksPerVector; ++i) d[i] = load_f16_scale(row + (b + i) * kBlockBytes);
        for (int64_t v = 0; v < kVectorsPerBlock; ++v) {
            const B s = load_b_32s(row + b * kBlockBytes + 2 + v * kW, kBlockBytes);
            const int64_t k = b * 32 + v * kW;
            const B x = load_b(a + k);
            I isum;
            if constexpr (kDotAnyU) {
                isum = sub_i(dot_i(zero_i(), xor_b(s, splat_b(0x80)), x), load_i(offsets + k / 4));
            } else {
                isum = dot_ss_i(zero_i(), s, x);
            }
            acc = fma_f(cvt_f(isum), splat_per8_f(d), acc);
        }
    }
    float total = hsum_f(acc);
    // a last odd block when a vector holds two, as a half-filled vector: g++ 12 -O3 with
    // -mavx512vnni -mavx512vl (or -mavxvnni) turns a scalar sum of int8 x int8 products into
    // vpdpbusd, which treats one side as unsigned (wrong sums; clang 14 is right)
    for (; b < blocks; ++b) {
        const uint8_t* blk = row + b * kBlockBytes;
        const I isum = dot_ss_i(zero_i(), load_b_partial(blk + 2, 32), load_b_partial(a + b * 32, 32));
        total += load_f16_scale(blk) * static_cast<float>(hsum_i(isum));
    }
    return total;
}

inline void gemv(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationRowI8& x, float* y) {
    const int64_t blocks = w.cols / 32;
    Scratch scratch(static_cast<std::size_t>(w.cols / 4) * sizeof(int32_t));
    auto* offsets = reinterpret_cast<int32_t*>(scratch.data());
    offset_lanes(x.q, w.cols, offsets);
    for (int64_t r = row_begin; r < row_end; ++r) {
        y[r - row_begin] = row_dot(w.data + r * blocks * kBlockBytes, blocks, x.q, offsets) / x.scale;
    }
}

inline void gemm(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationsI8& x, float* y,
                 int64_t y_stride) {
    const int64_t blocks = w.cols / 32;
    const int64_t per_token = w.cols / 4;
    Scratch scratch(static_cast<std::size_t>(per_token * x.rows) * sizeof(int32_t));
    auto* offsets = reinterpret_cast<int32_t*>(scratch.data());
    for (int64_t t = 0; t < x.rows; ++t) offset_lanes(x.q + t * x.stride, w.cols, offsets + t * per_token);
    for (int64_t r = row_begin; r < row_end; ++r) {
        const uint8_t* row = w.data + r * blocks * kBlockBytes;
        for (int64_t t = 0; t < x.rows; ++t) {
            y[t * y_stride + (r - row_begin)] =
                row_dot(row, blocks, x.q + t * x.stride, offsets + t * per_token) / x.scale[t];
        }
    }
}

}  // namespace q8_0

void q8_0_gemv(const WeightView& w, int64_t r0, int64_t r1, const ActivationRowI8& x, float* y) {
    q8_0::gemv(w, r0, r1, x, y);
}
void q8_0_gemm(const WeightView& w, int64_t r0, int64_t r1, const ActivationsI8& x, float* y, int64_t s) {
    q8_0::gemm(w, r0, r1, x, y, s);
}

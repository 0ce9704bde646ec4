// Q8_0 and Q4_0 against int8 activations, straight from the blocks of 32 (the "natural"
// engine's decode pass ran at a quarter of this speed; these are the --head-type q8_0/q4_0
// heads). Per vector: the exact integer sums of 4 products per lane, made unsigned-by-signed
// ((s + 128) a for Q8_0 with VNNI, the 4-bit codes u as they are) and corrected by the
// offset times the lane's activation sum (computed once per call); then d times that added in
// float lanes, d being each lane's block scale. Not the reference's order of float additions:
// within the documented tolerance.

namespace block32 {

constexpr int64_t kBlocksPerVector = simd::kW >= 32 ? simd::kW / 32 : 1;
constexpr int64_t kVectorsPerBlock = simd::kW >= 32 ? 1 : 32 / simd::kW;

struct Q8_0 {
    static constexpr int64_t kBytes = 34;  // f16 d, int8 qs[32]
    static constexpr int32_t kOffset = simd::kDotAnyU ? 128 : 0;
    // unsigned codes u (value u - kOffset) of vector v of the kBlocksPerVector blocks at blk
    static simd::B codes(const uint8_t* blk, int64_t v) {
        const simd::B s = simd::load_b_32s(blk + 2 + v * simd::kW, kBytes);
        return kOffset != 0 ? simd::xor_b(s, simd::splat_b(0x80)) : s;
    }
    static simd::I dot(const simd::B u, const simd::B a) {
        return kOffset != 0 ? simd::dot_i(simd::zero_i(), u, a) : simd::dot_ss_i(simd::zero_i(), u, a);
    }
};

struct Q4_0 {
    static constexpr int64_t kBytes = 18;  // f16 d, qs[16]: element j low nibble, j + 16 high
    static constexpr int32_t kOffset = 8;
    static simd::B codes(const uint8_t* blk, int64_t v) { return simd::load_nibbles_b(blk + 2, kBytes, static_cast<int>(v)); }
    static simd::I dot(const simd::B u, const simd::B a) { return simd::dot_i(simd::zero_i(), u, a); }  // u <= 15
};

// offset * (sum of each 4 activations)
template <class T>
inline void offset_lanes(const int8_t* a, int64_t cols, int32_t* out) {
    for (int64_t l = 0; l < cols / 4; ++l) out[l] = T::kOffset * (a[4 * l] + a[4 * l + 1] + a[4 * l + 2] + a[4 * l + 3]);
}

// kBlocksPerVector blocks at blk against the activations a (offsets: their offset lanes).
template <class T>
inline simd::F group_dot(const uint8_t* blk, const int8_t* a, const int32_t* offsets, simd::F acc) {
    using namespace simd;
    float d[2] = {};
    for (int64_t i = 0; i < kBlocksPerVector; ++i) d[i] = load_f16_scale(blk + i * T::kBytes);
    for (int64_t v = 0; v < kVectorsPerBlock; ++v) {
        I isum = T::dot(T::codes(blk, v), load_b(a + v * kW));
        if constexpr (T::kOffset != 0) isum = sub_i(isum, load_i(offsets + v * kW / 4));
        acc = fma_f(cvt_f(isum), splat_per8_f(d), acc);
    }
    return acc;
}

template <class T>
inline float row_dot(const uint8_t* row, int64_t blocks, const int8_t* a, const int32_t* offsets) {
    using namespace simd;
    F acc = zero_f();
    int64_t b = 0;
    for (; b + kBlocksPerVector <= blocks; b += kBlocksPerVector) {
        acc = group_dot<T>(row + b * T::kBytes, a + b * 32, offsets + b * 8, acc);
    }
    if (b < blocks) {
        // a last odd block when a vector holds two: copied next to a zero block (d = 0), so
        // that nothing is read past the row
        alignas(64) uint8_t blk[2 * T::kBytes] = {};
        alignas(64) int8_t x[64] = {};
        alignas(64) int32_t off[16] = {};
        __builtin_memcpy(blk, row + b * T::kBytes, T::kBytes);
        __builtin_memcpy(x, a + b * 32, 32);
        __builtin_memcpy(off, offsets + b * 8, 32);
        acc = group_dot<T>(blk, x, off, acc);
    }
    return hsum_f(acc);
}

// Packed token: its offset lanes (cols / 4 int32), rounded to 64 bytes.
inline int64_t token_bytes(int64_t cols) { return (cols / 4 * 4 + 63) / 64 * 64; }

template <class T>
std::size_t pack_bytes(int64_t cols, int64_t tokens) { return static_cast<std::size_t>(token_bytes(cols) * tokens); }

template <class T>
void pack(const ActivationsI8& x, int64_t token_begin, int64_t token_end, uint8_t* out) {
    for (int64_t t = token_begin; t < token_end; ++t) {
        offset_lanes<T>(x.q + t * x.stride, x.cols, reinterpret_cast<int32_t*>(out + t * token_bytes(x.cols)));
    }
}

// One row at a time, taken from four streams in turn, each row once for every token.
template <class T>
void gemm_packed(const WeightView& w, int64_t row_begin, int64_t row_end, const PackedActivationsI8& p, float* y,
                 int64_t y_stride) {
    const int64_t blocks = w.cols / 32;
    const auto one = [&](int64_t r) {
        const uint8_t* row = w.data + r * blocks * T::kBytes;  // stays in L1 across the tokens
        for (int64_t t = 0; t < p.x.rows; ++t) {
            const auto* offsets = reinterpret_cast<const int32_t*>(p.data + t * token_bytes(w.cols));
            y[t * y_stride + (r - row_begin)] = row_dot<T>(row, blocks, p.x.q + t * p.x.stride, offsets) / p.x.scale[t];
        }
    };
    for_rows_as_four_streams(row_begin, row_end, blocks * T::kBytes, one);
}

}  // namespace block32

#define LOWBIT_BLOCK32_KERNELS(name, T)                                                                       \
    std::size_t name##_pack_bytes(int64_t cols, int64_t tokens) { return block32::pack_bytes<T>(cols, tokens); } \
    void name##_pack(const ActivationsI8& x, int64_t t0, int64_t t1, uint8_t* out) {                             \
        block32::pack<T>(x, t0, t1, out);                                                                      \
    }                                                                                                           \
    void name##_gemm_packed(const WeightView& w, int64_t r0, int64_t r1, const PackedActivationsI8& x, float* y, \
                            int64_t s) {                                                                        \
        block32::gemm_packed<T>(w, r0, r1, x, y, s);                                                           \
    }                                                                                                           \
    LOWBIT_PACKED_ENTRY_POINTS(name)

LOWBIT_BLOCK32_KERNELS(q8_0, block32::Q8_0)
LOWBIT_BLOCK32_KERNELS(q4_0, block32::Q4_0)

// Q6_K blocks against int8 activations (included by q6_k.inl and by the format's SIMD
// variants): the integer dot product of one block, exact, and a row's float sum over its blocks.
//
// In a 128-element half block the low nibbles of ql[0..63] are elements 0..63 in order and the
// high nibbles elements 64..127, so kW elements at a time come from one ql load plus their
// high bits (q6_k_high_bits_b). Per block, with a the activations and s its 16-element sums:
//   sum_k sc[k/16] (u_k - 32) a_k = sum_k sc[k/16] u_k a_k - 32 sum_s sc[s] s_s
// exactly in int32 (|.| < 2^28); the block then contributes d * float(that), in block order:
// the scalar reference's arithmetic, so the result equals it bit for bit.

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

// Block b's term of a row's float sum: d * float(its integer dot product).
inline float block_term(const uint8_t* blk, int32_t isum) { return load_f16_scale(blk + 208) * static_cast<float>(isum); }

inline float row_dot(const uint8_t* row, int64_t blocks, const int8_t* a, const int32_t* sums32) {
    float acc = 0.0f;
    for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* blk = row + kBlockBytes * b;
        acc += block_term(blk, block_dot(blk, a + kBlock * b, sums32 + 16 * b));
    }
    return acc;
}

// Packed activations of one token: its offset sums (cols / 16 int32), then `extra` bytes a
// variant may add, rounded to 64 bytes.
inline int64_t token_bytes(int64_t cols, int64_t extra) { return (cols / 16 * 4 + extra + 63) / 64 * 64; }
inline const int32_t* sums_of(const PackedActivationsI8& p, int64_t t, int64_t extra) {
    return reinterpret_cast<const int32_t*>(p.data + t * token_bytes(p.x.cols, extra));
}

}  // namespace q6_k

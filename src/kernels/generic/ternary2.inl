// I2_S and TQ2_0: ternary 2-bit codes where a byte holds elements 32 apart.
//
// Both place element 128 g + 32 l + m (g: a 32-byte run of code bytes, m = 0..31) in byte
// 32 g + m of the row's code bytes; I2_S at shift 6 - 2 l, TQ2_0 at shift 2 l. So one
// activation order serves both: chunk c (kW code bytes), plane l, lane i holds the activation
// of element 128 * (j / 32) + 32 l + j % 32 with j = c kW + i, and each plane of a weight
// chunk is ((w >> shift) & 3) lined up with it.

namespace ternary2 {

constexpr int kPlanes = 4;

template <int L>
struct PlaneIndex {
    static constexpr int value = L;
};

// x (code_bytes * 4 activations) -> xp, kPlanes * kW bytes per chunk (zero past the end).
inline void permute_activations(const int8_t* x, int64_t code_bytes, int8_t* xp) {
    using simd::kW;
    const int64_t chunks = chunks_of(code_bytes);
    for (int64_t c = 0; c < chunks; ++c) {
        for (int l = 0; l < kPlanes; ++l) {
            int8_t* dst = xp + (c * kPlanes + l) * kW;
            for (int r = 0; r < kW; r += 16) {
                const int64_t j = c * kW + r;
                if (j < code_bytes) {
                    __builtin_memcpy(dst + r, x + 128 * (j / 32) + 32 * l + j % 32, 16);
                } else {
                    __builtin_memset(dst + r, 0, 16);
                }
            }
        }
    }
}

// The codes of plane l of a weight chunk, as u8 values for dot_i. With VNNI the plane is
// only masked (code << shift: one instruction), and the shift is undone on the sums.
template <bool MsbFirst, int L>
inline simd::B plane(simd::B w) {
    constexpr int kShift = MsbFirst ? 6 - 2 * L : 2 * L;
#if LOWBIT_VNNI
    return simd::and_b(w, simd::splat_b(3 << kShift));
#else
    return simd::and_b(simd::srl_b<kShift>(w), simd::splat_b(3));
#endif
}

template <bool MsbFirst, int L>
inline simd::I unshift(simd::I acc) {
#if LOWBIT_VNNI
    constexpr int kShift = MsbFirst ? 6 - 2 * L : 2 * L;
    return simd::srai_i<kShift>(acc);  // exact: every product carried a factor 2^shift
#else
    return acc;
#endif
}

// sum over `bytes` code bytes of code * activation for R rows at once (stride apart).
template <bool MsbFirst, int R>
inline void dot_rows(const uint8_t* w, int64_t stride, const int8_t* xp, int64_t first_chunk, int64_t bytes,
                     int32_t* out) {
    using namespace simd;
    I acc[R][kPlanes];
    for (int r = 0; r < R; ++r)
        for (int l = 0; l < kPlanes; ++l) acc[r][l] = zero_i();
    for (int64_t off = 0; off < bytes; off += kW) {
        const int8_t* a = xp + (first_chunk + off / kW) * kPlanes * kW;
        const B a0 = load_b(a), a1 = load_b(a + kW), a2 = load_b(a + 2 * kW), a3 = load_b(a + 3 * kW);
        for (int r = 0; r < R; ++r) {
            const B wv = load_codes(w + r * stride + off, bytes - off);
            acc[r][0] = dot_i(acc[r][0], plane<MsbFirst, 0>(wv), a0);
            acc[r][1] = dot_i(acc[r][1], plane<MsbFirst, 1>(wv), a1);
            acc[r][2] = dot_i(acc[r][2], plane<MsbFirst, 2>(wv), a2);
            acc[r][3] = dot_i(acc[r][3], plane<MsbFirst, 3>(wv), a3);
        }
    }
    for (int r = 0; r < R; ++r) {
        out[r] = hsum_i(add_i(add_i(unshift<MsbFirst, 0>(acc[r][0]), unshift<MsbFirst, 1>(acc[r][1])),
                              add_i(unshift<MsbFirst, 2>(acc[r][2]), unshift<MsbFirst, 3>(acc[r][3]))));
    }
}

// The same for R rows x T tokens, sharing each decoded plane across the tokens (GEMM).
template <bool MsbFirst, int R, int T>
inline void dot_tile(const uint8_t* w, int64_t stride, const int8_t* const* xp, int64_t first_chunk,
                     int64_t bytes, int32_t (*out)[4]) {
    using namespace simd;
    I acc[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = zero_i();
    for (int64_t off = 0; off < bytes; off += kW) {
        const int64_t chunk = first_chunk + off / kW;
        B wv[R];
        for (int r = 0; r < R; ++r) wv[r] = load_codes(w + r * stride + off, bytes - off);
        auto step = [&](auto plane_index) {
            constexpr int L = decltype(plane_index)::value;
            constexpr int kShift = MsbFirst ? 6 - 2 * L : 2 * L;
            B p[R];
            for (int r = 0; r < R; ++r) p[r] = and_b(srl_b<kShift>(wv[r]), splat_b(3));
            for (int t = 0; t < T; ++t) {
                const B a = load_b(xp[t] + (chunk * kPlanes + L) * kW);
                for (int r = 0; r < R; ++r) acc[r][t] = dot_i(acc[r][t], p[r], a);
            }
        };
        step(PlaneIndex<0>{});
        step(PlaneIndex<1>{});
        step(PlaneIndex<2>{});
        step(PlaneIndex<3>{});
    }
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) out[r][t] = hsum_i(acc[r][t]);
}

// Activations for a set of tokens, permuted, with their sums (per token, per block of `block`
// elements when block > 0).
struct PermutedTokens {
    int64_t chunks;
    int64_t stride;  // bytes per token
    int8_t* data;
    int8_t* token(int64_t t) const { return data + t * stride; }
};

}  // namespace ternary2

// ---- I2_S ----

void i2_s_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    using namespace simd;
    const int64_t bytes = w.cols / 4;
    const float scale = load_f32_scale(w.data + w.rows * bytes);
    for (int64_t r = row_begin; r < row_end; ++r) {
        const uint8_t* row = w.data + r * bytes;
        float* out = dst + (r - row_begin) * w.cols;
        for (int64_t off = 0; off < bytes; off += 16) {
            // 16 code bytes: element 128 g + 32 l + m for m = off % 32 .. + 15
            const B v = load_codes(row + off, 16);
            const int64_t base = 128 * (off / 32) + off % 32;
            store_i8_piece_scaled<0>(out + base + 0, sub_b(and_b(srl_b<6>(v), splat_b(3)), splat_b(1)), scale);
            store_i8_piece_scaled<0>(out + base + 32, sub_b(and_b(srl_b<4>(v), splat_b(3)), splat_b(1)), scale);
            store_i8_piece_scaled<0>(out + base + 64, sub_b(and_b(srl_b<2>(v), splat_b(3)), splat_b(1)), scale);
            store_i8_piece_scaled<0>(out + base + 96, sub_b(and_b(v, splat_b(3)), splat_b(1)), scale);
        }
    }
}

void i2_s_gemv(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationRowI8& x, float* y) {
    const int64_t bytes = w.cols / 4;
    const float scale = load_f32_scale(w.data + w.rows * bytes);
    Scratch xp(static_cast<std::size_t>(chunks_of(bytes) * ternary2::kPlanes * simd::kW));
    ternary2::permute_activations(x.q, bytes, xp.data());
    const int32_t act_sum = sum_i8(x.q, w.cols);
    int64_t r = row_begin;
    int32_t isum[4];
    for (; r + 4 <= row_end; r += 4) {
        ternary2::dot_rows<true, 4>(w.data + r * bytes, bytes, xp.data(), 0, bytes, isum);
        for (int k = 0; k < 4; ++k) y[r - row_begin + k] = static_cast<float>(isum[k] - act_sum) / x.scale * scale;
    }
    for (; r < row_end; ++r) {
        ternary2::dot_rows<true, 1>(w.data + r * bytes, bytes, xp.data(), 0, bytes, isum);
        y[r - row_begin] = static_cast<float>(isum[0] - act_sum) / x.scale * scale;
    }
}

namespace ternary2 {

// Runs dot_tile over all row x token tiles with R <= 4 rows and T <= 4 tokens.
template <bool MsbFirst, class Emit>
inline void for_each_tile(const uint8_t* w, int64_t stride, int64_t rows, int8_t* const* xp, int64_t tokens,
                          int64_t first_chunk, int64_t bytes, Emit emit) {
    int32_t out[4][4];
    for (int64_t r = 0; r < rows; r += 4) {
        const int64_t nr = min64(4, rows - r);
        for (int64_t t = 0; t < tokens; t += 4) {
            const int64_t nt = min64(4, tokens - t);
            const uint8_t* wr = w + r * stride;
            int8_t* const* xt = xp + t;
#define LOWBIT_TILE(R, T) dot_tile<MsbFirst, R, T>(wr, stride, xt, first_chunk, bytes, out)
            switch (nr * 4 + nt - 5) {
                case 0: LOWBIT_TILE(1, 1); break;
                case 1: LOWBIT_TILE(1, 2); break;
                case 2: LOWBIT_TILE(1, 3); break;
                case 3: LOWBIT_TILE(1, 4); break;
                case 4: LOWBIT_TILE(2, 1); break;
                case 5: LOWBIT_TILE(2, 2); break;
                case 6: LOWBIT_TILE(2, 3); break;
                case 7: LOWBIT_TILE(2, 4); break;
                case 8: LOWBIT_TILE(3, 1); break;
                case 9: LOWBIT_TILE(3, 2); break;
                case 10: LOWBIT_TILE(3, 3); break;
                case 11: LOWBIT_TILE(3, 4); break;
                case 12: LOWBIT_TILE(4, 1); break;
                case 13: LOWBIT_TILE(4, 2); break;
                case 14: LOWBIT_TILE(4, 3); break;
                default: LOWBIT_TILE(4, 4); break;
            }
#undef LOWBIT_TILE
            for (int64_t i = 0; i < nr; ++i)
                for (int64_t j = 0; j < nt; ++j) emit(r + i, t + j, out[i][j]);
        }
    }
}

}  // namespace ternary2

void i2_s_gemm(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationsI8& x, float* y,
               int64_t y_stride) {
    using simd::kW;
    const int64_t bytes = w.cols / 4;
    const float scale = load_f32_scale(w.data + w.rows * bytes);
    const int64_t per_token = chunks_of(bytes) * ternary2::kPlanes * kW;
    Scratch xp(static_cast<std::size_t>(per_token * x.rows) + static_cast<std::size_t>(x.rows) * (sizeof(int8_t*) + 4));
    int8_t** tokens = reinterpret_cast<int8_t**>(xp.data() + per_token * x.rows);
    int32_t* sums = reinterpret_cast<int32_t*>(tokens + x.rows);
    for (int64_t t = 0; t < x.rows; ++t) {
        tokens[t] = xp.data() + t * per_token;
        ternary2::permute_activations(x.q + t * x.stride, bytes, tokens[t]);
        sums[t] = sum_i8(x.q + t * x.stride, w.cols);
    }
    ternary2::for_each_tile<true>(w.data + row_begin * bytes, bytes, row_end - row_begin, tokens, x.rows, 0, bytes,
                                  [&](int64_t r, int64_t t, int32_t isum) {
                                      y[t * y_stride + r] = static_cast<float>(isum - sums[t]) / x.scale[t] * scale;
                                  });
}

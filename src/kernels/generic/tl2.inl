// TL2: per row, |9 w0 + 3 w1 + w2| nibbles (two triples a byte), then one sign bit per
// triple, then a TL1 byte for the last cols % 3 columns (docs/FORMATS.md). Codes w + 1 of a
// triple come from three 16-entry tables of the magnitude, one set for each sign; the planes
// are (low nibble, digit 0..2) and (high nibble, digit 0..2), i.e. element 6 j + P of
// magnitude byte j. One exact integer sum per row, like I2_S.

namespace tl2 {

// Digits d = 0, 1, 2 (most significant first) of u = v + 13 for v = +m and v = -m: the codes
// w + 1 of the triple. Magnitudes 14 and 15 are never written and decode as (0, 0, 0).
struct Tables {
    uint8_t pos[3][16];
    uint8_t neg[3][16];
    constexpr Tables() : pos{}, neg{} {
        for (int m = 0; m < 16; ++m) {
            const int up = m <= 13 ? m + 13 : 13;
            const int un = m <= 13 ? 13 - m : 13;
            pos[0][m] = static_cast<uint8_t>(up / 9);
            pos[1][m] = static_cast<uint8_t>(up / 3 % 3);
            pos[2][m] = static_cast<uint8_t>(up % 3);
            neg[0][m] = static_cast<uint8_t>(un / 9);
            neg[1][m] = static_cast<uint8_t>(un / 3 % 3);
            neg[2][m] = static_cast<uint8_t>(un % 3);
        }
    }
};
constexpr Tables kTables{};

inline int64_t triples(int64_t cols) { return cols / 3; }
inline int64_t magnitude_bytes(int64_t cols) { return (triples(cols) + 1) / 2; }
inline int64_t sign_bytes(int64_t cols) { return (triples(cols) + 7) / 8; }
inline int64_t row_bytes(int64_t cols) { return magnitude_bytes(cols) + sign_bytes(cols) + (cols % 3 != 0 ? 1 : 0); }

// Keeps the even-numbered bits of x, packed: bit 2 k -> bit k.
inline uint64_t even_bits(uint64_t x) {
    x &= 0x5555555555555555ull;
    x = (x | (x >> 1)) & 0x3333333333333333ull;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0Full;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFull;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
    x = (x | (x >> 16)) & 0x00000000FFFFFFFFull;
    return x;
}

// Sign masks for the kW low-nibble lanes (triples 2 j) and high-nibble lanes (2 j + 1) of
// the chunk starting at magnitude byte j0. Reads kW / 4 sign bytes; a row's sign plane is
// followed by at least 32 bytes of the tensor (next rows or the tail), so this stays inside.
inline void sign_masks(const uint8_t* signs, int64_t j0, uint64_t& lo, uint64_t& hi) {
    constexpr int kBytes = simd::kW / 4;
    uint8_t raw[16] = {};
    __builtin_memcpy(raw, signs + j0 / 4, kBytes);
    uint64_t w0, w1;
    __builtin_memcpy(&w0, raw, 8);
    __builtin_memcpy(&w1, raw + 8, 8);
    lo = even_bits(w0) | (even_bits(w1) << 32);
    hi = even_bits(w0 >> 1) | (even_bits(w1 >> 1) << 32);
}

template <int D>
inline simd::B digit(simd::B magnitude, uint64_t negative) {
    const simd::B p = simd::lut_b(simd::table_b(kTables.pos[D]), magnitude);
    const simd::B n = simd::lut_b(simd::table_b(kTables.neg[D]), magnitude);
    return simd::select_b(negative, n, p);
}

// Activations permuted to element 6 j + P of magnitude byte j, plane P (zero past the row).
inline void permute(const int8_t* x, int64_t cols, int8_t* xp) {
    using simd::kW;
    const int64_t bytes = magnitude_bytes(cols);
    const int64_t covered = 3 * triples(cols);
    for (int64_t c = 0; c < chunks_of(bytes); ++c) {
        for (int p = 0; p < 6; ++p) {
            int8_t* dst = xp + (c * 6 + p) * kW;
            for (int i = 0; i < kW; ++i) {
                const int64_t e = 6 * (c * kW + i) + p;
                dst[i] = e < covered ? x[e] : 0;
            }
        }
    }
}

// The last cols % 3 columns, a TL1 pair: their integer contribution sum t * q.
inline int32_t tail_dot(const uint8_t* row, int64_t cols, const int8_t* x) {
    const int64_t rest = cols % 3;
    if (rest == 0) return 0;
    int index = row[row_bytes(cols) - 1] & 15;
    if (index > 8) index = 4;
    const int64_t c = 3 * triples(cols);
    int32_t s = (index / 3 - 1) * x[c];
    if (rest == 2) s += (index % 3 - 1) * x[c + 1];
    return s;
}

// sum over the triples of (code - 1) * activation, for R rows x T tokens.
template <int R, int T>
inline void dot_tile(const uint8_t* w, int64_t stride, int64_t cols, const int8_t* const* xp, const int32_t* act_sums,
                     int32_t (*out)[4]) {
    using namespace simd;
    const int64_t bytes = magnitude_bytes(cols);
    I acc[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = zero_i();
    for (int64_t c = 0; c < chunks_of(bytes); ++c) {
        const int64_t off = c * kW;
        B planes[R][6];
        for (int r = 0; r < R; ++r) {
            const uint8_t* row = w + r * stride;
            const B wv = load_codes(row + off, bytes - off);
            uint64_t lo_neg, hi_neg;
            sign_masks(row + bytes, off, lo_neg, hi_neg);
            const B lo = and_b(wv, splat_b(15));
            const B hi = srl_b<4>(wv);
            planes[r][0] = digit<0>(lo, lo_neg);
            planes[r][1] = digit<1>(lo, lo_neg);
            planes[r][2] = digit<2>(lo, lo_neg);
            planes[r][3] = digit<0>(hi, hi_neg);
            planes[r][4] = digit<1>(hi, hi_neg);
            planes[r][5] = digit<2>(hi, hi_neg);
        }
        for (int t = 0; t < T; ++t) {
            const int8_t* a = xp[t] + c * 6 * kW;
            for (int p = 0; p < 6; ++p) {
                const B av = load_b(a + p * kW);
                for (int r = 0; r < R; ++r) acc[r][t] = dot_i(acc[r][t], planes[r][p], av);
            }
        }
    }
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) out[r][t] = hsum_i(acc[r][t]) - act_sums[t];
}

inline std::size_t permuted_bytes(int64_t cols) {
    return static_cast<std::size_t>(chunks_of(magnitude_bytes(cols)) * 6 * simd::kW);
}

}  // namespace tl2

namespace tl2 {

// Packed token: the permuted activations, then their sum over the triples, rounded to 64 bytes.
inline int64_t token_bytes(int64_t cols) { return static_cast<int64_t>((permuted_bytes(cols) + 4 + 63) / 64 * 64); }

inline std::size_t pack_bytes(int64_t cols, int64_t tokens) { return static_cast<std::size_t>(token_bytes(cols) * tokens); }

inline void pack(const ActivationsI8& x, int64_t token_begin, int64_t token_end, uint8_t* out) {
    for (int64_t t = token_begin; t < token_end; ++t) {
        auto* xp = reinterpret_cast<int8_t*>(out + t * token_bytes(x.cols));
        const int8_t* q = x.q + t * x.stride;
        permute(q, x.cols, xp);
        const int32_t sum = sum_i8(q, 3 * triples(x.cols));
        __builtin_memcpy(xp + permuted_bytes(x.cols), &sum, 4);
    }
}

// Rows in fours by tokens in fours (one exact integer sum per row and token; then the tensor
// scale's float steps, the same for every tile shape).
inline void gemm_packed(const WeightView& w, int64_t row_begin, int64_t row_end, const PackedActivationsI8& p, float* y,
                        int64_t y_stride) {
    const int64_t stride = row_bytes(w.cols);
    const float scale = load_f32_scale(w.data + w.rows * stride);
    const int64_t tokens = p.x.rows;
    const int8_t* xp[4];
    int32_t sums[4];
    int32_t out[4][4];
    for (int64_t r = row_begin; r < row_end; r += 4) {
        const int64_t nr = min64(4, row_end - r);
        const uint8_t* rows = w.data + r * stride;
        for (int64_t t = 0; t < tokens; t += 4) {
            const int64_t nt = min64(4, tokens - t);
            for (int64_t j = 0; j < nt; ++j) {
                xp[j] = reinterpret_cast<const int8_t*>(p.data + (t + j) * token_bytes(w.cols));
                __builtin_memcpy(&sums[j], xp[j] + permuted_bytes(w.cols), 4);
            }
            if (nr == 4 && nt == 4) {
                dot_tile<4, 4>(rows, stride, w.cols, xp, sums, out);
            } else if (nr == 4) {
                for (int64_t j = 0; j < nt; ++j) {
                    int32_t one[4][4];
                    dot_tile<4, 1>(rows, stride, w.cols, xp + j, sums + j, one);
                    for (int i = 0; i < 4; ++i) out[i][j] = one[i][0];
                }
            } else {
                for (int64_t i = 0; i < nr; ++i) {
                    for (int64_t j = 0; j < nt; ++j) {
                        int32_t one[4][4];
                        dot_tile<1, 1>(rows + i * stride, stride, w.cols, xp + j, sums + j, one);
                        out[i][j] = one[0][0];
                    }
                }
            }
            for (int64_t i = 0; i < nr; ++i) {
                for (int64_t j = 0; j < nt; ++j) {
                    const int8_t* q = p.x.q + (t + j) * p.x.stride;
                    const int32_t isum = out[i][j] + tail_dot(rows + i * stride, w.cols, q);
                    y[(t + j) * y_stride + (r - row_begin + i)] = static_cast<float>(isum) / p.x.scale[t + j] * scale;
                }
            }
        }
    }
}

}  // namespace tl2

std::size_t tl2_pack_bytes(int64_t cols, int64_t tokens) { return tl2::pack_bytes(cols, tokens); }
void tl2_pack(const ActivationsI8& x, int64_t t0, int64_t t1, uint8_t* out) { tl2::pack(x, t0, t1, out); }
void tl2_gemm_packed(const WeightView& w, int64_t r0, int64_t r1, const PackedActivationsI8& x, float* y, int64_t s) {
    tl2::gemm_packed(w, r0, r1, x, y, s);
}
LOWBIT_PACKED_ENTRY_POINTS(tl2)

void tl2_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t stride = tl2::row_bytes(w.cols);
    const float scale = load_f32_scale(w.data + w.rows * stride);
    Scratch values(static_cast<std::size_t>(w.cols + 64));
    int8_t* v = values.data();
    const int64_t bytes = tl2::magnitude_bytes(w.cols);
    for (int64_t r = row_begin; r < row_end; ++r) {
        const uint8_t* row = w.data + r * stride;
        for (int64_t i = 0; i < tl2::triples(w.cols); ++i) {
            const int m = (row[i / 2] >> (4 * (i % 2))) & 15;
            const bool negative = (row[bytes + i / 8] >> (i % 8)) & 1;
            const uint8_t(*t)[16] = negative ? tl2::kTables.neg : tl2::kTables.pos;
            v[3 * i] = static_cast<int8_t>(t[0][m] - 1);
            v[3 * i + 1] = static_cast<int8_t>(t[1][m] - 1);
            v[3 * i + 2] = static_cast<int8_t>(t[2][m] - 1);
        }
        const int64_t rest = w.cols % 3;
        if (rest != 0) {
            int index = row[stride - 1] & 15;
            if (index > 8) index = 4;
            const int64_t c = 3 * tl2::triples(w.cols);
            v[c] = static_cast<int8_t>(index / 3 - 1);
            if (rest == 2) v[c + 1] = static_cast<int8_t>(index % 3 - 1);
        }
        i8_to_f32_scaled(v, w.cols, scale, dst + (r - row_begin) * w.cols);
    }
}

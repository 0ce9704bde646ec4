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

void tl2_gemv(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationRowI8& x, float* y) {
    const int64_t stride = tl2::row_bytes(w.cols);
    const float scale = load_f32_scale(w.data + w.rows * stride);
    Scratch scratch(tl2::permuted_bytes(w.cols));
    tl2::permute(x.q, w.cols, scratch.data());
    const int8_t* xp[1] = {scratch.data()};
    const int32_t act_sum = sum_i8(x.q, 3 * tl2::triples(w.cols));
    int32_t out[4][4];
    int64_t r = row_begin;
    for (; r < row_end; r += 4) {
        const int64_t n = min64(4, row_end - r);
        const uint8_t* rows = w.data + r * stride;
        if (n == 4) tl2::dot_tile<4, 1>(rows, stride, w.cols, xp, &act_sum, out);
        else for (int64_t i = 0; i < n; ++i) tl2::dot_tile<1, 1>(rows + i * stride, stride, w.cols, xp, &act_sum, out + i);
        for (int64_t i = 0; i < n; ++i) {
            const int32_t isum = out[i][0] + tl2::tail_dot(rows + i * stride, w.cols, x.q);
            y[r - row_begin + i] = static_cast<float>(isum) / x.scale * scale;
        }
    }
}

void tl2_gemm(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationsI8& x, float* y,
              int64_t y_stride) {
    const int64_t stride = tl2::row_bytes(w.cols);
    const float scale = load_f32_scale(w.data + w.rows * stride);
    const std::size_t per_token = tl2::permuted_bytes(w.cols);
    Scratch scratch(per_token * static_cast<std::size_t>(x.rows) + static_cast<std::size_t>(x.rows) * 12);
    int8_t** xp = reinterpret_cast<int8_t**>(scratch.data() + per_token * static_cast<std::size_t>(x.rows));
    int32_t* sums = reinterpret_cast<int32_t*>(xp + x.rows);
    for (int64_t t = 0; t < x.rows; ++t) {
        xp[t] = scratch.data() + per_token * static_cast<std::size_t>(t);
        tl2::permute(x.q + t * x.stride, w.cols, xp[t]);
        sums[t] = sum_i8(x.q + t * x.stride, 3 * tl2::triples(w.cols));
    }
    int32_t out[4][4];
    for (int64_t r = row_begin; r < row_end; r += 4) {
        const int64_t nr = min64(4, row_end - r);
        const uint8_t* rows = w.data + r * stride;
        for (int64_t t = 0; t < x.rows; t += 4) {
            const int64_t nt = min64(4, x.rows - t);
            if (nr == 4 && nt == 4) {
                tl2::dot_tile<4, 4>(rows, stride, w.cols, xp + t, sums + t, out);
            } else {
                for (int64_t i = 0; i < nr; ++i) {
                    int32_t one[4][4];
                    for (int64_t j = 0; j < nt; ++j) {
                        tl2::dot_tile<1, 1>(rows + i * stride, stride, w.cols, xp + t + j, sums + t + j, one);
                        out[i][j] = one[0][0];
                    }
                }
            }
            for (int64_t i = 0; i < nr; ++i) {
                for (int64_t j = 0; j < nt; ++j) {
                    const int8_t* q = x.q + (t + j) * x.stride;
                    const int32_t isum = out[i][j] + tl2::tail_dot(rows + i * stride, w.cols, q);
                    y[(t + j) * y_stride + (r - row_begin + i)] = static_cast<float>(isum) / x.scale[t + j] * scale;
                }
            }
        }
    }
}

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

// Layouts of the 2-bit and ternary formats for the planar kernels (planar.inl), and their
// dequantizers. See docs/FORMATS.md for the byte layouts.

namespace formats2 {

// Element 128 (j / 32) + 32 l + j % 32 of code byte j, plane l (I2_S and TQ2_0): runs of 16
// contiguous activations.
inline void fill_interleaved32(const int8_t* xb, int64_t limit, int64_t code_bytes, int64_t j0, int l, int8_t* dst) {
    for (int r = 0; r < simd::kW; r += 16) {
        const int64_t j = j0 + r;
        if (j >= code_bytes) {
            __builtin_memset(dst + r, 0, 16);
            continue;
        }
        const int64_t e = 128 * (j / 32) + 32 * l + j % 32;
        for (int i = 0; i < 16; ++i) dst[r + i] = e + i < limit ? xb[e + i] : 0;
    }
}

// Ternary codes 0..3 in 2-bit fields at shift S: the plane, and its VNNI variant that keeps
// the field in place.
template <int Shift>
inline simd::B field2(simd::B w) {
    return simd::and_b(simd::srl_b<Shift>(w), simd::splat_b(3));
}
template <int Shift>
inline simd::B field2_in_place(simd::B w) {
    return simd::and_b(w, simd::splat_b(3 << Shift));
}

struct I2S {
    static constexpr bool kTensorScale = true;
    static constexpr bool kShiftedPlanes = true;
    static constexpr int kPlanes = 4;
    static constexpr int32_t kOffset = 1;
    static int64_t row_code_bytes(int64_t cols) { return cols / 4; }
    static const uint8_t* codes(const WeightView& w, int64_t row, int64_t) { return w.data + row * (w.cols / 4); }
    static float tensor_scale(const WeightView& w) { return load_f32_scale(w.data + w.rows * (w.cols / 4)); }
    static float scale(const WeightView&, int64_t, int64_t) { return 0; }
    static void fill_plane(const int8_t* xb, int64_t limit, int64_t code_bytes, int64_t j0, int l, int8_t* dst) {
        fill_interleaved32(xb, limit, code_bytes, j0, l, dst);
    }
    template <int P> static simd::B plane(simd::B w) { return field2<6 - 2 * P>(w); }
    template <int P> static simd::B plane_shifted(simd::B w) { return field2_in_place<6 - 2 * P>(w); }
    template <int P> static simd::I unshift(simd::I a) { return simd::srai_i<6 - 2 * P>(a); }
};

struct TQ2 {
    static constexpr bool kTensorScale = false;
    static constexpr bool kShiftedPlanes = true;
    static constexpr int kPlanes = 4;
    static constexpr int32_t kOffset = 1;
    static constexpr int64_t kBlockElems = 256;
    static constexpr int64_t kCodeBytes = 64;
    static constexpr int64_t kBlockBytes = 66;
    static int64_t row_code_bytes(int64_t) { return 0; }
    static const uint8_t* codes(const WeightView& w, int64_t row, int64_t b) {
        return w.data + (row * (w.cols / kBlockElems) + b) * kBlockBytes;
    }
    static float scale(const WeightView& w, int64_t row, int64_t b) { return load_f16_scale(codes(w, row, b) + 64); }
    static float tensor_scale(const WeightView&) { return 0; }
    static void fill_plane(const int8_t* xb, int64_t limit, int64_t code_bytes, int64_t j0, int l, int8_t* dst) {
        fill_interleaved32(xb, limit, code_bytes, j0, l, dst);
    }
    template <int P> static simd::B plane(simd::B w) { return field2<2 * P>(w); }
    template <int P> static simd::B plane_shifted(simd::B w) { return field2_in_place<2 * P>(w); }
    template <int P> static simd::I unshift(simd::I a) { return simd::srai_i<2 * P>(a); }
};

// Four-level codes 0..3 = -2, -1, +1, +2 become u = level + 2 in {0, 1, 3, 4} by lookup.
inline simd::B four_level_u(simd::B codes) {
    static constexpr uint8_t kTable[16] = {0, 1, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    return simd::lut_b(simd::table_b(kTable), codes);
}

// Element 4 j + l of code byte j, plane l (sequential 2-bit codes, and TL1's pairs).
inline void fill_sequential4(const int8_t* xb, int64_t limit, int64_t code_bytes, int64_t j0, int l, int8_t* dst) {
    for (int i = 0; i < simd::kW; ++i) {
        const int64_t j = j0 + i;
        const int64_t e = 4 * j + l;
        dst[i] = (j < code_bytes && e < limit) ? xb[e] : 0;
    }
}

struct QK256 {
    static constexpr bool kTensorScale = false;
    static constexpr bool kShiftedPlanes = false;
    static constexpr int kPlanes = 4;
    static constexpr int32_t kOffset = 2;
    static constexpr int64_t kBlockElems = 256;
    static constexpr int64_t kCodeBytes = 64;
    static int64_t row_code_bytes(int64_t) { return 0; }
    static const uint8_t* codes(const WeightView& w, int64_t row, int64_t b) {
        return w.data + (row * (w.cols / kBlockElems) + b) * kCodeBytes;
    }
    static float scale(const WeightView& w, int64_t row, int64_t b) {
        const int64_t blocks = w.rows * (w.cols / kBlockElems);
        return load_f32_scale(w.data + blocks * kCodeBytes + (row * (w.cols / kBlockElems) + b) * 4);
    }
    static float tensor_scale(const WeightView&) { return 0; }
    static void fill_plane(const int8_t* xb, int64_t limit, int64_t code_bytes, int64_t j0, int l, int8_t* dst) {
        fill_sequential4(xb, limit, code_bytes, j0, l, dst);
    }
    template <int P> static simd::B plane(simd::B w) { return four_level_u(field2<2 * P>(w)); }
    template <int P> static simd::B plane_shifted(simd::B w) { return plane<P>(w); }
    template <int P> static simd::I unshift(simd::I a) { return a; }
};

struct I2S32 {
    static constexpr bool kTensorScale = false;
    static constexpr bool kShiftedPlanes = false;
    static constexpr int kPlanes = 4;
    static constexpr int32_t kOffset = 2;
    static constexpr int64_t kBlockElems = 32;
    static constexpr int64_t kCodeBytes = 8;
    static constexpr int64_t kBlockBytes = 10;
    static int64_t row_code_bytes(int64_t) { return 0; }
    static const uint8_t* codes(const WeightView& w, int64_t row, int64_t b) {
        return w.data + (row * (w.cols / kBlockElems) + b) * kBlockBytes;
    }
    static float scale(const WeightView& w, int64_t row, int64_t b) { return load_f16_scale(codes(w, row, b) + 8); }
    static float tensor_scale(const WeightView&) { return 0; }
    static void fill_plane(const int8_t* xb, int64_t limit, int64_t code_bytes, int64_t j0, int l, int8_t* dst) {
        fill_sequential4(xb, limit, code_bytes, j0, l, dst);
    }
    template <int P> static simd::B plane(simd::B w) { return four_level_u(field2<2 * P>(w)); }
    template <int P> static simd::B plane_shifted(simd::B w) { return plane<P>(w); }
    template <int P> static simd::I unshift(simd::I a) { return a; }
};

// TQ1_0: five base-3 digits per byte. Trit n of byte b is ((uint8_t)(b * 3^n) * 3) >> 8,
// which is 0, 1 or 2 as (uint8_t)(b * 3^n) is <= 85, <= 170, or more.
template <int N>
inline simd::B trit(simd::B w) {
    constexpr int kPow3[5] = {1, 3, 9, 27, 81};
    const simd::B u = N == 0 ? w : simd::mullo_b(w, kPow3[N]);
    return simd::add_b(simd::gt_u8_b(u, 85), simd::gt_u8_b(u, 170));
}

struct TQ1 {
    static constexpr bool kTensorScale = false;
    static constexpr bool kShiftedPlanes = false;
    static constexpr int kPlanes = 5;
    static constexpr int32_t kOffset = 1;
    static constexpr int64_t kBlockElems = 256;
    static constexpr int64_t kCodeBytes = 52;  // qs[48] and qh[4]
    static constexpr int64_t kBlockBytes = 54;
    static int64_t row_code_bytes(int64_t) { return 0; }
    static const uint8_t* codes(const WeightView& w, int64_t row, int64_t b) {
        return w.data + (row * (w.cols / kBlockElems) + b) * kBlockBytes;
    }
    static float scale(const WeightView& w, int64_t row, int64_t b) { return load_f16_scale(codes(w, row, b) + 52); }
    static float tensor_scale(const WeightView&) { return 0; }
    static int64_t element(int64_t j, int n) {
        if (j < 32) return j + 32 * n;
        if (j < 48) return 160 + (j - 32) + 16 * n;
        return n < 4 ? 240 + (j - 48) + 4 * n : -1;  // qh's fifth digit is the x3 padding
    }
    static void fill_plane(const int8_t* xb, int64_t limit, int64_t code_bytes, int64_t j0, int l, int8_t* dst) {
        planar::fill_plane_by_element<TQ1>(xb, limit, code_bytes, j0, l, dst);
    }
    template <int P> static simd::B plane(simd::B w) { return trit<P>(w); }
    template <int P> static simd::B plane_shifted(simd::B w) { return plane<P>(w); }
    template <int P> static simd::I unshift(simd::I a) { return a; }
};

// TL1: a nibble 3 w0 + w1 + 4 per pair; codes w + 1 by lookup (indices 9..15: the zero pair).
inline simd::B tl1_first(simd::B idx) {
    static constexpr uint8_t kTable[16] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1};
    return simd::lut_b(simd::table_b(kTable), idx);
}
inline simd::B tl1_second(simd::B idx) {
    static constexpr uint8_t kTable[16] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 1, 1, 1, 1, 1, 1, 1};
    return simd::lut_b(simd::table_b(kTable), idx);
}

struct TL1 {
    static constexpr bool kTensorScale = true;
    static constexpr bool kShiftedPlanes = false;
    static constexpr int kPlanes = 4;
    static constexpr int32_t kOffset = 1;
    static int64_t row_code_bytes(int64_t cols) { return ((cols + 1) / 2 + 1) / 2; }
    static const uint8_t* codes(const WeightView& w, int64_t row, int64_t) { return w.data + row * row_code_bytes(w.cols); }
    static float tensor_scale(const WeightView& w) { return load_f32_scale(w.data + w.rows * row_code_bytes(w.cols)); }
    static float scale(const WeightView&, int64_t, int64_t) { return 0; }
    static void fill_plane(const int8_t* xb, int64_t limit, int64_t code_bytes, int64_t j0, int l, int8_t* dst) {
        fill_sequential4(xb, limit, code_bytes, j0, l, dst);
    }
    // planes: (low nibble, first), (low, second), (high, first), (high, second) = elements 4j + P
    template <int P> static simd::B plane(simd::B w) {
        const simd::B nibble = P < 2 ? simd::and_b(w, simd::splat_b(15)) : simd::srl_b<4>(w);
        return P % 2 == 0 ? tl1_first(nibble) : tl1_second(nibble);
    }
    template <int P> static simd::B plane_shifted(simd::B w) { return plane<P>(w); }
    template <int P> static simd::I unshift(simd::I a) { return a; }
};

}  // namespace formats2

// ---- kernels ----

#define LOWBIT_PLANAR_KERNELS(name, L)                                                                         \
    std::size_t name##_pack_bytes(int64_t cols, int64_t tokens) { return planar::pack_bytes<L>(cols, tokens); }  \
    void name##_pack(const ActivationsI8& x, int64_t t0, int64_t t1, uint8_t* out) { planar::pack<L>(x, t0, t1, out); } \
    void name##_gemm_packed(const WeightView& w, int64_t r0, int64_t r1, const PackedActivationsI8& x, float* y,  \
                            int64_t s) {                                                                         \
        planar::gemm_packed<L>(w, r0, r1, x, y, s);                                                             \
    }                                                                                                            \
    LOWBIT_PACKED_ENTRY_POINTS(name)

LOWBIT_PLANAR_KERNELS(i2_s, formats2::I2S)
LOWBIT_PLANAR_KERNELS(tq2_0, formats2::TQ2)
LOWBIT_PLANAR_KERNELS(tq1_0, formats2::TQ1)
LOWBIT_PLANAR_KERNELS(qk256, formats2::QK256)
LOWBIT_PLANAR_KERNELS(i2s32, formats2::I2S32)
LOWBIT_PLANAR_KERNELS(tl1, formats2::TL1)

// Dequantization: a 2-bit field to its value by a 4-entry float table, kF lanes at a time.
namespace formats2 {

// Values (code - 1) * scale for codes 0..3, computed as the reference does.
inline void ternary_table(float scale, float* t4) {
    for (int c = 0; c < 4; ++c) t4[c] = static_cast<float>(c - 1) * scale;
}

// 32-apart interleave (I2_S, TQ2_0): bytes [off, off + kF) of a run of code bytes.
template <bool MsbFirst>
inline void dequant_interleaved32(const uint8_t* codes, int64_t bytes, const float* t4, float* out) {
    using namespace simd;
    float table[kF] = {};
    for (int c = 0; c < 4; ++c) table[c] = t4[c];
    const F tv = table_f(table);
    for (int64_t off = 0; off < bytes; off += kF) {
        const I v = load_u8_as_i32(codes + off);
        float* base = out + 128 * (off / 32) + off % 32;
        const I three = splat_i(3);
        store_f(base + 0, lookup_f(and_i(srl_i<MsbFirst ? 6 : 0>(v), three), tv));
        store_f(base + 32, lookup_f(and_i(srl_i<MsbFirst ? 4 : 2>(v), three), tv));
        store_f(base + 64, lookup_f(and_i(srl_i<MsbFirst ? 2 : 4>(v), three), tv));
        store_f(base + 96, lookup_f(and_i(srl_i<MsbFirst ? 0 : 6>(v), three), tv));
    }
}

// Sequential 2-bit codes to four-level values (QK256, I2S32).
inline void dequant_four_level(const uint8_t* codes, int64_t n, float d, float* out) {
    using namespace simd;
    float table[kF] = {};
    for (int c = 0; c < 4; ++c) table[c] = static_cast<float>(c < 2 ? c - 2 : c - 1) * d;
    const F tv = table_f(table);
    for (int64_t k = 0; k < n; k += kF) store_f(out + k, lookup_f(unpack2_seq(codes + k / 4), tv));
}

}  // namespace formats2

void i2_s_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t bytes = w.cols / 4;
    float t4[4];
    formats2::ternary_table(formats2::I2S::tensor_scale(w), t4);
    for (int64_t r = row_begin; r < row_end; ++r) {
        formats2::dequant_interleaved32<true>(w.data + r * bytes, bytes, t4, dst + (r - row_begin) * w.cols);
    }
}

void tq2_0_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t blocks = w.cols / 256;
    for (int64_t r = row_begin; r < row_end; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            float t4[4];
            formats2::ternary_table(formats2::TQ2::scale(w, r, b), t4);
            formats2::dequant_interleaved32<false>(formats2::TQ2::codes(w, r, b), 64, t4,
                                                   dst + (r - row_begin) * w.cols + b * 256);
        }
    }
}

void qk256_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t blocks = w.cols / 256;
    for (int64_t r = row_begin; r < row_end; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            formats2::dequant_four_level(formats2::QK256::codes(w, r, b), 256, formats2::QK256::scale(w, r, b),
                                         dst + (r - row_begin) * w.cols + b * 256);
        }
    }
}

void i2s32_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t blocks = w.cols / 32;
    for (int64_t r = row_begin; r < row_end; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            formats2::dequant_four_level(formats2::I2S32::codes(w, r, b), 32, formats2::I2S32::scale(w, r, b),
                                         dst + (r - row_begin) * w.cols + b * 32);
        }
    }
}

// TQ1_0 and TL1: decode a block / row to int8 values with the planes, then to floats.
void tq1_0_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    using namespace simd;
    const int64_t blocks = w.cols / 256;
    for (int64_t r = row_begin; r < row_end; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
            const uint8_t* block = formats2::TQ1::codes(w, r, b);
            int8_t values[256 + 64];
            int8_t planes[5][64 + kW];
            for (int64_t off = 0; off < 52; off += kW) {
                const B v = load_codes(block + off, 52 - off);
                store_b(planes[0] + off, formats2::trit<0>(v));
                store_b(planes[1] + off, formats2::trit<1>(v));
                store_b(planes[2] + off, formats2::trit<2>(v));
                store_b(planes[3] + off, formats2::trit<3>(v));
                store_b(planes[4] + off, formats2::trit<4>(v));
            }
            for (int n = 0; n < 5; ++n) {
                for (int j = 0; j < 52; ++j) {
                    const int64_t e = formats2::TQ1::element(j, n);
                    if (e >= 0) values[e] = static_cast<int8_t>(planes[n][j] - 1);
                }
            }
            i8_to_f32_scaled(values, 256, formats2::TQ1::scale(w, r, b), dst + (r - row_begin) * w.cols + b * 256);
        }
    }
}

void tl1_dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t bytes = formats2::TL1::row_code_bytes(w.cols);
    const float scale = formats2::TL1::tensor_scale(w);
    Scratch values(static_cast<std::size_t>(4 * bytes + 64));
    int8_t* v = values.data();
    static constexpr int8_t kFirst[16] = {-1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
    static constexpr int8_t kSecond[16] = {-1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t r = row_begin; r < row_end; ++r) {
        const uint8_t* row = formats2::TL1::codes(w, r, 0);
        for (int64_t j = 0; j < bytes; ++j) {
            v[4 * j] = kFirst[row[j] & 15];
            v[4 * j + 1] = kSecond[row[j] & 15];
            v[4 * j + 2] = kFirst[row[j] >> 4];
            v[4 * j + 3] = kSecond[row[j] >> 4];
        }
        i8_to_f32_scaled(v, w.cols, scale, dst + (r - row_begin) * w.cols);
    }
}

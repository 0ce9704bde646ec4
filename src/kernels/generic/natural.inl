// The "natural" kernels of the block and group formats whose codes are (nearly) in element
// order: Q8_0, Q4_0 and Q6_K (dequantization only; their products are in block32.inl and
// q6_k.inl), Q4_1 and the INTn groups.
//
// A row is first decoded (format-specific) into codes u in element order plus, per 4-element
// lane, an integer offset, a float scale and a float bias: element k is worth
//   (u_k - offset) * scale (+ bias for Q4_1's m, which multiplies the activation sum).
// Dequantization applies exactly that (the reference's arithmetic); the GEMV/GEMM take per lane
// the exact integer sum of u * a, subtract offset * sum(a) (exact), convert, and accumulate
// scale * that in float lanes (a different order of float additions than the reference:
// within the documented tolerance). Eight-bit formats decode signed weights s: where dot_i
// takes any u (VNNI) they run as u = s + 128 (offset + 128), else through dot_ss_i.

namespace natural {

struct Row {
    uint8_t* u = nullptr;  // cols rounded up to kW; past cols zero
    int32_t* offset = nullptr;
    float* scale = nullptr;
    float* bias = nullptr;
};

inline int64_t padded(int64_t cols) { return (cols + simd::kW - 1) / simd::kW * simd::kW; }
inline int64_t lanes(int64_t cols) { return padded(cols) / 4; }

// Bytes of one decoded row.
inline std::size_t row_bytes(int64_t cols) { return static_cast<std::size_t>(padded(cols) + lanes(cols) * 12); }

inline Row carve(int8_t* p, int64_t cols) {
    Row r;
    r.u = reinterpret_cast<uint8_t*>(p);
    r.offset = reinterpret_cast<int32_t*>(p + padded(cols));
    r.scale = reinterpret_cast<float*>(r.offset + lanes(cols));
    r.bias = r.scale + lanes(cols);
    return r;
}

// Lane metadata for the elements [first, first + n) (multiples of 4).
inline void set_lanes(Row& row, int64_t first, int64_t n, int32_t offset, float scale, float bias) {
    for (int64_t l = first / 4; l < (first + n + 3) / 4; ++l) {
        row.offset[l] = offset;
        row.scale[l] = scale;
        row.bias[l] = bias;
    }
}

// Zeroes codes and lanes past `cols`.
inline void clear_tail(Row& row, int64_t cols) {
    for (int64_t k = cols; k < padded(cols); ++k) row.u[k] = 0;
    for (int64_t l = (cols + 3) / 4; l < lanes(cols); ++l) {
        row.offset[l] = 0;
        row.scale[l] = 0;
        row.bias[l] = 0;
    }
}

// ---- decoders ----

struct Q8_0 {
    static constexpr bool kEightBit = true;
    static constexpr bool kBias = false;
    void decode(const WeightView& w, int64_t r, Row& out) const {
        const int64_t blocks = w.cols / 32;
        const uint8_t* row = w.data + r * blocks * 34;
        for (int64_t b = 0; b < blocks; ++b) {
            __builtin_memcpy(out.u + 32 * b, row + 34 * b + 2, 32);
            set_lanes(out, 32 * b, 32, 0, load_f16_scale(row + 34 * b), 0.0f);
        }
        clear_tail(out, w.cols);
    }
};

// Low nibble = element j, high nibble = element j + 16 of each 32-element block.
inline void split_nibbles16(const uint8_t* qs, uint8_t* out) {
    for (int j = 0; j < 16; ++j) {
        out[j] = qs[j] & 15;
        out[j + 16] = qs[j] >> 4;
    }
}

struct Q4_0 {
    static constexpr bool kEightBit = false;
    static constexpr bool kBias = false;
    void decode(const WeightView& w, int64_t r, Row& out) const {
        const int64_t blocks = w.cols / 32;
        const uint8_t* row = w.data + r * blocks * 18;
        for (int64_t b = 0; b < blocks; ++b) {
            split_nibbles16(row + 18 * b + 2, out.u + 32 * b);
            set_lanes(out, 32 * b, 32, 8, load_f16_scale(row + 18 * b), 0.0f);
        }
        clear_tail(out, w.cols);
    }
};

struct Q4_1 {
    static constexpr bool kEightBit = false;
    static constexpr bool kBias = true;
    void decode(const WeightView& w, int64_t r, Row& out) const {
        const int64_t blocks = w.cols / 32;
        const uint8_t* row = w.data + r * blocks * 20;
        for (int64_t b = 0; b < blocks; ++b) {
            split_nibbles16(row + 20 * b + 4, out.u + 32 * b);
            set_lanes(out, 32 * b, 32, 0, load_f16_scale(row + 20 * b), load_f16_scale(row + 20 * b + 2));
        }
        clear_tail(out, w.cols);
    }
};

struct Q6_K {
    static constexpr bool kEightBit = false;
    static constexpr bool kBias = false;
    void decode(const WeightView& w, int64_t r, Row& out) const {
        const int64_t blocks = w.cols / 256;
        const uint8_t* row = w.data + r * blocks * 210;
        for (int64_t b = 0; b < blocks; ++b) {
            const uint8_t* blk = row + 210 * b;
            uint8_t* u = out.u + 256 * b;
            for (int h = 0; h < 2; ++h) {
                const uint8_t* ql = blk + 64 * h;
                const uint8_t* qh = blk + 128 + 32 * h;
                uint8_t* o = u + 128 * h;
                for (int l = 0; l < 32; ++l) {
                    o[l] = static_cast<uint8_t>((ql[l] & 15) | ((qh[l] & 3) << 4));
                    o[l + 32] = static_cast<uint8_t>((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4));
                    o[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                    o[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
                }
            }
            const float d = load_f16_scale(blk + 208);
            for (int s = 0; s < 16; ++s) {
                // (d * scale) first: the reference's order of the two roundings
                set_lanes(out, 256 * b + 16 * s, 16, 32, d * static_cast<float>(static_cast<int8_t>(blk[192 + s])), 0.0f);
            }
        }
        clear_tail(out, w.cols);
    }
};

// INTn groups: b-bit fields LSB-first per row, then f16 scales, then (asymmetric) zero points.
// The group size and symmetry are run-time values, so that the 24 INT types share three
// instantiations of the engine (one per bit width).
template <int Bits>
struct IntGroup {
    static constexpr bool kEightBit = Bits == 8;
    static constexpr bool kBias = false;
    bool asymmetric;
    int64_t group;
    static int64_t code_bytes(int64_t cols) { return (cols * Bits + 7) / 8; }
    int64_t groups(int64_t cols) const { return (cols + group - 1) / group; }
    void decode(const WeightView& w, int64_t r, Row& out) const {
        const uint8_t* row = w.data + r * code_bytes(w.cols);
        const uint8_t* scales = w.data + w.rows * code_bytes(w.cols);
        const uint8_t* zeros = scales + 2 * w.rows * groups(w.cols);
        const int64_t n = w.cols;
        // symmetric fields are two's complement: xor with the sign bit adds 2^(b-1); eight-bit
        // asymmetric codes u become signed u - 128 (with the zero point z - 128)
        const uint8_t flip = static_cast<uint8_t>(asymmetric ? (Bits == 8 ? 0x80 : 0) : (Bits == 8 ? 0 : 1 << (Bits - 1)));
        if constexpr (Bits == 8) {
            for (int64_t k = 0; k < n; ++k) out.u[k] = static_cast<uint8_t>(row[k] ^ flip);
        } else if constexpr (Bits == 4) {
            for (int64_t k = 0; k < n; ++k) out.u[k] = static_cast<uint8_t>(((row[k / 2] >> (4 * (k % 2))) & 15) ^ flip);
        } else {
            for (int64_t k = 0; k < n; ++k) out.u[k] = static_cast<uint8_t>(((row[k / 4] >> (2 * (k % 4))) & 3) ^ flip);
        }
        for (int64_t g = 0; g < groups(n); ++g) {
            const int64_t index = r * groups(n) + g;
            const float d = load_f16_scale(scales + 2 * index);
            int32_t offset;
            if (asymmetric) {
                offset = Bits == 8 ? zeros[index] - 128 : zeros[index];
            } else {
                offset = Bits == 8 ? 0 : 1 << (Bits - 1);
            }
            set_lanes(out, g * group, min64(group, n - g * group), offset, d, 0.0f);
        }
        clear_tail(out, n);
    }
};

// ---- the engine ----

template <class D>
inline void dequantize(const D& dec, const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    Scratch scratch(row_bytes(w.cols));
    Row row = carve(scratch.data(), w.cols);
    for (int64_t r = row_begin; r < row_end; ++r) {
        dec.decode(w, r, row);
        float* out = dst + (r - row_begin) * w.cols;
        for (int64_t k = 0; k < w.cols; ++k) {
            const int32_t v = D::kEightBit ? static_cast<int8_t>(row.u[k]) : row.u[k];
            const float base = static_cast<float>(v - row.offset[k / 4]) * row.scale[k / 4];
            out[k] = D::kBias ? base + row.bias[k / 4] : base;
        }
    }
}

// Q8_0 and Q4_0 straight from their blocks: the engine's (u - offset) * scale, block by block.
inline void dequantize(const Q8_0&, const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t blocks = (row_end - row_begin) * (w.cols / 32);
    const uint8_t* p = w.data + row_begin * (w.cols / 32) * 34;
    for (int64_t b = 0; b < blocks; ++b, p += 34, dst += 32) {
        const float d = load_f16_scale(p);
        for (int j = 0; j < 32; ++j) dst[j] = static_cast<float>(static_cast<int8_t>(p[2 + j])) * d;
    }
}

inline void dequantize(const Q4_0&, const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t blocks = (row_end - row_begin) * (w.cols / 32);
    const uint8_t* p = w.data + row_begin * (w.cols / 32) * 18;
    for (int64_t b = 0; b < blocks; ++b, p += 18, dst += 32) {
        const float d = load_f16_scale(p);
        for (int j = 0; j < 16; ++j) {
            dst[j] = static_cast<float>((p[2 + j] & 15) - 8) * d;
            dst[j + 16] = static_cast<float>((p[2 + j] >> 4) - 8) * d;
        }
    }
}

// INTn straight from the fields, group by group (no decoded row): the same integer q - z and
// the same float product as the engine above, in loops the compiler vectorizes.
template <int Bits, bool Asymmetric>
inline void int_group_dequantize_group(const uint8_t* codes, int64_t first, int64_t len, float d, int32_t z,
                                       float* out) {
    constexpr int kPerByte = 8 / Bits;
    constexpr int kMask = (1 << Bits) - 1;
    constexpr int kSign = 1 << (Bits - 1);
    const auto value = [&](int field) {
        const int32_t q = Asymmetric ? field : (Bits == 8 ? static_cast<int8_t>(field) : (field ^ kSign) - kSign);
        return static_cast<float>(q - z) * d;
    };
    int64_t k = 0;
    if constexpr (Bits < 8) {
        if (first % kPerByte == 0 && len <= 256) {  // always, groups being multiples of 32: whole bytes
            // the fields as small integers first (contiguous), then one vectorizable convert
            alignas(64) int8_t q[256];
            const uint8_t* bytes = codes + first / kPerByte;
            const int64_t whole = len / kPerByte;
            for (int64_t j = 0; j < whole; ++j) {
                const uint8_t b = bytes[j];
                for (int s = 0; s < kPerByte; ++s) {
                    const int field = (b >> (Bits * s)) & kMask;
                    q[j * kPerByte + s] = static_cast<int8_t>(Asymmetric ? field : (field ^ kSign) - kSign);
                }
            }
            k = whole * kPerByte;
            for (int64_t i = 0; i < k; ++i) out[first + i] = static_cast<float>(q[i] - z) * d;
        }
    } else if (first % kPerByte == 0) {
        const uint8_t* bytes = codes + first;
        for (; k < len; ++k) out[first + k] = value(bytes[k]);
    }
    for (; k < len; ++k) {
        const int64_t e = first + k;
        out[e] = value((codes[e / kPerByte] >> (Bits * (e % kPerByte))) & kMask);
    }
}

template <int Bits>
inline void dequantize(const IntGroup<Bits>& dec, const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t n = w.cols, groups = dec.groups(n);
    const uint8_t* scales = w.data + w.rows * IntGroup<Bits>::code_bytes(n);
    const uint8_t* zeros = scales + 2 * w.rows * groups;
    for (int64_t r = row_begin; r < row_end; ++r) {
        const uint8_t* codes = w.data + r * IntGroup<Bits>::code_bytes(n);
        float* out = dst + (r - row_begin) * n;
        for (int64_t g = 0; g < groups; ++g) {
            const int64_t index = r * groups + g, first = g * dec.group, len = min64(dec.group, n - first);
            const float d = load_f16_scale(scales + 2 * index);
            if (dec.asymmetric) {
                int_group_dequantize_group<Bits, true>(codes, first, len, d, zeros[index], out);
            } else {
                int_group_dequantize_group<Bits, false>(codes, first, len, d, 0, out);
            }
        }
    }
}

// Activations padded to kW with zeros, and per-lane sums of 4.
struct Prepared {
    const int8_t* a;
    const int32_t* lane_sums;
};

inline std::size_t prepared_bytes(int64_t cols) { return static_cast<std::size_t>(padded(cols) + lanes(cols) * 4); }

inline void prepare(const int8_t* q, int64_t cols, int8_t* p) {
    int8_t* a = p;
    auto* lane_sums = reinterpret_cast<int32_t*>(p + padded(cols));
    __builtin_memcpy(a, q, static_cast<std::size_t>(cols));
    for (int64_t k = cols; k < padded(cols); ++k) a[k] = 0;
    for (int64_t l = 0; l < lanes(cols); ++l) lane_sums[l] = a[4 * l] + a[4 * l + 1] + a[4 * l + 2] + a[4 * l + 3];
}

// sum over the row of (u - offset) a scale (+ bias sum(a)), in float lanes.
template <class D>
inline simd::F row_dot(const Row& row, const Prepared& x, int64_t cols) {
    using namespace simd;
    F acc = zero_f();
    for (int64_t k = 0; k < padded(cols); k += kW) {
        const B u = load_b(row.u + k);
        const B a = load_b(x.a + k);
        const I asum = load_i(x.lane_sums + k / 4);
        I isum;
        I offset = load_i(row.offset + k / 4);
        if constexpr (D::kEightBit && kDotAnyU) {
            isum = dot_i(zero_i(), xor_b(u, splat_b(0x80)), a);  // u = s + 128
            offset = add_i(offset, splat_i(128));
        } else if constexpr (D::kEightBit) {
            isum = dot_ss_i(zero_i(), u, a);
        } else {
            isum = dot_i(zero_i(), u, a);
        }
        isum = sub_i(isum, mullo_i(offset, asum));
        acc = fma_f(cvt_f(isum), load_f_lanes(row.scale + k / 4), acc);
        if constexpr (D::kBias) acc = fma_f(cvt_f(asum), load_f_lanes(row.bias + k / 4), acc);
    }
    return acc;
}

// Packed token: its prepared activations, rounded to 64 bytes.
inline int64_t token_bytes(int64_t cols) { return static_cast<int64_t>((prepared_bytes(cols) + 63) / 64 * 64); }

inline std::size_t pack_bytes(int64_t cols, int64_t tokens) { return static_cast<std::size_t>(token_bytes(cols) * tokens); }

inline void pack(const ActivationsI8& x, int64_t token_begin, int64_t token_end, uint8_t* out) {
    for (int64_t t = token_begin; t < token_end; ++t) {
        prepare(x.q + t * x.stride, x.cols, reinterpret_cast<int8_t*>(out + t * token_bytes(x.cols)));
    }
}

inline Prepared prepared_token(const PackedActivationsI8& p, int64_t t) {
    const auto* a = reinterpret_cast<const int8_t*>(p.data + t * token_bytes(p.x.cols));
    return {a, reinterpret_cast<const int32_t*>(a + padded(p.x.cols))};
}

// Each row decoded once, then its dot product with every token.
template <class D>
void gemm_packed(const D& dec, const WeightView& w, int64_t row_begin, int64_t row_end, const PackedActivationsI8& p,
                 float* y, int64_t y_stride) {
    Scratch scratch(row_bytes(w.cols));
    Row row = carve(scratch.data(), w.cols);
    for (int64_t r = row_begin; r < row_end; ++r) {
        dec.decode(w, r, row);
        for (int64_t t = 0; t < p.x.rows; ++t) {
            y[t * y_stride + (r - row_begin)] = simd::hsum_f(row_dot<D>(row, prepared_token(p, t), w.cols)) / p.x.scale[t];
        }
    }
}

}  // namespace natural

// Thin entry points: a decoder value, then the engine.
#define LOWBIT_NATURAL_KERNELS(name, decoder)                                                                    \
    void name##_dequantize(const WeightView& w, int64_t r0, int64_t r1, float* y) {                              \
        natural::dequantize(decoder, w, r0, r1, y);                                                            \
    }                                                                                                           \
    std::size_t name##_pack_bytes(int64_t cols, int64_t tokens) { return natural::pack_bytes(cols, tokens); }    \
    void name##_pack(const ActivationsI8& x, int64_t t0, int64_t t1, uint8_t* out) { natural::pack(x, t0, t1, out); } \
    void name##_gemm_packed(const WeightView& w, int64_t r0, int64_t r1, const PackedActivationsI8& x, float* y, \
                            int64_t s) {                                                                        \
        natural::gemm_packed(decoder, w, r0, r1, x, y, s);                                                     \
    }                                                                                                           \
    LOWBIT_PACKED_ENTRY_POINTS(name)

void q8_0_dequantize(const WeightView& w, int64_t r0, int64_t r1, float* y) { natural::dequantize(natural::Q8_0{}, w, r0, r1, y); }
void q4_0_dequantize(const WeightView& w, int64_t r0, int64_t r1, float* y) { natural::dequantize(natural::Q4_0{}, w, r0, r1, y); }
LOWBIT_NATURAL_KERNELS(q4_1, natural::Q4_1{})
void q6_k_dequantize(const WeightView& w, int64_t r0, int64_t r1, float* y) { natural::dequantize(natural::Q6_K{}, w, r0, r1, y); }

// X(name, bits, asymmetric, group) for the 24 INTn types
#define LOWBIT_FOR_EACH_INT_TYPE(X)                                                                              \
    X(int2_sym_g32, 2, false, 32) X(int2_sym_g64, 2, false, 64) X(int2_sym_g128, 2, false, 128)                    \
    X(int2_sym_g256, 2, false, 256) X(int2_asym_g32, 2, true, 32) X(int2_asym_g64, 2, true, 64)                    \
    X(int2_asym_g128, 2, true, 128) X(int2_asym_g256, 2, true, 256) X(int4_sym_g32, 4, false, 32)                  \
    X(int4_sym_g64, 4, false, 64) X(int4_sym_g128, 4, false, 128) X(int4_sym_g256, 4, false, 256)                  \
    X(int4_asym_g32, 4, true, 32) X(int4_asym_g64, 4, true, 64) X(int4_asym_g128, 4, true, 128)                    \
    X(int4_asym_g256, 4, true, 256) X(int8_sym_g32, 8, false, 32) X(int8_sym_g64, 8, false, 64)                    \
    X(int8_sym_g128, 8, false, 128) X(int8_sym_g256, 8, false, 256) X(int8_asym_g32, 8, true, 32)                  \
    X(int8_asym_g64, 8, true, 64) X(int8_asym_g128, 8, true, 128) X(int8_asym_g256, 8, true, 256)

#define LOWBIT_INT_KERNELS(name, bits, asym, group) \
    LOWBIT_NATURAL_KERNELS(name, (natural::IntGroup<bits>{asym, group}))
LOWBIT_FOR_EACH_INT_TYPE(LOWBIT_INT_KERNELS)

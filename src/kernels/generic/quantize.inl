// Quantization kernels, bit-identical to the references in src/formats/: INTn groups (from
// f32, f16 and bf16), Q8_0 and Q4_0. Anything unusual (a NaN or infinity, a scale that
// overflows f16) is handed to the scalar reference, which raises the named error.

namespace quantize {

// Widens kF 16-bit values to f32 exactly (f16 / bf16) or loads f32.
struct FromF32 {
    using T = float;
    static simd::F load(const float* p) { return simd::load_f(p); }
    static float scalar(const float* p) { return *p; }
};
struct FromF16 {
    using T = uint16_t;
    static simd::F load(const uint16_t* p) { return simd::load_f16_as_f32(reinterpret_cast<const uint8_t*>(p)); }
    static float scalar(const uint16_t* p) { return f16_to_f32(*p); }
};
struct FromBF16 {
    using T = uint16_t;
    static simd::F load(const uint16_t* p) { return simd::load_bf16_as_f32(reinterpret_cast<const uint8_t*>(p)); }
    static float scalar(const uint16_t* p) { return bf16_to_f32(*p); }
};

// The f16 scale's bits, or false when it would overflow (the reference then raises the error).
inline bool f16_bits(float d, uint16_t& h) {
    h = f32_to_f16(d);
    return (h & 0x7c00u) != 0x7c00u;
}

// round_half_even(x / d) per lane, bit-identical to dividing: multiply by 1 / d, and divide
// only the rare vectors where a lane sits near a rounding boundary.
inline simd::I rne_div(simd::F x, simd::F d, simd::F inv_d, float lo, float hi) {
    using namespace simd;
    F t = mul_f(x, inv_d);
    if (near_half(t, 1.0f / 4096)) t = div_f(x, d);
    return cvt_rne_i(clamp_f(t, lo, hi));
}

// Group-wise INTn: one row at a time; a group's values are loaded as f32 into `buf` (padded
// with its first value so that whole vectors can be used for the short last group).
// The group size and symmetry are run-time values (one instantiation per bit width and source).
template <int Bits, class Src>
struct IntGroupQuantizer {
    static constexpr int kQmax = (1 << (Bits - 1)) - 1;
    static constexpr int kLevels = (1 << Bits) - 1;
    static constexpr int64_t kMaxGroup = 256;
    bool asymmetric;
    int64_t group;
    static int64_t code_bytes(int64_t cols) { return (cols * Bits + 7) / 8; }
    int64_t groups(int64_t cols) const { return (cols + group - 1) / group; }

    // Returns false when the reference must take over.
    bool run(const typename Src::T* src, int64_t rows, int64_t cols, uint8_t* dst) const {
        using namespace simd;
        const std::size_t total = static_cast<std::size_t>(rows * code_bytes(cols) + rows * groups(cols) * (asymmetric ? 3 : 2));
        __builtin_memset(dst, 0, total);
        uint8_t* scales = dst + rows * code_bytes(cols);
        uint8_t* zeros = scales + 2 * rows * groups(cols);
        alignas(64) float buf[kMaxGroup + 64];
        alignas(64) uint8_t codes[kMaxGroup + 64];
        for (int64_t r = 0; r < rows; ++r) {
            uint8_t* row = dst + r * code_bytes(cols);
            for (int64_t g = 0; g < groups(cols); ++g) {
                const int64_t first = g * group;
                const int64_t n = min64(group, cols - first);
                const typename Src::T* x = src + r * cols + first;
                const int64_t vecs = (n + kF - 1) / kF;
                F vmin, vmax;
                if (n % kF == 0) {
                    for (int64_t v = 0; v < vecs; ++v) store_f(buf + v * kF, Src::load(x + v * kF));
                } else {
                    for (int64_t i = 0; i < n; ++i) buf[i] = Src::scalar(x + i);
                    for (int64_t i = n; i < vecs * kF; ++i) buf[i] = buf[0];
                }
                vmin = vmax = load_f(buf);
                bool finite = !any_nonfinite(vmin);
                for (int64_t v = 1; v < vecs; ++v) {
                    const F xv = load_f(buf + v * kF);
                    finite = finite && !any_nonfinite(xv);
                    vmin = min_f(vmin, xv);
                    vmax = max_f(vmax, xv);
                }
                if (!finite) return false;
                float mn = hmin_f(vmin), mx = hmax_f(vmax);
                const int64_t index = r * groups(cols) + g;
                uint16_t h;
                if (mn == mx) {  // constant group: d = |c|, one unit of code
                    if (!f16_bits(__builtin_fabsf(mn), h)) return false;
                    __builtin_memcpy(scales + 2 * index, &h, 2);
                    const float d = f16_to_f32(h);
                    const int unit = mn == 0 || d == 0 ? 0 : (asymmetric ? (mn > 0 ? 1 : 0) : (mn > 0 ? 1 : -1));
                    if (asymmetric) zeros[index] = mn < 0 ? 1 : 0;
                    for (int64_t i = 0; i < n; ++i) codes[i] = static_cast<uint8_t>(unit);
                } else {
                    float d_raw;
                    if (asymmetric) {
                        mn = __builtin_fminf(mn, 0.0f);
                        mx = __builtin_fmaxf(mx, 0.0f);
                        d_raw = (mx - mn) / static_cast<float>(kLevels);
                    } else {
                        d_raw = __builtin_fmaxf(__builtin_fabsf(mn), __builtin_fabsf(mx)) / static_cast<float>(kQmax);
                    }
                    if (!f16_bits(d_raw, h)) return false;
                    __builtin_memcpy(scales + 2 * index, &h, 2);
                    const float d = f16_to_f32(h);
                    if (d == 0.0f) {
                        for (int64_t i = 0; i < n; ++i) codes[i] = 0;
                    } else {
                        const F dv = splat_f(d), inv = splat_f(1.0f / d);
                        if (asymmetric) {
                            float zf = -mn / d;
                            zf = zf < 0 ? 0 : (zf > kLevels ? static_cast<float>(kLevels) : zf);
                            const int z = static_cast<int>(__builtin_nearbyintf(zf));
                            zeros[index] = static_cast<uint8_t>(z);
                            for (int64_t v = 0; v < vecs; ++v) {
                                I q = add_i(rne_div(load_f(buf + v * kF), dv, inv, -2.0f * kLevels, 2.0f * kLevels), splat_i(z));
                                q = max_i(min_i(q, splat_i(kLevels)), splat_i(0));
                                store_i32_as_u8(codes + v * kF, q);
                            }
                        } else {
                            for (int64_t v = 0; v < vecs; ++v) {
                                const I q = rne_div(load_f(buf + v * kF), dv, inv, -kQmax - 1.0f, static_cast<float>(kQmax));
                                store_i32_as_u8(codes + v * kF, and_i(q, splat_i((1 << Bits) - 1)));
                            }
                        }
                    }
                }
                pack(codes, n, row + first * Bits / 8);
            }
        }
        return true;
    }

    // b-bit fields LSB-first; bits past n stay zero.
    static void pack(const uint8_t* codes, int64_t n, uint8_t* out) {
        if constexpr (Bits == 8) {
            __builtin_memcpy(out, codes, static_cast<std::size_t>(n));
        } else if constexpr (Bits == 4) {
            const int64_t whole = n / 2;  // whole bytes first, without a branch: vectorizable
            for (int64_t j = 0; j < whole; ++j) {
                out[j] = static_cast<uint8_t>((codes[2 * j] & 15) | ((codes[2 * j + 1] & 15) << 4));
            }
            if (n % 2 != 0) out[whole] = static_cast<uint8_t>(codes[n - 1] & 15);
        } else {
            const int64_t whole = n / 4;
            for (int64_t j = 0; j < whole; ++j) {
                out[j] = static_cast<uint8_t>((codes[4 * j] & 3) | ((codes[4 * j + 1] & 3) << 2) |
                                              ((codes[4 * j + 2] & 3) << 4) | ((codes[4 * j + 3] & 3) << 6));
            }
            if (n % 4 != 0) {
                uint8_t b = 0;
                for (int64_t i = whole * 4; i < n; ++i) b = static_cast<uint8_t>(b | ((codes[i] & 3) << (2 * (i - whole * 4))));
                out[whole] = b;
            }
        }
    }
};

}  // namespace quantize

// The reference quantizers (an f32 and a 16-bit entry per type) take over on unusual input.
#define LOWBIT_INT_QUANTIZE(name, bits, asym, group)                                                         \
    void name##_quantize(const float* x, int64_t rows, int64_t cols, uint8_t* dst) {                        \
        if (!quantize::IntGroupQuantizer<bits, quantize::FromF32>{asym, group}.run(x, rows, cols, dst))       \
            reference_quantize(int_group_type_id(bits, asym, group), x, rows, cols, dst);                   \
    }                                                                                                       \
    void name##_quantize_f16(const uint16_t* x, int64_t rows, int64_t cols, uint8_t* dst) {                 \
        if (!quantize::IntGroupQuantizer<bits, quantize::FromF16>{asym, group}.run(x, rows, cols, dst))       \
            reference_quantize_f16(int_group_type_id(bits, asym, group), x, rows, cols, dst);               \
    }                                                                                                       \
    void name##_quantize_bf16(const uint16_t* x, int64_t rows, int64_t cols, uint8_t* dst) {                \
        if (!quantize::IntGroupQuantizer<bits, quantize::FromBF16>{asym, group}.run(x, rows, cols, dst))      \
            reference_quantize_bf16(int_group_type_id(bits, asym, group), x, rows, cols, dst);              \
    }

LOWBIT_FOR_EACH_INT_TYPE(LOWBIT_INT_QUANTIZE)

namespace quantize {

// Q8_0: d = max|x| / 127, q = roundf(x * (1/d)), llama.cpp's reference.
inline bool q8_0(const float* src, int64_t rows, int64_t cols, uint8_t* dst) {
    using namespace simd;
    const int64_t blocks = rows * (cols / 32);
    for (int64_t b = 0; b < blocks; ++b) {
        const float* x = src + 32 * b;
        uint8_t* out = dst + 34 * b;
        F amax = zero_f();
        bool finite = true;
        for (int v = 0; v < 32; v += kF) {
            const F xv = load_f(x + v);
            finite = finite && !any_nonfinite(xv);
            amax = max_f(abs_f(xv), amax);  // (finite here)
        }
        if (!finite) return false;
        const float d = hmax_f(amax) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t h;
        if (!f16_bits(d, h)) return false;
        __builtin_memcpy(out, &h, 2);
        for (int v = 0; v < 32; v += kF) {
            const F t = clamp_f(mul_f(load_f(x + v), splat_f(id)), -127.0f, 127.0f);  // NaN (0 * inf) -> 0
            store_i32_as_u8(out + 2 + v, round_half_away_i(t));
        }
    }
    return true;
}

// Q4_0: the largest-|x| value m (first on ties), d = m / -8, q = min(15, trunc(x * (1/d) + 8.5)).
inline bool q4_0(const float* src, int64_t rows, int64_t cols, uint8_t* dst) {
    using namespace simd;
    const int64_t blocks = rows * (cols / 32);
    for (int64_t b = 0; b < blocks; ++b) {
        const float* x = src + 32 * b;
        uint8_t* out = dst + 18 * b;
        F amax = zero_f(), vmax = load_f(x), vmin = vmax;
        bool finite = true;
        for (int v = 0; v < 32; v += kF) {
            const F xv = load_f(x + v);
            finite = finite && !any_nonfinite(xv);
            amax = max_f(abs_f(xv), amax);  // (finite here)
            vmax = max_f(vmax, xv);
            vmin = min_f(vmin, xv);
        }
        if (!finite) return false;
        const float a = hmax_f(amax), hi = hmax_f(vmax), lo = hmin_f(vmin);
        // m: the first x with |x| = a (ggml keeps the first strictly larger |x|). Only when both a
        // and -a occur does "first" matter; an all-zero block keeps ggml's initial +0, whatever
        // the signs of its zeros (d = +0 / -8 = -0 then: the sign reaches d's bits).
        float m = a == 0.0f ? 0.0f : hi == a ? a : -a;
        if (a != 0.0f && hi == a && lo == -a) {
            for (int j = 0; j < 32; ++j) {
                if (__builtin_fabsf(x[j]) == a) {
                    m = x[j];
                    break;
                }
            }
        }
        const float d = m / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t h;
        if (!f16_bits(d, h)) return false;
        __builtin_memcpy(out, &h, 2);
        alignas(64) uint8_t q[32 + 64];
        for (int v = 0; v < 32; v += kF) {
            F t = add_f(mul_f(load_f(x + v), splat_f(id)), splat_f(8.5f));
            t = clamp_f(t, 0.0f, 15.0f);  // NaN (0 * inf) -> 0, as the reference's clamp
            store_i32_as_u8(q + v, cvt_trunc_i(t));
        }
        for (int j = 0; j < 16; ++j) out[2 + j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
    }
    return true;
}

}  // namespace quantize

void q8_0_quantize(const float* x, int64_t rows, int64_t cols, uint8_t* dst) {
    if (cols % 32 != 0 || !quantize::q8_0(x, rows, cols, dst)) reference_quantize(TypeId::Q8_0, x, rows, cols, dst);
}
void q4_0_quantize(const float* x, int64_t rows, int64_t cols, uint8_t* dst) {
    if (cols % 32 != 0 || !quantize::q4_0(x, rows, cols, dst)) reference_quantize(TypeId::Q4_0, x, rows, cols, dst);
}

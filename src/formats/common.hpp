// Small helpers shared by the scalar reference formats. No third-party dependencies: this
// folder must cross-compile alone.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "lowbit/error.hpp"
#include "lowbit/fp16.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::formats {

// IEEE round to nearest, ties to even (the default rounding mode), as an int.
// Callers clamp |x| to a small range first.
inline int round_half_even(float x) { return static_cast<int>(std::nearbyint(x)); }

// llama.cpp's nearest_int: the same ties-to-even result through the 1.5 * 2^23 trick, valid
// for |x| <= 2^22. Used where llama.cpp uses it, so the two agree by construction.
inline int nearest_int(float x) {
    const float shifted = x + 12582912.0f;
    int32_t bits;
    std::memcpy(&bits, &shifted, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

// Clamps into [lo, hi] and maps NaN to 0, so a later float->int conversion is always defined
// (a block of subnormals can make 1/d overflow to infinity).
inline float clamp_to(float v, float lo, float hi) {
    if (std::isnan(v)) {
        return 0.0f;
    }
    return v < lo ? lo : (v > hi ? hi : v);
}

inline float load_f32(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline void store_f32(uint8_t* p, float v) { std::memcpy(p, &v, sizeof v); }
inline float load_f16(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, sizeof h);
    return f16_to_f32(h);
}
inline void store_f16(uint8_t* p, float v) {
    const uint16_t h = f32_to_f16(v);
    std::memcpy(p, &h, sizeof h);
}
// A block scale that would become infinity in f16 is an error rather than a silent inf.
inline void store_f16_scale(uint8_t* p, float d) {
    const uint16_t h = f32_to_f16(d);
    if ((h & 0x7c00u) == 0x7c00u) {
        fail("scale ", d, " does not fit in f16 (largest finite 65504)");
    }
    std::memcpy(p, &h, sizeof h);
}

// Size arithmetic that refuses to wrap around.
inline std::size_t checked_mul(std::size_t a, std::size_t b, const char* what) {
    std::size_t r;
    if (__builtin_mul_overflow(a, b, &r)) {
        fail(what, ": size overflows (", a, " x ", b, ")");
    }
    return r;
}
inline std::size_t checked_add(std::size_t a, std::size_t b, const char* what) {
    std::size_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        fail(what, ": size overflows (", a, " + ", b, ")");
    }
    return r;
}

inline void check_shape(std::string_view type, int64_t rows, int64_t cols, int64_t col_multiple) {
    if (rows < 0 || cols < 0) {
        fail(type, ": negative shape ", rows, " x ", cols);
    }
    if (col_multiple > 1 && cols % col_multiple != 0) {
        fail(type, ": row length ", cols, " is not a multiple of the block size ", col_multiple);
    }
}

// Every quantizer refuses NaN and infinity, naming the element.
inline void check_finite(std::string_view type, const float* src, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            const float v = src[r * cols + c];
            if (!std::isfinite(v)) {
                fail(type, ": cannot quantize ", std::isnan(v) ? "NaN" : "infinity", " at element ",
                     r * cols + c, " (row ", r, ", column ", c, ")");
            }
        }
    }
}

inline float abs_max(const float* x, int64_t n) {
    float m = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        m = std::fmax(m, std::fabs(x[i]));
    }
    return m;
}

// max|x| over a whole tensor, in double (bitnet.cpp's quantize_i2_s).
inline double abs_max_double(const float* x, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        m = std::fmax(m, std::fabs(static_cast<double>(x[i])));
    }
    return m;
}

// The x with the largest |x|, sign kept; the first one on ties (llama.cpp's Q4_0 / Q8_K rule).
inline float signed_abs_max(const float* x, int64_t n) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        if (amax < std::fabs(x[i])) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    }
    return max;
}

// Ternary types with one scale per tensor (I2_S, TL1, TL2) share bitnet.cpp's rule: the
// scale is max|w| and each weight becomes its sign, or 0 where |w| < 1e-6.
inline int ternary_sign(float w) {
    if (std::fabs(static_cast<double>(w)) < 1e-6) {
        return 0;
    }
    return w > 0 ? 1 : -1;
}

// A tensor-wide scale lives in a 32-byte tail after the codes: f32 scale, then 28 zero bytes.
inline constexpr std::size_t kTensorTailBytes = 32;

// GEMM as one GEMV per token: the reference definition every GEMM kernel must match.
template <GemvI8Fn Gemv>
void gemm_by_tokens(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationsI8& x, float* y,
                    int64_t y_stride) {
    for (int64_t t = 0; t < x.rows; ++t) {
        const ActivationRowI8 row{x.q + t * x.stride, x.cols, x.scale[t], x.sum[t]};
        Gemv(w, row_begin, row_end, row, y + t * y_stride);
    }
}

// Quantizing 16-bit input: widen to f32 (exactly), then the f32 quantizer.
template <QuantizeFn Quantize, float (*Widen)(uint16_t)>
void quantize_from_half(const uint16_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
    check_shape("16-bit input", rows, cols, 1);
    const std::size_t n = checked_mul(static_cast<std::size_t>(rows), static_cast<std::size_t>(cols), "16-bit input");
    float* wide = new float[n > 0 ? n : 1];
    for (std::size_t i = 0; i < n; ++i) {
        wide[i] = Widen(src[i]);
    }
    try {
        Quantize(wide, rows, cols, dst);
    } catch (...) {
        delete[] wide;
        throw;
    }
    delete[] wide;
}

// y = W x with f32 x: a row dequantized, then a sequential float dot product.
template <DequantizeFn Dequantize>
void gemv_f32_by_rows(const WeightView& w, int64_t row_begin, int64_t row_end, const float* x, float* y) {
    float* row = new float[w.cols > 0 ? static_cast<std::size_t>(w.cols) : 1];
    for (int64_t r = row_begin; r < row_end; ++r) {
        Dequantize(w, r, r + 1, row);
        float acc = 0.0f;
        for (int64_t c = 0; c < w.cols; ++c) acc += row[c] * x[c];
        y[r - row_begin] = acc;
    }
    delete[] row;
}

// The f32 product for several tokens: each row dequantized once, then the same sequential dot
// product as gemv_f32_by_rows with every token.
template <DequantizeFn Dequantize>
void gemm_f32_by_rows(const WeightView& w, int64_t row_begin, int64_t row_end, const float* x, int64_t tokens,
                      int64_t x_stride, float* y, int64_t y_stride) {
    float* row = new float[w.cols > 0 ? static_cast<std::size_t>(w.cols) : 1];
    for (int64_t r = row_begin; r < row_end; ++r) {
        Dequantize(w, r, r + 1, row);
        for (int64_t t = 0; t < tokens; ++t) {
            const float* xt = x + t * x_stride;
            float acc = 0.0f;
            for (int64_t c = 0; c < w.cols; ++c) acc += row[c] * xt[c];
            y[t * y_stride + (r - row_begin)] = acc;
        }
    }
    delete[] row;
}

// A type's full reference row from its three scalar kernels.
template <QuantizeFn Quantize, DequantizeFn Dequantize, GemvI8Fn Gemv>
constexpr Kernels reference_kernels() {
    Kernels k;
    k.quantize = Quantize;
    k.dequantize = Dequantize;
    k.gemv_i8 = Gemv;
    k.gemm_i8 = &gemm_by_tokens<Gemv>;
    k.quantize_f16 = &quantize_from_half<Quantize, &f16_to_f32>;
    k.quantize_bf16 = &quantize_from_half<Quantize, &bf16_to_f32>;
    k.gemv_f32 = &gemv_f32_by_rows<Dequantize>;
    k.gemm_f32 = &gemm_f32_by_rows<Dequantize>;
    return k;
}

inline WeightType plain_row(TypeId id, std::string_view name, int64_t block_elems,
                            int64_t block_bytes, double bits, std::string_view layout) {
    WeightType t;
    t.id = id;
    t.name = name;
    t.block_elems = block_elems;
    t.block_bytes = block_bytes;
    t.bits_per_weight = bits;
    t.layout = layout;
    return t;
}

}  // namespace lowbit::formats

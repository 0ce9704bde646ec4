// F32, F16, BF16 weights: conversion to f32 (exact), and products with int8 activations
// accumulated in float lanes (the reference accumulates in double: within the tolerance).

namespace floats {

struct F32 {
    static constexpr int64_t kBytes = 4;
    static simd::F load(const uint8_t* p) { return simd::load_f(reinterpret_cast<const float*>(p)); }
    static float scalar(const uint8_t* p) { return load_f32_scale(p); }
};
struct F16 {
    static constexpr int64_t kBytes = 2;
    static simd::F load(const uint8_t* p) { return simd::load_f16_as_f32(p); }
    static float scalar(const uint8_t* p) { return load_f16_scale(p); }
};
struct BF16 {
    static constexpr int64_t kBytes = 2;
    static simd::F load(const uint8_t* p) { return simd::load_bf16_as_f32(p); }
    static float scalar(const uint8_t* p) {
        uint16_t h;
        __builtin_memcpy(&h, p, 2);
        const uint32_t u = static_cast<uint32_t>(h) << 16;
        float f;
        __builtin_memcpy(&f, &u, 4);
        return f;
    }
};

template <class T>
void dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    using namespace simd;
    const int64_t n = (row_end - row_begin) * w.cols;
    const uint8_t* src = w.data + row_begin * w.cols * T::kBytes;
    int64_t k = 0;
    for (; k + kF <= n; k += kF) store_f(dst + k, T::load(src + k * T::kBytes));
    for (; k < n; ++k) dst[k] = T::scalar(src + k * T::kBytes);
}

template <class T>
inline float row_dot(const uint8_t* row, const int8_t* q, int64_t cols) {
    using namespace simd;
    // four accumulators: one fma chain would wait on its own latency every step
    F acc0 = zero_f(), acc1 = zero_f(), acc2 = zero_f(), acc3 = zero_f();
    int64_t k = 0;
    for (; k + 4 * kF <= cols; k += 4 * kF) {
        acc0 = fma_f(T::load(row + k * T::kBytes), load_s8_as_f32(q + k), acc0);
        acc1 = fma_f(T::load(row + (k + kF) * T::kBytes), load_s8_as_f32(q + k + kF), acc1);
        acc2 = fma_f(T::load(row + (k + 2 * kF) * T::kBytes), load_s8_as_f32(q + k + 2 * kF), acc2);
        acc3 = fma_f(T::load(row + (k + 3 * kF) * T::kBytes), load_s8_as_f32(q + k + 3 * kF), acc3);
    }
    for (; k + kF <= cols; k += kF) acc0 = fma_f(T::load(row + k * T::kBytes), load_s8_as_f32(q + k), acc0);
    float s = hsum_f(add_f(add_f(acc0, acc1), add_f(acc2, acc3)));
    for (; k < cols; ++k) s += T::scalar(row + k * T::kBytes) * static_cast<float>(q[k]);
    return s;
}

template <class T>
void gemv(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationRowI8& x, float* y) {
    for (int64_t r = row_begin; r < row_end; ++r) {
        y[r - row_begin] = row_dot<T>(w.data + r * w.cols * T::kBytes, x.q, w.cols) / x.scale;
    }
}

template <class T>
void gemm(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationsI8& x, float* y,
          int64_t y_stride) {
    for (int64_t r = row_begin; r < row_end; ++r) {
        for (int64_t t = 0; t < x.rows; ++t) {
            y[t * y_stride + (r - row_begin)] =
                row_dot<T>(w.data + r * w.cols * T::kBytes, x.q + t * x.stride, w.cols) / x.scale[t];
        }
    }
}

// f32 activations (output heads): the weights converted lane by lane, fused multiply-adds, four
// rows at a time, each from its own stream (for_rows_as_four_streams). Each row keeps its own two
// accumulators in the same order whether it runs in a group of four or alone, so a row's result
// does not depend on how rows were split among threads. Row i is rows + i * stride bytes and
// writes y[i * y_step].
template <class T, int R>
inline void rows_dot_f32(const uint8_t* rows, int64_t stride, int64_t cols, const float* x, float* y, int64_t y_step) {
    using namespace simd;
    const int64_t full = cols / (2 * kF) * (2 * kF);
    F acc0[R], acc1[R];
    for (int i = 0; i < R; ++i) acc0[i] = acc1[i] = zero_f();
    for (int64_t k = 0; k < full; k += 2 * kF) {
        const F x0 = load_f(x + k), x1 = load_f(x + k + kF);
        for (int i = 0; i < R; ++i) {
            const uint8_t* row = rows + i * stride;
            acc0[i] = fma_f(T::load(row + k * T::kBytes), x0, acc0[i]);
            acc1[i] = fma_f(T::load(row + (k + kF) * T::kBytes), x1, acc1[i]);
        }
    }
    for (int i = 0; i < R; ++i) {
        const uint8_t* row = rows + i * stride;
        float s = hsum_f(add_f(acc0[i], acc1[i]));
        for (int64_t k = full; k < cols; ++k) s += T::scalar(row + k * T::kBytes) * x[k];
        y[i * y_step] = s;
    }
}

// R rows (row i at rows + i * stride, output column y + i * y_row) by TT tokens (token t at
// x + t * x_stride, output y[t * y_stride]): each weight vector converted once for the tokens,
// each activation vector loaded once for the rows. Every (row, token) keeps rows_dot_f32's two
// accumulators and steps, so its result has the bits of the GEMV.
template <class T, int R, int TT>
inline void rows_tokens_dot_f32(const uint8_t* rows, int64_t stride, int64_t cols, const float* x, int64_t x_stride,
                                float* y, int64_t y_row, int64_t y_stride) {
    using namespace simd;
    const int64_t full = cols / (2 * kF) * (2 * kF);
    F acc0[R][TT], acc1[R][TT];
    for (int i = 0; i < R; ++i)
        for (int t = 0; t < TT; ++t) acc0[i][t] = acc1[i][t] = zero_f();
    for (int64_t k = 0; k < full; k += 2 * kF) {
        F w0[R], w1[R];
        for (int i = 0; i < R; ++i) {
            w0[i] = T::load(rows + i * stride + k * T::kBytes);
            w1[i] = T::load(rows + i * stride + (k + kF) * T::kBytes);
        }
        for (int t = 0; t < TT; ++t) {
            const F x0 = load_f(x + t * x_stride + k), x1 = load_f(x + t * x_stride + k + kF);
            for (int i = 0; i < R; ++i) {
                acc0[i][t] = fma_f(w0[i], x0, acc0[i][t]);
                acc1[i][t] = fma_f(w1[i], x1, acc1[i][t]);
            }
        }
    }
    for (int i = 0; i < R; ++i) {
        const uint8_t* row = rows + i * stride;
        for (int t = 0; t < TT; ++t) {
            const float* xt = x + t * x_stride;
            float s = hsum_f(add_f(acc0[i][t], acc1[i][t]));
            for (int64_t k = full; k < cols; ++k) s += T::scalar(row + k * T::kBytes) * xt[k];
            y[i * y_row + t * y_stride] = s;
        }
    }
}

// Every token by rows [row_begin, row_end) read as four streams. One token: four rows in step
// (rows_dot_f32); several: rows in pairs by tokens in fours (AVX-512) or pairs, so that both the
// weights' f16 conversion and the activations' loads serve several products (the head of a decode step of
// several sequences is read from memory once).
template <class T>
void gemm_f32(const WeightView& w, int64_t row_begin, int64_t row_end, const float* x, int64_t tokens, int64_t x_stride,
              float* y, int64_t y_stride) {
    const int64_t row_bytes = w.cols * T::kBytes;
    // rows first and first + step (R of them) by every token
    const auto by_tokens = [&](auto r_count, int64_t first, int64_t step) {
        constexpr int R = decltype(r_count)::value;
        const uint8_t* rows = w.data + first * row_bytes;
        float* out = y + (first - row_begin);
        int64_t t = 0;
        if constexpr (simd::kF >= 16) {  // 2 rows x 4 tokens: 16 accumulators fit AVX-512's 32 registers
            for (; t + 4 <= tokens; t += 4) {
                rows_tokens_dot_f32<T, R, 4>(rows, step * row_bytes, w.cols, x + t * x_stride, x_stride,
                                             out + t * y_stride, step, y_stride);
            }
        }
        for (; t + 2 <= tokens; t += 2) {
            rows_tokens_dot_f32<T, R, 2>(rows, step * row_bytes, w.cols, x + t * x_stride, x_stride, out + t * y_stride, step,
                                         y_stride);
        }
        if (t < tokens) {
            rows_tokens_dot_f32<T, R, 1>(rows, step * row_bytes, w.cols, x + t * x_stride, x_stride, out + t * y_stride, step,
                                         y_stride);
        }
    };
    for_rows_as_four_streams(
        row_begin, row_end, row_bytes,
        [&](int64_t first, int64_t step) {
            if (tokens == 1) {
                rows_dot_f32<T, 4>(w.data + first * row_bytes, step * row_bytes, w.cols, x, y + (first - row_begin), step);
            } else {
                by_tokens(planar::Index<2>{}, first, step);
                by_tokens(planar::Index<2>{}, first + 2 * step, step);
            }
        },
        [&](int64_t row) { by_tokens(planar::Index<1>{}, row, 1); });
}

template <class T>
void gemv_f32(const WeightView& w, int64_t row_begin, int64_t row_end, const float* x, float* y) {
    gemm_f32<T>(w, row_begin, row_end, x, 1, w.cols, y, row_end - row_begin);
}

}  // namespace floats

// Any other type with f32 activations: this level's dequantizer for one row, then dot_f32
// with each token.
template <DequantizeFn Dequantize>
void gemm_f32_via(const WeightView& w, int64_t row_begin, int64_t row_end, const float* x, int64_t tokens,
                  int64_t x_stride, float* y, int64_t y_stride) {
    Scratch row(static_cast<std::size_t>(w.cols) * sizeof(float));
    float* buf = reinterpret_cast<float*>(row.data());
    for (int64_t r = row_begin; r < row_end; ++r) {
        Dequantize(w, r, r + 1, buf);
        for (int64_t t = 0; t < tokens; ++t) y[t * y_stride + (r - row_begin)] = dot_f32(buf, x + t * x_stride, w.cols);
    }
}

template <DequantizeFn Dequantize>
void gemv_f32_via(const WeightView& w, int64_t row_begin, int64_t row_end, const float* x, float* y) {
    gemm_f32_via<Dequantize>(w, row_begin, row_end, x, 1, w.cols, y, row_end - row_begin);
}

#define LOWBIT_FLOAT_KERNELS(name, T)                                                                            \
    void name##_dequantize(const WeightView& w, int64_t r0, int64_t r1, float* y) {                              \
        floats::dequantize<T>(w, r0, r1, y);                                                                   \
    }                                                                                                           \
    void name##_gemv(const WeightView& w, int64_t r0, int64_t r1, const ActivationRowI8& x, float* y) {          \
        floats::gemv<T>(w, r0, r1, x, y);                                                                      \
    }                                                                                                           \
    void name##_gemm(const WeightView& w, int64_t r0, int64_t r1, const ActivationsI8& x, float* y, int64_t s) { \
        floats::gemm<T>(w, r0, r1, x, y, s);                                                                   \
    }                                                                                                           \
    void name##_gemv_f32(const WeightView& w, int64_t r0, int64_t r1, const float* x, float* y) {              \
        floats::gemv_f32<T>(w, r0, r1, x, y);                                                                  \
    }                                                                                                           \
    void name##_gemm_f32(const WeightView& w, int64_t r0, int64_t r1, const float* x, int64_t n, int64_t xs,     \
                         float* y, int64_t ys) {                                                                \
        floats::gemm_f32<T>(w, r0, r1, x, n, xs, y, ys);                                                       \
    }

LOWBIT_FLOAT_KERNELS(f32, floats::F32)
LOWBIT_FLOAT_KERNELS(f16, floats::F16)
LOWBIT_FLOAT_KERNELS(bf16, floats::BF16)

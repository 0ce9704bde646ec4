// Type-independent kernels: int8 activation quantization and absmean ternarization.
// Bit-identical to the scalar references in src/core/.

float quantize_activation_row(const float* x, int64_t n, int8_t* q, int32_t* sum_out) {
    using namespace simd;
    F m = zero_f();
    int64_t i = 0;
    for (; i + kF <= n; i += kF) m = max_f(abs_f(load_f(x + i)), m);  // a NaN in the first operand is ignored, as fmax
    float amax_f = hmax_f(m);
    for (; i < n; ++i) amax_f = __builtin_fmaxf(amax_f, __builtin_fabsf(x[i]));
    const double amax = __builtin_fmax(0.00001, static_cast<double>(amax_f));
    const auto scale = static_cast<float>(127.0 / amax);
    const F s = splat_f(scale);
    I sums = zero_i();
    for (i = 0; i + kF <= n; i += kF) sums = add_i(sums, store_f32_as_i8_rne(q + i, mul_f(load_f(x + i), s)));
    int32_t sum = hsum_i(sums);
    for (; i < n; ++i) {
        const float v = x[i] * scale;
        const int r =
            __builtin_isnan(v) ? 0 : static_cast<int>(__builtin_nearbyintf(v < -128.0f ? -128.0f : (v > 127.0f ? 127.0f : v)));
        q[i] = static_cast<int8_t>(r);
        sum += r;
    }
    *sum_out = sum;
    return scale;
}

void abs_partial_sums(const float* w, int64_t n, double* partial16) {
    simd::AbsPartials16 acc;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) acc.add(w + i);
    acc.store(partial16);
    for (; i < n; ++i) partial16[i % 16] += __builtin_fabs(static_cast<double>(w[i]));
}

void ternarize(const float* w, int64_t n, float s, int8_t* q) {
    using namespace simd;
    const F sv = splat_f(s);
    int64_t i = 0;
    // clamp(w / s, -1, 1) then round: the same as rounding then clamping for |.| <= 1.5
    for (; i + kF <= n; i += kF) store_f32_as_i8_rne_clamp1(q + i, div_f(load_f(w + i), sv));
    for (; i < n; ++i) {
        float v = w[i] / s;
        v = __builtin_isnan(v) ? 0.0f : (v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v));
        q[i] = static_cast<int8_t>(__builtin_nearbyintf(v));
    }
}

float dot_f32(const float* a, const float* b, int64_t n) {
    using namespace simd;
    F acc = zero_f();
    const int64_t full = n / kF * kF;
    for (int64_t i = 0; i < full; i += kF) acc = fma_f(load_f(a + i), load_f(b + i), acc);
    float s = hsum_f(acc);
    for (int64_t i = full; i < n; ++i) s += a[i] * b[i];
    return s;
}

float dot_f16_f32(const uint16_t* a, const float* b, int64_t n) {
    using namespace simd;
    F acc = zero_f();
    const int64_t full = n / kF * kF;
    for (int64_t i = 0; i < full; i += kF) {
        acc = fma_f(load_f16_as_f32(reinterpret_cast<const uint8_t*>(a + i)), load_f(b + i), acc);
    }
    float s = hsum_f(acc);
    for (int64_t i = full; i < n; ++i) s += f16_to_f32(a[i]) * b[i];
    return s;
}

void axpy_f16_f32(float* y, const uint16_t* x, float a, int64_t n) {
    using namespace simd;
    const F av = splat_f(a);
    const int64_t full = n / kF * kF;
    for (int64_t i = 0; i < full; i += kF) {
        store_f(y + i, fma_f(av, load_f16_as_f32(reinterpret_cast<const uint8_t*>(x + i)), load_f(y + i)));
    }
    for (int64_t i = full; i < n; ++i) y[i] += a * f16_to_f32(x[i]);
}

// Up to four heads per pass (H accumulators in registers); each head's sum takes the steps of
// dot_f16_f32 in the same order, so the results are the same bits.
template <int H>
void dot_f16_f32_rows_heads(const uint16_t* k, int64_t stride, int64_t rows, const float* q, int64_t dim, float* out,
                            int64_t out_stride) {
    using namespace simd;
    const int64_t full = dim / kF * kF;
    for (int64_t j = 0; j < rows; ++j) {
        const uint16_t* row = k + j * stride;
        F acc[H];
        for (int h = 0; h < H; ++h) acc[h] = zero_f();
        for (int64_t i = 0; i < full; i += kF) {
            const F kv = load_f16_as_f32(reinterpret_cast<const uint8_t*>(row + i));
            for (int h = 0; h < H; ++h) acc[h] = fma_f(kv, load_f(q + h * dim + i), acc[h]);
        }
        for (int h = 0; h < H; ++h) {
            float s = hsum_f(acc[h]);
            for (int64_t i = full; i < dim; ++i) s += f16_to_f32(row[i]) * q[h * dim + i];
            out[h * out_stride + j] = s;
        }
    }
}

void dot_f16_f32_rows(const uint16_t* k, int64_t stride, int64_t rows, const float* q, int64_t heads, int64_t dim,
                      float* out, int64_t out_stride) {
    int64_t h = 0;
    for (; h + 4 <= heads; h += 4) dot_f16_f32_rows_heads<4>(k, stride, rows, q + h * dim, dim, out + h * out_stride, out_stride);
    if (heads - h == 3) dot_f16_f32_rows_heads<3>(k, stride, rows, q + h * dim, dim, out + h * out_stride, out_stride);
    if (heads - h == 2) dot_f16_f32_rows_heads<2>(k, stride, rows, q + h * dim, dim, out + h * out_stride, out_stride);
    if (heads - h == 1) dot_f16_f32_rows_heads<1>(k, stride, rows, q + h * dim, dim, out + h * out_stride, out_stride);
}

// y stays in registers across the rows; each element still adds row after row, as axpy.
template <int H>
void axpy_f16_f32_rows_heads(float* y, const uint16_t* v, int64_t stride, int64_t rows, const float* a,
                             int64_t a_stride, int64_t dim) {
    using namespace simd;
    const int64_t full = dim / kF * kF;
    for (int64_t i = 0; i < full; i += kF) {
        F acc[H];
        for (int h = 0; h < H; ++h) acc[h] = load_f(y + h * dim + i);
        for (int64_t j = 0; j < rows; ++j) {
            const F vv = load_f16_as_f32(reinterpret_cast<const uint8_t*>(v + j * stride + i));
            for (int h = 0; h < H; ++h) acc[h] = fma_f(splat_f(a[h * a_stride + j]), vv, acc[h]);
        }
        for (int h = 0; h < H; ++h) store_f(y + h * dim + i, acc[h]);
    }
    for (int h = 0; h < H; ++h) {
        for (int64_t i = full; i < dim; ++i) {
            for (int64_t j = 0; j < rows; ++j) y[h * dim + i] += a[h * a_stride + j] * f16_to_f32(v[j * stride + i]);
        }
    }
}

void axpy_f16_f32_rows(float* y, const uint16_t* v, int64_t stride, int64_t rows, const float* a, int64_t a_stride,
                       int64_t heads, int64_t dim) {
    int64_t h = 0;
    for (; h + 4 <= heads; h += 4) axpy_f16_f32_rows_heads<4>(y + h * dim, v, stride, rows, a + h * a_stride, a_stride, dim);
    if (heads - h == 3) axpy_f16_f32_rows_heads<3>(y + h * dim, v, stride, rows, a + h * a_stride, a_stride, dim);
    if (heads - h == 2) axpy_f16_f32_rows_heads<2>(y + h * dim, v, stride, rows, a + h * a_stride, a_stride, dim);
    if (heads - h == 1) axpy_f16_f32_rows_heads<1>(y + h * dim, v, stride, rows, a + h * a_stride, a_stride, dim);
}

void relu_sq_mul_f32(float* gate, const float* up, int64_t n) {
    using namespace simd;
    const int64_t full = n / kF * kF;
    for (int64_t i = 0; i < full; i += kF) {
        const F g = max_f(load_f(gate + i), zero_f());  // a NaN gate gives 0, as the reference
        store_f(gate + i, mul_f(mul_f(g, g), load_f(up + i)));
    }
    for (int64_t i = full; i < n; ++i) {
        const float g = gate[i] > 0.0f ? gate[i] : 0.0f;
        gate[i] = g * g * up[i];
    }
}

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) {
    using namespace simd;
    const int64_t full = n / kF * kF;
    for (int64_t i = 0; i < full; i += kF) store_f32_as_f16(y + i, load_f(x + i));
    for (int64_t i = full; i < n; ++i) y[i] = f32_to_f16(x[i]);
}

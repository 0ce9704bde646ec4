#include "core_reference.hpp"

#include "../kernels/level_table.hpp"
#include "lowbit/fp16.hpp"

namespace lowbit {

float dot_f32_reference(const float* a, const float* b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

float dot_f16_f32_reference(const uint16_t* a, const float* b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += f16_to_f32(a[i]) * b[i];
    return s;
}

void axpy_f16_f32_reference(float* y, const uint16_t* x, float a, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * f16_to_f32(x[i]);
}

void f32_to_f16_row_reference(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
}

void relu_sq_mul_f32_reference(float* gate, const float* up, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i] > 0.0f ? gate[i] : 0.0f;
        gate[i] = g * g * up[i];
    }
}

void dot_f16_f32_rows_reference(const uint16_t* k, int64_t stride, int64_t rows, const float* q, int64_t heads,
                                int64_t dim, float* out, int64_t out_stride) {
    for (int64_t h = 0; h < heads; ++h) {
        for (int64_t j = 0; j < rows; ++j) out[h * out_stride + j] = dot_f16_f32_reference(k + j * stride, q + h * dim, dim);
    }
}

void axpy_f16_f32_rows_reference(float* y, const uint16_t* v, int64_t stride, int64_t rows, const float* a,
                                 int64_t a_stride, int64_t heads, int64_t dim) {
    for (int64_t h = 0; h < heads; ++h) {
        for (int64_t j = 0; j < rows; ++j) axpy_f16_f32_reference(y + h * dim, v + j * stride, a[h * a_stride + j], dim);
    }
}

}  // namespace lowbit

namespace lowbit::kernels {

const CoreKernels& reference_core_kernels() {
    static constexpr CoreKernels kReference{&quantize_activation_row_reference, &abs_partial_sums_reference,
                                            &ternarize_reference,               &dot_f32_reference,
                                            &dot_f16_f32_reference,             &axpy_f16_f32_reference,
                                            &f32_to_f16_row_reference,          &relu_sq_mul_f32_reference,
                                            &dot_f16_f32_rows_reference,        &axpy_f16_f32_rows_reference};
    return kReference;
}

}  // namespace lowbit::kernels

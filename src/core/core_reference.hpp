// Internal: the scalar references of the type-independent kernels (see level_table.hpp).
#pragma once

#include <cstdint>

namespace lowbit {

float quantize_activation_row_reference(const float* x, int64_t n, int8_t* q, int32_t* sum);
void abs_partial_sums_reference(const float* w, int64_t n, double* partial16);
void ternarize_reference(const float* w, int64_t n, float s, int8_t* q);
float dot_f32_reference(const float* a, const float* b, int64_t n);
float dot_f16_f32_reference(const uint16_t* a, const float* b, int64_t n);
void axpy_f16_f32_reference(float* y, const uint16_t* x, float a, int64_t n);
void f32_to_f16_row_reference(const float* x, uint16_t* y, int64_t n);
void relu_sq_mul_f32_reference(float* gate, const float* up, int64_t n);
void dot_f16_f32_rows_reference(const uint16_t* k, int64_t stride, int64_t rows, const float* q, int64_t heads,
                                int64_t dim, float* out, int64_t out_stride);
void axpy_f16_f32_rows_reference(float* y, const uint16_t* v, int64_t stride, int64_t rows, const float* a,
                                 int64_t a_stride, int64_t heads, int64_t dim);

}  // namespace lowbit

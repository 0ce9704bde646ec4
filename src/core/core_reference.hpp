// Internal: the scalar references of the type-independent kernels (see level_table.hpp).
#pragma once

#include <cstdint>

namespace lowbit {

float quantize_activation_row_reference(const float* x, int64_t n, int8_t* q, int32_t* sum);
void abs_partial_sums_reference(const float* w, int64_t n, double* partial16);
void ternarize_reference(const float* w, int64_t n, float s, int8_t* q);

}  // namespace lowbit

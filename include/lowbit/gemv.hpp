// Generic operations written once against a registry row: tensor dequantization and the
// reference matrix-vector products y = W x.
#pragma once

#include <span>

#include "lowbit/weight_type.hpp"

namespace lowbit {

// Builds a view after checking that `bytes` is exactly the size the type needs for the shape.
WeightView make_weight_view(const WeightType& type, std::span<const uint8_t> bytes, int64_t rows,
                            int64_t cols);

// Whole tensor to f32 (rows * cols floats), with the reference kernel.
void dequantize_reference(const WeightType& type, const WeightView& w, std::span<float> out);

// y = W x with x quantized to int8 per row (quantize_activation_row), reference kernel.
void gemv_i8_reference(const WeightType& type, const WeightView& w, std::span<const float> x,
                       std::span<float> y);

// y = W x in f32: each row dequantized, then a float dot product.
void gemv_f32_reference(const WeightType& type, const WeightView& w, std::span<const float> x,
                        std::span<float> y);

}  // namespace lowbit

#include "lowbit/gemv.hpp"

#include <vector>

#include "lowbit/activation.hpp"
#include "lowbit/error.hpp"

namespace lowbit {
namespace {

void check_gemv_shapes(const WeightType& type, const WeightView& w, std::size_t x_size, std::size_t y_size) {
    if (x_size != static_cast<std::size_t>(w.cols) || y_size != static_cast<std::size_t>(w.rows)) {
        fail(type.name, " gemv: weights are ", w.rows, " x ", w.cols, " but x has ", x_size, " and y ",
             y_size, " elements");
    }
}

}  // namespace

WeightView make_weight_view(const WeightType& type, std::span<const uint8_t> bytes, int64_t rows, int64_t cols) {
    const std::size_t need = type.tensor_bytes(rows, cols);
    if (bytes.size() != need) {
        fail(type.name, " tensor ", rows, " x ", cols, " needs ", need, " bytes, got ", bytes.size());
    }
    return {bytes.data(), rows, cols};
}

void dequantize_reference(const WeightType& type, const WeightView& w, std::span<float> out) {
    if (out.size() != static_cast<std::size_t>(w.rows * w.cols)) {
        fail(type.name, " dequantize: output holds ", out.size(), " floats for ", w.rows, " x ", w.cols);
    }
    type.reference.dequantize(w, 0, w.rows, out.data());
}

void gemv_i8_reference(const WeightType& type, const WeightView& w, std::span<const float> x, std::span<float> y) {
    check_gemv_shapes(type, w, x.size(), y.size());
    std::vector<int8_t> q(x.size());
    const ActivationRowI8 act = quantize_activation_row(x, q);
    type.reference.gemv_i8(w, 0, w.rows, act, y.data());
}

void gemv_f32_reference(const WeightType& type, const WeightView& w, std::span<const float> x, std::span<float> y) {
    check_gemv_shapes(type, w, x.size(), y.size());
    type.reference.gemv_f32(w, 0, w.rows, x.data(), y.data());
}

}  // namespace lowbit

// Reference GEMV: the f32 path against dequantize-then-dot in double; the int8 path against
// the f32 path within the activation-quantization bound, and at the int16-overflow worst case.
// (Exact integer equality of the int8 path against an independent decoder for every type is
// in tests/formats/spec_decode_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "lowbit/activation.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gemv.hpp"
#include "lowbit/ternary.hpp"
#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

struct Case {
    std::vector<float> w;
    std::vector<uint8_t> packed;
    std::vector<float> x;
    int64_t rows;
    int64_t cols;
};

Case make_case(const WeightType& t, int64_t rows, int64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Case c{std::vector<float>(rows * cols), {}, std::vector<float>(cols), rows, cols};
    for (float& v : c.w) v = normal(rng);
    for (float& v : c.x) v = normal(rng);
    if (t.ternary) {
        absmean_ternarize_inplace(c.w);
    }
    c.packed = quantize(t, c.w, rows, cols);
    return c;
}

int64_t cols_for(const WeightType& t) { return t.col_multiple > 1 ? 2 * std::max<int64_t>(t.col_multiple, 256) : 515; }

TEST(Gemv, F32PathMatchesDequantizeThenDoubleDot) {
    for (const WeightType& t : weight_types()) {
        SCOPED_TRACE(std::string(t.name));
        const Case c = make_case(t, 7, cols_for(t), 1);
        const WeightView view = make_weight_view(t, c.packed, c.rows, c.cols);
        std::vector<float> y(c.rows);
        gemv_f32_reference(t, view, c.x, y);
        const std::vector<float> wq = dequantize(t, c.packed, c.rows, c.cols);
        for (int64_t r = 0; r < c.rows; ++r) {
            double exact = 0, magnitude = 0;
            for (int64_t k = 0; k < c.cols; ++k) {
                exact += static_cast<double>(wq[r * c.cols + k]) * c.x[k];
                magnitude += std::fabs(static_cast<double>(wq[r * c.cols + k]) * c.x[k]);
            }
            // relative to sum |w x|, the scale of a dot product's rounding error
            EXPECT_LE(std::fabs(y[r] - exact), 1e-5 * magnitude) << "row " << r;
        }
    }
}

// |W q/s - W x| <= sum_k |w_k| * 0.5 / s: activations are rounded to the nearest 1/s.
TEST(Gemv, Int8PathWithinActivationRounding) {
    for (const WeightType& t : weight_types()) {
        SCOPED_TRACE(std::string(t.name));
        const Case c = make_case(t, 5, cols_for(t), 2);
        const WeightView view = make_weight_view(t, c.packed, c.rows, c.cols);
        std::vector<float> y8(c.rows), y32(c.rows);
        gemv_i8_reference(t, view, c.x, y8);
        gemv_f32_reference(t, view, c.x, y32);
        std::vector<int8_t> q(c.cols);
        const float s = quantize_activation_row(c.x, q).scale;
        const std::vector<float> wq = dequantize(t, c.packed, c.rows, c.cols);
        for (int64_t r = 0; r < c.rows; ++r) {
            double l1 = 0;
            for (int64_t k = 0; k < c.cols; ++k) l1 += std::fabs(wq[r * c.cols + k]);
            EXPECT_LE(std::fabs(y8[r] - y32[r]), l1 * 0.5 / s * 1.001 + 1e-4 * l1) << "row " << r;
        }
    }
}

// The worst case for int16 lanes: 16384 activations of 127 against +1 weights, and of -128
// (which the row quantizer never produces, but a kernel must accept) against -1 weights.
TEST(Gemv, Int8WorstCaseDoesNotOverflow) {
    const int64_t n = 16384;
    for (TypeId id : {TypeId::I2_S, TypeId::TL1, TypeId::TL2, TypeId::TQ2_0, TypeId::TQ1_0}) {
        const WeightType& t = weight_type(id);
        SCOPED_TRACE(std::string(t.name));
        for (float sign : {1.0f, -1.0f}) {
            const std::vector<float> w(n, sign);
            const std::vector<uint8_t> packed = quantize(t, w, 1, n);
            std::vector<int8_t> q(n, sign > 0 ? 127 : -128);
            const ActivationRowI8 a{q.data(), n, 1.0f, static_cast<int32_t>(n * q[0])};
            float y = 0;
            t.reference.gemv_i8(WeightView{packed.data(), 1, n}, 0, 1, a, &y);
            EXPECT_EQ(y, sign > 0 ? 127.0f * n : 128.0f * n);
        }
    }
}

TEST(Gemv, ShapeMismatchIsAnError) {
    const WeightType& t = weight_type(TypeId::Q8_0);
    const Case c = make_case(t, 2, 64, 3);
    const WeightView view = make_weight_view(t, c.packed, 2, 64);
    std::vector<float> x(63), y(2);
    EXPECT_THROW(gemv_f32_reference(t, view, x, y), Error);
    EXPECT_THROW(make_weight_view(t, std::span<const uint8_t>(c.packed).first(10), 2, 64), Error);
}

}  // namespace
}  // namespace lowbit::test

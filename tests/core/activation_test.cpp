// int8 activation quantization: golden vectors derived by hand from the spec (formats.md,
// "Activations") and llama.cpp's quantize_row_q8_K.
#include <gtest/gtest.h>

#include <vector>

#include "lowbit/activation.hpp"
#include "lowbit/error.hpp"

namespace lowbit {
namespace {

// amax = 254 -> s = 127 / 254 = 0.5; x * s = {127, 0.5, 1.5, -2.5, -0.5, 2.5}
// round half to even -> {127, 0, 2, -2, 0, 2}; sum = 129.
TEST(ActivationRow, GoldenTiesToEven) {
    const std::vector<float> x = {254.0f, 1.0f, 3.0f, -5.0f, -1.0f, 5.0f};
    std::vector<int8_t> q(x.size());
    const ActivationRowI8 a = quantize_activation_row(x, q);
    EXPECT_EQ(a.scale, 0.5f);
    EXPECT_EQ(q, (std::vector<int8_t>{127, 0, 2, -2, 0, 2}));
    EXPECT_EQ(a.sum, 129);
    EXPECT_EQ(a.n, 6);
}

// The most negative value reaches -127 only: amax = 2 -> s = 63.5; -2 * 63.5 = -127.
// 1 * 63.5 = 63.5 -> 64 (tie to even); 0.5 * 63.5 = 31.75 -> 32.
TEST(ActivationRow, GoldenNegativeMax) {
    const std::vector<float> x = {-2.0f, 1.0f, 0.5f, 0.0f};
    std::vector<int8_t> q(x.size());
    const ActivationRowI8 a = quantize_activation_row(x, q);
    EXPECT_EQ(a.scale, 63.5f);
    EXPECT_EQ(q, (std::vector<int8_t>{-127, 64, 32, 0}));
    EXPECT_EQ(a.sum, -31);
}

// The 1e-5 floor: an all-zero row gives s = 127 / 1e-5 and zero codes; a row of 1e-6 gives
// 1e-6 * 1.27e7 = 12.7 -> 13.
TEST(ActivationRow, FloorOnTinyRows) {
    std::vector<int8_t> q(3);
    const std::vector<float> zeros(3, 0.0f);
    const ActivationRowI8 a = quantize_activation_row(zeros, q);
    EXPECT_EQ(a.scale, static_cast<float>(127.0 / 0.00001));
    EXPECT_EQ(q, (std::vector<int8_t>{0, 0, 0}));
    const std::vector<float> tiny(3, 1e-6f);
    quantize_activation_row(tiny, q);
    EXPECT_EQ(q, (std::vector<int8_t>{13, 13, 13}));
}

TEST(ActivationRow, SizeMismatchIsAnError) {
    std::vector<int8_t> q(2);
    const std::vector<float> x(3, 1.0f);
    EXPECT_THROW(quantize_activation_row(x, q), Error);
}

// Q8_K: one block of 256 with x[5] = -2 (largest |x|): iscale = -127 / -2 = 63.5, d = 1/63.5.
// x[0] = 1 -> 63.5 -> 64 (tie to even); x[1] = -1 -> -64; x[2] = 0.25 -> 15.875 -> 16;
// x[5] = -2 -> -127; others 0. bsums[0] = 64 - 64 + 16 - 127 = -111.
TEST(ActivationQ8K, GoldenBlock) {
    std::vector<float> x(256, 0.0f);
    x[0] = 1.0f;
    x[1] = -1.0f;
    x[2] = 0.25f;
    x[5] = -2.0f;
    std::vector<BlockQ8K> out(1);
    quantize_activation_q8k(x, out);
    EXPECT_EQ(out[0].d, 1.0f / 63.5f);
    EXPECT_EQ(out[0].qs[0], 64);
    EXPECT_EQ(out[0].qs[1], -64);
    EXPECT_EQ(out[0].qs[2], 16);
    EXPECT_EQ(out[0].qs[5], -127);
    EXPECT_EQ(out[0].bsums[0], -111);
    EXPECT_EQ(out[0].bsums[1], 0);
}

// A positive max: x[7] = 4 -> iscale = -127 / 4 = -31.75 (d negative); x[7] -> -127,
// x[8] = -4 -> 127, x[9] = 2 -> -63.5 -> -64 (tie to even).
TEST(ActivationQ8K, PositiveMaxGivesNegativeScale) {
    std::vector<float> x(256, 0.0f);
    x[7] = 4.0f;
    x[8] = -4.0f;
    x[9] = 2.0f;
    std::vector<BlockQ8K> out(1);
    quantize_activation_q8k(x, out);
    EXPECT_EQ(out[0].d, 1.0f / -31.75f);
    EXPECT_EQ(out[0].qs[7], -127);
    EXPECT_EQ(out[0].qs[8], 127);
    EXPECT_EQ(out[0].qs[9], -64);
}

TEST(ActivationQ8K, ZeroBlockAndBadSize) {
    std::vector<float> x(256, 0.0f);
    std::vector<BlockQ8K> out(1);
    quantize_activation_q8k(x, out);
    EXPECT_EQ(out[0].d, 0.0f);
    const std::vector<float> odd(100, 1.0f);
    EXPECT_THROW(quantize_activation_q8k(odd, out), Error);
}

}  // namespace
}  // namespace lowbit

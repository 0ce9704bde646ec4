// Q8_0 golden vectors, derived by hand from the spec (formats.md, "Q8_0") and llama.cpp's
// quantize_row_q8_0_ref (roundf(x * id): ties away from zero).
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// max|x| = 127 -> d = 1 (f16 0x3C00), id = 1. q = roundf(x):
//   127 -> 0x7F, -127 -> 0x81, 0.5 -> 1, -0.5 -> -1 (0xFF), 1.5 -> 2, 2.5 -> 3 (away from
//   zero, where ties-to-even would give 2), -2.5 -> -3 (0xFD), 3.49 -> 3, 0 -> 0.
TEST(Q8_0, GoldenBlock) {
    const WeightType& t = weight_type(TypeId::Q8_0);
    std::vector<float> x(32, 0.0f);
    const float head[] = {127.0f, -127.0f, 0.5f, -0.5f, 1.5f, 2.5f, -2.5f, 3.49f};
    std::copy(std::begin(head), std::end(head), x.begin());
    std::vector<uint8_t> expected = {0x00, 0x3C, 0x7F, 0x81, 0x01, 0xFF, 0x02, 0x03, 0xFD, 0x03};
    repeat(expected, 0x00, 24);
    EXPECT_EQ(quantize(t, x, 1, 32), expected);

    const std::vector<float> y = dequantize(t, expected, 1, 32);
    EXPECT_EQ(y[1], -127.0f);
    EXPECT_EQ(y[5], 3.0f);
    EXPECT_EQ(y[6], -3.0f);
}

}  // namespace
}  // namespace lowbit::test

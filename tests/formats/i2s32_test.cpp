// I2S32 golden vectors, derived by hand from the spec (formats.md, "Two-bit four-level").
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// Same first 32 values as the QK256 golden block: d = 2, codes 3 3 2 0 | 1 2 2 2 | 2 ...
// -> 8 code bytes 0x2F 0xA9 0xAA x6, then f16 d = 2.0 = 0x4000 -> 00 40.
// Block 1: x[32 + 7] = -0.75 is the largest |x|: d = 0.375 (f16 0x3600), threshold 0.5625:
//   -0.75 -> code 0 (byte 1 bits 6-7 = 0, others code 2): byte1 = 0x2A; x[32 + 8] = 0.5 ->
//   below the threshold -> code 2; all others 0 -> code 2 -> 0xAA.
TEST(I2S32, GoldenTwoBlocks) {
    const WeightType& t = weight_type(TypeId::I2S32);
    std::vector<float> x(64, 0.0f);
    x[0] = 4.0f;
    x[1] = 3.0f;
    x[2] = 2.99f;
    x[3] = -3.0f;
    x[4] = -0.1f;
    x[32 + 7] = -0.75f;
    x[32 + 8] = 0.5f;
    std::vector<uint8_t> expected = {0x2F, 0xA9};
    repeat(expected, 0xAA, 6);
    append(expected, {0x00, 0x40, 0xAA, 0x2A});
    repeat(expected, 0xAA, 6);
    append(expected, {0x00, 0x36});
    EXPECT_EQ(quantize(t, x, 1, 64), expected);

    const std::vector<float> y = dequantize(t, expected, 1, 64);
    EXPECT_EQ(y[3], -4.0f);
    EXPECT_EQ(y[32 + 7], -0.75f);
    EXPECT_EQ(y[32 + 8], 0.375f);
}

}  // namespace
}  // namespace lowbit::test

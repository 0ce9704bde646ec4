// Q4_0 golden vectors, derived by hand from the spec (formats.md, "Q4_0") and llama.cpp's
// quantize_row_q4_0_ref (x * id, id = 1/d).
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// Block 0: the largest |x| is x[5] = -4 (sign kept): d = -4 / -8 = 0.5 (f16 0x3800), id = 2.
//   q = min(15, (int8)(x * 2 + 8.5)), truncation toward zero:
//   x = 0     -> 8.5  -> 8        x[0] = 1    -> 10.5 -> 10      x[1] = -1  -> 6.5 -> 6
//   x[2]=-.26 -> 7.98 -> 7 (truncated, not rounded to 8)         x[5] = -4  -> 0.5 -> 0
//   x[16] = 2 -> 12.5 -> 12       x[17] = 3.75 -> 16 -> 16 -> min(15) = 15
//   byte j = q[j] | q[j+16] << 4: byte0 = 10 | 12<<4 = 0xCA, byte1 = 6 | 15<<4 = 0xF6,
//   byte2 = 7 | 8<<4 = 0x87, byte5 = 0 | 8<<4 = 0x80, others 8 | 8<<4 = 0x88.
// Block 1: the largest |x| is x[3] = +4: d = 4 / -8 = -0.5 (f16 0xB800), id = -2.
//   x[3] = 4 -> -8 + 8.5 = 0.5 -> 0;  x[4] = -3 -> 6 + 8.5 = 14.5 -> 14
//   byte3 = 0 | 8<<4 = 0x80, byte4 = 14 | 8<<4 = 0x8E, others 0x88.
TEST(Q4_0, GoldenTwoBlocks) {
    const WeightType& t = weight_type(TypeId::Q4_0);
    std::vector<float> x(64, 0.0f);
    x[0] = 1.0f;
    x[1] = -1.0f;
    x[2] = -0.26f;
    x[5] = -4.0f;
    x[16] = 2.0f;
    x[17] = 3.75f;
    x[32 + 3] = 4.0f;
    x[32 + 4] = -3.0f;
    std::vector<uint8_t> expected = {0x00, 0x38, 0xCA, 0xF6, 0x87, 0x88, 0x88, 0x80};
    repeat(expected, 0x88, 10);
    append(expected, {0x00, 0xB8, 0x88, 0x88, 0x88, 0x80, 0x8E});
    repeat(expected, 0x88, 11);
    ASSERT_EQ(expected.size(), 36u);
    const std::vector<uint8_t> got = quantize(t, x, 1, 64);
    EXPECT_EQ(got, expected);

    // value (q - 8) * d
    const std::vector<float> y = dequantize(t, expected, 1, 64);
    EXPECT_EQ(y[0], 1.0f);
    EXPECT_EQ(y[1], -1.0f);
    EXPECT_EQ(y[2], -0.5f);
    EXPECT_EQ(y[5], -4.0f);
    EXPECT_EQ(y[16], 2.0f);
    EXPECT_EQ(y[17], 3.5f);  // clipped at q = 15
    EXPECT_EQ(y[32 + 3], 4.0f);
    EXPECT_EQ(y[32 + 4], -3.0f);
}

}  // namespace
}  // namespace lowbit::test

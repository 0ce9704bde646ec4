// Q4_1 golden vectors, derived by hand from the spec (formats.md, "Q4_1") and llama.cpp's
// quantize_row_q4_1_ref ((x - min) * id + 0.5f, id = 1/d).
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// min = -1, max = 2: d = 3/15 = 0.2f, id = 1/0.2f = 5.0f (0.2f = 0.2000000030, its reciprocal
// 4.99999992 rounds to 5.0f). Stored d = f16(0.2) = 0.199951171875 = 0x3266; m = f16(-1) = 0xBC00.
//   q = min(15, (int8)((x + 1) * 5 + 0.5)):
//   x[0] = -1 -> 0.5 -> 0      x[16] = 2 -> 15.5 -> 15      x = 0 -> 5.5 -> 5
//   x[1] = 0.5 -> 8.0 -> 8     x[17] = 0.29 -> 1.29*5 + 0.5 = 6.95 -> 6
//   byte0 = 0 | 15<<4 = 0xF0, byte1 = 8 | 6<<4 = 0x68, others 5 | 5<<4 = 0x55.
TEST(Q4_1, GoldenBlock) {
    const WeightType& t = weight_type(TypeId::Q4_1);
    std::vector<float> x(32, 0.0f);
    x[0] = -1.0f;
    x[16] = 2.0f;
    x[1] = 0.5f;
    x[17] = 0.29f;
    std::vector<uint8_t> expected = {0x66, 0x32, 0x00, 0xBC, 0xF0, 0x68};
    repeat(expected, 0x55, 14);
    EXPECT_EQ(quantize(t, x, 1, 32), expected);

    // value q * d + m: q = 15 -> 15 * 0.199951171875 - 1 = 1.999267578125 (exact in f32)
    const std::vector<float> y = dequantize(t, expected, 1, 32);
    EXPECT_EQ(y[0], -1.0f);
    EXPECT_EQ(y[16], 1.999267578125f);
    EXPECT_EQ(y[1], 8 * 0.199951171875f - 1.0f);
}

}  // namespace
}  // namespace lowbit::test

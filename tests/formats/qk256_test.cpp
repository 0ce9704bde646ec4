// QK256 golden vectors, derived by hand from the spec (formats.md, "Two-bit four-level").
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// Row 0: d = max|x| / 2 = 4 / 2 = 2. Codes 0..3 = -2, -1, +1, +2; magnitude 2 where
// |x| >= 1.5 d = 3; the sign picks the half (0 counts as positive).
//   x[0] = 4 -> 3, x[1] = 3 -> 3 (exactly 1.5 d), x[2] = 2.99 -> 2, x[3] = -3 -> 0,
//   x[4] = -0.1 -> 1, x[5..255] = 0 -> 2.
//   Element k in byte k/4 at shift 2(k%4): byte0 = 3 | 3<<2 | 2<<4 | 0<<6 = 0x2F,
//   byte1 = 1 | 2<<2 | 2<<4 | 2<<6 = 0xA9, others 2|2<<2|2<<4|2<<6 = 0xAA.
// Row 1: all -1 -> d = 0.5, |x| = 1 >= 0.75 -> code 0 -> bytes 0x00.
// All codes first (2 x 64 bytes), then the f32 scales: 2.0 = 00 00 00 40, 0.5 = 00 00 00 3F.
TEST(QK256, GoldenTwoRows) {
    const WeightType& t = weight_type(TypeId::QK256);
    std::vector<float> x(512, 0.0f);
    x[0] = 4.0f;
    x[1] = 3.0f;
    x[2] = 2.99f;
    x[3] = -3.0f;
    x[4] = -0.1f;
    for (int k = 256; k < 512; ++k) x[k] = -1.0f;
    std::vector<uint8_t> expected = {0x2F, 0xA9};
    repeat(expected, 0xAA, 62);
    repeat(expected, 0x00, 64);
    append(expected, {0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x3F});
    EXPECT_EQ(quantize(t, x, 2, 256), expected);

    const std::vector<float> y = dequantize(t, expected, 2, 256);
    EXPECT_EQ(y[0], 4.0f);
    EXPECT_EQ(y[1], 4.0f);
    EXPECT_EQ(y[2], 2.0f);
    EXPECT_EQ(y[3], -4.0f);
    EXPECT_EQ(y[4], -2.0f);
    EXPECT_EQ(y[5], 2.0f);  // zero has no code of its own: +1 * d
    EXPECT_EQ(y[300], -1.0f);
}

}  // namespace
}  // namespace lowbit::test

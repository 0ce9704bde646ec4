// TQ2_0 golden vectors, derived by hand from the spec (formats.md, "TQ2_0").
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// One block of 256; d = max|x| = 1.0 (f16 0x3C00 -> bytes 00 3C at offset 64), id = 1.
// q = lroundf(x * id) (ties away from zero), code = q + 1.
//   x[0] = 1 (code 2), x[32] = -1 (0), x[64] = 0.4 (lround 0 -> 1), x[96] = 0.5 (lround 1 -> 2),
//   x[128] = -0.5 (lround -1 -> 0), x[255] = 0.75 (1 -> 2), every other x = 0 (code 1).
// Element 128h + 32l + m sits in byte 32h + m at shift 2l (LSB-first):
//   byte 0  = codes of 0, 32, 64, 96    = 2 | 0<<2 | 1<<4 | 2<<6 = 0x92
//   byte 32 = codes of 128, 160, 192, 224 = 0 | 1<<2 | 1<<4 | 1<<6 = 0x54
//   byte 63 = codes of 159, 191, 223, 255 = 1 | 1<<2 | 1<<4 | 2<<6 = 0x95
//   every other byte: four 1 codes = 0x55
TEST(TQ2_0, GoldenBlock) {
    const WeightType& t = weight_type(TypeId::TQ2_0);
    std::vector<float> x(256, 0.0f);
    x[0] = 1.0f;
    x[32] = -1.0f;
    x[64] = 0.4f;
    x[96] = 0.5f;
    x[128] = -0.5f;
    x[255] = 0.75f;
    std::vector<uint8_t> expected;
    append(expected, {0x92});
    repeat(expected, 0x55, 31);
    append(expected, {0x54});
    repeat(expected, 0x55, 30);
    append(expected, {0x95});
    append(expected, {0x00, 0x3C});
    ASSERT_EQ(expected.size(), 66u);
    const std::vector<uint8_t> got = quantize(t, x, 1, 256);
    EXPECT_EQ(got, expected);

    // Decoding: (code - 1) * d.
    const std::vector<float> y = dequantize(t, expected, 1, 256);
    EXPECT_EQ(y[0], 1.0f);
    EXPECT_EQ(y[32], -1.0f);
    EXPECT_EQ(y[64], 0.0f);
    EXPECT_EQ(y[96], 1.0f);
    EXPECT_EQ(y[128], -1.0f);
    EXPECT_EQ(y[255], 1.0f);
    EXPECT_EQ(y[1], 0.0f);
}

// Code 3 decodes as (3 - 1) * d = 2d (the formula; llama.cpp does the same).
TEST(TQ2_0, CodeThree) {
    const WeightType& t = weight_type(TypeId::TQ2_0);
    std::vector<uint8_t> bytes(64, 0x55);
    bytes[5] = 0x57;  // element 5 (l = 0) -> code 3
    append(bytes, {0x00, 0x38});  // d = 0.5
    EXPECT_EQ(dequantize(t, bytes, 1, 256)[5], 1.0f);
}

}  // namespace
}  // namespace lowbit::test

// Group-wise INTn golden vectors, derived by hand from the spec (formats.md, "Group-wise
// integer formats") and docs/FORMATS.md (stored-d rounding, zero in the asymmetric range,
// constant groups).
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// INT4_SYM_G32, 1 row x 40 columns: a full group of 32 and a short group of 8.
// Group 0: max|x| = 7 -> d = 7/7 = 1 (f16 0x3C00). q = rne(x / d):
//   x[0] = 7 -> 7 (0x7), x[1] = -7 -> -7 (0x9), x[2] = 2.5 -> 2 (tie to even),
//   x[3] = -3.5 -> -4 (tie to even, 0xC), x[4] = 0.4 -> 0.
//   int4: element 2i low nibble of byte i: byte0 = 0x7 | 0x9<<4 = 0x97, byte1 = 0x2 | 0xC<<4 = 0xC2.
// Group 1 (elements 32..39): max|x| = 0.5 -> d = 0.5/7 = 0.07142857 -> f16: 1.142857 * 2^-4,
//   mantissa 0.142857 * 1024 = 146.3 -> 146 -> 0x2C92 = 0.0714111328125 (stored).
//   q is computed with the stored d: x[32] = 0.5 -> 7.0017 -> 7; x[33] = -0.25 -> -3.50085
//   -> -4 (with the unrounded d it would be -3.4999999 -> -3). byte16 = 0x7 | 0xC<<4 = 0xC7.
// Row bytes ceil(40 * 4 / 8) = 20; then the two f16 scales: 00 3C, 92 2C.
TEST(IntGroup, GoldenInt4SymShortLastGroup) {
    const WeightType& t = weight_type("INT4_SYM_G32");
    std::vector<float> x(40, 0.0f);
    x[0] = 7.0f;
    x[1] = -7.0f;
    x[2] = 2.5f;
    x[3] = -3.5f;
    x[4] = 0.4f;
    x[32] = 0.5f;
    x[33] = -0.25f;
    std::vector<uint8_t> expected = {0x97, 0xC2};
    repeat(expected, 0x00, 14);
    append(expected, {0xC7, 0x00, 0x00, 0x00});
    append(expected, {0x00, 0x3C, 0x92, 0x2C});
    EXPECT_EQ(t.tensor_bytes(1, 40), 24u);
    EXPECT_EQ(quantize(t, x, 1, 40), expected);

    const std::vector<float> y = dequantize(t, expected, 1, 40);
    EXPECT_EQ(y[2], 2.0f);
    EXPECT_EQ(y[3], -4.0f);
    EXPECT_EQ(y[33], -4 * 0.0714111328125f);
}

// INT4_ASYM_G32: min = -1, max = 2 -> d = 3/15 -> f16 0x3266 = 0.199951171875.
// z = rne(1 / 0.199951171875 = 5.0012) = 5. q = clamp(rne(x / d) + 5, 0, 15):
//   x[0] = -1 -> -5 + 5 = 0; x[1] = 2 -> rne(10.0024) + 5 = 15; x[2] = 0.5 -> rne(2.5006) = 3
//   -> 8; x[3] = 0.3 -> rne(1.5004) = 2 -> 7; x = 0 -> 5.
//   Codes: byte0 = 0 | 15<<4 = 0xF0, byte1 = 8 | 7<<4 = 0x78, bytes 2..15 = 5 | 5<<4 = 0x55.
//   Then the scale 66 32 and the zero point 05.
TEST(IntGroup, GoldenInt4Asym) {
    const WeightType& t = weight_type("INT4_ASYM_G32");
    std::vector<float> x(32, 0.0f);
    x[0] = -1.0f;
    x[1] = 2.0f;
    x[2] = 0.5f;
    x[3] = 0.3f;
    std::vector<uint8_t> expected = {0xF0, 0x78};
    repeat(expected, 0x55, 14);
    append(expected, {0x66, 0x32, 0x05});
    EXPECT_EQ(quantize(t, x, 1, 32), expected);

    const std::vector<float> y = dequantize(t, expected, 1, 32);
    EXPECT_EQ(y[0], -5 * 0.199951171875f);
    EXPECT_EQ(y[1], 10 * 0.199951171875f);
    EXPECT_EQ(y[4], 0.0f);
}

// INT4_ASYM_G32 with an all-positive group 1..2: the range is widened to include 0, so
// d = 2/15 -> f16 0x3044 = 0.13330078125, z = 0: x = 1 -> rne(7.5018) = 8; x = 2 -> 15.
TEST(IntGroup, GoldenAsymAllPositiveIncludesZero) {
    const WeightType& t = weight_type("INT4_ASYM_G32");
    std::vector<float> x(32, 1.0f);
    x[1] = 2.0f;
    std::vector<uint8_t> expected = {0xF8};
    repeat(expected, 0x88, 15);
    append(expected, {0x44, 0x30, 0x00});
    EXPECT_EQ(quantize(t, x, 1, 32), expected);
}

// INT2_SYM_G32: qmax = 1, codes -2..1 as 2-bit two's complement (1 = 01, -1 = 11, 0 = 00).
// max|x| = 1 -> d = 1. x[0] = 1 -> 1, x[1] = -1 -> -1, x[2] = -0.6 -> -1, x[3] = 0.5 -> 0
// (tie to even). Four per byte, LSB-first: byte0 = 1 | 3<<2 | 3<<4 | 0<<6 = 0x3D.
// Row bytes 32 * 2 / 8 = 8, then f16 1.0.
TEST(IntGroup, GoldenInt2Sym) {
    const WeightType& t = weight_type("INT2_SYM_G32");
    std::vector<float> x(32, 0.0f);
    x[0] = 1.0f;
    x[1] = -1.0f;
    x[2] = -0.6f;
    x[3] = 0.5f;
    std::vector<uint8_t> expected = {0x3D};
    repeat(expected, 0x00, 7);
    append(expected, {0x00, 0x3C});
    EXPECT_EQ(quantize(t, x, 1, 32), expected);
}

// A constant group reconstructs exactly: INT8_ASYM_G32 of 32 x -3.25 (an f16 value, 0x4280)
// is stored as d = 3.25, z = 1, q = 0: (0 - 1) * 3.25 = -3.25.
TEST(IntGroup, GoldenConstantGroupExact) {
    const WeightType& t = weight_type("INT8_ASYM_G32");
    const std::vector<float> x(32, -3.25f);
    std::vector<uint8_t> expected(32, 0x00);
    append(expected, {0x80, 0x42, 0x01});
    EXPECT_EQ(quantize(t, x, 1, 32), expected);
    EXPECT_EQ(dequantize(t, expected, 1, 32), x);

    const WeightType& sym = weight_type("INT8_SYM_G32");
    const std::vector<float> pos(32, 6.5f);
    const std::vector<uint8_t> packed = quantize(sym, pos, 1, 32);
    EXPECT_EQ(packed[0], 0x01);  // q = +1 ...
    EXPECT_EQ(packed[32], 0x80);  // ... with d = 6.5 = f16 0x4680
    EXPECT_EQ(packed[33], 0x46);
    EXPECT_EQ(dequantize(sym, packed, 1, 32), pos);
}

// Tensor layout: all codes (row-major), then all scales, then all zero points.
// INT8_ASYM_G64 with 2 rows x 100 columns: codes 2 * 100, scales 2 * 2 * 2, zeros 2 * 2.
TEST(IntGroup, SectionSizes) {
    EXPECT_EQ(weight_type("INT8_ASYM_G64").tensor_bytes(2, 100), 200u + 8 + 4);
    EXPECT_EQ(weight_type("INT2_SYM_G256").tensor_bytes(3, 7), 3u * 2 + 3 * 2);
    EXPECT_EQ(weight_type(int_group_type_id(4, true, 128)).name, "INT4_ASYM_G128");
}

}  // namespace
}  // namespace lowbit::test

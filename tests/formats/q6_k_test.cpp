// Q6_K golden vectors, derived by hand from the spec (formats.md, "Q6_K") and the quantizer
// rule written in docs/FORMATS.md.
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// One block of 256, all zero except x[0] = -32, x[1] = 16, x[2] = 1 (sub-block 0).
// Sub-block scales m / -32: sub-block 0 -> -32 / -32 = 1; the others 0.
// iscale = -128 / 1 = -128, d = 1 / iscale = -2^-7 (f16 0xA000 -> bytes 00 A0 at 208).
// scales[0] = min(127, nearest(-128 * 1)) = -128 (0x80); scales[1..15] = 0.
// Sub-block 0: d * scales[0] = 1, so q = x: -32 -> code 0, 16 -> code 48, 1 -> code 33,
// 0 -> code 32. Every other sub-block has d * scale = 0: q = 0, code 32.
// Packing (half 0, l = 0..31): ql[l] low nibble = element l, high nibble = element l+64;
// ql[l+32] low = element l+32, high = element l+96; qh[l] bits 0-1, 2-3, 4-5, 6-7 = high 2
// bits of elements l, l+32, l+64, l+96. Code 32 = 0b10'0000: low nibble 0, high bits 2.
//   ql: all 0 except ql[2] = 33 & 15 = 0x01
//   qh[l] with four code-32 elements = 0b10101010 = 0xAA; qh[0] (element 0: high 0) = 0xA8;
//   qh[1] (element 1: 48 >> 4 = 3) = 0xAB; qh[2] (33 >> 4 = 2) = 0xAA.
TEST(Q6_K, GoldenBlock) {
    const WeightType& t = weight_type(TypeId::Q6_K);
    std::vector<float> x(256, 0.0f);
    x[0] = -32.0f;
    x[1] = 16.0f;
    x[2] = 1.0f;
    std::vector<uint8_t> expected;
    append(expected, {0x00, 0x00, 0x01});
    repeat(expected, 0x00, 125);  // ql[3..127]
    append(expected, {0xA8, 0xAB});
    repeat(expected, 0xAA, 62);   // qh[2..63]
    append(expected, {0x80});
    repeat(expected, 0x00, 15);   // scales[1..15]
    append(expected, {0x00, 0xA0});
    ASSERT_EQ(expected.size(), 210u);
    EXPECT_EQ(quantize(t, x, 1, 256), expected);

    // value (d * scale) * (q - 32)
    const std::vector<float> y = dequantize(t, expected, 1, 256);
    EXPECT_EQ(y[0], -32.0f);
    EXPECT_EQ(y[1], 16.0f);
    EXPECT_EQ(y[2], 1.0f);
    EXPECT_EQ(y[3], 0.0f);
    EXPECT_EQ(y[200], 0.0f);
}

// Decoding the second half and the high nibbles: element 128 + 64 + 5 (half 1, l = 5,
// third of four) takes the high nibble of ql[64 + 5] and bits 4-5 of qh[32 + 5]; its scale is
// scales[8 + 5/16 + 4] = scales[12]. With ql[69] = 0xF0 (high nibble 15), qh[37] = 0x30
// (bits 4-5 = 3): q = 15 | 3 << 4 = 63 -> 63 - 32 = 31; scales[12] = 2, d = 0.5 -> 31.
TEST(Q6_K, DecodesSecondHalfHighNibble) {
    const WeightType& t = weight_type(TypeId::Q6_K);
    std::vector<uint8_t> bytes(210, 0x00);
    // every other element: code 0 -> -32 * d * scale; make all scales 0 except scales[12]
    bytes[69] = 0xF0;
    bytes[128 + 37] = 0x30;
    bytes[192 + 12] = 2;
    bytes[208] = 0x00;
    bytes[209] = 0x38;  // d = 0.5
    const std::vector<float> y = dequantize(t, bytes, 1, 256);
    EXPECT_EQ(y[128 + 64 + 5], 31.0f);
    EXPECT_EQ(y[128 + 64 + 6], -32.0f);  // same sub-block (scales[12]), code 0
    EXPECT_EQ(y[0], -0.0f);
}

}  // namespace
}  // namespace lowbit::test

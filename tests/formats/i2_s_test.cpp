// I2_S golden vectors, derived by hand from the spec (formats.md, "I2_S").
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// One row of 128 weights in {-0.5, 0, +0.5} (plus two values below 1e-6, which count as 0).
// Codes: -1 -> 0, 0 -> 1, +1 -> 2. Byte b holds elements b, b+32, b+64, b+96 in bits
// 7-6, 5-4, 3-2, 1-0 (MSB-first).
//   byte 0:  x[0]=+.5 (2), x[32]=-.5 (0), x[64]=0 (1), x[96]=+.5 (2) -> 10 00 01 10 = 0x86
//   byte 31: x[31]=-.5 (0), x[63]=+.5 (2), x[95]=-.5 (0), x[127]=0 (1) -> 00 10 00 01 = 0x21
//   byte 1:  x[1]=5e-7 and x[2]... all count as 0 -> 01 01 01 01 = 0x55 (every other byte too)
// Tail at byte n/4 = 32: f32 scale max|w| = 0.5 = 0x3F000000 -> 00 00 00 3F, then 28 zeros.
std::vector<float> golden_row() {
    std::vector<float> x(128, 0.0f);
    x[0] = 0.5f;
    x[32] = -0.5f;
    x[96] = 0.5f;
    x[31] = -0.5f;
    x[63] = 0.5f;
    x[95] = -0.5f;
    x[1] = 5e-7f;
    x[2] = -2e-7f;
    return x;
}

TEST(I2S, GoldenSingleRow) {
    const WeightType& t = weight_type(TypeId::I2_S);
    std::vector<uint8_t> expected;
    append(expected, {0x86});
    repeat(expected, 0x55, 30);
    append(expected, {0x21});
    append(expected, {0x00, 0x00, 0x00, 0x3F});
    repeat(expected, 0x00, 28);
    EXPECT_EQ(quantize(t, golden_row(), 1, 128), expected);
}

TEST(I2S, GoldenDecodes) {
    const WeightType& t = weight_type(TypeId::I2_S);
    std::vector<uint8_t> bytes;
    append(bytes, {0x86});
    repeat(bytes, 0x55, 30);
    append(bytes, {0x21});
    append(bytes, {0x00, 0x00, 0x00, 0x3F});
    repeat(bytes, 0x00, 28);
    const std::vector<float> y = dequantize(t, bytes, 1, 128);
    std::vector<float> expected = golden_row();
    expected[1] = 0.0f;
    expected[2] = 0.0f;
    EXPECT_EQ(y, expected);
}

// Code 3 is never written; the spec's formula (code - 1) * scale decodes it as +2 * scale.
TEST(I2S, CodeThreeDecodesAsTwo) {
    const WeightType& t = weight_type(TypeId::I2_S);
    std::vector<uint8_t> bytes(32, 0x55);
    bytes[0] = 0xC0 | 0x15;  // element 0 -> code 3, elements 32, 64, 96 -> code 1
    append(bytes, {0x00, 0x00, 0x80, 0x3F});  // scale 1.0
    repeat(bytes, 0x00, 28);
    EXPECT_EQ(dequantize(t, bytes, 1, 128)[0], 2.0f);
}

// Two rows: row r starts at byte r * cols / 4 and the tail follows all rows (n/4 = 64).
// Row 1 is all +1.5 (scale 1.5 = 0x3FC00000): every byte 10 10 10 10 = 0xAA.
TEST(I2S, GoldenTwoRowsTailAfterAllRows) {
    const WeightType& t = weight_type(TypeId::I2_S);
    std::vector<float> x(256, 0.0f);
    for (int k = 128; k < 256; ++k) x[k] = 1.5f;
    std::vector<uint8_t> expected;
    repeat(expected, 0x55, 32);
    repeat(expected, 0xAA, 32);
    append(expected, {0x00, 0x00, 0xC0, 0x3F});
    repeat(expected, 0x00, 28);
    EXPECT_EQ(t.tensor_bytes(2, 128), 2u * 128 / 4 + 32);
    EXPECT_EQ(quantize(t, x, 2, 128), expected);
}

TEST(I2S, RowLengthMustBeMultipleOf128) {
    const WeightType& t = weight_type(TypeId::I2_S);
    EXPECT_THROW(t.tensor_bytes(4, 96), Error);
    std::vector<float> x(4 * 96, 0.0f);
    std::vector<uint8_t> out(1024);
    try {
        t.reference.quantize(x.data(), 4, 96, out.data());
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not a multiple of the block size 128"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace lowbit::test

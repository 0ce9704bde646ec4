// Plain float types: golden bytes from IEEE 754 (f16) and the bfloat16 definition.
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// f16: 1 -> 0x3C00, -2 -> 0xC000, 65504 (largest finite) -> 0x7BFF,
// 6e-8 -> 6e-8 / 2^-24 = 1.007 -> subnormal 1 -> 0x0001, 1e-8 -> 0.168 -> 0.
TEST(F16, Golden) {
    const WeightType& t = weight_type(TypeId::F16);
    const std::vector<float> x = {1.0f, -2.0f, 65504.0f, 6e-8f, 1e-8f};
    const std::vector<uint8_t> expected = {0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00, 0x00, 0x00};
    EXPECT_EQ(quantize(t, x, 1, 5), expected);
}

TEST(F16, OverflowIsAnError) {
    const WeightType& t = weight_type(TypeId::F16);
    const std::vector<float> x = {1.0f, 70000.0f};
    EXPECT_THROW(quantize(t, x, 1, 2), Error);
}

// bf16: 1 -> 0x3F80; 1 + 2^-8 is a tie -> even 0x3F80; 1 + 3 * 2^-8 is a tie -> even 0x3F82.
TEST(BF16, Golden) {
    const WeightType& t = weight_type(TypeId::BF16);
    const std::vector<float> x = {1.0f, 1.00390625f, 1.01171875f, -0.0f};
    const std::vector<uint8_t> expected = {0x80, 0x3F, 0x80, 0x3F, 0x82, 0x3F, 0x00, 0x80};
    EXPECT_EQ(quantize(t, x, 1, 4), expected);
}

TEST(F32, Golden) {
    const WeightType& t = weight_type(TypeId::F32);
    const std::vector<float> x = {1.0f, -0.5f};
    const std::vector<uint8_t> expected = {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xBF};
    EXPECT_EQ(quantize(t, x, 1, 2), expected);
    EXPECT_EQ(dequantize(t, expected, 1, 2), x);
}

}  // namespace
}  // namespace lowbit::test

// TL1 golden vectors, derived by hand from docs/FORMATS.md ("TL1") and the spec.
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// 2 rows x 5 columns (odd: the last pair takes a zero partner), weights {+1,-1,0,+1,-1} x 0.25
// and a row of zeros. Index = 3*w0 + w1 + 4:
//   pairs (1,-1) -> 6, (0,1) -> 5, (-1,0 pad) -> 1. Row bytes = ceil(ceil(5/2)/2) = 2:
//   byte0 = 6 | 5<<4 = 0x56, byte1 = 1 | (unused nibble: zero pair 4)<<4 = 0x41.
//   Row of zeros: pairs 4, 4, 4 -> 0x44 0x44.
// Tail: f32 0.25 = 0x3E800000 -> 00 00 80 3E, then 28 zeros.
TEST(TL1, GoldenOddColumns) {
    const WeightType& t = weight_type(TypeId::TL1);
    const std::vector<float> x = {0.25f, -0.25f, 0.0f, 0.25f, -0.25f, 0, 0, 0, 0, 0};
    std::vector<uint8_t> expected = {0x56, 0x41, 0x44, 0x44, 0x00, 0x00, 0x80, 0x3E};
    repeat(expected, 0x00, 28);
    EXPECT_EQ(t.tensor_bytes(2, 5), 2u * 2 + 32);
    EXPECT_EQ(quantize(t, x, 2, 5), expected);
    EXPECT_EQ(dequantize(t, expected, 2, 5), x);
}

}  // namespace
}  // namespace lowbit::test

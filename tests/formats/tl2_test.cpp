// TL2 golden vectors, derived by hand from docs/FORMATS.md ("TL2") and the spec.
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// 1 row x 8 columns: 2 triples + a 2-column TL1 tail; weights x 0.5:
//   (1,-1,0): v = 9 - 3 + 0 = 6 (+); (-1,0,1): v = -9 + 0 + 1 = -8 (-); tail (1,1).
//   magnitudes, ceil(2/2) = 1 byte: 6 | 8<<4 = 0x86; signs, ceil(2/8) = 1 byte: triple 1 -> 0x02;
//   tail pair (1,1) -> 3 + 1 + 4 = 8 in the low nibble, 4 in the high: 0x48. Row bytes 3.
// Tail: f32 0.5 -> 00 00 00 3F, then 28 zeros.
TEST(TL2, GoldenWithPairTail) {
    const WeightType& t = weight_type(TypeId::TL2);
    const std::vector<float> x = {0.5f, -0.5f, 0.0f, -0.5f, 0.0f, 0.5f, 0.5f, 0.5f};
    std::vector<uint8_t> expected = {0x86, 0x02, 0x48, 0x00, 0x00, 0x00, 0x3F};
    repeat(expected, 0x00, 28);
    EXPECT_EQ(quantize(t, x, 1, 8), expected);
    EXPECT_EQ(dequantize(t, expected, 1, 8), x);
}

// 1 row x 9 columns: 3 triples, no tail; weights x 2:
//   (1,1,1) -> 13 (+), (-1,-1,-1) -> 13 (-), (0,0,-1) -> 1 (-).
//   magnitudes, ceil(3/2) = 2 bytes: 13 | 13<<4 = 0xDD, 1 (unused high nibble 0) = 0x01;
//   signs: triples 1 and 2 -> 0b110 = 0x06. Row bytes 3. Scale 2.0 = 00 00 00 40.
TEST(TL2, GoldenExtremes) {
    const WeightType& t = weight_type(TypeId::TL2);
    const std::vector<float> x = {2, 2, 2, -2, -2, -2, 0, 0, -2};
    std::vector<uint8_t> expected = {0xDD, 0x01, 0x06, 0x00, 0x00, 0x00, 0x40};
    repeat(expected, 0x00, 28);
    EXPECT_EQ(quantize(t, x, 1, 9), expected);
    EXPECT_EQ(dequantize(t, expected, 1, 9), x);
}

// Row bytes for a 2560-column row: T = 853 triples, 1 leftover column:
// ceil(853/2) = 427 + ceil(853/8) = 107 + 1 = 535.
TEST(TL2, RowBytes) {
    const WeightType& t = weight_type(TypeId::TL2);
    EXPECT_EQ(t.row_bytes(2560), 535u);
    EXPECT_EQ(t.tensor_bytes(3, 2560), 3u * 535 + 32);
}

}  // namespace
}  // namespace lowbit::test

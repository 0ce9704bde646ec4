// TQ1_0 golden vectors, derived by hand from the spec (formats.md, "TQ1_0").
#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// One block of 256, d = max|x| = 1 (f16 0x3C00 at offset 52). Trit t = q + 1.
// A byte stores the base-3 value v of its 5 trits (first most significant) as ceil(v*256/243).
//
// qs[0] holds elements 0, 32, 64, 96, 128: x = 1, -1, 0, 1, -1 -> trits 2 0 1 2 0
//   v = 2*81 + 0*27 + 1*9 + 2*3 + 0 = 177; 177*256 = 45312 = 243*186 + 114 -> ceil 187 = 0xBB
// A byte of five zeros (trits 1 1 1 1 1): v = 121; 121*256 = 30976 = 243*127 + 115 -> 128 = 0x80
// qs[32] holds elements 160, 176, 192, 208, 224: x[176] = 1 -> trits 1 2 1 1 1
//   v = 81 + 54 + 9 + 3 + 1 = 148; 148*256 = 37888 = 243*155 + 223 -> 156 = 0x9C
// qh[0] holds elements 240, 244, 248, 252: x[244] = -1, x[252] = 1 -> trits 1 0 1 2
//   v = 27 + 0 + 3 + 2 = 32, times 3 = 96; 96*256 = 24576 = 243*101 + 33 -> 102 = 0x66
// qh of four zeros: v = 40, times 3 = 120; 120*256 = 30720 = 243*126 + 102 -> 127 = 0x7F
std::vector<float> golden_input() {
    std::vector<float> x(256, 0.0f);
    x[0] = 1.0f;
    x[32] = -1.0f;
    x[96] = 1.0f;
    x[128] = -1.0f;
    x[176] = 1.0f;
    x[244] = -1.0f;
    x[252] = 1.0f;
    return x;
}

std::vector<uint8_t> golden_bytes() {
    std::vector<uint8_t> b;
    append(b, {0xBB});
    repeat(b, 0x80, 31);   // qs[1..31]
    append(b, {0x9C});     // qs[32]
    repeat(b, 0x80, 15);   // qs[33..47]
    append(b, {0x66});     // qh[0]
    repeat(b, 0x7F, 3);    // qh[1..3]
    append(b, {0x00, 0x3C});
    return b;
}

TEST(TQ1_0, GoldenBlock) {
    const WeightType& t = weight_type(TypeId::TQ1_0);
    const std::vector<uint8_t> expected = golden_bytes();
    ASSERT_EQ(expected.size(), 54u);
    EXPECT_EQ(quantize(t, golden_input(), 1, 256), expected);
}

// Decoding trit n of byte b: ((uint8_t)(b * 3^n) * 3) >> 8. For 0xBB = 187:
//   n=0: 187*3 = 561 >> 8 = 2; n=1: (uint8)561 = 49, 49*3 = 147 >> 8 = 0;
//   n=2: (uint8)(187*9 = 1683) = 147, 441 >> 8 = 1; n=3: (uint8)5049 = 185, 555 >> 8 = 2;
//   n=4: (uint8)15147 = 43, 129 >> 8 = 0   -> trits 2 0 1 2 0 -> values 1 -1 0 1 -1.
TEST(TQ1_0, GoldenDecodes) {
    const WeightType& t = weight_type(TypeId::TQ1_0);
    EXPECT_EQ(dequantize(t, golden_bytes(), 1, 256), golden_input());
}

}  // namespace
}  // namespace lowbit::test

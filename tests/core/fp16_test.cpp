// f16/bf16 conversions: golden values from IEEE 754, plus an independent oracle where the CPU
// has one (F16C's vcvtps2ph rounds to nearest even in hardware).
#include <gtest/gtest.h>
#include <cpuid.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "lowbit/fp16.hpp"

namespace lowbit {
namespace {

TEST(F16, GoldenConversions) {
    EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
    EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
    EXPECT_EQ(f32_to_f16(0.5f), 0x3800);
    EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);         // largest finite
    EXPECT_EQ(f32_to_f16(65519.996f), 0x7BFF);       // just below the rounding boundary
    EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);         // 65504 + half an ulp ties to even: inf
    EXPECT_EQ(f32_to_f16(INFINITY), 0x7C00);
    EXPECT_EQ(f32_to_f16(-INFINITY), 0xFC00);
    EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
    EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
    EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // half of it: tie to even (0)
    EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -26)), 0x0001);  // 0.75 units -> 1
    EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 units: tie -> even 2
    EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie -> even
    EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie -> even (up)
    EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
    EXPECT_EQ(f32_to_f16(NAN) & 0x7FFF, 0x7E00);
    EXPECT_EQ(f32_to_f16(1e-30f), 0x0000);
}

TEST(F16, EveryHalfRoundTrips) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const auto half = static_cast<uint16_t>(h);
        const float f = f16_to_f32(half);
        if (std::isnan(f)) {
            EXPECT_EQ(half & 0x7C00, 0x7C00);
            continue;
        }
        ASSERT_EQ(f32_to_f16(f), half) << "half 0x" << std::hex << h;
    }
    EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);
}

// CPUID leaf 1, ECX bit 29 (clang 14's __builtin_cpu_supports does not know "f16c").
bool cpu_has_f16c() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
}

__attribute__((target("f16c"))) uint16_t hardware_f32_to_f16(float f) {
    return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

// Every 97th f32 bit pattern (44 million values) against the CPU's own conversion.
TEST(F16, MatchesF16CHardware) {
    if (!cpu_has_f16c()) {
        GTEST_SKIP() << "CPU has no F16C";
    }
    for (uint64_t u = 0; u < (uint64_t{1} << 32); u += 97) {
        float f;
        const auto bits = static_cast<uint32_t>(u);
        std::memcpy(&f, &bits, sizeof f);
        if (std::isnan(f)) {
            continue;  // payloads differ by design: ggml's software path returns 0x7E00
        }
        ASSERT_EQ(f32_to_f16(f), hardware_f32_to_f16(f)) << "f32 bits 0x" << std::hex << bits;
    }
}

TEST(BF16, GoldenConversions) {
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
    EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3F80);  // 1 + 2^-8: tie -> even
    EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3F82);  // 1 + 3 * 2^-8: tie -> even (up)
    EXPECT_EQ(f32_to_bf16(1.0078125f), 0x3F81);   // exact
    EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
    EXPECT_EQ(f32_to_bf16(INFINITY), 0x7F80);
    EXPECT_EQ(f32_to_bf16(std::ldexp(1.0f, -133)), 0x0001);  // subnormals are kept, not flushed
    EXPECT_EQ(f32_to_bf16(std::ldexp(3.0f, -134)), 0x0002);  // 1.5 units: tie -> even 2
    EXPECT_EQ(f32_to_bf16(NAN) & 0x7FC0, 0x7FC0);
    EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
}

}  // namespace
}  // namespace lowbit

// Round-trip error bounds per type, from each format's rule (spec + docs/FORMATS.md), on
// random inputs: the reconstruction of every element must stay within what the rule allows.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "lowbit/fp16.hpp"
#include "lowbit/metrics.hpp"
#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

std::vector<float> normal_values(std::size_t n, uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, sigma);
    std::vector<float> x(n);
    for (float& v : x) v = d(rng);
    return x;
}

float f16_at(const std::vector<uint8_t>& b, std::size_t offset) {
    uint16_t h;
    std::memcpy(&h, b.data() + offset, 2);
    return f16_to_f32(h);
}

constexpr double kF16Rel = 1.0 / 2048;  // relative rounding of a stored f16 scale

// INTn symmetric: |x - q d| <= d/2, plus what the clamp at qmax cuts off when the stored
// (f16-rounded) d came out slightly below max|x| / qmax.
// INTn asymmetric: |x - (q - z) d| <= d/2 plus the same clamp allowance at both ends.
TEST(RoundtripBounds, IntGroupWithinHalfAStep) {
    for (int bits : {2, 4, 8}) {
        for (bool asym : {false, true}) {
            for (int group : {32, 64, 128, 256}) {
                const WeightType& t = weight_type(int_group_type_id(bits, asym, group));
                SCOPED_TRACE(std::string(t.name));
                const int64_t rows = 3, cols = 300;  // short last group for every g
                const std::vector<float> x = normal_values(rows * cols, 7);
                const std::vector<uint8_t> packed = quantize(t, x, rows, cols);
                const std::vector<float> y = dequantize(t, packed, rows, cols);
                const int64_t groups = (cols + group - 1) / group;
                const std::size_t scales_at = static_cast<std::size_t>(rows * ((cols * bits + 7) / 8));
                for (int64_t r = 0; r < rows; ++r) {
                    for (int64_t c = 0; c < cols; ++c) {
                        const float d = f16_at(packed, scales_at + 2 * (r * groups + c / group));
                        const double slack = (asym ? (1 << bits) : (1 << (bits - 1))) * d * kF16Rel * 2;
                        ASSERT_LE(std::fabs(x[r * cols + c] - y[r * cols + c]), 0.5 * d + slack)
                            << "row " << r << " col " << c;
                    }
                }
            }
        }
    }
}

// Ternary types reproduce ternary input exactly (for TQ1_0/TQ2_0 the per-block d is f16, so
// the scale is chosen representable: 0.375).
TEST(RoundtripBounds, TernaryTypesAreExactOnTernaryInput) {
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> trit(-1, 1);
    for (TypeId id : {TypeId::I2_S, TypeId::TL1, TypeId::TL2, TypeId::TQ1_0, TypeId::TQ2_0}) {
        const WeightType& t = weight_type(id);
        SCOPED_TRACE(std::string(t.name));
        const int64_t rows = 4, cols = 512;
        std::vector<float> x(rows * cols);
        for (float& v : x) v = 0.375f * static_cast<float>(trit(rng));
        x[0] = 0.375f;  // every block sees the full scale
        for (int64_t b = 0; b < rows * cols; b += 256) x[b] = 0.375f;
        EXPECT_EQ(dequantize(t, quantize(t, x, rows, cols), rows, cols), x);
    }
}

// Four-level types: an input already in {-2, -1, +1, +2} x c is exact; any input is within d.
TEST(RoundtripBounds, FourLevelTypes) {
    std::mt19937 rng(4);
    std::uniform_int_distribution<int> level(0, 3);
    const float levels[] = {-2, -1, 1, 2};
    for (TypeId id : {TypeId::QK256, TypeId::I2S32}) {
        const WeightType& t = weight_type(id);
        SCOPED_TRACE(std::string(t.name));
        std::vector<float> x(512);
        for (float& v : x) v = 0.25f * levels[level(rng)];
        for (std::size_t b = 0; b < x.size(); b += 32) x[b] = 0.5f;
        EXPECT_EQ(dequantize(t, quantize(t, x, 2, 256), 2, 256), x);

        const std::vector<float> n = normal_values(512, 5);
        const std::vector<float> y = dequantize(t, quantize(t, n, 2, 256), 2, 256);
        const int64_t block = t.block_elems;
        for (std::size_t b = 0; b < n.size(); b += block) {
            float amax = 0;
            for (int64_t k = 0; k < block; ++k) amax = std::fmax(amax, std::fabs(n[b + k]));
            for (int64_t k = 0; k < block; ++k) {
                ASSERT_LE(std::fabs(n[b + k] - y[b + k]), amax / 2 * (1 + 2 * kF16Rel)) << "element " << b + k;
            }
        }
    }
}

// llama.cpp block types: Q8_0 within d/2 (+ f16 scale rounding), Q4_0 within |d| (the far end
// of the range clips at q = 15), Q4_1 within d/2 (+ rounding of d and m).
TEST(RoundtripBounds, LlamaCppBlockTypes) {
    const int64_t rows = 4, cols = 512;
    const std::vector<float> x = normal_values(rows * cols, 9);
    struct Rule {
        TypeId id;
        int64_t block_bytes;
    };
    for (Rule rule : {Rule{TypeId::Q8_0, 34}, Rule{TypeId::Q4_0, 18}, Rule{TypeId::Q4_1, 20}}) {
        const WeightType& t = weight_type(rule.id);
        SCOPED_TRACE(std::string(t.name));
        const std::vector<uint8_t> packed = quantize(t, x, rows, cols);
        const std::vector<float> y = dequantize(t, packed, rows, cols);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const std::size_t block = i / 32;
            const double d = std::fabs(f16_at(packed, block * rule.block_bytes));
            double bound = 0;
            if (rule.id == TypeId::Q8_0) {
                bound = 0.5 * d + 127 * d * kF16Rel * 1.01;
            } else if (rule.id == TypeId::Q4_0) {
                bound = d + 16 * d * kF16Rel;
            } else {
                const double m = std::fabs(f16_at(packed, block * rule.block_bytes + 2));
                bound = 0.5 * d + 16 * d * kF16Rel + m * kF16Rel;
            }
            ASSERT_LE(std::fabs(x[i] - y[i]), bound * 1.0001 + 1e-7) << "element " << i;
        }
    }
}

// Q6_K: 6 bits with int8 sub-block scales: within one step of its sub-block scale (the
// opposite end of a sub-block clips at +31), and a close overall fit.
TEST(RoundtripBounds, Q6K) {
    const WeightType& t = weight_type(TypeId::Q6_K);
    const std::vector<float> x = normal_values(4 * 512, 11);
    const std::vector<uint8_t> packed = quantize(t, x, 4, 512);
    const std::vector<float> y = dequantize(t, packed, 4, 512);
    EXPECT_GT(cosine_similarity(x, y), 0.9995);
    for (std::size_t i = 0; i < x.size(); ++i) {
        const std::size_t block = i / 256;
        const double d = std::fabs(f16_at(packed, block * 210 + 208));
        const auto sc = static_cast<int8_t>(packed[block * 210 + 192 + (i % 256) / 16]);
        const double step = d * std::abs(sc);
        ASSERT_LE(std::fabs(x[i] - y[i]), step * (1 + 16.0 / std::max(1, std::abs(static_cast<int>(sc)))) + 1e-6)
            << "element " << i;
    }
}

TEST(RoundtripBounds, FloatTypes) {
    const std::vector<float> x = normal_values(1000, 13, 100.0f);
    EXPECT_EQ(dequantize(weight_type(TypeId::F32), quantize(weight_type(TypeId::F32), x, 10, 100), 10, 100), x);
    for (auto [id, rel] : {std::pair{TypeId::F16, 1.0 / 2048}, std::pair{TypeId::BF16, 1.0 / 256}}) {
        const WeightType& t = weight_type(id);
        const std::vector<float> y = dequantize(t, quantize(t, x, 10, 100), 10, 100);
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (std::fabs(x[i]) > 1e-3) {
                ASSERT_LE(std::fabs(x[i] - y[i]), std::fabs(x[i]) * rel) << t.name << " element " << i;
            }
        }
    }
}

}  // namespace
}  // namespace lowbit::test

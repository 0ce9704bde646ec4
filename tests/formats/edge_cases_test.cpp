// Edge cases for every type: zeros, constants, one huge value, subnormals, short groups, rows
// that are not a whole number of blocks, NaN and infinity.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lowbit/metrics.hpp"
#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

// A row length every type accepts.
int64_t cols_for(const WeightType& t) { return std::max<int64_t>(256, t.col_multiple); }

std::string error_of(const WeightType& t, const std::vector<float>& x, int64_t rows, int64_t cols) {
    try {
        quantize(t, x, rows, cols);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(EdgeCases, AllZeroGivesZeros) {
    for (const WeightType& t : weight_types()) {
        SCOPED_TRACE(std::string(t.name));
        const int64_t cols = cols_for(t);
        const std::vector<float> x(2 * cols, 0.0f);
        for (float v : dequantize(t, quantize(t, x, 2, cols), 2, cols)) {
            ASSERT_EQ(v, 0.0f);
        }
    }
}

TEST(EdgeCases, NaNAndInfinityAreNamedErrors) {
    for (const WeightType& t : weight_types()) {
        SCOPED_TRACE(std::string(t.name));
        const int64_t cols = cols_for(t);
        std::vector<float> x(2 * cols, 0.5f);
        x[cols + 3] = std::numeric_limits<float>::quiet_NaN();
        std::string msg = error_of(t, x, 2, cols);
        EXPECT_NE(msg.find(std::string(t.name)), std::string::npos) << msg;
        EXPECT_NE(msg.find("NaN at element " + std::to_string(cols + 3) + " (row 1, column 3)"), std::string::npos)
            << msg;
        x[cols + 3] = -std::numeric_limits<float>::infinity();
        msg = error_of(t, x, 2, cols);
        EXPECT_NE(msg.find("infinity at element"), std::string::npos) << msg;
    }
}

TEST(EdgeCases, RowsNotAWholeNumberOfBlocks) {
    for (const WeightType& t : weight_types()) {
        if (t.col_multiple == 1) {
            continue;
        }
        SCOPED_TRACE(std::string(t.name));
        const int64_t cols = t.col_multiple + 1;
        EXPECT_THROW(t.tensor_bytes(2, cols), Error);
        const std::string msg = error_of(t, std::vector<float>(2 * cols, 1.0f), 2, cols);
        EXPECT_NE(msg.find("is not a multiple of the block size " + std::to_string(t.col_multiple)), std::string::npos)
            << msg;
    }
}

// Every type whose rule allows it reconstructs a constant tensor closely; the INTn types
// (d = |c|, one unit of code) and every ternary type (scale = |c|) exactly.
TEST(EdgeCases, ConstantInput) {
    for (const WeightType& t : weight_types()) {
        SCOPED_TRACE(std::string(t.name));
        const int64_t cols = cols_for(t);
        for (float c : {0.375f, -3.25f}) {
            const std::vector<float> x(2 * cols, c);
            const std::vector<float> y = dequantize(t, quantize(t, x, 2, cols), 2, cols);
            const bool exact = t.ternary || t.id >= TypeId::IntGroupFirst || t.id == TypeId::F32 ||
                               t.id == TypeId::F16 || t.id == TypeId::BF16;
            for (float v : y) {
                if (exact) {
                    ASSERT_EQ(v, c);
                } else {
                    ASSERT_NEAR(v, c, std::fabs(c) * 0.1);  // four-level types: 1 of 2 levels
                }
            }
        }
    }
}

// One huge value among small ones: no overflow, the huge value survives, nothing is NaN.
TEST(EdgeCases, SingleHugeValue) {
    std::mt19937 rng(1);
    std::normal_distribution<float> small(0.0f, 1e-3f);
    for (const WeightType& t : weight_types()) {
        SCOPED_TRACE(std::string(t.name));
        const int64_t cols = cols_for(t);
        std::vector<float> x(cols);
        for (float& v : x) v = small(rng);
        x[17] = 1000.0f;
        const std::vector<float> y = dequantize(t, quantize(t, x, 1, cols), 1, cols);
        for (float v : y) ASSERT_TRUE(std::isfinite(v));
        EXPECT_NEAR(y[17], 1000.0f, 1000.0f * 0.01);
    }
}

// A scale that cannot be stored in f16 is an error naming the row and block/group.
TEST(EdgeCases, ScaleOverflowingF16IsAnError) {
    for (const WeightType& t : weight_types()) {
        SCOPED_TRACE(std::string(t.name));
        const int64_t cols = cols_for(t);
        std::vector<float> x(2 * cols, 1.0f);
        x[cols + 1] = 1e9f;
        const std::string msg = error_of(t, x, 2, cols);
        const bool f16_scaled = t.id == TypeId::Q8_0 || t.id == TypeId::Q4_0 || t.id == TypeId::Q4_1 ||
                                t.id == TypeId::Q6_K || t.id == TypeId::TQ1_0 || t.id == TypeId::TQ2_0 ||
                                t.id == TypeId::I2S32 || t.id == TypeId::F16 || t.id >= TypeId::IntGroupFirst;
        if (f16_scaled) {
            EXPECT_NE(msg.find("row 1"), std::string::npos) << msg;
        } else {
            EXPECT_EQ(msg, "");
        }
    }
}

// Subnormal inputs: no undefined behaviour (this suite also runs under UBSan), finite output,
// and F32 keeps them exactly.
TEST(EdgeCases, SubnormalInputs) {
    for (const WeightType& t : weight_types()) {
        SCOPED_TRACE(std::string(t.name));
        const int64_t cols = cols_for(t);
        std::vector<float> x(cols, 0.0f);
        for (int64_t k = 0; k < cols; k += 3) x[k] = (k % 2 ? -1.0f : 1.0f) * 1e-40f;
        x[1] = std::numeric_limits<float>::denorm_min();
        const std::vector<float> y = dequantize(t, quantize(t, x, 1, cols), 1, cols);
        for (int64_t k = 0; k < cols; ++k) {
            ASSERT_TRUE(std::isfinite(y[k]));
            ASSERT_LE(std::fabs(y[k]), 1e-30f);
        }
        if (t.id == TypeId::F32) {
            EXPECT_EQ(y, x);
        }
    }
}

// INTn: short last groups at several row lengths, each group scaled on its own.
TEST(EdgeCases, ShortLastGroup) {
    for (int64_t cols : {1, 7, 33, 100, 255, 257}) {
        for (const WeightType& t : weight_types()) {
            if (t.id < TypeId::IntGroupFirst) {
                continue;
            }
            SCOPED_TRACE(std::string(t.name) + " cols " + std::to_string(cols));
            std::vector<float> x(2 * cols);
            for (int64_t i = 0; i < 2 * cols; ++i) x[i] = static_cast<float>((i * 37) % 11) - 5.0f;
            x[2 * cols - 1] = 100.0f;  // the last (short) group of row 1 has its own scale
            const std::vector<float> y = dequantize(t, quantize(t, x, 2, cols), 2, cols);
            const int bits = t.name[3] - '0';  // INT2_..., INT4_..., INT8_...
            const bool asym = t.name.find("ASYM") != std::string_view::npos;
            // Row 0 holds values in [-5, 5] only: every element within half a step (+ f16 slack).
            const float row0_step = asym ? 10.0f / static_cast<float>((1 << bits) - 1)
                                         : 5.0f / static_cast<float>((1 << (bits - 1)) - 1);
            for (int64_t c = 0; c < cols; ++c) {
                ASSERT_NEAR(y[c], x[c], row0_step * 0.51f) << "column " << c;
            }
            // The last (short) group of row 1 holds 100: within half a step of its own range.
            const float step = 105.0f / static_cast<float>((1 << bits) - 1);
            EXPECT_NEAR(y[2 * cols - 1], 100.0f, step);
        }
    }
}

}  // namespace
}  // namespace lowbit::test

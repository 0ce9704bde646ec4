// Metrics: values computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "lowbit/error.hpp"
#include "lowbit/metrics.hpp"

namespace lowbit {
namespace {

// a = (1, 2, 3), b = (1, 2, 4): err = (0, 0, 1); mse = 1/3; max = 1;
// snr = 10 log10(14 / 1); cosine = (1 + 4 + 12) / (sqrt(14) sqrt(21)).
TEST(Metrics, HandComputed) {
    const std::vector<float> a = {1, 2, 3};
    const std::vector<float> b = {1, 2, 4};
    const ErrorMetrics m = compare(a, b);
    EXPECT_DOUBLE_EQ(m.mse, 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(m.max_abs_error, 1.0);
    EXPECT_DOUBLE_EQ(m.snr_db, 10.0 * std::log10(14.0));
    EXPECT_DOUBLE_EQ(m.cosine, 17.0 / (std::sqrt(14.0) * std::sqrt(21.0)));
}

TEST(Metrics, EdgeCases) {
    const std::vector<float> x = {1, 0};
    const std::vector<float> y = {0, 1};
    EXPECT_DOUBLE_EQ(cosine_similarity(x, y), 0.0);
    EXPECT_TRUE(std::isinf(snr_db(x, x)));
    const std::vector<float> z = {0, 0};
    EXPECT_DOUBLE_EQ(cosine_similarity(z, z), 1.0);
    const std::vector<float> three = {1, 2, 3};
    EXPECT_THROW(compare(x, three), Error);
}

}  // namespace
}  // namespace lowbit

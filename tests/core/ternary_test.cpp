// Absmean ternarization: golden values derived by hand from the spec.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "lowbit/error.hpp"
#include "lowbit/ternary.hpp"

namespace lowbit {
namespace {

// mean|w| = (0.3 + 0.6 + 0.05 + 1.2) / 4 = 0.5375; w / s = 0.558, -1.116, 0.093, 2.23
// -> round, clamp: 1, -1, 0, 1.
TEST(Absmean, Golden) {
    const std::vector<float> w = {0.3f, -0.6f, 0.05f, 1.2f};
    std::vector<int8_t> q(4);
    const float s = absmean_ternarize(w, q);
    EXPECT_FLOAT_EQ(s, 0.5375f);
    EXPECT_EQ(q, (std::vector<int8_t>{1, -1, 0, 1}));
}

// Ties go to even: mean = 1; 0.5 -> 0, 1.5 -> 2 -> clamp 1, -0.5 -> 0, -1.5 -> -1.
TEST(Absmean, TiesToEven) {
    const std::vector<float> w = {0.5f, 1.5f, -0.5f, -1.5f};
    std::vector<int8_t> q(4);
    EXPECT_EQ(absmean_ternarize(w, q), 1.0f);
    EXPECT_EQ(q, (std::vector<int8_t>{0, 1, 0, -1}));
}

TEST(Absmean, FloorAndInPlace) {
    std::vector<float> zeros(8, 0.0f);
    EXPECT_EQ(absmean_ternarize_inplace(zeros), 1e-5f);
    for (float v : zeros) EXPECT_EQ(v, 0.0f);
    std::vector<float> w = {2.0f, -2.0f, 0.1f, 0.0f};  // mean 1.025
    const float s = absmean_ternarize_inplace(w);
    EXPECT_EQ(w, (std::vector<float>{s, -s, 0.0f, 0.0f}));
}

TEST(Absmean, NaNIsANamedError) {
    const std::vector<float> w = {1.0f, NAN, 2.0f};
    std::vector<int8_t> q(3);
    try {
        absmean_ternarize(w, q);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("NaN at element 1"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace lowbit

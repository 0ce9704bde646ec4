#include "lowbit/ternary.hpp"

#include <cmath>

#include "../formats/common.hpp"
#include "lowbit/error.hpp"

namespace lowbit {
namespace {

float absmean_scale(std::span<const float> w) {
    double sum = 0.0;
    for (std::size_t i = 0; i < w.size(); ++i) {
        if (!std::isfinite(w[i])) {
            fail("absmean ternarization: ", std::isnan(w[i]) ? "NaN" : "infinity", " at element ", i);
        }
        sum += std::fabs(static_cast<double>(w[i]));
    }
    const double mean = w.empty() ? 0.0 : sum / static_cast<double>(w.size());
    return static_cast<float>(std::fmax(mean, 1e-5));
}

int8_t ternary_of(float w, float s) {
    return static_cast<int8_t>(formats::round_half_even(formats::clamp_to(w / s, -1.0f, 1.0f)));
}

}  // namespace

float absmean_ternarize(std::span<const float> w, std::span<int8_t> q) {
    if (q.size() != w.size()) {
        fail("absmean ternarization: output holds ", q.size(), " values for ", w.size(), " weights");
    }
    const float s = absmean_scale(w);
    for (std::size_t i = 0; i < w.size(); ++i) {
        q[i] = ternary_of(w[i], s);
    }
    return s;
}

float absmean_ternarize_inplace(std::span<float> w) {
    const float s = absmean_scale(w);
    for (float& v : w) {
        v = static_cast<float>(ternary_of(v, s)) * s;
    }
    return s;
}

}  // namespace lowbit

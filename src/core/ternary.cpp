#include "lowbit/ternary.hpp"

#include <cmath>

#include "../formats/common.hpp"
#include "../kernels/level_table.hpp"
#include "core_reference.hpp"
#include "lowbit/error.hpp"
#include "lowbit/kernel_set.hpp"

namespace lowbit {

// The summation order is part of the definition (SIMD kernels reproduce it exactly):
// element i goes into partial i % 16, each partial summed in index order.
void abs_partial_sums_reference(const float* w, int64_t n, double* partial16) {
    for (int j = 0; j < 16; ++j) partial16[j] = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        partial16[i % 16] += std::fabs(static_cast<double>(w[i]));
    }
}

void ternarize_reference(const float* w, int64_t n, float s, int8_t* q) {
    for (int64_t i = 0; i < n; ++i) {
        q[i] = static_cast<int8_t>(formats::round_half_even(formats::clamp_to(w[i] / s, -1.0f, 1.0f)));
    }
}

namespace {

// s = mean|w| (floor 1e-5): the 16 partial sums added in order 0..15, divided by n.
float absmean_scale(std::span<const float> w) {
    double partial[16];
    default_kernel_set().core().abs_partial_sums(w.data(), static_cast<int64_t>(w.size()), partial);
    double sum = 0.0;
    for (double p : partial) sum += p;
    if (!std::isfinite(sum)) {
        for (std::size_t i = 0; i < w.size(); ++i) {
            if (!std::isfinite(w[i])) {
                fail("absmean ternarization: ", std::isnan(w[i]) ? "NaN" : "infinity", " at element ", i);
            }
        }
    }
    const double mean = w.empty() ? 0.0 : sum / static_cast<double>(w.size());
    return static_cast<float>(std::fmax(mean, 1e-5));
}

}  // namespace

float absmean_ternarize(std::span<const float> w, std::span<int8_t> q) {
    if (q.size() != w.size()) {
        fail("absmean ternarization: output holds ", q.size(), " values for ", w.size(), " weights");
    }
    const float s = absmean_scale(w);
    default_kernel_set().core().ternarize(w.data(), static_cast<int64_t>(w.size()), s, q.data());
    return s;
}

float absmean_ternarize_inplace(std::span<float> w) {
    const float s = absmean_scale(w);
    constexpr std::size_t kChunk = 4096;
    int8_t q[kChunk];
    for (std::size_t start = 0; start < w.size(); start += kChunk) {
        const std::size_t n = std::min(kChunk, w.size() - start);
        default_kernel_set().core().ternarize(w.data() + start, static_cast<int64_t>(n), s, q);
        for (std::size_t i = 0; i < n; ++i) {
            w[start + i] = static_cast<float>(q[i]) * s;
        }
    }
    return s;
}

bool is_ternary_times_scale(std::span<const float> w) {
    float s = 0.0f;
    for (float v : w) {
        const float a = std::fabs(v);
        if (a == 0.0f) continue;
        if (s == 0.0f) s = a;
        if (a != s) return false;
    }
    return s > 0.0f;
}

}  // namespace lowbit

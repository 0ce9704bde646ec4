#include "lowbit/metrics.hpp"

#include <cmath>
#include <limits>

#include "lowbit/error.hpp"

namespace lowbit {
namespace {

void check_sizes(std::span<const float> a, std::span<const float> b) {
    if (a.size() != b.size()) {
        fail("metrics: tensors differ in size (", a.size(), " vs ", b.size(), ")");
    }
}

}  // namespace

double cosine_similarity(std::span<const float> a, std::span<const float> b) {
    check_sizes(a, b);
    double dot = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        dot += static_cast<double>(a[i]) * b[i];
        na += static_cast<double>(a[i]) * a[i];
        nb += static_cast<double>(b[i]) * b[i];
    }
    if (na == 0 && nb == 0) {
        return 1.0;  // two zero tensors are identical
    }
    if (na == 0 || nb == 0) {
        return 0.0;
    }
    return dot / (std::sqrt(na) * std::sqrt(nb));
}

double mean_squared_error(std::span<const float> a, std::span<const float> b) {
    check_sizes(a, b);
    if (a.empty()) {
        return 0.0;
    }
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double e = static_cast<double>(a[i]) - b[i];
        sum += e * e;
    }
    return sum / static_cast<double>(a.size());
}

double max_abs_error(std::span<const float> a, std::span<const float> b) {
    check_sizes(a, b);
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        m = std::fmax(m, std::fabs(static_cast<double>(a[i]) - b[i]));
    }
    return m;
}

double snr_db(std::span<const float> reference, std::span<const float> approx) {
    check_sizes(reference, approx);
    double signal = 0, noise = 0;
    for (std::size_t i = 0; i < reference.size(); ++i) {
        const double e = static_cast<double>(reference[i]) - approx[i];
        signal += static_cast<double>(reference[i]) * reference[i];
        noise += e * e;
    }
    if (noise == 0) {
        return std::numeric_limits<double>::infinity();
    }
    if (signal == 0) {
        return -std::numeric_limits<double>::infinity();
    }
    return 10.0 * std::log10(signal / noise);
}

ErrorMetrics compare(std::span<const float> reference, std::span<const float> approx) {
    return {cosine_similarity(reference, approx), mean_squared_error(reference, approx),
            max_abs_error(reference, approx), snr_db(reference, approx)};
}

}  // namespace lowbit

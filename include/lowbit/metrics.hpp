// Error metrics between a reference tensor and its reconstruction (all accumulated in double).
#pragma once

#include <span>

namespace lowbit {

struct ErrorMetrics {
    double cosine = 0;         // cosine similarity; 1 when both are all zero
    double mse = 0;            // mean squared error
    double max_abs_error = 0;  // max |reference - approx|
    double snr_db = 0;         // 10 log10(sum ref^2 / sum err^2); +inf when exact
};

double cosine_similarity(std::span<const float> a, std::span<const float> b);
double mean_squared_error(std::span<const float> a, std::span<const float> b);
double max_abs_error(std::span<const float> a, std::span<const float> b);
double snr_db(std::span<const float> reference, std::span<const float> approx);
// All four at once; throws Error if the sizes differ.
ErrorMetrics compare(std::span<const float> reference, std::span<const float> approx);

}  // namespace lowbit

// The sums a tensor's quality figures come from (dot product, both squared norms, squared error,
// largest error), in double over 8 interleaved lanes merged in lane order: the same bits with or
// without AVX-512, so a tensor's figures depend only on its values and its row chunks.
#pragma once

#include <cstddef>

namespace lowbit::quantize {

struct ErrorSums {
    double dot = 0, ref2 = 0, approx2 = 0, err2 = 0, max_err = 0;
};

// Adds the sums of ref[0, n) against approx[0, n) into `s`.
void add_error_sums(const float* ref, const float* approx, std::size_t n, ErrorSums& s);

}  // namespace lowbit::quantize

// The median the bench commands report (of repetitions; 0 for none).
#pragma once

#include <algorithm>
#include <vector>

namespace lowbit::cli {

inline double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace lowbit::cli

#include "time_groups.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lowbit/error.hpp"

namespace lowbit::quantize {

std::vector<int32_t> uniform_groups(int64_t steps, int64_t groups) {
    std::vector<int32_t> g(static_cast<std::size_t>(steps));
    for (int64_t t = 0; t < steps; ++t) g[static_cast<std::size_t>(t)] = static_cast<int32_t>(t * groups / steps);
    return g;
}

namespace {

// cost[a][b]: the spread of one group holding timesteps a..b (inclusive), over every layer.
std::vector<std::vector<double>> segment_costs(const std::vector<std::vector<Range>>& ranges, int64_t steps) {
    std::vector<std::vector<double>> cost(static_cast<std::size_t>(steps), std::vector<double>(static_cast<std::size_t>(steps), 0));
    for (const std::vector<Range>& layer : ranges) {
        float lo_all = std::numeric_limits<float>::max(), hi_all = std::numeric_limits<float>::lowest();
        for (const Range& r : layer) lo_all = std::min(lo_all, r.lo), hi_all = std::max(hi_all, r.hi);
        const double width = static_cast<double>(hi_all) - lo_all;
        if (!(width > 0)) continue;
        for (int64_t a = 0; a < steps; ++a) {
            double lo = layer[static_cast<std::size_t>(a)].lo, hi = layer[static_cast<std::size_t>(a)].hi, own = 0;
            for (int64_t b = a; b < steps; ++b) {
                const Range& r = layer[static_cast<std::size_t>(b)];
                lo = std::min<double>(lo, r.lo), hi = std::max<double>(hi, r.hi);
                own += static_cast<double>(r.hi) - r.lo;
                // every timestep a..b quantized with [lo, hi] instead of its own range
                cost[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)] +=
                    (static_cast<double>(b - a + 1) * (hi - lo) - own) / width;
            }
        }
    }
    return cost;
}

}  // namespace

std::vector<int32_t> spread_minimising_groups(const std::vector<std::vector<Range>>& ranges, int64_t groups) {
    const int64_t steps = ranges.empty() ? 0 : static_cast<int64_t>(ranges.front().size());
    if (groups < 1 || groups > steps) fail_field("time_groups", groups, " groups for ", steps, " timesteps");
    const auto cost = segment_costs(ranges, steps);
    const double inf = std::numeric_limits<double>::infinity();
    // best[g][b]: the least spread of timesteps 0..b-1 in g groups; cut[g][b] where the last begins
    std::vector<std::vector<double>> best(static_cast<std::size_t>(groups + 1),
                                          std::vector<double>(static_cast<std::size_t>(steps + 1), inf));
    std::vector<std::vector<int64_t>> cut(best.size(), std::vector<int64_t>(static_cast<std::size_t>(steps + 1), 0));
    best[0][0] = 0;
    for (int64_t g = 1; g <= groups; ++g) {
        for (int64_t b = g; b <= steps; ++b) {
            for (int64_t a = g - 1; a < b; ++a) {
                const double c = best[static_cast<std::size_t>(g - 1)][static_cast<std::size_t>(a)] +
                                 cost[static_cast<std::size_t>(a)][static_cast<std::size_t>(b - 1)];
                if (c < best[static_cast<std::size_t>(g)][static_cast<std::size_t>(b)]) {
                    best[static_cast<std::size_t>(g)][static_cast<std::size_t>(b)] = c;
                    cut[static_cast<std::size_t>(g)][static_cast<std::size_t>(b)] = a;
                }
            }
        }
    }
    std::vector<int32_t> group_of(static_cast<std::size_t>(steps));
    for (int64_t g = groups, b = steps; g >= 1; --g) {
        const int64_t a = cut[static_cast<std::size_t>(g)][static_cast<std::size_t>(b)];
        for (int64_t t = a; t < b; ++t) group_of[static_cast<std::size_t>(t)] = static_cast<int32_t>(g - 1);
        b = a;
    }
    return group_of;
}

double group_spread(const std::vector<std::vector<Range>>& ranges, std::span<const int32_t> group_of_step) {
    const int64_t steps = static_cast<int64_t>(group_of_step.size());
    const auto cost = segment_costs(ranges, steps);
    double total = 0;
    for (int64_t a = 0; a < steps;) {
        int64_t b = a;
        while (b + 1 < steps && group_of_step[static_cast<std::size_t>(b + 1)] == group_of_step[static_cast<std::size_t>(a)]) ++b;
        total += cost[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)];
        a = b + 1;
    }
    return total;
}

ActParams act_params(Range r, int bits) {
    const float lo = std::min(r.lo, 0.0f), hi = std::max(r.hi, 0.0f);
    const float qmax = static_cast<float>((1 << bits) - 1);
    if (!(hi > lo)) return {1.0f, 0.0f};
    ActParams p;
    p.scale = (hi - lo) / qmax;
    p.zero = std::clamp(std::nearbyint(-lo / p.scale), 0.0f, qmax);
    return p;
}

float fake_quantize(float x, ActParams p, int bits) {
    const float qmax = static_cast<float>((1 << bits) - 1);
    const float q = std::clamp(std::nearbyint(x / p.scale) + p.zero, 0.0f, qmax);
    return (q - p.zero) * p.scale;
}

}  // namespace lowbit::quantize

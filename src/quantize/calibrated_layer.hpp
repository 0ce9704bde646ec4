// One calibrated input: the layers that read it (one, or several that share it, such as q, k
// and v), the per-input-channel scaling of their weights (none, SmoothQuant with a given or
// searched alpha, or the AWQ-style search), one for all of them so a runtime can fold it into
// what produces the input, chosen by the output error on the sampled input rows summed over
// the layers, and each layer's activation parameters per timestep group.
#pragma once

#include <cstdint>
#include <vector>

#include "calibration.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/thread_pool.hpp"
#include "time_groups.hpp"

namespace lowbit::quantize {

struct LayerWeights {
    const LayerStats* stats = nullptr;
    std::vector<float> weights;  // rows x stats->cols
    int64_t rows = 0;
    const WeightType* type = nullptr;  // what the weight will be encoded as
};

struct LayerChoice {
    CalibrationReport report;         // over the group; report.layer names its layers
    std::vector<float> smooth_scale;  // 1/s per input channel (the runtime multiplies the input by it)
    std::vector<float> column_scale;  // s per weight column: quantize W diag(column_scale)
    // AWQ's clipping, per layer: W diag(s) clamped to +-bound per row and weight block before it
    // is encoded (rows x blocks; empty: not clipped)
    std::vector<std::vector<float>> clip_bound;
    std::vector<std::vector<ActParams>> act;  // per layer, per group (empty without activation bits)
};

// w (rows x cols) times diag(col_s) when given, then each row's blocks of `block` columns
// clamped to +-bound[row * blocks + b] when `bound` is not empty.
void scale_and_clip(std::vector<float>& w, int64_t rows, int64_t cols, const std::vector<float>& col_s,
                    const std::vector<float>& bound, int64_t block);

// Per layer and timestep: the range of its input, after dividing channel j by s[j].
std::vector<Range> step_ranges(const LayerStats& stats, const std::vector<float>& s);

// `members` share one input (the same columns, channels and sampled rows). `group_of_step` from
// the time split, with `groups` groups.
LayerChoice choose_scaling(const std::vector<LayerWeights>& members, const std::vector<int32_t>& group_of_step,
                           int64_t groups, const CalibrationOptions& calibration, const Options& options,
                           ThreadPool& pool);

}  // namespace lowbit::quantize

// One calibrated layer: the per-input-channel scaling of its weight (none, SmoothQuant with a
// given or searched alpha, or the AWQ-style search), chosen by the output error on the sampled
// input rows, and its activation parameters per timestep group.
#pragma once

#include <cstdint>
#include <vector>

#include "calibration.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/thread_pool.hpp"
#include "time_groups.hpp"

namespace lowbit::quantize {

struct LayerChoice {
    CalibrationReport report;
    std::vector<float> smooth_scale;  // 1/s per input channel (the runtime multiplies the input by it)
    std::vector<float> column_scale;  // s per weight column: quantize W diag(column_scale)
    std::vector<ActParams> act;       // per group (empty without activation quantization)
};

// Per layer and timestep: the range of its input, after dividing channel j by s[j].
std::vector<Range> step_ranges(const LayerStats& stats, const std::vector<float>& s);

// `weights`: rows x stats.cols floats. `type`: what the weight will be encoded as. `group_of_step`
// from the time split, with `groups` groups.
LayerChoice choose_layer(const LayerStats& stats, const std::vector<float>& weights, int64_t rows,
                         const WeightType& type, const std::vector<int32_t>& group_of_step, int64_t groups,
                         const CalibrationOptions& calibration, const Options& options, ThreadPool& pool);

}  // namespace lowbit::quantize

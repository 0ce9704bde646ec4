// Time-aware activation quantization (../shared/spec/quantizer.md): the T timesteps split into G
// contiguous groups, uniformly or by the dynamic programme that minimises the summed
// within-group range spread, and per layer and group an activation scale and zero point.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lowbit::quantize {

struct Range {
    float lo = 0;
    float hi = 0;
};

// group[t] for t in [0, T): floor(t * G / T).
std::vector<int32_t> uniform_groups(int64_t steps, int64_t groups);

// The split into `groups` contiguous groups that minimises, summed over layers and timesteps,
// the range a timestep's activations are quantized with (its group's) beyond its own range,
// each layer's measured in its overall range (so every layer counts alike).
// ranges[layer][t]. Ties go to the earliest split points.
std::vector<int32_t> spread_minimising_groups(const std::vector<std::vector<Range>>& ranges, int64_t groups);

// The summed spread that objective measures for a split (for the report and tests).
double group_spread(const std::vector<std::vector<Range>>& ranges, std::span<const int32_t> group_of_step);

// Asymmetric `bits`-bit activation quantization of a range (widened to hold 0, as an input of
// zeros must stay exact): code = clamp(round(x / scale) + zero, 0, 2^bits - 1).
struct ActParams {
    float scale = 1;
    float zero = 0;
};
ActParams act_params(Range r, int bits);
float fake_quantize(float x, ActParams p, int bits);

}  // namespace lowbit::quantize

// Absmean ternarization: how a full-precision BitNet b1.58 weight becomes {-1, 0, +1} x s.
#pragma once

#include <cstdint>
#include <span>

namespace lowbit {

// s = mean(|w|) over the whole tensor (accumulated in double, floor 1e-5),
// q = clamp(round_half_even(w / s), -1, 1). Writes q and returns s.
// Throws Error naming the element index if w holds a NaN or infinity.
float absmean_ternarize(std::span<const float> w, std::span<int8_t> q);

// Same, but writes q * s back as floats: the input I2_S/TL1/TL2/TQ* quantizers expect.
float absmean_ternarize_inplace(std::span<float> w);

// True when w is already {-s, 0, +s} for one s > 0 (a QAT export, or a ternary tensor decoded):
// such weights are stored as they are, since absmean would shrink their scale to mean(|w|).
bool is_ternary_times_scale(std::span<const float> w);

}  // namespace lowbit

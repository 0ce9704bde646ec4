// Choosing the next token from logits: greedy, or temperature with top-k, top-p and min-p,
// and a repetition penalty; seeded, so the same seed and settings give the same tokens.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace lowbit::llm {

struct SamplingParams {
    float temperature = 0.8f;  // 0: greedy (argmax)
    int top_k = 40;            // 0: off
    float top_p = 0.95f;       // 1: off
    float min_p = 0.05f;       // 0: off
    float repeat_penalty = 1.0f;  // 1: off; divides positive logits (multiplies negative ones)
    // OpenAI's additive penalties (0: off): logit -= frequency * count + presence * (count > 0),
    // count over the same recent tokens (llama.cpp's rule, after the repetition penalty).
    float frequency_penalty = 0.0f;
    float presence_penalty = 0.0f;
    int repeat_last_n = 64;  // how many recent tokens the penalties look at
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplingParams& params);

    // Picks a token from `logits` (modified in place by the penalty), given the tokens so far.
    int32_t sample(std::span<float> logits, std::span<const int32_t> history);

private:
    SamplingParams params_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, int32_t>> candidates_;
};

// Rejects settings that make no sense (negative temperature, top_p outside (0, 1], ...)
// with an Error naming the option.
void validate(const SamplingParams& params);

}  // namespace lowbit::llm

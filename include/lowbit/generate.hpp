// Generating text: evaluate a prompt, then sample one token at a time until an end of
// generation token, a stop string, the token budget or the end of the context. Text is
// streamed as it becomes printable: never a broken UTF-8 character, and never the beginning
// of what may turn out to be a stop string.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/context.hpp"
#include "lowbit/sampler.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::llm {

struct GenerateOptions {
    int n_predict = 128;  // at most this many new tokens (< 0: until the context is full)
    SamplingParams sampling;
    std::vector<std::string> stop;  // user stop strings (matched on the decoded text)
};

enum class StopReason { end_of_generation, stop_string, budget, context_full };
std::string_view stop_reason_name(StopReason reason);

struct GenerateStats {
    int64_t prompt_tokens = 0;
    double prompt_seconds = 0;       // prefill
    int64_t generated_tokens = 0;
    double decode_seconds = 0;       // the generation loop after the first token
    double first_token_seconds = 0;  // prompt start to first sampled token
};

struct GenerateResult {
    std::vector<int32_t> tokens;  // generated (the end-of-generation token excluded)
    std::string text;             // what was streamed (a matched stop string excluded)
    StopReason reason = StopReason::budget;
    GenerateStats stats;
};

// Appends `prompt` to the context and generates. `history` (tokens the repetition penalty
// looks back over) may be null.
GenerateResult generate(Context& ctx, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateOptions& options, const std::function<void(std::string_view)>& on_text);

}  // namespace lowbit::llm

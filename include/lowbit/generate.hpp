// Generating text in one session: evaluate a sequence's prompt, then step it one token at a
// time (sequence.hpp) until it is done. Text is streamed as it becomes printable.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/sequence.hpp"
#include "lowbit/session.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::llm {

struct GenerateStats {
    int64_t prompt_tokens = 0;
    double prompt_seconds = 0;  // prefill
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

// Appends the sequence's prompt to the session and generates until the sequence is done
// (cancel() it from another thread or a signal handler to stop early).
GenerateResult generate(Session& session, Sequence& sequence, const std::function<void(std::string_view)>& on_text);

// The same with a Sequence made here from `prompt` and `options`.
GenerateResult generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateOptions& options, const std::function<void(std::string_view)>& on_text);

}  // namespace lowbit::llm

// One request's generation state, independent of how its tokens are evaluated: the sampler
// (with its seed), the stop rules (end-of-generation tokens, stop strings, a token budget, the
// room left in the context), the stream decoder that turns tokens into whole UTF-8 characters,
// and the history the repetition penalty looks at. step(logits) takes the logits of the
// sequence's last evaluated position and says what comes next; a server steps many of them,
// one per slot, after each batched decode().
//
// Text is released as it becomes printable: never a broken UTF-8 character, and never the
// beginning of what may turn out to be a stop string. cancel() may be called from any thread
// (or a signal handler): the next step ends the sequence.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/sampler.hpp"
#include "lowbit/stream_decoder.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::llm {

struct GenerateOptions {
    int n_predict = 128;  // at most this many new tokens (< 0: until the context is full)
    SamplingParams sampling;
    std::vector<std::string> stop;  // user stop strings (matched on the decoded text)
    bool ignore_eos = false;        // never sample an end-of-generation token (llama-server's ignore_eos)
};

enum class StopReason { end_of_generation, stop_string, budget, context_full, cancelled };
std::string_view stop_reason_name(StopReason reason);

struct StepResult {
    int32_t token = -1;                      // the sampled token (-1 when none was: cancelled, or a budget of 0)
    std::string text;                        // what became printable with it (may be empty)
    bool done = false;                       // no more steps: do not evaluate `token` (unless the caller wants to)
    StopReason reason = StopReason::budget;  // why, when done
};

class Sequence {
public:
    // `positions_left`: how many positions the context has from the prompt's first token on
    // (the prompt must fit). Throws bad_argument naming the field for invalid sampling
    // settings, or for a prompt that is empty or does not fit.
    Sequence(const Tokenizer& tokenizer, std::span<const int32_t> prompt, const GenerateOptions& options,
             int64_t positions_left);
    Sequence(const Sequence&) = delete;
    Sequence& operator=(const Sequence&) = delete;

    // Samples the next token from the logits of the last evaluated position (the prompt's last
    // token, then each token step() returned). `logits` is modified (repetition penalty).
    StepResult step(std::span<float> logits);
    void cancel() { cancel_.store(true, std::memory_order_relaxed); }

    bool done() const { return done_; }
    StopReason reason() const { return reason_; }
    const std::vector<int32_t>& prompt() const { return prompt_; }
    const std::vector<int32_t>& generated() const { return generated_; }  // end-of-generation token excluded
    const std::string& text() const { return text_; }                     // everything released so far

private:
    // Text waits here until it can no longer be part of a stop string.
    std::string filter(std::string_view text, bool& stopped);
    std::string finish(StopReason reason);

    const Tokenizer& tokenizer_;
    GenerateOptions options_;
    std::vector<int32_t> prompt_, generated_, history_;
    std::vector<int32_t> masked_;  // end-of-generation tokens, with ignore_eos
    int64_t positions_left_;
    Sampler sampler_;
    StreamDecoder decoder_;
    std::string pending_;  // held back by the stop-string filter
    std::size_t longest_stop_ = 0;
    std::string text_;
    bool done_ = false;
    StopReason reason_ = StopReason::budget;
    std::atomic<bool> cancel_{false};
};

}  // namespace lowbit::llm

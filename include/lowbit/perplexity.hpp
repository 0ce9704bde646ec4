// Perplexity of a token sequence: the sequence is cut into windows of `window` tokens, each
// evaluated from an empty context; every token of a window but its first is scored by the
// logits of the positions before it. ppl = exp(mean negative log-likelihood), natural log.
#pragma once

#include <span>

#include "lowbit/session.hpp"

namespace lowbit::llm {

struct PerplexityResult {
    double perplexity = 0;
    double mean_nll = 0;
    int64_t scored_tokens = 0;
    int64_t windows = 0;
};

PerplexityResult perplexity(Session& session, std::span<const int32_t> tokens, int64_t window);

}  // namespace lowbit::llm

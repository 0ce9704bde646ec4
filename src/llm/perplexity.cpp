#include "lowbit/perplexity.hpp"

#include <cmath>

#include "lowbit/error.hpp"

namespace lowbit::llm {

PerplexityResult perplexity(Session& session, std::span<const int32_t> tokens, int64_t window) {
    if (window < 2) fail_field("window", "perplexity: the window must hold at least 2 tokens (got ", window, ")");
    if (window > session.n_ctx()) fail_field("window", "perplexity: window ", window, " is larger than the context ", session.n_ctx());
    if (tokens.size() < 2) fail_field("tokens", "perplexity: the text has ", tokens.size(), " tokens; at least 2 are needed");
    const int64_t vocab = session.model().hp().n_vocab;
    PerplexityResult r;
    double nll = 0;
    std::vector<float> logits;
    for (std::size_t start = 0; start + 1 < tokens.size(); start += static_cast<std::size_t>(window)) {
        const std::size_t n = std::min(tokens.size() - start, static_cast<std::size_t>(window));
        if (n < 2) break;
        session.reset();
        session.eval(tokens.subspan(start, n), logits, /*all_logits=*/true);
        for (std::size_t i = 0; i + 1 < n; ++i) {
            const float* row = logits.data() + i * static_cast<std::size_t>(vocab);
            double max = row[0];
            for (int64_t v = 1; v < vocab; ++v) max = std::max(max, static_cast<double>(row[v]));
            double sum = 0;
            for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v]) - max);
            const double log_p = static_cast<double>(row[tokens[start + i + 1]]) - max - std::log(sum);
            nll -= log_p;
            ++r.scored_tokens;
        }
        ++r.windows;
    }
    r.mean_nll = nll / static_cast<double>(r.scored_tokens);
    r.perplexity = std::exp(r.mean_nll);
    return r;
}

}  // namespace lowbit::llm

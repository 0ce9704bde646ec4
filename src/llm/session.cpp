#include "lowbit/session.hpp"

#include <algorithm>

#include "lowbit/error.hpp"

namespace lowbit::llm {

int64_t default_context_size(const Model& model, int64_t n_ctx) {
    if (n_ctx > 0) return n_ctx;
    const int64_t trained = model.hp().n_ctx_train;
    return trained >= 16 ? trained : 4096;
}

Session::Session(const Model& model, ThreadPool& pool, const SessionOptions& options)
    : model_(model),
      pool_(pool),
      kv_(model, KvCacheOptions{default_context_size(model, options.n_ctx), 1, options.kv_type}),
      workspace_(model, std::max<int64_t>(1, std::min(options.max_batch, default_context_size(model, options.n_ctx)))),
      sequence_(kv_.allocate()) {}

void Session::eval(std::span<const int32_t> tokens, std::vector<float>& logits, bool all_logits) {
    const auto n = static_cast<int64_t>(tokens.size());
    if (n == 0) fail_field("tokens", "eval: no tokens");
    if (n_past() + n > n_ctx()) {
        fail_as(ErrorCode::context_full, "context is full: ", n_past(), " tokens + ", n,
                " new exceed the context size ", n_ctx());
    }
    const int64_t vocab = model_.hp().n_vocab;
    logits.resize(static_cast<std::size_t>((all_logits ? n : 1) * vocab));
    const int64_t chunk = workspace_.max_tokens();
    for (int64_t first = 0; first < n; first += chunk) {
        const int64_t count = std::min(chunk, n - first);
        const bool last_chunk = first + count == n;
        batch_.clear();
        for (int64_t i = 0; i < count; ++i) {
            const bool wants = all_logits || (last_chunk && i + 1 == count);
            batch_.add(tokens[static_cast<std::size_t>(first + i)], sequence_, n_past() + i, wants);
        }
        const std::span<const float> out = decode(model_, batch_, kv_, workspace_, pool_);
        if (all_logits) {
            std::copy(out.begin(), out.end(), logits.begin() + first * vocab);
        } else if (last_chunk) {
            std::copy(out.begin(), out.end(), logits.begin());
        }
    }
}

}  // namespace lowbit::llm

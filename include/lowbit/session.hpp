// One sequence of one caller over the batch API: a KV cache with a single sequence, a workspace
// and the caller's pool, and eval() that feeds tokens through decode() in chunks of at most the
// workspace's batch size. What the CLI's commands run on; a server or an embedder that runs many
// sequences at once uses Batch, KvCache and decode() directly (decode.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/decode.hpp"

namespace lowbit::llm {

struct SessionOptions {
    int64_t n_ctx = 0;  // context size in tokens (0: the model's training context, else 4096)
    KvCacheType kv_type = KvCacheType::f16;
    int64_t max_batch = 512;  // tokens per decode() call (a longer prompt goes in chunks)
};

class Session {
public:
    Session(const Model& model, ThreadPool& pool, const SessionOptions& options = {});

    // Appends `tokens` at positions n_past() .. n_past() + size - 1. Writes the logits of the
    // last token (all_logits: of every token, row-major) into `logits`. Throws context_full
    // when the context would overflow (nothing is appended then) and bad_argument for a token
    // id out of range.
    void eval(std::span<const int32_t> tokens, std::vector<float>& logits, bool all_logits = false);

    int64_t n_past() const { return kv_.length(sequence_); }
    int64_t n_ctx() const { return kv_.max_positions(); }
    KvCacheType kv_cache_type() const { return kv_.type(); }
    void reset() { kv_.truncate(sequence_, 0); }
    // Forgets every position from n on (n <= n_past()): the next eval continues there.
    void truncate(int64_t n) { kv_.truncate(sequence_, n); }

    const Model& model() const { return model_; }
    ThreadPool& pool() { return pool_; }
    const KernelCounters& kernel_counters() const { return workspace_.kernel_counters(); }

private:
    const Model& model_;
    ThreadPool& pool_;
    KvCache kv_;
    Workspace workspace_;
    int sequence_;
    Batch batch_;
};

// The context size a session gets for `n_ctx` (0: the model's training context, else 4096).
int64_t default_context_size(const Model& model, int64_t n_ctx);

}  // namespace lowbit::llm

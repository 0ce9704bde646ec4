// The forward pass over a batch (../shared/spec/bitnet-model.md): decode(model, batch, kv,
// workspace, pool) runs every token of the batch through the model, whichever sequence it
// belongs to, appends its keys and values to that sequence in the KV cache, and returns the
// logits of the tokens that asked for them.
//
// A token's logits have the same bits whatever batch it runs in (alone, among other
// sequences' tokens, inside a prefill chunk of any size) and whatever the thread count: every
// integer sum is exact and every float step takes one order (kernel_set.hpp, and the kernel
// check holds every kernel to it).
//
// Every linear input is quantized per token to int8 (bitnet.cpp's rule) and packed once for all
// the matrices and threads that read it; each matrix is read once per step for all its tokens,
// its rows handed out to the threads in chunks. A float head (F16/BF16/F32, e.g. the tied
// embedding) takes f32 input.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "lowbit/batch.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/kv_cache.hpp"
#include "lowbit/model.hpp"
#include "lowbit/thread_pool.hpp"

namespace lowbit::llm {

// The working memory of decode() calls: per-token buffers for batches of up to max_tokens,
// and (grown on demand) packed activations, attention scores and logits. One per caller that
// runs decode() at the same time as others; it also counts the kernels its calls ran.
class Workspace {
public:
    explicit Workspace(const Model& model, int64_t max_tokens = 512);
    ~Workspace();
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;

    int64_t max_tokens() const;
    const Model& model() const;
    // Kernel calls made through this workspace, by operation, type and the level that ran.
    const KernelCounters& kernel_counters() const;
    void clear_kernel_counters();

    struct Buffers;  // src/llm/workspace.hpp
    Buffers& buffers() { return *buffers_; }

private:
    std::unique_ptr<Buffers> buffers_;
};

// Runs `batch` (at most ws.max_tokens() tokens). Each sequence's tokens must come in order at
// the positions following what the cache holds for it (its length, then length + 1, ...).
// Returns logits_count() rows of n_vocab floats, in the batch's order, valid until the next
// call with this workspace. Throws lowbit::Error naming the token for a bad token id, sequence
// or position, and context_full when a sequence would outgrow its cache; the cache's lengths
// are unchanged then.
std::span<const float> decode(const Model& model, const Batch& batch, KvCache& kv, Workspace& ws, ThreadPool& pool);

}  // namespace lowbit::llm

#include "workspace.hpp"

#include <algorithm>

#include "lowbit/error.hpp"

namespace lowbit::llm {

Workspace::Workspace(const Model& model, int64_t max_tokens) : buffers_(std::make_unique<Buffers>()) {
    if (max_tokens < 1 || max_tokens > 65536)
        fail_field("batch", "workspace: ", max_tokens, " tokens per batch is out of range (1 .. 65536)");
    const HyperParameters& h = model.hp();
    const int64_t q_dim = h.n_head * h.head_dim, kv_dim = h.n_head_kv * h.head_dim;
    const int64_t widest = std::max({h.n_embd, q_dim, h.n_ff});
    const auto n = static_cast<std::size_t>(max_tokens);
    Buffers& b = *buffers_;
    b.model = &model;
    b.max_tokens = max_tokens;
    b.x.resize(n * static_cast<std::size_t>(h.n_embd));
    b.h.resize(n * static_cast<std::size_t>(widest));
    b.q.resize(n * static_cast<std::size_t>(q_dim));
    b.k.resize(n * static_cast<std::size_t>(kv_dim));
    b.v.resize(n * static_cast<std::size_t>(kv_dim));
    b.attn.resize(n * static_cast<std::size_t>(q_dim));
    b.gate.resize(n * static_cast<std::size_t>(h.n_ff));
    b.up.resize(n * static_cast<std::size_t>(h.n_ff));
    b.qact.resize(n * static_cast<std::size_t>(widest));
    b.act_scale.resize(n);
    b.act_sum.resize(n);
}

Workspace::~Workspace() = default;

int64_t Workspace::max_tokens() const { return buffers_->max_tokens; }
const Model& Workspace::model() const { return *buffers_->model; }
const KernelCounters& Workspace::kernel_counters() const { return buffers_->counters; }
void Workspace::clear_kernel_counters() { buffers_->counters.clear(); }

}  // namespace lowbit::llm

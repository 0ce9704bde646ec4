// Internal: what a Workspace holds, and the state of one decode() call the forward pass's
// parts share (decode.cpp, products.cpp, attention.cpp).
#pragma once

#include <array>
#include <functional>
#include <vector>

#include "../kernels/level_table.hpp"
#include "aligned_buffer.hpp"
#include "lowbit/decode.hpp"

namespace lowbit::llm {

// Rows [begin, end) of item `item` of a list of products.
struct RowChunk {
    std::size_t item;
    int64_t begin, end;
};

struct Workspace::Buffers {
    const Model* model = nullptr;
    int64_t max_tokens = 0;
    // per token, [token][dim]
    std::vector<float> x, h, q, k, v, attn, gate, up;
    std::vector<int8_t> qact;  // a linear input quantized per token
    std::vector<float> act_scale;
    std::vector<int32_t> act_sum;
    std::array<AlignedBuffer, 3> packs;  // one per distinct pack kernel of a shared input
    std::vector<float> scores;           // attention: per thread, one row per head of a GQA group
    std::vector<float> head_input;       // the normed rows of the tokens that want logits
    std::vector<float> logits;
    std::vector<float> cos, sin;  // rotary tables, per token
    std::vector<RowChunk> chunks;
    KernelCounters counters;
};

// One decode() call.
struct Step {
    const Model& model;
    const KernelSet& kernels;
    const HyperParameters& hp;
    std::span<const BatchToken> tokens;
    KvCache& kv;
    Workspace::Buffers& b;
    ThreadPool& pool;
    int64_t n;  // tokens

    // body(t0, t1) over the tokens [0, n), split across the pool when there is more than one.
    template <class Body>
    void per_token(Body&& body) const {
        if (n == 1) {
            body(0, 1);  // a pool job would cost more than the work
        } else {
            pool.parallel_for(n, 1, body);
        }
    }
};

// One matrix of a group that shares its input: out = w input, out_dim values per token.
struct Product {
    const Linear* w;
    float* out;
    int64_t out_dim;
};

// The products of one input (q, k, v; gate, up; o; down; a quantized head): the input quantized
// per token and packed once per pack kernel, then every matrix's rows in chunks over the pool.
void multiply(Step& step, std::initializer_list<Product> products, const float* input, int64_t in_dim);

// Row chunks of a memory-bound product handed out dynamically ("guided"): each chunk a quarter
// of what is left (per thread pair), down to `grain` rows.
void guided_chunks(int64_t rows, int threads, int64_t grain, const std::function<void(int64_t, int64_t)>& emit);

// Attention of every token of the step over its sequence's cache (K and V of the step's tokens
// already written), into b.attn.
void attention(Step& step, std::size_t layer);

}  // namespace lowbit::llm

// Running a model: the forward pass of ../shared/spec/bitnet-model.md over a KV cache.
//
// eval() takes the next tokens of a sequence: a prompt at once (prefill: every matrix product
// is a GEMM over all its tokens) or one token (decode: GEMV). Every ternary/integer matmul
// input is quantized per token to int8 (bitnet.cpp's rule), a quantized head's too; a float
// head (F16/BF16/F32, e.g. the tied embedding) takes f32 input.
// K and V are cached in f16 by default (as llama.cpp does), or in f32 where exact agreement
// with a float reference matters; the cache is sized by n_ctx. Work is split across a
// persistent thread pool.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "lowbit/kernel_set.hpp"
#include "lowbit/model.hpp"
#include "lowbit/thread_pool.hpp"

namespace lowbit::llm {

enum class KvCacheType { f16, f32 };

class Context {
public:
    Context(const Model& model, int64_t n_ctx, ThreadPool& pool, KvCacheType kv_type = KvCacheType::f16);

    // Appends `tokens` at positions n_past() .. n_past() + size - 1. Writes the logits of the
    // last token (all_logits: of every token, row-major) into `logits`. Throws when the
    // context is full or a token id is out of range.
    void eval(std::span<const int32_t> tokens, std::vector<float>& logits, bool all_logits = false);

    int64_t n_past() const { return n_past_; }
    int64_t n_ctx() const { return n_ctx_; }
    KvCacheType kv_cache_type() const { return kv_type_; }
    void reset() { n_past_ = 0; }
    // Forgets every position from n on (n <= n_past()): the next eval continues there.
    void truncate(int64_t n);
    const Model& model() const { return model_; }

    // Kernel calls made so far, by "op/type/isa" (the level that really ran: after fallback).
    const std::map<std::string, uint64_t>& kernel_calls() const { return kernel_calls_; }

private:
    struct Buffers;
    void layer_forward(std::size_t layer, int64_t n);
    // body(t0, t1) over the tokens [0, n), split across the pool when there is more than one
    void per_token(int64_t n, const std::function<void(int64_t, int64_t)>& body);
    void attention(std::size_t layer, int64_t n);
    // out = W input for n tokens: the input quantized per token to int8, then GEMV or GEMM.
    void matmul(const Linear& w, const float* input, int64_t n, int64_t in_dim, float* out, int64_t out_dim);
    // Several matrices applied to the same input (q, k, v; gate, up): the input quantized once,
    // and all the products in one pool job (a prompt: each thread takes its share of every
    // matrix; one token: row chunks handed out from a shared counter).
    struct Product {
        const Linear* w;
        float* out;
        int64_t out_dim;
    };
    struct RowChunk {
        const Product* product;
        int64_t begin, end;
    };
    std::vector<RowChunk> row_chunks_;  // reused by every decode product
    void matmul_shared(std::initializer_list<Product> products, const float* input, int64_t n, int64_t in_dim);
    void quantize_input(const float* input, int64_t n, int64_t in_dim);
    void count(const std::string& op, const WeightType& type, const void* fn);

    const Model& model_;
    const KernelSet& kernels_;
    ThreadPool& pool_;
    int64_t n_ctx_;
    int64_t n_past_ = 0;
    KvCacheType kv_type_;
    std::vector<uint16_t> k_cache_, v_cache_;        // [layer][position][kv_dim], f16
    std::vector<float> k_cache_f32_, v_cache_f32_;  // the same, when kv_type_ is f32
    std::map<std::string, uint64_t> kernel_calls_;

    // Work buffers, sized for `capacity_` tokens at a time (grown on demand).
    int64_t capacity_ = 0;
    std::vector<float> x_, h_, q_, k_, v_, attn_, gate_, up_, scores_;
    std::vector<int8_t> qact_;
    std::vector<float> act_scale_;
    std::vector<int32_t> act_sum_;
    std::vector<float> inv_freq_;
    void reserve(int64_t n);
};

}  // namespace lowbit::llm

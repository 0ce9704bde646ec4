// decode(): the forward pass of ../shared/spec/bitnet-model.md over a batch, in the order of the
// math. Products go through multiply() (products.cpp), attention through attention()
// (attention.cpp); everything else is per token.
#include "lowbit/decode.hpp"

#include <algorithm>
#include <cmath>

#include "lowbit/error.hpp"
#include "lowbit/matmul.hpp"
#include "workspace.hpp"

namespace lowbit::llm {
namespace {

// Tokens a float head's product takes at a time (their f32 rows stay in cache).
constexpr int64_t kHeadTokenBlock = 16;

// y = x / sqrt(mean(x^2) + eps) * w, one row of n values (the mean in double: element i into
// partial sum i % 8, so that eight additions are in flight instead of one chain).
void rms_norm(const float* x, const float* w, int64_t n, float eps, float* y) {
    double partial[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int k = 0; k < 8; ++k) partial[k] += static_cast<double>(x[i + k]) * x[i + k];
    }
    for (; i < n; ++i) partial[i % 8] += static_cast<double>(x[i]) * x[i];
    double ss = 0;
    for (double p : partial) ss += p;
    const auto inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    for (int64_t j = 0; j < n; ++j) y[j] = x[j] * inv * w[j];
}

// NEOX ("rotate half") rotary embedding of one head: pairs (i, i + d/2).
void rope_neox(float* v, int64_t rope_dim, const float* cos_t, const float* sin_t) {
    const int64_t half = rope_dim / 2;
    for (int64_t i = 0; i < half; ++i) {
        const float x0 = v[i], x1 = v[i + half];
        v[i] = x0 * cos_t[i] - x1 * sin_t[i];
        v[i + half] = x0 * sin_t[i] + x1 * cos_t[i];
    }
}

// NORM rotary embedding (llama.cpp's for llama): pairs (2i, 2i + 1).
void rope_norm(float* v, int64_t rope_dim, const float* cos_t, const float* sin_t) {
    for (int64_t i = 0; i < rope_dim / 2; ++i) {
        const float x0 = v[2 * i], x1 = v[2 * i + 1];
        v[2 * i] = x0 * cos_t[i] - x1 * sin_t[i];
        v[2 * i + 1] = x0 * sin_t[i] + x1 * cos_t[i];
    }
}

// Each sequence's tokens in order at the positions after what its cache holds; returns, per
// sequence of the batch, the length it will have.
std::vector<std::pair<int, int64_t>> check_batch(const Model& model, const Batch& batch, const KvCache& kv,
                                                 int64_t max_tokens) {
    const int64_t n = batch.size();
    if (n == 0) fail_field("batch", "decode: the batch has no tokens");
    if (n > max_tokens) {
        fail_field("batch", "decode: the batch has ", n, " tokens, more than the workspace's ", max_tokens);
    }
    std::vector<std::pair<int, int64_t>> next;  // (sequence, next position)
    for (int64_t i = 0; i < n; ++i) {
        const BatchToken& t = batch.tokens()[static_cast<std::size_t>(i)];
        if (t.token < 0 || t.token >= model.hp().n_vocab) {
            fail_field("token", "decode: token ", i, " of the batch: id ", t.token, " is out of range (vocabulary of ",
                       model.hp().n_vocab, ")");
        }
        if (!kv.in_use(t.sequence)) {
            fail_field("sequence", "decode: token ", i, " of the batch: sequence ", t.sequence, " is not allocated");
        }
        auto it = std::find_if(next.begin(), next.end(), [&](const auto& e) { return e.first == t.sequence; });
        if (it == next.end()) it = next.insert(next.end(), {t.sequence, kv.length(t.sequence)});
        if (t.position != it->second) {
            fail_field("position", "decode: token ", i, " of the batch: sequence ", t.sequence, " position ",
                       t.position, ", expected ", it->second, " (positions follow what the cache holds, in order)");
        }
        ++it->second;
    }
    return next;
}

// The rotary tables of every token (the same for all layers).
void rotary_tables(Step& s) {
    const auto half = static_cast<std::size_t>(s.hp.rope_dim / 2);
    s.b.cos.resize(static_cast<std::size_t>(s.n) * half);
    s.b.sin.resize(s.b.cos.size());
    for (int64_t t = 0; t < s.n; ++t) {
        const auto pos = static_cast<float>(s.tokens[static_cast<std::size_t>(t)].position);
        for (std::size_t i = 0; i < half; ++i) {
            // inv_freq as PyTorch's rotary embedding computes it: 1 / theta^(2i / d), in f32
            const float inv_freq =
                1.0f / std::pow(s.hp.rope_theta, static_cast<float>(2 * i) / static_cast<float>(s.hp.rope_dim));
            const float angle = pos * inv_freq;
            s.b.cos[static_cast<std::size_t>(t) * half + i] = std::cos(angle);
            s.b.sin[static_cast<std::size_t>(t) * half + i] = std::sin(angle);
        }
    }
}

// q, k rotated; k and v written to each token's sequence at its position.
void rope_and_cache(Step& s, std::size_t layer) {
    const HyperParameters& h = s.hp;
    const int64_t hd = h.head_dim, q_dim = h.n_head * hd, kv_dim = h.n_head_kv * hd;
    const auto half = h.rope_dim / 2;
    const kernels::CoreKernels& core = s.kernels.core();
    const auto rope = h.rope_neox ? &rope_neox : &rope_norm;
    s.per_token([&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const float* cos_t = s.b.cos.data() + t * half;
            const float* sin_t = s.b.sin.data() + t * half;
            for (int64_t head = 0; head < h.n_head; ++head)
                rope(s.b.q.data() + t * q_dim + head * hd, h.rope_dim, cos_t, sin_t);
            for (int64_t head = 0; head < h.n_head_kv; ++head)
                rope(s.b.k.data() + t * kv_dim + head * hd, h.rope_dim, cos_t, sin_t);
            const BatchToken& token = s.tokens[static_cast<std::size_t>(t)];
            const int64_t page = token.position / KvCache::kPagePositions,
                          row = token.position % KvCache::kPagePositions;
            const auto l = static_cast<int64_t>(layer);
            uint8_t* k =
                s.kv.keys(token.sequence, page, l) + static_cast<std::size_t>(row * kv_dim) * s.kv.element_bytes();
            uint8_t* v =
                s.kv.values(token.sequence, page, l) + static_cast<std::size_t>(row * kv_dim) * s.kv.element_bytes();
            if (s.kv.type() == KvCacheType::f32) {
                std::copy_n(s.b.k.data() + t * kv_dim, kv_dim, reinterpret_cast<float*>(k));
                std::copy_n(s.b.v.data() + t * kv_dim, kv_dim, reinterpret_cast<float*>(v));
            } else {
                core.f32_to_f16_row(s.b.k.data() + t * kv_dim, reinterpret_cast<uint16_t*>(k), kv_dim);
                core.f32_to_f16_row(s.b.v.data() + t * kv_dim, reinterpret_cast<uint16_t*>(v), kv_dim);
            }
        }
    });
}

void embed(Step& s) {
    const Linear& embd = s.model.token_embd();
    const TypeKernelSet& k = s.kernels[*embd.type];
    const int64_t d = s.hp.n_embd;
    for (int64_t t = 0; t < s.n; ++t) {
        const int32_t id = s.tokens[static_cast<std::size_t>(t)].token;
        k.ops.dequantize(embd.view, id, id + 1, s.b.x.data() + t * d);
    }
    s.b.counters.add(KernelOp::dequantize, *embd.type, k.dequantize_level, static_cast<uint64_t>(s.n));
}

void layer_forward(Step& s, std::size_t layer) {
    const HyperParameters& h = s.hp;
    const Layer& L = s.model.layers()[layer];
    const int64_t d = h.n_embd, q_dim = h.n_head * h.head_dim, kv_dim = h.n_head_kv * h.head_dim, ff = h.n_ff;
    Workspace::Buffers& b = s.b;
    const kernels::CoreKernels& core = s.kernels.core();

    // attention
    s.per_token([&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t)
            rms_norm(b.x.data() + t * d, L.attn_norm.data(), d, h.rms_eps, b.h.data() + t * d);
    });
    multiply(s, {{&L.q, b.q.data(), q_dim}, {&L.k, b.k.data(), kv_dim}, {&L.v, b.v.data(), kv_dim}}, b.h.data(), d);
    rope_and_cache(s, layer);
    attention(s, layer);
    if (h.sub_norms) {
        s.per_token([&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                rms_norm(b.attn.data() + t * q_dim, L.attn_sub_norm.data(), q_dim, h.rms_eps,
                         b.attn.data() + t * q_dim);
            }
        });
    }
    if (!L.o_smooth.empty()) {
        s.per_token([&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                for (int64_t j = 0; j < q_dim; ++j) b.attn[t * q_dim + j] *= L.o_smooth[static_cast<std::size_t>(j)];
            }
        });
    }
    multiply(s, {{&L.o, b.h.data(), d}}, b.attn.data(), q_dim);

    // residual, then the feed-forward norm
    s.per_token([&](int64_t t0, int64_t t1) {
        for (int64_t i = t0 * d; i < t1 * d; ++i) b.x[i] += b.h[i];
        for (int64_t t = t0; t < t1; ++t)
            rms_norm(b.x.data() + t * d, L.ffn_norm.data(), d, h.rms_eps, b.h.data() + t * d);
    });
    multiply(s, {{&L.gate, b.gate.data(), ff}, {&L.up, b.up.data(), ff}}, b.h.data(), d);
    s.per_token([&](int64_t t0, int64_t t1) {
        float* gate = b.gate.data();
        const float* up = b.up.data();
        if (h.ffn == FeedForward::relu_squared) {
            // a kernel: the compiler keeps the scalar loop's branch (it may not speculate the
            // multiplication in one arm under -ftrapping-math) and this build targets baseline x86-64
            core.relu_sq_mul_f32(gate + t0 * ff, up + t0 * ff, (t1 - t0) * ff);
        } else {
            for (int64_t i = t0 * ff; i < t1 * ff; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
        }
        if (h.sub_norms) {
            for (int64_t t = t0; t < t1; ++t) {
                rms_norm(gate + t * ff, L.ffn_sub_norm.data(), ff, h.rms_eps, gate + t * ff);
            }
        }
        if (!L.down_smooth.empty()) {
            for (int64_t t = t0; t < t1; ++t) {
                for (int64_t j = 0; j < ff; ++j) gate[t * ff + j] *= L.down_smooth[static_cast<std::size_t>(j)];
            }
        }
    });
    multiply(s, {{&L.down, b.h.data(), d}}, b.gate.data(), ff);
    s.per_token([&](int64_t t0, int64_t t1) {
        for (int64_t i = t0 * d; i < t1 * d; ++i) b.x[i] += b.h[i];
    });
}

// logits = head(rmsnorm(x) * output_norm) for the tokens that asked, read once for all of them.
std::span<const float> head(Step& s) {
    const HyperParameters& h = s.hp;
    const int64_t d = h.n_embd, vocab = h.n_vocab;
    Workspace::Buffers& b = s.b;
    int64_t m = 0;
    for (const BatchToken& t : s.tokens) m += t.logits ? 1 : 0;
    if (m == 0) return {};
    b.head_input.resize(static_cast<std::size_t>(m * d));
    b.logits.resize(static_cast<std::size_t>(m * vocab));
    int64_t row = 0;
    for (int64_t t = 0; t < s.n; ++t) {
        if (!s.tokens[static_cast<std::size_t>(t)].logits) continue;
        rms_norm(b.x.data() + t * d, s.model.output_norm().data(), d, h.rms_eps, b.head_input.data() + row * d);
        ++row;
    }
    const Linear& w = s.model.head();
    const TypeId id = w.type->id;
    if (id == TypeId::F32 || id == TypeId::F16 || id == TypeId::BF16) {
        // a float head (the tied embedding of the bitnet files) takes the f32 activations
        const TypeKernelSet& k = s.kernels[*w.type];
        b.chunks.clear();
        if (m <= kHeadTokenBlock) {
            guided_chunks(vocab, s.pool.size(), kRowGrain, [&](int64_t r0, int64_t r1) {
                b.chunks.push_back({0, r0, r1});
            });
        } else {
            // many tokens (scoring a text): rows in small chunks that stay in cache while every
            // block of tokens passes over them
            for (int64_t r0 = 0; r0 < vocab; r0 += 2 * kRowGrain)
                b.chunks.push_back({0, r0, std::min(vocab, r0 + 2 * kRowGrain)});
        }
        s.pool.for_each_chunk(static_cast<int64_t>(b.chunks.size()), [&](int64_t c) {
            const RowChunk& rc = b.chunks[static_cast<std::size_t>(c)];
            for (int64_t t0 = 0; t0 < m; t0 += kHeadTokenBlock) {
                const int64_t tokens = std::min(kHeadTokenBlock, m - t0);
                k.ops.gemm_f32(w.view, rc.begin, rc.end, b.head_input.data() + t0 * d, tokens, d,
                               b.logits.data() + t0 * vocab + rc.begin, vocab);
            }
        });
        b.counters.add(KernelOp::gemm_f32, *w.type, k.gemm_f32_level);
    } else {
        // a quantized head (Q6_K, Q8_0, Q4_0 ...) takes int8 activations through its integer
        // kernels, as llama.cpp and bitnet.cpp do (they use Q8_K/Q8_0 blocks; here one scale per token)
        Step heads{s.model, s.kernels, s.hp, s.tokens, s.kv, s.b, s.pool, m};
        multiply(heads, {{&w, b.logits.data(), vocab}}, b.head_input.data(), d);
    }
    return {b.logits.data(), static_cast<std::size_t>(m * vocab)};
}

}  // namespace

std::span<const float> decode(const Model& model, const Batch& batch, KvCache& kv, Workspace& ws, ThreadPool& pool) {
    Workspace::Buffers& b = ws.buffers();
    if (b.model != &model) fail_field("workspace", "decode: the workspace was made for another model");
    const std::vector<std::pair<int, int64_t>> lengths = check_batch(model, batch, kv, b.max_tokens);
    for (const auto& [sequence, length] : lengths) kv.reserve(sequence, length);  // may throw context_full

    Step s{model, model.kernels(), model.hp(), batch.tokens(), kv, b, pool, batch.size()};
    rotary_tables(s);
    embed(s);
    for (std::size_t l = 0; l < model.layers().size(); ++l) layer_forward(s, l);
    const std::span<const float> logits = head(s);
    for (const auto& [sequence, length] : lengths) kv.set_length(sequence, length);
    return logits;
}

}  // namespace lowbit::llm

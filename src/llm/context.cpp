#include "lowbit/context.hpp"

#include <algorithm>
#include <cmath>

#include "../kernels/level_table.hpp"
#include "lowbit/activation.hpp"
#include "lowbit/error.hpp"
#include "lowbit/isa.hpp"
#include "lowbit/matmul.hpp"

namespace lowbit::llm {
namespace {

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

// NEOX ("rotate half") rotary embedding of one head of `dim` values at position `pos`.
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

// Row chunks of a memory-bound product handed out dynamically ("guided"): each chunk a quarter
// of what is left (per thread pair), down to the kernels' row grain, so that threads stream long
// runs of rows first and even out at the end with small chunks.
template <class Emit>
void guided_chunks(int64_t rows, int threads, Emit emit) {
    int64_t begin = 0;
    while (begin < rows) {
        const int64_t want = (rows - begin) / (2 * threads);
        const int64_t size = std::max<int64_t>(kRowGrain, (want + kRowGrain - 1) / kRowGrain * kRowGrain);
        const int64_t end = std::min(begin + size, rows);
        emit(begin, end);
        begin = end;
    }
}

}  // namespace

Context::Context(const Model& model, int64_t n_ctx, ThreadPool& pool, KvCacheType kv_type)
    : model_(model), kernels_(default_kernel_set()), pool_(pool), n_ctx_(n_ctx), kv_type_(kv_type) {
    const HyperParameters& h = model.hp();
    if (n_ctx < 1 || n_ctx > (int64_t{1} << 20)) fail("context size ", n_ctx, " is out of range (1 .. 1048576)");
    const int64_t kv_dim = h.n_head_kv * h.head_dim;
    const auto cache = static_cast<std::size_t>(h.n_layer * n_ctx * kv_dim);
    if (kv_type_ == KvCacheType::f32) {
        k_cache_f32_.assign(cache, 0.0f);
        v_cache_f32_.assign(cache, 0.0f);
    } else {
        k_cache_.assign(cache, 0);
        v_cache_.assign(cache, 0);
    }
    // inv_freq as PyTorch's rotary embedding computes it: 1 / theta^(2i / d), in f32
    inv_freq_.resize(static_cast<std::size_t>(h.rope_dim / 2));
    for (std::size_t i = 0; i < inv_freq_.size(); ++i) {
        inv_freq_[i] = 1.0f / std::pow(h.rope_theta, static_cast<float>(2 * i) / static_cast<float>(h.rope_dim));
    }
}

void Context::truncate(int64_t n) {
    if (n < 0 || n > n_past_) fail("truncate: position ", n, " is outside 0..", n_past_);
    n_past_ = n;
}

void Context::reserve(int64_t n) {
    if (n <= capacity_) return;
    const HyperParameters& h = model_.hp();
    const int64_t q_dim = h.n_head * h.head_dim, kv_dim = h.n_head_kv * h.head_dim;
    const int64_t widest = std::max({h.n_embd, q_dim, h.n_ff});
    const auto N = static_cast<std::size_t>(n);
    x_.resize(N * h.n_embd);
    h_.resize(N * widest);
    q_.resize(N * q_dim);
    k_.resize(N * kv_dim);
    v_.resize(N * kv_dim);
    attn_.resize(N * q_dim);
    gate_.resize(N * h.n_ff);
    up_.resize(N * h.n_ff);
    qact_.resize(N * widest);
    act_scale_.resize(N);
    act_sum_.resize(N);
    // per thread: one row of scores for each head of a GQA group
    scores_.resize(static_cast<std::size_t>(pool_.size()) * static_cast<std::size_t>(model_.hp().n_head / model_.hp().n_head_kv) *
                   static_cast<std::size_t>(n_ctx_));
    capacity_ = n;
}

void Context::count(const std::string& op, const WeightType& type, const void* fn) {
    // The level whose table holds the function that ran (the active level, or a lower one).
    Isa level = kernels_.isa();
    for (;; level = isa_fallback(level)) {
        const Kernels& k = type.isa[static_cast<std::size_t>(level)];
        const void* candidates[] = {reinterpret_cast<const void*>(k.gemv_i8), reinterpret_cast<const void*>(k.gemm_i8),
                                    reinterpret_cast<const void*>(k.gemv_f32), reinterpret_cast<const void*>(k.dequantize)};
        if (std::find(std::begin(candidates), std::end(candidates), fn) != std::end(candidates) || level == Isa::scalar) {
            break;
        }
    }
    ++kernel_calls_[op + "/" + std::string(type.name) + "/" + std::string(isa_name(level))];
}

void Context::quantize_input(const float* input, int64_t n, int64_t in_dim) {
    const kernels::CoreKernels& core = kernels_.core();
    per_token(n, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            act_scale_[t] = core.quantize_activation_row(input + t * in_dim, in_dim, qact_.data() + t * in_dim, &act_sum_[t]);
        }
    });
}

void Context::matmul(const Linear& w, const float* input, int64_t n, int64_t in_dim, float* out, int64_t out_dim) {
    matmul_shared({{&w, out, out_dim}}, input, n, in_dim);
}

void Context::matmul_shared(std::initializer_list<Product> products, const float* input, int64_t n, int64_t in_dim) {
    quantize_input(input, n, in_dim);
    const ActivationRowI8 row{qact_.data(), in_dim, act_scale_[0], act_sum_[0]};
    const ActivationsI8 rows{qact_.data(), n, in_dim, in_dim, act_scale_.data(), act_sum_.data()};
    if (n == 1) {
        // Memory bound: the two threads rarely get equal bandwidth, so rows go out in chunks.
        row_chunks_.clear();
        for (const Product& p : products) {
            guided_chunks(p.out_dim, pool_.size(), [&](int64_t r0, int64_t r1) { row_chunks_.push_back({&p, r0, r1}); });
        }
        pool_.for_each_chunk(static_cast<int64_t>(row_chunks_.size()), [&](int64_t c) {
            const RowChunk& rc = row_chunks_[static_cast<std::size_t>(c)];
            kernels_[*rc.product->w->type].ops.gemv_i8(rc.product->w->view, rc.begin, rc.end, row, rc.product->out + rc.begin);
        });
    } else {
        // Each GEMM call packs the tokens' activations: one contiguous share per thread.
        pool_.run([&](int index, int count) {
            for (const Product& p : products) {
                const auto [r0, r1] = ThreadPool::share(p.out_dim, kRowGrain, index, count);  // this thread's rows
                if (r0 < r1) kernels_[*p.w->type].ops.gemm_i8(p.w->view, r0, r1, rows, p.out + r0, p.out_dim);
            }
        });
    }
    for (const Product& p : products) {
        const Kernels& k = kernels_[*p.w->type].ops;
        if (n == 1) {
            count("gemv_i8", *p.w->type, reinterpret_cast<const void*>(k.gemv_i8));
        } else {
            count("gemm_i8", *p.w->type, reinterpret_cast<const void*>(k.gemm_i8));
        }
        if (p.w->output_scale != 1.0f) {
            for (int64_t i = 0; i < n * p.out_dim; ++i) p.out[i] *= p.w->output_scale;
        }
    }
}

void Context::attention(std::size_t layer, int64_t n) {
    const HyperParameters& h = model_.hp();
    const int64_t hd = h.head_dim, q_dim = h.n_head * hd, kv_dim = h.n_head_kv * hd;
    const int64_t group = h.n_head / h.n_head_kv;
    const std::size_t layer_at = layer * static_cast<std::size_t>(n_ctx_ * kv_dim);
    const bool f32 = kv_type_ == KvCacheType::f32;
    const uint16_t* kc = f32 ? nullptr : k_cache_.data() + layer_at;
    const uint16_t* vc = f32 ? nullptr : v_cache_.data() + layer_at;
    const float* kc32 = f32 ? k_cache_f32_.data() + layer_at : nullptr;
    const float* vc32 = f32 ? v_cache_f32_.data() + layer_at : nullptr;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    const kernels::CoreKernels& core = kernels_.core();
    // Work items: (token, a slice of one GQA group's heads). The heads of a slice share their K
    // and V rows, converted from f16 once for all of them. Whole groups unless that leaves
    // fewer than four items per thread (one token: 5 groups on 2 threads would split 3 : 2).
    int64_t slice = group;
    while (slice % 2 == 0 && n * (h.n_head / slice) < 4 * pool_.size()) slice /= 2;
    const int64_t slices = h.n_head / slice;
    const int64_t items = n * slices;
    pool_.run([&](int index, int count) {
        float* scores = scores_.data() + static_cast<std::size_t>(index) * static_cast<std::size_t>(group * n_ctx_);
        // round robin: with a causal mask later tokens cost more, so contiguous halves of the
        // items would leave the first thread waiting for the second
        for (int64_t item = index; item < items; item += count) {
            const int64_t t = item / slices, head0 = item % slices * slice;
            const int64_t pos = n_past_ + t;  // attends to positions 0..pos (causal)
            const float* q = q_.data() + t * q_dim + head0 * hd;  // the slice's heads, one after another
            const int64_t g = head0 / group;
            if (f32) {
                for (int64_t s = 0; s < slice; ++s) {
                    for (int64_t j = 0; j <= pos; ++j) scores[s * n_ctx_ + j] = core.dot_f32(kc32 + j * kv_dim + g * hd, q + s * hd, hd);
                }
            } else {
                core.dot_f16_f32_rows(kc + g * hd, kv_dim, pos + 1, q, slice, hd, scores, n_ctx_);
            }
            for (int64_t s = 0; s < slice; ++s) {
                float* sc = scores + s * n_ctx_;
                float max = -INFINITY;
                for (int64_t j = 0; j <= pos; ++j) {
                    sc[j] *= scale;
                    max = std::max(max, sc[j]);
                }
                double sum = 0;
                for (int64_t j = 0; j <= pos; ++j) {
                    sc[j] = std::exp(sc[j] - max);
                    sum += sc[j];
                }
                const auto inv = static_cast<float>(1.0 / sum);
                for (int64_t j = 0; j <= pos; ++j) sc[j] *= inv;  // the weights
            }
            float* out = attn_.data() + t * q_dim + head0 * hd;
            std::fill(out, out + slice * hd, 0.0f);
            if (f32) {
                for (int64_t s = 0; s < slice; ++s) {
                    for (int64_t j = 0; j <= pos; ++j) {
                        for (int64_t i = 0; i < hd; ++i) out[s * hd + i] += scores[s * n_ctx_ + j] * vc32[j * kv_dim + g * hd + i];
                    }
                }
            } else {
                core.axpy_f16_f32_rows(out, vc + g * hd, kv_dim, pos + 1, scores, n_ctx_, slice, hd);
            }
        }
    });
}

void Context::per_token(int64_t n, const std::function<void(int64_t, int64_t)>& body) {
    // one token (decode) stays on the caller: a pool job would cost more than the work
    if (n == 1) {
        body(0, 1);
    } else {
        pool_.parallel_for(n, 1, body);
    }
}

void Context::layer_forward(std::size_t layer, int64_t n) {
    const HyperParameters& h = model_.hp();
    const Layer& L = model_.layers()[layer];
    const int64_t d = h.n_embd, hd = h.head_dim, q_dim = h.n_head * hd, kv_dim = h.n_head_kv * hd, ff = h.n_ff;
    const kernels::CoreKernels& core = kernels_.core();

    // attention
    per_token(n, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) rms_norm(x_.data() + t * d, L.attn_norm.data(), d, h.rms_eps, h_.data() + t * d);
    });
    matmul_shared({{&L.q, q_.data(), q_dim}, {&L.k, k_.data(), kv_dim}, {&L.v, v_.data(), kv_dim}}, h_.data(), n, d);
    per_token(n, [&](int64_t t0, int64_t t1) {
        std::vector<float> cos_t(inv_freq_.size()), sin_t(inv_freq_.size());
        for (int64_t t = t0; t < t1; ++t) {
            const auto pos = static_cast<float>(n_past_ + t);
            for (std::size_t i = 0; i < inv_freq_.size(); ++i) {
                const float angle = pos * inv_freq_[i];
                cos_t[i] = std::cos(angle);
                sin_t[i] = std::sin(angle);
            }
            const auto rope = h.rope_neox ? &rope_neox : &rope_norm;
            for (int64_t head = 0; head < h.n_head; ++head) rope(q_.data() + t * q_dim + head * hd, h.rope_dim, cos_t.data(), sin_t.data());
            for (int64_t head = 0; head < h.n_head_kv; ++head) rope(k_.data() + t * kv_dim + head * hd, h.rope_dim, cos_t.data(), sin_t.data());
            const std::size_t at = (layer * static_cast<std::size_t>(n_ctx_) + static_cast<std::size_t>(n_past_ + t)) * kv_dim;
            if (kv_type_ == KvCacheType::f32) {
                std::copy_n(k_.data() + t * kv_dim, kv_dim, k_cache_f32_.data() + at);
                std::copy_n(v_.data() + t * kv_dim, kv_dim, v_cache_f32_.data() + at);
            } else {
                core.f32_to_f16_row(k_.data() + t * kv_dim, k_cache_.data() + at, kv_dim);
                core.f32_to_f16_row(v_.data() + t * kv_dim, v_cache_.data() + at, kv_dim);
            }
        }
    });
    attention(layer, n);
    if (h.sub_norms) {
        per_token(n, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                rms_norm(attn_.data() + t * q_dim, L.attn_sub_norm.data(), q_dim, h.rms_eps, attn_.data() + t * q_dim);
            }
        });
    }
    matmul(L.o, attn_.data(), n, q_dim, h_.data(), d);

    // residual, then the feed-forward norm
    per_token(n, [&](int64_t t0, int64_t t1) {
        for (int64_t i = t0 * d; i < t1 * d; ++i) x_[i] += h_[i];
        for (int64_t t = t0; t < t1; ++t) rms_norm(x_.data() + t * d, L.ffn_norm.data(), d, h.rms_eps, h_.data() + t * d);
    });
    matmul_shared({{&L.gate, gate_.data(), ff}, {&L.up, up_.data(), ff}}, h_.data(), n, d);
    per_token(n, [&](int64_t t0, int64_t t1) {
        float* gate = gate_.data();
        const float* up = up_.data();
        if (h.ffn == FeedForward::relu_squared) {
            // a kernel: the compiler keeps the scalar loop's branch (it may not speculate the
            // multiplication in one arm under -ftrapping-math) and this build targets baseline x86-64
            core.relu_sq_mul_f32(gate + t0 * ff, up + t0 * ff, (t1 - t0) * ff);
        } else {
            for (int64_t i = t0 * ff; i < t1 * ff; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
        }
        if (h.sub_norms) {
            for (int64_t t = t0; t < t1; ++t) {
                rms_norm(gate_.data() + t * ff, L.ffn_sub_norm.data(), ff, h.rms_eps, gate_.data() + t * ff);
            }
        }
    });
    matmul(L.down, gate_.data(), n, ff, h_.data(), d);
    per_token(n, [&](int64_t t0, int64_t t1) {
        for (int64_t i = t0 * d; i < t1 * d; ++i) x_[i] += h_[i];
    });
}

void Context::eval(std::span<const int32_t> tokens, std::vector<float>& logits, bool all_logits) {
    const HyperParameters& h = model_.hp();
    const auto n = static_cast<int64_t>(tokens.size());
    if (n == 0) fail("eval: no tokens");
    if (n_past_ + n > n_ctx_) {
        fail("context is full: ", n_past_, " tokens + ", n, " new exceed the context size ", n_ctx_, " (raise --ctx)");
    }
    for (int32_t id : tokens) {
        if (id < 0 || id >= h.n_vocab) fail("token id ", id, " is out of range (vocabulary of ", h.n_vocab, ")");
    }
    reserve(n);
    const int64_t d = h.n_embd;
    const Linear& embd = model_.token_embd();
    for (int64_t t = 0; t < n; ++t) {
        kernels_[*embd.type].ops.dequantize(embd.view, tokens[t], tokens[t] + 1, x_.data() + t * d);
    }
    count("dequantize", *embd.type, reinterpret_cast<const void*>(kernels_[*embd.type].ops.dequantize));
    for (std::size_t l = 0; l < model_.layers().size(); ++l) layer_forward(l, n);

    const Linear& head = model_.head();
    const int64_t first = all_logits ? 0 : n - 1;
    logits.resize(static_cast<std::size_t>((n - first) * h.n_vocab));
    for (int64_t t = first; t < n; ++t) {
        rms_norm(x_.data() + t * d, model_.output_norm().data(), d, h.rms_eps, h_.data() + t * d);
    }
    const TypeId head_id = head.type->id;
    if (head_id == TypeId::F32 || head_id == TypeId::F16 || head_id == TypeId::BF16) {
        // a float head (the tied embedding of the bitnet files) takes the f32 activations
        for (int64_t t = first; t < n; ++t) {
            const float* normed = h_.data() + t * d;
            float* out = logits.data() + (t - first) * h.n_vocab;
            std::vector<std::pair<int64_t, int64_t>> chunks;
            guided_chunks(h.n_vocab, pool_.size(), [&](int64_t r0, int64_t r1) { chunks.emplace_back(r0, r1); });
            pool_.for_each_chunk(static_cast<int64_t>(chunks.size()), [&](int64_t c) {
                const auto [r0, r1] = chunks[static_cast<std::size_t>(c)];
                kernels_[*head.type].ops.gemv_f32(head.view, r0, r1, normed, out + r0);
            });
            count("gemv_f32", *head.type, reinterpret_cast<const void*>(kernels_[*head.type].ops.gemv_f32));
        }
    } else {
        // a quantized head (Q6_K, Q8_0, Q4_0 ...) takes int8 activations through its integer
        // kernels, as llama.cpp and bitnet.cpp do (they use Q8_K/Q8_0 blocks; here one scale per token)
        matmul(head, h_.data() + first * d, n - first, d, logits.data(), h.n_vocab);
    }
    n_past_ += n;
}

}  // namespace lowbit::llm

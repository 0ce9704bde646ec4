// Attention of a step's tokens over their sequences' KV caches: softmax(q k^T / sqrt(d)) v per
// head, causal (a token at position p sees positions 0..p of its own sequence), GQA (a KV head
// serves n_head / n_head_kv query heads). K and V rows are read page by page; each row's dot
// product and each accumulation step are the kernels' own, so the result does not depend on
// where pages begin or which other tokens share the step.
#include <algorithm>
#include <cmath>

#include "workspace.hpp"

namespace lowbit::llm {

void attention(Step& s, std::size_t layer) {
    const HyperParameters& h = s.hp;
    const int64_t hd = h.head_dim, q_dim = h.n_head * hd, kv_dim = h.n_head_kv * hd;
    const int64_t group = h.n_head / h.n_head_kv;
    const int64_t page = KvCache::kPagePositions;
    const auto l = static_cast<int64_t>(layer);
    const bool f32 = s.kv.type() == KvCacheType::f32;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    const kernels::CoreKernels& core = s.kernels.core();
    int64_t stride = 1;  // per head, room for the scores of the longest sequence of the step
    for (const BatchToken& t : s.tokens) stride = std::max(stride, t.position + 1);
    const auto per_thread = static_cast<std::size_t>(group * stride);
    if (s.b.scores.size() < per_thread * static_cast<std::size_t>(s.pool.size())) {
        s.b.scores.resize(per_thread * static_cast<std::size_t>(s.pool.size()));
    }
    // Work items: (token, a slice of one GQA group's heads). The heads of a slice share their K
    // and V rows, converted from f16 once for all of them. Whole groups unless that leaves
    // fewer than four items per thread (one token: 5 groups on 2 threads would split 3 : 2).
    int64_t slice = group;
    while (slice % 2 == 0 && s.n * (h.n_head / slice) < 4 * s.pool.size()) slice /= 2;
    const int64_t slices = h.n_head / slice;
    const int64_t items = s.n * slices;
    s.pool.run([&](int index, int count) {
        float* scores = s.b.scores.data() + static_cast<std::size_t>(index) * per_thread;
        // round robin: with a causal mask later tokens cost more, so contiguous halves of the
        // items would leave the first thread waiting for the second
        for (int64_t item = index; item < items; item += count) {
            const int64_t t = item / slices, head0 = item % slices * slice;
            const BatchToken& token = s.tokens[static_cast<std::size_t>(t)];
            const int64_t pos = token.position;  // attends to positions 0..pos (causal)
            const int64_t pages = pos / page + 1;
            const float* q = s.b.q.data() + t * q_dim + head0 * hd;  // the slice's heads, one after another
            const int64_t g = head0 / group;
            for (int64_t p = 0; p < pages; ++p) {
                const int64_t rows = std::min(page, pos + 1 - p * page);
                const uint8_t* keys = s.kv.keys(token.sequence, p, l);
                if (f32) {
                    const float* kc = reinterpret_cast<const float*>(keys) + g * hd;
                    for (int64_t hh = 0; hh < slice; ++hh) {
                        for (int64_t j = 0; j < rows; ++j) {
                            scores[hh * stride + p * page + j] = core.dot_f32(kc + j * kv_dim, q + hh * hd, hd);
                        }
                    }
                } else {
                    core.dot_f16_f32_rows(reinterpret_cast<const uint16_t*>(keys) + g * hd, kv_dim, rows, q, slice, hd,
                                          scores + p * page, stride);
                }
            }
            for (int64_t hh = 0; hh < slice; ++hh) {
                float* sc = scores + hh * stride;
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
            float* out = s.b.attn.data() + t * q_dim + head0 * hd;
            std::fill(out, out + slice * hd, 0.0f);
            for (int64_t p = 0; p < pages; ++p) {
                const int64_t rows = std::min(page, pos + 1 - p * page);
                const uint8_t* values = s.kv.values(token.sequence, p, l);
                if (f32) {
                    const float* vc = reinterpret_cast<const float*>(values) + g * hd;
                    for (int64_t hh = 0; hh < slice; ++hh) {
                        for (int64_t j = 0; j < rows; ++j) {
                            const float a = scores[hh * stride + p * page + j];
                            for (int64_t i = 0; i < hd; ++i) out[hh * hd + i] += a * vc[j * kv_dim + i];
                        }
                    }
                } else {
                    core.axpy_f16_f32_rows(out, reinterpret_cast<const uint16_t*>(values) + g * hd, kv_dim, rows,
                                           scores + p * page, stride, slice, hd);
                }
            }
        }
    });
}

}  // namespace lowbit::llm

// The linear products of a step: what bounds them decides nothing about the arithmetic (every
// product gives a token the bits of its GEMV), only how the work is laid out:
// - the input is quantized per token once, and packed once per pack kernel, for every matrix
//   and thread that reads it (q, k and v share one pack);
// - each matrix is read once for all the step's tokens (the kernels take every token for a row
//   while the row is in cache), its rows handed out in chunks from a shared counter ("guided":
//   a quarter of what is left per thread pair, down to a grain), so that a thread that gets
//   less memory bandwidth or starts late takes fewer rows instead of being waited for;
// - a product kernel that only pays off for larger batches (the AMX tiles, from 16 tokens)
//   runs when the step has that many tokens (TypeKernelSet::product_for).
#include <algorithm>

#include "lowbit/matmul.hpp"
#include "workspace.hpp"

namespace lowbit::llm {
namespace {

struct Planned {
    const Product* product;
    const ProductKernels* kernels;
    const uint8_t* packed;  // null: the product takes the quantized activations as they are
};

}  // namespace

void guided_chunks(int64_t rows, int threads, int64_t grain, const std::function<void(int64_t, int64_t)>& emit) {
    int64_t begin = 0;
    while (begin < rows) {
        const int64_t want = (rows - begin) / (2 * threads);
        const int64_t size = std::max<int64_t>(grain, (want + grain - 1) / grain * grain);
        const int64_t end = std::min(begin + size, rows);
        emit(begin, end);
        begin = end;
    }
}

namespace {

// Packs all tokens of x, in parallel over groups of kPackTokenGrain tokens when there are more.
void pack_tokens(const ProductKernels& k, const ActivationsI8& x, uint8_t* out, ThreadPool& pool) {
    if (x.rows <= kPackTokenGrain) {
        k.pack(x, 0, x.rows, out);
        return;
    }
    const int64_t groups = (x.rows + kPackTokenGrain - 1) / kPackTokenGrain;
    pool.parallel_for(groups, 1, [&](int64_t g0, int64_t g1) {
        k.pack(x, g0 * kPackTokenGrain, std::min(g1 * kPackTokenGrain, x.rows), out);
    });
}

}  // namespace

void multiply(Step& s, std::initializer_list<Product> products, const float* input, int64_t in_dim) {
    Workspace::Buffers& b = s.b;
    const kernels::CoreKernels& core = s.kernels.core();
    s.per_token([&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            b.act_scale[t] =
                core.quantize_activation_row(input + t * in_dim, in_dim, b.qact.data() + t * in_dim, &b.act_sum[t]);
        }
    });
    const ActivationsI8 x{b.qact.data(), s.n, in_dim, in_dim, b.act_scale.data(), b.act_sum.data()};

    // each matrix's product, and one pack per distinct pack kernel
    Planned plan[4];
    std::size_t planned = 0;
    PackI8Fn packed_by[3] = {};
    std::size_t packs = 0;
    for (const Product& p : products) {
        const WeightType& type = *p.w->type;
        const ProductKernels& k = s.kernels[type].product_for(s.n);
        const uint8_t* data = nullptr;
        if (k.pack != nullptr) {
            std::size_t i = 0;
            while (i < packs && packed_by[i] != k.pack) ++i;
            if (i == packs) {
                uint8_t* out = b.packs[i].reserve(k.pack_bytes(in_dim, s.n));
                pack_tokens(k, x, out, s.pool);
                packed_by[packs++] = k.pack;
                b.counters.add(KernelOp::pack, type, k.level);
            }
            data = b.packs[i].reserve(0);
        }
        plan[planned++] = {&p, &k, data};
        b.counters.add(k.pack != nullptr ? KernelOp::gemm_packed : KernelOp::gemm_i8, type, k.level);
    }

    std::vector<RowChunk>& chunks = b.chunks;
    chunks.clear();
    for (std::size_t i = 0; i < planned; ++i) {
        // the AMX tiles take rows 32 at a time; the others 4 (and 16 keeps chunks cache-friendly)
        const int64_t grain = plan[i].kernels->min_tokens > 1 ? 2 * kRowGrain : kRowGrain;
        guided_chunks(plan[i].product->out_dim, s.pool.size(), grain, [&](int64_t r0, int64_t r1) {
            chunks.push_back({i, r0, r1});
        });
    }
    s.pool.for_each_chunk(static_cast<int64_t>(chunks.size()), [&](int64_t c) {
        const RowChunk& rc = chunks[static_cast<std::size_t>(c)];
        const Planned& pl = plan[rc.item];
        const Product& p = *pl.product;
        float* y = p.out + rc.begin;
        if (pl.packed != nullptr) {
            pl.kernels->gemm_packed(p.w->view, rc.begin, rc.end, PackedActivationsI8{x, pl.packed}, y, p.out_dim);
        } else {
            pl.kernels->gemm_i8(p.w->view, rc.begin, rc.end, x, y, p.out_dim);
        }
    });
    for (const Product& p : products) {
        if (p.w->output_scale != 1.0f) {
            for (int64_t i = 0; i < s.n * p.out_dim; ++i) p.out[i] *= p.w->output_scale;
        }
    }
}

}  // namespace lowbit::llm

// Kernel sets: each level's kernels resolved once (kernel_set.hpp), and the flat call counters.
#include "lowbit/kernel_set.hpp"

#include <memory>
#include <mutex>

#include "dispatch.hpp"
#include "level_table.hpp"

namespace lowbit {
namespace {

// The first level from `isa` down whose own kernels have `op`.
template <class Op>
Isa level_of(const WeightType& t, Isa isa, Op op) {
    for (Isa level = isa;; level = isa_fallback(level)) {
        if (op(t.isa[static_cast<std::size_t>(level)]) != nullptr || level == Isa::scalar) return level;
    }
}

ProductKernels packed_product(const Kernels& k, Isa level) {
    return {k.pack_bytes, k.pack, k.gemm_packed, nullptr, k.packed_min_tokens, level};
}

// Products from one token, then (if the best level's packed product needs more tokens) for it.
void resolve_products(const WeightType& t, Isa isa, TypeKernelSet& out) {
    const Kernels* top = nullptr;
    Isa top_level = Isa::scalar;
    for (Isa level = isa;; level = isa_fallback(level)) {
        const Kernels& k = t.isa[static_cast<std::size_t>(level)];
        if (k.gemm_packed != nullptr && top == nullptr) {
            top = &k;
            top_level = level;
        }
        if (k.gemm_packed != nullptr && k.packed_min_tokens <= 1) {
            out.products[0] = packed_product(k, level);
            break;
        }
        if (k.gemm_i8 != nullptr && k.gemm_packed == nullptr) {
            // a level without packed products: its gemm_i8 takes the quantized activations
            out.products[0] = {nullptr, nullptr, nullptr, k.gemm_i8, 1, level};
            break;
        }
        if (level == Isa::scalar) break;  // the reference always has gemm_i8
    }
    out.product_count = 1;
    if (top != nullptr && top->packed_min_tokens > 1) {
        out.products[1] = packed_product(*top, top_level);
        out.product_count = 2;
    }
}

}  // namespace

KernelSet::KernelSet(Isa isa) : isa_(isa) {
    static_assert(kIsaCount <= 255);
    const std::span<const WeightType> all = weight_types();
    types_.resize(all.size());
    for (const WeightType& t : all) {
        TypeKernelSet& k = types_[t.index];
        k.ops = kernels_at(t, isa);
        k.dequantize_level = level_of(t, isa, [](const Kernels& o) { return o.dequantize; });
        k.gemv_f32_level = level_of(t, isa, [](const Kernels& o) { return o.gemv_f32; });
        k.gemm_f32_level = level_of(t, isa, [](const Kernels& o) { return o.gemm_f32; });
        resolve_products(t, isa, k);
    }
    static std::array<kernels::CoreKernels, kIsaCount> cores;  // written once per level, under the lock below
    cores[static_cast<std::size_t>(isa)] = kernels::core_at(isa);
    core_ = &cores[static_cast<std::size_t>(isa)];
}

const KernelSet& kernel_set(Isa isa) {
    static std::mutex mutex;
    static std::array<std::unique_ptr<KernelSet>, kIsaCount> sets;
    kernels::check_runnable(isa);
    const std::lock_guard<std::mutex> lock(mutex);
    std::unique_ptr<KernelSet>& set = sets[static_cast<std::size_t>(isa)];
    if (!set) set = std::make_unique<KernelSet>(isa);
    return *set;
}

const KernelSet& default_kernel_set() { return kernel_set(active_isa()); }

std::vector<std::string_view> kernel_variant_names(const WeightType& type, Isa isa) {
    return kernels::variant_names(type.id, isa);
}

std::string_view preferred_kernel_variant(const WeightType& type, Isa isa) {
    return kernels::preferred_variant(type.id, isa);
}

Kernels kernel_variant(const WeightType& type, Isa isa, std::string_view name) {
    return kernels::variant_kernels(type.id, isa, name);
}

std::string_view kernel_op_name(KernelOp op) {
    switch (op) {
        case KernelOp::dequantize:
            return "dequantize";
        case KernelOp::pack:
            return "pack";
        case KernelOp::gemm_packed:
            return "gemm_packed";
        case KernelOp::gemm_i8:
            return "gemm_i8";
        case KernelOp::gemv_f32:
            return "gemv_f32";
        case KernelOp::gemm_f32:
            return "gemm_f32";
    }
    return "?";
}

KernelCounters::KernelCounters() : types_(weight_types().size()), counts_(kKernelOpCount * types_ * kIsaCount, 0) {}

void KernelCounters::clear() { std::fill(counts_.begin(), counts_.end(), 0); }

std::map<std::string, uint64_t> KernelCounters::by_name() const {
    std::map<std::string, uint64_t> out;
    const std::span<const WeightType> all = weight_types();
    for (std::size_t op = 0; op < kKernelOpCount; ++op) {
        for (const WeightType& t : all) {
            for (std::size_t level = 0; level < kIsaCount; ++level) {
                const uint64_t n = counts_[(op * types_ + t.index) * kIsaCount + level];
                if (n == 0) continue;
                out[std::string(kernel_op_name(static_cast<KernelOp>(op))) + "/" + std::string(t.name) + "/" +
                    std::string(isa_name(static_cast<Isa>(level)))] = n;
            }
        }
    }
    return out;
}

}  // namespace lowbit

// The kernels one ISA level runs, resolved once: for every weight type and core operation the
// function to call (gaps filled from lower levels), where it came from, and how a product with
// int8 activations runs (pack the input once, then the product). A KernelSet never changes
// after it is built, so callers bind one (a Model does at load time) and use it from any
// thread; set_isa() changes which set later callers get by default, never one in use.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/isa.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit {

namespace kernels {
struct CoreKernels;
}

// A product with int8 activations: the activations packed once (pack may be null: the product
// then takes them as quantized, through gemm_i8), then gemm_packed over any rows and threads.
// Pack and product come from one level.
struct ProductKernels {
    PackBytesFn pack_bytes = nullptr;
    PackI8Fn pack = nullptr;
    GemmPackedFn gemm_packed = nullptr;
    GemmI8Fn gemm_i8 = nullptr;  // the product when pack is null
    int64_t min_tokens = 1;      // used from this many tokens
    Isa level = Isa::scalar;
};

// One weight type's kernels at one level.
struct TypeKernelSet {
    Kernels ops;  // every operation of the type, fallback applied
    Isa dequantize_level = Isa::scalar;
    Isa gemv_f32_level = Isa::scalar;
    Isa gemm_f32_level = Isa::scalar;
    // By increasing min_tokens: products[0] from one token; products[1], when there is one, a
    // kernel that pays off only for larger batches (the AMX tiles). Every product gives the
    // same bits for a token (batch invariance), so the choice is speed alone.
    std::array<ProductKernels, 2> products{};
    int product_count = 1;

    const ProductKernels& product_for(int64_t tokens) const {
        return product_count > 1 && tokens >= products[1].min_tokens ? products[1] : products[0];
    }
};

class KernelSet {
public:
    explicit KernelSet(Isa isa);  // use kernel_set(): one per level
    KernelSet(const KernelSet&) = delete;
    KernelSet& operator=(const KernelSet&) = delete;

    Isa isa() const { return isa_; }
    const TypeKernelSet& operator[](const WeightType& type) const { return types_[type.index]; }
    const kernels::CoreKernels& core() const { return *core_; }

private:
    Isa isa_;
    std::vector<TypeKernelSet> types_;  // by WeightType::index
    const kernels::CoreKernels* core_;
};

// The set of a level, built on first use. Throws lowbit::Error (unsupported) if this CPU or
// build cannot run the level.
const KernelSet& kernel_set(Isa isa);
// The set of the level chosen at start-up (LOWBIT_ISA, or the best this CPU runs) or by the
// last set_isa().
const KernelSet& default_kernel_set();

// Named implementations of a type's kernels at a level, for the kernel check and the
// benchmarks: "generic" (the generic kernels compiled for the level) and every variant file
// that covers the type (e.g. Q6_K's "paired_halves" at the AVX-512 levels). Empty when the
// level has no variant for the type (then it runs its generic kernels). The level runs its
// preferred variant.
std::vector<std::string_view> kernel_variant_names(const WeightType& type, Isa isa);
std::string_view preferred_kernel_variant(const WeightType& type, Isa isa);  // "" without variants
// The level's own kernels of the type (no fallback) with that implementation in place.
Kernels kernel_variant(const WeightType& type, Isa isa, std::string_view name);

// The operations a caller counts when it runs them (a receipt reports them).
enum class KernelOp : uint8_t { dequantize, pack, gemm_packed, gemm_i8, gemv_f32, gemm_f32 };
inline constexpr std::size_t kKernelOpCount = 6;
std::string_view kernel_op_name(KernelOp op);

// Calls per (operation, weight type, level) in a flat array: counting costs an increment.
class KernelCounters {
public:
    KernelCounters();
    void add(KernelOp op, const WeightType& type, Isa level, uint64_t calls = 1) {
        counts_[(static_cast<std::size_t>(op) * types_ + type.index) * kIsaCount + static_cast<std::size_t>(level)] +=
            calls;
    }
    void clear();
    // Non-zero counts by "op/TYPE/level", e.g. "gemm_packed/I2_S/avx2".
    std::map<std::string, uint64_t> by_name() const;

private:
    std::size_t types_;
    std::vector<uint64_t> counts_;
};

}  // namespace lowbit

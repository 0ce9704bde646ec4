// The run-time choice of kernels: detect the CPU once, install every compiled-in level's
// table (with its preferred variants) into the registry rows, and pick the default level
// (LOWBIT_ISA or the best supported). Kernel sets (kernel_set.cpp) resolve each operation to a
// level or, where that level has none, the next lower.
#include "dispatch.hpp"

#include <array>
#include <atomic>
#include <cstdlib>
#include <string>

#include "cpu_features.hpp"
#include "level_table.hpp"
#include "lowbit/error.hpp"

namespace lowbit::kernels {

// One macro per level compiled into this build (CMake: LOWBIT_X86_LEVELS, or the NEON pair).
#if defined(LOWBIT_HAVE_AVX2_KERNELS)
extern const LevelTable kAvx2Table;
#endif
#if defined(LOWBIT_HAVE_AVX2_VNNI_KERNELS)
extern const LevelTable kAvx2VnniTable;
#endif
#if defined(LOWBIT_HAVE_AVX512_KERNELS)
extern const LevelTable kAvx512Table;
#endif
#if defined(LOWBIT_HAVE_AVX512_VNNI_KERNELS)
extern const LevelTable kAvx512VnniTable;
#endif
#if defined(LOWBIT_HAVE_AMX_KERNELS)
extern const LevelTable kAmxTable;
#endif
#if defined(LOWBIT_HAVE_NEON_KERNELS)
extern const LevelTable kNeonTable;
#endif
#if defined(LOWBIT_HAVE_NEON_DOTPROD_KERNELS)
extern const LevelTable kNeonDotprodTable;
#endif

// The variant files of each level (level_table.hpp, VariantTable).
#if defined(LOWBIT_HAVE_AVX512_KERNELS)
extern const VariantTable kAvx512TableQ6kPairedHalves;
#endif
#if defined(LOWBIT_HAVE_AVX512_VNNI_KERNELS)
extern const VariantTable kAvx512VnniTableQ6kPairedHalves;
#endif

namespace {

std::span<const VariantTable* const> variant_tables(Isa isa) {
    switch (isa) {
#if defined(LOWBIT_HAVE_AVX512_KERNELS)
        case Isa::avx512: {
            static const VariantTable* const kList[] = {&kAvx512TableQ6kPairedHalves};
            return kList;
        }
#endif
#if defined(LOWBIT_HAVE_AVX512_VNNI_KERNELS)
        case Isa::avx512_vnni: {
            static const VariantTable* const kList[] = {&kAvx512VnniTableQ6kPairedHalves};
            return kList;
        }
#endif
        default: return {};
    }
}

const LevelTable* level_table(Isa isa) {
    switch (isa) {
#if defined(LOWBIT_HAVE_AVX2_KERNELS)
        case Isa::avx2: return &kAvx2Table;
#endif
#if defined(LOWBIT_HAVE_AVX2_VNNI_KERNELS)
        case Isa::avx2_vnni: return &kAvx2VnniTable;
#endif
#if defined(LOWBIT_HAVE_AVX512_KERNELS)
        case Isa::avx512: return &kAvx512Table;
#endif
#if defined(LOWBIT_HAVE_AVX512_VNNI_KERNELS)
        case Isa::avx512_vnni: return &kAvx512VnniTable;
#endif
#if defined(LOWBIT_HAVE_AMX_KERNELS)
        case Isa::amx: return &kAmxTable;
#endif
#if defined(LOWBIT_HAVE_NEON_KERNELS)
        case Isa::neon: return &kNeonTable;
#endif
#if defined(LOWBIT_HAVE_NEON_DOTPROD_KERNELS)
        case Isa::neon_dotprod: return &kNeonDotprodTable;
#endif
        default: return nullptr;
    }
}

constexpr std::array<std::string_view, kIsaCount> kNames = {"scalar", "avx2",         "avx2_vnni", "avx512",
                                                             "avx512_vnni", "neon", "neon_dotprod", "amx"};

// The non-null operations of `over` replace those of `k` (a preferred variant over its level's
// table).
void overlay(Kernels& k, const Kernels& over) {
    if (over.quantize) k.quantize = over.quantize;
    if (over.dequantize) k.dequantize = over.dequantize;
    if (over.gemv_i8) k.gemv_i8 = over.gemv_i8;
    if (over.gemm_i8) k.gemm_i8 = over.gemm_i8;
    if (over.quantize_f16) k.quantize_f16 = over.quantize_f16;
    if (over.quantize_bf16) k.quantize_bf16 = over.quantize_bf16;
    if (over.gemv_f32) k.gemv_f32 = over.gemv_f32;
    if (over.gemm_f32) k.gemm_f32 = over.gemm_f32;
    if (over.gemm_packed) {
        k.pack_bytes = over.pack_bytes;
        k.pack = over.pack;
        k.gemm_packed = over.gemm_packed;
        k.packed_min_tokens = over.packed_min_tokens;
    }
}

}  // namespace

void fill_gaps(Kernels& k, const Kernels& lower) {
    if (!k.quantize) k.quantize = lower.quantize;
    if (!k.dequantize) k.dequantize = lower.dequantize;
    if (!k.gemv_i8) k.gemv_i8 = lower.gemv_i8;
    if (!k.gemm_i8) k.gemm_i8 = lower.gemm_i8;
    if (!k.quantize_f16) k.quantize_f16 = lower.quantize_f16;
    if (!k.quantize_bf16) k.quantize_bf16 = lower.quantize_bf16;
    if (!k.gemv_f32) k.gemv_f32 = lower.gemv_f32;
    if (!k.gemm_f32) k.gemm_f32 = lower.gemm_f32;
    if (!k.gemm_packed) {  // the packed trio is taken as a unit: each level packs its own way
        k.pack_bytes = lower.pack_bytes;
        k.pack = lower.pack;
        k.gemm_packed = lower.gemm_packed;
        k.packed_min_tokens = lower.packed_min_tokens;
    }
}

namespace {

void fill_gaps(CoreKernels& k, const CoreKernels& lower) {
    if (!k.quantize_activation_row) k.quantize_activation_row = lower.quantize_activation_row;
    if (!k.abs_partial_sums) k.abs_partial_sums = lower.abs_partial_sums;
    if (!k.ternarize) k.ternarize = lower.ternarize;
    if (!k.dot_f32) k.dot_f32 = lower.dot_f32;
    if (!k.dot_f16_f32) k.dot_f16_f32 = lower.dot_f16_f32;
    if (!k.axpy_f16_f32) k.axpy_f16_f32 = lower.axpy_f16_f32;
    if (!k.f32_to_f16_row) k.f32_to_f16_row = lower.f32_to_f16_row;
    if (!k.relu_sq_mul_f32) k.relu_sq_mul_f32 = lower.relu_sq_mul_f32;
    if (!k.dot_f16_f32_rows) k.dot_f16_f32_rows = lower.dot_f16_f32_rows;
    if (!k.axpy_f16_f32_rows) k.axpy_f16_f32_rows = lower.axpy_f16_f32_rows;
}

}  // namespace

CoreKernels core_at(Isa isa) {
    CoreKernels k;
    for (Isa level = isa;; level = isa_fallback(level)) {
        if (level == Isa::scalar) {
            fill_gaps(k, reference_core_kernels());
            return k;
        }
        if (const LevelTable* t = level_table(level)) {
            fill_gaps(k, t->core);
        }
    }
}

namespace {

struct State {
    std::vector<WeightType> types;
    std::atomic<Isa> default_level{Isa::scalar};
};

}  // namespace

void check_runnable(Isa isa) {
    if (!isa_compiled_in(isa)) {
        fail_as(ErrorCode::unsupported, "ISA '", isa_name(isa), "' is not compiled into this build of lowbit");
    }
    if (!isa_supported_by_cpu(isa)) {
        fail_as(ErrorCode::unsupported, "ISA '", isa_name(isa), "' is not supported by this CPU (best available: ",
                isa_name(best_isa()), ")");
    }
}

namespace {


Isa initial_isa() {
    const char* env = std::getenv("LOWBIT_ISA");
    if (env == nullptr || *env == '\0') {
        return best_isa();
    }
    const std::optional<Isa> isa = parse_isa(env);
    if (!isa) {
        std::string known;
        for (std::string_view n : kNames) known += (known.empty() ? "" : ", ") + std::string(n);
        fail("LOWBIT_ISA='", env, "' is not an ISA level (", known, ")");
    }
    check_runnable(*isa);
    return *isa;
}

// A level's own kernels of a type: its table's row with the named variant's operations over it
// ("": the level's preferred variants).
Kernels own_kernels(TypeId id, Isa isa, std::string_view variant) {
    Kernels k;
    const LevelTable* table = level_table(isa);
    if (table == nullptr) return k;
    for (std::size_t i = 0; i < table->type_count; ++i) {
        if (table->types[i].id == id) k = table->types[i].kernels;
    }
    for (const VariantTable* v : variant_tables(isa)) {
        const bool use = variant.empty() ? v->preferred : v->name == variant;
        if (!use) continue;
        for (std::size_t i = 0; i < v->type_count; ++i) {
            if (v->types[i].id == id) overlay(k, v->types[i].kernels);
        }
    }
    return k;
}

void build_state(State& s) {
    s.types = reference_weight_types();
    for (std::size_t i = 0; i < s.types.size(); ++i) {
        WeightType& t = s.types[i];
        t.index = i;
        t.isa[static_cast<std::size_t>(Isa::scalar)] = t.reference;
        for (std::size_t level = 1; level < kIsaCount; ++level) {
            t.isa[level] = own_kernels(t.id, static_cast<Isa>(level), {});
        }
    }
    s.default_level.store(initial_isa());
}

State& state() {
    static State s;
    static const bool built = (build_state(s), true);
    (void)built;
    return s;
}

}  // namespace

std::vector<WeightType>& dispatch_types() { return state().types; }

const LevelTable* level_table_of(Isa isa) { return level_table(isa); }

void reference_quantize(TypeId id, const float* src, int64_t rows, int64_t cols, uint8_t* dst) {
    weight_type(id).reference.quantize(src, rows, cols, dst);
}
void reference_quantize_f16(TypeId id, const uint16_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
    weight_type(id).reference.quantize_f16(src, rows, cols, dst);
}
void reference_quantize_bf16(TypeId id, const uint16_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
    weight_type(id).reference.quantize_bf16(src, rows, cols, dst);
}

void kernel_out_of_memory(std::size_t bytes) { fail_as(ErrorCode::out_of_memory, "out of memory: a kernel needed ", bytes, " bytes of working memory"); }

std::vector<std::string_view> variant_names(TypeId id, Isa isa) {
    std::vector<std::string_view> names;
    for (const VariantTable* v : variant_tables(isa)) {
        for (std::size_t i = 0; i < v->type_count; ++i) {
            if (v->types[i].id == id) names.push_back(v->name);
        }
    }
    if (!names.empty()) names.insert(names.begin(), "generic");
    return names;
}

std::string_view preferred_variant(TypeId id, Isa isa) {
    for (const VariantTable* v : variant_tables(isa)) {
        for (std::size_t i = 0; i < v->type_count; ++i) {
            if (v->types[i].id == id && v->preferred) return v->name;
        }
    }
    return variant_names(id, isa).empty() ? std::string_view{} : std::string_view{"generic"};
}

Kernels variant_kernels(TypeId id, Isa isa, std::string_view name) {
    if (name == "generic") {
        Kernels k;
        const LevelTable* table = level_table(isa);
        for (std::size_t i = 0; table != nullptr && i < table->type_count; ++i) {
            if (table->types[i].id == id) k = table->types[i].kernels;
        }
        return k;
    }
    return own_kernels(id, isa, name);
}

}  // namespace lowbit::kernels

namespace lowbit {

std::string_view isa_name(Isa isa) {
    const auto i = static_cast<std::size_t>(isa);
    return i < kernels::kNames.size() ? kernels::kNames[i] : "?";
}

std::optional<Isa> parse_isa(std::string_view name) {
    for (std::size_t i = 0; i < kIsaCount; ++i) {
        if (kernels::kNames[i] == name) return static_cast<Isa>(i);
    }
    return std::nullopt;
}

Isa isa_fallback(Isa isa) {
    switch (isa) {
        case Isa::amx: return Isa::avx512_vnni;
        case Isa::avx512_vnni: return Isa::avx512;
        case Isa::avx512: return Isa::avx2_vnni;
        case Isa::avx2_vnni: return Isa::avx2;
        case Isa::neon_dotprod: return Isa::neon;
        default: return Isa::scalar;
    }
}

bool isa_compiled_in(Isa isa) { return isa == Isa::scalar || kernels::level_table(isa) != nullptr; }

bool isa_supported_by_cpu(Isa isa) {
    const kernels::CpuFeatures& f = kernels::cpu_features();
    switch (isa) {
        case Isa::scalar: return true;
        case Isa::avx2: return f.avx2;
        case Isa::avx2_vnni: return f.avx_vnni;
        case Isa::avx512: return f.avx512;
        case Isa::avx512_vnni: return f.avx512_vnni;
        case Isa::neon: return f.neon;
        case Isa::neon_dotprod: return f.dotprod;
        case Isa::amx: return f.amx;
    }
    return false;
}

Isa best_isa() {
    for (Isa isa : {Isa::amx, Isa::avx512_vnni, Isa::avx512, Isa::avx2_vnni, Isa::avx2, Isa::neon_dotprod, Isa::neon}) {
        if (isa_compiled_in(isa) && isa_supported_by_cpu(isa)) return isa;
    }
    return Isa::scalar;
}

Isa active_isa() { return kernels::state().default_level.load(); }

void set_isa(Isa isa) {
    kernels::check_runnable(isa);
    kernels::state().default_level.store(isa);
}

Kernels kernels_at(const WeightType& type, Isa isa) {
    Kernels k;
    for (Isa level = isa;; level = isa_fallback(level)) {
        kernels::fill_gaps(k, type.isa[static_cast<std::size_t>(level)]);
        if (level == Isa::scalar) return k;
    }
}

}  // namespace lowbit

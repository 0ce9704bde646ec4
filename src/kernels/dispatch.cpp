// The run-time choice of kernels: detect the CPU once, install every compiled-in level's
// table into the registry rows, pick the active level (LOWBIT_ISA or the best supported), and
// resolve each operation to the active level or, where that level has none, the next lower.
#include "dispatch.hpp"

#include <array>
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

namespace {

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

// Fills each null operation of `k` from `lower`.
void fill_gaps(Kernels& k, const Kernels& lower) {
    if (!k.quantize) k.quantize = lower.quantize;
    if (!k.dequantize) k.dequantize = lower.dequantize;
    if (!k.gemv_i8) k.gemv_i8 = lower.gemv_i8;
    if (!k.gemm_i8) k.gemm_i8 = lower.gemm_i8;
    if (!k.quantize_f16) k.quantize_f16 = lower.quantize_f16;
    if (!k.quantize_bf16) k.quantize_bf16 = lower.quantize_bf16;
    if (!k.gemv_f32) k.gemv_f32 = lower.gemv_f32;
}

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

struct State {
    std::vector<WeightType> types;
    Isa active = Isa::scalar;
    CoreKernels core;
};

void activate(State& s, Isa isa) {
    for (WeightType& t : s.types) {
        t.active = kernels_at(t, isa);
    }
    s.core = core_at(isa);
    s.active = isa;
}

void check_runnable(Isa isa) {
    if (!isa_compiled_in(isa)) {
        fail("ISA '", isa_name(isa), "' is not compiled into this build of lowbit");
    }
    if (!isa_supported_by_cpu(isa)) {
        fail("ISA '", isa_name(isa), "' is not supported by this CPU (best available: ", isa_name(best_isa()), ")");
    }
}

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

State build_state() {
    State s;
    s.types = reference_weight_types();
    for (WeightType& t : s.types) {
        t.isa[static_cast<std::size_t>(Isa::scalar)] = t.reference;
        for (std::size_t level = 1; level < kIsaCount; ++level) {
            const LevelTable* table = level_table(static_cast<Isa>(level));
            if (table == nullptr) continue;
            for (std::size_t i = 0; i < table->type_count; ++i) {
                if (table->types[i].id == t.id) {
                    t.isa[level] = table->types[i].kernels;
                }
            }
        }
    }
    activate(s, initial_isa());
    return s;
}

State& state() {
    static State s = build_state();
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

void kernel_out_of_memory(std::size_t bytes) { fail("out of memory: a kernel needed ", bytes, " bytes of working memory"); }

const CoreKernels& active_core_kernels() { return state().core; }

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

Isa active_isa() { return kernels::state().active; }

void set_isa(Isa isa) {
    kernels::check_runnable(isa);
    kernels::activate(kernels::state(), isa);
}

Kernels kernels_at(const WeightType& type, Isa isa) {
    Kernels k;
    for (Isa level = isa;; level = isa_fallback(level)) {
        kernels::fill_gaps(k, type.isa[static_cast<std::size_t>(level)]);
        if (level == Isa::scalar) return k;
    }
}

}  // namespace lowbit

// What one ISA level provides: kernels per weight type, and the type-independent kernels
// (activation quantization, absmean ternarization). Each level's table is constant data,
// defined in that level's own folder, so installing it never executes that level's code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lowbit/weight_type.hpp"

namespace lowbit::kernels {

struct TypeKernels {
    TypeId id;
    Kernels kernels;
};

struct CoreKernels {
    // bitnet.cpp's per-row int8 quantization (activation.hpp); returns the scale, writes q and
    // sum(q).
    float (*quantize_activation_row)(const float* x, int64_t n, int8_t* q, int32_t* sum) = nullptr;
    // absmean's sum of |w|: 16 interleaved double partial sums (element i into partial i % 16).
    void (*abs_partial_sums)(const float* w, int64_t n, double* partial16) = nullptr;
    // q[i] = clamp(round_half_even(w[i] / s), -1, 1)
    void (*ternarize)(const float* w, int64_t n, float s, int8_t* q) = nullptr;
    // Float helpers for attention and f32 heads (SIMD versions may sum in another order).
    float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
    float (*dot_f16_f32)(const uint16_t* a, const float* b, int64_t n) = nullptr;
    void (*axpy_f16_f32)(float* y, const uint16_t* x, float a, int64_t n) = nullptr;  // y += a x
    // f32 -> f16, round to nearest even (bit-identical to f32_to_f16 except NaN payloads).
    void (*f32_to_f16_row)(const float* x, uint16_t* y, int64_t n) = nullptr;
    // BitNet's FFN activation: gate[i] = g * g * up[i] with g = gate[i] > 0 ? gate[i] : 0
    // (bit-identical at every level).
    void (*relu_sq_mul_f32)(float* gate, const float* up, int64_t n) = nullptr;
    // Attention of `heads` queries (query h at q + h * dim) over f16 KV rows (row j at
    // k + j * stride), each row converted once for all the heads (the heads of one GQA group
    // share their K and V rows): out[h * out_stride + j] = dot(row j, query h), each as
    // dot_f16_f32; and y_h += a[h * a_stride + j] row j (y_h at y + h * dim) for j = 0, 1, ...
    // in order, each element as axpy_f16_f32.
    void (*dot_f16_f32_rows)(const uint16_t* k, int64_t stride, int64_t rows, const float* q, int64_t heads,
                             int64_t dim, float* out, int64_t out_stride) = nullptr;
    void (*axpy_f16_f32_rows)(float* y, const uint16_t* v, int64_t stride, int64_t rows, const float* a,
                              int64_t a_stride, int64_t heads, int64_t dim) = nullptr;
};

// How far apart the four row streams of a GEMV may be (bytes per stream; common.inl's
// for_rows_as_four_streams). Here so that the kernel check can cross its runs of rows.
inline constexpr int64_t kGemvStreamBytes = 64 * 1024;

struct LevelTable {
    const TypeKernels* types = nullptr;
    std::size_t type_count = 0;
    CoreKernels core;
};

// A named variant of some types' kernels at one level (another element order, tile shape or
// layout), in a file of its own: its operations replace the level's own where it is preferred,
// and the kernel check and the benchmarks run each variant by name.
struct VariantTable {
    std::string_view name;
    const TypeKernels* types = nullptr;
    std::size_t type_count = 0;
    bool preferred = false;  // the level's kernel set uses it
};

// The variant table of the level being compiled: LOWBIT_VARIANT_TABLE(Q6kPairedHalves) is
// kAvx512VnniTableQ6kPairedHalves in the avx512_vnni object.
#define LOWBIT_CONCAT_NAMES_(a, b) a##b
#define LOWBIT_CONCAT_NAMES(a, b) LOWBIT_CONCAT_NAMES_(a, b)
#define LOWBIT_VARIANT_TABLE(name) LOWBIT_CONCAT_NAMES(LOWBIT_TABLE_NAME, name)

// Called by kernels when their working memory cannot be allocated; throws lowbit::Error.
// Defined outside the per-ISA code, which must not build exception objects itself.
[[noreturn]] void kernel_out_of_memory(std::size_t bytes);

// The reference quantizers of a type, for kernels that hand unusual input (NaN, infinity,
// scale overflow) to them so that the error is raised with the reference's message.
void reference_quantize(TypeId id, const float* src, int64_t rows, int64_t cols, uint8_t* dst);
void reference_quantize_f16(TypeId id, const uint16_t* src, int64_t rows, int64_t cols, uint8_t* dst);
void reference_quantize_bf16(TypeId id, const uint16_t* src, int64_t rows, int64_t cols, uint8_t* dst);

// The scalar references of the type-independent kernels.
const CoreKernels& reference_core_kernels();

}  // namespace lowbit::kernels

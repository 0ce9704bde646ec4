// The weight-type registry: one row per storage format (ggml-style type traits).
//
// Everything generic (tensor sizes, dequantizing a tensor, GEMV over rows) is written once
// against a row of this table; a new format plugs in by adding one row in src/formats/.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lowbit/isa.hpp"

namespace lowbit {

// ggml's ids where the type is shared with llama.cpp/bitnet.cpp; ids >= 1024 are lowbit's own.
enum class TypeId : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q8_0 = 8,
    Q6_K = 14,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    I2_S = 36,  // bitnet.cpp's id
    QK256 = 1024,
    I2S32 = 1025,
    TL1 = 1026,
    TL2 = 1027,
    // Group-wise integer types: 1100 + 8 * bits_index(2,4,8 -> 0,1,2) + 4 * asymmetric
    // + group_index(32,64,128,256 -> 0..3). See int_group_type_id().
    IntGroupFirst = 1100,
    IntGroupLast = 1100 + 8 * 2 + 4 + 3,
};

constexpr TypeId int_group_type_id(int bits, bool asymmetric, int group) {
    const int bits_index = bits == 2 ? 0 : bits == 4 ? 1 : 2;
    const int group_index = group == 32 ? 0 : group == 64 ? 1 : group == 128 ? 2 : 3;
    return static_cast<TypeId>(1100 + 8 * bits_index + 4 * (asymmetric ? 1 : 0) + group_index);
}

constexpr bool is_int_group_type(TypeId id) { return id >= TypeId::IntGroupFirst && id <= TypeId::IntGroupLast; }

// The inverse of int_group_type_id (for an id that is_int_group_type).
struct IntGroupParams {
    int bits;
    bool asymmetric;
    int group;
};
constexpr IntGroupParams int_group_params(TypeId id) {
    const int offset = static_cast<int>(id) - static_cast<int>(TypeId::IntGroupFirst);
    return {2 << (offset / 8), (offset / 4) % 2 == 1, 32 << (offset % 4)};
}

// A tensor of `rows` x `cols` elements stored in some weight type, row-major
// (cols = input features = GGUF ne[0]). Kernels trust the view: callers validate byte sizes
// with WeightType::tensor_bytes before building one.
struct WeightView {
    const uint8_t* data = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;
};

// One activation row quantized to int8 by quantize_activation_row (bitnet.cpp rules):
// x[k] ~= q[k] / scale, and sum = sum_k q[k].
struct ActivationRowI8 {
    const int8_t* q = nullptr;
    int64_t n = 0;
    float scale = 0.0f;
    int32_t sum = 0;
};

// Several activation rows (tokens) quantized per row like ActivationRowI8: row t is
// q[t * stride .. + cols) with scale[t] and sum[t].
struct ActivationsI8 {
    const int8_t* q = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t stride = 0;
    const float* scale = nullptr;
    const int32_t* sum = nullptr;
};

// Activations packed once for the products that share them (every matrix and thread reading
// one input): `x` as quantized, `data` what the level's pack kernel wrote.
struct PackedActivationsI8 {
    ActivationsI8 x;
    const uint8_t* data = nullptr;
};

// Quantizes a whole rows x cols f32 tensor into dst (tensor_bytes(rows, cols) bytes).
// Throws Error on a non-finite input or a shape the type cannot store.
using QuantizeFn = void (*)(const float* src, int64_t rows, int64_t cols, uint8_t* dst);
// Dequantizes rows [row_begin, row_end) into dst, (row_end - row_begin) * cols floats.
using DequantizeFn = void (*)(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst);
// y[r - row_begin] = dot(row r, x) for r in [row_begin, row_end), with int8 activations:
// exact integer sums per block, then the weight and activation scales.
using GemvI8Fn = void (*)(const WeightView& w, int64_t row_begin, int64_t row_end,
                          const ActivationRowI8& x, float* y);
// GEMM for prompt processing: y[t * y_stride + (r - row_begin)] = dot(row r, token t) for
// every token t of x and r in [row_begin, row_end); the same bits as GemvI8Fn per token.
using GemmI8Fn = void (*)(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationsI8& x,
                          float* y, int64_t y_stride);
// Bytes the pack kernel writes for `tokens` activation rows of `cols` values.
using PackBytesFn = std::size_t (*)(int64_t cols, int64_t tokens);
// Packs tokens [token_begin, token_end) of x into `out` (the whole buffer of
// pack_bytes(x.cols, x.rows) bytes, 64-byte aligned): disjoint token ranges that start at
// multiples of kPackTokenGrain may be packed in parallel.
using PackI8Fn = void (*)(const ActivationsI8& x, int64_t token_begin, int64_t token_end, uint8_t* out);
// The product of rows [row_begin, row_end) with every token of packed activations, as GemmI8Fn:
// y[t * y_stride + (r - row_begin)], the same bits as GemvI8Fn of token t alone.
using GemmPackedFn = void (*)(const WeightView& w, int64_t row_begin, int64_t row_end, const PackedActivationsI8& x,
                              float* y, int64_t y_stride);
// y[r - row_begin] = dot(row r, x) with f32 activations (an output head whose input is not
// quantized): each row dequantized, then a float dot product.
using GemvF32Fn = void (*)(const WeightView& w, int64_t row_begin, int64_t row_end, const float* x, float* y);
// GemvF32Fn for `tokens` rows of x (token t at x + t * x_stride) into y[t * y_stride + (r -
// row_begin)]: each weight row read once for all tokens, the same bits as GemvF32Fn per token.
using GemmF32Fn = void (*)(const WeightView& w, int64_t row_begin, int64_t row_end, const float* x, int64_t tokens,
                           int64_t x_stride, float* y, int64_t y_stride);
// Quantizes from f16 or bf16 input (raw 16-bit words); same result as converting to f32 first.
using QuantizeHalfFn = void (*)(const uint16_t* src, int64_t rows, int64_t cols, uint8_t* dst);
// Bytes of a whole tensor (codes, scales, tails); throws Error if the shape is not allowed.
using TensorBytesFn = std::size_t (*)(int64_t rows, int64_t cols);
// Bytes from the start of one row's codes to the next row's (the row stride).
using RowBytesFn = std::size_t (*)(int64_t cols);
// For types whose tensor is a sequence of sections, each holding every row's share in row order
// (codes, then scales, ...): writes each section's bytes per row into per_row and returns how
// many sections there are (at most kMaxRowSections). Rows [r0, r1) of such a tensor can be
// encoded on their own, as a tensor of r1 - r0 rows, and scattered into place.
inline constexpr std::size_t kMaxRowSections = 3;
using RowSectionsFn = std::size_t (*)(int64_t cols, std::size_t* per_row);

// Token ranges a pack kernel can be split at (the AMX tiles hold 16 tokens).
inline constexpr int64_t kPackTokenGrain = 16;

// One implementation of each operation; nullptr where a level has none (the dispatch then
// uses the next lower level). pack_bytes, pack and gemm_packed belong together: they are taken
// from one level as a unit, since each level packs in its own layout.
struct Kernels {
    QuantizeFn quantize = nullptr;
    DequantizeFn dequantize = nullptr;
    GemvI8Fn gemv_i8 = nullptr;
    GemmI8Fn gemm_i8 = nullptr;
    QuantizeHalfFn quantize_f16 = nullptr;
    QuantizeHalfFn quantize_bf16 = nullptr;
    GemvF32Fn gemv_f32 = nullptr;
    GemmF32Fn gemm_f32 = nullptr;
    PackBytesFn pack_bytes = nullptr;
    PackI8Fn pack = nullptr;
    GemmPackedFn gemm_packed = nullptr;
    // gemm_packed pays off only from this many tokens (the AMX tiles: 16); below it the engine
    // uses the next lower level's. Results are the same bits either way.
    int64_t packed_min_tokens = 1;
};

struct WeightType {
    TypeId id{};
    std::string_view name;         // canonical upper-case name, e.g. "TQ2_0"
    int64_t block_elems = 1;       // elements per block (a group for INTn types)
    int64_t block_bytes = 4;       // bytes per block, scales included
    double bits_per_weight = 32;   // storage cost, tails excluded
    bool ternary = false;          // stores {-1, 0, +1} x scale
    int64_t col_multiple = 1;      // cols must be a multiple of this (1: any)
    std::string_view layout;       // one line: where codes and scales live
    TensorBytesFn tensor_bytes = nullptr;
    RowBytesFn row_bytes = nullptr;
    RowSectionsFn row_sections = nullptr;  // nullptr: a tensor-wide part (a shared scale, tiles)
    Kernels reference;                     // the scalar oracle
    std::array<Kernels, kIsaCount> isa{};  // each level's own table (isa[scalar] = reference)
    std::size_t index = 0;                 // position in weight_types()
};

// The kernels a given level would run for a type (fallback applied, op by op; the packed trio
// as a unit), e.g. to test one level. What the engine runs is a KernelSet (kernel_set.hpp).
Kernels kernels_at(const WeightType& type, Isa isa);

// All registered types, in a stable order.
std::span<const WeightType> weight_types();
// Lookup by id or by (case-insensitive) name; throw Error naming the unknown id/name.
const WeightType& weight_type(TypeId id);
const WeightType& weight_type(std::string_view name);
const WeightType* find_weight_type(std::string_view name);
const WeightType* find_weight_type(TypeId id);

}  // namespace lowbit

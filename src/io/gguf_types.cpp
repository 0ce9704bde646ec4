// The GGUF tensor-type table. Geometry of ggml's types checked against llama.cpp's
// ggml/src/ggml.c type_traits and ggml-common.h block structs (and gguf-py's
// GGML_QUANT_SIZES); the registry supplies the rows lowbit computes with.
#include "lowbit/gguf_types.hpp"

#include <algorithm>
#include <vector>

#include "lowbit/error.hpp"

namespace lowbit {
namespace {

struct GgmlOnly {
    uint32_t id;
    std::string_view name;
    int64_t block_elems;
    int64_t block_bytes;
};

// ggml types lowbit lists and sizes but has no kernels for.
constexpr GgmlOnly kGgmlOnly[] = {
    {6, "Q5_0", 32, 22},
    {7, "Q5_1", 32, 24},
    {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},
    {11, "Q3_K", 256, 110},
    {12, "Q4_K", 256, 144},
    {13, "Q5_K", 256, 176},
    {15, "Q8_K", 256, 292},
    {16, "IQ2_XXS", 256, 66},
    {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98},
    {19, "IQ1_S", 256, 50},
    {20, "IQ4_NL", 32, 18},
    {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},
    {23, "IQ4_XS", 256, 136},
    {24, "I8", 1, 1},
    {25, "I16", 1, 2},
    {26, "I32", 1, 4},
    {27, "I64", 1, 8},
    {28, "F64", 1, 8},
    {29, "IQ1_M", 256, 56},
    // Interleaved Q4_0 of 2024 llama.cpp files; ggml has since removed them.
    {31, "Q4_0_4_4", 32, 18},
    {32, "Q4_0_4_8", 32, 18},
    {33, "Q4_0_8_8", 32, 18},
    {39, "MXFP4", 32, 17},
    {40, "NVFP4", 64, 36},
    {41, "Q1_0", 128, 18},
};

constexpr uint32_t kMxfp4 = 39;

std::vector<GgufTensorType> build_table() {
    std::vector<GgufTensorType> t;
    for (const WeightType& w : weight_types()) {
        t.push_back({static_cast<uint32_t>(w.id), w.name, w.block_elems, w.block_bytes, &w});
    }
    for (const GgmlOnly& g : kGgmlOnly) {
        t.push_back({g.id, g.name, g.block_elems, g.block_bytes, nullptr});
    }
    std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return t;
}

const std::vector<GgufTensorType>& table() {
    static const std::vector<GgufTensorType> rows = build_table();
    return rows;
}

bool is_bitnet_cpp_architecture(std::string_view arch) { return arch.starts_with("bitnet"); }

}  // namespace

uint64_t GgufTensorType::tensor_bytes(int64_t rows, int64_t cols) const {
    if (rows < 0 || cols < 0) {
        fail(name, ": negative shape ", rows, " x ", cols);
    }
    if (weight_type != nullptr) {
        return weight_type->tensor_bytes(rows, cols);
    }
    if (cols % block_elems != 0) {
        fail(name, ": row length ", cols, " is not a multiple of the block size ", block_elems);
    }
    uint64_t row_bytes, total;
    if (__builtin_mul_overflow(static_cast<uint64_t>(cols / block_elems), static_cast<uint64_t>(block_bytes),
                               &row_bytes) ||
        __builtin_mul_overflow(row_bytes, static_cast<uint64_t>(rows), &total)) {
        fail(name, ": size of ", rows, " x ", cols, " overflows");
    }
    return total;
}

std::span<const GgufTensorType> gguf_tensor_types() { return table(); }

const GgufTensorType* find_gguf_tensor_type(uint32_t id, std::string_view architecture) {
    if (id == kMxfp4 && is_bitnet_cpp_architecture(architecture)) {
        return nullptr;  // bitnet.cpp's TL2 in these files
    }
    const auto& t = table();
    const auto it = std::lower_bound(t.begin(), t.end(), id, [](const auto& row, uint32_t v) { return row.id < v; });
    return it != t.end() && it->id == id ? &*it : nullptr;
}

std::string_view gguf_type_id_note(uint32_t id, std::string_view architecture) {
    switch (id) {
        case 4:
        case 5:
            return "ggml's Q4_2/Q4_3, removed from ggml in 2023";
        case 37:
            return "bitnet.cpp's I8_S (ggml's removed IQ4_NL_4_4), which lowbit cannot size";
        case 38:
            return "bitnet.cpp's TL1 (ggml's removed IQ4_NL_4_8), whose layout depends on bitnet.cpp's "
                   "build-time kernel generation; lowbit's own TL1 is type 1026";
        case kMxfp4:
            if (is_bitnet_cpp_architecture(architecture)) {
                return "bitnet.cpp's TL2 in a bitnet architecture file, whose layout depends on bitnet.cpp's "
                       "build-time kernel generation; lowbit's own TL2 is type 1027";
            }
            return {};
        default:
            return {};
    }
}

}  // namespace lowbit

// The tensor types a GGUF file can hold, as lowbit knows them: every type of the weight-type
// registry (lowbit computes with those), plus ggml's other types with their block geometry,
// so files using them can be listed and their layout checked. Such tensors are refused only
// when someone asks for them as a computable weight.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "lowbit/weight_type.hpp"

namespace lowbit {

struct GgufTensorType {
    uint32_t id = 0;
    std::string_view name;
    int64_t block_elems = 1;  // elements per block (row length must be a multiple of it)
    int64_t block_bytes = 1;  // bytes per block
    // The registry row when lowbit has kernels for the type; nullptr when it does not.
    const WeightType* weight_type = nullptr;

    bool computable() const { return weight_type != nullptr; }
    // Bytes of a tensor of `rows` rows of `cols` elements. Throws Error (naming the type) for
    // a shape the type cannot store; overflow-checked.
    uint64_t tensor_bytes(int64_t rows, int64_t cols) const;
};

// Every known type, in id order.
std::span<const GgufTensorType> gguf_tensor_types();

// The type with this id in a file whose `general.architecture` is `architecture`, or nullptr
// when lowbit cannot size it. The architecture matters for the ids bitnet.cpp reused:
// 39 is ggml's MXFP4, but bitnet.cpp's TL2 in a `bitnet*` file.
const GgufTensorType* find_gguf_tensor_type(uint32_t id, std::string_view architecture = {});

// Why an id that find_gguf_tensor_type refuses is not readable, when lowbit knows what it
// stands for (e.g. "bitnet.cpp's TL1, ..."); empty for ids nobody defines.
std::string_view gguf_type_id_note(uint32_t id, std::string_view architecture = {});

}  // namespace lowbit

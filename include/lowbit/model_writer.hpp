// Writing a complete model GGUF (BitNet b1.58 / llama layout of bitnet-model.md) from values a
// caller supplies tensor by tensor: used by `lowbit make-model` (random weights with real
// shapes) and by tests (known weights). Streaming: one tensor in memory at a time.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/metadata.hpp"
#include "lowbit/model.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::llm {

struct ModelShape {
    std::string arch = "bitnet-b1.58";
    int64_t n_layer = 0;
    int64_t n_embd = 0;
    int64_t n_ff = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t n_vocab = 0;
    int64_t n_ctx = 4096;
    float rope_theta = 500000.0f;
    float rms_eps = 1e-5f;
};

// BitNet b1.58 2B4T's shapes (30 layers, 2560, 6912, 20/5 heads, 128256 tokens), Llama-2-7B's
// (32 layers, 4096, 11008, 32 heads, 32000 tokens) and a tiny one.
ModelShape preset_shape(const std::string& preset, const std::string& arch);

struct ModelTypes {
    TypeId linear = TypeId::I2_S;           // attention and feed-forward matrices
    TypeId embedding = TypeId::F16;         // token_embd (and the head when tied)
    std::optional<TypeId> head;             // a separate output.weight of this type; none: tied
};

// values(name, rows, cols) returns the f32 values of a tensor (rows x cols, row-major).
using TensorValues = std::function<std::vector<float>(const std::string& name, int64_t rows, int64_t cols)>;

// Writes the model; `extra` metadata (e.g. the tokenizer keys) is added as-is.
void write_model(const std::filesystem::path& path, const ModelShape& shape, const ModelTypes& types,
                 const TensorValues& values, const Metadata& extra);

// The tensor names and shapes write_model writes (rows x cols; vectors have rows == 1).
struct TensorSpec {
    std::string name;
    int64_t rows;
    int64_t cols;
    bool is_linear;  // an attention/feed-forward matrix
};
std::vector<TensorSpec> model_tensors(const ModelShape& shape, const ModelTypes& types);

}  // namespace lowbit::llm

// `lowbit inspect`, the gathering half: opens a model (GGUF file, SafeTensors file, shard
// index, or Hugging Face folder) and describes it in one format-neutral report, which
// inspect_print.cpp prints as a table or as the JSON documented in docs/FILES.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::cli {

struct TensorRow {
    std::string name;
    std::string type;                 // GGUF type name or SafeTensors dtype
    std::optional<uint32_t> type_id;  // GGUF only
    std::vector<int64_t> shape;       // as stored (GGUF: ne[0] first; SafeTensors: outermost first)
    uint64_t elements = 0;
    uint64_t bytes = 0;
    uint64_t offset = 0;      // from the start of its file
    std::string file;         // the shard holding it (sharded SafeTensors, a GGUF split set), else empty
    bool computable = false;  // lowbit has kernels for its type
};

struct TypeTotal {
    std::string type;
    uint64_t tensors = 0;
    uint64_t elements = 0;
    uint64_t bytes = 0;
    bool computable = false;
};

struct ModelReport {
    std::string path;
    std::string format;                  // "gguf" or "safetensors"
    std::vector<std::string> files;      // every file read
    nlohmann::ordered_json gguf;         // {version, alignment, data_offset, metadata_keys} or null
    nlohmann::ordered_json safetensors;  // {sharded, index, metadata} or null
    std::string architecture;
    std::string name;
    nlohmann::ordered_json hyperparameters = nlohmann::ordered_json::object();
    nlohmann::ordered_json tokenizer;  // null when the model has none
    std::vector<TensorRow> tensors;    // in file order
    std::vector<TypeTotal> types;      // in order of first appearance
    uint64_t total_elements = 0;
    uint64_t total_bytes = 0;
};

ModelReport inspect_model(const std::filesystem::path& path);

// One metadata value, as JSON: GGUF metadata, or SafeTensors "__metadata__" / index
// "metadata". Throws Error naming the file when the key is absent.
nlohmann::ordered_json model_metadata_value(const std::filesystem::path& path, const std::string& key,
                                            std::string* type_name);

}  // namespace lowbit::cli

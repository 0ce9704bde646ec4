// Sharded SafeTensors models and Hugging Face model folders.
//
// A sharded model is a folder holding `model.safetensors.index.json` ({"metadata": {...},
// "weight_map": {tensor: shard file name}}) and the shard files it names. Shard names must be
// plain file names inside that folder: no '/', '\\', "." or "..", nothing absolute (a
// symbolic link inside the folder is fine: Hugging Face's cache is made of them). Every
// tensor the index lists must be in the shard it names, and every tensor of a shard must be
// listed for that shard.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/safetensors.hpp"

namespace lowbit {

inline constexpr std::string_view kSafeTensorsIndexName = "model.safetensors.index.json";

struct SafeTensorsIndex {
    std::string source;
    // tensor name -> shard file name (a plain name inside the index's folder)
    std::map<std::string, std::string, std::less<>> weight_map;
    // The shard names, each once, sorted (model-00001-of-00002... sorts in shard order).
    std::vector<std::string> shards;
    // The "metadata" object's scalar entries (e.g. total_size), as text.
    std::map<std::string, std::string, std::less<>> metadata;
};

// Parses index JSON text (strictly: duplicate keys are errors). `source` names it in errors.
SafeTensorsIndex parse_safetensors_index(std::string_view json_text, const std::string& source);
SafeTensorsIndex read_safetensors_index(const std::filesystem::path& path);
// Writes an index (temporary file + rename), shard names validated like the reader does.
void write_safetensors_index(const std::filesystem::path& path,
                             const std::map<std::string, std::string, std::less<>>& weight_map, uint64_t total_size);

// Whether `name` may name a shard: a plain file name, nothing that leaves the folder.
bool is_plain_file_name(std::string_view name);

// One SafeTensors file or all shards of a sharded model, behind one tensor list.
class SafeTensorsModel {
public:
    struct Entry {
        const SafeTensorsFile* file = nullptr;
        const SafeTensor* tensor = nullptr;
    };

    // `path`: a .safetensors file, an index .json, or a folder holding either
    // (model.safetensors.index.json first, then model.safetensors, then a single *.safetensors).
    static SafeTensorsModel open(const std::filesystem::path& path);

    const std::string& source() const { return source_; }  // the file or index opened
    bool sharded() const { return index_ != nullptr; }
    const SafeTensorsIndex* index() const { return index_.get(); }
    const std::vector<SafeTensorsFile>& files() const { return files_; }
    // Every tensor: shard by shard (sorted by name), each in data order.
    const std::vector<Entry>& tensors() const { return tensors_; }
    const Entry* find_tensor(std::string_view name) const;
    const Entry& tensor(std::string_view name) const;

private:
    void add_file(const SafeTensorsFile& file);

    std::string source_;
    std::unique_ptr<SafeTensorsIndex> index_;
    std::vector<SafeTensorsFile> files_;
    std::vector<Entry> tensors_;
    std::map<std::string, std::size_t, std::less<>> by_name_;
};

}  // namespace lowbit

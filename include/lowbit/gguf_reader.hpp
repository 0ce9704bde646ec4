// Reading GGUF files (versions 2 and 3, little-endian), memory-mapped.
//
// Opening a file parses and validates all of it except the tensor bytes themselves: header,
// every metadata value (nested arrays included), tensor infos, `general.alignment`, and the
// placement of every tensor (aligned, inside the file, not overlapping). Anything wrong is an
// Error whose message names the file and the field or tensor. Tensor data stays in the
// mapping; nothing is copied.
//
// A split set (llama.cpp's gguf-split convention: NAME-00001-of-0000N.gguf, ..., each a GGUF
// with split.no (u16, 0-based), split.count (u16) and split.tensors.count (i32, the set's
// total); the model's metadata only in the first) opens from its first file as one model: the
// other files are found by name, their split.no and the tensor total checked, and their tensors
// join the first's in order. Opening another file of a set is an error naming the first.
//
// Shapes: `ne` is as stored, ne[0] the row length. As a matrix a tensor has cols = ne[0] and
// rows = the product of the other dimensions (1 for a vector).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/gguf_types.hpp"
#include "lowbit/mapped_file.hpp"
#include "lowbit/metadata.hpp"
#include "lowbit/tensor_weight.hpp"

namespace lowbit {

inline constexpr uint32_t kGgufDefaultAlignment = 32;
// Files using lowbit's own types (ids >= 1024) carry `lowbit.format_version`; this build
// reads versions up to this one.
inline constexpr uint32_t kLowbitFormatVersion = 1;
inline constexpr std::string_view kLowbitFormatVersionKey = "lowbit.format_version";
// llama.cpp's split sets (gguf-split)
inline constexpr std::string_view kSplitNoKey = "split.no";
inline constexpr std::string_view kSplitCountKey = "split.count";
inline constexpr std::string_view kSplitTensorsCountKey = "split.tensors.count";
// PREFIX-0000{no+1}-of-0000{count}.gguf, as llama.cpp's llama_split_path (`no` from 0).
std::string gguf_split_path(std::string_view prefix, uint64_t no, uint64_t count);

struct GgufTensor {
    std::string name;
    std::vector<int64_t> ne;  // dimensions as stored: ne[0] is the row length
    uint32_t type_id = 0;
    const GgufTensorType* type = nullptr;  // never null in a parsed file
    uint64_t offset = 0;                   // from the start of the data section, as stored
    uint64_t file_offset = 0;              // from the start of its file
    uint32_t split = 0;                    // the file of a split set that holds it (0: the first)
    uint64_t bytes = 0;
    int64_t rows = 0;
    int64_t cols = 0;

    int64_t elements() const { return rows * cols; }
};

class GgufFile {
public:
    static GgufFile open(const std::filesystem::path& path);
    static GgufFile parse(std::shared_ptr<const MappedFile> file);

    const std::string& source() const { return file_->name(); }
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }  // start of the data section
    uint64_t file_size() const;  // of every file of a split set
    std::span<const uint8_t> bytes() const { return file_->bytes(); }  // the whole mapping (of the first file)
    // The files of a split set, in order (one name for a single file).
    std::vector<std::string> split_sources() const;
    // The whole mapping of the file that holds `t`.
    std::span<const uint8_t> file_bytes(const GgufTensor& t) const { return splits_[t.split]->bytes(); }
    const Metadata& metadata() const { return metadata_; }
    // `general.architecture`, or empty when the file has none.
    std::string_view architecture() const;

    const std::vector<GgufTensor>& tensors() const { return tensors_; }  // in file order
    const GgufTensor* find_tensor(std::string_view name) const;
    const GgufTensor& tensor(std::string_view name) const;  // throws naming file and tensor
    std::span<const uint8_t> tensor_data(const GgufTensor& t) const;
    // Throws when lowbit has no kernels for the tensor's type ("listed, refused when used").
    TensorWeight weight(const GgufTensor& t) const;
    TensorWeight weight(std::string_view name) const { return weight(tensor(name)); }

private:
    explicit GgufFile(std::shared_ptr<const MappedFile> file);

    void join_splits(const std::filesystem::path& first);

    std::shared_ptr<const MappedFile> file_;
    std::vector<std::shared_ptr<const MappedFile>> splits_;  // splits_[0] is file_
    uint32_t version_ = 0;
    uint32_t alignment_ = kGgufDefaultAlignment;
    uint64_t data_offset_ = 0;
    Metadata metadata_;
    std::vector<GgufTensor> tensors_;
    std::map<std::string, std::size_t, std::less<>> by_name_;
};

}  // namespace lowbit

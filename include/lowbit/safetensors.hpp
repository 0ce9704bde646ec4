// Reading SafeTensors files, memory-mapped: an 8-byte little-endian header length N, N bytes
// of JSON naming each tensor's dtype, shape and data_offsets (relative to the data section
// that follows), and an optional "__metadata__" object of strings.
//
// Opening validates everything but the tensor bytes: the header JSON (strictly: no duplicate
// keys, valid UTF-8), every dtype and shape, and that the tensors tile the data section
// exactly, as the format's reference implementation requires (sorted by offset they start at
// 0, follow each other without gap or overlap, and end at the end of the file). Errors name
// the file and the tensor or field.
//
// Shapes are as stored, outermost first (PyTorch order): cols = the last dimension (the row
// length), rows = the product of the others.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/mapped_file.hpp"
#include "lowbit/tensor_weight.hpp"

namespace lowbit {

enum class SafeDtype : uint8_t { BOOL, U8, I8, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64, F8_E4M3, F8_E5M2 };

std::string_view safe_dtype_name(SafeDtype dtype);  // "F16", "BF16", ...
std::optional<SafeDtype> parse_safe_dtype(std::string_view name);
uint64_t safe_dtype_bytes(SafeDtype dtype);  // bytes per element
// The registry row lowbit computes with for this dtype (F32, F16, BF16), or nullptr.
const WeightType* safe_dtype_weight_type(SafeDtype dtype);

// The reference implementation's limit on the header length.
inline constexpr uint64_t kSafeTensorsMaxHeaderBytes = 100'000'000;

struct SafeTensor {
    std::string name;
    SafeDtype dtype = SafeDtype::F32;
    std::vector<int64_t> shape;  // outermost first, as stored
    uint64_t begin = 0;          // data_offsets, relative to the data section
    uint64_t end = 0;
    uint64_t file_offset = 0;  // from the start of the file
    uint64_t bytes = 0;
    int64_t rows = 0;
    int64_t cols = 0;

    int64_t elements() const { return rows * cols; }
};

class SafeTensorsFile {
public:
    static SafeTensorsFile open(const std::filesystem::path& path);
    static SafeTensorsFile parse(std::shared_ptr<const MappedFile> file);

    const std::string& source() const { return file_->name(); }
    uint64_t header_bytes() const { return header_bytes_; }  // N
    uint64_t data_offset() const { return 8 + header_bytes_; }
    uint64_t file_size() const { return file_->size(); }
    std::span<const uint8_t> bytes() const { return file_->bytes(); }  // the whole mapping
    // The "__metadata__" strings (empty when the file has none).
    const std::map<std::string, std::string, std::less<>>& metadata() const { return metadata_; }

    const std::vector<SafeTensor>& tensors() const { return tensors_; }  // in data order
    const SafeTensor* find_tensor(std::string_view name) const;
    const SafeTensor& tensor(std::string_view name) const;  // throws naming file and tensor
    std::span<const uint8_t> tensor_data(const SafeTensor& t) const;
    // F32, F16 and BF16 tensors; other dtypes are listed but refused here.
    TensorWeight weight(const SafeTensor& t) const;

private:
    explicit SafeTensorsFile(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) {}

    std::shared_ptr<const MappedFile> file_;
    uint64_t header_bytes_ = 0;
    std::map<std::string, std::string, std::less<>> metadata_;
    std::vector<SafeTensor> tensors_;
    std::map<std::string, std::size_t, std::less<>> by_name_;
};

}  // namespace lowbit

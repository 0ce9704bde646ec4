// Where quantized tensors go: a GGUF (llama.cpp's layout, the source's metadata carried over)
// or a SafeTensors file (every quantized tensor as its parts: NAME.qweight with the packed codes,
// NAME.scales and NAME.zeros for the INTn types, and a "quantization_config" JSON string in
// "__metadata__" describing each tensor; see docs/QUANTIZE.md). Both are declared in full
// first, then written tensor by tensor in declaration order, in pieces of any size; both appear
// under their name only when finish() succeeds. A GGUF may be written as a split set.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lowbit/quantize.hpp"
#include "lowbit/weight_type.hpp"
#include "tensor_source.hpp"

namespace lowbit::quantize {

class OutputFile {
public:
    virtual ~OutputFile() = default;
    // `type` nullptr: the tensor is stored as the source holds it.
    virtual void declare(const SourceTensor& t, const WeightType* type) = 0;
    virtual void begin_tensor(const SourceTensor& t) = 0;
    virtual void write(std::span<const uint8_t> bytes) = 0;
    virtual void end_tensor() = 0;
    // Instead of begin_tensor() and write(): sets the tensor's bytes aside (contiguous in the
    // file) and returns the file offset of its first byte, for write_at() to fill in any order
    // and from several threads; then end_tensor().
    virtual uint64_t reserve_tensor(const SourceTensor& t) = 0;
    virtual void write_at(uint64_t file_offset, std::span<const uint8_t> bytes) const = 0;
    virtual void finish() = 0;
    // A string in the output's metadata (GGUF key-value, SafeTensors __metadata__); before declare().
    virtual void set_metadata(const std::string& key, const std::string& value) = 0;
    // The files it writes, under their final names.
    virtual std::vector<std::filesystem::path> files() const = 0;
};

// `file_type_of`: the type most tensors get (general.file_type of a GGUF; unused otherwise).
// `shards` > 1: a GGUF split set PATH-0000i-of-0000N.gguf (PATH without .gguf).
std::unique_ptr<OutputFile> open_output(OutFormat format, const std::filesystem::path& path,
                                        const TensorSource& source, TypeId file_type_of, int shards = 1);

}  // namespace lowbit::quantize

// The tensors a quantization reads, behind one list: a GGUF file, a SafeTensors file, a sharded
// SafeTensors model (its index, or the folder holding it) or a Hugging Face folder. Everything
// stays memory-mapped; a tensor's rows are decoded to floats on demand.
//
// Names: a GGUF keeps its own. For a GGUF output, a Hugging Face folder whose config.json is a
// llama or BitNet model is mapped to llama.cpp's names, layout and metadata (the q/k rows of
// llama reordered for its NORM rope, the tokenizer carried over) so that `lowbit run` executes
// the result; anything else keeps the names it has. For a SafeTensors output names never change.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lowbit/gguf_reader.hpp"
#include "lowbit/metadata.hpp"
#include "lowbit/safetensors_index.hpp"
#include "lowbit/tensor_weight.hpp"

namespace lowbit::quantize {

struct SourceTensor {
    std::string name;         // as written out
    std::string source_name;  // as the input names it (differs only for a mapped HF model)
    std::string file;         // the file that holds it, for messages
    std::vector<int64_t> ne;  // GGUF order (ne[0] is the row length, but see rows and cols)
    // The matrix it is quantized as: rows x cols = ne[1..] x ne[0], except a SafeTensors tensor of
    // rank 3 or more (a convolution's [out, in, kh, kw]), which is shape[0] x the rest.
    int64_t rows = 0;
    int64_t cols = 0;
    std::string type_name;      // as the input names its type ("F16", "Q4_0", "I64")
    TensorWeight weight;        // weight.type nullptr: a type lowbit cannot compute with
    uint32_t gguf_type_id = 0;  // how a GGUF stores it unchanged
    bool from_gguf = false;     // then gguf_type_id is the source's own, known to lowbit or not
    std::span<const uint8_t> data;
    std::span<const uint8_t> file_bytes;  // the whole mapped file that holds it
    int permute_heads = 0;  // > 0: rows reordered for llama.cpp's NORM rope, over this many heads

    int64_t elements() const { return rows * cols; }
    // "FILE: tensor 'NAME'", with the output name when it differs.
    std::string where() const;
    // The input row that output row r comes from.
    int64_t source_row(int64_t r) const;
};

enum class Naming { as_stored, gguf };

class TensorSource {
public:
    // Throws lowbit::Error naming the file (bad_file, unsupported, io).
    static TensorSource open(const std::filesystem::path& path, Naming naming);

    const std::string& source() const { return source_; }
    uint64_t file_size() const { return file_size_; }  // of every file read
    bool is_gguf() const { return gguf_ != nullptr; }
    // GGUF metadata for the output: a GGUF's own; for a mapped HF model, made from config.json
    // and tokenizer.json; otherwise only general.name.
    const Metadata& metadata() const { return metadata_; }
    // A SafeTensors input's "__metadata__" strings (empty otherwise).
    const std::map<std::string, std::string, std::less<>>& string_metadata() const { return string_metadata_; }
    const std::vector<SourceTensor>& tensors() const { return tensors_; }
    // "" unless an HF model was mapped: "llama" or "bitnet-b1.58".
    const std::string& architecture() const { return architecture_; }

private:
    std::string source_;
    uint64_t file_size_ = 0;
    std::shared_ptr<const GgufFile> gguf_;
    std::shared_ptr<const SafeTensorsModel> safetensors_;
    Metadata metadata_;
    std::map<std::string, std::string, std::less<>> string_metadata_;
    std::vector<SourceTensor> tensors_;
    std::string architecture_;
};

// Rows [r0, r1) of `t` (output order) as floats, (r1 - r0) * cols of them. The type must be
// one lowbit computes with.
void decode_rows(const SourceTensor& t, int64_t r0, int64_t r1, float* dst);

// Drops from this process the mapped pages that lie wholly inside rows [r0, r1) of `t` (they stay
// in the page cache): advice, for a source read once. Nothing for reordered rows.
void release_source_rows(const SourceTensor& t, int64_t r0, int64_t r1);
// The same for every page of `t` and of the 4 MiB of its file before it: the page cache's large
// folios are mapped whole on a fault, so reading a tensor can map the tail of the one before.
void release_source(const SourceTensor& t);

// The bytes a GGUF stores for `t` unchanged (rows in output order), handed over in pieces.
template <class Sink>
void for_each_stored_piece(const SourceTensor& t, const Sink& sink) {
    if (t.permute_heads == 0) {
        sink(t.data);
        return;
    }
    const std::size_t row = t.data.size() / static_cast<std::size_t>(t.rows);  // float types only
    for (int64_t r = 0; r < t.rows; ++r) sink(t.data.subspan(static_cast<std::size_t>(t.source_row(r)) * row, row));
}

}  // namespace lowbit::quantize

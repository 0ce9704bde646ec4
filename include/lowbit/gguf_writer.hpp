// Writing GGUF v3 files, streaming: declare the metadata and every tensor (name, type,
// shape) first, then write each tensor's bytes in declaration order. Only one tensor needs
// to be in memory at a time, and a tensor may arrive in parts (begin_tensor / write /
// end_tensor). Tensors are aligned to `general.alignment` (32 unless set) and the gaps are
// zero padding. Output goes to a temporary file beside `path` and is renamed into place by
// finish(); a writer destroyed before finish() leaves nothing behind.
//
// The writer refuses anything the reader would refuse (invalid UTF-8, duplicate or empty
// names, mixed-type arrays, shapes the type cannot store, unknown type ids), so whatever it
// writes reads back. Files using lowbit's own types (ids >= 1024) get
// `lowbit.format_version` automatically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/metadata.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit {

class GgufWriter {
public:
    explicit GgufWriter(const std::filesystem::path& path);
    GgufWriter(const GgufWriter&) = delete;
    GgufWriter& operator=(const GgufWriter&) = delete;
    ~GgufWriter();

    // Fill before the first tensor bytes are written (the header is written then).
    Metadata& metadata();
    // ne[0] is the row length, as in GGUF. Returns the tensor's byte size.
    uint64_t add_tensor(std::string name, uint32_t type_id, std::vector<int64_t> ne);
    uint64_t add_tensor(std::string name, TypeId type, std::vector<int64_t> ne) {
        return add_tensor(std::move(name), static_cast<uint32_t>(type), std::move(ne));
    }

    void begin_tensor(std::string_view name);
    void write(std::span<const uint8_t> bytes);
    void end_tensor();
    // Instead of write(): sets the whole current tensor aside and returns its file offset, for
    // write_at() to fill in any order, from several threads (disjoint ranges); then end_tensor().
    uint64_t reserve_tensor();
    void write_at(uint64_t file_offset, std::span<const uint8_t> bytes) const;
    void write_tensor(std::string_view name, std::span<const uint8_t> bytes) {
        begin_tensor(name);
        write(bytes);
        end_tensor();
    }

    // Checks every tensor was written, then fsyncs and renames the file into place.
    void finish();

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace lowbit

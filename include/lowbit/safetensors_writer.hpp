// Writing SafeTensors files, streaming: declare the "__metadata__" strings and every tensor
// (name, dtype, shape) first, then write each tensor's bytes in declaration order, whole or
// in parts. Tensors are laid out back to back in declaration order, as the format requires;
// the JSON header is padded with spaces to a multiple of 8 bytes (like the reference writer)
// so the data section starts 8-byte aligned. Output goes to a temporary file beside `path`,
// renamed into place by finish(); a writer destroyed before finish() leaves nothing behind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/safetensors.hpp"

namespace lowbit {

class SafeTensorsWriter {
public:
    explicit SafeTensorsWriter(const std::filesystem::path& path);
    SafeTensorsWriter(const SafeTensorsWriter&) = delete;
    SafeTensorsWriter& operator=(const SafeTensorsWriter&) = delete;
    ~SafeTensorsWriter();

    void set_metadata(std::string key, std::string value);
    // `shape` outermost first, as PyTorch. Returns the tensor's byte size.
    uint64_t add_tensor(std::string name, SafeDtype dtype, std::vector<int64_t> shape);

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

    void finish();

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace lowbit

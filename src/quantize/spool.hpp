// An unnamed temporary file beside the output (O_TMPFILE, or a name unlinked at once): the
// quantized tensors wait there until every type is known and the GGUF header can be written.
// Nothing of it is left behind, whatever happens to the process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace lowbit::quantize {

class Spool {
public:
    // `output` is the file it serves (messages name it); the spool goes in its directory.
    explicit Spool(const std::filesystem::path& output);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    // Appends bytes; returns where they start.
    uint64_t append(std::span<const uint8_t> bytes);
    void read(uint64_t offset, std::span<uint8_t> into) const;

private:
    int fd_ = -1;
    std::string output_;
    uint64_t size_ = 0;
};

}  // namespace lowbit::quantize

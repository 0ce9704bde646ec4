// The bytes of a whole input file, read-only: memory-mapped (POSIX mmap), or held in memory
// for parsers fed from a buffer (tests, fuzzing). Readers share ownership of it, so tensor
// views stay valid for as long as any reader keeps the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace lowbit {

class MappedFile {
public:
    // Maps `path` read-only. Throws Error naming the path when it cannot be opened or mapped
    // (missing, a directory, unreadable).
    static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
    // Wraps bytes already in memory; `name` stands for the file in error messages.
    static std::shared_ptr<const MappedFile> from_bytes(std::vector<uint8_t> bytes, std::string name);

    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::span<const uint8_t> bytes() const { return {data_, size_}; }
    uint64_t size() const { return size_; }
    // The path as given (or the name passed to from_bytes), for error messages.
    const std::string& name() const { return name_; }

private:
    MappedFile() = default;

    std::string name_;
    const uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    void* mapping_ = nullptr;     // munmap'd by the destructor when set
    std::vector<uint8_t> owned_;  // from_bytes storage
};

}  // namespace lowbit

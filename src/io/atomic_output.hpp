// An output file that appears under its final name only when complete: bytes go to a new
// unnamed file (O_TMPFILE; where the file system lacks it, a temporary name) in the same
// directory, so that the final rename stays on one file system, and finish() flushes, fsyncs,
// names it and renames it into place. A process killed before that leaves nothing. Destroying it unfinished (an error,
// an exception, an early return) removes the temporary file, so no partial output is ever left under the final name or
// beside it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace lowbit::io {

class AtomicOutput {
public:
    explicit AtomicOutput(const std::filesystem::path& path);
    AtomicOutput(const AtomicOutput&) = delete;
    AtomicOutput& operator=(const AtomicOutput&) = delete;
    ~AtomicOutput();

    void write(std::span<const uint8_t> bytes);
    void write_zeros(uint64_t count);
    // Leaves `count` bytes at the current position for write_at (a hole until then) and moves
    // past them; returns where they start.
    uint64_t reserve(uint64_t count);
    // Writes at an offset the file already covers or reserve() set aside; safe from several
    // threads at once (disjoint ranges).
    void write_at(uint64_t offset, std::span<const uint8_t> bytes) const;
    uint64_t position() const { return position_; }
    const std::string& name() const { return path_; }  // the final path, for messages

    // Flush, fsync, rename over `path`. Throws Error naming the file on any failure (and then
    // the temporary file is removed by the destructor).
    void finish();

private:
    void flush();

    std::string path_;
    std::string temp_path_;
    int fd_ = -1;
    std::vector<uint8_t> buffer_;
    std::size_t buffered_ = 0;
    uint64_t position_ = 0;
    bool finished_ = false;
};

}  // namespace lowbit::io

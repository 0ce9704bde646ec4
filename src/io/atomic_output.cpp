// AtomicOutput: an unnamed (or else temporary) file + fsync + a name + rename.
#include "atomic_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

#include "lowbit/error.hpp"

namespace lowbit::io {
namespace {

constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

std::string temp_name_for(const std::string& path) {
    static std::atomic<uint64_t> counter{0};
    std::random_device rd;
    return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd());
}

}  // namespace

AtomicOutput::AtomicOutput(const std::filesystem::path& path) : path_(path.string()), buffer_(kBufferBytes) {
    if (path_.empty()) {
        fail_as(ErrorCode::io, "output file: empty path");
    }
    // An unnamed file (O_TMPFILE) where the file system has them: a process killed before
    // finish() leaves nothing at all. Else O_EXCL with a fresh name: never clobbers anything.
    // Mode 0666 minus the umask, like any file the user creates.
    const std::string dir = std::filesystem::path(path_).parent_path().string();
    fd_ = ::open(dir.empty() ? "." : dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
        temp_path_ = temp_name_for(path_);
        fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd_ < 0 && errno != EEXIST) {
            fail_as(ErrorCode::io, path_, ": cannot create a temporary file beside it (", temp_path_,
                    "): ", std::strerror(errno));
        }
    }
    if (fd_ < 0) {
        fail_as(ErrorCode::io, path_, ": cannot create a temporary file beside it: names keep colliding");
    }
}

AtomicOutput::~AtomicOutput() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    if (!finished_ && !temp_path_.empty()) {
        ::unlink(temp_path_.c_str());
    }
}

void AtomicOutput::write(std::span<const uint8_t> bytes) {
    while (!bytes.empty()) {
        if (buffered_ == buffer_.size()) {
            flush();
        }
        const std::size_t n = std::min(bytes.size(), buffer_.size() - buffered_);
        std::memcpy(buffer_.data() + buffered_, bytes.data(), n);
        buffered_ += n;
        position_ += n;
        bytes = bytes.subspan(n);
    }
}

void AtomicOutput::write_zeros(uint64_t count) {
    static const uint8_t zeros[256] = {};
    while (count > 0) {
        const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(count, sizeof zeros));
        write({zeros, n});
        count -= n;
    }
}

uint64_t AtomicOutput::reserve(uint64_t count) {
    flush();
    const uint64_t at = position_;
    position_ += count;
    if (::lseek(fd_, static_cast<off_t>(position_), SEEK_SET) < 0) {
        fail_as(ErrorCode::io, path_, ": seek failed: ", std::strerror(errno));
    }
    return at;
}

void AtomicOutput::write_at(uint64_t offset, std::span<const uint8_t> bytes) const {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_as(ErrorCode::io, path_, ": write failed: ", std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
}

void AtomicOutput::flush() {
    std::size_t done = 0;
    while (done < buffered_) {
        const ssize_t n = ::write(fd_, buffer_.data() + done, buffered_ - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_as(ErrorCode::io, path_, ": write failed: ", std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
    buffered_ = 0;
}

void AtomicOutput::finish() {
    if (finished_) {
        fail_as(ErrorCode::io, path_, ": already finished");
    }
    flush();
    if (::fsync(fd_) != 0) {
        fail_as(ErrorCode::io, path_, ": fsync failed: ", std::strerror(errno));
    }
    if (temp_path_.empty()) {  // unnamed: give it a fresh name beside the output, then rename as below
        const std::string self = "/proc/self/fd/" + std::to_string(fd_);
        for (int attempt = 0; attempt < 16; ++attempt) {
            temp_path_ = temp_name_for(path_);
            if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temp_path_.c_str(), AT_SYMLINK_FOLLOW) == 0) break;
            const int err = errno;
            temp_path_.clear();
            if (err != EEXIST) fail_as(ErrorCode::io, path_, ": cannot name the finished file: ", std::strerror(err));
        }
        if (temp_path_.empty()) fail_as(ErrorCode::io, path_, ": cannot name the finished file: names keep colliding");
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
        fail_as(ErrorCode::io, path_, ": close failed: ", std::strerror(errno));
    }
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        fail_as(ErrorCode::io, path_, ": cannot rename the temporary file into place: ", std::strerror(errno));
    }
    finished_ = true;
    // Make the rename itself durable; failing here loses nothing, so it is best effort.
    const std::string dir = std::filesystem::path(path_).parent_path().string();
    const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace lowbit::io

#include "spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lowbit/error.hpp"

namespace lowbit::quantize {

Spool::Spool(const std::filesystem::path& output) : output_(output.string()) {
    std::filesystem::path dir = output.parent_path();
    if (dir.empty()) dir = ".";
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ < 0) {  // a file system without O_TMPFILE: a name, unlinked at once
        std::string name = (dir / ".lowbit-quantize-XXXXXX").string();
        fd_ = ::mkstemp(name.data());
        if (fd_ >= 0) ::unlink(name.c_str());
    }
    if (fd_ < 0) {
        fail_as(ErrorCode::io, output_, ": cannot create a temporary file in ", dir.string(), ": ",
                std::strerror(errno));
    }
}

Spool::~Spool() {
    if (fd_ >= 0) ::close(fd_);
}

uint64_t Spool::append(std::span<const uint8_t> bytes) {
    const uint64_t start = size_;
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t w = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(size_ + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fail_as(ErrorCode::io, output_, ": writing the quantized tensors (a temporary file beside it) failed: ",
                    w < 0 ? std::strerror(errno) : "nothing written");
        }
        done += static_cast<std::size_t>(w);
    }
    size_ += bytes.size();
    return start;
}

void Spool::read(uint64_t offset, std::span<uint8_t> into) const {
    std::size_t done = 0;
    while (done < into.size()) {
        const ssize_t r = ::pread(fd_, into.data() + done, into.size() - done, static_cast<off_t>(offset + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            fail_as(ErrorCode::io, output_, ": reading back the quantized tensors failed: ",
                    r < 0 ? std::strerror(errno) : "unexpected end of the temporary file");
        }
        done += static_cast<std::size_t>(r);
    }
}

}  // namespace lowbit::quantize

// MappedFile: a read-only POSIX mapping of a whole file (or bytes held in memory).
#include "lowbit/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lowbit/error.hpp"

namespace lowbit {
namespace {

// Closes the descriptor on every path out of open(); the mapping outlives it.
class Descriptor {
public:
    explicit Descriptor(int fd) : fd_(fd) {}
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    ~Descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
    const std::string name = path.string();
    const Descriptor fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        fail_as(ErrorCode::io, name, ": cannot open: ", std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        fail_as(ErrorCode::io, name, ": cannot stat: ", std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        fail_as(ErrorCode::io, name, ": is a directory, not a file");
    }
    if (!S_ISREG(st.st_mode)) {
        fail_as(ErrorCode::io, name, ": not a regular file");
    }
    std::shared_ptr<MappedFile> file(new MappedFile());
    file->name_ = name;
    file->size_ = static_cast<std::size_t>(st.st_size);
    if (file->size_ == 0) {
        return file;  // mmap refuses length 0; an empty span is the whole file
    }
    void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) {
        fail_as(ErrorCode::io, name, ": cannot map ", file->size_, " bytes: ", std::strerror(errno));
    }
    file->mapping_ = p;
    file->data_ = static_cast<const uint8_t*>(p);
    return file;
}

std::shared_ptr<const MappedFile> MappedFile::from_bytes(std::vector<uint8_t> bytes, std::string name) {
    std::shared_ptr<MappedFile> file(new MappedFile());
    file->name_ = std::move(name);
    file->owned_ = std::move(bytes);
    file->data_ = file->owned_.data();
    file->size_ = file->owned_.size();
    return file;
}

MappedFile::~MappedFile() {
    if (mapping_ != nullptr) {
        ::munmap(mapping_, size_);
    }
}

}  // namespace lowbit

// read_json_file: a size-capped read through MappedFile.
#include "json_file.hpp"

#include "lowbit/error.hpp"
#include "lowbit/mapped_file.hpp"

namespace lowbit::io {

std::string read_json_file(const std::filesystem::path& path) {
    const auto file = MappedFile::open(path);
    if (file->size() > kMaxJsonFileBytes) {
        fail_as(ErrorCode::bad_file, file->name(), ": ", file->size(), " bytes; JSON side files over ", kMaxJsonFileBytes,
             " bytes are refused");
    }
    const auto bytes = file->bytes();
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace lowbit::io

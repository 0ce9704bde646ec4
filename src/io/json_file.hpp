// Reading a small JSON side file (config.json, an index) as text, size-capped.
#pragma once

#include <filesystem>
#include <string>

namespace lowbit::io {

inline constexpr uint64_t kMaxJsonFileBytes = uint64_t{64} << 20;

// The whole file as text; throws Error naming the path when it is missing, unreadable or
// larger than kMaxJsonFileBytes.
std::string read_json_file(const std::filesystem::path& path);

}  // namespace lowbit::io

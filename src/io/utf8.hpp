// Strict UTF-8 validation for names and strings read from model files.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace lowbit::io {

// The byte offset of the first invalid sequence (overlong forms, surrogates, code points
// above U+10FFFF and truncated sequences are invalid), or nullopt when `s` is valid UTF-8.
std::optional<std::size_t> find_invalid_utf8(std::string_view s);

}  // namespace lowbit::io

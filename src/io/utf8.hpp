// Strict UTF-8 validation for names and strings read from model files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lowbit::io {

// How far the bytes from offset `i` of p[0..n) follow one well-formed sequence (Unicode table
// 3-7): `length` is what the lead byte announces (1 for ASCII; 0 when no sequence starts with
// that byte), `matched` how many bytes from the lead on fit it, stopping at the first byte that
// does not or at the end of the input. matched == length: a whole valid sequence; otherwise
// the `matched` bytes are one maximal ill-formed subpart (or a prefix cut by the end).
struct Utf8Sequence {
    std::size_t length = 0;
    std::size_t matched = 0;
};
Utf8Sequence scan_utf8_sequence(const uint8_t* p, std::size_t n, std::size_t i);

// The byte offset of the first invalid sequence (overlong forms, surrogates, code points
// above U+10FFFF and truncated sequences are invalid), or nullopt when `s` is valid UTF-8.
std::optional<std::size_t> find_invalid_utf8(std::string_view s);

}  // namespace lowbit::io

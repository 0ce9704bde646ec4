// Incremental UTF-8 repair, the core of StreamDecoder and repair_utf8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lowbit::llm {

// Appends `bytes` to `out` as valid UTF-8, each maximal ill-formed subpart replaced by U+FFFD
// (Unicode Standard, chapter 3, "U+FFFD Substitution of Maximal Subparts"). When `final` is
// false, an incomplete but so far well-formed sequence at the end is not consumed; the return
// value is the number of bytes consumed (all of them when `final`).
std::size_t repair_utf8_into(std::string_view bytes, std::string& out, bool final);

}  // namespace lowbit::llm

// lowbit::Error: the one exception type the library throws. Its message names what was wrong
// (file, tensor, field, element), so callers can print it as-is.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace lowbit {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Builds a message from streamable parts: fail("tensor '", name, "': ", rows, " rows").
template <typename... Parts>
[[noreturn]] void fail(Parts&&... parts) {
    std::ostringstream out;
    (out << ... << std::forward<Parts>(parts));
    throw Error(out.str());
}

}  // namespace lowbit

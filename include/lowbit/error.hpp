// lowbit::Error: the one exception type the library throws. Its message names what was wrong
// (file, tensor, field, element), so callers can print it as-is; its code says what kind of
// failure it was, so that callers (the CLI, the server, Python) can react without parsing the
// text; `field` names the argument at fault when there is one (e.g. "temperature"), for a
// front end to add its own spelling of it (the CLI's "--temp"). Messages name no CLI flag.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace lowbit {

enum class ErrorCode {
    bad_argument,   // a caller's value is out of range or inconsistent
    bad_file,       // a file's contents are malformed, truncated or hostile
    io,             // the operating system refused (open, read, write, a full disk)
    unsupported,    // well-formed but not something lowbit runs (architecture, type, ISA level)
    out_of_memory,  // an allocation failed
    context_full,   // a sequence has no room left in its KV cache
    cancelled,      // the caller asked to stop
    busy,           // a shared resource is in use in a way that would deadlock (a re-entrant pool call)
};

std::string_view error_code_name(ErrorCode code);

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, ErrorCode code = ErrorCode::bad_argument, std::string field = {})
        : std::runtime_error(message), code_(code), field_(std::move(field)) {}

    ErrorCode code() const { return code_; }
    const std::string& field() const { return field_; }

private:
    ErrorCode code_;
    std::string field_;
};

template <typename... Parts>
std::string concat(Parts&&... parts) {
    std::ostringstream out;
    (out << ... << std::forward<Parts>(parts));
    return out.str();
}

// Builds a message from streamable parts: fail("tensor '", name, "': ", rows, " rows") throws a
// bad_argument Error; fail_as(ErrorCode::bad_file, ...) another kind; fail_field("top_p", ...)
// a bad_argument naming the argument.
template <typename... Parts>
[[noreturn]] void fail(Parts&&... parts) {
    throw Error(concat(std::forward<Parts>(parts)...));
}
template <typename... Parts>
[[noreturn]] void fail_as(ErrorCode code, Parts&&... parts) {
    throw Error(concat(std::forward<Parts>(parts)...), code);
}
template <typename... Parts>
[[noreturn]] void fail_field(std::string field, Parts&&... parts) {
    throw Error(concat(std::forward<Parts>(parts)...), ErrorCode::bad_argument, std::move(field));
}

}  // namespace lowbit

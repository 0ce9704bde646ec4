// PCRE2 compile, JIT and match calls, with every failure turned into a lowbit::Error.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "regex.hpp"

#include <pcre2.h>

#include <utility>

#include "lowbit/error.hpp"

namespace lowbit::llm {
namespace {

std::string pcre2_message(int code) {
    PCRE2_UCHAR buf[256];
    const int n = pcre2_get_error_message(code, buf, sizeof buf);
    return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<const char*>(buf));
}

}  // namespace

Regex::Regex(std::string_view pattern, std::string what) : what_(std::move(what)) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                          PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
    if (code_ == nullptr) {
        fail("tokenizer: cannot compile the ", what_, " pattern at offset ", offset, ": ", pcre2_message(error));
    }
    // Without JIT support (some platforms) pcre2_match interprets the pattern: slower, same matches.
    jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
}

Regex::Regex(Regex&& other) noexcept
    : code_(std::exchange(other.code_, nullptr)), what_(std::move(other.what_)), jit_(other.jit_) {}

Regex& Regex::operator=(Regex&& other) noexcept {
    if (this != &other) {
        pcre2_code_free(code_);
        code_ = std::exchange(other.code_, nullptr);
        what_ = std::move(other.what_);
        jit_ = other.jit_;
    }
    return *this;
}

Regex::~Regex() { pcre2_code_free(code_); }

Regex::Matcher::Matcher(const Regex& regex)
    : regex_(&regex), data_(pcre2_match_data_create_from_pattern(regex.code_, nullptr)) {
    if (data_ == nullptr) fail("tokenizer: out of memory for ", regex.what_, " match data");
}

Regex::Matcher::Matcher(Matcher&& other) noexcept : regex_(other.regex_), data_(std::exchange(other.data_, nullptr)) {}

Regex::Matcher::~Matcher() { pcre2_match_data_free(data_); }

std::optional<Match> Regex::Matcher::find(std::string_view subject, std::size_t start) {
    // The patterns lowbit compiles never match empty text, so there is nothing to find at the
    // end (and PCRE2 10.42 does not accept a null subject, which an empty view may have).
    if (start >= subject.size()) return std::nullopt;
    const int rc = pcre2_match(regex_->code_, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), start, 0,
                               data_, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return std::nullopt;
    if (rc < 0) {
        fail("tokenizer: ", regex_->what_, " match failed at byte ", start, ": ", pcre2_message(rc));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data_);
    return Match{ov[0], ov[1]};
}

}  // namespace lowbit::llm

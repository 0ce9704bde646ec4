// A PCRE2 pattern for matching UTF-8 text: compiled once (8-bit code units, PCRE2_UTF and
// PCRE2_UCP so that \p{L}, \s and friends follow Unicode, PCRE2_MATCH_INVALID_UTF so that
// subjects need not be valid UTF-8) and JIT-compiled when the platform has PCRE2's JIT.
// Bytes that are not valid UTF-8 are never part of a match: they are the gaps between
// matches. A Regex is immutable and may be shared between threads; each thread matches
// through its own Matcher.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;

namespace lowbit::llm {

struct Match {
    std::size_t begin = 0;
    std::size_t end = 0;
};

class Regex {
public:
    // `what` names the pattern in errors ("pre-tokenizer", "special tokens").
    Regex(std::string_view pattern, std::string what);
    Regex(Regex&&) noexcept;
    Regex& operator=(Regex&&) noexcept;
    ~Regex();

    bool jit() const { return jit_; }

    class Matcher {
    public:
        explicit Matcher(const Regex& regex);
        Matcher(Matcher&&) noexcept;
        ~Matcher();
        // The first match at or after byte `start`, or nullopt when there is none.
        std::optional<Match> find(std::string_view subject, std::size_t start);

    private:
        const Regex* regex_;
        pcre2_real_match_data_8* data_;
    };

private:
    pcre2_real_code_8* code_ = nullptr;
    std::string what_;
    bool jit_ = false;
};

}  // namespace lowbit::llm

// The Llama-3 pre-tokenizer: splits text into the words BPE runs on, with the regex of
// Llama-3's tokenizer.json (also GPT-4's cl100k_base). Each run of bytes that is not valid
// UTF-8 (which no regex alternative can match) is a word of its own, so every byte of the
// text lands in exactly one word.
#pragma once

#include <string_view>

#include "lowbit/error.hpp"
#include "regex.hpp"

namespace lowbit::llm {

inline constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

class Pretokenizer {
public:
    Pretokenizer() : regex_(kLlama3Pattern, "pre-tokenizer") {}

    const Regex& regex() const { return regex_; }

    // Calls word(std::string_view) for each word of `text`, in order; `matcher` must come
    // from regex().
    template <typename Word>
    void split(std::string_view text, Regex::Matcher& matcher, Word&& word) const {
        std::size_t pos = 0;
        while (pos < text.size()) {
            const auto m = matcher.find(text, pos);
            const std::size_t begin = m ? m->begin : text.size();
            if (begin > pos) word(text.substr(pos, begin - pos));  // bytes that are not UTF-8
            if (!m) break;
            // Every alternative consumes at least one character; an empty match would loop.
            if (m->end <= m->begin) fail("tokenizer: the pre-tokenizer matched empty text at byte ", m->begin);
            word(text.substr(m->begin, m->end - m->begin));
            pos = m->end;
        }
    }

private:
    Regex regex_;
};

}  // namespace lowbit::llm

// The alternations of special-token texts, escaped so that PCRE2 reads each as a literal.
#include "special_tokens.hpp"

#include <cctype>

namespace lowbit::llm {
namespace {

// `text` as a PCRE2 literal: control characters as \x{..}; a backslash before the other ASCII
// characters that are not letters or digits makes them literals; the UTF-8 bytes of other
// characters are literals already. (\Q...\E would break on a token holding "\E".)
void append_literal(std::string& p, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) {
            p += "\\x{";
            p += kHex[u >> 4];
            p += kHex[u & 15];
            p += '}';
            continue;
        }
        if (u < 0x80 && !std::isalnum(u)) p += '\\';
        p += c;
    }
}

}  // namespace

SpecialTokens::SpecialTokens(const std::vector<std::pair<std::string, int32_t>>& tokens, std::size_t chunk_bytes) {
    std::vector<const std::string*> texts;
    for (const auto& [text, id] : tokens) {
        if (ids_.emplace(text, id).second) texts.push_back(&text);
    }
    // PCRE2 takes the first alternative that matches: longest first gives the longest match.
    std::stable_sort(texts.begin(), texts.end(),
                     [](const std::string* a, const std::string* b) { return a->size() > b->size(); });
    std::string pattern;
    for (const std::string* text : texts) {
        if (!pattern.empty() && pattern.size() >= chunk_bytes) {
            regexes_.emplace_back(pattern, "special-token");
            pattern.clear();
        }
        if (!pattern.empty()) pattern += '|';
        append_literal(pattern, *text);
    }
    if (!pattern.empty()) regexes_.emplace_back(pattern, "special-token");
}

std::optional<int32_t> SpecialTokens::find(std::string_view text) const {
    const auto it = ids_.find(std::string(text));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
}

}  // namespace lowbit::llm

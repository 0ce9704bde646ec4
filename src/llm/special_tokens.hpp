// Special tokens (control and user-defined) written in text: found with PCRE2 alternations of
// their literal texts, longest first, so that the leftmost occurrence is taken first and, of
// the special tokens that start there, the longest. PCRE2 limits a compiled pattern to 64K
// code units (Debian's build), so a large set of special tokens is split over several
// patterns and the earliest, then longest, match among them wins.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lowbit/error.hpp"
#include "regex.hpp"

namespace lowbit::llm {

class SpecialTokens {
public:
    // Pattern text per PCRE2 pattern; its compiled form stays well below PCRE2's limit.
    static constexpr std::size_t kDefaultChunkBytes = 16384;

    // (text, id) pairs with non-empty, valid UTF-8 texts; a repeated text keeps its first id.
    explicit SpecialTokens(const std::vector<std::pair<std::string, int32_t>>& tokens,
                           std::size_t chunk_bytes = kDefaultChunkBytes);

    std::optional<int32_t> find(std::string_view text) const;
    std::size_t patterns() const { return regexes_.size(); }

    // Walks `text`: on_text(std::string_view) for each stretch without special tokens,
    // on_special(int32_t id) for each special token.
    template <typename Text, typename Special>
    void split(std::string_view text, Text&& on_text, Special&& on_special) const {
        std::vector<Regex::Matcher> matchers;
        matchers.reserve(regexes_.size());
        for (const Regex& r : regexes_) matchers.emplace_back(r);
        // Each pattern's next match at or after `pos`; nullopt once it has none left.
        std::vector<std::optional<Match>> next(regexes_.size());
        std::vector<bool> done(regexes_.size(), false);
        std::size_t pos = 0;
        while (pos < text.size()) {
            std::optional<Match> best;
            for (std::size_t i = 0; i < matchers.size(); ++i) {
                if (done[i]) continue;
                if (!next[i] || next[i]->begin < pos) {
                    next[i] = matchers[i].find(text, pos);
                    if (!next[i]) {
                        done[i] = true;
                        continue;
                    }
                }
                const Match& m = *next[i];
                if (!best || m.begin < best->begin || (m.begin == best->begin && m.end > best->end)) best = m;
            }
            if (!best) break;
            if (best->begin > pos) on_text(text.substr(pos, best->begin - pos));
            const auto id = find(text.substr(best->begin, best->end - best->begin));
            if (!id || best->end <= best->begin)
                fail("tokenizer: special-token match at byte ", best->begin, " is no token");
            on_special(*id);
            pos = best->end;
        }
        if (pos < text.size()) on_text(text.substr(pos));
    }

private:
    std::unordered_map<std::string, int32_t> ids_;
    std::vector<Regex> regexes_;
};

}  // namespace lowbit::llm

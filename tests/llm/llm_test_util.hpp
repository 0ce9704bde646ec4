// Helpers for the tokenizer tests: GPT-2's byte spelling written again from its published
// definition (the tests' own, not lowbit's), small hand-made vocabularies, random text.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lowbit/metadata.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::test {

// GPT-2's bytes_to_unicode(): bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves;
// the others, in increasing order, for 256, 257, ...; returned as UTF-8.
inline std::string gpt2_spelling(uint8_t byte) {
    static const std::vector<std::string> table = [] {
        std::vector<int> codepoint(256, -1);
        for (int b = '!'; b <= '~'; ++b) codepoint[b] = b;
        for (int b = 0xA1; b <= 0xAC; ++b) codepoint[b] = b;
        for (int b = 0xAE; b <= 0xFF; ++b) codepoint[b] = b;
        int next = 256;
        for (int b = 0; b < 256; ++b) {
            if (codepoint[b] < 0) codepoint[b] = next++;
        }
        std::vector<std::string> utf8;
        for (int cp : codepoint) {
            utf8.push_back(
                cp < 0x80 ? std::string(1, static_cast<char>(cp))
                          : std::string{static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))});
        }
        return utf8;
    }();
    return table[byte];
}

inline std::string gpt2_spell(std::string_view bytes) {
    std::string out;
    for (char c : bytes) out += gpt2_spelling(static_cast<uint8_t>(c));
    return out;
}

// A gpt2 tokenizer's metadata: ids 0..255 the single bytes, then `words` (normal tokens,
// given as bytes and spelled here), then `specials` (control tokens, as text); merges given
// as pairs of byte strings. BOS is the first special, EOS the second.
struct TinyVocab {
    std::vector<std::string> words;
    std::vector<std::pair<std::string, std::string>> merges;
    std::vector<std::string> specials = {"<s>", "</s>"};
    std::vector<std::string> user_defined;

    int32_t id_of_word(std::string_view w) const {
        for (std::size_t i = 0; i < words.size(); ++i) {
            if (words[i] == w) return static_cast<int32_t>(256 + i);
        }
        return -1;
    }
    int32_t id_of_special(std::string_view s) const {
        for (std::size_t i = 0; i < specials.size(); ++i) {
            if (specials[i] == s) return static_cast<int32_t>(256 + words.size() + i);
        }
        return -1;
    }

    Metadata metadata(std::string source = {}) const {
        Metadata md(std::move(source));
        std::vector<std::string> tokens;
        std::vector<int32_t> types;
        for (int b = 0; b < 256; ++b) {
            tokens.push_back(gpt2_spelling(static_cast<uint8_t>(b)));
            types.push_back(1);
        }
        for (const std::string& w : words) {
            tokens.push_back(gpt2_spell(w));
            types.push_back(1);
        }
        for (const std::string& s : specials) {
            tokens.push_back(s);
            types.push_back(3);
        }
        for (const std::string& s : user_defined) {
            tokens.push_back(s);
            types.push_back(4);
        }
        std::vector<std::string> merge_texts;
        for (const auto& [l, r] : merges) merge_texts.push_back(gpt2_spell(l) + " " + gpt2_spell(r));
        md.set("tokenizer.ggml.model", "gpt2");
        md.set("tokenizer.ggml.pre", "llama-bpe");
        md.set("tokenizer.ggml.tokens", MetaValue::strings(tokens));
        md.set("tokenizer.ggml.token_type", MetaValue::array_of<int32_t>(types));
        md.set("tokenizer.ggml.merges", MetaValue::strings(merge_texts));
        md.set("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(256 + words.size()));
        md.set("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(256 + words.size() + 1));
        return md;
    }
};

// The byte values of `s` as token ids (what a byte-level vocabulary without merges gives).
inline std::vector<int32_t> byte_ids(std::string_view s) {
    std::vector<int32_t> ids;
    for (char c : s) ids.push_back(static_cast<uint8_t>(c));
    return ids;
}

inline void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Valid UTF-8 of `chars` random code points from all planes (no surrogates), weighted
// towards ASCII, whitespace and punctuation so that words and runs form.
inline std::string random_utf8(std::mt19937& rng, std::size_t chars) {
    std::string out;
    for (std::size_t i = 0; i < chars; ++i) {
        const unsigned kind = rng() % 8;
        char32_t cp;
        if (kind < 3) {
            cp = 0x20 + rng() % 0x5F;  // printable ASCII
        } else if (kind == 3) {
            cp = " \t\n\r"[rng() % 4];
        } else if (kind == 4) {
            cp = 0x80 + rng() % 0x780;  // two-byte range
        } else if (kind == 5) {
            do cp = 0x800 + rng() % 0xF800;
            while (cp >= 0xD800 && cp <= 0xDFFF);
        } else if (kind == 6) {
            cp = 0x10000 + rng() % 0x100000;
        } else {
            cp = rng() % 0x20;  // control characters, NUL included
        }
        append_utf8(out, cp);
    }
    return out;
}

// Arbitrary bytes, biased towards the bytes UTF-8 is made of so that valid and broken
// sequences both occur.
inline std::string random_bytes(std::mt19937& rng, std::size_t n) {
    static constexpr uint8_t kInteresting[] = {0x00, 0x0A, 0x20, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                                               0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF,
                                               0xF0, 0xF4, 0xF5, 0xFF, '<',  '|',  '\'', 's'};
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += static_cast<char>(rng() % 2 ? kInteresting[rng() % sizeof kInteresting] : rng() % 256);
    }
    return out;
}

}  // namespace lowbit::test

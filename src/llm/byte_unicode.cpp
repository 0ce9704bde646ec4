// GPT-2's bytes_to_unicode table, built once.
#include "byte_unicode.hpp"

#include <array>

namespace lowbit::llm {
namespace {

// Bytes GPT-2 keeps as themselves: '!'..'~', U+00A1..U+00AC, U+00AE..U+00FF.
constexpr bool spells_itself(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Table {
    std::array<char32_t, 256> codepoint{};
    std::array<std::string, 256> utf8{};
    std::array<int16_t, 0x144> byte_of{};  // code point -> byte, -1 for none; all spellings are below U+0144

    Table() {
        byte_of.fill(-1);
        char32_t next = 0x100;
        for (unsigned b = 0; b < 256; ++b) {
            const char32_t cp = spells_itself(b) ? b : next++;
            codepoint[b] = cp;
            byte_of[cp] = static_cast<int16_t>(b);
            if (cp < 0x80) {
                utf8[b] = std::string(1, static_cast<char>(cp));
            } else {
                utf8[b] = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
            }
        }
    }
};

const Table& table() {
    static const Table t;
    return t;
}

}  // namespace

char32_t byte_to_codepoint(uint8_t b) { return table().codepoint[b]; }

std::string_view byte_spelling(uint8_t b) { return table().utf8[b]; }

std::string spell_bytes(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) out += byte_spelling(static_cast<uint8_t>(c));
    return out;
}

std::optional<std::string> unspell_bytes(std::string_view text) {
    const Table& t = table();
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto b0 = static_cast<uint8_t>(text[i]);
        char32_t cp;
        if (b0 < 0x80) {
            cp = b0;
            i += 1;
        } else if (b0 >= 0xC2 && b0 <= 0xDF && i + 1 < text.size() &&
                   (static_cast<uint8_t>(text[i + 1]) & 0xC0) == 0x80) {
            cp = (char32_t{b0} & 0x1F) << 6 | (static_cast<uint8_t>(text[i + 1]) & 0x3F);
            i += 2;
        } else {
            return std::nullopt;  // invalid UTF-8, or a character beyond every spelling
        }
        if (cp >= t.byte_of.size() || t.byte_of[cp] < 0) return std::nullopt;
        out += static_cast<char>(t.byte_of[cp]);
    }
    return out;
}

}  // namespace lowbit::llm

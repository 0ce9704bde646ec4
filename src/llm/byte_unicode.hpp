// GPT-2's byte-level spelling: each of the 256 bytes is written as one printable Unicode
// character (printable ASCII and Latin-1 stand for themselves, the other 68 bytes for
// U+0100..U+0143 in byte order), so that vocabularies and merges can be stored as text with
// no spaces or control characters. Byte-level BPE vocabularies (GPT-2, Llama-3) spell every
// normal token this way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lowbit::llm {

// The character spelling byte `b`.
char32_t byte_to_codepoint(uint8_t b);
// The same character as UTF-8 (one or two bytes).
std::string_view byte_spelling(uint8_t b);
// `bytes` spelled out: the text a byte-level vocabulary stores for them.
std::string spell_bytes(std::string_view bytes);
// The bytes a spelled text stands for; nullopt when the text is not valid UTF-8 or holds a
// character that spells no byte.
std::optional<std::string> unspell_bytes(std::string_view text);

}  // namespace lowbit::llm

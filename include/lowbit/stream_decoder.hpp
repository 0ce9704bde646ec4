// Printing generated tokens as they come: a token may end in the middle of a UTF-8
// character (byte-level BPE splits rare characters and emoji into byte tokens), so the text
// of one token is not always printable on its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lowbit/tokenizer.hpp"

namespace lowbit {

// `bytes` as valid UTF-8: each ill-formed part becomes U+FFFD, one per maximal subpart (the
// Unicode Standard's recommended practice, as in the WHATWG TextDecoder and Python's
// errors="replace").
std::string repair_utf8(std::string_view bytes);

// Feed token ids one at a time; each push() returns the text that is safe to print now.
// Output is always valid UTF-8 and never splits a character: the bytes of an incomplete
// character at the end are held back until the character completes. Bytes that can no
// longer become a character are printed as U+FFFD at once. flush() at the end returns what
// was held back (an incomplete character becomes U+FFFD). The concatenated output equals
// repair_utf8(tokenizer.decode(ids)), which is decode(ids) itself when that is valid UTF-8.
class StreamDecoder {
public:
    // The tokenizer must outlive the decoder. `skip_control` as in Tokenizer::decode.
    explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_control = false)
        : tokenizer_(&tokenizer), skip_control_(skip_control) {}

    // Throws (and changes nothing) for an id outside the vocabulary.
    std::string push(int32_t id);
    std::string flush();
    // Bytes held back, waiting for the rest of a character (at most 3).
    std::size_t pending() const { return pending_.size(); }

private:
    const Tokenizer* tokenizer_;
    bool skip_control_;
    std::string pending_;
};

}  // namespace lowbit

// The text side of a model: GGUF's `gpt2` tokenizer (byte-level BPE with the Llama-3
// pre-tokenizer), built from a model's metadata. Behaviour, the regex and every decision
// are in docs/TOKENIZER.md.
//
// Text is bytes. encode() accepts any bytes: valid UTF-8 is split by the pre-tokenizer
// regex, and each run of bytes that is not valid UTF-8 becomes a word of its own, so
// decode(encode(x)) == x for every x (given a vocabulary with a token per byte, as every
// byte-level vocabulary has). decode() and piece() return raw bytes, which need not be valid
// UTF-8 (a character may be split across tokens); StreamDecoder (stream_decoder.hpp) turns
// a token stream into printable text.
//
// A Tokenizer is immutable after construction; encode/decode may run on many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit {

class Metadata;
namespace llm {
struct TokenizerState;  // src/llm/tokenizer_state.hpp
}

// GGUF's token types (`tokenizer.ggml.token_type`, llama.cpp's llama_token_type).
enum class TokenType : int32_t {
    undefined = 0,
    normal = 1,
    unknown = 2,
    control = 3,
    user_defined = 4,
    unused = 5,
    byte = 6,
};

class Tokenizer {
public:
    // Reads the `tokenizer.*` keys; anything missing, malformed or inconsistent is an Error
    // naming the key (and the token or merge index).
    explicit Tokenizer(const Metadata& metadata);
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;
    ~Tokenizer();

    // `parse_special`: special tokens (types control and user_defined) written in the text
    // become their ids, longest match first; otherwise they are ordinary text.
    std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const;
    // The concatenated pieces. `skip_control` leaves out control tokens (BOS, EOT, headers).
    std::string decode(std::span<const int32_t> ids, bool skip_control = false) const;
    // A token's bytes: normal tokens byte-decoded from their GPT-2 spelling, other types
    // their text as stored. Throws naming the id when it is out of range.
    const std::string& piece(int32_t id) const;

    int32_t vocab_size() const;
    int32_t bos() const;
    int32_t eos() const;
    std::optional<int32_t> eot() const;
    // `tokenizer.ggml.add_bos_token` (true when absent, as for Llama-3).
    bool add_bos() const;
    // EOS, EOT, EOM and the control tokens that end a turn in known chat formats.
    bool is_end_of_generation(int32_t id) const;
    std::vector<int32_t> end_of_generation_tokens() const;  // in increasing order
    TokenType token_type(int32_t id) const;
    // The id of the special (control or user-defined) token with exactly this text.
    std::optional<int32_t> find_special(std::string_view text) const;

    std::string_view type() const;  // `tokenizer.ggml.model`: always "gpt2"
    std::string_view pre() const;   // `tokenizer.ggml.pre` as stored, "llama3" when absent
    // `tokenizer.chat_template`, or nullptr when the model has none.
    const std::string* chat_template() const;

private:
    std::unique_ptr<const llm::TokenizerState> state_;
};

}  // namespace lowbit

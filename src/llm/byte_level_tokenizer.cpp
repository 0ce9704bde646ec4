// The synthetic byte-level vocabulary: bytes first, Llama-3's special tokens, fillers.
#include "lowbit/byte_level_tokenizer.hpp"

#include <limits>
#include <string>
#include <vector>

#include "byte_unicode.hpp"
#include "lowbit/error.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit {
namespace {

constexpr int64_t kLlama3VocabSize = 128256;
constexpr int64_t kLlama3FirstSpecial = 128000;

// Llama-3.1's special tokens, ids 128000..128255.
std::vector<std::string> llama3_special_tokens() {
    std::vector<std::string> t = {"<|begin_of_text|>",
                                  "<|end_of_text|>",
                                  "<|reserved_special_token_0|>",
                                  "<|reserved_special_token_1|>",
                                  "<|finetune_right_pad_id|>",
                                  "<|reserved_special_token_2|>",
                                  "<|start_header_id|>",
                                  "<|end_header_id|>",
                                  "<|eom_id|>",
                                  "<|eot_id|>",
                                  "<|python_tag|>"};
    for (int i = 3; i <= 247; ++i) t.push_back("<|reserved_special_token_" + std::to_string(i) + "|>");
    return t;
}

}  // namespace

void write_byte_level_tokenizer(Metadata& md, int64_t vocab_size) {
    constexpr int64_t kMinimum = 256 + 5;
    if (vocab_size < kMinimum || vocab_size > std::numeric_limits<int32_t>::max()) {
        fail("byte-level tokenizer: vocabulary size ", vocab_size, " is outside [", kMinimum, ", ",
             std::numeric_limits<int32_t>::max(), "] (256 bytes and 5 special tokens)");
    }
    const auto n = static_cast<std::size_t>(vocab_size);
    std::vector<std::string> tokens(n);
    std::vector<int32_t> types(n, static_cast<int32_t>(TokenType::unused));
    for (std::size_t i = 256; i < n; ++i) tokens[i] = "<|filler_" + std::to_string(i) + "|>";
    for (int b = 0; b < 256; ++b) {
        tokens[static_cast<std::size_t>(b)] = std::string(llm::byte_spelling(static_cast<uint8_t>(b)));
        types[static_cast<std::size_t>(b)] = static_cast<int32_t>(TokenType::normal);
    }

    const auto special = [&](int64_t id, std::string text) {
        tokens[static_cast<std::size_t>(id)] = std::move(text);
        types[static_cast<std::size_t>(id)] = static_cast<int32_t>(TokenType::control);
    };
    int64_t begin = 0, end = 0, eot = 0;
    if (vocab_size == kLlama3VocabSize) {
        const std::vector<std::string> specials = llama3_special_tokens();
        for (std::size_t i = 0; i < specials.size(); ++i) {
            special(kLlama3FirstSpecial + static_cast<int64_t>(i), specials[i]);
        }
        begin = 128000;
        end = 128001;
        eot = 128009;
    } else {
        begin = vocab_size - 5;
        end = vocab_size - 4;
        eot = vocab_size - 1;
        special(begin, "<|begin_of_text|>");
        special(end, "<|end_of_text|>");
        special(vocab_size - 3, "<|start_header_id|>");
        special(vocab_size - 2, "<|end_header_id|>");
        special(eot, "<|eot_id|>");
    }

    md.set("tokenizer.ggml.model", "gpt2");
    md.set("tokenizer.ggml.pre", "llama-bpe");
    md.set("tokenizer.ggml.tokens", MetaValue::strings(tokens));
    md.set("tokenizer.ggml.token_type", MetaValue::array_of<int32_t>(types));
    md.set("tokenizer.ggml.merges", MetaValue::strings({}));
    md.set("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(begin));
    md.set("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(end));
    md.set("tokenizer.ggml.eot_token_id", static_cast<uint32_t>(eot));
    md.set("tokenizer.ggml.add_bos_token", true);
}

}  // namespace lowbit

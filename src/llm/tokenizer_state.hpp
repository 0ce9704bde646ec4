// What a Tokenizer holds, shared by its loading (tokenizer_load.cpp) and its use
// (tokenizer.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bpe.hpp"
#include "lowbit/tokenizer.hpp"
#include "pretokenizer.hpp"
#include "special_tokens.hpp"

namespace lowbit {

class Metadata;

namespace llm {

// Heterogeneous lookup: find a std::string_view without building a std::string.
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using BytesToId = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct TokenizerState {
    explicit TokenizerState(const Metadata& metadata);  // tokenizer_load.cpp

    std::string source;  // the model file, for errors ("" for metadata built in memory)
    std::string pre;
    std::vector<std::string> pieces;  // bytes per token id
    std::vector<TokenType> types;
    // BPE works on normal tokens only, keyed by their bytes: special tokens come from the
    // special-token matcher alone, and other types are never produced.
    BytesToId normal_ids;
    std::array<int32_t, 256> byte_ids{};  // the normal token of each single byte, -1 if none
    BpeMerges merges;
    std::optional<SpecialTokens> specials;  // set once the vocabulary is read
    Pretokenizer pretokenizer;
    int32_t bos = 0;
    int32_t eos = 0;
    std::optional<int32_t> eot;
    bool add_bos = true;
    std::unordered_set<int32_t> end_of_generation;
    std::optional<std::string> chat_template;
};

}  // namespace llm
}  // namespace lowbit

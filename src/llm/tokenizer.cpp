// Encoding (special tokens, pre-tokenizer, BPE per word) and decoding.
#include "lowbit/tokenizer.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "lowbit/error.hpp"
#include "tokenizer_state.hpp"

namespace lowbit {
namespace {

// Encodes the words of one encode() call, remembering the words it had to run BPE on: text
// repeats words, and BPE is the expensive step. The cache lives for one call, so encode()
// stays const and thread-safe.
class WordEncoder {
public:
    explicit WordEncoder(const llm::TokenizerState& t) : t_(t) {}

    void encode(std::string_view word, std::vector<int32_t>& out) {
        // A word that is itself a token is that token (Llama-3's tokenizer.json sets
        // ignore_merges, and llama.cpp does the same for its Llama-3 pre-tokenizer).
        if (const auto it = t_.normal_ids.find(word); it != t_.normal_ids.end()) {
            out.push_back(it->second);
            return;
        }
        auto cached = cache_.find(word);
        if (cached == cache_.end()) {
            std::vector<int32_t> symbols;
            symbols.reserve(word.size());
            for (char c : word) {
                const int32_t id = t_.byte_ids[static_cast<uint8_t>(c)];
                if (id < 0) {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<uint8_t>(c)));
                    fail(t_.source.empty() ? "" : t_.source + ": ", "tokenizer: the vocabulary has no token for byte ",
                         hex);
                }
                symbols.push_back(id);
            }
            t_.merges.merge(symbols);
            cached = cache_.emplace(std::string(word), std::move(symbols)).first;
        }
        out.insert(out.end(), cached->second.begin(), cached->second.end());
    }

private:
    const llm::TokenizerState& t_;
    std::unordered_map<std::string, std::vector<int32_t>, llm::StringHash, std::equal_to<>> cache_;
};

}  // namespace

Tokenizer::Tokenizer(const Metadata& metadata) : state_(std::make_unique<const llm::TokenizerState>(metadata)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
    const llm::TokenizerState& t = *state_;
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 2);
    if (add_bos) out.push_back(t.bos);
    WordEncoder words(t);
    llm::Regex::Matcher word_matcher(t.pretokenizer.regex());
    const auto plain = [&](std::string_view segment) {
        t.pretokenizer.split(segment, word_matcher, [&](std::string_view word) { words.encode(word, out); });
    };
    if (parse_special) {
        t.specials->split(text, plain, [&](int32_t id) { out.push_back(id); });
    } else {
        plain(text);
    }
    return out;
}

const std::string& Tokenizer::piece(int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= state_->pieces.size()) {
        fail(state_->source.empty() ? "" : state_->source + ": ", "tokenizer: token id ", id,
             " is out of range (the vocabulary has ", state_->pieces.size(), " tokens)");
    }
    return state_->pieces[static_cast<std::size_t>(id)];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_control) const {
    std::string out;
    for (const int32_t id : ids) {
        const std::string& p = piece(id);
        if (skip_control && state_->types[static_cast<std::size_t>(id)] == TokenType::control) continue;
        out += p;
    }
    return out;
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(state_->pieces.size()); }
int32_t Tokenizer::bos() const { return state_->bos; }
int32_t Tokenizer::eos() const { return state_->eos; }
std::optional<int32_t> Tokenizer::eot() const { return state_->eot; }
bool Tokenizer::add_bos() const { return state_->add_bos; }

bool Tokenizer::is_end_of_generation(int32_t id) const { return state_->end_of_generation.count(id) != 0; }

std::vector<int32_t> Tokenizer::end_of_generation_tokens() const {
    std::vector<int32_t> ids(state_->end_of_generation.begin(), state_->end_of_generation.end());
    std::sort(ids.begin(), ids.end());
    return ids;
}

TokenType Tokenizer::token_type(int32_t id) const {
    piece(id);  // the range check and its error
    return state_->types[static_cast<std::size_t>(id)];
}

std::optional<int32_t> Tokenizer::find_special(std::string_view text) const { return state_->specials->find(text); }

std::string_view Tokenizer::type() const { return "gpt2"; }
std::string_view Tokenizer::pre() const { return state_->pre; }

const std::string* Tokenizer::chat_template() const {
    return state_->chat_template ? &*state_->chat_template : nullptr;
}

}  // namespace lowbit

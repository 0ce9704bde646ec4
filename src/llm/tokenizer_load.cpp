// Building a Tokenizer from GGUF metadata: every `tokenizer.*` key is checked before use, and
// each failure names the key and, for arrays, the index.
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "../io/utf8.hpp"
#include "byte_unicode.hpp"
#include "lowbit/error.hpp"
#include "lowbit/metadata.hpp"
#include "tokenizer_state.hpp"

namespace lowbit {
namespace {

constexpr std::string_view kModel = "tokenizer.ggml.model";
constexpr std::string_view kPre = "tokenizer.ggml.pre";
constexpr std::string_view kTokens = "tokenizer.ggml.tokens";
constexpr std::string_view kTokenType = "tokenizer.ggml.token_type";
constexpr std::string_view kMerges = "tokenizer.ggml.merges";
constexpr std::string_view kBos = "tokenizer.ggml.bos_token_id";
constexpr std::string_view kEos = "tokenizer.ggml.eos_token_id";
constexpr std::string_view kEot = "tokenizer.ggml.eot_token_id";
constexpr std::string_view kEom = "tokenizer.ggml.eom_token_id";
constexpr std::string_view kAddBos = "tokenizer.ggml.add_bos_token";
constexpr std::string_view kChatTemplate = "tokenizer.chat_template";

// The `tokenizer.ggml.pre` values that name the Llama-3 pre-tokenizer (llama.cpp's LLAMA3
// group of the model families lowbit runs). Other pre-tokenizers use other regexes, and
// tokenizing with the wrong one would be silently wrong, so they are refused.
constexpr std::string_view kLlama3PreNames[] = {"llama-bpe", "llama3", "llama-v3"};

// Control tokens that end a turn in the chat formats of common model families; generation
// stops on them even when the file names another EOS/EOT.
constexpr std::string_view kEndOfTurnTexts[] = {"<|eot_id|>",    "<|eom_id|>", "<|end_of_text|>", "<|im_end|>",
                                                "<|endoftext|>", "<|end|>",    "<end_of_turn>"};

class Loader {
public:
    Loader(const Metadata& md, llm::TokenizerState& t)
        : md_(md), t_(t), at_(md.source().empty() ? std::string() : md.source() + ": ") {}

    void run() {
        read_model();
        read_vocabulary();
        read_merges();
        read_special_ids();
        t_.specials.emplace(special_list_);
        if (const std::string* tmpl = md_.find_string(kChatTemplate)) t_.chat_template = *tmpl;
    }

private:
    void read_model() {
        const std::string& model = md_.get_string(kModel);
        if (model != "gpt2") {
            fail_as(ErrorCode::bad_file, at_, kModel, " is '", model, "': lowbit reads only 'gpt2' tokenizers (byte-level BPE)");
        }
        const std::string* pre = md_.find_string(kPre);
        t_.pre = pre ? *pre : "llama3";
        for (std::string_view name : kLlama3PreNames) {
            if (t_.pre == name) return;
        }
        fail_as(ErrorCode::bad_file, at_, kPre, " is '", t_.pre,
             "': lowbit implements only the Llama-3 pre-tokenizer (llama-bpe, llama3, llama-v3)");
    }

    const MetaArray& string_array(std::string_view key) {
        const MetaArray& a = md_.get_array(key);
        if (!a.items.empty() && a.type != MetaType::string) {
            fail_as(ErrorCode::bad_file, at_, key, ": expected an array of strings, found an array of ", meta_type_name(a.type));
        }
        return a;
    }

    void read_vocabulary() {
        const MetaArray& tokens = string_array(kTokens);
        const MetaArray& types = md_.get_array(kTokenType);
        const std::size_t n = tokens.items.size();
        if (n == 0) fail_as(ErrorCode::bad_file, at_, kTokens, " is empty");
        if (n > static_cast<std::size_t>(std::numeric_limits<int32_t>::max())) {
            fail_as(ErrorCode::bad_file, at_, kTokens, " has ", n, " tokens, more than token ids (int32) can number");
        }
        if (types.items.size() != n) {
            fail_as(ErrorCode::bad_file, at_, kTokenType, " has ", types.items.size(), " entries for ", n, " tokens");
        }
        t_.pieces.resize(n);
        t_.types.resize(n);
        t_.normal_ids.reserve(n);
        spelled_ids_.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const auto id = static_cast<int32_t>(i);
            const std::string& text = *tokens.items[i].as_string();
            const std::optional<int64_t> type = types.items[i].to_int();
            if (!types.items[i].is_integer() || !type || *type < 0 || *type > 6) {
                fail_as(ErrorCode::bad_file, at_, kTokenType, "[", i, "]: not a GGUF token type (an integer 0..6)");
            }
            t_.types[i] = static_cast<TokenType>(*type);
            if (t_.types[i] == TokenType::normal) {
                std::optional<std::string> bytes = llm::unspell_bytes(text);
                if (!bytes || bytes->empty()) {
                    fail_as(ErrorCode::bad_file, at_, kTokens, "[", i, "] '", text,
                         "': a normal token must be non-empty byte-level text (GPT-2's byte spelling)");
                }
                t_.normal_ids.emplace(*bytes, id);  // a repeated token keeps its first id
                spelled_ids_.emplace(text, id);
                t_.pieces[i] = std::move(*bytes);
                continue;
            }
            t_.pieces[i] = text;
            const bool special = t_.types[i] == TokenType::control || t_.types[i] == TokenType::user_defined;
            if (special && !text.empty()) {
                if (io::find_invalid_utf8(text)) fail_as(ErrorCode::bad_file, at_, kTokens, "[", i, "]: special token is not valid UTF-8");
                special_list_.emplace_back(text, id);
            }
        }
        for (int b = 0; b < 256; ++b) {
            const char byte = static_cast<char>(b);
            const auto it = t_.normal_ids.find(std::string_view(&byte, 1));
            t_.byte_ids[b] = it == t_.normal_ids.end() ? -1 : it->second;
        }
    }

    // `what`: "" for the merge's two parts, "the merged token " for its result.
    int32_t normal_token(std::size_t rank, const std::string& merge, std::string_view spelled, const char* what = "") {
        const auto it = spelled_ids_.find(spelled);
        if (it == spelled_ids_.end()) {
            fail_as(ErrorCode::bad_file, at_, kMerges, "[", rank, "] '", merge, "': ", what, "'", spelled,
                 "' is not a normal token of the vocabulary");
        }
        return it->second;
    }

    void read_merges() {
        const MetaArray& merges = string_array(kMerges);
        if (merges.items.size() > static_cast<std::size_t>(std::numeric_limits<int32_t>::max())) {
            fail_as(ErrorCode::bad_file, at_, kMerges, " has ", merges.items.size(), " merges, more than ranks (int32) can number");
        }
        t_.merges.reserve(merges.items.size());
        std::string joined;
        for (std::size_t r = 0; r < merges.items.size(); ++r) {
            const std::string& m = *merges.items[r].as_string();
            // Spelled tokens never hold a space (GPT-2 spells it U+0120), so exactly one
            // space separates the two tokens.
            const std::size_t space = m.find(' ');
            if (space == std::string::npos || space == 0 || space + 1 == m.size() ||
                m.find(' ', space + 1) != std::string::npos) {
                fail_as(ErrorCode::bad_file, at_, kMerges, "[", r, "] '", m, "': expected two tokens separated by one space");
            }
            const std::string_view left(m.data(), space);
            const std::string_view right(m.data() + space + 1, m.size() - space - 1);
            joined.assign(left);
            joined += right;
            // One at a time, so that a missing part is reported before the missing result.
            const int32_t left_id = normal_token(r, m, left);
            const int32_t right_id = normal_token(r, m, right);
            t_.merges.add(left_id, right_id, normal_token(r, m, joined, "the merged token "));
        }
    }

    int32_t token_id(std::string_view key, uint64_t value) const {
        if (value >= t_.pieces.size()) {
            fail_as(ErrorCode::bad_file, at_, key, " is ", value, ": not a token id (the vocabulary has ", t_.pieces.size(), " tokens)");
        }
        return static_cast<int32_t>(value);
    }

    std::optional<int32_t> optional_id(std::string_view key) const {
        if (const auto v = md_.find_uint(key)) return token_id(key, *v);
        return std::nullopt;
    }

    void read_special_ids() {
        t_.bos = token_id(kBos, md_.get_uint(kBos));
        t_.eos = token_id(kEos, md_.get_uint(kEos));
        t_.eot = optional_id(kEot);
        if (!t_.eot) {
            // Older Llama-3 conversions have no eot_token_id; llama.cpp finds the token by its text.
            for (const auto& [text, id] : special_list_) {
                if (text == "<|eot_id|>" && t_.types[id] == TokenType::control) {
                    t_.eot = id;
                    break;
                }
            }
        }
        if (md_.contains(kAddBos)) t_.add_bos = md_.get_bool(kAddBos);

        t_.end_of_generation.insert(t_.eos);
        if (t_.eot) t_.end_of_generation.insert(*t_.eot);
        if (const auto eom = optional_id(kEom)) t_.end_of_generation.insert(*eom);
        for (const auto& [text, id] : special_list_) {
            if (t_.types[id] != TokenType::control) continue;
            for (std::string_view end : kEndOfTurnTexts) {
                if (text == end) t_.end_of_generation.insert(id);
            }
        }
    }

    const Metadata& md_;
    llm::TokenizerState& t_;
    std::string at_;              // "<file>: " or ""
    llm::BytesToId spelled_ids_;  // normal tokens by their spelled text, for the merges
    std::vector<std::pair<std::string, int32_t>> special_list_;
};

}  // namespace

llm::TokenizerState::TokenizerState(const Metadata& metadata) : source(metadata.source()) {
    Loader(metadata, *this).run();
}

}  // namespace lowbit

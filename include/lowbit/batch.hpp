// A batch: the tokens one decode() call runs, from any number of sequences (in the spirit of
// llama.cpp's llama_batch). Prefill chunks of new requests and the next token of sequences
// that are generating mix freely; every token says which sequence and position it is, and
// whether the caller wants its logits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lowbit::llm {

struct BatchToken {
    int32_t token = 0;
    int32_t sequence = 0;  // a KvCache sequence id
    int64_t position = 0;  // its position in the sequence (0-based)
    bool logits = false;   // decode() returns this token's logits
};

class Batch {
public:
    void add(int32_t token, int32_t sequence, int64_t position, bool logits) {
        tokens_.push_back({token, sequence, position, logits});
    }
    // `tokens` of one sequence at positions first, first + 1, ...; logits for the last one only
    // (or every one).
    void add_sequence(std::span<const int32_t> tokens, int32_t sequence, int64_t first, bool all_logits = false) {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            add(tokens[i], sequence, first + static_cast<int64_t>(i), all_logits || i + 1 == tokens.size());
        }
    }
    void clear() { tokens_.clear(); }

    std::span<const BatchToken> tokens() const { return tokens_; }
    int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
    bool empty() const { return tokens_.empty(); }
    int64_t logits_count() const {
        int64_t n = 0;
        for (const BatchToken& t : tokens_) n += t.logits ? 1 : 0;
        return n;
    }

private:
    std::vector<BatchToken> tokens_;
};

}  // namespace lowbit::llm

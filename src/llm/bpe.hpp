// Byte-level BPE merging: the merge table (pair of token ids -> rank and merged id) and the
// merge loop for one word. Lower ranks merge first; among equal ranks the leftmost pair
// merges first, as in GPT-2, Hugging Face tokenizers and llama.cpp.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace lowbit::llm {

class BpeMerges {
public:
    void reserve(std::size_t n) { pairs_.reserve(n); }
    // The next rank: `left` followed by `right` merges into `result`. A pair that is already
    // in the table keeps its first (lower) rank.
    void add(int32_t left, int32_t right, int32_t result);
    std::size_t size() const { return pairs_.size(); }

    // Applies merges to `symbols` (a word's tokens, initially one per byte) until no adjacent
    // pair has a rank. O(n log n) in the word's length.
    void merge(std::vector<int32_t>& symbols) const;

private:
    struct Entry {
        int32_t rank;
        int32_t result;
    };
    static uint64_t key(int32_t left, int32_t right) {
        return uint64_t{static_cast<uint32_t>(left)} << 32 | static_cast<uint32_t>(right);
    }
    const Entry* find(int32_t left, int32_t right) const;

    std::unordered_map<uint64_t, Entry> pairs_;
    int32_t next_rank_ = 0;
};

}  // namespace lowbit::llm

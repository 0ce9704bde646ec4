// The KV cache of many sequences: each sequence's keys and values, per layer and position, in
// pages of kPagePositions positions taken from a shared pool as the sequence grows (nothing is
// allocated for positions a sequence never reaches). K and V are f16 by default (as
// llama.cpp's), or f32 where exact agreement with a float reference matters.
//
// Sequences are small integers handed out by allocate(); a sequence's length is the number of
// positions it holds, and decode() appends at that length. Not thread-safe: one caller (a
// server's scheduling loop, a CLI) owns a cache and its decode() calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "lowbit/model.hpp"

namespace lowbit::llm {

enum class KvCacheType { f16, f32 };

struct KvCacheOptions {
    int64_t max_positions = 4096;  // per sequence: its context size
    int max_sequences = 1;
    KvCacheType type = KvCacheType::f16;
};

class KvCache {
public:
    static constexpr int64_t kPagePositions = 64;

    KvCache(const Model& model, const KvCacheOptions& options);
    ~KvCache();
    KvCache(const KvCache&) = delete;
    KvCache& operator=(const KvCache&) = delete;

    // A new, empty sequence. Throws (bad_argument) when max_sequences are in use.
    int allocate();
    // Forgets the sequence; its pages go back to the cache's pool for other sequences.
    void free(int sequence);
    // Keeps positions [0, n) of the sequence (n <= length).
    void truncate(int sequence, int64_t n);
    // `dst` becomes the first n positions of `src` (its own are dropped); both allocated.
    void copy_prefix(int src, int dst, int64_t n);

    int64_t length(int sequence) const;
    bool in_use(int sequence) const;
    int64_t max_positions() const { return options_.max_positions; }
    int max_sequences() const { return options_.max_sequences; }
    KvCacheType type() const { return options_.type; }
    // Memory held in pages (in use and pooled).
    std::size_t bytes_allocated() const;

    // For decode(): pages for positions [0, n) of the sequence (throws context_full past
    // max_positions), and the length after a decode step.
    void reserve(int sequence, int64_t n);
    void set_length(int sequence, int64_t n);
    // Layer `layer`'s K (or V) rows of one page: kPagePositions rows of kv_dim elements, each
    // `element_bytes` wide.
    uint8_t* keys(int sequence, int64_t page, int64_t layer);
    uint8_t* values(int sequence, int64_t page, int64_t layer);
    const uint8_t* keys(int sequence, int64_t page, int64_t layer) const;
    const uint8_t* values(int sequence, int64_t page, int64_t layer) const;
    int64_t kv_dim() const { return kv_dim_; }
    std::size_t element_bytes() const { return options_.type == KvCacheType::f32 ? 4 : 2; }

private:
    struct Sequence {
        bool in_use = false;
        int64_t length = 0;
        std::vector<uint8_t*> pages;
    };
    Sequence& checked(int sequence, const char* what);
    const Sequence& checked(int sequence, const char* what) const;
    uint8_t* take_page();
    void release_pages(Sequence& s, std::size_t keep);
    std::size_t layer_bytes() const { return static_cast<std::size_t>(kPagePositions * kv_dim_) * element_bytes(); }
    std::size_t page_bytes() const { return 2 * static_cast<std::size_t>(n_layer_) * layer_bytes(); }

    KvCacheOptions options_;
    int64_t n_layer_;
    int64_t kv_dim_;
    std::vector<Sequence> sequences_;
    std::vector<std::unique_ptr<uint8_t[]>> storage_;  // every page ever made
    std::vector<uint8_t*> free_pages_;
};

}  // namespace lowbit::llm

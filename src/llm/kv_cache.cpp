#include "lowbit/kv_cache.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "lowbit/error.hpp"

namespace lowbit::llm {

KvCache::KvCache(const Model& model, const KvCacheOptions& options)
    : options_(options), n_layer_(model.hp().n_layer), kv_dim_(model.hp().n_head_kv * model.hp().head_dim) {
    if (options.max_positions < 1 || options.max_positions > (int64_t{1} << 20)) {
        fail_field("context", "context size ", options.max_positions, " is out of range (1 .. 1048576)");
    }
    if (options.max_sequences < 1 || options.max_sequences > 4096) {
        fail_field("sequences", "sequence count ", options.max_sequences, " is out of range (1 .. 4096)");
    }
    sequences_.resize(static_cast<std::size_t>(options.max_sequences));
}

KvCache::~KvCache() = default;

KvCache::Sequence& KvCache::checked(int sequence, const char* what) {
    return const_cast<Sequence&>(static_cast<const KvCache*>(this)->checked(sequence, what));
}

const KvCache::Sequence& KvCache::checked(int sequence, const char* what) const {
    if (sequence < 0 || sequence >= options_.max_sequences) {
        fail_field("sequence", what, ": sequence ", sequence, " is out of range (0 .. ", options_.max_sequences - 1,
                   ")");
    }
    const Sequence& s = sequences_[static_cast<std::size_t>(sequence)];
    if (!s.in_use) fail_field("sequence", what, ": sequence ", sequence, " is not allocated");
    return s;
}

int KvCache::allocate() {
    for (std::size_t i = 0; i < sequences_.size(); ++i) {
        if (!sequences_[i].in_use) {
            sequences_[i].in_use = true;
            sequences_[i].length = 0;
            return static_cast<int>(i);
        }
    }
    fail_field("sequences", "KV cache: all ", options_.max_sequences, " sequences are in use");
}

void KvCache::release_pages(Sequence& s, std::size_t keep) {
    while (s.pages.size() > keep) {
        free_pages_.push_back(s.pages.back());
        s.pages.pop_back();
    }
}

void KvCache::free(int sequence) {
    Sequence& s = checked(sequence, "free");
    release_pages(s, 0);
    s.length = 0;
    s.in_use = false;
}

void KvCache::truncate(int sequence, int64_t n) {
    Sequence& s = checked(sequence, "truncate");
    if (n < 0 || n > s.length) fail_field("position", "truncate: position ", n, " is outside 0..", s.length);
    s.length = n;
    release_pages(s, static_cast<std::size_t>((n + kPagePositions - 1) / kPagePositions));
}

uint8_t* KvCache::take_page() {
    if (!free_pages_.empty()) {
        uint8_t* p = free_pages_.back();
        free_pages_.pop_back();
        return p;
    }
    try {
        storage_.push_back(std::make_unique_for_overwrite<uint8_t[]>(page_bytes()));
    } catch (const std::bad_alloc&) {
        fail_as(ErrorCode::out_of_memory, "KV cache: out of memory for a page of ", page_bytes(), " bytes (",
                storage_.size(), " pages in use)");
    }
    return storage_.back().get();
}

void KvCache::reserve(int sequence, int64_t n) {
    Sequence& s = checked(sequence, "decode");
    if (n > options_.max_positions) {
        fail_as(ErrorCode::context_full, "context is full: sequence ", sequence, " needs ", n,
                " positions, more than the context size ", options_.max_positions);
    }
    const auto pages = static_cast<std::size_t>((n + kPagePositions - 1) / kPagePositions);
    while (s.pages.size() < pages) s.pages.push_back(take_page());
}

void KvCache::set_length(int sequence, int64_t n) {
    Sequence& s = checked(sequence, "decode");
    s.length = n;
}

void KvCache::copy_prefix(int src, int dst, int64_t n) {
    const Sequence& from = checked(src, "copy_prefix");
    checked(dst, "copy_prefix");
    if (n < 0 || n > from.length)
        fail_field("position", "copy_prefix: ", n, " positions, but sequence ", src, " holds ", from.length);
    if (src == dst) {
        truncate(dst, n);
        return;
    }
    Sequence& to = sequences_[static_cast<std::size_t>(dst)];
    to.length = 0;
    release_pages(to, 0);
    reserve(dst, n);
    const int64_t pages = (n + kPagePositions - 1) / kPagePositions;
    for (int64_t p = 0; p < pages; ++p) {
        const int64_t rows = std::min(kPagePositions, n - p * kPagePositions);
        const std::size_t bytes = static_cast<std::size_t>(rows * kv_dim_) * element_bytes();
        for (int64_t l = 0; l < n_layer_; ++l) {
            std::memcpy(keys(dst, p, l), keys(src, p, l), bytes);
            std::memcpy(values(dst, p, l), values(src, p, l), bytes);
        }
    }
    to.length = n;
}

int64_t KvCache::length(int sequence) const { return checked(sequence, "length").length; }

bool KvCache::in_use(int sequence) const {
    return sequence >= 0 && sequence < options_.max_sequences && sequences_[static_cast<std::size_t>(sequence)].in_use;
}

std::size_t KvCache::bytes_allocated() const { return storage_.size() * page_bytes(); }

uint8_t* KvCache::keys(int sequence, int64_t page, int64_t layer) {
    return sequences_[static_cast<std::size_t>(sequence)].pages[static_cast<std::size_t>(page)] +
           static_cast<std::size_t>(layer) * layer_bytes();
}
uint8_t* KvCache::values(int sequence, int64_t page, int64_t layer) {
    return keys(sequence, page, layer) + static_cast<std::size_t>(n_layer_) * layer_bytes();
}
const uint8_t* KvCache::keys(int sequence, int64_t page, int64_t layer) const {
    return const_cast<KvCache*>(this)->keys(sequence, page, layer);
}
const uint8_t* KvCache::values(int sequence, int64_t page, int64_t layer) const {
    return const_cast<KvCache*>(this)->values(sequence, page, layer);
}

}  // namespace lowbit::llm

// The merge loop: a doubly linked list over the word's symbols and a min-heap of candidate
// pairs. Merging changes only the neighbours of the merged pair, so candidates are pushed
// for those two new pairs and stale heap entries are recognized (and dropped) when popped.
#include "bpe.hpp"

#include <queue>
#include <tuple>

namespace lowbit::llm {

void BpeMerges::add(int32_t left, int32_t right, int32_t result) {
    pairs_.try_emplace(key(left, right), Entry{next_rank_, result});
    ++next_rank_;
}

const BpeMerges::Entry* BpeMerges::find(int32_t left, int32_t right) const {
    const auto it = pairs_.find(key(left, right));
    return it == pairs_.end() ? nullptr : &it->second;
}

void BpeMerges::merge(std::vector<int32_t>& symbols) const {
    const auto n = static_cast<int32_t>(symbols.size());
    if (n < 2 || pairs_.empty()) return;

    struct Node {
        int32_t id;    // -1 once merged into its left neighbour
        int32_t prev;  // -1 at the start
        int32_t next;  // -1 at the end
    };
    std::vector<Node> nodes(static_cast<std::size_t>(n));
    for (int32_t i = 0; i < n; ++i) nodes[i] = {symbols[i], i - 1, i + 1 < n ? i + 1 : -1};

    // (rank, left position, right position, left id, right id): the heap pops the lowest rank,
    // then the leftmost pair. A merged node keeps its left position, so positions stay in text order.
    using Candidate = std::tuple<int32_t, int32_t, int32_t, int32_t, int32_t>;
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    const auto consider = [&](int32_t left) {
        if (left < 0) return;
        const int32_t right = nodes[left].next;
        if (right < 0) return;
        if (const Entry* e = find(nodes[left].id, nodes[right].id)) {
            heap.emplace(e->rank, left, right, nodes[left].id, nodes[right].id);
        }
    };
    for (int32_t i = 0; i + 1 < n; ++i) consider(i);

    while (!heap.empty()) {
        const auto [rank, left, right, left_id, right_id] = heap.top();
        heap.pop();
        // Stale when either side has merged since: the pair is no longer adjacent or no
        // longer holds these ids. (A pair that holds them again is the same merge, still valid.)
        if (nodes[left].next != right || nodes[left].id != left_id || nodes[right].id != right_id) continue;
        nodes[left].id = find(left_id, right_id)->result;
        nodes[left].next = nodes[right].next;
        if (nodes[right].next >= 0) nodes[nodes[right].next].prev = left;
        nodes[right].id = -1;
        consider(nodes[left].prev);
        consider(left);
    }

    symbols.clear();
    for (int32_t i = 0; i >= 0; i = nodes[i].next) symbols.push_back(nodes[i].id);
}

}  // namespace lowbit::llm

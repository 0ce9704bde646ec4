#include "lowbit/sequence.hpp"

#include <algorithm>
#include <cmath>

#include "lowbit/error.hpp"

namespace lowbit::llm {

std::string_view stop_reason_name(StopReason reason) {
    switch (reason) {
        case StopReason::end_of_generation:
            return "end_of_generation";
        case StopReason::stop_string:
            return "stop_string";
        case StopReason::budget:
            return "budget";
        case StopReason::context_full:
            return "context_full";
        case StopReason::cancelled:
            return "cancelled";
    }
    return "?";
}

Sequence::Sequence(const Tokenizer& tokenizer, std::span<const int32_t> prompt, const GenerateOptions& options,
                   int64_t positions_left)
    : tokenizer_(tokenizer),
      options_(options),
      prompt_(prompt.begin(), prompt.end()),
      history_(prompt.begin(), prompt.end()),
      positions_left_(positions_left),
      sampler_(options.sampling),  // validates the settings
      decoder_(tokenizer, /*skip_control=*/true) {
    if (prompt.empty()) fail_field("prompt", "the prompt has no tokens");
    if (static_cast<int64_t>(prompt.size()) > positions_left) {
        fail_as(ErrorCode::context_full, "context is full: the prompt has ", prompt.size(),
                " tokens, the context has room for ", positions_left);
    }
    for (int32_t id : prompt_) {
        if (id < 0 || id >= tokenizer.vocab_size()) {
            fail_field("prompt", "prompt token id ", id, " is out of range (vocabulary of ", tokenizer.vocab_size(),
                       ")");
        }
    }
    for (const std::string& s : options_.stop) longest_stop_ = std::max(longest_stop_, s.size());
    if (options_.ignore_eos) masked_ = tokenizer.end_of_generation_tokens();
}

std::string Sequence::filter(std::string_view text, bool& stopped) {
    pending_ += text;
    std::size_t first = std::string::npos;
    for (const std::string& s : options_.stop) {
        if (s.empty()) continue;
        first = std::min(first, pending_.find(s));
    }
    if (first != std::string::npos) {
        stopped = true;
        std::string out = pending_.substr(0, first);
        pending_.clear();
        return out;
    }
    // keep the last longest-1 bytes, cut at a UTF-8 character boundary
    if (longest_stop_ <= 1) return std::exchange(pending_, {});
    if (pending_.size() < longest_stop_) return {};
    std::size_t cut = pending_.size() - (longest_stop_ - 1);
    while (cut > 0 && (static_cast<unsigned char>(pending_[cut]) & 0xC0) == 0x80) --cut;
    std::string out = pending_.substr(0, cut);
    pending_.erase(0, cut);
    return out;
}

// Ends the sequence: what the decoder and the filter still hold is released (unless it
// completes a stop string).
std::string Sequence::finish(StopReason reason) {
    bool stopped = false;
    std::string out = filter(decoder_.flush(), stopped);
    if (!stopped) out += std::exchange(pending_, {});
    done_ = true;
    reason_ = stopped ? StopReason::stop_string : reason;
    text_ += out;
    return out;
}

StepResult Sequence::step(std::span<float> logits) {
    if (done_) fail_field("sequence", "step: the sequence is done (", stop_reason_name(reason_), ")");
    StepResult r;
    if (cancel_.load(std::memory_order_relaxed)) {
        r.text = finish(StopReason::cancelled);
    } else if (options_.n_predict >= 0 && static_cast<int64_t>(generated_.size()) >= options_.n_predict) {
        r.text = finish(StopReason::budget);
    } else {
        for (int32_t id : masked_) {
            if (static_cast<std::size_t>(id) < logits.size()) logits[static_cast<std::size_t>(id)] = -INFINITY;
        }
        r.token = sampler_.sample(logits, history_);
        if (tokenizer_.is_end_of_generation(r.token)) {
            r.text = finish(StopReason::end_of_generation);
        } else {
            generated_.push_back(r.token);
            history_.push_back(r.token);
            bool stopped = false;
            r.text = filter(decoder_.push(r.token), stopped);
            text_ += r.text;
            const auto evaluated = static_cast<int64_t>(prompt_.size() + generated_.size()) - 1;
            if (stopped) {
                done_ = true;
                reason_ = StopReason::stop_string;
            } else if (evaluated >= positions_left_) {
                r.text += finish(StopReason::context_full);
            } else if (options_.n_predict >= 0 && static_cast<int64_t>(generated_.size()) >= options_.n_predict) {
                r.text += finish(StopReason::budget);
            }
        }
    }
    r.done = done_;
    r.reason = reason_;
    return r;
}

}  // namespace lowbit::llm

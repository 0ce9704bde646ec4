#include "lowbit/generate.hpp"

#include <algorithm>
#include <chrono>

#include "lowbit/error.hpp"
#include "lowbit/stream_decoder.hpp"

namespace lowbit::llm {
namespace {

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Text waits here until it can no longer be part of a stop string.
class StopFilter {
public:
    explicit StopFilter(const std::vector<std::string>& stop) : stop_(stop) {
        for (const std::string& s : stop_) longest_ = std::max(longest_, s.size());
    }

    // Adds text; returns what is safe to print now. Sets `stopped` when a stop string appeared
    // (the text before it is returned, the rest dropped).
    std::string add(std::string_view text, bool& stopped) {
        pending_ += text;
        std::size_t first = std::string::npos;
        for (const std::string& s : stop_) {
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
        if (longest_ <= 1) return std::exchange(pending_, {});
        if (pending_.size() < longest_) return {};
        std::size_t cut = pending_.size() - (longest_ - 1);
        while (cut > 0 && (static_cast<unsigned char>(pending_[cut]) & 0xC0) == 0x80) --cut;
        std::string out = pending_.substr(0, cut);
        pending_.erase(0, cut);
        return out;
    }
    std::string flush() { return std::exchange(pending_, {}); }

private:
    const std::vector<std::string>& stop_;
    std::size_t longest_ = 0;
    std::string pending_;
};

}  // namespace

std::string_view stop_reason_name(StopReason reason) {
    switch (reason) {
        case StopReason::end_of_generation: return "end_of_generation";
        case StopReason::stop_string: return "stop_string";
        case StopReason::budget: return "budget";
        case StopReason::context_full: return "context_full";
    }
    return "?";
}

GenerateResult generate(Context& ctx, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateOptions& options, const std::function<void(std::string_view)>& on_text) {
    GenerateResult result;
    if (prompt.empty()) fail("generate: the prompt has no tokens");
    Sampler sampler(options.sampling);
    StreamDecoder decoder(tokenizer, /*skip_control=*/true);
    StopFilter filter(options.stop);
    auto emit = [&](const std::string& text) {
        if (text.empty()) return;
        result.text += text;
        if (on_text) on_text(text);
    };

    std::vector<int32_t> history(prompt.begin(), prompt.end());
    std::vector<float> logits;
    const auto start = Clock::now();
    ctx.eval(prompt, logits);
    const auto prefilled = Clock::now();
    result.stats.prompt_tokens = static_cast<int64_t>(prompt.size());
    result.stats.prompt_seconds = seconds(start, prefilled);

    Clock::time_point first_token{};
    bool stopped = false;
    while (true) {
        if (options.n_predict >= 0 && static_cast<int64_t>(result.tokens.size()) >= options.n_predict) {
            result.reason = StopReason::budget;
            break;
        }
        const int32_t next = sampler.sample(logits, history);
        if (result.tokens.empty()) {
            first_token = Clock::now();
            result.stats.first_token_seconds = seconds(start, first_token);
        }
        if (tokenizer.is_end_of_generation(next)) {
            result.reason = StopReason::end_of_generation;
            break;
        }
        result.tokens.push_back(next);
        history.push_back(next);
        emit(filter.add(decoder.push(next), stopped));
        if (stopped) {
            result.reason = StopReason::stop_string;
            break;
        }
        if (ctx.n_past() >= ctx.n_ctx()) {
            result.reason = StopReason::context_full;
            break;
        }
        ctx.eval(std::span<const int32_t>(&next, 1), logits);
    }
    if (!stopped) {
        emit(filter.add(decoder.flush(), stopped));
        if (!stopped) emit(filter.flush());
        if (stopped) result.reason = StopReason::stop_string;
    }
    result.stats.generated_tokens = static_cast<int64_t>(result.tokens.size());
    if (!result.tokens.empty()) result.stats.decode_seconds = seconds(first_token, Clock::now());
    return result;
}

}  // namespace lowbit::llm

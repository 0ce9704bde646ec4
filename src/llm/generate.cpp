#include "lowbit/generate.hpp"

#include <chrono>

namespace lowbit::llm {
namespace {

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

}  // namespace

GenerateResult generate(Session& session, Sequence& sequence, const std::function<void(std::string_view)>& on_text) {
    GenerateResult result;
    std::vector<float> logits;
    const auto start = Clock::now();
    session.eval(sequence.prompt(), logits);
    result.stats.prompt_tokens = static_cast<int64_t>(sequence.prompt().size());
    result.stats.prompt_seconds = seconds(start, Clock::now());

    Clock::time_point first_token{};
    bool sampled = false;
    while (true) {
        const StepResult step = sequence.step(logits);
        if (!sampled && step.token >= 0) {
            sampled = true;
            first_token = Clock::now();
            result.stats.first_token_seconds = seconds(start, first_token);
        }
        if (!step.text.empty() && on_text) on_text(step.text);
        if (step.done) break;
        session.eval(std::span<const int32_t>(&step.token, 1), logits);
    }
    result.tokens = sequence.generated();
    result.text = sequence.text();
    result.reason = sequence.reason();
    result.stats.generated_tokens = static_cast<int64_t>(result.tokens.size());
    if (!result.tokens.empty()) result.stats.decode_seconds = seconds(first_token, Clock::now());
    return result;
}

GenerateResult generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateOptions& options, const std::function<void(std::string_view)>& on_text) {
    Sequence sequence(tokenizer, prompt, options, session.n_ctx() - session.n_past());
    return generate(session, sequence, on_text);
}

}  // namespace lowbit::llm

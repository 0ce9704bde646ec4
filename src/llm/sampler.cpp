#include "lowbit/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "lowbit/error.hpp"

namespace lowbit::llm {

void validate(const SamplingParams& p) {
    if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature)) fail_field("temperature", "temperature must be >= 0 (got ", p.temperature, ")");
    if (p.top_k < 0) fail_field("top_k", "top_k must be >= 0 (got ", p.top_k, ")");
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) fail_field("top_p", "top_p must be in (0, 1] (got ", p.top_p, ")");
    if (!(p.min_p >= 0.0f && p.min_p < 1.0f)) fail_field("min_p", "min_p must be in [0, 1) (got ", p.min_p, ")");
    if (!(p.repeat_penalty > 0.0f) || !std::isfinite(p.repeat_penalty)) {
        fail_field("repeat_penalty", "repeat_penalty must be > 0 (got ", p.repeat_penalty, ")");
    }
    if (!(std::fabs(p.frequency_penalty) <= 2.0f)) {
        fail_field("frequency_penalty", "frequency_penalty must be in [-2, 2] (got ", p.frequency_penalty, ")");
    }
    if (!(std::fabs(p.presence_penalty) <= 2.0f)) {
        fail_field("presence_penalty", "presence_penalty must be in [-2, 2] (got ", p.presence_penalty, ")");
    }
    if (p.repeat_last_n < 0) fail_field("repeat_last_n", "repeat_last_n must be >= 0 (got ", p.repeat_last_n, ")");
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) { validate(params); }

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
    // repetition penalty over the distinct recent tokens, then the additive ones (llama.cpp's rules)
    const bool additive = params_.frequency_penalty != 0.0f || params_.presence_penalty != 0.0f;
    if ((params_.repeat_penalty != 1.0f || additive) && params_.repeat_last_n > 0) {
        const std::size_t from = history.size() > static_cast<std::size_t>(params_.repeat_last_n)
                                     ? history.size() - static_cast<std::size_t>(params_.repeat_last_n)
                                     : 0;
        std::unordered_map<int32_t, int> counts;
        for (std::size_t i = from; i < history.size(); ++i) ++counts[history[i]];
        for (const auto& [id, count] : counts) {
            if (id < 0 || static_cast<std::size_t>(id) >= logits.size()) continue;
            float& l = logits[static_cast<std::size_t>(id)];
            if (params_.repeat_penalty != 1.0f) l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
            if (additive) {
                l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
            }
        }
    }
    if (params_.temperature == 0.0f) {
        return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    // candidates sorted by logit, highest first (ties: lower id first, for determinism)
    candidates_.clear();
    for (std::size_t i = 0; i < logits.size(); ++i) candidates_.emplace_back(logits[i], static_cast<int32_t>(i));
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    std::size_t keep = candidates_.size();
    if (params_.top_k > 0 && static_cast<std::size_t>(params_.top_k) < keep) {
        keep = static_cast<std::size_t>(params_.top_k);
        std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep), candidates_.end(), by_logit);
    } else {
        std::sort(candidates_.begin(), candidates_.end(), by_logit);
    }
    candidates_.resize(keep);
    // softmax with the temperature (in double), then top-p and min-p cuts
    const double max = candidates_.front().first;
    std::vector<double> p(keep);
    double sum = 0;
    for (std::size_t i = 0; i < keep; ++i) {
        p[i] = std::exp((candidates_[i].first - max) / params_.temperature);
        sum += p[i];
    }
    for (double& v : p) v /= sum;
    std::size_t n = keep;
    if (params_.top_p < 1.0f) {
        double cumulative = 0;
        for (std::size_t i = 0; i < keep; ++i) {
            cumulative += p[i];
            if (cumulative >= params_.top_p) {
                n = i + 1;
                break;
            }
        }
    }
    if (params_.min_p > 0.0f) {
        const double cut = p[0] * params_.min_p;
        std::size_t m = 1;
        while (m < n && p[m] >= cut) ++m;
        n = m;
    }
    std::discrete_distribution<std::size_t> pick(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n));
    return candidates_[pick(rng_)].second;
}

}  // namespace lowbit::llm

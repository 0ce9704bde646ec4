#include "metrics.hpp"

#include <fmt/core.h>

namespace lowbit::server {
namespace {

// Latencies from a millisecond to minutes.
std::vector<double> latency_bounds() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

std::string number(double v) { return fmt::format("{}", v); }

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double seconds) {
    std::size_t i = 0;
    while (i < bounds_.size() && seconds > bounds_[i]) ++i;
    const std::lock_guard<std::mutex> lock(mutex_);
    ++counts_[i];
    sum_ += seconds;
    ++total_;
}

uint64_t Histogram::count() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return total_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
    uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        cumulative += counts_[i];
        out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, number(bounds_[i]), cumulative);
    }
    out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, total_);
    out += fmt::format("{}_sum {}\n{}_count {}\n", name, number(sum_), name, total_);
}

Metrics::Metrics()
    : time_to_first_token(latency_bounds()),
      inter_token_latency(latency_bounds()),
      request_duration(latency_bounds()),
      queue_wait(latency_bounds()) {}

void Metrics::request(const std::string& endpoint, int status) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{endpoint, status}];
}

void Metrics::tokens(int64_t prompt, int64_t cached, int64_t generated) {
    prompt_tokens_ += prompt;
    cached_tokens_ += cached;
    generated_tokens_ += generated;
}

std::string Metrics::render(int64_t queue_depth, int busy_slots, int slots) const {
    std::string out;
    out += "# HELP lowbit_requests_total HTTP requests by endpoint and status.\n# TYPE lowbit_requests_total counter\n";
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& [key, n] : requests_) {
            out += fmt::format("lowbit_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
        }
    }
    const auto counter = [&](const char* name, const char* help, int64_t v) {
        out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
    };
    counter("lowbit_prompt_tokens_total", "Prompt tokens of finished requests.", prompt_tokens_.load());
    counter("lowbit_prompt_tokens_cached_total", "Prompt tokens a slot's KV cache already held (prefix reuse).",
            cached_tokens_.load());
    counter("lowbit_generated_tokens_total", "Generated tokens.", generated_tokens_.load());
    time_to_first_token.render(out, "lowbit_time_to_first_token_seconds",
                               "From the request's arrival to its first generated token.");
    inter_token_latency.render(out, "lowbit_inter_token_latency_seconds", "Between consecutive generated tokens.");
    request_duration.render(out, "lowbit_request_duration_seconds", "From a generation request's arrival to its end.");
    queue_wait.render(out, "lowbit_queue_wait_seconds", "From a request's arrival to its slot.");
    const auto gauge = [&](const char* name, const char* help, int64_t v) {
        out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, v);
    };
    gauge("lowbit_queue_depth", "Requests waiting for a slot.", queue_depth);
    gauge("lowbit_slots_busy", "Slots generating or reading a prompt.", busy_slots);
    gauge("lowbit_slots", "Slots (--parallel).", slots);
    return out;
}

}  // namespace lowbit::server

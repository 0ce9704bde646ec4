// What the server counts and times, rendered in Prometheus's text format (GET /metrics):
// requests by endpoint and status, prompt / cached / generated tokens, histograms of time to
// first token, inter-token latency, end-to-end latency and queue wait, and the queue depth and
// busy slots at the moment of the scrape. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::server {

// Cumulative buckets (upper bounds in seconds), a sum and a count.
class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double seconds);
    // `name` with _bucket{le=...}, _sum and _count lines.
    void render(std::string& out, const std::string& name, const std::string& help) const;
    uint64_t count() const;

private:
    std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::vector<uint64_t> counts_;  // per bucket (not cumulative), the last is +Inf
    double sum_ = 0;
    uint64_t total_ = 0;
};

class Metrics {
public:
    Metrics();

    void request(const std::string& endpoint, int status);
    void tokens(int64_t prompt, int64_t cached, int64_t generated);

    Histogram time_to_first_token;
    Histogram inter_token_latency;
    Histogram request_duration;
    Histogram queue_wait;

    // The text of GET /metrics, with the gauges read now.
    std::string render(int64_t queue_depth, int busy_slots, int slots) const;

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::atomic<int64_t> prompt_tokens_{0}, cached_tokens_{0}, generated_tokens_{0};
};

}  // namespace lowbit::server

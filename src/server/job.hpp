// One generation request between the HTTP thread that took it and the scheduler that runs it:
// the prompt and settings going in, the text pieces and the end coming out. The HTTP thread
// waits on next(); the scheduler calls emit() and finish(). cancel() (the client went away)
// may come from either side at any time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/sequence.hpp"

namespace lowbit::server {

using Clock = std::chrono::steady_clock;

struct JobEvent {
    enum class Kind { text, done, error };
    Kind kind = Kind::text;
    std::string text;                                  // text: a piece of whole UTF-8 characters
    llm::StopReason reason = llm::StopReason::budget;  // done
    int status = 500;                                  // error: the HTTP status it maps to
    std::string error_type;                            // error: OpenAI's error "type"
};

struct JobUsage {
    int64_t prompt_tokens = 0;
    int64_t cached_tokens = 0;  // of the prompt, already in the slot's cache
    int64_t completion_tokens = 0;
};

class Job {
public:
    Job(std::vector<int32_t> prompt, llm::GenerateOptions options, Clock::duration timeout)
        : prompt(std::move(prompt)), options(std::move(options)), created(Clock::now()), deadline(created + timeout) {}

    const std::vector<int32_t> prompt;
    const llm::GenerateOptions options;
    const Clock::time_point created;
    const Clock::time_point deadline;

    // The next event, waiting up to `wait` for one (nullopt: none yet).
    std::optional<JobEvent> next(Clock::duration wait) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!cv_.wait_for(lock, wait, [&] { return !events_.empty(); })) return std::nullopt;
        JobEvent e = std::move(events_.front());
        events_.pop_front();
        return e;
    }

    void emit(std::string text) {
        push({JobEvent::Kind::text, std::move(text), llm::StopReason::budget, 0, {}});
    }
    void finish(llm::StopReason reason, const JobUsage& usage) {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            usage_ = usage;
        }
        push({JobEvent::Kind::done, {}, reason, 200, {}});
    }
    void fail(int status, std::string type, std::string message) {
        push({JobEvent::Kind::error, std::move(message), llm::StopReason::cancelled, status, std::move(type)});
    }

    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

    JobUsage usage() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return usage_;
    }

    // Timing, written by the scheduler (for metrics and logs).
    std::atomic<int64_t> queue_wait_us{0};

private:
    void push(JobEvent e) {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            events_.push_back(std::move(e));
        }
        cv_.notify_all();
    }

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<JobEvent> events_;
    JobUsage usage_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace lowbit::server

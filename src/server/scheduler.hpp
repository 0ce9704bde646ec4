// Continuous batching over K slots. One thread runs the model: each step builds one Batch with
// the next token of every generating slot and chunks of the prompts of slots that are reading
// one, runs decode() (every weight read once for all of them), and steps each slot's Sequence
// with its logits. A new request takes a free slot between steps. A slot keeps what its KV
// cache holds after a request, and the next request on it evaluates only what follows the
// common prefix (the slot with the longest one is chosen). Requests beyond K wait in a bounded
// queue. Batch invariance makes a slot's tokens independent of what the others run: seeded
// sampling gives `lowbit run`'s text.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "job.hpp"
#include "lowbit/decode.hpp"
#include "lowbit/session.hpp"
#include "metrics.hpp"

namespace lowbit::server {

struct SchedulerOptions {
    int slots = 4;
    int64_t context = 0;  // positions per slot (0: the model's training context)
    int queue = 64;       // requests waiting for a slot, at most
    int64_t prefill_chunk = 512;  // prompt tokens per step, over all slots
};

class Scheduler {
public:
    Scheduler(const llm::Model& model, ThreadPool& pool, const SchedulerOptions& options, Metrics& metrics);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // Queues the job; false when the queue is full (the caller answers 429).
    bool submit(const std::shared_ptr<Job>& job);
    // Stops taking jobs, lets the running ones finish for up to `grace`, then cancels them and
    // the queued ones; returns when the model thread has ended.
    void stop(Clock::duration grace);

    int64_t context() const { return context_; }
    int slots() const { return static_cast<int>(slots_.size()); }
    int busy_slots() const;
    int64_t queued() const;

private:
    struct Slot {
        int sequence = 0;
        std::vector<int32_t> cached;  // the tokens the slot's cache holds, in order
        std::shared_ptr<Job> job;
        std::unique_ptr<llm::Sequence> generation;
        int64_t prompt_next = 0;  // the next prompt token to evaluate
        int32_t next_token = -1;  // generating: the token to evaluate next (-1: still reading the prompt)
        int64_t cached_prompt = 0;
        Clock::time_point last_token{};
        bool first_token = false;
    };

    void loop();
    void admit(std::unique_lock<std::mutex>& lock);
    void run_step();
    void end(Slot& slot);
    void drop(Slot& slot, int status, const char* type, const std::string& message);
    // Empties the slot and counts it free; returns its job to be answered.
    std::shared_ptr<Job> release(Slot& slot);

    const llm::Model& model_;
    ThreadPool& pool_;
    SchedulerOptions options_;
    Metrics& metrics_;
    int64_t context_;
    llm::KvCache kv_;
    llm::Workspace workspace_;
    std::vector<Slot> slots_;
    llm::Batch batch_;
    std::vector<float> row_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> queue_;
    int busy_ = 0;
    bool stopping_ = false;
    Clock::time_point cancel_at_ = Clock::time_point::max();
    std::thread thread_;
};

}  // namespace lowbit::server

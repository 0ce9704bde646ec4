#include "scheduler.hpp"

#include <algorithm>

#include "lowbit/error.hpp"

namespace lowbit::server {
namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

std::size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    std::size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
    return n;
}

}  // namespace

Scheduler::Scheduler(const llm::Model& model, ThreadPool& pool, const SchedulerOptions& options, Metrics& metrics)
    : model_(model),
      pool_(pool),
      options_(options),
      metrics_(metrics),
      context_(llm::default_context_size(model, options.context)),
      kv_(model, {context_, options.slots, llm::KvCacheType::f16}),
      workspace_(model, options.slots + options.prefill_chunk) {
    if (options.slots < 1) fail_field("parallel", "slot count ", options.slots, " must be at least 1");
    if (options.queue < 0) fail_field("queue", "queue length ", options.queue, " must not be negative");
    if (!model.has_tokenizer()) model.tokenizer();  // throws: serving needs one
    slots_.resize(static_cast<std::size_t>(options.slots));
    for (Slot& s : slots_) s.sequence = kv_.allocate();
    thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { stop(std::chrono::seconds(0)); }

bool Scheduler::submit(const std::shared_ptr<Job>& job) {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return false;
        const bool free_slot = busy_ < static_cast<int>(slots_.size()) && queue_.empty();
        if (!free_slot && static_cast<int64_t>(queue_.size()) >= options_.queue) return false;
        queue_.push_back(job);
    }
    wake_.notify_all();
    return true;
}

void Scheduler::stop(Clock::duration grace) {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (!stopping_) {
            stopping_ = true;
            cancel_at_ = Clock::now() + grace;
        } else {
            cancel_at_ = std::min(cancel_at_, Clock::now() + grace);
        }
    }
    wake_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

int Scheduler::busy_slots() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return busy_;
}

int64_t Scheduler::queued() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int64_t>(queue_.size());
}

void Scheduler::loop() {
    while (true) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || busy_ > 0; });
            if (stopping_) {
                for (const auto& job : queue_) job->fail(503, "unavailable", "the server is shutting down");
                queue_.clear();
                if (busy_ == 0) break;
            } else {
                admit(lock);
            }
        }
        run_step();
    }
}

// Free slots take queued jobs, each the slot whose cache shares the longest prefix with its prompt.
void Scheduler::admit(std::unique_lock<std::mutex>& lock) {
    while (!queue_.empty() && busy_ < static_cast<int>(slots_.size())) {
        std::shared_ptr<Job> job = std::move(queue_.front());
        queue_.pop_front();
        if (job->cancelled()) continue;
        Slot* best = nullptr;
        std::size_t best_common = 0;
        for (Slot& s : slots_) {
            if (s.job) continue;
            const std::size_t common = common_prefix(s.cached, job->prompt);
            if (best == nullptr || common > best_common) {
                best = &s;
                best_common = common;
            }
        }
        ++busy_;
        lock.unlock();
        Slot& slot = *best;
        // at least the prompt's last token is evaluated: its logits give the first token
        const auto common = static_cast<int64_t>(std::min(best_common, job->prompt.size() - 1));
        kv_.truncate(slot.sequence, common);
        slot.cached.resize(static_cast<std::size_t>(common));
        slot.job = job;
        slot.prompt_next = common;
        slot.cached_prompt = common;
        slot.next_token = -1;
        slot.first_token = true;
        const Clock::time_point now = Clock::now();
        job->queue_wait_us = std::chrono::duration_cast<std::chrono::microseconds>(now - job->created).count();
        metrics_.queue_wait.observe(seconds_between(job->created, now));
        try {
            slot.generation = std::make_unique<llm::Sequence>(model_.tokenizer(), job->prompt, job->options, context_);
        } catch (const Error& e) {
            drop(slot, e.code() == ErrorCode::context_full ? 400 : 400, "invalid_request_error", e.what());
        }
        lock.lock();
    }
}

void Scheduler::run_step() {
    batch_.clear();
    std::vector<Slot*> wants;  // the slot of each logits row, in batch order
    std::vector<int64_t> added(slots_.size(), 0);
    for (std::size_t i = 0; i < slots_.size(); ++i) {  // generating slots: their next token
        Slot& s = slots_[i];
        if (!s.job || s.next_token < 0) continue;
        batch_.add(s.next_token, s.sequence, static_cast<int64_t>(s.cached.size()), true);
        wants.push_back(&s);
        added[i] = 1;
    }
    int64_t budget = options_.prefill_chunk;
    for (std::size_t i = 0; i < slots_.size() && budget > 0; ++i) {  // then prompt chunks
        Slot& s = slots_[i];
        if (!s.job || s.next_token >= 0) continue;
        const auto prompt_size = static_cast<int64_t>(s.job->prompt.size());
        const int64_t n = std::min(budget, prompt_size - s.prompt_next);
        for (int64_t k = 0; k < n; ++k) {
            const int64_t at = s.prompt_next + k;
            batch_.add(s.job->prompt[static_cast<std::size_t>(at)], s.sequence, static_cast<int64_t>(s.cached.size()) + k,
                       at == prompt_size - 1);
        }
        if (s.prompt_next + n == prompt_size) wants.push_back(&s);
        added[i] = n;
        budget -= n;
    }
    if (!batch_.empty()) {
        std::span<const float> logits;
        try {
            logits = llm::decode(model_, batch_, kv_, workspace_, pool_);
        } catch (const Error& e) {
            for (Slot& s : slots_) {
                if (s.job) drop(s, 500, "server_error", e.what());
            }
            return;
        }
        // what each slot's cache now holds
        std::size_t at = 0;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            Slot& s = slots_[i];
            if (!s.job) continue;
            if (s.next_token >= 0) {
                s.cached.push_back(s.next_token);
                at += 1;
            }
        }
        for (const llm::BatchToken& t : batch_.tokens()) {
            Slot& s = slots_[static_cast<std::size_t>(t.sequence)];
            if (s.next_token < 0) {
                s.cached.push_back(t.token);
                ++s.prompt_next;
            }
        }
        (void)at;
        // generations step with their rows of logits
        const auto vocab = static_cast<std::size_t>(model_.hp().n_vocab);
        for (std::size_t r = 0; r < wants.size(); ++r) {
            Slot& s = *wants[r];
            row_.assign(logits.begin() + static_cast<std::ptrdiff_t>(r * vocab),
                        logits.begin() + static_cast<std::ptrdiff_t>((r + 1) * vocab));
            if (s.job->cancelled()) s.generation->cancel();
            const llm::StepResult step = s.generation->step(row_);
            const Clock::time_point now = Clock::now();
            if (step.token >= 0) {
                if (s.first_token) {
                    metrics_.time_to_first_token.observe(seconds_between(s.job->created, now));
                    s.first_token = false;
                } else {
                    metrics_.inter_token_latency.observe(seconds_between(s.last_token, now));
                }
                s.last_token = now;
            }
            if (!step.text.empty()) s.job->emit(step.text);
            if (step.done) {
                end(s);
            } else {
                s.next_token = step.token;
            }
        }
    }
    // clients gone, deadlines passed, a shutdown past its grace
    const Clock::time_point now = Clock::now();
    Clock::time_point cancel_at;
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        cancel_at = cancel_at_;
    }
    for (Slot& s : slots_) {
        if (!s.job) continue;
        if (s.job->cancelled()) {
            s.generation->cancel();
            end(s);
        } else if (now > s.job->deadline) {
            drop(s, 504, "timeout", "the request took longer than the server's --timeout");
        } else if (now >= cancel_at) {
            drop(s, 503, "unavailable", "the server is shutting down");
        }
    }
}

void Scheduler::end(Slot& slot) {
    JobUsage usage;
    usage.prompt_tokens = static_cast<int64_t>(slot.job->prompt.size());
    usage.cached_tokens = slot.cached_prompt;
    usage.completion_tokens = static_cast<int64_t>(slot.generation->generated().size());
    metrics_.tokens(usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens);
    metrics_.request_duration.observe(seconds_between(slot.job->created, Clock::now()));
    const llm::StopReason reason = slot.generation->done() ? slot.generation->reason() : llm::StopReason::cancelled;
    // The slot is free before the client hears the answer, so a client that
    // asks right after its answer never sees its own request still busy.
    const auto job = release(slot);
    job->finish(reason, usage);
}

void Scheduler::drop(Slot& slot, int status, const char* type, const std::string& message) {
    const auto job = release(slot);
    job->fail(status, type, message);
}

std::shared_ptr<Job> Scheduler::release(Slot& slot) {
    std::shared_ptr<Job> job = std::move(slot.job);
    slot.generation.reset();
    const std::lock_guard<std::mutex> lock(mutex_);
    --busy_;
    return job;
}

}  // namespace lowbit::server

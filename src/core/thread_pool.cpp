#include "lowbit/thread_pool.hpp"

#include <sched.h>

#include <chrono>

#include "lowbit/error.hpp"

namespace lowbit {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

// How long a worker spins for the next job before sleeping.
constexpr auto kSpin = std::chrono::microseconds(200);

// The pool whose job this thread is running (workers, and a caller inside run()).
thread_local const ThreadPool* current_pool = nullptr;

struct RunningIn {
    explicit RunningIn(const ThreadPool* pool) : saved(current_pool) { current_pool = pool; }
    ~RunningIn() { current_pool = saved; }
    const ThreadPool* saved;
};

}  // namespace

int default_thread_count() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? static_cast<int>(hw) : 1;
}

ThreadPool::ThreadPool(int threads) {
    if (threads < 1 || threads > 1024) {
        fail_field("threads", "thread count ", threads, " is out of range (1..1024)");
    }
    for (int i = 1; i < threads; ++i) {
        workers_.emplace_back([this, i] { worker_loop(i); });
    }
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_part(int index) {
    try {
        (*job_)(index, size());
    } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
    }
}

void ThreadPool::worker_loop(int index) {
    const RunningIn running(this);
    uint64_t seen = 0;
    for (;;) {
        const auto spin_until = std::chrono::steady_clock::now() + kSpin;
        while (generation_.load(std::memory_order_acquire) == seen) {
            if (std::chrono::steady_clock::now() > spin_until) {
                std::unique_lock<std::mutex> lock(mutex_);
                sleepers_.fetch_add(1);
                wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
                sleepers_.fetch_sub(1);
                break;
            }
            cpu_relax();
        }
        seen = generation_.load(std::memory_order_acquire);
        if (stop_.load()) return;
        run_part(index);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::run(const std::function<void(int, int)>& job) {
    if (current_pool == this) {
        fail_as(ErrorCode::busy, "thread pool: a job called run() on the pool that runs it (it would wait for itself)");
    }
    const RunningIn running(this);
    if (workers_.empty()) {
        job(0, 1);
        return;
    }
    const std::lock_guard<std::mutex> one_job(run_mutex_);
    job_ = &job;
    error_ = nullptr;
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_release);
    {
        // Under the mutex, so a worker about to sleep cannot miss this generation.
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    if (sleepers_.load() > 0) wake_.notify_all();
    run_part(0);
    while (pending_.load(std::memory_order_acquire) != 0) cpu_relax();
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
}

std::pair<int64_t, int64_t> ThreadPool::share(int64_t n, int64_t grain, int index, int count) {
    if (grain < 1) grain = 1;
    const int64_t units = (n + grain - 1) / grain;
    const int64_t first = units * index / count * grain;
    const int64_t last = units * (index + 1) / count * grain;
    return {first < n ? first : n, last < n ? last : n};
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
    if (n <= 0) return;
    run([&](int index, int count) {
        const auto [begin, end] = share(n, grain, index, count);
        if (begin < end) body(begin, end);
    });
}

void ThreadPool::for_each_chunk(int64_t chunks, const std::function<void(int64_t)>& body) {
    if (chunks <= 0) return;
    std::atomic<int64_t> next{0};
    run([&](int, int) {
        for (int64_t c = next.fetch_add(1, std::memory_order_relaxed); c < chunks;
             c = next.fetch_add(1, std::memory_order_relaxed)) {
            body(c);
        }
    });
}

}  // namespace lowbit

// A persistent pool of worker threads: created once, reused by every GEMV/GEMM call (no thread
// creation per call). Workers spin briefly between jobs (a decode step issues hundreds of
// matrix products per token) and then sleep.
//
// Callers: one pool may be shared by several threads (a server's scheduler and a Python
// thread, say): their jobs run one after the other, each on all the pool's threads, so two
// callers take turns job by job rather than splitting the threads. A job that calls run() on
// the pool that is running it is refused with lowbit::Error (busy): it would wait for itself.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace lowbit {

class ThreadPool {
public:
    // `threads` in total, the calling thread included (1: everything runs on the caller).
    explicit ThreadPool(int threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    // Runs job(index, size()) on every thread (the caller is index 0); returns when all are
    // done. An exception thrown by any part is rethrown here (the first one). Safe to call
    // from several threads at once (the jobs take turns); refused from inside a job of this pool.
    void run(const std::function<void(int, int)>& job);

    // Splits [0, n) into size() contiguous parts, rounded to multiples of `grain`, and runs
    // body(begin, end) on each non-empty part.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

    // Runs body(chunk) once for every chunk in [0, chunks), handing chunks out from a shared
    // counter: a thread that runs slower (less memory bandwidth, a late wake-up) takes fewer
    // chunks instead of being waited for. For work whose result does not depend on which thread
    // does a chunk.
    void for_each_chunk(int64_t chunks, const std::function<void(int64_t)>& body);

    // Part `index` of `count` of that split: [first, second), possibly empty. For jobs that
    // split several ranges the way parallel_for splits one.
    static std::pair<int64_t, int64_t> share(int64_t n, int64_t grain, int index, int count);

private:
    void worker_loop(int index);
    void run_part(int index);

    std::vector<std::thread> workers_;
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<int> sleepers_{0};
    std::exception_ptr error_;
    std::mutex error_mutex_;
    std::mutex run_mutex_;  // one job at a time
};

// The number of threads to use by default: the CPUs this process may run on.
int default_thread_count();

}  // namespace lowbit

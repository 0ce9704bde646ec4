// ThreadPool: every index of a parallel_for (every chunk of for_each_chunk) is visited exactly
// once, chunk boundaries fall on multiples of the grain, an exception in any part reaches the
// caller, two callers sharing a pool both get their work done, and a re-entrant call is refused.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "lowbit/error.hpp"
#include "lowbit/thread_pool.hpp"

namespace lowbit::test {
namespace {

TEST(ThreadPool, ParallelForVisitsEveryIndexOnce) {
    for (int threads : {1, 2, 3, 5}) {
        ThreadPool pool(threads);
        for (int64_t n : {1, 7, 64, 1000, 4099}) {
            for (int64_t grain : {1, 16, 64, 5000}) {
                std::vector<std::atomic<int>> seen(static_cast<std::size_t>(n));
                std::atomic<bool> misaligned{false};
                pool.parallel_for(n, grain, [&](int64_t begin, int64_t end) {
                    if (begin % grain != 0 || (end % grain != 0 && end != n) || begin >= end) misaligned = true;
                    for (int64_t i = begin; i < end; ++i) seen[static_cast<std::size_t>(i)]++;
                });
                EXPECT_FALSE(misaligned) << threads << " threads, n " << n << ", grain " << grain;
                for (int64_t i = 0; i < n; ++i) {
                    ASSERT_EQ(seen[static_cast<std::size_t>(i)].load(), 1)
                        << threads << " threads, n " << n << ", grain " << grain << ", index " << i;
                }
            }
        }
    }
}

TEST(ThreadPool, ForEachChunkRunsEveryChunkOnce) {
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        for (int64_t chunks : {0, 1, 2, 7, 500}) {
            std::vector<std::atomic<int>> seen(static_cast<std::size_t>(chunks));
            pool.for_each_chunk(chunks, [&](int64_t c) { seen[static_cast<std::size_t>(c)]++; });
            for (int64_t c = 0; c < chunks; ++c) {
                ASSERT_EQ(seen[static_cast<std::size_t>(c)].load(), 1) << threads << " threads, chunk " << c << " of " << chunks;
            }
        }
    }
    ThreadPool pool(2);
    EXPECT_THROW(pool.for_each_chunk(50, [](int64_t c) {
        if (c == 17) throw std::runtime_error("chunk failed");
    }), std::runtime_error);
}

TEST(ThreadPool, RunGivesEveryThreadItsIndex) {
    ThreadPool pool(3);
    std::vector<std::atomic<int>> seen(3);
    pool.run([&](int index, int count) {
        EXPECT_EQ(count, 3);
        seen[static_cast<std::size_t>(index)]++;
    });
    for (auto& s : seen) EXPECT_EQ(s.load(), 1);
}

TEST(ThreadPool, ExceptionReachesTheCaller) {
    ThreadPool pool(2);
    EXPECT_THROW(pool.parallel_for(100, 1, [](int64_t begin, int64_t) {
        if (begin > 0) throw std::runtime_error("part failed");
    }), std::runtime_error);
    // and the pool still works afterwards
    std::atomic<int64_t> sum{0};
    pool.parallel_for(10, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) sum += i;
    });
    EXPECT_EQ(sum.load(), 45);
}

// Two threads sharing one pool: their jobs take turns, and each gets every one of its parts.
TEST(ThreadPool, TwoCallersAtOnceEachGetTheirWholeJob) {
    ThreadPool pool(2);
    auto caller = [&](int64_t offset, int64_t& total) {
        for (int round = 0; round < 200; ++round) {
            std::atomic<int64_t> sum{0};
            pool.parallel_for(1000, 7, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) sum += i + offset;
            });
            total += sum.load();
        }
    };
    int64_t a = 0, b = 0;
    std::thread other([&] { caller(1, b); });
    caller(0, a);
    other.join();
    EXPECT_EQ(a, 200 * 499500);
    EXPECT_EQ(b, 200 * (499500 + 1000));
}

// A job that calls the pool running it would wait for itself: refused, on every thread.
TEST(ThreadPool, ReentrantRunIsRefused) {
    for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        std::atomic<int> refused{0};
        pool.run([&](int, int) {
            try {
                pool.run([](int, int) {});
            } catch (const Error& e) {
                if (e.code() == ErrorCode::busy) ++refused;
            }
        });
        EXPECT_EQ(refused.load(), threads);
        // another pool may be used from inside a job
        ThreadPool inner(1);
        std::atomic<int> ran{0};
        pool.run([&](int index, int) {
            if (index == 0) inner.run([&](int, int) { ++ran; });
        });
        EXPECT_EQ(ran.load(), 1);
    }
}

TEST(ThreadPool, RejectsBadThreadCounts) {
    EXPECT_ANY_THROW(ThreadPool(0));
    EXPECT_ANY_THROW(ThreadPool(2000));
}

}  // namespace
}  // namespace lowbit::test

// Matrix products through a kernel set, split across a thread pool by output rows.
#pragma once

#include "lowbit/kernel_set.hpp"
#include "lowbit/thread_pool.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit {

// y[r] = dot(row r of w, x) for every row, with the set's kernel for the type.
void gemv(const KernelSet& kernels, const WeightType& type, const WeightView& w, const ActivationRowI8& x, float* y,
          ThreadPool& pool);

// y[t * y_stride + r] = dot(row r of w, token t of x).
void gemm(const KernelSet& kernels, const WeightType& type, const WeightView& w, const ActivationsI8& x, float* y,
          int64_t y_stride, ThreadPool& pool);

// Rows per unit of work: threads receive multiples of it (kernels work on 4-row tiles).
inline constexpr int64_t kRowGrain = 16;

}  // namespace lowbit

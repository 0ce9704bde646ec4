#include "lowbit/matmul.hpp"

namespace lowbit {

void gemv(const KernelSet& kernels, const WeightType& type, const WeightView& w, const ActivationRowI8& x, float* y,
          ThreadPool& pool) {
    const GemvI8Fn kernel = kernels[type].ops.gemv_i8;
    pool.parallel_for(w.rows, kRowGrain, [&](int64_t begin, int64_t end) { kernel(w, begin, end, x, y + begin); });
}

void gemm(const KernelSet& kernels, const WeightType& type, const WeightView& w, const ActivationsI8& x, float* y,
          int64_t y_stride, ThreadPool& pool) {
    const GemmI8Fn kernel = kernels[type].ops.gemm_i8;
    pool.parallel_for(w.rows, kRowGrain,
                      [&](int64_t begin, int64_t end) { kernel(w, begin, end, x, y + begin, y_stride); });
}

}  // namespace lowbit

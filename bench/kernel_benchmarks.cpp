#include "kernel_benchmarks.hpp"

#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <tuple>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lowbit/activation.hpp"
#include "lowbit/isa.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/matmul.hpp"
#include "lowbit/metrics.hpp"
#include "lowbit/ternary.hpp"
#include "lowbit/thread_pool.hpp"
#include "lowbit/weight_type.hpp"
#include "memory_bandwidth.hpp"

namespace lowbit::bench {
namespace {

std::vector<float> normal_values(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> x(n);
    for (float& v : x) v = d(rng);
    return x;
}

// A quantized tensor built once per (type, shape) and shared by the benchmarks using it.
struct Tensor {
    std::vector<uint8_t> bytes;
    int64_t rows;
    int64_t cols;
    WeightView view() const { return {bytes.data(), rows, cols}; }
};

std::shared_ptr<Tensor> make_tensor(const WeightType& t, int64_t rows, int64_t cols) {
    auto tensor = std::make_shared<Tensor>();
    tensor->rows = rows;
    tensor->cols = cols;
    tensor->bytes.resize(t.tensor_bytes(rows, cols));
    // Quantize in slabs of rows so that huge tensors need little f32 memory; tensor-scale
    // types (one scale for the whole tensor) are quantized whole.
    const bool whole = t.id == TypeId::I2_S || t.id == TypeId::TL1 || t.id == TypeId::TL2 || t.id == TypeId::QK256 ||
                       static_cast<uint32_t>(t.id) >= static_cast<uint32_t>(TypeId::IntGroupFirst);
    const int64_t slab = whole ? rows : std::max<int64_t>(1, (1 << 22) / cols);
    for (int64_t r = 0; r < rows; r += slab) {
        const int64_t n = std::min(slab, rows - r);
        std::vector<float> w = normal_values(static_cast<std::size_t>(n * cols), static_cast<unsigned>(r + 1));
        if (t.ternary) absmean_ternarize_inplace(w);
        t.reference.quantize(w.data(), n, cols, tensor->bytes.data() + r * t.row_bytes(cols));
    }
    return tensor;
}

// Tensors are cached across the many invocations Google Benchmark makes of each function.
std::shared_ptr<Tensor> cached_tensor(const WeightType& t, int64_t rows, int64_t cols) {
    static std::map<std::tuple<uint32_t, int64_t, int64_t>, std::shared_ptr<Tensor>> cache;
    auto& slot = cache[{static_cast<uint32_t>(t.id), rows, cols}];
    if (!slot) slot = make_tensor(t, rows, cols);
    return slot;
}

std::string shape_name(int64_t rows, int64_t cols) { return std::to_string(rows) + "x" + std::to_string(cols); }

// Implementations to measure for one operation of a type, by name: the reference, and every
// level this CPU runs that has its own kernel for it; where a level has variants of the type's
// kernels, each by name ("avx512_vnni:paired_halves", "avx512_vnni:generic").
struct Implementation {
    Isa isa;
    std::string name;
    Kernels kernels;
};

template <class Get>
std::vector<Implementation> levels_with(const WeightType& t, Get op) {
    std::vector<Implementation> out = {{Isa::scalar, "scalar", t.reference}};
    for (std::size_t i = 1; i < kIsaCount; ++i) {
        const auto isa = static_cast<Isa>(i);
        if (!isa_supported_by_cpu(isa)) continue;
        const std::vector<std::string_view> variants = kernel_variant_names(t, isa);
        if (variants.empty()) {
            if (op(t.isa[i]) != nullptr) out.push_back({isa, std::string(isa_name(isa)), t.isa[i]});
            continue;
        }
        for (std::string_view v : variants) {
            const Kernels k = kernel_variant(t, isa, v);
            if (op(k) != nullptr) out.push_back({isa, std::string(isa_name(isa)) + ":" + std::string(v), k});
        }
    }
    return out;
}

void register_dequantize(const WeightType& t) {
    for (int64_t n : {256, 512, 1024, 4096, 16384, 1 << 20}) {
        if (n % t.col_multiple != 0) continue;
        for (const auto& [isa, level_name, k] : levels_with(t, [](const Kernels& k) { return k.dequantize; })) {
            const DequantizeFn fn = k.dequantize;
            const std::string name = "dequant/" + std::string(t.name) + "/" + level_name + "/" +
                                     std::to_string(n);
            benchmark::RegisterBenchmark(name.c_str(), [&t, fn, n](benchmark::State& state) {
                const std::shared_ptr<Tensor> w = cached_tensor(t, 1, n);
                std::vector<float> out(static_cast<std::size_t>(n));
                for (auto _ : state) {
                    fn(w->view(), 0, 1, out.data());
                    benchmark::DoNotOptimize(out.data());
                    benchmark::ClobberMemory();
                }
                state.SetItemsProcessed(state.iterations() * n);
                state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w->bytes.size()));
            });
        }
    }
}

void register_quantize(const WeightType& t) {
    for (int64_t kb : {1, 4, 16, 64, 256, 1024}) {
        int64_t n = kb * 1024 / 4;
        if (n % t.col_multiple != 0) continue;
        for (const auto& [isa, level_name, k] : levels_with(t, [](const Kernels& k) { return k.quantize; })) {
            const QuantizeFn fn = k.quantize;
            const std::string name = "quant/" + std::string(t.name) + "/" + level_name + "/" +
                                     std::to_string(kb) + "KB";
            benchmark::RegisterBenchmark(name.c_str(), [&t, fn, n](benchmark::State& state) {
                std::vector<float> x = normal_values(static_cast<std::size_t>(n), 3);
                if (t.ternary) absmean_ternarize_inplace(x);
                std::vector<uint8_t> out(t.tensor_bytes(1, n));
                for (auto _ : state) {
                    fn(x.data(), 1, n, out.data());
                    benchmark::DoNotOptimize(out.data());
                }
                state.SetItemsProcessed(state.iterations() * n);
                state.SetBytesProcessed(state.iterations() * n * 4);
            });
        }
    }
}

struct Shape {
    int64_t rows;
    int64_t cols;
};
const Shape kShapes[] = {{2048, 2048}, {2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912},
                         {768, 768},   {3072, 768},  {12288, 3072}};

// GEMV including the activation quantization, one thread.
void register_gemv(const WeightType& t) {
    for (Shape s : kShapes) {
        if (s.cols % t.col_multiple != 0) continue;
        for (const auto& [isa, level_name, k] : levels_with(t, [](const Kernels& k) { return k.gemv_i8; })) {
            const GemvI8Fn fn = k.gemv_i8;
            const std::string name = "gemv/" + std::string(t.name) + "/" + level_name + "/" +
                                     shape_name(s.rows, s.cols);
            benchmark::RegisterBenchmark(name.c_str(), [&t, fn, s](benchmark::State& state) {
                const std::shared_ptr<Tensor> w = cached_tensor(t, s.rows, s.cols);
                const std::vector<float> x = normal_values(static_cast<std::size_t>(s.cols), 5);
                std::vector<int8_t> q(x.size());
                std::vector<float> y(static_cast<std::size_t>(s.rows));
                for (auto _ : state) {
                    const ActivationRowI8 a = quantize_activation_row(x, q);
                    fn(w->view(), 0, s.rows, a, y.data());
                    benchmark::DoNotOptimize(y.data());
                }
                state.SetItemsProcessed(state.iterations() * s.rows * s.cols);
                state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w->bytes.size()));
            });
        }
    }
}

// GEMM: a few tokens (a decode step of several sequences) and a prompt's 32 and 128; MAC/s.
void register_gemm(const WeightType& t) {
    for (Shape s : kShapes) {
        if (s.cols % t.col_multiple != 0) continue;
        for (int64_t tokens : {4, 8, 16, 32, 128}) {
            for (const auto& [isa, level_name, k] : levels_with(t, [](const Kernels& k) { return k.gemm_i8; })) {
                const GemmI8Fn fn = k.gemm_i8;
                const std::string name = "gemm/" + std::string(t.name) + "/" + level_name + "/" +
                                         shape_name(s.rows, s.cols) + "x" + std::to_string(tokens);
                benchmark::RegisterBenchmark(name.c_str(), [&t, fn, s, tokens](benchmark::State& state) {
                    const std::shared_ptr<Tensor> w = cached_tensor(t, s.rows, s.cols);
                    const std::vector<float> x = normal_values(static_cast<std::size_t>(s.cols * tokens), 7);
                    std::vector<int8_t> q(x.size());
                    std::vector<float> scale(static_cast<std::size_t>(tokens));
                    std::vector<int32_t> sum(static_cast<std::size_t>(tokens));
                    std::vector<float> y(static_cast<std::size_t>(s.rows * tokens));
                    for (auto _ : state) {
                        for (int64_t i = 0; i < tokens; ++i) {
                            const ActivationRowI8 a = quantize_activation_row(
                                std::span<const float>(x).subspan(i * s.cols, s.cols),
                                std::span<int8_t>(q).subspan(i * s.cols, s.cols));
                            scale[i] = a.scale;
                            sum[i] = a.sum;
                        }
                        const ActivationsI8 acts{q.data(), tokens, s.cols, s.cols, scale.data(), sum.data()};
                        fn(w->view(), 0, s.rows, acts, y.data(), s.rows);
                        benchmark::DoNotOptimize(y.data());
                    }
                    state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(s.rows * s.cols * tokens),
                                                                 benchmark::Counter::kIsIterationInvariantRate);
                    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w->bytes.size()));
                });
            }
        }
    }
}

// One implementation's GEMV with its rows split across the pool.
void rows_in_parallel(GemvI8Fn fn, const WeightView& w, const ActivationRowI8& x, float* y, ThreadPool& pool) {
    pool.parallel_for(w.rows, kRowGrain, [&](int64_t begin, int64_t end) { fn(w, begin, end, x, y + begin); });
}

// GEMV over weights far larger than the L3 cache, split over threads, to compare with the
// read bandwidth measured by membw/read in the same run.
constexpr int64_t kLargeRows = 65536, kLargeCols = 16384;  // 1 Gi weights: 256 MiB as I2_S

void register_large_gemv(const WeightType& t) {
    constexpr int64_t rows = kLargeRows, cols = kLargeCols;
    for (const auto& [isa, level_name, k] : levels_with(t, [](const Kernels& k) { return k.gemv_i8; })) {
        if (isa == Isa::scalar) continue;
        for (int threads : {1, 2}) {
            const std::string name = "gemv_large/" + std::string(t.name) + "/" + level_name + "/" +
                                     shape_name(rows, cols) + "/threads:" + std::to_string(threads);
            const GemvI8Fn fn = k.gemv_i8;
            benchmark::RegisterBenchmark(name.c_str(), [&t, fn, threads](benchmark::State& state) {
                const std::shared_ptr<Tensor> shared = cached_tensor(t, rows, cols);
                ThreadPool pool(threads);
                const std::vector<float> x = normal_values(static_cast<std::size_t>(cols), 9);
                std::vector<int8_t> q(x.size());
                std::vector<float> y(static_cast<std::size_t>(rows));
                for (auto _ : state) {
                    const ActivationRowI8 a = quantize_activation_row(x, q);
                    rows_in_parallel(fn, shared->view(), a, y.data(), pool);
                    benchmark::DoNotOptimize(y.data());
                }
                state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(shared->bytes.size()));
                state.SetItemsProcessed(state.iterations() * rows * cols);
            })->UseRealTime()->Unit(benchmark::kMillisecond);
        }
    }
}

// The matrix-vector products of one generated token of a 2B4T-shaped model (30 layers of
// q, k, v, o, gate, up, down; no head), each layer in its own memory: what the layer stack
// alone can reach, to compare with membw/read and with `lowbit bench generate`.
void register_layer_stack_gemv(const WeightType& t) {
    struct Product {
        int64_t rows, cols;
    };
    static constexpr Product kLayer[] = {{2560, 2560}, {640, 2560}, {640, 2560}, {2560, 2560},
                                         {6912, 2560}, {6912, 2560}, {2560, 6912}};
    constexpr int kLayers = 30;
    for (const auto& [isa, level_name, k] : levels_with(t, [](const Kernels& k) { return k.gemv_i8; })) {
        if (isa == Isa::scalar) continue;
        for (int threads : {1, 2}) {
            const std::string name = "gemv_stack/" + std::string(t.name) + "/" + level_name +
                                     "/2b4t-layers/threads:" + std::to_string(threads);
            const GemvI8Fn fn = k.gemv_i8;
            benchmark::RegisterBenchmark(name.c_str(), [&t, fn, threads](benchmark::State& state) {
                // one quantized matrix per shape, copied into every layer (contents do not matter)
                std::vector<std::vector<uint8_t>> stack;
                std::size_t bytes = 0;
                for (const Product& p : kLayer) {
                    const std::shared_ptr<Tensor> one = cached_tensor(t, p.rows, p.cols);
                    for (int l = 0; l < kLayers; ++l) stack.push_back(one->bytes);
                    bytes += one->bytes.size() * kLayers;
                }
                ThreadPool pool(threads);
                const std::vector<float> x = normal_values(6912, 9);
                std::vector<int8_t> q(x.size());
                std::vector<float> y(6912);
                for (auto _ : state) {
                    for (int l = 0; l < kLayers; ++l) {
                        for (std::size_t i = 0; i < std::size(kLayer); ++i) {
                            const Product& p = kLayer[i];
                            const std::vector<uint8_t>& w = stack[i * kLayers + static_cast<std::size_t>(l)];
                            const ActivationRowI8 a = quantize_activation_row(std::span(x.data(), static_cast<std::size_t>(p.cols)),
                                                                               std::span(q.data(), static_cast<std::size_t>(p.cols)));
                            rows_in_parallel(fn, WeightView{w.data(), p.rows, p.cols}, a, y.data(), pool);
                        }
                    }
                    benchmark::DoNotOptimize(y.data());
                }
                state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
            })->UseRealTime()->Unit(benchmark::kMillisecond);
        }
    }
}

void register_metrics() {
    for (Shape s : {Shape{768, 768}, Shape{3072, 768}, Shape{12288, 3072}}) {
        const std::string shape = shape_name(s.rows, s.cols);
        benchmark::RegisterBenchmark(("cosine/f32/scalar/" + shape).c_str(), [s](benchmark::State& state) {
            const std::vector<float> a = normal_values(static_cast<std::size_t>(s.rows * s.cols), 1);
            const std::vector<float> b = normal_values(a.size(), 2);
            for (auto _ : state) benchmark::DoNotOptimize(cosine_similarity(a, b));
            state.SetItemsProcessed(state.iterations() * s.rows * s.cols);
        });
        for (const char* type : {"Q4_0", "INT4_ASYM_G128", "I2_S"}) {
            const WeightType& t = weight_type(type);
            if (s.cols % t.col_multiple != 0) continue;
            benchmark::RegisterBenchmark(("roundtrip/" + std::string(type) + "/active/" + shape).c_str(),
                                         [&t, s](benchmark::State& state) {
                                             std::vector<float> a = normal_values(
                                                 static_cast<std::size_t>(s.rows * s.cols), 1);
                                             if (t.ternary) absmean_ternarize_inplace(a);
                                             std::vector<uint8_t> packed(t.tensor_bytes(s.rows, s.cols));
                                             std::vector<float> back(a.size());
                                             for (auto _ : state) {
                                                 default_kernel_set()[t].ops.quantize(a.data(), s.rows, s.cols, packed.data());
                                                 default_kernel_set()[t].ops.dequantize({packed.data(), s.rows, s.cols}, 0, s.rows,
                                                                     back.data());
                                                 benchmark::DoNotOptimize(back.data());
                                             }
                                             state.SetItemsProcessed(state.iterations() * s.rows * s.cols);
                                         });
        }
    }
}

}  // namespace

void register_kernel_benchmarks(const KernelBenchOptions& options) {
    register_memory_bandwidth_benchmarks();
    for (const WeightType& t : weight_types()) {
        register_dequantize(t);
        register_quantize(t);
        register_gemv(t);
        register_gemm(t);
        if (options.large_gemv && (t.id == TypeId::I2_S || t.id == TypeId::TQ2_0 || t.id == TypeId::TL2)) {
            register_large_gemv(t);
        }
        if (options.large_gemv && t.id == TypeId::I2_S) register_layer_stack_gemv(t);
    }
    register_metrics();
}

}  // namespace lowbit::bench

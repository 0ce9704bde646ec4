// `lowbit roundtrip`: quantize a generated matrix, dequantize it, and report the error.
#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "commands.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gemv.hpp"
#include "lowbit/metrics.hpp"
#include "lowbit/ternary.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::cli {
namespace {

struct RoundtripOptions {
    std::string type = "Q4_0";
    int64_t rows = 256;
    int64_t cols = 4096;
    std::string dist = "normal";
    uint64_t seed = 42;
};

std::vector<float> generate(const RoundtripOptions& o) {
    std::mt19937_64 rng(o.seed);
    std::vector<float> x(static_cast<std::size_t>(o.rows * o.cols));
    if (o.dist == "normal") {
        std::normal_distribution<float> d(0.0f, 1.0f);
        for (float& v : x) v = d(rng);
    } else if (o.dist == "uniform") {
        std::uniform_real_distribution<float> d(-1.0f, 1.0f);
        for (float& v : x) v = d(rng);
    } else {  // laplace: the difference of two exponentials
        std::exponential_distribution<float> d(1.0f);
        for (float& v : x) v = d(rng) - d(rng);
    }
    return x;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void roundtrip_one(const WeightType& type, const RoundtripOptions& o, const std::vector<float>& original) {
    // Ternary types store {-1, 0, +1} x scale: absmean-ternarize first, as the model quantizer does.
    std::vector<float> input = original;
    if (type.ternary) {
        absmean_ternarize_inplace(input);
    }
    std::vector<uint8_t> packed(type.tensor_bytes(o.rows, o.cols));
    auto start = std::chrono::steady_clock::now();
    type.reference.quantize(input.data(), o.rows, o.cols, packed.data());
    const double quantize_s = seconds_since(start);

    std::vector<float> restored(original.size());
    const WeightView view = make_weight_view(type, packed, o.rows, o.cols);
    start = std::chrono::steady_clock::now();
    dequantize_reference(type, view, restored);
    const double dequantize_s = seconds_since(start);

    const ErrorMetrics m = compare(original, restored);
    const double elems = static_cast<double>(original.size());
    fmt::print("{:<15} {}x{} {:<7} bits/w {:>6.3f}  cosine {:.6f}  mse {:.3e}  snr {:>6.2f} dB  "
               "max|err| {:.3e}  quantize {:>7.2f} ms ({:>6.1f} Melem/s)  dequantize {:>7.2f} ms{}\n",
               type.name, o.rows, o.cols, o.dist, 8.0 * static_cast<double>(packed.size()) / elems, m.cosine,
               m.mse, m.snr_db, m.max_abs_error, quantize_s * 1e3, elems / quantize_s / 1e6, dequantize_s * 1e3,
               type.ternary ? "  (absmean-ternarized input)" : "");
}

void run_roundtrip(const RoundtripOptions& o) {
    const std::vector<float> original = generate(o);
    if (o.type == "all") {
        for (const WeightType& t : weight_types()) {
            if (o.cols % t.col_multiple == 0) {
                roundtrip_one(t, o, original);
            } else {
                fmt::print("{:<15} skipped: cols {} is not a multiple of {}\n", t.name, o.cols, t.col_multiple);
            }
        }
        return;
    }
    roundtrip_one(weight_type(o.type), o, original);
}

}  // namespace

void add_roundtrip_command(CLI::App& app) {
    auto opts = std::make_shared<RoundtripOptions>();
    auto* cmd = app.add_subcommand("roundtrip",
                                   "Quantize a generated matrix with one type's reference kernels and report "
                                   "cosine, MSE, SNR, bits/weight and time");
    cmd->add_option("--type,-t", opts->type, "Weight type (see `lowbit formats`), or 'all'")->required();
    cmd->add_option("--rows", opts->rows, "Rows of the matrix")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
    cmd->add_option("--cols", opts->cols, "Columns (elements per row)")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    cmd->add_option("--dist", opts->dist, "Distribution of the values")
        ->capture_default_str()
        ->check(CLI::IsMember({"normal", "uniform", "laplace"}));
    cmd->add_option("--seed", opts->seed, "Random seed")->capture_default_str();
    cmd->callback([opts] {
        if (opts->rows * opts->cols > (int64_t{1} << 28)) {
            fail("roundtrip: ", opts->rows, " x ", opts->cols, " is more than 2^28 elements");
        }
        run_roundtrip(*opts);
    });
}

}  // namespace lowbit::cli

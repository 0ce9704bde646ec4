// `lowbit bench kernels`: the kernel micro-benchmarks (bench/kernel_benchmarks.cpp) as a table
// with the speedup of each ISA level over the scalar reference, measured in the same run.
#include <benchmark/benchmark.h>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "median.hpp"
#include "kernel_benchmarks.hpp"
#include "lowbit/error.hpp"
#include "lowbit/isa.hpp"
#include "lowbit/receipt.hpp"
#include "memory_bandwidth.hpp"
#include "model_options.hpp"
#include "read_bandwidth.hpp"

namespace lowbit::cli {
namespace {

struct Result {
    std::string op, type, isa, size;
    double seconds = 0;        // per iteration
    double items_per_s = 0;    // elements/s (or weights/s)
    double bytes_per_s = 0;
    double macs_per_s = 0;
};

// op/type/isa/size[/...] -> parts
Result parse(const benchmark::BenchmarkReporter::Run& run) {
    Result r;
    const std::string name = run.benchmark_name();
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '/') {
            parts.push_back(name.substr(start, i - start));
            start = i + 1;
        }
    }
    if (parts.size() >= 3) {
        r.op = parts[0];
        r.type = parts[1];
        r.isa = parts[0] == "membw" ? "-" : parts[2];
        for (std::size_t i = parts[0] == "membw" ? 2 : 3; i < parts.size(); ++i) {
            if (parts[i] == "real_time") continue;
            r.size += (r.size.empty() ? "" : "/") + parts[i];
        }
    }
    r.seconds = run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
    auto counter = [&](const char* key) {
        const auto it = run.counters.find(key);
        return it == run.counters.end() ? 0.0 : static_cast<double>(it->second);
    };
    r.items_per_s = counter("items_per_second");
    r.bytes_per_s = counter("bytes_per_second");
    r.macs_per_s = counter("MAC/s");
    return r;
}

class TableReporter : public benchmark::BenchmarkReporter {
public:
    bool ReportContext(const Context&) override { return true; }
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& run : runs) {
            if (run.error_occurred || run.run_type != Run::RT_Iteration) continue;
            results_.push_back(parse(run));
            const Result& r = results_.back();
            fmt::print(stderr, "  measured {}/{}/{}/{}\n", r.op, r.type, r.isa, r.size);
        }
    }
    void Finalize() override {}

    void print() const {
        std::map<std::string, double> scalar_time;  // op/type/size -> seconds
        std::map<std::string, double> bandwidth;    // threads -> bytes/s
        for (const Result& r : results_) {
            if (r.isa == "scalar") scalar_time[r.op + "/" + r.type + "/" + r.size] = r.seconds;
            if (r.op == "membw") bandwidth[r.size.substr(r.size.find("threads:"))] = r.bytes_per_s;
        }
        fmt::print("{:<10} {:<15} {:<12} {:<20} {:>12} {:>12} {:>10} {:>9}\n", "op", "type", "isa", "size", "time",
                   "throughput", "GB/s", "speedup");
        for (const Result& r : results_) {
            std::string throughput;
            if (r.macs_per_s > 0) {
                throughput = fmt::format("{:.1f} GMAC/s", r.macs_per_s / 1e9);
            } else if (r.items_per_s > 0) {
                throughput = fmt::format("{:.2f} Gel/s", r.items_per_s / 1e9);
            }
            std::string speedup = "";
            const auto it = scalar_time.find(r.op + "/" + r.type + "/" + r.size);
            if (it != scalar_time.end() && r.isa != "scalar") speedup = fmt::format("{:.1f}x", it->second / r.seconds);
            std::string note;
            if (r.op == "gemv_large") {
                const auto bw = bandwidth.find(r.size.substr(r.size.find("threads:")));
                if (bw != bandwidth.end() && bw->second > 0) {
                    note = fmt::format("  {:.0f}% of membw/read", 100.0 * r.bytes_per_s / bw->second);
                }
            }
            fmt::print("{:<10} {:<15} {:<12} {:<20} {:>12} {:>12} {:>10.2f} {:>9}{}\n", r.op, r.type, r.isa, r.size,
                       format_time(r.seconds), throughput, r.bytes_per_s / 1e9, speedup, note);
        }
    }

private:
    static std::string format_time(double s) {
        if (s < 1e-6) return fmt::format("{:.1f} ns", s * 1e9);
        if (s < 1e-3) return fmt::format("{:.2f} us", s * 1e6);
        if (s < 1) return fmt::format("{:.2f} ms", s * 1e3);
        return fmt::format("{:.2f} s", s);
    }
    std::vector<Result> results_;
};

struct BenchKernelsOptions {
    std::string filter = "dequant/.*/1024$|gemv/.*/2560x6912$|gemm/.*/2560x6912x128$|membw";
    std::string json;
    double min_time = 0.2;
    bool large = false;
};

void run_bench_kernels(const BenchKernelsOptions& o) {
    std::vector<std::string> args = {"lowbit", "--benchmark_filter=" + o.filter,
                                     "--benchmark_min_time=" + std::to_string(o.min_time)};
    if (!o.json.empty()) {
        args.push_back("--benchmark_out=" + o.json);
        args.push_back("--benchmark_out_format=json");
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    int argc = static_cast<int>(argv.size());
    benchmark::Initialize(&argc, argv.data());
    bench::register_kernel_benchmarks({o.large});
    TableReporter table;
    std::unique_ptr<benchmark::BenchmarkReporter> file;
    std::size_t count = 0;
    if (!o.json.empty()) {
        file = std::make_unique<benchmark::JSONReporter>();
        count = benchmark::RunSpecifiedBenchmarks(&table, file.get());
    } else {
        count = benchmark::RunSpecifiedBenchmarks(&table);
    }
    benchmark::Shutdown();
    if (count == 0) fail("bench kernels: no benchmark matches --filter '", o.filter, "'");
    table.print();
}

// ---- bench generate: llama-bench's pp/tg tests ----

struct BenchGenerateOptions {
    ModelOptions model;
    int64_t prompt = 128;
    int64_t generate = 64;
    int repetitions = 3;
    bool json = false;
    bool measure_bandwidth = true;
    bool warmup = true;
};

std::string joined(const std::vector<double>& v, const char* format) {
    std::string all;
    for (double x : v) all += (all.empty() ? "" : " ") + fmt::format(fmt::runtime(format), x);
    return all;
}

// A session of `n_ctx` positions that takes a prompt of up to that many tokens in one batch (as
// llama-bench's default batch does for pp128).
llm::SessionOptions bench_session(int64_t n_ctx) {
    llm::SessionOptions o;
    o.n_ctx = n_ctx;
    o.max_batch = n_ctx;
    return o;
}

void run_bench_generate(const BenchGenerateOptions& o) {
    ThreadPool pool(o.model.thread_count());
    const std::unique_ptr<llm::Model> loaded = load_model(o.model, pool);
    const llm::Model& model = *loaded;
    const int64_t vocab = model.hp().n_vocab;
    std::vector<int32_t> prompt(static_cast<std::size_t>(o.prompt));
    for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 13) % static_cast<std::size_t>(vocab));
    // bytes read per generated token: every weight once, plus on average half the KV cache
    const int64_t kv_bytes_per_position = model.hp().n_layer * model.hp().n_head_kv * model.hp().head_dim * 2 * 2;
    const double bytes_per_token = static_cast<double>(model.bytes_per_token()) +
                                   static_cast<double>(kv_bytes_per_position) * static_cast<double>(o.generate) / 2.0;
    const bool measure_bandwidth = o.measure_bandwidth && o.generate > 0;
    std::vector<double> pp, tg, bandwidth, fraction;  // fraction: effective / bandwidth, per repetition
    std::vector<float> logits;
    std::unique_ptr<ReadBandwidth> reader;
    uint64_t peak_rss = 0;
    if (o.warmup) {
        // as llama-bench: one untimed pass first, so that no repetition pays for mapping the file
        // (or reading it back into the page cache) and first-use allocations
        llm::Session ctx(model, pool, bench_session(std::max<int64_t>(o.prompt, 1) + 1));
        if (o.prompt > 0) ctx.eval(prompt, logits);
        const int32_t token = prompt.empty() ? 0 : prompt[0];
        if (o.generate > 0) ctx.eval(std::span<const int32_t>(&token, 1), logits);
    }
    for (int rep = 0; rep < o.repetitions; ++rep) {
        if (o.prompt > 0) {
            llm::Session ctx(model, pool, bench_session(o.prompt + 1));
            const auto start = std::chrono::steady_clock::now();
            ctx.eval(prompt, logits);
            pp.push_back(static_cast<double>(o.prompt) /
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        if (o.generate > 0) {
            llm::Session ctx(model, pool, bench_session(o.generate + 1));
            int32_t token = prompt.empty() ? 0 : prompt[0];
            const auto start = std::chrono::steady_clock::now();
            for (int64_t i = 0; i < o.generate; ++i) {
                ctx.eval(std::span<const int32_t>(&token, 1), logits);
                token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
            }
            tg.push_back(static_cast<double>(o.generate) /
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        // peak RSS of the model runs (every repetition runs the same), before the 1 GiB buffer
        if (rep == 0) peak_rss = llm::peak_rss_bytes();
        if (measure_bandwidth) {
            if (!reader) reader = std::make_unique<ReadBandwidth>(pool);
            bandwidth.push_back(reader->measure());
            fraction.push_back(bytes_per_token * tg.back() / bandwidth.back());
        }
    }
    reader.reset();
    const double tg_median = tg.empty() ? 0 : median(tg);
    const double effective = bytes_per_token * tg_median;
    const std::string name = std::filesystem::path(o.model.model).filename().string();
    const auto file_bytes = static_cast<double>(model.file().file_size());
    const std::string size = file_bytes >= 1024.0 * 1024 * 1024 ? fmt::format("{:.2f} GiB", file_bytes / (1024.0 * 1024 * 1024))
                                                                 : fmt::format("{:.2f} MiB", file_bytes / (1024.0 * 1024));
    if (o.json) {
        nlohmann::json j = {{"model", o.model.model},
                            {"size_bytes", model.file().file_size()},
                            {"weight_types", model.weight_types()},
                            {"threads", pool.size()},
                            {"isa", std::string(isa_name(model.kernels().isa()))},
                            {"pp", {{"tokens", o.prompt}, {"tokens_per_second", pp}, {"median", pp.empty() ? 0 : median(pp)}}},
                            {"tg", {{"tokens", o.generate}, {"tokens_per_second", tg}, {"median", tg_median}}},
                            {"bytes_per_token", bytes_per_token},
                            {"effective_bytes_per_second", effective},
                            {"read_bandwidth_bytes_per_second", bandwidth},
                            {"effective_fraction_of_read_bandwidth", fraction},
                            {"effective_fraction_median", fraction.empty() ? 0 : median(fraction)},
                            {"peak_rss_bytes", peak_rss},
                            {"build", llm::build_description()}};
        fmt::print("{}\n", j.dump(2));
        return;
    }
    fmt::print("| model | size | types | isa | threads | test | t/s (median of {}) |\n", o.repetitions);
    fmt::print("|---|---|---|---|---|---|---|\n");
    std::string types;
    for (const std::string& t : model.weight_types()) types += (types.empty() ? "" : ", ") + t;
    auto row = [&](const std::string& test, const std::vector<double>& v) {
        if (v.empty()) return;
        fmt::print("| {} | {} | {} | {} | {} | {} | {:.2f} ({}) |\n", name, size, types, isa_name(model.kernels().isa()),
                   pool.size(), test, median(v), joined(v, "{:.1f}"));
    };
    row("pp" + std::to_string(o.prompt), pp);
    row("tg" + std::to_string(o.generate), tg);
    fmt::print("\nbytes read per token {:.1f} MB; effective {:.2f} GB/s", bytes_per_token / 1e6, effective / 1e9);
    if (!fraction.empty()) {
        std::vector<double> percent, gbs;
        for (double f : fraction) percent.push_back(100 * f);
        for (double b : bandwidth) gbs.push_back(b / 1e9);
        fmt::print(" = {:.0f}% of the read bandwidth (median; each tg run against a read measured right after it: "
                   "{} %, read {} GB/s, {} threads)",
                   100 * median(fraction), joined(percent, "{:.0f}"), joined(gbs, "{:.2f}"), pool.size());
    }
    fmt::print("\npeak RSS {:.0f} MiB; {}\n", static_cast<double>(peak_rss) / (1024.0 * 1024),
               llm::build_description());
}

}  // namespace

void add_bench_command(CLI::App& app) {
    auto* bench = app.add_subcommand("bench", "Benchmarks: kernel micro-benchmarks, generation speed, batched decoding, the quantizer");
    bench->require_subcommand(1);
    auto opts = std::make_shared<BenchKernelsOptions>();
    auto* kernels = bench->add_subcommand(
        "kernels", "Kernel micro-benchmarks (op/type/isa/size) with the speedup over the scalar reference");
    kernels->add_option("--filter", opts->filter, "Regular expression over op/type/isa/size")->capture_default_str();
    kernels->add_option("--json", opts->json, "Also write Google Benchmark's JSON to FILE (for bench/report.py)");
    kernels->add_option("--min-time", opts->min_time, "Seconds per benchmark")->capture_default_str();
    kernels->add_flag("--large", opts->large,
                      "Include the GEMV over weights larger than the L3 cache (needs about 1.5 GiB of memory)");
    kernels->callback([opts] { run_bench_kernels(*opts); });

    auto g = std::make_shared<BenchGenerateOptions>();
    auto* generate = bench->add_subcommand(
        "generate", "Prompt processing and token generation speed (llama-bench's pp/tg), median of repetitions");
    g->model.add_to(generate, /*with_ctx=*/false);
    generate->add_option("-p,--n-prompt", g->prompt, "Prompt tokens (pp test; 0: skip)")->capture_default_str();
    generate->add_option("-n,--n-gen", g->generate, "Generated tokens (tg test; 0: skip)")->capture_default_str();
    generate->add_option("-r,--repetitions", g->repetitions, "Repetitions")->capture_default_str()->check(CLI::Range(1, 100));
    generate->add_flag("--json", g->json, "Print JSON");
    generate->add_flag("!--no-warmup", g->warmup, "Skip the untimed warm-up pass before the repetitions");
    generate->add_flag("!--no-bandwidth", g->measure_bandwidth,
                       "Skip measuring the read bandwidth after each tg run (1 GiB buffer)");
    generate->callback([g] { run_bench_generate(*g); });

    add_bench_decode_command(bench);
    add_bench_quantize_command(bench);
}

}  // namespace lowbit::cli

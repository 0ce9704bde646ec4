// `lowbit bench kernels`: the kernel micro-benchmarks (bench/kernel_benchmarks.cpp) as a table
// with the speedup of each ISA level over the scalar reference, measured in the same run.
#include <benchmark/benchmark.h>
#include <fmt/core.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "kernel_benchmarks.hpp"
#include "lowbit/error.hpp"

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

}  // namespace

void add_bench_command(CLI::App& app) {
    auto* bench = app.add_subcommand("bench", "Benchmarks (kernel micro-benchmarks)");
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
}

}  // namespace lowbit::cli

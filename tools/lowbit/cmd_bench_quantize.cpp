// `lowbit bench quantize`: the quantizer on synthetic F16 SafeTensors models with the shapes of
// real ones (100M, 600M, 7B parameters; written once into a cache folder, then read from the
// page cache), for each bit width, thread count and mode. Each run is a child `lowbit quantize`
// process, and its peak RSS the OS's high-water mark of that program alone (VmHWM, which its
// report carries: wait4's ru_maxrss would add what this process held when it forked). With --compare-numpy the same
// input goes through bench/numpy_quantize.py, a plain NumPy implementation of the INTn method,
// whose bytes are checked against lowbit's. Results as JSON; --baseline flags regressions.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "median.hpp"
#include "lowbit/error.hpp"
#include "lowbit/fp16.hpp"
#include "lowbit/safetensors_writer.hpp"
#include "lowbit/thread_pool.hpp"
#include "lowbit/version.hpp"
#include "read_bandwidth.hpp"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Llama-family shapes: full attention, SwiGLU, an untied head for the 7B (Llama-2-7B itself).
struct ModelShape {
    std::string name;
    int64_t hidden, layers, ffn, vocab;
    bool tied;

    std::vector<std::pair<std::string, std::vector<int64_t>>> tensors() const {
        std::vector<std::pair<std::string, std::vector<int64_t>>> t;
        t.push_back({"model.embed_tokens.weight", {vocab, hidden}});
        for (int64_t i = 0; i < layers; ++i) {
            const std::string p = "model.layers." + std::to_string(i) + ".";
            t.push_back({p + "input_layernorm.weight", {hidden}});
            for (const char* proj : {"q_proj", "k_proj", "v_proj", "o_proj"})
                t.push_back({p + "self_attn." + proj + ".weight", {hidden, hidden}});
            t.push_back({p + "post_attention_layernorm.weight", {hidden}});
            t.push_back({p + "mlp.gate_proj.weight", {ffn, hidden}});
            t.push_back({p + "mlp.up_proj.weight", {ffn, hidden}});
            t.push_back({p + "mlp.down_proj.weight", {hidden, ffn}});
        }
        t.push_back({"model.norm.weight", {hidden}});
        if (!tied) t.push_back({"lm_head.weight", {vocab, hidden}});
        return t;
    }
    int64_t parameters() const {
        int64_t n = 0;
        for (const auto& [name, shape] : tensors()) {
            int64_t e = 1;
            for (int64_t d : shape) e *= d;
            n += e;
        }
        return n;
    }
};

const std::vector<ModelShape>& shapes() {
    static const std::vector<ModelShape> s = {{"100M", 768, 8, 3072, 32000, true},
                                              {"600M", 1536, 20, 4096, 32000, true},
                                              {"7B", 4096, 32, 11008, 32000, false}};
    return s;
}

const ModelShape& shape_named(const std::string& name) {
    for (const ModelShape& s : shapes()) {
        if (s.name == name) return s;
    }
    fail("--model-size: '", name, "' is not one of 100M, 600M, 7B");
}

// Weights ~ N(0, 0.02) (a sum of four uniforms), norms 1; deterministic per tensor.
void write_model(const ModelShape& m, const fs::path& path) {
    SafeTensorsWriter w(path);
    w.set_metadata("format", "pt");
    w.set_metadata("lowbit.synthetic", m.name);
    const auto tensors = m.tensors();
    uint64_t total = 0;
    for (const auto& [name, shape] : tensors) total += w.add_tensor(name, SafeDtype::F16, shape);
    std::vector<uint16_t> buf(1 << 20);
    uint64_t done = 0, seed = 0x9e3779b97f4a7c15ull;
    const auto start = std::chrono::steady_clock::now();
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    int last_decile = -1;
    for (const auto& [name, shape] : tensors) {
        int64_t elements = 1;
        for (int64_t d : shape) elements *= d;
        w.begin_tensor(name);
        seed ^= std::hash<std::string>{}(name);
        for (int64_t at = 0; at < elements;) {
            const std::size_t n = static_cast<std::size_t>(std::min<int64_t>(elements - at, static_cast<int64_t>(buf.size())));
            for (std::size_t i = 0; i < n; ++i) {
                if (shape.size() == 1) {
                    buf[i] = 0x3c00;  // 1.0
                    continue;
                }
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                const float u = static_cast<float>(seed & 0xffff) + static_cast<float>((seed >> 16) & 0xffff) +
                                static_cast<float>((seed >> 32) & 0xffff) + static_cast<float>((seed >> 48) & 0xffff);
                buf[i] = f32_to_f16((u / 65536.0f - 2.0f) * 0.035f);
            }
            w.write({reinterpret_cast<const uint8_t*>(buf.data()), n * 2});
            at += static_cast<int64_t>(n);
            done += n * 2;
        }
        w.end_tensor();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const int percent = static_cast<int>(100 * done / std::max<uint64_t>(total, 1));
        if (tty || percent / 10 != last_decile) {
            fmt::print(stderr, "{}writing {} ({:.1f} GB): {}%, {:.0f} MB/s{}", tty ? "\r" : "", path.string(), total / 1e9,
                       percent, done / 1e6 / std::max(s, 1e-9), tty ? "   " : "\n");
            last_decile = percent / 10;
        }
    }
    w.finish();
    if (tty) fmt::print(stderr, "\n");
}

// Reads the file once (into the page cache, and timing that: the bound a pass over the input
// has on this machine right now).
double page_cache_read_bytes_per_second(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_as(ErrorCode::io, path.string(), ": cannot open");
    std::vector<uint8_t> buf(8 << 20);
    uint64_t total = 0;
    const auto start = std::chrono::steady_clock::now();
    for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) > 0;) total += static_cast<uint64_t>(n);
    ::close(fd);
    return static_cast<double>(total) /
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct ChildRun {
    int status = -1;
    double seconds = 0;
    uint64_t peak_rss = 0;
};

// Runs argv[0] with the arguments, output to `log`; wall time, and ru_maxrss from wait4 (which
// Linux makes at least this process's high-water mark: the children report their own VmHWM).
ChildRun run_child(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) fail_as(ErrorCode::io, log.string(), ": cannot create");
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(log_fd);
    if (pid < 0) fail("bench quantize: cannot start ", args[0], ": ", std::strerror(errno));
    int status = 0;
    rusage ru{};
    ::wait4(pid, &status, 0, &ru);
    ChildRun r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.peak_rss = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
    if (r.status == 127) fail("bench quantize: cannot run ", args[0]);
    return r;
}

std::string tail_of(const fs::path& log) {
    std::ifstream f(log);
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return all.size() > 600 ? all.substr(all.size() - 600) : all;
}

struct Options {
    std::vector<std::string> sizes = {"100M"};
    std::vector<int> bits = {4};
    std::vector<int> threads;
    std::vector<std::string> modes = {"streaming"};
    int group = 128;
    double min_cosine = 0;
    int repetitions = 3;
    std::string cache_dir, json_out, baseline, numpy_script, python = "/usr/bin/python3";
    double tolerance = 0.15;
    bool compare_numpy = false;
};

std::string key_of(const json& r) {
    return fmt::format("{}/INT{}/g{}/{}t/{}", r["size"].get<std::string>(), r["bits"].get<int>(), r["group"].get<int>(),
                       r["threads"].get<int>(), r["mode"].get<std::string>());
}

void run_bench_quantize(const Options& o) {
    const fs::path self = fs::read_symlink("/proc/self/exe");
    fs::path cache = o.cache_dir;
    if (cache.empty()) {
        const char* xdg = std::getenv("XDG_CACHE_HOME");
        const char* home = std::getenv("HOME");
        cache = xdg && *xdg ? fs::path(xdg) / "lowbit" / "bench" : fs::path(home ? home : "/tmp") / ".cache" / "lowbit" / "bench";
    }
    fs::create_directories(cache);
    std::vector<int> threads = o.threads;
    if (threads.empty()) threads = {1, default_thread_count()};
    threads.erase(std::unique(threads.begin(), threads.end()), threads.end());
    fs::path numpy_script = o.numpy_script;
    if (o.compare_numpy && numpy_script.empty()) {
        // beside the build: <source>/bench/numpy_quantize.py
        for (fs::path p = self.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
            if (fs::exists(p / "bench" / "numpy_quantize.py")) {
                numpy_script = p / "bench" / "numpy_quantize.py";
                break;
            }
        }
        if (numpy_script.empty()) fail("--compare-numpy: bench/numpy_quantize.py not found; give --numpy-script");
    }

    ThreadPool pool(default_thread_count());
    json results = json::array(), numpy = json::array();
    json sizes = json::array();
    fmt::print("| model | params | type | threads | mode | time (s), median (runs) | Mparams/s | input MB/s | "
               "% of page-cache read | peak RSS (MiB) |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (const std::string& size : o.sizes) {
        const ModelShape& m = shape_named(size);
        const fs::path model = cache / ("synthetic-" + m.name + "-f16.safetensors");
        if (!fs::exists(model)) write_model(m, model);
        const uint64_t input_bytes = fs::file_size(model);
        const double cache_read = page_cache_read_bytes_per_second(model);  // also warms the cache
        double memory_read = 0;
        {
            ReadBandwidth bandwidth(pool);  // 1 GiB, freed before any child starts
            memory_read = bandwidth.measure();
        }
        sizes.push_back({{"size", m.name},
                         {"parameters", m.parameters()},
                         {"input_bytes", input_bytes},
                         {"page_cache_read_bytes_per_second", cache_read},
                         {"memory_read_bytes_per_second", memory_read}});
        const fs::path out = cache / fmt::format("out-{}.gguf", ::getpid());
        const fs::path report = cache / fmt::format("report-{}.json", ::getpid());
        const fs::path log = cache / fmt::format("log-{}.txt", ::getpid());
        for (int bits : o.bits) {
            for (const std::string& mode : o.modes) {
                for (int t : threads) {
                    std::vector<double> seconds, rss;
                    json last_report;
                    for (int rep = 0; rep < o.repetitions; ++rep) {
                        const ChildRun r = run_child({self.string(), "quantize", model.string(), out.string(), "--bits",
                                                      std::to_string(bits), "--group-size", std::to_string(o.group),
                                                      "--min-cosine", fmt::format("{}", o.min_cosine), "-t",
                                                      std::to_string(t), "--mode", mode, "--report", report.string()},
                                                     log);
                        if (r.status != 0) fail("bench quantize: `lowbit quantize` failed:\n", tail_of(log));
                        seconds.push_back(r.seconds);
                        std::ifstream f(report);
                        last_report = json::parse(f);
                        // the child's own high-water mark (wait4's also counts this process)
                        rss.push_back(last_report["totals"]["peak_rss_bytes"].get<double>());
                        fs::remove(out);
                    }
                    const double s = median(seconds);
                    json row = {{"size", m.name},
                                {"parameters", m.parameters()},
                                {"bits", bits},
                                {"group", o.group},
                                {"threads", t},
                                {"mode", mode},
                                {"seconds", seconds},
                                {"seconds_median", s},
                                {"parameters_per_second", static_cast<double>(m.parameters()) / s},
                                {"input_bytes_per_second", static_cast<double>(input_bytes) / s},
                                {"peak_rss_bytes", rss},
                                {"peak_rss_bytes_median", median(rss)},
                                {"output_bytes", last_report["totals"]["output_bytes"]},
                                {"planned_peak_bytes", last_report["totals"]["planned_peak_bytes"]}};
                    std::string runs;
                    for (double x : seconds) runs += fmt::format("{}{:.2f}", runs.empty() ? "" : ", ", x);
                    fmt::print("| {} | {:.0f}M | INT{} g{} | {} | {} | {:.2f} ({}) | {:.1f} | {:.0f} | {:.0f}% | {:.0f} |\n",
                               m.name, m.parameters() / 1e6, bits, o.group, t, mode, s, runs,
                               m.parameters() / 1e6 / s, input_bytes / 1e6 / s, 100 * input_bytes / s / cache_read,
                               median(rss) / (1 << 20));
                    std::fflush(stdout);
                    results.push_back(std::move(row));
                }
            }
            if (o.compare_numpy && (bits == 4 || bits == 8)) {
                // lowbit's SafeTensors output is what the NumPy bytes are checked against
                const fs::path lowbit_st = cache / fmt::format("check-{}.safetensors", ::getpid());
                const fs::path numpy_out = cache / fmt::format("numpy-{}.safetensors", ::getpid());
                const ChildRun lb = run_child({self.string(), "quantize", model.string(), lowbit_st.string(), "--bits",
                                               std::to_string(bits), "--group-size", std::to_string(o.group), "-t", "1",
                                               "--min-cosine", "0", "--report", report.string()},
                                              log);
                if (lb.status != 0) fail("bench quantize: `lowbit quantize` failed:\n", tail_of(log));
                uint64_t lb_rss = lb.peak_rss;
                {
                    std::ifstream f(report);
                    lb_rss = json::parse(f)["totals"]["peak_rss_bytes"].get<uint64_t>();
                }
                const ChildRun np = run_child({o.python, numpy_script.string(), model.string(), numpy_out.string(), "--bits",
                                               std::to_string(bits), "--group-size", std::to_string(o.group), "--check",
                                               lowbit_st.string()},
                                              log);
                const std::string np_log = tail_of(log);
                const std::size_t hwm = np_log.find("peak_rss_kb ");
                const uint64_t np_rss = hwm == std::string::npos ? np.peak_rss : std::stoull(np_log.substr(hwm + 12)) * 1024;
                fs::remove(lowbit_st);
                fs::remove(numpy_out);
                if (np.status != 0) fail("bench quantize: bench/numpy_quantize.py failed:\n", np_log);
                numpy.push_back({{"size", m.name},
                                 {"bits", bits},
                                 {"group", o.group},
                                 {"seconds", np.seconds},
                                 {"peak_rss_bytes", np_rss},
                                 {"lowbit_1_thread_seconds", lb.seconds},
                                 {"lowbit_1_thread_peak_rss_bytes", lb_rss},
                                 {"check", np_log.substr(np_log.rfind("check:") == std::string::npos ? 0 : np_log.rfind("check:"))}});
                fmt::print("| {} | {:.0f}M | INT{} g{} (NumPy) | 1 | batch per tensor | {:.2f} | {:.1f} | {:.0f} | {:.0f}% | "
                           "{:.0f} |\n",
                           m.name, m.parameters() / 1e6, bits, o.group, np.seconds, m.parameters() / 1e6 / np.seconds,
                           input_bytes / 1e6 / np.seconds, 100 * input_bytes / np.seconds / cache_read,
                           np_rss / double(1 << 20));
                fmt::print("  NumPy against lowbit, 1 thread each, same input: {:.1f}x the speed, {:.0f}% of the peak "
                           "RSS; {}",
                           np.seconds / lb.seconds, 100.0 * lb_rss / std::max<double>(np_rss, 1),
                           numpy.back()["check"].get<std::string>());
            }
        }
        fs::remove(report);
        fs::remove(log);
        fmt::print("  {}: input {:.2f} GB; page-cache read {:.2f} GB/s, memory read {:.2f} GB/s ({} threads), measured "
                   "before the runs\n",
                   m.name, input_bytes / 1e9, cache_read / 1e9, memory_read / 1e9, pool.size());
    }
    json doc = {{"schema", "lowbit.bench-quantize/1"},
                {"lowbit_version", std::string(version())},
                {"min_cosine", o.min_cosine},
                {"repetitions", o.repetitions},
                {"models", sizes},
                {"results", results},
                {"numpy", numpy}};

    if (!o.baseline.empty()) {
        std::ifstream f(o.baseline);
        if (!f) fail_as(ErrorCode::io, o.baseline, ": cannot open the baseline");
        const json base = json::parse(f);
        std::map<std::string, double> before;
        for (const json& r : base.at("results")) before[key_of(r)] = r.at("seconds_median").get<double>();
        json regressions = json::array();
        fmt::print("\nagainst {} (a regression: more than {:.0f}% slower)\n", o.baseline, 100 * o.tolerance);
        for (const json& r : results) {
            const auto it = before.find(key_of(r));
            if (it == before.end()) continue;
            const double now = r["seconds_median"].get<double>(), ratio = now / it->second;
            const bool slower = ratio > 1 + o.tolerance;
            fmt::print("  {:<32} {:8.2f} s -> {:8.2f} s  {:+.1f}%{}\n", key_of(r), it->second, now, 100 * (ratio - 1),
                       slower ? "  REGRESSION" : "");
            if (slower) regressions.push_back(key_of(r));
        }
        doc["baseline"] = o.baseline;
        doc["regressions"] = regressions;
    }
    if (!o.json_out.empty()) {
        std::ofstream f(o.json_out + ".tmp");
        f << doc.dump(2) << "\n";
        f.close();
        if (!f) fail_as(ErrorCode::io, o.json_out, ": cannot write");
        fs::rename(o.json_out + ".tmp", o.json_out);
    }
    if (doc.contains("regressions") && !doc["regressions"].empty()) {
        throw Error(concat(doc["regressions"].size(), " regression(s) against ", o.baseline), ErrorCode::bad_argument);
    }
}

}  // namespace

void add_bench_quantize_command(CLI::App* bench) {
    auto o = std::make_shared<Options>();
    auto* cmd = bench->add_subcommand(
        "quantize",
        "The quantizer on synthetic F16 models of real shapes (100M, 600M, 7B; cached), each run a child process "
        "with its own peak RSS");
    cmd->add_option("--model-size", o->sizes, "Model sizes: 100M, 600M, 7B (13.5 GB of F16)")
        ->delimiter(',')
        ->check(CLI::IsMember({"100M", "600M", "7B"}))
        ->capture_default_str();
    cmd->add_option("--bits", o->bits, "INTn widths")->delimiter(',')->check(CLI::IsMember({2, 4, 8}))->capture_default_str();
    cmd->add_option("--group-size", o->group, "INTn group size")->check(CLI::IsMember({32, 64, 128, 256}))->capture_default_str();
    cmd->add_option("-t,--threads", o->threads, "Thread counts (default: 1 and all)")->delimiter(',')->check(CLI::Range(1, 1024));
    cmd->add_option("--mode", o->modes, "streaming and/or batch")
        ->delimiter(',')
        ->check(CLI::IsMember({"streaming", "batch"}))
        ->capture_default_str();
    cmd->add_option("--min-cosine", o->min_cosine, "Passed to quantize (0: no fallback, tensors written as done)")
        ->capture_default_str();
    cmd->add_option("-r,--repetitions", o->repetitions, "Runs per configuration (the median is reported)")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    cmd->add_option("--cache-dir", o->cache_dir,
                    "Where the synthetic models are kept (default: $XDG_CACHE_HOME/lowbit/bench or ~/.cache/lowbit/bench)");
    cmd->add_option("--json", o->json_out, "Write the results as JSON (lowbit.bench-quantize/1, for bench/report.py)");
    cmd->add_option("--baseline", o->baseline, "A saved --json result: print the change and flag regressions (exit 1)");
    cmd->add_option("--tolerance", o->tolerance, "Slower than the baseline by more than this fraction: a regression")
        ->capture_default_str();
    cmd->add_flag("--compare-numpy", o->compare_numpy,
                  "Also run bench/numpy_quantize.py (INT4/INT8) on the same input, 1 thread against 1, and check its "
                  "bytes equal lowbit's");
    cmd->add_option("--numpy-script", o->numpy_script, "Path of numpy_quantize.py (default: found beside the build)");
    cmd->add_option("--python", o->python, "Python for the NumPy comparison")->capture_default_str();
    cmd->callback([o] { run_bench_quantize(*o); });
}

}  // namespace lowbit::cli

// `lowbit quantize`: a whole model (GGUF, SafeTensors, sharded, Hugging Face folder) to low-bit
// types, tensor by tensor, with each tensor's quality measured and a fallback to wider types
// (src/quantize/, docs/QUANTIZE.md).
#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <memory>

#include "commands.hpp"
#include "lowbit/error.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/quantize_request.hpp"
#include "lowbit/thread_pool.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::cli {
namespace {

struct CliOptions : quantize::Request {
    std::string report;
    int threads = 0;
    bool sym = false;
};

std::string shape_text(const std::vector<int64_t>& ne) {
    std::string s;
    for (std::size_t i = ne.size(); i-- > 0;) s += (s.empty() ? "" : "x") + std::to_string(ne[i]);  // rows x cols
    return s;
}

std::string bytes_text(double b) {
    if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
    if (b >= 1e6) return fmt::format("{:.1f} MB", b / 1e6);
    return fmt::format("{:.1f} kB", b / 1e3);
}

void print_table(const quantize::Report& r) {
    fmt::print("{:<28} {:>12} {:<15} {:>7} {:>8} {:>10} {:>9} {:>8}  {}\n", "tensor", "shape", "type", "bits/w",
               "cosine", "rel. MSE", "max err", "ms", "fallback");
    for (const quantize::TensorReport& t : r.tensors) {
        if (t.kept) {
            fmt::print("{:<28} {:>12} {:<15} {:>7.3f} {:>8} {:>10} {:>9} {:>8.1f}  kept\n", t.name, shape_text(t.shape),
                       t.type, t.bits_per_weight, "-", "-", "-", 1000 * t.seconds);
        } else {
            fmt::print("{:<28} {:>12} {:<15} {:>7.3f} {:>8.5f} {:>10.3e} {:>9.3e} {:>8.1f}  {}\n", t.name,
                       shape_text(t.shape), t.type, t.bits_per_weight, t.cosine, t.relative_mse, t.max_abs_error,
                       1000 * t.seconds,
                       t.entropy >= 0 ? fmt::format("entropy {:.3f}{}{}", t.entropy, t.fallback.empty() ? "" : "; ",
                                                    t.fallback)
                                      : t.fallback);
        }
    }
    fmt::print(
        "\n{} tensors ({} fell back), {} -> {}, {:.3f} bits/weight, {:.2f} s ({:.1f} MB/s of input), {} threads, "
        "peak RSS {:.0f} MiB (largest work item planned: {:.0f} MiB; {}){}\n",
        r.tensors.size(), r.fallbacks, bytes_text(static_cast<double>(r.input_bytes)),
        r.dry_run ? "(dry run: nothing written)" : bytes_text(static_cast<double>(r.output_bytes)), r.bits_per_weight,
        r.seconds, static_cast<double>(r.input_bytes) / 1e6 / std::max(r.seconds, 1e-9), r.threads,
        static_cast<double>(r.peak_rss_bytes) / (1 << 20), static_cast<double>(r.planned_peak_bytes) / (1 << 20), r.mode,
        r.dry_run                ? ""
        : r.output_files > 1 ? fmt::format(", wrote {} files: {} ...", r.output_files, r.output)
                             : ", wrote " + r.output);
}

}  // namespace

void add_quantize_command(CLI::App& app) {
    auto o = std::make_shared<CliOptions>();
    auto* cmd = app.add_subcommand("quantize",
                                   "Quantize a model (GGUF, SafeTensors, Hugging Face folder) to low-bit types, "
                                   "measuring every tensor (cosine, error) and falling back to wider types where "
                                   "quality is too low");
    cmd->add_option("input", o->input,
                    "Input model: a .gguf (F32/F16/BF16, or any type lowbit decodes), a .safetensors file, a "
                    "sharded model's model.safetensors.index.json, or a Hugging Face folder")
        ->required()
        ->check(CLI::ExistingPath);
    cmd->add_option("output", o->output,
                    "Output .gguf or .safetensors (written under a temporary name, renamed when complete)");
    cmd->add_option("--out-format", o->out_format,
                    "gguf (runs with `lowbit run`; HF llama/BitNet folders get llama.cpp's names) or safetensors "
                    "(packed codes, scales, zero points and a quantization_config); default: from the output's "
                    "extension, else gguf")
        ->check(CLI::IsMember({"gguf", "safetensors"}));
    auto* type =
        cmd->add_option("--type", o->type,
                        "Type of the 2-D tensors, e.g. Q4_0, Q8_0, TQ2_0, INT4_SYM_G128 (see `lowbit formats`); "
                        "falls back only with --min-cosine");
    cmd->add_option("--bits", o->bits,
                    "INTn group type: 2, 4 or 8 bits, or auto (each tensor's from its entropy hint: < 0.5 -> 8, "
                    "< 0.7 -> 4, else 2) (default: the profile's)")
        ->check(CLI::IsMember({"2", "4", "8", "auto"}))
        ->excludes(type);
    cmd->add_option("--group-size", o->group, "INTn group size: 32, 64, 128 or 256 (default: the profile's)")
        ->check(CLI::IsMember({32, 64, 128, 256}))
        ->excludes(type);
    auto* asym = cmd->add_flag("--asym", o->asym, "INTn with a zero point per group");
    cmd->add_flag("--sym", o->sym, "INTn symmetric (the default)")->excludes(asym);
    asym->excludes(type);
    cmd->add_option("--profile", o->profile,
                    "Defaults when no --type: edge (INT2 g256, min cosine 0.65), local (INT4 g128, 0.85), cloud (INT8 "
                    "g64, 0.95)")
        ->check(CLI::IsMember({"edge", "local", "cloud"}))
        ->capture_default_str();
    cmd->add_option("--keep", o->keep, "Store tensors whose name matches this regex as they are (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--tensor-type", o->tensor_types,
                    "REGEX=TYPE: tensors matching REGEX get TYPE (repeatable; first match)")
        ->allow_extra_args(false);
    cmd->add_option(
           "--min-cosine", o->min_cosine,
           "Fall back to the next wider type (2 -> 4 -> 8 bits -> F16) below this cosine similarity (0: never)")
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("-t,--threads", o->threads, "Threads (default: all CPUs this process may use)")
        ->check(CLI::Range(0, 1024));
    cmd->add_option("--nan", o->nan, "NaN or infinite weights: error (name the tensor and element) or zero")
        ->check(CLI::IsMember({"error", "zero"}))
        ->capture_default_str();
    cmd->add_flag("--strict", o->strict,
                  "A shape the planned type cannot store is an error (default: the next type of its chain)");
    cmd->add_option("--max-memory", o->max_memory,
                    "Refuse to start when a work item would hold more than SIZE (e.g. 512M, 2G), naming the tensor");
    cmd->add_option("--shards", o->shards,
                    "Write a GGUF split set of N files, DST-0000i-of-0000N.gguf (llama.cpp's gguf-split naming; "
                    "lowbit run and llama.cpp load it from the first), cut into runs of about equal bytes")
        ->check(CLI::Range(1, 99999))
        ->capture_default_str();
    cmd->add_option("--mode", o->mode,
                    "streaming (read, quantize, write, release; memory independent of the model's size) or batch "
                    "(everything in memory, then written: for comparison)")
        ->check(CLI::IsMember({"streaming", "batch"}))
        ->capture_default_str();
    cmd->add_option("--ternarize", o->ternarize,
                    "Float weights to a ternary type (I2_S, TQ1_0, TQ2_0, TL1, TL2): absmean (BitNet's rule; weights "
                    "already ternary x one scale stay as they are) or none (the type's own rounding of the values, "
                    "llama.cpp's for TQ1_0/TQ2_0)")
        ->check(CLI::IsMember({"absmean", "none"}))
        ->capture_default_str();
    auto* calib = cmd->add_option("--calib", o->calib,
                                  "Calibration statistics (lowbit.calibrate.collect): activation parameters per "
                                  "layer and timestep group, and the channel scalings below");
    cmd->add_option("--act-bits", o->act_bits,
                    "With --calib: bits of the activation scale and zero point written per layer and group (0: "
                    "none; default 8)")
        ->needs(calib);
    cmd->add_option("--time-groups", o->time_groups,
                    "With --calib: split the timesteps into G contiguous groups, each with its own activation range "
                    "(default 1: one range for all)")
        ->needs(calib);
    cmd->add_option("--time-split", o->time_split,
                    "With --calib: uniform groups, or dp: the split that minimises the summed within-group range "
                    "spread (default uniform)")
        ->check(CLI::IsMember({"uniform", "dp"}))
        ->needs(calib);
    auto* smooth = cmd->add_option("--smooth-alpha", o->smooth_alpha,
                                   "With --calib: SmoothQuant channel equalization with this alpha in [0, 1], or "
                                   "auto: per layer the alpha of 0, 0.1, ..., 1 with the least output error on the "
                                   "sampled rows (writes <layer>.smooth_scale)")
                       ->needs(calib);
    cmd->add_flag("--awq", o->awq,
                  "With --calib: AWQ, per layer the s = absmax^a (a in 0.05..0.95) with the least "
                  "weight-quantization output error on the sampled rows (writes <layer>.smooth_scale), then "
                  "per weight block the clipping bound (0.55..1 of its max) with the least error")
        ->needs(calib)
        ->excludes(smooth);
    cmd->add_option("--report", o->report, "Write the per-tensor report as JSON (lowbit.quantize-report/1)");
    cmd->add_flag("--dry-run", o->dry_run, "Quantize and measure, write no model");
    cmd->callback([o] {
        static std::atomic<bool> cancel{false};
        static std::atomic<int> caught{0};
        struct sigaction sa {};
        sa.sa_handler = [](int s) {
            caught.store(s);
            cancel.store(true);
        };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
        // a file size limit (ulimit -f) then fails the write with EFBIG, reported like a full disk
        signal(SIGXFSZ, SIG_IGN);

        const quantize::Options q = quantize::resolve(*o, &cancel);
        ThreadPool pool(o->threads > 0 ? o->threads : default_thread_count());
        const bool tty = isatty(STDERR_FILENO) != 0;
        const auto progress = [tty](const quantize::Progress& p) {
            const double rate = p.seconds > 0 ? static_cast<double>(p.bytes_done) / p.seconds : 0;
            const double eta = rate > 0 ? static_cast<double>(p.bytes_total - p.bytes_done) / rate : 0;
            if (tty) {
                const int width = 30;
                const int filled = p.bytes_total ? static_cast<int>(width * p.bytes_done / p.bytes_total) : width;
                fmt::print(stderr, "\r[{}{}] {}/{} tensors, {}/{}, {:.1f} MB/s, ETA {:.0f} s   ",
                           std::string(filled, '#'), std::string(width - filled, '.'), p.tensors_done, p.tensors_total,
                           bytes_text(static_cast<double>(p.bytes_done)),
                           bytes_text(static_cast<double>(p.bytes_total)), rate / 1e6, eta);
                if (p.tensors_done == p.tensors_total) fmt::print(stderr, "\n");
            } else {
                fmt::print(stderr, "quantize: [{}/{}] {} {} ({:.1f} s, {:.1f} MB/s)\n", p.tensors_done, p.tensors_total,
                           p.last->name, p.last->type, p.seconds, rate / 1e6);
            }
        };
        quantize::Report r;
        try {
            r = quantize::quantize_model(q, pool, progress);
        } catch (const Error& e) {
            if (tty) fmt::print(stderr, "\n");
            if (e.code() == ErrorCode::cancelled) {
                throw Error(
                    concat("interrupted by ", caught.load() == SIGTERM ? "SIGTERM" : "SIGINT", "; nothing was written"),
                    ErrorCode::cancelled);
            }
            throw;
        }
        print_table(r);
        if (!o->report.empty()) quantize::write_report(o->report, r);
    });
}

}  // namespace lowbit::cli

// `lowbit bench decode`: batched decoding, as a server with several busy slots runs it: S
// sequences each prefilled with a prompt, then steps that decode one token of every sequence
// in one batch (one read of the weights for all of them). Reports the step's aggregate and
// per-sequence tokens/s for each S, median of repetitions, and the aggregate against S = 1.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "median.hpp"
#include "lowbit/decode.hpp"
#include "lowbit/error.hpp"
#include "lowbit/receipt.hpp"
#include "model_options.hpp"

namespace lowbit::cli {
namespace {

struct BenchDecodeOptions {
    ModelOptions model;
    std::vector<int> sequences = {1, 2, 4, 8, 16};
    int64_t prompt = 32;  // tokens per sequence before the timed steps
    int64_t steps = 32;
    int repetitions = 3;
    bool json = false;
};

int32_t argmax(std::span<const float> v) {
    return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Seconds for `steps` batched steps of S sequences (after their prompts, which are not timed).
double time_steps(const llm::Model& model, ThreadPool& pool, int sequences, const BenchDecodeOptions& o) {
    const int64_t vocab = model.hp().n_vocab;
    llm::KvCache kv(model, {o.prompt + o.steps + 1, sequences, llm::KvCacheType::f16});
    llm::Workspace ws(model, std::max<int64_t>(sequences, o.prompt));
    std::vector<int32_t> next(static_cast<std::size_t>(sequences));
    llm::Batch batch;
    for (int s = 0; s < sequences; ++s) {
        const int id = kv.allocate();
        std::vector<int32_t> prompt(static_cast<std::size_t>(o.prompt));
        for (std::size_t i = 0; i < prompt.size(); ++i) {
            prompt[i] = static_cast<int32_t>((i * 7919 + 13 + static_cast<std::size_t>(s) * 104729) %
                                             static_cast<std::size_t>(vocab));
        }
        batch.clear();
        batch.add_sequence(prompt, id, 0);
        next[static_cast<std::size_t>(s)] = argmax(llm::decode(model, batch, kv, ws, pool));
    }
    const auto start = std::chrono::steady_clock::now();
    for (int64_t step = 0; step < o.steps; ++step) {
        batch.clear();
        for (int s = 0; s < sequences; ++s) batch.add(next[static_cast<std::size_t>(s)], s, o.prompt + step, true);
        const std::span<const float> logits = llm::decode(model, batch, kv, ws, pool);
        for (int s = 0; s < sequences; ++s) {
            next[static_cast<std::size_t>(s)] =
                argmax(logits.subspan(static_cast<std::size_t>(s * vocab), static_cast<std::size_t>(vocab)));
        }
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run_bench_decode(const BenchDecodeOptions& o) {
    ThreadPool pool(o.model.thread_count());
    const std::unique_ptr<llm::Model> loaded = load_model(o.model, pool);
    const llm::Model& model = *loaded;
    time_steps(model, pool, 1, BenchDecodeOptions{o.model, {1}, 4, 2, 1, false});  // warm-up: map the file
    struct Row {
        int sequences;
        std::vector<double> aggregate;  // tokens/s of all sequences, per repetition
    };
    std::vector<Row> rows;
    for (int s : o.sequences) {
        Row row{s, {}};
        for (int rep = 0; rep < o.repetitions; ++rep) {
            const double seconds = time_steps(model, pool, s, o);
            row.aggregate.push_back(static_cast<double>(s * o.steps) / seconds);
        }
        rows.push_back(row);
    }
    const double base = rows.front().sequences == 1 ? median(rows.front().aggregate) : 0.0;
    if (o.json) {
        nlohmann::json j = {{"model", o.model.model},
                            {"threads", pool.size()},
                            {"isa", std::string(isa_name(model.kernels().isa()))},
                            {"prompt_tokens", o.prompt},
                            {"steps", o.steps},
                            {"build", llm::build_description()}};
        for (const Row& r : rows) {
            j["rows"].push_back({{"sequences", r.sequences},
                                 {"aggregate_tokens_per_second", r.aggregate},
                                 {"median", median(r.aggregate)},
                                 {"per_sequence_median", median(r.aggregate) / r.sequences}});
        }
        fmt::print("{}\n", j.dump(2));
        return;
    }
    fmt::print("| sequences | aggregate t/s (median of {}) | per sequence t/s | vs 1 sequence |\n", o.repetitions);
    fmt::print("|---|---|---|---|\n");
    for (const Row& r : rows) {
        std::string all;
        for (double v : r.aggregate) all += (all.empty() ? "" : " ") + fmt::format("{:.1f}", v);
        const double m = median(r.aggregate);
        fmt::print("| {} | {:.2f} ({}) | {:.2f} | {} |\n", r.sequences, m, all, m / r.sequences,
                   base > 0 ? fmt::format("{:.2f}x", m / base) : std::string("-"));
    }
    fmt::print("\n{}: {} threads, {}, {} prompt tokens per sequence, {} steps; {}\n", o.model.model, pool.size(),
               isa_name(model.kernels().isa()), o.prompt, o.steps, llm::build_description());
}

}  // namespace

void add_bench_decode_command(CLI::App* bench) {
    auto o = std::make_shared<BenchDecodeOptions>();
    auto* cmd = bench->add_subcommand(
        "decode", "Batched decoding: one token of each of S sequences per step, for several S (a server's slots)");
    o->model.add_to(cmd, /*with_ctx=*/false);
    cmd->add_option("-s,--sequences", o->sequences, "Sequence counts to measure")
        ->delimiter(',')
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    cmd->add_option("-p,--n-prompt", o->prompt, "Prompt tokens per sequence (not timed)")
        ->capture_default_str()
        ->check(CLI::Range(int64_t{1}, int64_t{4096}));
    cmd->add_option("-n,--n-steps", o->steps, "Timed steps")
        ->capture_default_str()
        ->check(CLI::Range(int64_t{1}, int64_t{4096}));
    cmd->add_option("-r,--repetitions", o->repetitions, "Repetitions")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    cmd->add_flag("--json", o->json, "Print JSON");
    cmd->callback([o] { run_bench_decode(*o); });
}

}  // namespace lowbit::cli

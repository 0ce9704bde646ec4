// `lowbit score`: the perplexity of a model on a text file (include/lowbit/perplexity.hpp).
#include <fmt/core.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.hpp"
#include "lowbit/error.hpp"
#include "lowbit/perplexity.hpp"
#include "model_options.hpp"

namespace lowbit::cli {
namespace {

struct ScoreOptions {
    ModelOptions model;
    std::string file;
    int64_t window = 0;  // 0: 512, or the model's training context when that is shorter
    bool json = false;
};

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void score(const ScoreOptions& o) {
    ThreadPool pool(o.model.thread_count());
    const std::unique_ptr<llm::Model> model = load_model(o.model, pool);
    const Tokenizer& tokenizer = model->tokenizer();
    const std::string text = read_text(o.file);
    const std::vector<int32_t> tokens = tokenizer.encode(text, tokenizer.add_bos(), /*parse_special=*/false);
    int64_t window = o.window;
    if (window == 0) {
        const int64_t trained = model->hp().n_ctx_train;
        window = trained >= 2 && trained < 512 ? trained : 512;
    }
    llm::SessionOptions session_options;
    session_options.n_ctx = window;
    session_options.max_batch = window;
    llm::Session session(*model, pool, session_options);
    const auto start = std::chrono::steady_clock::now();
    const llm::PerplexityResult r = llm::perplexity(session, tokens, window);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (o.json) {
        nlohmann::json j = {{"perplexity", r.perplexity}, {"mean_nll", r.mean_nll}, {"scored_tokens", r.scored_tokens},
                            {"windows", r.windows}, {"window", window}, {"tokens", tokens.size()}};
        fmt::print("{}\n", j.dump(2));
    } else {
        fmt::print("perplexity {:.4f} over {} tokens ({} windows of up to {}; {} tokens in the file), {:.1f} tok/s\n",
                   r.perplexity, r.scored_tokens, r.windows, window, tokens.size(),
                   static_cast<double>(tokens.size()) / seconds);
    }
}

}  // namespace

void add_score_command(CLI::App& app) {
    auto o = std::make_shared<ScoreOptions>();
    auto* cmd = app.add_subcommand("score", "Perplexity of a model on a text file");
    o->model.add_to(cmd, /*with_ctx=*/false);
    cmd->add_option("-f,--file", o->file, "Text file")->required()->check(CLI::ExistingFile);
    cmd->add_option("-w,--window", o->window,
                    "Tokens per window, each scored in a fresh context (default: 512, or the model's training "
                    "context if shorter)")
        ->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
    cmd->add_flag("--json", o->json, "Print the result as JSON");
    cmd->callback([o] { score(*o); });
}

}  // namespace lowbit::cli

// Options shared by the commands that run a model (run, chat, score, bench generate).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "lowbit/context.hpp"
#include "lowbit/model.hpp"
#include "lowbit/sampler.hpp"
#include "lowbit/thread_pool.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::cli {

struct ModelOptions {
    std::string model;
    int threads = 0;  // 0: every CPU this process may use
    int64_t ctx = 0;  // 0: the model's training context (llama.cpp's -c 0)
    std::string head_type;  // "", q8_0, q6_k, q4_0
    std::string cache_type = "f16";

    void add_to(CLI::App* cmd, bool with_ctx = true);
    int thread_count() const;
    llm::LoadOptions load_options() const;
    // --ctx, or the model's training context when it was not given.
    int64_t context_size(const llm::Model& model) const;
    llm::KvCacheType kv_cache_type() const;
};

void add_sampling_options(CLI::App* cmd, llm::SamplingParams& p);

// A loaded model with its tokenizer.
struct LoadedModel {
    std::unique_ptr<llm::Model> model;
    std::unique_ptr<Tokenizer> tokenizer;
};
LoadedModel load_model(const ModelOptions& o);

}  // namespace lowbit::cli

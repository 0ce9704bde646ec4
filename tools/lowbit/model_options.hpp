// Options shared by the commands that run a model (run, chat, score, bench generate).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "lowbit/model.hpp"
#include "lowbit/sampler.hpp"
#include "lowbit/session.hpp"
#include "lowbit/thread_pool.hpp"

namespace lowbit::cli {

struct ModelOptions {
    std::string model;
    int threads = 0;  // 0: every CPU this process may use
    int64_t ctx = 0;  // 0: the model's training context (llama.cpp's -c 0)
    std::string head_type;  // "", q8_0, q6_k, q4_0
    std::string cache_type = "f16";
    int64_t batch = 512;  // prompt tokens per decode step

    void add_to(CLI::App* cmd, bool with_ctx = true);
    int thread_count() const;
    // --ctx (0: the model's training context) and --cache-type.
    llm::SessionOptions session_options() const;
};

void add_sampling_options(CLI::App* cmd, llm::SamplingParams& p);

// The model of --model, with --head-type, loaded with the command's pool.
std::unique_ptr<llm::Model> load_model(const ModelOptions& o, ThreadPool& pool);

}  // namespace lowbit::cli

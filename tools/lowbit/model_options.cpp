#include "model_options.hpp"

#include "lowbit/error.hpp"

namespace lowbit::cli {

void ModelOptions::add_to(CLI::App* cmd, bool with_ctx) {
    cmd->add_option("-m,--model", model, "Model file (GGUF)")->required()->check(CLI::ExistingFile);
    cmd->add_option("-t,--threads", threads, "Threads (default: all CPUs this process may use)")
        ->check(CLI::Range(0, 1024));
    if (with_ctx) {
        cmd->add_option("-c,--ctx", ctx,
                        "Context size in tokens: the most the sequence holds (its KV cache grows up to it; "
                        "default: the model's training context)")
            ->check(CLI::Range(int64_t{16}, int64_t{1} << 20));
        cmd->add_option("--cache-type", cache_type,
                        "KV cache element type: f16 (as llama.cpp) or f32 (exact agreement with a float reference)")
            ->capture_default_str()
            ->check(CLI::IsMember({"f16", "f32"}, CLI::ignore_case));
        cmd->add_option("-b,--batch-size", batch,
                        "Prompt tokens per decode step (a longer prompt goes in chunks; the logits do not depend on it)")
            ->capture_default_str()
            ->check(CLI::Range(int64_t{1}, int64_t{65536}));
    }
    cmd->add_option("--head-type", head_type,
                    "Re-quantize the output head at load time: q8_0, q6_k or q4_0 (fewer bytes read per token)")
        ->check(CLI::IsMember({"q8_0", "q6_k", "q4_0"}, CLI::ignore_case));
}

int ModelOptions::thread_count() const { return threads > 0 ? threads : default_thread_count(); }

llm::SessionOptions ModelOptions::session_options() const {
    llm::SessionOptions o;
    o.n_ctx = ctx;
    o.kv_type = cache_type == "f32" || cache_type == "F32" ? llm::KvCacheType::f32 : llm::KvCacheType::f16;
    o.max_batch = batch;
    return o;
}

void add_sampling_options(CLI::App* cmd, llm::SamplingParams& p) {
    cmd->add_option("--temp", p.temperature, "Temperature (0: greedy)")->capture_default_str();
    cmd->add_option("--top-k", p.top_k, "Keep the k most likely tokens (0: off)")->capture_default_str();
    cmd->add_option("--top-p", p.top_p, "Keep the smallest set with this total probability (1: off)")
        ->capture_default_str();
    cmd->add_option("--min-p", p.min_p, "Drop tokens below this fraction of the best one's probability (0: off)")
        ->capture_default_str();
    cmd->add_option("--repeat-penalty", p.repeat_penalty, "Penalty for recently used tokens (1: off)")
        ->capture_default_str();
    cmd->add_option("--frequency-penalty", p.frequency_penalty,
                    "Subtract this times a token's count in the recent tokens from its logit (OpenAI's; 0: off)")
        ->capture_default_str();
    cmd->add_option("--presence-penalty", p.presence_penalty,
                    "Subtract this from the logit of every token in the recent tokens (OpenAI's; 0: off)")
        ->capture_default_str();
    cmd->add_option("--repeat-last-n", p.repeat_last_n, "How many recent tokens the penalties consider")
        ->capture_default_str();
    cmd->add_option("--seed", p.seed, "Random seed (same seed and settings: same tokens)")->capture_default_str();
}

std::unique_ptr<llm::Model> load_model(const ModelOptions& o, ThreadPool& pool) {
    llm::LoadOptions options;
    if (!o.head_type.empty()) options.head_type = weight_type(o.head_type).id;
    options.pool = &pool;
    return llm::Model::load(o.model, options);
}

}  // namespace lowbit::cli

// `lowbit make-model`: a model with random weights and the exact shapes of a real one, plus a
// working byte-level tokenizer: for speed tests without downloads.
#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <memory>

#include "commands.hpp"
#include "lowbit/byte_level_tokenizer.hpp"
#include "lowbit/error.hpp"
#include "lowbit/model_writer.hpp"
#include "lowbit/ternary.hpp"
#include "lowbit/thread_pool.hpp"

namespace lowbit::cli {
namespace {

struct MakeModelOptions {
    std::string arch = "bitnet-b1.58";
    std::string preset = "tiny";
    std::string type = "I2_S";
    std::string embedding_type = "F16";
    std::string head_type;  // empty: tied to the embedding
    std::string out;
    uint64_t seed = 1;
};

uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Roughly normal values (a sum of four uniforms), fast and reproducible by element index.
void fill_normal(std::vector<float>& v, uint64_t seed, float sigma, ThreadPool& pool) {
    const float norm = sigma / (65535.0f * std::sqrt(4.0f / 12.0f));
    pool.parallel_for(static_cast<int64_t>(v.size()), 4096, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const uint64_t r = splitmix64(seed ^ (static_cast<uint64_t>(i) * 0x2545F4914F6CDD1Dull));
            const float sum = static_cast<float>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48));
            v[static_cast<std::size_t>(i)] = (sum - 2.0f * 65535.0f) * norm;
        }
    });
}

void make_model(const MakeModelOptions& o) {
    const llm::ModelShape shape = llm::preset_shape(o.preset, o.arch);
    llm::ModelTypes types;
    types.linear = weight_type(o.type).id;
    types.embedding = weight_type(o.embedding_type).id;
    if (!o.head_type.empty()) types.head = weight_type(o.head_type).id;
    const bool ternary = weight_type(types.linear).ternary;
    ThreadPool pool(default_thread_count());
    uint64_t tensor_index = 0;
    const auto start = std::chrono::steady_clock::now();
    Metadata tokenizer;
    write_byte_level_tokenizer(tokenizer, shape.n_vocab);
    llm::write_model(o.out, shape, types,
                     [&](const std::string& name, int64_t rows, int64_t cols) {
                         std::vector<float> v(static_cast<std::size_t>(rows * cols));
                         const uint64_t seed = splitmix64(o.seed * 1000003 + tensor_index++);
                         if (rows == 1 && name != "token_embd.weight") {
                             std::fill(v.begin(), v.end(), 1.0f);  // norm weights
                         } else {
                             fill_normal(v, seed, 0.02f, pool);
                             const bool linear = name.rfind("blk.", 0) == 0;
                             if (linear && ternary) absmean_ternarize_inplace(v);
                         }
                         return v;
                     },
                     tokenizer);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("wrote {} ({} {}, {} layers, embedding {}, linears {}{}) in {:.1f} s\n", o.out, o.arch, o.preset,
               shape.n_layer, o.embedding_type, o.type, o.head_type.empty() ? ", tied head" : ", head " + o.head_type,
               seconds);
}

}  // namespace

void add_make_model_command(CLI::App& app) {
    auto o = std::make_shared<MakeModelOptions>();
    auto* cmd = app.add_subcommand("make-model",
                                   "Write a model with random weights and real shapes (and a byte-level tokenizer)");
    cmd->add_option("--arch", o->arch, "Architecture")
        ->capture_default_str()
        ->check(CLI::IsMember({"bitnet-b1.58", "bitnet-25", "bitnet", "llama"}));
    cmd->add_option("--preset", o->preset, "Shapes: tiny, 2b4t (BitNet b1.58 2B4T: 30 x 2560/6912, 128256 tokens) or 7b (Llama-2-7B: 32 x 4096/11008, 32000 tokens)")
        ->capture_default_str()
        ->check(CLI::IsMember({"tiny", "2b4t", "7b"}));
    cmd->add_option("--type", o->type, "Weight type of the linear layers (see `lowbit formats`)")->capture_default_str();
    cmd->add_option("--embedding-type", o->embedding_type, "Type of token_embd (the tied head)")->capture_default_str();
    cmd->add_option("--head-type", o->head_type, "Write a separate output.weight of this type (default: tied)");
    cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
    cmd->add_option("--out,-o", o->out, "Output GGUF file")->required();
    cmd->callback([o] { make_model(*o); });
}

}  // namespace lowbit::cli

// A BitNet b1.58 / llama-family model loaded from GGUF for inference: hyperparameters, every
// tensor as a view into the memory-mapped file (norm vectors are copied to f32; a head
// re-quantized at load time is owned), its tokenizer, and the kernel set it runs with (bound at
// load time). Immutable once loaded: any number of threads may run it at once, each with its
// own KV cache and workspace. See ../shared/spec/bitnet-model.md.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/gguf_reader.hpp"
#include "lowbit/isa.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/thread_pool.hpp"
#include "lowbit/tokenizer.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::llm {

enum class Architecture { bitnet_b158, bitnet_25, bitnet, llama };
enum class FeedForward { relu_squared, silu };

struct HyperParameters {
    std::string arch_name;  // general.architecture as written
    Architecture arch{};
    int64_t n_layer = 0;
    int64_t n_embd = 0;
    int64_t n_ff = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;
    int64_t rope_dim = 0;
    float rms_eps = 0;
    float rope_theta = 0;
    bool sub_norms = false;  // attn_sub_norm and ffn_sub_norm (the bitnet architectures)
    // Rotary embedding: NEOX ("rotate half": pairs i, i + d/2) for the bitnet architectures,
    // whose q/k are stored as Hugging Face writes them; NORM (pairs 2i, 2i + 1) for llama,
    // whose GGUF q/k are permuted for it (llama.cpp's convention, also lowbit convert's).
    bool rope_neox = true;
    FeedForward ffn{};
};

// A matrix the engine multiplies with: rows = output features, cols = input features.
struct Linear {
    std::string name;
    const WeightType* type = nullptr;
    WeightView view;
    float output_scale = 1.0f;  // llama.cpp's `bitnet` files: a per-tensor *.scale tensor
    std::size_t bytes = 0;      // read once per token
};

struct Layer {
    std::vector<float> attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm;
    Linear q, k, v, o, gate, up, down;
    // Calibration's channel scalings of the inputs of o and down (`<prefix>.smooth_scale`),
    // multiplied in before the product; empty: none. Those of q/k/v and gate/up are folded into
    // attn_norm and ffn_norm at load.
    std::vector<float> o_smooth, down_smooth;
};

struct LoadOptions {
    // Re-quantize the output head (an F16/BF16/F32 head, usually the tied embedding) to this
    // type at load time: the largest single lever for token generation.
    std::optional<TypeId> head_type;
    // The kernels' level (default: default_kernel_set(), i.e. LOWBIT_ISA or the best level).
    std::optional<Isa> isa;
    // Threads for the work done while loading (re-quantizing the head): the caller's pool, or
    // else a pool of `threads` made for the load (0: every CPU this process may use).
    ThreadPool* pool = nullptr;
    int threads = 0;
};

class Model {
public:
    // Maps and checks the file, reads its tokenizer when the file has one (`tokenizer.*`; its
    // vocabulary must match the embedding) and binds the kernel set. Errors name the file.
    static std::unique_ptr<Model> load(const std::filesystem::path& path, const LoadOptions& options = {});

    const HyperParameters& hp() const { return hp_; }
    const GgufFile& file() const { return file_; }
    const std::vector<Layer>& layers() const { return layers_; }
    const Linear& token_embd() const { return token_embd_; }
    const std::vector<float>& output_norm() const { return output_norm_; }
    const Linear& head() const { return head_; }
    bool tied_head() const { return tied_; }
    const KernelSet& kernels() const { return *kernels_; }
    bool has_tokenizer() const { return tokenizer_ != nullptr; }
    // Throws (unsupported) when the file has no tokenizer.
    const Tokenizer& tokenizer() const;
    // Weight bytes read per generated token (every linear and the head).
    std::size_t bytes_per_token() const;
    // The weight types in use, e.g. "I2_S", "F16 (head)".
    std::vector<std::string> weight_types() const;

private:
    explicit Model(GgufFile file) : file_(std::move(file)) {}
    void read_hyperparameters();
    void read_tensors();
    void read_tokenizer();
    void requantize_head(TypeId type, ThreadPool& pool);

    GgufFile file_;
    HyperParameters hp_;
    std::vector<Layer> layers_;
    Linear token_embd_;
    std::vector<float> output_norm_;
    Linear head_;
    bool tied_ = false;
    std::vector<uint8_t> owned_head_;  // a re-quantized head
    const KernelSet* kernels_ = nullptr;
    std::unique_ptr<Tokenizer> tokenizer_;
};

std::string_view architecture_name(Architecture arch);

}  // namespace lowbit::llm

// Hugging Face `config.json` for the model families lowbit runs: llama (`model_type`
// "llama", which also covers 1bitLLM's BitNet ports) and BitNet b1.58 ("bitnet",
// BitNetForCausalLM). Defaults for absent optional keys follow transformers' LlamaConfig /
// BitNetConfig; a missing required key, a value of the wrong JSON type or an inconsistent
// shape is an Error naming the file and the key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit {

struct HfConfig {
    std::string source;
    std::string model_type;                  // "llama" or "bitnet"
    std::vector<std::string> architectures;  // e.g. "LlamaForCausalLM", "BitNetForCausalLM"
    // Required.
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t num_hidden_layers = 0;
    int64_t num_attention_heads = 0;
    int64_t vocab_size = 0;
    // Optional (default).
    int64_t num_key_value_heads = 0;      // num_attention_heads
    int64_t head_dim = 0;                 // hidden_size / num_attention_heads
    int64_t max_position_embeddings = 0;  // 2048
    double rms_norm_eps = 0;              // 1e-6 (llama), 1e-5 (bitnet)
    double rope_theta = 0;                // 10000 (llama), 500000 (bitnet)
    bool tie_word_embeddings = false;     // false
    std::string hidden_act;               // "silu" (llama), "relu2" (bitnet)
    std::string torch_dtype;              // "" when absent
    std::optional<int64_t> bos_token_id;
    std::vector<int64_t> eos_token_ids;  // eos_token_id: one id or a list
};

bool hf_model_type_supported(std::string_view model_type);

HfConfig parse_hf_config(std::string_view json_text, const std::string& source);
HfConfig read_hf_config(const std::filesystem::path& path);

// The "model_type" of a config.json (empty when absent), without requiring a supported
// family: lets a caller describe a folder it cannot run. Throws only for invalid JSON.
std::string read_hf_model_type(const std::filesystem::path& path);

}  // namespace lowbit

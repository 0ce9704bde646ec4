// Converting a Hugging Face model folder (config.json, SafeTensors weights, tokenizer.json) to a
// GGUF lowbit runs: BitNetForCausalLM -> bitnet-b1.58, LlamaForCausalLM -> llama. Linear weights
// go to the chosen type (ternary types: weights that are already ternary x one scale are stored
// as they are, anything else is absmean-ternarized first); the embedding to F16 by default; norm
// weights to F32. This is quantize_model (quantize.hpp) with these defaults: the same streaming,
// threads and crash safety; the output appears only when complete.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "lowbit/metadata.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit {
class ThreadPool;
}

namespace lowbit::llm {

struct ConvertOptions {
    std::filesystem::path input;        // the model folder
    std::filesystem::path output;       // .gguf
    std::optional<TypeId> linear_type;  // default: I2_S for BitNet, F16 for llama
    TypeId embedding_type = TypeId::F16;
};

struct ConvertReport {
    std::string architecture;
    int64_t tensors = 0;
    int64_t ternary_as_is = 0;  // linear weights stored as they were (already ternary x scale)
    int64_t ternarized = 0;     // linear weights absmean-ternarized on the way
};

ConvertReport convert_hf_model(const ConvertOptions& options, ThreadPool& pool);

// The GGUF tokenizer keys (tokenizer.ggml.*, tokenizer.chat_template) from a folder's
// tokenizer.json (byte-level BPE) and tokenizer_config.json, into `md`.
void read_hf_tokenizer(const std::filesystem::path& folder, Metadata& md);

}  // namespace lowbit::llm

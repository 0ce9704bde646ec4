// Small but complete models written with lowbit's own writers: the CLI tests inspect them and
// the fuzz seed corpus starts from them. Tensor bytes are real (quantized with the registry's
// reference kernels from a fixed pseudo-random matrix).
#pragma once

#include <cstdint>
#include <filesystem>

namespace lowbit::test {

// arch bitnet-b1.58, hyperparameters, a gpt2-style tokenizer (tokens, merges, special ids,
// chat template), tensors in F16, F32, I2_S, TQ2_0, Q6_K and a listed-only Q4_K.
void write_sample_bitnet_gguf(const std::filesystem::path& path);
// arch llama, custom alignment, Q4_0 / Q4_1 / Q8_0 / BF16 / TQ1_0 and lowbit's TL2 and INT4
// types (so lowbit.format_version), nested-array metadata.
void write_sample_llama_gguf(const std::filesystem::path& path, uint32_t alignment);
// One SafeTensors file: F32, F16, BF16, I8, U8, I64 tensors and __metadata__.
void write_sample_safetensors(const std::filesystem::path& path);
// A Hugging Face folder: config.json (llama), tokenizer.json, model.safetensors.index.json
// and two shards.
void write_sample_sharded_model(const std::filesystem::path& dir);

}  // namespace lowbit::test

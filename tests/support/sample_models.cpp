// Sample models for CLI tests and fuzz seeds, written with lowbit's writers.
#include "sample_models.hpp"

#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lowbit/gguf_writer.hpp"
#include "lowbit/safetensors_index.hpp"
#include "lowbit/safetensors_writer.hpp"
#include "lowbit/ternary.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::test {
namespace {

std::vector<float> matrix(int64_t rows, int64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 0.5f);
    std::vector<float> x(static_cast<std::size_t>(rows * cols));
    for (float& v : x) v = d(rng);
    return x;
}

std::vector<uint8_t> quantized(TypeId id, int64_t rows, int64_t cols, uint32_t seed) {
    const WeightType& t = weight_type(id);
    std::vector<float> x = matrix(rows, cols, seed);
    if (t.ternary) absmean_ternarize_inplace(x);
    std::vector<uint8_t> out(t.tensor_bytes(rows, cols));
    t.reference.quantize(x.data(), rows, cols, out.data());
    return out;
}

std::vector<uint8_t> filler(std::size_t n, uint32_t seed) {
    std::vector<uint8_t> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(i * 37 + seed);
    return out;
}

}  // namespace

void write_sample_bitnet_gguf(const std::filesystem::path& path) {
    GgufWriter w(path);
    Metadata& m = w.metadata();
    m.set("general.architecture", "bitnet-b1.58");
    m.set("general.name", "bitnet-sample");
    m.set("general.file_type", uint32_t{40});
    m.set("general.quantization_version", uint32_t{2});
    m.set("bitnet-b1.58.context_length", uint32_t{4096});
    m.set("bitnet-b1.58.embedding_length", uint32_t{128});
    m.set("bitnet-b1.58.block_count", uint32_t{1});
    m.set("bitnet-b1.58.feed_forward_length", uint32_t{256});
    m.set("bitnet-b1.58.attention.head_count", uint32_t{4});
    m.set("bitnet-b1.58.attention.head_count_kv", uint32_t{1});
    m.set("bitnet-b1.58.attention.layer_norm_rms_epsilon", 1e-5f);
    m.set("bitnet-b1.58.rope.freq_base", 500000.0f);
    m.set("bitnet-b1.58.rope.dimension_count", uint32_t{32});
    m.set("bitnet-b1.58.vocab_size", uint32_t{8});
    m.set("tokenizer.ggml.model", "gpt2");
    m.set("tokenizer.ggml.pre", "llama-bpe");
    m.set("tokenizer.ggml.tokens", MetaValue::strings({"a", "b", "ab", "\xC4\xA0the", "<|begin_of_text|>",
                                                       "<|end_of_text|>", "<|eot_id|>", "\xF0\x9F\x99\x82"}));
    m.set("tokenizer.ggml.token_type", MetaValue::array_of<int32_t>({1, 1, 1, 1, 3, 3, 3, 1}));
    m.set("tokenizer.ggml.merges", MetaValue::strings({"a b", "\xC4\xA0 t"}));
    m.set("tokenizer.ggml.bos_token_id", uint32_t{4});
    m.set("tokenizer.ggml.eos_token_id", uint32_t{5});
    m.set("tokenizer.ggml.eot_token_id", uint32_t{6});
    m.set("tokenizer.ggml.add_bos_token", true);
    m.set("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}");

    struct T {
        const char* name;
        TypeId type;
        std::vector<int64_t> ne;
    };
    const std::vector<T> tensors = {
        {"token_embd.weight", TypeId::F16, {128, 8}},       {"blk.0.attn_norm.weight", TypeId::F32, {128}},
        {"blk.0.attn_q.weight", TypeId::I2_S, {128, 4}},    {"blk.0.attn_sub_norm.weight", TypeId::F32, {128}},
        {"blk.0.ffn_gate.weight", TypeId::TQ2_0, {256, 2}}, {"blk.0.ffn_down.weight", TypeId::Q6_K, {256, 2}},
        {"output_norm.weight", TypeId::F32, {128}},
    };
    for (const T& t : tensors) w.add_tensor(t.name, t.type, t.ne);
    w.add_tensor("blk.0.ffn_up.weight", 12, {256, 2});  // Q4_K: listed, not computable
    uint32_t seed = 1;
    for (const T& t : tensors) {
        const int64_t rows = t.ne.size() > 1 ? t.ne[1] : 1;
        w.write_tensor(t.name, quantized(t.type, rows, t.ne[0], seed++));
    }
    w.write_tensor("blk.0.ffn_up.weight", filler(2 * 144, 9));
    w.finish();
}

void write_sample_llama_gguf(const std::filesystem::path& path, uint32_t alignment) {
    GgufWriter w(path);
    Metadata& m = w.metadata();
    m.set("general.architecture", "llama");
    m.set("general.alignment", alignment);
    m.set("llama.block_count", uint64_t{1});
    m.set("llama.embedding_length", uint64_t{64});
    m.set("llama.attention.head_count", uint32_t{2});
    m.set("llama.rope.freq_base", 10000.0f);
    m.set("sample.nested", MetaArray{MetaType::array,
                                     {MetaValue::array_of<int16_t>({-1, 2}), MetaValue::strings({"x"}),
                                      MetaArray{MetaType::array, {MetaValue::array_of<double>({0.5})}}}});
    m.set("sample.flags", MetaValue::array_of<uint8_t>({0, 1}));
    m.set("sample.i64", int64_t{-42});
    m.set("sample.f64", 2.5);
    struct T {
        const char* name;
        TypeId type;
        int64_t rows, cols;
    };
    const std::vector<T> tensors = {
        {"token_embd.weight", TypeId::Q4_0, 4, 64},
        {"blk.0.attn_q.weight", TypeId::Q8_0, 2, 64},
        {"blk.0.attn_k.weight", TypeId::Q4_1, 2, 64},
        {"blk.0.attn_norm.weight", TypeId::BF16, 1, 64},
        {"blk.0.ffn_up.weight", TypeId::TQ1_0, 1, 256},
        {"blk.0.ffn_gate.weight", TypeId::TL2, 2, 64},
        {"blk.0.ffn_down.weight", int_group_type_id(4, true, 32), 2, 64},
    };
    for (const T& t : tensors) w.add_tensor(t.name, t.type, {t.cols, t.rows});
    uint32_t seed = 20;
    for (const T& t : tensors) w.write_tensor(t.name, quantized(t.type, t.rows, t.cols, seed++));
    w.finish();
}

void write_sample_safetensors(const std::filesystem::path& path) {
    SafeTensorsWriter w(path);
    w.set_metadata("format", "pt");
    w.add_tensor("model.embed_tokens.weight", SafeDtype::BF16, {8, 16});
    w.add_tensor("model.layers.0.self_attn.q_proj.weight", SafeDtype::F16, {16, 16});
    w.add_tensor("model.norm.weight", SafeDtype::F32, {16});
    w.add_tensor("model.layers.0.mlp.weight_scale", SafeDtype::I8, {4});
    w.add_tensor("model.layers.0.mlp.packed", SafeDtype::U8, {4, 4});
    w.add_tensor("position_ids", SafeDtype::I64, {1, 3});
    w.write_tensor("model.embed_tokens.weight", quantized(TypeId::BF16, 8, 16, 30));
    w.write_tensor("model.layers.0.self_attn.q_proj.weight", quantized(TypeId::F16, 16, 16, 31));
    w.write_tensor("model.norm.weight", quantized(TypeId::F32, 1, 16, 32));
    w.write_tensor("model.layers.0.mlp.weight_scale", filler(4, 33));
    w.write_tensor("model.layers.0.mlp.packed", filler(16, 34));
    w.write_tensor("position_ids", filler(24, 35));
    w.finish();
}

void write_sample_sharded_model(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    {
        std::ofstream config(dir / "config.json");
        config << R"({
  "architectures": ["LlamaForCausalLM"],
  "model_type": "llama",
  "hidden_size": 16,
  "intermediate_size": 32,
  "num_hidden_layers": 1,
  "num_attention_heads": 4,
  "num_key_value_heads": 2,
  "vocab_size": 8,
  "max_position_embeddings": 128,
  "rms_norm_eps": 1e-05,
  "rope_theta": 10000.0,
  "tie_word_embeddings": false,
  "bos_token_id": 1,
  "eos_token_id": [2, 3],
  "torch_dtype": "bfloat16"
}
)";
    }
    {
        std::ofstream tokenizer(dir / "tokenizer.json");
        tokenizer << R"({"version":"1.0","added_tokens":[{"id":1,"content":"<s>","special":true}],)"
                  << R"("model":{"type":"BPE","vocab":{"a":0,"<s>":1,"</s>":2,"<eot>":3,"b":4,"ab":5,"c":6,"d":7},)"
                  << R"("merges":["a b"]}})";
    }
    std::map<std::string, std::string, std::less<>> weight_map;
    uint64_t total = 0;
    const auto shard = [&](const char* file, const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors,
                           uint32_t seed) {
        SafeTensorsWriter w(dir / file);
        w.set_metadata("format", "pt");
        for (const auto& [name, shape] : tensors) {
            total += w.add_tensor(name, SafeDtype::BF16, shape);
            weight_map[name] = file;
        }
        for (const auto& [name, shape] : tensors) {
            const int64_t cols = shape.back();
            const int64_t rows = shape.size() > 1 ? shape[0] : 1;
            w.write_tensor(name, quantized(TypeId::BF16, rows, cols, seed++));
        }
        w.finish();
    };
    shard("model-00001-of-00002.safetensors",
          {{"model.embed_tokens.weight", {8, 16}},
           {"model.layers.0.input_layernorm.weight", {16}},
           {"model.layers.0.self_attn.q_proj.weight", {16, 16}}},
          40);
    shard("model-00002-of-00002.safetensors",
          {{"model.layers.0.mlp.down_proj.weight", {16, 32}}, {"model.norm.weight", {16}}, {"lm_head.weight", {8, 16}}},
          50);
    write_safetensors_index(dir / kSafeTensorsIndexName, weight_map, total);
}

}  // namespace lowbit::test

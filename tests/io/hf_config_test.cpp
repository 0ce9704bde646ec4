// Hugging Face config.json for llama and BitNet models.
#include "lowbit/hf_config.hpp"

#include <gtest/gtest.h>

#include "io_test_util.hpp"

namespace lowbit::test {
namespace {

// microsoft/bitnet-b1.58-2B-4T's config.json (the keys lowbit reads, values as published).
constexpr const char* kBitnet2B4T = R"({
  "architectures": ["BitNetForCausalLM"],
  "attention_bias": false,
  "bos_token_id": 128000,
  "eos_token_id": 128001,
  "hidden_act": "relu2",
  "hidden_size": 2560,
  "initializer_range": 0.02,
  "intermediate_size": 6912,
  "max_position_embeddings": 4096,
  "model_type": "bitnet",
  "num_attention_heads": 20,
  "num_hidden_layers": 30,
  "num_key_value_heads": 5,
  "rms_norm_eps": 1e-05,
  "rope_theta": 500000.0,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "vocab_size": 128256,
  "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear"}
})";

HfConfig parse(std::string_view text) { return parse_hf_config(text, "config.json"); }

TEST(HfConfig, Bitnet2B4T) {
    const HfConfig c = parse(kBitnet2B4T);
    EXPECT_EQ(c.model_type, "bitnet");
    EXPECT_EQ(c.architectures, std::vector<std::string>{"BitNetForCausalLM"});
    EXPECT_EQ(c.hidden_size, 2560);
    EXPECT_EQ(c.intermediate_size, 6912);
    EXPECT_EQ(c.num_hidden_layers, 30);
    EXPECT_EQ(c.num_attention_heads, 20);
    EXPECT_EQ(c.num_key_value_heads, 5);
    EXPECT_EQ(c.head_dim, 128);
    EXPECT_EQ(c.vocab_size, 128256);
    EXPECT_EQ(c.max_position_embeddings, 4096);
    EXPECT_EQ(c.rms_norm_eps, 1e-5);
    EXPECT_EQ(c.rope_theta, 500000.0);
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_EQ(c.hidden_act, "relu2");
    EXPECT_EQ(c.torch_dtype, "bfloat16");
    EXPECT_EQ(c.bos_token_id, 128000);
    EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{128001});
}

TEST(HfConfig, LlamaDefaultsAndEosLists) {
    const HfConfig c = parse(R"({"model_type":"llama","hidden_size":64,"intermediate_size":128,
        "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100,"eos_token_id":[1,2,3]})");
    EXPECT_EQ(c.num_key_value_heads, 4);
    EXPECT_EQ(c.head_dim, 16);
    EXPECT_EQ(c.max_position_embeddings, 2048);
    EXPECT_EQ(c.rms_norm_eps, 1e-6);
    EXPECT_EQ(c.rope_theta, 10000.0);
    EXPECT_FALSE(c.tie_word_embeddings);
    EXPECT_EQ(c.hidden_act, "silu");
    EXPECT_EQ(c.bos_token_id, std::nullopt);
    EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{1, 2, 3}));
    EXPECT_TRUE(c.architectures.empty());
}

TEST(HfConfig, ReadsAFileAndPeeksTheModelType) {
    TempDir dir;
    write_text(dir / "config.json", kBitnet2B4T);
    EXPECT_EQ(read_hf_config(dir / "config.json").hidden_size, 2560);
    write_text(dir / "unet.json", R"({"_class_name":"UNet2DConditionModel"})");
    EXPECT_EQ(read_hf_model_type(dir / "unet.json"), "");
    EXPECT_ERROR(read_hf_config(dir / "missing.json"), "missing.json: cannot open");
}

TEST(HfConfigHostile, MissingAndMistypedKeys) {
    const std::string base =
        R"("model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4)";
    EXPECT_ERROR(parse("{" + base + "}"), "config.json: 'vocab_size' is missing");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":"100"})"),
                 "config.json: 'vocab_size': expected an integer, found string");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":100.5})"),
                 "config.json: 'vocab_size': expected an integer, found number");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":0})"),
                 "config.json: 'vocab_size': 0 is not between 1 and 2147483647");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":-3})"), "config.json: 'vocab_size': -3 is not between 1 and");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":99999999999})"), "'vocab_size': 99999999999 is not between 1 and");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":100,"num_key_value_heads":3})"),
                 "config.json: 'num_key_value_heads': 3 does not divide num_attention_heads 4");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":100,"rms_norm_eps":-1})"),
                 "config.json: 'rms_norm_eps': -1 is not a positive number");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":100,"tie_word_embeddings":"yes"})"),
                 "config.json: 'tie_word_embeddings': expected true or false, found string");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":100,"eos_token_id":[1,-2]})"),
                 "config.json: 'eos_token_id': expected token ids");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":100,"bos_token_id":[1,2]})"),
                 "config.json: 'bos_token_id': expected one token id, found 2");
    EXPECT_ERROR(parse("{" + base + R"(,"vocab_size":100,"architectures":"Llama"})"),
                 "config.json: 'architectures': expected a list of strings");
    EXPECT_ERROR(
        parse(
            R"({"model_type":"llama","hidden_size":66,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10})"),
        "config.json: 'num_attention_heads': 4 does not divide hidden_size 66");
}

TEST(HfConfigHostile, UnsupportedOrBrokenFiles) {
    EXPECT_ERROR(parse(R"({"hidden_size":1})"), "config.json: 'model_type' is missing");
    EXPECT_ERROR(parse(R"({"model_type":"gpt2"})"),
                 "config.json: 'model_type': 'gpt2' is not a family lowbit runs (llama, bitnet)");
    EXPECT_ERROR(parse("[1]"), "config.json: config: expected a JSON object, found array");
    EXPECT_ERROR(parse("{\"model_type\":"), "config.json: config: invalid JSON at byte");
    EXPECT_ERROR(parse(R"({"model_type":"llama","model_type":"bitnet"})"),
                 "config.json: config: duplicate key 'model_type'");
    EXPECT_ERROR(parse("{\"model_type\":\"ll\xFF\"}"), "config.json: config: invalid JSON");
    EXPECT_ERROR(parse(R"({"model_type":"llama","rope_theta":5e400})"),
                 "config.json: config: invalid JSON: number overflow");
}

}  // namespace
}  // namespace lowbit::test

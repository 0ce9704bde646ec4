// Writes the fuzz seed corpus with lowbit's own writers: small valid files for each target,
// in <out>/{gguf,safetensors,index,config}/. Run by scripts/run-fuzz.sh before fuzzing.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lowbit/byte_level_tokenizer.hpp"
#include "lowbit/gguf_writer.hpp"
#include "lowbit/safetensors_writer.hpp"
#include "support/sample_models.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<char> read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const fs::path& p, const std::vector<char>& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void gguf_seeds(const fs::path& dir) {
    lowbit::test::write_sample_bitnet_gguf(dir / "bitnet.gguf");
    lowbit::test::write_sample_llama_gguf(dir / "llama-align64.gguf", 64);
    lowbit::test::write_sample_llama_gguf(dir / "llama-align8.gguf", 8);
    {
        lowbit::GgufWriter w(dir / "empty.gguf");
        w.finish();
    }
    {
        lowbit::GgufWriter w(dir / "metadata-only.gguf");
        w.metadata().set("general.architecture", "bitnet-25");
        w.metadata().set("general.alignment", uint32_t{16});
        w.metadata().set("list", lowbit::MetaValue::array_of<uint64_t>({1, 2, 3}));
        w.finish();
    }
    {
        lowbit::GgufWriter w(dir / "tokenizer.gguf");  // a tokenizer lowbit accepts
        lowbit::write_byte_level_tokenizer(w.metadata(), 300);
        w.finish();
    }
    // The same bytes as version 2 (the layouts are identical for little-endian files).
    std::vector<char> v2 = read(dir / "bitnet.gguf");
    v2[4] = 2;
    write(dir / "bitnet-v2.gguf", v2);
}

void safetensors_seeds(const fs::path& dir) {
    lowbit::test::write_sample_safetensors(dir / "one.safetensors");
    const fs::path sharded = dir / "sharded";
    lowbit::test::write_sample_sharded_model(sharded);
    for (const char* shard : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}) {
        fs::rename(sharded / shard, dir / shard);
    }
    {
        lowbit::SafeTensorsWriter w(dir / "empty.safetensors");
        w.finish();
    }
    {
        lowbit::SafeTensorsWriter w(dir / "scalar.safetensors");
        w.set_metadata("k", "v");
        w.add_tensor("s", lowbit::SafeDtype::F32, {});
        w.add_tensor("z", lowbit::SafeDtype::BOOL, {0, 2});
        const float one = 1.0f;
        w.write_tensor("s", {reinterpret_cast<const uint8_t*>(&one), 4});
        w.write_tensor("z", {});
        w.finish();
    }
}

void json_seeds(const fs::path& index_dir, const fs::path& config_dir, const fs::path& sharded) {
    fs::rename(sharded / "model.safetensors.index.json", index_dir / "index.json");
    fs::rename(sharded / "config.json", config_dir / "llama.json");
    std::ofstream(config_dir / "bitnet.json") << R"({"architectures":["BitNetForCausalLM"],"bos_token_id":128000,
"eos_token_id":128001,"hidden_act":"relu2","hidden_size":2560,"intermediate_size":6912,
"max_position_embeddings":4096,"model_type":"bitnet","num_attention_heads":20,"num_hidden_layers":30,
"num_key_value_heads":5,"rms_norm_eps":1e-05,"rope_theta":500000.0,"tie_word_embeddings":true,
"torch_dtype":"bfloat16","vocab_size":128256,"head_dim":128})";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    try {
        const fs::path out = argv[1];
        for (const char* sub : {"gguf", "safetensors", "index", "config"}) fs::create_directories(out / sub);
        gguf_seeds(out / "gguf");
        safetensors_seeds(out / "safetensors");
        json_seeds(out / "index", out / "config", out / "safetensors" / "sharded");
        fs::remove_all(out / "safetensors" / "sharded");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}

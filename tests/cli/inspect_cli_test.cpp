// `lowbit inspect` end to end: runs the built CLI on models written by lowbit's writers and on
// broken files, and checks the table, the JSON schema, --meta, and the error exit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_run.hpp"
#include "io/io_test_util.hpp"
#include "lowbit/gguf_reader.hpp"
#include "support/sample_models.hpp"

namespace lowbit::test {
namespace {

TEST(InspectCli, GgufTable) {
    TempDir dir;
    const std::string path = (dir / "bitnet.gguf").string();
    write_sample_bitnet_gguf(path);
    const CliRun r = lowbit(dir, "inspect " + quoted(path));
    ASSERT_EQ(r.status, 0) << r.err;
    for (const char* part : {"GGUF v3, alignment 32", "bitnet-b1.58 (\"bitnet-sample\")", "block_count", "500000",
                             "gpt2 (pre llama-bpe), 8 tokens, 2 merges, bos 4, eos 5, eot 6, chat template",
                             "8 tensors", "I2_S", "Q4_K", "computable"}) {
        EXPECT_TRUE(contains(r.out, part)) << "missing " << part << " in\n" << r.out;
    }
    EXPECT_FALSE(contains(r.out, "blk.0.attn_q.weight"));  // the per-tensor table needs --tensors

    const CliRun t = lowbit(dir, "inspect --tensors " + quoted(path));
    ASSERT_EQ(t.status, 0) << t.err;
    const GgufFile g = GgufFile::open(path);
    for (const GgufTensor& tensor : g.tensors()) {
        EXPECT_TRUE(contains(t.out, tensor.name)) << tensor.name;
        EXPECT_TRUE(contains(t.out, std::to_string(tensor.file_offset))) << tensor.name;
    }
}

TEST(InspectCli, GgufJson) {
    TempDir dir;
    const std::string path = (dir / "bitnet.gguf").string();
    write_sample_bitnet_gguf(path);
    const CliRun r = lowbit(dir, "inspect --json --tensors " + quoted(path));
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["schema"], "lowbit.inspect/1");
    EXPECT_EQ(j["format"], "gguf");
    EXPECT_EQ(j["architecture"], "bitnet-b1.58");
    EXPECT_EQ(j["gguf"]["version"], 3);
    EXPECT_EQ(j["gguf"]["alignment"], 32);
    EXPECT_EQ(j["hyperparameters"]["block_count"], 1);
    EXPECT_EQ(j["hyperparameters"]["rms_norm_epsilon"], 1e-5);
    EXPECT_EQ(j["tokenizer"]["vocab_size"], 8);
    EXPECT_EQ(j["tokenizer"]["eot_token_id"], 6);
    EXPECT_EQ(j["tokenizer"]["chat_template"], true);

    const GgufFile g = GgufFile::open(path);
    ASSERT_EQ(j["tensors"].size(), g.tensors().size());
    uint64_t bytes = 0, elements = 0;
    for (std::size_t i = 0; i < g.tensors().size(); ++i) {
        const GgufTensor& t = g.tensors()[i];
        const auto& row = j["tensors"][i];
        EXPECT_EQ(row["name"], t.name);
        EXPECT_EQ(row["type"], std::string(t.type->name));
        EXPECT_EQ(row["type_id"], t.type_id);
        EXPECT_EQ(row["offset"], t.file_offset);
        EXPECT_EQ(row["bytes"], t.bytes);
        EXPECT_EQ(row["shape"].get<std::vector<int64_t>>(), t.ne);
        EXPECT_EQ(row["computable"], t.type->computable());
        bytes += t.bytes;
        elements += static_cast<uint64_t>(t.elements());
    }
    EXPECT_EQ(j["totals"]["bytes"], bytes);
    EXPECT_EQ(j["totals"]["elements"], elements);
    EXPECT_DOUBLE_EQ(j["totals"]["bits_per_weight"].get<double>(), 8.0 * bytes / elements);

    const CliRun no_tensors = lowbit(dir, "inspect --json " + quoted(path));
    EXPECT_FALSE(nlohmann::json::parse(no_tensors.out).contains("tensors"));
}

TEST(InspectCli, ShardedSafeTensorsFolder) {
    TempDir dir;
    write_sample_sharded_model(dir / "model");
    const CliRun r = lowbit(dir, "inspect --tensors " + quoted((dir / "model").string()));
    ASSERT_EQ(r.status, 0) << r.err;
    for (const char* part : {"SafeTensors, 2 shards", "LlamaForCausalLM", "head_count_kv",
                             "BPE, 8 tokens, 1 merges, 1 added tokens, bos 1, eos [2,3]", "6 tensors", "BF16",
                             "model-00002-of-00002.safetensors", "lm_head.weight"}) {
        EXPECT_TRUE(contains(r.out, part)) << "missing " << part << " in\n" << r.out;
    }
    const CliRun j =
        lowbit(dir, "inspect --json --tensors " + quoted((dir / "model" / "model.safetensors.index.json").string()));
    ASSERT_EQ(j.status, 0) << j.err;
    const auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc["format"], "safetensors");
    EXPECT_EQ(doc["safetensors"]["sharded"], true);
    EXPECT_EQ(doc["safetensors"]["shards"], 2);
    EXPECT_EQ(doc["hyperparameters"]["embedding_length"], 16);
    EXPECT_EQ(doc["tensors"].size(), 6u);
    EXPECT_EQ(doc["tensors"][5]["file"], "model-00002-of-00002.safetensors");
    EXPECT_EQ(doc["totals"]["bits_per_weight"], 16.0);
}

TEST(InspectCli, SingleSafeTensorsFileAndLlamaGguf) {
    TempDir dir;
    write_sample_safetensors(dir / "one.safetensors");
    const CliRun s = lowbit(dir, "inspect " + quoted((dir / "one.safetensors").string()));
    ASSERT_EQ(s.status, 0) << s.err;
    EXPECT_TRUE(contains(s.out, "SafeTensors, one file")) << s.out;
    EXPECT_TRUE(contains(s.out, "I64")) << s.out;
    write_sample_llama_gguf(dir / "llama.gguf", 64);
    const CliRun g = lowbit(dir, "inspect --tensors " + quoted((dir / "llama.gguf").string()));
    ASSERT_EQ(g.status, 0) << g.err;
    EXPECT_TRUE(contains(g.out, "alignment 64")) << g.out;
    EXPECT_TRUE(contains(g.out, "TL2")) << g.out;
}

TEST(InspectCli, PathsNeedNotBeUtf8) {
    TempDir dir;
    const std::string path = (dir / "model-\xFF.gguf").string();
    write_sample_bitnet_gguf(path);
    const CliRun r = lowbit(dir, "inspect --json " + quoted(path));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["path"], (dir / "model-\xEF\xBF\xBD.gguf").string());  // U+FFFD
}

TEST(InspectCli, MetaPrintsOneValue) {
    TempDir dir;
    const std::string path = (dir / "bitnet.gguf").string();
    write_sample_bitnet_gguf(path);
    EXPECT_EQ(lowbit(dir, "inspect --meta general.name " + quoted(path)).out, "bitnet-sample\n");
    EXPECT_EQ(lowbit(dir, "inspect --meta tokenizer.ggml.bos_token_id " + quoted(path)).out, "4\n");
    EXPECT_EQ(lowbit(dir, "inspect --meta tokenizer.ggml.merges " + quoted(path)).out, "[\"a b\",\"\xC4\xA0 t\"]\n");
    const auto j =
        nlohmann::json::parse(lowbit(dir, "inspect --json --meta bitnet-b1.58.rope.freq_base " + quoted(path)).out);
    EXPECT_EQ(j["type"], "float32");
    EXPECT_EQ(j["value"], 500000.0);
    const CliRun missing = lowbit(dir, "inspect --meta no.such.key " + quoted(path));
    EXPECT_EQ(missing.status, 1);
    EXPECT_EQ(missing.err, "lowbit: error: " + path + ": metadata key 'no.such.key' not found\n");

    write_sample_sharded_model(dir / "model");
    EXPECT_EQ(lowbit(dir, "inspect --meta format " + quoted((dir / "model").string())).out, "pt\n");
    EXPECT_EQ(lowbit(dir, "inspect --meta total_size " + quoted((dir / "model").string())).status, 0);
}

TEST(InspectCli, BrokenInputIsAnErrorExitNotACrash) {
    TempDir dir;
    const std::string path = (dir / "bitnet.gguf").string();
    write_sample_bitnet_gguf(path);
    auto bytes = read_file(path);
    bytes.resize(bytes.size() / 2);
    write_file(dir / "cut.gguf", bytes);
    const CliRun cut = lowbit(dir, "inspect " + quoted((dir / "cut.gguf").string()));
    EXPECT_EQ(cut.status, 1);
    EXPECT_EQ(cut.err.rfind("lowbit: error: " + (dir / "cut.gguf").string() + ": tensor '", 0), 0u) << cut.err;
    EXPECT_TRUE(cut.out.empty());

    write_file(dir / "junk.bin", {1, 2, 3, 4, 5});
    const CliRun junk = lowbit(dir, "inspect " + quoted((dir / "junk.bin").string()));
    EXPECT_EQ(junk.status, 1);
    EXPECT_TRUE(contains(junk.err, "junk.bin: unknown model format")) << junk.err;

    write_text(dir / "bad.safetensors", "\x05\0\0\0\0\0\0\0{\"a\":");
    const CliRun st = lowbit(dir, "inspect " + quoted((dir / "bad.safetensors").string()));
    EXPECT_EQ(st.status, 1);
    EXPECT_TRUE(contains(st.err, "lowbit: error: ")) << st.err;

    const CliRun missing = lowbit(dir, "inspect " + quoted((dir / "none.gguf").string()));
    EXPECT_EQ(missing.status, 1);
    EXPECT_TRUE(contains(missing.err, "none.gguf: cannot open: No such file or directory")) << missing.err;
}

}  // namespace
}  // namespace lowbit::test

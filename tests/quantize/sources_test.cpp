// lowbit::quantize's sources and outputs against independent references: SafeTensors files,
// sharded models and Hugging Face folders in; GGUF and SafeTensors out. References: ggml's
// Q8_0 rule written here, the scalar kernels encoding a whole tensor at once (against the
// quantizer's row chunks), llama.cpp's q/k permutation written as its reshape/swapaxes, the
// bundled model's committed GGUF (made by the converter this replaced), and the spec decoder.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "io/io_test_util.hpp"
#include "quantize/quantize_test_util.hpp"
#include "lowbit/convert.hpp"
#include "lowbit/error.hpp"
#include "lowbit/fp16.hpp"
#include "lowbit/gguf_reader.hpp"
#include "lowbit/gguf_writer.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/safetensors.hpp"
#include "lowbit/safetensors_index.hpp"
#include "lowbit/safetensors_writer.hpp"
#include "lowbit/thread_pool.hpp"
#include "support/spec_decode.hpp"

namespace lowbit::test {
namespace {

namespace fs = std::filesystem;
const fs::path kTinyDir = LOWBIT_TINY_BITNET_DIR;

std::vector<uint8_t> as_bytes(const std::vector<float>& v, SafeDtype dtype) {
    std::vector<uint8_t> b;
    for (float x : v) {
        if (dtype == SafeDtype::F32) {
            uint8_t p[4];
            std::memcpy(p, &x, 4);
            b.insert(b.end(), p, p + 4);
        } else {
            uint32_t u;
            std::memcpy(&u, &x, 4);
            const uint16_t h = dtype == SafeDtype::F16 ? f32_to_f16(x) : static_cast<uint16_t>(u >> 16);  // bf16: exact for these
            b.push_back(static_cast<uint8_t>(h & 0xff));
            b.push_back(static_cast<uint8_t>(h >> 8));
        }
    }
    return b;
}

struct StTensor {
    std::string name;
    std::vector<int64_t> shape;  // PyTorch order
    std::vector<float> values;
    SafeDtype dtype = SafeDtype::F32;
};

void write_safetensors(const fs::path& path, const std::vector<StTensor>& tensors) {
    SafeTensorsWriter w(path);
    w.set_metadata("format", "pt");
    for (const StTensor& t : tensors) w.add_tensor(t.name, t.dtype, t.shape);
    for (const StTensor& t : tensors) w.write_tensor(t.name, as_bytes(t.values, t.dtype));
    w.finish();
}

// bf16 values that are exact (their low 16 bits zero), so every dtype holds the same numbers
std::vector<float> bf16_exact(std::vector<float> v) {
    for (float& x : v) {
        uint32_t u;
        std::memcpy(&u, &x, 4);
        u &= 0xffff0000u;
        std::memcpy(&x, &u, 4);
    }
    return v;
}

std::vector<StTensor> sample() {
    return {{"layer.norm", {256}, bf16_exact(normal(256, 1)), SafeDtype::F32},
            {"layer.w", {64, 256}, bf16_exact(normal(64 * 256, 2)), SafeDtype::F16},
            {"layer.v", {32, 256}, bf16_exact(normal(32 * 256, 3)), SafeDtype::BF16}};
}

std::vector<uint8_t> bytes_of(const GgufFile& f, const std::string& name) {
    const auto d = f.tensor_data(f.tensor(name));
    return {d.begin(), d.end()};
}

std::vector<uint8_t> bytes_of(const SafeTensorsFile& f, const std::string& name) {
    const auto d = f.tensor_data(f.tensor(name));
    return {d.begin(), d.end()};
}

TEST(QuantizeSources, ASafeTensorsFileBecomesAGgufWithItsNamesAndGgmlBytes) {
    TempDir dir;
    const auto tensors = sample();
    write_safetensors(dir / "m.safetensors", tensors);
    quantize::Options o;
    o.input = dir / "m.safetensors";
    o.output = dir / "out.gguf";
    o.type = TypeId::Q8_0;
    ThreadPool pool(2);
    const quantize::Report r = quantize::quantize_model(o, pool);
    const GgufFile out = GgufFile::open(o.output);
    ASSERT_EQ(out.tensors().size(), 3u);
    EXPECT_EQ(out.tensor("layer.w").ne, (std::vector<int64_t>{256, 64}));
    EXPECT_EQ(bytes_of(out, "layer.w"), ggml_q8_0(tensors[1].values));
    EXPECT_EQ(bytes_of(out, "layer.v"), ggml_q8_0(tensors[2].values));
    EXPECT_EQ(out.tensor("layer.norm").type_id, 0u);  // a vector stays as it was
    EXPECT_EQ(bytes_of(out, "layer.norm"), as_bytes(tensors[0].values, SafeDtype::F32));
    EXPECT_EQ(r.tensors[2].source_type, "BF16");
    EXPECT_EQ(r.input_bytes, fs::file_size(o.input));
}

TEST(QuantizeSources, AShardedModelGivesTheBytesOfOneFile) {
    TempDir dir;
    const auto tensors = sample();
    write_safetensors(dir / "one.safetensors", tensors);
    fs::create_directory(dir / "sharded");
    write_safetensors(dir / "sharded" / "model-00001-of-00002.safetensors", {tensors[0], tensors[1]});
    write_safetensors(dir / "sharded" / "model-00002-of-00002.safetensors", {tensors[2]});
    write_safetensors_index(dir / "sharded" / std::string(kSafeTensorsIndexName),
                            {{"layer.norm", "model-00001-of-00002.safetensors"},
                             {"layer.w", "model-00001-of-00002.safetensors"},
                             {"layer.v", "model-00002-of-00002.safetensors"}},
                            0);
    ThreadPool pool(2);
    quantize::Options o;
    o.type = int_group_type_id(4, true, 64);
    o.input = dir / "one.safetensors";
    o.output = dir / "one.gguf";
    quantize::quantize_model(o, pool);
    for (const fs::path& in : {dir / "sharded", dir / "sharded" / std::string(kSafeTensorsIndexName)}) {
        o.input = in;
        o.output = dir / "sharded.gguf";
        const quantize::Report r = quantize::quantize_model(o, pool);
        const GgufFile a = GgufFile::open(dir / "one.gguf"), b = GgufFile::open(dir / "sharded.gguf");
        for (const char* name : {"layer.norm", "layer.w", "layer.v"}) {
            EXPECT_EQ(bytes_of(a, name), bytes_of(b, name)) << name << " from " << in;
        }
        EXPECT_EQ(r.input_bytes, fs::file_size(dir / "sharded" / "model-00001-of-00002.safetensors") +
                                     fs::file_size(dir / "sharded" / "model-00002-of-00002.safetensors"));
    }
}

// Row chunks encoded apart and scattered into the codes/scales/zeros sections give the bytes
// of the scalar kernel encoding the whole tensor at once.
TEST(QuantizeSources, IntGroupTensorsInRowChunksEqualTheWholeTensorEncoding) {
    TempDir dir;
    const int64_t rows = 700, cols = 256;  // 256 rows per chunk: three chunks, the last short
    const std::vector<float> v = bf16_exact(normal(static_cast<std::size_t>(rows * cols), 7));
    write_safetensors(dir / "m.safetensors", {{"w", {rows, cols}, v, SafeDtype::F32}});
    for (const TypeId id : {int_group_type_id(4, true, 64), int_group_type_id(2, false, 128), int_group_type_id(8, false, 32)}) {
        const WeightType& type = weight_type(id);
        std::vector<uint8_t> whole(type.tensor_bytes(rows, cols));
        type.reference.quantize(v.data(), rows, cols, whole.data());
        quantize::Options o;
        o.input = dir / "m.safetensors";
        o.output = dir / "out.gguf";
        o.type = id;
        ThreadPool pool(2);
        const quantize::Report r = quantize::quantize_model(o, pool);
        EXPECT_EQ(bytes_of(GgufFile::open(o.output), "w"), whole) << type.name;
        // and the measured cosine is the spec decoder's
        double dot = 0, a2 = 0, b2 = 0;
        for (int64_t row = 0; row < rows; ++row) {
            const DecodedRow d = decode_row(id, whole, rows, cols, row);
            for (int64_t c = 0; c < cols; ++c) {
                const double a = v[static_cast<std::size_t>(row * cols + c)], b = d.values[static_cast<std::size_t>(c)];
                dot += a * b;
                a2 += a * a;
                b2 += b * b;
            }
        }
        EXPECT_NEAR(r.tensors[0].cosine, dot / std::sqrt(a2 * b2), 1e-9) << type.name;
    }
}

TEST(QuantizeSources, SafeTensorsOutputHoldsPackedPartsAndDescribesEveryTensor) {
    TempDir dir;
    const auto tensors = sample();
    write_safetensors(dir / "m.safetensors", tensors);
    ThreadPool pool(2);
    quantize::Options o;
    o.input = dir / "m.safetensors";
    o.type = int_group_type_id(4, true, 64);
    o.tensor_types = {{"layer\\.v", TypeId::Q8_0}};
    o.min_cosine = 0.5;  // through the spool: types known at the end
    o.output = dir / "ref.gguf";
    quantize::quantize_model(o, pool);
    o.output = dir / "out.safetensors";
    o.out_format = quantize::OutFormat::safetensors;
    quantize::quantize_model(o, pool);

    const GgufFile ref = GgufFile::open(dir / "ref.gguf");
    const SafeTensorsFile st = SafeTensorsFile::open(dir / "out.safetensors");
    EXPECT_EQ(st.metadata().at("format"), "pt");  // the source's own metadata carried over
    const nlohmann::json config = nlohmann::json::parse(st.metadata().at("quantization_config"));
    EXPECT_EQ(config["quant_method"], "lowbit");
    ASSERT_EQ(config["tensors"].size(), 3u);
    const auto& w = config["tensors"]["layer.w"];
    EXPECT_EQ(w["type"], "INT4_ASYM_G64");
    EXPECT_EQ(w["bits"], 4);
    EXPECT_EQ(w["group_size"], 64);
    EXPECT_EQ(w["symmetric"], false);
    EXPECT_EQ(config["tensors"]["layer.v"]["type"], "Q8_0");
    EXPECT_EQ(config["tensors"]["layer.norm"]["stored"], "as is");

    // INT4 asym, 64 x 256 in groups of 64: codes 64 x 128 bytes, f16 scales and u8 zeros 64 x 4
    const SafeTensor& q = st.tensor("layer.w.qweight");
    EXPECT_EQ(q.dtype, SafeDtype::U8);
    EXPECT_EQ(q.shape, (std::vector<int64_t>{64, 128}));
    EXPECT_EQ(st.tensor("layer.w.scales").dtype, SafeDtype::F16);
    EXPECT_EQ(st.tensor("layer.w.scales").shape, (std::vector<int64_t>{64, 4}));
    EXPECT_EQ(st.tensor("layer.w.zeros").shape, (std::vector<int64_t>{64, 4}));
    std::vector<uint8_t> parts = bytes_of(st, "layer.w.qweight");
    for (const char* p : {"layer.w.scales", "layer.w.zeros"}) {
        const auto b = bytes_of(st, p);
        parts.insert(parts.end(), b.begin(), b.end());
    }
    EXPECT_EQ(parts, bytes_of(ref, "layer.w"));
    // the first group's zero point from the spec's rule, z = clamp(rne(-min / d), 0, 15), with
    // its stored scale
    const auto scales = bytes_of(st, "layer.w.scales");
    const float d0 = f16_to_f32(static_cast<uint16_t>(scales[0] | (scales[1] << 8)));
    float min0 = 0;
    for (int i = 0; i < 64; ++i) min0 = std::min(min0, tensors[1].values[static_cast<std::size_t>(i)]);
    EXPECT_EQ(bytes_of(st, "layer.w.zeros")[0], static_cast<uint8_t>(std::clamp(std::nearbyint(-min0 / d0), 0.0f, 15.0f)));
    EXPECT_EQ(bytes_of(st, "layer.v.qweight"), ggml_q8_0(tensors[2].values));
    EXPECT_EQ(st.tensor("layer.v.qweight").shape, (std::vector<int64_t>{32, 8 * 34}));
    EXPECT_EQ(bytes_of(st, "layer.norm"), as_bytes(tensors[0].values, SafeDtype::F32));

    // without a threshold the row chunks go straight to their place in the file (positional
    // writes): the same file as through the spool
    o.min_cosine.reset();
    o.output = dir / "direct.safetensors";
    quantize::quantize_model(o, pool);
    EXPECT_EQ(read_file(dir / "direct.safetensors"), read_file(dir / "out.safetensors"));
    o.out_format = quantize::OutFormat::gguf;
    o.output = dir / "direct.gguf";
    quantize::quantize_model(o, pool);
    EXPECT_EQ(read_file(dir / "direct.gguf"), read_file(dir / "ref.gguf"));
}

// A Hugging Face BitNet folder made from the bundled model (its weights as F32 under HF names,
// its config.json and tokenizer) converts back to the committed GGUF's tensors, byte for byte.
TEST(QuantizeSources, AHuggingFaceBitNetFolderConvertsToTheBundledModel) {
    TempDir dir;
    const GgufFile tiny = GgufFile::open(kTinyDir / "tiny-bitnet.gguf");
    const fs::path hf = dir / "hf";
    fs::create_directory(hf);
    for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"}) fs::copy_file(kTinyDir / f, hf / f);
    const auto hf_name = [](const std::string& g) {
        static const std::vector<std::pair<std::string, std::string>> parts = {
            {"attn_norm", "input_layernorm"},        {"attn_q", "self_attn.q_proj"},
            {"attn_k", "self_attn.k_proj"},          {"attn_v", "self_attn.v_proj"},
            {"attn_output", "self_attn.o_proj"},     {"attn_sub_norm", "self_attn.attn_sub_norm"},
            {"ffn_norm", "post_attention_layernorm"}, {"ffn_gate", "mlp.gate_proj"},
            {"ffn_up", "mlp.up_proj"},               {"ffn_down", "mlp.down_proj"},
            {"ffn_sub_norm", "mlp.ffn_sub_norm"}};
        if (g == "token_embd.weight") return std::string("model.embed_tokens.weight");
        if (g == "output_norm.weight") return std::string("model.norm.weight");
        const std::size_t dot = g.find('.', 4);
        const std::string layer = g.substr(4, dot - 4), part = g.substr(dot + 1, g.size() - dot - 8);
        for (const auto& [from, to] : parts) {
            if (part == from) return "model.layers." + layer + "." + to + ".weight";
        }
        throw std::runtime_error("unmapped " + g);
    };
    std::vector<StTensor> st;
    for (const GgufTensor& t : tiny.tensors()) {
        const TensorWeight w = tiny.weight(t);
        std::vector<float> v(static_cast<std::size_t>(t.elements()));
        w.type->reference.dequantize(w.view, 0, t.rows, v.data());
        std::vector<int64_t> shape(t.ne.rbegin(), t.ne.rend());
        st.push_back({hf_name(t.name), shape, v, SafeDtype::F32});
    }
    write_safetensors(hf / "model.safetensors", st);

    llm::ConvertOptions c;
    c.input = hf;
    c.output = dir / "back.gguf";
    ThreadPool pool(2);
    const llm::ConvertReport r = llm::convert_hf_model(c, pool);
    EXPECT_EQ(r.architecture, "bitnet-b1.58");
    EXPECT_EQ(r.ternary_as_is, 42);
    EXPECT_EQ(r.ternarized, 0);
    const GgufFile back = GgufFile::open(c.output);
    ASSERT_EQ(back.tensors().size(), tiny.tensors().size());
    for (const GgufTensor& t : tiny.tensors()) {
        EXPECT_EQ(back.tensor(t.name).type_id, t.type_id) << t.name;
        EXPECT_EQ(back.tensor(t.name).ne, t.ne) << t.name;
        EXPECT_EQ(bytes_of(back, t.name), bytes_of(tiny, t.name)) << t.name;
    }
    for (const char* key : {"tokenizer.ggml.merges", "tokenizer.ggml.tokens", "bitnet-b1.58.rope.freq_base",
                            "bitnet-b1.58.attention.head_count_kv"}) {
        ASSERT_NE(back.metadata().find(key), nullptr) << key;
        EXPECT_EQ(*back.metadata().find(key), *tiny.metadata().find(key)) << key;
    }
}

// llama's q/k rows from HF's rotate-half layout to llama.cpp's, as its converter permutes them:
// w.reshape(n_head, 2, rows / n_head / 2, cols).swapaxes(1, 2).reshape(rows, cols).
TEST(QuantizeSources, LlamaQueryAndKeyRowsArePermutedAsLlamaCppDoes) {
    TempDir dir;
    const fs::path hf = dir / "hf";
    fs::create_directory(hf);
    const int64_t d = 128, heads = 2, kv_heads = 1, head_dim = 64, ff = 256, vocab = 300;
    {
        std::ofstream cfg(hf / "config.json");
        cfg << nlohmann::json({{"model_type", "llama"}, {"architectures", {"LlamaForCausalLM"}}, {"hidden_size", d},
                               {"intermediate_size", ff}, {"num_hidden_layers", 1}, {"num_attention_heads", heads},
                               {"num_key_value_heads", kv_heads}, {"vocab_size", vocab}, {"tie_word_embeddings", true}})
                   .dump();
    }
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(kTinyDir / f, hf / f);
    std::vector<StTensor> st = {
        {"model.embed_tokens.weight", {vocab, d}, normal(vocab * d, 1)},
        {"model.layers.0.input_layernorm.weight", {d}, normal(d, 2)},
        {"model.layers.0.self_attn.q_proj.weight", {heads * head_dim, d}, normal(heads * head_dim * d, 3)},
        {"model.layers.0.self_attn.k_proj.weight", {kv_heads * head_dim, d}, normal(kv_heads * head_dim * d, 4)},
        {"model.layers.0.self_attn.v_proj.weight", {kv_heads * head_dim, d}, normal(kv_heads * head_dim * d, 5)},
        {"model.layers.0.self_attn.o_proj.weight", {d, heads * head_dim}, normal(d * heads * head_dim, 6)},
        {"model.layers.0.self_attn.rotary_emb.inv_freq", {head_dim / 2}, normal(head_dim / 2, 7)},
        {"model.layers.0.post_attention_layernorm.weight", {d}, normal(d, 8)},
        {"model.layers.0.mlp.gate_proj.weight", {ff, d}, normal(ff * d, 9)},
        {"model.layers.0.mlp.up_proj.weight", {ff, d}, normal(ff * d, 10)},
        {"model.layers.0.mlp.down_proj.weight", {d, ff}, normal(d * ff, 11)},
        {"model.norm.weight", {d}, normal(d, 12)}};
    write_safetensors(hf / "model.safetensors", st);
    const auto llama_cpp_permute = [](const std::vector<float>& w, int64_t rows, int64_t cols, int64_t n_head) {
        // index [h][a][i][c] of the reshape (n_head, 2, half, cols) -> [h][i][a][c]
        const int64_t half = rows / n_head / 2;
        std::vector<float> out(w.size());
        for (int64_t h = 0; h < n_head; ++h)
            for (int64_t a = 0; a < 2; ++a)
                for (int64_t i = 0; i < half; ++i)
                    for (int64_t c = 0; c < cols; ++c)
                        out[static_cast<std::size_t>(((h * half + i) * 2 + a) * cols + c)] =
                            w[static_cast<std::size_t>(((h * 2 + a) * half + i) * cols + c)];
        return out;
    };
    quantize::Options o;
    o.input = hf;
    o.output = dir / "out.gguf";
    o.type = TypeId::F32;  // exact: the bytes show the row order
    ThreadPool pool(2);
    const quantize::Report r = quantize::quantize_model(o, pool);
    EXPECT_EQ(r.architecture, "llama");
    const GgufFile out = GgufFile::open(o.output);
    EXPECT_EQ(out.tensors().size(), 11u);  // inv_freq left out, the head tied
    EXPECT_EQ(bytes_of(out, "blk.0.attn_q.weight"), as_bytes(llama_cpp_permute(st[2].values, heads * head_dim, d, heads), SafeDtype::F32));
    EXPECT_EQ(bytes_of(out, "blk.0.attn_k.weight"),
              as_bytes(llama_cpp_permute(st[3].values, kv_heads * head_dim, d, kv_heads), SafeDtype::F32));
    EXPECT_EQ(bytes_of(out, "blk.0.attn_v.weight"), as_bytes(st[4].values, SafeDtype::F32));
    EXPECT_EQ(out.metadata().get_uint("llama.attention.head_count_kv"), 1u);
    EXPECT_NE(out.metadata().find("tokenizer.ggml.tokens"), nullptr);
    // --keep on a permuted tensor stores it in the permuted order too
    o.keep = {"attn_q"};
    o.type = TypeId::Q8_0;
    quantize::quantize_model(o, pool);
    EXPECT_EQ(bytes_of(GgufFile::open(o.output), "blk.0.attn_q.weight"),
              as_bytes(llama_cpp_permute(st[2].values, heads * head_dim, d, heads), SafeDtype::F32));
    // a tensor the mapping does not know is an error naming it; SafeTensors output keeps all
    st.push_back({"model.extra.weight", {4, 4}, normal(16, 13)});
    write_safetensors(hf / "model.safetensors", st);
    try {
        quantize::quantize_model(o, pool);
        FAIL() << "an unmapped tensor was dropped";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'model.extra.weight' is not part of a llama model"), std::string::npos)
            << e.what();
    }
    o.out_format = quantize::OutFormat::safetensors;
    o.output = dir / "out.safetensors";
    EXPECT_EQ(quantize::quantize_model(o, pool).tensors.size(), st.size());
}

TEST(QuantizeSources, BatchModeGivesTheStreamingBytesAndMaxMemoryRefusesNamingTheTensor) {
    TempDir dir;
    write_safetensors(dir / "m.safetensors", sample());
    ThreadPool pool(2);
    quantize::Options o;
    o.input = dir / "m.safetensors";
    o.type = int_group_type_id(4, false, 128);
    o.output = dir / "s.gguf";
    const quantize::Report s = quantize::quantize_model(o, pool);
    o.mode = quantize::Mode::batch;
    o.output = dir / "b.gguf";
    const quantize::Report b = quantize::quantize_model(o, pool);
    EXPECT_EQ(read_file(dir / "s.gguf"), read_file(dir / "b.gguf"));
    EXPECT_GT(b.planned_peak_bytes, s.planned_peak_bytes);
    EXPECT_EQ(b.mode, "batch");

    o.mode = quantize::Mode::streaming;
    o.output = dir / "m.gguf";
    o.max_memory = s.planned_peak_bytes - 1;
    try {
        quantize::quantize_model(o, pool);
        FAIL() << "--max-memory was not honoured";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("tensor 'layer.w': quantizing it holds about"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir / "m.gguf"));
    o.max_memory = s.planned_peak_bytes;
    EXPECT_NO_THROW(quantize::quantize_model(o, pool));
}

// The spec's entropy hint, computed here from its definition, picks each tensor's bits.
TEST(QuantizeSources, AutoBitsFollowTheEntropyHint) {
    TempDir dir;
    std::vector<float> spiky(64 * 256, 0.0f);  // mostly one bin: low entropy
    std::mt19937 rng(5);
    for (int i = 0; i < 200; ++i) spiky[rng() % spiky.size()] = static_cast<float>(static_cast<int>(rng() % 64) - 32);
    const std::vector<float> dense = bf16_exact(normal(64 * 256, 6));
    write_safetensors(dir / "m.safetensors", {{"spiky", {64, 256}, spiky}, {"dense", {64, 256}, dense}});
    const auto entropy = [](const std::vector<float>& v) {
        const float lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
        std::vector<double> h(256);
        for (float x : v) {
            const auto bin = static_cast<int64_t>((static_cast<double>(x) - lo) * (256.0 / (static_cast<double>(hi) - lo)));
            h[static_cast<std::size_t>(std::clamp<int64_t>(bin, 0, 255))] += 1;
        }
        double e = 0;
        for (double k : h) {
            if (k > 0) e -= k / static_cast<double>(v.size()) * std::log2(k / static_cast<double>(v.size()));
        }
        return e / 8;
    };
    quantize::Options o;
    o.input = dir / "m.safetensors";
    o.output = dir / "out.gguf";
    o.type = int_group_type_id(4, false, 64);
    o.auto_bits = true;
    ThreadPool pool(2);
    const quantize::Report r = quantize::quantize_model(o, pool);
    EXPECT_NEAR(r.tensors[0].entropy, entropy(spiky), 1e-12);
    EXPECT_NEAR(r.tensors[1].entropy, entropy(dense), 1e-12);
    EXPECT_LT(r.tensors[0].entropy, 0.5);
    EXPECT_GE(r.tensors[1].entropy, 0.7);
    EXPECT_EQ(r.tensors[0].type, "INT8_SYM_G64");
    EXPECT_EQ(r.tensors[1].type, "INT2_SYM_G64");
    const GgufFile out = GgufFile::open(o.output);
    EXPECT_EQ(out.tensor("dense").type_id, static_cast<uint32_t>(int_group_type_id(2, false, 64)));
}

TEST(QuantizeSources, UnknownDtypesAreRefusedByName) {
    TempDir dir;
    {
        SafeTensorsWriter w(dir / "m.safetensors");
        w.add_tensor("ids", SafeDtype::I64, {4, 8});
        w.write_tensor("ids", std::vector<uint8_t>(4 * 8 * 8));
        w.finish();
    }
    quantize::Options o;
    o.input = dir / "m.safetensors";
    o.output = dir / "out.gguf";
    ThreadPool pool(1);
    try {
        quantize::quantize_model(o, pool);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("tensor 'ids': type I64 is not one lowbit decodes"), std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(fs::exists(dir / "out.gguf"));
    // kept, a SafeTensors output stores it as it is; a GGUF has no such type here
    o.keep = {"ids"};
    o.out_format = quantize::OutFormat::safetensors;
    o.output = dir / "out.safetensors";
    quantize::quantize_model(o, pool);
    EXPECT_EQ(SafeTensorsFile::open(o.output).tensor("ids").dtype, SafeDtype::I64);
    o.out_format = quantize::OutFormat::gguf;
    o.output = dir / "out.gguf";
    EXPECT_THROW(quantize::quantize_model(o, pool), Error);
    EXPECT_FALSE(fs::exists(dir / "out.gguf"));
}


std::vector<uint8_t> repeated(const std::vector<uint8_t>& block, int times) {
    std::vector<uint8_t> out;
    for (int i = 0; i < times; ++i) out.insert(out.end(), block.begin(), block.end());
    return out;
}

// The golden blocks of the spec's shared types (derived by hand in tests/formats/), written by
// the whole pipeline: llama.cpp's rules, so llama-quantize's bytes (docs/QUANTIZE.md).
TEST(QuantizeSources, TheSpecsGoldenBlocksComeOutOfTheQuantizer) {
    TempDir dir;
    std::vector<float> tq2(256, 0.0f), tq1(256, 0.0f), q41(32, 0.0f);
    tq2[0] = 1.0f, tq2[32] = -1.0f, tq2[64] = 0.4f, tq2[96] = 0.5f, tq2[128] = -0.5f, tq2[255] = 0.75f;
    tq1[0] = 1.0f, tq1[32] = -1.0f, tq1[96] = 1.0f, tq1[128] = -1.0f, tq1[176] = 1.0f, tq1[244] = -1.0f,
    tq1[252] = 1.0f;
    q41[0] = -1.0f, q41[16] = 2.0f, q41[1] = 0.5f, q41[17] = 0.29f;
    const auto rows = [](const std::vector<float>& row, int n) {
        std::vector<float> v;
        for (int i = 0; i < n; ++i) v.insert(v.end(), row.begin(), row.end());
        return v;
    };
    write_safetensors(dir / "m.safetensors", {{"tq2", {3, 256}, rows(tq2, 3)},
                                              {"tq1", {2, 256}, rows(tq1, 2)},
                                              {"q41", {4, 32}, rows(q41, 4)}});
    std::vector<uint8_t> tq2_block = {0x92};
    tq2_block.insert(tq2_block.end(), 31, 0x55);
    tq2_block.push_back(0x54);
    tq2_block.insert(tq2_block.end(), 30, 0x55);
    tq2_block.insert(tq2_block.end(), {0x95, 0x00, 0x3C});
    std::vector<uint8_t> tq1_block = {0xBB};
    tq1_block.insert(tq1_block.end(), 31, 0x80);
    tq1_block.push_back(0x9C);
    tq1_block.insert(tq1_block.end(), 15, 0x80);
    tq1_block.insert(tq1_block.end(), {0x66, 0x7F, 0x7F, 0x7F, 0x00, 0x3C});
    std::vector<uint8_t> q41_block = {0x66, 0x32, 0x00, 0xBC, 0xF0, 0x68};
    q41_block.insert(q41_block.end(), 14, 0x55);

    quantize::Options o;
    o.input = dir / "m.safetensors";
    o.output = dir / "out.gguf";
    o.tensor_types = {{"tq2", TypeId::TQ2_0}, {"tq1", TypeId::TQ1_0}, {"q41", TypeId::Q4_1}};
    o.ternarize = quantize::Ternarize::none;
    ThreadPool pool(2);
    quantize::quantize_model(o, pool);
    const GgufFile out = GgufFile::open(o.output);
    EXPECT_EQ(bytes_of(out, "tq2"), repeated(tq2_block, 3));
    EXPECT_EQ(bytes_of(out, "tq1"), repeated(tq1_block, 2));
    EXPECT_EQ(bytes_of(out, "q41"), repeated(q41_block, 4));
    // absmean first (the default) changes the TQ2_0 block: its 0.4 is then a whole unit
    o.ternarize = quantize::Ternarize::absmean;
    const quantize::Report r = quantize::quantize_model(o, pool);
    EXPECT_NE(bytes_of(GgufFile::open(o.output), "tq2"), repeated(tq2_block, 3));
    EXPECT_TRUE(r.tensors[0].ternarized);
    EXPECT_FALSE(r.tensors[1].ternarized);  // already ternary x one scale
}
}  // namespace
}  // namespace lowbit::test

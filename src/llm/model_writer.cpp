#include "lowbit/model_writer.hpp"

#include "lowbit/error.hpp"
#include "lowbit/gguf_writer.hpp"
#include "lowbit/kernel_set.hpp"

namespace lowbit::llm {

ModelShape preset_shape(const std::string& preset, const std::string& arch) {
    ModelShape s;
    s.arch = arch;
    if (preset == "2b4t") {
        s.n_layer = 30;
        s.n_embd = 2560;
        s.n_ff = 6912;
        s.n_head = 20;
        s.n_head_kv = 5;
        s.n_vocab = 128256;
        s.n_ctx = 4096;
        s.rope_theta = 500000.0f;
    } else if (preset == "7b") {  // Llama-2-7B
        s.n_layer = 32;
        s.n_embd = 4096;
        s.n_ff = 11008;
        s.n_head = 32;
        s.n_head_kv = 32;
        s.n_vocab = 32000;
        s.n_ctx = 4096;
        s.rope_theta = 10000.0f;
    } else if (preset == "tiny") {
        s.n_layer = 2;
        s.n_embd = 256;
        s.n_ff = 768;
        s.n_head = 4;
        s.n_head_kv = 2;
        s.n_vocab = 512;
        s.n_ctx = 1024;
        s.rope_theta = 10000.0f;
    } else {
        fail("unknown model preset '", preset, "' (tiny, 2b4t, 7b)");
    }
    return s;
}

std::vector<TensorSpec> model_tensors(const ModelShape& s, const ModelTypes& types) {
    const int64_t hd = s.n_embd / s.n_head, q_dim = s.n_head * hd, kv_dim = s.n_head_kv * hd;
    const bool sub_norms = s.arch != "llama";
    std::vector<TensorSpec> out = {{"token_embd.weight", s.n_vocab, s.n_embd, false}};
    for (int64_t i = 0; i < s.n_layer; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        out.push_back({b + "attn_norm.weight", 1, s.n_embd, false});
        out.push_back({b + "attn_q.weight", q_dim, s.n_embd, true});
        out.push_back({b + "attn_k.weight", kv_dim, s.n_embd, true});
        out.push_back({b + "attn_v.weight", kv_dim, s.n_embd, true});
        if (sub_norms) out.push_back({b + "attn_sub_norm.weight", 1, q_dim, false});
        out.push_back({b + "attn_output.weight", s.n_embd, q_dim, true});
        out.push_back({b + "ffn_norm.weight", 1, s.n_embd, false});
        out.push_back({b + "ffn_gate.weight", s.n_ff, s.n_embd, true});
        out.push_back({b + "ffn_up.weight", s.n_ff, s.n_embd, true});
        if (sub_norms) out.push_back({b + "ffn_sub_norm.weight", 1, s.n_ff, false});
        out.push_back({b + "ffn_down.weight", s.n_embd, s.n_ff, true});
    }
    out.push_back({"output_norm.weight", 1, s.n_embd, false});
    if (types.head) out.push_back({"output.weight", s.n_vocab, s.n_embd, false});
    return out;
}

void write_model(const std::filesystem::path& path, const ModelShape& s, const ModelTypes& types,
                 const TensorValues& values, const Metadata& extra) {
    if (s.n_layer < 1 || s.n_embd < 1 || s.n_head < 1 || s.n_head_kv < 1 || s.n_embd % s.n_head != 0 ||
        s.n_head % s.n_head_kv != 0 || s.n_ff < 1 || s.n_vocab < 1) {
        fail("write_model: inconsistent shape (layers ", s.n_layer, ", embd ", s.n_embd, ", heads ", s.n_head, "/",
             s.n_head_kv, ", ff ", s.n_ff, ", vocab ", s.n_vocab, ")");
    }
    GgufWriter w(path);
    Metadata& md = w.metadata();
    const std::string a = s.arch + ".";
    md.set("general.architecture", MetaValue(s.arch));
    md.set("general.name", MetaValue("lowbit synthetic " + s.arch));
    md.set(a + "block_count", MetaValue(static_cast<uint32_t>(s.n_layer)));
    md.set(a + "embedding_length", MetaValue(static_cast<uint32_t>(s.n_embd)));
    md.set(a + "feed_forward_length", MetaValue(static_cast<uint32_t>(s.n_ff)));
    md.set(a + "attention.head_count", MetaValue(static_cast<uint32_t>(s.n_head)));
    md.set(a + "attention.head_count_kv", MetaValue(static_cast<uint32_t>(s.n_head_kv)));
    md.set(a + "attention.layer_norm_rms_epsilon", MetaValue(s.rms_eps));
    md.set(a + "rope.freq_base", MetaValue(s.rope_theta));
    md.set(a + "rope.dimension_count", MetaValue(static_cast<uint32_t>(s.n_embd / s.n_head)));
    md.set(a + "context_length", MetaValue(static_cast<uint32_t>(s.n_ctx)));
    md.set(a + "vocab_size", MetaValue(static_cast<uint32_t>(s.n_vocab)));
    for (const auto& [key, value] : extra.entries()) md.set(key, value);

    const std::vector<TensorSpec> specs = model_tensors(s, types);
    auto type_of = [&](const TensorSpec& t) {
        if (t.is_linear) return types.linear;
        if (t.name == "token_embd.weight") return types.embedding;
        if (t.name == "output.weight") return *types.head;
        return TypeId::F32;  // norms
    };
    for (const TensorSpec& t : specs) {
        std::vector<int64_t> ne = {t.cols};
        if (t.rows > 1 || t.is_linear || t.name == "token_embd.weight" || t.name == "output.weight") ne.push_back(t.rows);
        w.add_tensor(t.name, type_of(t), ne);
    }
    for (const TensorSpec& t : specs) {
        const std::vector<float> v = values(t.name, t.rows, t.cols);
        if (static_cast<int64_t>(v.size()) != t.rows * t.cols) {
            fail("write_model: ", t.name, " needs ", t.rows * t.cols, " values, got ", v.size());
        }
        const WeightType& type = weight_type(type_of(t));
        std::vector<uint8_t> bytes(type.tensor_bytes(t.rows, t.cols));
        try {
            default_kernel_set()[type].ops.quantize(v.data(), t.rows, t.cols, bytes.data());
        } catch (const Error& e) {
            fail("tensor '", t.name, "': ", e.what());
        }
        w.write_tensor(t.name, bytes);
    }
    w.finish();
}

}  // namespace lowbit::llm

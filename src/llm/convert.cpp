#include "lowbit/convert.hpp"

#include <cmath>

#include "lowbit/error.hpp"
#include "lowbit/gguf_writer.hpp"
#include "lowbit/hf_config.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/safetensors_index.hpp"
#include "lowbit/ternary.hpp"

namespace lowbit::llm {
namespace {

struct Planned {
    std::string hf_name;
    std::string gguf_name;
    int64_t rows = 0;
    int64_t cols = 0;
    TypeId type{};
    bool linear = false;
    int rope_permute_heads = 0;  // llama q/k: heads for the NORM-rope permutation (0: none)
};

// llama.cpp's permute for llama q/k: HF's rotate-half layout -> the interleaved pairs its
// NORM rope (and lowbit's, for `llama`) expects. Rows of each head: (2, dim/2) -> (dim/2, 2).
std::vector<float> permute_for_norm_rope(const std::vector<float>& w, int64_t rows, int64_t cols, int heads) {
    std::vector<float> out(w.size());
    const int64_t head_rows = rows / heads, half = head_rows / 2;
    for (int64_t h = 0; h < heads; ++h) {
        for (int64_t i = 0; i < half; ++i) {
            for (int64_t j = 0; j < 2; ++j) {
                const int64_t src = h * head_rows + j * half + i;
                const int64_t dst = h * head_rows + i * 2 + j;
                std::copy(w.begin() + src * cols, w.begin() + (src + 1) * cols, out.begin() + dst * cols);
            }
        }
    }
    return out;
}

}  // namespace

ConvertReport convert_hf_model(const ConvertOptions& o) {
    const HfConfig cfg = read_hf_config(o.input / "config.json");
    const bool bitnet = cfg.model_type == "bitnet";
    if (!bitnet && cfg.model_type != "llama") {
        fail_as(ErrorCode::bad_file, (o.input / "config.json").string(), ": model_type '", cfg.model_type,
                "' is not bitnet or llama");
    }
    const std::string arch = bitnet ? "bitnet-b1.58" : "llama";
    const TypeId linear_type = o.linear_type.value_or(bitnet ? TypeId::I2_S : TypeId::F16);
    const SafeTensorsModel st = SafeTensorsModel::open(o.input);
    const int64_t d = cfg.hidden_size, ff = cfg.intermediate_size, heads = cfg.num_attention_heads;
    const int64_t kv_heads = cfg.num_key_value_heads, hd = cfg.head_dim;

    std::vector<Planned> plan;
    plan.push_back({"model.embed_tokens.weight", "token_embd.weight", cfg.vocab_size, d, o.embedding_type, false, 0});
    for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
        const std::string hf = "model.layers." + std::to_string(i) + ".";
        const std::string g = "blk." + std::to_string(i) + ".";
        plan.push_back({hf + "input_layernorm.weight", g + "attn_norm.weight", 1, d, TypeId::F32, false, 0});
        plan.push_back({hf + "self_attn.q_proj.weight", g + "attn_q.weight", heads * hd, d, linear_type, true,
                        bitnet ? 0 : static_cast<int>(heads)});
        plan.push_back({hf + "self_attn.k_proj.weight", g + "attn_k.weight", kv_heads * hd, d, linear_type, true,
                        bitnet ? 0 : static_cast<int>(kv_heads)});
        plan.push_back({hf + "self_attn.v_proj.weight", g + "attn_v.weight", kv_heads * hd, d, linear_type, true, 0});
        if (bitnet)
            plan.push_back({hf + "self_attn.attn_sub_norm.weight", g + "attn_sub_norm.weight", 1, heads * hd,
                            TypeId::F32, false, 0});
        plan.push_back({hf + "self_attn.o_proj.weight", g + "attn_output.weight", d, heads * hd, linear_type, true, 0});
        plan.push_back({hf + "post_attention_layernorm.weight", g + "ffn_norm.weight", 1, d, TypeId::F32, false, 0});
        plan.push_back({hf + "mlp.gate_proj.weight", g + "ffn_gate.weight", ff, d, linear_type, true, 0});
        plan.push_back({hf + "mlp.up_proj.weight", g + "ffn_up.weight", ff, d, linear_type, true, 0});
        if (bitnet)
            plan.push_back({hf + "mlp.ffn_sub_norm.weight", g + "ffn_sub_norm.weight", 1, ff, TypeId::F32, false, 0});
        plan.push_back({hf + "mlp.down_proj.weight", g + "ffn_down.weight", d, ff, linear_type, true, 0});
    }
    plan.push_back({"model.norm.weight", "output_norm.weight", 1, d, TypeId::F32, false, 0});
    if (!cfg.tie_word_embeddings && st.find_tensor("lm_head.weight") != nullptr) {
        plan.push_back({"lm_head.weight", "output.weight", cfg.vocab_size, d, o.embedding_type, false, 0});
    }

    GgufWriter w(o.output);
    Metadata& md = w.metadata();
    const std::string a = arch + ".";
    md.set("general.architecture", MetaValue(arch));
    md.set("general.name", MetaValue(o.input.filename().string()));
    md.set(a + "block_count", MetaValue(static_cast<uint32_t>(cfg.num_hidden_layers)));
    md.set(a + "embedding_length", MetaValue(static_cast<uint32_t>(d)));
    md.set(a + "feed_forward_length", MetaValue(static_cast<uint32_t>(ff)));
    md.set(a + "attention.head_count", MetaValue(static_cast<uint32_t>(heads)));
    md.set(a + "attention.head_count_kv", MetaValue(static_cast<uint32_t>(kv_heads)));
    md.set(a + "attention.layer_norm_rms_epsilon", MetaValue(static_cast<float>(cfg.rms_norm_eps)));
    md.set(a + "rope.freq_base", MetaValue(static_cast<float>(cfg.rope_theta)));
    md.set(a + "rope.dimension_count", MetaValue(static_cast<uint32_t>(hd)));
    md.set(a + "context_length", MetaValue(static_cast<uint32_t>(cfg.max_position_embeddings)));
    md.set(a + "vocab_size", MetaValue(static_cast<uint32_t>(cfg.vocab_size)));
    read_hf_tokenizer(o.input, md);

    for (const Planned& p : plan) {
        const SafeTensorsModel::Entry& e = st.tensor(p.hf_name);  // throws naming a missing tensor
        if (e.tensor->elements() != p.rows * p.cols) {
            fail_as(ErrorCode::bad_file, st.source(), ": tensor '", p.hf_name, "' has ", e.tensor->elements(),
                    " elements, expected ", p.rows, " x ", p.cols);
        }
        std::vector<int64_t> ne = {p.cols};
        if (p.rows > 1 || p.linear || p.gguf_name == "token_embd.weight" || p.gguf_name == "output.weight")
            ne.push_back(p.rows);
        w.add_tensor(p.gguf_name, p.type, ne);
    }
    ConvertReport report;
    report.architecture = arch;
    for (const Planned& p : plan) {
        const SafeTensorsModel::Entry& e = st.tensor(p.hf_name);
        const TensorWeight src = e.file->weight(*e.tensor);
        std::vector<float> v(static_cast<std::size_t>(p.rows * p.cols));
        default_kernel_set()[*src.type].ops.dequantize({src.view.data, p.rows, p.cols}, 0, p.rows, v.data());
        if (p.rope_permute_heads > 0) v = permute_for_norm_rope(v, p.rows, p.cols, p.rope_permute_heads);
        const WeightType& type = weight_type(p.type);
        if (p.linear && type.ternary) {
            if (is_ternary_times_scale(v)) {
                ++report.ternary_as_is;
            } else {
                absmean_ternarize_inplace(v);
                ++report.ternarized;
            }
        }
        std::vector<uint8_t> bytes(type.tensor_bytes(p.rows, p.cols));
        try {
            default_kernel_set()[type].ops.quantize(v.data(), p.rows, p.cols, bytes.data());
        } catch (const Error& err) {
            fail_as(ErrorCode::bad_file, st.source(), ": tensor '", p.hf_name, "': ", err.what());
        }
        w.write_tensor(p.gguf_name, bytes);
        ++report.tensors;
    }
    w.finish();
    return report;
}

}  // namespace lowbit::llm

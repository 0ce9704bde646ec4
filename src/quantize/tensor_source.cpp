#include "tensor_source.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <fstream>

#include "lowbit/convert.hpp"
#include "lowbit/error.hpp"
#include "lowbit/hf_config.hpp"
#include "lowbit/kernel_set.hpp"

namespace lowbit::quantize {
namespace {

namespace fs = std::filesystem;

// One tensor of a llama or BitNet HF checkpoint under its llama.cpp name.
struct HfName {
    std::string hf;
    std::string gguf;
    int64_t rows = 0;
    int64_t cols = 0;
    int permute_heads = 0;
};

std::vector<HfName> hf_names(const HfConfig& cfg, bool bitnet, bool has_lm_head) {
    const int64_t d = cfg.hidden_size, ff = cfg.intermediate_size, heads = cfg.num_attention_heads;
    const int64_t kv = cfg.num_key_value_heads, hd = cfg.head_dim;
    // llama's q/k: HF's rotate-half rows -> the interleaved pairs of llama.cpp's NORM rope
    const int q_perm = bitnet ? 0 : static_cast<int>(heads), k_perm = bitnet ? 0 : static_cast<int>(kv);
    std::vector<HfName> v;
    v.push_back({"model.embed_tokens.weight", "token_embd.weight", cfg.vocab_size, d, 0});
    for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
        const std::string hf = "model.layers." + std::to_string(i) + ".";
        const std::string g = "blk." + std::to_string(i) + ".";
        v.push_back({hf + "input_layernorm.weight", g + "attn_norm.weight", 1, d, 0});
        v.push_back({hf + "self_attn.q_proj.weight", g + "attn_q.weight", heads * hd, d, q_perm});
        v.push_back({hf + "self_attn.k_proj.weight", g + "attn_k.weight", kv * hd, d, k_perm});
        v.push_back({hf + "self_attn.v_proj.weight", g + "attn_v.weight", kv * hd, d, 0});
        if (bitnet) v.push_back({hf + "self_attn.attn_sub_norm.weight", g + "attn_sub_norm.weight", 1, heads * hd, 0});
        v.push_back({hf + "self_attn.o_proj.weight", g + "attn_output.weight", d, heads * hd, 0});
        v.push_back({hf + "post_attention_layernorm.weight", g + "ffn_norm.weight", 1, d, 0});
        v.push_back({hf + "mlp.gate_proj.weight", g + "ffn_gate.weight", ff, d, 0});
        v.push_back({hf + "mlp.up_proj.weight", g + "ffn_up.weight", ff, d, 0});
        if (bitnet) v.push_back({hf + "mlp.ffn_sub_norm.weight", g + "ffn_sub_norm.weight", 1, ff, 0});
        v.push_back({hf + "mlp.down_proj.weight", g + "ffn_down.weight", d, ff, 0});
    }
    v.push_back({"model.norm.weight", "output_norm.weight", 1, d, 0});
    if (!cfg.tie_word_embeddings && has_lm_head) v.push_back({"lm_head.weight", "output.weight", cfg.vocab_size, d, 0});
    return v;
}

void set_hf_metadata(const HfConfig& cfg, const std::string& arch, const fs::path& folder, Metadata& md) {
    const std::string a = arch + ".";
    md.set("general.architecture", MetaValue(arch));
    md.set("general.name", MetaValue(fs::absolute(folder).lexically_normal().filename().string()));
    md.set(a + "block_count", MetaValue(static_cast<uint32_t>(cfg.num_hidden_layers)));
    md.set(a + "embedding_length", MetaValue(static_cast<uint32_t>(cfg.hidden_size)));
    md.set(a + "feed_forward_length", MetaValue(static_cast<uint32_t>(cfg.intermediate_size)));
    md.set(a + "attention.head_count", MetaValue(static_cast<uint32_t>(cfg.num_attention_heads)));
    md.set(a + "attention.head_count_kv", MetaValue(static_cast<uint32_t>(cfg.num_key_value_heads)));
    md.set(a + "attention.layer_norm_rms_epsilon", MetaValue(static_cast<float>(cfg.rms_norm_eps)));
    md.set(a + "rope.freq_base", MetaValue(static_cast<float>(cfg.rope_theta)));
    md.set(a + "rope.dimension_count", MetaValue(static_cast<uint32_t>(cfg.head_dim)));
    md.set(a + "context_length", MetaValue(static_cast<uint32_t>(cfg.max_position_embeddings)));
    md.set(a + "vocab_size", MetaValue(static_cast<uint32_t>(cfg.vocab_size)));
    llm::read_hf_tokenizer(folder, md);
}

std::vector<int64_t> reversed(const std::vector<int64_t>& shape) {
    if (shape.empty()) return {1};  // a scalar
    return {shape.rbegin(), shape.rend()};
}

uint32_t gguf_float_id(const WeightType* t) { return t == nullptr ? 0 : static_cast<uint32_t>(t->id); }

SourceTensor from_safetensor(const SafeTensorsModel::Entry& e) {
    SourceTensor s;
    s.name = s.source_name = e.tensor->name;
    s.file = e.file->source();
    s.ne = reversed(e.tensor->shape);
    s.rows = e.tensor->rows;
    s.cols = e.tensor->cols;
    if (e.tensor->shape.size() > 2) {
        // a convolution's [out, in, kh, kw]: a matrix of out rows, as PyTorch's quantizers see it
        s.rows = e.tensor->shape[0];
        s.cols = s.rows == 0 ? 0 : e.tensor->elements() / s.rows;
    }
    s.type_name = std::string(safe_dtype_name(e.tensor->dtype));
    s.data = e.file->tensor_data(*e.tensor);
    s.file_bytes = e.file->bytes();
    if (const WeightType* t = safe_dtype_weight_type(e.tensor->dtype)) {
        s.weight = {t, WeightView{s.data.data(), s.rows, s.cols}};
        s.gguf_type_id = gguf_float_id(t);
    }
    return s;
}

bool has_extension(const fs::path& p, const char* ext) { return p.extension() == ext; }

bool starts_with_gguf_magic(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    char magic[4] = {};
    return f.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

}  // namespace

std::string SourceTensor::where() const {
    return name == source_name ? concat(file, ": tensor '", name, "'")
                               : concat(file, ": tensor '", source_name, "' (", name, ")");
}

int64_t SourceTensor::source_row(int64_t r) const {
    if (permute_heads == 0) return r;
    const int64_t head_rows = rows / permute_heads, half = head_rows / 2;
    const int64_t h = r / head_rows, within = r % head_rows;
    return h * head_rows + (within % 2) * half + within / 2;
}

void decode_rows(const SourceTensor& t, int64_t r0, int64_t r1, float* dst) {
    const DequantizeFn decode = default_kernel_set()[*t.weight.type].ops.dequantize;
    if (t.permute_heads == 0) {
        decode(t.weight.view, r0, r1, dst);
        return;
    }
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t s = t.source_row(r);
        decode(t.weight.view, s, s + 1, dst + (r - r0) * t.cols);
    }
}

namespace {

void release_range(const uint8_t* begin, const uint8_t* end, bool inward) {
    static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    uintptr_t b = reinterpret_cast<uintptr_t>(begin), e = reinterpret_cast<uintptr_t>(end);
    b = inward ? (b + page - 1) / page * page : b / page * page;
    e = inward ? e / page * page : (e + page - 1) / page * page;
    if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);  // advice: a failure loses nothing
}

}  // namespace

void release_source_rows(const SourceTensor& t, int64_t r0, int64_t r1) {
    if (t.file_bytes.empty() || t.permute_heads != 0 || t.rows == 0 || t.data.size() % static_cast<std::size_t>(t.rows) != 0) return;
    const std::size_t row = t.data.size() / static_cast<std::size_t>(t.rows);
    release_range(t.data.data() + static_cast<std::size_t>(r0) * row, t.data.data() + static_cast<std::size_t>(r1) * row,
                  true);
}

void release_source(const SourceTensor& t) {
    if (t.data.empty() || t.file_bytes.empty()) return;
    constexpr std::size_t kBefore = std::size_t{4} << 20;
    const uint8_t* first = t.file_bytes.data();
    const auto before = static_cast<std::size_t>(t.data.data() - first);
    release_range(t.data.data() - std::min(before, kBefore), t.data.data() + t.data.size(), false);
}

TensorSource TensorSource::open(const fs::path& path, Naming naming) {
    TensorSource src;
    std::error_code ec;
    const bool folder = fs::is_directory(path, ec);
    if (!folder && !fs::exists(path, ec)) fail_as(ErrorCode::io, path.string(), ": no such file or folder");
    const bool gguf = !folder && (has_extension(path, ".gguf") ||
                                  (!has_extension(path, ".safetensors") && !has_extension(path, ".json") &&
                                   starts_with_gguf_magic(path)));
    if (gguf) {
        auto in = std::make_shared<const GgufFile>(GgufFile::open(path));
        src.source_ = in->source();
        src.file_size_ = in->file_size();
        src.metadata_ = in->metadata();
        const std::vector<std::string> files = in->split_sources();
        for (const GgufTensor& t : in->tensors()) {
            SourceTensor s;
            s.name = s.source_name = t.name;
            s.file = files[t.split];
            s.ne = t.ne;
            s.rows = t.rows;
            s.cols = t.cols;
            s.type_name = std::string(t.type->name);
            s.gguf_type_id = t.type_id;
            s.from_gguf = true;
            s.data = in->tensor_data(t);
            s.file_bytes = in->file_bytes(t);
            if (find_weight_type(static_cast<TypeId>(t.type_id)) != nullptr) s.weight = in->weight(t);
            src.tensors_.push_back(std::move(s));
        }
        src.gguf_ = std::move(in);
        return src;
    }

    auto st = std::make_shared<const SafeTensorsModel>(SafeTensorsModel::open(path));
    src.source_ = st->source();
    for (const SafeTensorsFile& f : st->files()) {
        src.file_size_ += f.file_size();
        if (st->files().size() == 1) src.string_metadata_ = f.metadata();
    }
    const fs::path config = path / "config.json";
    std::string model_type;
    if (folder && naming == Naming::gguf && fs::exists(config, ec)) model_type = read_hf_model_type(config);
    if (model_type == "llama" || model_type == "bitnet") {
        const HfConfig cfg = read_hf_config(config);
        const bool bitnet = model_type == "bitnet";
        src.architecture_ = bitnet ? "bitnet-b1.58" : "llama";
        set_hf_metadata(cfg, src.architecture_, path, src.metadata_);
        const std::vector<HfName> names = hf_names(cfg, bitnet, st->find_tensor("lm_head.weight") != nullptr);
        std::map<std::string, bool, std::less<>> mapped;
        for (const HfName& n : names) {
            SourceTensor s = from_safetensor(st->tensor(n.hf));  // throws naming a missing tensor
            if (s.elements() != n.rows * n.cols || s.rows != n.rows) {
                fail_as(ErrorCode::bad_file, s.where(), " has ", s.rows, " x ", s.cols, " elements, ", config.string(),
                        " makes it ", n.rows, " x ", n.cols);
            }
            if (n.permute_heads > 0 && (s.rows % (2 * n.permute_heads) != 0 || s.weight.type == nullptr)) {
                fail_as(ErrorCode::bad_file, s.where(), ": cannot reorder its rows for ", n.permute_heads, " heads");
            }
            s.name = n.gguf;
            s.permute_heads = n.permute_heads;
            if (n.rows == 1) s.ne = {n.cols};  // a vector, whatever the checkpoint's shape
            mapped[n.hf] = true;
            src.tensors_.push_back(std::move(s));
        }
        for (const SafeTensorsModel::Entry& e : st->tensors()) {
            const std::string& name = e.tensor->name;
            if (mapped.count(name) || name.ends_with("rotary_emb.inv_freq") ||
                (name == "lm_head.weight" && cfg.tie_word_embeddings)) {
                continue;  // buffers a checkpoint may carry, and a head tied to the embedding
            }
            fail_as(ErrorCode::bad_file, e.file->source(), ": tensor '", name, "' is not part of a ", model_type,
                    " model as lowbit maps it to GGUF (quantize to --out-format safetensors to keep every name)");
        }
    } else {
        src.metadata_.set("general.name", MetaValue(fs::absolute(path).lexically_normal().stem().string()));
        for (const SafeTensorsModel::Entry& e : st->tensors()) src.tensors_.push_back(from_safetensor(e));
    }
    src.safetensors_ = std::move(st);
    return src;
}

}  // namespace lowbit::quantize

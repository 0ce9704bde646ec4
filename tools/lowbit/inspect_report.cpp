// `lowbit inspect`: gathering a format-neutral report from GGUF or SafeTensors models.
#include "inspect_report.hpp"

#include <charconv>
#include <cstdlib>

#include "lowbit/error.hpp"
#include "lowbit/gguf_reader.hpp"
#include "lowbit/hf_config.hpp"
#include "lowbit/mapped_file.hpp"
#include "lowbit/safetensors_index.hpp"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

enum class Kind { gguf, safetensors };

Kind detect(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec) || path.extension() == ".json" || path.extension() == ".safetensors") {
        return Kind::safetensors;
    }
    const auto file = MappedFile::open(path);
    const auto bytes = file->bytes();
    if (path.extension() == ".gguf" ||
        (bytes.size() >= 4 && std::string_view(reinterpret_cast<const char*>(bytes.data()), 4) == "GGUF")) {
        return Kind::gguf;
    }
    fail(path.string(), ": unknown model format (expected a GGUF file, a .safetensors file, a ", kSafeTensorsIndexName,
         " or a model folder)");
}

// A float32 as the shortest decimal that reads back to it (1e-05, not 9.99999974737875e-06).
double shortest(float f) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, f);
    *r.ptr = '\0';
    return std::strtod(buf, nullptr);
}

json to_json(const MetaValue& v) {
    return std::visit(
        [](const auto& x) -> json {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, MetaArray>) {
                json a = json::array();
                for (const MetaValue& item : x.items) a.push_back(to_json(item));
                return a;
            } else if constexpr (std::is_same_v<T, float>) {
                return shortest(x);
            } else if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, uint16_t> ||
                                 std::is_same_v<T, uint32_t>) {
                return static_cast<uint64_t>(x);
            } else if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, int16_t> ||
                                 std::is_same_v<T, int32_t>) {
                return static_cast<int64_t>(x);
            } else {
                return x;
            }
        },
        v.storage());
}

void add_totals(ModelReport& r) {
    for (const TensorRow& t : r.tensors) {
        r.total_elements += t.elements;
        r.total_bytes += t.bytes;
        auto it = std::find_if(r.types.begin(), r.types.end(), [&](const TypeTotal& x) { return x.type == t.type; });
        if (it == r.types.end()) {
            r.types.push_back({t.type, 0, 0, 0, t.computable});
            it = r.types.end() - 1;
        }
        ++it->tensors;
        it->elements += t.elements;
        it->bytes += t.bytes;
    }
}

// Hyperparameters under lowbit's names (the GGUF key suffixes, shortened).
constexpr std::pair<const char*, const char*> kGgufHyperparameters[] = {
    {"context_length", "context_length"},
    {"embedding_length", "embedding_length"},
    {"block_count", "block_count"},
    {"feed_forward_length", "feed_forward_length"},
    {"head_count", "attention.head_count"},
    {"head_count_kv", "attention.head_count_kv"},
    {"rms_norm_epsilon", "attention.layer_norm_rms_epsilon"},
    {"rope_freq_base", "rope.freq_base"},
    {"rope_dimension_count", "rope.dimension_count"},
    {"vocab_size", "vocab_size"},
};

json gguf_tokenizer(const Metadata& m) {
    const bool any = std::any_of(m.entries().begin(), m.entries().end(),
                                 [](const auto& e) { return e.first.rfind("tokenizer.", 0) == 0; });
    if (!any) return nullptr;
    json t = json::object();
    const auto put = [&](const char* name, const char* key) {
        if (const MetaValue* v = m.find(key)) t[name] = to_json(*v);
    };
    const auto count = [&](const char* name, const char* key) {
        const MetaValue* v = m.find(key);
        if (const MetaArray* a = v != nullptr ? v->as_array() : nullptr) t[name] = a->items.size();
    };
    put("model", "tokenizer.ggml.model");
    put("pre", "tokenizer.ggml.pre");
    count("vocab_size", "tokenizer.ggml.tokens");
    count("merges", "tokenizer.ggml.merges");
    put("bos_token_id", "tokenizer.ggml.bos_token_id");
    put("eos_token_id", "tokenizer.ggml.eos_token_id");
    put("eot_token_id", "tokenizer.ggml.eot_token_id");
    put("eom_token_id", "tokenizer.ggml.eom_token_id");
    put("unknown_token_id", "tokenizer.ggml.unknown_token_id");
    put("padding_token_id", "tokenizer.ggml.padding_token_id");
    put("separator_token_id", "tokenizer.ggml.separator_token_id");
    put("add_bos_token", "tokenizer.ggml.add_bos_token");
    t["chat_template"] = m.contains("tokenizer.chat_template");
    return t;
}

ModelReport inspect_gguf(const fs::path& path) {
    const GgufFile g = GgufFile::open(path);
    const Metadata& m = g.metadata();
    ModelReport r;
    r.path = path.string();
    r.format = "gguf";
    r.files = g.split_sources();
    const bool split = r.files.size() > 1;
    r.gguf = {{"version", g.version()},
              {"alignment", g.alignment()},
              {"data_offset", g.data_offset()},
              {"metadata_keys", m.size()}};
    r.architecture = std::string(g.architecture());
    if (const MetaValue* v = m.find("general.name"); v != nullptr && v->as_string() != nullptr) {
        r.name = *v->as_string();
    }
    if (!r.architecture.empty()) {
        for (const auto& [name, suffix] : kGgufHyperparameters) {
            if (const MetaValue* v = m.find(r.architecture + "." + suffix)) r.hyperparameters[name] = to_json(*v);
        }
    }
    r.tokenizer = gguf_tokenizer(m);
    for (const GgufTensor& t : g.tensors()) {
        r.tensors.push_back({t.name, std::string(t.type->name), t.type_id, t.ne, static_cast<uint64_t>(t.elements()),
                             t.bytes, t.file_offset, split ? fs::path(r.files[t.split]).filename().string() : "",
                             t.type->computable()});
    }
    add_totals(r);
    return r;
}

// tokenizer.json's model type and sizes (a summary; lowbit's tokenizer reads GGUF).
void add_tokenizer_json(const fs::path& file, json& t, std::vector<std::string>& files) {
    const auto mapped = MappedFile::open(file);
    const auto bytes = mapped->bytes();
    const json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        fail(file.string(), ": not a JSON object");
    }
    files.push_back(file.string());
    const auto model = j.find("model");
    if (model != j.end() && model->is_object()) {
        if (const auto type = model->find("type"); type != model->end() && type->is_string()) t["model"] = *type;
        if (const auto vocab = model->find("vocab");
            vocab != model->end() && (vocab->is_object() || vocab->is_array())) {
            t["vocab_size"] = vocab->size();
        }
        if (const auto merges = model->find("merges"); merges != model->end() && merges->is_array()) {
            t["merges"] = merges->size();
        }
    }
    if (const auto added = j.find("added_tokens"); added != j.end() && added->is_array()) {
        t["added_tokens"] = added->size();
    }
}

void add_hf_config(const fs::path& folder, ModelReport& r) {
    const fs::path config = folder / "config.json";
    std::error_code ec;
    if (!fs::exists(config, ec)) return;
    r.files.push_back(config.string());
    const std::string model_type = read_hf_model_type(config);
    if (!hf_model_type_supported(model_type)) {
        r.architecture = model_type;  // described, not interpreted
        return;
    }
    const HfConfig c = read_hf_config(config);
    r.architecture = c.architectures.empty() ? c.model_type : c.architectures.front();
    json& h = r.hyperparameters;
    h["context_length"] = c.max_position_embeddings;
    h["embedding_length"] = c.hidden_size;
    h["block_count"] = c.num_hidden_layers;
    h["feed_forward_length"] = c.intermediate_size;
    h["head_count"] = c.num_attention_heads;
    h["head_count_kv"] = c.num_key_value_heads;
    h["rms_norm_epsilon"] = c.rms_norm_eps;
    h["rope_freq_base"] = c.rope_theta;
    h["rope_dimension_count"] = c.head_dim;
    h["vocab_size"] = c.vocab_size;
    h["hidden_act"] = c.hidden_act;
    h["tie_word_embeddings"] = c.tie_word_embeddings;
    json t = json::object();
    if (fs::exists(folder / "tokenizer.json", ec)) add_tokenizer_json(folder / "tokenizer.json", t, r.files);
    if (c.bos_token_id) t["bos_token_id"] = *c.bos_token_id;
    if (c.eos_token_ids.size() == 1) t["eos_token_id"] = c.eos_token_ids.front();
    if (c.eos_token_ids.size() > 1) t["eos_token_id"] = c.eos_token_ids;
    if (!t.empty()) r.tokenizer = t;
}

ModelReport inspect_safetensors(const fs::path& path) {
    const SafeTensorsModel m = SafeTensorsModel::open(path);
    ModelReport r;
    r.path = path.string();
    r.format = "safetensors";
    for (const SafeTensorsFile& f : m.files()) r.files.push_back(f.source());
    json meta = json::object();
    for (const SafeTensorsFile& f : m.files()) {
        for (const auto& [k, v] : f.metadata()) {
            if (!meta.contains(k)) meta[k] = v;
        }
    }
    r.safetensors = {{"sharded", m.sharded()},
                     {"shards", m.files().size()},
                     {"index", m.sharded() ? json(m.source()) : json(nullptr)},
                     {"metadata", meta}};
    if (m.sharded()) {
        r.files.insert(r.files.begin(), m.source());
        json index_meta = json::object();
        for (const auto& [k, v] : m.index()->metadata) index_meta[k] = v;
        r.safetensors["index_metadata"] = index_meta;
    }
    std::error_code ec;
    if (fs::is_directory(path, ec) || m.sharded()) {
        add_hf_config(fs::is_directory(path, ec) ? path : fs::path(m.source()).parent_path(), r);
    }
    for (const SafeTensorsModel::Entry& e : m.tensors()) {
        const SafeTensor& t = *e.tensor;
        r.tensors.push_back({t.name, std::string(safe_dtype_name(t.dtype)), std::nullopt, t.shape,
                             static_cast<uint64_t>(t.elements()), t.bytes, t.file_offset,
                             m.sharded() ? fs::path(e.file->source()).filename().string() : "",
                             safe_dtype_weight_type(t.dtype) != nullptr});
    }
    add_totals(r);
    return r;
}

}  // namespace

ModelReport inspect_model(const fs::path& path) {
    return detect(path) == Kind::gguf ? inspect_gguf(path) : inspect_safetensors(path);
}

json model_metadata_value(const fs::path& path, const std::string& key, std::string* type_name) {
    if (detect(path) == Kind::gguf) {
        const GgufFile g = GgufFile::open(path);
        const MetaValue* v = g.metadata().find(key);
        if (v == nullptr) {
            fail(g.source(), ": metadata key '", key, "' not found");
        }
        if (type_name) *type_name = std::string(meta_type_name(v->type()));
        return to_json(*v);
    }
    const SafeTensorsModel m = SafeTensorsModel::open(path);
    if (type_name) *type_name = "string";
    for (const SafeTensorsFile& f : m.files()) {
        if (const auto it = f.metadata().find(key); it != f.metadata().end()) return it->second;
    }
    if (m.sharded()) {
        if (const auto it = m.index()->metadata.find(key); it != m.index()->metadata.end()) return it->second;
    }
    fail(m.source(), ": metadata key '", key, "' not found (in __metadata__", m.sharded() ? " or the index" : "", ")");
}

}  // namespace lowbit::cli

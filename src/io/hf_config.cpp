// Hugging Face config.json for llama and BitNet models.
#include "lowbit/hf_config.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "json_file.hpp"
#include "json_strict.hpp"
#include "lowbit/error.hpp"

namespace lowbit {
namespace {

using nlohmann::json;

constexpr int64_t kMaxDimension = 2147483647;  // sanity bound: every product of two fits in int64

class ConfigReader {
public:
    ConfigReader(const json& j, const std::string& source) : j_(j), source_(source) {}

    const json* find(const char* key) const {
        const auto it = j_.find(key);
        return it == j_.end() || it->is_null() ? nullptr : &*it;
    }

    int64_t count(const char* key, std::optional<int64_t> fallback = std::nullopt) const {
        const json* v = find(key);
        if (v == nullptr) {
            if (fallback) return *fallback;
            fail_as(ErrorCode::bad_file, source_, ": '", key, "' is missing");
        }
        if (!v->is_number_integer()) {
            fail_as(ErrorCode::bad_file, source_, ": '", key, "': expected an integer, found ", io::json_kind(*v));
        }
        if (!v->is_number_unsigned() || v->get<uint64_t>() < 1 ||
            v->get<uint64_t>() > static_cast<uint64_t>(kMaxDimension)) {
            fail_as(ErrorCode::bad_file, source_, ": '", key, "': ", v->dump(), " is not between 1 and ", kMaxDimension);
        }
        return v->get<int64_t>();
    }

    double positive(const char* key, double fallback) const {
        const json* v = find(key);
        if (v == nullptr) return fallback;
        if (!v->is_number()) {
            fail_as(ErrorCode::bad_file, source_, ": '", key, "': expected a number, found ", io::json_kind(*v));
        }
        const double x = v->get<double>();
        if (!std::isfinite(x) || x <= 0) {
            fail_as(ErrorCode::bad_file, source_, ": '", key, "': ", v->dump(), " is not a positive number");
        }
        return x;
    }

    bool flag(const char* key, bool fallback) const {
        const json* v = find(key);
        if (v == nullptr) return fallback;
        if (!v->is_boolean()) {
            fail_as(ErrorCode::bad_file, source_, ": '", key, "': expected true or false, found ", io::json_kind(*v));
        }
        return v->get<bool>();
    }

    std::string text(const char* key, std::string fallback) const {
        const json* v = find(key);
        if (v == nullptr) return fallback;
        if (!v->is_string()) {
            fail_as(ErrorCode::bad_file, source_, ": '", key, "': expected a string, found ", io::json_kind(*v));
        }
        return v->get<std::string>();
    }

    std::vector<std::string> texts(const char* key) const {
        std::vector<std::string> out;
        const json* v = find(key);
        if (v == nullptr) return out;
        if (!v->is_array()) {
            fail_as(ErrorCode::bad_file, source_, ": '", key, "': expected a list of strings, found ", io::json_kind(*v));
        }
        for (const json& s : *v) {
            if (!s.is_string()) fail_as(ErrorCode::bad_file, source_, ": '", key, "': expected a list of strings, holds a ", io::json_kind(s));
            out.push_back(s.get<std::string>());
        }
        return out;
    }

    // A token id, or a list of them (eos_token_id in Llama 3 configs).
    std::vector<int64_t> token_ids(const char* key) const {
        std::vector<int64_t> out;
        const json* v = find(key);
        if (v == nullptr) return out;
        const auto one = [&](const json& id) {
            if (!id.is_number_unsigned() || id.get<uint64_t>() > static_cast<uint64_t>(kMaxDimension)) {
                fail_as(ErrorCode::bad_file, source_, ": '", key, "': expected token ids (integers from 0 to ", kMaxDimension, "), found ",
                     id.dump());
            }
            out.push_back(id.get<int64_t>());
        };
        if (v->is_array()) {
            for (const json& id : *v) one(id);
        } else {
            one(*v);
        }
        return out;
    }

private:
    const json& j_;
    const std::string& source_;
};

json parse_object(std::string_view text, const std::string& source) {
    json j = io::parse_json_strict(text, source, "config");
    if (!j.is_object()) {
        fail_as(ErrorCode::bad_file, source, ": config: expected a JSON object, found ", io::json_kind(j));
    }
    return j;
}

}  // namespace

bool hf_model_type_supported(std::string_view model_type) { return model_type == "llama" || model_type == "bitnet"; }

HfConfig parse_hf_config(std::string_view json_text, const std::string& source) {
    const json j = parse_object(json_text, source);
    const ConfigReader r(j, source);
    HfConfig c;
    c.source = source;
    c.model_type = r.text("model_type", "");
    if (c.model_type.empty()) {
        fail_as(ErrorCode::bad_file, source, ": 'model_type' is missing");
    }
    if (!hf_model_type_supported(c.model_type)) {
        fail_as(ErrorCode::bad_file, source, ": 'model_type': '", c.model_type, "' is not a family lowbit runs (llama, bitnet)");
    }
    const bool bitnet = c.model_type == "bitnet";
    c.architectures = r.texts("architectures");
    c.hidden_size = r.count("hidden_size");
    c.intermediate_size = r.count("intermediate_size");
    c.num_hidden_layers = r.count("num_hidden_layers");
    c.num_attention_heads = r.count("num_attention_heads");
    c.vocab_size = r.count("vocab_size");
    c.num_key_value_heads = r.count("num_key_value_heads", c.num_attention_heads);
    if (c.num_attention_heads % c.num_key_value_heads != 0) {
        fail_as(ErrorCode::bad_file, source, ": 'num_key_value_heads': ", c.num_key_value_heads, " does not divide num_attention_heads ",
             c.num_attention_heads);
    }
    if (r.find("head_dim") == nullptr && c.hidden_size % c.num_attention_heads != 0) {
        fail_as(ErrorCode::bad_file, source, ": 'num_attention_heads': ", c.num_attention_heads, " does not divide hidden_size ", c.hidden_size,
             " (and there is no 'head_dim')");
    }
    c.head_dim = r.count("head_dim", c.hidden_size / c.num_attention_heads);
    c.max_position_embeddings = r.count("max_position_embeddings", 2048);
    c.rms_norm_eps = r.positive("rms_norm_eps", bitnet ? 1e-5 : 1e-6);
    c.rope_theta = r.positive("rope_theta", bitnet ? 500000.0 : 10000.0);
    c.tie_word_embeddings = r.flag("tie_word_embeddings", false);
    c.hidden_act = r.text("hidden_act", bitnet ? "relu2" : "silu");
    c.torch_dtype = r.text("torch_dtype", "");
    const std::vector<int64_t> bos = r.token_ids("bos_token_id");
    if (bos.size() > 1) {
        fail_as(ErrorCode::bad_file, source, ": 'bos_token_id': expected one token id, found ", bos.size());
    }
    if (!bos.empty()) c.bos_token_id = bos.front();
    c.eos_token_ids = r.token_ids("eos_token_id");
    return c;
}

HfConfig read_hf_config(const std::filesystem::path& path) {
    return parse_hf_config(io::read_json_file(path), path.string());
}

std::string read_hf_model_type(const std::filesystem::path& path) {
    const std::string source = path.string();
    const json j = parse_object(io::read_json_file(path), source);
    const auto it = j.find("model_type");
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace lowbit

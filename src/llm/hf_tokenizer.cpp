// Hugging Face tokenizer.json (byte-level BPE) -> GGUF's tokenizer.ggml.* keys.
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lowbit/convert.hpp"
#include "lowbit/error.hpp"

namespace lowbit::llm {
namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail_as(ErrorCode::bad_file, path.string(), ": cannot open");
    std::ostringstream s;
    s << in.rdbuf();
    try {
        return nlohmann::json::parse(s.str());
    } catch (const std::exception& e) {
        fail_as(ErrorCode::bad_file, path.string(), ": not valid JSON: ", e.what());
    }
}

// A special token in tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> token_text(const nlohmann::json& cfg, const char* key) {
    if (!cfg.contains(key) || cfg[key].is_null()) return std::nullopt;
    const nlohmann::json& v = cfg[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return std::nullopt;
}

constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4;

}  // namespace

void read_hf_tokenizer(const std::filesystem::path& folder, Metadata& md) {
    const std::filesystem::path file = folder / "tokenizer.json";
    const nlohmann::json tj = read_json(file);
    const std::string where = file.string();
    if (!tj.contains("model") || !tj["model"].is_object()) fail_as(ErrorCode::bad_file, where, ": no \"model\" object");
    const nlohmann::json& model = tj["model"];
    if (model.value("type", "") != "BPE") fail_as(ErrorCode::bad_file, where, ": model.type is not \"BPE\" (lowbit reads byte-level BPE)");
    if (!model.contains("vocab") || !model["vocab"].is_object()) fail_as(ErrorCode::bad_file, where, ": model.vocab is missing");

    std::map<int64_t, std::pair<std::string, int32_t>> by_id;  // id -> (text, type)
    for (const auto& [text, id] : model["vocab"].items()) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0) fail_as(ErrorCode::bad_file, where, ": model.vocab[\"", text, "\"] is not an id");
        by_id[id.get<int64_t>()] = {text, kNormal};
    }
    if (tj.contains("added_tokens") && tj["added_tokens"].is_array()) {
        for (const nlohmann::json& t : tj["added_tokens"]) {
            if (!t.contains("id") || !t.contains("content")) fail_as(ErrorCode::bad_file, where, ": an added_tokens entry lacks id or content");
            by_id[t["id"].get<int64_t>()] = {t["content"].get<std::string>(), t.value("special", false) ? kControl : kUserDefined};
        }
    }
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    for (const auto& [id, entry] : by_id) {
        if (id != static_cast<int64_t>(tokens.size())) fail_as(ErrorCode::bad_file, where, ": token ids are not contiguous (no token ", tokens.size(), ")");
        tokens.push_back(entry.first);
        types.push_back(entry.second);
    }
    std::vector<std::string> merges;
    if (model.contains("merges") && model["merges"].is_array()) {
        for (const nlohmann::json& m : model["merges"]) {
            if (m.is_string()) {
                merges.push_back(m.get<std::string>());
            } else if (m.is_array() && m.size() == 2) {
                merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
            } else {
                fail_as(ErrorCode::bad_file, where, ": model.merges entry ", merges.size(), " is neither \"a b\" nor [a, b]");
            }
        }
    }
    auto find = [&](const std::string& text) -> std::optional<int64_t> {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (tokens[i] == text) return static_cast<int64_t>(i);
        }
        return std::nullopt;
    };

    md.set("tokenizer.ggml.model", MetaValue("gpt2"));
    md.set("tokenizer.ggml.pre", MetaValue("llama-bpe"));
    md.set("tokenizer.ggml.tokens", MetaValue::strings(tokens));
    md.set("tokenizer.ggml.token_type", MetaValue::array_of(types));
    md.set("tokenizer.ggml.merges", MetaValue::strings(merges));

    nlohmann::json cfg = nlohmann::json::object();
    if (std::filesystem::exists(folder / "tokenizer_config.json")) cfg = read_json(folder / "tokenizer_config.json");
    const std::optional<std::string> bos = token_text(cfg, "bos_token");
    const std::optional<std::string> eos = token_text(cfg, "eos_token");
    const auto bos_id = bos ? find(*bos) : find("<|begin_of_text|>");
    const auto eos_id = eos ? find(*eos) : find("<|end_of_text|>");
    if (!bos_id) fail_as(ErrorCode::bad_file, where, ": no BOS token (tokenizer_config.json bos_token, or <|begin_of_text|>)");
    if (!eos_id) fail_as(ErrorCode::bad_file, where, ": no EOS token (tokenizer_config.json eos_token, or <|end_of_text|>)");
    md.set("tokenizer.ggml.bos_token_id", MetaValue(static_cast<uint32_t>(*bos_id)));
    md.set("tokenizer.ggml.eos_token_id", MetaValue(static_cast<uint32_t>(*eos_id)));
    if (const auto eot = find("<|eot_id|>")) md.set("tokenizer.ggml.eot_token_id", MetaValue(static_cast<uint32_t>(*eot)));
    md.set("tokenizer.ggml.add_bos_token", MetaValue(cfg.value("add_bos_token", true)));
    if (cfg.contains("chat_template") && cfg["chat_template"].is_string()) {
        md.set("tokenizer.chat_template", MetaValue(cfg["chat_template"].get<std::string>()));
    }
}

}  // namespace lowbit::llm

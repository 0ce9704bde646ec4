#include "openai_api.hpp"

#include <chrono>
#include <random>

#include "../io/utf8.hpp"
#include "lowbit/chat.hpp"
#include "lowbit/error.hpp"
#include "lowbit/stream_decoder.hpp"

namespace lowbit::server {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& param, const std::string& message, const std::string& code = {}) {
    throw ApiError(400, "invalid_request_error", message, param, code);
}

// Every string of the request (keys too) must be UTF-8: the parser takes any bytes.
void check_utf8(const json& j, const std::string& where) {
    if (j.is_string()) {
        if (const auto at = io::find_invalid_utf8(j.get_ref<const std::string&>())) {
            bad(where, "'" + where + "' is not valid UTF-8 (byte " + std::to_string(*at) + ")");
        }
    } else if (j.is_array()) {
        for (std::size_t i = 0; i < j.size(); ++i) check_utf8(j[i], where + "[" + std::to_string(i) + "]");
    } else if (j.is_object()) {
        for (const auto& [key, value] : j.items()) {
            if (io::find_invalid_utf8(key)) bad(where, "a field name is not valid UTF-8");
            check_utf8(value, where.empty() ? key : where + "." + key);
        }
    }
}

json parse_object(const std::string& body) {
    json j;
    try {
        j = json::parse(body);
    } catch (const json::parse_error& e) {
        bad("", std::string("the request body is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) bad("", "the request body must be a JSON object");
    check_utf8(j, "");
    return j;
}

// Text produced here is UTF-8 already; replacing what is not can only help a client.
std::string dumps(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

const json* field(const json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::optional<double> number(const json& j, const char* key) {
    const json* v = field(j, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) bad(key, std::string("'") + key + "' must be a number");
    return v->get<double>();
}

std::optional<int64_t> integer(const json& j, const char* key) {
    const json* v = field(j, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) bad(key, std::string("'") + key + "' must be an integer");
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        bad(key, std::string("'") + key + "' is too large");
    }
    return v->get<int64_t>();
}

std::optional<bool> boolean(const json& j, const char* key) {
    const json* v = field(j, key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) bad(key, std::string("'") + key + "' must be true or false");
    return v->get<bool>();
}

std::vector<int32_t> completion_prompt(const json& j, const Tokenizer& tokenizer) {
    const json* p = field(j, "prompt");
    if (p == nullptr) bad("prompt", "'prompt' is required");
    if (p->is_string()) return tokenizer.encode(p->get<std::string>(), tokenizer.add_bos(), /*parse_special=*/true);
    if (p->is_array() && !p->empty() && (*p)[0].is_number_integer()) {
        std::vector<int32_t> ids;
        for (const json& v : *p) {
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= tokenizer.vocab_size()) {
                bad("prompt",
                    "'prompt' token ids must be integers in [0, " + std::to_string(tokenizer.vocab_size()) + ")");
            }
            ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
        }
        return ids;
    }
    if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
        return tokenizer.encode((*p)[0].get<std::string>(), tokenizer.add_bos(), true);
    }
    if (p->is_array() && p->size() > 1)
        bad("prompt", "one prompt per request: a list of several prompts is not supported");
    bad("prompt", "'prompt' must be a string, a list of one string, or a list of token ids");
}

std::string message_content(const json& m, std::size_t i) {
    const json* c = field(m, "content");
    if (c == nullptr) return {};
    if (c->is_string()) return c->get<std::string>();
    if (c->is_array()) {  // content parts: [{"type": "text", "text": "..."}]
        std::string text;
        for (const json& part : *c) {
            if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
                !part["text"].is_string()) {
                bad("messages[" + std::to_string(i) + "].content", "only text content parts are supported");
            }
            text += part["text"].get<std::string>();
        }
        return text;
    }
    bad("messages[" + std::to_string(i) + "].content", "'content' must be a string or a list of text parts");
}

std::vector<int32_t> chat_prompt(const json& j, const Tokenizer& tokenizer) {
    const json* ms = field(j, "messages");
    if (ms == nullptr) bad("messages", "'messages' is required");
    if (!ms->is_array()) bad("messages", "'messages' must be a list");
    if (ms->empty()) bad("messages", "'messages' must not be empty");
    std::vector<ChatMessage> messages;
    for (std::size_t i = 0; i < ms->size(); ++i) {
        const json& m = (*ms)[i];
        const std::string where = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) bad(where, where + " must be an object");
        const json* role = field(m, "role");
        if (role == nullptr || !role->is_string()) bad(where + ".role", where + ".role must be a string");
        std::string r = role->get<std::string>();
        if (r == "developer") r = "system";  // OpenAI's newer name for it
        if (r != "system" && r != "user" && r != "assistant") {
            bad(where + ".role", "unknown role '" + role->get<std::string>() + "' (system, user, assistant)");
        }
        messages.push_back({r, message_content(m, i)});
    }
    return encode_llama3_chat(tokenizer, messages, /*add_generation_prompt=*/true);
}

std::string random_hex(std::size_t n) {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += kHex[rng() % 16];
    return s;
}

}  // namespace

std::string error_body(int status, const std::string& type, const std::string& message, const std::string& param,
                       const std::string& code) {
    json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
    if (!param.empty()) e["param"] = param;
    if (!code.empty()) {
        e["code"] = code;
    } else {
        e["code"] = status;
    }
    return dumps(json{{"error", e}});
}

std::string error_body(const ApiError& e) { return error_body(e.status, e.type, e.what(), e.param, e.code); }

GenerationRequest parse_generation(const std::string& body, Endpoint endpoint, const Tokenizer& tokenizer,
                                   int64_t context) {
    const json j = parse_object(body);
    GenerationRequest r;
    r.endpoint = endpoint;
    // the settings first (a cheap 400 before tokenizing)
    llm::SamplingParams& s = r.options.sampling;
    if (const auto v = number(j, "temperature")) s.temperature = static_cast<float>(*v);
    if (const auto v = number(j, "top_p")) s.top_p = static_cast<float>(*v);
    if (const auto v = integer(j, "top_k")) {
        if (*v < 0 || *v > INT32_MAX) bad("top_k", "'top_k' must be >= 0");
        s.top_k = static_cast<int>(*v);
    }
    if (const auto v = number(j, "min_p")) s.min_p = static_cast<float>(*v);
    if (const auto v = number(j, "repeat_penalty")) s.repeat_penalty = static_cast<float>(*v);
    if (const auto v = number(j, "frequency_penalty")) s.frequency_penalty = static_cast<float>(*v);
    if (const auto v = number(j, "presence_penalty")) s.presence_penalty = static_cast<float>(*v);
    if (const auto v = integer(j, "seed"); v && *v != -1) {
        if (*v < 0) bad("seed", "'seed' must be >= 0 (or -1 for a random one)");
        s.seed = static_cast<uint64_t>(*v);
    } else {
        s.seed = std::random_device{}();
    }
    try {
        llm::validate(s);
    } catch (const Error& e) {
        bad(e.field(), e.what());
    }
    if (const auto v = integer(j, "n"); v && *v != 1) bad("n", "only n = 1 is supported");
    if (const auto v = boolean(j, "logprobs"); v && *v) bad("logprobs", "logprobs are not supported");
    if (endpoint == Endpoint::completions) {
        if (const auto v = boolean(j, "echo"); v && *v) bad("echo", "echo is not supported");
    }
    if (const json* stop = field(j, "stop")) {
        if (stop->is_string()) {
            r.options.stop.push_back(stop->get<std::string>());
        } else if (stop->is_array()) {
            for (const json& s : *stop) {
                if (!s.is_string()) bad("stop", "'stop' must be a string or a list of strings");
                r.options.stop.push_back(s.get<std::string>());
            }
            if (r.options.stop.size() > 16) bad("stop", "at most 16 stop strings");
        } else {
            bad("stop", "'stop' must be a string or a list of strings");
        }
    }
    r.options.ignore_eos = boolean(j, "ignore_eos").value_or(false);
    r.stream = boolean(j, "stream").value_or(false);
    if (const json* so = field(j, "stream_options")) {
        if (!so->is_object()) bad("stream_options", "'stream_options' must be an object");
        r.include_usage = boolean(*so, "include_usage").value_or(false);
    }
    std::optional<int64_t> max_tokens = integer(j, "max_completion_tokens");
    const char* max_name = "max_completion_tokens";
    if (!max_tokens) {
        max_tokens = integer(j, "max_tokens");
        max_name = "max_tokens";
    }
    if (max_tokens && *max_tokens < 0) bad(max_name, std::string("'") + max_name + "' must be >= 0");

    r.prompt = endpoint == Endpoint::chat ? chat_prompt(j, tokenizer) : completion_prompt(j, tokenizer);
    const char* prompt_name = endpoint == Endpoint::chat ? "messages" : "prompt";
    const auto n = static_cast<int64_t>(r.prompt.size());
    if (n == 0) bad(prompt_name, "the prompt has no tokens");
    if (n > context) {
        bad(prompt_name,
            "the prompt has " + std::to_string(n) + " tokens, more than the context of " + std::to_string(context),
            "context_length_exceeded");
    }
    if (max_tokens && n + *max_tokens > context + 1) {
        // the last generated token need not be evaluated: prompt + max_tokens - 1 positions
        bad(max_name,
            "the context holds " + std::to_string(context) + " tokens, but the request asks for " +
                std::to_string(n + *max_tokens) + " (" + std::to_string(n) + " in the prompt, " +
                std::to_string(*max_tokens) + " to generate)",
            "context_length_exceeded");
    }
    r.options.n_predict = max_tokens ? static_cast<int>(*max_tokens) : -1;
    return r;
}

ResponseIds new_response_ids(Endpoint endpoint, const std::string& model) {
    ResponseIds ids;
    ids.id = (endpoint == Endpoint::chat ? "chatcmpl-" : "cmpl-") + random_hex(24);
    ids.created =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    ids.model = model;
    return ids;
}

std::string finish_reason(llm::StopReason reason) {
    switch (reason) {
        case llm::StopReason::budget:
        case llm::StopReason::context_full:
            return "length";
        default:
            return "stop";
    }
}

json usage_json(const JobUsage& u) {
    return {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

namespace {

json envelope(Endpoint endpoint, const ResponseIds& ids, bool chunk) {
    const char* object =
        endpoint == Endpoint::chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
    return {{"id", ids.id}, {"object", object}, {"created", ids.created}, {"model", ids.model}};
}

}  // namespace

std::string response_body(Endpoint endpoint, const ResponseIds& ids, const std::string& text, llm::StopReason reason,
                          const JobUsage& usage) {
    json j = envelope(endpoint, ids, false);
    json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_reason(reason)}};
    if (endpoint == Endpoint::chat) {
        choice["message"] = {{"role", "assistant"}, {"content", text}};
    } else {
        choice["text"] = text;
    }
    j["choices"] = json::array({choice});
    j["usage"] = usage_json(usage);
    return dumps(j);
}

std::string chunk_body(Endpoint endpoint, const ResponseIds& ids, const std::string& text, bool first,
                       std::optional<llm::StopReason> reason) {
    json j = envelope(endpoint, ids, true);
    json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    if (reason) choice["finish_reason"] = finish_reason(*reason);
    if (endpoint == Endpoint::chat) {
        json delta = json::object();
        if (first) delta["role"] = "assistant";
        if (!text.empty() || (first && !reason)) delta["content"] = text;
        choice["delta"] = delta;
    } else {
        choice["text"] = text;
    }
    j["choices"] = json::array({choice});
    return dumps(j);
}

std::string usage_chunk_body(Endpoint endpoint, const ResponseIds& ids, const JobUsage& usage) {
    json j = envelope(endpoint, ids, true);
    j["choices"] = json::array();
    j["usage"] = usage_json(usage);
    return dumps(j);
}

std::string tokenize_body(const std::string& body, const Tokenizer& tokenizer) {
    const json j = parse_object(body);
    const json* content = field(j, "content");
    if (content == nullptr || !content->is_string()) bad("content", "'content' must be a string");
    const bool add_special = boolean(j, "add_special").value_or(false);
    const bool with_pieces = boolean(j, "with_pieces").value_or(false);
    const std::vector<int32_t> ids = tokenizer.encode(content->get<std::string>(), add_special && tokenizer.add_bos(),
                                                      /*parse_special=*/true);
    json tokens = json::array();
    for (int32_t id : ids) {
        if (!with_pieces) {
            tokens.push_back(id);
            continue;
        }
        const std::string& piece = tokenizer.piece(id);
        const std::string repaired = repair_utf8(piece);
        if (repaired == piece) {
            tokens.push_back({{"id", id}, {"piece", piece}});
        } else {  // part of a character: its bytes, as llama-server gives them
            json bytes = json::array();
            for (unsigned char c : piece) bytes.push_back(static_cast<int>(c));
            tokens.push_back({{"id", id}, {"piece", bytes}});
        }
    }
    return dumps(json{{"tokens", tokens}});
}

std::string detokenize_body(const std::string& body, const Tokenizer& tokenizer) {
    const json j = parse_object(body);
    const json* tokens = field(j, "tokens");
    if (tokens == nullptr || !tokens->is_array()) bad("tokens", "'tokens' must be a list of token ids");
    std::vector<int32_t> ids;
    for (const json& v : *tokens) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= tokenizer.vocab_size()) {
            bad("tokens", "token ids must be integers in [0, " + std::to_string(tokenizer.vocab_size()) + ")");
        }
        ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    return dumps(json{{"content", repair_utf8(tokenizer.decode(ids))}});
}

}  // namespace lowbit::server

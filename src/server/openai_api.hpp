// The OpenAI-style request and response shapes (completions, chat completions, their
// server-sent-event chunks, errors), and llama-server's tokenize/detokenize: JSON in, checked
// field by field (a bad field is an ApiError naming it), JSON out. No HTTP here.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "job.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::server {

// An error answered as {"error": {"message", "type", "param", "code"}}.
struct ApiError : std::runtime_error {
    ApiError(int status, std::string type, std::string message, std::string param = {}, std::string code = {})
        : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)), code(std::move(code)) {}
    int status;
    std::string type;
    std::string param;
    std::string code;
};

std::string error_body(int status, const std::string& type, const std::string& message, const std::string& param = {},
                       const std::string& code = {});
std::string error_body(const ApiError& e);

enum class Endpoint { completions, chat };

struct GenerationRequest {
    Endpoint endpoint = Endpoint::completions;
    std::vector<int32_t> prompt;
    llm::GenerateOptions options;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
};

// Parses and checks a POST body. `context` bounds the prompt plus max_tokens. The prompt is
// tokenized as `lowbit run` does (a completion: BOS as the model asks, special-token text
// parsed; a chat: the model's chat format), so that the same settings give the same text.
GenerationRequest parse_generation(const std::string& body, Endpoint endpoint, const Tokenizer& tokenizer,
                                   int64_t context);

// Response bodies and stream chunks.
struct ResponseIds {
    std::string id;  // "cmpl-..." / "chatcmpl-..."
    int64_t created = 0;
    std::string model;
};
ResponseIds new_response_ids(Endpoint endpoint, const std::string& model);
std::string finish_reason(llm::StopReason reason);  // "stop" or "length"
nlohmann::json usage_json(const JobUsage& usage);
std::string response_body(Endpoint endpoint, const ResponseIds& ids, const std::string& text, llm::StopReason reason,
                          const JobUsage& usage);
// One chunk; `text` as a delta (chat: the first chunk also says the role); `reason` set on the
// last one.
std::string chunk_body(Endpoint endpoint, const ResponseIds& ids, const std::string& text, bool first,
                       std::optional<llm::StopReason> reason);
std::string usage_chunk_body(Endpoint endpoint, const ResponseIds& ids, const JobUsage& usage);

// llama-server's POST /tokenize {"content", "add_special", "with_pieces"} and POST
// /detokenize {"tokens"}.
std::string tokenize_body(const std::string& body, const Tokenizer& tokenizer);
std::string detokenize_body(const std::string& body, const Tokenizer& tokenizer);

}  // namespace lowbit::server

// `lowbit serve`: an OpenAI-compatible HTTP server (cpp-httplib) over the scheduler. It listens
// at once and loads the model in the background (GET /health answers 503 until it is ready).
//
// Routes: POST /v1/completions, POST /v1/chat/completions (streamed as server-sent events with
// "stream": true), GET /v1/models, POST /tokenize, POST /detokenize, GET /health, GET /props,
// GET /metrics (Prometheus), GET / (the chat page). With an API key every route but / and
// /health wants "Authorization: Bearer KEY". Errors are OpenAI's JSON error objects. Docs:
// docs/SERVER.md.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "lowbit/weight_type.hpp"

namespace lowbit::server {

struct ServerOptions {
    std::string model_path;
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (port() says which)
    int threads = 0;  // model threads (0: every CPU this process may use)
    int parallel = 4;  // slots
    int64_t context = 0;  // positions per slot (0: the model's training context)
    int queue = 64;
    std::string api_key;
    std::size_t max_body = 1 << 20;
    double timeout_seconds = 600;  // a request may take this long before it ends with an error
    std::optional<TypeId> head_type;
    bool chat_page = true;
    int shutdown_grace_seconds = 10;  // in-flight requests get this long on stop() before they are cancelled
    std::function<void(const std::string&)> log;  // one line per request (default: stderr)
};

class Server {
public:
    explicit Server(ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds the listening socket (throws lowbit::Error naming host and port when it cannot).
    void bind();
    int port() const;
    // Loads the model in the background and serves until stop(); returns then.
    void run();
    // From any thread: stop accepting, give in-flight requests the grace period, then end run().
    void stop();
    bool ready() const;
    // An error of the background load, once it failed ("" otherwise).
    std::string load_error() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace lowbit::server

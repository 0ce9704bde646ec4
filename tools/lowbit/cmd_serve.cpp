// `lowbit serve`: the OpenAI-compatible server (src/server/, docs/SERVER.md).
#include <fmt/core.h>
#include <signal.h>

#include <fstream>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "lowbit/error.hpp"
#include "server/server.hpp"

namespace lowbit::cli {
namespace {

struct ServeOptions {
    server::ServerOptions server;
    std::string api_key_file;
    std::string head_type;
};

std::string read_key(const std::string& path) {
    std::ifstream in(path);
    if (!in) fail_as(ErrorCode::io, path, ": cannot open the API key file");
    std::string key;
    std::getline(in, key);
    while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) key.pop_back();
    if (key.empty()) fail_field("api_key", path, ": the API key file's first line is empty");
    return key;
}

void serve(ServeOptions& o) {
    if (!o.api_key_file.empty()) o.server.api_key = read_key(o.api_key_file);
    if (!o.head_type.empty()) o.server.head_type = weight_type(o.head_type).id;
    // SIGINT and SIGTERM go to one thread that stops the server (no work in a signal handler);
    // a client that goes away mid-write must not kill the process
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    server::Server srv(o.server);
    srv.bind();
    fmt::print(stderr, "lowbit serve: listening on http://{}:{} (loading {})\n", o.server.host, srv.port(),
               o.server.model_path);
    std::thread watcher([&srv, stop_signals] {
        int signal_number = 0;
        sigwait(&stop_signals, &signal_number);
        if (signal_number == SIGINT || signal_number == SIGTERM) {
            fmt::print(stderr, "lowbit serve: {} received, finishing the requests in flight\n",
                       signal_number == SIGINT ? "SIGINT" : "SIGTERM");
            srv.stop();
        }
    });
    try {
        srv.run();
    } catch (...) {
        pthread_kill(watcher.native_handle(), SIGTERM);  // wake the watcher
        watcher.join();
        throw;
    }
    // run() returned: stopped by a signal (the watcher is done) or by an error; wake it if not
    pthread_kill(watcher.native_handle(), SIGTERM);
    watcher.join();
    fmt::print(stderr, "lowbit serve: stopped\n");
}

}  // namespace

void add_serve_command(CLI::App& app) {
    auto o = std::make_shared<ServeOptions>();
    auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server with batched slots, a chat page and metrics");
    server::ServerOptions& s = o->server;
    cmd->add_option("-m,--model", s.model_path, "Model file (GGUF)")->required()->check(CLI::ExistingFile);
    cmd->add_option("--host", s.host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
    cmd->add_option("--port", s.port, "Port (0: any free one)")->capture_default_str()->check(CLI::Range(0, 65535));
    cmd->add_option("-t,--threads", s.threads, "Threads for the model (default: all CPUs this process may use)")
        ->check(CLI::Range(0, 1024));
    cmd->add_option("--parallel", s.parallel, "Slots: requests generated at once, batched in one step")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    cmd->add_option("-c,--ctx", s.context, "Context per slot in tokens (default: the model's training context)")
        ->check(CLI::Range(int64_t{16}, int64_t{1} << 20));
    cmd->add_option("--queue", s.queue, "Requests waiting for a slot at most (more get 429)")
        ->capture_default_str()
        ->check(CLI::Range(0, 100000));
    auto* key = cmd->add_option("--api-key", s.api_key, "Require 'Authorization: Bearer KEY' (except / and /health)");
    cmd->add_option("--api-key-file", o->api_key_file, "Read the API key from the first line of FILE")->excludes(key);
    cmd->add_option("--max-body", s.max_body, "Largest request body in bytes (larger: 413)")->capture_default_str();
    cmd->add_option("--timeout", s.timeout_seconds, "Seconds a request may take before it ends with an error")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 86400.0));
    cmd->add_option("--head-type", o->head_type, "Re-quantize the output head at load time: q8_0, q6_k or q4_0")
        ->check(CLI::IsMember({"q8_0", "q6_k", "q4_0"}, CLI::ignore_case));
    cmd->add_flag("!--no-chat-page", s.chat_page, "Do not serve the chat page at /");
    cmd->add_option("--shutdown-grace", s.shutdown_grace_seconds,
                    "Seconds requests in flight may take to finish after SIGINT/SIGTERM")
        ->capture_default_str()
        ->check(CLI::Range(0, 3600));
    cmd->callback([o] { serve(*o); });
}

}  // namespace lowbit::cli

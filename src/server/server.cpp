#include "server.hpp"

#include <fmt/core.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "chat_page.hpp"  // kChatPage, generated from chat_page.html
#include "connection_watch.hpp"
#include "lowbit/error.hpp"
#include "lowbit/model.hpp"
#include "lowbit/receipt.hpp"
#include "lowbit/thread_pool.hpp"
#include "openai_api.hpp"
#include "scheduler.hpp"

namespace lowbit::server {
namespace {

using nlohmann::json;

// What the request log line of the current connection thread reports.
struct RequestLog {
    Clock::time_point start{};
    int64_t prompt_tokens = -1;
    int64_t completion_tokens = -1;
};
thread_local RequestLog current;

// Equal strings take the same time to compare whatever their contents (the API key).
bool same_secret(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

void send_error(httplib::Response& res, int status, const std::string& type, const std::string& message,
                const std::string& param = {}, const std::string& code = {}) {
    res.status = status;
    res.set_content(error_body(status, type, message, param, code), "application/json");
}

constexpr auto kPoll = std::chrono::milliseconds(50);

}  // namespace

struct Server::State {
    ServerOptions options;
    httplib::Server http;
    std::atomic<bool> ready{false};
    std::atomic<bool> stopping{false};
    // run() starts listening unless a stop came first; a stop after that waits for the listen loop
    std::mutex listen_mutex;
    bool listen_started = false;
    std::atomic<bool> listen_done{false};
    mutable std::mutex mutex;
    std::string load_error;
    std::thread loader;
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<llm::Model> model;
    std::unique_ptr<Scheduler> scheduler;
    Metrics metrics;
    std::string model_id;
    int64_t created = 0;
    int port = -1;

    void log(const std::string& line) const {
        if (options.log) {
            options.log(line);
        } else {
            fmt::print(stderr, "{}\n", line);
        }
    }

    void load();
    void stop_listening();
    void routes();
    void generation(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
    bool ready_or_503(httplib::Response& res) const {
        if (ready.load() && !stopping.load()) return true;
        send_error(res, 503, "unavailable_error",
                   stopping.load() ? "the server is shutting down" : "the model is loading");
        res.set_header("Retry-After", "1");
        return false;
    }
};

Server::Server(ServerOptions options) : state_(std::make_unique<State>()) {
    state_->options = std::move(options);
    if (state_->options.parallel < 1 || state_->options.parallel > 256) {
        fail_field("parallel", "slot count ", state_->options.parallel, " is out of range (1 .. 256)");
    }
    state_->routes();
}

Server::~Server() {
    stop();
    if (state_->loader.joinable()) state_->loader.join();
}

void Server::bind() {
    State& s = *state_;
    const int port = s.options.port == 0 ? s.http.bind_to_any_port(s.options.host)
                                         : (s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
    if (port < 0) {
        fail_as(ErrorCode::io, "cannot listen on ", s.options.host, ":", s.options.port,
                " (in use, or not an address here)");
    }
    s.port = port;
}

int Server::port() const { return state_->port; }
bool Server::ready() const { return state_->ready.load(); }

std::string Server::load_error() const {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->load_error;
}

void Server::run() {
    State& s = *state_;
    if (s.port < 0) bind();
    s.loader = std::thread([&s] { s.load(); });
    bool listen = false;
    {
        const std::lock_guard<std::mutex> lock(s.listen_mutex);
        listen = s.listen_started = !s.stopping.load();
    }
    if (listen) s.http.listen_after_bind();
    s.listen_done = true;
    if (s.loader.joinable()) s.loader.join();
    const std::string error = load_error();
    if (!error.empty()) throw Error(error, ErrorCode::bad_file);
}

void Server::stop() {
    State& s = *state_;
    {
        const std::lock_guard<std::mutex> lock(s.listen_mutex);
        if (s.stopping.exchange(true)) return;
    }
    // in-flight requests finish (or are cancelled after the grace period); queued ones get 503
    if (s.scheduler) s.scheduler->stop(std::chrono::seconds(s.options.shutdown_grace_seconds));
    s.stop_listening();
}

// httplib's stop() does nothing before its listen loop runs: a stop that comes first (a model
// that fails at once, an early signal) waits until the loop runs or run() has given up on it.
void Server::State::stop_listening() {
    {
        const std::lock_guard<std::mutex> lock(listen_mutex);
        stopping = true;
        if (!listen_started) return;  // run() has not listened yet and will see `stopping`
    }
    while (!listen_done.load()) {
        if (http.is_running()) {
            http.stop();
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

void Server::State::load() {
    try {
        pool = std::make_unique<ThreadPool>(options.threads > 0 ? options.threads : default_thread_count());
        llm::LoadOptions lo;
        lo.head_type = options.head_type;
        lo.pool = pool.get();
        model = llm::Model::load(options.model_path, lo);
        SchedulerOptions so;
        so.slots = options.parallel;
        so.context = options.context;
        so.queue = options.queue;
        scheduler = std::make_unique<Scheduler>(*model, *pool, so, metrics);
        model_id = std::filesystem::path(options.model_path).stem().string();
        created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                      .count();
        if (stopping.load()) {
            scheduler->stop(std::chrono::seconds(0));
            return;
        }
        ready = true;
        log(fmt::format("lowbit serve: {} ready on http://{}:{} ({} slot{} of {} tokens, {} thread{}, {})", model_id,
                        options.host, port, options.parallel, options.parallel == 1 ? "" : "s", scheduler->context(),
                        pool->size(), pool->size() == 1 ? "" : "s", isa_name(model->kernels().isa())));
    } catch (const std::exception& e) {
        {
            const std::lock_guard<std::mutex> lock(mutex);
            load_error = e.what();
        }
        stop_listening();
    }
}

void Server::State::generation(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
    if (!ready_or_503(res)) return;
    GenerationRequest g;
    try {
        g = parse_generation(req.body, endpoint, model->tokenizer(), scheduler->context());
    } catch (const ApiError& e) {
        res.status = e.status;
        res.set_content(error_body(e), "application/json");
        return;
    } catch (const Error& e) {
        return send_error(res, 400, "invalid_request_error", e.what());
    }
    const auto timeout =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.timeout_seconds));
    auto job = std::make_shared<Job>(g.prompt, g.options, timeout);
    current.prompt_tokens = static_cast<int64_t>(g.prompt.size());
    if (!scheduler->submit(job)) {
        res.set_header("Retry-After", "1");
        return send_error(res, stopping.load() ? 503 : 429, stopping.load() ? "unavailable_error" : "rate_limit_error",
                          stopping.load() ? "the server is shutting down" : "every slot is busy and the queue is full",
                          {}, stopping.load() ? "" : "rate_limit_exceeded");
    }
    const ResponseIds ids = new_response_ids(endpoint, model_id);
    auto watch = std::make_shared<ConnectionWatch>(req.remote_addr, req.remote_port, req.local_port);
    if (!g.stream) {
        std::string text;
        Clock::time_point last_check = Clock::now();
        while (true) {
            const std::optional<JobEvent> e = job->next(kPoll);
            // asked every kPoll even while pieces keep coming (they may come faster than that)
            if (!e || Clock::now() - last_check >= kPoll) {
                last_check = Clock::now();
                if (watch->closed()) {
                    job->cancel();  // the slot is freed at the next step; nobody reads an answer
                    return send_error(res, 499, "cancelled", "the client closed the connection");
                }
            }
            if (!e) continue;
            if (e->kind == JobEvent::Kind::text) {
                text += e->text;
            } else if (e->kind == JobEvent::Kind::done) {
                const JobUsage usage = job->usage();
                current.completion_tokens = usage.completion_tokens;
                res.set_content(response_body(endpoint, ids, text, e->reason, usage), "application/json");
                return;
            } else {
                return send_error(res, e->status, e->error_type, e->text);
            }
        }
    }
    // streaming: server-sent events, one chunk per piece of text
    const bool include_usage = g.include_usage;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider("text/event-stream",
                                     [job, ids, endpoint, include_usage, watch](std::size_t, httplib::DataSink& sink) {
                                         const auto send = [&](const std::string& data) {
                                             const std::string event = "data: " + data + "\n\n";
                                             return sink.write(event.data(), event.size());
                                         };
                                         bool first = true;
                                         if (endpoint == Endpoint::chat) {
                                             if (!send(chunk_body(endpoint, ids, "", true, std::nullopt))) {
                                                 job->cancel();
                                                 return false;
                                             }
                                             first = false;
                                         }
                                         while (true) {
                                             const std::optional<JobEvent> e = job->next(kPoll);
                                             if (!e) {
                                                 if (watch->closed() || !sink.is_writable()) {
                                                     job->cancel();
                                                     return false;
                                                 }
                                                 continue;
                                             }
                                             if (e->kind == JobEvent::Kind::text) {
                                                 if (!send(chunk_body(endpoint, ids, e->text, first, std::nullopt))) {
                                                     job->cancel();
                                                     return false;
                                                 }
                                                 first = false;
                                             } else if (e->kind == JobEvent::Kind::done) {
                                                 const JobUsage usage = job->usage();
                                                 current.completion_tokens = usage.completion_tokens;
                                                 send(chunk_body(endpoint, ids, "", first, e->reason));
                                                 if (include_usage) send(usage_chunk_body(endpoint, ids, usage));
                                                 send("[DONE]");
                                                 sink.done();
                                                 return true;
                                             } else {
                                                 send(error_body(e->status, e->error_type, e->text));
                                                 sink.done();
                                                 return true;
                                             }
                                         }
                                     });
}

void Server::State::routes() {
    http.new_task_queue = [this] {
        // every waiting or streaming client holds a connection thread: room for all slots, the
        // queue and a few more (health checks, metrics) so that those never wait
        const auto n = static_cast<std::size_t>(std::min(512, options.parallel + options.queue + 8));
        return new httplib::ThreadPool(n);
    };
    http.set_payload_max_length(options.max_body);
    http.set_read_timeout(60, 0);
    http.set_tcp_nodelay(true);  // each streamed piece goes out at once (no Nagle wait for an ACK)
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        current = RequestLog{Clock::now(), -1, -1};
        if (!options.api_key.empty() && req.path != "/" && req.path != "/health") {
            const std::string auth = req.get_header_value("Authorization");
            const std::string want = "Bearer " + options.api_key;
            if (!same_secret(auth, want)) {
                send_error(res, 401, "invalid_request_error", "invalid or missing API key (Authorization: Bearer KEY)",
                           {}, "invalid_api_key");
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;  // an error the handler already described
        if (res.status == 404) {
            send_error(res, 404, "not_found_error", "no route " + req.method + " " + req.path);
        } else if (res.status == 413) {
            send_error(res, 413, "invalid_request_error", "the request body is larger than the server's --max-body");
        } else {
            send_error(res, res.status, "invalid_request_error",
                       "the request was refused (HTTP " + std::to_string(res.status) + ")");
        }
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        }
        send_error(res, 500, "server_error", what);
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - current.start).count();
        std::string tokens;
        if (current.prompt_tokens >= 0) tokens += fmt::format(" prompt={}", current.prompt_tokens);
        if (current.completion_tokens >= 0) tokens += fmt::format(" completion={}", current.completion_tokens);
        log(fmt::format("{} {} {}{} {:.0f} ms", req.method, req.path, res.status, tokens, ms));
        metrics.request(req.path, res.status);
    });

    // routes, with 405 for the other methods of a known path
    const auto allow_only = [this](const std::string& path, const char* allowed) {
        const auto refuse = [allowed](const httplib::Request& req, httplib::Response& res) {
            res.set_header("Allow", allowed);
            send_error(res, 405, "invalid_request_error", req.method + " is not allowed here (" + allowed + ")");
        };
        if (std::string(allowed) != "GET") http.Get(path, refuse);
        if (std::string(allowed) != "POST") http.Post(path, refuse);
        http.Put(path, refuse);
        http.Delete(path, refuse);
        http.Patch(path, refuse);
    };
    for (const std::string& path : {std::string("/v1/completions"), std::string("/completions")}) {
        http.Post(path, [this](const httplib::Request& req, httplib::Response& res) {
            generation(req, res, Endpoint::completions);
        });
        allow_only(path, "POST");
    }
    for (const std::string& path : {std::string("/v1/chat/completions"), std::string("/chat/completions")}) {
        http.Post(path, [this](const httplib::Request& req, httplib::Response& res) {
            generation(req, res, Endpoint::chat);
        });
        allow_only(path, "POST");
    }
    http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
        if (!ready_or_503(res)) return;
        try {
            res.set_content(tokenize_body(req.body, model->tokenizer()), "application/json");
        } catch (const ApiError& e) {
            res.status = e.status;
            res.set_content(error_body(e), "application/json");
        }
    });
    allow_only("/tokenize", "POST");
    http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) {
        if (!ready_or_503(res)) return;
        try {
            res.set_content(detokenize_body(req.body, model->tokenizer()), "application/json");
        } catch (const ApiError& e) {
            res.status = e.status;
            res.set_content(error_body(e), "application/json");
        }
    });
    allow_only("/detokenize", "POST");
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
        if (ready.load()) {
            res.set_content(R"({"status":"ok"})", "application/json");
        } else {
            res.status = 503;
            const std::lock_guard<std::mutex> lock(mutex);
            res.set_content(load_error.empty() ? R"({"status":"loading"})" : R"({"status":"error"})",
                            "application/json");
        }
    });
    allow_only("/health", "GET");
    for (const std::string& path : {std::string("/v1/models"), std::string("/models")}) {
        http.Get(path, [this](const httplib::Request&, httplib::Response& res) {
            if (!ready_or_503(res)) return;
            const json m = {{"id", model_id}, {"object", "model"}, {"created", created}, {"owned_by", "lowbit"}};
            res.set_content(json{{"object", "list"}, {"data", json::array({m})}}.dump(), "application/json");
        });
        allow_only(path, "GET");
    }
    http.Get("/props", [this](const httplib::Request&, httplib::Response& res) {
        if (!ready_or_503(res)) return;
        const std::string* tmpl = model->tokenizer().chat_template();
        const json j = {{"model", model_id},
                        {"model_path", options.model_path},
                        {"n_ctx", scheduler->context()},
                        {"total_slots", scheduler->slots()},
                        {"slots_busy", scheduler->busy_slots()},
                        {"queue", scheduler->queued()},
                        {"isa", std::string(isa_name(model->kernels().isa()))},
                        {"threads", pool->size()},
                        {"chat_template", tmpl ? json(*tmpl) : json(nullptr)},
                        {"build", llm::build_description()}};
        res.set_content(j.dump(), "application/json");
    });
    allow_only("/props", "GET");
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        const bool up = ready.load();
        res.set_content(
            metrics.render(up ? scheduler->queued() : 0, up ? scheduler->busy_slots() : 0, options.parallel),
            "text/plain; version=0.0.4");
    });
    allow_only("/metrics", "GET");
    if (options.chat_page) {
        http.Get("/", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(kChatPage, "text/html; charset=utf-8");
        });
        allow_only("/", "GET");
    }
}

}  // namespace lowbit::server

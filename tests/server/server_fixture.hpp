// A server on a free loopback port with the bundled model, its request log captured, and
// helpers that talk to it over real sockets (cpp-httplib's client, or a raw socket).
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server/server.hpp"

namespace lowbit::test {

const std::filesystem::path kTinyModel = std::filesystem::path(LOWBIT_TINY_BITNET_DIR) / "tiny-bitnet.gguf";

class RunningServer {
public:
    explicit RunningServer(server::ServerOptions options = {}) {
        if (options.model_path.empty()) options.model_path = kTinyModel.string();
        options.port = 0;
        if (options.threads == 0) options.threads = 2;
        options.log = [this](const std::string& line) {
            const std::lock_guard<std::mutex> lock(mutex_);
            log_.push_back(line);
        };
        server_ = std::make_unique<server::Server>(options);
        server_->bind();
        thread_ = std::thread([this] {
            try {
                server_->run();
            } catch (const std::exception& e) {
                const std::lock_guard<std::mutex> lock(mutex_);
                log_.push_back(std::string("run: ") + e.what());
            }
        });
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!server_->ready() && server_->load_error().empty() && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    ~RunningServer() {
        server_->stop();
        thread_.join();
    }
    RunningServer(const RunningServer&) = delete;
    RunningServer& operator=(const RunningServer&) = delete;

    int port() const { return server_->port(); }
    server::Server& get() { return *server_; }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port());
        c.set_read_timeout(60, 0);
        return c;
    }
    std::vector<std::string> log() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return log_;
    }

private:
    std::unique_ptr<server::Server> server_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<std::string> log_;
};

inline nlohmann::json json_of(const httplib::Result& r) { return nlohmann::json::parse(r->body); }

// The data of every server-sent event of a streamed body ("[DONE]" included); fails the test
// when an event is not a `data:` line.
inline std::vector<std::string> sse_data(const std::string& body) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < body.size()) {
        const std::size_t end = body.find("\n\n", at);
        if (end == std::string::npos) {
            ADD_FAILURE() << "an event without its blank line: " << body.substr(at);
            break;
        }
        const std::string event = body.substr(at, end - at);
        if (event.rfind("data: ", 0) != 0) ADD_FAILURE() << "not a data event: " << event;
        out.push_back(event.substr(6));
        at = end + 2;
    }
    return out;
}

// A raw HTTP/1.1 request on a socket of our own: for clients that go away mid-answer.
class RawConnection {
public:
    explicit RawConnection(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "connect failed";
    }
    ~RawConnection() { close(); }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    void send_raw(const std::string& bytes) {
        if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
            ADD_FAILURE() << "send failed";
        }
    }
    void post(const std::string& path, const std::string& body) {
        send_raw("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body);
    }
    // Reads until `marker` appears (or the peer closes / 30 s pass); returns what was read.
    std::string read_until(const std::string& marker) {
        std::string got;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        char buf[4096];
        while (got.find(marker) == std::string::npos && std::chrono::steady_clock::now() < until) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        return got;
    }

private:
    int fd_ = -1;
};

}  // namespace lowbit::test

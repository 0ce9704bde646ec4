// Helpers for the model-file tests: error capture, temporary folders, small byte patterns.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/error.hpp"
#include "lowbit/mapped_file.hpp"

namespace lowbit::test {

// The message of the lowbit::Error `f` throws; a test failure when it throws nothing.
template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected a lowbit::Error";
    return {};
}

// Every part must appear in the message of the Error `f` throws.
#define EXPECT_ERROR(statement, ...)                                                                 \
    do {                                                                                             \
        const std::string lowbit_msg_ = ::lowbit::test::error_of([&] { statement; });                \
        for (std::string_view lowbit_part_ : std::initializer_list<std::string_view>{__VA_ARGS__}) { \
            EXPECT_NE(lowbit_msg_.find(lowbit_part_), std::string::npos)                             \
                << "message: " << lowbit_msg_ << "\nmissing: " << lowbit_part_;                      \
        }                                                                                            \
    } while (0)

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() /
                ("lowbit-io-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
    // Names of the entries in the folder (to check nothing partial was left behind).
    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
        return out;
    }

private:
    std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

inline std::vector<uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Deterministic filler bytes: byte i of stream `seed`.
inline std::vector<uint8_t> pattern(std::size_t n, uint32_t seed) {
    std::vector<uint8_t> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((i * 131 + seed * 17 + (i >> 8)) & 0xff);
    return out;
}

inline std::shared_ptr<const MappedFile> memory_file(std::vector<uint8_t> bytes, std::string name = "t.gguf") {
    return MappedFile::from_bytes(std::move(bytes), std::move(name));
}

}  // namespace lowbit::test

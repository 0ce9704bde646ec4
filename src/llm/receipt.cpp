#include "lowbit/receipt.hpp"

#include <openssl/evp.h>
#include <sys/resource.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "../io/atomic_output.hpp"
#include "lowbit/error.hpp"
#include "lowbit/isa.hpp"
#include "lowbit/version.hpp"
#include "lowbit_git_commit.hpp"  // LOWBIT_GIT_COMMIT, written at build time

namespace lowbit::llm {
namespace {

std::string compiler() {
#if defined(__clang__)
    return "clang++ " __clang_version__;
#elif defined(__GNUC__)
    return "g++ " __VERSION__;
#else
    return "unknown";
#endif
}

std::string utc_now() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

std::string model_header_sha256(const GgufFile& file) {
    const std::span<const uint8_t> all = file.bytes().first(static_cast<std::size_t>(file.data_offset()));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(all.data(), all.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
        fail("sha256 of ", file.source(), " failed");
    }
    static const char* kHex = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 15];
    }
    return hex;
}

uint64_t peak_rss_bytes() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string build_description() {
    return "lowbit " + std::string(version()) + " (commit " + LOWBIT_GIT_COMMIT + ", " + compiler() + ")";
}

std::string receipt_json(const Session& session, const RunInfo& run) {
    using nlohmann::json;
    const Model& model = session.model();
    json available = json::array();
    for (std::size_t i = 0; i < kIsaCount; ++i) {
        const auto isa = static_cast<Isa>(i);
        if (isa_compiled_in(isa) && isa_supported_by_cpu(isa)) available.push_back(std::string(isa_name(isa)));
    }
    json kernels = json::object();
    for (const auto& [id, calls] : session.kernel_counters().by_name()) kernels[id] = calls;
    const GenerateStats& s = run.stats;
    const double decode_tps = s.decode_seconds > 0 ? static_cast<double>(s.generated_tokens) / s.decode_seconds : 0.0;
    const double prefill_tps = s.prompt_seconds > 0 ? static_cast<double>(s.prompt_tokens) / s.prompt_seconds : 0.0;
    json r = {
        {"schema", "lowbit.receipt/1"},
        {"timestamp", utc_now()},
        {"model",
         {{"path", run.model_path.string()},
          {"header_sha256", model_header_sha256(model.file())},
          {"architecture", model.hp().arch_name},
          {"weight_types", model.weight_types()},
          {"bytes_per_token", model.bytes_per_token()}}},
        {"build",
         {{"version", std::string(version())},
          {"git_commit", LOWBIT_GIT_COMMIT},
          {"compiler", compiler()},
          {"isa_selected", std::string(isa_name(model.kernels().isa()))},
          {"isa_available", available}}},
        {"kernels_invoked", kernels},
        {"threads", run.threads},
        {"context_size", session.n_ctx()},
        {"kv_cache_type", session.kv_cache_type() == KvCacheType::f32 ? "f32" : "f16"},
        {"prompt_tokens", s.prompt_tokens},
        {"generated_tokens", s.generated_tokens},
        {"stop_reason", std::string(stop_reason_name(run.reason))},
        {"prefill_tokens_per_second", prefill_tps},
        {"decode_tokens_per_second", decode_tps},
        {"first_token_latency_seconds", s.first_token_seconds},
        {"peak_rss_bytes", peak_rss_bytes()},
        {"sampling",
         {{"temperature", run.options.sampling.temperature},
          {"top_k", run.options.sampling.top_k},
          {"top_p", run.options.sampling.top_p},
          {"min_p", run.options.sampling.min_p},
          {"repeat_penalty", run.options.sampling.repeat_penalty},
          {"seed", run.options.sampling.seed},
          {"n_predict", run.options.n_predict}}},
    };
    return r.dump(2) + "\n";
}

void write_receipt(const std::filesystem::path& path, const Session& session, const RunInfo& run) {
    const std::string text = receipt_json(session, run);
    io::AtomicOutput out(path);
    out.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    out.finish();
}

}  // namespace lowbit::llm

// A receipt of what a run really did (bitnet-model.md, "Receipts"): the model (file, a hash of
// its header and tensor table, architecture, weight types), the build (version, commit,
// compiler, ISA chosen and available), the kernels actually invoked (counted through the
// dispatch table, at the level that ran), threads, tokens, timings, peak memory, sampling.
#pragma once

#include <filesystem>
#include <string>

#include "lowbit/generate.hpp"
#include "lowbit/session.hpp"

namespace lowbit::llm {

struct RunInfo {
    std::filesystem::path model_path;
    int threads = 1;
    GenerateOptions options;
    GenerateStats stats;
    StopReason reason = StopReason::budget;
};

// sha256 (hex) of the GGUF file's bytes before the tensor data: header, metadata, tensor table.
std::string model_header_sha256(const GgufFile& file);

// Peak resident set size of this process, in bytes (getrusage).
uint64_t peak_rss_bytes();

// The build: "lowbit 0.1.0 (commit abc123, g++ 12.2.0)".
std::string build_description();

// The receipt as JSON text (schema "lowbit.receipt/1").
std::string receipt_json(const Session& session, const RunInfo& run);

// Writes it atomically (temp file + rename).
void write_receipt(const std::filesystem::path& path, const Session& session, const RunInfo& run);

}  // namespace lowbit::llm

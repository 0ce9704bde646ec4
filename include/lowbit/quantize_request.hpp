// What a user asks `lowbit quantize` for, in the words of its options (the CLI's flags, the
// Python keyword arguments), and the one place that turns it into quantize::Options: the
// profiles, the INTn type from bits/group/asym, sizes such as "2G", the per-tensor rules. The
// CLI and the Python package both go through here, so the same request makes the same file.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/quantize.hpp"

namespace lowbit::quantize {

struct Request {
    std::string input;
    std::string output;
    std::string out_format;  // "gguf", "safetensors", or "": from the output's extension, else gguf
    std::string type;        // a weight type name (Q4_0, INT4_SYM_G128, ...); "": the profile's INTn
    std::string bits;        // "2", "4", "8", "auto" or "": the profile's (only without `type`)
    int group = 0;           // INTn group size, 0: the profile's (only without `type`)
    bool asym = false;       // INTn with zero points (only without `type`)
    std::string profile = "local";  // edge, local, cloud
    std::vector<std::string> keep;          // regexes
    std::vector<std::string> tensor_types;  // "REGEX=TYPE"
    std::optional<double> min_cosine;       // 0: never fall back; unset: the profile's (without `type`)
    std::string nan = "error";              // error, zero
    bool strict = false;
    bool dry_run = false;
    std::string max_memory;  // "512M", "2G", "1.5GiB", "800000000"; "": no limit
    std::string mode = "streaming";    // streaming, batch
    std::string ternarize = "absmean";  // absmean, none
    int shards = 1;                     // a GGUF split set of this many files
    // calibration (docs/QUANTIZE.md): the rest apply only with `calib`
    std::string calib;                   // statistics from lowbit.calibrate.collect
    std::optional<int> act_bits;         // 0: no activation parameters; unset: 8
    std::optional<int> time_groups;      // unset: 1
    std::string time_split;              // uniform, dp; "": uniform
    std::string smooth_alpha;            // a number in [0, 1], or "auto"; "": no equalization
    bool awq = false;                    // AWQ-style scaling search
};

// Throws lowbit::Error (bad_argument) naming the field (e.g. "max_memory") for a value it does
// not accept. `cancel` is what the run will watch (nullptr: none).
Options resolve(const Request& request, const std::atomic<bool>* cancel = nullptr);

// "512M", "2G", "1.5GiB", "800000000" -> bytes (K, M, G, T are powers of 1024, as llama.cpp's
// tools read sizes); an error naming `field` otherwise.
uint64_t parse_size(std::string_view text, const std::string& field);

}  // namespace lowbit::quantize

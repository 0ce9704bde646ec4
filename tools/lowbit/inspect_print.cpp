// `lowbit inspect`, the printing half: the report as a table, or as JSON (schema in
// docs/FILES.md; keys are only ever added, never renamed, within one schema version).
#include "inspect_print.hpp"

#include <fmt/core.h>

#include <string>

namespace lowbit::cli {
namespace {

using json = nlohmann::ordered_json;

double bits_per_weight(uint64_t bytes, uint64_t elements) {
    return elements == 0 ? 0.0 : 8.0 * static_cast<double>(bytes) / static_cast<double>(elements);
}

std::string human_bytes(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", v, units[u]);
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// A JSON scalar as plain text (strings unquoted).
std::string plain(const json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string tokenizer_line(const json& t) {
    std::string s = t.contains("model") ? plain(t["model"]) : "no tokenizer file";
    if (t.contains("pre")) s += " (pre " + plain(t["pre"]) + ")";
    if (t.contains("vocab_size")) s += ", " + plain(t["vocab_size"]) + " tokens";
    if (t.contains("merges")) s += ", " + plain(t["merges"]) + " merges";
    if (t.contains("added_tokens")) s += ", " + plain(t["added_tokens"]) + " added tokens";
    for (const auto& [key, label] : {std::pair{"bos_token_id", "bos"},
                                     {"eos_token_id", "eos"},
                                     {"eot_token_id", "eot"},
                                     {"eom_token_id", "eom"},
                                     {"unknown_token_id", "unk"},
                                     {"padding_token_id", "pad"},
                                     {"separator_token_id", "sep"}}) {
        if (t.contains(key)) s += fmt::format(", {} {}", label, plain(t[key]));
    }
    if (t.value("chat_template", false)) s += ", chat template";
    return s;
}

}  // namespace

json report_json(const ModelReport& r, bool with_tensors) {
    json j;
    j["schema"] = "lowbit.inspect/1";
    j["path"] = r.path;
    j["format"] = r.format;
    j["files"] = r.files;
    j["gguf"] = r.gguf;
    j["safetensors"] = r.safetensors;
    j["architecture"] = r.architecture.empty() ? json(nullptr) : json(r.architecture);
    j["name"] = r.name.empty() ? json(nullptr) : json(r.name);
    j["hyperparameters"] = r.hyperparameters;
    j["tokenizer"] = r.tokenizer;
    j["totals"] = {{"tensors", r.tensors.size()},
                   {"elements", r.total_elements},
                   {"bytes", r.total_bytes},
                   {"bits_per_weight", bits_per_weight(r.total_bytes, r.total_elements)}};
    j["types"] = json::array();
    for (const TypeTotal& t : r.types) {
        j["types"].push_back({{"type", t.type},
                              {"tensors", t.tensors},
                              {"elements", t.elements},
                              {"bytes", t.bytes},
                              {"bits_per_weight", bits_per_weight(t.bytes, t.elements)},
                              {"computable", t.computable}});
    }
    if (with_tensors) {
        j["tensors"] = json::array();
        for (const TensorRow& t : r.tensors) {
            json row = {{"name", t.name},
                        {"type", t.type},
                        {"type_id", t.type_id ? json(*t.type_id) : json(nullptr)},
                        {"shape", t.shape},
                        {"elements", t.elements},
                        {"bytes", t.bytes},
                        {"offset", t.offset},
                        {"file", t.file.empty() ? json(nullptr) : json(t.file)},
                        {"computable", t.computable}};
            j["tensors"].push_back(std::move(row));
        }
    }
    return j;
}

void print_report(const ModelReport& r, bool with_tensors) {
    fmt::print("{:<16}{}\n", "path", r.path);
    if (r.format == "gguf") {
        fmt::print("{:<16}GGUF v{}, alignment {}, {} metadata keys, tensor data from byte {}\n", "format",
                   r.gguf["version"].get<uint32_t>(), r.gguf["alignment"].get<uint32_t>(),
                   r.gguf["metadata_keys"].get<uint64_t>(), r.gguf["data_offset"].get<uint64_t>());
    } else {
        const bool sharded = r.safetensors["sharded"].get<bool>();
        fmt::print(
            "{:<16}SafeTensors, {}\n", "format",
            sharded ? fmt::format("{} shards", r.safetensors["shards"].get<uint64_t>()) : std::string("one file"));
    }
    for (const std::string& f : r.files) fmt::print("{:<16}{}\n", "file", f);
    fmt::print("{:<16}{}{}\n", "architecture", r.architecture.empty() ? "(none)" : r.architecture,
               r.name.empty() ? "" : fmt::format(" (\"{}\")", r.name));
    if (!r.hyperparameters.empty()) {
        fmt::print("hyperparameters\n");
        for (const auto& [k, v] : r.hyperparameters.items()) fmt::print("  {:<22}{}\n", k, plain(v));
    }
    fmt::print("{:<16}{}\n", "tokenizer", r.tokenizer.is_null() ? "(none)" : tokenizer_line(r.tokenizer));
    fmt::print("{:<16}{} tensors, {} elements, {} ({} bytes), {:.3f} bits/weight\n", "totals", r.tensors.size(),
               r.total_elements, human_bytes(r.total_bytes), r.total_bytes,
               bits_per_weight(r.total_bytes, r.total_elements));
    fmt::print("\n{:<10} {:>8} {:>14} {:>14} {:>8}  {}\n", "type", "tensors", "elements", "bytes", "bits/w",
               "computable");
    for (const TypeTotal& t : r.types) {
        fmt::print("{:<10} {:>8} {:>14} {:>14} {:>8.3f}  {}\n", t.type, t.tensors, t.elements, t.bytes,
                   bits_per_weight(t.bytes, t.elements), t.computable ? "yes" : "no");
    }
    if (!with_tensors) return;
    std::size_t name_width = 4;
    for (const TensorRow& t : r.tensors) name_width = std::max(name_width, t.name.size());
    const bool shards =
        std::any_of(r.tensors.begin(), r.tensors.end(), [](const TensorRow& t) { return !t.file.empty(); });
    fmt::print("\n{:<{}}  {:<8} {:<20} {:>12} {:>12} {:>12}{}\n", "name", name_width, "type", "shape", "elements",
               "bytes", "offset", shards ? "  file" : "");
    for (const TensorRow& t : r.tensors) {
        fmt::print("{:<{}}  {:<8} {:<20} {:>12} {:>12} {:>12}{}\n", t.name, name_width, t.type, shape_text(t.shape),
                   t.elements, t.bytes, t.offset, shards ? "  " + t.file : "");
    }
}

}  // namespace lowbit::cli

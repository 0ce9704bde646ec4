// Strict JSON for model side files (SafeTensors headers, shard indexes, config.json):
// nlohmann-json parses, and a parse callback adds what JSON parsers let through silently,
// duplicate keys (the last would win, hiding a tensor) and unbounded nesting.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lowbit::io {

inline constexpr int kMaxJsonDepth = 64;

// Throws Error "<source>: <what>: ..." for invalid JSON (with the byte offset), invalid
// UTF-8, a duplicate key (named) or nesting deeper than kMaxJsonDepth.
nlohmann::json parse_json_strict(std::string_view text, const std::string& source, std::string_view what);

// "object", "array", "string", "number", ... for messages.
std::string_view json_kind(const nlohmann::json& j);

}  // namespace lowbit::io

// parse_json_strict: nlohmann-json with duplicate-key and depth checks.
#include "json_strict.hpp"

#include <set>
#include <vector>

#include "lowbit/error.hpp"

namespace lowbit::io {

nlohmann::json parse_json_strict(std::string_view text, const std::string& source, std::string_view what) {
    using json = nlohmann::json;
    std::vector<std::set<std::string, std::less<>>> open_objects;  // keys seen, per open object
    const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
                if (depth >= kMaxJsonDepth) fail_as(ErrorCode::bad_file, source, ": ", what, ": nested deeper than ", kMaxJsonDepth);
                open_objects.emplace_back();
                break;
            case json::parse_event_t::array_start:
                if (depth >= kMaxJsonDepth) fail_as(ErrorCode::bad_file, source, ": ", what, ": nested deeper than ", kMaxJsonDepth);
                break;
            case json::parse_event_t::key: {
                const auto& key = parsed.get_ref<const std::string&>();
                if (!open_objects.back().insert(key).second) {
                    fail_as(ErrorCode::bad_file, source, ": ", what, ": duplicate key '", key, "'");
                }
                break;
            }
            case json::parse_event_t::object_end:
                open_objects.pop_back();
                break;
            default:
                break;
        }
        return true;
    };
    try {
        return json::parse(text.begin(), text.end(), check);
    } catch (const json::parse_error& e) {
        // e.what() is "[json.exception.parse_error.101] parse error at ...: <detail>".
        std::string detail = e.what();
        const auto colon = detail.find(": ");
        if (colon != std::string::npos) detail = detail.substr(colon + 2);
        fail_as(ErrorCode::bad_file, source, ": ", what, ": invalid JSON at byte ", e.byte, ": ", detail);
    } catch (const json::exception& e) {
        // Not only parse_error: a number too large for a double (1e400) is out_of_range.
        std::string detail = e.what();
        const auto bracket = detail.find("] ");
        if (bracket != std::string::npos) detail = detail.substr(bracket + 2);
        fail_as(ErrorCode::bad_file, source, ": ", what, ": invalid JSON: ", detail);
    }
}

std::string_view json_kind(const nlohmann::json& j) {
    if (j.is_number_unsigned()) return "non-negative integer";
    if (j.is_number_integer()) return "negative integer";
    return j.type_name();
}

}  // namespace lowbit::io

// MetaValue conversions and Metadata lookups with errors that name the key.
#include "lowbit/metadata.hpp"

#include <limits>

#include "lowbit/error.hpp"

namespace lowbit {

std::string_view meta_type_name(MetaType type) {
    switch (type) {
        case MetaType::u8:
            return "uint8";
        case MetaType::i8:
            return "int8";
        case MetaType::u16:
            return "uint16";
        case MetaType::i16:
            return "int16";
        case MetaType::u32:
            return "uint32";
        case MetaType::i32:
            return "int32";
        case MetaType::f32:
            return "float32";
        case MetaType::boolean:
            return "bool";
        case MetaType::string:
            return "string";
        case MetaType::array:
            return "array";
        case MetaType::u64:
            return "uint64";
        case MetaType::i64:
            return "int64";
        case MetaType::f64:
            return "float64";
    }
    return "unknown";
}

MetaValue MetaValue::strings(const std::vector<std::string>& items) {
    MetaArray a;
    a.type = MetaType::string;
    a.items.reserve(items.size());
    for (const std::string& s : items) a.items.emplace_back(s);
    return MetaValue(std::move(a));
}

bool MetaValue::is_integer() const {
    switch (type()) {
        case MetaType::u8:
        case MetaType::i8:
        case MetaType::u16:
        case MetaType::i16:
        case MetaType::u32:
        case MetaType::i32:
        case MetaType::u64:
        case MetaType::i64:
            return true;
        default:
            return false;
    }
}

std::optional<uint64_t> MetaValue::to_uint() const {
    return std::visit(
        [](const auto& v) -> std::optional<uint64_t> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                if constexpr (std::is_signed_v<T>) {
                    if (v < 0) return std::nullopt;
                }
                return static_cast<uint64_t>(v);
            } else {
                return std::nullopt;
            }
        },
        v_);
}

std::optional<int64_t> MetaValue::to_int() const {
    return std::visit(
        [](const auto& v) -> std::optional<int64_t> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                if constexpr (std::is_same_v<T, uint64_t>) {
                    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
                }
                return static_cast<int64_t>(v);
            } else {
                return std::nullopt;
            }
        },
        v_);
}

std::optional<double> MetaValue::to_float() const {
    if (const float* f = std::get_if<float>(&v_)) return *f;
    if (const double* d = std::get_if<double>(&v_)) return *d;
    return std::nullopt;
}

bool operator==(const MetaArray& a, const MetaArray& b) { return a.type == b.type && a.items == b.items; }

bool operator==(const MetaValue& a, const MetaValue& b) { return a.v_ == b.v_; }

const MetaValue* Metadata::find(std::string_view key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
}

const MetaValue& Metadata::at(std::string_view key) const {
    if (const MetaValue* v = find(key)) {
        return *v;
    }
    fail_as(ErrorCode::bad_file, source_, ": metadata key '", key, "' is missing");
}

void Metadata::type_error(std::string_view key, std::string_view expected, const MetaValue& found) const {
    std::string actual(meta_type_name(found.type()));
    if (found.is_integer() && expected.find("integer") != std::string_view::npos) {
        // The right kind, but the value does not fit the request.
        actual += found.to_int() && *found.to_int() < 0 ? " (negative)" : " (too large)";
    }
    fail_as(ErrorCode::bad_file, source_, ": metadata '", key, "': expected ", expected, ", found ", actual);
}

uint64_t Metadata::get_uint(std::string_view key) const {
    const MetaValue& v = at(key);
    if (const auto u = v.to_uint()) return *u;
    type_error(key, "an unsigned integer", v);
}

int64_t Metadata::get_int(std::string_view key) const {
    const MetaValue& v = at(key);
    if (const auto i = v.to_int()) return *i;
    type_error(key, "an integer", v);
}

double Metadata::get_float(std::string_view key) const {
    const MetaValue& v = at(key);
    if (const auto f = v.to_float()) return *f;
    type_error(key, "a float", v);
}

bool Metadata::get_bool(std::string_view key) const {
    const MetaValue& v = at(key);
    if (const bool* b = v.as_bool()) return *b;
    type_error(key, "a bool", v);
}

const std::string& Metadata::get_string(std::string_view key) const {
    const MetaValue& v = at(key);
    if (const std::string* s = v.as_string()) return *s;
    type_error(key, "a string", v);
}

const MetaArray& Metadata::get_array(std::string_view key) const {
    const MetaValue& v = at(key);
    if (const MetaArray* a = v.as_array()) return *a;
    type_error(key, "an array", v);
}

std::optional<uint64_t> Metadata::find_uint(std::string_view key) const {
    if (!contains(key)) return std::nullopt;
    return get_uint(key);
}

std::optional<double> Metadata::find_float(std::string_view key) const {
    if (!contains(key)) return std::nullopt;
    return get_float(key);
}

const std::string* Metadata::find_string(std::string_view key) const {
    if (!contains(key)) return nullptr;
    return &get_string(key);
}

const MetaArray* Metadata::find_array(std::string_view key) const {
    if (!contains(key)) return nullptr;
    return &get_array(key);
}

void Metadata::set(std::string key, MetaValue value) {
    const auto it = index_.find(key);
    if (it != index_.end()) {
        entries_[it->second].second = std::move(value);
        return;
    }
    index_.emplace(key, entries_.size());
    entries_.emplace_back(std::move(key), std::move(value));
}

bool Metadata::erase(std::string_view key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return false;
    const std::size_t at = it->second;
    index_.erase(it);
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(at));
    for (auto& [k, i] : index_) {
        if (i > at) --i;
    }
    return true;
}

}  // namespace lowbit

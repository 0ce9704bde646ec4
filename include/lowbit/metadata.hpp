// Model metadata: GGUF's typed key-value pairs (integers, floats, bool, strings and arrays,
// arrays nested to any depth the file allows). The GGUF reader fills a Metadata, the writer
// serializes one. Typed getters throw an Error naming the file, the key, and the expected
// and actual type, so callers never guess at a value's type.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lowbit {

// GGUF's value type ids (gguf_metadata_value_type).
enum class MetaType : uint32_t {
    u8 = 0,
    i8 = 1,
    u16 = 2,
    i16 = 3,
    u32 = 4,
    i32 = 5,
    f32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    u64 = 10,
    i64 = 11,
    f64 = 12,
};
inline constexpr uint32_t kMetaTypeCount = 13;

// "uint8", "int32", "float32", "bool", "string", "array", ...
std::string_view meta_type_name(MetaType type);

class MetaValue;

// A homogeneous array: every item has type `type` (for an array of arrays, each item is an
// array with its own element type, as in GGUF).
struct MetaArray {
    MetaType type = MetaType::u8;
    std::vector<MetaValue> items;
};

class MetaValue {
public:
    // One alternative per GGUF type, in type-id order, so index() is the GGUF type id.
    using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, std::string,
                                 MetaArray, uint64_t, int64_t, double>;

    MetaValue() : v_(uint8_t{0}) {}
    MetaValue(uint8_t v) : v_(v) {}
    MetaValue(int8_t v) : v_(v) {}
    MetaValue(uint16_t v) : v_(v) {}
    MetaValue(int16_t v) : v_(v) {}
    MetaValue(uint32_t v) : v_(v) {}
    MetaValue(int32_t v) : v_(v) {}
    MetaValue(float v) : v_(v) {}
    MetaValue(bool v) : v_(v) {}
    MetaValue(std::string v) : v_(std::move(v)) {}
    MetaValue(const char* v) : v_(std::string(v)) {}
    MetaValue(MetaArray v) : v_(std::move(v)) {}
    MetaValue(uint64_t v) : v_(v) {}
    MetaValue(int64_t v) : v_(v) {}
    MetaValue(double v) : v_(v) {}

    // An array of strings / of one scalar type, the common cases.
    static MetaValue strings(const std::vector<std::string>& items);
    template <typename T>
    static MetaValue array_of(const std::vector<T>& items) {
        MetaArray a;
        a.type = MetaValue(T{}).type();
        a.items.reserve(items.size());
        for (const T& v : items) a.items.emplace_back(v);
        return MetaValue(std::move(a));
    }

    MetaType type() const { return static_cast<MetaType>(v_.index()); }
    const Storage& storage() const { return v_; }

    bool is_integer() const;
    bool is_float() const { return type() == MetaType::f32 || type() == MetaType::f64; }
    // Converting views; nullopt when the value is of another kind or out of range.
    std::optional<uint64_t> to_uint() const;  // any integer type holding a value >= 0
    std::optional<int64_t> to_int() const;    // any integer type holding a value <= INT64_MAX
    std::optional<double> to_float() const;   // float32 or float64
    const bool* as_bool() const { return std::get_if<bool>(&v_); }
    const std::string* as_string() const { return std::get_if<std::string>(&v_); }
    const MetaArray* as_array() const { return std::get_if<MetaArray>(&v_); }

    friend bool operator==(const MetaValue& a, const MetaValue& b);

private:
    Storage v_;
};

bool operator==(const MetaArray& a, const MetaArray& b);

// Ordered key -> value pairs (file order), looked up by key. `source` names the file in errors.
class Metadata {
public:
    explicit Metadata(std::string source = {}) : source_(std::move(source)) {}

    const std::string& source() const { return source_; }
    std::size_t size() const { return entries_.size(); }
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    const std::vector<std::pair<std::string, MetaValue>>& entries() const { return entries_; }

    const MetaValue* find(std::string_view key) const;
    // Required lookups: throw "<source>: metadata key 'k' is missing", or, for a value of
    // another type, "<source>: metadata 'k': expected <type>, found <type>".
    const MetaValue& at(std::string_view key) const;
    uint64_t get_uint(std::string_view key) const;
    int64_t get_int(std::string_view key) const;
    double get_float(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    const std::string& get_string(std::string_view key) const;
    const MetaArray& get_array(std::string_view key) const;
    // Optional lookups: nullopt / nullptr when absent, the same type errors when present.
    std::optional<uint64_t> find_uint(std::string_view key) const;
    std::optional<double> find_float(std::string_view key) const;
    const std::string* find_string(std::string_view key) const;
    const MetaArray* find_array(std::string_view key) const;

    // Adds a key at the end, or replaces the value of an existing key in place.
    void set(std::string key, MetaValue value);
    bool erase(std::string_view key);

private:
    [[noreturn]] void type_error(std::string_view key, std::string_view expected, const MetaValue& found) const;

    std::string source_;
    std::vector<std::pair<std::string, MetaValue>> entries_;
    std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace lowbit

// A test-side GGUF byte builder written from the public layout (ggml's docs/gguf.md), not from
// lowbit's writer: every integer is emitted byte by byte, little-endian. Tests assemble files
// with it to check the reader against the format itself.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace lowbit::test {

// GGUF metadata value type ids, from the spec.
enum GgufValueType : uint32_t {
    kU8 = 0,
    kI8 = 1,
    kU16 = 2,
    kI16 = 3,
    kU32 = 4,
    kI32 = 5,
    kF32 = 6,
    kBool = 7,
    kString = 8,
    kArray = 9,
    kU64 = 10,
    kI64 = 11,
    kF64 = 12,
};

// ggml tensor type ids used by the tests (bitnet.cpp's I2_S is 36).
enum GgmlTypeId : uint32_t {
    kF32Type = 0,
    kF16Type = 1,
    kQ4_0Type = 2,
    kQ4_1Type = 3,
    kQ8_0Type = 8,
    kQ4_KType = 12,
    kQ6_KType = 14,
    kBF16Type = 30,
    kTQ1_0Type = 34,
    kTQ2_0Type = 35,
    kI2_SType = 36,
};

class GgufBytes {
public:
    std::vector<uint8_t> bytes;

    GgufBytes& le(uint64_t v, int n) {
        for (int i = 0; i < n; ++i) bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
        return *this;
    }
    GgufBytes& u8(uint8_t v) { return le(v, 1); }
    GgufBytes& u16(uint16_t v) { return le(v, 2); }
    GgufBytes& u32(uint32_t v) { return le(v, 4); }
    GgufBytes& u64(uint64_t v) { return le(v, 8); }
    GgufBytes& i8(int8_t v) { return le(static_cast<uint8_t>(v), 1); }
    GgufBytes& i16(int16_t v) { return le(static_cast<uint16_t>(v), 2); }
    GgufBytes& i32(int32_t v) { return le(static_cast<uint32_t>(v), 4); }
    GgufBytes& i64(int64_t v) { return le(static_cast<uint64_t>(v), 8); }
    GgufBytes& f32(float v) {
        uint32_t u;
        std::memcpy(&u, &v, 4);
        return le(u, 4);
    }
    GgufBytes& f64(double v) {
        uint64_t u;
        std::memcpy(&u, &v, 8);
        return le(u, 8);
    }
    GgufBytes& raw(std::string_view s) {
        for (char c : s) bytes.push_back(static_cast<uint8_t>(c));
        return *this;
    }
    // gguf_string_t: u64 length, then the bytes.
    GgufBytes& str(std::string_view s) { return u64(s.size()).raw(s); }

    GgufBytes& header(uint32_t version, uint64_t tensor_count, uint64_t kv_count) {
        return raw("GGUF").u32(version).u64(tensor_count).u64(kv_count);
    }
    // A key and its value type; the caller appends the value.
    GgufBytes& key(std::string_view k, uint32_t type) { return str(k).u32(type); }
    GgufBytes& kv_u32(std::string_view k, uint32_t v) { return key(k, kU32).u32(v); }
    GgufBytes& kv_f32(std::string_view k, float v) { return key(k, kF32).f32(v); }
    GgufBytes& kv_str(std::string_view k, std::string_view v) { return key(k, kString).str(v); }
    GgufBytes& kv_strings(std::string_view k, const std::vector<std::string_view>& v) {
        key(k, kArray).u32(kString).u64(v.size());
        for (auto s : v) str(s);
        return *this;
    }

    GgufBytes& tensor_info(std::string_view name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset) {
        str(name).u32(static_cast<uint32_t>(ne.size()));
        for (uint64_t d : ne) u64(d);
        return u32(type).u64(offset);
    }

    GgufBytes& pad_to(uint64_t alignment) {
        while (bytes.size() % alignment != 0) bytes.push_back(0);
        return *this;
    }
    GgufBytes& fill(std::size_t n, uint8_t value) {
        for (std::size_t i = 0; i < n; ++i) bytes.push_back(value);
        return *this;
    }
    std::size_t size() const { return bytes.size(); }
};

inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace lowbit::test

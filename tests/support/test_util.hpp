// Small helpers for tests: quantize/dequantize through a registry row, hex bytes, f16 bits.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "lowbit/error.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::test {

inline std::vector<uint8_t> quantize(const WeightType& t, const std::vector<float>& x, int64_t rows, int64_t cols) {
    std::vector<uint8_t> out(t.tensor_bytes(rows, cols));
    t.reference.quantize(x.data(), rows, cols, out.data());
    return out;
}

inline std::vector<float> dequantize(const WeightType& t, const std::vector<uint8_t>& bytes, int64_t rows,
                                     int64_t cols) {
    std::vector<float> out(static_cast<std::size_t>(rows * cols));
    t.reference.dequantize(WeightView{bytes.data(), rows, cols}, 0, rows, out.data());
    return out;
}

inline std::vector<uint8_t> f32_bytes(float v) {
    std::vector<uint8_t> b(4);
    std::memcpy(b.data(), &v, 4);
    return b;
}

// Byte-by-byte appends: vector::insert here trips GCC 12's -Wstringop-overflow false positive
// at -O3 (GCC bug 105329), and these helpers are not hot.
inline void repeat(std::vector<uint8_t>& out, uint8_t byte, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) out.push_back(byte);
}

inline void append(std::vector<uint8_t>& out, std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes) out.push_back(b);
}

inline void append(std::vector<uint8_t>& out, const std::vector<uint8_t>& bytes) {
    for (uint8_t b : bytes) out.push_back(b);
}

}  // namespace lowbit::test

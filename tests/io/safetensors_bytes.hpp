// Test-side SafeTensors assembly from the public layout: an 8-byte little-endian header
// length, the header JSON text as the test writes it, then the data bytes.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace lowbit::test {

inline std::vector<uint8_t> safetensors_bytes(std::string_view header, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i)));
    for (char c : header) out.push_back(static_cast<uint8_t>(c));
    for (uint8_t b : data) out.push_back(b);
    return out;
}

}  // namespace lowbit::test

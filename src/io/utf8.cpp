// UTF-8 validation following RFC 3629 (the well-formed byte sequences of Unicode table 3-7).
#include "utf8.hpp"

#include <cstdint>

namespace lowbit::io {

Utf8Sequence scan_utf8_sequence(const uint8_t* p, std::size_t n, std::size_t i) {
    const uint8_t b = p[i];
    if (b < 0x80) return {1, 1};
    std::size_t len;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        if (b == 0xE0) lo = 0xA0;  // no overlong 3-byte forms
        if (b == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        if (b == 0xF0) lo = 0x90;  // no overlong 4-byte forms
        if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
        return {0, 0};  // a continuation byte or a byte no sequence starts with
    }
    std::size_t k = 1;
    while (k < len && i + k < n) {
        const uint8_t c = p[i + k];
        if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) break;
        ++k;
    }
    return {len, k};
}

std::optional<std::size_t> find_invalid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    for (std::size_t i = 0; i < s.size();) {
        const Utf8Sequence seq = scan_utf8_sequence(p, s.size(), i);
        if (seq.length == 0 || seq.matched != seq.length) return i;
        i += seq.length;
    }
    return std::nullopt;
}

}  // namespace lowbit::io

// The well-formed byte sequences of Unicode table 3-7, checked byte by byte so that an
// ill-formed sequence is cut exactly where it stops being a prefix of a well-formed one.
#include "utf8_repair.hpp"

#include <cstdint>

namespace lowbit::llm {

std::size_t repair_utf8_into(std::string_view bytes, std::string& out, bool final) {
    static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    while (i < n) {
        const uint8_t b = p[i];
        if (b < 0x80) {
            out += static_cast<char>(b);
            ++i;
            continue;
        }
        std::size_t len;
        uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
        if (b >= 0xC2 && b <= 0xDF) {
            len = 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            len = 3;
            if (b == 0xE0) lo = 0xA0;  // no overlong forms
            if (b == 0xED) hi = 0x9F;  // no surrogates
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4;
            if (b == 0xF0) lo = 0x90;  // no overlong forms
            if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
        } else {
            out += kReplacement;  // a continuation byte or a byte no sequence starts with
            ++i;
            continue;
        }
        std::size_t k = 1;  // bytes of the sequence seen so far
        while (k < len && i + k < n) {
            const uint8_t c = p[i + k];
            if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) break;
            ++k;
        }
        if (k == len) {
            out.append(bytes.substr(i, len));
            i += len;
        } else if (i + k == n && !final) {
            return i;  // a well-formed prefix that the next bytes may complete
        } else {
            out += kReplacement;  // the k bytes form one maximal ill-formed subpart
            i += k;
        }
    }
    return n;
}

}  // namespace lowbit::llm

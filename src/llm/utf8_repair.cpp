// Replacement of ill-formed UTF-8 per maximal subpart; the sequences are checked byte by byte
// (io::scan_utf8_sequence) so that one is cut exactly where it stops being a prefix of a
// well-formed one.
#include "utf8_repair.hpp"

#include "../io/utf8.hpp"

#include <cstdint>

namespace lowbit::llm {

std::size_t repair_utf8_into(std::string_view bytes, std::string& out, bool final) {
    static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    while (i < n) {
        const io::Utf8Sequence seq = io::scan_utf8_sequence(p, n, i);
        if (seq.length == 0) {
            out += kReplacement;  // a continuation byte or a byte no sequence starts with
            ++i;
        } else if (seq.matched == seq.length) {
            out.append(bytes.substr(i, seq.length));
            i += seq.length;
        } else if (i + seq.matched == n && !final) {
            return i;  // a well-formed prefix that the next bytes may complete
        } else {
            out += kReplacement;  // the matched bytes form one maximal ill-formed subpart
            i += seq.matched;
        }
    }
    return n;
}

}  // namespace lowbit::llm

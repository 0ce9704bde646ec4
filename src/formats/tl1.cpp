// TL1 (lowbit type 1026): lookup-table ternary, pairs of weights along a row.
// Pair p = (w[2p], w[2p+1]) -> index 3*w0 + w1 + 4 in 0..8, one nibble; byte p/2 of the row
// holds pair p in its low nibble when p is even, high nibble when odd. An odd last column
// pairs with a zero weight; an unused last nibble holds 4 (the pair (0, 0)).
// Row bytes: ceil(ceil(cols/2) / 2). One f32 scale per tensor in the 32-byte tail.
// Indices 9..15 are never written and decode as (0, 0).
#include "formats.hpp"
#include "tensor_scale_format.hpp"

namespace lowbit::formats {
namespace {

struct Pair {
    int8_t w0;
    int8_t w1;
};

constexpr Pair pair_of(int index) {
    if (index > 8) {
        return {0, 0};
    }
    return {static_cast<int8_t>(index / 3 - 1), static_cast<int8_t>(index % 3 - 1)};
}

struct TL1 {
    static constexpr const char* kName = "TL1";
    static constexpr TypeId kId = TypeId::TL1;
    static constexpr int64_t kElems = 4;
    static constexpr int64_t kBytes = 1;
    static constexpr int64_t kColMultiple = 1;
    static constexpr double kBits = 2.0;
    static constexpr std::string_view kLayout =
        "pairs along a row: nibble 3*w0+w1+4, first pair low; f32 scale in 32-byte tail";

    static std::size_t row_bytes(int64_t cols) {
        const int64_t pairs = (cols + 1) / 2;
        return static_cast<std::size_t>((pairs + 1) / 2);
    }

    static void encode_row(const int8_t* t, int64_t cols, uint8_t* row) {
        const int64_t pairs = (cols + 1) / 2;
        const std::size_t bytes = row_bytes(cols);
        std::memset(row, 0x44, bytes);  // every nibble the zero pair until written
        for (int64_t p = 0; p < pairs; ++p) {
            const int w0 = t[2 * p];
            const int w1 = 2 * p + 1 < cols ? t[2 * p + 1] : 0;
            const auto index = static_cast<uint8_t>(3 * w0 + w1 + 4);
            uint8_t& byte = row[p / 2];
            byte = (p % 2 == 0) ? static_cast<uint8_t>((byte & 0xf0) | index)
                                : static_cast<uint8_t>((byte & 0x0f) | (index << 4));
        }
    }

    static void decode_row(const uint8_t* row, int64_t cols, int8_t* t) {
        for (int64_t c = 0; c < cols; ++c) {
            const int64_t p = c / 2;
            const int index = (row[p / 2] >> (4 * (p % 2))) & 0xf;
            const Pair pair = pair_of(index);
            t[c] = c % 2 == 0 ? pair.w0 : pair.w1;
        }
    }
};

}  // namespace

WeightType tl1_type() { return make_tensor_scale_type<TL1>(); }

}  // namespace lowbit::formats

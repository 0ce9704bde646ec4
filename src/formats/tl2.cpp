// TL2 (lowbit type 1027): lookup-table ternary, triples of weights along a row.
// Triple i = (w[3i], w[3i+1], w[3i+2]) -> v = 9*w0 + 3*w1 + w2 in -13..13, stored as a 4-bit
// magnitude |v| plus a sign bit (1 = negative). Row layout, for T = cols / 3 triples:
//   bytes [0, ceil(T/2))            magnitudes: triple i in byte i/2, low nibble when i even
//   next ceil(T/8) bytes            signs: triple i in byte i/8, bit i%8
//   1 more byte when cols % 3 != 0  the last 1-2 columns as one TL1 pair (tl1.cpp), low
//                                   nibble; high nibble 4 (the zero pair)
// Unused nibbles and sign bits are 0. One f32 scale per tensor in the 32-byte tail.
// Magnitudes 14 and 15 are never written and decode as (0, 0, 0).
#include "formats.hpp"
#include "tensor_scale_format.hpp"

namespace lowbit::formats {
namespace {

struct TL2 {
    static constexpr const char* kName = "TL2";
    static constexpr TypeId kId = TypeId::TL2;
    static constexpr int64_t kElems = 24;
    static constexpr int64_t kBytes = 5;
    static constexpr int64_t kColMultiple = 1;
    static constexpr double kBits = 5.0 / 3.0;
    static constexpr std::string_view kLayout =
        "per row: |9w0+3w1+w2| nibbles, then sign bits, then a TL1 byte for cols%3; f32 scale tail";

    static int64_t triples(int64_t cols) { return cols / 3; }
    static std::size_t magnitude_bytes(int64_t cols) { return static_cast<std::size_t>((triples(cols) + 1) / 2); }
    static std::size_t sign_bytes(int64_t cols) { return static_cast<std::size_t>((triples(cols) + 7) / 8); }

    static std::size_t row_bytes(int64_t cols) {
        return magnitude_bytes(cols) + sign_bytes(cols) + (cols % 3 != 0 ? 1 : 0);
    }

    static void encode_row(const int8_t* t, int64_t cols, uint8_t* row) {
        std::memset(row, 0, row_bytes(cols));
        uint8_t* signs = row + magnitude_bytes(cols);
        for (int64_t i = 0; i < triples(cols); ++i) {
            const int v = 9 * t[3 * i] + 3 * t[3 * i + 1] + t[3 * i + 2];
            const int magnitude = v < 0 ? -v : v;
            row[i / 2] |= static_cast<uint8_t>(magnitude << (4 * (i % 2)));
            if (v < 0) {
                signs[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
            }
        }
        const int64_t rest = cols % 3;
        if (rest != 0) {
            const int64_t c = 3 * triples(cols);
            const int w0 = t[c];
            const int w1 = rest == 2 ? t[c + 1] : 0;
            row[row_bytes(cols) - 1] = static_cast<uint8_t>(0x40 | (3 * w0 + w1 + 4));
        }
    }

    static void decode_row(const uint8_t* row, int64_t cols, int8_t* t) {
        const uint8_t* signs = row + magnitude_bytes(cols);
        for (int64_t i = 0; i < triples(cols); ++i) {
            int magnitude = (row[i / 2] >> (4 * (i % 2))) & 0xf;
            if (magnitude > 13) {
                magnitude = 0;
            }
            const int v = (signs[i / 8] >> (i % 8)) & 1 ? -magnitude : magnitude;
            // balanced base-3 digits of v: u = v + 13 has ordinary base-3 digits w + 1
            const int u = v + 13;
            t[3 * i] = static_cast<int8_t>(u / 9 - 1);
            t[3 * i + 1] = static_cast<int8_t>((u / 3) % 3 - 1);
            t[3 * i + 2] = static_cast<int8_t>(u % 3 - 1);
        }
        const int64_t rest = cols % 3;
        if (rest != 0) {
            const int64_t c = 3 * triples(cols);
            int index = row[row_bytes(cols) - 1] & 0xf;
            if (index > 8) {
                index = 4;
            }
            t[c] = static_cast<int8_t>(index / 3 - 1);
            if (rest == 2) {
                t[c + 1] = static_cast<int8_t>(index % 3 - 1);
            }
        }
    }
};

}  // namespace

WeightType tl2_type() { return make_tensor_scale_type<TL2>(); }

}  // namespace lowbit::formats

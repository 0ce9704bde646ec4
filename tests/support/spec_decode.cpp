// Independent decoder for lowbit's weight types, written from ../shared/spec/formats.md and
// docs/FORMATS.md only. See spec_decode.hpp.
//
// Every decoder below walks the elements of one row in order and computes, for each element,
// the byte and the bit shift where the documents say it lives. No lookup tables, no SIMD, no
// shared helpers with the library except the f16/bf16 -> f32 conversions of fp16.hpp.
#include "support/spec_decode.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "lowbit/fp16.hpp"

namespace lowbit::test {
namespace {

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

[[noreturn]] void bad_shape(const std::string& what) {
    throw std::invalid_argument("spec_decode: " + what);
}

// Reads one byte, checking that it lies inside the tensor.
uint8_t byte_at(std::span<const uint8_t> t, int64_t offset) {
    if (offset < 0 || static_cast<std::size_t>(offset) >= t.size()) {
        throw std::out_of_range("spec_decode: byte offset " + std::to_string(offset) +
                                " is outside the tensor of " + std::to_string(t.size()) +
                                " bytes");
    }
    return t[static_cast<std::size_t>(offset)];
}

// Little-endian u16 (f16 / bf16 bits).
uint16_t read_u16(std::span<const uint8_t> t, int64_t offset) {
    const uint16_t lo = byte_at(t, offset);
    const uint16_t hi = byte_at(t, offset + 1);
    return static_cast<uint16_t>(lo | (hi << 8));
}

// Little-endian u32.
uint32_t read_u32(std::span<const uint8_t> t, int64_t offset) {
    uint32_t u = 0;
    for (int i = 0; i < 4; ++i) {
        u |= static_cast<uint32_t>(byte_at(t, offset + i)) << (8 * i);
    }
    return u;
}

float read_f16(std::span<const uint8_t> t, int64_t offset) {
    return f16_to_f32(read_u16(t, offset));
}

float read_bf16(std::span<const uint8_t> t, int64_t offset) {
    return bf16_to_f32(read_u16(t, offset));
}

float read_f32(std::span<const uint8_t> t, int64_t offset) {
    const uint32_t u = read_u32(t, offset);
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

void check_row(int64_t rows, int64_t cols, int64_t row) {
    if (rows <= 0 || cols <= 0) bad_shape("rows and cols must be positive");
    if (row < 0 || row >= rows) bad_shape("row index out of range");
}

void require_multiple(int64_t cols, int64_t block, const char* type) {
    if (cols % block != 0) {
        bad_shape(std::string(type) + ": cols " + std::to_string(cols) +
                  " is not a multiple of " + std::to_string(block));
    }
}

// ---------------------------------------------------------------------------------------
// Group-wise integer types: id = 1100 + 8 * (b = 2, 4, 8 -> 0, 1, 2) + 4 * asymmetric
//                                      + (g = 32, 64, 128, 256 -> 0..3)
// ---------------------------------------------------------------------------------------

struct IntParams {
    int bits = 0;
    bool asymmetric = false;
    int64_t group = 0;
};

bool is_int_group(TypeId id) {
    const uint32_t v = static_cast<uint32_t>(id);
    return v >= 1100 && v <= 1123;
}

IntParams int_params(TypeId id) {
    const int v = static_cast<int>(static_cast<uint32_t>(id)) - 1100;
    const int bits_index = v / 8;          // 0, 1, 2
    const int asym = (v % 8) / 4;          // 0, 1
    const int group_index = v % 4;         // 0..3
    IntParams p;
    p.bits = bits_index == 0 ? 2 : bits_index == 1 ? 4 : 8;
    p.asymmetric = asym == 1;
    p.group = group_index == 0 ? 32 : group_index == 1 ? 64 : group_index == 2 ? 128 : 256;
    return p;
}

// Bytes of one row of INT codes: ceil(cols * b / 8).
int64_t int_code_row_bytes(int64_t cols, int bits) { return ceil_div(cols * bits, 8); }

// ---------------------------------------------------------------------------------------
// TL1 / TL2 row sizes (docs/FORMATS.md)
// ---------------------------------------------------------------------------------------

// TL1: row_bytes = ceil(ceil(cols / 2) / 2)
int64_t tl1_row_bytes(int64_t cols) { return ceil_div(ceil_div(cols, 2), 2); }

// TL2: T = floor(cols / 3); row_bytes = ceil(T/2) + ceil(T/8) + (cols % 3 ? 1 : 0)
int64_t tl2_row_bytes(int64_t cols) {
    const int64_t triples = cols / 3;
    return ceil_div(triples, 2) + ceil_div(triples, 8) + (cols % 3 != 0 ? 1 : 0);
}

// TL1 index -> pair. idx = 3*w0 + w1 + 4 = 3*(w0 + 1) + (w1 + 1). Indices 9..15 decode as (0, 0).
void tl1_pair(int index, int32_t& w0, int32_t& w1) {
    if (index > 8) {
        w0 = 0;
        w1 = 0;
        return;
    }
    w0 = index / 3 - 1;
    w1 = index % 3 - 1;
}

// ---------------------------------------------------------------------------------------
// Per-type decoders. Each fills `out` for one row.
// ---------------------------------------------------------------------------------------

void decode_float_row(TypeId id, std::span<const uint8_t> t, int64_t cols, int64_t row,
                      DecodedRow& out) {
    out.combine = Combine::float_weights;
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t k = 0; k < cols; ++k) {
        const int64_t e = row * cols + k;
        float v = 0;
        if (id == TypeId::F32) {
            v = read_f32(t, 4 * e);
        } else if (id == TypeId::F16) {
            v = read_f16(t, 2 * e);
        } else {  // BF16
            v = read_bf16(t, 2 * e);
        }
        out.values[static_cast<std::size_t>(k)] = v;
    }
}

// I2_S: tensor-wide. n = rows*cols, group g of 128 elements -> 32 bytes; element j of group g
// in byte 32g + j%32 at shift 6 - 2*(j/32). Code c -> c - 1 (3 -> +2). f32 scale at byte n/4.
void decode_i2_s_row(std::span<const uint8_t> t, int64_t rows, int64_t cols, int64_t row,
                     DecodedRow& out) {
    require_multiple(cols, 128, "I2_S");
    const int64_t n = rows * cols;
    const float scale = read_f32(t, n / 4);
    out.combine = Combine::tensor_scale;
    DecodedBlock b;
    b.first = 0;
    b.d = scale;
    b.w.resize(static_cast<std::size_t>(cols));
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t k = 0; k < cols; ++k) {
        const int64_t e = row * cols + k;  // element index within the whole tensor
        const int64_t g = e / 128;
        const int64_t j = e % 128;
        const uint8_t byte = byte_at(t, 32 * g + j % 32);
        const int shift = static_cast<int>(6 - 2 * (j / 32));
        const int code = (byte >> shift) & 3;
        const int32_t w = code - 1;
        b.w[static_cast<std::size_t>(k)] = w;
        out.values[static_cast<std::size_t>(k)] = static_cast<float>(w) * scale;
    }
    out.blocks.push_back(std::move(b));
}

// TQ2_0: 256-element blocks of 66 bytes: qs[64], f16 d. Element 128h + 32l + m is in byte
// 32h + m at shift 2l. Value (code - 1) * d.
void decode_tq2_0_row(std::span<const uint8_t> t, int64_t cols, int64_t row, DecodedRow& out) {
    require_multiple(cols, 256, "TQ2_0");
    const int64_t nb = cols / 256;
    out.combine = Combine::blocks;
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t ib = 0; ib < nb; ++ib) {
        const int64_t base = (row * nb + ib) * 66;
        DecodedBlock b;
        b.first = ib * 256;
        b.d = read_f16(t, base + 64);
        b.w.resize(256);
        for (int64_t k = 0; k < 256; ++k) {
            const int64_t h = k / 128;
            const int64_t l = (k % 128) / 32;
            const int64_t m = k % 32;
            const uint8_t byte = byte_at(t, base + 32 * h + m);
            const int code = (byte >> (2 * l)) & 3;
            const int32_t w = code - 1;
            b.w[static_cast<std::size_t>(k)] = w;
            out.values[static_cast<std::size_t>(b.first + k)] = static_cast<float>(w) * b.d;
        }
        out.blocks.push_back(std::move(b));
    }
}

// TQ1_0 trit n (0 = most significant) of a byte: ((uint8_t)(b * 3^n) * 3) >> 8.
int tq1_trit(uint8_t byte, int n) {
    int pow3 = 1;
    for (int i = 0; i < n; ++i) pow3 *= 3;
    const uint8_t shifted = static_cast<uint8_t>(byte * pow3);  // uint8 wrap-around intended
    return (shifted * 3) >> 8;
}

// TQ1_0: 256-element blocks of 54 bytes: qs[48], qh[4], f16 d.
//   bytes 0..31:  byte m holds elements m + 32n, n = 0..4          (elements 0..159)
//   bytes 32..47: byte 32+m holds elements 160 + m + 16n, n = 0..4  (elements 160..239)
//   qh[j]:        holds elements 240 + j + 4n, n = 0..3             (elements 240..255)
void decode_tq1_0_row(std::span<const uint8_t> t, int64_t cols, int64_t row, DecodedRow& out) {
    require_multiple(cols, 256, "TQ1_0");
    const int64_t nb = cols / 256;
    out.combine = Combine::blocks;
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t ib = 0; ib < nb; ++ib) {
        const int64_t base = (row * nb + ib) * 54;
        DecodedBlock b;
        b.first = ib * 256;
        b.d = read_f16(t, base + 52);
        b.w.resize(256);
        for (int64_t k = 0; k < 256; ++k) {
            int64_t byte_offset = 0;
            int n = 0;
            if (k < 160) {
                byte_offset = k % 32;              // qs[m], k = m + 32n
                n = static_cast<int>(k / 32);
            } else if (k < 240) {
                const int64_t r = k - 160;         // k = 160 + m + 16n
                byte_offset = 32 + r % 16;
                n = static_cast<int>(r / 16);
            } else {
                const int64_t r = k - 240;         // k = 240 + j + 4n
                byte_offset = 48 + r % 4;          // qh[j]
                n = static_cast<int>(r / 4);
            }
            const int trit = tq1_trit(byte_at(t, base + byte_offset), n);
            const int32_t w = trit - 1;
            b.w[static_cast<std::size_t>(k)] = w;
            out.values[static_cast<std::size_t>(b.first + k)] = static_cast<float>(w) * b.d;
        }
        out.blocks.push_back(std::move(b));
    }
}

// TL1: rows of tl1_row_bytes(cols), then the f32 scale. Pair p = columns (2p, 2p+1) in byte
// p/2 of the row, low nibble for even p, high for odd p.
void decode_tl1_row(std::span<const uint8_t> t, int64_t rows, int64_t cols, int64_t row,
                    DecodedRow& out) {
    const int64_t rb = tl1_row_bytes(cols);
    const float scale = read_f32(t, rows * rb);
    out.combine = Combine::tensor_scale;
    DecodedBlock b;
    b.first = 0;
    b.d = scale;
    b.w.resize(static_cast<std::size_t>(cols));
    const int64_t pairs = ceil_div(cols, 2);
    for (int64_t p = 0; p < pairs; ++p) {
        const uint8_t byte = byte_at(t, row * rb + p / 2);
        const int index = (p % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
        int32_t w0 = 0;
        int32_t w1 = 0;
        tl1_pair(index, w0, w1);
        b.w[static_cast<std::size_t>(2 * p)] = w0;
        if (2 * p + 1 < cols) b.w[static_cast<std::size_t>(2 * p + 1)] = w1;
    }
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t k = 0; k < cols; ++k) {
        out.values[static_cast<std::size_t>(k)] =
            static_cast<float>(b.w[static_cast<std::size_t>(k)]) * scale;
    }
    out.blocks.push_back(std::move(b));
}

// TL2: per row, T = cols/3 triples: magnitude nibbles [0, ceil(T/2)), sign bits
// [ceil(T/2), ceil(T/2) + ceil(T/8)), then one TL1 byte when cols % 3 != 0. f32 scale after
// all rows. v = +-|v|, u = v + 13 has base-3 digits (w0+1, w1+1, w2+1), most significant
// first. Magnitudes 14 and 15 decode as (0, 0, 0); a tail index above 8 as the zero pair.
void decode_tl2_row(std::span<const uint8_t> t, int64_t rows, int64_t cols, int64_t row,
                    DecodedRow& out) {
    const int64_t rb = tl2_row_bytes(cols);
    const int64_t triples = cols / 3;
    const int64_t mag_bytes = ceil_div(triples, 2);
    const int64_t sign_bytes = ceil_div(triples, 8);
    const float scale = read_f32(t, rows * rb);
    const int64_t row_start = row * rb;
    out.combine = Combine::tensor_scale;
    DecodedBlock b;
    b.first = 0;
    b.d = scale;
    b.w.resize(static_cast<std::size_t>(cols));
    for (int64_t i = 0; i < triples; ++i) {
        const uint8_t mbyte = byte_at(t, row_start + i / 2);
        const int magnitude = (i % 2 == 0) ? (mbyte & 0x0F) : (mbyte >> 4);
        const uint8_t sbyte = byte_at(t, row_start + mag_bytes + i / 8);
        const int negative = (sbyte >> (i % 8)) & 1;
        int32_t w0 = 0;
        int32_t w1 = 0;
        int32_t w2 = 0;
        if (magnitude <= 13) {
            const int v = negative ? -magnitude : magnitude;
            const int u = v + 13;  // 0..26
            w0 = u / 9 - 1;
            w1 = (u / 3) % 3 - 1;
            w2 = u % 3 - 1;
        }
        b.w[static_cast<std::size_t>(3 * i)] = w0;
        b.w[static_cast<std::size_t>(3 * i + 1)] = w1;
        b.w[static_cast<std::size_t>(3 * i + 2)] = w2;
    }
    const int64_t rest = cols % 3;
    if (rest != 0) {
        const uint8_t tail = byte_at(t, row_start + mag_bytes + sign_bytes);
        const int index = tail & 0x0F;
        int32_t w0 = 0;
        int32_t w1 = 0;
        tl1_pair(index, w0, w1);
        b.w[static_cast<std::size_t>(3 * triples)] = w0;
        if (rest == 2) b.w[static_cast<std::size_t>(3 * triples + 1)] = w1;
    }
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t k = 0; k < cols; ++k) {
        out.values[static_cast<std::size_t>(k)] =
            static_cast<float>(b.w[static_cast<std::size_t>(k)]) * scale;
    }
    out.blocks.push_back(std::move(b));
}

// Four-level code: 0, 1, 2, 3 -> -2, -1, +1, +2.
int32_t four_level(int code) {
    if (code == 0) return -2;
    if (code == 1) return -1;
    if (code == 2) return 1;
    return 2;
}

// QK256: all code blocks (64 bytes each, row-major), then all f32 scales (row-major).
// Element k of a block in byte k/4 at shift 2*(k%4).
void decode_qk256_row(std::span<const uint8_t> t, int64_t rows, int64_t cols, int64_t row,
                      DecodedRow& out) {
    require_multiple(cols, 256, "QK256");
    const int64_t nb = cols / 256;
    const int64_t scales_offset = rows * nb * 64;
    out.combine = Combine::blocks;
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t ib = 0; ib < nb; ++ib) {
        const int64_t block_index = row * nb + ib;
        const int64_t base = block_index * 64;
        DecodedBlock b;
        b.first = ib * 256;
        b.d = read_f32(t, scales_offset + 4 * block_index);
        b.w.resize(256);
        for (int64_t k = 0; k < 256; ++k) {
            const uint8_t byte = byte_at(t, base + k / 4);
            const int code = (byte >> (2 * (k % 4))) & 3;
            const int32_t w = four_level(code);
            b.w[static_cast<std::size_t>(k)] = w;
            out.values[static_cast<std::size_t>(b.first + k)] = static_cast<float>(w) * b.d;
        }
        out.blocks.push_back(std::move(b));
    }
}

// I2S32: blocks of 32, 10 bytes: 8 code bytes (QK256 packing) then f16 d.
void decode_i2s32_row(std::span<const uint8_t> t, int64_t cols, int64_t row, DecodedRow& out) {
    require_multiple(cols, 32, "I2S32");
    const int64_t nb = cols / 32;
    out.combine = Combine::blocks;
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t ib = 0; ib < nb; ++ib) {
        const int64_t base = (row * nb + ib) * 10;
        DecodedBlock b;
        b.first = ib * 32;
        b.d = read_f16(t, base + 8);
        b.w.resize(32);
        for (int64_t k = 0; k < 32; ++k) {
            const uint8_t byte = byte_at(t, base + k / 4);
            const int code = (byte >> (2 * (k % 4))) & 3;
            const int32_t w = four_level(code);
            b.w[static_cast<std::size_t>(k)] = w;
            out.values[static_cast<std::size_t>(b.first + k)] = static_cast<float>(w) * b.d;
        }
        out.blocks.push_back(std::move(b));
    }
}

// Q8_0: blocks of 32, 34 bytes: f16 d; int8 q[32]. Value q * d.
void decode_q8_0_row(std::span<const uint8_t> t, int64_t cols, int64_t row, DecodedRow& out) {
    require_multiple(cols, 32, "Q8_0");
    const int64_t nb = cols / 32;
    out.combine = Combine::blocks;
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t ib = 0; ib < nb; ++ib) {
        const int64_t base = (row * nb + ib) * 34;
        DecodedBlock b;
        b.first = ib * 32;
        b.d = read_f16(t, base);
        b.w.resize(32);
        for (int64_t k = 0; k < 32; ++k) {
            const int32_t q = static_cast<int8_t>(byte_at(t, base + 2 + k));
            b.w[static_cast<std::size_t>(k)] = q;
            out.values[static_cast<std::size_t>(b.first + k)] = static_cast<float>(q) * b.d;
        }
        out.blocks.push_back(std::move(b));
    }
}

// Q4 nibble order: element j (< 16) in the low nibble of qs[j], element j + 16 in the high.
int q4_nibble(std::span<const uint8_t> t, int64_t qs_offset, int64_t k) {
    if (k < 16) return byte_at(t, qs_offset + k) & 0x0F;
    return byte_at(t, qs_offset + (k - 16)) >> 4;
}

// Q4_0: blocks of 32, 18 bytes: f16 d; uint8 qs[16]. Value (q - 8) * d.
void decode_q4_0_row(std::span<const uint8_t> t, int64_t cols, int64_t row, DecodedRow& out) {
    require_multiple(cols, 32, "Q4_0");
    const int64_t nb = cols / 32;
    out.combine = Combine::blocks;
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t ib = 0; ib < nb; ++ib) {
        const int64_t base = (row * nb + ib) * 18;
        DecodedBlock b;
        b.first = ib * 32;
        b.d = read_f16(t, base);
        b.w.resize(32);
        for (int64_t k = 0; k < 32; ++k) {
            const int32_t q = q4_nibble(t, base + 2, k);
            const int32_t w = q - 8;
            b.w[static_cast<std::size_t>(k)] = w;
            out.values[static_cast<std::size_t>(b.first + k)] = static_cast<float>(w) * b.d;
        }
        out.blocks.push_back(std::move(b));
    }
}

// Q4_1: blocks of 32, 20 bytes: f16 d; f16 m; uint8 qs[16]. Value q * d + m.
void decode_q4_1_row(std::span<const uint8_t> t, int64_t cols, int64_t row, DecodedRow& out) {
    require_multiple(cols, 32, "Q4_1");
    const int64_t nb = cols / 32;
    out.combine = Combine::blocks;
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t ib = 0; ib < nb; ++ib) {
        const int64_t base = (row * nb + ib) * 20;
        DecodedBlock b;
        b.first = ib * 32;
        b.d = read_f16(t, base);
        b.m = read_f16(t, base + 2);
        b.w.resize(32);
        for (int64_t k = 0; k < 32; ++k) {
            const int32_t q = q4_nibble(t, base + 4, k);
            b.w[static_cast<std::size_t>(k)] = q;
            const float qd = static_cast<float>(q) * b.d;  // no FMA: product, then sum
            out.values[static_cast<std::size_t>(b.first + k)] = qd + b.m;
        }
        out.blocks.push_back(std::move(b));
    }
}

// Q6_K: blocks of 256, 210 bytes: ql[128], qh[64], int8 scales[16], f16 d.
// Per 128-element half h (ql += 64h, qh += 32h, scales += 8h) and l = 0..31:
//   element l      : low  nibble of ql[l],      qh[l] bits 0-1, scale scales[l/16 + 0]
//   element l + 32 : low  nibble of ql[l + 32], qh[l] bits 2-3, scale scales[l/16 + 2]
//   element l + 64 : high nibble of ql[l],      qh[l] bits 4-5, scale scales[l/16 + 4]
//   element l + 96 : high nibble of ql[l + 32], qh[l] bits 6-7, scale scales[l/16 + 6]
// Value (d * scales[s]) * (q - 32).
void decode_q6_k_row(std::span<const uint8_t> t, int64_t cols, int64_t row, DecodedRow& out) {
    require_multiple(cols, 256, "Q6_K");
    const int64_t nb = cols / 256;
    out.combine = Combine::blocks;
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t ib = 0; ib < nb; ++ib) {
        const int64_t base = (row * nb + ib) * 210;
        const int64_t ql = base;
        const int64_t qh = base + 128;
        const int64_t scales = base + 192;
        DecodedBlock b;
        b.first = ib * 256;
        b.d = read_f16(t, base + 208);
        b.w.resize(256);
        for (int64_t k = 0; k < 256; ++k) {
            const int64_t h = k / 128;
            const int64_t quarter = (k % 128) / 32;  // which of the four (0..3)
            const int64_t l = k % 32;
            const int64_t ql_h = ql + 64 * h;
            const int64_t qh_h = qh + 32 * h;
            const int64_t sc_h = scales + 8 * h;
            int low = 0;
            if (quarter == 0) low = byte_at(t, ql_h + l) & 0x0F;
            if (quarter == 1) low = byte_at(t, ql_h + l + 32) & 0x0F;
            if (quarter == 2) low = byte_at(t, ql_h + l) >> 4;
            if (quarter == 3) low = byte_at(t, ql_h + l + 32) >> 4;
            const int high = (byte_at(t, qh_h + l) >> (2 * quarter)) & 3;
            const int q = low | (high << 4);
            const int32_t sc = static_cast<int8_t>(byte_at(t, sc_h + l / 16 + 2 * quarter));
            b.w[static_cast<std::size_t>(k)] = sc * (q - 32);
            const float dsc = b.d * static_cast<float>(sc);
            out.values[static_cast<std::size_t>(b.first + k)] = dsc * static_cast<float>(q - 32);
        }
        out.blocks.push_back(std::move(b));
    }
}

// INTb_{SYM,ASYM}_Gg: codes (rows * ceil(cols*b/8), element k at bit k*b of its row), then
// f16 scales (rows * G), then u8 zero points (rows * G, asymmetric only); G = ceil(cols/g).
void decode_int_row(TypeId id, std::span<const uint8_t> t, int64_t rows, int64_t cols,
                    int64_t row, DecodedRow& out) {
    const IntParams p = int_params(id);
    const int64_t code_row_bytes = int_code_row_bytes(cols, p.bits);
    const int64_t groups = ceil_div(cols, p.group);
    const int64_t scales_offset = rows * code_row_bytes;
    const int64_t zeros_offset = scales_offset + rows * groups * 2;
    const int mask = (1 << p.bits) - 1;
    out.combine = Combine::blocks;
    out.values.resize(static_cast<std::size_t>(cols));
    for (int64_t gi = 0; gi < groups; ++gi) {
        DecodedBlock b;
        b.first = gi * p.group;
        const int64_t end = (b.first + p.group < cols) ? b.first + p.group : cols;
        b.d = read_f16(t, scales_offset + 2 * (row * groups + gi));
        int32_t z = 0;
        if (p.asymmetric) z = byte_at(t, zeros_offset + row * groups + gi);
        for (int64_t k = b.first; k < end; ++k) {
            const int64_t bit = k * p.bits;
            const uint8_t byte = byte_at(t, row * code_row_bytes + bit / 8);
            const int field = (byte >> (bit % 8)) & mask;
            int32_t w = 0;
            float value = 0;
            if (p.asymmetric) {
                w = field - z;
                value = static_cast<float>(field - z) * b.d;
            } else {
                int32_t q = field;
                if (q >= (1 << (p.bits - 1))) q -= (1 << p.bits);  // two's complement
                w = q;
                value = static_cast<float>(q) * b.d;
            }
            b.w.push_back(w);
            out.values[static_cast<std::size_t>(k)] = value;
        }
        out.blocks.push_back(std::move(b));
    }
}

}  // namespace

DecodedRow decode_row(TypeId id, std::span<const uint8_t> tensor, int64_t rows, int64_t cols,
                      int64_t row) {
    check_row(rows, cols, row);
    DecodedRow out;
    if (is_int_group(id)) {
        decode_int_row(id, tensor, rows, cols, row, out);
        return out;
    }
    switch (id) {
        case TypeId::F32:
        case TypeId::F16:
        case TypeId::BF16: decode_float_row(id, tensor, cols, row, out); break;
        case TypeId::I2_S: decode_i2_s_row(tensor, rows, cols, row, out); break;
        case TypeId::TQ1_0: decode_tq1_0_row(tensor, cols, row, out); break;
        case TypeId::TQ2_0: decode_tq2_0_row(tensor, cols, row, out); break;
        case TypeId::TL1: decode_tl1_row(tensor, rows, cols, row, out); break;
        case TypeId::TL2: decode_tl2_row(tensor, rows, cols, row, out); break;
        case TypeId::QK256: decode_qk256_row(tensor, rows, cols, row, out); break;
        case TypeId::I2S32: decode_i2s32_row(tensor, cols, row, out); break;
        case TypeId::Q8_0: decode_q8_0_row(tensor, cols, row, out); break;
        case TypeId::Q4_0: decode_q4_0_row(tensor, cols, row, out); break;
        case TypeId::Q4_1: decode_q4_1_row(tensor, cols, row, out); break;
        case TypeId::Q6_K: decode_q6_k_row(tensor, cols, row, out); break;
        default:
            bad_shape("unknown type id " + std::to_string(static_cast<uint32_t>(id)));
    }
    return out;
}

float expected_gemv_i8(const DecodedRow& row, const int8_t* q, float scale) {
    switch (row.combine) {
        case Combine::blocks: {
            float acc = 0.0f;
            for (const DecodedBlock& b : row.blocks) {
                int64_t isum = 0;
                int64_t asum = 0;
                for (std::size_t k = 0; k < b.w.size(); ++k) {
                    const int64_t a = q[static_cast<std::size_t>(b.first) + k];
                    isum += static_cast<int64_t>(b.w[k]) * a;
                    asum += a;
                }
                if (b.m != 0.0f) {
                    // Q4_1. (When a Q4_1 block's m is +-0 the term m*asum is +-0 and cannot
                    // change the sum, since acc is never -0; so the plain form below is
                    // exact for it as well.)
                    const float term_d = b.d * static_cast<float>(isum);
                    const float term_m = b.m * static_cast<float>(asum);
                    acc += term_d + term_m;
                } else {
                    acc += b.d * static_cast<float>(isum);
                }
            }
            return acc / scale;
        }
        case Combine::tensor_scale: {
            int64_t isum = 0;
            const DecodedBlock& b = row.blocks.at(0);
            for (std::size_t k = 0; k < b.w.size(); ++k) {
                isum += static_cast<int64_t>(b.w[k]) * q[static_cast<std::size_t>(b.first) + k];
            }
            return static_cast<float>(isum) / scale * b.d;
        }
        case Combine::float_weights: {
            double acc = 0.0;
            for (std::size_t k = 0; k < row.values.size(); ++k) {
                acc += static_cast<double>(row.values[k]) * static_cast<double>(q[k]);
            }
            return static_cast<float>(acc) / scale;
        }
    }
    throw std::invalid_argument("spec_decode: unknown Combine");
}

std::size_t spec_tensor_bytes(TypeId id, int64_t rows, int64_t cols) {
    if (rows <= 0 || cols <= 0) bad_shape("rows and cols must be positive");
    int64_t bytes = 0;
    if (is_int_group(id)) {
        const IntParams p = int_params(id);
        const int64_t groups = ceil_div(cols, p.group);
        bytes = rows * int_code_row_bytes(cols, p.bits) + rows * groups * 2;
        if (p.asymmetric) bytes += rows * groups;
        return static_cast<std::size_t>(bytes);
    }
    switch (id) {
        case TypeId::F32: bytes = rows * cols * 4; break;
        case TypeId::F16:
        case TypeId::BF16: bytes = rows * cols * 2; break;
        case TypeId::I2_S:
            require_multiple(cols, 128, "I2_S");
            bytes = rows * cols / 4 + 32;
            break;
        case TypeId::TQ1_0:
            require_multiple(cols, 256, "TQ1_0");
            bytes = rows * (cols / 256) * 54;
            break;
        case TypeId::TQ2_0:
            require_multiple(cols, 256, "TQ2_0");
            bytes = rows * (cols / 256) * 66;
            break;
        case TypeId::TL1: bytes = rows * tl1_row_bytes(cols) + 32; break;
        case TypeId::TL2: bytes = rows * tl2_row_bytes(cols) + 32; break;
        case TypeId::QK256:
            require_multiple(cols, 256, "QK256");
            bytes = rows * (cols / 256) * (64 + 4);
            break;
        case TypeId::I2S32:
            require_multiple(cols, 32, "I2S32");
            bytes = rows * (cols / 32) * 10;
            break;
        case TypeId::Q8_0:
            require_multiple(cols, 32, "Q8_0");
            bytes = rows * (cols / 32) * 34;
            break;
        case TypeId::Q4_0:
            require_multiple(cols, 32, "Q4_0");
            bytes = rows * (cols / 32) * 18;
            break;
        case TypeId::Q4_1:
            require_multiple(cols, 32, "Q4_1");
            bytes = rows * (cols / 32) * 20;
            break;
        case TypeId::Q6_K:
            require_multiple(cols, 256, "Q6_K");
            bytes = rows * (cols / 256) * 210;
            break;
        default:
            bad_shape("unknown type id " + std::to_string(static_cast<uint32_t>(id)));
    }
    return static_cast<std::size_t>(bytes);
}

std::vector<std::pair<std::size_t, std::size_t>> spec_code_byte_ranges(TypeId id, int64_t rows,
                                                                       int64_t cols) {
    std::vector<std::pair<std::size_t, std::size_t>> ranges;
    auto add = [&ranges](int64_t begin, int64_t end) {
        ranges.emplace_back(static_cast<std::size_t>(begin), static_cast<std::size_t>(end));
    };
    // One range [first, last) inside each of `count` blocks of `block_bytes`.
    auto per_block = [&add](int64_t count, int64_t block_bytes, int64_t first, int64_t last) {
        for (int64_t i = 0; i < count; ++i) add(i * block_bytes + first, i * block_bytes + last);
    };
    if (is_int_group(id)) {
        const IntParams p = int_params(id);
        add(0, rows * int_code_row_bytes(cols, p.bits));
        return ranges;
    }
    switch (id) {
        case TypeId::F32:
        case TypeId::F16:
        case TypeId::BF16: break;
        case TypeId::I2_S: add(0, rows * cols / 4); break;
        case TypeId::TQ1_0: per_block(rows * (cols / 256), 54, 0, 52); break;
        case TypeId::TQ2_0: per_block(rows * (cols / 256), 66, 0, 64); break;
        case TypeId::TL1: add(0, rows * tl1_row_bytes(cols)); break;
        case TypeId::TL2: add(0, rows * tl2_row_bytes(cols)); break;
        case TypeId::QK256: add(0, rows * (cols / 256) * 64); break;
        case TypeId::I2S32: per_block(rows * (cols / 32), 10, 0, 8); break;
        case TypeId::Q8_0: per_block(rows * (cols / 32), 34, 2, 34); break;
        case TypeId::Q4_0: per_block(rows * (cols / 32), 18, 2, 18); break;
        case TypeId::Q4_1: per_block(rows * (cols / 32), 20, 4, 20); break;
        case TypeId::Q6_K: per_block(rows * (cols / 256), 210, 0, 208); break;
        default:
            bad_shape("unknown type id " + std::to_string(static_cast<uint32_t>(id)));
    }
    return ranges;
}

}  // namespace lowbit::test

// Cross-checks every registered weight type's scalar reference (quantize -> dequantize, int8
// GEMV) against the independent decoder in tests/support/spec_decode.*, which is written from
// the documents only (../shared/spec/formats.md, docs/FORMATS.md).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "lowbit/activation.hpp"
#include "lowbit/fp16.hpp"
#include "lowbit/weight_type.hpp"
#include "support/spec_decode.hpp"

namespace lowbit::test {
namespace {

std::string type_name(const WeightType& t) { return std::string(t.name); }

bool is_float_type(TypeId id) {
    return id == TypeId::F32 || id == TypeId::F16 || id == TypeId::BF16;
}

struct Shape {
    int64_t rows;
    int64_t cols;
};

std::vector<Shape> test_shapes(const WeightType& t) {
    const int64_t cm = t.col_multiple;
    std::vector<Shape> shapes;
    if (cm == 1) {
        for (int64_t cols : {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 37, 63, 64, 65, 100, 127,
                             128, 129, 255, 256, 257, 300, 513}) {
            shapes.push_back({3, cols});
        }
        shapes.push_back({1, 37});
        shapes.push_back({5, 100});
    } else {
        for (int64_t k : {1, 2, 3, 5}) shapes.push_back({3, k * cm});
        shapes.push_back({1, cm});
        shapes.push_back({5, 2 * cm});
    }
    // A model-sized row (a multiple of 32, 128 and 256; I2_S's 2B4T width).
    shapes.push_back({2, 2560});
    return shapes;
}

// ---------------------------------------------------------------------------------------
// Weight inputs
// ---------------------------------------------------------------------------------------

enum class Input { normal, normal_large, normal_tiny, ternary, extreme, constant };

const char* input_name(Input in) {
    switch (in) {
        case Input::normal: return "normal(0,1)";
        case Input::normal_large: return "normal(0,1)*50";
        case Input::normal_tiny: return "normal(0,1)*1e-4";
        case Input::ternary: return "{-1,0,1}*0.37";
        case Input::extreme: return "extreme (+-A / one-signed rows)";
        case Input::constant: return "constant rows";
    }
    return "?";
}

std::vector<float> make_input(Input in, int64_t rows, int64_t cols, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> trit(-1, 1);
    std::uniform_int_distribution<int> coin(0, 1);
    std::vector<float> x(static_cast<std::size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            float v = 0.0f;
            switch (in) {
                case Input::normal: v = normal(rng); break;
                case Input::normal_large: v = normal(rng) * 50.0f; break;
                case Input::normal_tiny: v = normal(rng) * 1e-4f; break;
                case Input::ternary: v = static_cast<float>(trit(rng)) * 0.37f; break;
                case Input::extreme: {
                    const float a = 3.0f;
                    const bool big = coin(rng) == 1;
                    switch (r % 4) {
                        case 0: v = coin(rng) ? a : -a; break;             // +-A
                        case 1: v = big ? a : a / 4; break;                // all positive
                        case 2: v = big ? -a : -a / 4; break;              // all negative
                        default: v = (c % 5 == 0) ? 0.0f : (coin(rng) ? a : -a); break;
                    }
                    break;
                }
                case Input::constant: {
                    const float levels[4] = {0.75f, -0.5f, 0.0f, 2.0f};
                    v = levels[r % 4];
                    break;
                }
            }
            x[static_cast<std::size_t>(r * cols + c)] = v;
        }
    }
    return x;
}

// ---------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------

struct Activations {
    std::string name;
    std::vector<int8_t> q;
    float scale = 1.0f;
    int32_t sum = 0;

    ActivationRowI8 view() const {
        ActivationRowI8 a;
        a.q = q.data();
        a.n = static_cast<int64_t>(q.size());
        a.scale = scale;
        a.sum = sum;
        return a;
    }
};

std::vector<Activations> make_activations(int64_t cols, std::mt19937& rng) {
    std::vector<Activations> out;
    {
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> x(static_cast<std::size_t>(cols));
        for (float& v : x) v = normal(rng);
        Activations a;
        a.name = "quantize_activation_row(normal)";
        a.q.resize(x.size());
        const ActivationRowI8 row = quantize_activation_row(x, a.q);
        a.scale = row.scale;
        a.sum = row.sum;
        out.push_back(std::move(a));
    }
    std::uniform_int_distribution<int> coin(0, 1);
    for (int kind = 0; kind < 3; ++kind) {
        Activations a;
        a.name = kind == 0 ? "all +127" : kind == 1 ? "all -128" : "random +127/-128";
        a.q.resize(static_cast<std::size_t>(cols));
        for (int8_t& v : a.q) {
            const bool high = kind == 0 || (kind == 2 && coin(rng) == 1);
            v = high ? int8_t{127} : int8_t{-128};
        }
        a.scale = 127.0f / 3.0f;
        int32_t s = 0;
        for (int8_t v : a.q) s += v;
        a.sum = s;
        out.push_back(std::move(a));
    }
    return out;
}

// ---------------------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------------------

std::string float_text(float f) {
    std::ostringstream s;
    s.precision(9);
    s << f << " (bits 0x" << std::hex << f32_bits(f) << ")";
    return s.str();
}

// Compares `actual` (cols floats of row `row`) with the decoder's values bit for bit; reports
// the first mismatch and the number of mismatches.
void expect_row_values(const std::vector<float>& expected, const float* actual, int64_t row,
                       const char* what) {
    int64_t mismatches = 0;
    int64_t first = -1;
    for (std::size_t k = 0; k < expected.size(); ++k) {
        if (f32_bits(expected[k]) != f32_bits(actual[k])) {
            if (first < 0) first = static_cast<int64_t>(k);
            ++mismatches;
        }
    }
    if (mismatches != 0) {
        const auto k = static_cast<std::size_t>(first);
        ADD_FAILURE() << what << ": row " << row << ": " << mismatches << " of "
                      << expected.size() << " values differ; first at column " << first
                      << ": spec decoder " << float_text(expected[k]) << ", library "
                      << float_text(actual[k]);
    }
}

void check_tensor(const WeightType& t, const std::vector<uint8_t>& bytes, int64_t rows,
                  int64_t cols, const std::vector<Activations>& acts) {
    std::vector<DecodedRow> decoded;
    for (int64_t r = 0; r < rows; ++r) {
        try {
            decoded.push_back(decode_row(t.id, bytes, rows, cols, r));
        } catch (const std::exception& e) {
            FAIL() << "spec decoder failed on row " << r << ": " << e.what();
        }
        ASSERT_EQ(decoded.back().values.size(), static_cast<std::size_t>(cols));
    }
    const WeightView view{bytes.data(), rows, cols};

    // (a) dequantize == the decoder's values, bit for bit (whole range and one row at a time).
    {
        std::vector<float> all(static_cast<std::size_t>(rows * cols), std::nanf(""));
        t.reference.dequantize(view, 0, rows, all.data());
        for (int64_t r = 0; r < rows; ++r) {
            expect_row_values(decoded[static_cast<std::size_t>(r)].values,
                              all.data() + r * cols, r, "dequantize(rows 0..rows)");
        }
        for (int64_t r = 0; r < rows; ++r) {
            std::vector<float> one(static_cast<std::size_t>(cols), std::nanf(""));
            t.reference.dequantize(view, r, r + 1, one.data());
            expect_row_values(decoded[static_cast<std::size_t>(r)].values, one.data(), r,
                              "dequantize(one row)");
        }
    }

    // (b) gemv_i8 == the decoder's integer GEMV, exactly.
    for (const Activations& a : acts) {
        SCOPED_TRACE("activations: " + a.name);
        const ActivationRowI8 x = a.view();
        std::vector<float> y(static_cast<std::size_t>(rows), std::nanf(""));
        t.reference.gemv_i8(view, 0, rows, x, y.data());
        for (int64_t r = 0; r < rows; ++r) {
            const float expected =
                expected_gemv_i8(decoded[static_cast<std::size_t>(r)], a.q.data(), a.scale);
            EXPECT_EQ(y[static_cast<std::size_t>(r)], expected)
                << "gemv_i8 row " << r << ": spec " << float_text(expected) << ", library "
                << float_text(y[static_cast<std::size_t>(r)]);
        }
        // A sub-range starting at the last row (row offsets inside the kernel).
        float last = std::nanf("");
        t.reference.gemv_i8(view, rows - 1, rows, x, &last);
        const float expected_last =
            expected_gemv_i8(decoded[static_cast<std::size_t>(rows - 1)], a.q.data(), a.scale);
        EXPECT_EQ(last, expected_last) << "gemv_i8 on the last row alone";
    }
}

std::string shape_text(const Shape& s) {
    return std::to_string(s.rows) + " x " + std::to_string(s.cols);
}

bool quantize_or_fail(const WeightType& t, const std::vector<float>& x, const Shape& s,
                      std::vector<uint8_t>& bytes) {
    try {
        bytes.assign(t.tensor_bytes(s.rows, s.cols), 0);
        t.reference.quantize(x.data(), s.rows, s.cols, bytes.data());
    } catch (const std::exception& e) {
        ADD_FAILURE() << "quantize threw: " << e.what();
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

TEST(SpecDecode, RegistryCoversEveryDocumentedType) {
    std::vector<TypeId> want = {TypeId::F32,   TypeId::F16,   TypeId::BF16, TypeId::I2_S,
                                TypeId::TQ1_0, TypeId::TQ2_0, TypeId::TL1,  TypeId::TL2,
                                TypeId::QK256, TypeId::I2S32, TypeId::Q8_0, TypeId::Q6_K,
                                TypeId::Q4_0,  TypeId::Q4_1};
    for (uint32_t id = 1100; id <= 1123; ++id) want.push_back(static_cast<TypeId>(id));
    for (TypeId id : want) {
        const WeightType* t = find_weight_type(id);
        ASSERT_NE(t, nullptr) << "type id " << static_cast<uint32_t>(id) << " not registered";
        EXPECT_NE(t->reference.quantize, nullptr) << t->name;
        EXPECT_NE(t->reference.dequantize, nullptr) << t->name;
        EXPECT_NE(t->reference.gemv_i8, nullptr) << t->name;
    }
    EXPECT_EQ(weight_types().size(), want.size());
}

TEST(SpecDecode, TensorBytesMatchDocumentedLayout) {
    for (const WeightType& t : weight_types()) {
        SCOPED_TRACE(type_name(t));
        for (const Shape& s : test_shapes(t)) {
            SCOPED_TRACE(shape_text(s));
            EXPECT_EQ(t.tensor_bytes(s.rows, s.cols), spec_tensor_bytes(t.id, s.rows, s.cols));
        }
    }
}

// Quantize with the reference, then: dequantize == spec values, gemv_i8 == spec GEMV.
TEST(SpecDecode, ReferenceKernelsMatchSpecDecoder) {
    std::mt19937 rng(20240611u);
    const Input inputs[] = {Input::normal,  Input::normal_large, Input::normal_tiny,
                            Input::ternary, Input::extreme,      Input::constant};
    for (const WeightType& t : weight_types()) {
        SCOPED_TRACE("type " + type_name(t));
        for (const Shape& s : test_shapes(t)) {
            SCOPED_TRACE("shape " + shape_text(s));
            const std::vector<Activations> acts = make_activations(s.cols, rng);
            for (Input in : inputs) {
                SCOPED_TRACE(std::string("input ") + input_name(in));
                const std::vector<float> x = make_input(in, s.rows, s.cols, rng);
                std::vector<uint8_t> bytes;
                if (!quantize_or_fail(t, x, s, bytes)) continue;
                check_tensor(t, bytes, s.rows, s.cols, acts);
                if (::testing::Test::HasFatalFailure()) return;
            }
        }
    }
}

// Codes the quantizers may or may not write (every bit pattern of the code bytes, including
// extreme codes and codes the documents say are never written but decode to a given value),
// with the scales of a real quantized tensor; activations include all +127 / all -128.
TEST(SpecDecode, ArbitraryCodeBytesMatchSpecDecoder) {
    std::mt19937 rng(7u);
    std::uniform_int_distribution<int> byte_dist(0, 255);
    const int patterns[] = {-1, 0x00, 0xFF, 0x55, 0xAA, 0x7F, 0x80, 0x77, 0x88, 0x11, 0xEE};
    for (const WeightType& t : weight_types()) {
        if (is_float_type(t.id)) continue;
        SCOPED_TRACE("type " + type_name(t));
        for (const Shape& s : test_shapes(t)) {
            SCOPED_TRACE("shape " + shape_text(s));
            const std::vector<Activations> acts = make_activations(s.cols, rng);
            const std::vector<float> x = make_input(Input::normal, s.rows, s.cols, rng);
            std::vector<uint8_t> base;
            if (!quantize_or_fail(t, x, s, base)) continue;
            const auto ranges = spec_code_byte_ranges(t.id, s.rows, s.cols);
            for (int pattern : patterns) {
                SCOPED_TRACE(pattern < 0 ? std::string("code bytes random")
                                         : "code bytes 0x" + [&] {
                                               std::ostringstream o;
                                               o << std::hex << pattern;
                                               return o.str();
                                           }());
                std::vector<uint8_t> bytes = base;
                for (const auto& [begin, end] : ranges) {
                    ASSERT_LE(end, bytes.size());
                    for (std::size_t i = begin; i < end; ++i) {
                        bytes[i] = static_cast<uint8_t>(pattern < 0 ? byte_dist(rng) : pattern);
                    }
                }
                check_tensor(t, bytes, s.rows, s.cols, acts);
                if (::testing::Test::HasFatalFailure()) return;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Self-checks of the oracle on bytes written by hand from the documents (independent of the
// library), so that an agreement above is not two identical mistakes.
// ---------------------------------------------------------------------------------------

void put_f32(std::vector<uint8_t>& b, std::size_t offset, float f) {
    const uint32_t u = f32_bits(f);
    for (int i = 0; i < 4; ++i) b[offset + static_cast<std::size_t>(i)] = (u >> (8 * i)) & 0xFF;
}

void put_u16(std::vector<uint8_t>& b, std::size_t offset, uint16_t v) {
    b[offset] = v & 0xFF;
    b[offset + 1] = v >> 8;
}

TEST(SpecDecodeSelfCheck, I2S) {
    // 1 x 128. Byte 0 = 0b10'01'00'10: elements 0, 32, 64, 96 (bits 7-6, 5-4, 3-2, 1-0) have
    // codes 2, 1, 0, 2 -> +1, 0, -1, +1. Byte 5 = 0b11'00'00'00: element 5 has code 3 -> +2.
    std::vector<uint8_t> b(128 / 4 + 32, 0x55);  // 0x55: every code 1 (zero)
    b[0] = 0x92;
    b[5] = 0xC0 | 0x15;
    put_f32(b, 32, 0.5f);
    const DecodedRow r = decode_row(TypeId::I2_S, b, 1, 128, 0);
    ASSERT_EQ(r.combine, Combine::tensor_scale);
    const auto& w = r.blocks.at(0).w;
    EXPECT_EQ(w[0], 1);
    EXPECT_EQ(w[32], 0);
    EXPECT_EQ(w[64], -1);
    EXPECT_EQ(w[96], 1);
    EXPECT_EQ(w[5], 2);
    EXPECT_EQ(w[37], 0);
    EXPECT_EQ(w[1], 0);
    EXPECT_EQ(r.values[64], -0.5f);
    EXPECT_EQ(r.blocks[0].d, 0.5f);
    // Row 1 of a 2 x 128 tensor starts at byte 32, the scale at byte 64.
    std::vector<uint8_t> b2(2 * 128 / 4 + 32, 0x55);
    b2[32] = 0x56;  // row 1: elements 0, 32, 64 code 1, element 96 code 2
    put_f32(b2, 64, 2.0f);
    const DecodedRow r2 = decode_row(TypeId::I2_S, b2, 2, 128, 1);
    EXPECT_EQ(r2.blocks[0].w[96], 1);
    EXPECT_EQ(r2.blocks[0].w[0], 0);
    EXPECT_EQ(r2.values[96], 2.0f);
}

TEST(SpecDecodeSelfCheck, TQ2_0) {
    // Byte 0 = 0b10'01'00'10: LSB-first, elements 0, 32, 64, 96 have codes 2, 0, 1, 2.
    // Byte 33 (half 1, m = 1) = 0b00'00'00'00: elements 129, 161, 193, 225 have code 0.
    std::vector<uint8_t> b(66, 0x55);
    b[0] = 0x92;
    b[33] = 0x00;
    put_u16(b, 64, 0x3C00);  // f16 1.0
    const DecodedRow r = decode_row(TypeId::TQ2_0, b, 1, 256, 0);
    const auto& w = r.blocks.at(0).w;
    EXPECT_EQ(w[0], 1);
    EXPECT_EQ(w[32], -1);
    EXPECT_EQ(w[64], 0);
    EXPECT_EQ(w[96], 1);
    EXPECT_EQ(w[129], -1);
    EXPECT_EQ(w[161], -1);
    EXPECT_EQ(w[225], -1);
    EXPECT_EQ(w[128], 0);
    EXPECT_EQ(r.blocks[0].d, 1.0f);
}

// Encodes 5 trits (first most significant) as the spec's fixed-point byte.
uint8_t tq1_encode(const int trits[5]) {
    int v = 0;
    for (int i = 0; i < 5; ++i) v = v * 3 + trits[i];
    return static_cast<uint8_t>((v * 256 + 242) / 243);  // ceil(v * 256 / 243)
}

TEST(SpecDecodeSelfCheck, TQ1_0) {
    std::vector<uint8_t> b(54, 0);
    const int zeros[5] = {1, 1, 1, 1, 1};
    for (int i = 0; i < 52; ++i) b[static_cast<std::size_t>(i)] = tq1_encode(zeros);
    const int t0[5] = {2, 1, 0, 1, 2};
    b[0] = tq1_encode(t0);
    EXPECT_EQ(b[0], 205);  // ceil(194 * 256 / 243) = ceil(204.38)
    const int t1[5] = {0, 2, 2, 0, 1};
    b[32 + 3] = tq1_encode(t1);  // elements 163, 179, 195, 211, 227
    const int t2[5] = {2, 0, 1, 1, 0};  // qh: 4 trits, times 3 (fifth trit 0)
    b[48 + 1] = tq1_encode(t2);  // elements 241, 245, 249, 253
    EXPECT_EQ(b[49], 184);
    put_u16(b, 52, 0x4000);  // f16 2.0
    const DecodedRow r = decode_row(TypeId::TQ1_0, b, 1, 256, 0);
    const auto& w = r.blocks.at(0).w;
    EXPECT_EQ(w[0], 1);
    EXPECT_EQ(w[32], 0);
    EXPECT_EQ(w[64], -1);
    EXPECT_EQ(w[96], 0);
    EXPECT_EQ(w[128], 1);
    EXPECT_EQ(w[163], -1);
    EXPECT_EQ(w[179], 1);
    EXPECT_EQ(w[195], 1);
    EXPECT_EQ(w[211], -1);
    EXPECT_EQ(w[227], 0);
    EXPECT_EQ(w[241], 1);
    EXPECT_EQ(w[245], -1);
    EXPECT_EQ(w[249], 0);
    EXPECT_EQ(w[253], 0);
    EXPECT_EQ(w[240], 0);
    EXPECT_EQ(r.values[64], -2.0f);
    for (int k = 0; k < 256; ++k) {
        const bool set = k == 0 || k == 64 || k == 128 || k == 163 || k == 179 || k == 195 ||
                         k == 211 || k == 241 || k == 245;
        if (!set) {
            EXPECT_EQ(w[static_cast<std::size_t>(k)], 0) << "element " << k;
        }
    }
}

TEST(SpecDecodeSelfCheck, TL1) {
    // cols = 5: pairs (w0,w1), (w2,w3), (w4,0) -> 2 bytes per row.
    // (1,-1): 3 - 1 + 4 = 6; (-1,0): 1; (1,0): 7, unused high nibble 4.
    std::vector<uint8_t> b(2 + 32, 0);
    b[0] = 0x16;
    b[1] = 0x47;
    put_f32(b, 2, 0.25f);
    const DecodedRow r = decode_row(TypeId::TL1, b, 1, 5, 0);
    EXPECT_EQ(r.blocks.at(0).w, (std::vector<int32_t>{1, -1, -1, 0, 1}));
    EXPECT_EQ(r.values, (std::vector<float>{0.25f, -0.25f, -0.25f, 0.0f, 0.25f}));
    // Index 9..15 -> (0, 0).
    b[0] = 0xF9;
    const DecodedRow r2 = decode_row(TypeId::TL1, b, 1, 5, 0);
    EXPECT_EQ(r2.blocks.at(0).w, (std::vector<int32_t>{0, 0, 0, 0, 1}));
}

TEST(SpecDecodeSelfCheck, TL2) {
    // cols = 7: T = 2 triples, 1 magnitude byte, 1 sign byte, 1 tail byte.
    // Triple 0 = (1,-1,0): v = 6. Triple 1 = (-1,-1,-1): v = -13 -> |v| 13, sign 1.
    // Tail: column 6 = -1, paired with 0: index 1, high nibble 4.
    std::vector<uint8_t> b(2 * 3 + 32, 0);
    b[0] = 0xD6;
    b[1] = 0x02;
    b[2] = 0x41;
    // Row 1: triple 0 = (0,1,1): v = 4, sign 0; triple 1: magnitude 14 -> (0,0,0);
    // tail index 12 -> zero pair.
    b[3] = 0xE4;
    b[4] = 0x00;
    b[5] = 0x4C;
    put_f32(b, 6, 1.5f);
    const DecodedRow r0 = decode_row(TypeId::TL2, b, 2, 7, 0);
    EXPECT_EQ(r0.blocks.at(0).w, (std::vector<int32_t>{1, -1, 0, -1, -1, -1, -1}));
    EXPECT_EQ(r0.blocks.at(0).d, 1.5f);
    const DecodedRow r1 = decode_row(TypeId::TL2, b, 2, 7, 1);
    EXPECT_EQ(r1.blocks.at(0).w, (std::vector<int32_t>{0, 1, 1, 0, 0, 0, 0}));
    // cols = 8: the tail pair holds columns 6 and 7.
    std::vector<uint8_t> c(3 + 32, 0);
    c[2] = 0x48;  // index 8 = (1, 1)
    put_f32(c, 3, 1.0f);
    const DecodedRow r2 = decode_row(TypeId::TL2, c, 1, 8, 0);
    EXPECT_EQ(r2.blocks.at(0).w[6], 1);
    EXPECT_EQ(r2.blocks.at(0).w[7], 1);
    // Magnitude 0, sign 0: u = 13 -> digits (1, 1, 1) -> (0, 0, 0).
    EXPECT_EQ(r2.blocks.at(0).w, (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 1, 1}));
}

TEST(SpecDecodeSelfCheck, QK256AndI2S32) {
    // Byte 1 = 0b11'10'01'00: elements 4, 5, 6, 7 have codes 0, 1, 2, 3 -> -2, -1, +1, +2.
    std::vector<uint8_t> q(2 * 64 + 2 * 4, 0);
    q[64 + 1] = 0xE4;  // row 1, element 4..7
    put_f32(q, 2 * 64 + 4, 0.5f);  // row 1's scale
    const DecodedRow r = decode_row(TypeId::QK256, q, 2, 256, 1);
    const auto& w = r.blocks.at(0).w;
    EXPECT_EQ(w[4], -2);
    EXPECT_EQ(w[5], -1);
    EXPECT_EQ(w[6], 1);
    EXPECT_EQ(w[7], 2);
    EXPECT_EQ(w[0], -2);
    EXPECT_EQ(r.values[7], 1.0f);
    std::vector<uint8_t> s(10, 0xFF);
    s[2] = 0xE4;
    put_u16(s, 8, 0x3800);  // f16 0.5
    const DecodedRow r2 = decode_row(TypeId::I2S32, s, 1, 32, 0);
    EXPECT_EQ(r2.blocks.at(0).w[8], -2);
    EXPECT_EQ(r2.blocks.at(0).w[11], 2);
    EXPECT_EQ(r2.blocks.at(0).w[12], 2);
    EXPECT_EQ(r2.values[9], -0.5f);
}

TEST(SpecDecodeSelfCheck, Q4AndQ8) {
    std::vector<uint8_t> b(18, 0);
    put_u16(b, 0, 0x3C00);
    b[2 + 3] = 0xF1;  // element 3: 1 -> -7; element 19: 15 -> +7
    const DecodedRow r = decode_row(TypeId::Q4_0, b, 1, 32, 0);
    EXPECT_EQ(r.blocks.at(0).w[3], -7);
    EXPECT_EQ(r.blocks.at(0).w[19], 7);
    EXPECT_EQ(r.blocks.at(0).w[0], -8);
    std::vector<uint8_t> c(20, 0);
    put_u16(c, 0, 0x3C00);  // d = 1
    put_u16(c, 2, 0xC000);  // m = -2
    c[4 + 15] = 0x3A;       // element 15: 10, element 31: 3
    const DecodedRow r1 = decode_row(TypeId::Q4_1, c, 1, 32, 0);
    EXPECT_EQ(r1.blocks.at(0).w[15], 10);
    EXPECT_EQ(r1.blocks.at(0).w[31], 3);
    EXPECT_EQ(r1.blocks.at(0).m, -2.0f);
    EXPECT_EQ(r1.values[15], 8.0f);
    EXPECT_EQ(r1.values[31], 1.0f);
    std::vector<uint8_t> e(34, 0);
    put_u16(e, 0, 0x3C00);
    e[2 + 7] = 0x80;
    const DecodedRow r8 = decode_row(TypeId::Q8_0, e, 1, 32, 0);
    EXPECT_EQ(r8.blocks.at(0).w[7], -128);
    EXPECT_EQ(r8.values[7], -128.0f);
}

TEST(SpecDecodeSelfCheck, Q6K) {
    std::vector<uint8_t> b(210, 0);
    // Element 200: half 1, the third of the four (l + 64, l = 8): high nibble of ql[64 + 8],
    // qh[32 + 8] bits 4-5, scale scales[8 + 8/16 + 4] = scales[12].
    b[64 + 8] = 0xA0;          // high nibble 10
    b[128 + 32 + 8] = 0x30;    // bits 4-5 = 3 -> q = 10 | 48 = 58
    b[192 + 12] = 0xFD;        // scale -3
    put_u16(b, 208, 0x3800);   // d = 0.5
    const DecodedRow r = decode_row(TypeId::Q6_K, b, 1, 256, 0);
    EXPECT_EQ(r.blocks.at(0).w[200], -3 * (58 - 32));
    EXPECT_EQ(r.values[200], (0.5f * -3.0f) * 26.0f);
    // Element 200's neighbours with scale 0 are zero.
    EXPECT_EQ(r.blocks.at(0).w[8 + 128], 0);
    // Element 40: half 0, second of the four (l = 8): low nibble of ql[40], qh[8] bits 2-3,
    // scales[0 + 0 + 2].
    b[40] = 0x05;
    b[128 + 8] = 0x08;  // bits 2-3 = 2 -> q = 5 | 32 = 37
    b[192 + 2] = 7;
    const DecodedRow r2 = decode_row(TypeId::Q6_K, b, 1, 256, 0);
    EXPECT_EQ(r2.blocks.at(0).w[40], 7 * 5);
}

TEST(SpecDecodeSelfCheck, IntGroup) {
    // INT4_SYM_G32, 2 x 3: row bytes ceil(12/8) = 2; scales at 4; no zeros.
    const TypeId int4s = int_group_type_id(4, false, 32);
    std::vector<uint8_t> b(2 * 2 + 2 * 2, 0);
    b[2] = 0x8F;  // row 1: element 0 = 0xF = -1, element 1 = 0x8 = -8
    b[3] = 0x07;  // row 1: element 2 = 7
    put_u16(b, 4 + 2, 0x4000);  // row 1's d = 2
    const DecodedRow r = decode_row(int4s, b, 2, 3, 1);
    EXPECT_EQ(r.blocks.at(0).w, (std::vector<int32_t>{-1, -8, 7}));
    EXPECT_EQ(r.values, (std::vector<float>{-2.0f, -16.0f, 14.0f}));
    // INT2_ASYM_G32, 1 x 40: 10 code bytes, 2 groups -> scales at 10, zeros at 14.
    const TypeId int2a = int_group_type_id(2, true, 32);
    std::vector<uint8_t> c(10 + 4 + 2, 0);
    c[0] = 0xE4;  // elements 0..3: codes 0, 1, 2, 3
    c[9] = 0x0C;  // element 37: code 3 (bits 2-3 of byte 9)
    put_u16(c, 10, 0x3C00);
    put_u16(c, 12, 0x3800);
    c[14] = 1;
    c[15] = 2;
    const DecodedRow r2 = decode_row(int2a, c, 1, 40, 0);
    ASSERT_EQ(r2.blocks.size(), 2u);
    EXPECT_EQ(r2.blocks[1].first, 32);
    EXPECT_EQ(r2.blocks[1].w.size(), 8u);
    EXPECT_EQ(r2.blocks[0].w[0], -1);
    EXPECT_EQ(r2.blocks[0].w[3], 2);
    EXPECT_EQ(r2.blocks[1].w[5], 1);   // element 37: 3 - 2
    EXPECT_EQ(r2.blocks[1].w[0], -2);  // element 32: 0 - 2
    EXPECT_EQ(r2.values[37], 0.5f);
    // INT8_SYM: byte k is element k.
    const TypeId int8s = int_group_type_id(8, false, 64);
    std::vector<uint8_t> e(3 + 2, 0);
    e[0] = 0x80;
    e[2] = 0x7F;
    put_u16(e, 3, 0x3C00);
    const DecodedRow r3 = decode_row(int8s, e, 1, 3, 0);
    EXPECT_EQ(r3.blocks.at(0).w, (std::vector<int32_t>{-128, 0, 127}));
}

TEST(SpecDecodeSelfCheck, ExpectedGemv) {
    DecodedRow row;
    row.combine = Combine::blocks;
    row.values = {0, 0, 0, 0};
    DecodedBlock b0;
    b0.first = 0;
    b0.w = {1, -2};
    b0.d = 0.5f;
    DecodedBlock b1;
    b1.first = 2;
    b1.w = {3, 4};
    b1.d = 2.0f;
    b1.m = 1.0f;
    row.blocks = {b0, b1};
    const int8_t q[4] = {10, 20, -1, 1};
    // block 0: 0.5 * (10 - 40) = -15; block 1: 2 * (-3 + 4) + 1 * 0 = 2; total -13, / 2.
    EXPECT_EQ(expected_gemv_i8(row, q, 2.0f), -6.5f);
    row.combine = Combine::tensor_scale;
    row.blocks = {b0};
    row.blocks[0].w = {1, -2, 0, 1};
    EXPECT_EQ(expected_gemv_i8(row, q, 4.0f), (-29.0f / 4.0f) * 0.5f);
    row.combine = Combine::float_weights;
    row.values = {0.5f, 1.0f, 2.0f, -1.0f};
    EXPECT_EQ(expected_gemv_i8(row, q, 2.0f), (5.0f + 20.0f - 2.0f - 1.0f) / 2.0f);
}

}  // namespace
}  // namespace lowbit::test

// The GGUF reader against files assembled byte by byte from the public layout (gguf_bytes.hpp).
#include "lowbit/gguf_reader.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gguf_bytes.hpp"
#include "io_test_util.hpp"
#include "lowbit/gemv.hpp"

namespace lowbit::test {
namespace {

GgufFile parse(GgufBytes& b) { return GgufFile::parse(memory_file(b.bytes)); }

TEST(GgufReader, EveryMetadataValueTypeV3) {
    GgufBytes b;
    b.header(3, 0, 16);
    b.key("t.u8", kU8).u8(200);
    b.key("t.i8", kI8).i8(-100);
    b.key("t.u16", kU16).u16(60000);
    b.key("t.i16", kI16).i16(-30000);
    b.key("t.u32", kU32).u32(4000000000u);
    b.key("t.i32", kI32).i32(-2000000000);
    b.key("t.f32", kF32).f32(1.5f);
    b.key("t.bool", kBool).u8(1);
    b.key("t.str", kString).str("h\xC3\xA9llo");
    b.key("t.u64", kU64).u64(0xFFFFFFFFFFFFFFFFull);
    b.key("t.i64", kI64).i64(-5);
    b.key("t.f64", kF64).f64(-0.25);
    b.key("t.bytes", kArray).u32(kU8).u64(3).u8(1).u8(2).u8(3);
    b.kv_strings("t.words", {"a", "", "ccc"});
    // An array of arrays whose inner arrays have different element types.
    b.key("t.nested", kArray).u32(kArray).u64(2);
    b.u32(kI32).u64(2).i32(-1).i32(7);
    b.u32(kString).u64(1).str("x");
    // Three levels deep.
    b.key("t.deep", kArray).u32(kArray).u64(1).u32(kArray).u64(1).u32(kF32).u64(1).f32(2.0f);

    const GgufFile g = parse(b);
    const Metadata& m = g.metadata();
    EXPECT_EQ(g.version(), 3u);
    EXPECT_EQ(m.size(), 16u);
    EXPECT_EQ(m.at("t.u8"), MetaValue(uint8_t{200}));
    EXPECT_EQ(m.at("t.i8"), MetaValue(int8_t{-100}));
    EXPECT_EQ(m.at("t.u16"), MetaValue(uint16_t{60000}));
    EXPECT_EQ(m.at("t.i16"), MetaValue(int16_t{-30000}));
    EXPECT_EQ(m.get_uint("t.u32"), 4000000000u);
    EXPECT_EQ(m.get_int("t.i32"), -2000000000);
    EXPECT_EQ(m.at("t.f32").type(), MetaType::f32);
    EXPECT_EQ(m.get_float("t.f32"), 1.5);
    EXPECT_TRUE(m.get_bool("t.bool"));
    EXPECT_EQ(m.get_string("t.str"), "h\xC3\xA9llo");
    EXPECT_EQ(m.get_uint("t.u64"), 0xFFFFFFFFFFFFFFFFull);
    EXPECT_EQ(m.get_int("t.i64"), -5);
    EXPECT_EQ(m.get_float("t.f64"), -0.25);
    EXPECT_EQ(m.get_array("t.bytes").items, (std::vector<MetaValue>{uint8_t{1}, uint8_t{2}, uint8_t{3}}));
    EXPECT_EQ(m.at("t.words"), MetaValue::strings({"a", "", "ccc"}));

    const MetaArray& nested = m.get_array("t.nested");
    ASSERT_EQ(nested.type, MetaType::array);
    ASSERT_EQ(nested.items.size(), 2u);
    EXPECT_EQ(nested.items[0], MetaValue::array_of<int32_t>({-1, 7}));
    EXPECT_EQ(nested.items[1], MetaValue::strings({"x"}));
    const MetaArray& deep = *m.get_array("t.deep").items[0].as_array()->items[0].as_array();
    EXPECT_EQ(deep.type, MetaType::f32);
    EXPECT_EQ(deep.items[0], MetaValue(2.0f));

    // Metadata keeps the file's order.
    EXPECT_EQ(m.entries().front().first, "t.u8");
    EXPECT_EQ(m.entries().back().first, "t.deep");
    EXPECT_TRUE(g.tensors().empty());
}

TEST(GgufReader, TypedGettersNameTheKeyAndBothTypes) {
    GgufBytes b;
    b.header(3, 0, 3).kv_str("general.name", "x").key("neg", kI32).i32(-1).kv_f32("eps", 1e-5f);
    const GgufFile g = parse(b);
    EXPECT_ERROR(g.metadata().get_uint("general.name"),
                 "t.gguf: metadata 'general.name': expected an unsigned integer, found string");
    EXPECT_ERROR(g.metadata().get_uint("neg"), "metadata 'neg': expected an unsigned integer, found int32 (negative)");
    EXPECT_ERROR(g.metadata().get_string("eps"), "metadata 'eps': expected a string, found float32");
    EXPECT_ERROR(g.metadata().get_float("neg"), "metadata 'neg': expected a float, found int32");
    EXPECT_ERROR(g.metadata().at("llama.block_count"), "t.gguf: metadata key 'llama.block_count' is missing");
    EXPECT_EQ(g.metadata().find_uint("absent"), std::nullopt);
}

// A miniature of the official bitnet-b1.58-2B-4T GGUF layout: arch bitnet-b1.58, an f16
// embedding, f32 norms, I2_S linears sized n/4 + 32, default alignment 32, plus tensors of
// llama.cpp types (TQ2_0, Q6_K) and one lowbit cannot compute (Q4_K).
struct MiniTensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    uint64_t bytes;
};

std::vector<MiniTensor> bitnet_tensors() {
    return {
        {"token_embd.weight", {256, 8}, kF16Type, 256 * 8 * 2},
        {"blk.0.attn_norm.weight", {256}, kF32Type, 256 * 4},
        {"blk.0.attn_q.weight", {256, 4}, kI2_SType, 256 * 4 / 4 + 32},
        {"blk.0.ffn_gate.weight", {256, 2}, kTQ2_0Type, 2 * 66},
        {"blk.0.ffn_down.weight", {256, 3}, kQ6_KType, 3 * 210},
        {"blk.0.ffn_up.weight", {256, 2}, kQ4_KType, 2 * 144},
        {"output_norm.weight", {256}, kF32Type, 256 * 4},
    };
}

// Tensor data: tensor i is pattern(bytes, i); offsets advance by the aligned size.
std::vector<uint8_t> mini_file(uint32_t version, uint32_t alignment, const std::vector<MiniTensor>& tensors,
                               std::vector<uint64_t>* offsets_out = nullptr, uint64_t* data_start = nullptr) {
    GgufBytes b;
    const bool custom_alignment = alignment != 32;
    b.header(version, tensors.size(), 6 + (custom_alignment ? 1 : 0));
    b.kv_str("general.architecture", "bitnet-b1.58");
    b.kv_str("general.name", "bitnet2b-mini");
    b.kv_u32("bitnet-b1.58.block_count", 1);
    b.kv_f32("bitnet-b1.58.attention.layer_norm_rms_epsilon", 1e-5f);
    b.kv_str("tokenizer.ggml.model", "gpt2");
    b.kv_strings("tokenizer.ggml.tokens", {"a", "b", "<|begin_of_text|>"});
    if (custom_alignment) b.kv_u32("general.alignment", alignment);
    std::vector<uint64_t> offsets;
    uint64_t offset = 0;
    for (const MiniTensor& t : tensors) {
        b.tensor_info(t.name, t.ne, t.type, offset);
        offsets.push_back(offset);
        offset = align_up(offset + t.bytes, alignment);
    }
    b.pad_to(alignment);
    if (data_start) *data_start = b.size();
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        for (uint8_t v : pattern(tensors[i].bytes, static_cast<uint32_t>(i))) b.u8(v);
        b.pad_to(alignment);
    }
    if (offsets_out) *offsets_out = offsets;
    return b.bytes;
}

void expect_mini_tensors(const GgufFile& g, uint32_t alignment, const std::vector<uint64_t>& offsets,
                         uint64_t data_start) {
    const auto expected = bitnet_tensors();
    EXPECT_EQ(g.alignment(), alignment);
    EXPECT_EQ(g.data_offset(), data_start);
    ASSERT_EQ(g.tensors().size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const GgufTensor& t = g.tensors()[i];
        SCOPED_TRACE(t.name);
        EXPECT_EQ(t.name, expected[i].name);
        EXPECT_EQ(t.type_id, expected[i].type);
        EXPECT_EQ(t.bytes, expected[i].bytes);
        EXPECT_EQ(t.offset, offsets[i]);
        EXPECT_EQ(t.file_offset, data_start + offsets[i]);
        EXPECT_EQ(t.cols, 256);
        EXPECT_EQ(t.file_offset % alignment, 0u);
        const auto data = g.tensor_data(t);
        EXPECT_EQ(std::vector<uint8_t>(data.begin(), data.end()), pattern(t.bytes, static_cast<uint32_t>(i)));
    }
}

TEST(GgufReader, BitnetLayoutWithI2STQ2Q6KAndAListedQ4K) {
    std::vector<uint64_t> offsets;
    uint64_t data_start = 0;
    const GgufFile g = GgufFile::parse(memory_file(mini_file(3, 32, bitnet_tensors(), &offsets, &data_start)));
    EXPECT_EQ(g.architecture(), "bitnet-b1.58");
    EXPECT_EQ(g.metadata().get_array("tokenizer.ggml.tokens").items.size(), 3u);
    expect_mini_tensors(g, 32, offsets, data_start);

    const GgufTensor& q = g.tensor("blk.0.attn_q.weight");
    EXPECT_EQ(q.type->name, "I2_S");
    EXPECT_EQ(q.rows, 4);
    EXPECT_EQ(q.bytes, 288u);  // n/4 + 32
    EXPECT_EQ(g.tensor("blk.0.ffn_down.weight").type->name, "Q6_K");
    EXPECT_EQ(g.tensor("blk.0.ffn_gate.weight").type->name, "TQ2_0");
    EXPECT_EQ(g.tensor("blk.0.attn_norm.weight").rows, 1);

    // Q4_K is listed and sized, but refused as a weight.
    const GgufTensor& up = g.tensor("blk.0.ffn_up.weight");
    EXPECT_EQ(up.type->name, "Q4_K");
    EXPECT_FALSE(up.type->computable());
    EXPECT_ERROR(g.weight(up),
                 "t.gguf: tensor 'blk.0.ffn_up.weight': type Q4_K (id 12) is listed but lowbit cannot compute with it");
    EXPECT_EQ(g.weight("blk.0.ffn_down.weight").type->name, "Q6_K");
    EXPECT_ERROR(g.tensor("nope"), "t.gguf: tensor 'nope' not found");
}

TEST(GgufReader, I2SWeightDecodesPerTheSpec) {
    // One I2_S tensor of 2 x 128: every code byte 0x86 (codes 2, 0, 1, 2 from bits 7-6 down),
    // so element j of a 128-group is +1, -1, 0, +1 for j / 32 = 0, 1, 2, 3; scale 0.5.
    GgufBytes b;
    b.header(3, 1, 1).kv_str("general.architecture", "bitnet-b1.58");
    b.tensor_info("w", {128, 2}, kI2_SType, 0).pad_to(32);
    b.fill(64, 0x86).f32(0.5f).fill(28, 0);
    const GgufFile g = parse(b);
    const TensorWeight w = g.weight("w");
    std::vector<float> out(256);
    dequantize_reference(*w.type, w.view, out);
    for (int j = 0; j < 256; ++j) {
        const int quarter = (j % 128) / 32;
        const float expected = quarter == 1 ? -0.5f : quarter == 2 ? 0.0f : 0.5f;
        EXPECT_EQ(out[j], expected) << j;
    }
}

TEST(GgufReader, Version2File) {
    std::vector<uint64_t> offsets;
    uint64_t data_start = 0;
    const GgufFile g = GgufFile::parse(memory_file(mini_file(2, 32, bitnet_tensors(), &offsets, &data_start)));
    EXPECT_EQ(g.version(), 2u);
    expect_mini_tensors(g, 32, offsets, data_start);
}

TEST(GgufReader, NonDefaultAlignment) {
    for (uint32_t alignment : {1u, 8u, 64u, 4096u}) {
        SCOPED_TRACE(alignment);
        std::vector<uint64_t> offsets;
        uint64_t data_start = 0;
        const GgufFile g =
            GgufFile::parse(memory_file(mini_file(3, alignment, bitnet_tensors(), &offsets, &data_start)));
        expect_mini_tensors(g, alignment, offsets, data_start);
    }
}

TEST(GgufReader, LlamaCppTypesAreSizedLikeGgml) {
    // (type id, expected bytes for a 2 x 256 tensor): ggml's block geometry.
    const std::vector<std::pair<uint32_t, uint64_t>> types = {
        {kF32Type, 2 * 256 * 4},
        {kF16Type, 2 * 256 * 2},
        {kBF16Type, 2 * 256 * 2},
        {kQ4_0Type, 2 * 8 * 18},
        {kQ4_1Type, 2 * 8 * 20},
        {kQ8_0Type, 2 * 8 * 34},
        {kQ6_KType, 2 * 210},
        {kTQ1_0Type, 2 * 54},
        {kTQ2_0Type, 2 * 66},
        {kQ4_KType, 2 * 144},
        {10, 2 * 84},
        {11, 2 * 110},
        {13, 2 * 176},
        {6, 2 * 8 * 22},
        {7, 2 * 8 * 24},
        {24, 2 * 256},
        {28, 2 * 256 * 8},
        {23, 2 * 136},
    };
    GgufBytes b;
    b.header(3, types.size(), 1).kv_str("general.architecture", "llama");
    uint64_t offset = 0;
    for (std::size_t i = 0; i < types.size(); ++i) {
        std::string name = std::to_string(i);  // "t" + ... trips GCC 12's -Wrestrict false positive
        name.insert(0, 1, 't');
        b.tensor_info(name, {256, 2}, types[i].first, offset);
        offset = align_up(offset + types[i].second, 32);
    }
    b.pad_to(32).fill(offset, 0);
    const GgufFile g = parse(b);
    for (std::size_t i = 0; i < types.size(); ++i) {
        EXPECT_EQ(g.tensors()[i].bytes, types[i].second) << g.tensors()[i].type->name;
    }
    for (const char* computable : {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"}) {
        EXPECT_TRUE(g.tensor(computable).type->computable()) << computable;
    }
    for (const char* listed : {"t9", "t10", "t11", "t12", "t13", "t14", "t15", "t16", "t17"}) {
        EXPECT_FALSE(g.tensor(listed).type->computable()) << listed;
    }
}

TEST(GgufReader, ScalarAndThreeDimensionalShapes) {
    GgufBytes b;
    b.header(3, 2, 0);
    b.tensor_info("scale", {}, kF32Type, 0);
    b.tensor_info("cube", {32, 3, 2}, kQ8_0Type, 32);
    b.pad_to(32).f32(3.0f).fill(28, 0).fill(6 * 34, 1);
    const GgufFile g = parse(b);
    EXPECT_EQ(g.tensor("scale").bytes, 4u);
    EXPECT_EQ(g.tensor("scale").rows, 1);
    EXPECT_EQ(g.tensor("scale").cols, 1);
    EXPECT_EQ(g.tensor("cube").rows, 6);
    EXPECT_EQ(g.tensor("cube").cols, 32);
    EXPECT_EQ(g.tensor("cube").bytes, 6u * 34);
}

TEST(GgufReader, LowbitTypesNeedTheFormatVersion) {
    // TL1 (1026): 2 rows x 4 cols -> 1 byte per row + 32-byte tail = 34 bytes.
    auto file = [](bool with_version) {
        GgufBytes b;
        b.header(3, 1, with_version ? 1 : 0);
        if (with_version) b.kv_u32("lowbit.format_version", 1);
        b.tensor_info("w", {4, 2}, 1026, 0).pad_to(32).fill(34, 0x44);
        return b.bytes;
    };
    const GgufFile g = GgufFile::parse(memory_file(file(true)));
    EXPECT_EQ(g.tensor("w").type->name, "TL1");
    EXPECT_EQ(g.tensor("w").bytes, 34u);
    EXPECT_ERROR(GgufFile::parse(memory_file(file(false))),
                 "t.gguf: tensor 'w': lowbit type TL1 (id 1026) needs metadata 'lowbit.format_version'");
}

TEST(GgufReader, OpensAMappedFile) {
    TempDir dir;
    std::vector<uint64_t> offsets;
    uint64_t data_start = 0;
    write_file(dir / "mini.gguf", mini_file(3, 32, bitnet_tensors(), &offsets, &data_start));
    const GgufFile g = GgufFile::open(dir / "mini.gguf");
    EXPECT_EQ(g.source(), (dir / "mini.gguf").string());
    expect_mini_tensors(g, 32, offsets, data_start);
    EXPECT_ERROR(GgufFile::open(dir / "missing.gguf"), "missing.gguf: cannot open: No such file or directory");
    EXPECT_ERROR(GgufFile::open(dir.path()), "is a directory");
}

}  // namespace
}  // namespace lowbit::test

// The GGUF writer: byte-exact against a file assembled from the public layout, round trips
// through the reader, streaming order and size rules, and no partial output ever left behind.
#include "lowbit/gguf_writer.hpp"

#include <gtest/gtest.h>

#include "gguf_bytes.hpp"
#include "io_test_util.hpp"
#include "lowbit/gguf_reader.hpp"
#include "support/test_util.hpp"

namespace lowbit::test {
namespace {

TEST(GgufWriter, BytesMatchTheSpecLayout) {
    TempDir dir;
    const auto a = pattern(40, 1);  // F32 {10}: 40 bytes, padded to 64
    const auto b = pattern(34, 2);  // Q8_0 {32}: 34 bytes, padded to 64
    {
        GgufWriter w(dir / "x.gguf");
        w.metadata().set("general.architecture", "llama");
        w.metadata().set("general.alignment", uint32_t{64});
        w.metadata().set("v", MetaValue::array_of<int16_t>({-2, 3}));
        w.add_tensor("a", TypeId::F32, {10});
        w.add_tensor("b", TypeId::Q8_0, {32});
        w.write_tensor("a", a);
        w.write_tensor("b", b);
        w.finish();
    }
    GgufBytes e;
    e.header(3, 2, 3).kv_str("general.architecture", "llama").kv_u32("general.alignment", 64);
    e.key("v", kArray).u32(kI16).u64(2).i16(-2).i16(3);
    e.tensor_info("a", {10}, kF32Type, 0).tensor_info("b", {32}, kQ8_0Type, 64).pad_to(64);
    for (uint8_t v : a) e.u8(v);
    e.pad_to(64);
    for (uint8_t v : b) e.u8(v);
    e.pad_to(64);
    EXPECT_EQ(read_file(dir / "x.gguf"), e.bytes);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"x.gguf"});
}

TEST(GgufWriter, RoundTripKeepsMetadataAndBytes) {
    TempDir dir;
    Metadata meta;
    meta.set("general.architecture", "bitnet-b1.58");
    meta.set("u8", uint8_t{7});
    meta.set("i8", int8_t{-7});
    meta.set("u16", uint16_t{65535});
    meta.set("i16", int16_t{-32768});
    meta.set("u32", uint32_t{4000000000u});
    meta.set("i32", int32_t{-5});
    meta.set("f32", 0.1f);
    meta.set("bool", true);
    meta.set("str", "caf\xC3\xA9");
    meta.set("u64", uint64_t{1} << 60);
    meta.set("i64", int64_t{-1} << 60);
    meta.set("f64", 1e300);
    meta.set("tokens", MetaValue::strings({"<s>", "", "\xF0\x9F\x99\x82"}));
    MetaArray nested{MetaType::array, {MetaValue::array_of<float>({1.0f}), MetaValue::strings({"x", "y"})}};
    meta.set("nested", nested);
    meta.set("empty", MetaArray{MetaType::u64, {}});

    // Tensors of a computable ternary type, a listed-only type, and a lowbit type.
    const std::vector<float> x = [] {
        std::vector<float> v(256 * 2);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(static_cast<int>(i % 3) - 1) * 0.25f;
        return v;
    }();
    const auto i2s = quantize(weight_type(TypeId::I2_S), x, 2, 256);
    const auto q4k = pattern(2 * 144, 3);
    const auto tl1 = quantize(weight_type(TypeId::TL1), x, 2, 256);
    const auto norm = pattern(256 * 4, 4);
    {
        GgufWriter w(dir / "m.gguf");
        for (const auto& [k, v] : meta.entries()) w.metadata().set(k, v);
        w.metadata().set("general.alignment", uint32_t{128});
        EXPECT_EQ(w.add_tensor("blk.0.attn_q.weight", TypeId::I2_S, {256, 2}), i2s.size());
        EXPECT_EQ(w.add_tensor("blk.0.ffn_up.weight", 12, {256, 2}), q4k.size());
        EXPECT_EQ(w.add_tensor("blk.0.ffn_down.weight", TypeId::TL1, {256, 2}), tl1.size());
        w.add_tensor("scale", TypeId::F32, {});
        w.add_tensor("empty", TypeId::F16, {0, 4});
        w.add_tensor("norm", TypeId::F32, {256});
        w.write_tensor("blk.0.attn_q.weight", i2s);
        // In parts: a tensor need not be in memory at once.
        w.begin_tensor("blk.0.ffn_up.weight");
        for (std::size_t off = 0; off < q4k.size(); off += 100) {
            w.write(std::span(q4k).subspan(off, std::min<std::size_t>(100, q4k.size() - off)));
        }
        w.end_tensor();
        w.write_tensor("blk.0.ffn_down.weight", tl1);
        w.write_tensor("scale", f32_bytes(2.5f));
        w.write_tensor("empty", {});
        w.write_tensor("norm", norm);
        w.finish();
    }
    const GgufFile g = GgufFile::open(dir / "m.gguf");
    EXPECT_EQ(g.version(), 3u);
    EXPECT_EQ(g.alignment(), 128u);
    for (const auto& [k, v] : meta.entries()) {
        EXPECT_EQ(g.metadata().at(k), v) << k;
    }
    EXPECT_EQ(g.metadata().get_uint("lowbit.format_version"), 1u);  // added for TL1
    EXPECT_EQ(g.metadata().size(), meta.size() + 2);
    auto bytes_of = [&](const char* name) {
        const auto d = g.tensor_data(g.tensor(name));
        return std::vector<uint8_t>(d.begin(), d.end());
    };
    EXPECT_EQ(bytes_of("blk.0.attn_q.weight"), i2s);
    EXPECT_EQ(bytes_of("blk.0.ffn_up.weight"), q4k);
    EXPECT_EQ(bytes_of("blk.0.ffn_down.weight"), tl1);
    EXPECT_EQ(bytes_of("scale"), f32_bytes(2.5f));
    EXPECT_EQ(bytes_of("norm"), norm);
    EXPECT_EQ(g.tensor("empty").bytes, 0u);
    EXPECT_EQ(g.tensor("empty").ne, (std::vector<int64_t>{0, 4}));
    for (const GgufTensor& t : g.tensors()) {
        EXPECT_EQ(t.file_offset % 128, 0u) << t.name;
    }
    // The round trip is exact for computing too.
    const TensorWeight w = g.weight("blk.0.attn_q.weight");
    EXPECT_EQ(dequantize(*w.type, bytes_of("blk.0.attn_q.weight"), 2, 256),
              dequantize(weight_type(TypeId::I2_S), i2s, 2, 256));
}

TEST(GgufWriter, StreamingOrderAndSizesAreEnforced) {
    TempDir dir;
    GgufWriter w(dir / "s.gguf");
    w.add_tensor("a", TypeId::F32, {4});
    w.add_tensor("b", TypeId::F32, {4});
    const auto sixteen = pattern(16, 0);
    EXPECT_ERROR(w.add_tensor("a", TypeId::F32, {4}), "s.gguf: tensor 'a': declared twice");
    EXPECT_ERROR(w.begin_tensor("b"), "s.gguf: tensor 'b': written out of order (next is 'a')");
    EXPECT_ERROR(w.begin_tensor("zz"), "s.gguf: tensor 'zz': never declared");
    w.begin_tensor("a");
    EXPECT_ERROR(w.write(pattern(17, 0)), "s.gguf: tensor 'a': 17 bytes written, more than its 16");
    w.write(std::span(sixteen).first(8));
    EXPECT_ERROR(w.end_tensor(), "s.gguf: tensor 'a': 8 bytes written, expected 16");
    w.write(std::span(sixteen).first(8));
    w.end_tensor();
    EXPECT_ERROR(w.begin_tensor("a"), "s.gguf: tensor 'a': already written");
    EXPECT_ERROR(w.add_tensor("c", TypeId::F32, {4}), "s.gguf: tensor 'c': declared after tensor data began");
    EXPECT_ERROR(w.metadata(), "s.gguf: metadata changed after tensor data began");
    EXPECT_ERROR(w.finish(), "s.gguf: tensor 'b' was declared but never written");
}

TEST(GgufWriter, RefusesWhatTheReaderWouldRefuse) {
    TempDir dir;
    GgufWriter w(dir / "r.gguf");
    EXPECT_ERROR(w.add_tensor("", TypeId::F32, {4}), "r.gguf: empty tensor name");
    EXPECT_ERROR(w.add_tensor("bad\xFF", TypeId::F32, {4}), "r.gguf: tensor name is not valid UTF-8 (byte 3)");
    EXPECT_ERROR(w.add_tensor("q", TypeId::Q4_0, {33}), "r.gguf: tensor 'q': Q4_0: row length 33 is not a multiple");
    EXPECT_ERROR(w.add_tensor("u", 99, {4}), "r.gguf: tensor 'u': unknown type id 99");
    EXPECT_ERROR(w.add_tensor("n", TypeId::F32, {-1}), "r.gguf: tensor 'n': negative dimension -1");
    EXPECT_ERROR(w.add_tensor("d", TypeId::F32, {1, 1, 1, 1, 1}), "r.gguf: tensor 'd': 5 dimensions");
    EXPECT_ERROR(w.add_tensor("big", TypeId::F32, {int64_t{1} << 40, int64_t{1} << 40}), "more than 2^56 elements");

    auto finish_with = [&](const char* key, MetaValue v) {
        GgufWriter m(dir / "m.gguf");
        m.metadata().set(key, std::move(v));
        m.finish();
    };
    EXPECT_ERROR(finish_with("general.alignment", uint32_t{48}),
                 "m.gguf: metadata 'general.alignment': 48 is not a power of two");
    EXPECT_ERROR(finish_with("general.alignment", uint64_t{32}),
                 "m.gguf: metadata 'general.alignment': must be uint32, is uint64");
    EXPECT_ERROR(finish_with("s", "\xC3"), "m.gguf: metadata 's': string is not valid UTF-8 (byte 0)");
    EXPECT_ERROR(finish_with("", uint8_t{1}), "m.gguf: empty metadata key");
    EXPECT_ERROR(finish_with("mixed", MetaArray{MetaType::u8, {uint8_t{1}, int8_t{2}}}),
                 "m.gguf: metadata 'mixed': array of uint8 holds a int8");
    MetaValue deep = MetaValue::array_of<uint8_t>({1});
    for (int i = 0; i < 16; ++i) deep = MetaArray{MetaType::array, {deep}};
    EXPECT_ERROR(finish_with("deep", deep), "m.gguf: metadata 'deep': arrays nested deeper than 16");

    GgufWriter bitnet(dir / "b.gguf");
    bitnet.metadata().set("general.architecture", "bitnet-b1.58");
    bitnet.add_tensor("w", 39, {32});  // ggml's MXFP4 id means bitnet.cpp's TL2 in a bitnet file
    EXPECT_ERROR(bitnet.finish(), "b.gguf: tensor 'w': type id 39 is not readable in a 'bitnet-b1.58' file");
}

TEST(GgufWriter, NothingLeftBehindWithoutFinish) {
    TempDir dir;
    write_file(dir / "keep.gguf", {1, 2, 3});
    {
        GgufWriter w(dir / "keep.gguf");
        w.add_tensor("a", TypeId::F32, {4});
        w.begin_tensor("a");
        w.write(pattern(8, 0));
        // Abandoned mid-tensor: the destructor removes the temporary file.
    }
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.gguf"});
    EXPECT_EQ(read_file(dir / "keep.gguf"), (std::vector<uint8_t>{1, 2, 3}));
    {
        GgufWriter w(dir / "other.gguf");
        EXPECT_ERROR(w.begin_tensor("x"), "never declared");
    }
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.gguf"});
    EXPECT_ERROR(GgufWriter(dir / "no-such-dir" / "x.gguf"), "x.gguf: cannot create a temporary file beside it");
}

TEST(GgufWriter, EmptyModelRoundTrips) {
    TempDir dir;
    {
        GgufWriter w(dir / "e.gguf");
        w.finish();
    }
    const GgufFile g = GgufFile::open(dir / "e.gguf");
    EXPECT_TRUE(g.tensors().empty());
    EXPECT_EQ(g.metadata().size(), 0u);
}

}  // namespace
}  // namespace lowbit::test

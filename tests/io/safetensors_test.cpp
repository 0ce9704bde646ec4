// SafeTensors reader and writer against files assembled from the public layout, plus round trips.
#include "lowbit/safetensors.hpp"

#include <gtest/gtest.h>

#include "io_test_util.hpp"
#include "lowbit/gemv.hpp"
#include "lowbit/safetensors_writer.hpp"
#include "safetensors_bytes.hpp"

namespace lowbit::test {
namespace {

SafeTensorsFile parse(std::string_view header, const std::vector<uint8_t>& data) {
    return SafeTensorsFile::parse(memory_file(safetensors_bytes(header, data), "t.safetensors"));
}

TEST(SafeTensors, HandAssembledFile) {
    // "b" is listed first but stored second; f16 1.0 = 0x3C00, -2.0 = 0xC000.
    const std::string header = R"({"b":{"dtype":"F16","shape":[2,3],"data_offsets":[16,28]},)"
                               R"("__metadata__":{"format":"pt","note":"caf\u00e9"},)"
                               R"("a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}   )";
    std::vector<uint8_t> data = pattern(16, 1);
    for (uint16_t h : {0x3C00, 0xC000, 0x0000, 0x3C00, 0x3C00, 0xC000}) {
        data.push_back(static_cast<uint8_t>(h));
        data.push_back(static_cast<uint8_t>(h >> 8));
    }
    const SafeTensorsFile f = parse(header, data);
    EXPECT_EQ(f.header_bytes(), header.size());
    EXPECT_EQ(f.data_offset(), 8 + header.size());
    EXPECT_EQ(f.metadata().at("format"), "pt");
    EXPECT_EQ(f.metadata().at("note"), "caf\xC3\xA9");
    ASSERT_EQ(f.tensors().size(), 2u);
    EXPECT_EQ(f.tensors()[0].name, "a");  // data order
    EXPECT_EQ(f.tensors()[1].name, "b");
    const SafeTensor& b = f.tensor("b");
    EXPECT_EQ(b.dtype, SafeDtype::F16);
    EXPECT_EQ(b.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(b.rows, 2);
    EXPECT_EQ(b.cols, 3);
    EXPECT_EQ(b.bytes, 12u);
    EXPECT_EQ(b.file_offset, 8 + header.size() + 16);
    const auto a_bytes = f.tensor_data(f.tensor("a"));
    EXPECT_EQ(std::vector<uint8_t>(a_bytes.begin(), a_bytes.end()), pattern(16, 1));
    const TensorWeight w = f.weight(b);
    std::vector<float> out(6);
    dequantize_reference(*w.type, w.view, out);
    EXPECT_EQ(out, (std::vector<float>{1, -2, 0, 1, 1, -2}));
    EXPECT_ERROR(f.tensor("c"), "t.safetensors: tensor 'c' not found");
}

TEST(SafeTensors, EveryDtypeIsSized) {
    const std::vector<std::pair<std::string, uint64_t>> dtypes = {
        {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"U16", 2}, {"I16", 2}, {"F16", 2},     {"BF16", 2},    {"U32", 4},
        {"I32", 4},  {"F32", 4}, {"U64", 8}, {"I64", 8}, {"F64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
    };
    std::string header = "{";
    uint64_t offset = 0;
    for (const auto& [name, size] : dtypes) {
        header += (offset ? "," : "");
        header += "\"t_" + name + "\":{\"dtype\":\"" + name + "\",\"shape\":[3],\"data_offsets\":[" +
                  std::to_string(offset) + "," + std::to_string(offset + 3 * size) + "]}";
        offset += 3 * size;
    }
    header += "}";
    const SafeTensorsFile f = parse(header, pattern(offset, 2));
    for (const auto& [name, size] : dtypes) {
        const SafeTensor& t = f.tensor("t_" + name);
        EXPECT_EQ(safe_dtype_name(t.dtype), name);
        EXPECT_EQ(t.bytes, 3 * size) << name;
    }
    EXPECT_EQ(f.weight(f.tensor("t_BF16")).type->name, "BF16");
    EXPECT_EQ(f.weight(f.tensor("t_F32")).type->name, "F32");
    EXPECT_ERROR(f.weight(f.tensor("t_I8")),
                 "t.safetensors: tensor 't_I8': dtype I8 is listed but lowbit cannot compute with it");
}

TEST(SafeTensors, ScalarsEmptyTensorsAndEmptyFiles) {
    const SafeTensorsFile f = parse(
        R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F16","shape":[0,3],"data_offsets":[4,4]}})",
        pattern(4, 3));
    EXPECT_EQ(f.tensor("s").rows, 1);
    EXPECT_EQ(f.tensor("s").cols, 1);
    EXPECT_EQ(f.tensor("e").bytes, 0u);
    EXPECT_EQ(f.tensor("e").rows, 0);
    EXPECT_TRUE(parse("{}", {}).tensors().empty());
}

TEST(SafeTensors, WriterBytesMatchTheLayout) {
    TempDir dir;
    const auto a = pattern(8, 4);
    const auto b = pattern(3, 5);
    {
        SafeTensorsWriter w(dir / "x.safetensors");
        w.set_metadata("format", "pt");
        w.add_tensor("a", SafeDtype::F32, {2});
        w.add_tensor("b", SafeDtype::U8, {1, 3});
        w.write_tensor("a", a);
        w.write_tensor("b", b);
        w.finish();
    }
    // Declaration order, compact JSON, spaces up to a multiple of 8.
    std::string header = R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"U8","shape":[1,3],"data_offsets":[8,11]}})";
    header.append((8 - header.size() % 8) % 8, ' ');
    std::vector<uint8_t> data = a;
    for (uint8_t v : b) data.push_back(v);
    EXPECT_EQ(read_file(dir / "x.safetensors"), safetensors_bytes(header, data));
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"x.safetensors"});
}

TEST(SafeTensors, RoundTripKeepsMetadataShapesAndBytes) {
    TempDir dir;
    struct T {
        std::string name;
        SafeDtype dtype;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;
    };
    const std::vector<T> tensors = {
        {"model.embed_tokens.weight", SafeDtype::BF16, {16, 8}, pattern(16 * 8 * 2, 1)},
        {"model.layers.0.mlp.down_proj.weight", SafeDtype::F16, {8, 12}, pattern(8 * 12 * 2, 2)},
        {"model.norm.weight", SafeDtype::F32, {8}, pattern(32, 3)},
        {"scale", SafeDtype::F64, {}, pattern(8, 4)},
        {"mask", SafeDtype::BOOL, {2, 2, 2}, pattern(8, 5)},
        {"ids", SafeDtype::I64, {3}, pattern(24, 6)},
        {"empty", SafeDtype::I32, {0}, {}},
        {"packed", SafeDtype::U8, {4, 5}, pattern(20, 7)},
    };
    {
        SafeTensorsWriter w(dir / "m.safetensors");
        w.set_metadata("format", "pt");
        w.set_metadata("quantization_config", R"({"bits": 4})");
        for (const T& t : tensors) EXPECT_EQ(w.add_tensor(t.name, t.dtype, t.shape), t.bytes.size());
        for (const T& t : tensors) {
            w.begin_tensor(t.name);
            for (std::size_t off = 0; off < t.bytes.size(); off += 7) {
                w.write(std::span(t.bytes).subspan(off, std::min<std::size_t>(7, t.bytes.size() - off)));
            }
            w.end_tensor();
        }
        w.finish();
    }
    const SafeTensorsFile f = SafeTensorsFile::open(dir / "m.safetensors");
    EXPECT_EQ(f.header_bytes() % 8, 0u);
    EXPECT_EQ(f.metadata().size(), 2u);
    EXPECT_EQ(f.metadata().at("quantization_config"), R"({"bits": 4})");
    ASSERT_EQ(f.tensors().size(), tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const SafeTensor& t = f.tensors()[i];  // declaration order is data order
        EXPECT_EQ(t.name, tensors[i].name);
        EXPECT_EQ(t.dtype, tensors[i].dtype);
        EXPECT_EQ(t.shape, tensors[i].shape);
        const auto d = f.tensor_data(t);
        EXPECT_EQ(std::vector<uint8_t>(d.begin(), d.end()), tensors[i].bytes) << t.name;
    }
}

TEST(SafeTensors, WriterRulesAndNothingLeftBehind) {
    TempDir dir;
    {
        SafeTensorsWriter w(dir / "w.safetensors");
        EXPECT_ERROR(w.add_tensor("__metadata__", SafeDtype::U8, {1}), "w.safetensors: '__metadata__' is reserved");
        EXPECT_ERROR(w.add_tensor("", SafeDtype::U8, {1}), "w.safetensors: empty tensor name");
        EXPECT_ERROR(w.add_tensor("x\xC3", SafeDtype::U8, {1}), "w.safetensors: tensor name is not valid UTF-8");
        EXPECT_ERROR(w.add_tensor("n", SafeDtype::U8, {-2}), "w.safetensors: tensor 'n': negative dimension -2");
        EXPECT_ERROR(w.set_metadata("k", "\xFF"), "w.safetensors: metadata 'k' value is not valid UTF-8");
        w.add_tensor("a", SafeDtype::U8, {4});
        w.add_tensor("b", SafeDtype::U8, {4});
        EXPECT_ERROR(w.add_tensor("a", SafeDtype::U8, {4}), "w.safetensors: tensor 'a': declared twice");
        EXPECT_ERROR(w.begin_tensor("b"), "w.safetensors: tensor 'b': written out of order (next is 'a')");
        w.write_tensor("a", pattern(4, 0));
        EXPECT_ERROR(w.set_metadata("late", "x"), "w.safetensors: metadata changed after tensor data began");
        EXPECT_ERROR(w.finish(), "w.safetensors: tensor 'b' was declared but never written");
    }
    EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace lowbit::test

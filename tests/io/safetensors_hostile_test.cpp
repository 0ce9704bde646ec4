// Hostile SafeTensors input: each malformed file is a lowbit::Error naming the file and the
// tensor or field.
#include <gtest/gtest.h>

#include "io_test_util.hpp"
#include "lowbit/safetensors.hpp"
#include "safetensors_bytes.hpp"

namespace lowbit::test {
namespace {

SafeTensorsFile parse_bytes(std::vector<uint8_t> bytes) {
    return SafeTensorsFile::parse(memory_file(std::move(bytes), "t.safetensors"));
}
SafeTensorsFile parse(std::string_view header, const std::vector<uint8_t>& data = {}) {
    return parse_bytes(safetensors_bytes(header, data));
}

// One tensor "w" with the given entry JSON, and `data` bytes.
SafeTensorsFile parse_entry(std::string_view entry, std::size_t data = 8) {
    return parse("{\"w\":" + std::string(entry) + "}", pattern(data, 0));
}

TEST(SafeTensorsHostile, TruncatedFiles) {
    EXPECT_ERROR(parse_bytes({1, 2, 3}),
                 "t.safetensors: header length: truncated: needs 8 bytes at offset 0 but the file ends at 3");
    const auto full = safetensors_bytes(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", pattern(4, 0));
    for (std::size_t n = 0; n < full.size(); ++n) {
        const std::string msg = error_of([&] {
            parse_bytes({full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)});
        });
        EXPECT_EQ(msg.rfind("t.safetensors: ", 0), 0u) << "cut at " << n << ": " << msg;
    }
    EXPECT_ERROR(parse_bytes({full.begin(), full.end() - 1}),
                 "t.safetensors: tensor 'w': data_offsets [0, 4) extend past the end of the data section (3 bytes)");
}

TEST(SafeTensorsHostile, HeaderLengthBeyondTheFileOrTheLimit) {
    std::vector<uint8_t> b = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    EXPECT_ERROR(parse_bytes(b),
                 "t.safetensors: header length: 18446744073709551615 bytes exceeds the limit of 100000000");
    b[0] = 100;
    for (int i = 1; i < 8; ++i) b[i] = 0;
    EXPECT_ERROR(parse_bytes(b), "t.safetensors: header length: 100 bytes exceeds the 2 bytes left in the file");
}

TEST(SafeTensorsHostile, BadJsonHeaders) {
    EXPECT_ERROR(parse(""), "t.safetensors: header: must be a JSON object starting with '{'");
    EXPECT_ERROR(parse("[1,2]"), "t.safetensors: header: must be a JSON object starting with '{'");
    EXPECT_ERROR(parse("{\"w\":"), "t.safetensors: header: invalid JSON at byte");
    EXPECT_ERROR(parse("{} trailing"), "t.safetensors: header: invalid JSON at byte");
    EXPECT_ERROR(parse("{\"w\xC3\x28\":1}"), "t.safetensors: header: invalid JSON", "UTF-8");
    // Found by fuzzing: nlohmann reports a number beyond double as out_of_range, not parse_error.
    EXPECT_ERROR(parse(R"({"w":{"dtype":"U8","shape":[1e400],"data_offsets":[0,0]}})"),
                 "t.safetensors: header: invalid JSON: number overflow parsing '1e400'");
    std::string deep = "{\"w\":";
    for (int i = 0; i < 70; ++i) deep += "[";
    EXPECT_ERROR(parse(deep), "t.safetensors: header: nested deeper than 64");
}

TEST(SafeTensorsHostile, DuplicateTensorNames) {
    EXPECT_ERROR(
        parse(
            R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"w":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
            pattern(8, 0)),
        "t.safetensors: header: duplicate key 'w'");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","dtype":"U8","shape":[8],"data_offsets":[0,8]})"),
                 "t.safetensors: header: duplicate key 'dtype'");
}

TEST(SafeTensorsHostile, BadMetadata) {
    EXPECT_ERROR(parse(R"({"__metadata__":[1]})"),
                 "t.safetensors: header: '__metadata__': expected an object of strings, found array");
    EXPECT_ERROR(parse(R"({"__metadata__":{"a":"x","n":5}})"),
                 "t.safetensors: header: '__metadata__' key 'n': expected a string, found non-negative integer");
}

TEST(SafeTensorsHostile, MalformedTensorEntries) {
    EXPECT_ERROR(parse_entry("7"), "t.safetensors: tensor 'w': expected an object, found non-negative integer");
    EXPECT_ERROR(parse_entry(R"({"shape":[8],"data_offsets":[0,8]})"), "t.safetensors: tensor 'w': missing 'dtype'");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","data_offsets":[0,8]})"), "t.safetensors: tensor 'w': missing 'shape'");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":[8]})"), "t.safetensors: tensor 'w': missing 'data_offsets'");
    EXPECT_ERROR(parse_entry(R"({"dtype":8,"shape":[8],"data_offsets":[0,8]})"),
                 "t.safetensors: tensor 'w': 'dtype' must be a string");
    EXPECT_ERROR(parse_entry(R"({"dtype":"Q4_0","shape":[8],"data_offsets":[0,8]})"),
                 "t.safetensors: tensor 'w': unknown dtype 'Q4_0'");
    EXPECT_ERROR(parse(R"({"":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", pattern(8, 0)),
                 "t.safetensors: header: empty tensor name");
}

TEST(SafeTensorsHostile, BadShapes) {
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":8,"data_offsets":[0,8]})"),
                 "t.safetensors: tensor 'w': 'shape' must be an array");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":[-8],"data_offsets":[0,8]})"),
                 "t.safetensors: tensor 'w': 'shape' holds a negative integer");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":[2.5],"data_offsets":[0,8]})"),
                 "t.safetensors: tensor 'w': 'shape' holds a number");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":[1e30],"data_offsets":[0,8]})"),
                 "t.safetensors: tensor 'w': 'shape' holds a number");
    EXPECT_ERROR(parse_entry(R"({"dtype":"F64","shape":[4294967296,4294967296,4],"data_offsets":[0,8]})"),
                 "t.safetensors: tensor 'w': shape has more than 2^56 elements");
    EXPECT_ERROR(parse_entry(R"({"dtype":"F64","shape":[0,4294967296,4294967296],"data_offsets":[0,0]})"),
                 "t.safetensors: tensor 'w': shape has more than 2^56 elements");
}

TEST(SafeTensorsHostile, BadOffsets) {
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":[8],"data_offsets":[0]})"),
                 "t.safetensors: tensor 'w': 'data_offsets' must be [begin, end]");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":[8],"data_offsets":[0,-8]})"),
                 "'data_offsets' must be [begin, end]");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":[0],"data_offsets":[8,0]})"),
                 "t.safetensors: tensor 'w': data_offsets [8, 0) are reversed");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":[16],"data_offsets":[0,16]})"),
                 "t.safetensors: tensor 'w': data_offsets [0, 16) extend past the end of the data section (8 bytes)");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":[8],"data_offsets":[0,18446744073709551615]})"),
                 "data_offsets [0, 18446744073709551615) extend past the end of the data section");
    EXPECT_ERROR(parse_entry(R"({"dtype":"F16","shape":[2,3],"data_offsets":[0,8]})"),
                 "t.safetensors: tensor 'w': data_offsets [0, 8) hold 8 bytes but F16 [2, 3] needs 12");
}

TEST(SafeTensorsHostile, OverlapsGapsAndTrailingBytes) {
    EXPECT_ERROR(
        parse(
            R"({"a":{"dtype":"U8","shape":[6],"data_offsets":[0,6]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
            pattern(8, 0)),
        "t.safetensors: tensor 'b': data_offsets [4, 8) overlap tensor 'a' [0, 6)");
    EXPECT_ERROR(
        parse(
            R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
            pattern(8, 0)),
        "t.safetensors: tensor 'b': data_offsets [6, 8) leave bytes [4, 6) of the data section unused");
    EXPECT_ERROR(parse(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})", pattern(8, 0)),
                 "leave bytes [0, 4) of the data section unused");
    EXPECT_ERROR(parse_entry(R"({"dtype":"U8","shape":[4],"data_offsets":[0,4]})"),
                 "t.safetensors: data section: bytes [4, 8) belong to no tensor");
}

}  // namespace
}  // namespace lowbit::test

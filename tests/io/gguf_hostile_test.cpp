// Hostile GGUF input: each malformed file gives a lowbit::Error naming the file and the field
// or tensor, never a crash (these also run under ASan + UBSan).
#include <gtest/gtest.h>

#include "gguf_bytes.hpp"
#include "io_test_util.hpp"
#include "lowbit/gguf_reader.hpp"

namespace lowbit::test {
namespace {

GgufFile parse(const GgufBytes& b) { return GgufFile::parse(memory_file(b.bytes)); }

// A valid file: one kv, two F32 tensors of 8 elements (32 bytes each).
GgufBytes valid_file() {
    GgufBytes b;
    b.header(3, 2, 1).kv_str("general.architecture", "llama");
    b.tensor_info("a", {8}, kF32Type, 0).tensor_info("b", {8}, kF32Type, 32).pad_to(32);
    b.fill(64, 0x3f);
    return b;
}

TEST(GgufHostile, ValidBaseFileParses) { EXPECT_EQ(parse(valid_file()).tensors().size(), 2u); }

TEST(GgufHostile, EveryTruncationIsANamedError) {
    const GgufBytes full = valid_file();
    for (std::size_t n = 0; n < full.size(); ++n) {
        GgufBytes cut;
        cut.bytes.assign(full.bytes.begin(), full.bytes.begin() + static_cast<std::ptrdiff_t>(n));
        const std::string msg = error_of([&] { parse(cut); });
        EXPECT_EQ(msg.rfind("t.gguf: ", 0), 0u) << "cut at " << n << ": " << msg;
    }
    auto cut_at = [&](std::size_t n) {
        GgufBytes cut;
        cut.bytes.assign(full.bytes.begin(), full.bytes.begin() + static_cast<std::ptrdiff_t>(n));
        return cut;
    };
    EXPECT_ERROR(parse(cut_at(2)), "t.gguf: magic: truncated: needs 4 bytes at offset 0 but the file ends at 2");
    EXPECT_ERROR(parse(cut_at(6)), "t.gguf: version: truncated");
    EXPECT_ERROR(parse(cut_at(12)), "t.gguf: tensor_count: truncated");
    EXPECT_ERROR(parse(cut_at(30)), "t.gguf: metadata_kv_count: 1 key-value pairs cannot fit in the 6 bytes left");
    EXPECT_ERROR(parse(cut_at(50)), "t.gguf: metadata key #0: string length 20 exceeds the 18 bytes left in the file");
    EXPECT_ERROR(parse(cut_at(60)), "t.gguf: metadata 'general.architecture': truncated");
    EXPECT_ERROR(parse(cut_at(80)), "t.gguf: tensor_count: 2 tensor infos cannot fit in the 11 bytes left");
    EXPECT_ERROR(parse(cut_at(130)), "t.gguf: tensor 'b': offset: truncated: needs 8 bytes at offset 127");
    EXPECT_ERROR(parse(cut_at(full.size() - 1)), "t.gguf: tensor 'b': data [", "extends past the end of the file");
}

TEST(GgufHostile, WrongMagic) {
    GgufBytes b = valid_file();
    b.bytes[3] = 'L';
    EXPECT_ERROR(parse(b), "t.gguf: magic: not a GGUF file (first bytes 47 47 55 4c");
    EXPECT_ERROR(GgufFile::parse(memory_file({})), "t.gguf: magic: truncated");
}

TEST(GgufHostile, UnsupportedVersions) {
    GgufBytes v1;
    v1.raw("GGUF").u32(1).u32(0).u32(0);
    EXPECT_ERROR(parse(v1), "t.gguf: version: GGUF version 1 is not supported");
    GgufBytes v4;
    v4.header(4, 0, 0);
    EXPECT_ERROR(parse(v4), "t.gguf: version: GGUF version 4 is not supported");
    GgufBytes big;
    big.raw("GGUF").u8(0).u8(0).u8(0).u8(3);
    EXPECT_ERROR(parse(big), "t.gguf: version: big-endian GGUF files are not supported");
}

TEST(GgufHostile, CountsTheFileCannotHold) {
    GgufBytes kv;
    kv.header(3, 0, uint64_t{1} << 40);
    EXPECT_ERROR(parse(kv), "t.gguf: metadata_kv_count: 1099511627776 key-value pairs cannot fit in the 0 bytes");
    GgufBytes tensors;
    tensors.header(3, ~uint64_t{0}, 0).fill(100, 0);
    EXPECT_ERROR(parse(tensors), "t.gguf: tensor_count: 18446744073709551615 tensor infos cannot fit in the 100 bytes");
}

TEST(GgufHostile, StringLengthsThatOverflowOrExceedTheFile) {
    GgufBytes key;
    key.header(3, 0, 1).u64(~uint64_t{0}).fill(20, 'a');
    EXPECT_ERROR(parse(key), "t.gguf: metadata key #0: string length 18446744073709551615 exceeds the 20 bytes left");
    GgufBytes value;
    value.header(3, 0, 1).key("k", kString).u64(1000).raw("short");
    EXPECT_ERROR(parse(value), "t.gguf: metadata 'k': string length 1000 exceeds the 5 bytes left");
    GgufBytes name;
    name.header(3, 1, 0).u64(uint64_t{1} << 62).fill(30, 'n');
    EXPECT_ERROR(parse(name), "t.gguf: tensor #0 name: string length 4611686018427387904 exceeds");
}

TEST(GgufHostile, ArrayCountsThatOverflowOrExceedTheFile) {
    GgufBytes b;
    b.header(3, 0, 1).key("arr", kArray).u32(kU64).u64(uint64_t{1} << 61).fill(64, 0);
    EXPECT_ERROR(parse(b),
                 "t.gguf: metadata 'arr': array of 2305843009213693952 uint64 values cannot fit in the 64 bytes");
    GgufBytes strings;
    strings.header(3, 0, 1).key("arr", kArray).u32(kString).u64(9).fill(64, 0);
    EXPECT_ERROR(parse(strings), "metadata 'arr': array of 9 string values cannot fit");
    GgufBytes inner;
    inner.header(3, 0, 1).key("arr", kArray).u32(kArray).u64(1).u32(kU8).u64(~uint64_t{0});
    EXPECT_ERROR(parse(inner), "t.gguf: metadata 'arr'[0]: array of 18446744073709551615 uint8 values cannot fit");
}

TEST(GgufHostile, ArraysNestedTooDeep) {
    GgufBytes b;
    b.header(3, 0, 1).key("deep", kArray);
    for (int i = 0; i < 17; ++i) b.u32(kArray).u64(1);
    b.u32(kU8).u64(0);
    EXPECT_ERROR(parse(b), "t.gguf: metadata 'deep'", "arrays nested deeper than 16");
}

TEST(GgufHostile, UnknownValueTypes) {
    GgufBytes b;
    b.header(3, 0, 1).key("k", 13).u8(0);
    EXPECT_ERROR(parse(b), "t.gguf: metadata 'k': unknown value type 13");
    GgufBytes a;
    a.header(3, 0, 1).key("k", kArray).u32(99).u64(0);
    EXPECT_ERROR(parse(a), "t.gguf: metadata 'k': unknown array element type 99");
}

TEST(GgufHostile, BoolOtherThanZeroOrOne) {
    GgufBytes b;
    b.header(3, 0, 1).key("flag", kBool).u8(2);
    EXPECT_ERROR(parse(b), "t.gguf: metadata 'flag': bool value 2 is not 0 or 1");
    GgufBytes a;
    a.header(3, 0, 1).key("flags", kArray).u32(kBool).u64(2).u8(1).u8(7);
    EXPECT_ERROR(parse(a), "t.gguf: metadata 'flags'[1]: bool value 7 is not 0 or 1");
}

TEST(GgufHostile, InvalidUtf8) {
    GgufBytes key;
    key.header(3, 0, 1).key("bad\xC0\xAF", kU8).u8(0);
    EXPECT_ERROR(parse(key), "t.gguf: metadata key #0: key is not valid UTF-8 (byte 3)");
    GgufBytes value;
    value.header(3, 0, 1).kv_str("general.name", "ok\xED\xA0\x80");  // a UTF-16 surrogate
    EXPECT_ERROR(parse(value), "t.gguf: metadata 'general.name': string is not valid UTF-8 (byte 2)");
    GgufBytes token;
    token.header(3, 0, 1).kv_strings("tokenizer.ggml.tokens", {"a", "\xFF"});
    EXPECT_ERROR(parse(token), "t.gguf: metadata 'tokenizer.ggml.tokens'[1]: string is not valid UTF-8 (byte 0)");
    GgufBytes name;
    name.header(3, 1, 0).tensor_info("w\xE2\x82", {8}, kF32Type, 0).pad_to(32).fill(32, 0);
    EXPECT_ERROR(parse(name), "t.gguf: tensor #0 name: name is not valid UTF-8 (byte 1)");
}

TEST(GgufHostile, DuplicateAndEmptyNames) {
    GgufBytes key;
    key.header(3, 0, 2).kv_u32("general.alignment", 32).kv_u32("general.alignment", 64);
    EXPECT_ERROR(parse(key), "t.gguf: metadata 'general.alignment': duplicate key");
    GgufBytes tensor;
    tensor.header(3, 2, 0)
        .tensor_info("w", {8}, kF32Type, 0)
        .tensor_info("w", {8}, kF32Type, 32)
        .pad_to(32)
        .fill(64, 0);
    EXPECT_ERROR(parse(tensor), "t.gguf: tensor 'w': duplicate tensor name");
    GgufBytes empty_key;
    empty_key.header(3, 0, 1).kv_u32("", 1);
    EXPECT_ERROR(parse(empty_key), "t.gguf: metadata key #0: empty key");
    GgufBytes empty_name;
    empty_name.header(3, 1, 0).tensor_info("", {8}, kF32Type, 0).pad_to(32).fill(32, 0);
    EXPECT_ERROR(parse(empty_name), "t.gguf: tensor #0 name: empty name");
}

TEST(GgufHostile, BadAlignment) {
    for (uint32_t a : {0u, 48u, 3u}) {
        GgufBytes b;
        b.header(3, 0, 1).kv_u32("general.alignment", a);
        const std::string expected =
            "t.gguf: metadata 'general.alignment': " + std::to_string(a) + " is not a power of two";
        EXPECT_ERROR(parse(b), expected);
    }
    GgufBytes wrong_type;
    wrong_type.header(3, 0, 1).key("general.alignment", kU64).u64(32);
    EXPECT_ERROR(parse(wrong_type), "t.gguf: metadata 'general.alignment': expected uint32, found uint64");
}

TEST(GgufHostile, TooManyDimensions) {
    GgufBytes b;
    b.header(3, 1, 0).tensor_info("w", {1, 1, 1, 1, 1}, kF32Type, 0).pad_to(32).fill(32, 0);
    EXPECT_ERROR(parse(b), "t.gguf: tensor 'w': n_dims 5 exceeds 4");
}

TEST(GgufHostile, ShapesWhoseSizeOverflows) {
    GgufBytes negative;
    negative.header(3, 1, 0).tensor_info("w", {8, uint64_t{1} << 63}, kF32Type, 0);
    EXPECT_ERROR(parse(negative), "t.gguf: tensor 'w': dimension 1 is 9223372036854775808 (more than 2^63 - 1)");
    GgufBytes product;
    product.header(3, 1, 0).tensor_info("w", {uint64_t{1} << 32, uint64_t{1} << 32, uint64_t{1} << 32}, kF32Type, 0);
    EXPECT_ERROR(parse(product), "t.gguf: tensor 'w': shape 4294967296 x 4294967296 x", "has more than 2^56 elements");
    // A zero dimension does not hide an overflowing product of the others.
    GgufBytes zero;
    zero.header(3, 1, 0).tensor_info("w", {0, uint64_t{1} << 40, uint64_t{1} << 40}, kF32Type, 0);
    EXPECT_ERROR(parse(zero), "t.gguf: tensor 'w'", "has more than 2^56 elements");
    // 2^56 f64 elements is 2^59 bytes: sized without overflow, then refused for the file size.
    GgufBytes big;
    big.header(3, 1, 0).tensor_info("w", {uint64_t{1} << 28, uint64_t{1} << 28}, 28, 0);
    EXPECT_ERROR(parse(big), "t.gguf: tensor 'w': data [", "extends past the end of the file");
}

TEST(GgufHostile, TypeByteSizeArithmeticIsChecked) {
    const GgufTensorType* f64 = find_gguf_tensor_type(28);
    ASSERT_NE(f64, nullptr);
    EXPECT_ERROR(f64->tensor_bytes(int64_t{1} << 40, int64_t{1} << 40),
                 "F64: size of 1099511627776 x 1099511627776 overflows");
}

TEST(GgufHostile, UnknownTensorTypeIds) {
    auto with_type = [](uint32_t type, std::string_view arch) {
        GgufBytes b;
        b.header(3, 1, 1).kv_str("general.architecture", arch).tensor_info("blk.0.attn_q.weight", {256, 1}, type, 0);
        b.pad_to(32).fill(1024, 0);
        return b;
    };
    EXPECT_ERROR(parse(with_type(99, "llama")), "t.gguf: tensor 'blk.0.attn_q.weight': unknown type id 99");
    EXPECT_ERROR(parse(with_type(4, "llama")), "unknown type id 4 (ggml's Q4_2/Q4_3, removed");
    EXPECT_ERROR(parse(with_type(38, "bitnet-b1.58")), "unknown type id 38 (bitnet.cpp's TL1");
    EXPECT_ERROR(parse(with_type(39, "bitnet-25")), "unknown type id 39 (bitnet.cpp's TL2");
    EXPECT_EQ(parse(with_type(39, "llama")).tensors()[0].type->name, "MXFP4");
    EXPECT_ERROR(parse(with_type(2000, "llama")), "unknown type id 2000");
}

TEST(GgufHostile, RowLengthNotAMultipleOfTheBlock) {
    GgufBytes b;
    b.header(3, 1, 0).tensor_info("w", {33, 2}, kQ4_0Type, 0).pad_to(32).fill(64, 0);
    EXPECT_ERROR(parse(b), "t.gguf: tensor 'w': Q4_0: row length 33 is not a multiple of the block size 32");
    GgufBytes listed;
    listed.header(3, 1, 0).tensor_info("w", {100}, kQ4_KType, 0).pad_to(32).fill(256, 0);
    EXPECT_ERROR(parse(listed), "t.gguf: tensor 'w': Q4_K: row length 100 is not a multiple of the block size 256");
}

TEST(GgufHostile, MisalignedOffset) {
    GgufBytes b;
    b.header(3, 1, 0).tensor_info("w", {8}, kF32Type, 16).pad_to(32).fill(64, 0);
    EXPECT_ERROR(parse(b), "t.gguf: tensor 'w': offset 16 is not a multiple of the alignment 32");
}

TEST(GgufHostile, OffsetsBeyondTheEnd) {
    GgufBytes past;
    past.header(3, 1, 0).tensor_info("w", {8}, kF32Type, 4096).pad_to(32).fill(32, 0);
    EXPECT_ERROR(parse(past), "t.gguf: tensor 'w': data [4160, 4192) extends past the end of the file (96 bytes)");
    GgufBytes wrap;
    wrap.header(3, 1, 0).tensor_info("w", {8}, kF32Type, ~uint64_t{31}).pad_to(32).fill(32, 0);
    EXPECT_ERROR(parse(wrap), "t.gguf: tensor 'w': offset 18446744073709551584 + 32 bytes overflows");
}

TEST(GgufHostile, OverlappingTensors) {
    GgufBytes b;
    b.header(3, 2, 0).tensor_info("a", {16}, kF32Type, 0).tensor_info("b", {8}, kF32Type, 32).pad_to(32).fill(64, 0);
    EXPECT_ERROR(parse(b), "t.gguf: tensor 'b': data [", "overlaps tensor 'a'");
}

TEST(GgufHostile, LowbitFormatVersionFromTheFuture) {
    GgufBytes b;
    b.header(3, 1, 1).kv_u32("lowbit.format_version", 2).tensor_info("w", {4, 2}, 1026, 0).pad_to(32).fill(34, 0);
    EXPECT_ERROR(parse(b), "t.gguf: metadata 'lowbit.format_version': version 2 is not one this build reads");
}

}  // namespace
}  // namespace lowbit::test

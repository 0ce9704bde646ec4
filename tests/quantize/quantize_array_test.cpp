// quantize_array (an in-memory tensor through the model quantizer's encoder) against ggml's
// reference Q8_0/Q4_0 encoders written from their rules, and quantize::resolve (the request
// both front ends go through) against the types and limits it must produce.
#include <gtest/gtest.h>

#include <cstring>

#include "lowbit/error.hpp"
#include "lowbit/fp16.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/quantize_request.hpp"
#include "lowbit/thread_pool.hpp"
#include "quantize/quantize_test_util.hpp"

namespace lowbit::test {
namespace {

std::span<const uint8_t> bytes_of(const std::vector<float>& v) {
    return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float)};
}

TEST(QuantizeArray, MatchesGgmlReferenceEncodersAtAnyThreadCount) {
    const int64_t rows = 300, cols = 512;  // several row chunks
    const std::vector<float> x = normal(static_cast<std::size_t>(rows * cols), 7, true);
    for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        const quantize::EncodedArray q8 =
            quantize::quantize_array("w", bytes_of(x), TypeId::F32, rows, cols, TypeId::Q8_0, {}, pool);
        EXPECT_EQ(q8.bytes, ggml_q8_0(x)) << threads;
        const quantize::EncodedArray q4 =
            quantize::quantize_array("w", bytes_of(x), TypeId::F32, rows, cols, TypeId::Q4_0, {}, pool);
        EXPECT_EQ(q4.bytes, ggml_q4_0(x)) << threads;
        EXPECT_GT(q8.cosine, 0.999);
        EXPECT_GT(q8.cosine, q4.cosine);
    }
}

TEST(QuantizeArray, HalfInputEqualsItsFloatValues) {
    const int64_t rows = 64, cols = 384;
    std::vector<float> x = normal(static_cast<std::size_t>(rows * cols), 3);
    std::vector<uint16_t> half(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        half[i] = f32_to_f16(x[i]);
        x[i] = f16_to_f32(half[i]);
    }
    ThreadPool pool(2);
    const TypeId int4 = int_group_type_id(4, true, 128);
    const auto from_half = quantize::quantize_array(
        "w", {reinterpret_cast<const uint8_t*>(half.data()), half.size() * 2}, TypeId::F16, rows, cols, int4, {}, pool);
    const auto from_float = quantize::quantize_array("w", bytes_of(x), TypeId::F32, rows, cols, int4, {}, pool);
    EXPECT_EQ(from_half.bytes, from_float.bytes);
}

TEST(QuantizeArray, BadInputNamesTheArrayAndElement) {
    ThreadPool pool(1);
    std::vector<float> x(4 * 64, 0.5f);
    x[2 * 64 + 5] = NAN;
    try {
        quantize::quantize_array("weights", bytes_of(x), TypeId::F32, 4, 64, TypeId::Q8_0, {}, pool);
        FAIL() << "NaN accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'weights': element [2, 5] is NaN"), std::string::npos) << e.what();
    }
    const std::vector<float> short_rows(4 * 60, 1.0f);  // Q8_0 needs rows of whole blocks of 32
    EXPECT_THROW(quantize::quantize_array("w", bytes_of(short_rows), TypeId::F32, 4, 60, TypeId::Q8_0, {}, pool),
                 Error);
    EXPECT_THROW(quantize::quantize_array("w", bytes_of(x), TypeId::F32, 5, 64, TypeId::Q8_0, {}, pool), Error);
    quantize::Options zero;
    zero.nan = quantize::NanPolicy::zero;
    const auto z = quantize::quantize_array("w", bytes_of(x), TypeId::F32, 4, 64, TypeId::Q8_0, zero, pool);
    EXPECT_EQ(z.zeroed, 1);
}

TEST(QuantizeRequest, ResolvesProfilesTypesAndSizes) {
    quantize::Request r;
    r.input = "in.gguf";
    r.output = "out.gguf";
    quantize::Options o = quantize::resolve(r);
    EXPECT_EQ(o.type, int_group_type_id(4, false, 128));  // the local profile
    ASSERT_TRUE(o.min_cosine.has_value());
    EXPECT_DOUBLE_EQ(*o.min_cosine, 0.85);
    r.profile = "edge";
    r.asym = true;
    r.group = 64;
    o = quantize::resolve(r);
    EXPECT_EQ(o.type, int_group_type_id(2, true, 64));
    r = {};
    r.output = "x.safetensors";
    r.type = "q4_0";
    r.max_memory = "1.5GiB";
    r.tensor_types = {"ffn_down=Q8_0"};
    o = quantize::resolve(r);
    EXPECT_EQ(o.type, TypeId::Q4_0);
    EXPECT_FALSE(o.min_cosine.has_value());  // an explicit type falls back only when asked
    EXPECT_EQ(o.out_format, quantize::OutFormat::safetensors);
    EXPECT_EQ(*o.max_memory, uint64_t{3} << 29);
    ASSERT_EQ(o.tensor_types.size(), 1u);
    EXPECT_EQ(o.tensor_types[0].type, TypeId::Q8_0);

    const auto field_of = [](const quantize::Request& bad) {
        try {
            quantize::resolve(bad);
        } catch (const Error& e) {
            return e.field();
        }
        return std::string("(accepted)");
    };
    quantize::Request bad = r;
    bad.max_memory = "lots";
    EXPECT_EQ(field_of(bad), "max_memory");
    bad = r;
    bad.mode = "fast";
    EXPECT_EQ(field_of(bad), "mode");
    bad = r;
    bad.bits = "4";  // with a type
    EXPECT_EQ(field_of(bad), "type");
    bad = r;
    bad.type = "Q5_9";
    EXPECT_EQ(field_of(bad), "type");
    bad = r;
    bad.tensor_types = {"=Q4_0"};
    EXPECT_EQ(field_of(bad), "tensor_types");
    bad = r;
    bad.output.clear();
    EXPECT_EQ(field_of(bad), "output");
}

}  // namespace
}  // namespace lowbit::test

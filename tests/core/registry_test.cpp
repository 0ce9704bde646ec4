// The registry: every type of the spec is present once, with consistent traits.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "lowbit/error.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit {
namespace {

TEST(Registry, HasEveryTypeOfTheSpec) {
    for (const char* name : {"F32", "F16", "BF16", "I2_S", "TQ1_0", "TQ2_0", "TL1", "TL2", "QK256", "I2S32",
                             "Q8_0", "Q6_K", "Q4_0", "Q4_1"}) {
        EXPECT_NE(find_weight_type(name), nullptr) << name;
    }
    int int_types = 0;
    for (int bits : {2, 4, 8}) {
        for (bool asym : {false, true}) {
            for (int group : {32, 64, 128, 256}) {
                const WeightType& t = weight_type(int_group_type_id(bits, asym, group));
                EXPECT_EQ(t.block_elems, group);
                ++int_types;
            }
        }
    }
    EXPECT_EQ(int_types, 24);
    EXPECT_EQ(weight_types().size(), 14u + 24u);
}

TEST(Registry, GgmlIdsAndSizes) {
    EXPECT_EQ(weight_type("q4_0").id, TypeId::Q4_0);
    EXPECT_EQ(static_cast<uint32_t>(weight_type("TQ2_0").id), 35u);
    EXPECT_EQ(static_cast<uint32_t>(weight_type("i2_s").id), 36u);
    EXPECT_EQ(weight_type(TypeId::Q6_K).block_bytes, 210);
    EXPECT_EQ(weight_type(TypeId::TQ1_0).tensor_bytes(2, 512), 4u * 54);
    EXPECT_EQ(weight_type(TypeId::I2_S).tensor_bytes(2560, 6912), 2560u * 6912 / 4 + 32);
}

TEST(Registry, UniqueIdsNamesAndFunctions) {
    std::set<uint32_t> ids;
    std::set<std::string> names;
    for (const WeightType& t : weight_types()) {
        EXPECT_TRUE(ids.insert(static_cast<uint32_t>(t.id)).second) << t.name;
        EXPECT_TRUE(names.insert(std::string(t.name)).second) << t.name;
        EXPECT_NE(t.reference.quantize, nullptr) << t.name;
        EXPECT_NE(t.reference.dequantize, nullptr) << t.name;
        EXPECT_NE(t.reference.gemv_i8, nullptr) << t.name;
        EXPECT_NE(t.tensor_bytes, nullptr) << t.name;
        EXPECT_NE(t.row_bytes, nullptr) << t.name;
        const auto id = static_cast<uint32_t>(t.id);
        EXPECT_TRUE(id <= 36 || id >= 1024) << t.name << ": lowbit's own types use ids >= 1024";
    }
}

// int_group_params inverts int_group_type_id, and agrees with each row's own name.
TEST(Registry, IntGroupParamsInvertTheIds) {
    for (int bits : {2, 4, 8}) {
        for (bool asym : {false, true}) {
            for (int group : {32, 64, 128, 256}) {
                const TypeId id = int_group_type_id(bits, asym, group);
                ASSERT_TRUE(is_int_group_type(id));
                const IntGroupParams p = int_group_params(id);
                EXPECT_EQ(p.bits, bits);
                EXPECT_EQ(p.asymmetric, asym);
                EXPECT_EQ(p.group, group);
                EXPECT_EQ(std::string(weight_type(id).name), "INT" + std::to_string(bits) + (asym ? "_ASYM" : "_SYM") +
                                                                 "_G" + std::to_string(group));
            }
        }
    }
    EXPECT_FALSE(is_int_group_type(TypeId::Q4_0));
    EXPECT_FALSE(is_int_group_type(TypeId::TL2));
}

TEST(Registry, UnknownNamesAndIdsAreNamedErrors) {
    try {
        weight_type("Q3_K");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("'Q3_K'"), std::string::npos);
    }
    try {
        weight_type(static_cast<TypeId>(999));
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("999"), std::string::npos);
    }
}

}  // namespace
}  // namespace lowbit

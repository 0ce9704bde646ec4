// The one table of weight types. Rows come from src/formats/ (scalar references); the SIMD
// levels are filled in by the kernel dispatch (src/kernels/dispatch.cpp) when first used.
#include <algorithm>
#include <cctype>
#include <vector>

#include "../formats/formats.hpp"
#include "../kernels/dispatch.hpp"
#include "lowbit/error.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit {
namespace {

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
           });
}

std::vector<WeightType>& table() { return kernels::dispatch_types(); }

}  // namespace

std::vector<WeightType> reference_weight_types() {
    std::vector<WeightType> t = {
        formats::f32_type(),   formats::f16_type(),   formats::bf16_type(),  formats::i2_s_type(),
        formats::tq1_0_type(), formats::tq2_0_type(), formats::tl1_type(),   formats::tl2_type(),
        formats::qk256_type(), formats::i2s32_type(), formats::q8_0_type(),  formats::q6_k_type(),
        formats::q4_0_type(),  formats::q4_1_type(),
    };
    for (WeightType& row : formats::int_group_types()) {
        t.push_back(row);
    }
    return t;
}

std::span<const WeightType> weight_types() { return table(); }

const WeightType* find_weight_type(TypeId id) {
    for (const WeightType& t : table()) {
        if (t.id == id) {
            return &t;
        }
    }
    return nullptr;
}

const WeightType* find_weight_type(std::string_view name) {
    for (const WeightType& t : table()) {
        if (same_name(t.name, name)) {
            return &t;
        }
    }
    return nullptr;
}

const WeightType& weight_type(TypeId id) {
    if (const WeightType* t = find_weight_type(id)) {
        return *t;
    }
    fail("unknown weight type id ", static_cast<uint32_t>(id));
}

const WeightType& weight_type(std::string_view name) {
    if (const WeightType* t = find_weight_type(name)) {
        return *t;
    }
    fail("unknown weight type '", name, "' (see `lowbit formats` for the list)");
}

}  // namespace lowbit

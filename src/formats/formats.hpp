// Registry rows defined by the files of this folder (one file per weight type).
#pragma once

#include <vector>

#include "lowbit/weight_type.hpp"

namespace lowbit::formats {

WeightType f32_type();
WeightType f16_type();
WeightType bf16_type();
WeightType i2_s_type();
WeightType tq1_0_type();
WeightType tq2_0_type();
WeightType tl1_type();
WeightType tl2_type();
WeightType qk256_type();
WeightType i2s32_type();
WeightType q8_0_type();
WeightType q6_k_type();
WeightType q4_0_type();
WeightType q4_1_type();
std::vector<WeightType> int_group_types();  // INT2/4/8, symmetric and asymmetric, g 32..256

}  // namespace lowbit::formats

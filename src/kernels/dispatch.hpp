// Internal: the registry rows as the dispatch filled them.
#pragma once

#include <vector>

#include "lowbit/isa.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit {

// The rows of src/formats/ with their scalar references (registry.cpp).
std::vector<WeightType> reference_weight_types();

namespace kernels {
struct LevelTable;
// The registry table, built once: reference rows + every compiled-in level + active choice.
std::vector<WeightType>& dispatch_types();
// A level's own table (no fallback), or nullptr when the level is not compiled in.
const LevelTable* level_table_of(Isa isa);
}  // namespace kernels

}  // namespace lowbit

// Internal: the registry rows as the dispatch filled them.
#pragma once

#include <string_view>
#include <vector>

#include "lowbit/isa.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit {

// The rows of src/formats/ with their scalar references (registry.cpp).
std::vector<WeightType> reference_weight_types();

namespace kernels {
struct LevelTable;
struct CoreKernels;
// The registry table, built once: reference rows + every compiled-in level's own kernels (with
// its preferred variants).
std::vector<WeightType>& dispatch_types();
// A level's own table (no fallback), or nullptr when the level is not compiled in.
const LevelTable* level_table_of(Isa isa);
// Throws lowbit::Error (unsupported) unless this build and CPU run the level.
void check_runnable(Isa isa);
// The core kernels a level runs (fallback applied).
CoreKernels core_at(Isa isa);
// Fills each null operation of `k` from `lower` (the packed trio as a unit).
void fill_gaps(Kernels& k, const Kernels& lower);
// Variants (kernel_set.hpp): names covering a type at a level ("generic" first), the preferred
// one, and the level's own kernels with one of them in place.
std::vector<std::string_view> variant_names(TypeId id, Isa isa);
std::string_view preferred_variant(TypeId id, Isa isa);
Kernels variant_kernels(TypeId id, Isa isa, std::string_view name);
}  // namespace kernels

}  // namespace lowbit

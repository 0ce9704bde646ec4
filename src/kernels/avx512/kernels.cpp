// The AVX-512 level: the generic kernels compiled with AVX-512 F/BW/VL/DQ (and VNNI when
// LOWBIT_VNNI is 1), and this level's table. Compiled twice, once per VNNI setting; CMake
// sets LOWBIT_VNNI, LOWBIT_LEVEL_NS and LOWBIT_TABLE_NAME.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../level_table.hpp"
#include "lowbit/fp16.hpp"
#include "simd.hpp"

namespace lowbit::kernels::LOWBIT_LEVEL_NS {

#include "../generic/common.inl"
#include "../generic/core.inl"
#include "../generic/planar.inl"
#include "../generic/ternary_formats.inl"
#include "../generic/tl2.inl"

}  // namespace lowbit::kernels::LOWBIT_LEVEL_NS

#include "../generic/table.inl"

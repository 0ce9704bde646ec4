// Everything one ISA level compiles: included by src/kernels/<isa>/kernels.cpp after that
// level's simd.hpp. CMake sets LOWBIT_VNNI, LOWBIT_LEVEL_NS and LOWBIT_TABLE_NAME.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../level_table.hpp"
#include "lowbit/fp16.hpp"

namespace lowbit::kernels::LOWBIT_LEVEL_NS {

#include "common.inl"
#include "core.inl"
#include "planar.inl"
#include "ternary_formats.inl"
#include "tl2.inl"
#include "natural.inl"
#include "q6_k.inl"
#include "block32.inl"
#include "float_formats.inl"
#include "quantize.inl"

}  // namespace lowbit::kernels::LOWBIT_LEVEL_NS

#include "table.inl"

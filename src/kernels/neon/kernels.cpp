// The NEON levels (neon, neon_dotprod): the generic kernels compiled with this folder's vector
// vocabulary. Compiled once per dot-product setting (LOWBIT_VNNI).
#include "simd.hpp"
// clang-format off
#include "../generic/level.inl"
// clang-format on

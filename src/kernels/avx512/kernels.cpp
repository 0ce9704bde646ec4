// The AVX-512 levels (avx512, avx512_vnni): the generic kernels compiled with this folder's
// vector vocabulary. Compiled once per VNNI setting.
#include "simd.hpp"
// clang-format off
#include "../generic/level.inl"
// clang-format on

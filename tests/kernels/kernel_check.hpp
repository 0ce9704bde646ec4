// Compares one ISA level's kernels with the scalar reference, for every type and operation
// that level implements. Standard library only (no GoogleTest), so that the same checks run
// natively under GoogleTest and, cross-compiled, under qemu (tests/kernels/check_main.cpp).
#pragma once

#include <string>
#include <vector>

#include "lowbit/isa.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::test {

struct CheckReport {
    int passed = 0;
    std::vector<std::string> failures;
    void merge(const CheckReport& other);
};

// Every operation `isa` implements for `type` (its own table, no fallback), on many shapes,
// unaligned buffers, random and extreme inputs:
//   dequantize, quantize (f32, f16, bf16): bit-identical to the reference;
//   gemv_i8, gemm_i8: identical on inputs whose sums are exact integers in f32 (unit scales:
//   this is where an integer error would show), and on every input for the kernels that keep
//   the reference's order of float operations; otherwise within 1e-6 of sum |w q| / s.
CheckReport check_type_kernels(const WeightType& type, Isa isa);

// The level's activation quantization and absmean ternarization: bit-identical.
CheckReport check_core_kernels(Isa isa);

// Levels this machine can run that have their own tables (excluding scalar).
std::vector<Isa> testable_levels();

}  // namespace lowbit::test

// Instruction-set levels a kernel can be written for, and the run-time choice among them.
//
// The level in use is chosen once, at start-up, from CPU detection: the best level this CPU
// supports and this build contains. LOWBIT_ISA=<name> in the environment, or set_isa(), forces
// a level so that every path can be tested on one machine. A kernel missing at a level falls
// back to the next lower level of the same family, and finally to the scalar reference.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace lowbit {

enum class Isa : unsigned {
    scalar = 0,       // the reference, every type
    avx2 = 1,         // AVX2 + FMA + F16C
    avx2_vnni = 2,    // ... + AVX-VNNI (256-bit vpdpbusd)
    avx512 = 3,       // AVX-512 F/BW/VL/DQ + FMA + F16C
    avx512_vnni = 4,  // ... + AVX512_VNNI
    neon = 5,         // AArch64 Advanced SIMD
    neon_dotprod = 6, // ... + sdot/udot
    amx = 7,          // avx512_vnni + Intel AMX-INT8 tiles (prompt-processing GEMM)
};
inline constexpr std::size_t kIsaCount = 8;

std::string_view isa_name(Isa isa);
std::optional<Isa> parse_isa(std::string_view name);  // by isa_name()

// The level below `isa` in its family (amx -> avx512_vnni -> avx512 -> avx2_vnni -> avx2 ->
// scalar; neon_dotprod -> neon -> scalar); scalar for scalar.
Isa isa_fallback(Isa isa);

// What this CPU can run (detected once) and what this build contains.
bool isa_supported_by_cpu(Isa isa);
bool isa_compiled_in(Isa isa);
Isa best_isa();

// The level in use. set_isa() throws lowbit::Error naming the level if this CPU or build
// cannot run it. Not thread-safe against concurrent kernel calls: set it before work starts.
Isa active_isa();
void set_isa(Isa isa);

}  // namespace lowbit

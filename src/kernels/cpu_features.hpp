// CPU feature detection, done once: CPUID + XGETBV on x86-64 (instruction support and OS
// support for the wider register state), getauxval on AArch64.
#pragma once

namespace lowbit::kernels {

struct CpuFeatures {
    bool avx2 = false;  // with FMA, F16C and OS support for YMM state
    bool avx_vnni = false;
    bool avx512 = false;  // F, BW, VL, DQ, with OS support for ZMM and opmask state
    bool avx512_vnni = false;
    bool amx = false;  // AMX-TILE + AMX-INT8 with avx512_vnni, tile state granted by the kernel
    bool neon = false;
    bool dotprod = false;
};

const CpuFeatures& cpu_features();

}  // namespace lowbit::kernels

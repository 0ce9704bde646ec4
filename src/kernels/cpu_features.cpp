#include "cpu_features.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#elif defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace lowbit::kernels {
namespace {

#if defined(__x86_64__)
struct Regs {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Regs cpuid(unsigned leaf, unsigned subleaf) {
    Regs r;
    __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
    return r;
}

unsigned long long xgetbv0() {
    unsigned eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<unsigned long long>(edx) << 32) | eax;
}

bool bit(unsigned value, int n) { return ((value >> n) & 1u) != 0; }

CpuFeatures detect() {
    CpuFeatures f;
    const unsigned max_leaf = cpuid(0, 0).eax;
    if (max_leaf < 7) {
        return f;
    }
    const Regs l1 = cpuid(1, 0);
    const bool osxsave = bit(l1.ecx, 27);
    if (!osxsave) {
        return f;
    }
    const unsigned long long xcr0 = xgetbv0();
    const bool os_ymm = (xcr0 & 0x6) == 0x6;    // SSE and AVX state
    const bool os_zmm = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
    const Regs l7 = cpuid(7, 0);
    const Regs l7s1 = cpuid(7, 1);
    const bool fma = bit(l1.ecx, 12);
    const bool avx = bit(l1.ecx, 28);
    const bool f16c = bit(l1.ecx, 29);
    f.avx2 = os_ymm && avx && fma && f16c && bit(l7.ebx, 5);
    f.avx_vnni = f.avx2 && bit(l7s1.eax, 4);
    f.avx512 = f.avx2 && os_zmm && bit(l7.ebx, 16) && bit(l7.ebx, 17) && bit(l7.ebx, 30) && bit(l7.ebx, 31);
    f.avx512_vnni = f.avx512 && bit(l7.ecx, 11);
    // AMX: CPU support, OS support for the tile state in XCR0, and Linux's per-process
    // permission to use it (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA).
    const bool amx_cpu = bit(l7.edx, 24) && bit(l7.edx, 25);
    const bool os_tiles = (xcr0 & (3ull << 17)) == (3ull << 17);
    if (f.avx512_vnni && amx_cpu && os_tiles) {
        constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
        f.amx = syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
    }
    return f;
}
#elif defined(__aarch64__)
CpuFeatures detect() {
    CpuFeatures f;
    const unsigned long caps = getauxval(AT_HWCAP);
    f.neon = (caps & HWCAP_ASIMD) != 0;
    f.dotprod = f.neon && (caps & HWCAP_ASIMDDP) != 0;
    return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

}  // namespace lowbit::kernels

// Standalone kernel checker (no GoogleTest): every level this machine runs, every type,
// against the scalar reference. Used where GoogleTest is not available, e.g. the NEON build
// cross-compiled for AArch64 and run under qemu, and the x86-64 build on an emulated CPU
// without AVX (where it must pass with the scalar level alone). Prints "N passed, M failed".
#include <cstdio>
#include <string>

#include "kernel_check.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/weight_type.hpp"

int main() {
    using namespace lowbit;
    test::CheckReport total;
    std::printf("best level on this CPU: %s\n", std::string(isa_name(best_isa())).c_str());
    for (Isa isa : test::testable_levels()) {
        test::CheckReport level = test::check_core_kernels(isa);
        for (const WeightType& t : weight_types()) level.merge(test::check_type_kernels(t, isa));
        std::printf("%-12s %6d checks passed, %zu failed\n", std::string(isa_name(isa)).c_str(), level.passed,
                    level.failures.size());
        total.merge(level);
    }
    // The scalar level works everywhere: the dispatch must hand it out and run it.
    set_isa(Isa::scalar);
    std::vector<float> w(256, 0.5f), x(256, 1.0f), y(1);
    std::vector<uint8_t> packed(weight_type(TypeId::TQ2_0).tensor_bytes(1, 256));
    default_kernel_set()[weight_type(TypeId::TQ2_0)].ops.quantize(w.data(), 1, 256, packed.data());
    ++total.passed;
    for (const std::string& f : total.failures) std::printf("FAILED: %s\n", f.c_str());
    std::printf("%d passed, %zu failed\n", total.passed, total.failures.size());
    return total.failures.empty() ? 0 : 1;
}

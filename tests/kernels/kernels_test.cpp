// Every ISA level this machine runs, against the scalar reference (tests/kernels/kernel_check).
#include <gtest/gtest.h>

#include "kernel_check.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::test {
namespace {

void expect_clean(const CheckReport& report) {
    for (const std::string& f : report.failures) ADD_FAILURE() << f;
}

TEST(Kernels, CoreKernelsMatchReference) {
    for (Isa isa : testable_levels()) {
        SCOPED_TRACE(std::string(isa_name(isa)));
        expect_clean(check_core_kernels(isa));
    }
}

class TypeKernels : public ::testing::TestWithParam<std::string> {};

TEST_P(TypeKernels, MatchReferenceAtEveryLevel) {
    const WeightType& t = weight_type(GetParam());
    for (Isa isa : testable_levels()) {
        SCOPED_TRACE(std::string(isa_name(isa)));
        expect_clean(check_type_kernels(t, isa));
    }
}

std::vector<std::string> all_type_names() {
    std::vector<std::string> names;
    for (const WeightType& t : weight_types()) names.emplace_back(t.name);
    return names;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, TypeKernels, ::testing::ValuesIn(all_type_names()),
                         [](const auto& info) { return info.param; });

TEST(Kernels, LevelsThisMachineRuns) {
    // Informational, and a guard: an x86-64 build on an AVX2 machine must test AVX2.
    for (Isa isa : testable_levels()) std::printf("testing level %s\n", std::string(isa_name(isa)).c_str());
#if defined(__x86_64__)
    if (isa_supported_by_cpu(Isa::avx2)) {
        EXPECT_FALSE(testable_levels().empty());
    }
#endif
}

}  // namespace
}  // namespace lowbit::test

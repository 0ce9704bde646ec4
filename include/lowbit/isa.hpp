// Instruction-set levels a kernel can be written for. The scalar level is the reference.
#pragma once

#include <cstddef>
#include <string_view>

namespace lowbit {

enum class Isa : unsigned { scalar = 0, avx2 = 1, avx512 = 2, neon = 3 };
inline constexpr std::size_t kIsaCount = 4;

inline constexpr std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::scalar: return "scalar";
        case Isa::avx2: return "avx2";
        case Isa::avx512: return "avx512";
        case Isa::neon: return "neon";
    }
    return "?";
}

}  // namespace lowbit

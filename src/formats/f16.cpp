// F16 (ggml type 1): IEEE half array; f32 -> f16 rounds to nearest even (ggml's conversion).
#include "float_format.hpp"
#include "formats.hpp"

namespace lowbit::formats {
namespace {

struct F16 {
    static constexpr const char* kName = "F16";
    static constexpr TypeId kId = TypeId::F16;
    static constexpr int64_t kBytes = 2;
    static constexpr std::string_view kLayout = "plain IEEE f16 array";
    static void encode(float v, uint8_t* out) { store_f16(out, v); }
    static float decode(const uint8_t* in) { return load_f16(in); }
};

}  // namespace

WeightType f16_type() { return make_float_type<F16>(); }

}  // namespace lowbit::formats

// F32 (ggml type 0): a plain little-endian float array.
#include "float_format.hpp"
#include "formats.hpp"

namespace lowbit::formats {
namespace {

struct F32 {
    static constexpr const char* kName = "F32";
    static constexpr TypeId kId = TypeId::F32;
    static constexpr int64_t kBytes = 4;
    static constexpr std::string_view kLayout = "plain f32 array";
    static void encode(float v, uint8_t* out) { store_f32(out, v); }
    static float decode(const uint8_t* in) { return load_f32(in); }
};

}  // namespace

WeightType f32_type() { return make_float_type<F32>(); }

}  // namespace lowbit::formats

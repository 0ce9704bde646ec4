// BF16 (ggml type 30): bfloat16 array (top 16 bits of an f32), rounded to nearest even.
#include "float_format.hpp"
#include "formats.hpp"

namespace lowbit::formats {
namespace {

struct BF16 {
    static constexpr const char* kName = "BF16";
    static constexpr TypeId kId = TypeId::BF16;
    static constexpr int64_t kBytes = 2;
    static constexpr std::string_view kLayout = "plain bfloat16 array";
    static void encode(float v, uint8_t* out) {
        const uint16_t h = f32_to_bf16(v);
        std::memcpy(out, &h, sizeof h);
    }
    static float decode(const uint8_t* in) {
        uint16_t h;
        std::memcpy(&h, in, sizeof h);
        return bf16_to_f32(h);
    }
};

}  // namespace

WeightType bf16_type() { return make_float_type<BF16>(); }

}  // namespace lowbit::formats

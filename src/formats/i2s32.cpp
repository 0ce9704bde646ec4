// I2S32 (lowbit type 1025): blocks of 32 elements, 10 bytes: 8 bytes of four-level codes
// (four_level.hpp) then the block's f16 scale d = max|x| / 2. Value level * d.
// The code thresholds use the f32 d (before its f16 rounding), as the spec states the rule.
#include "block_format.hpp"
#include "formats.hpp"
#include "four_level.hpp"

namespace lowbit::formats {
namespace {

struct I2S32 {
    static constexpr const char* kName = "I2S32";
    static constexpr TypeId kId = TypeId::I2S32;
    static constexpr int64_t kElems = 32;
    static constexpr int64_t kBytes = 10;
    static constexpr double kBits = 2.5;
    static constexpr bool kTernary = false;
    static constexpr std::string_view kLayout =
        "blocks of 32: 8 bytes of codes (k in byte k/4, shift 2(k%4)) -> {-2,-1,1,2}, f16 d";

    static void quantize_block(const float* x, uint8_t* out) {
        const float d = abs_max(x, kElems) / 2.0f;
        std::memset(out, 0, 8);
        for (int k = 0; k < kElems; ++k) {
            out[k / 4] |= static_cast<uint8_t>(four_level_code(x[k], d) << (2 * (k % 4)));
        }
        store_f16_scale(out + 8, d);
    }

    static void dequantize_block(const uint8_t* in, float* y) {
        const float d = load_f16(in + 8);
        for (int k = 0; k < kElems; ++k) {
            y[k] = static_cast<float>(kFourLevelValue[four_level_code_at(in, k)]) * d;
        }
    }

    static float dot_block_i8(const uint8_t* in, const int8_t* q) {
        int32_t sum = 0;
        for (int k = 0; k < kElems; ++k) {
            sum += kFourLevelValue[four_level_code_at(in, k)] * q[k];
        }
        return load_f16(in + 8) * static_cast<float>(sum);
    }
};

}  // namespace

WeightType i2s32_type() { return make_block_type<I2S32>(); }

}  // namespace lowbit::formats

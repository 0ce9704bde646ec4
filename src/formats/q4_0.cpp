// Q4_0 (llama.cpp type 2): blocks of 32, f16 d then 16 bytes of nibbles; element j in the low
// nibble of byte j, element j + 16 in the high nibble; value (q - 8) * d.
// Quantize as llama.cpp's quantize_row_q4_0_ref: m = the x with the largest |x| (sign kept),
// d = m / -8, q = min(15, (int8_t)(x * (1/d) + 8.5f)) (a float add, then truncation).
#include "block_format.hpp"
#include "formats.hpp"

namespace lowbit::formats {
namespace {

struct Q4_0 {
    static constexpr const char* kName = "Q4_0";
    static constexpr TypeId kId = TypeId::Q4_0;
    static constexpr int64_t kElems = 32;
    static constexpr int64_t kBytes = 18;
    static constexpr double kBits = 4.5;
    static constexpr bool kTernary = false;
    static constexpr std::string_view kLayout =
        "blocks of 32: f16 d, 16 bytes (j low nibble, j+16 high); value (q-8)*d";

    static uint8_t code(float x, float id) {
        // Truncation toward zero, capped at 15; the clamp only matters for non-finite x * id.
        return static_cast<uint8_t>(clamp_to(x * id + 8.5f, 0.0f, 15.0f));
    }

    static void quantize_block(const float* x, uint8_t* out) {
        const float d = signed_abs_max(x, kElems) / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_f16_scale(out, d);
        for (int j = 0; j < 16; ++j) {
            out[2 + j] = static_cast<uint8_t>(code(x[j], id) | (code(x[j + 16], id) << 4));
        }
    }

    static void dequantize_block(const uint8_t* in, float* y) {
        const float d = load_f16(in);
        for (int j = 0; j < 16; ++j) {
            y[j] = static_cast<float>((in[2 + j] & 0x0f) - 8) * d;
            y[j + 16] = static_cast<float>((in[2 + j] >> 4) - 8) * d;
        }
    }

    static float dot_block_i8(const uint8_t* in, const int8_t* q) {
        int32_t sum = 0;
        for (int j = 0; j < 16; ++j) {
            sum += ((in[2 + j] & 0x0f) - 8) * q[j] + ((in[2 + j] >> 4) - 8) * q[j + 16];
        }
        return load_f16(in) * static_cast<float>(sum);
    }
};

}  // namespace

WeightType q4_0_type() { return make_block_type<Q4_0>(); }

}  // namespace lowbit::formats

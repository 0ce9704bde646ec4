// TQ2_0 (llama.cpp type 35): blocks of 256, 64 bytes of 2-bit codes then f16 d.
// In half h (bytes 32h..32h+31), element 128h + 32l + m sits in byte 32h + m at shift 2l
// (LSB-first). Code = q + 1; value (code - 1) * d.
// Quantize as llama.cpp's quantize_row_tq2_0_ref: d = max|x|, q = lroundf(x * (1/d)).
#include "block_format.hpp"
#include "formats.hpp"

namespace lowbit::formats {
namespace {

struct TQ2_0 {
    static constexpr const char* kName = "TQ2_0";
    static constexpr TypeId kId = TypeId::TQ2_0;
    static constexpr int64_t kElems = 256;
    static constexpr int64_t kBytes = 66;
    static constexpr double kBits = 2.0625;
    static constexpr bool kTernary = true;
    static constexpr std::string_view kLayout =
        "blocks of 256: 64 bytes of 2-bit codes (32-byte halves, LSB-first), f16 d; (code-1)*d";

    static int code_at(const uint8_t* qs, int k) {
        const int half = k / 128;
        const int l = (k % 128) / 32;
        const int m = k % 32;
        return (qs[32 * half + m] >> (2 * l)) & 3;
    }

    static void quantize_block(const float* x, uint8_t* out) {
        const float d = abs_max(x, kElems);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        std::memset(out, 0, 64);
        for (int k = 0; k < kElems; ++k) {
            const int code = static_cast<int>(std::lroundf(clamp_to(x[k] * id, -1.0f, 1.0f))) + 1;
            out[32 * (k / 128) + k % 32] |= static_cast<uint8_t>(code << (2 * ((k % 128) / 32)));
        }
        store_f16_scale(out + 64, d);
    }

    static void dequantize_block(const uint8_t* in, float* y) {
        const float d = load_f16(in + 64);
        for (int k = 0; k < kElems; ++k) {
            y[k] = static_cast<float>(code_at(in, k) - 1) * d;
        }
    }

    static float dot_block_i8(const uint8_t* in, const int8_t* q) {
        int32_t sum = 0;
        for (int k = 0; k < kElems; ++k) {
            sum += (code_at(in, k) - 1) * q[k];
        }
        return load_f16(in + 64) * static_cast<float>(sum);
    }
};

}  // namespace

WeightType tq2_0_type() { return make_block_type<TQ2_0>(); }

}  // namespace lowbit::formats

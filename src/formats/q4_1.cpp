// Q4_1 (llama.cpp type 3): blocks of 32, f16 d, f16 m, then 16 bytes of nibbles (element j low
// nibble of byte j, j + 16 high); value q * d + m.
// Quantize as llama.cpp's quantize_row_q4_1_ref: d = (max - min) / 15, m = min,
// q = min(15, (int8_t)((x - min) * (1/d) + 0.5f)), with the f32 d and min.
#include "block_format.hpp"
#include "formats.hpp"

namespace lowbit::formats {
namespace {

struct Q4_1 {
    static constexpr const char* kName = "Q4_1";
    static constexpr TypeId kId = TypeId::Q4_1;
    static constexpr int64_t kElems = 32;
    static constexpr int64_t kBytes = 20;
    static constexpr double kBits = 5.0;
    static constexpr bool kTernary = false;
    static constexpr std::string_view kLayout =
        "blocks of 32: f16 d, f16 m, 16 bytes (j low nibble, j+16 high); value q*d+m";

    static uint8_t code(float x, float min, float id) {
        return static_cast<uint8_t>(clamp_to((x - min) * id + 0.5f, 0.0f, 15.0f));
    }

    static void quantize_block(const float* x, uint8_t* out) {
        float min = x[0];
        float max = x[0];
        for (int j = 1; j < kElems; ++j) {
            min = x[j] < min ? x[j] : min;
            max = x[j] > max ? x[j] : max;
        }
        const float d = (max - min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_f16_scale(out, d);
        store_f16_scale(out + 2, min);
        for (int j = 0; j < 16; ++j) {
            out[4 + j] = static_cast<uint8_t>(code(x[j], min, id) | (code(x[j + 16], min, id) << 4));
        }
    }

    static void dequantize_block(const uint8_t* in, float* y) {
        const float d = load_f16(in);
        const float m = load_f16(in + 2);
        for (int j = 0; j < 16; ++j) {
            y[j] = static_cast<float>(in[4 + j] & 0x0f) * d + m;
            y[j + 16] = static_cast<float>(in[4 + j] >> 4) * d + m;
        }
    }

    // sum_k (q_k d + m) a_k = d * sum_k q_k a_k + m * sum_k a_k
    static float dot_block_i8(const uint8_t* in, const int8_t* q) {
        int32_t sum = 0;
        int32_t act_sum = 0;
        for (int j = 0; j < 16; ++j) {
            sum += (in[4 + j] & 0x0f) * q[j] + (in[4 + j] >> 4) * q[j + 16];
            act_sum += q[j] + q[j + 16];
        }
        return load_f16(in) * static_cast<float>(sum) + load_f16(in + 2) * static_cast<float>(act_sum);
    }
};

}  // namespace

WeightType q4_1_type() { return make_block_type<Q4_1>(); }

}  // namespace lowbit::formats

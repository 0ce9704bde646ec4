// Q8_0 (llama.cpp type 8): blocks of 32, f16 d then int8 q[32]; value q * d.
// Quantize as llama.cpp's quantize_row_q8_0_ref: d = max|x| / 127, q = roundf(x * (1/d)).
#include "block_format.hpp"
#include "formats.hpp"

namespace lowbit::formats {
namespace {

struct Q8_0 {
    static constexpr const char* kName = "Q8_0";
    static constexpr TypeId kId = TypeId::Q8_0;
    static constexpr int64_t kElems = 32;
    static constexpr int64_t kBytes = 34;
    static constexpr double kBits = 8.5;
    static constexpr bool kTernary = false;
    static constexpr std::string_view kLayout = "blocks of 32: f16 d, int8 q[32]; value q*d";

    static void quantize_block(const float* x, uint8_t* out) {
        const float d = abs_max(x, kElems) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_f16_scale(out, d);
        for (int j = 0; j < kElems; ++j) {
            out[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(clamp_to(x[j] * id, -127.0f, 127.0f))));
        }
    }

    static void dequantize_block(const uint8_t* in, float* y) {
        const float d = load_f16(in);
        for (int j = 0; j < kElems; ++j) {
            y[j] = static_cast<float>(static_cast<int8_t>(in[2 + j])) * d;
        }
    }

    static float dot_block_i8(const uint8_t* in, const int8_t* q) {
        int32_t sum = 0;
        for (int j = 0; j < kElems; ++j) {
            sum += static_cast<int8_t>(in[2 + j]) * q[j];
        }
        return load_f16(in) * static_cast<float>(sum);
    }
};

}  // namespace

WeightType q8_0_type() { return make_block_type<Q8_0>(); }

}  // namespace lowbit::formats

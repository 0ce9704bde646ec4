// TQ1_0 (llama.cpp type 34): blocks of 256, 54 bytes: qs[48], qh[4], f16 d; 1.6875 bits/weight.
// Trits t = q + 1. A byte holds a base-3 number of 5 trits (first trit most significant) as the
// fixed-point fraction ceil(v * 256 / 243).
//   qs[m],      m = 0..31: elements m + 32n,        n = 0..4 (elements 0..159)
//   qs[32 + m], m = 0..15: elements 160 + m + 16n,  n = 0..4 (elements 160..239)
//   qh[j],      j = 0..3:  elements 240 + j + 4n,   n = 0..3, times 3 (so 5 trits again)
// Trit n of byte b decodes as ((uint8_t)(b * 3^n) * 3) >> 8.
// Quantize as llama.cpp's quantize_row_tq1_0_ref: d = max|x|, q = lroundf(x * (1/d)).
#include <array>

#include "block_format.hpp"
#include "formats.hpp"

namespace lowbit::formats {
namespace {

constexpr std::array<uint8_t, 5> kPow3 = {1, 3, 9, 27, 81};

// Which byte holds element k, and which trit of it (0 = most significant).
struct TritSlot {
    int byte;
    int trit;
};

constexpr TritSlot slot_of(int k) {
    if (k < 160) {
        return {k % 32, k / 32};
    }
    if (k < 240) {
        return {32 + (k - 160) % 16, (k - 160) / 16};
    }
    return {48 + (k - 240) % 4, (k - 240) / 4};
}

struct TQ1_0 {
    static constexpr const char* kName = "TQ1_0";
    static constexpr TypeId kId = TypeId::TQ1_0;
    static constexpr int64_t kElems = 256;
    static constexpr int64_t kBytes = 54;
    static constexpr double kBits = 1.6875;
    static constexpr bool kTernary = true;
    static constexpr std::string_view kLayout =
        "blocks of 256: qs[48] (5 trits/byte, base-3 fraction), qh[4] (4 trits x3), f16 d";

    static int trit_at(const uint8_t* in, int k) {
        const TritSlot s = slot_of(k);
        const auto shifted = static_cast<uint8_t>(in[s.byte] * kPow3[s.trit]);
        return (shifted * 3) >> 8;
    }

    static void quantize_block(const float* x, uint8_t* out) {
        const float d = abs_max(x, kElems);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        // Base-3 value of each byte, first trit most significant.
        std::array<int, 52> value{};
        for (int k = 0; k < kElems; ++k) {
            const int trit = static_cast<int>(std::lroundf(clamp_to(x[k] * id, -1.0f, 1.0f))) + 1;
            const TritSlot s = slot_of(k);
            const int digits = s.byte < 48 ? 5 : 4;
            int weight = 1;
            for (int n = s.trit + 1; n < digits; ++n) {
                weight *= 3;
            }
            value[s.byte] += trit * weight;
        }
        for (int b = 0; b < 52; ++b) {
            const int v = b < 48 ? value[b] : value[b] * 3;  // qh: shift the 4 trits up one place
            out[b] = static_cast<uint8_t>((v * 256 + 242) / 243);  // ceil(v * 256 / 243)
        }
        store_f16_scale(out + 52, d);
    }

    static void dequantize_block(const uint8_t* in, float* y) {
        const float d = load_f16(in + 52);
        for (int k = 0; k < kElems; ++k) {
            y[k] = static_cast<float>(trit_at(in, k) - 1) * d;
        }
    }

    static float dot_block_i8(const uint8_t* in, const int8_t* q) {
        int32_t sum = 0;
        for (int k = 0; k < kElems; ++k) {
            sum += (trit_at(in, k) - 1) * q[k];
        }
        return load_f16(in + 52) * static_cast<float>(sum);
    }
};

}  // namespace

WeightType tq1_0_type() { return make_block_type<TQ1_0>(); }

}  // namespace lowbit::formats

// Q6_K (llama.cpp type 14): blocks of 256, 210 bytes: ql[128] (low 4 bits), qh[64] (high 2
// bits), int8 scales[16], f16 d. Per 128-element half h (ql += 64h, qh += 32h, scales += 8h)
// and l = 0..31, the k-th (k = 0..3) of elements l, l+32, l+64, l+96 takes
//   low nibble of ql[l] / ql[l+32] / high nibble of ql[l] / ql[l+32]  (k = 0, 1, 2, 3)
//   and bits 2k..2k+1 of qh[l] as its high 2 bits,
// and is worth (d * scales[l/16 + 2k]) * (q - 32): two float roundings, in that order, as
// llama.cpp's dequantize_row_q6_K.
//
// Quantization: a simpler search than llama.cpp's make_qx_quants (the spec allows it; decoding
// is what must be bit-exact). Each 16-element sub-block takes scale m / -32 (m: its
// largest-|x| element, sign kept); the 16 scales are quantized to int8 with
// iscale = -128 / (largest-|.| scale), d = 1 / iscale; then each element is
// clamp(nearest_int(x / (d_f16 * sc)), -32, 31).
#include <array>

#include "block_format.hpp"
#include "formats.hpp"

namespace lowbit::formats {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // llama.cpp's GROUP_MAX_EPS: below it, a zero block

struct Q6_K {
    static constexpr const char* kName = "Q6_K";
    static constexpr TypeId kId = TypeId::Q6_K;
    static constexpr int64_t kElems = 256;
    static constexpr int64_t kBytes = 210;
    static constexpr double kBits = 6.5625;
    static constexpr bool kTernary = false;
    static constexpr std::string_view kLayout =
        "blocks of 256: ql[128], qh[64], int8 scales[16], f16 d; (d*scale)*(q-32)";

    static constexpr int kQl = 0;
    static constexpr int kQh = 128;
    static constexpr int kScales = 192;
    static constexpr int kD = 208;

    // 6-bit code (0..63) of element k.
    static int code_at(const uint8_t* in, int k) {
        const int h = k / 128;
        const int r = k % 128;
        const int l = r % 32;
        const int kth = r / 32;
        const uint8_t* ql = in + kQl + 64 * h;
        const uint8_t* qh = in + kQh + 32 * h;
        const int low = kth == 0 ? (ql[l] & 0xf) : kth == 1 ? (ql[l + 32] & 0xf)
                      : kth == 2 ? (ql[l] >> 4) : (ql[l + 32] >> 4);
        const int high = (qh[l] >> (2 * kth)) & 3;
        return low | (high << 4);
    }

    // scales[l/16 + 2k] of half h covers elements 128h + 32k + 16*(l/16) ..: that is element
    // index / 16, so sub-block s (elements 16s..16s+15) owns scales[s].
    static int scale_index(int k) { return k / 16; }

    static void quantize_block(const float* x, uint8_t* out) {
        std::memset(out, 0, kBytes);
        std::array<float, 16> sub_scales{};
        float max_scale = 0.0f;
        float max_abs_scale = 0.0f;
        for (int s = 0; s < 16; ++s) {
            sub_scales[s] = signed_abs_max(x + 16 * s, 16) / -32.0f;
            if (std::fabs(sub_scales[s]) > max_abs_scale) {
                max_abs_scale = std::fabs(sub_scales[s]);
                max_scale = sub_scales[s];
            }
        }
        if (max_abs_scale < kGroupMaxEps) {
            return;  // all zero: d = 0, every code 0
        }
        const float iscale = -128.0f / max_scale;
        store_f16_scale(out + kD, 1.0f / iscale);
        const float d = load_f16(out + kD);
        std::array<int8_t, 16> sc{};
        for (int s = 0; s < 16; ++s) {
            const int v = nearest_int(clamp_to(iscale * sub_scales[s], -128.0f, 127.0f));
            sc[s] = static_cast<int8_t>(v < 127 ? v : 127);
        }
        std::memcpy(out + kScales, sc.data(), 16);
        for (int k = 0; k < kElems; ++k) {
            const float dk = d * static_cast<float>(sc[k / 16]);
            int q = 0;
            if (dk != 0.0f) {
                q = nearest_int(clamp_to(x[k] / dk, -32.0f, 31.0f));
            }
            put_code(out, k, q + 32);
        }
    }

    static void put_code(uint8_t* out, int k, int code) {
        const int h = k / 128;
        const int r = k % 128;
        const int l = r % 32;
        const int kth = r / 32;
        uint8_t* ql = out + kQl + 64 * h;
        uint8_t* qh = out + kQh + 32 * h;
        const auto low = static_cast<uint8_t>(code & 0xf);
        switch (kth) {
            case 0: ql[l] = static_cast<uint8_t>(ql[l] | low); break;
            case 1: ql[l + 32] = static_cast<uint8_t>(ql[l + 32] | low); break;
            case 2: ql[l] = static_cast<uint8_t>(ql[l] | (low << 4)); break;
            default: ql[l + 32] = static_cast<uint8_t>(ql[l + 32] | (low << 4)); break;
        }
        qh[l] = static_cast<uint8_t>(qh[l] | ((code >> 4) << (2 * kth)));
    }

    static void dequantize_block(const uint8_t* in, float* y) {
        const float d = load_f16(in + kD);
        const auto* sc = reinterpret_cast<const int8_t*>(in + kScales);
        for (int k = 0; k < kElems; ++k) {
            y[k] = d * static_cast<float>(sc[scale_index(k)]) * static_cast<float>(code_at(in, k) - 32);
        }
    }

    // d * sum_s scales[s] * (sum over its 16 elements of (q - 32) * a): exact in int32.
    static float dot_block_i8(const uint8_t* in, const int8_t* q) {
        const auto* sc = reinterpret_cast<const int8_t*>(in + kScales);
        int32_t sum = 0;
        for (int k = 0; k < kElems; ++k) {
            sum += sc[scale_index(k)] * (code_at(in, k) - 32) * q[k];
        }
        return load_f16(in + kD) * static_cast<float>(sum);
    }
};

}  // namespace

WeightType q6_k_type() { return make_block_type<Q6_K>(); }

}  // namespace lowbit::formats

#include "lowbit/activation.hpp"

#include <cmath>
#include <cstring>

#include "../formats/common.hpp"
#include "../kernels/level_table.hpp"
#include "lowbit/kernel_set.hpp"
#include "core_reference.hpp"
#include "lowbit/error.hpp"

namespace lowbit {

float quantize_activation_row_reference(const float* x, int64_t n, int8_t* q, int32_t* sum_out) {
    double amax = 0.00001;
    for (int64_t i = 0; i < n; ++i) {
        amax = std::fmax(amax, std::fabs(static_cast<double>(x[i])));
    }
    const auto scale = static_cast<float>(127.0 / amax);
    int32_t sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        // clamp_to also maps NaN to 0: a NaN activation must not become undefined behaviour.
        const int v = formats::round_half_even(formats::clamp_to(x[i] * scale, -128.0f, 127.0f));
        q[i] = static_cast<int8_t>(v);
        sum += v;
    }
    *sum_out = sum;
    return scale;
}

ActivationRowI8 quantize_activation_row(std::span<const float> x, std::span<int8_t> q) {
    if (q.size() != x.size()) {
        fail("quantize_activation_row: output holds ", q.size(), " values for ", x.size(), " inputs");
    }
    int32_t sum = 0;
    const auto n = static_cast<int64_t>(x.size());
    const float scale = default_kernel_set().core().quantize_activation_row(x.data(), n, q.data(), &sum);
    return {q.data(), n, scale, sum};
}

void quantize_activation_q8k(std::span<const float> x, std::span<BlockQ8K> out) {
    if (x.size() % kQ8KBlock != 0 || out.size() != x.size() / kQ8KBlock) {
        fail("quantize_activation_q8k: ", x.size(), " inputs need a multiple of 256 and ",
             x.size() / kQ8KBlock, " output blocks (got ", out.size(), ")");
    }
    for (std::size_t b = 0; b < out.size(); ++b) {
        const float* xb = x.data() + b * kQ8KBlock;
        BlockQ8K& y = out[b];
        std::memset(&y, 0, sizeof y);
        const float max = formats::signed_abs_max(xb, kQ8KBlock);
        if (max == 0.0f) {
            continue;  // d = 0, zero codes and sums
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < kQ8KBlock; ++j) {
            const int v = formats::nearest_int(formats::clamp_to(iscale * xb[j], -128.0f, 127.0f));
            y.qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
        }
        for (int j = 0; j < kQ8KBlock / 16; ++j) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) {
                sum += y.qs[16 * j + i];
            }
            y.bsums[j] = static_cast<int16_t>(sum);
        }
        y.d = 1.0f / iscale;
    }
}

}  // namespace lowbit

// QK256 (lowbit type 1024): blocks of 256 elements, 64 bytes of four-level codes each
// (four_level.hpp), and one f32 scale per block in a separate array. A tensor holds all code
// blocks (row-major) followed by all scales (row-major): the codes stay contiguous for SIMD.
// Quantize: d = max|x| / 2 per block.
#include "common.hpp"
#include "formats.hpp"
#include "four_level.hpp"

namespace lowbit::formats {
namespace {

constexpr const char* kName = "QK256";
constexpr int64_t kElems = 256;
constexpr int64_t kCodeBytes = 64;

std::size_t row_bytes(int64_t cols) { return static_cast<std::size_t>(cols / kElems) * kCodeBytes; }

std::size_t tensor_bytes(int64_t rows, int64_t cols) {
    check_shape(kName, rows, cols, kElems);
    const std::size_t blocks =
        checked_mul(static_cast<std::size_t>(rows), static_cast<std::size_t>(cols / kElems), kName);
    return checked_mul(blocks, kCodeBytes + sizeof(float), kName);
}

const uint8_t* scales_of(const WeightView& w) {
    return w.data + static_cast<std::size_t>(w.rows) * row_bytes(w.cols);
}

void quantize(const float* src, int64_t rows, int64_t cols, uint8_t* dst) {
    check_shape(kName, rows, cols, kElems);
    check_finite(kName, src, rows, cols);
    const int64_t blocks = rows * (cols / kElems);
    uint8_t* scales = dst + blocks * kCodeBytes;
    for (int64_t b = 0; b < blocks; ++b) {
        const float* x = src + b * kElems;
        uint8_t* codes = dst + b * kCodeBytes;
        const float d = abs_max(x, kElems) / 2.0f;
        std::memset(codes, 0, kCodeBytes);
        for (int k = 0; k < kElems; ++k) {
            codes[k / 4] |= static_cast<uint8_t>(four_level_code(x[k], d) << (2 * (k % 4)));
        }
        store_f32(scales + b * 4, d);
    }
}

void dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
    const int64_t blocks_per_row = w.cols / kElems;
    const uint8_t* scales = scales_of(w);
    for (int64_t b = row_begin * blocks_per_row; b < row_end * blocks_per_row; ++b) {
        const uint8_t* codes = w.data + b * kCodeBytes;
        const float d = load_f32(scales + b * 4);
        for (int k = 0; k < kElems; ++k) {
            *dst++ = static_cast<float>(kFourLevelValue[four_level_code_at(codes, k)]) * d;
        }
    }
}

void gemv_i8(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationRowI8& x,
             float* y) {
    const int64_t blocks_per_row = w.cols / kElems;
    const uint8_t* scales = scales_of(w);
    for (int64_t r = row_begin; r < row_end; ++r) {
        float acc = 0.0f;
        for (int64_t j = 0; j < blocks_per_row; ++j) {
            const int64_t b = r * blocks_per_row + j;
            const uint8_t* codes = w.data + b * kCodeBytes;
            int32_t sum = 0;
            for (int k = 0; k < kElems; ++k) {
                sum += kFourLevelValue[four_level_code_at(codes, k)] * x.q[j * kElems + k];
            }
            acc += load_f32(scales + b * 4) * static_cast<float>(sum);
        }
        y[r - row_begin] = acc / x.scale;
    }
}

}  // namespace

WeightType qk256_type() {
    WeightType t = plain_row(TypeId::QK256, kName, kElems, kCodeBytes + 4, 2.125,
                             "blocks of 256: 64 bytes of codes -> {-2,-1,1,2}; all codes, then f32 scales");
    t.col_multiple = kElems;
    t.tensor_bytes = &tensor_bytes;
    t.row_bytes = &row_bytes;
    t.reference = reference_kernels<&quantize, &dequantize, &gemv_i8>();
    return t;
}

}  // namespace lowbit::formats

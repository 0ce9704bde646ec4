// I2_S (bitnet.cpp, type 36), the x86 layout of the official bitnet-b1.58-2B-4T GGUF.
// Groups of 128 elements -> 32 bytes: element j of a group lives in byte j % 32 at shift
// 6 - 2 * (j / 32) (MSB-first: byte b holds elements b, b+32, b+64, b+96 in bits 7-6, 5-4,
// 3-2, 1-0). Code 0 -> -1, 1 -> 0, 2 -> +1; value (code - 1) * scale (3 is never written and
// decodes as +2, by the same formula). One f32 scale per tensor in the 32-byte tail.
// Row r starts at byte r * cols / 4, so lowbit's row-wise kernels need cols % 128 == 0.
#include "formats.hpp"
#include "tensor_scale_format.hpp"

namespace lowbit::formats {
namespace {

struct I2_S {
    static constexpr const char* kName = "I2_S";
    static constexpr TypeId kId = TypeId::I2_S;
    static constexpr int64_t kElems = 128;
    static constexpr int64_t kBytes = 32;
    static constexpr int64_t kColMultiple = 128;
    static constexpr double kBits = 2.0;
    static constexpr std::string_view kLayout =
        "groups of 128 -> 32 bytes, MSB-first interleave (b: b, b+32, b+64, b+96); f32 scale in 32-byte tail";

    static std::size_t row_bytes(int64_t cols) { return static_cast<std::size_t>(cols / 4); }

    static void encode_row(const int8_t* t, int64_t cols, uint8_t* row) {
        std::memset(row, 0, row_bytes(cols));
        for (int64_t k = 0; k < cols; ++k) {
            const int64_t group = k / 128;
            const int64_t j = k % 128;
            const auto code = static_cast<uint8_t>(t[k] + 1);
            row[32 * group + j % 32] |= static_cast<uint8_t>(code << (6 - 2 * (j / 32)));
        }
    }

    static void decode_row(const uint8_t* row, int64_t cols, int8_t* t) {
        for (int64_t k = 0; k < cols; ++k) {
            const int64_t group = k / 128;
            const int64_t j = k % 128;
            const int code = (row[32 * group + j % 32] >> (6 - 2 * (j / 32))) & 3;
            t[k] = static_cast<int8_t>(code - 1);
        }
    }
};

}  // namespace

WeightType i2_s_type() { return make_tensor_scale_type<I2_S>(); }

}  // namespace lowbit::formats

// Group-wise integer types INT2/INT4/INT8, symmetric and asymmetric, groups of 32..256 along a
// row (the last group of a row may be short: any cols is allowed).
//
// Tensor layout, for R rows, C cols, G groups per row (ceil(C / g)):
//   codes   R * ceil(C * b / 8) bytes: b-bit fields LSB-first, consecutive elements, each row
//           starting on a byte (int4: element 2i in the low nibble of byte i; int2: 4 per byte)
//   scales  R * G f16, row-major
//   zeros   R * G u8, row-major (asymmetric only)
// Symmetric:  qmax = 2^(b-1) - 1, d = max|x| / qmax, q = clamp(rne(x / d), -qmax-1, qmax),
//             stored as b-bit two's complement; value q * d.
// Asymmetric: levels = 2^b - 1, d = (max - min) / levels, z = clamp(rne(-min / d), 0, levels),
//             q = clamp(rne(x / d) + z, 0, levels); value (q - z) * d.
// Choices the spec leaves open (docs/FORMATS.md):
//   - q is computed with the stored (f16-rounded) d, so codes match the decoded scale;
//   - the asymmetric range always includes 0 (min <= 0 <= max), as PyTorch's observers do:
//     with min > 0 the spec's clamped z = 0 would push every code to the top level;
//   - a group whose values all equal c != 0 is stored as d = |c| with a code worth +-1, so it
//     reconstructs exactly whenever c is representable in f16;
//   - a scale that overflows f16 is an error; one that underflows to 0 gives a zero group.
#include <algorithm>
#include <string>

#include "common.hpp"
#include "formats.hpp"

namespace lowbit::formats {
namespace {

template <int Bits, bool Asymmetric, int Group>
struct IntGroup {
    static constexpr int kQmax = (1 << (Bits - 1)) - 1;  // symmetric
    static constexpr int kLevels = (1 << Bits) - 1;      // asymmetric
    static constexpr uint32_t kMask = (1u << Bits) - 1;

    static const std::string& name() {
        static const std::string n = "INT" + std::to_string(Bits) + (Asymmetric ? "_ASYM" : "_SYM") +
                                     "_G" + std::to_string(Group);
        return n;
    }

    static int64_t groups(int64_t cols) { return (cols + Group - 1) / Group; }
    static std::size_t row_bytes(int64_t cols) {
        return static_cast<std::size_t>((cols * Bits + 7) / 8);
    }

    static std::size_t row_sections(int64_t cols, std::size_t* per_row) {
        per_row[0] = row_bytes(cols);
        per_row[1] = static_cast<std::size_t>(groups(cols)) * 2;
        if constexpr (Asymmetric) {
            per_row[2] = static_cast<std::size_t>(groups(cols));
            return 3;
        }
        return 2;
    }

    static std::size_t tensor_bytes(int64_t rows, int64_t cols) {
        check_shape(name(), rows, cols, 1);
        const auto r = static_cast<std::size_t>(rows);
        const std::size_t codes = checked_mul(r, row_bytes(cols), name().c_str());
        const std::size_t scale_count = checked_mul(r, static_cast<std::size_t>(groups(cols)), name().c_str());
        const std::size_t meta = checked_mul(scale_count, Asymmetric ? 3 : 2, name().c_str());
        return checked_add(codes, meta, name().c_str());
    }

    struct Sections {
        const uint8_t* scales;
        const uint8_t* zeros;
    };
    static Sections sections(const uint8_t* data, int64_t rows, int64_t cols) {
        const std::size_t codes = static_cast<std::size_t>(rows) * row_bytes(cols);
        const std::size_t scales = static_cast<std::size_t>(rows * groups(cols)) * 2;
        return {data + codes, data + codes + scales};
    }

    static void put_code(uint8_t* row, int64_t k, uint32_t field) {
        const int64_t bit = k * Bits;
        row[bit / 8] |= static_cast<uint8_t>((field & kMask) << (bit % 8));
    }
    // Raw b-bit field of element k; symmetric codes are sign-extended.
    static int get_code(const uint8_t* row, int64_t k) {
        const int64_t bit = k * Bits;
        const auto field = static_cast<int>((row[bit / 8] >> (bit % 8)) & kMask);
        if constexpr (Asymmetric) {
            return field;
        } else {
            return field > kQmax ? field - (1 << Bits) : field;
        }
    }

    // Quantizes one group of n elements; returns its scale and zero point.
    static void quantize_group(const float* x, int64_t n, uint8_t* row, int64_t first, float& d_out,
                               uint8_t& z_out) {
        float min = x[0];
        float max = x[0];
        for (int64_t i = 1; i < n; ++i) {
            min = std::fmin(min, x[i]);
            max = std::fmax(max, x[i]);
        }
        uint8_t d16[2];
        if (min == max) {  // constant group: d = |c|, one unit of code
            store_f16_scale(d16, std::fabs(min));
            d_out = load_f16(d16);
            z_out = Asymmetric && min < 0 ? 1 : 0;
            const int unit = min == 0 || d_out == 0 ? 0 : (Asymmetric ? (min > 0 ? 1 : 0) : (min > 0 ? 1 : -1));
            for (int64_t i = 0; i < n; ++i) {
                put_code(row, first + i, static_cast<uint32_t>(unit));
            }
            return;
        }
        if constexpr (Asymmetric) {
            min = std::fmin(min, 0.0f);
            max = std::fmax(max, 0.0f);
            store_f16_scale(d16, (max - min) / static_cast<float>(kLevels));
        } else {
            store_f16_scale(d16, std::fmax(std::fabs(min), std::fabs(max)) / static_cast<float>(kQmax));
        }
        const float d = load_f16(d16);
        d_out = d;
        z_out = 0;
        if (d == 0.0f) {
            return;  // every code 0 (asymmetric: q = z = 0)
        }
        if constexpr (Asymmetric) {
            const int z = round_half_even(clamp_to(-min / d, 0.0f, static_cast<float>(kLevels)));
            z_out = static_cast<uint8_t>(z);
            for (int64_t i = 0; i < n; ++i) {
                const float t = clamp_to(x[i] / d, -2.0f * kLevels, 2.0f * kLevels);
                int q = round_half_even(t) + z;
                q = q < 0 ? 0 : (q > kLevels ? kLevels : q);
                put_code(row, first + i, static_cast<uint32_t>(q));
            }
        } else {
            for (int64_t i = 0; i < n; ++i) {
                const int q = round_half_even(clamp_to(x[i] / d, -kQmax - 1.0f, static_cast<float>(kQmax)));
                put_code(row, first + i, static_cast<uint32_t>(q));
            }
        }
    }

    static void quantize(const float* src, int64_t rows, int64_t cols, uint8_t* dst) {
        check_shape(name(), rows, cols, 1);
        check_finite(name(), src, rows, cols);
        std::memset(dst, 0, tensor_bytes(rows, cols));
        const Sections s = sections(dst, rows, cols);
        auto* scales = const_cast<uint8_t*>(s.scales);
        auto* zeros = const_cast<uint8_t*>(s.zeros);
        for (int64_t r = 0; r < rows; ++r) {
            uint8_t* row = dst + r * row_bytes(cols);
            for (int64_t g = 0; g < groups(cols); ++g) {
                const int64_t first = g * Group;
                const int64_t n = std::min<int64_t>(Group, cols - first);
                float d = 0;
                uint8_t z = 0;
                try {
                    quantize_group(src + r * cols + first, n, row, first, d, z);
                } catch (const Error& e) {
                    fail(name(), ": row ", r, ", group ", g, ": ", e.what());
                }
                const int64_t index = r * groups(cols) + g;
                store_f16(scales + 2 * index, d);
                if constexpr (Asymmetric) {
                    zeros[index] = z;
                }
            }
        }
    }

    static void dequantize(const WeightView& w, int64_t row_begin, int64_t row_end, float* dst) {
        const Sections s = sections(w.data, w.rows, w.cols);
        for (int64_t r = row_begin; r < row_end; ++r) {
            const uint8_t* row = w.data + r * row_bytes(w.cols);
            for (int64_t c = 0; c < w.cols; ++c) {
                const int64_t index = r * groups(w.cols) + c / Group;
                const float d = load_f16(s.scales + 2 * index);
                const int z = Asymmetric ? s.zeros[index] : 0;
                *dst++ = static_cast<float>(get_code(row, c) - z) * d;
            }
        }
    }

    // Per group: d * (sum q a - z * sum a), exact in int32; then / activation scale.
    static void gemv_i8(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationRowI8& x,
                        float* y) {
        const Sections s = sections(w.data, w.rows, w.cols);
        for (int64_t r = row_begin; r < row_end; ++r) {
            const uint8_t* row = w.data + r * row_bytes(w.cols);
            float acc = 0.0f;
            for (int64_t g = 0; g < groups(w.cols); ++g) {
                const int64_t index = r * groups(w.cols) + g;
                int32_t sum = 0;
                int32_t act_sum = 0;
                for (int64_t c = g * Group; c < std::min<int64_t>((g + 1) * Group, w.cols); ++c) {
                    sum += get_code(row, c) * x.q[c];
                    act_sum += x.q[c];
                }
                if constexpr (Asymmetric) {
                    sum -= s.zeros[index] * act_sum;
                }
                acc += load_f16(s.scales + 2 * index) * static_cast<float>(sum);
            }
            y[r - row_begin] = acc / x.scale;
        }
    }

    static WeightType row() {
        const double bits = Bits + 16.0 / Group + (Asymmetric ? 8.0 / Group : 0.0);
        const int64_t block_bytes = Group * Bits / 8 + 2 + (Asymmetric ? 1 : 0);
        WeightType t = plain_row(int_group_type_id(Bits, Asymmetric, Group), name(), Group, block_bytes, bits,
                                 Asymmetric ? "b-bit codes per row (LSB-first), then f16 scales, then u8 zeros"
                                            : "b-bit two's complement codes per row (LSB-first), then f16 scales");
        t.tensor_bytes = &tensor_bytes;
        t.row_bytes = &row_bytes;
        t.row_sections = &row_sections;
        t.reference = reference_kernels<&quantize, &dequantize, &gemv_i8>();
        return t;
    }
};

template <int Bits, bool Asymmetric>
void add_groups(std::vector<WeightType>& out) {
    out.push_back(IntGroup<Bits, Asymmetric, 32>::row());
    out.push_back(IntGroup<Bits, Asymmetric, 64>::row());
    out.push_back(IntGroup<Bits, Asymmetric, 128>::row());
    out.push_back(IntGroup<Bits, Asymmetric, 256>::row());
}

}  // namespace

std::vector<WeightType> int_group_types() {
    std::vector<WeightType> out;
    add_groups<2, false>(out);
    add_groups<2, true>(out);
    add_groups<4, false>(out);
    add_groups<4, true>(out);
    add_groups<8, false>(out);
    add_groups<8, true>(out);
    return out;
}

}  // namespace lowbit::formats

#include "kernel_check.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <random>
#include <sstream>

#include "core/core_reference.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/level_table.hpp"
#include "lowbit/error.hpp"
#include "lowbit/fp16.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/ternary.hpp"
#include "support/spec_decode.hpp"

namespace lowbit::test {
namespace {

void store_f16(std::vector<uint8_t>& b, std::size_t at, float v) {
    const uint16_t h = f32_to_f16(v);
    std::memcpy(b.data() + at, &h, 2);
}
void store_f32(std::vector<uint8_t>& b, std::size_t at, float v) { std::memcpy(b.data() + at, &v, 4); }

// A copy of `src` starting `offset_bytes` into a fresh buffer: kernels must not assume vector
// alignment (callers keep the element type's own alignment). `storage` owns the memory.
template <class T>
T* misaligned_copy(const std::vector<T>& src, std::size_t offset_bytes, std::vector<uint8_t>& storage) {
    storage.assign(src.size() * sizeof(T) + offset_bytes + 64, 0);
    T* p = reinterpret_cast<T*>(storage.data() + offset_bytes);
    if (!src.empty()) std::memcpy(static_cast<void*>(p), src.data(), src.size() * sizeof(T));
    return p;
}

std::string describe(const WeightType& t, const std::string& level, const char* op, int64_t rows, int64_t cols,
                     const char* kind) {
    std::ostringstream o;
    o << t.name << " " << level << " " << op << " " << rows << "x" << cols << " (" << kind << ")";
    return o.str();
}

// 64-byte aligned bytes (the pack kernels' contract).
struct AlignedBytes {
    explicit AlignedBytes(std::size_t n) : p(static_cast<uint8_t*>(std::aligned_alloc(64, (n + 64) / 64 * 64))) {
        std::memset(p, 0xA5, (n + 64) / 64 * 64);  // not zero: a kernel must not rely on a cleared buffer
    }
    ~AlignedBytes() { std::free(p); }
    AlignedBytes(const AlignedBytes&) = delete;
    AlignedBytes& operator=(const AlignedBytes&) = delete;
    uint8_t* p;
};

enum class Input { normal, random_codes, unit_scales };
const char* input_name(Input k) {
    return k == Input::normal ? "normal" : k == Input::random_codes ? "random code bytes" : "unit scales";
}

bool is_int_group(TypeId id) { return id >= TypeId::IntGroupFirst && id <= TypeId::IntGroupLast; }

std::vector<float> normal_values(std::size_t n, std::mt19937& rng) {
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> x(n);
    for (float& v : x) v = d(rng);
    return x;
}

// Weights quantized from normal data (ternary types: absmean-ternarized first).
std::vector<uint8_t> normal_tensor(const WeightType& t, int64_t rows, int64_t cols, std::mt19937& rng) {
    std::vector<float> w = normal_values(static_cast<std::size_t>(rows * cols), rng);
    if (t.ternary) absmean_ternarize_inplace(w);
    std::vector<uint8_t> out(t.tensor_bytes(rows, cols));
    t.reference.quantize(w.data(), rows, cols, out.data());
    return out;
}

void randomize_codes(const WeightType& t, int64_t rows, int64_t cols, std::vector<uint8_t>& bytes, std::mt19937& rng) {
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto [begin, end] : spec_code_byte_ranges(t.id, rows, cols)) {
        for (std::size_t i = begin; i < end; ++i) bytes[i] = static_cast<uint8_t>(byte(rng));
    }
}

// Random codes with every float scale 1 (and small integer offsets): each output is then a
// sum of integers, exact in f32 while small, whatever the order of float operations.
std::vector<uint8_t> unit_tensor(const WeightType& t, int64_t rows, int64_t cols, std::mt19937& rng) {
    std::vector<uint8_t> b(t.tensor_bytes(rows, cols), 0);
    std::uniform_int_distribution<int> small(-3, 3);
    const int64_t n = rows * cols;
    switch (t.id) {
        case TypeId::F32:
            for (int64_t i = 0; i < n; ++i) store_f32(b, 4 * i, static_cast<float>(small(rng)));
            return b;
        case TypeId::F16:
            for (int64_t i = 0; i < n; ++i) store_f16(b, 2 * i, static_cast<float>(small(rng)));
            return b;
        case TypeId::BF16:
            for (int64_t i = 0; i < n; ++i) {
                const uint16_t h = f32_to_bf16(static_cast<float>(small(rng)));
                std::memcpy(b.data() + 2 * i, &h, 2);
            }
            return b;
        default: break;
    }
    randomize_codes(t, rows, cols, b, rng);
    auto each_block = [&](std::size_t block_bytes, std::size_t d_at) {
        for (std::size_t at = 0; at < b.size(); at += block_bytes) store_f16(b, at + d_at, 1.0f);
    };
    switch (t.id) {
        case TypeId::Q8_0: each_block(34, 0); break;
        case TypeId::Q4_0: each_block(18, 0); break;
        case TypeId::Q4_1:
            for (std::size_t at = 0; at < b.size(); at += 20) {
                store_f16(b, at, 1.0f);
                store_f16(b, at + 2, static_cast<float>(small(rng)));
            }
            break;
        case TypeId::Q6_K:
            for (std::size_t at = 0; at < b.size(); at += 210) {
                store_f16(b, at + 208, 1.0f);
                for (int s = 0; s < 16; ++s) b[at + 192 + s] = static_cast<uint8_t>(small(rng));
            }
            break;
        case TypeId::TQ1_0: each_block(54, 52); break;
        case TypeId::TQ2_0: each_block(66, 64); break;
        case TypeId::I2S32: each_block(10, 8); break;
        case TypeId::QK256: {
            const std::size_t scales = static_cast<std::size_t>(rows) * t.row_bytes(cols);
            for (std::size_t at = scales; at < b.size(); at += 4) store_f32(b, at, 1.0f);
            break;
        }
        case TypeId::I2_S:
        case TypeId::TL1:
        case TypeId::TL2: {
            const std::size_t tail = static_cast<std::size_t>(rows) * t.row_bytes(cols);
            std::memset(b.data() + tail, 0, 32);
            store_f32(b, tail, 1.0f);
            break;
        }
        default:
            if (is_int_group(t.id)) {
                const int64_t groups = (cols + t.block_elems - 1) / t.block_elems;
                const std::size_t scales = static_cast<std::size_t>(rows) * t.row_bytes(cols);
                const std::size_t count = static_cast<std::size_t>(rows * groups);
                for (std::size_t g = 0; g < count; ++g) store_f16(b, scales + 2 * g, 1.0f);
                if (t.name.find("ASYM") != std::string_view::npos) {
                    const int bits = t.name[3] - '0';
                    std::uniform_int_distribution<int> zero(0, (1 << bits) - 1);
                    for (std::size_t g = 0; g < count; ++g) b[scales + 2 * count + g] = static_cast<uint8_t>(zero(rng));
                }
            }
            break;
    }
    return b;
}

std::vector<uint8_t> make_tensor(const WeightType& t, Input kind, int64_t rows, int64_t cols, std::mt19937& rng) {
    if (kind == Input::unit_scales) return unit_tensor(t, rows, cols, rng);
    std::vector<uint8_t> b = normal_tensor(t, rows, cols, rng);
    if (kind == Input::random_codes) randomize_codes(t, rows, cols, b, rng);
    return b;
}

struct Activations {
    std::vector<int8_t> q;  // rows x stride
    std::vector<float> scale;
    std::vector<int32_t> sum;
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t stride = 0;
    bool unit = false;
};

enum class ActKind { normal, unit_random, extreme_max, extreme_min };

Activations make_activations(ActKind kind, int64_t rows, int64_t cols, std::mt19937& rng) {
    Activations a;
    a.rows = rows;
    a.cols = cols;
    a.stride = cols + 3;  // rows of a batch need not be contiguous
    a.q.assign(static_cast<std::size_t>(rows * a.stride), 0);
    a.scale.assign(static_cast<std::size_t>(rows), 1.0f);
    a.sum.assign(static_cast<std::size_t>(rows), 0);
    a.unit = kind != ActKind::normal;
    std::uniform_int_distribution<int> any(-128, 127);
    for (int64_t t = 0; t < rows; ++t) {
        int8_t* q = a.q.data() + t * a.stride;
        if (kind == ActKind::normal) {
            const std::vector<float> x = normal_values(static_cast<std::size_t>(cols), rng);
            a.scale[t] = quantize_activation_row_reference(x.data(), cols, q, &a.sum[t]);
            continue;
        }
        for (int64_t k = 0; k < cols; ++k) {
            q[k] = static_cast<int8_t>(kind == ActKind::unit_random ? any(rng) : kind == ActKind::extreme_max ? 127 : -128);
            a.sum[t] += q[k];
        }
    }
    return a;
}

// Where float results may legitimately differ from the reference (kernels that sum float
// lanes in another order), they must stay within this fraction of sum |w_k q_k| / s.
constexpr double kRelativeTolerance = 1e-6;

// Per output row: sum_k |w_k| |q_k| / s from the reference dequantization, and whether the
// exact integer sums stay below 2^24 (so every order of float additions is exact).
struct Magnitude {
    double value;
    bool exact_in_f32;
};

Magnitude magnitude(const std::vector<float>& w_row, const int8_t* q, float scale) {
    double m = 0;
    for (std::size_t k = 0; k < w_row.size(); ++k) m += std::fabs(static_cast<double>(w_row[k])) * std::abs(q[k]);
    return {m / scale, m < 16777216.0};
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (a == 0 && b == 0); }

class TypeChecker {
public:
    // The kernels `k` of `level` (its own table, or one named variant) against the reference,
    // and against the level's resolved GEMV (fallback applied) for batch invariance; with
    // `kernel_set`, the products of the level's kernel set too.
    TypeChecker(const WeightType& t, Isa isa, const Kernels& k, std::string level, bool kernel_set)
        : t_(t), isa_(isa), k_(k), resolved_(kernels_at(t, isa)), level_(std::move(level)), check_set_(kernel_set) {}

    CheckReport run() {
        std::mt19937 rng(1234 + static_cast<unsigned>(t_.id));
        int variant = 0;
        for (int64_t cols : column_counts()) {
            for (int64_t rows : {1, 3, 5, 9}) {
                for (Input kind : {Input::normal, Input::random_codes, Input::unit_scales}) {
                    check_shape(rows, cols, kind, rng, variant++);
                }
            }
        }
        // One long row: int16 lanes must not overflow with extreme codes and activations.
        const int64_t long_cols = round_up(16384 + 256, t_.col_multiple);
        for (Input kind : {Input::unit_scales, Input::random_codes}) check_shape(2, long_cols, kind, rng, variant++);
        // Enough rows for a GEMV to cross a run of its four row streams into a shorter run with
        // rows left over (for_rows_as_four_streams; the kernels that read rows that way).
        if (isa_ != Isa::scalar && reads_rows_as_streams()) {
            const int64_t stream_cols = round_up(4096, t_.col_multiple);
            const auto row_bytes = static_cast<int64_t>(t_.tensor_bytes(1, stream_cols));
            const int64_t run = 4 * std::max<int64_t>(1, kernels::kGemvStreamBytes / row_bytes);
            check_gemvs_only(1 + run + run / 2 + 3, stream_cols, rng, variant++);
        }
        check_quantize(rng);
        return report_;
    }

private:
    static int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

    bool is_float_type() const { return t_.id == TypeId::F32 || t_.id == TypeId::F16 || t_.id == TypeId::BF16; }

    // The planar formats, Q6_K, Q8_0, Q4_0 (int8 GEMV) and the float types (f32 GEMV).
    bool reads_rows_as_streams() const {
        const TypeId streamed[] = {TypeId::I2_S,  TypeId::TQ1_0, TypeId::TQ2_0, TypeId::TL1, TypeId::QK256,
                                   TypeId::I2S32, TypeId::Q6_K,  TypeId::Q8_0,  TypeId::Q4_0};
        return is_float_type() || std::find(std::begin(streamed), std::end(streamed), t_.id) != std::end(streamed);
    }

    std::vector<int64_t> column_counts() const {
        const int64_t m = t_.col_multiple;
        if (m == 1) return {1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 63, 65, 100, 127, 129, 255, 257, 300, 513, 1000};
        std::vector<int64_t> out;
        for (int64_t k : {1, 2, 3, 5, 9, 20}) {
            if (k * m <= 8192) out.push_back(k * m);
        }
        return out;
    }

    bool exact_by_design(const char* op) const;

    void fail(const std::string& what) {
        if (report_.failures.size() < 20) report_.failures.push_back(what);
    }

    void check_shape(int64_t rows, int64_t cols, Input kind, std::mt19937& rng, int variant) {
        const std::vector<uint8_t> tensor = make_tensor(t_, kind, rows, cols, rng);
        std::vector<uint8_t> storage;
        const uint8_t* data = misaligned_copy(tensor, 1 + variant % 7, storage);
        const WeightView view{data, rows, cols};

        std::vector<float> ref(static_cast<std::size_t>(rows * cols));
        t_.reference.dequantize(view, 0, rows, ref.data());
        if (k_.dequantize) check_dequantize(view, ref, kind);
        if (k_.gemv_i8) check_gemv(view, ref, kind, rng);
        if (k_.gemm_i8) check_gemm(view, ref, kind, rng);
        if (k_.gemv_f32) check_gemv_f32(view, ref, kind, rng);
        if (kind == Input::normal) check_batch_invariance(view, rng);
    }

    // Batch invariance: a token's outputs have the same bits whatever else runs in the product
    // (1-17 tokens, tiles of 4, packs split at kPackTokenGrain, rows split anywhere) as the
    // level's GEMV of that token alone.
    void check_batch_invariance(const WeightView& view, std::mt19937& rng) {
        const int64_t rows = view.rows, cols = view.cols;
        for (int64_t tokens : {1, 2, 3, 4, 5, 8, 9, 17}) {
            const Activations a = make_activations(ActKind::normal, tokens, cols, rng);
            const ActivationsI8 x{a.q.data(), tokens, cols, a.stride, a.scale.data(), a.sum.data()};
            const int64_t y_stride = rows + 1;
            std::vector<float> alone(static_cast<std::size_t>(tokens * y_stride), 0.0f);
            for (int64_t t = 0; t < tokens; ++t) {
                const ActivationRowI8 row{x.q + t * x.stride, cols, x.scale[t], x.sum[t]};
                resolved_.gemv_i8(view, 0, rows, row, alone.data() + t * y_stride);
            }
            auto compare = [&](const char* what, const std::vector<float>& got) {
                for (int64_t t = 0; t < tokens; ++t) {
                    for (int64_t r = 0; r < rows; ++r) {
                        const float g = got[t * y_stride + r], w = alone[t * y_stride + r];
                        if (!same_bits(g, w)) {
                            std::ostringstream o;
                            o << describe(t_, level_, what, rows, cols, "batch invariance") << ": token " << t << " of "
                              << tokens << ", row " << r << " is " << g << ", alone " << w;
                            fail(o.str());
                            return;
                        }
                    }
                }
                ++report_.passed;
            };
            if (k_.gemm_i8) {
                std::vector<float> got(alone.size(), 0.0f);
                k_.gemm_i8(view, 0, rows, x, got.data(), y_stride);
                compare("gemm_i8", got);
            }
            if (k_.gemm_packed) compare("gemm_packed", packed_product(view, x, k_.pack_bytes, k_.pack, k_.gemm_packed, y_stride));
            if (check_set_) {
                const TypeKernelSet& set = kernel_set(isa_)[t_];
                for (int i = 0; i < set.product_count; ++i) {
                    const ProductKernels& p = set.products[static_cast<std::size_t>(i)];
                    if (p.gemm_packed) {
                        compare("kernel set product", packed_product(view, x, p.pack_bytes, p.pack, p.gemm_packed, y_stride));
                    } else {
                        std::vector<float> got(alone.size(), 0.0f);
                        p.gemm_i8(view, 0, rows, x, got.data(), y_stride);
                        compare("kernel set product", got);
                    }
                }
            }
        }
        if (k_.gemm_f32 && resolved_.gemv_f32) check_gemm_f32(view, rng);
    }

    // Packed in two parts (tokens [0, 16) and the rest) and the product over two row ranges.
    std::vector<float> packed_product(const WeightView& view, const ActivationsI8& x, PackBytesFn bytes, PackI8Fn pack,
                                      GemmPackedFn product, int64_t y_stride) {
        AlignedBytes buffer(bytes(x.cols, x.rows));
        const int64_t split = std::min<int64_t>(x.rows, kPackTokenGrain);
        pack(x, 0, split, buffer.p);
        if (split < x.rows) pack(x, split, x.rows, buffer.p);
        const PackedActivationsI8 packed{x, buffer.p};
        std::vector<float> got(static_cast<std::size_t>(x.rows * y_stride), 0.0f);
        const int64_t mid = view.rows / 2;
        product(view, 0, mid, packed, got.data(), y_stride);
        product(view, mid, view.rows, packed, got.data() + mid, y_stride);
        return got;
    }

    void check_gemm_f32(const WeightView& view, std::mt19937& rng) {
        for (int64_t tokens : {1, 2, 5}) {
            const int64_t x_stride = view.cols + 5;
            const std::vector<float> x = normal_values(static_cast<std::size_t>(tokens * x_stride), rng);
            const int64_t y_stride = view.rows + 3;
            std::vector<float> got(static_cast<std::size_t>(tokens * y_stride)), alone(got.size());
            k_.gemm_f32(view, 0, view.rows, x.data(), tokens, x_stride, got.data(), y_stride);
            for (int64_t t = 0; t < tokens; ++t) {
                resolved_.gemv_f32(view, 0, view.rows, x.data() + t * x_stride, alone.data() + t * y_stride);
                for (int64_t r = 0; r < view.rows; ++r) {
                    if (!same_bits(got[t * y_stride + r], alone[t * y_stride + r])) {
                        std::ostringstream o;
                        o << describe(t_, level_, "gemm_f32", view.rows, view.cols, "batch invariance") << ": token " << t
                          << ", row " << r << " is " << got[t * y_stride + r] << ", alone " << alone[t * y_stride + r];
                        return fail(o.str());
                    }
                }
            }
            ++report_.passed;
        }
    }

    void check_gemvs_only(int64_t rows, int64_t cols, std::mt19937& rng, int variant) {
        const std::vector<uint8_t> tensor = make_tensor(t_, Input::normal, rows, cols, rng);
        std::vector<uint8_t> storage;
        const WeightView view{misaligned_copy(tensor, 1 + variant % 7, storage), rows, cols};
        std::vector<float> ref(static_cast<std::size_t>(rows * cols));
        t_.reference.dequantize(view, 0, rows, ref.data());
        if (k_.gemv_i8 && !is_float_type()) check_gemv(view, ref, Input::normal, rng, {ActKind::normal});
        if (k_.gemv_f32 && is_float_type()) check_gemv_f32(view, ref, Input::normal, rng);
    }

    void check_gemv_f32(const WeightView& view, const std::vector<float>& ref, Input kind, std::mt19937& rng) {
        const std::vector<float> x = normal_values(static_cast<std::size_t>(view.cols), rng);
        std::vector<float> want(static_cast<std::size_t>(view.rows)), got(want.size());
        t_.reference.gemv_f32(view, 0, view.rows, x.data(), want.data());
        k_.gemv_f32(view, 0, view.rows, x.data(), got.data());
        for (int64_t r = 0; r < view.rows; ++r) {
            double m = 0;
            for (int64_t c = 0; c < view.cols; ++c) m += std::fabs(static_cast<double>(ref[r * view.cols + c]) * x[c]);
            if (!(std::fabs(static_cast<double>(got[r]) - want[r]) <= kRelativeTolerance * m + 1e-30)) {
                std::ostringstream o;
                o << describe(t_, level_, "gemv_f32", view.rows, view.cols, input_name(kind)) << ": row " << r << " is "
                  << got[r] << ", reference " << want[r];
                return fail(o.str());
            }
            // Threads split rows anywhere: a row computed alone must give the same bits.
            float alone = 0;
            k_.gemv_f32(view, r, r + 1, x.data(), &alone);
            if (!same_bits(alone, got[r])) {
                std::ostringstream o;
                o << describe(t_, level_, "gemv_f32", view.rows, view.cols, input_name(kind)) << ": row " << r
                  << " alone is " << alone << ", in the range " << got[r];
                return fail(o.str());
            }
        }
        ++report_.passed;
    }

    void check_dequantize(const WeightView& view, const std::vector<float>& ref, Input kind) {
        const int64_t first = view.rows > 1 ? 1 : 0;  // a row range not starting at 0
        std::vector<float> got(ref.size() + 1, -7.0f);
        k_.dequantize(view, first, view.rows, got.data() + 1);
        for (int64_t i = 0; i < (view.rows - first) * view.cols; ++i) {
            if (!same_bits(got[i + 1], ref[first * view.cols + i])) {
                std::ostringstream o;
                o << describe(t_, level_, "dequantize", view.rows, view.cols, input_name(kind)) << ": element "
                  << first * view.cols + i << " is " << got[i + 1] << ", reference " << ref[first * view.cols + i];
                return fail(o.str());
            }
        }
        ++report_.passed;
    }

    void compare_outputs(const char* op, const WeightView& view, Input kind, const char* act, float got, float want,
                         const Magnitude& m, int64_t row, int64_t token) {
        const bool exact = exact_by_design(op) || (kind == Input::unit_scales && m.exact_in_f32);
        const double err = std::fabs(static_cast<double>(got) - want);
        if (exact ? !same_bits(got, want) : !(err <= kRelativeTolerance * m.value + 1e-30)) {
            std::ostringstream o;
            o << describe(t_, level_, op, view.rows, view.cols, input_name(kind)) << ", activations " << act << ": row "
              << row << " token " << token << " is " << got << ", reference " << want << (exact ? " (must be identical)" : "");
            fail(o.str());
        }
    }

    void check_gemv(const WeightView& view, const std::vector<float>& ref, Input kind, std::mt19937& rng,
                    std::initializer_list<ActKind> kinds = {ActKind::normal, ActKind::unit_random,
                                                            ActKind::extreme_max, ActKind::extreme_min}) {
        for (ActKind ak : kinds) {
            const Activations a = make_activations(ak, 1, view.cols, rng);
            std::vector<uint8_t> storage;
            const int8_t* q = misaligned_copy(a.q, 3, storage);
            const ActivationRowI8 x{q, view.cols, a.scale[0], a.sum[0]};
            const int64_t first = view.rows > 2 ? 1 : 0;
            std::vector<float> want(static_cast<std::size_t>(view.rows)), got(static_cast<std::size_t>(view.rows) + 1);
            t_.reference.gemv_i8(view, first, view.rows, x, want.data());
            k_.gemv_i8(view, first, view.rows, x, got.data() + 1);
            const std::size_t before = report_.failures.size();
            for (int64_t r = first; r < view.rows; ++r) {
                const std::vector<float> w_row(ref.begin() + r * view.cols, ref.begin() + (r + 1) * view.cols);
                compare_outputs("gemv_i8", view, kind, act_name(ak), got[r - first + 1], want[r - first],
                                magnitude(w_row, q, x.scale), r, 0);
                if (report_.failures.size() != before) return;
            }
            ++report_.passed;
        }
    }

    void check_gemm(const WeightView& view, const std::vector<float>& ref, Input kind, std::mt19937& rng) {
        for (ActKind ak : {ActKind::normal, ActKind::unit_random}) {
            for (int64_t tokens : {1, 2, 5, 9}) {
                const Activations a = make_activations(ak, tokens, view.cols, rng);
                const ActivationsI8 x{a.q.data(), tokens, view.cols, a.stride, a.scale.data(), a.sum.data()};
                const int64_t first = view.rows > 2 ? 1 : 0;
                const int64_t n = view.rows - first;
                const int64_t y_stride = n + 2;
                std::vector<float> want(static_cast<std::size_t>(tokens * y_stride), 0.0f);
                std::vector<float> got(static_cast<std::size_t>(tokens * y_stride), 0.0f);
                t_.reference.gemm_i8(view, first, view.rows, x, want.data(), y_stride);
                k_.gemm_i8(view, first, view.rows, x, got.data(), y_stride);
                const std::size_t before = report_.failures.size();
                for (int64_t tok = 0; tok < tokens; ++tok) {
                    for (int64_t r = first; r < view.rows; ++r) {
                        const std::vector<float> w_row(ref.begin() + r * view.cols, ref.begin() + (r + 1) * view.cols);
                        compare_outputs("gemm_i8", view, kind, act_name(ak), got[tok * y_stride + r - first],
                                        want[tok * y_stride + r - first],
                                        magnitude(w_row, a.q.data() + tok * a.stride, a.scale[tok]), r, tok);
                        if (report_.failures.size() != before) return;
                    }
                }
                ++report_.passed;
            }
        }
    }

    static const char* act_name(ActKind k) {
        return k == ActKind::normal ? "normal" : k == ActKind::unit_random ? "random int8, scale 1"
                                                 : k == ActKind::extreme_max ? "all 127" : "all -128";
    }

    void check_quantize(std::mt19937& rng) {
        if (!k_.quantize && !k_.quantize_f16 && !k_.quantize_bf16) return;
        std::uniform_int_distribution<int> quarter(-16, 16);
        for (int64_t cols : column_counts()) {
            for (int64_t rows : {1, 3}) {
              for (int input = 0; input < 4; ++input) {
                std::vector<float> x = normal_values(static_cast<std::size_t>(rows * cols), rng);
                if (input == 1) {
                    // multiples of 1/4: exact ties for round-half-even after dividing by the scale
                    for (float& v : x) v = 0.25f * static_cast<float>(quarter(rng));
                } else if (input == 2) {
                    for (float& v : x) v *= 1e-41f;  // subnormal inputs, scales that underflow
                } else if (input == 3) {
                    // signed zeros, whole zero blocks, and blocks where +m and -m tie for the largest |x|
                    for (std::size_t i = 0; i < x.size(); ++i) {
                        const int k = quarter(rng);
                        x[i] = k > 12 ? 2.0f : k < -12 ? -2.0f : (k % 2 != 0 ? -0.0f : 0.0f);
                        if ((i / 64) % 3 == 0) x[i] = k % 2 != 0 ? -0.0f : 0.0f;
                    }
                }
                if (t_.ternary) absmean_ternarize_inplace(x);
                std::vector<uint16_t> h(x.size()), bh(x.size());
                for (std::size_t i = 0; i < x.size(); ++i) {
                    h[i] = f32_to_f16(x[i]);
                    bh[i] = f32_to_bf16(x[i]);
                }
                const std::size_t bytes = t_.tensor_bytes(rows, cols);
                auto compare = [&](const char* op, auto run_ref, auto run_got) {
                    std::vector<uint8_t> want(bytes), got(bytes);
                    run_ref(want.data());
                    run_got(got.data());
                    if (want != got) {
                        std::size_t i = 0;
                        while (want[i] == got[i]) ++i;
                        std::ostringstream o;
                        o << describe(t_, level_, op, rows, cols, "normal") << ": byte " << i << " is " << int(got[i])
                          << ", reference " << int(want[i]);
                        return fail(o.str());
                    }
                    ++report_.passed;
                };
                std::vector<uint8_t> storage;
                const float* xs = misaligned_copy(x, 4 * (1 + cols % 3), storage);  // aligned for float, not for vectors
                if (k_.quantize) {
                    compare("quantize", [&](uint8_t* o) { t_.reference.quantize(x.data(), rows, cols, o); },
                            [&](uint8_t* o) { k_.quantize(xs, rows, cols, o); });
                }
                if (k_.quantize_f16) {
                    compare("quantize_f16", [&](uint8_t* o) { t_.reference.quantize_f16(h.data(), rows, cols, o); },
                            [&](uint8_t* o) { k_.quantize_f16(h.data(), rows, cols, o); });
                }
                if (k_.quantize_bf16) {
                    compare("quantize_bf16", [&](uint8_t* o) { t_.reference.quantize_bf16(bh.data(), rows, cols, o); },
                            [&](uint8_t* o) { k_.quantize_bf16(bh.data(), rows, cols, o); });
                }
              }
            }
        }
        if (k_.quantize) {  // a NaN, and a scale beyond f16, must be refused by the kernel too
            const int64_t cols = t_.col_multiple > 1 ? t_.col_multiple : 64;
            std::vector<float> x(static_cast<std::size_t>(cols), 0.25f);
            x[3] = 1e9f;
            std::vector<uint8_t> want(t_.tensor_bytes(1, cols)), got(want.size());
            std::string want_error, got_error;
            try { t_.reference.quantize(x.data(), 1, cols, want.data()); } catch (const Error& e) { want_error = e.what(); }
            try { k_.quantize(x.data(), 1, cols, got.data()); } catch (const Error& e) { got_error = e.what(); }
            if (want_error != got_error || (want_error.empty() && want != got)) {
                fail(describe(t_, level_, "quantize", 1, cols, "1e9") + ": '" + got_error + "' vs reference '" + want_error + "'");
            } else {
                ++report_.passed;
            }
        }
        if (k_.quantize) {
            const int64_t cols = t_.col_multiple > 1 ? t_.col_multiple : 64;
            std::vector<float> x(static_cast<std::size_t>(cols), 0.25f);
            x[static_cast<std::size_t>(cols / 2)] = std::nanf("");
            std::vector<uint8_t> out(t_.tensor_bytes(1, cols));
            try {
                k_.quantize(x.data(), 1, cols, out.data());
                fail(describe(t_, level_, "quantize", 1, cols, "NaN") + ": no error for a NaN input");
            } catch (const Error&) {
                ++report_.passed;
            }
        }
    }

    const WeightType& t_;
    Isa isa_;
    Kernels k_;
    Kernels resolved_;
    std::string level_;
    bool check_set_;
    CheckReport report_;
};

// Kernels whose float operations follow the reference's order exactly (integer sums per
// block, then the same scalar float steps): identical results on every input.
bool TypeChecker::exact_by_design(const char* op) const {
    const std::string o = op;
    switch (t_.id) {
        case TypeId::I2_S:
        case TypeId::TL1:
        case TypeId::TL2: return true;  // one tensor scale: a single integer sum per row
        case TypeId::TQ2_0:
        case TypeId::TQ1_0:
        case TypeId::QK256:
        case TypeId::I2S32:
        case TypeId::Q6_K: return o == "gemv_i8" || o == "gemm_i8";  // block sums, then the scalar steps
        default: return false;
    }
}

}  // namespace

void CheckReport::merge(const CheckReport& other) {
    passed += other.passed;
    failures.insert(failures.end(), other.failures.begin(), other.failures.end());
}

CheckReport check_type_kernels(const WeightType& type, Isa isa) {
    // what the level runs (its table with its preferred variants), with its kernel set
    CheckReport report = TypeChecker(type, isa, type.isa[static_cast<std::size_t>(isa)], std::string(isa_name(isa)), true).run();
    // and each other implementation by name
    const std::string_view preferred = preferred_kernel_variant(type, isa);
    for (std::string_view name : kernel_variant_names(type, isa)) {
        if (name == preferred) continue;
        const std::string level = std::string(isa_name(isa)) + ":" + std::string(name);
        report.merge(TypeChecker(type, isa, kernel_variant(type, isa, name), level, false).run());
    }
    return report;
}

CheckReport check_core_kernels(Isa isa) {
    CheckReport report;
    const kernels::LevelTable* table = kernels::level_table_of(isa);
    if (table == nullptr) return report;
    const kernels::CoreKernels& k = table->core;
    std::mt19937 rng(77);
    for (int64_t n : {1, 2, 15, 16, 17, 31, 33, 64, 100, 255, 256, 257, 1000, 2560, 4097}) {
        for (int kind = 0; kind < 5; ++kind) {
            std::vector<float> x = normal_values(static_cast<std::size_t>(n), rng);
            if (kind == 1) x.assign(x.size(), 0.0f);
            if (kind == 2) x[static_cast<std::size_t>(n / 2)] = std::nanf("");
            if (kind == 3) x[0] = INFINITY;
            if (kind == 4) for (float& v : x) v *= 1e-7f;
            std::ostringstream where;
            where << isa_name(isa) << " n=" << n << " kind=" << kind;
            if (k.quantize_activation_row) {
                std::vector<int8_t> want(static_cast<std::size_t>(n)), got(static_cast<std::size_t>(n) + 1);
                int32_t sum_want = 0, sum_got = 0;
                std::vector<uint8_t> storage;
                const float* xs = misaligned_copy(x, 4 * (n % 4) + 4, storage);  // aligned for float, not for vectors
                const float s_want = quantize_activation_row_reference(x.data(), n, want.data(), &sum_want);
                const float s_got = k.quantize_activation_row(xs, n, got.data() + 1, &sum_got);
                if (!same_bits(s_want, s_got) || sum_want != sum_got ||
                    std::memcmp(want.data(), got.data() + 1, want.size()) != 0) {
                    report.failures.push_back("quantize_activation_row " + where.str() + " differs from the reference");
                } else {
                    ++report.passed;
                }
            }
            if (k.relu_sq_mul_f32) {
                // x as the gate (negative, zero, NaN, infinite), normal values as up
                const std::vector<float> up = normal_values(static_cast<std::size_t>(n), rng);
                std::vector<float> g1 = x, g2 = x;
                k.relu_sq_mul_f32(g1.data(), up.data(), n);
                relu_sq_mul_f32_reference(g2.data(), up.data(), n);
                bool ok = true;
                for (int64_t i = 0; i < n; ++i) ok = ok && same_bits(g1[i], g2[i]);
                ok ? ++report.passed : (report.failures.push_back("relu_sq_mul_f32 " + where.str() + " differs from the reference"), 0);
            }
            if (kind == 2 || kind == 3) continue;  // the rest refuse or never see non-finite input
            std::vector<float> b = normal_values(static_cast<std::size_t>(n), rng);
            std::vector<uint16_t> h(static_cast<std::size_t>(n)), h_ref(h.size());
            double magnitude = 0;
            for (int64_t i = 0; i < n; ++i) {
                h[i] = f32_to_f16(x[i]);
                magnitude += std::fabs(static_cast<double>(x[i]) * b[i]);
            }
            auto close = [&](double got, double want) { return std::fabs(got - want) <= 1e-6 * magnitude + 1e-30; };
            if (k.dot_f32) {
                const bool ok = close(k.dot_f32(x.data(), b.data(), n), dot_f32_reference(x.data(), b.data(), n));
                ok ? ++report.passed : (report.failures.push_back("dot_f32 " + where.str()), 0);
            }
            if (k.dot_f16_f32) {
                const bool ok = close(k.dot_f16_f32(h.data(), b.data(), n), dot_f16_f32_reference(h.data(), b.data(), n));
                ok ? ++report.passed : (report.failures.push_back("dot_f16_f32 " + where.str()), 0);
            }
            if (k.axpy_f16_f32) {
                std::vector<float> y1 = b, y2 = b;
                k.axpy_f16_f32(y1.data(), h.data(), 0.37f, n);
                axpy_f16_f32_reference(y2.data(), h.data(), 0.37f, n);
                bool ok = true;
                for (int64_t i = 0; i < n; ++i) ok = ok && std::fabs(y1[i] - y2[i]) <= 1e-6f * (std::fabs(y2[i]) + 1.0f);
                ok ? ++report.passed : (report.failures.push_back("axpy_f16_f32 " + where.str()), 0);
            }
            if (k.dot_f16_f32_rows && k.axpy_f16_f32_rows && n >= 4) {
                // n values as `rows` KV rows of dim 4 with stride 4 (and 3 rows of stride n/3 when
                // larger), for 1-6 heads: against the reference, and against this level's
                // one-row kernels exactly
                for (const auto [rows, dim, stride] : {std::array<int64_t, 3>{n / 4, 4, 4}, std::array<int64_t, 3>{3, n / 3, n / 3}}) {
                    if (rows < 1 || dim < 1) continue;
                    for (int64_t heads : {1, 3, 4, 6}) {
                        const std::vector<float> q = normal_values(static_cast<std::size_t>(heads * dim), rng);
                        const int64_t out_stride = rows + 1;  // not the row count: the stride is honoured
                        std::vector<float> got(static_cast<std::size_t>(heads * out_stride)), want(got.size());
                        k.dot_f16_f32_rows(h.data(), stride, rows, q.data(), heads, dim, got.data(), out_stride);
                        dot_f16_f32_rows_reference(h.data(), stride, rows, q.data(), heads, dim, want.data(), out_stride);
                        bool ok = true;
                        for (int64_t hh = 0; hh < heads; ++hh) {
                            for (int64_t j = 0; j < rows; ++j) {
                                const float* qh = q.data() + hh * dim;
                                double m = 0;
                                for (int64_t i = 0; i < dim; ++i) m += std::fabs(static_cast<double>(f16_to_f32(h[j * stride + i])) * qh[i]);
                                const float one = k.dot_f16_f32(h.data() + j * stride, qh, dim);
                                const float g = got[hh * out_stride + j], w = want[hh * out_stride + j];
                                ok = ok && same_bits(g, one) && std::fabs(g - w) <= 1e-6 * m + 1e-30;
                            }
                        }
                        const std::vector<float> y0 = normal_values(static_cast<std::size_t>(heads * dim), rng);
                        std::vector<float> y1 = y0, y2 = y0, y3 = y0;
                        const std::vector<float> a = normal_values(static_cast<std::size_t>(heads * out_stride), rng);
                        k.axpy_f16_f32_rows(y1.data(), h.data(), stride, rows, a.data(), out_stride, heads, dim);
                        axpy_f16_f32_rows_reference(y2.data(), h.data(), stride, rows, a.data(), out_stride, heads, dim);
                        for (int64_t hh = 0; hh < heads; ++hh) {
                            for (int64_t j = 0; j < rows; ++j) {
                                k.axpy_f16_f32(y3.data() + hh * dim, h.data() + j * stride, a[hh * out_stride + j], dim);
                            }
                        }
                        for (int64_t i = 0; i < heads * dim; ++i) {
                            ok = ok && same_bits(y1[i], y3[i]) && std::fabs(y1[i] - y2[i]) <= 1e-5f * (std::fabs(y2[i]) + 1.0f);
                        }
                        ok ? ++report.passed
                           : (report.failures.push_back("dot/axpy_f16_f32_rows " + where.str() + ", " + std::to_string(heads) + " heads"), 0);
                    }
                }
            }
            if (k.f32_to_f16_row) {
                k.f32_to_f16_row(x.data(), h.data(), n);
                f32_to_f16_row_reference(x.data(), h_ref.data(), n);
                h == h_ref ? ++report.passed : (report.failures.push_back("f32_to_f16_row " + where.str()), 0);
            }
            if (k.abs_partial_sums) {
                double want[16], got[16];
                abs_partial_sums_reference(x.data(), n, want);
                k.abs_partial_sums(x.data(), n, got);
                if (std::memcmp(want, got, sizeof want) != 0) {
                    report.failures.push_back("abs_partial_sums " + where.str() + " differs from the reference");
                } else {
                    ++report.passed;
                }
            }
            if (k.ternarize) {
                for (float s : {0.8f, 0.37f, 1e-5f}) {
                    std::vector<int8_t> want(static_cast<std::size_t>(n)), got(static_cast<std::size_t>(n));
                    ternarize_reference(x.data(), n, s, want.data());
                    k.ternarize(x.data(), n, s, got.data());
                    if (want != got) {
                        report.failures.push_back("ternarize " + where.str() + " differs from the reference");
                    } else {
                        ++report.passed;
                    }
                }
            }
        }
    }
    return report;
}

std::vector<Isa> testable_levels() {
    std::vector<Isa> out;
    for (std::size_t i = 1; i < kIsaCount; ++i) {
        const auto isa = static_cast<Isa>(i);
        if (isa_compiled_in(isa) && isa_supported_by_cpu(isa)) out.push_back(isa);
    }
    return out;
}

}  // namespace lowbit::test

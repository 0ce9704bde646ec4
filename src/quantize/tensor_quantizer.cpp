#include "tensor_quantizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "lowbit/error.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/ternary.hpp"

namespace lowbit::quantize {
namespace {

// Rows per work item: about 64 Ki elements, fixed by the shape alone.
int64_t chunk_rows(int64_t cols) { return std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(cols, 1)); }

void check_cancel(const Options& o) {
    if (o.cancel != nullptr && o.cancel->load(std::memory_order_relaxed)) {
        throw Error("cancelled", ErrorCode::cancelled);
    }
}

// Runs body(row_begin, row_end) for every fixed chunk of rows, spread over the pool.
template <class Body>
void for_row_chunks(ThreadPool& pool, int64_t rows, int64_t cols, const Options& o, const Body& body) {
    const int64_t step = chunk_rows(cols);
    const int64_t chunks = (rows + step - 1) / step;
    pool.for_each_chunk(chunks, [&](int64_t c) {
        check_cancel(o);
        body(c, c * step, std::min(rows, (c + 1) * step));
    });
}

// Rows of the type are independent byte ranges (block formats): encodable in parallel.
bool rows_are_independent(const WeightType& t, int64_t cols) {
    if (t.row_bytes == nullptr) return false;
    return t.tensor_bytes(1, cols) == t.row_bytes(cols) && t.tensor_bytes(2, cols) == 2 * t.row_bytes(cols);
}

struct Sums {
    double dot = 0, ref2 = 0, approx2 = 0, err2 = 0, max_err = 0;
};

std::string format_cosine(double c) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", c);
    return buf;
}

}  // namespace

EncodedTensor encode_tensor(const std::string& where, const TensorWeight& source,
                            const std::vector<const WeightType*>& candidates, const Options& o, ThreadPool& pool) {
    const int64_t rows = source.view.rows, cols = source.view.cols;
    const std::size_t n = static_cast<std::size_t>(rows * cols);
    const KernelSet& ks = default_kernel_set();
    std::vector<float> values(n);
    for_row_chunks(pool, rows, cols, o, [&](int64_t, int64_t r0, int64_t r1) {
        ks[*source.type].ops.dequantize(source.view, r0, r1, values.data() + r0 * cols);
    });

    EncodedTensor out;
    // NaN and infinity: the first one in row order is named, or all are set to 0
    const int64_t step = chunk_rows(cols);
    std::vector<int64_t> first_bad(static_cast<std::size_t>((rows + step - 1) / step), -1);
    for_row_chunks(pool, rows, cols, o, [&](int64_t c, int64_t r0, int64_t r1) {
        for (int64_t i = r0 * cols; i < r1 * cols; ++i) {
            if (!std::isfinite(values[static_cast<std::size_t>(i)])) {
                first_bad[static_cast<std::size_t>(c)] = i;
                break;
            }
        }
    });
    const auto bad = std::find_if(first_bad.begin(), first_bad.end(), [](int64_t i) { return i >= 0; });
    if (bad != first_bad.end()) {
        const float v = values[static_cast<std::size_t>(*bad)];
        if (o.nan == NanPolicy::error) {
            fail_as(ErrorCode::bad_file, where, ": element [", *bad / cols, ", ", *bad % cols, "] is ",
                    std::isnan(v) ? "NaN" : "infinite", " (quantize with --nan zero to set such values to 0)");
        }
        for (float& x : values) {
            if (!std::isfinite(x)) {
                x = 0.0f;
                ++out.zeroed;
            }
        }
    }

    std::vector<float> ternarized;
    for (std::size_t k = 0; k < candidates.size(); ++k) {
        const WeightType& type = *candidates[k];
        const bool last = k + 1 == candidates.size();
        std::size_t bytes = 0;
        try {
            if (cols % type.col_multiple != 0) {
                fail("rows of ", cols, " values are not a multiple of ", type.col_multiple);
            }
            bytes = type.tensor_bytes(rows, cols);
        } catch (const Error& e) {
            if (o.strict || last)
                fail_as(ErrorCode::bad_argument, where, ": ", type.name, " cannot store it: ", e.what());
            out.fallback += concat(out.fallback.empty() ? "" : "; ", type.name, ": ", e.what());
            continue;
        }
        // ternary types store absmean-ternarized weights (weights already ternary x one scale as
        // they are); the error is measured against the original
        const float* input = values.data();
        if (type.ternary && !is_ternary_times_scale(values)) {
            ternarized = values;
            absmean_ternarize_inplace(ternarized);
            input = ternarized.data();
        }
        std::vector<uint8_t> encoded(bytes);
        const Kernels& ops = ks[type].ops;
        try {
            if (rows_are_independent(type, cols)) {
                const std::size_t row_bytes = type.row_bytes(cols);
                for_row_chunks(pool, rows, cols, o, [&](int64_t, int64_t r0, int64_t r1) {
                    ops.quantize(input + r0 * cols, r1 - r0, cols,
                                 encoded.data() + static_cast<std::size_t>(r0) * row_bytes);
                });
            } else {
                check_cancel(o);
                ops.quantize(input, rows, cols, encoded.data());
            }
        } catch (const Error& e) {
            if (e.code() == ErrorCode::cancelled) throw;
            fail_as(ErrorCode::bad_argument, where, ": ", type.name, ": ", e.what());
        }

        // quality: each chunk's sums in double, merged in chunk order
        std::vector<Sums> sums(first_bad.size());
        const WeightView view{encoded.data(), rows, cols};
        for_row_chunks(pool, rows, cols, o, [&](int64_t c, int64_t r0, int64_t r1) {
            std::vector<float> back(static_cast<std::size_t>((r1 - r0) * cols));
            ops.dequantize(view, r0, r1, back.data());
            Sums s;
            const float* ref = values.data() + r0 * cols;
            for (std::size_t i = 0; i < back.size(); ++i) {
                const double a = ref[i], b = back[i], e = a - b;
                s.dot += a * b;
                s.ref2 += a * a;
                s.approx2 += b * b;
                s.err2 += e * e;
                s.max_err = std::max(s.max_err, std::fabs(e));
            }
            sums[static_cast<std::size_t>(c)] = s;
        });
        Sums total;
        for (const Sums& s : sums) {
            total.dot += s.dot;
            total.ref2 += s.ref2;
            total.approx2 += s.approx2;
            total.err2 += s.err2;
            total.max_err = std::max(total.max_err, s.max_err);
        }
        const double cosine = total.ref2 == 0 && total.approx2 == 0 ? 1.0
                              : total.ref2 == 0 || total.approx2 == 0
                                  ? 0.0
                                  : total.dot / std::sqrt(total.ref2 * total.approx2);
        if (o.min_cosine && cosine < *o.min_cosine && !last) {
            out.fallback += concat(out.fallback.empty() ? "" : "; ", type.name, ": cosine ", format_cosine(cosine),
                                   " < ", format_cosine(*o.min_cosine));
            continue;
        }
        out.type = &type;
        out.bytes = std::move(encoded);
        out.cosine = cosine;
        out.relative_mse = total.ref2 == 0 ? (total.err2 == 0 ? 0.0 : INFINITY) : total.err2 / total.ref2;
        out.max_abs_error = total.max_err;
        return out;
    }
    fail_as(ErrorCode::bad_argument, where, ": no type of its chain can store it");  // unreachable: the last one throws
}

}  // namespace lowbit::quantize

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

    void add(const float* ref, const float* approx, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            const double a = ref[i], b = approx[i], e = a - b;
            dot += a * b;
            ref2 += a * a;
            approx2 += b * b;
            err2 += e * e;
            max_err = std::max(max_err, std::fabs(e));
        }
    }
};

std::string format_cosine(double c) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", c);
    return buf;
}

}  // namespace

bool can_store(const WeightType& type, int64_t rows, int64_t cols, std::string& why) {
    try {
        if (cols % type.col_multiple != 0) fail("rows of ", cols, " values are not a multiple of ", type.col_multiple);
        type.tensor_bytes(rows, cols);
        return true;
    } catch (const Error& e) {
        why = e.what();
        return false;
    }
}

EncodedTensor encode_tensor(const std::string& where, const TensorWeight& source,
                            const std::vector<const WeightType*>& candidates, const Options& o, ThreadPool& pool) {
    const int64_t rows = source.view.rows, cols = source.view.cols;
    const KernelSet& ks = default_kernel_set();
    const DequantizeFn decode_source = ks[*source.type].ops.dequantize;
    const int64_t step = chunk_rows(cols);
    const std::size_t chunks = static_cast<std::size_t>((rows + step - 1) / step);
    // NaN and infinity, found wherever the source is read: the first in row order is named, or
    // each becomes 0 and is counted
    std::vector<int64_t> first_bad(chunks, -1), zeroed(chunks, 0);
    // chunk c of the source as floats; false when it holds a value the policy refuses
    const auto source_chunk = [&](int64_t c, int64_t r0, int64_t r1, float* dst) {
        decode_source(source.view, r0, r1, dst);
        int64_t count = 0;
        for (int64_t i = 0; i < (r1 - r0) * cols; ++i) {
            if (std::isfinite(dst[i])) continue;
            if (o.nan == NanPolicy::error) {
                first_bad[static_cast<std::size_t>(c)] = r0 * cols + i;
                return false;
            }
            dst[i] = 0.0f;
            ++count;
        }
        zeroed[static_cast<std::size_t>(c)] = count;
        return true;
    };
    const auto refuse_non_finite = [&] {
        const auto bad = std::find_if(first_bad.begin(), first_bad.end(), [](int64_t i) { return i >= 0; });
        if (bad == first_bad.end()) return;
        std::vector<float> row(static_cast<std::size_t>(cols));
        decode_source(source.view, *bad / cols, *bad / cols + 1, row.data());
        fail_as(ErrorCode::bad_file, where, ": element [", *bad / cols, ", ", *bad % cols, "] is ",
                std::isnan(row[static_cast<std::size_t>(*bad % cols)]) ? "NaN" : "infinite",
                " (quantize with --nan zero to set such values to 0)");
    };

    EncodedTensor out;
    // the whole tensor as floats, for the types that reduce over it (absmean ternarization, a
    // tensor scale): made on first need
    std::vector<float> values, ternarized;
    const auto make_whole = [&] {
        if (values.empty()) {
            values.resize(static_cast<std::size_t>(rows * cols));
            for_row_chunks(pool, rows, cols, o, [&](int64_t c, int64_t r0, int64_t r1) {
                source_chunk(c, r0, r1, values.data() + r0 * cols);
            });
        }
    };

    for (std::size_t k = 0; k < candidates.size(); ++k) {
        const WeightType& type = *candidates[k];
        const bool last = k + 1 == candidates.size();
        std::string why;
        if (!can_store(type, rows, cols, why)) {
            if (o.strict || last) fail_as(ErrorCode::bad_argument, where, ": ", type.name, " cannot store it: ", why);
            out.fallback += concat(out.fallback.empty() ? "" : "; ", type.name, ": ", why);
            continue;
        }
        std::vector<uint8_t> encoded(type.tensor_bytes(rows, cols));
        const Kernels& ops = ks[type].ops;
        const WeightView view{encoded.data(), rows, cols};
        std::vector<Sums> sums(chunks);
        const bool by_chunks = !type.ternary && rows_are_independent(type, cols);
        if (!by_chunks) {
            make_whole();
            refuse_non_finite();
        }
        try {
            if (by_chunks) {
                // one pass per chunk while it is in cache: decode the source, encode, decode
                // the encoding, compare
                const std::size_t row_bytes = type.row_bytes(cols);
                for_row_chunks(pool, rows, cols, o, [&](int64_t c, int64_t r0, int64_t r1) {
                    const std::size_t n = static_cast<std::size_t>((r1 - r0) * cols);
                    std::vector<float> ref(n), back(n);
                    if (!source_chunk(c, r0, r1, ref.data())) return;
                    ops.quantize(ref.data(), r1 - r0, cols, encoded.data() + static_cast<std::size_t>(r0) * row_bytes);
                    ops.dequantize(view, r0, r1, back.data());
                    sums[static_cast<std::size_t>(c)].add(ref.data(), back.data(), n);
                });
            } else {
                // ternary types store absmean-ternarized weights (weights already ternary x one
                // scale as they are); the error is measured against the original
                const std::vector<float>& v = values;
                const float* input = v.data();
                if (type.ternary && !is_ternary_times_scale(v)) {
                    ternarized = v;
                    absmean_ternarize_inplace(ternarized);
                    input = ternarized.data();
                }
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
                for_row_chunks(pool, rows, cols, o, [&](int64_t c, int64_t r0, int64_t r1) {
                    std::vector<float> back(static_cast<std::size_t>((r1 - r0) * cols));
                    ops.dequantize(view, r0, r1, back.data());
                    sums[static_cast<std::size_t>(c)].add(v.data() + r0 * cols, back.data(), back.size());
                });
            }
        } catch (const Error& e) {
            if (e.code() == ErrorCode::cancelled) throw;
            fail_as(ErrorCode::bad_argument, where, ": ", type.name, ": ", e.what());
        }
        refuse_non_finite();  // found by the chunks above, which skipped what they could not encode

        // each chunk's sums in double, merged in chunk order
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
        out.cosine = std::min(1.0, cosine);  // rounding can put an exact match a hair above 1
        out.relative_mse = total.ref2 == 0 ? (total.err2 == 0 ? 0.0 : INFINITY) : total.err2 / total.ref2;
        out.max_abs_error = total.max_err;
        for (int64_t z : zeroed) out.zeroed += z;
        return out;
    }
    fail_as(ErrorCode::bad_argument, where, ": no type of its chain can store it");  // unreachable: the last one throws
}

}  // namespace lowbit::quantize

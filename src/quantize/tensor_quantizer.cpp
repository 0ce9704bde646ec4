#include "tensor_quantizer.hpp"

#include "error_sums.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>

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

// Where rows [r0, r1) of a tensor go when each section (codes, scales, ...) holds every row's
// share in row order: types with row_sections, which encode a chunk of rows on its own.
struct RowSections {
    std::size_t count = 0;  // 0: the type has a tensor-wide part
    std::array<std::size_t, kMaxRowSections> per_row{};

    RowSections(const WeightType& t, int64_t cols) {
        if (t.row_sections != nullptr) count = t.row_sections(cols, per_row.data());
    }
    // Each section of the encoding of rows [r0, r1) (a tensor of r1 - r0 rows): piece(offset in
    // the chunk, offset in a tensor of `rows`, bytes).
    template <class Piece>
    void for_each_piece(int64_t r0, int64_t r1, int64_t rows, const Piece& piece) const {
        std::size_t from = 0, base = 0;
        for (std::size_t k = 0; k < count; ++k) {
            const std::size_t n = static_cast<std::size_t>(r1 - r0) * per_row[k];
            piece(from, base + static_cast<std::size_t>(r0) * per_row[k], n);
            from += n;
            base += static_cast<std::size_t>(rows) * per_row[k];
        }
    }
    // Copies the encoding of rows [r0, r1) into place in a tensor of `rows`.
    void scatter(const uint8_t* chunk, int64_t r0, int64_t r1, int64_t rows, uint8_t* tensor) const {
        for_each_piece(r0, r1, rows, [&](std::size_t from, std::size_t to, std::size_t n) {
            std::memcpy(tensor + to, chunk + from, n);
        });
    }
};

struct Sums : ErrorSums {
    void add(const float* ref, const float* approx, std::size_t n) { add_error_sums(ref, approx, n, *this); }
};

// Whether every value is finite: exponent bits not all ones, as an integer test the compiler
// vectorizes (std::isfinite per element is a branch per element).
bool all_finite(const float* v, int64_t n) {
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, v + i, sizeof u);
        bad |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
    }
    return bad == 0;
}

// Per-thread scratch that keeps its capacity between chunks (no allocation, no zeroing).
template <class T>
T* scratch(std::vector<T>& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
}

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

EncodedTensor encode_tensor(const SourceTensor& source, const std::vector<const WeightType*>& candidates,
                            const Options& o, ThreadPool& pool, const ChunkSink* sink) {
    // a mapped source (streaming) gives back each chunk's pages once they are decoded
    const bool release = o.mode == Mode::streaming;
    const std::string where = source.where();
    const int64_t rows = source.rows, cols = source.cols;
    const KernelSet& ks = default_kernel_set();
    const auto decode_source = [&](int64_t r0, int64_t r1, float* dst) { decode_rows(source, r0, r1, dst); };
    const int64_t step = chunk_rows(cols);
    const std::size_t chunks = static_cast<std::size_t>((rows + step - 1) / step);
    // NaN and infinity, found wherever the source is read: the first in row order is named, or
    // each becomes 0 and is counted
    std::vector<int64_t> first_bad(chunks, -1), zeroed(chunks, 0);
    // chunk c of the source as floats; false when it holds a value the policy refuses
    const auto source_chunk = [&](int64_t c, int64_t r0, int64_t r1, float* dst) {
        decode_source(r0, r1, dst);
        if (release) release_source_rows(source, r0, r1);
        const int64_t n = (r1 - r0) * cols;
        if (all_finite(dst, n)) return true;
        int64_t count = 0;
        for (int64_t i = 0; i < n; ++i) {
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
        decode_source(*bad / cols, *bad / cols + 1, row.data());
        fail_as(ErrorCode::bad_file, where, ": element [", source.source_row(*bad / cols), ", ", *bad % cols, "] is ",
                std::isnan(row[static_cast<std::size_t>(*bad % cols)]) ? "NaN" : "infinite",
                " (the nan option \"zero\" sets such values to 0)");
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
        const RowSections sections(type, cols);
        // absmean reduces over the whole tensor; without it a ternary block type is one too
        const bool by_chunks = (!type.ternary || o.ternarize == Ternarize::none) && sections.count > 0;
        const bool to_sink = sink != nullptr && by_chunks;
        std::vector<uint8_t> encoded(to_sink ? 0 : type.tensor_bytes(rows, cols));
        const Kernels& ops = ks[type].ops;
        const WeightView view{encoded.data(), rows, cols};
        std::vector<Sums> sums(chunks);
        if (!by_chunks) {
            make_whole();
            refuse_non_finite();
        }
        try {
            if (by_chunks) {
                // one pass per chunk while it is in cache: decode the source, encode, decode
                // the encoding, compare; then the chunk's sections go into place
                for_row_chunks(pool, rows, cols, o, [&](int64_t c, int64_t r0, int64_t r1) {
                    const std::size_t n = static_cast<std::size_t>((r1 - r0) * cols);
                    thread_local std::vector<float> ref_buffer, back_buffer;
                    thread_local std::vector<uint8_t> chunk_buffer;
                    float* ref = scratch(ref_buffer, n);
                    float* back = scratch(back_buffer, n);
                    if (!source_chunk(c, r0, r1, ref)) return;
                    // one section (block types): the chunk is a byte range of the tensor
                    const std::size_t chunk_bytes = type.tensor_bytes(r1 - r0, cols);
                    uint8_t* dst = sections.count == 1 && !to_sink
                                       ? encoded.data() + static_cast<std::size_t>(r0) * sections.per_row[0]
                                       : scratch(chunk_buffer, chunk_bytes);
                    ops.quantize(ref, r1 - r0, cols, dst);
                    ops.dequantize({dst, r1 - r0, cols}, 0, r1 - r0, back);
                    sums[static_cast<std::size_t>(c)].add(ref, back, n);
                    if (to_sink) {
                        sections.for_each_piece(r0, r1, rows, [&](std::size_t from, std::size_t to, std::size_t size) {
                            (*sink)(to, {dst + from, size});
                        });
                    } else if (sections.count > 1) {
                        sections.scatter(dst, r0, r1, rows, encoded.data());
                    }
                });
            } else {
                // ternary types store absmean-ternarized weights (weights already ternary x one
                // scale as they are); the error is measured against the original
                const std::vector<float>& v = values;
                const float* input = v.data();
                out.ternarized = type.ternary && o.ternarize == Ternarize::absmean && !is_ternary_times_scale(v);
                if (out.ternarized) {
                    ternarized = v;
                    absmean_ternarize_inplace(ternarized);
                    input = ternarized.data();
                }
                if (sections.count > 0) {
                    for_row_chunks(pool, rows, cols, o, [&](int64_t, int64_t r0, int64_t r1) {
                        std::vector<uint8_t> chunk(type.tensor_bytes(r1 - r0, cols));
                        ops.quantize(input + r0 * cols, r1 - r0, cols, chunk.data());
                        sections.scatter(chunk.data(), r0, r1, rows, encoded.data());
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
        out.size = type.tensor_bytes(rows, cols);
        if (sink != nullptr && !to_sink) (*sink)(0, encoded);
        else out.bytes = std::move(encoded);
        out.cosine = std::min(1.0, cosine);  // rounding can put an exact match a hair above 1
        out.relative_mse = total.ref2 == 0 ? (total.err2 == 0 ? 0.0 : INFINITY) : total.err2 / total.ref2;
        out.max_abs_error = total.max_err;
        for (int64_t z : zeroed) out.zeroed += z;
        return out;
    }
    fail_as(ErrorCode::bad_argument, where, ": no type of its chain can store it");  // unreachable: the last one throws
}

double entropy_hint(const SourceTensor& source, const Options& o, ThreadPool& pool) {
    const int64_t rows = source.rows, cols = source.cols;
    const int64_t step = chunk_rows(cols);
    const std::size_t chunks = static_cast<std::size_t>((rows + step - 1) / step);
    std::vector<float> lo(chunks, INFINITY), hi(chunks, -INFINITY);
    for_row_chunks(pool, rows, cols, o, [&](int64_t c, int64_t r0, int64_t r1) {
        std::vector<float> v(static_cast<std::size_t>((r1 - r0) * cols));
        decode_rows(source, r0, r1, v.data());
        for (float x : v) {
            if (!std::isfinite(x)) continue;
            lo[static_cast<std::size_t>(c)] = std::min(lo[static_cast<std::size_t>(c)], x);
            hi[static_cast<std::size_t>(c)] = std::max(hi[static_cast<std::size_t>(c)], x);
        }
    });
    const float min = *std::min_element(lo.begin(), lo.end()), max = *std::max_element(hi.begin(), hi.end());
    if (!(max > min)) return 0;  // constant (or empty): one bin
    std::vector<std::array<uint64_t, 256>> counts(chunks);
    const double scale = 256.0 / (static_cast<double>(max) - static_cast<double>(min));
    for_row_chunks(pool, rows, cols, o, [&](int64_t c, int64_t r0, int64_t r1) {
        std::vector<float> v(static_cast<std::size_t>((r1 - r0) * cols));
        decode_rows(source, r0, r1, v.data());
        std::array<uint64_t, 256>& h = counts[static_cast<std::size_t>(c)];
        h.fill(0);
        for (float x : v) {
            if (!std::isfinite(x)) continue;
            const auto bin = static_cast<int64_t>((static_cast<double>(x) - min) * scale);
            ++h[static_cast<std::size_t>(std::clamp<int64_t>(bin, 0, 255))];
        }
    });
    std::array<uint64_t, 256> total{};
    for (const auto& h : counts) {
        for (std::size_t b = 0; b < 256; ++b) total[b] += h[b];
    }
    double n = 0, entropy = 0;
    for (uint64_t k : total) n += static_cast<double>(k);
    for (uint64_t k : total) {
        if (k == 0) continue;
        const double p = static_cast<double>(k) / n;
        entropy -= p * std::log2(p);
    }
    return entropy / 8.0;
}

int bits_for_entropy(double entropy) { return entropy < 0.5 ? 8 : entropy < 0.7 ? 4 : 2; }

uint64_t work_item_bytes(const SourceTensor& source, const std::vector<const WeightType*>& candidates, int threads,
                         const Options& o, bool direct) {
    const int64_t rows = source.rows, cols = source.cols;
    const auto threads_u = static_cast<uint64_t>(threads);
    const uint64_t floats = static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) * sizeof(float);
    const int64_t step = std::min(rows, chunk_rows(cols));
    const uint64_t chunk_floats = 2 * static_cast<uint64_t>(step) * static_cast<uint64_t>(cols) * sizeof(float);
    uint64_t most = 0;
    for (const WeightType* t : candidates) {
        std::string why;
        if (!can_store(*t, rows, cols, why)) continue;
        const RowSections sections(*t, cols);
        const bool by_chunks = (!t->ternary || o.ternarize == Ternarize::none) && sections.count > 0;
        const uint64_t whole = t->tensor_bytes(rows, cols);
        uint64_t bytes = 0;
        if (by_chunks) {
            bytes = threads_u * (chunk_floats + t->tensor_bytes(step, cols)) + (direct ? 0 : whole);
        } else {
            const bool absmean = t->ternary && o.ternarize == Ternarize::absmean;
            bytes = whole + floats * (absmean ? 2 : 1) + threads_u * chunk_floats;
        }
        most = std::max(most, bytes);
    }
    // the mapped source: a chunk of rows per thread while it is read, when its pages are given
    // back chunk by chunk; else the whole tensor
    const bool by_rows = o.mode == Mode::streaming && source.permute_heads == 0 && rows > 0 &&
                         source.data.size() % static_cast<std::size_t>(rows) == 0;
    const uint64_t source_bytes =
        by_rows ? std::min<uint64_t>(source.data.size(),
                                     threads_u * static_cast<uint64_t>(step) * (source.data.size() / static_cast<uint64_t>(rows)))
                : source.data.size();
    return most + source_bytes;
}

}  // namespace lowbit::quantize

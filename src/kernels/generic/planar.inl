// The "planar" GEMV/GEMM used by the 2-bit and ternary formats.
//
// A format's code bytes are read kW at a time (a chunk); each chunk yields P "planes", u8
// vectors whose lane i holds the (offset) code of one element. Activations are permuted once
// per call into the same order (xp), so the inner loop is: load a chunk, extract each plane
// with a shift/mask or a table lookup, and multiply-accumulate it with the matching plane of
// xp (vpdpbusd, or its emulation). The integer sum of a block (or of the whole row for the
// formats with one scale per tensor) is exact; a code u stands for the value u - kOffset,
// corrected with the block's activation sum.
//
// A layout policy L provides:
//   kPlanes, kOffset, kBlockElems, kCodeBytes (code bytes per block; a tensor-scale format
//   declares kTensorScale and treats the whole row as one block)
//   codes(view, row, block) -> const uint8_t*        the block's code bytes
//   scale(view, row, block) -> float                  (block formats) its scale
//   tensor_scale(view) -> float                       (tensor-scale formats)
//   element(j, l) -> int64_t  element of the block held by code byte j, plane l (or -1)
//   template <int Pl> B plane(B w)        the plane's u8 codes (u <= 31 for the emulation)
//   kShiftedPlanes / template <int Pl> B plane_shifted(B w) and I unshift(I): optional, with
//   VNNI a plane can stay shifted in place (one AND) and the shift is undone on the sums.

namespace planar {

template <int N>
struct Index {
    static constexpr int value = N;
};

template <int P, class F, int I = 0>
inline void for_planes(F&& f) {
    if constexpr (I < P) {
        f(Index<I>{});
        for_planes<P, F, I + 1>(static_cast<F&&>(f));
    }
}

template <class L>
struct Shape {
    int64_t blocks;          // per row
    int64_t block_elems;     // elements per block (the row, for tensor-scale formats)
    int64_t code_bytes;      // per block
    int64_t chunks;          // per block
    int64_t block_stride;    // bytes of permuted activations per block

    explicit Shape(int64_t cols) {
        if constexpr (L::kTensorScale) {
            blocks = 1;
            block_elems = cols;
            code_bytes = L::row_code_bytes(cols);
        } else {
            blocks = cols / L::kBlockElems;
            block_elems = L::kBlockElems;
            code_bytes = L::kCodeBytes;
        }
        chunks = chunks_of(code_bytes);
        block_stride = chunks * L::kPlanes * simd::kW;
    }
};

// Permuted activations of one token: blocks x chunks x planes x kW bytes, plus each block's
// activation sum (for the code offset).
template <class L>
inline void permute(const Shape<L>& s, const int8_t* x, int64_t cols, int8_t* xp, int32_t* block_sums) {
    using simd::kW;
    for (int64_t b = 0; b < s.blocks; ++b) {
        const int8_t* xb = x + b * s.block_elems;
        int8_t* out = xp + b * s.block_stride;
        const int64_t limit = cols - b * s.block_elems;  // elements that exist in this block
        for (int64_t c = 0; c < s.chunks; ++c) {
            for (int l = 0; l < L::kPlanes; ++l) {
                int8_t* dst = out + (c * L::kPlanes + l) * kW;
                L::fill_plane(xb, limit, s.code_bytes, c * kW, l, dst);
            }
        }
        block_sums[b] = sum_i8(xb, min64(s.block_elems, limit));
    }
}

// Generic plane filler from L::element (one byte at a time); layouts with long contiguous
// runs provide a faster fill_plane of their own.
template <class L>
inline void fill_plane_by_element(const int8_t* xb, int64_t limit, int64_t code_bytes, int64_t j0, int l, int8_t* dst) {
    for (int i = 0; i < simd::kW; ++i) {
        const int64_t j = j0 + i;
        const int64_t e = j < code_bytes ? L::element(j, l) : -1;
        dst[i] = (e >= 0 && e < limit) ? xb[e] : 0;
    }
}

// Integer sums sum_k u_k a_k of one block for R rows: row, row + step, ...
template <class L, int R, bool UseShifted>
inline void block_dot(const WeightView& w, int64_t row, int64_t step, int64_t block, const Shape<L>& s,
                      const int8_t* xpb, int32_t* out) {
    using namespace simd;
    I acc[R][L::kPlanes];
    for (int r = 0; r < R; ++r)
        for (int l = 0; l < L::kPlanes; ++l) acc[r][l] = zero_i();
    for (int64_t c = 0; c < s.chunks; ++c) {
        const int64_t off = c * kW;
        const int8_t* a = xpb + c * L::kPlanes * kW;
        for (int r = 0; r < R; ++r) {
            const B wv = load_codes(L::codes(w, row + r * step, block) + off, s.code_bytes - off);
            for_planes<L::kPlanes>([&](auto pl) {
                constexpr int P = decltype(pl)::value;
                if constexpr (UseShifted) {
                    acc[r][P] = dot_i(acc[r][P], L::template plane_shifted<P>(wv), load_b(a + P * kW));
                } else {
                    acc[r][P] = dot_i(acc[r][P], L::template plane<P>(wv), load_b(a + P * kW));
                }
            });
        }
    }
    I total[R];
    for (int r = 0; r < R; ++r) {
        total[r] = zero_i();
        for_planes<L::kPlanes>([&](auto pl) {
            constexpr int P = decltype(pl)::value;
            if constexpr (UseShifted) {
                total[r] = add_i(total[r], L::template unshift<P>(acc[r][P]));
            } else {
                total[r] = add_i(total[r], acc[r][P]);
            }
        });
    }
    if constexpr (R == 4) {
        hsum4_i(total[0], total[1], total[2], total[3], out);  // block formats reduce per block: one tree for 4 rows
    } else {
        for (int r = 0; r < R; ++r) out[r] = hsum_i(total[r]);
    }
}

// Planes kept in place (one AND) need a dot product exact for codes up to 192: VNNI's.
template <class L>
constexpr bool use_shifted() {
    return L::kShiftedPlanes && simd::kDotAnyU;
}

// The scratch a call needs for `tokens` permuted activation rows.
// (rounded to 64 bytes, so that whatever follows a token's data stays aligned)
template <class L>
inline std::size_t scratch_bytes(const Shape<L>& s, int64_t tokens) {
    return static_cast<std::size_t>(tokens * ((s.blocks * s.block_stride + s.blocks * 4 + 63) / 64 * 64));
}

// Rows row, row + step, ... (R of them); y[r * step] is row + r * step's output.
template <class L, int R>
inline void gemv_rows(const WeightView& w, int64_t row, int64_t step, const Shape<L>& s, const int8_t* xp,
                      const int32_t* sums, float act_scale, float* y) {
    constexpr bool kShifted = use_shifted<L>();
    if constexpr (L::kTensorScale) {
        int32_t isum[R];
        block_dot<L, R, kShifted>(w, row, step, 0, s, xp, isum);
        const float scale = L::tensor_scale(w);
        for (int r = 0; r < R; ++r) {
            y[r * step] = static_cast<float>(isum[r] - L::kOffset * sums[0]) / act_scale * scale;
        }
    } else {
        float acc[R] = {};
        for (int64_t b = 0; b < s.blocks; ++b) {
            int32_t isum[R];
            block_dot<L, R, kShifted>(w, row, step, b, s, xp + b * s.block_stride, isum);
            for (int r = 0; r < R; ++r) {
                acc[r] += L::scale(w, row + r * step, b) * static_cast<float>(isum[r] - L::kOffset * sums[b]);
            }
        }
        for (int r = 0; r < R; ++r) y[r * step] = acc[r] / act_scale;
    }
}

template <class L>
void gemv(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationRowI8& x, float* y) {
    const Shape<L> s(w.cols);
    Scratch scratch(scratch_bytes(s, 1));
    int8_t* xp = scratch.data();
    int32_t* sums = reinterpret_cast<int32_t*>(xp + s.blocks * s.block_stride);
    permute(s, x.q, w.cols, xp, sums);
    const int64_t row_bytes = L::codes(w, 1, 0) - L::codes(w, 0, 0);  // rows are contiguous in every planar format
    for_rows_as_four_streams(
        row_begin, row_end, row_bytes,
        [&](int64_t first, int64_t step) {
            gemv_rows<L, 4>(w, first, step, s, xp, sums, x.scale, y + (first - row_begin));
        },
        [&](int64_t row) { gemv_rows<L, 1>(w, row, 1, s, xp, sums, x.scale, y + (row - row_begin)); });
}

// GEMM: R rows x T tokens per tile, each plane decoded once per tile and used T times.
// Tensor-scale formats keep one exact integer sum per (row, token). Block formats add each
// block's integer lanes, converted to f32, into float lanes (the activation-sum correction is
// applied per lane before the conversion, so no cancellation): not the reference's order of
// float additions, within the documented tolerance.
template <class L, int R, int T>
inline void gemm_tile(const WeightView& w, int64_t row, const Shape<L>& s, const int8_t* const* xp,
                      const int32_t* const* sums, const float* act_scale, float* y, int64_t y_stride) {
    using namespace simd;
    const int32_t offset = L::kOffset;
    I acc[R][T];
    F facc[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) facc[r][t] = zero_f();
    int32_t whole[R][T] = {};
    for (int64_t b = 0; b < s.blocks; ++b) {
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = zero_i();
        for (int64_t c = 0; c < s.chunks; ++c) {
            const int64_t off = c * kW;
            B wv[R];
            for (int r = 0; r < R; ++r) wv[r] = load_codes(L::codes(w, row + r, b) + off, s.code_bytes - off);
            for_planes<L::kPlanes>([&](auto pl) {
                constexpr int P = decltype(pl)::value;
                B p[R];
                for (int r = 0; r < R; ++r) p[r] = L::template plane<P>(wv[r]);
                for (int t = 0; t < T; ++t) {
                    const B a = load_b(xp[t] + b * s.block_stride + (c * L::kPlanes + P) * kW);
                    for (int r = 0; r < R; ++r) acc[r][t] = dot_i(acc[r][t], p[r], a);
                }
            });
        }
        if constexpr (L::kTensorScale) {
            for (int r = 0; r < R; ++r)
                for (int t = 0; t < T; ++t) whole[r][t] = hsum_i(acc[r][t]);
        } else {
            for (int t = 0; t < T; ++t) {
                // the block's activation sum, as lane 0 of a vector (the others 0)
                const I correction = set_lane0_i(offset * sums[t][b]);
                for (int r = 0; r < R; ++r) {
                    facc[r][t] = fma_f(cvt_f(sub_i(acc[r][t], correction)), splat_f(L::scale(w, row + r, b)), facc[r][t]);
                }
            }
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int t = 0; t < T; ++t) {
            float v;
            if constexpr (L::kTensorScale) {
                v = static_cast<float>(whole[r][t] - offset * sums[t][0]) / act_scale[t] * L::tensor_scale(w);
            } else {
                v = hsum_f(facc[r][t]) / act_scale[t];
            }
            y[t * y_stride + r] = v;
        }
    }
}

template <class L>
void gemm(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationsI8& x, float* y,
          int64_t y_stride) {
    const Shape<L> s(w.cols);
    const std::size_t per_token = scratch_bytes(s, 1);
    Scratch scratch(per_token * static_cast<std::size_t>(x.rows) + static_cast<std::size_t>(x.rows) * 16);
    int8_t** xp = reinterpret_cast<int8_t**>(scratch.data() + per_token * static_cast<std::size_t>(x.rows));
    int32_t** sums = reinterpret_cast<int32_t**>(xp) + x.rows;
    for (int64_t t = 0; t < x.rows; ++t) {
        xp[t] = scratch.data() + per_token * static_cast<std::size_t>(t);
        sums[t] = reinterpret_cast<int32_t*>(xp[t] + s.blocks * s.block_stride);
        permute(s, x.q + t * x.stride, w.cols, xp[t], sums[t]);
    }
    // 4 x 4 tiles, then single rows / single tokens for the remainders (few instantiations).
    const int64_t rows4 = row_begin + (row_end - row_begin) / 4 * 4;
    const int64_t tokens4 = x.rows / 4 * 4;
    auto tile = [&](int64_t r, int64_t t, auto rr, auto tt) {
        constexpr int RR = decltype(rr)::value, TT = decltype(tt)::value;
        gemm_tile<L, RR, TT>(w, r, s, xp + t, sums + t, x.scale + t, y + t * y_stride + (r - row_begin), y_stride);
    };
    for (int64_t r = row_begin; r < row_end; r += (r < rows4 ? 4 : 1)) {
        for (int64_t t = 0; t < x.rows; t += (t < tokens4 ? 4 : 1)) {
            if (r < rows4 && t < tokens4) {
                tile(r, t, Index<4>{}, Index<4>{});
            } else if (r < rows4) {
                tile(r, t, Index<4>{}, Index<1>{});
            } else if (t < tokens4) {
                tile(r, t, Index<1>{}, Index<4>{});
            } else {
                tile(r, t, Index<1>{}, Index<1>{});
            }
        }
    }
}

}  // namespace planar

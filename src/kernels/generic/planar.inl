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

// Chunks whose pair sums (simd::kPairSums) stay in int16 before they are widened: each chunk
// adds kPlanes products of at most 2 * 4 * 128 per lane, and 16 planes stay below 2^15.
template <class L>
constexpr int64_t chunks_per_widening() {
    return 16 / L::kPlanes;
}

// Integer sums sum_k u_k a_k of one block for R rows: row, row + step, ...
template <class L, int R, bool UseShifted>
inline void block_dot(const WeightView& w, int64_t row, int64_t step, int64_t block, const Shape<L>& s,
                      const int8_t* xpb, int32_t* out) {
    using namespace simd;
    I total[R];
    if constexpr (UseShifted) {
        // VNNI: planes kept in place (one AND); the shift is undone per plane on the sums
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
                    acc[r][P] = dot_i(acc[r][P], L::template plane_shifted<P>(wv), load_b(a + P * kW));
                });
            }
        }
        for (int r = 0; r < R; ++r) {
            total[r] = zero_i();
            for_planes<L::kPlanes>([&](auto pl) {
                constexpr int P = decltype(pl)::value;
                total[r] = add_i(total[r], L::template unshift<P>(acc[r][P]));
            });
        }
    } else if constexpr (kPairSums) {
        // int16 pair sums across planes and a few chunks, widened into total
        W pairs[R];
        for (int r = 0; r < R; ++r) {
            total[r] = zero_i();
            pairs[r] = zero_w();
        }
        for (int64_t c = 0; c < s.chunks; ++c) {
            const int64_t off = c * kW;
            const int8_t* a = xpb + c * L::kPlanes * kW;
            for (int r = 0; r < R; ++r) {
                const B wv = load_codes(L::codes(w, row + r * step, block) + off, s.code_bytes - off);
                for_planes<L::kPlanes>([&](auto pl) {
                    constexpr int P = decltype(pl)::value;
                    pairs[r] = add_small_w(pairs[r], L::template plane<P>(wv), load_b(a + P * kW));
                });
            }
            if ((c + 1) % chunks_per_widening<L>() == 0 || c + 1 == s.chunks) {
                for (int r = 0; r < R; ++r) {
                    total[r] = widen_add_i(total[r], pairs[r]);
                    pairs[r] = zero_w();
                }
            }
        }
    } else {
        // one accumulator per plane: the dot products of a chunk do not wait on each other
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
                    acc[r][P] = dot_i(acc[r][P], L::template plane<P>(wv), load_b(a + P * kW));
                });
            }
        }
        for (int r = 0; r < R; ++r) {
            total[r] = zero_i();
            for (int l = 0; l < L::kPlanes; ++l) total[r] = add_i(total[r], acc[r][l]);
        }
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

// Packed activations: per token its permuted rows (blocks x block_stride bytes), then each
// block's activation sum, rounded to 64 bytes so that the next token stays aligned.
template <class L>
inline int64_t token_bytes(const Shape<L>& s) {
    return (s.blocks * s.block_stride + s.blocks * 4 + 63) / 64 * 64;
}

template <class L>
std::size_t pack_bytes(int64_t cols, int64_t tokens) {
    return static_cast<std::size_t>(token_bytes(Shape<L>(cols)) * tokens);
}

template <class L>
void pack(const ActivationsI8& x, int64_t token_begin, int64_t token_end, uint8_t* out) {
    const Shape<L> s(x.cols);
    for (int64_t t = token_begin; t < token_end; ++t) {
        int8_t* xp = reinterpret_cast<int8_t*>(out + t * token_bytes(s));
        permute(s, x.q + t * x.stride, x.cols, xp, reinterpret_cast<int32_t*>(xp + s.blocks * s.block_stride));
    }
}

// One token of packed activations.
struct Token {
    const int8_t* xp;
    const int32_t* sums;  // per block
    float scale;
};

template <class L>
inline Token token(const Shape<L>& s, const PackedActivationsI8& p, int64_t t) {
    const auto* xp = reinterpret_cast<const int8_t*>(p.data + t * token_bytes(s));
    return {xp, reinterpret_cast<const int32_t*>(xp + s.blocks * s.block_stride), p.x.scale[t]};
}

// The one order of float steps for the output of (row, token), whichever kernel computes it:
// tensor-scale formats (float)(isum - offset * sum) / act_scale * tensor_scale; block formats
// acc += d_b * (float)(isum_b - offset * sum_b) block by block, then acc / act_scale.
template <class L>
inline float finish_whole_row(const WeightView& w, int32_t isum, const Token& a) {
    return static_cast<float>(isum - L::kOffset * a.sums[0]) / a.scale * L::tensor_scale(w);
}
template <class L>
inline void add_block(const WeightView& w, int64_t row, int64_t b, int32_t isum, const Token& a, float& acc) {
    acc += L::scale(w, row, b) * static_cast<float>(isum - L::kOffset * a.sums[b]);
}

// Rows row, row + step, ... (R of them) by one token; y[r * step] is row + r * step's output.
// Planes may stay shifted in place (block_dot): the integer sums are exact either way.
template <class L, int R>
inline void rows_by_token(const WeightView& w, int64_t row, int64_t step, const Shape<L>& s, const Token& a, float* y) {
    constexpr bool kShifted = use_shifted<L>();
    if constexpr (L::kTensorScale) {
        int32_t isum[R];
        block_dot<L, R, kShifted>(w, row, step, 0, s, a.xp, isum);
        for (int r = 0; r < R; ++r) y[r * step] = finish_whole_row<L>(w, isum[r], a);
    } else {
        float acc[R] = {};
        for (int64_t b = 0; b < s.blocks; ++b) {
            int32_t isum[R];
            block_dot<L, R, kShifted>(w, row, step, b, s, a.xp + b * s.block_stride, isum);
            for (int r = 0; r < R; ++r) add_block<L>(w, row + r * step, b, isum[r], a, acc[r]);
        }
        for (int r = 0; r < R; ++r) y[r * step] = acc[r] / a.scale;
    }
}

// Rows in a tile of rows_by_four_tokens: four where the vector registers hold the 16
// accumulators (AVX-512, NEON: 32 registers), else one (AVX2: 16).
constexpr int kTileRows = simd::kW == 32 ? 1 : 4;

// R rows (row + r * step) by four tokens: each plane decoded once and used four times. The
// integer sums of a block are reduced per (row, token) and then take the float steps above, so
// every output has the bits of rows_by_token.
template <class L, int R>
inline void rows_by_four_tokens(const WeightView& w, int64_t row, int64_t step, const Shape<L>& s, const Token* a,
                                float* y, int64_t y_stride) {
    using namespace simd;
    constexpr int T = 4;
    I acc[R][T];
    int32_t whole[R][T] = {};
    float facc[R][T] = {};
    for (int64_t b = 0; b < s.blocks; ++b) {
        W pairs[R][T];
        for (int r = 0; r < R; ++r) {
            for (int t = 0; t < T; ++t) {
                acc[r][t] = zero_i();
                pairs[r][t] = zero_w();
            }
        }
        for (int64_t c = 0; c < s.chunks; ++c) {
            const int64_t off = c * kW;
            B wv[R];
            for (int r = 0; r < R; ++r) wv[r] = load_codes(L::codes(w, row + r * step, b) + off, s.code_bytes - off);
            for_planes<L::kPlanes>([&](auto pl) {
                constexpr int P = decltype(pl)::value;
                B p[R];
                for (int r = 0; r < R; ++r) p[r] = L::template plane<P>(wv[r]);
                for (int t = 0; t < T; ++t) {
                    const B av = load_b(a[t].xp + b * s.block_stride + (c * L::kPlanes + P) * kW);
                    for (int r = 0; r < R; ++r) {
                        if constexpr (kPairSums) {
                            pairs[r][t] = add_small_w(pairs[r][t], p[r], av);
                        } else {
                            acc[r][t] = dot_i(acc[r][t], p[r], av);
                        }
                    }
                }
            });
            if constexpr (kPairSums) {
                if ((c + 1) % chunks_per_widening<L>() == 0 || c + 1 == s.chunks) {
                    for (int r = 0; r < R; ++r) {
                        for (int t = 0; t < T; ++t) {
                            acc[r][t] = widen_add_i(acc[r][t], pairs[r][t]);
                            pairs[r][t] = zero_w();
                        }
                    }
                }
            }
        }
        for (int r = 0; r < R; ++r) {
            int32_t isum[T];
            hsum4_i(acc[r][0], acc[r][1], acc[r][2], acc[r][3], isum);
            for (int t = 0; t < T; ++t) {
                if constexpr (L::kTensorScale) {
                    whole[r][t] = isum[t];
                } else {
                    add_block<L>(w, row + r * step, b, isum[t], a[t], facc[r][t]);
                }
            }
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int t = 0; t < T; ++t) {
            float v;
            if constexpr (L::kTensorScale) {
                v = finish_whole_row<L>(w, whole[r][t], a[t]);
            } else {
                v = facc[r][t] / a[t].scale;
            }
            y[t * y_stride + r * step] = v;
        }
    }
}

// Every token by the rows [row_begin, row_end), read as four streams (for_rows_as_four_streams):
// a decode step of a few sequences reads each row from memory once for all of them.
template <class L>
void gemm_packed(const WeightView& w, int64_t row_begin, int64_t row_end, const PackedActivationsI8& p, float* y,
                 int64_t y_stride) {
    const Shape<L> s(w.cols);
    const int64_t tokens = p.x.rows;
    const int64_t row_bytes = L::codes(w, 1, 0) - L::codes(w, 0, 0);  // rows are contiguous in every planar format
    const auto four = [&](int64_t first, int64_t step) {
        float* out = y + (first - row_begin);
        int64_t t = 0;
        for (; t + 4 <= tokens; t += 4) {
            const Token a[4] = {token(s, p, t), token(s, p, t + 1), token(s, p, t + 2), token(s, p, t + 3)};
            for (int r = 0; r < 4; r += kTileRows) {
                rows_by_four_tokens<L, kTileRows>(w, first + r * step, step, s, a, out + r * step + t * y_stride, y_stride);
            }
        }
        for (; t < tokens; ++t) rows_by_token<L, 4>(w, first, step, s, token(s, p, t), out + t * y_stride);
    };
    const auto one = [&](int64_t row) {
        float* out = y + (row - row_begin);
        int64_t t = 0;
        for (; t + 4 <= tokens; t += 4) {
            const Token a[4] = {token(s, p, t), token(s, p, t + 1), token(s, p, t + 2), token(s, p, t + 3)};
            rows_by_four_tokens<L, 1>(w, row, 1, s, a, out + t * y_stride, y_stride);
        }
        for (; t < tokens; ++t) rows_by_token<L, 1>(w, row, 1, s, token(s, p, t), out + t * y_stride);
    };
    for_rows_as_four_streams(row_begin, row_end, row_bytes, four, one);
}

}  // namespace planar

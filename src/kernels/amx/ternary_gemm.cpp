// The AMX level: I2_S and TQ2_0 prompt processing (GEMM) on Intel AMX tiles (TDPBUSD: 16 rows
// x 64 u8 weight codes times 64 x 16 s8 activations into 16 x 16 int32 sums, 16384
// multiply-adds per instruction). Weight codes are decoded once per block of 32 rows;
// activations are packed once per input (the pack kernel) into the tiles' 4-byte-interleaved
// layout. The integer sums are exact and the float steps are the reference's, in its order
// (I2_S: one tensor scale; TQ2_0: acc += d * sum block by block, then / the token's scale), so
// every output equals the lower levels' GEMV of that token bit for bit. Compiled with AMX and
// AVX-512 flags; used only when the CPU has AMX-INT8 and the kernel granted this process the
// tile state, and only from 16 tokens (a tile's worth; below it the avx512_vnni kernels).
#include "../x86_intrinsics.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../level_table.hpp"

namespace lowbit::kernels::amx {
namespace {

// Builds nothing std:: here (see generic/common.inl for why).
struct Buffer {
    explicit Buffer(std::size_t bytes) : p(static_cast<uint8_t*>(aligned_alloc(64, (bytes + 63) / 64 * 64))) {
        if (p == nullptr) kernel_out_of_memory(bytes);
        __builtin_memset(p, 0, (bytes + 63) / 64 * 64);
    }
    ~Buffer() { free(p); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    uint8_t* p;
};

struct TileConfig {
    uint8_t palette_id = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

// tiles 0-3: sums (16 x 16 int32), 4-5: weight codes (16 rows x 64), 6-7: activations.
void configure_tiles() {
    TileConfig c;
    for (int t = 0; t < 8; ++t) {
        c.rows[t] = 16;
        c.colsb[t] = 64;
    }
    _tile_loadconfig(&c);
}

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

constexpr int kStep = 64;  // K elements per tile step: one plane of one 64-byte code chunk

// The 2-bit field of each code byte at `shift`, as bytes.
inline __m512i field(__m512i w, int shift) {
    const __m512i shifted = _mm512_srlv_epi16(w, _mm512_set1_epi16(static_cast<short>(shift)));
    return _mm512_and_si512(shifted, _mm512_set1_epi8(3));
}

// Transposes a 16 x 16 matrix of int32 held as 16 rows: unpacks within 128-bit lanes (4 x 4
// blocks), then 128-bit lane shuffles.
inline void transpose_16x16_epi32(__m512i (&m)[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(m[i], m[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(m[i], m[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);      // column 4k of rows i..i+3
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);  // column 4k + 1
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int c = 0; c < 4; ++c) {  // u[4 g + c], lane k: column 4 k + c of rows 4 g .. 4 g + 3
        const __m512i x01 = _mm512_shuffle_i32x4(u[c], u[4 + c], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512i y01 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512i x23 = _mm512_shuffle_i32x4(u[c], u[4 + c], _MM_SHUFFLE(3, 2, 3, 2));
        const __m512i y23 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], _MM_SHUFFLE(3, 2, 3, 2));
        m[c] = _mm512_shuffle_i32x4(x01, y01, _MM_SHUFFLE(2, 0, 2, 0));
        m[4 + c] = _mm512_shuffle_i32x4(x01, y01, _MM_SHUFFLE(3, 1, 3, 1));
        m[8 + c] = _mm512_shuffle_i32x4(x23, y23, _MM_SHUFFLE(2, 0, 2, 0));
        m[12 + c] = _mm512_shuffle_i32x4(x23, y23, _MM_SHUFFLE(3, 1, 3, 1));
    }
}

// Activations in the planar order of the codes, interleaved by 4 bytes per 16-token block (the
// layout TDPBUSD takes its second operand in): block b, step 4 c + l, tile row r = bytes of
// tokens 16 b .. 16 b + 15, elements 4 r .. 4 r + 3 of that step, where byte i of step (c, l)
// is element 128 (j / 32) + 32 l + j % 32, j = 64 c + i. A token's step is two 32-byte runs of
// its row; the 16 tokens' steps, as 16 x 16 int32, transposed are the tile. code_bytes is a
// multiple of 32 (cols of 128). Writes the 16-token blocks [block_begin, block_end); tokens past
// the last are zero.
void pack_activations(const ActivationsI8& x, int64_t code_bytes, int64_t chunks, int64_t steps, int64_t block_begin,
                      int64_t block_end, uint8_t* packed) {
    for (int64_t block = block_begin; block < block_end; ++block) {
        for (int64_t c = 0; c < chunks; ++c) {
            const bool upper = 64 * c + 32 < code_bytes;
            for (int l = 0; l < 4; ++l) {
                __m512i m[16];
                for (int n = 0; n < 16; ++n) {
                    const int64_t t = block * 16 + n;
                    if (t >= x.rows) {
                        m[n] = _mm512_setzero_si512();
                        continue;
                    }
                    const int8_t* q = x.q + t * x.stride + 256 * c + 32 * l;
                    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
                    const __m256i hi = upper ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 128)) : _mm256_setzero_si256();
                    m[n] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
                }
                transpose_16x16_epi32(m);
                uint8_t* tile = packed + (block * steps + c * 4 + l) * 1024;
                for (int r = 0; r < 16; ++r) _mm512_store_si512(tile + 64 * r, m[r]);
            }
        }
    }
}

// The integer sums of 32 decoded weight rows (codes: [step][32 rows][64]) by the 32 tokens of
// the 16-token blocks b and b + 1 (packed activations), over the steps [first, last), into
// out: tile (half_r, half_t) = out[2 half_r + half_t], 16 rows x 16 tokens.
inline void tile_sums(const uint8_t* codes, const uint8_t* packed, int64_t b, int64_t steps, int64_t first,
                      int64_t last, int32_t (*out)[16 * 16]) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int64_t step = first; step < last; ++step) {
        const uint8_t* a = codes + step * 32 * kStep;
        _tile_loadd(4, a, 64);
        _tile_loadd(5, a + 16 * kStep, 64);
        _tile_loadd(6, packed + (b * steps + step) * 1024, 64);
        _tile_loadd(7, packed + ((b + 1) * steps + step) * 1024, 64);
        _tile_dpbusd(0, 4, 6);
        _tile_dpbusd(1, 4, 7);
        _tile_dpbusd(2, 5, 6);
        _tile_dpbusd(3, 5, 7);
    }
    _tile_stored(0, out[0], 64);
    _tile_stored(1, out[1], 64);
    _tile_stored(2, out[2], 64);
    _tile_stored(3, out[3], 64);
}

// 0, 16, ..., 240: the offsets of one column of a 16 x 16 int32 (or float) tile.
inline __m512i column_offsets() {
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(16));
}

// Pairs of 16-token blocks (the tiles take 32 tokens at a time).
inline int64_t token_blocks(int64_t tokens) { return (tokens + 31) / 32 * 2; }

// The 16-token blocks a pack of tokens [token_begin, token_end) writes: the last range also
// writes the zero block that completes the last pair.
inline void block_range(const ActivationsI8& x, int64_t token_begin, int64_t token_end, int64_t& first, int64_t& last) {
    first = token_begin / 16;
    last = token_end >= x.rows ? token_blocks(x.rows) : (token_end + 15) / 16;
}

struct I2sShape {
    int64_t code_bytes, chunks, steps;
    explicit I2sShape(int64_t cols) : code_bytes(cols / 4), chunks((cols / 4 + kStep - 1) / kStep), steps(chunks * 4) {}
};

std::size_t i2_s_pack_bytes(int64_t cols, int64_t tokens) {
    return static_cast<std::size_t>(token_blocks(tokens) * I2sShape(cols).steps * 1024);
}

void i2_s_pack(const ActivationsI8& x, int64_t token_begin, int64_t token_end, uint8_t* out) {
    const I2sShape s(x.cols);
    int64_t first, last;
    block_range(x, token_begin, token_end, first, last);
    pack_activations(x, s.code_bytes, s.chunks, s.steps, first, last, out);
}

void i2_s_gemm_packed(const WeightView& w, int64_t row_begin, int64_t row_end, const PackedActivationsI8& p, float* y,
                      int64_t y_stride) {
    const ActivationsI8& x = p.x;
    const I2sShape shape(w.cols);
    const int64_t code_bytes = shape.code_bytes, chunks = shape.chunks, steps = shape.steps;
    const int64_t tokens = x.rows;
    const int64_t token_blocks = amx::token_blocks(tokens);
    float scale;
    __builtin_memcpy(&scale, w.data + w.rows * code_bytes, 4);
    const int32_t* sums = x.sum;
    const uint8_t* packed = p.data;

    Buffer codes(static_cast<std::size_t>(steps * 32 * kStep));  // [step][32 rows][64]
    alignas(64) int32_t out[4][16 * 16];
    configure_tiles();
    for (int64_t r0 = row_begin; r0 < row_end; r0 += 32) {
        const int64_t nr = min64(32, row_end - r0);
        // decode 32 rows' codes, plane by plane (rows past the end stay zero)
        for (int64_t row = 0; row < 32; ++row) {
            for (int64_t c = 0; c < chunks; ++c) {
                __m512i wv = _mm512_setzero_si512();
                if (row < nr) {
                    const int64_t left = code_bytes - c * kStep;
                    const __mmask64 m = left >= 64 ? ~__mmask64{0} : ((__mmask64{1} << left) - 1);
                    wv = _mm512_maskz_loadu_epi8(m, w.data + (r0 + row) * code_bytes + c * kStep);
                }
                for (int l = 0; l < 4; ++l) {
                    _mm512_store_si512(codes.p + ((c * 4 + l) * 32 + row) * kStep, field(wv, 6 - 2 * l));
                }
            }
        }
        for (int64_t b = 0; b < token_blocks; b += 2) {
            tile_sums(codes.p, packed, b, steps, 0, steps, out);
            // Outputs: tile (half_r, half_t) holds rows 16 half_r + i (tile row i) by tokens
            // 16 (b + half_t) + n (column n). Each token's 16 rows are one column, gathered,
            // then written as one contiguous run of y (row by row, writes scattered by the
            // y stride and divided one at a time, took a quarter of the call).
            const __m512i column = column_offsets();
            for (int half_r = 0; half_r < 2; ++half_r) {
                const int64_t rows_here = nr - half_r * 16;
                if (rows_here <= 0) break;
                const __mmask16 keep = rows_here >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << rows_here) - 1);
                for (int half_t = 0; half_t < 2; ++half_t) {
                    const int32_t* c = out[half_r * 2 + half_t];
                    for (int n = 0; n < 16; ++n) {
                        const int64_t t = (b + half_t) * 16 + n;
                        if (t >= tokens) break;
                        const __m512i sums_col = _mm512_i32gather_epi32(_mm512_add_epi32(column, _mm512_set1_epi32(n)), c, 4);
                        // (float)(sum - token sum) / token scale * tensor scale: the reference's steps
                        const __m512 v = _mm512_mul_ps(
                            _mm512_div_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(sums_col, _mm512_set1_epi32(sums[t]))),
                                          _mm512_set1_ps(x.scale[t])),
                            _mm512_set1_ps(scale));
                        _mm512_mask_storeu_ps(y + t * y_stride + (r0 - row_begin) + half_r * 16, keep, v);
                    }
                }
            }
        }
    }
    _tile_release();
}

// TQ2_0 (blocks of 256: 64 code bytes, element 128 (j / 32) + 32 l + j % 32 of byte j in the
// field at shift 2 l, then f16 d; value (code - 1) d): the same tiles, with the integer sums
// taken per block (its 4 steps) and scaled into float accumulators, since each block of each
// row has its own d: acc + d * sum, not a fused multiply-add, as the GEMV computes it.
constexpr int64_t kTq2BlockBytes = 66;

// Packed: the tiles, then each token's activation sum per block (the codes' offset of 1),
// [block][token], tokens padded to pairs of 16.
inline std::size_t tq2_0_tiles_bytes(int64_t cols, int64_t tokens) {
    return static_cast<std::size_t>(token_blocks(tokens) * (cols / 256) * 4 * 1024);
}

std::size_t tq2_0_pack_bytes(int64_t cols, int64_t tokens) {
    return tq2_0_tiles_bytes(cols, tokens) + static_cast<std::size_t>((cols / 256) * token_blocks(tokens) * 16) * 4;
}

void tq2_0_pack(const ActivationsI8& x, int64_t token_begin, int64_t token_end, uint8_t* out) {
    const int64_t blocks = x.cols / 256;
    int64_t first, last;
    block_range(x, token_begin, token_end, first, last);
    pack_activations(x, blocks * 64, blocks, blocks * 4, first, last, out);
    auto* block_sums = reinterpret_cast<int32_t*>(out + tq2_0_tiles_bytes(x.cols, x.rows));
    const int64_t padded = token_blocks(x.rows) * 16;
    for (int64_t t = first * 16; t < last * 16; ++t) {
        for (int64_t b = 0; b < blocks; ++b) {
            int32_t s = 0;
            if (t < x.rows) {
                for (int k = 0; k < 256; ++k) s += x.q[t * x.stride + b * 256 + k];
            }
            block_sums[b * padded + t] = s;
        }
    }
}

void tq2_0_gemm_packed(const WeightView& w, int64_t row_begin, int64_t row_end, const PackedActivationsI8& p, float* y,
                       int64_t y_stride) {
    constexpr int64_t kBlockBytes = kTq2BlockBytes;
    const ActivationsI8& x = p.x;
    const int64_t blocks = w.cols / 256;
    const int64_t steps = blocks * 4;
    const int64_t tokens = x.rows;
    const int64_t token_blocks = amx::token_blocks(tokens);
    const uint8_t* packed = p.data;
    const auto* block_sums = reinterpret_cast<const int32_t*>(p.data + tq2_0_tiles_bytes(w.cols, tokens));

    Buffer codes(static_cast<std::size_t>(steps * 32 * kStep));  // [step][32 rows][64]
    alignas(64) float scales[32];                                // d of each row, this block
    alignas(64) int32_t out[4][16 * 16];
    alignas(64) float acc[32 * 32];  // [row][token of the pair], the pair's float sums
    // a column of acc (32 floats per row): 0, 32, ..., 480
    const __m512i acc_column = _mm512_mullo_epi32(column_offsets(), _mm512_set1_epi32(2));
    configure_tiles();
    for (int64_t r0 = row_begin; r0 < row_end; r0 += 32) {
        const int64_t nr = min64(32, row_end - r0);
        for (int64_t row = 0; row < 32; ++row) {
            for (int64_t c = 0; c < blocks; ++c) {
                const __m512i wv = row < nr ? _mm512_loadu_si512(w.data + ((r0 + row) * blocks + c) * kBlockBytes)
                                            : _mm512_setzero_si512();
                for (int l = 0; l < 4; ++l) {
                    _mm512_store_si512(codes.p + ((c * 4 + l) * 32 + row) * kStep, field(wv, 2 * l));
                }
            }
        }
        for (int64_t b = 0; b < token_blocks; b += 2) {
            for (int i = 0; i < 32 * 32; i += 16) _mm512_store_ps(acc + i, _mm512_setzero_ps());
            for (int64_t blk = 0; blk < blocks; ++blk) {
                tile_sums(codes.p, packed, b, steps, blk * 4, blk * 4 + 4, out);
                for (int64_t row = 0; row < nr; ++row) {
                    uint16_t h;
                    __builtin_memcpy(&h, w.data + ((r0 + row) * blocks + blk) * kBlockBytes + 64, 2);
                    scales[row] = _cvtsh_ss(h);
                }
                // acc[row][token] += d[row] * (sum - block sum of the token)
                const int32_t* bs = block_sums + blk * token_blocks * 16 + b * 16;
                for (int half_t = 0; half_t < 2; ++half_t) {
                    const __m512i token_sums = _mm512_loadu_si512(bs + half_t * 16);
                    for (int half_r = 0; half_r < 2; ++half_r) {
                        const int32_t* c = out[half_r * 2 + half_t];
                        for (int i = 0; i < 16; ++i) {
                            const int64_t row = half_r * 16 + i;
                            if (row >= nr) break;
                            float* dst = acc + row * 32 + half_t * 16;
                            const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512(c + i * 16), token_sums));
                            _mm512_store_ps(dst, _mm512_add_ps(_mm512_load_ps(dst), _mm512_mul_ps(_mm512_set1_ps(scales[row]), v)));
                        }
                    }
                }
            }
            // y[token][row] = acc[row][token] / token scale: one gathered column per token
            for (int half_r = 0; half_r < 2; ++half_r) {
                const int64_t rows_here = nr - half_r * 16;
                if (rows_here <= 0) break;
                const __mmask16 keep = rows_here >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << rows_here) - 1);
                for (int n = 0; n < 32; ++n) {
                    const int64_t t = b * 16 + n;
                    if (t >= tokens) break;
                    const __m512i idx = _mm512_add_epi32(acc_column, _mm512_set1_epi32(half_r * 16 * 32 + n));
                    const __m512 v = _mm512_div_ps(_mm512_i32gather_ps(idx, acc, 4), _mm512_set1_ps(x.scale[t]));
                    _mm512_mask_storeu_ps(y + t * y_stride + (r0 - row_begin) + half_r * 16, keep, v);
                }
            }
        }
    }
    _tile_release();
}

template <PackBytesFn Bytes, PackI8Fn Pack, GemmPackedFn Product>
void gemm_via_pack(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationsI8& x, float* y,
                   int64_t y_stride) {
    Buffer packed(Bytes(x.cols, x.rows));
    Pack(x, 0, x.rows, packed.p);
    Product(w, row_begin, row_end, PackedActivationsI8{x, packed.p}, y, y_stride);
}

constexpr Kernels tiles(GemmI8Fn gemm, PackBytesFn bytes, PackI8Fn pack, GemmPackedFn product) {
    Kernels k;
    k.gemm_i8 = gemm;
    k.pack_bytes = bytes;
    k.pack = pack;
    k.gemm_packed = product;
    k.packed_min_tokens = 16;
    return k;
}

constexpr TypeKernels kTypes[] = {
    {TypeId::I2_S, tiles(&gemm_via_pack<&i2_s_pack_bytes, &i2_s_pack, &i2_s_gemm_packed>, &i2_s_pack_bytes, &i2_s_pack,
                         &i2_s_gemm_packed)},
    {TypeId::TQ2_0, tiles(&gemm_via_pack<&tq2_0_pack_bytes, &tq2_0_pack, &tq2_0_gemm_packed>, &tq2_0_pack_bytes,
                          &tq2_0_pack, &tq2_0_gemm_packed)},
};

}  // namespace
}  // namespace lowbit::kernels::amx

namespace lowbit::kernels {
extern const LevelTable kAmxTable;
const LevelTable kAmxTable = {amx::kTypes, sizeof(amx::kTypes) / sizeof(amx::kTypes[0]), CoreKernels{}};
}  // namespace lowbit::kernels

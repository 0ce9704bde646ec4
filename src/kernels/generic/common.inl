// Helpers shared by the generic kernels. Included once per ISA level, inside that level's
// namespace, after its simd.hpp: everything here is compiled for that level only.

// Rules for code compiled per ISA level: no std:: templates or inline library functions
// (their out-of-line copies would be emitted with this level's instructions and could be picked
// by the linker for code that runs on any CPU); builtins and this level's own helpers only.
// tests/kernels/odr_check.sh enforces it on the object files.

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// The order a GEMV reads its rows from memory: a run of rows is split into four quarters read in
// step, row i of each quarter together, so that a core follows four sequential streams in
// different pages. Measured here, it reads memory faster that way than with four short rows side
// by side (with a software prefetch) or one row after another: the 2B4T decode ran 18-25% faster
// (docs/BENCHMARKS.md). A quarter holds up to kGemvStreamBytes, so the streams stay close.
// four(first, step) takes rows first + k * step (k = 0..3); one(row) takes a row left over at the
// end of a run.
template <class Four, class One>
inline void for_rows_as_four_streams(int64_t begin, int64_t end, int64_t row_bytes, Four&& four, One&& one) {
    const int64_t per_stream = row_bytes >= kGemvStreamBytes ? 1 : kGemvStreamBytes / row_bytes;
    for (int64_t run = begin; run < end;) {
        const int64_t run_end = min64(run + 4 * per_stream, end);
        const int64_t quarter = (run_end - run) / 4;
        for (int64_t i = 0; i < quarter; ++i) four(run + i, quarter);
        for (int64_t r = run + 4 * quarter; r < run_end; ++r) one(r);
        run = run_end;
    }
}

// The same order one row at a time (kernels that gain nothing from rows in step).
template <class One>
inline void for_rows_as_four_streams(int64_t begin, int64_t end, int64_t row_bytes, One&& one) {
    for_rows_as_four_streams(
        begin, end, row_bytes,
        [&](int64_t first, int64_t step) {
            for (int k = 0; k < 4; ++k) one(first + k * step);
        },
        one);
}

// Working memory for one kernel call: on the stack when small, else on the heap.
class Scratch {
public:
    explicit Scratch(std::size_t bytes) : bytes_(bytes) {
        if (bytes > sizeof local_) {
            heap_ = static_cast<int8_t*>(aligned_alloc(64, (bytes + 63) / 64 * 64));
            if (heap_ == nullptr) kernel_out_of_memory(bytes);
        }
    }
    ~Scratch() { free(heap_); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    int8_t* data() { return heap_ != nullptr ? heap_ : local_; }
    std::size_t size() const { return bytes_; }

private:
    alignas(64) int8_t local_[16384];
    int8_t* heap_ = nullptr;
    std::size_t bytes_;
};

inline int64_t chunks_of(int64_t bytes) { return (bytes + simd::kW - 1) / simd::kW; }

inline int32_t sum_i8(const int8_t* q, int64_t n) {
    int32_t s = 0;
    for (int64_t i = 0; i < n; ++i) s += q[i];
    return s;
}

inline float load_f16_scale(const uint8_t* p) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    return simd::f16_scalar_f(h);
}
inline float load_f32_scale(const uint8_t* p) {
    float v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

// A weight vector of kW code bytes at p, or the first `n` of them (rest zero) at a row's end.
inline simd::B load_codes(const uint8_t* p, int64_t n) {
    return n >= simd::kW ? simd::load_b(p) : simd::load_b_partial(p, static_cast<int>(n));
}

// out[k] = (float)v[k] * d, the scalar reference's arithmetic.
inline void i8_to_f32_scaled(const int8_t* v, int64_t n, float d, float* out) {
    using namespace simd;
    const int64_t full = n / kF * kF;
    for (int64_t k = 0; k < full; k += kF) {
        store_f(out + k, scaled_f(load_s8_as_i32(reinterpret_cast<const uint8_t*>(v + k)), d));
    }
    for (int64_t k = full; k < n; ++k) out[k] = static_cast<float>(v[k]) * d;
}

// gemv_i8 and gemm_i8 of a kernel family that packs its activations: pack into scratch, then
// the family's product (so that the three give the same bits for a token).
template <PackBytesFn Bytes, PackI8Fn Pack, GemmPackedFn Product>
void gemm_via_pack(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationsI8& x, float* y,
                   int64_t y_stride) {
    Scratch scratch(Bytes(x.cols, x.rows));
    auto* packed = reinterpret_cast<uint8_t*>(scratch.data());
    Pack(x, 0, x.rows, packed);
    Product(w, row_begin, row_end, PackedActivationsI8{x, packed}, y, y_stride);
}

template <PackBytesFn Bytes, PackI8Fn Pack, GemmPackedFn Product>
void gemv_via_pack(const WeightView& w, int64_t row_begin, int64_t row_end, const ActivationRowI8& x, float* y) {
    const ActivationsI8 one{x.q, 1, x.n, x.n, &x.scale, &x.sum};
    gemm_via_pack<Bytes, Pack, Product>(w, row_begin, row_end, one, y, row_end - row_begin);
}

// name_gemv and name_gemm from name_pack_bytes, name_pack and name_gemm_packed.
#define LOWBIT_PACKED_ENTRY_POINTS(name)                                                                       \
    void name##_gemv(const WeightView& w, int64_t r0, int64_t r1, const ActivationRowI8& x, float* y) {          \
        gemv_via_pack<&name##_pack_bytes, &name##_pack, &name##_gemm_packed>(w, r0, r1, x, y);                   \
    }                                                                                                           \
    void name##_gemm(const WeightView& w, int64_t r0, int64_t r1, const ActivationsI8& x, float* y, int64_t s) { \
        gemm_via_pack<&name##_pack_bytes, &name##_pack, &name##_gemm_packed>(w, r0, r1, x, y, s);                \
    }

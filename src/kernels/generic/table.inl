// The level's table: constant data (function addresses), so installing it runs no code of
// this level. Included at the end of each level's kernels.cpp.

namespace lowbit::kernels {

namespace LOWBIT_LEVEL_NS {
namespace {

constexpr Kernels make_kernels(QuantizeFn quantize, DequantizeFn dequantize, GemvI8Fn gemv, GemmI8Fn gemm) {
    Kernels k;
    k.quantize = quantize;
    k.dequantize = dequantize;
    k.gemv_i8 = gemv;
    k.gemm_i8 = gemm;
    return k;
}

constexpr Kernels with_f32(Kernels k, GemvF32Fn gemv, GemmF32Fn gemm) {
    k.gemv_f32 = gemv;
    k.gemm_f32 = gemm;
    return k;
}

constexpr Kernels with_packed(Kernels k, PackBytesFn bytes, PackI8Fn pack, GemmPackedFn product) {
    k.pack_bytes = bytes;
    k.pack = pack;
    k.gemm_packed = product;
    return k;
}

constexpr Kernels with_quantize(Kernels k, QuantizeFn q, QuantizeHalfFn f16 = nullptr, QuantizeHalfFn bf16 = nullptr) {
    k.quantize = q;
    k.quantize_f16 = f16;
    k.quantize_bf16 = bf16;
    return k;
}

// The products of a format that packs its activations, and its f32 products through its
// dequantizer.
#define LOWBIT_PACKED_ROW(name)                                                                        \
    with_f32(with_packed(make_kernels(nullptr, &name##_dequantize, &name##_gemv, &name##_gemm),        \
                         &name##_pack_bytes, &name##_pack, &name##_gemm_packed),                       \
             &gemv_f32_via<&name##_dequantize>, &gemm_f32_via<&name##_dequantize>)
#define LOWBIT_FLOAT_ROW(name) \
    with_f32(make_kernels(nullptr, &name##_dequantize, &name##_gemv, &name##_gemm), &name##_gemv_f32, &name##_gemm_f32)

constexpr TypeKernels kTypes[] = {
    {TypeId::F32, LOWBIT_FLOAT_ROW(f32)},
    {TypeId::F16, LOWBIT_FLOAT_ROW(f16)},
    {TypeId::BF16, LOWBIT_FLOAT_ROW(bf16)},
    {TypeId::I2_S, LOWBIT_PACKED_ROW(i2_s)},
    {TypeId::TQ2_0, LOWBIT_PACKED_ROW(tq2_0)},
    {TypeId::TQ1_0, LOWBIT_PACKED_ROW(tq1_0)},
    {TypeId::QK256, LOWBIT_PACKED_ROW(qk256)},
    {TypeId::I2S32, LOWBIT_PACKED_ROW(i2s32)},
    {TypeId::TL1, LOWBIT_PACKED_ROW(tl1)},
    {TypeId::TL2, LOWBIT_PACKED_ROW(tl2)},
    {TypeId::Q8_0, with_quantize(LOWBIT_PACKED_ROW(q8_0), &q8_0_quantize)},
    {TypeId::Q4_0, with_quantize(LOWBIT_PACKED_ROW(q4_0), &q4_0_quantize)},
    {TypeId::Q4_1, LOWBIT_PACKED_ROW(q4_1)},
    {TypeId::Q6_K, LOWBIT_PACKED_ROW(q6_k)},
#define LOWBIT_INT_ROW(name, bits, asym, group) \
    {int_group_type_id(bits, asym, group),       \
     with_quantize(LOWBIT_PACKED_ROW(name), &name##_quantize, &name##_quantize_f16, &name##_quantize_bf16)},
    LOWBIT_FOR_EACH_INT_TYPE(LOWBIT_INT_ROW)
#undef LOWBIT_INT_ROW
};

#undef LOWBIT_PACKED_ROW
#undef LOWBIT_FLOAT_ROW

}  // namespace
}  // namespace LOWBIT_LEVEL_NS

extern const LevelTable LOWBIT_TABLE_NAME;
const LevelTable LOWBIT_TABLE_NAME = {
    LOWBIT_LEVEL_NS::kTypes,
    sizeof(LOWBIT_LEVEL_NS::kTypes) / sizeof(LOWBIT_LEVEL_NS::kTypes[0]),
    CoreKernels{&LOWBIT_LEVEL_NS::quantize_activation_row, &LOWBIT_LEVEL_NS::abs_partial_sums,
                &LOWBIT_LEVEL_NS::ternarize, &LOWBIT_LEVEL_NS::dot_f32, &LOWBIT_LEVEL_NS::dot_f16_f32,
                &LOWBIT_LEVEL_NS::axpy_f16_f32, &LOWBIT_LEVEL_NS::f32_to_f16_row,
                &LOWBIT_LEVEL_NS::relu_sq_mul_f32, &LOWBIT_LEVEL_NS::dot_f16_f32_rows,
                &LOWBIT_LEVEL_NS::axpy_f16_f32_rows},
};

}  // namespace lowbit::kernels

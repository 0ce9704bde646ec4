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

constexpr Kernels with_f32(Kernels k, GemvF32Fn f) {
    k.gemv_f32 = f;
    return k;
}

constexpr Kernels with_quantize(Kernels k, QuantizeFn q, QuantizeHalfFn f16 = nullptr, QuantizeHalfFn bf16 = nullptr) {
    k.quantize = q;
    k.quantize_f16 = f16;
    k.quantize_bf16 = bf16;
    return k;
}

constexpr TypeKernels kTypes[] = {
    {TypeId::F32, with_f32(make_kernels(nullptr, &f32_dequantize, &f32_gemv, &f32_gemm), &f32_gemv_f32)},
    {TypeId::F16, with_f32(make_kernels(nullptr, &f16_dequantize, &f16_gemv, &f16_gemm), &f16_gemv_f32)},
    {TypeId::BF16, with_f32(make_kernels(nullptr, &bf16_dequantize, &bf16_gemv, &bf16_gemm), &bf16_gemv_f32)},
    {TypeId::I2_S, with_f32(make_kernels(nullptr, &i2_s_dequantize, &i2_s_gemv, &i2_s_gemm), &gemv_f32_via<&i2_s_dequantize>)},
    {TypeId::TQ2_0, with_f32(make_kernels(nullptr, &tq2_0_dequantize, &tq2_0_gemv, &tq2_0_gemm), &gemv_f32_via<&tq2_0_dequantize>)},
    {TypeId::TQ1_0, with_f32(make_kernels(nullptr, &tq1_0_dequantize, &tq1_0_gemv, &tq1_0_gemm), &gemv_f32_via<&tq1_0_dequantize>)},
    {TypeId::QK256, with_f32(make_kernels(nullptr, &qk256_dequantize, &qk256_gemv, &qk256_gemm), &gemv_f32_via<&qk256_dequantize>)},
    {TypeId::I2S32, with_f32(make_kernels(nullptr, &i2s32_dequantize, &i2s32_gemv, &i2s32_gemm), &gemv_f32_via<&i2s32_dequantize>)},
    {TypeId::TL1, with_f32(make_kernels(nullptr, &tl1_dequantize, &tl1_gemv, &tl1_gemm), &gemv_f32_via<&tl1_dequantize>)},
    {TypeId::TL2, with_f32(make_kernels(nullptr, &tl2_dequantize, &tl2_gemv, &tl2_gemm), &gemv_f32_via<&tl2_dequantize>)},
    {TypeId::Q8_0, with_f32(with_quantize(make_kernels(nullptr, &q8_0_dequantize, &q8_0_gemv, &q8_0_gemm), &q8_0_quantize),
                            &gemv_f32_via<&q8_0_dequantize>)},
    {TypeId::Q4_0, with_f32(with_quantize(make_kernels(nullptr, &q4_0_dequantize, &q4_0_gemv, &q4_0_gemm), &q4_0_quantize),
                            &gemv_f32_via<&q4_0_dequantize>)},
    {TypeId::Q4_1, with_f32(make_kernels(nullptr, &q4_1_dequantize, &q4_1_gemv, &q4_1_gemm), &gemv_f32_via<&q4_1_dequantize>)},
    {TypeId::Q6_K, with_f32(make_kernels(nullptr, &q6_k_dequantize, &q6_k_gemv, &q6_k_gemm), &gemv_f32_via<&q6_k_dequantize>)},
#define LOWBIT_INT_ROW(name, bits, asym, group) \
    {int_group_type_id(bits, asym, group),                                                                 \
     with_f32(with_quantize(make_kernels(nullptr, &name##_dequantize, &name##_gemv, &name##_gemm),                \
                            &name##_quantize, &name##_quantize_f16, &name##_quantize_bf16),                       \
              &gemv_f32_via<&name##_dequantize>)},
    LOWBIT_FOR_EACH_INT_TYPE(LOWBIT_INT_ROW)
#undef LOWBIT_INT_ROW
};

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

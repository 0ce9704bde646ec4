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

constexpr TypeKernels kTypes[] = {
    {TypeId::I2_S, make_kernels(nullptr, &i2_s_dequantize, &i2_s_gemv, &i2_s_gemm)},
    {TypeId::TQ2_0, make_kernels(nullptr, &tq2_0_dequantize, &tq2_0_gemv, &tq2_0_gemm)},
    {TypeId::TQ1_0, make_kernels(nullptr, &tq1_0_dequantize, &tq1_0_gemv, &tq1_0_gemm)},
    {TypeId::QK256, make_kernels(nullptr, &qk256_dequantize, &qk256_gemv, &qk256_gemm)},
    {TypeId::I2S32, make_kernels(nullptr, &i2s32_dequantize, &i2s32_gemv, &i2s32_gemm)},
    {TypeId::TL1, make_kernels(nullptr, &tl1_dequantize, &tl1_gemv, &tl1_gemm)},
    {TypeId::TL2, make_kernels(nullptr, &tl2_dequantize, &tl2_gemv, &tl2_gemm)},
};

}  // namespace
}  // namespace LOWBIT_LEVEL_NS

extern const LevelTable LOWBIT_TABLE_NAME;
const LevelTable LOWBIT_TABLE_NAME = {
    LOWBIT_LEVEL_NS::kTypes,
    sizeof(LOWBIT_LEVEL_NS::kTypes) / sizeof(LOWBIT_LEVEL_NS::kTypes[0]),
    CoreKernels{&LOWBIT_LEVEL_NS::quantize_activation_row, &LOWBIT_LEVEL_NS::abs_partial_sums,
                &LOWBIT_LEVEL_NS::ternarize},
};

}  // namespace lowbit::kernels

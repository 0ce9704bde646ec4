# The array API against the NumPy reference encoders in reference.py.
import gc
import sys
import weakref

import numpy as np
import pytest

import lowbit
import reference


def weights(rows, cols, seed=0):
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)
    w[0, :64] = 0.0125  # a constant group
    w[1, :64] = 0.0  # a zero group
    w[2, 5] = 1.5  # an outlier
    return w


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("group", [32, 64, 128, 256])
@pytest.mark.parametrize("symmetric", [True, False])
def test_int_group_bytes_equal_the_numpy_reference(bits, group, symmetric):
    w = weights(48, 600)  # 600: a short last group
    qt = lowbit.quantize(w, f"int{bits}", group_size=group, symmetric=symmetric)
    want = reference.int_group(w, bits, group, asymmetric=not symmetric)
    assert qt.type == f"INT{bits}_{'SYM' if symmetric else 'ASYM'}_G{group}"
    assert qt.nbytes == want.size
    np.testing.assert_array_equal(qt.data, want)
    back = reference.int_group_dequantize(want, 48, 600, bits, group, not symmetric)
    np.testing.assert_array_equal(lowbit.dequantize(qt), back)
    assert qt.cosine == pytest.approx(lowbit.cosine_similarity(w, back), abs=1e-9)


def test_int_group_part_views():
    w = weights(16, 256)
    qt = lowbit.quantize(w, "int4", group_size=64)  # asymmetric by default
    assert qt.codes.shape == (16, 128) and qt.codes.dtype == np.uint8
    assert qt.scales.shape == (16, 4) and qt.scales.dtype == np.float16
    assert qt.zeros.shape == (16, 4) and qt.zeros.dtype == np.uint8
    lo = (qt.codes & 15).astype(np.int32)
    hi = (qt.codes >> 4).astype(np.int32)
    q = np.stack([lo, hi], axis=2).reshape(16, 256)
    g = np.arange(256) // 64
    manual = (q - qt.zeros[:, g].astype(np.int32)) * qt.scales[:, g].astype(np.float32)
    np.testing.assert_array_equal(manual.astype(np.float32), qt.dequantize())
    sym8 = lowbit.quantize(w, "int8", symmetric=True)
    assert sym8.codes.dtype == np.int8 and sym8.codes.shape == (16, 256) and sym8.zeros is None


@pytest.mark.parametrize("name,encode", [("Q8_0", reference.q8_0), ("Q4_0", reference.q4_0)])
def test_ggml_types_equal_the_numpy_reference(name, encode):
    w = weights(40, 512, seed=3)
    qt = lowbit.quantize(w, name)
    np.testing.assert_array_equal(qt.data, encode(w))
    assert qt.scales.shape == (40, 16)
    if name == "Q8_0":
        deq = qt.codes.astype(np.float32) * qt.scales.astype(np.float32)[:, :, None]
    else:
        q = np.concatenate([qt.codes & 15, qt.codes >> 4], axis=2).astype(np.int32) - 8
        deq = q * qt.scales.astype(np.float32)[:, :, None]
    np.testing.assert_array_equal(deq.reshape(40, 512).astype(np.float32), lowbit.dequantize(qt))


def test_half_inputs_equal_their_float32_values():
    w = weights(32, 256)
    f16 = w.astype(np.float16)
    a = lowbit.quantize(f16, "int4")
    b = lowbit.quantize(f16.astype(np.float32), "int4")
    np.testing.assert_array_equal(a.data, b.data)
    bf16_bits = (w.view(np.uint32) >> 16).astype(np.uint16)  # truncated bfloat16
    bf16_values = (bf16_bits.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(lowbit.quantize(bf16_bits, "Q8_0").data,
                                  lowbit.quantize(bf16_values, "Q8_0").data)


def test_every_weight_type_round_trips():
    w = weights(64, 1024, seed=5)
    for f in lowbit.formats():
        qt = lowbit.quantize(w, f["name"])
        assert qt.shape == (64, 1024)
        assert qt.bits_per_weight >= f["bits"] - 1e-9
        deq = qt.dequantize()
        assert deq.shape == w.shape
        assert lowbit.cosine_similarity(w, deq) == pytest.approx(qt.cosine, abs=1e-6)
        assert qt.cosine > (0.5 if f["ternary"] else 0.6), f["name"]


def int8_product_reference(qt, x):
    """W x with x quantized as the engine does: dequantized W times the int8 codes / scale."""
    q, scale = reference.activation_int8(x)
    return qt.dequantize().astype(np.float64) @ (q.astype(np.float64) / np.float64(scale))


@pytest.mark.parametrize("name", ["int4", "int8", "Q4_0", "Q8_0", "I2_S", "TQ2_0"])
def test_gemv_and_matmul(name):
    rng = np.random.default_rng(1)
    w = weights(96, 512, seed=2)
    qt = lowbit.quantize(w, name)
    x = rng.standard_normal(512).astype(np.float32)
    y = lowbit.gemv(qt, x)
    np.testing.assert_allclose(y, int8_product_reference(qt, x), rtol=2e-4, atol=2e-4)
    np.testing.assert_array_equal(qt @ x, y)
    yf = lowbit.gemv(qt, x, activations="f32")
    np.testing.assert_allclose(yf, qt.dequantize().astype(np.float64) @ x, rtol=2e-4, atol=2e-4)
    X = rng.standard_normal((5, 512)).astype(np.float32)
    Y = lowbit.matmul(qt, X)
    assert Y.shape == (5, 96)
    for t in range(5):  # a token's result does not depend on the batch
        np.testing.assert_array_equal(Y[t], lowbit.gemv(qt, X[t]))
    np.testing.assert_allclose(lowbit.matmul(qt, X, activations="f32"), X @ qt.dequantize().T, rtol=2e-4, atol=2e-4)


def test_metrics_against_numpy():
    rng = np.random.default_rng(7)
    a = rng.standard_normal(10000).astype(np.float32)
    b = a + 0.1 * rng.standard_normal(10000).astype(np.float32)
    m = lowbit.metrics(a, b)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert m["cosine"] == pytest.approx(a64 @ b64 / np.linalg.norm(a64) / np.linalg.norm(b64), rel=1e-12)
    assert m["mse"] == pytest.approx(np.mean((a64 - b64) ** 2), rel=1e-12)
    assert m["max_abs_error"] == pytest.approx(np.abs(a64 - b64).max(), rel=1e-7)
    assert m["snr_db"] == pytest.approx(10 * np.log10((a64 ** 2).sum() / ((a64 - b64) ** 2).sum()), rel=1e-9)


def test_views_keep_the_tensor_alive_and_are_read_only():
    w = weights(32, 256)
    qt = lowbit.quantize(w, "int4")
    expected = bytes(qt.data)
    ref = weakref.ref(qt)
    data, scales = qt.data, qt.scales
    before = sys.getrefcount(qt)
    codes = qt.codes
    assert sys.getrefcount(qt) == before + 1  # the view holds one reference
    del qt
    gc.collect()
    assert ref() is not None
    assert bytes(data) == expected and scales.shape == (32, 2)
    with pytest.raises(ValueError):
        data[0] = 1
    del data, scales, codes
    gc.collect()
    assert ref() is None


def test_inputs_are_read_in_place():
    w = weights(32, 256)
    before = sys.getrefcount(w)
    lowbit.quantize(w, "int8")
    assert sys.getrefcount(w) == before  # no reference kept after the call
    ro = w.copy()
    ro.setflags(write=False)
    np.testing.assert_array_equal(lowbit.quantize(ro, "int8").data, lowbit.quantize(w, "int8").data)
    # a memoryview (buffer protocol) is viewed, not copied
    np.testing.assert_array_equal(lowbit.quantize(memoryview(w), "int8").data, lowbit.quantize(w, "int8").data)


def test_bad_arrays_are_refused_with_their_shape_and_strides():
    w = weights(32, 256)
    with pytest.raises(TypeError, match=r"array: dtype float64 .*copy=True"):
        lowbit.quantize(w.astype(np.float64))
    assert lowbit.quantize(w.astype(np.float64), copy=True).type == "INT4_ASYM_G128"
    with pytest.raises(ValueError, match=r"array: the array is not C-contiguous \(shape \(32, 128\), strides \(1024, 8\)"):
        lowbit.quantize(w[:, ::2])
    assert lowbit.quantize(w[:, ::2], copy=True).shape == (32, 128)
    with pytest.raises(ValueError, match=r"array: expected a 1-D or 2-D array, got shape \(2, 16, 256\)"):
        lowbit.quantize(w.reshape(2, 16, 256))
    with pytest.raises(TypeError, match="x: dtype int32"):
        lowbit.gemv(lowbit.quantize(w), np.ones(256, np.int32))
    with pytest.raises(ValueError, match="x: 100 values per row, but the INT4_ASYM_G128 tensor has 256 columns"):
        lowbit.gemv(lowbit.quantize(w), np.ones(100, np.float32))
    with pytest.raises(ValueError, match="expected a 1-D array"):
        lowbit.gemv(lowbit.quantize(w), np.ones((2, 256), np.float32))
    with pytest.raises(TypeError):
        lowbit.quantize("not an array")


def test_bad_arguments_name_the_argument():
    w = weights(32, 256)
    with pytest.raises(ValueError, match="type: unknown weight type 'Q5_9'"):
        lowbit.quantize(w, "Q5_9")
    with pytest.raises(ValueError, match="group_size: 48 is not 32, 64, 128 or 256"):
        lowbit.quantize(w, "int4", group_size=48)
    with pytest.raises(ValueError, match="group_size: only for type="):
        lowbit.quantize(w, "Q8_0", group_size=32)
    with pytest.raises(ValueError, match="nan: 'skip'"):
        lowbit.quantize(w, nan="skip")
    with pytest.raises(ValueError, match="activations: 'int4'"):
        lowbit.gemv(lowbit.quantize(w), w[0], activations="int4")
    with pytest.raises(ValueError, match="unknown ISA level 'sse9'"):
        lowbit.set_isa("sse9")
    with pytest.raises(ValueError, match="n: 0 is not in 1..1024"):
        lowbit.set_threads(0)


def test_format_errors_carry_the_cpp_message():
    w = weights(8, 256)
    w[3, 7] = np.nan
    with pytest.raises(lowbit.FormatError, match=r"array.*(NaN|non-finite)") as e:
        lowbit.quantize(w, "int4")
    assert isinstance(e.value, ValueError) and isinstance(e.value, lowbit.Error)
    zeroed = lowbit.quantize(w, "int4", nan="zero")
    assert zeroed.dequantize()[3, 7] == 0
    with pytest.raises(lowbit.FormatError, match="Q4_0"):
        lowbit.quantize(weights(8, 100), "Q4_0")  # not a multiple of 32 columns


def test_isa_levels_give_the_same_bytes_and_products():
    w = weights(64, 512)
    x = np.random.default_rng(3).standard_normal(512).astype(np.float32)
    level = lowbit.isa()
    try:
        results = {}
        for name in lowbit.isas():
            lowbit.set_isa(name)
            qt = lowbit.quantize(w, "I2_S")
            results[name] = (bytes(qt.data), lowbit.gemv(qt, x))
        first = results["scalar"]
        for name, (data, y) in results.items():
            assert data == first[0], name
            np.testing.assert_array_equal(y, first[1], err_msg=name)
    finally:
        lowbit.set_isa(level)


def test_views_beyond_two_gigabytes():
    # a 4 GiB view of one row (stride 0) is refused by its layout, not read
    row = np.ones(16384, np.float32)
    huge = np.lib.stride_tricks.as_strided(row, shape=(65536, 16384), strides=(0, 4))
    with pytest.raises(ValueError, match=r"not C-contiguous \(shape \(65536, 16384\), strides \(0, 4\)"):
        lowbit.quantize(huge)
    # a real array of more than 2^31 bytes is quantized whole (zeros: pages the kernel maps lazily)
    big = np.zeros((32768 + 256, 32768), np.float16)
    assert big.nbytes > 2 ** 31
    big[-1, -32:] = 1.0  # past the 2^31-byte mark
    qt = lowbit.quantize(big, "int8", symmetric=True)
    assert qt.nbytes > 2 ** 30
    assert qt.codes[-1, -1] == 127 and qt.codes[-1, -33] == 0 and qt.codes[0, 0] == 0

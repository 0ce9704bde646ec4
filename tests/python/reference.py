# NumPy implementations of lowbit's INTn and ggml's Q8_0 / Q4_0 encodings, written from the
# specs (docs/FORMATS.md; ggml-quants.c's quantize_row_q8_0_ref / quantize_row_q4_0_ref), used
# as the independent reference of the Python API and by bench/python_vs_numpy.py.
import numpy as np


def rne(x):
    return np.rint(x)  # NumPy rounds half to even


def int_group(w, bits, group, asymmetric):
    """INTn bytes of a 2-D float32 array: codes per row (LSB-first), f16 scales, u8 zeros."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    groups = -(-cols // group)
    padded = np.zeros((rows, groups * group), np.float32)
    padded[:, :cols] = w
    g = padded.reshape(rows, groups, group)
    valid = (np.arange(groups * group) < cols).reshape(groups, group)
    big = np.float32(np.inf)
    gmin = np.where(valid, g, big).min(axis=2)
    gmax = np.where(valid, g, -big).max(axis=2)
    qmax = (1 << (bits - 1)) - 1
    levels = (1 << bits) - 1
    if asymmetric:
        lo = np.minimum(gmin, np.float32(0))
        hi = np.maximum(gmax, np.float32(0))
        d = ((hi - lo) / np.float32(levels)).astype(np.float16)
    else:
        d = (np.maximum(np.abs(gmin), np.abs(gmax)) / np.float32(qmax)).astype(np.float16)
    constant = gmin == gmax
    d = np.where(constant, np.abs(gmin).astype(np.float16), d)
    df = d.astype(np.float32)
    safe = np.where(df == 0, np.float32(1), df)
    t = g / safe[:, :, None]
    if asymmetric:
        z = rne(np.clip(-lo / safe, 0, levels)).astype(np.int32)
        q = np.clip(rne(np.clip(t, -2.0 * levels, 2.0 * levels)).astype(np.int32) + z[:, :, None], 0, levels)
        unit = np.where(gmin > 0, 1, 0)
        zc = np.where(gmin < 0, 1, 0)
        q = np.where(constant[:, :, None], unit[:, :, None], q)
        z = np.where(constant, zc, z)
        q = np.where((df == 0)[:, :, None] & ~constant[:, :, None], 0, q)
        z = np.where((df == 0) & ~constant, 0, z)
        constant_zero = constant & ((gmin == 0) | (df == 0))
        q = np.where(constant_zero[:, :, None], 0, q)
    else:
        q = rne(np.clip(t, -qmax - 1, qmax)).astype(np.int32)
        unit = np.where(gmin > 0, 1, -1)
        q = np.where(constant[:, :, None], unit[:, :, None], q)
        q = np.where(((df == 0) | (constant & (gmin == 0)))[:, :, None], 0, q)
        z = None
    fields = (q.reshape(rows, -1)[:, :cols] & levels).astype(np.uint32)
    codes = pack_fields(fields, bits)
    parts = [codes.reshape(-1), d.view(np.uint8).reshape(-1)]
    if asymmetric:
        parts.append(z.astype(np.uint8).reshape(-1))
    return np.concatenate(parts)


def pack_fields(fields, bits):
    """b-bit fields LSB-first, each row starting on a byte."""
    rows, cols = fields.shape
    per_byte = 8 // bits
    padded_cols = -(-cols // per_byte) * per_byte
    f = np.zeros((rows, padded_cols), np.uint32)
    f[:, :cols] = fields
    f = f.reshape(rows, -1, per_byte)
    shifts = (np.arange(per_byte, dtype=np.uint32) * bits)[None, None, :]
    return (f << shifts).sum(axis=2).astype(np.uint8)


def int_group_dequantize(data, rows, cols, bits, group, asymmetric):
    groups = -(-cols // group)
    row_bytes = -(-cols * bits // 8)
    codes = data[: rows * row_bytes].reshape(rows, row_bytes)
    d = data[rows * row_bytes: rows * row_bytes + rows * groups * 2].view(np.float16).reshape(rows, groups)
    per_byte = 8 // bits
    fields = ((codes[:, :, None] >> (np.arange(per_byte) * bits)[None, None, :]) & ((1 << bits) - 1))
    fields = fields.reshape(rows, -1)[:, :cols].astype(np.int32)
    gi = np.arange(cols) // group
    if asymmetric:
        z = data[rows * row_bytes + rows * groups * 2:].reshape(rows, groups).astype(np.int32)
        return ((fields - z[:, gi]) * d.astype(np.float32)[:, gi]).astype(np.float32)
    signed = np.where(fields >= (1 << (bits - 1)), fields - (1 << bits), fields)
    return (signed * d.astype(np.float32)[:, gi]).astype(np.float32)


def q8_0(w):
    """ggml block_q8_0: f16 d = amax / 127, then 32 int8 roundf(x / d)."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    b = w.reshape(rows, cols // 32, 32)
    amax = np.abs(b).max(axis=2)
    d = amax / np.float32(127)
    inv = np.where(d != 0, np.float32(1) / np.where(d == 0, np.float32(1), d), np.float32(0))
    v = b * inv[:, :, None]
    q = (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.int8)  # roundf: half away from zero
    out = np.empty((rows, cols // 32, 34), np.uint8)
    out[:, :, :2] = d.astype(np.float16).view(np.uint8).reshape(rows, cols // 32, 2)
    out[:, :, 2:] = q.view(np.uint8)
    return out.reshape(-1)


def q4_0(w):
    """ggml block_q4_0: d = (the value of largest magnitude) / -8, q = min(15, (int8)(x / d + 8.5))."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    b = w.reshape(rows, cols // 32, 32)
    idx = np.abs(b).argmax(axis=2)
    mx = np.take_along_axis(b, idx[:, :, None], axis=2)[:, :, 0]
    d = mx / np.float32(-8)
    inv = np.where(d != 0, np.float32(1) / np.where(d == 0, np.float32(1), d), np.float32(0))
    q = np.minimum(15, np.trunc(b * inv[:, :, None] + np.float32(8.5)).astype(np.int32)).astype(np.uint8)
    out = np.empty((rows, cols // 32, 18), np.uint8)
    out[:, :, :2] = d.astype(np.float16).view(np.uint8).reshape(rows, cols // 32, 2)
    out[:, :, 2:] = q[:, :, :16] | (q[:, :, 16:] << 4)
    return out.reshape(-1)


def activation_int8(x):
    """bitnet.cpp's per-row int8 activations: scale = 127 / max(1e-5, max|x|), q = rne(x * scale)."""
    amax = max(1e-5, float(np.abs(x.astype(np.float64)).max()))
    scale = np.float32(127.0 / amax)
    q = np.clip(rne(x * scale), -128, 127).astype(np.int8)
    return q, scale


# ---- calibration oracles (docs/QUANTIZE.md, "Calibration") -----------------------------------

def read_safetensors(path):
    """A SafeTensors file as {name: array} and its metadata, read with NumPy from the format's
    definition (8-byte little-endian header length, JSON header, raw little-endian data)."""
    import json
    import struct

    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "I32": np.int32, "F16": np.float16, "U8": np.uint8}
    out = {}
    for name, d in header.items():
        a, b = d["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dtypes[d["dtype"]]).reshape(d["shape"])
    return out, metadata


def im2col(x, kh, kw, padding):
    """[B, C, H, W] -> [B * H' * W', C * kh * kw] patches (stride 1), PyTorch's unfold order."""
    b, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = h + 2 * padding - kh + 1, w + 2 * padding - kw + 1
    cols = np.empty((b, ho, wo, c, kh, kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, :, i, j] = xp[:, :, i:i + ho, j:j + wo].transpose(0, 2, 3, 1)
    return cols.reshape(b * ho * wo, c * kh * kw)


def act_params(lo, hi, bits):
    """Asymmetric activation scale and zero point of a range widened to hold 0."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    qmax = (1 << bits) - 1
    if not hi > lo:
        return np.float32(1), np.float32(0)
    scale = np.float32((np.float32(hi) - np.float32(lo)) / np.float32(qmax))
    zero = np.float32(min(max(np.round(np.float32(-lo) / scale), 0), qmax))
    return scale, zero


def fake_quantize(x, scale, zero, bits):
    q = np.clip(np.round(x / scale) + zero, 0, (1 << bits) - 1)
    return (q - zero) * scale


def split_cost(lo, hi, groups):
    """The summed within-group spread of a split: per layer (rows of lo/hi [layers, T]) and
    timestep, the group's range minus the timestep's own, over the layer's overall range."""
    total = 0.0
    for layer_lo, layer_hi in zip(lo, hi):
        width = float(layer_hi.max()) - float(layer_lo.min())
        if width <= 0:
            continue
        for g in set(groups):
            idx = [t for t in range(len(groups)) if groups[t] == g]
            g_lo, g_hi = float(layer_lo[idx].min()), float(layer_hi[idx].max())
            total += sum((g_hi - g_lo) - (float(layer_hi[t]) - float(layer_lo[t])) for t in idx) / width
    return total


def all_contiguous_splits(steps, groups):
    """Every split of range(steps) into `groups` non-empty contiguous groups, as group lists."""
    import itertools

    for cuts in itertools.combinations(range(1, steps), groups - 1):
        bounds = (0,) + cuts + (steps,)
        yield [g for g in range(groups) for _ in range(bounds[g], bounds[g + 1])]


# ---- GGUF, from the format's specification (ggml's docs/gguf.md) ------------------------------

GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
                12: "<d"}
GGML_BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 8: (32, 34), 30: (1, 2)}  # type: (elements, bytes) per block


def read_gguf(path):
    """A GGUF file's metadata as {key: (gguf type, value)} in file order and its tensors as
    [(name, ne, type, raw bytes)], parsed with struct from the specification: magic, version,
    counts, key-values, tensor infos, the data section at the next multiple of
    general.alignment (32 by default), each tensor's offset relative to it."""
    import struct

    raw = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        (v,) = struct.unpack_from(fmt, raw, pos)
        pos += struct.calcsize(fmt)
        return v

    def string():
        nonlocal pos
        n = take("<Q")
        pos += n
        return raw[pos - n:pos].decode("utf-8")

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            inner, n = take("<I"), take("<Q")
            return [value(inner) for _ in range(n)]
        return take(GGUF_SCALARS[t])

    assert raw[:4] == b"GGUF", path
    pos = 4
    version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    assert version == 3
    metadata = {}
    for _ in range(n_kv):
        key = string()
        t = take("<I")
        metadata[key] = (t, value(t))
    infos = []
    for _ in range(n_tensors):
        name = string()
        ne = [take("<Q") for _ in range(take("<I"))]
        infos.append((name, ne, take("<I"), take("<Q")))
    align = metadata.get("general.alignment", (4, 32))[1]
    data = (pos + align - 1) // align * align
    tensors = []
    for name, ne, t, offset in infos:
        elements, block = GGML_BLOCKS[t]
        size = int(np.prod(ne)) // elements * block
        assert offset % align == 0 and data + offset + size <= len(raw), (path, name)
        tensors.append((name, ne, t, raw[data + offset:data + offset + size]))
    return metadata, tensors

#!/usr/bin/python3
"""A plain NumPy implementation of lowbit's symmetric INTn group quantization (docs/FORMATS.md):
the baseline `lowbit bench quantize --compare-numpy` measures lowbit against, on the same
SafeTensors input, with the same measurement (cosine similarity of each whole tensor).

Per group of G values along a row: d = f16(max|x| / qmax), qmax = 2^(b-1) - 1,
q = clamp(rint(x / d), -qmax - 1, qmax) (round half to even), b-bit two's complement codes
packed LSB-first (INT4: element 2i in the low nibble of byte i); a constant group c stores
d = f16(|c|) and codes of +-1. 1-D tensors are kept. The output is a SafeTensors file laid out
as lowbit's (NAME.qweight, NAME.scales); --check compares it with lowbit's, byte for byte.

    bench/numpy_quantize.py model.safetensors out.safetensors --bits 4 --group-size 128 \
        [--check lowbit-out.safetensors]
"""
import argparse
import json
import struct
import sys
import time

import numpy as np

DTYPES = {"F16": np.float16, "F32": np.float32, "BF16": None, "U8": np.uint8}


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    return header, 8 + n


def tensors(path):
    header, base = read_header(path)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        raw = data[base + begin:base + end]
        yield name, t["dtype"], t["shape"], raw


def quantize(x, bits, group):
    """x: float32 (rows, cols) -> (codes uint8 (rows, ceil(cols*bits/8)), scales f16 (rows, groups), cosine)."""
    rows, cols = x.shape
    qmax = (1 << (bits - 1)) - 1
    groups = -(-cols // group)
    padded = np.zeros((rows, groups * group), dtype=np.float32)
    padded[:, :cols] = x
    g = padded.reshape(rows, groups, group)
    # a short last group: its padding must not count in min/max
    valid = np.ones(groups * group, dtype=bool)
    valid[cols:] = False
    valid = valid.reshape(groups, group)
    lo = np.where(valid, g, np.inf).min(axis=2)
    hi = np.where(valid, g, -np.inf).max(axis=2)
    constant = lo == hi
    amax = np.maximum(np.abs(lo), np.abs(hi))
    d = np.where(constant, np.abs(lo), amax / np.float32(qmax)).astype(np.float16)
    df = d.astype(np.float32)[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.clip(np.rint(g / df), -qmax - 1, qmax)
    q = np.where(df == 0, 0, q)
    unit = np.where(lo > 0, 1, np.where(lo < 0, -1, 0))[:, :, None]
    q = np.where(constant[:, :, None], np.where(df == 0, 0, unit), q).astype(np.int32)
    back = (q.astype(np.float32) * df).reshape(rows, groups * group)[:, :cols]
    dot = float(np.dot(x.ravel().astype(np.float64), back.ravel().astype(np.float64)))
    n1 = float(np.dot(x.ravel().astype(np.float64), x.ravel().astype(np.float64)))
    n2 = float(np.dot(back.ravel().astype(np.float64), back.ravel().astype(np.float64)))
    cosine = dot / np.sqrt(n1 * n2) if n1 > 0 and n2 > 0 else (1.0 if n1 == n2 else 0.0)
    fields = (q.reshape(rows, groups * group)[:, :cols] & ((1 << bits) - 1)).astype(np.uint8)
    per_byte = 8 // bits
    row_bytes = -(-cols * bits // 8)
    fields = np.pad(fields, ((0, 0), (0, row_bytes * per_byte - cols)))
    fields = fields.reshape(rows, row_bytes, per_byte)
    codes = np.zeros((rows, row_bytes), dtype=np.uint8)
    for k in range(per_byte):
        codes |= (fields[:, :, k] << (k * bits)).astype(np.uint8)
    return codes, d[:, :groups], cosine


def write_safetensors(path, items):
    header, offset = {}, 0
    for name, arr, dtype in items:
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, arr, _ in items:
            f.write(np.ascontiguousarray(arr).tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--bits", type=int, choices=[4, 8], default=4)
    ap.add_argument("--group-size", type=int, choices=[32, 64, 128, 256], default=128)
    ap.add_argument("--check", help="lowbit's SafeTensors output of the same input: compare the bytes")
    a = ap.parse_args()

    start = time.perf_counter()
    items, cosines = [], []
    for name, dtype, shape, raw in tensors(a.input):
        if len(shape) != 2 or dtype not in ("F16", "F32"):
            items.append((name, np.asarray(raw), dtype))
            continue
        x = raw.view(DTYPES[dtype]).reshape(shape).astype(np.float32)
        codes, scales, cosine = quantize(x, a.bits, a.group_size)
        cosines.append(cosine)
        items.append((name + ".qweight", codes, "U8"))
        items.append((name + ".scales", scales, "F16"))
    write_safetensors(a.output, items)
    seconds = time.perf_counter() - start
    print(f"numpy_quantize: {len(cosines)} tensors in {seconds:.2f} s, mean cosine {np.mean(cosines):.6f}")
    with open("/proc/self/status") as f:  # this program's own peak (wait4 would add its parent's)
        hwm = [line.split()[1] for line in f if line.startswith("VmHWM:")]
    if hwm:
        print(f"peak_rss_kb {hwm[0]}")

    if a.check:
        theirs = {name: raw for name, _, _, raw in tensors(a.check)}
        ours = {name: raw for name, _, _, raw in tensors(a.output)}
        differ = [n for n in ours if n not in theirs or not np.array_equal(ours[n], theirs[n])]
        print(f"check: {len(ours) - len(differ)} of {len(ours)} tensors byte-identical to lowbit's"
              + (f"; differ: {', '.join(differ[:5])}" if differ else ""))
        if differ:
            sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The Python package's speed (docs/BENCHMARKS.md, "Python package"):

1. lowbit.quantize against the NumPy implementation of the same INT4 / INT8 group method
   (tests/python/reference.py, which the tests check byte for byte against lowbit) on
   768x768, 3072x768 and 12288x3072 float32: median seconds and the peak memory each adds
   above its input, each measured in a fresh process;
2. Model.generate tokens/s against `lowbit bench generate` on the same file and thread count;
3. the per-call time of a 64x64 gemv (int8 activations), against a NumPy float matvec.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/python_vs_numpy.py [--quick] [--json OUT]
"""
import argparse
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHAPES = [(768, 768), (3072, 768), (12288, 3072)]
METHODS = [("INT4", 4, False, 128), ("INT8", 8, True, 128)]  # asymmetric INT4 g128, symmetric INT8 g128

CHILD = r"""
import resource, sys, time, json
import numpy as np
sys.path.insert(0, sys.argv[1])
import lowbit, reference
impl, rows, cols, bits, sym, group, reps = sys.argv[2], *map(int, sys.argv[3:6]), sys.argv[6] == "1", int(sys.argv[7]), int(sys.argv[8])
w = np.random.default_rng(0).standard_normal((rows, cols)).astype(np.float32)
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
base = rss()
times = []
for _ in range(reps):
    start = time.perf_counter()
    if impl == "lowbit":
        out = lowbit.quantize(w, f"int{bits}", group_size=group, symmetric=sym)
    else:
        out = reference.int_group(w, bits, group, asymmetric=not sym)
    times.append(time.perf_counter() - start)
    del out
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"times": times, "extra_peak_bytes": max(0, peak - base), "input_bytes": w.nbytes}))
"""


def quantize_case(impl, rows, cols, bits, sym, group, reps, threads):
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "tests" / "python"), impl, str(rows), str(cols),
                          str(bits), "1" if sym else "0", str(group), str(reps)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def generation(model_path, threads, tokens, reps):
    import lowbit
    cli = ROOT / "build" / "release" / "bin" / "lowbit"
    bench = json.loads(subprocess.run([str(cli), "bench", "generate", "-m", str(model_path), "-t", str(threads),
                                       "-p", "0", "-n", str(tokens), "-r", str(reps), "--json", "--no-bandwidth"],
                                      check=True, capture_output=True, text=True).stdout)
    with lowbit.Model(model_path, threads=threads) as model:
        model.generate("Q:", max_tokens=tokens, ignore_eos=True, temperature=0)  # warm-up
        rates = [model.generate("Q:", max_tokens=tokens, ignore_eos=True, temperature=0, details=True)
                 ["tokens_per_second"] for _ in range(reps)]
    return {"model": str(model_path.relative_to(ROOT)), "threads": threads, "tokens": tokens,
            "python_tokens_per_second": rates, "cli_tokens_per_second": bench["tg"]["tokens_per_second"]}


def tiny_gemv(calls):
    import numpy as np
    import lowbit
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 64)).astype(np.float32)
    qt = lowbit.quantize(w, "int8", symmetric=True)
    x = rng.standard_normal(64).astype(np.float32)
    out = {}
    for name, fn in [("lowbit.gemv", lambda: lowbit.gemv(qt, x)), ("qt @ x", lambda: qt @ x),
                     ("numpy w @ x", lambda: w @ x)]:
        samples = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            samples.append((time.perf_counter() - start) / calls * 1e6)
        out[name] = samples
    return out


def spread(values):
    return f"{statistics.median(values):.3g} ({min(values):.3g}-{max(values):.3g})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, the two smaller shapes")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    import lowbit
    threads = lowbit.threads()
    reps = 3 if args.quick else 5
    shapes = SHAPES[:2] if args.quick else SHAPES
    results = {"isa": lowbit.isa(), "threads": threads, "quantize": [], "generate": [], "gemv_64x64_us": None}
    print(f"lowbit {lowbit.__version__}, isa {lowbit.isa()}, {threads} threads")
    print("\nquantize: median s (min-max) | extra peak memory above the input")
    for label, bits, sym, group in METHODS:
        for rows, cols in shapes:
            numpy_reps = 1 if rows * cols > 10 ** 7 else reps
            ours = quantize_case("lowbit", rows, cols, bits, sym, group, reps, threads)
            theirs = quantize_case("numpy", rows, cols, bits, sym, group, numpy_reps, threads)
            speedup = statistics.median(theirs["times"]) / statistics.median(ours["times"])
            memory = ours["extra_peak_bytes"] / max(theirs["extra_peak_bytes"], 1)
            results["quantize"].append({"method": f"{label} g{group} {'sym' if sym else 'asym'}", "rows": rows,
                                        "cols": cols, "lowbit": ours, "numpy": theirs, "speedup": speedup,
                                        "memory_ratio": memory})
            print(f"  {label} g{group} {rows}x{cols}: lowbit {spread(ours['times'])} s, "
                  f"{ours['extra_peak_bytes'] / 2**20:.1f} MiB | numpy {spread(theirs['times'])} s, "
                  f"{theirs['extra_peak_bytes'] / 2**20:.1f} MiB | {speedup:.1f}x faster, {100 * memory:.1f}% of "
                  f"the memory")
    print("\ngenerate: tokens/s, Python Model.generate vs `lowbit bench generate` (median (min-max))")
    for path in [ROOT / "models" / "tiny-bitnet" / "tiny-bitnet.gguf", ROOT / "models" / "tiny-llama" / "tiny-llama-f16.gguf"]:
        g = generation(path, threads, 64, reps)
        ratio = statistics.median(g["python_tokens_per_second"]) / statistics.median(g["cli_tokens_per_second"])
        g["ratio"] = ratio
        results["generate"].append(g)
        print(f"  {g['model']}: python {spread(g['python_tokens_per_second'])}, cli "
              f"{spread(g['cli_tokens_per_second'])}: {100 * ratio:.1f}%")
    gemv = tiny_gemv(2000 if args.quick else 20000)
    results["gemv_64x64_us"] = gemv
    print("\n64x64 gemv, microseconds per call (median (min-max) of 7 loops):")
    for name, samples in gemv.items():
        print(f"  {name}: {spread(samples)}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

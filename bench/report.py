#!/usr/bin/python3
"""Turns benchmark JSON into a Markdown table and PNG charts; with --baseline, prints the change
against a saved run and flags regressions. Two inputs: Google Benchmark JSON from lowbit's kernel
benchmarks, and `lowbit bench quantize --json` (schema lowbit.bench-quantize/1: charts of time,
throughput, peak memory and thread scaling).

    build/release/bin/lowbit_bench --benchmark_out=run.json --benchmark_out_format=json
    bench/report.py run.json --markdown report.md --charts charts/
    bench/report.py run.json --baseline old.json --noise 0.10
    build/release/bin/lowbit bench quantize --model-size 100M,600M --bits 2,4,8 --json q.json
    bench/report.py q.json --charts charts/
"""
import argparse
import collections
import json
import os
import sys


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        parts = [p for p in b["name"].split("/") if p != "real_time"]
        if len(parts) < 3:
            continue
        op, typ = parts[0], parts[1]
        isa = "-" if op == "membw" else parts[2]
        size = "/".join(parts[2:] if op == "membw" else parts[3:])
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
        runs[(op, typ, isa, size)] = {
            "seconds": b["real_time"] * unit,
            "items": b.get("items_per_second", 0.0),
            "bytes": b.get("bytes_per_second", 0.0),
            "macs": b.get("MAC/s", 0.0),
        }
    return runs


def throughput(r):
    if r["macs"]:
        return "%.1f GMAC/s" % (r["macs"] / 1e9)
    if r["items"]:
        return "%.2f Gel/s" % (r["items"] / 1e9)
    return "%.2f GB/s" % (r["bytes"] / 1e9)


def markdown(runs):
    isas = sorted({k[2] for k in runs if k[2] not in ("-",)}, key=lambda s: (s != "scalar", s))
    groups = collections.OrderedDict()
    for (op, typ, isa, size) in sorted(runs):
        groups.setdefault((op, typ, size), {})[isa] = runs[(op, typ, isa, size)]
    lines = ["| op | type | size | " + " | ".join(isas) + " | best speedup |",
             "|---|---|---|" + "---|" * len(isas) + "---|"]
    for (op, typ, size), by_isa in groups.items():
        cells = []
        for isa in isas:
            cells.append(throughput(by_isa[isa]) if isa in by_isa else "")
        best = ""
        if "scalar" in by_isa:
            others = [by_isa["scalar"]["seconds"] / r["seconds"] for i, r in by_isa.items() if i != "scalar"]
            if others:
                best = "%.1fx" % max(others)
        if "-" in by_isa:
            cells = [throughput(by_isa["-"])] + [""] * (len(isas) - 1)
        lines.append("| %s | %s | %s | %s | %s |" % (op, typ, size, " | ".join(cells), best))
    return "\n".join(lines) + "\n"


def charts(runs, folder):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(folder, exist_ok=True)
    written = []
    # Throughput vs size and speedup per ISA, for the dequantizers.
    for typ in sorted({k[1] for k in runs if k[0] == "dequant"}):
        series = collections.defaultdict(list)
        for (op, t, isa, size), r in runs.items():
            if op == "dequant" and t == typ:
                series[isa].append((int(size), r))
        if len(series) < 2:
            continue
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
        scalar = dict(series.get("scalar", []))
        for isa, points in sorted(series.items()):
            points.sort()
            a1.plot([p[0] for p in points], [p[1]["items"] / 1e9 for p in points], marker="o", label=isa)
            if isa != "scalar" and scalar:
                xs = [p[0] for p in points if p[0] in scalar]
                a2.plot(xs, [scalar[x]["seconds"] / dict(points)[x]["seconds"] for x in xs], marker="o", label=isa)
        for ax, title in ((a1, "Gelem/s"), (a2, "speedup over scalar")):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("elements")
            ax.set_title("dequant %s: %s" % (typ, title))
            ax.grid(True, alpha=0.3)
            ax.legend()
        path = os.path.join(folder, "dequant_%s.png" % typ)
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    # Threads scaling of the large GEMV against the measured read bandwidth.
    large = [(k, r) for k, r in runs.items() if k[0] in ("gemv_large", "membw")]
    if large:
        fig, ax = plt.subplots(figsize=(7, 4))
        series = collections.defaultdict(list)
        for (op, typ, isa, size), r in large:
            threads = int(size.split("threads:")[1])
            label = "membw/read" if op == "membw" else "%s %s" % (typ, isa)
            series[label].append((threads, r["bytes"] / 1e9))
        for label, points in sorted(series.items()):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
        ax.set_xlabel("threads")
        ax.set_ylabel("GB/s of weights read")
        ax.set_title("GEMV over weights larger than L3")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        path = os.path.join(folder, "gemv_large_threads.png")
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def compare(runs, baseline, noise):
    regressions = 0
    print("| benchmark | baseline | now | change |")
    print("|---|---|---|---|")
    for key in sorted(set(runs) & set(baseline)):
        old, new = baseline[key]["seconds"], runs[key]["seconds"]
        change = old / new - 1.0  # > 0: faster
        flag = ""
        if change < -noise:
            flag = " REGRESSION"
            regressions += 1
        print("| %s | %.3g s | %.3g s | %+.1f%%%s |" % ("/".join(key), old, new, 100 * change, flag))
    return regressions


# ---- lowbit bench quantize (lowbit.bench-quantize/1) ----

def quantize_key(r):
    return "%s/INT%d/g%d/%dt/%s" % (r["size"], r["bits"], r["group"], r["threads"], r["mode"])


def quantize_markdown(doc):
    lines = ["| model | type | threads | mode | time (s), median | Mparams/s | input MB/s | peak RSS (MiB) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in doc["results"]:
        lines.append("| %s | INT%d g%d | %d | %s | %.2f | %.1f | %.0f | %.0f |" % (
            r["size"], r["bits"], r["group"], r["threads"], r["mode"], r["seconds_median"],
            r["parameters_per_second"] / 1e6, r["input_bytes_per_second"] / 1e6, r["peak_rss_bytes_median"] / 2**20))
    for n in doc.get("numpy", []):
        lines.append("| %s | INT%d g%d (NumPy) | 1 | per tensor | %.2f | | | %.0f |" % (
            n["size"], n["bits"], n["group"], n["seconds"], n["peak_rss_bytes"] / 2**20))
    return "\n".join(lines) + "\n"


def quantize_charts(doc, folder):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(folder, exist_ok=True)
    results = doc["results"]
    sizes = [m["size"] for m in doc["models"]]
    params = {m["size"]: m["parameters"] for m in doc["models"]}
    written = []

    def save(fig, name):
        path = os.path.join(folder, name)
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)

    series = collections.defaultdict(dict)  # (bits, threads, mode) -> size -> result
    for r in results:
        series[(r["bits"], r["threads"], r["mode"])][r["size"]] = r
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for (bits, threads, mode), by_size in sorted(series.items()):
        xs = [s for s in sizes if s in by_size]
        label = "INT%d, %d thr, %s" % (bits, threads, mode)
        a1.plot([params[s] / 1e6 for s in xs], [by_size[s]["seconds_median"] for s in xs], marker="o", label=label)
        a2.plot([params[s] / 1e6 for s in xs], [by_size[s]["parameters_per_second"] / 1e6 for s in xs], marker="o",
                label=label)
    a1.set_yscale("log")
    for ax, title in ((a1, "wall time (s)"), (a2, "Mparams/s")):
        ax.set_xscale("log")
        ax.set_xlabel("parameters (M)")
        ax.set_title("lowbit quantize: " + title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    save(fig, "quantize_time_throughput.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    for (bits, threads, mode), by_size in sorted(series.items()):
        xs = [s for s in sizes if s in by_size]
        ax.plot([params[s] / 1e6 for s in xs], [by_size[s]["peak_rss_bytes_median"] / 2**20 for s in xs], marker="o",
                label="INT%d, %d thr, %s" % (bits, threads, mode))
    for n in doc.get("numpy", []):
        ax.scatter([params[n["size"]] / 1e6], [n["peak_rss_bytes"] / 2**20], marker="x", color="black")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters (M)")
    ax.set_ylabel("peak RSS (MiB, from the OS)")
    ax.set_title("memory: streaming vs batch (x: NumPy)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, "quantize_memory.png")

    scaling = collections.defaultdict(dict)  # (size, bits, mode) -> threads -> seconds
    for r in results:
        scaling[(r["size"], r["bits"], r["mode"])][r["threads"]] = r["seconds_median"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for (size, bits, mode), by_threads in sorted(scaling.items()):
        ts = sorted(by_threads)
        if len(ts) < 2 or ts[0] != 1:
            continue
        ax.plot(ts, [by_threads[1] / by_threads[t] for t in ts], marker="o", label="%s INT%d %s" % (size, bits, mode))
    ax.set_xlabel("threads")
    ax.set_ylabel("speedup over 1 thread")
    ax.set_title("thread scaling")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, "quantize_threads.png")
    return written


def quantize_compare(doc, baseline, noise):
    before = {quantize_key(r): r["seconds_median"] for r in baseline["results"]}
    regressions = 0
    print("| configuration | baseline | now | change |")
    print("|---|---|---|---|")
    for r in doc["results"]:
        k = quantize_key(r)
        if k not in before:
            continue
        old, new = before[k], r["seconds_median"]
        change = old / new - 1.0
        flag = ""
        if change < -noise:
            flag = " REGRESSION"
            regressions += 1
        print("| %s | %.2f s | %.2f s | %+.1f%%%s |" % (k, old, new, 100 * change, flag))
    return regressions


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("json", help="Google Benchmark JSON output, or lowbit bench quantize --json")
    p.add_argument("--markdown", help="write the Markdown table here (default: stdout)")
    p.add_argument("--charts", help="write PNG charts into this folder")
    p.add_argument("--baseline", help="a saved JSON run to compare with")
    p.add_argument("--noise", type=float, default=0.10, help="slowdown fraction counted as noise (default 0.10)")
    a = p.parse_args()
    with open(a.json) as f:
        doc = json.load(f)
    if doc.get("schema") == "lowbit.bench-quantize/1":
        data, compare_fn, table_fn, charts_fn = doc, quantize_compare, quantize_markdown, quantize_charts

        def baseline_of(path):
            with open(path) as f:
                return json.load(f)
    else:
        data, compare_fn, table_fn, charts_fn, baseline_of = load(a.json), compare, markdown, charts, load
        if not data:
            sys.exit("report.py: no benchmark results in %s" % a.json)
    if a.baseline:
        sys.exit(1 if compare_fn(data, baseline_of(a.baseline), a.noise) else 0)
    table = table_fn(data)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(table)
    else:
        sys.stdout.write(table)
    if a.charts:
        for path in charts_fn(data, a.charts):
            print("wrote", path, file=sys.stderr)

if __name__ == "__main__":
    main()

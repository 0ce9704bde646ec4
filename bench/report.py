#!/usr/bin/python3
"""Turns Google Benchmark JSON from lowbit's kernel benchmarks into a Markdown table and PNG
charts; with --baseline, prints the change against a saved run and flags regressions.

    build/release/bin/lowbit_bench --benchmark_out=run.json --benchmark_out_format=json
    bench/report.py run.json --markdown report.md --charts charts/
    bench/report.py run.json --baseline old.json --noise 0.10
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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("json", help="Google Benchmark JSON output")
    p.add_argument("--markdown", help="write the Markdown table here (default: stdout)")
    p.add_argument("--charts", help="write PNG charts into this folder")
    p.add_argument("--baseline", help="a saved JSON run to compare with")
    p.add_argument("--noise", type=float, default=0.10, help="slowdown fraction counted as noise (default 0.10)")
    a = p.parse_args()
    runs = load(a.json)
    if not runs:
        sys.exit("report.py: no benchmark results in %s" % a.json)
    if a.baseline:
        sys.exit(1 if compare(runs, load(a.baseline), a.noise) else 0)
    table = markdown(runs)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(table)
    else:
        sys.stdout.write(table)
    if a.charts:
        for path in charts(runs, a.charts):
            print("wrote", path, file=sys.stderr)


if __name__ == "__main__":
    main()

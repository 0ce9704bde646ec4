#!/usr/bin/python3
"""Time-aware activation quantization and channel equalization on a real diffusion model
(models/tiny-ddpm, a 1.5 M-parameter DDPM UNet on 16x16 digits), against FP32.

For each seed: calibration statistics from the FP32 sampler's own trajectories (as Q-Diffusion
calibrates; lowbit.calibrate.collect at every timestep), then `lowbit quantize --calib` for
W8A8 and W4A8 (INT8 / INT4 symmetric weights in groups of 32, 8-bit asymmetric activations per
tensor) with one activation range for all timesteps, time-aware ranges (uniform and dp split,
G = 4 and 10), and time-aware + equalization (--smooth-alpha auto), each evaluated through
lowbit.torch.load_quantized exactly as quantized:
  - eps MSE: the predicted noise against FP32's on held-out (x_t, t) pairs (test-split digits);
  - per-layer activation quantization error at each timestep;
  - samples from a fixed noise set: the digit classifier's accuracy against the label of the
    nearest real digit, agreement with FP32's sample from the same noise, and the Frechet
    distance of the classifier's features against the real test digits.
The seed draws the calibration trajectories, the sampled rows, the held-out pairs and the
sample noise.

  PYTHONPATH=build/release/python /usr/bin/python3 bench/diffusion_quality.py \\
      --json build/diffusion_quality.json --chart docs/images/diffusion_quality.png
  --fast: one seed, fewer configurations, pairs and samples (what `make test` runs)
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import lowbit  # noqa: E402
import lowbit.calibrate  # noqa: E402
import lowbit.torch  # noqa: E402
import tiny_ddpm  # noqa: E402

WEIGHTS = {"W8A8": ["--bits", "8", "--group-size", "32"], "W4A8": ["--bits", "4", "--group-size", "32"]}
ACTIVATIONS = {  # name -> lowbit quantize calibration options
    "one range": ["--time-groups", "1"],
    "uniform G=4": ["--time-groups", "4", "--time-split", "uniform"],
    "uniform G=10": ["--time-groups", "10", "--time-split", "uniform"],
    "dp G=4": ["--time-groups", "4", "--time-split", "dp"],
    "dp G=10": ["--time-groups", "10", "--time-split", "dp"],
    "dp G=10 + equalization": ["--time-groups", "10", "--time-split", "dp", "--smooth-alpha", "auto"],
}
# sampling costs T forward passes of every image: only these configurations are sampled
SAMPLED = {("W8A8", "dp G=10 + equalization"), ("W4A8", "one range"), ("W4A8", "dp G=10"),
           ("W4A8", "dp G=10 + equalization")}
FAST = [("W4A8", "one range"), ("W4A8", "dp G=4"), ("W4A8", "dp G=4 + equalization")]
ACTIVATIONS["dp G=4 + equalization"] = ["--time-groups", "4", "--time-split", "dp", "--smooth-alpha", "auto"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Recorder(torch.nn.Module):
    """The FP32 model, remembering the input it got at each timestep (the trajectory)."""

    def __init__(self, model):
        super().__init__()
        self.model, self.inputs = model, {}

    def forward(self, x, t):
        self.inputs[int(t[0])] = x.clone()
        return self.model(x, t)


def trajectory(model, schedule, n, generator):
    rec = Recorder(model)
    tiny_ddpm.sample(rec, n, schedule, generator)
    return rec.inputs


def heldout_pairs(schedule, n, generator):
    images, _ = tiny_ddpm.load_digits_16("test")
    pick = torch.randint(len(images), (n,), generator=generator)
    t = torch.randint(schedule.num_timesteps, (n,), generator=generator)
    noise = torch.randn(n, 1, 16, 16, generator=generator)
    return tiny_ddpm.q_sample(images[pick], t, noise, schedule), t


def predict(model, handle, x, t):
    """eps for pairs of mixed timesteps, one batch per timestep (the group follows t)."""
    out = torch.empty_like(x)
    with torch.no_grad():
        for step in t.unique().tolist():
            idx = (t == step).nonzero().flatten()
            if handle is not None:
                handle.set_timestep(step)
            out[idx] = model(x[idx], t[idx])
    return out


class InputSpy:
    """The input each calibrated layer gets before the runtime's hook (registered before
    load_quantized, so it runs first) and after it (registered after): the activation error
    is ||after - before * smooth||^2 / ||before * smooth||^2, what 8-bit rounding alone loses."""

    def __init__(self, model, layers):
        self.before, self.after, self.handles = {}, {}, []
        self.modules = {n: m for n, m in model.named_modules() if n in layers}
        for name, m in self.modules.items():
            self.handles.append(m.register_forward_pre_hook(
                lambda _m, a, n=name: self.before.__setitem__(n, a[0].detach())))

    def attach_after(self):
        for name, m in self.modules.items():
            self.handles.append(m.register_forward_pre_hook(
                lambda _m, a, n=name: self.after.__setitem__(n, a[0].detach())))

    def errors(self, model, handle, x, t):
        errors = {name: {} for name in self.modules}
        for step in t.unique().tolist():
            idx = (t == step).nonzero().flatten()
            handle.set_timestep(step)
            with torch.no_grad():
                model(x[idx], t[idx])
            for name in self.modules:
                clean = self.before[name]
                scale = handle.smooth_scales.get(name)
                if scale is not None:
                    clean = clean * (scale.view(1, -1, 1, 1) if clean.dim() == 4 else scale)
                errors[name][step] = float(((self.after[name] - clean) ** 2).sum() /
                                           max(float((clean ** 2).sum()), 1e-30))
        return errors


def nearest_labels(samples, images, labels):
    d = torch.cdist(samples.flatten(1), images.flatten(1))
    return labels[d.argmin(dim=1)]


def sample_quality(model, handle, schedule, classifier, noise_seed, n, real_features, train_images, train_labels,
                   reference_classes=None):
    g = torch.Generator().manual_seed(noise_seed)
    samples = tiny_ddpm.sample(model, n, schedule, g, on_step=handle.set_timestep if handle else None)
    with torch.no_grad():
        logits = classifier(samples)
        features = classifier.features(samples)
    classes = logits.argmax(dim=1)
    out = {"accuracy": float((classes == nearest_labels(samples, train_images, train_labels)).float().mean()),
           "frechet": tiny_ddpm.frechet_distance(features, real_features)}
    if reference_classes is not None:
        out["agreement"] = float((classes == reference_classes).float().mean())
    return out, classes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models/tiny-ddpm/model.safetensors"))
    ap.add_argument("--classifier", default=str(ROOT / "models/digit-classifier/model.safetensors"))
    ap.add_argument("--cli", default=str(ROOT / "build/release/bin/lowbit"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--calib-samples", type=int, default=64, help="trajectories that calibrate (default 64)")
    ap.add_argument("--pairs", type=int, default=2000, help="held-out (x_t, t) pairs (default 2000)")
    ap.add_argument("--samples", type=int, default=128, help="images sampled per sampled configuration (default 128)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fast", action="store_true",
                    help="one seed, W4A8 with one range, dp G=4 and dp G=4 + equalization, 400 pairs, no sampling")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--chart", help="write a PNG chart here (matplotlib)")
    args = ap.parse_args()
    configs = [(w, a) for w in WEIGHTS for a in ACTIVATIONS if a != "dp G=4 + equalization"]
    sampled = SAMPLED
    if args.fast:
        args.seeds, args.pairs, args.calib_samples = args.seeds[:1], 400, 32
        configs, sampled = FAST, set()
    torch.set_num_threads(args.threads)
    schedule = tiny_ddpm.load_schedule(args.model)  # the schedule the model was trained with
    classifier = tiny_ddpm.load_classifier(args.classifier)
    test_images, _ = tiny_ddpm.load_digits_16("test")
    train_images, train_labels = tiny_ddpm.load_digits_16("train")
    with torch.no_grad():
        real_features = classifier.features(test_images)
    work = pathlib.Path(tempfile.mkdtemp(prefix="lowbit-diffusion-"))
    results = {"model": str(pathlib.Path(args.model).relative_to(ROOT)) if ROOT in pathlib.Path(args.model).parents
               else args.model, "seeds": args.seeds, "pairs": args.pairs, "samples": args.samples,
               "calib_samples": args.calib_samples, "runs": []}
    for seed in args.seeds:
        fp = tiny_ddpm.load_model(args.model)
        t0 = time.time()
        inputs = trajectory(fp, schedule, args.calib_samples, torch.Generator().manual_seed(1000 + seed))
        stats = lowbit.calibrate.collect(fp, lambda t: fp(inputs[t], torch.full((args.calib_samples,), t)),
                                         timesteps=range(schedule.num_timesteps), sample_rows=256,
                                         path=work / f"stats-{seed}.safetensors", seed=seed)
        log(f"seed {seed}: statistics in {time.time() - t0:.1f} s")
        x, t = heldout_pairs(schedule, args.pairs, torch.Generator().manual_seed(2000 + seed))
        eps_fp = predict(fp, None, x, t)
        fp_run = {"seed": seed, "weights": "FP32", "activations": "FP32", "eps_mse": 0.0}
        fp_classes = None
        if sampled:
            fp_quality, fp_classes = sample_quality(fp, None, schedule, classifier, 3000 + seed, args.samples,
                                                    real_features, train_images, train_labels)
            fp_run.update(fp_quality, agreement=1.0)
        results["runs"].append(fp_run)
        log(f"seed {seed} FP32: {fp_run}")
        for weights, acts in configs:
            out = work / "q.safetensors"
            t0 = time.time()
            subprocess.run([args.cli, "quantize", args.model, out, *WEIGHTS[weights], "--min-cosine", "0",
                            "--calib", stats, "--act-bits", "8", *ACTIVATIONS[acts], "-t", str(args.threads),
                            "--report", work / "report.json"], check=True, capture_output=True)
            seconds = time.time() - t0
            model = tiny_ddpm.load_model(args.model)
            spy = InputSpy(model, [n for n, m in model.named_modules()
                                   if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))])
            handle = lowbit.torch.load_quantized(model, out)
            spy.attach_after()
            eps = predict(model, handle, x, t)
            mse = float(((eps - eps_fp) ** 2).mean())
            errors = spy.errors(model, handle, x, t)
            quality = {}
            if (weights, acts) in sampled:
                quality, _ = sample_quality(model, handle, schedule, classifier, 3000 + seed, args.samples,
                                            real_features, train_images, train_labels, fp_classes)
            run = {"seed": seed, "weights": weights, "activations": acts, "eps_mse": mse, **quality,
                   "quantize_seconds": seconds,
                   "act_error_mean": float(np.mean([np.mean(list(e.values())) for e in errors.values()])),
                   "act_error_by_step": {name: [e.get(s) for s in range(schedule.num_timesteps)]
                                         for name, e in errors.items()}}
            results["runs"].append(run)
            shown = "  ".join(f"{k} {v:.3f}" for k, v in quality.items())
            log(f"seed {seed} {weights} {acts:24s} eps MSE {mse:.5f}  act err {run['act_error_mean']:.2e}  {shown}  "
                f"({seconds:.1f} s to quantize)")
    results["table"] = summarize(results["runs"])
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results) + "\n")
    if args.chart:
        chart(results, args.chart)
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}))


def summarize(runs):
    table = []
    keys = []
    for r in runs:
        if (r["weights"], r["activations"]) not in keys:
            keys.append((r["weights"], r["activations"]))
    for w, a in keys:
        rs = [r for r in runs if (r["weights"], r["activations"]) == (w, a)]
        row = {"weights": w, "activations": a, "seeds": len(rs)}
        for m in ("eps_mse", "accuracy", "agreement", "frechet", "act_error_mean"):
            v = [r[m] for r in rs if m in r]
            if v:
                row[m] = {"median": statistics.median(v), "min": min(v), "max": max(v)}
        table.append(row)
    return table


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1, 1.2]})
    rows = [r for r in results["table"] if r["weights"] != "FP32"][::-1]  # top to bottom as in the table
    labels = [f"{r['weights']} {r['activations']}" for r in rows]
    med = [r["eps_mse"]["median"] for r in rows]
    err = [[r["eps_mse"]["median"] - r["eps_mse"]["min"] for r in rows],
           [r["eps_mse"]["max"] - r["eps_mse"]["median"] for r in rows]]
    colors = ["#4c72b0" if r["weights"] == "W8A8" else "#dd8452" for r in rows]
    left.barh(range(len(rows)), med, xerr=err, color=colors, capsize=3)
    left.set_yticks(range(len(rows)), labels, fontsize=8)
    left.set_xscale("log")
    left.set_xlabel(f"eps-prediction MSE vs FP32 (median, min-max over {len(results['seeds'])} seeds)")
    left.set_title("tiny-ddpm: quantized noise prediction (lower is better)")
    # activation error across timesteps, mean over the layers, W4A8, first seed
    seed = results["seeds"][0]
    runs = [r for r in results["runs"] if r["seed"] == seed and r["weights"] == "W4A8"]
    styles = ["-", "--", "-.", ":"]
    for i, r in enumerate(runs):
        per_layer = list(r["act_error_by_step"].values())
        ys = [sum(v[t] for v in per_layer) / len(per_layer) for t in range(len(per_layer[0]))]
        right.plot(range(len(ys)), ys, styles[i % len(styles)], label=r["activations"], linewidth=1.4)
    right.set_yscale("log")
    right.set_xlabel("timestep t")
    right.set_ylabel("relative activation error, mean over the layers")
    right.set_title(f"8-bit activations across timesteps (W4A8, seed {seed})")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()

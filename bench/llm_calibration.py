#!/usr/bin/python3
"""Calibration on the bundled float Llama model (models/tiny-llama): held-out perplexity at
INT4 g128, INT2 g64 and Q4_0 with plain rounding, with AWQ (--awq: scaling and clipping) and with
channel equalization (--smooth-alpha auto), weights only (--act-bits 0: the engine quantizes
activations per token itself), as `lowbit run` / `lowbit score` execute the files.

The statistics come from tools/train_tiny_llama.py's PyTorch model with the GGUF's weights
(q/k rows put back from llama.cpp's rope order), through lowbit.calibrate.collect. The held-out
text is split: the first --calib-windows windows of 128 tokens calibrate, the rest is scored
(so nothing is scored that calibration saw). The seed draws the sampled rows; plain rounding
does not depend on it.

  PYTHONPATH=build/release/python /usr/bin/python3 bench/llm_calibration.py --seeds 1 2 3 \\
      --json build/llm_calibration.json
  --fast: fewer tokens scored and one seed (what `make test` runs, tests/python/test_calibration_quality.py)
"""

import argparse
import json
import os
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

WINDOW = 128
CONFIGS = {  # the type's lowbit quantize options
    "INT4 g128": ["--bits", "4", "--group-size", "128"],
    "INT2 g64": ["--bits", "2", "--group-size", "64"],
    "Q4_0": ["--type", "Q4_0"],
}
METHODS = {"plain": [], "awq": ["--awq"], "equalization": ["--smooth-alpha", "auto"]}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def unpermute(w, heads):
    """llama.cpp's q/k row order (its converter's permute) back to Hugging Face's rotate-half."""
    rows, cols = w.shape
    return w.reshape(heads, rows // heads // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def gguf_name(module_name):
    """A PyTorch module of train_tiny_llama.LlamaLM -> its weight's name in the GGUF."""
    parts = module_name.split(".")
    if parts[0] != "layers":
        return None
    table = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
    return f"blk.{parts[1]}.{table['.'.join(parts[2:])]}.weight"


def torch_model(gguf):
    """train_tiny_llama's LlamaLM holding the GGUF's weights (as lowbit decodes them)."""
    import train_tiny_llama as tl

    config = json.loads((ROOT / "models" / "tiny-llama" / "config.json").read_text())
    cfg = tl.LlamaConfig(**{k: config[k] for k in tl.LlamaConfig.__dataclass_fields__})
    model = tl.LlamaLM(cfg)
    tensors, _types, _md = lowbit.read_tensors(gguf)
    state = {}
    for name in model.state_dict():
        if name == "embed_tokens.weight":
            w = tensors["token_embd.weight"]
        elif name == "norm.weight":
            w = tensors["output_norm.weight"]
        else:
            w = tensors[gguf_name(name[: -len(".weight")])]
            if name.endswith("q_proj.weight"):
                w = unpermute(w, cfg.num_attention_heads)
            elif name.endswith("k_proj.weight"):
                w = unpermute(w, cfg.num_key_value_heads)
        state[name] = torch.from_numpy(np.ascontiguousarray(w))
    model.load_state_dict(state)
    return model.eval()


def check_against_the_engine(model, engine, tokens):
    """The PyTorch model and lowbit's engine agree on the logits (the engine quantizes
    activations to int8 per token, hence not exactly)."""
    with torch.no_grad():
        ours = model(torch.tensor([tokens]))[0].numpy()
    theirs = engine.logits(tokens)
    agree = float((ours.argmax(-1) == theirs.argmax(-1)).mean())
    log(f"PyTorch vs engine logits: argmax agreement {agree:.3f}, max |diff| {np.abs(ours - theirs).max():.3f}")
    if agree < 0.9:
        raise SystemExit("the PyTorch model does not reproduce the GGUF (argmax agreement < 0.9)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models/tiny-llama/tiny-llama-f16.gguf"))
    ap.add_argument("--heldout", default=str(ROOT / "models/tiny-llama/heldout.txt"))
    ap.add_argument("--cli", default=str(ROOT / "build/release/bin/lowbit"))
    ap.add_argument("--calib-windows", type=int, default=32, help="windows of 128 tokens that calibrate (default 32)")
    ap.add_argument("--score-tokens", type=int, default=0, help="score only this many tokens (default: the rest)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--sample-rows", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fast", action="store_true", help="one seed, 8192 tokens scored")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if args.fast:
        args.seeds, args.score_tokens = args.seeds[:1], args.score_tokens or 8192

    engine = lowbit.Model(args.model, threads=args.threads)
    tokens = engine.tokenize(pathlib.Path(args.heldout).read_text(encoding="utf-8"), add_bos=False)
    calib = tokens[: args.calib_windows * WINDOW]
    scored = tokens[len(calib):]
    if args.score_tokens:
        scored = scored[: args.score_tokens]
    model = torch_model(args.model)
    check_against_the_engine(model, engine, calib[:WINDOW])
    work = pathlib.Path(tempfile.mkdtemp(prefix="lowbit-llm-calib-"))
    text = work / "scored.txt"
    text.write_text(engine.detokenize(scored), encoding="utf-8")
    engine.close()
    windows = torch.tensor(calib).reshape(args.calib_windows, WINDOW)

    def perplexity(path):
        out = subprocess.run([args.cli, "score", "-m", path, "-f", text, "-w", str(WINDOW), "-t", str(args.threads),
                              "--json"], check=True, capture_output=True, text=True).stdout
        return json.loads(out)["perplexity"]

    results = {"model": os.path.relpath(args.model, ROOT), "calib_tokens": len(calib),
               "scored_tokens": len(scored), "window": WINDOW, "seeds": args.seeds,
               "f16": perplexity(args.model), "rows": []}
    log(f"F16: {results['f16']:.3f} on {len(scored)} tokens (calibration: {len(calib)} tokens)")
    stats = {}
    for seed in args.seeds:
        t0 = time.time()
        stats[seed] = lowbit.calibrate.collect(model, lambda: model(windows), sample_rows=args.sample_rows,
                                               path=work / f"stats-{seed}.safetensors", seed=seed,
                                               weight_name=gguf_name)
        log(f"statistics, seed {seed}: {time.time() - t0:.1f} s")
    for config, type_args in CONFIGS.items():
        for method, method_args in METHODS.items():
            values, seconds = [], []
            for seed in args.seeds if method != "plain" else args.seeds[:1]:
                out = work / "q.gguf"
                calib_args = ["--calib", stats[seed], "--act-bits", "0"] if method != "plain" else []
                t0 = time.time()
                subprocess.run([args.cli, "quantize", args.model, out, *type_args, "--min-cosine", "0",
                                "--keep", "token_embd", "-t", str(args.threads), *calib_args, *method_args],
                               check=True, capture_output=True)
                seconds.append(time.time() - t0)
                values.append(perplexity(out))
            row = {"type": config, "method": method, "perplexity": values,
                   "median": statistics.median(values), "min": min(values), "max": max(values),
                   "quantize_seconds": statistics.median(seconds)}
            results["rows"].append(row)
            log(f"{config:10s} {method:13s} ppl {row['median']:.3f} [{row['min']:.3f}, {row['max']:.3f}] "
                f"({row['quantize_seconds']:.1f} s to quantize)")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

# The calibration evaluations' fast versions (bench/llm_calibration.py --fast,
# bench/diffusion_quality.py --fast) with bounds on what they measure, and the engine running a
# GGUF that carries calibration's smooth scales.
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import lowbit
import lowbit.calibrate

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import llm_calibration  # noqa: E402

TINY_LLAMA = ROOT / "models" / "tiny-llama" / "tiny-llama-f16.gguf"


@pytest.fixture(scope="module")
def llama_stats(tmp_path_factory):
    import torch

    model = llm_calibration.torch_model(TINY_LLAMA)
    with lowbit.Model(TINY_LLAMA) as m:
        tokens = m.tokenize((ROOT / "models/tiny-llama/heldout.txt").read_text()[:20000], add_bos=False)
    windows = torch.tensor(tokens[: 8 * 128]).reshape(8, 128)
    path = tmp_path_factory.mktemp("stats") / "llama.safetensors"
    return lowbit.calibrate.collect(model, lambda: model(windows), sample_rows=128, path=path,
                                    weight_name=llm_calibration.gguf_name)


def score(cli, model, text):
    out = subprocess.run([cli, "score", "-m", model, "-f", text, "-w", "128", "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["perplexity"]


def test_the_engine_applies_smooth_scales(tmp_path, cli, llama_stats):
    """W diag(s) in F16 with the input multiplied by 1/s is the same model: its perplexity is the
    original's, although its weights are far from the original's."""
    out = tmp_path / "smoothed.gguf"
    subprocess.run([cli, "quantize", TINY_LLAMA, out, "--type", "F16", "--keep", "token_embd", "--calib",
                    llama_stats, "--smooth-alpha", "0.5", "--act-bits", "0"], check=True, capture_output=True)
    smoothed, _, _ = lowbit.read_tensors(out)
    original, _, _ = lowbit.read_tensors(TINY_LLAMA)
    for name in ("blk.0.attn_q.weight", "blk.1.ffn_down.weight", "blk.2.attn_output.weight"):
        change = np.linalg.norm(smoothed[name] - original[name]) / np.linalg.norm(original[name])
        assert change > 0.3, name
    text = tmp_path / "text.txt"
    text.write_text((ROOT / "models/tiny-llama/heldout.txt").read_text()[20000:40000])
    assert score(cli, out, text) == pytest.approx(score(cli, TINY_LLAMA, text), rel=2e-3)


def test_the_engine_refuses_readers_of_one_norm_with_different_scales(tmp_path, cli, llama_stats):
    from reference import read_safetensors

    tensors, metadata = read_safetensors(llama_stats)
    layers = json.loads(metadata["layers"])
    for name, entry in layers.items():
        entry["input"] = name  # each its own input: q, k and v get different scalings
    metadata["layers"] = json.dumps(layers)
    stats = tmp_path / "unshared.safetensors"
    lowbit.write_safetensors(stats, {k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata)
    out = tmp_path / "q.gguf"
    subprocess.run([cli, "quantize", TINY_LLAMA, out, "--type", "Q8_0", "--keep", "token_embd", "--calib", stats,
                    "--smooth-alpha", "0.5", "--act-bits", "0"], check=True, capture_output=True)
    run = subprocess.run([cli, "score", "-m", out, "-f", ROOT / "models/tiny-llama/heldout.txt", "-w", "128"],
                         capture_output=True, text=True)
    assert run.returncode != 0 and "must carry the same smooth_scale" in run.stderr


def test_llm_perplexity_table_bounds(tmp_path, cli):
    out = subprocess.run([sys.executable, ROOT / "bench/llm_calibration.py", "--fast", "--cli", cli],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    ppl = {(row["type"], row["method"]): row["median"] for row in r["rows"]}
    f16 = r["f16"]
    for (config, method), value in ppl.items():
        bound = {"INT4 g128": 1.02, "Q4_0": 1.02, "INT2 g64": 1.25}[config]
        # on 8,192 tokens a 4-bit file can score a hair under F16 (Q4_0 AWQ 97.53 against 97.55)
        assert f16 * 0.995 < value < f16 * bound, (config, method, value, f16)
    # AWQ (scaling and clipping) lowers the perplexity: INT2 101.4 against plain's 113.6 when
    # measured, INT4 97.71 against 97.88
    assert ppl[("INT2 g64", "awq")] < 0.95 * ppl[("INT2 g64", "plain")]
    assert ppl[("INT4 g128", "awq")] < ppl[("INT4 g128", "plain")]


def test_time_aware_w4a8_tracks_fp32_closer(cli):
    """The diffusion goal in its fast form (one seed, 400 held-out pairs): time-aware activation
    ranges lower the eps-prediction error against FP32 well below one range for all timesteps,
    with or without equalization (measured: one range 0.0060, dp G=4 0.0040, dp G=4 +
    equalization 0.0041; whether equalization lowers it further is for the full bench)."""
    out = subprocess.run([sys.executable, ROOT / "bench/diffusion_quality.py", "--fast", "--cli", cli],
                         check=True, capture_output=True, text=True).stdout
    rows = {r["activations"]: r for r in json.loads(out)["table"] if r["weights"] == "W4A8"}
    one, dp, eq = (rows[k]["eps_mse"]["median"] for k in ("one range", "dp G=4", "dp G=4 + equalization"))
    assert dp < 0.8 * one and eq < 0.8 * one, (one, dp, eq)
    assert rows["dp G=4"]["act_error_mean"]["median"] < rows["one range"]["act_error_mean"]["median"]
    assert 0 < dp < 0.02  # the FP32 model's own eps-MSE on held-out pairs is 0.026

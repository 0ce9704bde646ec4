# Calibration (lowbit.calibrate, quantize_model(calib=...), lowbit.torch) against NumPy
# oracles written from docs/QUANTIZE.md: the statistics against reductions of the inputs the
# layers really saw, the time split against every possible split, the activation parameters,
# smooth scales and reported output errors recomputed from the file, and the PyTorch runtime
# against the same arithmetic in NumPy. Bad statistics are errors naming what is wrong.
import json
import subprocess

import numpy as np
import pytest
import torch

import lowbit
import lowbit.calibrate
import lowbit.torch
from reference import (act_params, all_contiguous_splits, fake_quantize, im2col, read_safetensors,
                       split_cost)

STEPS = 9


class Net(torch.nn.Module):
    """A convolution and two linears; the input grows with the timestep and channel 3 of the
    linear's input is an outlier, as in the activations SmoothQuant is for."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.fc1 = torch.nn.Linear(8, 64)
        self.fc2 = torch.nn.Linear(64, 32)

    def forward(self, x, t):
        h = self.conv(x * (1 + t / 4))
        h = h.mean(dim=(2, 3))
        h = self.fc1(h)
        h = h * torch.tensor([1.0] * 3 + [20.0] + [1.0] * 60)
        return self.fc2(torch.relu(h))


@pytest.fixture()
def net(tmp_path):
    torch.manual_seed(3)
    model = Net()
    weights = tmp_path / "net.safetensors"
    lowbit.write_safetensors(weights, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
    inputs = torch.randn(6, 3, 5, 5, generator=torch.Generator().manual_seed(4))
    seen = {}  # what each layer saw, per timestep, recorded independently of collect()

    def spy(name):
        def hook(_m, args):
            seen.setdefault(name, {}).setdefault(current[0], []).append(args[0].detach().numpy().copy())
        return hook

    current = [None]
    spies = [m.register_forward_pre_hook(spy(n)) for n, m in model.named_modules() if n]

    def run(t):
        current[0] = t
        model(inputs, t)

    stats = lowbit.calibrate.collect(model, run, timesteps=range(STEPS), sample_rows=40,
                                     path=tmp_path / "stats.safetensors", seed=5)
    for s in spies:
        s.remove()
    return model, weights, stats, inputs, seen


def test_statistics_are_the_inputs_reductions(net):
    _model, _weights, stats, _inputs, seen = net
    tensors, metadata = read_safetensors(stats)
    assert metadata["format"] == "lowbit.calibration/1" and metadata["timesteps"] == "given"
    layers = json.loads(metadata["layers"])
    assert layers["conv"] == {"weight": "conv.weight", "kind": "conv2d", "in_channels": 3, "weight_cols": 27,
                              "kernel": [3, 3], "input": "conv"}
    assert layers["fc2"]["weight_cols"] == 64
    np.testing.assert_array_equal(tensors["timesteps"], np.arange(STEPS, dtype=np.float32))
    for name in ("conv", "fc1", "fc2"):
        for t in range(STEPS):
            x = np.concatenate(seen[name][t])
            per_channel = x.transpose(1, 0, 2, 3).reshape(x.shape[1], -1) if x.ndim == 4 else x.reshape(-1, x.shape[-1]).T
            np.testing.assert_array_equal(tensors[f"{name}.absmax"][t], np.abs(per_channel).max(axis=1))
            np.testing.assert_array_equal(tensors[f"{name}.min"][t], per_channel.min(axis=1))
            np.testing.assert_array_equal(tensors[f"{name}.max"][t], per_channel.max(axis=1))
        # every sampled row is a row (a patch, for the convolution) the layer saw at its timestep
        samples, steps = tensors[f"{name}.samples"], tensors[f"{name}.sample_timesteps"]
        assert samples.shape == (40, layers[name]["weight_cols"]) and len(set(map(tuple, samples))) == 40
        for row, t in zip(samples, steps):
            x = np.concatenate(seen[name][int(t)])
            rows = im2col(x, 3, 3, 1) if x.ndim == 4 else x.reshape(-1, x.shape[-1])
            assert (np.abs(rows - row).max(axis=1) == 0).any()
        assert len(set(steps.tolist())) > 1  # drawn across timesteps


class SharedInput(torch.nn.Module):
    """q and k read one normed input (as attention's projections do); out reads another."""

    def __init__(self):
        super().__init__()
        self.q = torch.nn.Linear(64, 32)
        self.k = torch.nn.Linear(64, 32)
        self.out = torch.nn.Linear(32, 64)
        self.head = torch.nn.Linear(64, 10)

    def forward(self, x):
        h = torch.nn.functional.layer_norm(x, (64,)) * torch.linspace(0.1, 8, 64)
        return self.head(self.out(self.q(h) * self.k(h)))


def test_layers_reading_one_input_share_its_samples_and_scaling(tmp_path):
    torch.manual_seed(1)
    model = SharedInput()
    weights = tmp_path / "w.safetensors"
    lowbit.write_safetensors(weights, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
    x = torch.randn(50, 64, generator=torch.Generator().manual_seed(2))
    stats = lowbit.calibrate.collect(model, lambda: model(x), sample_rows=30, path=tmp_path / "s.safetensors",
                                     weight_name=lambda name: None if name == "head" else f"{name}.weight")
    st, metadata = read_safetensors(stats)
    layers = json.loads(metadata["layers"])
    assert sorted(layers) == ["k", "out", "q"]  # the head left out
    assert [layers[n]["input"] for n in ("q", "k", "out")] == ["q", "q", "out"]
    np.testing.assert_array_equal(st["q.samples"], st["k.samples"])
    out = tmp_path / "q.gguf"
    report = lowbit.quantize_model(weights, out, bits=4, group_size=32, calib=stats, awq=True)
    q, _types, _ = lowbit.read_tensors(out)
    np.testing.assert_array_equal(q["q.smooth_scale"], q["k.smooth_scale"])
    assert "head.smooth_scale" not in q
    by_name = {t["name"]: t.get("calibration") for t in report["tensors"]}
    assert by_name["q.weight"]["layer"] == by_name["k.weight"]["layer"] == "q,k"
    assert by_name["head.weight"] is None
    # the group's error: both layers' squared errors over both outputs' energy
    num = den = 0.0
    for name in ("q", "k"):
        w = read_safetensors(weights)[0][f"{name}.weight"].astype(np.float64)
        xs = st[f"{name}.samples"] * q[f"{name}.smooth_scale"]
        ref = st[f"{name}.samples"].astype(np.float64) @ w.T
        num += ((xs.astype(np.float64) @ q[f"{name}.weight"].astype(np.float64).T - ref) ** 2).sum()
        den += (ref ** 2).sum()
    assert by_name["q.weight"]["output_error"] == pytest.approx(num / den, rel=2e-3)


def test_a_model_without_timesteps_has_one_group(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    path = lowbit.calibrate.collect(model, lambda: model(torch.ones(2, 4)), path=tmp_path / "s.safetensors")
    tensors, metadata = read_safetensors(path)
    assert metadata["timesteps"] == "none" and tensors["0.absmax"].shape == (1, 4)


def quantize(weights, stats, out, **kwargs):
    return lowbit.quantize_model(weights, out, bits=4, group_size=32, calib=stats, **kwargs)


def layer_ranges(tensors, layer, s=None):
    lo, hi = tensors[f"{layer}.min"], tensors[f"{layer}.max"]
    if s is not None:
        lo, hi = lo / s, hi / s
    return lo.min(axis=1), hi.max(axis=1)


@pytest.mark.parametrize("groups", [2, 3, 4])
def test_dp_split_is_the_best_contiguous_split(net, tmp_path, groups):
    _model, weights, stats, _inputs, _seen = net
    tensors, _ = read_safetensors(stats)
    ranges = [layer_ranges(tensors, n) for n in ("conv", "fc1", "fc2")]
    lo, hi = np.array([r[0] for r in ranges]), np.array([r[1] for r in ranges])
    best = min(split_cost(lo, hi, s) for s in all_contiguous_splits(STEPS, groups))
    report = quantize(weights, stats, None, dry_run=True, time_groups=groups, time_split="dp")["calibration"]
    assert len(set(report["timestep_groups"])) == groups
    assert split_cost(lo, hi, report["timestep_groups"]) == pytest.approx(best, rel=1e-9)
    assert report["time_group_spread"] == pytest.approx(best, rel=1e-9)
    assert report["one_group_spread"] == pytest.approx(split_cost(lo, hi, [0] * STEPS), rel=1e-9)
    uniform = quantize(weights, stats, None, dry_run=True, time_groups=groups)["calibration"]["timestep_groups"]
    assert uniform == [t * groups // STEPS for t in range(STEPS)]


def test_activation_parameters_and_smooth_scales_match_numpy(net, tmp_path):
    _model, weights, stats, _inputs, _seen = net
    st, _ = read_safetensors(stats)
    out = tmp_path / "q.gguf"
    quantize(weights, stats, out, time_groups=3, time_split="uniform", smooth_alpha=0.5)
    q, types, metadata = lowbit.read_tensors(out)
    cal = json.loads(metadata["lowbit.calibration"])
    assert cal["act_bits"] == 8 and cal["time_groups"] == 3 and sorted(cal["layers"]) == ["conv", "fc1", "fc2"]
    groups = [t * 3 // STEPS for t in range(STEPS)]
    np.testing.assert_array_equal(q["timestep_groups"], [np.arange(STEPS), groups])
    w_file, _ = read_safetensors(weights)
    for layer in ("conv", "fc1", "fc2"):
        w = w_file[f"{layer}.weight"].reshape(w_file[f"{layer}.weight"].shape[0], -1)
        channels = st[f"{layer}.absmax"].shape[1]
        area = w.shape[1] // channels
        act = st[f"{layer}.absmax"].max(axis=0).astype(np.float64)
        wmax = np.abs(w).reshape(w.shape[0], channels, area).max(axis=(0, 2)).astype(np.float64)
        s = np.where((act > 0) & (wmax > 0), act ** 0.5 / wmax ** 0.5, 1).astype(np.float32)
        np.testing.assert_allclose(q[f"{layer}.smooth_scale"], 1 / s, rtol=1e-6)
        # the weight is W diag(s) through lowbit's own encoder
        scaled = (w * np.repeat(s, area)[None, :]).astype(np.float32)
        expect = lowbit.dequantize(lowbit.quantize(scaled, type=types[f"{layer}.weight"]))
        np.testing.assert_array_equal(q[f"{layer}.weight"].reshape(expect.shape), expect)
        lo, hi = layer_ranges(st, layer, s)
        for g in range(3):
            idx = [t for t in range(STEPS) if groups[t] == g]
            scale, zero = act_params(float(lo[idx].min()), float(hi[idx].max()), 8)
            assert q[f"{layer}.act_scale"][g] == pytest.approx(scale, rel=1e-6)
            assert q[f"{layer}.act_zero"][g] == zero


@pytest.mark.parametrize("method", [{"awq": True}, {"smooth_alpha": "auto"}])
def test_reported_output_errors_recomputed_from_the_file(net, tmp_path, method):
    _model, weights, stats, _inputs, _seen = net
    st, _ = read_safetensors(stats)
    out = tmp_path / "q.gguf"
    report = quantize(weights, stats, out, time_groups=3, **method)
    q, _types, _ = lowbit.read_tensors(out)
    w_file, _ = read_safetensors(weights)
    groups = [t * 3 // STEPS for t in range(STEPS)]
    improved = 0
    for entry in report["tensors"]:
        c = entry.get("calibration")
        if c is None:
            continue
        layer = c["layer"]
        w = w_file[f"{layer}.weight"].reshape(w_file[f"{layer}.weight"].shape[0], -1).astype(np.float64)
        x = st[f"{layer}.samples"].astype(np.float32)
        area = x.shape[1] // q[f"{layer}.smooth_scale"].size
        xs = x * np.repeat(q[f"{layer}.smooth_scale"], area)[None, :]
        if "smooth_alpha" in method:  # its error counts the activation quantization
            g = np.array(groups)[st[f"{layer}.sample_timesteps"]]
            xs = fake_quantize(xs, q[f"{layer}.act_scale"][g][:, None], q[f"{layer}.act_zero"][g][:, None], 8)
        wq = q[f"{layer}.weight"].reshape(w.shape).astype(np.float64)
        ref = x.astype(np.float64) @ w.T
        err = ((xs.astype(np.float64) @ wq.T - ref) ** 2).sum() / (ref ** 2).sum()
        assert c["output_error"] == pytest.approx(err, rel=2e-3), layer
        assert c["output_error"] <= c["output_error_plain"]
        improved += c["output_error"] < c["output_error_plain"]
        assert c["method"] in ("plain", "awq" if "awq" in method else "smooth")
    assert improved >= 1  # the outlier channel of fc2's input is what scaling is for


def test_awq_clips_each_block_to_its_best_bound(net, tmp_path):
    """AWQ's clipping search redone in NumPy: s = absmax^a normalised (max s * min s = 1 over
    the active channels), then per row and 32-wide
    block of W diag(s) the bound r max|block| (r = 1, 0.95, .., 0.55) whose quantized block
    errs least on its share of the outputs, sum_n ((Q(clip(w_b)) - w_b) . (x_n / s)_b)^2."""
    _model, weights, stats, _inputs, _seen = net
    st, _ = read_safetensors(stats)
    out = tmp_path / "q.gguf"
    report = quantize(weights, stats, out, awq=True)
    q, types, _ = lowbit.read_tensors(out)
    c = {t["name"]: t.get("calibration") for t in report["tensors"]}["fc2.weight"]
    assert c["method"] == "awq"
    act = st["fc2.absmax"].max(axis=0).astype(np.float64)
    on = act > 0  # channels never active keep s = 1
    s = np.where(on, np.power(np.maximum(act, 1e-4), c["alpha"]), 1).astype(np.float32)
    s[on] = (s[on].astype(np.float64) / np.sqrt(float(s[on].min()) * float(s[on].max()))).astype(np.float32)
    np.testing.assert_allclose(q["fc2.smooth_scale"], 1 / s, rtol=1e-6)
    w = read_safetensors(weights)[0]["fc2.weight"]
    scaled = (w * s[None, :]).astype(np.float32)
    blocks = scaled.reshape(32, 2, 32)
    x = (st["fc2.samples"] / s[None, :]).astype(np.float32).reshape(-1, 2, 32).astype(np.float64)
    absmax = np.abs(blocks).max(axis=2, keepdims=True)
    best_err = np.full((32, 2), np.inf)
    best_bound, best_ratio = absmax.copy(), np.ones((32, 2))
    encode = lambda a: lowbit.dequantize(lowbit.quantize(a.reshape(scaled.shape), type=types["fc2.weight"]))  # noqa: E731
    for r in 1 - np.arange(10) / 20:
        bound = (r * absmax.astype(np.float64)).astype(np.float32)
        d = (encode(np.clip(blocks, -bound, bound)) - scaled).reshape(blocks.shape).astype(np.float64)
        err = (np.einsum("rbk,nbk->rnb", d, x) ** 2).sum(axis=1)
        better = err < best_err
        best_err[better], best_ratio[better] = err[better], r
        best_bound[better] = bound[better]
    np.testing.assert_array_equal(q["fc2.weight"], encode(np.clip(blocks, -best_bound, best_bound)))
    assert c["clip_ratio"] == pytest.approx(best_ratio.mean())
    assert c["clip_ratio"] < 1  # something was clipped: the test tests the search


def test_time_groups_lower_the_activation_error(net):
    _model, weights, stats, _inputs, _seen = net
    report = quantize(weights, stats, None, dry_run=True, time_groups=4, time_split="dp")
    for entry in report["tensors"]:
        if "calibration" in entry:
            assert entry["calibration"]["act_error"] < entry["calibration"]["act_error_one_range"]


def test_the_runtime_computes_what_numpy_computes(net, tmp_path):
    model, weights, stats, inputs, _seen = net
    out = tmp_path / "q.safetensors"
    quantize(weights, stats, out, time_groups=3, smooth_alpha=0.5)
    q, _types, _ = lowbit.read_tensors(out)
    handle = lowbit.torch.load_quantized(model, out)
    assert handle.time_groups == 3
    with pytest.raises(KeyError, match="not calibrated"):
        handle.set_timestep(99)
    handle.set_timestep(7)  # group 2
    x = np.random.default_rng(0).standard_normal((5, 64)).astype(np.float32)
    with torch.no_grad():
        got = model.fc2(torch.from_numpy(x)).numpy()
    xs = fake_quantize(x * q["fc2.smooth_scale"], q["fc2.act_scale"][2], q["fc2.act_zero"][2], 8)
    np.testing.assert_allclose(got, xs @ q["fc2.weight"].T + q["fc2.bias"], rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        out_q = model(inputs, 7).numpy()
    handle.remove()
    with torch.no_grad():
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in read_safetensors(weights)[0].items()})
        out_f = model(inputs, 7).numpy()
    relative = np.linalg.norm(out_q - out_f) / np.linalg.norm(out_f)
    assert 0 < relative < 0.2, relative  # W4A8 with 32-wide groups of a few columns: near, not equal


def test_the_cli_writes_the_same_file(net, tmp_path, cli):
    _model, weights, stats, _inputs, _seen = net
    a, b = tmp_path / "a.gguf", tmp_path / "b.gguf"
    quantize(weights, stats, a, time_groups=4, time_split="dp", smooth_alpha="auto", act_bits=6)
    subprocess.run([cli, "quantize", weights, b, "--bits", "4", "--group-size", "32", "--calib", stats,
                    "--time-groups", "4", "--time-split", "dp", "--smooth-alpha", "auto", "--act-bits", "6"],
                   check=True, capture_output=True)
    assert a.read_bytes() == b.read_bytes()
    # batch mode, and the spool a quality threshold needs, write the same calibration tensors
    c, d = tmp_path / "c.gguf", tmp_path / "d.gguf"
    quantize(weights, stats, c, time_groups=4, time_split="dp", smooth_alpha="auto", act_bits=6, mode="batch")
    assert c.read_bytes() == a.read_bytes()
    quantize(weights, stats, d, time_groups=4, time_split="dp", smooth_alpha="auto", act_bits=6, min_cosine=0.01)
    qa, qd = lowbit.read_tensors(a)[0], lowbit.read_tensors(d)[0]
    for name in qa:
        if name.endswith(("act_scale", "act_zero", "smooth_scale")) or name == "timestep_groups":
            np.testing.assert_array_equal(qa[name], qd[name], err_msg=name)


def test_a_kept_tensor_with_statistics_is_an_error(net, tmp_path):
    _model, weights, stats, _inputs, _seen = net
    with pytest.raises(lowbit.ArgumentError, match="statistics cover it, but it is stored as it is"):
        quantize(weights, stats, tmp_path / "o.gguf", keep=["fc1"])


def write_stats(path, layers, steps=1, given=False, **overrides):
    tensors = {"timesteps": np.arange(steps, dtype=np.float32)}
    table = {}
    for name, channels in layers.items():
        table[name] = {"weight": f"{name}.weight", "kind": "linear", "in_channels": channels, "weight_cols": channels}
        tensors[f"{name}.absmax"] = np.ones((steps, channels), np.float32)
        tensors[f"{name}.min"] = -np.ones((steps, channels), np.float32)
        tensors[f"{name}.max"] = np.ones((steps, channels), np.float32)
        tensors[f"{name}.samples"] = np.ones((4, channels), np.float32)
        tensors[f"{name}.sample_timesteps"] = np.zeros(4, np.int32)
    tensors.update(overrides)
    lowbit.write_safetensors(path, tensors, {"format": "lowbit.calibration/1", "layers": json.dumps(table),
                                             "timesteps": "given" if given else "none"})
    return path


@pytest.mark.parametrize("case, error, match", [
    ("other_model", lowbit.ArgumentError, "layer 'encoder.proj'.*not a tensor"),
    ("channels", lowbit.ArgumentError, "layer 'fc1' has 16 input channels.*has 8 columns"),
    ("nan", lowbit.ModelFileError, "tensor 'fc1.max' has nan"),
    ("no_timesteps", lowbit.ArgumentError, "collected without timesteps"),
    ("too_many_groups", lowbit.ArgumentError, "12 groups for the 9 timesteps"),
    ("not_stats", lowbit.ModelFileError, "not calibration statistics"),
])
def test_bad_statistics_are_errors_naming_the_problem(net, tmp_path, case, error, match):
    _model, weights, stats, _inputs, _seen = net
    kwargs = {}
    if case == "other_model":
        stats = write_stats(tmp_path / "s.safetensors", {"encoder.proj": 8})
    elif case == "channels":
        stats = write_stats(tmp_path / "s.safetensors", {"fc1": 16})
    elif case == "nan":
        bad = np.ones((1, 8), np.float32)
        bad[0, 5] = np.nan
        stats = write_stats(tmp_path / "s.safetensors", {"fc1": 8}, **{"fc1.max": bad})
    elif case == "no_timesteps":
        stats = write_stats(tmp_path / "s.safetensors", {"fc1": 8})
        kwargs = {"time_groups": 2}
    elif case == "too_many_groups":
        kwargs = {"time_groups": 12}
    else:
        stats = weights
    out = tmp_path / "out.gguf"
    with pytest.raises(error, match=match):
        quantize(weights, stats, out, **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == []


def test_bad_calibration_options(net, tmp_path):
    _model, weights, stats, _inputs, _seen = net
    with pytest.raises(lowbit.ArgumentError, match="needs calibration statistics") as e:
        lowbit.quantize_model(weights, tmp_path / "o.gguf", time_groups=4)
    assert e.value.field == "time_groups"
    with pytest.raises(lowbit.ArgumentError, match="choose one"):
        quantize(weights, stats, tmp_path / "o.gguf", awq=True, smooth_alpha=0.5)
    with pytest.raises(lowbit.ArgumentError, match="not a number in"):
        quantize(weights, stats, tmp_path / "o.gguf", smooth_alpha=1.5)
    with pytest.raises(ValueError, match="not run at timestep"):
        model = torch.nn.Linear(4, 4)
        lowbit.calibrate.collect(model, lambda t: model(torch.ones(1, 4)) if t == 0 else None, timesteps=[0, 1],
                                 path=tmp_path / "s.safetensors")
    assert not (tmp_path / "s.safetensors").exists()

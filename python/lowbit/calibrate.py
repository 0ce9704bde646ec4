"""Calibration statistics from a PyTorch model, for ``lowbit quantize --calib``.

:func:`collect` hooks every :class:`torch.nn.Linear` and :class:`torch.nn.Conv2d` (or the
layer types given) with forward pre-hooks, runs the model through a callable the caller
supplies, once per timestep (or once, for a model without timesteps), and records for each
layer, per timestep and per input channel, the absmax, min and max of the layer's input and a
bounded random sample of its input rows (for a convolution: the patches its weight multiplies,
``in * kh * kw`` long). The file layout is in docs/QUANTIZE.md ("Calibration statistics").

PyTorch is needed only here and in :mod:`lowbit.torch`; the rest of the package does without.
"""

import json
import os

import numpy as np

from . import _lowbit
from ._pytorch import require_torch

FORMAT = "lowbit.calibration/1"


class _LayerRecord:
    """What one layer's hook accumulates: per-timestep channel statistics and a reservoir of
    input rows with their random keys (the rows with the smallest keys are a uniform sample)."""

    def __init__(self, torch, name, weight, module, steps, sample_rows, generator):
        self.torch = torch
        self.name = name
        self.weight = weight
        self.input = name  # the first layer seen reading the same input tensor
        self.module = module
        self.conv = isinstance(module, torch.nn.Conv2d)
        if self.conv:
            if module.groups != 1:
                raise ValueError(f"layer '{name}': grouped convolutions (groups={module.groups}) are not supported")
            if isinstance(module.padding, str):
                raise ValueError(f"layer '{name}': padding='{module.padding}' is not supported (give the padding in pixels)")
            if module.padding_mode != "zeros":
                raise ValueError(f"layer '{name}': padding_mode '{module.padding_mode}' is not supported (zeros only)")
            self.channels = module.in_channels
            self.cols = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
        else:
            self.channels = module.in_features
            self.cols = module.in_features
        self.absmax = torch.zeros(steps, self.channels)
        self.min = torch.full((steps, self.channels), float("inf"))
        self.max = torch.full((steps, self.channels), float("-inf"))
        self.seen = torch.zeros(steps, dtype=torch.bool)
        self.sample_rows = sample_rows
        self.generator = generator
        self.samples = torch.zeros(0, self.cols)
        self.sample_steps = torch.zeros(0, dtype=torch.int32)
        self.keys = torch.zeros(0)

    def record(self, x, step, keys_for):
        torch = self.torch
        x = x.detach().float()
        if self.conv:
            if x.dim() != 4 or x.shape[1] != self.channels:
                raise ValueError(f"layer '{self.name}': input of shape {tuple(x.shape)}, expected [B, {self.channels}, H, W]")
            per_channel = x.transpose(0, 1).reshape(self.channels, -1)
        else:
            if x.shape[-1] != self.channels:
                raise ValueError(f"layer '{self.name}': input of shape {tuple(x.shape)}, expected [..., {self.channels}]")
            per_channel = x.reshape(-1, self.channels).t()
        if not torch.isfinite(per_channel).all():
            raise ValueError(f"layer '{self.name}': its input has NaN or infinite values at timestep index {step}")
        self.absmax[step] = torch.maximum(self.absmax[step], per_channel.abs().amax(dim=1))
        self.min[step] = torch.minimum(self.min[step], per_channel.amin(dim=1))
        self.max[step] = torch.maximum(self.max[step], per_channel.amax(dim=1))
        self.seen[step] = True
        if self.sample_rows == 0:
            return
        # Only rows whose key beats the reservoir's largest can enter it: draw every key, build
        # only those rows (a convolution's patches for a few positions, not all of them).
        n = self._row_count(x)
        keys = keys_for(n)
        limit = self.keys.max() if len(self.keys) >= self.sample_rows else float("inf")
        new = (keys < limit).nonzero().flatten()
        if len(new) == 0:
            return
        rows = self._rows(x, new)
        all_keys = torch.cat([self.keys, keys[new]])
        keep = torch.argsort(all_keys)[: self.sample_rows]
        pool_rows = torch.cat([self.samples, rows])
        pool_steps = torch.cat([self.sample_steps, torch.full((len(new),), step, dtype=torch.int32)])
        self.keys, self.samples, self.sample_steps = all_keys[keep], pool_rows[keep], pool_steps[keep]

    def _positions(self, x):
        m = self.module
        out = []
        for d in (0, 1):
            size = x.shape[2 + d] + 2 * m.padding[d] - m.dilation[d] * (m.kernel_size[d] - 1) - 1
            out.append(size // m.stride[d] + 1)
        return out[0] * out[1]

    def _row_count(self, x):
        return x.shape[0] * self._positions(x) if self.conv else x.numel() // self.cols

    def _rows(self, x, index):
        if not self.conv:
            return x.reshape(-1, self.cols)[index]
        m = self.module
        positions = self._positions(x)
        images, where = index // positions, index % positions
        needed, slot = self.torch.unique(images, return_inverse=True)
        patches = self.torch.nn.functional.unfold(x[needed], m.kernel_size, dilation=m.dilation, padding=m.padding,
                                                  stride=m.stride)  # [len(needed), K, positions]
        return patches[slot, :, where]

    def tensors(self, timesteps):
        missing = (~self.seen).nonzero().flatten().tolist()
        if missing:
            at = [timesteps[i] for i in missing[:5]]
            raise ValueError(f"layer '{self.name}' was not run at timestep(s) {at}"
                             f"{' ...' if len(missing) > 5 else ''}: every timestep must run every hooked layer")
        steps = self.sample_steps.numpy()
        order = np.argsort(steps, kind="stable")  # samples grouped by timestep: easier to read
        return {
            f"{self.name}.absmax": self.absmax.numpy(),
            f"{self.name}.min": self.min.numpy(),
            f"{self.name}.max": self.max.numpy(),
            f"{self.name}.samples": np.ascontiguousarray(self.samples.numpy()[order], dtype=np.float32),
            f"{self.name}.sample_timesteps": np.ascontiguousarray(steps[order], dtype=np.int32),
        }

    def entry(self):
        e = {"weight": self.weight, "kind": "conv2d" if self.conv else "linear",
             "in_channels": self.channels, "weight_cols": self.cols, "input": self.input}
        if self.conv:
            e["kernel"] = list(self.module.kernel_size)
        return e


def collect(module, run, timesteps=None, layers=None, sample_rows=256, path="calibration.safetensors", seed=0,
            weight_name=None):
    """Record calibration statistics of ``module`` and write them to ``path`` (returned).

    ``run`` drives the model: with ``timesteps`` (a sequence of the model's timestep values,
    e.g. ``range(1000)``), ``run(t)`` is called once per timestep and every hooked layer's input
    during that call counts for ``t``; without, ``run()`` is called once (one group). ``layers``:
    the module types to hook (default ``(nn.Linear, nn.Conv2d)``). ``sample_rows``: how many
    input rows per layer to keep, drawn uniformly over all timesteps (``seed`` fixes the draw);
    ``lowbit quantize`` measures its choices' output error on them. ``weight_name(layer)``
    gives the name of the layer's weight in the file that will be quantized (default
    ``f"{layer}.weight"``; for a GGUF, llama.cpp's name such as ``"blk.0.attn_q.weight"``), or
    None to leave the layer out (a head tied to the embedding, say).

    Layers that read the very same input tensor (q, k and v after one norm) are recorded as
    sharing it, with the same sampled rows: ``lowbit quantize`` then gives them one channel
    scaling, which a runtime can fold into what produces the input.

    Every hooked layer must run at every timestep; NaN or infinite inputs are an error naming
    the layer. The file is complete or absent (written to a temporary name, then renamed).
    """
    torch = require_torch("lowbit.calibrate")
    if layers is None:
        layers = (torch.nn.Linear, torch.nn.Conv2d)
    if not isinstance(sample_rows, int) or sample_rows < 0:
        raise ValueError(f"sample_rows: {sample_rows!r} is not a non-negative integer")
    steps = [0] if timesteps is None else list(timesteps)
    if not steps:
        raise ValueError("timesteps: empty (give the model's timestep values, or None for a model without)")
    if len(set(steps)) != len(steps):
        raise ValueError("timesteps: values repeat")
    generator = torch.Generator().manual_seed(seed)
    records = []
    for name, m in module.named_modules():
        if isinstance(m, tuple(layers)):
            if not isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                raise ValueError(f"layer '{name}': {type(m).__name__} is not nn.Linear or nn.Conv2d")
            weight = f"{name}.weight" if weight_name is None else weight_name(name)
            if weight is not None:
                records.append(_LayerRecord(torch, name, weight, m, len(steps), sample_rows, generator))
    if not records:
        raise ValueError(f"{type(module).__name__} has no layer of types {[t.__name__ for t in layers]}")
    current = [0]
    # Within one run() call, the input tensors seen so far: a layer reading one of them shares
    # it with the first reader, and draws the same sample keys (so the same rows).
    readers = {}  # id(tensor) -> (tensor, first record, keys)
    shared = {r.name: None for r in records}  # the first reader every call agreed on (None: unset)

    def hook(record, inputs):
        x = inputs[0]
        seen = readers.get(id(x))
        if seen is None or seen[0] is not x:
            seen = (x, record, {})
            readers[id(x)] = seen
        first = seen[1].name
        if shared[record.name] is None:
            shared[record.name] = first
        elif shared[record.name] != first:
            shared[record.name] = record.name  # not always the same input: its own
        keys = seen[2]

        def keys_for(n):
            if n not in keys:
                keys[n] = torch.rand(n, generator=generator)
            return keys[n]

        record.record(x, current[0], keys_for)

    handles = [r.module.register_forward_pre_hook(lambda _m, inputs, r=r: hook(r, inputs)) for r in records]
    try:
        with torch.no_grad():
            if timesteps is None:
                run()
            else:
                for i, t in enumerate(steps):
                    current[0] = i
                    readers.clear()
                    run(t)
                    readers.clear()
    finally:
        for h in handles:
            h.remove()
    by_name = {r.name: r for r in records}
    for r in records:
        first = shared[r.name] or r.name
        # a layer shares an input only with a first reader that reads its own
        r.input = first if first != r.name and (shared[first] or first) == first and \
            by_name[first].cols == r.cols and by_name[first].conv == r.conv else r.name
    tensors = {"timesteps": np.asarray(steps, dtype=np.float32)}
    for r in records:
        tensors.update(r.tensors(steps))
    metadata = {
        "format": FORMAT,
        "timesteps": "none" if timesteps is None else "given",
        "layers": json.dumps({r.name: r.entry() for r in records}),
        "sample_rows": str(sample_rows),
        "seed": str(seed),
    }
    _lowbit.write_safetensors(os.fspath(path), tensors, metadata)
    return os.fspath(path)

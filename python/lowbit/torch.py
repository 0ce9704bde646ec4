"""Evaluate a PyTorch model exactly as ``lowbit quantize`` quantized it.

:func:`load_quantized` reads a file that ``lowbit quantize`` wrote (GGUF or SafeTensors, with
or without ``--calib``), puts every weight it holds into the module as lowbit decodes it, and,
for each layer the calibration covered, quantizes the layer's input on the way in: multiplied
by its ``smooth_scale`` (channel equalization / AWQ-style scaling), then fake-quantized to
``act_bits`` with the scale and zero point of the current timestep group
(``set_timestep(t)``). The rounding is the one the quantizer measured with:
``code = clamp(round(x / scale) + zero, 0, 2^bits - 1)`` (round half to even), ``x = (code -
zero) * scale``.
"""

import json

import numpy as np

from . import _lowbit
from ._pytorch import require_torch


class QuantizedModule:
    """The handle :func:`load_quantized` returns: ``set_timestep(t)`` before each forward pass
    of a time-aware file; ``remove()`` takes the input hooks off (the weights stay)."""

    def __init__(self, module, calibration, groups_by_step, hooks):
        self.module = module
        self.calibration = calibration  # the file's "lowbit.calibration" entry (None without)
        self.layers = list(calibration["layers"]) if calibration else []
        self.smooth_scales = {}  # layer -> the smooth scale its input is multiplied by
        self._groups_by_step = groups_by_step
        self._group = 0 if len(set(groups_by_step.values())) <= 1 else None
        self._hooks = hooks

    @property
    def time_groups(self):
        return len(set(self._groups_by_step.values())) if self._groups_by_step else 1

    def set_timestep(self, t):
        """Select the activation parameters of timestep ``t``'s group (a value that was
        calibrated, e.g. an int or a 0-d tensor)."""
        key = float(t.item() if hasattr(t, "item") else t)
        if key not in self._groups_by_step:
            known = sorted(self._groups_by_step)
            raise KeyError(f"timestep {t!r} was not calibrated (the file knows {len(known)}: "
                           f"{known[0]:g} .. {known[-1]:g})")
        self._group = self._groups_by_step[key]

    def group(self):
        if self._group is None:
            raise RuntimeError("this file has activation parameters per timestep group: call set_timestep(t) "
                               "before the forward pass")
        return self._group

    def remove(self):
        for h in self._hooks:
            h.remove()
        self._hooks = []

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)


def _input_hook(torch, handle, name, is_conv, smooth, act_scale, act_zero, bits):
    qmax = float((1 << bits) - 1) if bits else 0.0

    def hook(_module, inputs):
        x = inputs[0]
        if smooth is not None:
            s = smooth.to(x.dtype)
            x = x * (s.view(1, -1, 1, 1) if is_conv else s)
        if act_scale is not None:
            g = handle.group()
            scale, zero = act_scale[g].item(), act_zero[g].item()
            q = torch.clamp(torch.round(x / scale) + zero, 0.0, qmax)
            x = (q - zero) * scale
        return (x,) + tuple(inputs[1:])

    return hook


def load_quantized(module, path, strict=True):
    """Load the quantized file ``path`` into ``module`` (in place) and return a
    :class:`QuantizedModule` handle.

    Every tensor of the file that names a parameter or buffer of the module replaces it (as
    lowbit decodes it, reshaped to the parameter's shape); with ``strict``, a parameter the file
    lacks or a shape that disagrees is an error naming it. The layers listed in the file's
    calibration get an input hook (smooth scale, activation fake-quantization).
    """
    torch = require_torch("lowbit.torch")
    tensors, _types, metadata = _lowbit.read_tensors(path)
    calibration = json.loads(metadata["lowbit.calibration"]) if "lowbit.calibration" in metadata else None
    state = module.state_dict()
    with torch.no_grad():
        for name, target in state.items():
            if name not in tensors:
                if strict:
                    raise KeyError(f"{path}: has no tensor '{name}' for the module's {tuple(target.shape)} parameter")
                continue
            value = tensors[name]
            if value.size != target.numel():
                raise ValueError(f"{path}: tensor '{name}' has {value.size} values, the module's parameter "
                                 f"{tuple(target.shape)} has {target.numel()}")
            target.copy_(torch.from_numpy(np.ascontiguousarray(value)).reshape(target.shape).to(target.dtype))
    groups_by_step = {}
    if calibration:
        table = tensors["timestep_groups"]  # [2, T]: timesteps, their groups
        groups_by_step = {float(t): int(g) for t, g in zip(table[0], table[1])}
    handle = QuantizedModule(module, calibration, groups_by_step, [])
    if calibration:
        modules = dict(module.named_modules())
        bits = int(calibration["act_bits"])
        for name, entry in calibration["layers"].items():
            if name not in modules:
                raise KeyError(f"{path}: calibrated layer '{name}' is not a module of {type(module).__name__}")
            m = modules[name]

            def param(suffix, prefix=entry["tensors"]):
                key = f"{prefix}.{suffix}"
                return torch.from_numpy(tensors[key].copy()) if key in tensors else None

            smooth = param("smooth_scale")
            if smooth is not None:
                handle.smooth_scales[name] = smooth
            hook = _input_hook(torch, handle, name, isinstance(m, torch.nn.Conv2d), smooth,
                               param("act_scale") if bits else None, param("act_zero") if bits else None, bits)
            handle._hooks.append(m.register_forward_pre_hook(hook))
    return handle

"""A tiny DDPM (epsilon-prediction UNet) and a digit classifier for 16x16 digits.

These are the two small models a diffusion-quantization evaluation needs: a UNet whose
layers are plain nn.Conv2d and nn.Linear (so forward hooks see every projection's input),
and a classifier whose penultimate features give a Frechet distance between generated
and real digits. The data is scikit-learn's bundled `load_digits` (no download).

Importing this module has no side effects: it sets no threads and reads no files. The
trainers are tools/train_tiny_ddpm.py and tools/train_digit_classifier.py.
"""

import json
import math
import os
import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGE_SIZE = 16
NUM_CLASSES = 10
NUM_TIMESTEPS = 100
HELD_OUT_EVERY = 5  # image index % 5 == 0 is held out ("test")
# The classifier "recognises" an image as a digit when its top class gets this probability.
RECOGNISED_PROBABILITY = 0.9


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

def load_digits_16(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits in [-1, 1], bilinearly upscaled to 16x16.

    split is "train" or "test"; every 5th image (index % 5 == 0) is "test", so the split is
    fixed and needs no seed. Returns (images float32 [N, 1, 16, 16], labels int64 [N]).
    """
    from sklearn.datasets import load_digits

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    digits = load_digits()
    held_out = np.arange(len(digits.target)) % HELD_OUT_EVERY == 0
    keep = held_out if split == "test" else ~held_out
    pixels = torch.from_numpy(digits.images[keep].astype(np.float32))  # values 0..16
    images = pixels[:, None] / 8.0 - 1.0
    images = F.interpolate(images, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear",
                           align_corners=False)
    labels = torch.from_numpy(digits.target[keep].astype(np.int64))
    return images.contiguous(), labels


# ---------------------------------------------------------------------------------------------
# Diffusion schedule and sampler
# ---------------------------------------------------------------------------------------------

@dataclass
class Schedule:
    """Linear-beta DDPM schedule; all tensors float32 of length T."""
    betas: torch.Tensor
    alphas: torch.Tensor
    alphas_cumprod: torch.Tensor
    beta_start: float
    beta_end: float

    @property
    def num_timesteps(self) -> int:
        return len(self.betas)

    def describe(self) -> dict:
        """The parameters that rebuild this schedule (stored in the weights' metadata)."""
        return {"kind": "linear", "T": self.num_timesteps, "beta_start": self.beta_start,
                "beta_end": self.beta_end}


def make_schedule(T: int = NUM_TIMESTEPS, beta_start: float = 1e-3,
                  beta_end: float = 0.2) -> Schedule:
    """Betas spaced linearly from beta_start to beta_end.

    The defaults are Ho et al.'s 1e-4 .. 0.02 for T = 1000 rescaled by 1000 / T for T = 100
    (as in Nichol & Dhariwal 2021), so that x_T is pure noise (sqrt(abar_T) = 0.0045), which
    is where the sampler starts. The unscaled 1e-4 .. 0.02 with T = 100 would leave
    x_T = 0.60 x0 + 0.80 noise, and sampling from N(0, I) would start off the training
    distribution (in a trial: Frechet distance 263 instead of 102, mostly zeros).
    """
    betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    alphas = 1.0 - betas
    alphas_cumprod = torch.cumprod(alphas, dim=0)
    return Schedule(betas=betas.float(), alphas=alphas.float(),
                    alphas_cumprod=alphas_cumprod.float(), beta_start=beta_start,
                    beta_end=beta_end)


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
             schedule: Schedule) -> torch.Tensor:
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, the forward process in closed form."""
    abar = schedule.alphas_cumprod[t].view(-1, 1, 1, 1)
    return abar.sqrt() * x0 + (1.0 - abar).sqrt() * noise


@torch.no_grad()
def sample(model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], n: int,
           schedule: Schedule, generator: torch.Generator,
           on_step: Callable[[int], None] | None = None) -> torch.Tensor:
    """Ancestral DDPM sampling from t = T-1 down to 0; returns [n, 1, 16, 16] in [-1, 1].

    All randomness comes from `generator`, so the same generator state gives the same
    images. The network is used only as `model(x, t)` with t a LongTensor [n], so a caller
    that wraps the model (or passes any such callable) sees every timestep; `on_step(t)` is
    called before each step too. The model's train/eval mode is left alone: TinyUNet has no
    dropout or batch statistics, so both modes compute the same thing.
    Each step predicts x0 from epsilon, clips it to the data range and takes the posterior
    mean q(x_{t-1} | x_t, x0) with the posterior variance (Ho et al. 2020, clip_denoised).
    """
    betas, alphas, abar = schedule.betas, schedule.alphas, schedule.alphas_cumprod
    abar_prev = torch.cat([torch.ones(1), abar[:-1]])
    posterior_variance = betas * (1.0 - abar_prev) / (1.0 - abar)
    coef_x0 = betas * abar_prev.sqrt() / (1.0 - abar)
    coef_xt = (1.0 - abar_prev) * alphas.sqrt() / (1.0 - abar)

    x = torch.randn(n, 1, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
    for step in reversed(range(schedule.num_timesteps)):
        if on_step is not None:
            on_step(step)
        t = torch.full((n,), step, dtype=torch.long)
        eps = model(x, t)
        x0 = ((x - (1.0 - abar[step]).sqrt() * eps) / abar[step].sqrt()).clamp(-1.0, 1.0)
        x = coef_x0[step] * x0 + coef_xt[step] * x
        if step > 0:
            noise = torch.randn(x.shape, generator=generator)
            x = x + posterior_variance[step].sqrt() * noise
    return x.clamp(-1.0, 1.0)


# ---------------------------------------------------------------------------------------------
# UNet
# ---------------------------------------------------------------------------------------------

def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer-style sinusoidal embedding of integer timesteps: [B] -> [B, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-Conv twice, the time embedding added in between through a Linear."""

    def __init__(self, in_channels: int, out_channels: int, time_dim: int, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_proj = nn.Linear(time_dim, out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        # a 1x1 conv only where the residual has to change its channel count
        self.skip = (nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels
                     else nn.Identity())
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity: stable start
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class SelfAttention(nn.Module):
    """Multi-head self-attention over the pixels, with separate nn.Linear q/k/v/out.

    Not nn.MultiheadAttention: its projections are fused and not nn.Linear calls, so forward
    hooks could not observe each projection's input.
    """

    def __init__(self, channels: int, heads: int, groups: int):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.q = nn.Linear(channels, channels)
        self.k = nn.Linear(channels, channels)
        self.v = nn.Linear(channels, channels)
        self.out = nn.Linear(channels, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, hgt, wid = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2)  # [B, HW, C]

        def split_heads(y):
            return y.view(b, -1, self.heads, c // self.heads).transpose(1, 2)

        q, k, v = (split_heads(proj(tokens)) for proj in (self.q, self.k, self.v))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // self.heads), dim=-1)
        mixed = (weights @ v).transpose(1, 2).reshape(b, hgt * wid, c)
        return x + self.out(mixed).transpose(1, 2).reshape(b, c, hgt, wid)


class TinyUNet(nn.Module):
    """Epsilon-prediction UNet for 1x16x16 images: a 16x16 and an 8x8 level, attention at 8x8.

    stem -> enc16 ResBlock -> stride-2 conv -> enc8 ResBlock -> mid (ResBlock, attention,
    ResBlock) -> dec8 ResBlock (with the enc8 skip) -> nearest upsample + conv -> dec16
    ResBlock (with the enc16 skip) -> GroupNorm-SiLU-conv head. The 16x16 level is narrow:
    the images are upscaled 8x8 digits, so the detail lives at 8x8, and a 16x16 conv costs
    four times an 8x8 one. The defaults give about 1.5 M parameters.
    """

    def __init__(self, outer_channels: int = 32, inner_channels: int = 128,
                 time_dim: int = 128, attention_heads: int = 4, norm_groups: int = 8):
        super().__init__()
        self.config = {"outer_channels": outer_channels, "inner_channels": inner_channels,
                       "time_dim": time_dim, "attention_heads": attention_heads,
                       "norm_groups": norm_groups}
        c16, c8, g = outer_channels, inner_channels, norm_groups
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(),
                                      nn.Linear(time_dim, time_dim))
        self.stem = nn.Conv2d(1, c16, 3, padding=1)
        self.enc16 = ResBlock(c16, c16, time_dim, g)
        self.down = nn.Conv2d(c16, c16, 3, stride=2, padding=1)
        self.enc8 = ResBlock(c16, c8, time_dim, g)
        self.mid1 = ResBlock(c8, c8, time_dim, g)
        self.attn = SelfAttention(c8, attention_heads, g)
        self.mid2 = ResBlock(c8, c8, time_dim, g)
        self.dec8 = ResBlock(2 * c8, c8, time_dim, g)
        self.up = nn.Conv2d(c8, c16, 3, padding=1)
        self.dec16 = ResBlock(2 * c16, c16, time_dim, g)
        self.head_norm = nn.GroupNorm(g, c16)
        self.head = nn.Conv2d(c16, 1, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x [B, 1, 16, 16], t LongTensor [B] in [0, T) -> predicted noise [B, 1, 16, 16]."""
        temb = self.time_mlp(timestep_embedding(t, self.config["time_dim"]))
        skip16 = self.enc16(self.stem(x), temb)
        skip8 = self.enc8(self.down(skip16), temb)
        h = self.mid2(self.attn(self.mid1(skip8, temb)), temb)
        h = self.dec8(torch.cat([h, skip8], dim=1), temb)
        h = self.up(F.interpolate(h, scale_factor=2, mode="nearest"))
        h = self.dec16(torch.cat([h, skip16], dim=1), temb)
        return self.head(F.silu(self.head_norm(h)))


# ---------------------------------------------------------------------------------------------
# Classifier (evaluation only)
# ---------------------------------------------------------------------------------------------

class DigitClassifier(nn.Module):
    """Three 3x3 convs and a two-layer head; `features` is the 64-d penultimate layer."""

    def __init__(self, feature_dim: int = 64):
        super().__init__()
        self.config = {"feature_dim": feature_dim}
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)   # 16x16, then pooled to 8x8
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)  # 8x8, then pooled to 4x4
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1)  # 4x4
        self.fc = nn.Linear(64 * 4 * 4, feature_dim)
        self.classify = nn.Linear(feature_dim, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 1, 16, 16] in [-1, 1] -> [B, feature_dim] (post-ReLU), for Frechet distances."""
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = F.relu(self.conv3(h))
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits [B, 10]."""
        return self.classify(self.features(x))


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets [N, D] (as in FID).

    ||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)), computed in float64.
    """
    from scipy.linalg import sqrtm

    a = features_a.double().numpy()
    b = features_b.double().numpy()
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cov_sqrt = sqrtm(cov_a @ cov_b).real
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2.0 * cov_sqrt))


# ---------------------------------------------------------------------------------------------
# SafeTensors (F32 only)
# ---------------------------------------------------------------------------------------------

def write_safetensors(path: str, tensors: dict[str, torch.Tensor],
                      metadata: dict[str, str]) -> None:
    """F32 SafeTensors: 8-byte LE header length, JSON header (8-byte aligned), raw LE data.

    Own writer rather than tools/train_tiny_bitnet.py's: importing that script sets thread
    environment variables from sys.argv and needs the `regex` package.
    """
    header: dict = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        data = tensors[name].detach().cpu().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header_json = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_json += b" " * (-len(header_json) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header_json)))
        f.write(header_json)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)


def read_safetensors(path: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of an F32 SafeTensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    metadata = header.pop("__metadata__", {})
    data_start = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, only F32 is supported")
        begin, end = info["data_offsets"]
        array = np.frombuffer(blob, dtype="<f4", count=(end - begin) // 4,
                              offset=data_start + begin)
        tensors[name] = torch.from_numpy(array.astype(np.float32).reshape(info["shape"]))
    return tensors, metadata


def _load_into(model: nn.Module, tensors: dict[str, torch.Tensor]) -> nn.Module:
    model.load_state_dict(tensors, strict=True)
    return model.eval()


def load_model(path: str) -> TinyUNet:
    """TinyUNet built from the `config` JSON in the file's metadata, weights loaded, eval mode."""
    tensors, metadata = read_safetensors(path)
    return _load_into(TinyUNet(**json.loads(metadata["config"])), tensors)


def load_schedule(path: str) -> Schedule:
    """The schedule a TinyUNet file was trained with (its `schedule` metadata)."""
    _, metadata = read_safetensors(path)
    described = json.loads(metadata["schedule"])
    if described["kind"] != "linear":
        raise ValueError(f"{path}: unknown schedule kind {described['kind']!r}")
    return make_schedule(described["T"], described["beta_start"], described["beta_end"])


def load_classifier(path: str) -> DigitClassifier:
    """DigitClassifier built from the `config` JSON in the file's metadata, eval mode."""
    tensors, metadata = read_safetensors(path)
    return _load_into(DigitClassifier(**json.loads(metadata["config"])), tensors)

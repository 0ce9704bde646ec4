#!/usr/bin/python3
"""Train tiny-ddpm, a ~1.5 M-parameter DDPM for 16x16 digits, and write its model card.

The model is the test subject of the diffusion-quantization evaluation: a small UNet
(`tiny_ddpm.TinyUNet`) whose convolutions and projections are plain nn.Conv2d / nn.Linear,
trained with the epsilon-MSE objective of Ho et al. (2020) on the "train" split of
`tiny_ddpm.load_digits_16` (scikit-learn's digits, every 5th image held out), T = 100 steps.
The card reports the float reference numbers a quantized model is compared with: held-out
epsilon-MSE on fixed (x_t, t) pairs, and how many of 256 fixed-seed samples the digit
classifier (models/digit-classifier, train it first) recognises as digits.

Debian packages: python3-torch python3-numpy python3-sklearn python3-scipy
(libopenblas0-pthread recommended: with the reference BLAS the nn.Linear and attention
products are ~15x slower). Run with Debian's /usr/bin/python3. See models/tiny-ddpm/MODEL_CARD.md
for the command that made the shipped weights.
"""

import argparse
import os
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train tiny_ddpm.TinyUNet (epsilon-prediction DDPM, T=100, linear betas) "
                    "on the train split of the 16x16 digits with AdamW and an EMA of the "
                    "weights; write the EMA weights as --out/model.safetensors and a "
                    "MODEL_CARD.md with held-out epsilon-MSE and classifier-judged samples.")
    parser.add_argument("--seed", type=int, default=1234,
                        help="seed of the initialization and of every training batch, "
                             "timestep and noise draw (default 1234)")
    parser.add_argument("--steps", type=int, default=1100, help="optimizer steps (default 1100)")
    parser.add_argument("--batch", type=int, default=48, help="batch size (default 48)")
    parser.add_argument("--lr", type=float, default=3e-3,
                        help="peak AdamW learning rate: linear warm-up over the first 5%% of "
                             "the steps, cosine decay to a tenth (default 3e-3)")
    parser.add_argument("--ema-decay", type=float, default=0.998,
                        help="decay of the exponential moving average of the weights that is "
                             "shipped (default 0.998)")
    parser.add_argument("--beta-start", type=float, default=1e-3,
                        help="first beta of the linear schedule (default 1e-3, as "
                             "tiny_ddpm.make_schedule)")
    parser.add_argument("--beta-end", type=float, default=0.2,
                        help="last beta of the linear schedule (default 0.2, as "
                             "tiny_ddpm.make_schedule)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch/OpenMP/BLAS threads (default 1)")
    parser.add_argument("--classifier", default="models/digit-classifier/model.safetensors",
                        help="digit classifier that judges the samples "
                             "(default models/digit-classifier/model.safetensors)")
    parser.add_argument("--out", default="models/tiny-ddpm",
                        help="output directory (default models/tiny-ddpm)")
    return parser.parse_args()


# Parsed before torch is imported: OpenMP and OpenBLAS size their thread pools when they load.
ARGS = parse_args()
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import copy  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shlex  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_ddpm  # noqa: E402

LOG_EVERY = 50
# Fixed seeds of the evaluation draws, independent of --seed so runs are compared on the
# same (x_t, t) pairs and the same sampler noise.
EPS_MSE_SEED = 0
EPS_MSE_DRAWS_PER_IMAGE = 8
SAMPLE_SEED = 0
SAMPLE_COUNT = 256
# t ranges reported separately: quantization error is not spread evenly over the timesteps.
T_BANDS = ((0, 10), (10, 40), (40, 100))


def learning_rate(step: int, args: argparse.Namespace) -> float:
    """Linear warm-up over the first 5% of the steps, then cosine decay to lr / 10."""
    warmup = max(1, args.steps // 20)
    if step < warmup:
        return args.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, args.steps - warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def train(args, images, schedule):
    """Epsilon-MSE training; returns (raw model, EMA model, final loss, seconds).

    Batches, timesteps and noise come from one generator seeded with --seed, so a run is a
    function of its arguments (on one thread). The EMA decay ramps up as (1+n)/(10+n) so the
    average does not remember the random initialization.
    """
    torch.manual_seed(args.seed)
    model = tiny_ddpm.TinyUNet()
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(args.seed)
    T = schedule.num_timesteps
    start = time.time()
    window_loss = 0.0
    model.train()
    for step in range(args.steps):
        lr = learning_rate(step, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x0 = images[torch.randint(len(images), (args.batch,), generator=generator)]
        t = torch.randint(T, (args.batch,), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        loss = nn.functional.mse_loss(model(tiny_ddpm.q_sample(x0, t, noise, schedule), t),
                                      noise)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        decay = min(args.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for ema_param, param in zip(ema.parameters(), model.parameters()):
                ema_param.lerp_(param, 1.0 - decay)
        window_loss += loss.item()
        if (step + 1) % LOG_EVERY == 0 or step + 1 == args.steps:
            window = (step % LOG_EVERY) + 1
            final_loss = window_loss / window
            print(f"step {step + 1:5d}  loss {final_loss:.4f}  lr {lr:.2e}  "
                  f"elapsed {time.time() - start:6.1f}s", flush=True)
            window_loss = 0.0
    return model, ema.eval(), final_loss, time.time() - start


@torch.no_grad()
def held_out_eps_mse(model, images, schedule) -> dict:
    """Epsilon-MSE on EPS_MSE_DRAWS_PER_IMAGE fixed-seed (t, noise) draws per image: the
    mean over all pairs and per T_BANDS range."""
    model.eval()
    generator = torch.Generator().manual_seed(EPS_MSE_SEED)
    x0 = images.repeat(EPS_MSE_DRAWS_PER_IMAGE, 1, 1, 1)
    t = torch.randint(schedule.num_timesteps, (len(x0),), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    x_t = tiny_ddpm.q_sample(x0, t, noise, schedule)
    errors = torch.cat([((model(x_t[i:i + 256], t[i:i + 256]) - noise[i:i + 256]) ** 2)
                        .mean(dim=(1, 2, 3)) for i in range(0, len(x0), 256)])
    result = {"all": errors.mean().item(), "pairs": len(x0)}
    for low, high in T_BANDS:
        result[f"t{low}-{high - 1}"] = errors[(t >= low) & (t < high)].mean().item()
    return result


@torch.no_grad()
def judge(classifier, images) -> dict:
    """The classifier's verdict on a set of images: recognised fraction, class counts."""
    probabilities = torch.softmax(classifier(images), dim=1)
    confidence, predicted = probabilities.max(dim=1)
    return {"recognised": (confidence >= tiny_ddpm.RECOGNISED_PROBABILITY).float().mean().item(),
            "mean_confidence": confidence.mean().item(),
            "class_counts": torch.bincount(predicted, minlength=tiny_ddpm.NUM_CLASSES).tolist()}


def format_eps(result: dict) -> str:
    bands = ", ".join(f"{k} {v:.4f}" for k, v in result.items() if k.startswith("t"))
    return f"{result['all']:.4f} ({bands})"


def write_model_card(path, args, facts) -> None:
    f = facts
    counts = ", ".join(f"{digit}: {n}" for digit, n in enumerate(f["samples"]["class_counts"]))
    card = f"""# tiny-ddpm: a {f['parameters']:,}-parameter DDPM for 16x16 digits

The diffusion model of the quantization evaluation: an epsilon-prediction UNet
(`tools/tiny_ddpm.py`, `TinyUNet`) trained on scikit-learn's handwritten digits upscaled to
16x16, sampled with T = 100 ancestral DDPM steps. Its layers are plain `nn.Conv2d` and
`nn.Linear` (attention has separate q/k/v/out `nn.Linear`s), so forward hooks see the input of
every layer a quantizer would touch. Its samples are judged by `models/digit-classifier`
below; it is not meant to be good at anything else.

| | |
|---|---|
| file | `model.safetensors`, {f['file_bytes'] / 2**20:.1f} MiB (sha256 `{f['sha256'][:8]}…{f['sha256'][-6:]}`), F32, the EMA weights; metadata `config` (JSON, the `TinyUNet` keyword arguments), `seed`, `steps`, `T`, `schedule` (JSON), `batch`, `lr`, `ema_decay` |
| load | `sys.path.insert(0, "tools"); import tiny_ddpm; model = tiny_ddpm.load_model(path); schedule = tiny_ddpm.load_schedule(path)` (the same as `tiny_ddpm.make_schedule()`) |
| shape | {f['shape']} |
| parameters | {f['parameters']:,} ({f['linear_count']} `nn.Linear`, {f['conv_count']} `nn.Conv2d`, GroupNorm affine) |
| schedule | linear betas {args.beta_start:g} .. {args.beta_end:g}, T = {tiny_ddpm.NUM_TIMESTEPS} (x_T keeps sqrt(abar_T) = {f['terminal_signal']:.4f} of x0: Ho et al.'s 1e-4 .. 0.02 for T = 1000 rescaled by 1000 / T, see `make_schedule`); sampler `tiny_ddpm.sample`: ancestral, x0 prediction clipped to [-1, 1], posterior variance, noise from a `torch.Generator` |
| data | scikit-learn `load_digits` (1797 8x8 images, values 0..16) scaled to [-1, 1], bilinearly upscaled to 16x16 (`tiny_ddpm.load_digits_16`); every 5th image (index % 5 == 0) held out: {f['n_test']} test images, {f['n_train']} for training |
| **held-out eps-MSE** | **{format_eps(f['eps_test'])}**: {f['eps_test']['pairs']} (x_t, t) pairs, {EPS_MSE_DRAWS_PER_IMAGE} per held-out image, t uniform in [0, 100) and noise from `torch.Generator().manual_seed({EPS_MSE_SEED})` (`held_out_eps_mse` in the trainer) |
| eps-MSE, other views | training images, same protocol: {format_eps(f['eps_train'])}; the raw (non-EMA) weights on the held-out pairs: {format_eps(f['eps_raw'])} |
| **samples** | **{100 * f['samples']['recognised']:.1f}%** of {SAMPLE_COUNT} samples (`tiny_ddpm.sample(model, {SAMPLE_COUNT}, schedule, torch.Generator().manual_seed({SAMPLE_SEED}))`) are recognised as a digit by `models/digit-classifier` (top-class probability >= {tiny_ddpm.RECOGNISED_PROBABILITY}); held-out real images: {100 * f['real']['recognised']:.1f}%. Mean top-class probability {f['samples']['mean_confidence']:.3f} (real: {f['real']['mean_confidence']:.3f}). Predicted classes: {counts} |
| Frechet distance | {f['fd_samples']:.2f} between the {SAMPLE_COUNT} samples and the {f['n_test']} held-out images in the classifier's 64-d features; for scale, {SAMPLE_COUNT} training images vs the held-out ones: {f['fd_real']:.2f} |

An unconditional model has no labels to be accurate against, so "accuracy on samples" is read
as the recognised fraction above: the share of samples the classifier ({f['classifier_accuracy']}
accurate on held-out images) assigns to one digit with confidence, next to the same share for
real held-out digits.

## How it was made

```
# Debian: python3-torch python3-numpy python3-sklearn python3-scipy libopenblas0-pthread
/usr/bin/python3 tools/train_digit_classifier.py --seed 1234 --threads 1
{f['command']}
```

Epsilon-MSE (uniform t, Gaussian noise) with AdamW (weight decay 0.01, gradient clip 1.0),
learning rate {args.lr:g} with linear warm-up over the first 5% of the steps and cosine decay to
{args.lr / 10:g}; {args.steps} steps of {args.batch} images drawn with replacement from the
{f['n_train']} training images ({args.steps * args.batch / f['n_train']:.0f} passes). EMA of the
weights with decay {args.ema_decay} (ramped as (1+n)/(10+n)); the EMA weights are shipped. Seed
{args.seed}: initialization, batches, timesteps and noise (one generator). Torch
{torch.__version__} on {args.threads} thread(s), BLAS `{f['blas']}`: {f['seconds']:.0f} s of
training on a shared 2-core machine; final loss (mean of the last {LOG_EVERY} steps)
{f['final_loss']:.4f}.
"""
    with open(path, "w") as out:
        out.write(card)


def loaded_blas_library() -> str:
    """File name of the BLAS this process loaded (the reference BLAS makes nn.Linear and the
    attention products ~15x slower than OpenBLAS, so it matters for the training time)."""
    with open("/proc/self/maps") as maps:
        names = {os.path.basename(line.split()[-1]) for line in maps}
    return ", ".join(sorted(n for n in names if n.startswith("lib") and "blas" in n)) or "unknown"


def describe_shape(model: tiny_ddpm.TinyUNet) -> str:
    c = model.config
    return (f"channels {c['outer_channels']} at 16x16, {c['inner_channels']} at 8x8; "
            f"time embedding sinusoidal {c['time_dim']} -> MLP {c['time_dim']}; ResBlocks "
            f"(GroupNorm {c['norm_groups']} groups, SiLU, conv 3x3, time added through a Linear) "
            f"enc16, enc8, mid, mid, dec8, dec16; stride-2 conv down, nearest+conv up, skip "
            f"concatenation; one {c['attention_heads']}-head self-attention at 8x8 (mid)")


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    train_images, _ = tiny_ddpm.load_digits_16("train")
    test_images, _ = tiny_ddpm.load_digits_16("test")
    classifier = tiny_ddpm.load_classifier(args.classifier)
    _, classifier_metadata = tiny_ddpm.read_safetensors(args.classifier)
    schedule = tiny_ddpm.make_schedule(tiny_ddpm.NUM_TIMESTEPS, args.beta_start, args.beta_end)
    raw, ema, final_loss, seconds = train(args, train_images, schedule)

    eps_test = held_out_eps_mse(ema, test_images, schedule)
    eps_raw = held_out_eps_mse(raw, test_images, schedule)
    eps_train = held_out_eps_mse(ema, train_images[:len(test_images)], schedule)
    print(f"held-out eps-MSE (EMA) {format_eps(eps_test)}")
    print(f"held-out eps-MSE (raw) {format_eps(eps_raw)}")
    print(f"train eps-MSE (EMA)    {format_eps(eps_train)}")

    os.makedirs(args.out, exist_ok=True)
    weights_path = os.path.join(args.out, "model.safetensors")
    metadata = {"format": "pt", "config": json.dumps(ema.config), "seed": str(args.seed),
                "steps": str(args.steps), "T": str(schedule.num_timesteps),
                "schedule": json.dumps(schedule.describe()), "batch": str(args.batch),
                "lr": f"{args.lr:g}", "ema_decay": f"{args.ema_decay:g}", "weights": "ema"}
    tiny_ddpm.write_safetensors(weights_path, ema.state_dict(), metadata)
    model = tiny_ddpm.load_model(weights_path)  # everything below uses the shipped file

    start = time.time()
    samples = tiny_ddpm.sample(model, SAMPLE_COUNT, schedule,
                               torch.Generator().manual_seed(SAMPLE_SEED))
    print(f"sampled {SAMPLE_COUNT} images in {time.time() - start:.0f}s")
    with torch.no_grad():
        reference = classifier.features(test_images)
        fd_samples = tiny_ddpm.frechet_distance(classifier.features(samples), reference)
        fd_real = tiny_ddpm.frechet_distance(
            classifier.features(train_images[:SAMPLE_COUNT]), reference)
    verdict, real_verdict = judge(classifier, samples), judge(classifier, test_images)
    print(f"samples recognised {100 * verdict['recognised']:.1f}% (real "
          f"{100 * real_verdict['recognised']:.1f}%), classes {verdict['class_counts']}, "
          f"FD {fd_samples:.2f} (real {fd_real:.2f})")

    with open(weights_path, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    modules = list(model.modules())
    facts = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "linear_count": sum(isinstance(m, nn.Linear) for m in modules),
        "conv_count": sum(isinstance(m, nn.Conv2d) for m in modules),
        "shape": describe_shape(model), "file_bytes": os.path.getsize(weights_path),
        "sha256": sha256, "n_train": len(train_images), "n_test": len(test_images),
        "eps_test": eps_test, "eps_raw": eps_raw, "eps_train": eps_train,
        "samples": verdict, "real": real_verdict, "fd_samples": fd_samples, "fd_real": fd_real,
        "seconds": seconds, "final_loss": final_loss,
        "terminal_signal": schedule.alphas_cumprod[-1].sqrt().item(),
        "blas": loaded_blas_library(),
        "classifier_accuracy": f"{100 * float(classifier_metadata['held_out_accuracy']):.1f}%",
        "command": "/usr/bin/python3 " + shlex.join(
            ["tools/train_tiny_ddpm.py", "--seed", str(args.seed), "--steps", str(args.steps),
             "--batch", str(args.batch), "--lr", f"{args.lr:g}", "--beta-start",
             f"{args.beta_start:g}", "--beta-end", f"{args.beta_end:g}", "--ema-decay",
             f"{args.ema_decay:g}", "--threads", str(args.threads), "--out", args.out]),
    }
    write_model_card(os.path.join(args.out, "MODEL_CARD.md"), args, facts)
    print(f"wrote {weights_path} and MODEL_CARD.md")


if __name__ == "__main__":
    main(ARGS)

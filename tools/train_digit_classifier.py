#!/usr/bin/python3
"""Train the 16x16 digit classifier that judges tiny-ddpm's samples, and write its model card.

The classifier is an evaluation instrument only: its held-out accuracy says how far to trust
it, its softmax says whether a generated image looks like a digit, and its penultimate features
(`DigitClassifier.features`) give a Frechet distance between generated and real digits. It is
trained on the "train" split of `tiny_ddpm.load_digits_16` (scikit-learn's digits, every 5th
image held out), so the DDPM and the classifier never see the held-out images.

Debian packages: python3-torch python3-numpy python3-sklearn (libopenblas0-pthread
recommended). Run with Debian's /usr/bin/python3. The command used for models/digit-classifier:
  /usr/bin/python3 tools/train_digit_classifier.py --seed 1234 --threads 1
"""

import argparse
import os
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train tiny_ddpm.DigitClassifier on the train split of the 16x16 digits, "
                    "report its held-out accuracy and write model.safetensors and "
                    "MODEL_CARD.md to --out.")
    parser.add_argument("--seed", type=int, default=1234,
                        help="seed of the initialization and the batch order (default 1234)")
    parser.add_argument("--epochs", type=int, default=30, help="passes over the 1437 training "
                        "images (default 30)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--lr", type=float, default=2e-3,
                        help="peak AdamW learning rate, cosine-decayed to 0 (default 2e-3)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch/OpenMP/BLAS threads (default 1)")
    parser.add_argument("--out", default="models/digit-classifier",
                        help="output directory (default models/digit-classifier)")
    return parser.parse_args()


# Parsed before torch is imported: OpenMP and OpenBLAS size their thread pools when they load.
ARGS = parse_args()
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_ddpm  # noqa: E402

def random_shift(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by up to one pixel in x and y (edge padding).

    Generated digits are not centred exactly like the scanned ones; a classifier that has
    seen small shifts judges them on their shape rather than on their position.
    """
    padded = F.pad(images, (1, 1, 1, 1), mode="replicate")
    offsets = torch.randint(0, 3, (len(images), 2), generator=generator)
    size = tiny_ddpm.IMAGE_SIZE
    return torch.stack([padded[i, :, dy:dy + size, dx:dx + size]
                        for i, (dy, dx) in enumerate(offsets.tolist())])


@torch.no_grad()
def evaluate(model: tiny_ddpm.DigitClassifier, images: torch.Tensor,
             labels: torch.Tensor) -> dict:
    """Accuracy, and the fraction of images whose top class reaches
    tiny_ddpm.RECOGNISED_PROBABILITY: the real-image reference for the recognised fraction of
    generated digits in tiny-ddpm's model card."""
    model.eval()
    confidence, predicted = torch.softmax(model(images), dim=1).max(dim=1)
    recognised = confidence >= tiny_ddpm.RECOGNISED_PROBABILITY
    return {"accuracy": (predicted == labels).float().mean().item(),
            "recognised": recognised.float().mean().item(),
            "errors": int((predicted != labels).sum())}


def train(args: argparse.Namespace, images: torch.Tensor, labels: torch.Tensor):
    """AdamW with a cosine-decayed learning rate; returns (model, final epoch loss, seconds)."""
    torch.manual_seed(args.seed)
    model = tiny_ddpm.DigitClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(args.seed)
    steps_per_epoch = math.ceil(len(images) / args.batch)
    total_steps = args.epochs * steps_per_epoch
    start = time.time()
    step = 0
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        loss_sum = 0.0
        for first in range(0, len(images), args.batch):
            batch = order[first:first + args.batch]
            for group in optimizer.param_groups:
                group["lr"] = args.lr * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
            loss = F.cross_entropy(model(random_shift(images[batch], generator)), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(batch)
            step += 1
        epoch_loss = loss_sum / len(images)
        print(f"epoch {epoch + 1:3d}  step {step:5d}  loss {epoch_loss:.4f}  "
              f"elapsed {time.time() - start:6.1f}s", flush=True)
    return model, epoch_loss, time.time() - start


def write_model_card(path: str, args: argparse.Namespace, parameters: int, file_bytes: int,
                     loss: float, seconds: float, held_out: dict, n_held_out: int) -> None:
    card = f"""# digit-classifier: a {parameters:,}-parameter CNN for 16x16 digits (evaluation only)

The judge of `models/tiny-ddpm`: its softmax says whether a generated 16x16 image looks like
a digit, and its 64-d penultimate features (`tiny_ddpm.DigitClassifier.features`) give a
Frechet distance between generated and real digits. It is used only for evaluation; it is not
a model to quantize or ship.

| | |
|---|---|
| file | `model.safetensors`, {file_bytes / 1024:.0f} KiB, F32; metadata `config` (JSON), `seed`, `epochs`, `held_out_accuracy` |
| shape | conv 3x3 1->32, ReLU, max-pool to 8x8; conv 3x3 32->64, ReLU, max-pool to 4x4; conv 3x3 64->64, ReLU; linear 1024->64, ReLU (the features); linear 64->10 |
| parameters | {parameters:,} |
| data | scikit-learn `load_digits` (1797 8x8 images, values 0..16) scaled to [-1, 1] and bilinearly upscaled to 16x16 (`tiny_ddpm.load_digits_16`); every 5th image (index % 5 == 0) held out: {n_held_out} test images, the other 1437 for training |
| **held-out accuracy** | **{100 * held_out['accuracy']:.2f}%** ({held_out['errors']} errors in {n_held_out}) |
| held-out recognised | {100 * held_out['recognised']:.1f}% of held-out images get top-class probability >= {tiny_ddpm.RECOGNISED_PROBABILITY} (`tiny_ddpm.RECOGNISED_PROBABILITY`; the real-image reference for the recognised fraction of generated digits in tiny-ddpm's card) |

## How it was made

```
# Debian: python3-torch python3-numpy python3-sklearn (libopenblas0-pthread recommended)
/usr/bin/python3 tools/train_digit_classifier.py --seed {args.seed} --epochs {args.epochs} \\
    --batch {args.batch} --lr {args.lr:g} --threads {args.threads}
```

Cross-entropy, AdamW (weight decay 1e-4), learning rate {args.lr:g} cosine-decayed to 0 over
{args.epochs} epochs of batches of {args.batch}. Every training image is shifted by up to one
pixel in x and y (edge padding), so that generated digits, which are not centred exactly like
the scanned ones, are judged on their shape. Seed {args.seed}: initialization, batch order and
shifts. Torch {torch.__version__} on {args.threads} thread(s): {seconds:.0f} s of training;
final epoch loss {loss:.4f}.
"""
    with open(path, "w") as f:
        f.write(card)


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    train_images, train_labels = tiny_ddpm.load_digits_16("train")
    test_images, test_labels = tiny_ddpm.load_digits_16("test")
    model, loss, seconds = train(args, train_images, train_labels)
    held_out = evaluate(model, test_images, test_labels)
    print(f"held-out accuracy {100 * held_out['accuracy']:.2f}% "
          f"({held_out['errors']} errors in {len(test_labels)}), recognised "
          f"(p >= {tiny_ddpm.RECOGNISED_PROBABILITY}) {100 * held_out['recognised']:.1f}%")

    os.makedirs(args.out, exist_ok=True)
    weights_path = os.path.join(args.out, "model.safetensors")
    metadata = {"format": "pt", "config": json.dumps(model.config), "seed": str(args.seed),
                "epochs": str(args.epochs), "held_out_accuracy": f"{held_out['accuracy']:.4f}"}
    tiny_ddpm.write_safetensors(weights_path, model.state_dict(), metadata)
    reloaded = tiny_ddpm.load_classifier(weights_path)
    if evaluate(reloaded, test_images, test_labels) != held_out:
        raise RuntimeError(f"{weights_path} does not reproduce the trained model's accuracy")
    parameters = sum(p.numel() for p in model.parameters())
    write_model_card(os.path.join(args.out, "MODEL_CARD.md"), args, parameters,
                     os.path.getsize(weights_path), loss, seconds, held_out, len(test_labels))
    print(f"wrote {weights_path} ({parameters:,} parameters) and MODEL_CARD.md")


if __name__ == "__main__":
    main(ARGS)

#!/usr/bin/python3
"""Train a tiny float Llama model on the Debian `fortunes` corpus (the corpus, split and
tokenizer of models/tiny-bitnet) and export it in Hugging Face style (SafeTensors +
config.json + tokenizer files) for `lowbit convert`.

Not part of `make test`. Reuses tools/train_tiny_bitnet.py (imported, not copied) for the
corpus and its held-out split, the tokenizer, the batches, the optimizer and schedule, the
training loop with checkpoints/--resume and the windowed perplexity. What is new here is the
model: LlamaForCausalLM in plain float (no quantization-aware training): RMSNorm, GQA attention
with Hugging Face rotate-half RoPE, SwiGLU FFN (gate/up/down, SiLU), tied embedding.

The tokenizer is not retrained: it is read back from models/tiny-bitnet/tokenizer.json (the
very file that model ships) and checked to serialize to the same JSON; --check-tokenizer also
retrains the BPE on the training text the way train_tiny_bitnet.py does and checks that it
finds the same merges. The held-out text produced by the split is checked to be byte-equal to
models/tiny-bitnet/heldout.txt.

Debian packages: python3-torch python3-numpy python3-regex fortunes libopenblas0-pthread.
Run with Debian's /usr/bin/python3.

Example (the command used for models/tiny-llama, see its MODEL_CARD.md):
  /usr/bin/python3 tools/train_tiny_llama.py --out build/tiny-llama \
      --export build/tiny-llama/tiny-llama --model-dir models/tiny-llama \
      --seed 1234 --steps 450 --threads 1 --check-tokenizer
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_tiny_bitnet as tb  # noqa: E402  (sets the thread env vars from --threads first)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BITNET_DIR = os.path.join(HERE, "..", "models", "tiny-bitnet")


# ---------------------------------------------------------------------------------------------
# Tokenizer: read back from the tiny-bitnet export
# ---------------------------------------------------------------------------------------------

def tokenizer_from_hf_json(path):
    """tb.Tokenizer from a tokenizer.json written by tb.Tokenizer.hf_tokenizer_json: token
    strings are GPT-2 byte-to-unicode strings, merges are "left right" pairs in rank order."""
    with open(path, encoding="utf-8") as f:
        j = json.load(f)
    char_to_byte = {c: b for b, c in tb.BYTE_TO_CHAR.items()}
    vocab = j["model"]["vocab"]
    token_bytes = [None] * len(vocab)
    for s, i in vocab.items():
        token_bytes[i] = bytes(char_to_byte[c] for c in s)
    assert all(t is not None for t in token_bytes), "vocabulary ids are not 0..n-1"
    merges = []
    for m in j["model"]["merges"]:
        a, b = m.split(" ")
        merges.append((vocab[a], vocab[b]))
    tok = tb.Tokenizer(token_bytes, merges)
    assert tok.hf_tokenizer_json() == j, f"{path} does not round-trip through tb.Tokenizer"
    specials = {t["content"]: t["id"] for t in j["added_tokens"]}
    assert specials == tok.special_ids, (specials, tok.special_ids)
    return tok


# ---------------------------------------------------------------------------------------------
# Model: LlamaForCausalLM, float
# ---------------------------------------------------------------------------------------------

@dataclass
class LlamaConfig:
    vocab_size: int = 2048
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 64
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 256


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hd = cfg.hidden_size, cfg.head_dim
        self.n_head, self.n_kv, self.hd = cfg.num_attention_heads, cfg.num_key_value_heads, hd
        self.q_proj = nn.Linear(d, self.n_head * hd, bias=False)
        self.k_proj = nn.Linear(d, self.n_kv * hd, bias=False)
        self.v_proj = nn.Linear(d, self.n_kv * hd, bias=False)
        self.o_proj = nn.Linear(self.n_head * hd, d, bias=False)

    def forward(self, h, cos, sin, mask):
        B, T, _ = h.shape
        q = self.q_proj(h).view(B, T, self.n_head, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        # Hugging Face Llama layout: rotate_half pairs dimension i with i + head_dim/2.
        q = q * cos + tb.rotate_half(q) * sin
        k = k * cos + tb.rotate_half(k) * sin
        g = self.n_head // self.n_kv           # query head i uses kv head i // g
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        a = (att @ v).transpose(1, 2).reshape(B, T, self.n_head * self.hd)
        return self.o_proj(a)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = tb.RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = tb.RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaLM(nn.Module):
    """Parameter names are those of Hugging Face's LlamaForCausalLM minus the "model." prefix
    (the tied head has no tensor of its own)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = tb.RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        cos, sin = tb.rope_tables(cfg.head_dim, cfg.max_position_embeddings, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        # GPT-2 style: N(0, 0.02), the two residual output projections scaled by 1/sqrt(2L).
        resid_std = 0.02 / math.sqrt(2 * self.cfg.num_hidden_layers)
        for name, p in self.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                nn.init.ones_(p)
            elif name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=resid_std)
            else:
                nn.init.normal_(p, mean=0.0, std=0.02)

    def forward(self, ids):
        B, T = ids.shape
        x = self.embed_tokens(ids)
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return F.linear(self.norm(x), self.embed_tokens.weight)   # tied head


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------

@torch.no_grad()
def round_matrices_to_f16(model):
    """Every 2-D weight (embedding/head and linears) to float16-representable values: the
    GGUF made with `--type F16 --embedding-type F16` holds exactly these; norms stay float32."""
    for p in model.parameters():
        if p.dim() == 2:
            p.copy_(p.half().float())


def export_tensors(model):
    return {"model." + name: p.detach().numpy() for name, p in model.named_parameters()}


def hf_config(cfg, tok):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": cfg.head_dim,
        "hidden_act": "silu",
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": cfg.rope_theta,
        "rope_scaling": None,
        "max_position_embeddings": cfg.max_position_embeddings,
        "vocab_size": cfg.vocab_size,
        "tie_word_embeddings": True,
        "attention_bias": False,
        "mlp_bias": False,
        "initializer_range": 0.02,
        "bos_token_id": tok.bos_id,
        "eos_token_id": tok.eos_id,
        "torch_dtype": "float32",
        "lowbit_export": {"weights": "float32 values; every matrix exactly float16-representable"},
    }


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="build/tiny-llama",
                    help="work folder: checkpoint, log, tokenizer state, summary")
    ap.add_argument("--export", default=None,
                    help="Hugging Face folder to write (default OUT/tiny-llama; its name becomes "
                         "general.name in the GGUF that `lowbit convert` makes of it)")
    ap.add_argument("--model-dir", default=os.path.join(HERE, "..", "models", "tiny-llama"),
                    help="folder for the small committed files (held-out text, config, tokenizer)")
    ap.add_argument("--bitnet-dir", default=BITNET_DIR,
                    help="the tiny-bitnet model folder whose tokenizer and held-out text are reused")
    ap.add_argument("--fortunes", default="/usr/share/games/fortunes")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=450)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--lr-floor", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--ffn", type=int, default=768)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-windows", type=int, default=48)
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    ap.add_argument("--export-only", action="store_true",
                    help="skip training: load OUT/checkpoint.pt (must be complete) and export")
    ap.add_argument("--check-tokenizer", action="store_true",
                    help="also retrain the BPE on the training text and check it equals the "
                         "loaded tokenizer")
    ap.add_argument("--time-steps", type=int, default=0,
                    help="only time this many training steps (no checkpoint, no export) and exit")
    a = ap.parse_args()
    if a.export is None:
        a.export = os.path.join(a.out, "tiny-llama")
    return a


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.export, exist_ok=True)
    os.makedirs(args.model_dir, exist_ok=True)
    logf = open(os.path.join(args.out, "train.log"), "a", encoding="utf-8")

    def log(msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    log(f"torch {torch.__version__}, threads {torch.get_num_threads()}, seed {args.seed}, "
        f"args {vars(args)}")

    # 1. corpus: the tiny-bitnet split, checked against its committed held-out file
    files, fortunes = tb.read_fortunes(args.fortunes)
    train_f, held_f = tb.split_fortunes(fortunes)
    train_text, held_text = tb.join_fortunes(train_f), tb.join_fortunes(held_f)
    held_bytes = held_text.encode("utf-8")
    with open(os.path.join(args.bitnet_dir, "heldout.txt"), "rb") as f:
        bitnet_held = f.read()
    assert held_bytes == bitnet_held, "the split does not reproduce tiny-bitnet's heldout.txt"
    heldout_path = os.path.join(args.model_dir, "heldout.txt")
    with open(heldout_path, "wb") as f:
        f.write(held_bytes)
    log(f"corpus: {len(files)} files, {len(fortunes)} fortunes; train {len(train_f)} "
        f"({len(train_text.encode())} bytes), held out {len(held_f)} ({len(held_bytes)} bytes, "
        f"byte-equal to {args.bitnet_dir}/heldout.txt) -> {heldout_path}")

    # 2. tokenizer: tiny-bitnet's, read back from its tokenizer.json
    tok = tokenizer_from_hf_json(os.path.join(args.bitnet_dir, "tokenizer.json"))
    log(f"tokenizer: {tok.vocab_size} tokens, {len(tok.merges)} merges, bos {tok.bos_id}, "
        f"eos {tok.eos_id} (from {args.bitnet_dir}/tokenizer.json, round-trips exactly)")
    if args.check_tokenizer:
        t0 = time.time()
        token_bytes, merges = tb.train_bpe(train_text, tok.n_normal)
        assert token_bytes == tok.token_bytes and [tuple(m) for m in merges] == tok.merges, \
            "retrained BPE differs from tiny-bitnet's tokenizer"
        log(f"tokenizer check: BPE retrained on the training text in {time.time() - t0:.0f}s "
            f"gives the same {len(merges)} merges")
    with open(os.path.join(args.bitnet_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        assert json.load(f) == tok.hf_tokenizer_config(args.seq_len)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        for d in (args.model_dir, args.export):
            shutil.copyfile(os.path.join(args.bitnet_dir, name), os.path.join(d, name))

    data = tb.TrainData(tok, train_f)
    val_ids = tok.encode(held_text, bos=True)
    log(f"tokens: train {data.ids.numel()}, held out {len(val_ids)} (BOS prepended once)")

    # 3. model
    cfg = LlamaConfig(vocab_size=tok.vocab_size, hidden_size=args.hidden,
                      intermediate_size=args.ffn, num_hidden_layers=args.layers,
                      num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                      head_dim=args.head_dim, rope_theta=args.rope_theta,
                      max_position_embeddings=args.seq_len)
    model = LlamaLM(cfg)
    n_params = tb.count_params(model)
    log(f"model: {n_params} parameters, config {asdict(cfg)}")

    if args.time_steps:
        opt = tb.make_optimizer(model, args.lr, args.weight_decay)
        model.train()
        for k in range(args.time_steps):
            t0 = time.time()
            x, y = data.batch(args.seed, k, args.batch_size, args.seq_len)
            lg = model(x)
            loss = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            log(f"timing step {k + 1}: loss {loss.item():.4f} {time.time() - t0:.2f}s")
        t0 = time.time()
        vl = tb.quick_val_loss(model, val_ids, args.eval_windows)
        log(f"timing: quick val ({args.eval_windows} windows) {vl:.4f} in {time.time() - t0:.1f}s")
        return

    # 4. train (tb.train: batches are a function of seed and step; checkpoints; --resume)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    meta = {"corpus_files": files, "n_fortunes_train": len(train_f),
            "n_fortunes_heldout": len(held_f), "train_tokens": data.ids.numel(),
            "heldout_tokens": len(val_ids)}
    if args.export_only:
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        meta.update(ck["meta"])
        assert ck["step"] == args.steps, f"checkpoint is at step {ck['step']}, not {args.steps}"
        log(f"loaded {ckpt_path} (step {ck['step']})")
    else:
        meta = tb.train(model, data, args, val_ids, ckpt_path, meta, log, tok)
    meta["tokens_seen"] = args.steps * args.batch_size * args.seq_len

    # 5. evaluation of the float32 weights (information), then export of the f16-rounded ones
    t0 = time.time()
    tot32, cnt32, _ = tb.window_nll(model, val_ids, 128)
    round_matrices_to_f16(model)
    model.eval()
    tot, cnt, per_window = tb.window_nll(model, val_ids, 128)
    assert cnt == cnt32
    ppl = math.exp(tot / cnt)
    ppl32 = math.exp(tot32 / cnt32)
    # unigram baseline: training-token frequencies (add-one), scored on the same tokens
    counts = torch.bincount(data.ids, minlength=tok.vocab_size).double() + 1.0
    logp = (counts / counts.sum()).log()
    scored = [t for w in tb.windows(val_ids, 128) for t in w[1:]]
    uni_ppl = math.exp(-float(logp[torch.tensor(scored)].mean()))
    log(f"held-out perplexity (windows of 128, fresh context, BOS once): {ppl:.4f} with "
        f"f16-rounded weights (mean NLL {tot / cnt:.6f}, {cnt} scored tokens, "
        f"{len(tb.windows(val_ids, 128))} windows); float32 weights {ppl32:.4f}; unigram "
        f"baseline {uni_ppl:.2f}  [{time.time() - t0:.0f}s]")

    tensors = export_tensors(model)
    tb.write_safetensors(os.path.join(args.export, "model.safetensors"), tensors, {"format": "pt"})
    conf = hf_config(cfg, tok)
    for d in (args.export, args.model_dir):
        tb.write_json(os.path.join(d, "config.json"), conf)
    tb.write_json(os.path.join(args.export, "generation_config.json"),
                  {"bos_token_id": tok.bos_id, "eos_token_id": tok.eos_id, "do_sample": False})
    log(f"exported {len(tensors)} tensors to {args.export}/model.safetensors")

    # reference outputs for comparing an engine against (not committed)
    samples = []
    for text in tb.PROMPTS:
        ids = tok.encode(text, bos=True)
        gen, margins = tb.greedy(model, ids, 40)
        with torch.no_grad():
            last = model(torch.tensor([ids]))[0, -1]
        samples.append({"prompt": text, "ids": ids, "greedy_ids": gen,
                        "greedy": tok.decode(gen),
                        "min_margin_first_32": round(min(margins[:32]), 6),
                        "last_logits_top5": torch.topk(last, 5).indices.tolist(),
                        "last_logits": [round(float(v), 6) for v in last]})
        log(f"sample: {text!r} -> {tok.decode(gen)!r}")
    summary = {"parameters": n_params, "config": asdict(cfg), "torch_version": torch.__version__,
               "seed": args.seed, "args": vars(args),
               "heldout": {"window": 128, "n_tokens": len(val_ids), "n_scored": cnt,
                           "nll_sum": round(tot, 4), "mean_nll": round(tot / cnt, 6),
                           "ppl_f16_weights": round(ppl, 4), "ppl_f32_weights": round(ppl32, 4),
                           "ppl_unigram": round(uni_ppl, 2),
                           "window_nll_sums": [round(v, 4) for v in per_window]},
               "training": tb.training_summary(meta), "samples": samples}
    tb.write_json(os.path.join(args.out, "summary.json"), summary)
    log("done")


if __name__ == "__main__":
    main()

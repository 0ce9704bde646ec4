#!/usr/bin/python3
"""Train a tiny BitNet b1.58 language model on the Debian `fortunes` corpus, export it in
Hugging Face style (SafeTensors + config.json + tokenizer files) and write a parity fixture
(reference outputs of the PyTorch model in eval mode) for lowbit's C++ engine.

Not part of `make test`: nothing here runs in CI. The committed fixture lets the C++ tests run
without PyTorch.

Debian packages (install by hand, `apt-get install -y --no-install-recommends ...`):
  python3-torch python3-numpy python3-regex fortunes
  libopenblas0-pthread   strongly recommended: Debian's torch calls the system libblas.so.3,
                         and the reference BLAS it falls back to is ~30x slower than OpenBLAS.
Run with Debian's /usr/bin/python3 (a pyenv `python3` on PATH lacks these packages).

Pipeline (one script, stages in this order):
  1. corpus     every fortune file in /usr/share/games/fortunes (not the .dat/.u8 index files),
                split on lines that are exactly "%"; every 20th fortune (index % 20 == 10, in
                sorted-file order) is held out for validation.
  2. tokenizer  byte-level BPE (GPT-2 bytes_to_unicode), Llama-3 pre-tokenizer regex, merges
                learned on the training text; ids: 256 bytes, merge results, then 5 specials.
  3. model      BitNet b1.58 (RMSNorm, attn/ffn sub-norms, ReLU^2 gated FFN, NEOX RoPE, GQA,
                tied embedding), quantization-aware training from the first step: absmean
                ternary weights and per-token int8 activations with straight-through estimators.
  4. train      AdamW, linear warm-up + cosine decay, deterministic batches (a function of
                seed and step only, so a resumed run sees the same data), checkpoints.
  5. export     embedding rounded to float16-representable values; linears exported as their
                effective values (ternary x per-tensor scale) in float32.
  6. fixture    token ids, full logits, greedy continuations and held-out perplexity of the
                exported model in eval mode (exact integer BitLinear path).

Example (the command used for models/tiny-bitnet, see its MODEL_CARD.md):
  /usr/bin/python3 tools/train_tiny_bitnet.py --out build/tiny-bitnet \
      --model-dir models/tiny-bitnet --seed 1234 --steps 900 --threads 1
"""

import argparse
import os
import sys


def _early_threads(argv):
    """Thread count from the command line, applied before torch/numpy are imported."""
    n = "1"
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            n = argv[i + 1]
        elif a.startswith("--threads="):
            n = a.split("=", 1)[1]
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = n
    return int(n)


_THREADS = _early_threads(sys.argv)

import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402

import heapq  # noqa: E402
import numpy as np  # noqa: E402
import regex  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(_THREADS)
torch.set_num_interop_threads(1)

FIXTURE_FORMAT = "lowbit-parity-fixture"
FIXTURE_VERSION = 1

# ---------------------------------------------------------------------------------------------
# 1. Corpus
# ---------------------------------------------------------------------------------------------

FORTUNE_SEPARATOR = "\n%\n"
HOLDOUT_EVERY = 20   # fortune i is held out when i % HOLDOUT_EVERY == HOLDOUT_OFFSET
HOLDOUT_OFFSET = 10


def fortune_files(folder):
    """Fortune text files in sorted order: regular files, not the strfile indexes (.dat) and
    not the .u8 symlinks (which point at the same text)."""
    names = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".dat") or name.endswith(".u8"):
            continue
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        names.append(name)
    return names


def read_fortunes(folder):
    """All fortunes of all files, in file order then in-file order. A fortune is the text
    between lines that contain only "%" (the lines joined with "\\n", no trailing newline);
    whitespace-only fortunes are dropped. The text is kept verbatim otherwise (tabs, the odd
    backspace/bell of old overstrike formatting)."""
    fortunes = []
    files = fortune_files(folder)
    for name in files:
        with open(os.path.join(folder, name), "rb") as f:
            text = f.read().decode("utf-8")
        cur = []
        for line in text.split("\n"):
            if line == "%":
                fortunes.append("\n".join(cur))
                cur = []
            else:
                cur.append(line)
        fortunes.append("\n".join(cur))
    fortunes = [f.strip("\n") for f in fortunes]
    fortunes = [f for f in fortunes if f.strip()]
    return files, fortunes


def split_fortunes(fortunes):
    train, held = [], []
    for i, f in enumerate(fortunes):
        (held if i % HOLDOUT_EVERY == HOLDOUT_OFFSET else train).append(f)
    return train, held


def join_fortunes(fortunes):
    """The text layout used for both training and the held-out file: fortunes separated by
    "\\n%\\n" (the fortune file format) and a final newline."""
    return FORTUNE_SEPARATOR.join(fortunes) + "\n"


# ---------------------------------------------------------------------------------------------
# 2. Tokenizer: byte-level BPE with the Llama-3 pre-tokenizer
# ---------------------------------------------------------------------------------------------

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                  "<|end_header_id|>", "<|eot_id|>"]


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character mapping."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR = bytes_to_unicode()
_PRETOK = regex.compile(LLAMA3_PATTERN)


def pretokenize(text):
    return _PRETOK.findall(text)


def merge_pair(sym, a, b, new):
    """`sym` with every non-overlapping (a, b), left to right, replaced by `new`."""
    out = []
    i = 0
    while i < len(sym):
        if i + 1 < len(sym) and sym[i] == a and sym[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(sym[i])
            i += 1
    return out


def train_bpe(text, n_tokens):
    """Standard BPE training on pre-tokenized words. Returns (token_bytes, merges) where
    token_bytes[id] is the byte string of token id (ids 0..255 are the single bytes) and
    merges is the ordered list of (left_id, right_id) pairs, rank = list index.

    Each step merges the most frequent adjacent pair (counted over word frequencies); ties go to
    the lexicographically smallest (left bytes, right bytes). Occurrences in a word are merged
    left to right without overlap (as GPT-2 encoding does). A merge whose result already
    exists as a token (reachable by another pair) reuses that token's id, so the vocabulary
    can be smaller than 256 + number of merges; training stops when `n_tokens` non-special
    tokens exist."""
    counts = Counter(pretokenize(text))
    words = []
    freqs = []
    for w in sorted(counts):
        words.append(list(w.encode("utf-8")))
        freqs.append(counts[w])
    token_bytes = [bytes([b]) for b in range(256)]
    token_id = {tb: i for i, tb in enumerate(token_bytes)}
    pair_count = Counter()
    pair_where = {}
    for wi, sym in enumerate(words):
        for a, b in zip(sym, sym[1:]):
            pair_count[(a, b)] += freqs[wi]
            pair_where.setdefault((a, b), set()).add(wi)

    heap = [(-c, token_bytes[a], token_bytes[b], a, b) for (a, b), c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(token_bytes) < n_tokens and heap:
        negc, _, _, a, b = heapq.heappop(heap)
        if pair_count.get((a, b), 0) != -negc or -negc < 2:
            if pair_count.get((a, b), 0) == -negc and -negc < 2:
                break  # the best remaining pair occurs once: nothing left worth merging
            continue  # stale heap entry
        merged = token_bytes[a] + token_bytes[b]
        new = token_id.get(merged)
        if new is None:
            new = len(token_bytes)
            token_bytes.append(merged)
            token_id[merged] = new
        merges.append((a, b))
        changed = set()
        for wi in sorted(pair_where.get((a, b), ())):
            sym = words[wi]
            fr = freqs[wi]
            for p in zip(sym, sym[1:]):
                pair_count[p] -= fr
                changed.add(p)
                if pair_count[p] == 0:
                    del pair_count[p]
                ws = pair_where.get(p)
                if ws is not None:
                    ws.discard(wi)
            out = merge_pair(sym, a, b, new)
            words[wi] = out
            for p in zip(out, out[1:]):
                pair_count[p] += fr
                changed.add(p)
                pair_where.setdefault(p, set()).add(wi)
        for p in changed:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, token_bytes[p[0]], token_bytes[p[1]], p[0], p[1]))
    return token_bytes, merges


class Tokenizer:
    """Byte-level BPE encoder/decoder (GPT-2 / Llama-3 semantics).

    encode: split with the Llama-3 regex; for each piece, if its whole byte string is a token
    it is emitted as is (Llama-3's "ignore_merges": true), otherwise the lowest-rank adjacent
    pair is merged repeatedly (all its occurrences, left to right) until no ranked pair is left.
    Special tokens are never produced from text."""

    def __init__(self, token_bytes, merges):
        self.token_bytes = list(token_bytes)
        self.merges = list(merges)
        self.n_normal = len(self.token_bytes)
        self.specials = list(SPECIAL_TOKENS)
        self.special_ids = {s: self.n_normal + i for i, s in enumerate(self.specials)}
        self.bos_id = self.special_ids["<|begin_of_text|>"]
        self.eos_id = self.special_ids["<|end_of_text|>"]
        self.eot_id = self.special_ids["<|eot_id|>"]
        self.vocab_size = self.n_normal + len(self.specials)
        self.id_of = {tb: i for i, tb in enumerate(self.token_bytes)}
        self.rank = {}
        for r, (a, b) in enumerate(self.merges):
            self.rank.setdefault((a, b), (r, self.id_of[self.token_bytes[a] + self.token_bytes[b]]))
        self.ignore_merges = True
        self._cache = {}

    def token_str(self, i):
        if i >= self.n_normal:
            return self.specials[i - self.n_normal]
        return "".join(BYTE_TO_CHAR[b] for b in self.token_bytes[i])

    def bpe_word(self, wb):
        """Merge-rank BPE of one pre-token (bytes), ignoring the whole-word shortcut."""
        sym = list(wb)
        while len(sym) > 1:
            best = None
            for p in zip(sym, sym[1:]):
                rr = self.rank.get(p)
                if rr is not None and (best is None or rr[0] < best[0]):
                    best = (rr[0], p, rr[1])
            if best is None:
                break
            _, (a, b), new = best
            sym = merge_pair(sym, a, b, new)
        return sym

    def encode_word(self, w):
        ids = self._cache.get(w)
        if ids is None:
            wb = w.encode("utf-8")
            whole = self.id_of.get(wb)
            if self.ignore_merges and whole is not None:
                ids = [whole]
            else:
                ids = self.bpe_word(wb)
            self._cache[w] = ids
        return ids

    def encode(self, text, bos=False):
        out = [self.bos_id] if bos else []
        for w in pretokenize(text):
            out.extend(self.encode_word(w))
        return out

    def decode_bytes(self, ids):
        return b"".join(self.token_bytes[i] if i < self.n_normal
                        else self.specials[i - self.n_normal].encode("utf-8") for i in ids)

    def decode(self, ids):
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def merge_shortcut_mismatches(self, text):
        """Pre-tokens of `text` whose encoding differs with and without ignore_merges."""
        bad = set()
        for w in set(pretokenize(text)):
            wb = w.encode("utf-8")
            if wb in self.id_of and self.bpe_word(wb) != [self.id_of[wb]]:
                bad.add(w)
        return sorted(bad)

    # --- Hugging Face files ---
    def hf_tokenizer_json(self):
        vocab = {self.token_str(i): i for i in range(self.n_normal)}
        assert len(vocab) == self.n_normal, "duplicate token strings"
        merges = [self.token_str(a) + " " + self.token_str(b) for a, b in self.merges]
        added = [{"id": self.special_ids[s], "content": s, "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": True} for s in self.specials]
        bos = "<|begin_of_text|>"
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated",
                 "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                 "use_regex": False}]},
            "post_processor": {"type": "Sequence", "processors": [
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                 "use_regex": True},
                {"type": "TemplateProcessing",
                 "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                            {"Sequence": {"id": "A", "type_id": 0}}],
                 "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                          {"Sequence": {"id": "A", "type_id": 0}},
                          {"SpecialToken": {"id": bos, "type_id": 1}},
                          {"Sequence": {"id": "B", "type_id": 1}}],
                 "special_tokens": {bos: {"id": bos, "ids": [self.bos_id], "tokens": [bos]}}}]},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                        "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": None, "end_of_word_suffix": None,
                      "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                      "vocab": vocab, "merges": merges},
        }

    def hf_tokenizer_config(self, max_len):
        return {
            "add_bos_token": True,
            "add_eos_token": False,
            "bos_token": "<|begin_of_text|>",
            "eos_token": "<|end_of_text|>",
            "clean_up_tokenization_spaces": False,
            "model_max_length": max_len,
            "tokenizer_class": "PreTrainedTokenizerFast",
            "added_tokens_decoder": {str(self.special_ids[s]): {
                "content": s, "lstrip": False, "normalized": False, "rstrip": False,
                "single_word": False, "special": True} for s in self.specials},
        }

    def state(self):
        return {"token_bytes": [tb.hex() for tb in self.token_bytes], "merges": self.merges}

    @classmethod
    def from_state(cls, st):
        return cls([bytes.fromhex(h) for h in st["token_bytes"]], [tuple(m) for m in st["merges"]])


# ---------------------------------------------------------------------------------------------
# 3. Model
# ---------------------------------------------------------------------------------------------

@dataclass
class ModelConfig:
    vocab_size: int = 2048
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 6
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 256

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads


# Quantization modes of the whole model:
#   "qat"   training: straight-through estimators (x + (quant(x) - x).detach())
#   "exact" eval: the integer BitLinear path the C++ engine computes
#   "float" no quantization at all (latent float weights), for information only
class _STE(torch.autograd.Function):
    """Straight-through estimator: forward returns quant(x), backward passes the gradient
    unchanged -- the same as x + (quant(x) - x).detach(), with fewer full-size temporaries."""

    @staticmethod
    def forward(ctx, x, fn):
        with torch.no_grad():
            return fn(x)

    @staticmethod
    def backward(ctx, g):
        return g, None


def _act_fake_quant(x):
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    return (x * s).round_().clamp_(-128, 127).div_(s)


def _weight_fake_quant(w):
    q, ws = weight_ternary(w)
    return q * ws


def act_quant_ste(x):
    return _STE.apply(x, _act_fake_quant)


def weight_ternary(w):
    """Absmean ternarization: (codes in {-1,0,1} as float, scale ws as a 0-d tensor)."""
    ws = w.abs().mean().clamp(min=1e-5)
    return (w / ws).round().clamp(-1, 1), ws


def weight_quant_ste(w):
    return _STE.apply(w, _weight_fake_quant)


def act_quant_exact(x):
    """Per-token int8: s = 127 / max|x| (floor 1e-5), xq = round_half_even(x*s) clamped."""
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    xq = (x * s).round().clamp(-128, 127)
    return xq, s


class BitLinear(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))

    def forward(self, x, mode):
        """x is the prepared input: dequantized STE activations ("qat"), a (xq, s) pair
        ("exact") or plain floats ("float")."""
        if mode == "qat":
            return F.linear(x, weight_quant_ste(self.weight))
        if mode == "exact":
            xq, s = x
            q, ws = weight_ternary(self.weight)
            return F.linear(xq, q) / s * ws   # integer-valued dot products are exact in f32
        return F.linear(x, self.weight)

    @torch.no_grad()
    def effective_weight(self):
        q, ws = weight_ternary(self.weight)
        return q * ws


def prepare_input(x, mode):
    if mode == "qat":
        return act_quant_ste(x)
    if mode == "exact":
        return act_quant_exact(x)
    return x


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, n_pos, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    pos = torch.arange(n_pos, dtype=torch.float32)
    ang = pos[:, None] * inv_freq[None, :]          # [n_pos, head_dim/2], float32
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hd = cfg.hidden_size, cfg.head_dim
        self.n_head, self.n_kv, self.hd = cfg.num_attention_heads, cfg.num_key_value_heads, hd
        self.input_layernorm = RMSNorm(d, cfg.rms_norm_eps)
        self.q_proj = BitLinear(d, self.n_head * hd)
        self.k_proj = BitLinear(d, self.n_kv * hd)
        self.v_proj = BitLinear(d, self.n_kv * hd)
        self.attn_sub_norm = RMSNorm(self.n_head * hd, cfg.rms_norm_eps)
        self.o_proj = BitLinear(self.n_head * hd, d)
        self.post_attention_layernorm = RMSNorm(d, cfg.rms_norm_eps)
        self.gate_proj = BitLinear(d, cfg.intermediate_size)
        self.up_proj = BitLinear(d, cfg.intermediate_size)
        self.ffn_sub_norm = RMSNorm(cfg.intermediate_size, cfg.rms_norm_eps)
        self.down_proj = BitLinear(cfg.intermediate_size, d)

    def forward(self, x, cos, sin, mask, mode):
        B, T, _ = x.shape
        h = prepare_input(self.input_layernorm(x), mode)
        q = self.q_proj(h, mode).view(B, T, self.n_head, self.hd).transpose(1, 2)
        k = self.k_proj(h, mode).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        v = self.v_proj(h, mode).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        g = self.n_head // self.n_kv           # query head i uses kv head i // g
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        a = (att @ v).transpose(1, 2).reshape(B, T, self.n_head * self.hd)
        a = prepare_input(self.attn_sub_norm(a), mode)
        x = x + self.o_proj(a, mode)
        h = prepare_input(self.post_attention_layernorm(x), mode)
        f = F.relu(self.gate_proj(h, mode)).square() * self.up_proj(h, mode)
        f = prepare_input(self.ffn_sub_norm(f), mode)
        return x + self.down_proj(f, mode)


class BitNetLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        cos, sin = rope_tables(cfg.head_dim, cfg.max_position_embeddings, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.quant = True   # False: the "float" mode in eval (information only)
        self.reset_parameters()

    def reset_parameters(self):
        for name, p in self.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                nn.init.ones_(p)
            else:
                nn.init.normal_(p, mean=0.0, std=0.02)

    def mode(self):
        if not self.quant:
            return "float"
        return "qat" if self.training else "exact"

    def forward(self, ids):
        B, T = ids.shape
        mode = self.mode()
        x = self.embed_tokens(ids)
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        for layer in self.layers:
            x = layer(x, cos, sin, mask, mode)
        # Head: tied embedding in plain float, input not quantized.
        return F.linear(self.norm(x), self.embed_tokens.weight)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# 4. Data and training
# ---------------------------------------------------------------------------------------------

class TrainData:
    """Token stream BOS + encode(train text) and the token offsets where fortunes start.

    Batch for step k (a function of seed and k only): each row is seq_len+1 tokens; half the
    rows (chosen at random) start at a random fortune with BOS in front (how prompts look),
    the others at a random token offset with no BOS (how held-out windows after the first
    look)."""

    def __init__(self, tok, fortunes):
        ids = [tok.bos_id]
        starts = []
        for i, f in enumerate(fortunes):
            starts.append(len(ids))
            piece = f + (FORTUNE_SEPARATOR if i + 1 < len(fortunes) else "\n")
            ids.extend(tok.encode(piece))
        self.ids = torch.tensor(ids, dtype=torch.long)
        self.starts = torch.tensor(starts, dtype=torch.long)
        self.bos = tok.bos_id

    def batch(self, seed, step, batch_size, seq_len):
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        n = self.ids.numel()
        use_bos = torch.rand(batch_size, generator=g) < 0.5
        rows = []
        for b in range(batch_size):
            if use_bos[b]:
                s = int(self.starts[torch.randint(len(self.starts), (1,), generator=g)])
                s = min(s, n - seq_len)
                rows.append(torch.cat([torch.tensor([self.bos]), self.ids[s:s + seq_len]]))
            else:
                s = int(torch.randint(n - seq_len - 1, (1,), generator=g))
                rows.append(self.ids[s:s + seq_len + 1])
        x = torch.stack(rows)
        return x[:, :-1], x[:, 1:]


def lr_at(step, total, peak, warmup, floor_frac):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return peak * (floor_frac + (1 - floor_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def make_optimizer(model, lr, wd):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() == 2 and "embed" not in name else no_decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), eps=1e-8)


def save_checkpoint(path, model, opt, step, meta):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "meta": meta},
               tmp)
    os.replace(tmp, path)


def train(model, data, args, val_ids, ckpt_path, meta, log, sample_tok=None):
    opt = make_optimizer(model, args.lr, args.weight_decay)
    step0 = 0
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step0 = ck["step"]
        meta.update(ck["meta"])
        log(f"resumed from {ckpt_path} at step {step0}")
    train_time = meta.get("train_time_s", 0.0)
    hist = meta.setdefault("history", [])
    model.train()
    t_last = time.time()
    time_at_start = train_time
    ema = None
    for step in range(step0, args.steps):
        lr = lr_at(step, args.steps, args.lr, args.warmup, args.lr_floor)
        for gr in opt.param_groups:
            gr["lr"] = lr
        x, y = data.batch(args.seed, step, args.batch_size, args.seq_len)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        lv = loss.item()
        ema = lv if ema is None else 0.95 * ema + 0.05 * lv
        now = time.time()
        train_time += now - t_last
        t_last = now
        if (step + 1) % args.log_every == 0 or step == step0:
            tok_s = (args.batch_size * args.seq_len * (step + 1 - step0)
                     / max(1e-9, train_time - time_at_start))
            log(f"step {step + 1}/{args.steps} loss {lv:.4f} (ema {ema:.4f}) lr {lr:.2e} "
                f"gnorm {float(gn):.3f} {train_time:.0f}s {tok_s:.0f} tok/s")
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            vl = quick_val_loss(model, val_ids, args.eval_windows)
            hist.append({"step": step + 1, "train_loss_ema": round(ema, 4), "val_loss": round(vl, 4),
                         "time_s": round(train_time, 1)})
            log(f"  eval step {step + 1}: val loss (first {args.eval_windows} windows, exact "
                f"eval mode) {vl:.4f}")
            if sample_tok is not None:
                ids = sample_tok.encode(PROMPTS[0], bos=True)
                gen, _ = greedy(model, ids, 24)
                log(f"  sample: {PROMPTS[0]!r} -> {sample_tok.decode(gen)!r}")
            model.train()
            t_last = time.time()
        if (step + 1) % args.ckpt_every == 0 or step + 1 == args.steps:
            meta["train_time_s"] = train_time
            meta["train_loss_ema"] = ema
            save_checkpoint(ckpt_path, model, opt, step + 1, meta)
            t_last = time.time()
    meta["train_time_s"] = train_time
    if ema is not None:
        meta["train_loss_ema"] = ema
    return meta


# ---------------------------------------------------------------------------------------------
# 5. Evaluation (perplexity exactly as `lowbit score` computes it)
# ---------------------------------------------------------------------------------------------

def windows(ids, w):
    return [ids[i:i + w] for i in range(0, len(ids), w)]


@torch.no_grad()
def window_nll(model, ids, w, limit=None, batch=16):
    """(sum of NLL in nats, number of scored tokens, per-window NLL sums). The token list (BOS
    already in front) is cut into consecutive non-overlapping windows of w tokens (the last one
    shorter); each window is run from an empty context; token j>0 of a window is scored with
    the logits of position j-1 of that window. A 1-token last window scores nothing."""
    model.eval()
    ws = windows(ids, w)
    if limit is not None:
        ws = ws[:limit]
    per_window = []
    count = 0
    i = 0
    while i < len(ws):
        n = len(ws[i])
        group = [ws[i]]
        while len(group) < batch and i + len(group) < len(ws) and len(ws[i + len(group)]) == n:
            group.append(ws[i + len(group)])
        i += len(group)
        if n < 2:
            per_window.extend([0.0] * len(group))
            continue
        x = torch.tensor(group, dtype=torch.long)
        lp = model(x).log_softmax(-1)
        nll = -lp[:, :-1].gather(-1, x[:, 1:, None]).squeeze(-1)
        per_window.extend(nll.double().sum(dim=1).tolist())
        count += nll.numel()
    return sum(per_window), count, per_window


def quick_val_loss(model, val_ids, n_windows):
    tot, cnt, _ = window_nll(model, val_ids, 128, limit=n_windows)
    return tot / cnt


# ---------------------------------------------------------------------------------------------
# 6. Export
# ---------------------------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> float32 numpy array. Sorted by name, 8-byte aligned header."""
    header = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    if metadata:
        header["__metadata__"] = metadata
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def round_embedding_to_f16(model):
    with torch.no_grad():
        model.embed_tokens.weight.copy_(model.embed_tokens.weight.half().float())


def export_tensors(model):
    t = {"model.embed_tokens.weight": model.embed_tokens.weight.detach().numpy(),
         "model.norm.weight": model.norm.weight.detach().numpy()}
    for i, L in enumerate(model.layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = L.input_layernorm.weight.detach().numpy()
        t[p + "post_attention_layernorm.weight"] = L.post_attention_layernorm.weight.detach().numpy()
        t[p + "self_attn.attn_sub_norm.weight"] = L.attn_sub_norm.weight.detach().numpy()
        t[p + "mlp.ffn_sub_norm.weight"] = L.ffn_sub_norm.weight.detach().numpy()
        for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
            t[p + "self_attn." + n + ".weight"] = getattr(L, n).effective_weight().numpy()
        for n in ("gate_proj", "up_proj", "down_proj"):
            t[p + "mlp." + n + ".weight"] = getattr(L, n).effective_weight().numpy()
    return t


def hf_config(cfg, tok):
    return {
        "architectures": ["BitNetForCausalLM"],
        "model_type": "bitnet",
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": cfg.head_dim,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": cfg.rope_theta,
        "rope_scaling": None,
        "vocab_size": cfg.vocab_size,
        "max_position_embeddings": cfg.max_position_embeddings,
        "tie_word_embeddings": True,
        "hidden_act": "relu2",
        "attention_bias": False,
        "bos_token_id": tok.bos_id,
        "eos_token_id": tok.eos_id,
        "torch_dtype": "float32",
        "lowbit_export": {"linear_weights": "ternary_times_scale",
                          "embedding": "float32 values that are exactly float16-representable",
                          "activations": "per-token int8 absmax (127/max|x|, round half even)"},
    }


def write_json(path, obj, compact=False):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# 7. Fixture
# ---------------------------------------------------------------------------------------------

PROMPTS = [
    "The meaning of life is",
    "Q: What do you get when you cross",
    "A computer is",
    "In 1984, 3 of the 10 programmers said: \"Hello, world!\" -- and then",
    "Love is",
]
N_GREEDY = 48


@torch.no_grad()
def greedy(model, ids, n):
    """Greedy decoding in eval mode; every step recomputes the full sequence (equivalent to a
    KV cache). Returns generated ids and the top1-top2 logit margin at each step."""
    model.eval()
    seq = list(ids)
    out, margins = [], []
    for _ in range(n):
        logits = model(torch.tensor([seq], dtype=torch.long))[0, -1]
        top2 = torch.topk(logits, 2)
        nxt = int(torch.argmax(logits))   # first (lowest) id among equal maxima
        margins.append(float(top2.values[0] - top2.values[1]))
        out.append(nxt)
        seq.append(nxt)
    return out, margins


def fmt6(v):
    s = f"{v:.6f}"
    return "0.000000" if s == "-0.000000" else s


@torch.no_grad()
def build_fixture(model, tok, args, meta, ppl, ppl_float, heldout_name, heldout_path):
    model.eval()
    prompts = []
    for text in PROMPTS:
        ids = tok.encode(text, bos=True)
        gen, margins = greedy(model, ids, N_GREEDY)
        seq = ids + gen[:-1]                       # logits at position p use seq[0..p]
        P = len(ids)
        positions = sorted({0, P - 1, P - 1 + 16, P - 1 + N_GREEDY - 1})
        logits = model(torch.tensor([seq], dtype=torch.long))[0]
        checks = []
        for p in positions:
            v = logits[p]
            top = torch.topk(v, 5)
            checks.append({"position": p,
                           "top5_ids": [int(i) for i in top.indices],
                           "values": [float(fmt6(float(x))) for x in v]})
            if p >= P - 1:
                assert int(torch.argmax(v)) == gen[p - (P - 1)]
        prompts.append({
            "text": text,
            "ids": ids,
            "logits_input_ids": seq,
            "logits": checks,
            "greedy": {"n_tokens": N_GREEDY, "ids": gen, "text": tok.decode(gen),
                       "top1_margin": [round(m, 6) for m in margins],
                       "min_margin_first_32": round(min(margins[:32]), 6)},
        })
    fx = {
        "format": FIXTURE_FORMAT,
        "version": FIXTURE_VERSION,
        "description": "Reference outputs of tools/train_tiny_bitnet.py's PyTorch model in eval "
                       "mode (exact integer BitLinear path), for lowbit's parity tests.",
        "numerics": {
            "dtype": "float32",
            "bitlinear": "s = 127/max(|x|,1e-5) per token; xq = clamp(round_half_even(x*s),-128,127); "
                         "ws = mean|W| (whole tensor, floor 1e-5); Wq = clamp(round_half_even(W/ws),-1,1); "
                         "y = (xq . Wq) / s * ws",
            "head": "logits = (rmsnorm(x) * output_norm) @ E^T, tied float embedding, no quantization",
            "embedding": "rounded to float16 before export and before this fixture was computed",
            "rope": "NEOX rotate-half, inv_freq = 1/theta^(2i/head_dim) in float32, angle = pos*inv_freq",
            "logits_positions": "logits at position p are computed from logits_input_ids[0..p] "
                                "(prompt ids followed by the first 47 greedy ids)",
            "values": "all vocab_size logits, rounded to 6 decimal places",
            "greedy": "argmax at every step (lowest id on an exact tie), n_tokens tokens, no stop "
                      "on EOS/EOT",
            "perplexity": "held-out file tokenized as a whole with BOS prepended once; windows "
                          "of `window` consecutive tokens (last one shorter), each from an empty "
                          "context; token j>0 of a window scored by the logits at j-1; "
                          "ppl = exp(nll_sum / n_scored), natural log",
        },
        "model": {"config": asdict(model.cfg), "parameters": count_params(model)},
        "tokenizer": {"vocab_size": tok.vocab_size, "n_merges": len(tok.merges),
                      "bos_id": tok.bos_id, "eos_id": tok.eos_id, "eot_id": tok.eot_id,
                      "special_ids": tok.special_ids, "add_bos": True, "ignore_merges": True},
        "prompts": prompts,
        "perplexity": {"text_file": heldout_name, "sha256": sha256_file(heldout_path),
                       "bytes": os.path.getsize(heldout_path), **ppl,
                       "ppl_float_weights_information_only": ppl_float["ppl"]},
        "torch_version": torch.__version__,
        "seed": args.seed,
        "hyperparameters": hyperparameters(args),
        "training": training_summary(meta),
    }
    return fx


def hyperparameters(args):
    return {k: getattr(args, k) for k in
            ("steps", "batch_size", "seq_len", "lr", "warmup", "lr_floor", "weight_decay",
             "clip", "vocab_size", "hidden", "ffn", "layers", "heads", "kv_heads", "rope_theta",
             "threads")} | {"optimizer": "AdamW betas (0.9, 0.95) eps 1e-8; no decay on norms "
                                         "and embedding", "schedule": "linear warm-up, cosine "
                                         "decay to lr_floor*lr"}


def training_summary(meta):
    return {k: meta[k] for k in ("train_time_s", "train_loss_ema", "final_train_loss",
                                 "final_val_loss", "history", "tokens_seen", "train_tokens",
                                 "heldout_tokens", "n_fortunes_train", "n_fortunes_heldout",
                                 "corpus_files") if k in meta}


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="build/tiny-bitnet",
                    help="folder for the full export (model.safetensors etc.) and checkpoints")
    ap.add_argument("--model-dir", default=os.path.join(here, "..", "models", "tiny-bitnet"),
                    help="folder for the small committed files (fixture, held-out text, "
                         "config and tokenizer)")
    ap.add_argument("--fortunes", default="/usr/share/games/fortunes")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=900)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--lr-floor", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--vocab-size", type=int, default=2048, help="total, including 5 specials")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--ffn", type=int, default=768)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-windows", type=int, default=48)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    ap.add_argument("--export-only", action="store_true",
                    help="skip training: load OUT/checkpoint.pt (must be complete) and export")
    return ap.parse_args()


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
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

    # 1. corpus
    files, fortunes = read_fortunes(args.fortunes)
    train_f, held_f = split_fortunes(fortunes)
    train_text, held_text = join_fortunes(train_f), join_fortunes(held_f)
    heldout_name = "heldout.txt"
    heldout_path = os.path.join(args.model_dir, heldout_name)
    with open(heldout_path, "wb") as f:
        f.write(held_text.encode("utf-8"))
    log(f"corpus: {len(files)} files, {len(fortunes)} fortunes; train {len(train_f)} "
        f"({len(train_text.encode())} bytes), held out {len(held_f)} ({len(held_text.encode())} "
        f"bytes) -> {heldout_path}")

    # 2. tokenizer (cached in OUT so that resume/export-only reuse the very same one)
    tok_state = os.path.join(args.out, "tokenizer_state.json")
    n_normal = args.vocab_size - len(SPECIAL_TOKENS)
    if os.path.exists(tok_state) and (args.resume or args.export_only):
        with open(tok_state) as f:
            tok = Tokenizer.from_state(json.load(f))
        log(f"tokenizer loaded from {tok_state}")
    else:
        t0 = time.time()
        token_bytes, merges = train_bpe(train_text, n_normal)
        tok = Tokenizer(token_bytes, merges)
        write_json(tok_state, tok.state(), compact=True)
        log(f"tokenizer trained in {time.time() - t0:.1f}s: {tok.vocab_size} tokens, "
            f"{len(merges)} merges ({len(merges) - (tok.n_normal - 256)} reuse an existing token)")
    assert tok.vocab_size == args.vocab_size, (tok.vocab_size, args.vocab_size)
    unreachable = [i for i in range(256, tok.n_normal)
                   if tok.bpe_word(tok.token_bytes[i]) != [i]]
    log(f"tokenizer: {len(unreachable)} vocabulary tokens are not produced by merges from their "
        f"own bytes (only ignore_merges emits them as a whole pre-token) {unreachable[:10]}")
    for name, text in (("held-out", held_text), ("prompts", "\n".join(PROMPTS))):
        bad = tok.merge_shortcut_mismatches(text)
        log(f"tokenizer: {len(bad)} pre-tokens of the {name} text encode differently without "
            f"the ignore_merges shortcut {bad[:10]}")
    write_json(os.path.join(args.model_dir, "tokenizer.json"), tok.hf_tokenizer_json())
    write_json(os.path.join(args.model_dir, "tokenizer_config.json"),
               tok.hf_tokenizer_config(args.seq_len))

    data = TrainData(tok, train_f)
    whole = tok.encode(train_text, bos=True)
    assert whole == data.ids.tolist(), "per-fortune encoding differs from whole-text encoding"
    val_ids = tok.encode(held_text, bos=True)
    log(f"tokens: train {data.ids.numel()} ({len(train_text.encode()) / data.ids.numel():.2f} "
        f"bytes/token), held out {len(val_ids)}")

    # 3. model
    cfg = ModelConfig(vocab_size=tok.vocab_size, hidden_size=args.hidden,
                      intermediate_size=args.ffn, num_hidden_layers=args.layers,
                      num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                      rope_theta=args.rope_theta, max_position_embeddings=args.seq_len)
    model = BitNetLM(cfg)
    log(f"model: {count_params(model)} parameters, config {asdict(cfg)}")

    # 4. train
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
        meta = train(model, data, args, val_ids, ckpt_path, meta, log, tok)
    meta["tokens_seen"] = args.steps * args.batch_size * args.seq_len

    # final train loss: mean QAT-mode loss over 8 fixed batches (not seen as such in training)
    model.train()
    with torch.no_grad():
        losses = []
        for k in range(8):
            x, y = data.batch(args.seed + 1, k, args.batch_size, args.seq_len)
            lg = model(x)
            losses.append(F.cross_entropy(lg.reshape(-1, lg.shape[-1]), y.reshape(-1)).item())
    meta["final_train_loss"] = round(sum(losses) / len(losses), 4)

    # 5. export: round the embedding to f16 values, then everything below uses that model
    round_embedding_to_f16(model)
    model.eval()
    tensors = export_tensors(model)
    write_safetensors(os.path.join(args.out, "model.safetensors"), tensors, {"format": "pt"})
    conf = hf_config(cfg, tok)
    for d in (args.out, args.model_dir):
        write_json(os.path.join(d, "config.json"), conf)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(args.model_dir, name), "rb") as f:
            b = f.read()
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(b)
    write_json(os.path.join(args.out, "generation_config.json"),
               {"bos_token_id": tok.bos_id, "eos_token_id": tok.eos_id, "do_sample": False})
    log(f"exported {len(tensors)} tensors to {args.out}/model.safetensors")

    # sanity: a model rebuilt from the exported effective weights computes the same logits
    check_export_roundtrip(model, tensors, log)

    # 6. evaluation and fixture
    t0 = time.time()
    tot, cnt, per_window = window_nll(model, val_ids, 128)
    ids_le = np.asarray(val_ids, dtype="<i4").tobytes()
    ppl = {"window": 128, "bos_prepended_once": True, "n_tokens": len(val_ids),
           "ids_sha256_int32le": hashlib.sha256(ids_le).hexdigest(),
           "first_window_ids": val_ids[:128], "last_window_ids": windows(val_ids, 128)[-1],
           "n_windows": len(windows(val_ids, 128)), "n_scored": cnt,
           "nll_sum": round(tot, 4), "mean_nll": round(tot / cnt, 6),
           "ppl": round(math.exp(tot / cnt), 4),
           "window_nll_sums": [round(v, 4) for v in per_window]}
    model.quant = False
    ftot, fcnt, _ = window_nll(model, val_ids, 128)
    model.quant = True
    ppl_float = {"mean_nll": ftot / fcnt, "ppl": round(math.exp(ftot / fcnt), 4)}
    meta["final_val_loss"] = round(tot / cnt, 4)
    log(f"held-out perplexity (exact ternary/int8 eval): {ppl['ppl']} (mean NLL "
        f"{ppl['mean_nll']}, {cnt} scored tokens, {ppl['n_windows']} windows); float latent "
        f"weights: {ppl_float['ppl']}  [{time.time() - t0:.0f}s]")

    fx = build_fixture(model, tok, args, meta, ppl, ppl_float, heldout_name, heldout_path)
    fx_path = os.path.join(args.model_dir, "parity_fixture.json")
    write_json(fx_path, fx, compact=True)
    log(f"fixture: {fx_path} ({os.path.getsize(fx_path)} bytes)")
    for p in fx["prompts"]:
        log(f"sample: {p['text']!r} -> {p['greedy']['text']!r} (min margin first 32: "
            f"{p['greedy']['min_margin_first_32']})")
    write_json(os.path.join(args.out, "summary.json"),
               {k: v for k, v in fx.items() if k != "prompts"} |
               {"samples": [{"prompt": p["text"], "greedy": p["greedy"]["text"]}
                            for p in fx["prompts"]]})
    log("done")


@torch.no_grad()
def check_export_roundtrip(model, tensors, log):
    """The exported linears are exactly codes x scale, and max|w| of each equals the scale, so a
    converter that takes scale = max|w| and code = sign(w) (bitnet.cpp's I2_S quantizer)
    recovers the very numbers the eval-mode model uses. (Re-running absmean on the exported
    values would NOT: mean|w| of a ternary tensor is scale x fraction of non-zeros.)"""
    for L in model.layers:
        for lin in (L.q_proj, L.k_proj, L.v_proj, L.o_proj, L.gate_proj, L.up_proj, L.down_proj):
            q, ws = weight_ternary(lin.weight)
            eff = lin.effective_weight()
            assert torch.equal(eff, q * ws)
            assert float(eff.abs().max()) == float(ws), "a tensor with all-zero codes?"
            assert set(torch.unique(q).tolist()) <= {-1.0, 0.0, 1.0}
    e = model.embed_tokens.weight
    assert torch.equal(e, e.half().float())
    log("export check: every linear is exactly codes x scale with max|w| == scale; embedding "
        "is f16-exact")


if __name__ == "__main__":
    main()

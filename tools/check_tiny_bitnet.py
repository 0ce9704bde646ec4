#!/usr/bin/python3
"""Independent check of a tiny-bitnet export against its parity fixture, without PyTorch.

A second implementation of what lowbit's C++ engine is meant to compute, written from the
spec (numpy float32, bitnet.cpp's I2_S quantizer and quantize_row_i8_s rules), reading only
the exported files: model.safetensors + config.json + tokenizer.json. It checks the tokenizer
(prompt ids, held-out ids hash), the logits (cosine, top-1), the greedy continuations and the
held-out perplexity against the numbers the PyTorch model wrote into the fixture, with the
same thresholds as the C++ parity test.

Debian packages: python3-numpy python3-regex (run with /usr/bin/python3).

  /usr/bin/python3 tools/check_tiny_bitnet.py --export build/tiny-bitnet \
      --fixture models/tiny-bitnet/parity_fixture.json
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import regex  # noqa: E402


# --- files -----------------------------------------------------------------------------------

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + e], dtype="<f4").reshape(info["shape"])
    return out


def bytes_to_unicode():
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


class HFByteBPE:
    """Encoder built from tokenizer.json alone (merges by rank, no whole-word shortcut)."""

    def __init__(self, tj):
        m = tj["model"]
        assert m["type"] == "BPE"
        self.vocab = m["vocab"]
        self.inv = {v: k for k, v in self.vocab.items()}
        self.ranks = {}
        for r, mm in enumerate(m["merges"]):
            a, b = mm.split(" ") if isinstance(mm, str) else mm
            self.ranks.setdefault((a, b), r)
        self.b2u = bytes_to_unicode()
        self.u2b = {v: k for k, v in self.b2u.items()}
        pat = tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
        self.pre = regex.compile(pat)
        self.added = {t["content"]: t["id"] for t in tj["added_tokens"]}
        for t in tj["added_tokens"]:
            self.inv[t["id"]] = t["content"]

    def bpe(self, word):
        sym = [self.b2u[b] for b in word.encode("utf-8")]
        while len(sym) > 1:
            best = min(((self.ranks.get(p, 1 << 60), i) for i, p in enumerate(zip(sym, sym[1:]))))
            if best[0] == 1 << 60:
                break
            a, b = sym[best[1]], sym[best[1] + 1]
            out, i = [], 0
            while i < len(sym):
                if i + 1 < len(sym) and sym[i] == a and sym[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            sym = out
        return [self.vocab[s] for s in sym]

    def encode(self, text, bos_id):
        ids = [bos_id]
        for w in self.pre.findall(text):
            ids.extend(self.bpe(w))
        return ids

    def decode(self, ids):
        return b"".join(bytes(self.u2b[c] for c in self.inv[i]) if i in self.inv and
                        self.inv[i] not in self.added else self.inv[i].encode() for i in ids
                        ).decode("utf-8", errors="replace")


# --- model (float32, what the C++ engine computes) ---------------------------------------------

def i2s_quantize(w):
    """bitnet.cpp quantize_i2_s on an exported ternary-times-scale tensor: scale = max|w|
    (double, stored as f32); code by sign, 0 where |w| < 1e-6."""
    scale = np.float32(np.abs(w.astype(np.float64)).max())
    codes = np.where(np.abs(w) < 1e-6, 0, np.sign(w)).astype(np.float32)
    return codes, scale


def act_quant(x):
    """quantize_row_i8_s per row: amax in double (floor 1e-5), s = (float)(127/amax),
    q = clamp(round_half_even(x*s), -128, 127)."""
    amax = np.maximum(np.abs(x).max(axis=-1, keepdims=True).astype(np.float64), 1e-5)
    s = (127.0 / amax).astype(np.float32)
    q = np.clip(np.rint(x * s), -128, 127).astype(np.float32)
    return q, s


class Model:
    def __init__(self, tensors, cfg):
        self.cfg = cfg
        self.E = tensors["model.embed_tokens.weight"]
        assert np.array_equal(self.E, self.E.astype(np.float16).astype(np.float32))
        self.norm = tensors["model.norm.weight"]
        self.eps = np.float32(cfg["rms_norm_eps"])
        self.nh, self.nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.hd = cfg["hidden_size"] // self.nh
        self.layers = []
        for i in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            L = {k: tensors[p + k + ".weight"] for k in (
                "input_layernorm", "post_attention_layernorm", "self_attn.attn_sub_norm",
                "mlp.ffn_sub_norm")}
            for k in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                      "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"):
                codes, scale = i2s_quantize(tensors[p + k + ".weight"])
                L[k] = (codes, scale)
            self.layers.append(L)
        d = self.hd
        self.inv_freq = (np.float32(1.0) / (np.float32(cfg["rope_theta"]) **
                         (np.arange(0, d, 2, dtype=np.float32) / np.float32(d)))).astype(np.float32)

    def rms(self, x, w):
        ms = (x.astype(np.float32) ** 2).mean(axis=-1, keepdims=True, dtype=np.float32)
        return (x * (np.float32(1) / np.sqrt(ms + self.eps)) * w).astype(np.float32)

    @staticmethod
    def lin(xqs, ws):
        q, s = xqs
        codes, scale = ws
        acc = q @ codes.T                      # integer-valued, exact in float32 (< 2^24)
        return (acc / s * scale).astype(np.float32)

    def rope(self, x, T):
        ang = (np.arange(T, dtype=np.float32)[:, None] * self.inv_freq[None, :]).astype(np.float32)
        cos = np.cos(ang.astype(np.float64)).astype(np.float32)
        sin = np.sin(ang.astype(np.float64)).astype(np.float32)
        h = self.hd // 2
        x1, x2 = x[..., :h], x[..., h:]
        return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)

    def forward(self, ids):
        """Logits [T, vocab] for one sequence, full causal attention."""
        T = len(ids)
        x = self.E[np.asarray(ids)].astype(np.float32)
        mask = np.triu(np.ones((T, T), dtype=bool), 1)
        g = self.nh // self.nkv
        for L in self.layers:
            h = act_quant(self.rms(x, L["input_layernorm"]))
            q = self.lin(h, L["self_attn.q_proj"]).reshape(T, self.nh, self.hd).transpose(1, 0, 2)
            k = self.lin(h, L["self_attn.k_proj"]).reshape(T, self.nkv, self.hd).transpose(1, 0, 2)
            v = self.lin(h, L["self_attn.v_proj"]).reshape(T, self.nkv, self.hd).transpose(1, 0, 2)
            q, k = self.rope(q, T), self.rope(k, T)
            out = np.empty((self.nh, T, self.hd), dtype=np.float32)
            for hh in range(self.nh):
                sc = (q[hh] @ k[hh // g].T) * np.float32(1.0 / math.sqrt(self.hd))
                sc[mask] = -np.inf
                sc = sc - sc.max(axis=-1, keepdims=True)
                p = np.exp(sc)
                p /= p.sum(axis=-1, keepdims=True)
                out[hh] = p @ v[hh // g]
            a = out.transpose(1, 0, 2).reshape(T, self.nh * self.hd)
            a = act_quant(self.rms(a, L["self_attn.attn_sub_norm"]))
            x = x + self.lin(a, L["self_attn.o_proj"])
            h = act_quant(self.rms(x, L["post_attention_layernorm"]))
            gt = np.maximum(self.lin(h, L["mlp.gate_proj"]), 0)
            f = gt * gt * self.lin(h, L["mlp.up_proj"])
            f = act_quant(self.rms(f, L["mlp.ffn_sub_norm"]))
            x = x + self.lin(f, L["mlp.down_proj"])
        return self.rms(x, self.norm) @ self.E.T


def log_softmax(z):
    z = z.astype(np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", default="build/tiny-bitnet")
    ap.add_argument("--fixture", default=os.path.join(os.path.dirname(__file__), "..", "models",
                                                      "tiny-bitnet", "parity_fixture.json"))
    ap.add_argument("--skip-ppl", action="store_true")
    args = ap.parse_args()

    with open(args.fixture) as f:
        fx = json.load(f)
    with open(os.path.join(args.export, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(args.export, "tokenizer.json")) as f:
        tj = json.load(f)
    tok = HFByteBPE(tj)
    model = Model(read_safetensors(os.path.join(args.export, "model.safetensors")), cfg)
    bos = cfg["bos_token_id"]
    failures = []

    for p in fx["prompts"]:
        ids = tok.encode(p["text"], bos)
        if ids != p["ids"]:
            failures.append(f"prompt ids differ for {p['text']!r}: {ids} vs {p['ids']}")
        logits = model.forward(p["logits_input_ids"])
        for c in p["logits"]:
            ref = np.asarray(c["values"], dtype=np.float64)
            got = logits[c["position"]].astype(np.float64)
            cos = float(ref @ got / (np.linalg.norm(ref) * np.linalg.norm(got)))
            top_ok = int(np.argmax(got)) == int(np.argmax(ref))
            print(f"  {p['text'][:24]!r:28} pos {c['position']:3d}: cosine {cos:.7f} "
                  f"max|diff| {np.abs(ref - got).max():.2e} top1 {'ok' if top_ok else 'DIFF'}")
            if cos < 0.999 or not top_ok:
                failures.append(f"logits at {c['position']} of {p['text']!r}")
        seq = list(p["ids"])
        gen = []
        for _ in range(p["greedy"]["n_tokens"]):
            nxt = int(np.argmax(model.forward(seq)[-1]))
            gen.append(nxt)
            seq.append(nxt)
        same = 0
        while same < len(gen) and gen[same] == p["greedy"]["ids"][same]:
            same += 1
        print(f"  greedy: {same}/{len(gen)} identical -> {tok.decode(gen)!r}")
        if same < 32:
            failures.append(f"greedy continuation of {p['text']!r} agrees for {same} tokens only")

    pp = fx["perplexity"]
    text_path = os.path.join(os.path.dirname(args.fixture), pp["text_file"])
    with open(text_path, "rb") as f:
        raw = f.read()
    if hashlib.sha256(raw).hexdigest() != pp["sha256"]:
        failures.append("held-out text sha256 differs")
    ids = tok.encode(raw.decode("utf-8"), bos)
    h = hashlib.sha256(np.asarray(ids, dtype="<i4").tobytes()).hexdigest()
    ref_h = pp.get("ids_sha256_int32le")
    print(f"held-out: {len(ids)} tokens (fixture {pp['n_tokens']}), ids hash "
          f"{'n/a' if ref_h is None else 'ok' if h == ref_h else 'DIFF'}")
    if len(ids) != pp["n_tokens"] or ("ids_sha256_int32le" in pp and h != pp["ids_sha256_int32le"]):
        failures.append("held-out tokenization differs")
    if not args.skip_ppl:
        W = pp["window"]
        tot, cnt = 0.0, 0
        for i in range(0, len(ids), W):
            w = ids[i:i + W]
            if len(w) < 2:
                continue
            lp = log_softmax(model.forward(w))
            tot += float(-lp[np.arange(len(w) - 1), w[1:]].sum())
            cnt += len(w) - 1
        ppl = math.exp(tot / cnt)
        rel = abs(ppl - pp["ppl"]) / pp["ppl"]
        print(f"held-out perplexity: {ppl:.4f} vs PyTorch {pp['ppl']} (relative difference "
              f"{rel:.2e}, {cnt} scored tokens)")
        if rel > 0.01:
            failures.append("perplexity differs by more than 1%")

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("all parity checks passed")


if __name__ == "__main__":
    main()

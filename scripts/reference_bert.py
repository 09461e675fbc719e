#!/usr/bin/env python3
"""Reference BERT forward pass in NumPy (float64), the ground truth for Strata's goldens.

Loads a Hugging Face / sentence-transformers checkpoint directory:
  - model.safetensors (F32 / F16 / BF16; I64 tensors such as embeddings.position_ids are ignored),
    in either layout: BertModel ("embeddings.word_embeddings.weight", "encoder.layer.N...")
    or BertForSequenceClassification ("bert." prefix, "bert.pooler.dense", "classifier"),
    and the legacy LayerNorm names "gamma"/"beta";
  - config.json (BertConfig), tokenizer.json or vocab.txt + tokenizer_config.json,
    sentence_bert_config.json, modules.json, 1_Pooling/config.json.

Conventions (the ones Strata implements):
  - hidden_states(ids) -> list of N+1 arrays [L, H]; index 0 = embedding output, N = last layer.
  - DE embedding: pooling from 1_Pooling/config.json over the attention mask (sentence-transformers
    mean pooling INCLUDES [CLS] and [SEP]), L2-normalised when modules.json has a Normalize module.
  - DE layer-k embedding: plain mean pooling of layer k over the attention mask, unnormalised.
  - CE score: classifier(tanh(pooler(h_N[CLS]))) raw logit; sigmoid on request.
  - CE layer-k embedding: the text paired with itself ([CLS] s [SEP] s [SEP], longest_first pair
    truncation to the max length), layer k mean-pooled over every non-special, non-padding token
    (both copies). When there is no such token (empty text) the result is the zero vector
    (sentence-transformers' clamp(min=1e-9) on the token count).
  - max length: sentence_bert_config.json max_seq_length, else tokenizer_config.json
    model_max_length, capped by config.json max_position_embeddings.

Only NumPy (+ scipy.special.erf when available), safetensors and tokenizers are used.
"""
import json
import math
import os
import struct
import sys

import numpy as np

try:
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover - scipy is optional
    _erf = np.vectorize(math.erf, otypes=[np.float64])


# ---------------------------------------------------------------- safetensors

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """Reads every tensor of a safetensors file; floats (F32/F16/BF16) come back as float64.
    Written by hand (8-byte little-endian header length, JSON header, raw data) because
    safetensors.numpy cannot return BF16 (NumPy has no bfloat16)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        buf = raw[base + start: base + end]
        shape = info["shape"]
        dt = info["dtype"]
        if dt == "BF16":
            u16 = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32).astype(np.float64)
        elif dt in ("I64", "I32"):
            arr = np.frombuffer(buf, dtype=np.dtype(_DTYPES[dt]).newbyteorder("<")).copy()
        else:
            arr = np.frombuffer(buf, dtype=np.dtype(_DTYPES[dt]).newbyteorder("<")).astype(np.float64)
        out[name] = arr.reshape(shape)
    return out


def write_safetensors(path, tensors, dtypes=None, metadata=None):
    """Writes tensors (name -> float array) as safetensors; dtypes maps name -> "F32"|"F16"|"BF16"|"I64"
    (default F32). BF16 is rounded to nearest even from float32. Tensors are stored in name order."""
    dtypes = dtypes or {}
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        dt = dtypes.get(name, "F32")
        if dt == "BF16":
            u32 = np.ascontiguousarray(arr, dtype=np.float32).view(np.uint32).astype(np.uint64)
            rounded = (u32 + 0x7FFF + ((u32 >> 16) & 1)) >> 16
            data = rounded.astype("<u2").tobytes()
        else:
            data = np.ascontiguousarray(arr, dtype=np.dtype(_DTYPES[dt]).newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    hbytes = json.dumps(header, separators=(",", ":")).encode()
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)  # align the data start to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for b in blobs:
            f.write(b)


def canonical_name(name):
    """Maps a checkpoint tensor name to BertModel names; "bert." prefix dropped, gamma/beta -> weight/bias."""
    if name.startswith("bert."):
        name = name[len("bert."):]
    if name.endswith(".gamma"):
        name = name[:-len(".gamma")] + ".weight"
    elif name.endswith(".beta"):
        name = name[:-len(".beta")] + ".bias"
    return name


# ---------------------------------------------------------------- model

def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _maybe_json(path):
    return _read_json(path) if os.path.exists(path) else None


class ReferenceBert:
    def __init__(self, directory):
        self.dir = directory
        self.config = _read_json(os.path.join(directory, "config.json"))
        raw = read_safetensors(os.path.join(directory, "model.safetensors"))
        self.w = {canonical_name(k): v for k, v in raw.items() if v.dtype == np.float64}
        c = self.config
        self.hidden = c["hidden_size"]
        self.num_layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.eps = c.get("layer_norm_eps", 1e-12)
        if c.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{directory}/config.json: hidden_act {c.get('hidden_act')} not supported")
        archs = c.get("architectures") or ["BertModel"]
        self.is_cross_encoder = any("SequenceClassification" in a for a in archs)

        self.tok_config = _maybe_json(os.path.join(directory, "tokenizer_config.json")) or {}
        self.st_config = _maybe_json(os.path.join(directory, "sentence_bert_config.json")) or {}
        self.modules = _maybe_json(os.path.join(directory, "modules.json")) or []
        self.pooling_config = _maybe_json(os.path.join(directory, "1_Pooling", "config.json")) or {}
        self.max_length = self._max_length()
        self.tokenizer = self._load_tokenizer()

    # -- settings ------------------------------------------------------------------
    def _max_length(self):
        m = self.st_config.get("max_seq_length")
        if m is None:
            m = self.tok_config.get("model_max_length")
        if m is None or m > 10**8:
            m = self.config["max_position_embeddings"]
        return min(int(m), int(self.config["max_position_embeddings"]))

    def _load_tokenizer(self):
        from tokenizers import Tokenizer
        from tokenizers.implementations import BertWordPieceTokenizer
        tj = os.path.join(self.dir, "tokenizer.json")
        if os.path.exists(tj):
            tok = Tokenizer.from_file(tj)
        else:
            tc = self.tok_config
            tok = BertWordPieceTokenizer(
                os.path.join(self.dir, "vocab.txt"),
                clean_text=True,
                handle_chinese_chars=tc.get("tokenize_chinese_chars", True),
                strip_accents=tc.get("strip_accents"),
                lowercase=tc.get("do_lower_case", True),
            )
        tok.no_padding()
        tok.enable_truncation(max_length=self.max_length, strategy="longest_first")
        return tok

    def pooling_mode(self):
        p = self.pooling_config
        if p.get("pooling_mode_cls_token"):
            return "cls"
        if p.get("pooling_mode_max_tokens"):
            return "max"
        return "mean"

    def normalizes(self):
        return any(m.get("type", "").endswith("Normalize") for m in self.modules)

    # -- tokenisation ----------------------------------------------------------------
    def encode(self, text):
        e = self.tokenizer.encode(text)
        return e.ids, e.type_ids, e.special_tokens_mask

    def encode_pair(self, a, b):
        e = self.tokenizer.encode(a, b)
        return e.ids, e.type_ids, e.special_tokens_mask

    # -- forward ---------------------------------------------------------------------
    def _linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def _layer_norm(self, x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def hidden_states(self, ids, type_ids, mask=None):
        """ids, type_ids, mask: [B, L] (or [L]). Returns N+1 arrays [B, L, H] (float64).
        Padding is masked with an additive -1e30 on the attention scores."""
        ids = np.atleast_2d(np.asarray(ids, dtype=np.int64))
        type_ids = np.atleast_2d(np.asarray(type_ids, dtype=np.int64))
        mask = np.ones_like(ids) if mask is None else np.atleast_2d(np.asarray(mask))
        B, L = ids.shape
        H, nh = self.hidden, self.heads
        hd = H // nh
        x = (self.w["embeddings.word_embeddings.weight"][ids]
             + self.w["embeddings.position_embeddings.weight"][np.arange(L)][None]
             + self.w["embeddings.token_type_embeddings.weight"][type_ids])
        x = self._layer_norm(x, "embeddings.LayerNorm")
        states = [x]
        additive = (1.0 - mask[:, None, None, :].astype(np.float64)) * -1e30  # [B,1,1,L]
        for i in range(self.num_layers):
            p = f"encoder.layer.{i}."
            q = self._linear(x, p + "attention.self.query").reshape(B, L, nh, hd).transpose(0, 2, 1, 3)
            k = self._linear(x, p + "attention.self.key").reshape(B, L, nh, hd).transpose(0, 2, 1, 3)
            v = self._linear(x, p + "attention.self.value").reshape(B, L, nh, hd).transpose(0, 2, 1, 3)
            s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + additive  # [B, nh, L, L]
            s = s - s.max(-1, keepdims=True)
            a = np.exp(s)
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(B, L, H)
            x = self._layer_norm(self._linear(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = self._linear(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))  # exact erf GELU
            x = self._layer_norm(self._linear(h, p + "output.dense") + x, p + "output.LayerNorm")
            states.append(x)
        return states

    # -- heads -----------------------------------------------------------------------
    @staticmethod
    def pool(h, weights, mode):
        """h: [L, H]; weights: [L] 0/1 tokens to pool over."""
        w = np.asarray(weights, dtype=np.float64)
        if mode == "cls":
            return h[0].copy()
        if mode == "max":
            masked = np.where(w[:, None] > 0, h, -1e9)
            return masked.max(0)
        return (h * w[:, None]).sum(0) / max(w.sum(), 1e-9)

    @staticmethod
    def l2_normalize(v):
        return v / max(np.linalg.norm(v), 1e-12)

    def de_embedding(self, text, normalize=None):
        """The model's own DE embedding: its pooling over the attention mask (+ Normalize)."""
        ids, tt, _ = self.encode(text)
        h = self.hidden_states(ids, tt)[-1][0]
        v = self.pool(h, np.ones(len(ids)), self.pooling_mode())
        if normalize if normalize is not None else self.normalizes():
            v = self.l2_normalize(v)
        return v

    def de_layer_embeddings(self, text):
        """DE layer-k embeddings, k = 0..N: mean pooling over the attention mask (incl. [CLS]/[SEP])."""
        ids, tt, _ = self.encode(text)
        return [self.pool(h[0], np.ones(len(ids)), "mean") for h in self.hidden_states(ids, tt)]

    def ce_layer_embeddings(self, text):
        """CE layer-k embeddings, k = 0..N: self-pair, mean over non-special tokens of both copies."""
        ids, tt, special = self.encode_pair(text, text)
        keep = 1 - np.asarray(special)
        return [self.pool(h[0], keep, "mean") for h in self.hidden_states(ids, tt)]

    def ce_score(self, query, passage, sigmoid=False):
        if "classifier.weight" not in self.w:
            raise ValueError(f"{self.dir}: no classifier in the checkpoint")
        ids, tt, _ = self.encode_pair(query, passage)
        cls = self.hidden_states(ids, tt)[-1][0, 0]
        pooled = np.tanh(self._linear(cls, "pooler.dense"))
        logit = float(self._linear(pooled, "classifier")[0])
        return 1.0 / (1.0 + math.exp(-logit)) if sigmoid else logit


def _main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="Reference BERT (NumPy float64): embed or score texts.")
    ap.add_argument("model")
    ap.add_argument("texts", nargs="*")
    ap.add_argument("--layer", type=int)
    ap.add_argument("--score", action="store_true", help="texts are query passage query passage ...")
    ap.add_argument("--json", action="store_true", help="print one JSON list: every score, or every full vector")
    args = ap.parse_intermixed_args(argv)
    m = ReferenceBert(args.model)
    if args.score:
        scores = [m.ce_score(q, p) for q, p in zip(args.texts[::2], args.texts[1::2])]
        print(json.dumps(scores) if args.json else "\n".join(map(str, scores)))
        return
    vectors = []
    for t in args.texts:
        if args.layer is not None:
            v = (m.ce_layer_embeddings(t) if m.is_cross_encoder else m.de_layer_embeddings(t))[args.layer]
        else:
            v = m.de_embedding(t)
        vectors.append([float(x) for x in v])
        if not args.json:
            print(" ".join(f"{x:.6f}" for x in v[:8]), "...")
    if args.json:
        print(json.dumps(vectors))


if __name__ == "__main__":
    _main(sys.argv[1:])

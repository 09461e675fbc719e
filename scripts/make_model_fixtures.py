#!/usr/bin/env python3
"""Writes the Model test fixtures (Tests/ModelTests/Fixtures): two tiny random checkpoints and
goldens.json computed by scripts/reference_bert.py. Deterministic (seeded). Run via scripts/make-goldens.

Usage: make_model_fixtures.py OUT_DIR MINILM_DIR SHARED_DIR
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_bert import ReferenceBert, write_safetensors  # noqa: E402

HIDDEN, LAYERS, HEADS, INTER, MAXPOS, TYPES = 32, 2, 4, 64, 64, 2
STD = 0.2

TEXTS = [
    "This is an example sentence",
    "",
    "Café naïve Ångström — déjà vu!",
    "What?!... No way -- it's 3.14e-10 (really).",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    " ".join(f"Sentence {i}: the quick brown fox jumps over the lazy dog near the river bank." for i in range(25)),
    "日本語のテキスト and emoji 🍕 ❤️, Ελληνικά, Русский.",
]

LONG_PASSAGE = " ".join(f"Passage part {i} talks about proteins, cells and the immune response in mice." for i in range(30))
PAIRS = [
    ("how do I install python", "Python 3 is an interpreted language; install it with apt-get install python3."),
    ("what is a cross encoder?", "A cross encoder reads the query and the passage together and scores them."),
    ("what is a cross encoder?", "The stock market crashed on Monday."),
    ("", "An empty query still gets a score."),
    ("Café naïve?", ""),
    (TEXTS[6], LONG_PASSAGE),
    ("short query about mice", LONG_PASSAGE),
    ("日本語", "emoji 🍕 and accents Ångström"),
]


def r7(x):
    """Rounds floats to 7 significant digits (recursively)."""
    if isinstance(x, (list, tuple)):
        return [r7(v) for v in x]
    if isinstance(x, np.ndarray):
        return r7(x.tolist())
    if isinstance(x, float):
        return float(f"{x:.7g}")
    return x


# ---------------------------------------------------------------- tiny checkpoints

def tiny_vocab(real_vocab_path):
    """First 1,000 lines of the real vocabulary (keeps [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103),
    the single printable ASCII characters, "##" + every lowercase letter / digit (so every ASCII word has a
    WordPiece split), 400 common whole words and 60 common "##" suffixes, in the real vocabulary's order."""
    with open(real_vocab_path, encoding="utf-8") as f:
        real = [line.rstrip("\n") for line in f]
    chosen = list(real[:1000])
    seen = set(chosen)

    def add(tok):
        if tok not in seen:
            seen.add(tok)
            chosen.append(tok)

    for tok in real[1000:]:
        if len(tok) == 1 and 33 <= ord(tok) < 127:
            add(tok)
    for c in "abcdefghijklmnopqrstuvwxyz0123456789":
        add("##" + c)
    words = [t for t in real[1996:] if t.isascii() and t.isalpha() and len(t) > 1][:400]
    for w in words:
        add(w)
    suffixes = [t for t in real if t.startswith("##") and len(t) > 3 and t[2:].isascii() and t[2:].isalpha()][:60]
    for s in suffixes:
        add(s)
    return chosen


def random_bert(rng, vocab_size, prefix, legacy_ln, with_classifier):
    """Random BERT weights: matrices and biases N(0, STD), LayerNorm gamma 1 + N(0, STD), beta N(0, STD)."""
    t = {}

    def lin(name, out_f, in_f):
        t[name + ".weight"] = rng.normal(0, STD, (out_f, in_f))
        t[name + ".bias"] = rng.normal(0, STD, (out_f,))

    def ln(name):
        g, b = ("gamma", "beta") if legacy_ln else ("weight", "bias")
        t[f"{name}.{g}"] = 1.0 + rng.normal(0, STD, (HIDDEN,))
        t[f"{name}.{b}"] = rng.normal(0, STD, (HIDDEN,))

    p = prefix
    t[p + "embeddings.word_embeddings.weight"] = rng.normal(0, STD, (vocab_size, HIDDEN))
    t[p + "embeddings.position_embeddings.weight"] = rng.normal(0, STD, (MAXPOS, HIDDEN))
    t[p + "embeddings.token_type_embeddings.weight"] = rng.normal(0, STD, (TYPES, HIDDEN))
    ln(p + "embeddings.LayerNorm")
    for i in range(LAYERS):
        q = f"{p}encoder.layer.{i}."
        lin(q + "attention.self.query", HIDDEN, HIDDEN)
        lin(q + "attention.self.key", HIDDEN, HIDDEN)
        lin(q + "attention.self.value", HIDDEN, HIDDEN)
        lin(q + "attention.output.dense", HIDDEN, HIDDEN)
        ln(q + "attention.output.LayerNorm")
        lin(q + "intermediate.dense", INTER, HIDDEN)
        lin(q + "output.dense", HIDDEN, INTER)
        ln(q + "output.LayerNorm")
    lin(p + "pooler.dense", HIDDEN, HIDDEN)
    if with_classifier:
        lin("classifier", 1, HIDDEN)
    return {k: v.astype(np.float32) for k, v in t.items()}


def bert_config(vocab_size, arch, extra=None):
    c = {
        "architectures": [arch],
        "model_type": "bert",
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": INTER,
        "max_position_embeddings": MAXPOS,
        "type_vocab_size": TYPES,
        "vocab_size": vocab_size,
        "layer_norm_eps": 1e-12,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": STD,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
    }
    c.update(extra or {})
    return c


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_vocab(path, vocab):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")


def tokenizer_config(max_len):
    return {
        "do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
        "mask_token": "[MASK]", "model_max_length": max_len, "tokenizer_class": "BertTokenizer",
    }


def make_tiny_ce(out, vocab):
    d = os.path.join(out, "tiny-ce")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    w = random_bert(rng, len(vocab), "bert.", legacy_ln=False, with_classifier=True)
    write_safetensors(os.path.join(d, "model.safetensors"), w, metadata={"format": "pt"})
    write_json(os.path.join(d, "config.json"), bert_config(len(vocab), "BertForSequenceClassification", {
        "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}, "torch_dtype": "float32"}))
    write_vocab(os.path.join(d, "vocab.txt"), vocab)
    write_json(os.path.join(d, "tokenizer_config.json"), tokenizer_config(64))
    return d


def make_tiny_de_legacy(out, vocab):
    d = os.path.join(out, "tiny-de-legacy")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(1)
    w = random_bert(rng, len(vocab), "", legacy_ln=True, with_classifier=False)
    dtypes = {k: "F16" for k in w}
    dtypes["embeddings.position_embeddings.weight"] = "BF16"
    w["embeddings.position_ids"] = np.arange(MAXPOS, dtype=np.int64)[None, :]
    dtypes["embeddings.position_ids"] = "I64"
    write_safetensors(os.path.join(d, "model.safetensors"), w, dtypes, metadata={"format": "pt"})
    write_json(os.path.join(d, "config.json"), bert_config(len(vocab), "BertModel", {"torch_dtype": "float16"}))
    write_vocab(os.path.join(d, "vocab.txt"), vocab)
    write_json(os.path.join(d, "tokenizer_config.json"), tokenizer_config(512))
    write_json(os.path.join(d, "sentence_bert_config.json"), {"max_seq_length": 48, "do_lower_case": False})
    write_json(os.path.join(d, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ])
    write_json(os.path.join(d, "1_Pooling", "config.json"), {
        "word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False})
    return d


# ---------------------------------------------------------------- goldens

def goldens_for(directory, location):
    m = ReferenceBert(directory)
    g = {
        "location": location,
        "kind": "cross" if m.is_cross_encoder else "dual",
        "num_layers": m.num_layers,
        "hidden_size": m.hidden,
        "max_length": m.max_length,
        "texts": TEXTS,
        "input_ids": [m.encode(t)[0] for t in TEXTS],
    }
    if m.is_cross_encoder:
        enc = [m.encode_pair(t, t) for t in TEXTS]
        g["self_pair_input_ids"] = [e[0] for e in enc]
        g["self_pair_type_ids"] = [e[1] for e in enc]
        per_text = [m.ce_layer_embeddings(t) for t in TEXTS]
    else:
        g["pooling"] = m.pooling_mode()
        g["normalize"] = m.normalizes()
        g["embeddings"] = r7([m.de_embedding(t) for t in TEXTS])
        per_text = [m.de_layer_embeddings(t) for t in TEXTS]
    g["layer_embeddings"] = {str(k): r7([layers[k] for layers in per_text]) for k in range(m.num_layers + 1)}
    if m.is_cross_encoder:
        g["pairs"] = [list(p) for p in PAIRS]
        enc = [m.encode_pair(q, p) for q, p in PAIRS]
        g["pair_input_ids"] = [e[0] for e in enc]
        g["pair_type_ids"] = [e[1] for e in enc]
        scores = [m.ce_score(q, p) for q, p in PAIRS]
        g["scores"] = r7(scores)
        g["sigmoid_scores"] = r7([1.0 / (1.0 + math.exp(-s)) for s in scores])
    return g


def main(out, minilm_dir, shared_dir):
    os.makedirs(out, exist_ok=True)
    real_vocab = os.path.join(minilm_dir, "vocab.txt")
    if not os.path.exists(real_vocab):
        sys.exit(f"make-goldens: {real_vocab} is missing (run scripts/setup): the tiny vocabulary is taken from it")
    vocab = tiny_vocab(real_vocab)
    ce_dir = make_tiny_ce(out, vocab)
    de_dir = make_tiny_de_legacy(out, vocab)

    goldens = {
        "format": 1,
        "tiny-ce": goldens_for(ce_dir, {"root": "fixtures", "path": "tiny-ce"}),
        "tiny-de-legacy": goldens_for(de_dir, {"root": "fixtures", "path": "tiny-de-legacy"}),
    }
    if os.path.exists(os.path.join(minilm_dir, "model.safetensors")):
        goldens["minilm"] = goldens_for(minilm_dir, {"root": "STRATA_MODELS", "path": "all-MiniLM-L6-v2"})
    else:
        sys.exit(f"make-goldens: {minilm_dir}/model.safetensors is missing: the 'minilm' goldens need the real model "
                 "(run scripts/setup or set STRATA_MODELS); nothing written to goldens.json")
    shared_ce = {}
    models = os.path.join(shared_dir, "models")
    for name in sorted(os.listdir(models)) if os.path.isdir(models) else []:
        cfg = os.path.join(models, name, "config.json")
        if not os.path.exists(cfg):
            continue
        with open(cfg) as f:
            archs = json.load(f).get("architectures") or []
        if "BertForSequenceClassification" in archs:
            shared_ce[name] = goldens_for(os.path.join(models, name),
                                          {"root": "STRATA_SHARED", "path": f"models/{name}"})
    if not shared_ce:
        sys.exit(f"make-goldens: no BertForSequenceClassification under {models}: the 'shared-ce' goldens need "
                 "the shared models (set STRATA_SHARED); nothing written to goldens.json")
    goldens["shared-ce"] = shared_ce
    with open(os.path.join(out, "goldens.json"), "w", encoding="utf-8") as f:
        json.dump(goldens, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])

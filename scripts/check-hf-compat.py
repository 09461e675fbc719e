#!/usr/bin/env python3
"""Checks that checkpoints Strata writes load unchanged in sentence-transformers / transformers.

  python3 scripts/check-hf-compat.py [--de DE_DIR] [--ce CE_DIR] [--strata .build/release/strata]

For --de (a `strata infuse` output): SentenceTransformer(DE_DIR).encode(texts) against `strata embed`.
For --ce (a `strata train-ce` output): CrossEncoder(CE_DIR).predict(pairs) (raw logits) and
AutoModelForSequenceClassification against `strata score`. Loading must not report missing or unexpected
weights. Prints the largest differences; exits 1 when an embedding differs by more than 1e-4 or a logit by
more than 1e-3. Needs torch and sentence-transformers (the peer environment of scripts/setup-peers,
e.g. /opt/strata-peers/bin/python); it is a compatibility check, not part of the test suite.
"""
import argparse, json, os, subprocess, sys, tempfile

import numpy as np

TEXTS = [
    "how do I install python on debian",
    "A man is eating a piece of bread.",
    "Café naïve Ångström — déjà vu!",
    "library for parsing JSON in C with a small footprint and no dependencies",
    "",
    "The quick brown fox jumps over the lazy dog. " * 20,
]
PAIRS = [(TEXTS[0], "Python 3 is an interpreted language; install it with apt-get install python3."),
         (TEXTS[3], "The stock market crashed on Monday."),
         (TEXTS[3], "Jansson is a C library for encoding, decoding and manipulating JSON data."),
         ("", "an empty query still gets a score"),
         (TEXTS[5], TEXTS[5])]


def strata(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"strata {' '.join(args)} failed:\n{r.stderr}")


def check_de(path, binary, tmp):
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(path, device="cpu")
    want = st.encode(TEXTS, convert_to_numpy=True, batch_size=len(TEXTS))
    inp, out = os.path.join(tmp, "texts.jsonl"), os.path.join(tmp, "e.npy")
    with open(inp, "w", encoding="utf-8") as f:
        for i, t in enumerate(TEXTS):
            f.write(json.dumps({"_id": str(i), "text": t}) + "\n")
    strata(binary, "embed", "--model", path, "--input", inp, "--output", out)
    got = np.load(out)
    diff = float(np.abs(got - want).max())
    modules = " + ".join(type(m).__name__ for m in st)
    print(f"DE {path}: SentenceTransformer loads it ({modules}); max |strata embed - ST encode| = {diff:.2e} "
          f"over {len(TEXTS)} texts x {got.shape[1]} dims")
    return diff <= 1e-4


def check_ce(path, binary, tmp):
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import AutoModelForSequenceClassification
    _, info = AutoModelForSequenceClassification.from_pretrained(path, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if bad:
        print(f"CE {path}: transformers reports {bad}")
        return False
    ce = CrossEncoder(path, device="cpu", activation_fn=torch.nn.Identity())
    want = np.asarray(ce.predict(PAIRS, batch_size=len(PAIRS)), dtype=np.float64)
    inp, out = os.path.join(tmp, "pairs.jsonl"), os.path.join(tmp, "s.txt")
    with open(inp, "w", encoding="utf-8") as f:
        for q, p in PAIRS:
            f.write(json.dumps({"query": q, "passage": p}) + "\n")
    strata(binary, "score", "--model", path, "--input", inp, "--output", out)
    got = np.array([float(x) for x in open(out, encoding="utf-8").read().split()])
    diff = float(np.abs(got - want).max())
    print(f"CE {path}: transformers loads it with no missing or unexpected weights (max_length {ce.max_length}); "
          f"max |strata score - CrossEncoder.predict| = {diff:.2e} over {len(PAIRS)} pairs (logits {np.round(want, 3).tolist()})")
    return diff <= 1e-3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--de", action="append", default=[])
    ap.add_argument("--ce", action="append", default=[])
    ap.add_argument("--strata", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "strata"))
    a = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for d in a.de:
            ok &= check_de(d, a.strata, tmp)
        for c in a.ce:
            ok &= check_ce(c, a.strata, tmp)
    print("all match" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

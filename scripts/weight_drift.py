#!/usr/bin/env python3
"""How far one BERT checkpoint's weights are from another's, per part: ||A - B|| / ||B||.

  python3 scripts/weight_drift.py MODEL_A MODEL_B

Both are Hugging Face directories (model.safetensors; BertModel or BertForSequenceClassification names, matched
through scripts/reference_bert.py's canonical names). Prints the relative Frobenius distance of the embeddings
and of each encoder layer both have. Used to tell how much of a cross encoder fine-tuned from a dual encoder
is still that dual encoder: knowledge infusion copies exactly these early weights.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_bert import canonical_name, read_safetensors  # noqa: E402


def load(path):
    return {canonical_name(k): v for k, v in read_safetensors(os.path.join(path, "model.safetensors")).items()}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = load(sys.argv[1]), load(sys.argv[2])
    groups = ["embeddings."] + [f"encoder.layer.{i}." for i in range(64)]
    print(f"||A - B|| / ||B||   A = {sys.argv[1]}   B = {sys.argv[2]}")
    for g in groups:
        names = [k for k in b if k.startswith(g) and k in a and a[k].shape == b[k].shape and a[k].dtype.kind == "f"]
        if not names:
            continue
        num = sum(float(np.sum((a[k] - b[k]) ** 2)) for k in names)
        den = sum(float(np.sum(b[k] ** 2)) for k in names)
        label = "embeddings" if g == "embeddings." else f"layer {int(g.split('.')[2]) + 1}"
        print(f"  {label:<11} {np.sqrt(num / den):.4f}   ({len(names)} tensors)")


if __name__ == "__main__":
    main()

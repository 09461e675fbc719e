#!/usr/bin/env python3
"""Markdown rows (nDCG@10, MRR@10, Hits@10) from `strata eval --output` JSON files, for docs/training.md.

  scripts/train_results_table.py LABEL=metrics.json [LABEL=metrics.json ...]

With a re-ranking run (`--rerank`), the JSON holds both the first stage and the re-ranked metrics; LABEL@first
prints the first stage of that file.
"""
import json, sys

def main():
    print("| ranking | nDCG@10 | MRR@10 | Hits@10 |\n|---|---|---|---|")
    for arg in sys.argv[1:]:
        label, path = arg.split("=", 1)
        d = json.load(open(path, encoding="utf-8"))
        m = d["metrics"]
        if label.endswith("@first"):
            label, m = label[:-6], d["first_stage_metrics"]
        print(f"| {label} | {m['nDCG@10']:.4f} | {m['MRR@10']:.4f} | {m['Hits@10']:.4f} |")

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Markdown table of a `scripts/infusion-table` output folder (the paper's knowledge-infusion table).

  scripts/infusion_table.py DIR [--compact METRIC]

Reads DIR/runs.tsv (name tag layers copy source seed seconds, or - when unknown), DIR/eval/MODEL__SET.json (`strata eval --output`)
and DIR/logs/bench-encoder-L*.log, and prints, for every evaluation set, one row per (training setting, source):
Hits@10, MRR@10 and nDCG@10 as the mean over seeds with the sample standard deviation when there are several,
the number of seeds, and the mean training time. The full DE (no training here) heads each table.
With --compact METRIC (e.g. nDCG@10): one table, one row per (training setting, source), one column per set.
"""
import glob, json, os, re, statistics, sys

METRICS = ("Hits@10", "MRR@10", "nDCG@10")


def fmt(values):
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {statistics.stdev(values):.4f}"


def source_label(src, layers):
    k = f"DE-{layers}"
    if src.startswith("ce."):
        return f"{k} CE ({src[3:]})"
    return f"{k} DE" if src == "de" else f"{k} {src}"


def setting(run):
    """What a row of the table is: the training setting and the source, seeds apart."""
    return (run["tag"], run["layers"], run["copy"], run["src"])


def setting_order(key):
    tag, layers, copy, src = key
    return (tag, layers, copy, 0 if src.startswith("ce.") else 1 if src == "de" else 2, src)


def grouped(runs, models):
    """{setting: [(run, metrics)]} for the runs evaluated in `models` (model name -> eval JSON)."""
    groups = {}
    for name, r in runs.items():
        if name in models:
            groups.setdefault(setting(r), []).append((r, models[name]["metrics"]))
    return groups


def main():
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and sys.argv[2] != "--compact"):
        sys.exit(__doc__)
    root = sys.argv[1]
    compact = sys.argv[3] if len(sys.argv) == 4 else None
    runs = {}
    with open(os.path.join(root, "runs.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                name, tag, layers, copy, src, seed, secs = line.rstrip("\n").split("\t")
                runs[name] = dict(tag=tag, layers=layers, copy=copy, src=src, seed=seed, secs=None if secs == "-" else float(secs))
    evals = {}  # set -> model -> json
    for path in sorted(glob.glob(os.path.join(root, "eval", "*__*.json"))):
        model, eset = os.path.basename(path)[:-5].split("__", 1)
        evals.setdefault(eset, {})[model] = json.load(open(path, encoding="utf-8"))

    if compact:
        sets = sorted(evals)
        print("| model | training | " + " | ".join(f"{s} {compact}" for s in sets) + " | seeds |")
        print("|---|---|" + "---|" * len(sets) + "---|")
        print("| full DE | - | " + " | ".join(f"{evals[s]['full-de']['metrics'][compact]:.4f}" if "full-de" in evals[s] else "-"
                                            for s in sets) + " | - |")
        per_set = {s: grouped(runs, evals[s]) for s in sets}
        for key in sorted({setting(r) for r in runs.values()}, key=setting_order):
            cells = [fmt([m[compact] for _, m in per_set[s][key]]) if key in per_set[s] else "-" for s in sets]
            seeds = ",".join(r["seed"] for r in runs.values() if setting(r) == key)
            tag, layers, copy, src = key
            print(f"| {source_label(src, layers)} | {tag}, copy {copy} | " + " | ".join(cells) + f" | {seeds} |")
        return

    for log in sorted(glob.glob(os.path.join(root, "logs", "bench-encoder-L*.log"))):
        text = open(log, encoding="utf-8").read()
        full = re.search(r"batch (\d+ x \d+) tokens: (\d+) tokens/s", text)
        part = re.search(r"first (\d+) layers: (\d+) tokens/s, ([\d.]+)x", text)
        if full and part:
            print(f"Throughput (`strata bench encoder --layers {part.group(1)}`, one run, batch {full.group(1)} tokens): "
                  f"full DE {full.group(2)} tokens/s, DE-{part.group(1)} {part.group(2)} tokens/s = "
                  f"**{part.group(3)}x**.\n")

    for eset, models in evals.items():
        first = next(iter(models.values()))
        print(f"### {first.get('dataset', eset)} ({first.get('split')}, {first.get('queries')} queries, "
              f"{first.get('corpus')} documents)\n")
        print("| model | training | " + " | ".join(METRICS) + " | nDCG@10 / full DE | seeds | training time |")
        print("|---|---|" + "---|" * len(METRICS) + "---|---|---|")
        full = models.get("full-de", {}).get("metrics")
        if full:
            print("| full DE | - | " + " | ".join(f"{full[k]:.4f}" for k in METRICS) + " | 100% | - | - |")
        groups = grouped(runs, models)
        for key in sorted(groups, key=setting_order):
            tag, layers, copy, src = key
            rows = groups[key]
            cells = [fmt([m[k] for _, m in rows]) for k in METRICS]
            known = [r["secs"] for r, _ in rows if r["secs"] is not None]
            secs = f"{statistics.fmean(known) / 60:.1f} min" if known else "-"
            seeds = ",".join(r["seed"] for r, _ in rows)
            share = f"{100 * statistics.fmean(m['nDCG@10'] for _, m in rows) / full['nDCG@10']:.1f}%" if full else "-"
            print(f"| {source_label(src, layers)} | {tag}, copy {copy} | " + " | ".join(cells)
                  + f" | {share} | {seeds} | {secs} |")
        print()


if __name__ == "__main__":
    main()

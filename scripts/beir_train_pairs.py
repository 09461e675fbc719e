#!/usr/bin/env python3
"""Training pairs for `strata infuse` / `strata train-ce` from a BEIR-format dataset.

  scripts/beir_train_pairs.py --data DIR [--split train] --out FILE.jsonl [--random-negatives N] [--teacher CE_DIR]
  scripts/beir_train_pairs.py --from MINED.jsonl --teacher CE_DIR --out FILE.jsonl

Writes one line per (query, relevant document) of qrels/<split>.tsv (score > 0): {"query", "positive"}; documents
are "title text" joined with a space as BEIR's dense retrieval does. --random-negatives N adds N random
non-relevant documents as "negatives". --teacher CE_DIR adds the cross encoder's logits for [positive] + negatives
as "scores" (for --loss margin-mse / kl), computed with `strata score`; with --from FILE it adds them to an
existing training file instead (e.g. one written by `strata mine`), and --data is not needed.
DE-mined hard negatives are made in Swift by `strata mine` (see docs/training.md), not here.
"""
import argparse, json, os, sys
import numpy as np

def read_jsonl(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                o = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not valid JSON ({e})")
            out[str(o["_id"])] = o
    return out

def build_pairs(a):
    corpus = read_jsonl(os.path.join(a.data, "corpus.jsonl"))
    queries = read_jsonl(os.path.join(a.data, "queries.jsonl"))
    qrels = {}
    with open(os.path.join(a.data, "qrels", a.split + ".tsv"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if n == 1 and parts[0] == "query-id":
                continue
            if len(parts) != 3:
                sys.exit(f"qrels line {n}: expected 3 tab-separated columns")
            if int(parts[2]) > 0:
                qrels.setdefault(parts[0], []).append(parts[1])
    text = lambda d: (d.get("title", "") + " " + d.get("text", "")).strip()
    all_ids = sorted(corpus)
    rs = np.random.RandomState(a.seed)
    rows = []
    for qid, rel in qrels.items():
        if qid not in queries:
            print(f"warning: query {qid} of qrels is not in queries.jsonl", file=sys.stderr)
            continue
        for did in rel:
            if did not in corpus:
                print(f"warning: document {did} of qrels is not in corpus.jsonl", file=sys.stderr)
                continue
            o = {"query": queries[qid]["text"], "positive": text(corpus[did])}
            if a.random_negatives:
                picks = [all_ids[i] for i in rs.choice(len(all_ids), a.random_negatives + len(rel), replace=False)]
                o["negatives"] = [text(corpus[d]) for d in picks if d not in rel][:a.random_negatives]
            rows.append(o)
    return rows

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--from", dest="src", help="existing training jsonl to add teacher scores to (with --teacher)")
    ap.add_argument("--split", default="train")
    ap.add_argument("--out", required=True)
    ap.add_argument("--random-negatives", type=int, default=0, help="add N random non-relevant documents (seeded)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--teacher", help="cross-encoder dir: add its logits as \"scores\" (distillation), via --strata score")
    ap.add_argument("--strata", default="strata", help="the strata binary (for --teacher)")
    a = ap.parse_args()
    if a.src:
        if not a.teacher:
            sys.exit("--from needs --teacher")
        rows = [json.loads(l) for l in open(a.src, encoding="utf-8") if l.strip()]
    elif not a.data:
        sys.exit("--data (or --from with --teacher) is required")
    else:
        rows = build_pairs(a)
    if a.teacher:
        import subprocess, tempfile
        with tempfile.TemporaryDirectory() as tmp:
            pairs = os.path.join(tmp, "pairs.jsonl"); scores = os.path.join(tmp, "scores.txt")
            with open(pairs, "w", encoding="utf-8") as g:
                for o in rows:
                    for c in [o["positive"]] + o.get("negatives", []):
                        g.write(json.dumps({"query": o["query"], "passage": c}, ensure_ascii=False) + "\n")
            subprocess.run([a.strata, "score", "--model", a.teacher, "--input", pairs, "--output", scores], check=True)
            vals = [float(x) for x in open(scores, encoding="utf-8").read().split()]
        k = 0
        for o in rows:
            c = 1 + len(o.get("negatives", []))
            o["scores"] = vals[k:k + c]
            k += c
        assert k == len(vals), f"{len(vals)} scores for {k} pairs"
    with open(a.out, "w", encoding="utf-8") as f:
        for o in rows:
            f.write(json.dumps(o, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} examples to {a.out}", file=sys.stderr)

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Retrieval metrics of a (trained) dual encoder on a BEIR dataset, for docs/training.md.

  scripts/eval_train_de.py --strata .build/release/strata --model DIR --data BEIR_DIR [--split test] [--work DIR]

Embeds corpus.jsonl and queries.jsonl with `strata embed` (the model's own pooling / normalisation), ranks the whole
corpus by inner product per test query (exact), and prints nDCG@10, MRR@10 (recip_rank cut at 10) and Hits@10 as
pytrec_eval computes them, plus the embedding time. Use `strata eval` instead where it exists; this is the
stand-in used while that command was being written.
"""
import argparse, json, os, subprocess, sys, time
import numpy as np
import pytrec_eval

def ids_of(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(str(json.loads(line)["_id"]))
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", required=True); ap.add_argument("--model", required=True); ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="test"); ap.add_argument("--work", default="out/eval")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    tag = os.path.basename(os.path.normpath(a.model))
    qrels = {}
    with open(os.path.join(a.data, "qrels", a.split + ".tsv"), encoding="utf-8") as f:
        for n, line in enumerate(f):
            p = line.rstrip("\n").split("\t")
            if n == 0 and p[0] == "query-id":
                continue
            qrels.setdefault(p[0], {})[p[1]] = int(p[2])
    qpath = os.path.join(a.work, f"queries-{a.split}.jsonl")
    with open(os.path.join(a.data, "queries.jsonl"), encoding="utf-8") as f, open(qpath, "w", encoding="utf-8") as g:
        for line in f:
            if line.strip() and str(json.loads(line)["_id"]) in qrels:
                g.write(line if line.endswith("\n") else line + "\n")
    t0 = time.time()
    c_npy, q_npy = os.path.join(a.work, f"{tag}-corpus.npy"), os.path.join(a.work, f"{tag}-queries.npy")
    for inp, outp in [(os.path.join(a.data, "corpus.jsonl"), c_npy), (qpath, q_npy)]:
        subprocess.run([a.strata, "embed", "--model", a.model, "--input", inp, "--output", outp], check=True)
    embed_s = time.time() - t0
    c, q = np.load(c_npy), np.load(q_npy)
    cids, qids = ids_of(os.path.join(a.data, "corpus.jsonl")), ids_of(qpath)
    run = {}
    for i, qid in enumerate(qids):
        s = c @ q[i]
        top = np.argpartition(-s, 100)[:100]
        run[qid] = {cids[j]: float(s[j]) for j in top}
    ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recip_rank", "success.10"})
    # MRR@10: recip_rank on the run cut at 10
    run10 = {qid: dict(sorted(d.items(), key=lambda kv: -kv[1])[:10]) for qid, d in run.items()}
    r_all, r10 = ev.evaluate(run), ev.evaluate(run10)
    mean = lambda r, k: float(np.mean([v[k] for v in r.values()]))
    out = {"model": a.model, "split": a.split, "queries": len(qids), "ndcg@10": mean(r_all, "ndcg_cut_10"),
           "mrr@10": mean(r10, "recip_rank"), "hits@10": mean(r_all, "success_10"), "embed_seconds": round(embed_s, 1)}
    print(json.dumps(out))

if __name__ == "__main__":
    main()

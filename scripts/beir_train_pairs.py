#!/usr/bin/env python3
"""Training pairs for `strata infuse` / `strata train-ce` from a BEIR-format dataset.

  scripts/beir_train_pairs.py --data DIR [--split train] --out FILE.jsonl
        [--corpus-emb C.npy --corpus-ids C.ids --query-emb Q.npy --query-ids Q.ids --negatives 3 --skip 0]

Writes one line per (query, relevant document) of qrels/<split>.tsv (score > 0): {"query", "positive"}; documents
are "title text" joined with a space as BEIR's dense retrieval does. With embeddings (e.g. from
`strata embed --output x.npy`, ids one per line in the same order) it adds "negatives": the top-ranked documents by
inner product that are not relevant to the query, after skipping the first --skip of them (hard negatives mined by a DE);
--random-negatives N adds N random non-relevant documents instead. --teacher CE_DIR adds the cross encoder's logits
for [positive] + negatives as "scores" (for --loss margin-mse / kl), computed with `strata score`.
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

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="train")
    ap.add_argument("--out", required=True)
    ap.add_argument("--corpus-emb"); ap.add_argument("--corpus-ids")
    ap.add_argument("--query-emb"); ap.add_argument("--query-ids")
    ap.add_argument("--negatives", type=int, default=3)
    ap.add_argument("--skip", type=int, default=0)
    ap.add_argument("--random-negatives", type=int, default=0, help="add N random non-relevant documents (seeded)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--teacher", help="cross-encoder dir: add its logits as \"scores\" (distillation), via --strata score")
    ap.add_argument("--strata", default="strata", help="the strata binary (for --teacher)")
    a = ap.parse_args()
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
    mined = {}
    if a.corpus_emb:
        c = np.load(a.corpus_emb); q = np.load(a.query_emb)
        cids = open(a.corpus_ids, encoding="utf-8").read().split("\n")[:len(c)]
        qids = open(a.query_ids, encoding="utf-8").read().split("\n")[:len(q)]
        qpos = {qid: i for i, qid in enumerate(qids)}
        for qid, rel in qrels.items():
            if qid not in qpos:
                continue
            s = c @ q[qpos[qid]]
            order = np.argsort(-s)[: a.skip + a.negatives + len(rel) + 5]
            negs = [cids[i] for i in order if cids[i] not in rel][a.skip:a.skip + a.negatives]
            mined[qid] = negs
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
            if qid in mined:
                o["negatives"] = [text(corpus[d]) for d in mined[qid]]
            elif a.random_negatives:
                picks = [all_ids[i] for i in rs.choice(len(all_ids), a.random_negatives + len(rel), replace=False)]
                o["negatives"] = [text(corpus[d]) for d in picks if d not in rel][:a.random_negatives]
            rows.append(o)
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

#!/usr/bin/env python3
"""Reference for `strata layers` on a small subset: the lead's NumPy BERT (scripts/reference_bert.py,
float64) embeds every layer (mean pooling; a cross encoder pairs the text with itself), NumPy exact
search takes the top 100 by cosine, pytrec_eval scores the runs. Compare its JSON with
`strata layers ... --max-queries Q --max-corpus C` (same subsampling rule: every document judged for
the first Q judged queries, then the others in file order up to C documents).

Usage: python3 scripts/eval_layers_reference.py MODEL_DIR DATA_DIR --max-queries 20 --max-corpus 200 [--split test]
Prints {"model", "layers": [{"layer", "nDCG@10", "MRR@10", "Recall@100"}]} as JSON.
"""
import argparse, json, os, sys
import numpy as np
import pytrec_eval

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_bert import ReferenceBert  # noqa: E402


def load(data, split, max_q, max_c):
    corpus = [json.loads(l) for l in open(os.path.join(data, "corpus.jsonl")) if l.strip()]
    queries = [json.loads(l) for l in open(os.path.join(data, "queries.jsonl")) if l.strip()]
    qrels = {}
    with open(os.path.join(data, "qrels", split + ".tsv")) as f:
        for i, line in enumerate(f):
            c = line.rstrip("\n").split("\t")
            if i == 0 and not c[2].strip().lstrip("-").isdigit():
                continue
            qrels.setdefault(c[0], {})[c[1]] = int(c[2])
    queries = [q for q in queries if str(q["_id"]) in qrels][:max_q]
    keep_q = {str(q["_id"]) for q in queries}
    qrels = {q: d for q, d in qrels.items() if q in keep_q}
    judged = {d for q in qrels.values() for d in q}
    room = max(0, max_c - sum(1 for d in corpus if str(d["_id"]) in judged))
    sub = []
    for d in corpus:
        if str(d["_id"]) in judged:
            sub.append(d)
        elif room > 0:
            room -= 1
            sub.append(d)
    return sub, queries, qrels


def text(d):
    return ((d["title"] + " " + d["text"]) if "title" in d else d["text"]).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model"); ap.add_argument("data")
    ap.add_argument("--split", default="test")
    ap.add_argument("--max-queries", type=int, default=20)
    ap.add_argument("--max-corpus", type=int, default=200)
    a = ap.parse_args()
    corpus, queries, qrels = load(a.data, a.split, a.max_queries, a.max_corpus)
    m = ReferenceBert(a.model)
    emb = m.ce_layer_embeddings if m.is_cross_encoder else m.de_layer_embeddings
    def embed_all(texts):
        per = [emb(t) for t in texts]                       # [n][layers][H]
        return [np.stack([p[l] for p in per]) for l in range(m.num_layers + 1)]
    Q = embed_all([q["text"] for q in queries])
    D = embed_all([text(d) for d in corpus])
    ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100", "recip_rank"})
    out = []
    for l in range(m.num_layers + 1):
        q = Q[l] / np.linalg.norm(Q[l], axis=1, keepdims=True)
        d = D[l] / np.linalg.norm(D[l], axis=1, keepdims=True)
        s = q @ d.T
        run, run10 = {}, {}
        for i, qq in enumerate(queries):
            order = sorted(range(len(corpus)), key=lambda j: (-s[i, j], j))[:100]
            run[str(qq["_id"])] = {str(corpus[j]["_id"]): float(np.float32(s[i, j])) for j in order}
            # MRR@10 on the top 10 of our own ranking (scores made distinct so trec_eval keeps it)
            run10[str(qq["_id"])] = {str(corpus[j]["_id"]): float(10 - r) for r, j in enumerate(order[:10])}
        r = ev.evaluate(run)
        rr = ev.evaluate(run10)
        n = len(r)
        out.append({"layer": l,
                    "nDCG@10": sum(v["ndcg_cut_10"] for v in r.values()) / n,
                    "MRR@10": sum(v["recip_rank"] for v in rr.values()) / n,
                    "Recall@100": sum(v["recall_100"] for v in r.values()) / n})
    print(json.dumps({"model": os.path.basename(a.model.rstrip("/")), "queries": len(queries),
                      "corpus": len(corpus), "layers": out}, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Makes the demo corpus cluster/sample/ from a debian-packages dataset (`strata data debian-packages`):
the documents of the first 2,000 test-split packages (sorted by id) plus their synopses as queries and
qrels, so the demo and the cluster tests run on real text offline.

    scripts/make-demo-sample.py /path/to/debian-packages cluster/sample
"""
import json, os, sys

src, dst = sys.argv[1], sys.argv[2]
N = 2000
qrels = {}
with open(os.path.join(src, "qrels", "test.tsv")) as f:
    next(f)
    for line in f:
        q, d, s = line.rstrip("\n").split("\t")
        qrels.setdefault(q, []).append((d, s))
keep_q = sorted(qrels)[:N]
docs = {d for q in keep_q for d, _ in qrels[q]}
os.makedirs(os.path.join(dst, "qrels"), exist_ok=True)
with open(os.path.join(src, "corpus.jsonl")) as f, open(os.path.join(dst, "corpus.jsonl"), "w") as out:
    for line in f:
        if json.loads(line)["_id"] in docs:
            out.write(line)
qs = set(keep_q)
with open(os.path.join(src, "queries.jsonl")) as f, open(os.path.join(dst, "queries.jsonl"), "w") as out:
    for line in f:
        if json.loads(line)["_id"] in qs:
            out.write(line)
with open(os.path.join(dst, "qrels", "test.tsv"), "w") as out:
    out.write("query-id\tcorpus-id\tscore\n")
    for q in keep_q:
        for d, s in qrels[q]:
            out.write(f"{q}\t{d}\t{s}\n")
print(f"{len(docs)} documents, {len(keep_q)} queries -> {dst}")

#!/usr/bin/env python3
"""FAISS IndexFlatIP peer of `strata bench search`: same shapes, same kind of data (uniform random
rows, L2-normalised), exact top-k by inner product. Prints queries/s per batch size.

Usage: python3 scripts/bench-faiss.py [--n 100000] [--dim 384] [--k 10] [--batches 1,32,256] [--seconds 2]
Needs: pip install faiss-cpu numpy. Threads: FAISS uses OpenMP (OMP_NUM_THREADS); strata uses
OpenBLAS threads plus Dispatch; run both with the machine's cores and say so when comparing.
"""
import argparse, time
import numpy as np
import faiss

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=100_000)
ap.add_argument("--dim", type=int, default=384)
ap.add_argument("--k", type=int, default=10)
ap.add_argument("--batches", default="1,32,256")
ap.add_argument("--seconds", type=float, default=2.0)
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()

rng = np.random.default_rng(a.seed)
def unit(rows):
    x = rng.uniform(-1, 1, size=(rows, a.dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x

corpus = unit(a.n)
batches = [int(b) for b in a.batches.split(",")]
queries = unit(max(batches))
index = faiss.IndexFlatIP(a.dim)
index.add(corpus)
print(f"FAISS {faiss.__version__} IndexFlatIP exact top-{a.k}, corpus {a.n} x {a.dim} float32, "
      f"omp threads {faiss.omp_get_max_threads()}")
print("batch   queries/s   ms/batch   GFLOP/s")
for b in batches:
    q = queries[:b]
    index.search(q, a.k)  # warm-up
    reps, t0 = 0, time.perf_counter()
    while True:
        index.search(q, a.k)
        reps += 1
        el = time.perf_counter() - t0
        if el >= a.seconds:
            break
    qps = reps * b / el
    print(f"{b:5d}   {qps:9.1f}   {el / reps * 1000:8.2f}   {qps * 2 * a.n * a.dim / 1e9:7.1f}")

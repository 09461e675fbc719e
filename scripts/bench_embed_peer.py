#!/usr/bin/env python3
"""Whole-corpus encode time of sentence-transformers (PyTorch, fp32) for scripts/bench-embed: the same
texts (BEIR corpus.jsonl: title + " " + text, or a text per line), batch 32, the given thread count.
Prints texts/s. Run inside the venv from scripts/setup-peers."""
import argparse, json, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(a.threads)
    texts = []
    with open(a.input, encoding="utf-8") as f:
        for line in f:
            if a.input.endswith(".jsonl"):
                o = json.loads(line)
                # Strata's one rule (Formats TextRecord.joined): (title + " " + text).strip(), no title -> text.strip()
                texts.append(((o.get("title") or "") + " " + o["text"]).strip())
            else:
                texts.append(line.rstrip("\n"))
    t0 = time.perf_counter()
    st = SentenceTransformer(a.model, device="cpu")
    st.encode(texts, batch_size=32)
    el = time.perf_counter() - t0
    print(f"sentence-transformers fp32, {a.threads} threads: {len(texts)} texts in {el:.1f} s, {len(texts) / el:.1f} texts/s")


if __name__ == "__main__":
    main()

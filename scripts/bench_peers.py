#!/usr/bin/env python3
"""Peer encoder throughput for `strata bench encoder`: the same model, batch and sequence length on
sentence-transformers (PyTorch), ONNX Runtime fp32, and ONNX Runtime int8 (the fp32 graph after
onnxruntime.quantization.quantize_dynamic: int8 weights, one scale per tensor, u8 activations
quantized per call, as sentence-transformers' export_dynamic_quantized_onnx_model with its
"avx512_vnni" config: is_static=False, per_channel=False), with the same thread count. Prints tokens/s.

Run inside the venv from scripts/setup-peers:
    $VENV/bin/python scripts/bench_peers.py --model ~/.cache/strata/models/all-MiniLM-L6-v2 --threads 2
"""
import argparse, os, tempfile, time

import numpy as np


def rate(fn, seconds):
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn(); n += 1
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(a.threads)
    st = SentenceTransformer(a.model, device="cpu")
    bert = st[0].auto_model.eval()
    rng = np.random.default_rng(0)
    ids = rng.integers(2000, bert.config.vocab_size, size=(a.batch, a.seq))
    ids[:, 0], ids[:, -1] = 101, 102
    input_ids = torch.tensor(ids)
    mask = torch.ones_like(input_ids)
    tokens = a.batch * a.seq

    def torch_forward():
        with torch.inference_mode():
            out = bert(input_ids=input_ids, attention_mask=mask).last_hidden_state
            (out * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)

    print(f"sentence-transformers {__import__('sentence_transformers').__version__} on PyTorch {torch.__version__}, "
          f"{a.threads} threads: {rate(torch_forward, a.seconds) * tokens:.0f} tokens/s")

    import onnxruntime as ort
    path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    class Wrapped(torch.nn.Module):
        def __init__(self, m):
            super().__init__(); self.m = m
        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    with torch.inference_mode():
        torch.onnx.export(Wrapped(bert), (input_ids, mask), path, input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], opset_version=17,
                          dynamic_axes={"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"}}, dynamo=False)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feeds = {"input_ids": ids.astype(np.int64), "attention_mask": np.ones_like(ids, dtype=np.int64)}
    print(f"ONNX Runtime {ort.__version__}, {a.threads} threads: {rate(lambda: sess.run(None, feeds), a.seconds) * tokens:.0f} tokens/s")

    from onnxruntime.quantization import QuantType, quantize_dynamic
    qpath = os.path.join(os.path.dirname(path), "model_qint8_avx512_vnni.onnx")
    quantize_dynamic(path, qpath, weight_type=QuantType.QInt8, per_channel=False, reduce_range=False)
    qsess = ort.InferenceSession(qpath, so, providers=["CPUExecutionProvider"])
    print(f"ONNX Runtime {ort.__version__} int8 (quantize_dynamic), {a.threads} threads: "
          f"{rate(lambda: qsess.run(None, feeds), a.seconds) * tokens:.0f} tokens/s")


if __name__ == "__main__":
    main()

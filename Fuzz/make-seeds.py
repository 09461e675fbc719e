#!/usr/bin/env python3
"""Writes the committed seed corpora of the libFuzzer harnesses into Fuzz/seeds/NAME/ (small, valid
inputs of each format, and a few near misses). Run from the repository root; needs python3 with
protobuf (scripts/setup installs it) for the Wire seeds."""
import json, os, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "Fuzz", "seeds")


def put(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def wire():
    sys.path.insert(0, os.path.join(ROOT, "cluster"))
    from example_client import MESSAGES
    E = MESSAGES["strata.Envelope"]
    e = E(request_id=7, deadline_unix_ms=1700000000000); e.search_request.query = "how to mount nfs"; e.search_request.top_k = 10
    put("wire", "search_request", e.SerializeToString())
    e = E(request_id=8); e.search_shard_request.shard_id = 3; e.search_shard_request.k = 5
    e.search_shard_request.dimension = 4; e.search_shard_request.query = struct.pack("<4f", 0.1, -0.2, 0.3, 0.4)
    put("wire", "search_shard_request", e.SerializeToString())
    e = E(request_id=8); e.status.code = 0
    for i in range(3):
        h = e.search_shard_reply.hits.add(); h.doc_index = 100 + i; h.doc_id = "doc%d" % i; h.score = 0.5 - i / 10
    put("wire", "search_shard_reply", e.SerializeToString())
    e = E(request_id=9); e.embed_chunk_reply.job_id = "job-1"; e.embed_chunk_reply.chunk_index = 2
    e.embed_chunk_reply.rows = 2; e.embed_chunk_reply.dimension = 2; e.embed_chunk_reply.vectors = struct.pack("<4f", 1, 2, 3, 4)
    put("wire", "embed_chunk_reply", e.SerializeToString())
    e = E(request_id=10); e.embed_chunk_request.job_id = "job-1"; e.embed_chunk_request.texts.extend(["a", "b c"])
    put("wire", "embed_chunk_request", e.SerializeToString())
    e = E(); e.heartbeat.SetInParent()
    put("wire", "heartbeat", e.SerializeToString())
    e = E(request_id=11); e.status.code = 3; e.status.message = "bad frame"
    put("wire", "error_status", e.SerializeToString())
    put("wire", "truncated", E(request_id=12, deadline_unix_ms=5).SerializeToString()[:-1] + b"\x80")


def records():
    put("records", "beir", '{"_id": "d1", "title": "T", "text": "first text"}\n{"_id": "d2", "text": "second"}\n')
    put("records", "crlf_unicode", '{"_id":"x","text":"caf\\u00e9 \\ud83d\\ude00"}\r\n{"_id":"y","title":"","text":"\\u4e2d\\u6587"}')
    put("records", "plain", "one line\n\nthird line\n")
    put("records", "bad_json", '{"_id": "d1", "text": 3}\n{"_id": "d1"')
    put("records", "duplicate", '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n')
    put("records", "invalid_utf8", b'{"_id": "a", "text": "\xff\xfe"}\n')


def safetensors():
    def file(header, data=b""):
        h = json.dumps(header).encode()
        return struct.pack("<Q", len(h)) + h + data
    put("safetensors", "valid", file({"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                                       "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}, bytes(24)))
    put("safetensors", "out_of_range", file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}}, bytes(16)))
    put("safetensors", "bad_length", struct.pack("<Q", 1 << 40) + b"{}")
    put("safetensors", "f16", file({"h": {"dtype": "F16", "shape": [3], "data_offsets": [0, 6]}}, bytes(6)))


def tokenizer():
    for i, t in enumerate(["Hello, world! How are you?", "unaffable running jumped", "caf\u00e9 na\u00efve \u00c5ngstr\u00f6m",
                           "\u4e2d\u6587\u5b57 and \u0645\u0631\u062d\u0628\u0627", "a" * 150, "don't  stop--now...\t\n[SEP] [CLS]",
                           "\U0001F600 emoji \u200b zero width"]):
        put("tokenizer", "text%d" % i, t)


def npy():
    def file(shape, dtype="<f4", data=None):
        header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dtype, shape)
        header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + (data or b"")
    put("npy", "valid_2x3", file("(2, 3)", data=struct.pack("<6f", *range(6))))
    put("npy", "empty_0x4", file("(0, 4)"))
    put("npy", "short_data", file("(2, 2)", data=bytes(8)))
    put("npy", "float64", file("(1, 1)", dtype="<f8", data=bytes(8)))
    put("npy", "one_dim", file("(3,)", data=bytes(12)))


if __name__ == "__main__":
    wire(); records(); safetensors(); tokenizer(); npy()
    for t in sorted(os.listdir(SEEDS)):
        print("%s: %d seeds" % (t, len(os.listdir(os.path.join(SEEDS, t)))))

#!/usr/bin/env python3
"""Example Strata cluster client in Python (pyzmq + protobuf).

The message classes come from cluster/strata.desc, the FileDescriptorSet that scripts/gen-proto
makes from proto/strata.proto with protoc-c (the same run that generates the C code), so this
client and the Swift code share one schema. No protoc for Python is needed.

    python3 cluster/example_client.py --coordinator tcp://127.0.0.1:5555 [--top 10] [--rerank] "query"
    python3 cluster/example_client.py --coordinator ADDR --status
    (CURVE: --keys DIR, the directory from `strata keys gen`)
"""
import argparse
import os
import sys
import time

import zmq
from google.protobuf import descriptor_pb2, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))


def load_messages(desc_path=os.path.join(HERE, "strata.desc")):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(desc_path, "rb") as f:
        fds.ParseFromString(f.read())
    return message_factory.GetMessages(list(fds.file))


MESSAGES = load_messages()
Envelope = MESSAGES["strata.Envelope"]
OK = 0


class Client:
    """One DEALER socket to the coordinator; call() sends an Envelope and waits for its reply."""

    def __init__(self, endpoint, keys_dir=None):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        if keys_dir:
            read = lambda n: open(os.path.join(keys_dir, n)).read().strip().encode()
            self.sock.curve_serverkey = read("server.pub")
            self.sock.curve_publickey = read("client.pub")
            self.sock.curve_secretkey = read("client.key")
        self.sock.connect(endpoint)
        self.next_id = 1

    def call(self, fill, timeout=10.0):
        env = Envelope(request_id=self.next_id)
        self.next_id += 1
        env.deadline_unix_ms = int((time.time() + timeout) * 1000)
        fill(env)
        self.sock.send(env.SerializeToString())
        end = time.time() + timeout + 1
        while time.time() < end:
            if self.sock.poll(int(max(1, (end - time.time()) * 1000))):
                reply = Envelope()
                reply.ParseFromString(self.sock.recv_multipart()[-1])
                if reply.request_id != env.request_id:
                    continue
                if reply.HasField("status") and reply.status.code != OK:
                    raise RuntimeError("coordinator: status %d: %s" % (reply.status.code, reply.status.message))
                return reply
        raise TimeoutError("no reply from the coordinator")

    def search(self, query, top=10, rerank=False, rerank_top=0, timeout=10.0):
        def fill(env):
            env.search_request.query = query
            env.search_request.top_k = top
            env.search_request.rerank = rerank
            env.search_request.rerank_top = rerank_top
        return self.call(fill, timeout).search_reply

    def status(self):
        return self.call(lambda env: env.cluster_status_request.SetInParent()).cluster_status_reply


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--coordinator", required=True)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--rerank", action="store_true")
    ap.add_argument("--keys")
    ap.add_argument("--status", action="store_true")
    ap.add_argument("query", nargs="?")
    a = ap.parse_args()
    c = Client(a.coordinator, a.keys)
    if a.status:
        s = c.status()
        print("workers %d shards %d/%d ready %s" % (s.workers_live, s.shards_ready, s.shards_total, s.ready))
        return 0
    if not a.query:
        ap.error("give a query or --status")
    r = c.search(a.query, a.top, a.rerank)
    if r.partial:
        print("warning: partial result, missing shards %s" % list(r.missing_shards), file=sys.stderr)
    for i, h in enumerate(r.hits):
        print("%3d  %9.4f  %s" % (i + 1, h.score, h.doc_id))
    print("%.1f ms in the coordinator" % r.total_ms, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
